/*
 * test_passwd_check.c — the stored password forms of the sql backend:
 * each known form verifies its right password and refuses a wrong one
 * (vectors made elsewhere: Python's crypt for the crypt(3) forms, the
 * argon2 reference test vector); malformed strings match nothing; every
 * scheme auth.sql.hash names makes a form that verifies, with a fresh
 * salt each time.
 */
#include <stdlib.h>
#include <string.h>

#include "passwd_check.h"
#include "scram_secrets.h"
#include "util.h"
#include "unit.h"

struct vector {
	const char *stored;
	const char *password;
	enum passwd_form form;
};

static const struct vector vectors[] = {
	{ "$2b$04$UVOAAw/0AYykGtn9mlSUX.JN2MKoY.rBX2O8AtLmXzXdnSi2nvyge", "correct horse",
	  PASSWD_BCRYPT },
	{ "$6$bQPGn5gdH8rID2Xt$VUH79m2m.Lkz.VAbNquRu6zu1On882jgcGqJKHwA2vgnfWGlJDLwbRvDk5S9jkJO"
	  "I/9fjNlO/Kaepd5gJftR31", "correct horse", PASSWD_SHA512_CRYPT },
	{ "$5$7Fc.ZaVXHFhpo19E$fVfP.UHhvh0apYSnpQcUzFrbLsDmJt/bi.7GJJxI.Q6", "correct horse",
	  PASSWD_SHA256_CRYPT },
	{ "$y$j9T$cvd4kWajva2MFSH3krZIP/$tIv1tJIyx0xkNtyQwfVPpVMZPn24QlLTcJC9eypv1B5",
	  "correct horse", PASSWD_YESCRYPT },
	/* The reference implementation's own test vector. */
	{ "$argon2i$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$wWKIMhR9lyDFvRz9YTZweHKfbftvj+qf+YFY4NeBbtA",
	  "password", PASSWD_ARGON2 },
	{ "hunter2", "hunter2", PASSWD_PLAIN },
};

START_TEST(test_each_form_verifies_its_password_and_refuses_a_wrong_one)
{
	for (size_t i = 0; i < ARRAY_LEN(vectors); i++) {
		const struct vector *v = &vectors[i];
		enum passwd_form form = PASSWD_MALFORMED;

		ck_assert_int_eq(passwd_form_of(v->stored), v->form);
		ck_assert_int_eq(passwd_verify(v->stored, v->password, &form), PASSWD_MATCH);
		ck_assert_int_eq(form, v->form);
		ck_assert_int_eq(passwd_verify(v->stored, "wrong", NULL), PASSWD_MISMATCH);
		ck_assert_int_eq(passwd_verify(v->stored, "", NULL), PASSWD_MISMATCH);
	}
	/* One character more or less is another password. */
	ck_assert_int_eq(passwd_verify(vectors[0].stored, "correct horse ", NULL), PASSWD_MISMATCH);
	ck_assert_int_eq(passwd_verify("hunter2", "hunter", NULL), PASSWD_MISMATCH);
	ck_assert_int_eq(passwd_verify("hunter2", "hunter22", NULL), PASSWD_MISMATCH);
}
END_TEST

START_TEST(test_scram_text_verifies_plain_passwords)
{
	struct scram_secrets s;
	char text[SCRAM_SECRETS_TEXT_MAX], err[ERRLEN];

	for (int h = 0; h < SCRAM_HASH_COUNT; h++) {
		ck_assert_int_eq(scram_secrets_from_password((enum scram_hash)h, "pencil", 4096, NULL,
		    0, &s, err, sizeof(err)), 0);
		ck_assert_int_eq(scram_secrets_format(&s, text, sizeof(text), err, sizeof(err)), 0);
		ck_assert_int_eq(passwd_form_of(text), PASSWD_SCRAM);
		ck_assert_int_eq(passwd_verify(text, "pencil", NULL), PASSWD_MATCH);
		ck_assert_int_eq(passwd_verify(text, "pen", NULL), PASSWD_MISMATCH);
	}
}
END_TEST

