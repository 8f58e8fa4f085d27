/*
 * test_conf.c — the configuration loader: values and defaults, every kind
 * of error reported as FILE:LINE: path: message (syntax, unknown keys with
 * suggestions, types, ranges, choices, sizes, durations, modes, missing
 * keys, errors inside @included files, many errors at once), per-process log
 * settings, lists of groups, and the agreement of the schema with
 * doc/config.md and etc/parley.conf.example.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "unit.h"

static char *source_path(const char *rel)
{
	struct buf b = BUF_INIT;
	buf_appendf(&b, "%s/%s", unit_srcdir(), rel);
	return b.data;
}

static char *read_text(const char *path)
{
	FILE *f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	struct buf b = BUF_INIT;
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, n);
	fclose(f);
	buf_append(&b, "", 1);
	return b.data;
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	ck_assert_msg(f != NULL, "cannot create %s", path);
	fputs(text, f);
	fclose(f);
}

/* Load text that must fail; return the errors for the test to inspect. */
static void load_bad(const char *text, struct conf_errors *errs)
{
	struct conf *c = (struct conf *)1;
	ck_assert_int_eq(conf_load_string(&c, text, "parley.conf", errs), -1);
	ck_assert_ptr_null(c);
	ck_assert_uint_ge(errs->count, 1);
}

static struct conf *load_good(const char *text)
{
	struct conf_errors errs = CONF_ERRORS_INIT;
	struct conf *c = NULL;
	int r = conf_load_string(&c, text, "parley.conf", &errs);
	ck_assert_msg(r == 0, "unexpected error: %s", errs.count ? errs.msg[0] : "?");
	ck_assert_ptr_nonnull(c);
	return c;
}

/* The only error is exactly `want`. */
static void assert_one_error(const char *text, const char *want)
{
	struct conf_errors errs = CONF_ERRORS_INIT;
	load_bad(text, &errs);
	ck_assert_str_eq(errs.msg[0], want);
	ck_assert_uint_eq(errs.count, 1);
	conf_errors_clear(&errs);
}

/* --- a good file ------------------------------------------------------------ */

START_TEST(test_good_file_gives_file_values_and_defaults)
{
	struct conf_errors errs = CONF_ERRORS_INIT;
	struct conf *c = NULL;
	char *path = source_path("tests/data/config/good.conf");

	ck_assert_int_eq(conf_load(&c, path, &errs), 0);
	ck_assert_uint_eq(errs.count, 0);

	ck_assert_uint_eq(conf_strlist_count(c, "hosts"), 2);
	ck_assert_str_eq(conf_strlist_get(c, "hosts", 0), "example.org");
	ck_assert_str_eq(conf_strlist_get(c, "hosts", 1), "chat.example.net");
	ck_assert_str_eq(conf_str(c, "user"), "xmpp");
	ck_assert_str_eq(conf_str(c, "group"), "parley");			/* default */
	ck_assert_int_eq(conf_int(c, "c2s.instances"), 4);
	ck_assert_uint_eq(conf_size(c, "c2s.max_stanza_size"), 512 * 1024);
	ck_assert_int_eq(conf_int(c, "c2s.max_depth"), 32);			/* default */
	ck_assert_int_eq(conf_int(c, "s2s.max_depth"), 48);
	ck_assert_uint_eq(conf_size(c, "s2s.max_stanza_size"), 512 * 1024);	/* default */
	ck_assert_uint_eq(conf_size(c, "router.max_frame"), 1024 * 1024 + 64 * 1024);
	ck_assert_uint_eq(conf_size(c, "router.max_queue"), 5000000000ULL);
	ck_assert_int_eq(conf_int(c, "router.max_peers"), 1024);
	ck_assert_uint_eq(conf_mode(c, "router.socket_mode"), 0640);
	ck_assert_str_eq(conf_str(c, "router.secret"), "0123456789abcdef0123");
	ck_assert_ptr_null(conf_str(c, "router.secret_file"));			/* unset, no default */
	ck_assert_str_eq(conf_str(c, "storage.driver"), "pgsql");
	ck_assert_str_eq(conf_str(c, "tls.ciphers"), "ECDHE+AESGCM:ECDHE+CHACHA20");
	ck_assert_ptr_null(conf_str(c, "tls.ciphersuites"));
	ck_assert(conf_is_set(c, "c2s.instances"));
	ck_assert(!conf_is_set(c, "c2s.max_depth"));
	ck_assert(!conf_is_set(c, "sm"));

	conf_free(&c);
	ck_assert_ptr_null(c);
	free(path);
}
END_TEST

START_TEST(test_defaults_that_name_another_key_follow_it)
{
	struct conf *c = load_good(
	    "hosts = [ \"example.org\" ];\n"
	    "run_dir = \"/srv/run\";\n"
	    "group = \"xmpp\";\n"
	    "tls = { certificate = \"/etc/tls/both.pem\"; };\n");

	ck_assert_str_eq(conf_str(c, "router.socket"), "/srv/run/router.sock");
	ck_assert_str_eq(conf_str(c, "router.socket_group"), "xmpp");
	ck_assert_str_eq(conf_str(c, "tls.key"), "/etc/tls/both.pem");
	ck_assert_str_eq(conf_str(c, "storage.sqlite.path"), LOCALSTATEDIR "/lib/parley/parley.db");
	conf_free(&c);

	/* Without a certificate the key has no default either. */
	c = load_good("hosts = [ \"example.org\" ];\n");
	ck_assert_ptr_null(conf_str(c, "tls.key"));
	ck_assert_str_eq(conf_str(c, "run_dir"), LOCALSTATEDIR "/run/parley");
	ck_assert_str_eq(conf_str(c, "router.socket"), LOCALSTATEDIR "/run/parley/router.sock");
	conf_free(&c);
}
END_TEST

