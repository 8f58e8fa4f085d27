/*
 * sm.h — what the files of parley-sm share: the process's state, the
 * packet a stanza becomes inside sm, the chains modules hook into, and the
 * core's entry points.
 *
 *   main.c         the privilege story
 *   link.c         router frames: SESSION_*, ROUTE, ACK, PEER_DOWN, ERROR
 *   session.c      the session table (session.h)
 *   chain.c        the named chains and the module list
 *   route.c        the delivery rules (RFC 6121 §8), errors, sending
 *   mod_*.c        one feature each, hooked into the chains
 *   subscription.c the subscription state machine (subscription.h)
 *   core.c         the core thread, with a network storage driver
 *   sandbox.c      user, no_new_privs, Landlock, seccomp
 *
 * The chains (DESIGN.md: "modules hooked into a small set of well-named
 * chains"). A stanza chain runs its hooks in registration order until one
 * answers SM_DONE (it took the stanza: answered, delivered, stored or
 * dropped it); if none does, the core applies its default.
 *
 *   SM_CHAIN_SESSION_OUT   a stanza from one of our sessions, before any
 *                          routing (presence without `to`: the session's
 *                          own availability). Default: route it.
 *   SM_CHAIN_LOCAL_IN      a stanza for a local user (bare or full JID)
 *                          who exists, before the delivery rules (roster
 *                          and subscriptions, blocking, carbons…).
 *                          Default: RFC 6121 §8.5.
 *   SM_CHAIN_IQ            an iq get/set to the server or to a user's bare
 *                          JID, which the server answers on the user's
 *                          behalf. Default: service-unavailable.
 *   SM_CHAIN_OFFLINE       a chat/normal message no resource takes.
 *                          Default (until the offline module lands):
 *                          service-unavailable to the sender.
 *   SM_CHAIN_SESSION_AVAILABLE  a session sent its initial presence, or
 *                          raised a negative priority to >= 0 (it is
 *                          available, with its priority, when the hooks
 *                          run): offline delivery, pending subscription
 *                          requests.
 *   SM_CHAIN_SESSION_START / SM_CHAIN_SESSION_END   a session began / is
 *                          ending (still in the table while the hooks run;
 *                          an end is as if the client had sent unavailable
 *                          presence).
 *   SM_CHAIN_USER_CREATED / SM_CHAIN_USER_DELETED   an account came or went.
 */
#ifndef PARLEY_SM_H
#define PARLEY_SM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "frame.h"
#include "hash.h"
#include "jid.h"
#include "loop.h"
#include "router_link.h"
#include "session.h"
#include "stanza.h"

struct storage;
struct xml_stream;

enum sm_kind { SM_MESSAGE, SM_PRESENCE, SM_IQ };

/* A stanza being handled: parsed once, with its addresses prepared. */
struct sm_pkt {
	struct stanza *st;          /* owned by the core; hooks may change it */
	enum sm_kind kind;
	const char *type;           /* the type attribute, NULL when absent */
	struct jid *from;           /* NULL when absent */
	struct jid *to;             /* NULL when absent */
	struct sm_session *session; /* the session it came from, or NULL */
	bool again;                 /* routed again after it came back untaken */
};

enum sm_verdict { SM_PASS = 0, SM_DONE = 1 };

enum sm_chain {
	SM_CHAIN_SESSION_OUT,
	SM_CHAIN_LOCAL_IN,
	SM_CHAIN_IQ,
	SM_CHAIN_OFFLINE,
	SM_CHAIN_SESSION_AVAILABLE,
	SM_CHAIN_SESSION_START,
	SM_CHAIN_SESSION_END,
	SM_CHAIN_USER_CREATED,
	SM_CHAIN_USER_DELETED,
	SM_CHAIN_COUNT
};

struct sm;
typedef enum sm_verdict (*sm_stanza_hook)(struct sm *sm, struct sm_pkt *p, void *arg);
typedef void (*sm_session_hook)(struct sm *sm, struct sm_session *s, void *arg);
typedef void (*sm_user_hook)(struct sm *sm, const struct jid *bare, void *arg);

struct sm_hook {
	const char *module;
	union {
		sm_stanza_hook stanza;
		sm_session_hook session;
		sm_user_hook user;
	} fn;
	void *arg;
};

struct sm_chain_list {
	struct sm_hook *hooks;
	size_t n;
};

struct sm {
	const struct conf *conf;
	const char *log_target;
	int report_fd;

	struct loop *loop;
	struct router_link *link;
	struct storage *storage;
	struct xml_stream *parser;  /* for the stanzas of ROUTE frames */
	struct session_table *sessions;
	/* Whether storage holds every account (auth.backend "internal"). With
	 * an external backend (pipe) it does not: a session c2s authenticated
	 * is accepted, and every localpart of a hosted domain may exist. */
	bool users_in_storage;
	struct sm_chain_list chains[SM_CHAIN_COUNT];
	const char **features;      /* disco#info features of the server */
	size_t nfeatures;
	bool stopping;
	struct sm_core *core;       /* the core thread (core.c), or NULL */
	uint64_t stop_deadline;     /* loop time a stop stops waiting for it */
};

