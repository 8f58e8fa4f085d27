/*
 * mod_time.c — placeholder: being written (issue 5).
 */
#include "sm.h"

void mod_time_init(struct sm *sm)
{
	(void)sm;
}
