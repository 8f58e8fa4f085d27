/*
 * mod_vcard.c — placeholder: being written (issue 5).
 */
#include "sm.h"

void mod_vcard_init(struct sm *sm)
{
	(void)sm;
}
