/*
 * test_authreg.c — the authreg interface over both backends: the internal
 * store on a temporary SQLite file (answers at once), and the pipe backend
 * driving tests/auth/extauth.py through the event loop (answers later, in
 * order; a program that hangs or dies costs one temporary failure and is
 * started again; a cancelled request never calls back).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authreg.h"
#include "loop.h"
#include "storage.h"
#include "unit.h"

static char dir[64];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/parley-authreg-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

struct answer {
	int n;
	enum authreg_result r[16];
};

static void record(void *arg, enum authreg_result r)
{
	struct answer *a = arg;
	a->r[a->n++] = r;
}

/* --- internal ---------------------------------------------------------------- */

static struct authreg *internal(void)
{
	struct storage *s = NULL;
	char path[128], err[ERRLEN];

	snprintf(path, sizeof(path), "%s/parley.db", dir);
	ck_assert_msg(storage_open_sqlite(&s, path, err, sizeof(err)) == 0, "%s", err);
	return authreg_internal_new(s, 4096);
}

static enum authreg_result last(const struct answer *a)
{
	ck_assert_int_gt(a->n, 0);
	return a->r[a->n - 1];
}

START_TEST(test_internal_create_check_change_remove)
{
	struct authreg *ar = internal();
	struct answer a = { 0 };
	struct scram_secrets sec;

	ck_assert(authreg_has_secrets(ar));
	ck_assert_ptr_null(authreg_create(ar, "juliet", "example.org", "r0m30", record, &a));
	ck_assert_int_eq(last(&a), AUTHREG_OK);
	authreg_create(ar, "juliet", "example.org", "other", record, &a);
	ck_assert_int_eq(last(&a), AUTHREG_EXISTS);
	authreg_check_password(ar, "juliet", "example.org", "r0m30", record, &a);
	ck_assert_int_eq(last(&a), AUTHREG_OK);
	authreg_check_password(ar, "juliet", "example.org", "other", record, &a);
	ck_assert_int_eq(last(&a), AUTHREG_NO);
	authreg_check_password(ar, "nobody", "example.org", "r0m30", record, &a);
	ck_assert_int_eq(last(&a), AUTHREG_NO);
	authreg_exists(ar, "juliet", "example.org", record, &a);
	ck_assert_int_eq(last(&a), AUTHREG_OK);
	authreg_exists(ar, "juliet", "example.net", record, &a);
	ck_assert_int_eq(last(&a), AUTHREG_NO);
	ck_assert_int_eq(authreg_get_secrets(ar, "juliet", "example.org", SCRAM_HASH_SHA1, &sec),
	    AUTHREG_OK);
	ck_assert_uint_eq(sec.iterations, 4096);
	ck_assert(scram_secrets_check_password(&sec, "r0m30"));
	authreg_set_password(ar, "juliet", "example.org", "new", record, &a);
	ck_assert_int_eq(last(&a), AUTHREG_OK);
	authreg_check_password(ar, "juliet", "example.org", "new", record, &a);
	ck_assert_int_eq(last(&a), AUTHREG_OK);
	authreg_set_password(ar, "romeo", "example.org", "new", record, &a);
	ck_assert_int_eq(last(&a), AUTHREG_NO);
	authreg_remove(ar, "juliet", "example.org", record, &a);
	ck_assert_int_eq(last(&a), AUTHREG_OK);
	authreg_remove(ar, "juliet", "example.org", record, &a);
	ck_assert_int_eq(last(&a), AUTHREG_NO);
	ck_assert_int_eq(authreg_get_secrets(ar, "juliet", "example.org", SCRAM_HASH_SHA256, &sec),
	    AUTHREG_NO);
	authreg_free(&ar);
	ck_assert_ptr_null(ar);
}
END_TEST

static int count_user(void *arg, const char *localpart)
{
	(void)localpart;
	(*(int *)arg)++;
	return 0;
}

START_TEST(test_internal_lists_a_domain)
{
	struct authreg *ar = internal();
	struct answer a = { 0 };
	int n = 0;

	authreg_create(ar, "a", "example.org", "x", record, &a);
	authreg_create(ar, "b", "example.org", "x", record, &a);
	authreg_create(ar, "c", "example.net", "x", record, &a);
	ck_assert_int_eq(authreg_list(ar, "example.org", count_user, &n), AUTHREG_OK);
	ck_assert_int_eq(n, 2);
	authreg_free(&ar);
}
END_TEST

/* --- pipe ------------------------------------------------------------------------ */

static struct loop *loop;

static struct authreg *pipe_backend(unsigned timeout_ms)
{
	char script[512], users[128], err[ERRLEN];
	FILE *f;

	snprintf(script, sizeof(script), "%s/tests/auth/extauth.py", unit_srcdir());
	snprintf(users, sizeof(users), "%s/users", dir);
	f = fopen(users, "w");
	ck_assert_ptr_nonnull(f);
	fputs("alice@example.org:wonder:land\n", f);
	fclose(f);
	loop = loop_new(err, sizeof(err));
	ck_assert_ptr_nonnull(loop);
	const char *argv[] = { script, users };
	struct authreg *ar = authreg_pipe_new(loop, argv, 2, NULL, NULL, timeout_ms, err,
	    sizeof(err));
	ck_assert_msg(ar != NULL, "%s", err);
	return ar;
}

static void wait_for(struct answer *a, int n, int max_ms)
{
	for (int waited = 0; a->n < n && waited < max_ms; waited += 10)
		loop_run_once(loop, 10);
	ck_assert_int_eq(a->n, n);
}