START_TEST(test_where_names_the_line_of_a_setting_or_of_its_group)
{
	struct conf_errors errs = CONF_ERRORS_INIT;
	struct conf *c = NULL;
	char *path = source_path("tests/data/config/good.conf");
	char want[4096];

	ck_assert_int_eq(conf_load(&c, path, &errs), 0);
	snprintf(want, sizeof(want), "%s:25", path);
	ck_assert_str_eq(conf_where(c, "c2s.max_stanza_size"), want);
	snprintf(want, sizeof(want), "%s:23", path);
	ck_assert_str_eq(conf_where(c, "c2s.max_depth"), want);	/* left out: its group */
	snprintf(want, sizeof(want), "%s", path);
	ck_assert_str_eq(conf_where(c, "sm.log.level"), want);		/* no group either */

	/* A process's later check reports the same way. */
	conf_error(&errs, c, "tls.certificate", "cannot read: %s", "No such file or directory");
	snprintf(want, sizeof(want), "%s:14: tls.certificate: cannot read: No such file or directory", path);
	ck_assert_uint_eq(errs.count, 1);
	ck_assert_str_eq(errs.msg[0], want);

	conf_errors_clear(&errs);
	conf_free(&c);
	free(path);
}
END_TEST

/* --- errors ----------------------------------------------------------------- */

START_TEST(test_syntax_error_reports_its_line)
{
	struct conf_errors errs = CONF_ERRORS_INIT;
	struct conf *c = NULL;
	char *path = source_path("tests/data/config/syntax.conf");
	char want[4096];

	ck_assert_int_eq(conf_load(&c, path, &errs), -1);
	ck_assert_ptr_null(c);
	snprintf(want, sizeof(want), "%s:3: syntax error", path);
	ck_assert_uint_eq(errs.count, 1);
	ck_assert_str_eq(errs.msg[0], want);
	conf_errors_clear(&errs);
	free(path);

	assert_one_error("hosts = [ \"example.org\" ];\nc2s = {};\nc2s = {};\n",
	    "parley.conf:3: duplicate setting name");
}
END_TEST

START_TEST(test_unknown_keys_are_errors_with_a_suggestion)
{
	struct conf_errors errs = CONF_ERRORS_INIT;
	struct conf *c = NULL;
	char *path = source_path("tests/data/config/unknown.conf");
	char want[4096];

	ck_assert_int_eq(conf_load(&c, path, &errs), -1);
	ck_assert_uint_eq(errs.count, 3);
	snprintf(want, sizeof(want), "%s:1: hostss: unknown setting (did you mean hosts?)", path);
	ck_assert_str_eq(errs.msg[0], want);
	snprintf(want, sizeof(want),
	    "%s:4: c2s.max_stanza_sise: unknown setting (did you mean c2s.max_stanza_size?)", path);
	ck_assert_str_eq(errs.msg[1], want);
	/* The right name in the wrong place: say where it belongs. */
	snprintf(want, sizeof(want),
	    "%s:6: max_stanza_size: unknown setting (did you mean c2s.max_stanza_size or s2s.max_stanza_size?)",
	    path);
	ck_assert_str_eq(errs.msg[2], want);
	conf_errors_clear(&errs);
	free(path);

	/* Nothing close: no suggestion. A name cut short: the whole one. */
	assert_one_error("hosts = [ \"example.org\" ];\nflux_capacitor = 1;\n",
	    "parley.conf:2: flux_capacitor: unknown setting");
	assert_one_error("hosts = [ \"example.org\" ];\ntls = {\n cert = \"/x.pem\";\n};\n",
	    "parley.conf:3: tls.cert: unknown setting (did you mean tls.certificate?)");
	assert_one_error("hosts = [ \"example.org\" ];\nC2S = { instances = 2; };\n",
	    "parley.conf:2: C2S: unknown setting (did you mean c2s?)");
}
END_TEST

START_TEST(test_wrong_type_is_reported_with_what_was_expected)
{
	assert_one_error("hosts = [ \"example.org\" ];\nc2s = {\n\tinstances = \"4\";\n};\n",
	    "parley.conf:3: c2s.instances: expected an integer, got a string");
	assert_one_error("hosts = [ \"example.org\" ];\nuser = 1000;\n",
	    "parley.conf:2: user: expected a string, got an integer");
	assert_one_error("hosts = \"example.org\";\n",
	    "parley.conf:1: hosts: expected a list of strings [ \"...\", ... ], got a string");
	assert_one_error("hosts = [ \"example.org\" ];\nc2s = 4;\n",
	    "parley.conf:2: c2s: expected a group { ... }, got an integer");
	assert_one_error("hosts = [ \"example.org\" ];\nc2s = { max_depth = 32.5; };\n",
	    "parley.conf:2: c2s.max_depth: expected an integer, got a number with a fraction");
	/* (An array [ ] must hold one type: libconfig rejects [ "a", 7 ] itself.) */
	assert_one_error("hosts = ( \"example.org\", 7 );\n",
	    "parley.conf:1: hosts[1]: expected a string, got an integer");
}
END_TEST

