/*
 * chain.c — the named chains of sm.h and the list of modules that hook
 * into them. The core is this small on purpose: a module is a file with an
 * init function that calls sm_hook_*(); adding roster, offline, vCard… is
 * one line in `modules` below.
 */
#include <stdlib.h>

#include "sm.h"
#include "util.h"

static const struct {
	const char *name;
	void (*init)(struct sm *sm);
} modules[] = {
	/* presence first: it owns the session's own availability, which the
	 * delivery rules read. */
	{ "presence", mod_presence_init },
	/* blocking next: it refuses what a blocked contact sends before any
	 * other module sees it. */
	{ "blocking", mod_blocking_init },
	{ "roster", mod_roster_init },
	{ "subscription", mod_subscription_init },
	{ "offline", mod_offline_init },
	{ "ping", mod_ping_init },
	{ "disco", mod_disco_init },
	{ "version", mod_version_init },
	{ "time", mod_time_init },
	{ "last", mod_last_init },
	{ "vcard", mod_vcard_init },
	{ "private", mod_private_init },
};

static struct sm_hook *add(struct sm *sm, enum sm_chain chain, const char *module, void *arg)
{
	struct sm_chain_list *c = &sm->chains[chain];

	c->hooks = xreallocarray(c->hooks, c->n + 1, sizeof(*c->hooks));
	c->hooks[c->n] = (struct sm_hook){ .module = module, .arg = arg };
	return &c->hooks[c->n++];
}

void sm_hook_stanza(struct sm *sm, enum sm_chain chain, const char *module, sm_stanza_hook fn,
    void *arg)
{
	add(sm, chain, module, arg)->fn.stanza = fn;
}

void sm_hook_session(struct sm *sm, enum sm_chain chain, const char *module,
    sm_session_hook fn, void *arg)
{
	add(sm, chain, module, arg)->fn.session = fn;
}

void sm_hook_user(struct sm *sm, enum sm_chain chain, const char *module, sm_user_hook fn,
    void *arg)
{
	add(sm, chain, module, arg)->fn.user = fn;
}

enum sm_verdict sm_run_stanza(struct sm *sm, enum sm_chain chain, struct sm_pkt *p)
{
	const struct sm_chain_list *c = &sm->chains[chain];

	for (size_t i = 0; i < c->n; i++)
		if (c->hooks[i].fn.stanza(sm, p, c->hooks[i].arg) == SM_DONE)
			return SM_DONE;
	return SM_PASS;
}

void sm_run_session(struct sm *sm, enum sm_chain chain, struct sm_session *s)
{
	const struct sm_chain_list *c = &sm->chains[chain];

	for (size_t i = 0; i < c->n; i++)
		c->hooks[i].fn.session(sm, s, c->hooks[i].arg);
}

void sm_run_user(struct sm *sm, enum sm_chain chain, const struct jid *bare)
{
	const struct sm_chain_list *c = &sm->chains[chain];

	for (size_t i = 0; i < c->n; i++)
		c->hooks[i].fn.user(sm, bare, c->hooks[i].arg);
}

void sm_add_feature(struct sm *sm, const char *ns)
{
	sm->features = xreallocarray(sm->features, sm->nfeatures + 1, sizeof(*sm->features));
	sm->features[sm->nfeatures++] = ns;
}

void sm_modules_init(struct sm *sm)
{
	for (size_t i = 0; i < sizeof(modules) / sizeof(modules[0]); i++)
		modules[i].init(sm);
}

void sm_chains_free(struct sm *sm)
{
	for (int i = 0; i < SM_CHAIN_COUNT; i++) {
		free(sm->chains[i].hooks);
		sm->chains[i] = (struct sm_chain_list){ 0 };
	}
	free(sm->features);
	sm->features = NULL;
	sm->nfeatures = 0;
}