START_TEST(test_malformed_forms_match_nothing)
{
	static const char *const bad[] = {
		"",
		"$1$abc$def",                                   /* MD5-crypt: not accepted */
		"$unknown$x",
		"$",
		"$2b$04$short",                                 /* a truncated bcrypt */
		"$6$",                                          /* no hash at all */
		"$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ",   /* no hash part */
		"$argon2id$v=19$m=9999999,t=2,p=1$c29tZXNhbHQ$wWKIMhR9lyDFvRz9YTZweHKfbftvj+qf+YFY4NeBbtA",
		"$argon2x$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$wWKIMhR9lyDFvRz9YTZweHKfbftvj+qf+YFY4NeBbtA",
		"SCRAM-SHA-256$4096:bm90$bm90:bm90",           /* keys of the wrong length */
		"SCRAM-SHA-1$zz",
	};

	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		enum passwd_verdict v = passwd_verify(bad[i], "password", NULL);
		ck_assert_msg(v == PASSWD_UNUSABLE || v == PASSWD_MISMATCH, "%s", bad[i]);
		ck_assert_int_ne(v, PASSWD_MATCH);
	}
	ck_assert_int_eq(passwd_form_of(""), PASSWD_MALFORMED);
	ck_assert_int_eq(passwd_form_of("$1$abc$def"), PASSWD_MALFORMED);
	ck_assert_int_eq(passwd_form_of("SCRAM-SHA-1$zz"), PASSWD_MALFORMED);
	ck_assert_int_eq(passwd_form_of("$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ"),
	    PASSWD_MALFORMED);
	/* A truncated crypt string is recognised by its prefix, but crypt
	 * cannot use it: unusable, never a match. */
	ck_assert_int_eq(passwd_verify("$2b$04$short", "", NULL), PASSWD_UNUSABLE);
	/* NULL stored value (SQL NULL reaches us as NULL). */
	ck_assert_int_eq(passwd_form_of(NULL), PASSWD_MALFORMED);
}
END_TEST

START_TEST(test_every_scheme_makes_a_form_that_verifies_with_a_fresh_salt)
{
	static const struct {
		const char *name;
		enum passwd_form form;
		const char *prefix;
	} schemes[] = {
		{ "bcrypt", PASSWD_BCRYPT, "$2b$" },
		{ "sha512-crypt", PASSWD_SHA512_CRYPT, "$6$" },
		{ "yescrypt", PASSWD_YESCRYPT, "$y$" },
		{ "argon2id", PASSWD_ARGON2, "$argon2id$" },
		{ "scram-sha-1", PASSWD_SCRAM, "SCRAM-SHA-1$" },
		{ "scram-sha-256", PASSWD_SCRAM, "SCRAM-SHA-256$" },
		{ "plain", PASSWD_PLAIN, "s3cret" },
	};
	char err[ERRLEN];

	for (size_t i = 0; i < ARRAY_LEN(schemes); i++) {
		int scheme = passwd_scheme_from_name(schemes[i].name);
		ck_assert_int_ge(scheme, 0);
		char *a = passwd_make((enum passwd_scheme)scheme, "s3cret", 4096, err, sizeof(err));
		char *b = passwd_make((enum passwd_scheme)scheme, "s3cret", 4096, err, sizeof(err));
		ck_assert_msg(a != NULL && b != NULL, "%s: %s", schemes[i].name, err);
		ck_assert_msg(strncmp(a, schemes[i].prefix, strlen(schemes[i].prefix)) == 0, "%s",
		    a);
		ck_assert_int_eq(passwd_form_of(a), schemes[i].form);
		ck_assert_int_eq(passwd_verify(a, "s3cret", NULL), PASSWD_MATCH);
		ck_assert_int_eq(passwd_verify(a, "s3cret!", NULL), PASSWD_MISMATCH);
		if (schemes[i].form != PASSWD_PLAIN)
			ck_assert_str_ne(a, b);   /* a new salt each time */
		free(a);
		free(b);
	}
	ck_assert_int_eq(passwd_scheme_from_name("md5"), -1);
	/* Plain text that would read back as something else is refused. */
	ck_assert_ptr_null(passwd_make(PASSWD_SCHEME_PLAIN, "$6$x", 0, err, sizeof(err)));
	ck_assert_ptr_null(passwd_make(PASSWD_SCHEME_PLAIN, "", 0, err, sizeof(err)));
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("passwd_check");
	TCase *tc = tcase_create("forms");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_each_form_verifies_its_password_and_refuses_a_wrong_one);
	tcase_add_test(tc, test_scram_text_verifies_plain_passwords);
	tcase_add_test(tc, test_malformed_forms_match_nothing);
	tcase_add_test(tc, test_every_scheme_makes_a_form_that_verifies_with_a_fresh_salt);
	suite_add_tcase(s, tc);
	return s;
}
