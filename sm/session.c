/*
 * session.c — the session table (session.h): two hash tables, one by
 * "c2s\0session-id" for the frames c2s sends, one by bare JID for delivery,
 * whose value is the user's list of resources. A user entry exists only
 * while the user has a session.
 */
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "session.h"
#include "util.h"

struct sm_user {
	char *bare;
	struct sm_session *sessions;
	size_t count;
};

struct session_table {
	struct hash *by_key;        /* "c2s\0id" → struct sm_session */
	struct hash *by_bare;       /* bare JID → struct sm_user */
};

/* "c2s\0id" into buf; returns its length. */
static size_t make_key(char *buf, size_t buflen, const char *c2s, const char *id)
{
	size_t a = strlen(c2s), b = strlen(id);

	if (a + 1 + b > buflen)
		return 0;
	memcpy(buf, c2s, a);
	buf[a] = '\0';
	memcpy(buf + a + 1, id, b);
	return a + 1 + b;
}

/* Frame strings are at most 1024 (name) and 65 (session-id) bytes. */
#define KEY_MAX (1024 + 1 + 65)

struct session_table *session_table_new(void)
{
	struct session_table *t = xcalloc(1, sizeof(*t));

	t->by_key = hash_new(64);
	t->by_bare = hash_new(64);
	return t;
}

static void free_session(struct sm_session *s)
{
	free(s->c2s);
	free(s->id);
	jid_free(&s->jid);
	stanza_free(&s->presence);
	for (size_t i = 0; i < s->ndirected; i++)
		free(s->directed[i]);
	free(s->directed);
	free(s->last_status);
	free(s);
}

static void free_user(void *v)
{
	struct sm_user *u = v;

	while (u->sessions != NULL) {
		struct sm_session *s = u->sessions;
		u->sessions = s->next;
		free_session(s);
	}
	free(u->bare);
	free(u);
}

void session_table_free(struct session_table **tp)
{
	struct session_table *t = *tp;

	if (t == NULL)
		return;
	hash_free(&t->by_key, NULL);
	hash_free(&t->by_bare, free_user);
	free(t);
	*tp = NULL;
}

size_t session_count(const struct session_table *t)
{
	return hash_count(t->by_key);
}

size_t session_count_of(const struct session_table *t, const char *bare)
{
	struct sm_user *u = hash_get(t->by_bare, bare, strlen(bare));

	return u != NULL ? u->count : 0;
}

struct sm_session *session_find(const struct session_table *t, const char *c2s, const char *id)
{
	char key[KEY_MAX];
	size_t klen = make_key(key, sizeof(key), c2s, id);

	return klen == 0 ? NULL : hash_get(t->by_key, key, klen);
}

struct sm_session *session_first(const struct session_table *t, const char *bare)
{
	struct sm_user *u = hash_get(t->by_bare, bare, strlen(bare));

	return u != NULL ? u->sessions : NULL;
}

struct sm_session *session_find_full(const struct session_table *t, const struct jid *full)
{
	for (struct sm_session *s = session_first(t, jid_bare_str(full)); s != NULL; s = s->next)
		if (jid_equal_full(s->jid, full))
			return s;
	return NULL;
}

struct sm_session *session_add(struct session_table *t, const char *c2s, const char *id,
    const struct jid *full)
{
	char key[KEY_MAX];
	size_t klen = make_key(key, sizeof(key), c2s, id);
	const char *bare = jid_bare_str(full);
	struct sm_session *s;
	struct sm_user *u;

	if (klen == 0)
		return NULL;
	s = xcalloc(1, sizeof(*s));
	s->c2s = xstrdup(c2s);
	s->id = xstrdup(id);
	s->jid = jid_dup(full);
	if ((u = hash_get(t->by_bare, bare, strlen(bare))) == NULL) {
		u = xcalloc(1, sizeof(*u));
		u->bare = xstrdup(bare);
		hash_put(t->by_bare, u->bare, strlen(u->bare), u);
	}
	s->user = u;
	s->next = u->sessions;
	u->sessions = s;
	u->count++;
	hash_put(t->by_key, key, klen, s);
	return s;
}

void session_remove(struct session_table *t, struct sm_session **sp)
{
	struct sm_session *s = *sp;
	struct sm_user *u;
	char key[KEY_MAX];

	if (s == NULL)
		return;
	u = s->user;
	hash_del(t->by_key, key, make_key(key, sizeof(key), s->c2s, s->id));
	for (struct sm_session **p = &u->sessions; *p != NULL; p = &(*p)->next)
		if (*p == s) {
			*p = s->next;
			break;
		}
	if (--u->count == 0) {
		hash_del(t->by_bare, u->bare, strlen(u->bare));
		free_user(u);
	}
	free_session(s);
	*sp = NULL;
}

struct sm_session **session_list_of_c2s(const struct session_table *t, const char *c2s,
    size_t *n)
{
	struct sm_session **out = NULL;
	struct hash_iter it;
	const char *key;
	size_t klen, cap = 0;
	void *v;

	*n = 0;
	hash_iter_init(t->by_key, &it);
	while (hash_iter_next(&it, &key, &klen, &v)) {
		struct sm_session *s = v;
		if (strcmp(s->c2s, c2s) != 0)
			continue;
		if (*n == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			out = xreallocarray(out, cap, sizeof(*out));
		}
		out[(*n)++] = s;
	}
	return out;
}

void session_set_available(struct sm_session *s, int priority, struct stanza *presence)
{
	s->available = true;
	s->priority = priority;
	stanza_free(&s->presence);
	s->presence = presence;
}

void session_set_unavailable(struct sm_session *s)
{
	s->available = false;
	s->priority = 0;
	stanza_free(&s->presence);
}

size_t session_best(const struct session_table *t, const char *bare, struct sm_session **out,
    size_t max)
{
	int best = -1;
	size_t n = 0;

	for (struct sm_session *s = session_first(t, bare); s != NULL; s = s->next)
		if (s->available && s->priority > best)
			best = s->priority;
	if (best < 0)
		return 0;
	for (struct sm_session *s = session_first(t, bare); s != NULL; s = s->next)
		if (s->available && s->priority == best) {
			if (n < max)
				out[n] = s;
			n++;
		}
	return n;
}

size_t session_nonnegative(const struct session_table *t, const char *bare,
    struct sm_session **out, size_t max)
{
	size_t n = 0;

	for (struct sm_session *s = session_first(t, bare); s != NULL; s = s->next)
		if (s->available && s->priority >= 0) {
			if (n < max)
				out[n] = s;
			n++;
		}
	return n;
}
