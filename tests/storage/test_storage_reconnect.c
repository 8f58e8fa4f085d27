/*
 * test_storage_reconnect.c — what the network drivers promise beyond the
 * shared suite: patience with a lost server (storage.sql.hold,
 * sql_retry.h), and several processes (several sm, auth, parleyctl)
 * writing one user's data at once.
 *
 * Lost server, on the store's own server (store_server_stop/start: same
 * port, same data): a server restarted between two calls is reconnected
 * to by the next call; a write issued while the server is down and
 * brought back within the hold is done, and done once; a server down
 * longer than the hold makes the call fail within about the hold, saying
 * the server is unreachable, and the same handle works again once the
 * server is back. With a store that cannot control its server (one given
 * by PARLEY_TEST_PGSQL_PORT) these cases pass without testing.
 *
 * Several processes: storing offline messages at once never passes the
 * quota; putting roster items at once hands out every version once.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "storage.h"
#include "store.h"
#include "unit.h"

#define D "example.org"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Start the server again after `delay_ms`, from a child process, while
 * this one is held in a storage call: the child's pid. */
static pid_t start_later(unsigned delay_ms)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct timespec ts = { delay_ms / 1000, (long)(delay_ms % 1000) * 1000000 };
		nanosleep(&ts, NULL);
		_exit(store_server_start() ? 0 : 1);
	}
	return pid;
}

static void wait_started(pid_t pid)
{
	int status = 0;

	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "the server did not start again");
}

START_TEST(test_a_restarted_server_is_reconnected_by_the_next_call)
{
	char err[ERRLEN] = "";
	size_t n = 99;

	if (!store_server_control())
		return;
	struct storage *s = store_open_hold(10000);
	store_user(s, D, "juliet");
	STORE_CALL(STORAGE_OK, storage_offline_store(s, D, "juliet", "<m>1</m>", 0, err,
	    sizeof(err)));
	ck_assert(store_server_stop());
	ck_assert(store_server_start());
	/* The connection the driver holds died with the old server. */
	double t0 = now_s();
	STORE_CALL(STORAGE_OK, storage_user_exists(s, D, "juliet", err, sizeof(err)));
	ck_assert_msg(now_s() - t0 < 5, "reconnecting took %.1f s", now_s() - t0);
	STORE_CALL(STORAGE_OK, storage_offline_store(s, D, "juliet", "<m>2</m>", 0, err,
	    sizeof(err)));
	STORE_CALL(STORAGE_OK, storage_offline_count(s, D, "juliet", &n, err, sizeof(err)));
	ck_assert_uint_eq(n, 2);
	storage_close(&s);
}
END_TEST

START_TEST(test_a_write_held_while_the_server_is_down_is_done_once)
{
	char err[ERRLEN] = "";
	struct storage_roster_item it = { .contact = (char *)"romeo@example.net" };
	int64_t ver = 0;
	size_t n = 0;

	if (!store_server_control())
		return;
	struct storage *s = store_open_hold(30000);
	store_user(s, D, "juliet");
	ck_assert(store_server_stop());
	pid_t child = start_later(1000);
	double t0 = now_s();
	STORE_CALL(STORAGE_OK, storage_offline_store(s, D, "juliet", "<m>held</m>", 0, err,
	    sizeof(err)));
	double waited = now_s() - t0;
	wait_started(child);
	ck_assert_msg(waited >= 0.9, "the write returned after %.2f s, before the server was "
	    "back", waited);

	/* And a transaction of several statements, held the same way. */
	ck_assert(store_server_stop());
	child = start_later(500);
	STORE_CALL(STORAGE_OK, storage_roster_put(s, D, "juliet", &it, &ver, err, sizeof(err)));
	wait_started(child);
	ck_assert_int_eq(ver, 1);

	STORE_CALL(STORAGE_OK, storage_offline_count(s, D, "juliet", &n, err, sizeof(err)));
	ck_assert_uint_eq(n, 1);
	struct storage_roster_list l;
	STORE_CALL(STORAGE_OK, storage_roster_get(s, D, "juliet", &l, err, sizeof(err)));
	ck_assert_uint_eq(l.n, 1);
	ck_assert_int_eq(l.ver, 1);
	storage_roster_list_free(&l);
	storage_close(&s);
}
END_TEST

START_TEST(test_a_server_down_longer_than_the_hold_fails_in_about_the_hold)
{
	char err[ERRLEN] = "";
	size_t n = 99;

	if (!store_server_control())
		return;
	struct storage *s = store_open_hold(1500);
	store_user(s, D, "juliet");
	ck_assert(store_server_stop());
	double t0 = now_s();
	STORE_CALL(STORAGE_ERROR, storage_offline_store(s, D, "juliet", "<m>lost</m>", 0, err,
	    sizeof(err)));
	double waited = now_s() - t0;
	ck_assert_msg(waited >= 1.4 && waited < 4, "failed after %.2f s, hold 1.5 s", waited);
	ck_assert_msg(strstr(err, "unreachable") != NULL, "%s", err);
	/* A read fails the same way. */
	STORE_CALL(STORAGE_ERROR, storage_user_exists(s, D, "juliet", err, sizeof(err)));
	ck_assert(store_server_start());

	/* The same handle works again; the failed write was not done. */
	STORE_CALL(STORAGE_OK, storage_offline_count(s, D, "juliet", &n, err, sizeof(err)));
	ck_assert_uint_eq(n, 0);
	storage_close(&s);
}
END_TEST

