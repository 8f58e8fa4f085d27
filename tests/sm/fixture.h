/*
 * fixture.h — sm without a process, for the unit tests of tests/sm/: the
 * router link is a stub that records what sm sends (parsed back into
 * stanzas), the store is a real SQLite file in a temp dir holding the
 * accounts juliet and romeo of example.test, and the modules are the
 * real ones. Each test case runs between sm_fixture_setup/teardown.
 */
#ifndef PARLEY_TESTS_SM_FIXTURE_H
#define PARLEY_TESTS_SM_FIXTURE_H

#include "sm.h"
#include "storage.h"
#include "unit.h"

#define MAX_SENT 64
struct sent_stanza {
	char to[64], sid[64];
	struct stanza *st;
};
extern struct sent_stanza sent[MAX_SENT];
extern size_t nsent;
extern struct sm sm;
extern struct sm_session *romeo;  /* romeo@example.test/orchard, c2s.1 "r", not available */

void sm_fixture_setup(void);
void sm_fixture_teardown(void);
void clear_sent(void);
struct sm_session *online(const char *c2s, const char *sid, const char *full);
/* A stanza from a session, through the session chain and the rules. */
void from_session(struct sm_session *s, const char *xml);
/* Available presence with a priority; what it sent is cleared. */
void presence(struct sm_session *s, int priority);
/* How many stanzas named `name` went to session sid. */
size_t got(const char *sid, const char *name);
/* The n-th (0-based) stanza named `name` to sid, or NULL. */
const struct stanza *nth_to(const char *sid, const char *name, size_t n);
/* The stanza error condition of what went to sid, or NULL. */
const char *error_to(const char *sid);
/* End a session as a disconnect would. */
void end_session(struct sm_session **s);

#endif