START_TEST(test_pipe_answers_in_order)
{
	struct authreg *ar = pipe_backend(5000);
	struct answer a = { 0 };

	ck_assert(!authreg_has_secrets(ar));
	/* Queued at once; answered one at a time, in order. */
	ck_assert_ptr_nonnull(authreg_check_password(ar, "alice", "example.org", "wonder:land",
	    record, &a));
	authreg_check_password(ar, "alice", "example.org", "wrong", record, &a);
	authreg_exists(ar, "alice", "example.org", record, &a);
	authreg_exists(ar, "bob", "example.org", record, &a);
	ck_assert_int_eq(a.n, 0);
	wait_for(&a, 4, 10000);
	ck_assert_int_eq(a.r[0], AUTHREG_OK);
	ck_assert_int_eq(a.r[1], AUTHREG_NO);
	ck_assert_int_eq(a.r[2], AUTHREG_OK);
	ck_assert_int_eq(a.r[3], AUTHREG_NO);

	authreg_create(ar, "bob", "example.org", "builder", record, &a);
	authreg_create(ar, "bob", "example.org", "again", record, &a);
	authreg_check_password(ar, "bob", "example.org", "builder", record, &a);
	authreg_set_password(ar, "bob", "example.org", "b2", record, &a);
	authreg_check_password(ar, "bob", "example.org", "b2", record, &a);
	authreg_remove(ar, "bob", "example.org", record, &a);
	authreg_exists(ar, "bob", "example.org", record, &a);
	wait_for(&a, 11, 10000);
	ck_assert_int_eq(a.r[4], AUTHREG_OK);
	ck_assert_int_eq(a.r[5], AUTHREG_NO);
	ck_assert_int_eq(a.r[6], AUTHREG_OK);
	ck_assert_int_eq(a.r[7], AUTHREG_OK);
	ck_assert_int_eq(a.r[8], AUTHREG_OK);
	ck_assert_int_eq(a.r[9], AUTHREG_OK);
	ck_assert_int_eq(a.r[10], AUTHREG_NO);
	ck_assert_int_eq(authreg_list(ar, "example.org", count_user, NULL), AUTHREG_UNSUPPORTED);
	authreg_free(&ar);
	loop_free(&loop);
}
END_TEST

START_TEST(test_pipe_program_that_hangs_times_out_and_is_restarted)
{
	struct authreg *ar = pipe_backend(1500);
	struct answer a = { 0 };

	authreg_check_password(ar, "hang", "example.org", "x", record, &a);
	wait_for(&a, 1, 5000);
	ck_assert_int_eq(a.r[0], AUTHREG_TEMPFAIL);
	/* The next request goes to a new program. */
	authreg_check_password(ar, "alice", "example.org", "wonder:land", record, &a);
	wait_for(&a, 2, 10000);
	ck_assert_int_eq(a.r[1], AUTHREG_OK);
	authreg_free(&ar);
	loop_free(&loop);
}
END_TEST

START_TEST(test_pipe_program_that_dies_or_babbles_is_restarted)
{
	struct authreg *ar = pipe_backend(5000);
	struct answer a = { 0 };

	authreg_check_password(ar, "die", "example.org", "x", record, &a);
	wait_for(&a, 1, 5000);
	ck_assert_int_eq(a.r[0], AUTHREG_TEMPFAIL);
	authreg_check_password(ar, "alice", "example.org", "wonder:land", record, &a);
	wait_for(&a, 2, 10000);
	ck_assert_int_eq(a.r[1], AUTHREG_OK);
	authreg_check_password(ar, "garbage", "example.org", "x", record, &a);
	wait_for(&a, 3, 5000);
	ck_assert_int_eq(a.r[2], AUTHREG_TEMPFAIL);
	authreg_exists(ar, "alice", "example.org", record, &a);
	wait_for(&a, 4, 10000);
	ck_assert_int_eq(a.r[3], AUTHREG_OK);
	authreg_free(&ar);
	loop_free(&loop);
}
END_TEST

START_TEST(test_pipe_cancelled_request_never_calls_back)
{
	struct authreg *ar = pipe_backend(5000);
	struct answer a = { 0 }, b = { 0 };

	struct authreg_request *r1 = authreg_exists(ar, "alice", "example.org", record, &a);
	struct authreg_request *r2 = authreg_exists(ar, "alice", "example.org", record, &a);
	authreg_exists(ar, "alice", "example.org", record, &b);
	authreg_cancel(ar, &r1);   /* on the wire, perhaps: its answer is swallowed */
	authreg_cancel(ar, &r2);   /* still queued: gone */
	ck_assert_ptr_null(r1);
	wait_for(&b, 1, 10000);
	ck_assert_int_eq(b.r[0], AUTHREG_OK);
	ck_assert_int_eq(a.n, 0);
	authreg_free(&ar);
	loop_free(&loop);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("authreg");
	TCase *tc = tcase_create("internal");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_internal_create_check_change_remove);
	tcase_add_test(tc, test_internal_lists_a_domain);
	suite_add_tcase(s, tc);

	tc = tcase_create("pipe");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_pipe_answers_in_order);
	tcase_add_test(tc, test_pipe_program_that_hangs_times_out_and_is_restarted);
	tcase_add_test(tc, test_pipe_program_that_dies_or_babbles_is_restarted);
	tcase_add_test(tc, test_pipe_cancelled_request_never_calls_back);
	suite_add_tcase(s, tc);
	return s;
}
