/*
 * test_conf_user.c — each process's user and group (common/conf_user):
 * its own setting or, left empty, the top-level one; and the checks that
 * refuse, at the setting's FILE:LINE, a missing account, root, a group shut
 * out of the router socket, and sm and auth as two users on one SQLite
 * file. Uses accounts every Debian system has: root, nobody, daemon,
 * nogroup.
 */
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "conf_user.h"
#include "unit.h"

static struct conf *load(const char *text)
{
	struct conf_errors errs = CONF_ERRORS_INIT;
	struct conf *c = NULL;
	int r = conf_load_string(&c, text, "parley.conf", &errs);
	ck_assert_msg(r == 0, "unexpected error: %s", errs.count ? errs.msg[0] : "?");
	return c;
}

/* The errors conf_check_process_users finds, one per line. */
static void check(const char *text, char *out, size_t len)
{
	struct conf_errors errs = CONF_ERRORS_INIT;
	struct conf *c = load(text);
	int r = conf_check_process_users(c, &errs);

	out[0] = '\0';
	for (size_t i = 0; i < errs.count; i++) {
		strncat(out, errs.msg[i], len - strlen(out) - 1);
		strncat(out, "\n", len - strlen(out) - 1);
	}
	ck_assert_int_eq(r, errs.count > 0 ? -1 : 0);
	conf_errors_clear(&errs);
	conf_free(&c);
}

#define TOP "hosts = [ \"example.org\" ];\nuser = \"nobody\";\ngroup = \"nogroup\";\n"

START_TEST(test_a_process_runs_as_its_own_user_or_the_top_level_one)
{
	struct conf *c = load(TOP "c2s = {\n\tuser = \"daemon\";\n};\nsm = { user = \"\"; };\n");

	ck_assert_str_eq(conf_user_for(c, "c2s"), "daemon");
	ck_assert_str_eq(conf_user_key(c, "c2s"), "c2s.user");
	ck_assert_str_eq(conf_group_for(c, "c2s"), "nogroup");	/* its group: the top-level one */
	ck_assert_str_eq(conf_group_key(c, "c2s"), "group");
	ck_assert_str_eq(conf_user_for(c, "sm"), "nobody");	/* empty: the top-level one */
	ck_assert_str_eq(conf_user_key(c, "sm"), "user");
	ck_assert_str_eq(conf_user_for(c, "router"), "nobody");
	ck_assert_str_eq(conf_user_for(c, NULL), "nobody");
	conf_free(&c);
}
END_TEST

START_TEST(test_good_users_pass_the_check)
{
	char out[4096];

	check(TOP "c2s = { user = \"daemon\"; };\ns2s = { user = \"daemon\"; };\n", out, sizeof(out));
	ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(test_root_as_a_process_user_is_refused_at_its_line)
{
	char out[4096];

	check(TOP "c2s = {\n\tuser = \"root\";\n};\n", out, sizeof(out));
	ck_assert_str_eq(out, "parley.conf:5: c2s.user: \"root\" is root (uid 0): c2s refuses to run "
	    "as root; name an unprivileged user\n");
	check(TOP "router = {\n\tsecret = \"0123456789abcdef\";\n\tuser = \"root\";\n};\n", out,
	    sizeof(out));
	ck_assert_str_eq(out, "parley.conf:6: router.user: \"root\" is root (uid 0): the router "
	    "refuses to run as root; name an unprivileged user\n");
	/* The top-level one too, said once for every process that uses it. */
	check("hosts = [ \"example.org\" ];\nuser = \"root\";\ngroup = \"nogroup\";\n", out,
	    sizeof(out));
	ck_assert_str_eq(out, "parley.conf:2: user: \"root\" is root (uid 0): the processes refuse "
	    "to run as root; name an unprivileged user\n");
}
END_TEST

START_TEST(test_missing_users_and_groups_are_refused_at_their_line)
{
	char out[4096];

	check(TOP "s2s = {\n\tuser = \"no-such-parley-user\";\n\tgroup = \"no-such-parley-group\";\n};\n",
	    out, sizeof(out));
	ck_assert_str_eq(out,
	    "parley.conf:5: s2s.user: no such user \"no-such-parley-user\" on this system\n"
	    "parley.conf:6: s2s.group: no such group \"no-such-parley-group\" on this system\n");
}
END_TEST

START_TEST(test_a_group_shut_out_of_the_router_socket_is_refused)
{
	char out[4096];

	/* The socket is root:nogroup 0660: a process in group daemon cannot connect. */
	check(TOP "auth = {\n\tgroup = \"daemon\";\n};\n", out, sizeof(out));
	ck_assert_str_eq(out, "parley.conf:5: auth.group: auth runs as group \"daemon\", which cannot "
	    "connect to the router socket: the socket's group is router.socket_group (\"nogroup\") "
	    "and router.socket_mode 0660 gives other groups no write access\n");
	/* A socket any group may use lets it in; so does the router's own group. */
	check(TOP "router = { secret = \"0123456789abcdef\"; socket_mode = 0666; };\n"
	    "auth = { group = \"daemon\"; };\n", out, sizeof(out));
	ck_assert_str_eq(out, "");
	check(TOP "router = { secret = \"0123456789abcdef\"; group = \"daemon\"; };\n", out,
	    sizeof(out));
	ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(test_sm_and_auth_share_one_user_on_sqlite)
{
	char out[4096], err[ERRLEN];

	check(TOP "sm = { user = \"daemon\"; };\nauth = {\n\tuser = \"nobody\";\n};\n", out,
	    sizeof(out));
	ck_assert_str_eq(out, "parley.conf:6: auth.user: sm runs as \"daemon\" and auth as \"nobody\", "
	    "but with storage.driver \"sqlite\" both open the same database file (and its -wal and "
	    "-shm files): run them as one user (sm.user, auth.user), or use a database server\n");
	/* Only sm's set: the blame is on sm.user, and storage_prepare says it too. */
	struct conf *c = load(TOP "sm = {\n\tuser = \"daemon\";\n};\n");
	ck_assert_int_eq(conf_check_store_user(c, err, sizeof(err)), -1);
	ck_assert_msg(strncmp(err, "parley.conf:5: sm.user: sm runs as \"daemon\" and auth as "
	    "\"nobody\"", 60) == 0, "%s", err);
	conf_free(&c);
	/* A database server, or auth on another backend: no shared file. */
	check(TOP "sm = { user = \"daemon\"; };\nstorage = { driver = \"pgsql\"; };\n", out,
	    sizeof(out));
	ck_assert_str_eq(out, "");
	c = load(TOP "sm = { user = \"daemon\"; };\nauth = { user = \"daemon\"; };\n");
	ck_assert_int_eq(conf_check_store_user(c, err, sizeof(err)), 0);
	conf_free(&c);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("conf_user");
	TCase *tc = tcase_create("conf_user");

	tcase_add_test(tc, test_a_process_runs_as_its_own_user_or_the_top_level_one);
	tcase_add_test(tc, test_good_users_pass_the_check);
	tcase_add_test(tc, test_root_as_a_process_user_is_refused_at_its_line);
	tcase_add_test(tc, test_missing_users_and_groups_are_refused_at_their_line);
	tcase_add_test(tc, test_a_group_shut_out_of_the_router_socket_is_refused);
	tcase_add_test(tc, test_sm_and_auth_share_one_user_on_sqlite);
	suite_add_tcase(s, tc);
	return s;
}
