/*
 * mod_offline.c — placeholder: being written (issue 5).
 */
#include "sm.h"

void mod_offline_init(struct sm *sm)
{
	(void)sm;
}
