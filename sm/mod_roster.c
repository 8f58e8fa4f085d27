/*
 * mod_roster.c — placeholder: being written (issue 5).
 */
#include "sm.h"

void mod_roster_init(struct sm *sm)
{
	(void)sm;
}