START_TEST(test_out_of_range_int_names_the_limits)
{
	assert_one_error("hosts = [ \"example.org\" ];\nc2s = {\n\tinstances = 65;\n};\n",
	    "parley.conf:3: c2s.instances: must be between 1 and 64, got 65");
	assert_one_error("hosts = [ \"example.org\" ];\nc2s = { max_stanza_size = 10; };\n",
	    "parley.conf:2: c2s.max_stanza_size: must be between 10000 and 16M, got 10");
	assert_one_error("hosts = [ \"example.org\" ];\nrouter = { max_peers = -1; };\n",
	    "parley.conf:2: router.max_peers: must be between 1 and 65536, got -1");
}
END_TEST

START_TEST(test_bad_enum_value_lists_the_choices)
{
	assert_one_error("hosts = [ \"example.org\" ];\nstorage = {\n\tdriver = \"oracle\";\n};\n",
	    "parley.conf:3: storage.driver: must be one of \"sqlite\", \"mysql\" or \"pgsql\", got \"oracle\"");
	assert_one_error("hosts = [ \"example.org\" ];\nlog = { level = \"verbose\"; };\n",
	    "parley.conf:2: log.level: must be one of \"error\", \"warn\", \"info\" or \"debug\", got \"verbose\"");
}
END_TEST

START_TEST(test_sizes_take_suffixes_and_bad_ones_are_rejected)
{
	struct conf *c = load_good("hosts = [ \"example.org\" ];\n"
	    "c2s = { max_stanza_size = \"1M\"; };\n"
	    "s2s = { max_stanza_size = 65536; };\n"
	    "router = { max_queue = \"2g\"; max_frame = \"300k\"; };\n");
	ck_assert_uint_eq(conf_size(c, "c2s.max_stanza_size"), 1024 * 1024);
	ck_assert_uint_eq(conf_size(c, "s2s.max_stanza_size"), 65536);
	ck_assert_uint_eq(conf_size(c, "router.max_queue"), 2ULL * 1024 * 1024 * 1024);
	ck_assert_uint_eq(conf_size(c, "router.max_frame"), 300 * 1024);
	conf_free(&c);

	assert_one_error("hosts = [ \"example.org\" ];\nc2s = { max_stanza_size = \"12Q\"; };\n",
	    "parley.conf:2: c2s.max_stanza_size: bad size \"12Q\": expected a number of bytes with an optional K, M or G suffix");
	assert_one_error("hosts = [ \"example.org\" ];\nc2s = { max_stanza_size = \"1.5M\"; };\n",
	    "parley.conf:2: c2s.max_stanza_size: bad size \"1.5M\": expected a number of bytes with an optional K, M or G suffix");
	assert_one_error("hosts = [ \"example.org\" ];\nc2s = { max_stanza_size = \"K\"; };\n",
	    "parley.conf:2: c2s.max_stanza_size: bad size \"K\": expected a number of bytes with an optional K, M or G suffix");
	assert_one_error("hosts = [ \"example.org\" ];\nc2s = { max_stanza_size = \"32M\"; };\n",
	    "parley.conf:2: c2s.max_stanza_size: must be between 10000 and 16M, got 32M");
	assert_one_error("hosts = [ \"example.org\" ];\nrouter = { max_queue = \"99999999999G\"; };\n",
	    "parley.conf:2: router.max_queue: size \"99999999999G\" is too large");
}
END_TEST

/* A schema of our own, for the types Parley's first keys do not use yet. */
static const char *const colours[] = { "red", "green", NULL };
static const struct conf_key test_keys[] = {
	{ .path = "timeout", .type = CONF_DURATION, .def = "30s", .min = 100, .max = 3600000, .doc = "d" },
	{ .path = "mode", .type = CONF_MODE, .def = "0600", .max = 0777, .doc = "d" },
	{ .path = "verbose", .type = CONF_BOOL, .def = "false", .doc = "d" },
	{ .path = "listeners", .type = CONF_GROUP_LIST, .min = 0, .max = 4, .doc = "d" },
	{ .path = "listeners.port", .type = CONF_INT, .flags = CONF_REQUIRED, .min = 1, .max = 65535, .doc = "d" },
	{ .path = "listeners.tls", .type = CONF_BOOL, .def = "true", .doc = "d" },
	{ .path = "listeners.colour", .type = CONF_ENUM, .def = "red", .choices = colours, .doc = "d" },
	{ .path = "db", .type = CONF_GROUP, .doc = "d" },
	{ .path = "db.dsn", .type = CONF_STRING, .flags = CONF_REQUIRED, .doc = "d" },
	{ .path = "db.timeout", .type = CONF_DURATION, .def = "5s", .min = 0, .max = 60000, .doc = "d" },
};
static const struct conf_schema test_schema = { test_keys, ARRAY_LEN(test_keys) };

static int load_test_schema(struct conf **c, const char *text, struct conf_errors *errs)
{
	return conf_load_string_schema(c, &test_schema, text, "test.conf", errs);
}

static void assert_one_test_error(const char *text, const char *want)
{
	struct conf_errors errs = CONF_ERRORS_INIT;
	struct conf *c = NULL;
	ck_assert_int_eq(load_test_schema(&c, text, &errs), -1);
	ck_assert_uint_ge(errs.count, 1);
	ck_assert_str_eq(errs.msg[0], want);
	ck_assert_uint_eq(errs.count, 1);
	conf_errors_clear(&errs);
}

