/*
 * mod_blocking.c — placeholder: being written (issue 5).
 */
#include "sm.h"

void mod_blocking_init(struct sm *sm)
{
	(void)sm;
}

bool sm_blocked(struct sm *sm, const struct jid *owner, const struct jid *who)
{
	(void)sm;
	(void)owner;
	(void)who;
	return false;
}
