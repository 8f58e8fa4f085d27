/*
 * fixture.c — see fixture.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "xml_stream.h"

struct sent_stanza sent[MAX_SENT];
size_t nsent;
struct sm sm;
struct sm_session *romeo;
static struct xml_stream *parser;
static struct conf *conf;
static char dir[64];

int router_link_route(struct router_link *link, const char *from, const char *to,
    const char *route_key, const char *session_id, const void *stanza, size_t len,
    uint32_t *seq, char *err, size_t errlen)
{
	(void)link;
	(void)from;
	(void)route_key;
	(void)seq;
	ck_assert_uint_lt(nsent, MAX_SENT);
	snprintf(sent[nsent].to, sizeof(sent[nsent].to), "%s", to);
	snprintf(sent[nsent].sid, sizeof(sent[nsent].sid), "%s", session_id ? session_id : "");
	sent[nsent].st = stanza_new_empty();
	ck_assert_int_eq(xml_stream_parse_stanza(parser, stanza, len, sent[nsent].st, err, errlen),
	    0);
	nsent++;
	return 0;
}

void clear_sent(void)
{
	for (size_t i = 0; i < nsent; i++)
		stanza_free(&sent[i].st);
	nsent = 0;
}

struct sm_session *online(const char *c2s, const char *sid, const char *full)
{
	struct jid *j = NULL;
	char err[ERRLEN];

	ck_assert_int_eq(jid_parse(&j, full, strlen(full), err, sizeof(err)), 0);
	struct sm_session *s = session_add(sm.sessions, c2s, sid, j);
	jid_free(&j);
	sm_run_session(&sm, SM_CHAIN_SESSION_START, s);
	return s;
}

void end_session(struct sm_session **s)
{
	sm_run_session(&sm, SM_CHAIN_SESSION_END, *s);
	session_remove(sm.sessions, s);
}

void from_session(struct sm_session *s, const char *xml)
{
	struct stanza *st = stanza_new_empty();
	struct sm_pkt p;
	char err[ERRLEN];

	ck_assert_int_eq(xml_stream_parse_stanza(parser, xml, strlen(xml), st, err, sizeof(err)), 0);
	stanza_set_from(st, jid_full_str(s->jid));
	ck_assert_int_eq(sm_pkt_init(&p, st, s, err, sizeof(err)), 0);
	sm_from_session(&sm, &p);
	sm_pkt_fini(&p);
}

void presence(struct sm_session *s, int priority)
{
	char xml[128];

	snprintf(xml, sizeof(xml), "<presence xmlns='jabber:client'><priority>%d</priority>"
	    "</presence>", priority);
	from_session(s, xml);
	clear_sent();
}

const struct stanza *nth_to(const char *sid, const char *name, size_t n)
{
	for (size_t i = 0; i < nsent; i++)
		if (strcmp(sent[i].sid, sid) == 0 &&
		    strcmp(stanza_name(sent[i].st, 0), name) == 0 && n-- == 0)
			return sent[i].st;
	return NULL;
}

size_t got(const char *sid, const char *name)
{
	size_t n = 0;

	while (nth_to(sid, name, n) != NULL)
		n++;
	return n;
}

const char *error_to(const char *sid)
{
	for (size_t i = 0; i < nsent; i++) {
		if (strcmp(sent[i].sid, sid) != 0)
			continue;
		const struct stanza *st = sent[i].st;
		int e = stanza_find_child(st, 0, NS_CLIENT, "error");
		if (e != STANZA_NONE)
			return stanza_name(st, stanza_first_element(st, e));
	}
	return NULL;
}

static void add_user(const char *localpart)
{
	struct storage_user_secrets sec;
	char err[ERRLEN];

	ck_assert_int_eq(storage_secrets_from_password("pw", 4096, &sec, err, sizeof(err)), 0);
	ck_assert_int_eq(storage_user_create(sm.storage, "example.test", localpart, &sec, err,
	    sizeof(err)), STORAGE_OK);
}

void sm_fixture_setup(void)
{
	struct conf_errors errs = CONF_ERRORS_INIT;
	char err[ERRLEN], path[128];

	ck_assert_int_eq(conf_load_string(&conf, "hosts = [ \"example.test\" ];\n", "test.conf",
	    &errs), 0);
	parser = xml_stream_new(NULL, NULL, 0, 0, err, sizeof(err));
	ck_assert_ptr_nonnull(parser);
	snprintf(dir, sizeof(dir), "/tmp/parley-sm-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/parley.db", dir);
	sm = (struct sm){ .conf = conf, .users_in_storage = true, .parser = parser };
	ck_assert_msg(storage_open_sqlite(&sm.storage, path, err, sizeof(err)) == STORAGE_OK,
	    "%s", err);
	add_user("juliet");
	add_user("romeo");
	sm.sessions = session_table_new();
	sm_modules_init(&sm);
	romeo = online("c2s.1", "r", "romeo@example.test/orchard");
}

void sm_fixture_teardown(void)
{
	char cmd[128];

	clear_sent();
	session_table_free(&sm.sessions);
	sm_chains_free(&sm);
	storage_close(&sm.storage);
	xml_stream_free(&parser);
	conf_free(&conf);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}