START_TEST(test_durations_take_units_and_bad_ones_are_rejected)
{
	struct conf_errors errs = CONF_ERRORS_INIT;
	struct conf *c = NULL;

	ck_assert_int_eq(load_test_schema(&c, "timeout = \"250ms\";\ndb = { dsn = \"x\"; timeout = 7; };\n", &errs), 0);
	ck_assert_int_eq(conf_duration_ms(c, "timeout"), 250);
	ck_assert_int_eq(conf_duration_ms(c, "db.timeout"), 7000);
	conf_free(&c);
	ck_assert_int_eq(load_test_schema(&c, "timeout = \"2m\";\n", &errs), 0);
	ck_assert_int_eq(conf_duration_ms(c, "timeout"), 120000);
	conf_free(&c);
	ck_assert_int_eq(load_test_schema(&c, "", &errs), 0);
	ck_assert_int_eq(conf_duration_ms(c, "timeout"), 30000);
	ck_assert(!conf_bool(c, "verbose"));
	ck_assert_uint_eq(conf_mode(c, "mode"), 0600);
	ck_assert_uint_eq(conf_list_count(c, "listeners"), 0);
	conf_free(&c);

	assert_one_test_error("timeout = \"30 seconds\";\n",
	    "test.conf:1: timeout: bad duration \"30 seconds\": expected a number with a unit: ms, s, m, h or d");
	assert_one_test_error("\ntimeout = \"30\";\n",
	    "test.conf:2: timeout: bad duration \"30\": expected a number with a unit: ms, s, m, h or d");
	assert_one_test_error("timeout = \"2h\";\n", "test.conf:1: timeout: must be between 100ms and 1h, got 2h");
	assert_one_test_error("timeout = true;\n",
	    "test.conf:1: timeout: expected a duration (seconds, or a string like \"30s\"), got a boolean");
}
END_TEST

START_TEST(test_missing_required_key_is_reported_at_its_group)
{
	/* At the top level there is no group line: the file alone. */
	assert_one_error("c2s = { instances = 2; };\n", "parley.conf: hosts: required setting is missing");
	assert_one_error("hosts = [ ];\n", "parley.conf:1: hosts: must list at least one entry");

	assert_one_test_error("verbose = true;\n\ndb = {\n\ttimeout = 3;\n};\n",
	    "test.conf:3: db.dsn: required setting is missing");
	/* A required key of an optional group the file leaves out is not missing. */
	struct conf_errors errs = CONF_ERRORS_INIT;
	struct conf *c = NULL;
	ck_assert_int_eq(load_test_schema(&c, "verbose = true;\n", &errs), 0);
	ck_assert(conf_bool(c, "verbose"));
	ck_assert_ptr_null(conf_str(c, "db.dsn"));
	conf_free(&c);
}
END_TEST

START_TEST(test_error_in_included_file_names_that_file)
{
	struct conf_errors errs = CONF_ERRORS_INIT;
	struct conf *c = NULL;
	char *path = source_path("tests/data/config/include_main.conf");
	char *inc = source_path("tests/data/config/include/limits.conf");
	char want[4096];

	ck_assert_int_eq(conf_load(&c, path, &errs), -1);
	ck_assert_uint_eq(errs.count, 1);
	snprintf(want, sizeof(want), "%s:3: c2s.max_depth: must be between 8 and 256, got 2", inc);
	ck_assert_str_eq(errs.msg[0], want);
	conf_errors_clear(&errs);
	free(path);
	free(inc);

	path = source_path("tests/data/config/include_syntax.conf");
	inc = source_path("tests/data/config/include/syntax.conf");
	ck_assert_int_eq(conf_load(&c, path, &errs), -1);
	ck_assert_uint_eq(errs.count, 1);
	snprintf(want, sizeof(want), "%s:2: syntax error", inc);
	ck_assert_str_eq(errs.msg[0], want);
	conf_errors_clear(&errs);
	free(path);
	free(inc);
}
END_TEST