/* chain.c */
void sm_hook_stanza(struct sm *sm, enum sm_chain chain, const char *module, sm_stanza_hook fn,
    void *arg);
void sm_hook_session(struct sm *sm, enum sm_chain chain, const char *module,
    sm_session_hook fn, void *arg);
void sm_hook_user(struct sm *sm, enum sm_chain chain, const char *module, sm_user_hook fn,
    void *arg);
enum sm_verdict sm_run_stanza(struct sm *sm, enum sm_chain chain, struct sm_pkt *p);
void sm_run_session(struct sm *sm, enum sm_chain chain, struct sm_session *s);
void sm_run_user(struct sm *sm, enum sm_chain chain, const struct jid *bare);
/* A feature the server announces in disco#info (a namespace, copied not). */
void sm_add_feature(struct sm *sm, const char *ns);
/* Initialize every module (the list is in chain.c), and free the chains. */
void sm_modules_init(struct sm *sm);
void sm_chains_free(struct sm *sm);

/* route.c */
bool sm_is_local_domain(const struct sm *sm, const char *domain);
/* STORAGE_OK (the account exists), STORAGE_NOT_FOUND or STORAGE_ERROR
 * (logged here). */
int sm_user_exists(struct sm *sm, const struct jid *jid);
/* Build a packet from a parsed stanza (takes it); -1 with a reason when
 * it is not a stanza or its `from` does not parse, -2 when only its `to`
 * does not (the packet is complete but for p->to, to answer it). */
int sm_pkt_init(struct sm_pkt *p, struct stanza *st, struct sm_session *session, char *err,
    size_t errlen);
void sm_pkt_fini(struct sm_pkt *p);
/* A stanza from one of our sessions: the session chain, then routing. */
void sm_from_session(struct sm *sm, struct sm_pkt *p);
/* Route a stanza by its `to` (RFC 6121 §8): remote, the server, a local
 * user. Used for what sessions send and for what sm itself makes. */
void sm_route(struct sm *sm, struct sm_pkt *p);
/* Route a stanza sm made (a result, an error); the stanza stays the
 * caller's. */
void sm_send(struct sm *sm, const struct stanza *st);
/* Write the stanza to one session (a ROUTE to its c2s). */
void sm_deliver_to_session(struct sm *sm, struct sm_session *s, const struct stanza *st);
/* Answer the packet with a stanza error (RFC 6120 §8.3) routed back to its
 * sender; nothing for an error, or an iq result. */
void sm_bounce(struct sm *sm, struct sm_pkt *p, const char *type, const char *condition);
/* A result iq for an iq get/set, from its `to`, for the caller to fill in
 * and sm_send(); free it after. */
struct stanza *sm_iq_result(const struct sm_pkt *p);
/* True when the packet addresses the server itself (to = a hosted domain). */
bool sm_pkt_to_server(const struct sm_pkt *p);

/* link.c */
int sm_link_open(struct sm *sm, int instance, char *err, size_t errlen);
void sm_link_close(struct sm *sm);
/* Handle one frame from the router (on the loop, or on the core thread:
 * core.c). */
void sm_link_dispatch(struct sm *sm, const struct frame *f);
/* End one session: the session-end chain runs, then it leaves the table. */
void sm_session_end(struct sm *sm, struct sm_session **s);

/* The modules, each in mod_NAME.c; chain.c lists them in order. */
void mod_presence_init(struct sm *sm);
void mod_ping_init(struct sm *sm);
void mod_disco_init(struct sm *sm);
void mod_version_init(struct sm *sm);
void mod_roster_init(struct sm *sm);
void mod_subscription_init(struct sm *sm);
void mod_blocking_init(struct sm *sm);
void mod_offline_init(struct sm *sm);
void mod_time_init(struct sm *sm);
void mod_last_init(struct sm *sm);
void mod_vcard_init(struct sm *sm);
void mod_private_init(struct sm *sm);

/* mod_blocking.c: whether owner (a local bare JID) blocks `who` (XEP-0191
 * §3.6: a blocked bare JID covers its full JIDs, a blocked domain covers
 * every JID of it). Other modules ask before they send owner's presence
 * out or let a stanza from `who` in. */
bool sm_blocked(struct sm *sm, const struct jid *owner, const struct jid *who);

/* mod_presence.c: <priority/> of a presence, -128..127, 0 when absent or
 * malformed (RFC 6121 §4.7.2.3). */
int sm_presence_priority(const struct stanza *st);
/* The current presence of each of owner's available resources, or
 * unavailable from each, sent to `to` (a subscription approved or
 * cancelled, §3.1.5, §3.2.2); the latter also ends directed presence. */
void sm_presence_current_to(struct sm *sm, const struct jid *owner, const char *to);
void sm_presence_unavailable_to(struct sm *sm, const struct jid *owner, const char *to);
/* The owner's directed presence to those the owner now blocks ends with
 * unavailable (XEP-0191 §3.3). */
void sm_presence_blocked(struct sm *sm, const struct jid *owner);

/* sandbox.c */
int sm_sandbox(struct sm *sm, char *err, size_t errlen);

#endif
