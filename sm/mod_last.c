/*
 * mod_last.c — placeholder: being written (issue 5).
 */
#include "sm.h"

void mod_last_init(struct sm *sm)
{
	(void)sm;
}