/* --- several processes at once ------------------------------------------------ */

#define WRITERS 4
#define EACH 10

/* Run `work` in WRITERS child processes, each on its own connection,
 * started together once all are connected: the sum of what their work
 * returned (at most 254 each). */
static int in_processes(int (*work)(struct storage *s, int writer))
{
	pid_t pids[WRITERS];
	int ready[2], go[2];
	int sum = 0;
	char c;

	ck_assert_int_eq(pipe(ready), 0);
	ck_assert_int_eq(pipe(go), 0);
	for (int w = 0; w < WRITERS; w++) {
		pids[w] = fork();
		ck_assert_int_ge(pids[w], 0);
		if (pids[w] == 0) {
			struct storage *s = NULL;
			char err[ERRLEN];
			close(ready[0]);
			close(go[1]);
			int ok = store_try_open(&s, err, sizeof(err)) == STORAGE_OK;
			/* Connected (or not): say so, then wait for the start. */
			if (write(ready[1], ok ? "y" : "n", 1) != 1 || read(go[0], &c, 1) < 0 || !ok)
				_exit(255);
			int n = work(s, w);
			storage_close(&s);
			_exit(n);
		}
	}
	close(ready[1]);
	close(go[0]);
	for (int w = 0; w < WRITERS; w++)
		ck_assert_int_eq(read(ready[0], &c, 1), 1);
	close(go[1]);       /* every child's read returns: go */
	close(ready[0]);
	for (int w = 0; w < WRITERS; w++) {
		int status = 0;
		ck_assert_int_eq(waitpid(pids[w], &status, 0), pids[w]);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) != 255,
		    "writer %d failed", w);
		sum += WEXITSTATUS(status);
	}
	return sum;
}

#define QUOTA 15

/* How many it stored; 255 on an error. */
static int store_messages(struct storage *s, int writer)
{
	char err[ERRLEN], stanza[64];
	int stored = 0;

	for (int i = 0; i < EACH; i++) {
		snprintf(stanza, sizeof(stanza), "<m>%d.%d</m>", writer, i);
		int rc = storage_offline_store(s, D, "juliet", stanza, QUOTA, err, sizeof(err));
		if (rc == STORAGE_OK)
			stored++;
		else if (rc != STORAGE_FULL)
			return 255;
	}
	return stored;
}

START_TEST(test_processes_storing_at_once_never_pass_the_quota)
{
	char err[ERRLEN] = "";
	size_t n = 0;

	ck_assert_int_eq(in_processes(store_messages), QUOTA);
	struct storage *s = store_open();
	STORE_CALL(STORAGE_OK, storage_offline_count(s, D, "juliet", &n, err, sizeof(err)));
	ck_assert_uint_eq(n, QUOTA);
	storage_close(&s);
}
END_TEST

static int put_items(struct storage *s, int writer)
{
	char err[ERRLEN], contact[64];
	int64_t ver;

	for (int i = 0; i < EACH; i++) {
		snprintf(contact, sizeof(contact), "c%d.%d@example.net", writer, i);
		struct storage_roster_item it = { .contact = contact };
		if (storage_roster_put(s, D, "juliet", &it, &ver, err, sizeof(err)) != STORAGE_OK)
			return 255;
	}
	return EACH;
}

START_TEST(test_processes_putting_at_once_take_every_version_once)
{
	struct storage_roster_list l;
	char err[ERRLEN] = "";
	bool seen[WRITERS * EACH + 1] = { false };

	ck_assert_int_eq(in_processes(put_items), WRITERS * EACH);
	struct storage *s = store_open();
	STORE_CALL(STORAGE_OK, storage_roster_get(s, D, "juliet", &l, err, sizeof(err)));
	ck_assert_uint_eq(l.n, WRITERS * EACH);
	ck_assert_int_eq(l.ver, WRITERS * EACH);
	for (size_t i = 0; i < l.n; i++) {
		int64_t v = l.items[i].ver;
		ck_assert_msg(v >= 1 && v <= WRITERS * EACH && !seen[v], "version %lld twice or "
		    "out of range", (long long)v);
		seen[v] = true;
	}
	storage_roster_list_free(&l);
	storage_close(&s);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("storage-reconnect");
	TCase *tc = tcase_create(store_driver());

	tcase_add_checked_fixture(tc, store_setup, store_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_a_restarted_server_is_reconnected_by_the_next_call);
	tcase_add_test(tc, test_a_write_held_while_the_server_is_down_is_done_once);
	tcase_add_test(tc, test_a_server_down_longer_than_the_hold_fails_in_about_the_hold);
	tcase_add_test(tc, test_processes_storing_at_once_never_pass_the_quota);
	tcase_add_test(tc, test_processes_putting_at_once_take_every_version_once);
	suite_add_tcase(s, tc);
	return s;
}
