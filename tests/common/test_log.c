/*
 * test_log.c — logging: one line per event with the process name and
 * level, levels filter, a file target appends and can be reopened after
 * rotation, newlines in a message cannot forge a second line.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "unit.h"

static char dir[64];
static char path[128];

static void setup(void)
{
	strcpy(dir, "/tmp/parley-test-log-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/parley.log", dir);
}

static void teardown(void)
{
	char rotated[160];
	snprintf(rotated, sizeof(rotated), "%s.1", path);
	unlink(path);
	unlink(rotated);
	rmdir(dir);
}

static size_t slurp(const char *p, char *out, size_t cap)
{
	int fd = open(p, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ssize_t n = read(fd, out, cap - 1);
	close(fd);
	ck_assert_int_ge(n, 0);
	out[n] = '\0';
	return (size_t)n;
}

static int count_lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

START_TEST(test_file_target_gets_one_line_per_event_with_process_name)
{
	char err[ERRLEN], text[4096];

	ck_assert_int_eq(log_open("parley-c2s", path, LOG_LEVEL_INFO, err, sizeof(err)), 0);
	log_info("client %s connected", "192.0.2.1");
	log_error("bad stanza\nfake line\x1b[2J\ttab");
	log_debug("not shown at info");
	log_close();
	slurp(path, text, sizeof(text));
	ck_assert_int_eq(count_lines(text), 2);
	ck_assert(strstr(text, "parley-c2s[") != NULL);
	ck_assert(strstr(text, "] info: client 192.0.2.1 connected\n") != NULL);
	ck_assert(strstr(text, "] error: bad stanza fake line?[2J\ttab\n") != NULL);
	ck_assert(strstr(text, "not shown") == NULL);
}
END_TEST

START_TEST(test_debug_level_shows_debug)
{
	char err[ERRLEN], text[4096];

	ck_assert_int_eq(log_open("parley-sm", path, LOG_LEVEL_DEBUG, err, sizeof(err)), 0);
	log_debug("roster loaded for %s", "romeo@montague.example");
	log_close();
	slurp(path, text, sizeof(text));
	ck_assert(strstr(text, "parley-sm[") != NULL);
	ck_assert(strstr(text, "debug: roster loaded for romeo@montague.example") != NULL);
}
END_TEST

START_TEST(test_reopen_follows_rotation)
{
	char err[ERRLEN], text[4096], rotated[160];

	snprintf(rotated, sizeof(rotated), "%s.1", path);
	ck_assert_int_eq(log_open("parley-router", path, LOG_LEVEL_INFO, err, sizeof(err)), 0);
	log_info("before");
	ck_assert_int_eq(rename(path, rotated), 0);
	ck_assert_int_eq(log_reopen(err, sizeof(err)), 0);
	log_info("after");
	log_close();
	slurp(rotated, text, sizeof(text));
	ck_assert(strstr(text, "before") != NULL && strstr(text, "after") == NULL);
	slurp(path, text, sizeof(text));
	ck_assert(strstr(text, "after") != NULL && strstr(text, "before") == NULL);
}
END_TEST

START_TEST(test_unwritable_target_is_an_error_naming_it)
{
	char err[ERRLEN];
	ck_assert_int_eq(log_open("x", "/nonexistent-dir/parley.log", LOG_LEVEL_INFO, err, sizeof(err)), -1);
	ck_assert(strstr(err, "/nonexistent-dir/parley.log") != NULL);
}
END_TEST

START_TEST(test_level_names_parse)
{
	ck_assert_int_eq(log_level_parse("warn"), LOG_LEVEL_WARN);
	ck_assert_int_eq(log_level_parse("debug"), LOG_LEVEL_DEBUG);
	ck_assert_int_eq(log_level_parse("verbose"), -1);
	ck_assert_str_eq(log_level_name(LOG_LEVEL_ERROR), "error");
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("log");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_file_target_gets_one_line_per_event_with_process_name);
	tcase_add_test(tc, test_debug_level_shows_debug);
	tcase_add_test(tc, test_reopen_follows_rotation);
	tcase_add_test(tc, test_unwritable_target_is_an_error_naming_it);
	tcase_add_test(tc, test_level_names_parse);
	suite_add_tcase(s, tc);
	return s;
}