START_TEST(test_includes_read_absolute_paths_and_report_missing_files)
{
	char dir[] = "/tmp/test_conf.XXXXXX";
	char main_path[256], inc_path[256], text[1024], want[1024];
	struct conf_errors errs = CONF_ERRORS_INIT;
	struct conf *c = NULL;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(main_path, sizeof(main_path), "%s/parley.conf", dir);
	snprintf(inc_path, sizeof(inc_path), "%s/hosts.conf", dir);
	write_text(inc_path, "hosts = [ \"example.org\" ];\nc2s = { instances = 3; };\n");
	snprintf(text, sizeof(text), "# main\n@include \"%s\" # the hosts\ns2s = { max_depth = 9; };\n", inc_path);
	write_text(main_path, text);

	ck_assert_int_eq(conf_load(&c, main_path, &errs), 0);
	ck_assert_int_eq(conf_int(c, "c2s.instances"), 3);
	ck_assert_int_eq(conf_int(c, "s2s.max_depth"), 9);
	snprintf(want, sizeof(want), "%s:2", inc_path);
	ck_assert_str_eq(conf_where(c, "c2s.instances"), want);
	snprintf(want, sizeof(want), "%s:3", main_path);
	ck_assert_str_eq(conf_where(c, "s2s.max_depth"), want);
	conf_free(&c);

	write_text(main_path, "hosts = [ \"example.org\" ];\n\n@include \"missing.conf\"\n");
	ck_assert_int_eq(conf_load(&c, main_path, &errs), -1);
	snprintf(want, sizeof(want), "%s:3: @include \"missing.conf\": %s/missing.conf: cannot read: No such file or directory",
	    main_path, dir);
	ck_assert_uint_eq(errs.count, 1);
	ck_assert_str_eq(errs.msg[0], want);
	conf_errors_clear(&errs);

	/* A file that includes itself stops at the nesting limit. */
	write_text(main_path, "@include \"parley.conf\"\n");
	ck_assert_int_eq(conf_load(&c, main_path, &errs), -1);
	ck_assert_uint_eq(errs.count, 1);
	ck_assert(strstr(errs.msg[0], "includes nested more than 10 deep") != NULL);
	conf_errors_clear(&errs);

	unlink(main_path);
	unlink(inc_path);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

START_TEST(test_every_error_in_a_file_is_reported_in_order)
{
	struct conf_errors errs = CONF_ERRORS_INIT;
	struct conf *c = NULL;
	char *path = source_path("tests/data/config/several.conf");
	char want[4096];
	static const char *const expected[] = {
		":2: hosts[1]: \"user@example.org\" is not a domain: it contains '@'",
		":4: c2s.instances: expected an integer, got a string",
		":5: c2s.max_depth: must be between 8 and 256, got 1000",
		":8: storage.driver: must be one of \"sqlite\", \"mysql\" or \"pgsql\", got \"oracle\"",
		":9: storage.sqlite.path: must be an absolute path, got \"parley.db\"",
	};

	ck_assert_int_eq(conf_load(&c, path, &errs), -1);
	ck_assert_uint_eq(errs.count, ARRAY_LEN(expected));
	for (size_t i = 0; i < ARRAY_LEN(expected); i++) {
		snprintf(want, sizeof(want), "%s%s", path, expected[i]);
		ck_assert_str_eq(errs.msg[i], want);
	}
	conf_errors_clear(&errs);
	free(path);
}
END_TEST

START_TEST(test_errors_beyond_the_cap_are_counted)
{
	struct conf_errors errs = CONF_ERRORS_INIT;
	struct buf text = BUF_INIT;

	buf_append_str(&text, "hosts = [ \"example.org\" ];\n");
	for (int i = 0; i < 60; i++)
		buf_appendf(&text, "unknown_%d = 1;\n", i);
	buf_append(&text, "", 1);
	load_bad(text.data, &errs);
	ck_assert_uint_eq(errs.count, CONF_MAX_ERRORS);
	ck_assert_uint_eq(errs.dropped, 60 - CONF_MAX_ERRORS);
	ck_assert_str_eq(errs.msg[0], "parley.conf:2: unknown_0: unknown setting");

	char *out = NULL;
	size_t outlen = 0;
	FILE *f = open_memstream(&out, &outlen);
	conf_errors_print(&errs, f);
	fclose(f);
	ck_assert(strstr(out, "parley.conf:51: unknown_49: unknown setting\n(10 more errors not shown)\n") != NULL);
	free(out);
	conf_errors_clear(&errs);
	ck_assert_uint_eq(errs.count, 0);
	buf_free(&text);
}
END_TEST

START_TEST(test_process_log_overrides_top_level_log)
{
	struct conf_errors errs = CONF_ERRORS_INIT;
	struct conf *c = NULL;
	char *path = source_path("tests/data/config/good.conf");
	const char *target;
	enum log_level level;

	ck_assert_int_eq(conf_load(&c, path, &errs), 0);
	conf_log_for(c, "c2s", &target, &level);	/* level only */
	ck_assert_str_eq(target, "stderr");
	ck_assert_int_eq(level, LOG_LEVEL_DEBUG);
	conf_log_for(c, "s2s", &target, &level);	/* target only */
	ck_assert_str_eq(target, "/var/log/parley/s2s.log");
	ck_assert_int_eq(level, LOG_LEVEL_WARN);
	conf_log_for(c, "sm", &target, &level);		/* neither */
	ck_assert_str_eq(target, "stderr");
	ck_assert_int_eq(level, LOG_LEVEL_WARN);
	conf_log_for(c, NULL, &target, &level);
	ck_assert_str_eq(target, "stderr");
	ck_assert_int_eq(level, LOG_LEVEL_WARN);
	conf_free(&c);
	free(path);

	c = load_good("hosts = [ \"example.org\" ];\n");
	conf_log_for(c, "router", &target, &level);
	ck_assert_str_eq(target, "syslog");
	ck_assert_int_eq(level, LOG_LEVEL_INFO);
	conf_free(&c);

	assert_one_error("hosts = [ \"example.org\" ];\nauth = { log = { target = \"auth.log\"; }; };\n",
	    "parley.conf:2: auth.log.target: must be \"stderr\", \"syslog\" or an absolute file path, got \"auth.log\"");
}
END_TEST

/* --- values that need care ----------------------------------------------- */

START_TEST(test_wide_integers_are_read_exactly)
{
	/* libconfig 1.5 alone would read 5000000000 as 705032704. */
	struct conf *c = load_good("hosts = [ \"example.org\" ];\n"
	    "router = { max_queue = 5000000000; max_frame = 0x100000; };\n"
	    "c2s = { max_stanza_size = 20000L; };\n");
	ck_assert_uint_eq(conf_size(c, "router.max_queue"), 5000000000ULL);
	ck_assert_uint_eq(conf_size(c, "router.max_frame"), 0x100000);
	ck_assert_uint_eq(conf_size(c, "c2s.max_stanza_size"), 20000);
	conf_free(&c);

	c = load_good("hosts = [ \"example.org\" ];\nrouter = { max_queue = 0x100000000; };\n");
	ck_assert_uint_eq(conf_size(c, "router.max_queue"), 0x100000000ULL);
	conf_free(&c);

	assert_one_error("hosts = [ \"example.org\" ];\nrouter = { max_frame = 4294967296; };\n",
	    "parley.conf:2: router.max_frame: must be between 64K and 256M, got 4G");
	assert_one_error("hosts = [ \"example.org\" ];\n\nrouter = { max_queue = 99999999999999999999; };\n",
	    "parley.conf:3: integer 99999999999999999999 does not fit in 64 bits");
	assert_one_error("hosts = [ \"example.org\" ];\nc2s = { instances = 5000000000; };\n",
	    "parley.conf:2: c2s.instances: must be between 1 and 64, got 5000000000");
}
END_TEST

START_TEST(test_leading_zero_is_octal_and_modes_take_both_forms)
{
	struct conf *c = load_good("hosts = [ \"example.org\" ];\nrouter = { socket_mode = 0600; };\n");
	ck_assert_uint_eq(conf_mode(c, "router.socket_mode"), 0600);
	conf_free(&c);
	c = load_good("hosts = [ \"example.org\" ];\nrouter = { socket_mode = \"0770\"; };\n");
	ck_assert_uint_eq(conf_mode(c, "router.socket_mode"), 0770);
	conf_free(&c);
	c = load_good("hosts = [ \"example.org\" ];\n");
	ck_assert_uint_eq(conf_mode(c, "router.socket_mode"), 0660);
	conf_free(&c);
	c = load_good("hosts = [ \"example.org\" ];\nc2s = { instances = 010; };\n");
	ck_assert_int_eq(conf_int(c, "c2s.instances"), 8);
	conf_free(&c);

	/* 660 without its 0 is decimal: 01224. */
	assert_one_error("hosts = [ \"example.org\" ];\nrouter = { socket_mode = 660; };\n",
	    "parley.conf:2: router.socket_mode: must be between 00 and 0777, got 01224 (write modes in octal, with a leading 0)");
	assert_one_error("hosts = [ \"example.org\" ];\nrouter = { socket_mode = 0689; };\n",
	    "parley.conf:2: 0689 is not a valid octal number (a leading 0 means octal)");
	assert_one_error("hosts = [ \"example.org\" ];\nrouter = { socket_mode = \"rw-rw----\"; };\n",
	    "parley.conf:2: router.socket_mode: bad mode \"rw-rw----\": expected octal digits like \"0660\"");
}
END_TEST

START_TEST(test_strings_and_comments_are_left_as_written)
{
	/* Numbers in strings and comments are not numbers; an @include in a
	 * block comment is not an include. */
	struct conf *c = load_good("hosts = [ \"example.org\" ];\n"
	    "user = \"0660\";  # 5000000000\n"
	    "tls = { ciphers = \"5000000000 \\\"x\\\" 0x1\"; }; // 0689\n"
	    "/* a comment\n"
	    "@include \"/nonexistent\"\n"
	    "*/\n"
	    "c2s = { instances = +2; max_depth = 9; };\n");
	ck_assert_str_eq(conf_str(c, "user"), "0660");
	ck_assert_str_eq(conf_str(c, "tls.ciphers"), "5000000000 \"x\" 0x1");
	ck_assert_int_eq(conf_int(c, "c2s.instances"), 2);
	ck_assert_str_eq(conf_where(c, "c2s.max_depth"), "parley.conf:7");
	conf_free(&c);

	assert_one_error("hosts = [ \"example.org\" ];\n@include missing.conf\n",
	    "parley.conf:2: malformed @include: expected @include \"FILE\"");
}
END_TEST

START_TEST(test_list_of_groups_elements_read_their_own_fields)
{
	struct conf_errors errs = CONF_ERRORS_INIT;
	struct conf *c = NULL;

	ck_assert_int_eq(load_test_schema(&c,
	    "listeners = (\n"
	    "\t{ port = 5222; },\n"
	    "\t{ port = 5223;\n"
	    "\t  tls = false; colour = \"green\"; }\n"
	    ");\n", &errs), 0);
	ck_assert_uint_eq(conf_list_count(c, "listeners"), 2);
	const struct conf *l0 = conf_list_elem(c, "listeners", 0);
	const struct conf *l1 = conf_list_elem(c, "listeners", 1);
	ck_assert_int_eq(conf_int(l0, "port"), 5222);
	ck_assert(conf_bool(l0, "tls"));
	ck_assert_str_eq(conf_str(l0, "colour"), "red");
	ck_assert_int_eq(conf_int(l1, "port"), 5223);
	ck_assert(!conf_bool(l1, "tls"));
	ck_assert_str_eq(conf_str(l1, "colour"), "green");
	ck_assert_str_eq(conf_where(l1, "tls"), "test.conf:4");
	ck_assert_str_eq(conf_where(l1, "port"), "test.conf:3");

	conf_error(&errs, l1, "port", "already in use");
	ck_assert_str_eq(errs.msg[0], "test.conf:3: listeners[1].port: already in use");
	conf_errors_clear(&errs);
	conf_free(&c);

	assert_one_test_error("listeners = (\n { port = 5222; },\n { tls = true; }\n);\n",
	    "test.conf:3: listeners[1].port: required setting is missing");
	assert_one_test_error("listeners = (\n { port = 5222; prot = 1; }\n);\n",
	    "test.conf:2: listeners[0].prot: unknown setting (did you mean listeners[0].port?)");
	assert_one_test_error("listeners = ( { port = 1; }, 5 );\n",
	    "test.conf:1: listeners[1]: expected a group { ... }, got an integer");
	assert_one_test_error("listeners = { port = 1; };\n",
	    "test.conf:1: listeners: expected a list of groups ( { ... }, ... ), got a group");
	assert_one_test_error("listeners = ( {port=1;}, {port=2;}, {port=3;}, {port=4;}, {port=5;} );\n",
	    "test.conf:1: listeners: must have between 0 and 4 entries, got 5");
}
END_TEST

START_TEST(test_router_secret_rules)
{
	assert_one_error("hosts = [ \"example.org\" ];\nrouter = {\n\tsecret = \"0123456789abcdef\";\n"
	    "\tsecret_file = \"/etc/parley/secret\";\n};\n",
	    "parley.conf:3: router.secret: cannot be set together with router.secret_file (parley.conf:4): choose one");
	assert_one_error("hosts = [ \"example.org\" ];\nrouter = { secret = \"hunter2\"; };\n",
	    "parley.conf:2: router.secret: is too short (7 characters): use at least 16 random characters");
}
END_TEST

START_TEST(test_hosts_must_be_domains_listed_once)
{
	assert_one_error("hosts = [ \"example.org\", \"chat.example.org\", \"Example.org\" ];\n",
	    "parley.conf:1: hosts[2]: \"Example.org\" is listed twice");
	/* The line of the entry, not of the "]" after it. */
	assert_one_error("hosts = [\n \"example.org\",\n \"https://\"\n  \"example.org\"  # joined\n\n];\n",
	    "parley.conf:3: hosts[1]: \"https://example.org\" is not a domain: it contains '/'");
	assert_one_error("hosts = [ \"\" ];\n", "parley.conf:1: hosts[0]: a domain may not be empty");
	assert_one_error("hosts = [ \"example org\" ];\n",
	    "parley.conf:1: hosts[0]: \"example org\" is not a domain: it contains a space or control character");
}
END_TEST

START_TEST(test_unreadable_file_is_reported)
{
	struct conf_errors errs = CONF_ERRORS_INIT;
	struct conf *c = NULL;

	ck_assert_int_eq(conf_load(&c, "/nonexistent/parley.conf", &errs), -1);
	ck_assert_ptr_null(c);
	ck_assert_uint_eq(errs.count, 1);
	ck_assert_str_eq(errs.msg[0], "/nonexistent/parley.conf: cannot read: No such file or directory");
	conf_errors_clear(&errs);
}
END_TEST

/* --- programming errors ----------------------------------------------------- */

START_TEST(test_getter_with_unknown_path_is_fatal)
{
	struct conf *c = load_good("hosts = [ \"example.org\" ];\n");
	conf_int(c, "c2s.max_stanzas");
}
END_TEST

START_TEST(test_getter_of_the_wrong_type_is_fatal)
{
	struct conf *c = load_good("hosts = [ \"example.org\" ];\n");
	conf_int(c, "c2s.max_stanza_size"); /* a size */
}
END_TEST

START_TEST(test_list_field_read_from_the_top_is_fatal)
{
	struct conf *c = NULL;
	struct conf_errors errs = CONF_ERRORS_INIT;
	ck_assert_int_eq(load_test_schema(&c, "", &errs), 0);
	conf_int(c, "listeners.port");
}
END_TEST

/* --- the schema, its documentation and its example ------------------------- */

START_TEST(test_parley_schema_is_consistent)
{
	char err[ERRLEN] = "";
	ck_assert_msg(conf_schema_check(&conf_parley_schema, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(conf_schema_check(&test_schema, err, sizeof(err)), 0);

	static const struct conf_key bad_default[] = {
		{ .path = "n", .type = CONF_INT, .def = "100", .min = 1, .max = 10, .doc = "d" },
	};
	static const struct conf_key orphan[] = {
		{ .path = "a.b", .type = CONF_BOOL, .def = "true", .doc = "d" },
	};
	static const struct conf_key no_default[] = {
		{ .path = "n", .type = CONF_SIZE, .min = 1, .max = 10, .doc = "d" },
	};
	static const struct conf_key bad_ref[] = {
		{ .path = "p", .type = CONF_PATH, .def = "${nowhere}/x", .doc = "d" },
	};
	const struct conf_schema s1 = { bad_default, 1 }, s2 = { orphan, 1 }, s3 = { no_default, 1 },
	    s4 = { bad_ref, 1 };
	ck_assert_int_eq(conf_schema_check(&s1, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "n: default \"100\": must be between 1 and 10, got 100");
	ck_assert_int_eq(conf_schema_check(&s2, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "a.b: its group a is not in the schema");
	ck_assert_int_eq(conf_schema_check(&s3, err, sizeof(err)), -1);
	ck_assert(strstr(err, "n: needs a default") != NULL);
	ck_assert_int_eq(conf_schema_check(&s4, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "p: default refers to unknown key nowhere");
}
END_TEST

START_TEST(test_every_schema_key_is_documented_and_every_documented_key_exists)
{
	char *path = source_path("doc/config.md");
	char *doc = read_text(path);
	char row[600];

	for (size_t i = 0; i < conf_parley_schema.nkeys; i++) {
		const char *key = conf_parley_schema.keys[i].path;
		snprintf(row, sizeof(row), "\n| `%s` |", key);
		ck_assert_msg(strstr(doc, row) != NULL, "%s has no row in %s", key, path);
	}
	/* And the other way: a row for a key that no longer exists is a lie. */
	for (const char *p = doc; (p = strstr(p, "\n| `")) != NULL; p++) {
		const char *start = p + 4, *end = strchr(start, '`');
		ck_assert_ptr_nonnull(end);
		snprintf(row, sizeof(row), "%.*s", (int)(end - start), start);
		ck_assert_msg(conf_schema_find(&conf_parley_schema, row) != NULL,
		    "%s documents %s, which is not in the schema", path, row);
	}
	free(doc);
	free(path);
}
END_TEST

START_TEST(test_example_config_loads)
{
	struct conf_errors errs = CONF_ERRORS_INIT;
	struct conf *c = NULL;
	char *path = source_path("etc/parley.conf.example");

	int r = conf_load(&c, path, &errs);
	ck_assert_msg(r == 0, "%s", errs.count ? errs.msg[0] : "?");
	ck_assert_str_eq(conf_strlist_get(c, "hosts", 0), "example.org");
	conf_free(&c);
	free(path);
}
END_TEST

/* The example shows each setting at its default as "#name = value;".
 * Uncommented, those lines must still load, and together set every key. */
START_TEST(test_example_config_with_every_default_uncommented_sets_every_key)
{
	struct conf_errors errs = CONF_ERRORS_INIT;
	struct conf *c = NULL;
	char *path = source_path("etc/parley.conf.example");
	char *text = read_text(path);
	struct buf out = BUF_INIT;

	for (char *line = text; *line != '\0';) {
		char *eol = strchr(line, '\n');
		size_t n = eol ? (size_t)(eol - line) + 1 : strlen(line);
		size_t indent = strspn(line, " \t");
		const char *p = line + indent + 1;
		if (line[indent] == '#' && islower((unsigned char)*p)) {
			size_t name = strspn(p, "abcdefghijklmnopqrstuvwxyz_0123456789");
			if (strncmp(p + name, " = ", 3) == 0) {
				buf_append(&out, line, indent);
				buf_append(&out, p, n - indent - 1);
				line += n;
				continue;
			}
		}
		buf_append(&out, line, n);
		line += n;
	}
	buf_append(&out, "", 1);

	int r = conf_load_string(&c, out.data, path, &errs);
	ck_assert_msg(r == 0, "%s", errs.count ? errs.msg[0] : "?");
	for (size_t i = 0; i < conf_parley_schema.nkeys; i++) {
		const struct conf_key *k = &conf_parley_schema.keys[i];
		bool excluded = k->excludes != NULL && conf_is_set(c, k->excludes);
		for (size_t j = 0; j < conf_parley_schema.nkeys; j++) {
			const struct conf_key *x = &conf_parley_schema.keys[j];
			if (x->excludes != NULL && strcmp(x->excludes, k->path) == 0 && conf_is_set(c, x->path))
				excluded = true;
		}
		/* A field of a list of groups is shown in the list's first element. */
		const struct conf *where = c;
		const char *field = k->path;
		for (size_t j = 0; j < conf_parley_schema.nkeys; j++) {
			const struct conf_key *l = &conf_parley_schema.keys[j];
			size_t len = strlen(l->path);
			if (l->type == CONF_GROUP_LIST && strncmp(k->path, l->path, len) == 0 &&
			    k->path[len] == '.') {
				ck_assert_msg(conf_list_count(c, l->path) > 0,
				    "etc/parley.conf.example does not show %s", l->path);
				where = conf_list_elem(c, l->path, 0);
				field = k->path + len + 1;
			}
		}
		ck_assert_msg(conf_is_set(where, field) || excluded,
		    "etc/parley.conf.example does not show %s", k->path);
	}
	conf_free(&c);
	buf_free(&out);
	free(text);
	free(path);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("conf");
	TCase *tc = tcase_create("conf");

	tcase_add_test(tc, test_good_file_gives_file_values_and_defaults);
	tcase_add_test(tc, test_defaults_that_name_another_key_follow_it);
	tcase_add_test(tc, test_where_names_the_line_of_a_setting_or_of_its_group);
	tcase_add_test(tc, test_syntax_error_reports_its_line);
	tcase_add_test(tc, test_unknown_keys_are_errors_with_a_suggestion);
	tcase_add_test(tc, test_wrong_type_is_reported_with_what_was_expected);
	tcase_add_test(tc, test_out_of_range_int_names_the_limits);
	tcase_add_test(tc, test_bad_enum_value_lists_the_choices);
	tcase_add_test(tc, test_sizes_take_suffixes_and_bad_ones_are_rejected);
	tcase_add_test(tc, test_durations_take_units_and_bad_ones_are_rejected);
	tcase_add_test(tc, test_missing_required_key_is_reported_at_its_group);
	tcase_add_test(tc, test_error_in_included_file_names_that_file);
	tcase_add_test(tc, test_includes_read_absolute_paths_and_report_missing_files);
	tcase_add_test(tc, test_every_error_in_a_file_is_reported_in_order);
	tcase_add_test(tc, test_errors_beyond_the_cap_are_counted);
	tcase_add_test(tc, test_process_log_overrides_top_level_log);
	tcase_add_test(tc, test_wide_integers_are_read_exactly);
	tcase_add_test(tc, test_leading_zero_is_octal_and_modes_take_both_forms);
	tcase_add_test(tc, test_strings_and_comments_are_left_as_written);
	tcase_add_test(tc, test_list_of_groups_elements_read_their_own_fields);
	tcase_add_test(tc, test_router_secret_rules);
	tcase_add_test(tc, test_hosts_must_be_domains_listed_once);
	tcase_add_test(tc, test_unreadable_file_is_reported);
	tcase_add_exit_test(tc, test_getter_with_unknown_path_is_fatal, EXIT_FAILURE);
	tcase_add_exit_test(tc, test_getter_of_the_wrong_type_is_fatal, EXIT_FAILURE);
	tcase_add_exit_test(tc, test_list_field_read_from_the_top_is_fatal, EXIT_FAILURE);
	tcase_add_test(tc, test_parley_schema_is_consistent);
	tcase_add_test(tc, test_every_schema_key_is_documented_and_every_documented_key_exists);
	tcase_add_test(tc, test_example_config_loads);
	tcase_add_test(tc, test_example_config_with_every_default_uncommented_sets_every_key);
	suite_add_tcase(s, tc);
	return s;
}
