/*
 * session.h — sm's session table: every client session the c2s instances
 * announced, keyed by (c2s instance, session id), and grouped by bare JID
 * so a user's resources can be walked. It owns the sessions' memory and
 * their presence state (available, priority); it knows nothing of frames,
 * the router or stanzas' meaning, so the delivery rules built on it can be
 * unit-tested without a process.
 */
#ifndef PARLEY_SM_SESSION_H
#define PARLEY_SM_SESSION_H

#include <stdbool.h>
#include <stddef.h>

#include "jid.h"
#include "stanza.h"

struct sm_user;

struct sm_session {
	char *c2s;                  /* the c2s instance that holds it: "c2s.1" */
	char *id;                   /* its session-id, unique within that c2s */
	struct jid *jid;            /* the full JID it bound */
	/* Presence (RFC 6121 §4): a session is available once it sent
	 * initial presence and until it sends unavailable; only then does
	 * it take messages addressed to the bare JID. */
	bool available;
	int priority;               /* of its last available presence, -128..127 */
	struct stanza *presence;    /* that presence (probes, new resources), or NULL */
	/* It asked for the roster (RFC 6121 §2.1.6: only such "interested
	 * resources" get roster pushes). */
	bool roster_requested;
	/* Who this session sent directed presence to, not being subscribed
	 * (RFC 6121 §4.6): they hear its unavailable presence at the end. */
	char **directed;
	size_t ndirected;
	/* The <status/> of its unavailable presence, or NULL (XEP-0012
	 * records it when the user's last session ends). */
	char *last_status;
	struct sm_user *user;
	struct sm_session *next;    /* the user's next resource */
};

struct session_table;

struct session_table *session_table_new(void);
/* Frees every session. */
void session_table_free(struct session_table **t);
size_t session_count(const struct session_table *t);
/* Sessions of one bare JID (0 when none online). */
size_t session_count_of(const struct session_table *t, const char *bare);

struct sm_session *session_find(const struct session_table *t, const char *c2s, const char *id);
/* The session bound to this full JID, or NULL. */
struct sm_session *session_find_full(const struct session_table *t, const struct jid *full);
/* The first of a user's sessions (then ->next), or NULL. */
struct sm_session *session_first(const struct session_table *t, const char *bare);

/* Add a session (not available yet). The caller has checked that neither
 * its key nor its full JID is taken (replace the holder first). */
struct sm_session *session_add(struct session_table *t, const char *c2s, const char *id,
    const struct jid *full);
/* Remove and free; *s becomes NULL. */
void session_remove(struct session_table *t, struct sm_session **s);

/* The sessions of one c2s instance, into a new array (free() it) of *n. */
struct sm_session **session_list_of_c2s(const struct session_table *t, const char *c2s,
    size_t *n);

/* Record an available presence with its priority (the stanza, which may
 * be NULL, is the table's from now on), or unavailable. */
void session_set_available(struct sm_session *s, int priority, struct stanza *presence);
void session_set_unavailable(struct sm_session *s);

/*
 * RFC 6121 §8.5.2.1.1: which resources a message to the bare JID goes to —
 * the available ones with the highest priority, if that priority is not
 * negative. Writes up to `max` of them into out and returns how many there
 * are (0: none takes it: offline storage or an error, by message type).
 */
size_t session_best(const struct session_table *t, const char *bare, struct sm_session **out,
    size_t max);
/* The available resources with a non-negative priority (headline
 * messages, §8.5.2.1.1), the same way. */
size_t session_nonnegative(const struct session_table *t, const char *bare,
    struct sm_session **out, size_t max);

#endif
