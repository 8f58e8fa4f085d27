/*
 * mod_private.c — placeholder: being written (issue 5).
 */
#include "sm.h"

void mod_private_init(struct sm *sm)
{
	(void)sm;
}
