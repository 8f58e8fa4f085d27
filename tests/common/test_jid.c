/*
 * test_jid.c — JID parsing, preparation and comparison (common/jid.c).
 */
#include <idna.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stringprep.h>

#include "jid.h"
#include "unit.h"
#include "util.h"

/* Parse a NUL-terminated JID that must be valid. */
static struct jid *parse_ok(const char *s)
{
	struct jid *j = NULL;
	char err[ERRLEN] = "";

	int rc = jid_parse(&j, s, strlen(s), err, sizeof(err));
	ck_assert_msg(rc == 0, "'%s' refused: %s", s, err);
	ck_assert_ptr_nonnull(j);
	return j;
}

/* Parse `len` bytes that must be refused with exactly `reason`. */
static void parse_fails_n(const char *s, size_t len, const char *reason)
{
	struct jid *j = (struct jid *)1;
	char err[ERRLEN] = "";

	int rc = jid_parse(&j, s, len, err, sizeof(err));
	ck_assert_msg(rc == -1, "'%.*s' accepted", (int)len, s);
	ck_assert_ptr_null(j);
	ck_assert_str_eq(err, reason);
}

static void parse_fails(const char *s, const char *reason)
{
	parse_fails_n(s, strlen(s), reason);
}

static void assert_full(const char *in, const char *canonical)
{
	struct jid *j = parse_ok(in);
	ck_assert_str_eq(jid_full_str(j), canonical);
	ck_assert_uint_eq(jid_full_len(j), strlen(canonical));
	jid_free(&j);
}

static char *repeat(const char *unit, size_t times, const char *suffix)
{
	size_t ulen = strlen(unit), slen = strlen(suffix);
	char *s = malloc(ulen * times + slen + 1);

	for (size_t i = 0; i < times; i++)
		memcpy(s + i * ulen, unit, ulen);
	memcpy(s + ulen * times, suffix, slen + 1);
	return s;
}

START_TEST(test_jid_splits_localpart_domainpart_resourcepart)
{
	struct jid *j = parse_ok("juliet@example.com/balcony");

	ck_assert_str_eq(jid_localpart(j), "juliet");
	ck_assert_str_eq(jid_domainpart(j), "example.com");
	ck_assert_str_eq(jid_resourcepart(j), "balcony");
	ck_assert_str_eq(jid_full_str(j), "juliet@example.com/balcony");
	ck_assert_str_eq(jid_bare_str(j), "juliet@example.com");
	ck_assert_uint_eq(jid_bare_len(j), strlen("juliet@example.com"));
	ck_assert(!jid_is_bare(j));
	jid_free(&j);
	ck_assert_ptr_null(j);

	j = parse_ok("example.com");
	ck_assert_ptr_null(jid_localpart(j));
	ck_assert_ptr_null(jid_resourcepart(j));
	ck_assert_str_eq(jid_domainpart(j), "example.com");
	ck_assert_str_eq(jid_bare_str(j), "example.com");
	ck_assert(jid_is_bare(j));
	jid_free(&j);

	j = parse_ok("example.com/admin");
	ck_assert_ptr_null(jid_localpart(j));
	ck_assert_str_eq(jid_resourcepart(j), "admin");
	ck_assert_str_eq(jid_bare_str(j), "example.com");
	jid_free(&j);
}
END_TEST

START_TEST(test_jid_folds_localpart_case)
{
	struct jid *a = parse_ok("Juliet@Example.COM");
	struct jid *b = parse_ok("juliet@example.com");

	ck_assert_str_eq(jid_full_str(a), "juliet@example.com");
	ck_assert(jid_equal_full(a, b));
	ck_assert(jid_equal_bare(a, b));
	jid_free(&a);
	jid_free(&b);

	/* Beyond ASCII: nodeprep folds case and applies NFKC. */
	assert_full("\xc3\x84RGER@example.com", "\xc3\xa4rger@example.com");
	assert_full("Stra\xc3\x9f" "e@example.com", "strasse@example.com");
	/* U+FB01 (fi ligature) becomes "fi" under NFKC. */
	assert_full("\xef\xac\x81nd@example.com", "find@example.com");
}
END_TEST

START_TEST(test_jid_keeps_resource_case)
{
	struct jid *a = parse_ok("romeo@example.net/Orchard");
	struct jid *b = parse_ok("romeo@example.net/orchard");

	ck_assert_str_eq(jid_resourcepart(a), "Orchard");
	ck_assert(!jid_equal_full(a, b));
	ck_assert(jid_equal_bare(a, b));
	jid_free(&a);
	jid_free(&b);

	/* Space is allowed in a resource, and unassigned code points too. */
	assert_full("romeo@example.net/My Phone \xf0\x9f\x93\xb1",
	    "romeo@example.net/My Phone \xf0\x9f\x93\xb1");
}
END_TEST

START_TEST(test_jid_idn_domain_equals_its_a_label_form)
{
	struct jid *u = parse_ok("user@b\xc3\xbc" "cher.example");
	struct jid *a = parse_ok("user@xn--bcher-kva.example");
	struct jid *upper = parse_ok("user@XN--BCHER-KVA.EXAMPLE");
	struct jid *cap = parse_ok("user@B\xc3\x9c" "CHER.example");
	char ascii[JID_DOMAIN_ASCII_MAX + 1];
	char err[ERRLEN];

	ck_assert_str_eq(jid_domainpart(u), "b\xc3\xbc" "cher.example");
	ck_assert_str_eq(jid_full_str(a), "user@b\xc3\xbc" "cher.example");
	ck_assert(jid_equal_full(u, a));
	ck_assert(jid_equal_full(u, upper));
	ck_assert(jid_equal_full(u, cap));

	ck_assert_int_eq(jid_domain_ascii(u, ascii, err, sizeof(err)), 0);
	ck_assert_str_eq(ascii, "xn--bcher-kva.example");
	ck_assert_int_eq(jid_domain_ascii(a, ascii, err, sizeof(err)), 0);
	ck_assert_str_eq(ascii, "xn--bcher-kva.example");
	jid_free(&u);
	jid_free(&a);
	jid_free(&upper);
	jid_free(&cap);

	ck_assert_int_eq(jid_domainpart_to_ascii("Example.COM.", 12, ascii, err,
	    sizeof(err)), 0);
	ck_assert_str_eq(ascii, "example.com");
}
END_TEST

START_TEST(test_jid_domain_accepts_ideographic_full_stops)
{
	/* U+3002, U+FF0E and U+FF61 separate labels like "." (IDNA2003). */
	assert_full("a@example\xe3\x80\x82" "com", "a@example.com");
	assert_full("a@example\xef\xbc\x8e" "com", "a@example.com");
	assert_full("a@example\xef\xbd\xa1" "com", "a@example.com");
	parse_fails("a@example.com\xe3\x80\x82", "domainpart contains an empty label");
}
END_TEST

START_TEST(test_jid_domain_refuses_bad_a_labels)
{
	parse_fails("a@xn--a.example",
	    "domainpart label starts with \"xn--\" but is not a valid A-label");
	parse_fails("a@xn--abc-.example", "domainpart label starts or ends with a hyphen");
	parse_fails("a@xn--.example", "domainpart label starts or ends with a hyphen");
	parse_fails("a@xn--zz.example",
	    "domainpart label starts with \"xn--\" but is not a valid A-label");
}
END_TEST

START_TEST(test_jid_strips_one_trailing_dot)
{
	struct jid *a = parse_ok("juliet@example.com.");
	struct jid *b = parse_ok("juliet@example.com");

	ck_assert_str_eq(jid_domainpart(a), "example.com");
	ck_assert(jid_equal_full(a, b));
	jid_free(&a);
	jid_free(&b);

	assert_full("juliet@example.com./balcony", "juliet@example.com/balcony");
	parse_fails("juliet@example.com..", "domainpart contains an empty label");
	parse_fails("juliet@.", "domainpart is empty");
	parse_fails("juliet@.example.com", "domainpart contains an empty label");
	parse_fails("juliet@example..com", "domainpart contains an empty label");
}
END_TEST

START_TEST(test_jid_accepts_ip_literals)
{
	assert_full("a@192.0.2.1", "a@192.0.2.1");
	assert_full("a@192.0.2.1.", "a@192.0.2.1");
	assert_full("a@[2001:DB8::1]/r", "a@[2001:db8::1]/r");
	/* The same address written two ways is the same domainpart. */
	assert_full("a@[0:0:0:0:0:0:0:1]", "a@[::1]");
	assert_full("[::ffff:192.0.2.1]", "[::ffff:192.0.2.1]");

	struct jid *j = parse_ok("a@[2001:db8::1]");
	char ascii[JID_DOMAIN_ASCII_MAX + 1];
	char err[ERRLEN];
	ck_assert_int_eq(jid_domain_ascii(j, ascii, err, sizeof(err)), 0);
	ck_assert_str_eq(ascii, "[2001:db8::1]");
	jid_free(&j);

	parse_fails("a@[2001:db8::g]", "domainpart is not a valid IPv6 literal");
	parse_fails("a@[::1", "domainpart is not a valid IPv6 literal");
	parse_fails("a@[]", "domainpart is not a valid IPv6 literal");
	parse_fails("a@[192.0.2.1]", "domainpart is not a valid IPv6 literal");
	parse_fails("a@256.0.2.1", "domainpart is not a valid IPv4 address");
	parse_fails("a@192.0.2", "domainpart is not a valid IPv4 address");
	parse_fails("a@01.2.3.4", "domainpart is not a valid IPv4 address");
	parse_fails("a@1", "domainpart is not a valid IPv4 address");
	/* Judged after preparation: fullwidth digits are digits (NFKC). */
	parse_fails("a@\xef\xbc\x91", "domainpart is not a valid IPv4 address");
	assert_full("a@\xef\xbc\x91.\xef\xbc\x92.\xef\xbc\x93.\xef\xbc\x94",
	    "a@1.2.3.4");
	/* A numeric label elsewhere is fine. */
	assert_full("a@example.123", "a@example.123");
}
END_TEST

START_TEST(test_jid_rejects_each_prohibited_localpart_character)
{
	const char *prohibited = " \"&'/:<>@";
	char out[JID_PART_BUFSIZE];
	char err[ERRLEN];

	for (const char *c = prohibited; *c; c++) {
		char local[4] = { 'a', *c, 'b', '\0' };
		err[0] = '\0';
		ck_assert_msg(jid_prep_localpart(local, 3, out, err, sizeof(err)) == -1,
		    "'%c' accepted in a localpart", *c);
		ck_assert_str_eq(err, "localpart contains a prohibited character");

		struct jid *j = (struct jid *)1;
		ck_assert_int_eq(jid_new(&j, local, "example.com", NULL, err,
		    sizeof(err)), -1);
		ck_assert_ptr_null(j);
		ck_assert_str_eq(err, "localpart contains a prohibited character");
	}

	/* Through the parser, for those that do not split the JID. */
	parse_fails("a b@example.com", "localpart contains a prohibited character");
	parse_fails("a\"b@example.com", "localpart contains a prohibited character");
	parse_fails("a&b@example.com", "localpart contains a prohibited character");
	parse_fails("a'b@example.com", "localpart contains a prohibited character");
	parse_fails("a:b@example.com", "localpart contains a prohibited character");
	parse_fails("a<b@example.com", "localpart contains a prohibited character");
	parse_fails("a>b@example.com", "localpart contains a prohibited character");
	parse_fails("a\tb@example.com", "localpart contains a prohibited character");
	parse_fails("a\x7f" "b@example.com", "localpart contains a prohibited character");
	/* Non-ASCII space (C.1.2), and a fullwidth '@' that NFKC makes '@'. */
	parse_fails("a\xc2\xa0" "b@example.com", "localpart contains a prohibited character");
	parse_fails("a\xef\xbc\xa0" "b@example.com",
	    "localpart contains a prohibited character");
	/* A NUL would end the string early inside libidn. */
	parse_fails_n("a\0b@example.com", 15, "localpart contains a prohibited character");
	/* A '@' after the first goes to the domainpart, where it is refused. */
	parse_fails("a@b@example.com", "domainpart contains a character that is not "
	    "a letter, digit or hyphen");
}
END_TEST

START_TEST(test_jid_rejects_empty_parts)
{
	parse_fails("", "domainpart is empty");
	parse_fails("@example.com", "localpart is empty");
	parse_fails("juliet@", "domainpart is empty");
	parse_fails("juliet@/balcony", "domainpart is empty");
	parse_fails("/balcony", "domainpart is empty");
	parse_fails("juliet@example.com/", "resourcepart is empty");
	parse_fails("example.com/", "resourcepart is empty");
	parse_fails("@/", "localpart is empty");
	/* Preparation that maps everything to nothing (U+00AD soft hyphen). */
	parse_fails("\xc2\xad@example.com", "localpart is empty after preparation");

	struct jid *j = (struct jid *)1;
	char err[ERRLEN];
	ck_assert_int_eq(jid_new(&j, "", "example.com", NULL, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "localpart is empty");
	ck_assert_int_eq(jid_new(&j, "a", "example.com", "", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "resourcepart is empty");
	ck_assert_int_eq(jid_new(&j, "a", NULL, NULL, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "domainpart is empty");
}
END_TEST

START_TEST(test_jid_limits_localpart_and_resourcepart_to_1023_bytes)
{
	char *local = repeat("a", 1023, "@example.com");
	struct jid *j = parse_ok(local);
	ck_assert_uint_eq(strlen(jid_localpart(j)), 1023);
	jid_free(&j);
	free(local);

	local = repeat("a", 1024, "@example.com");
	parse_fails(local, "localpart longer than 1023 bytes");
	free(local);

	char *resource = repeat("r", 1023, "");
	char *s = NULL;
	ck_assert_int_ne(asprintf(&s, "a@example.com/%s", resource), -1);
	j = parse_ok(s);
	ck_assert_str_eq(jid_resourcepart(j), resource);
	jid_free(&j);
	free(s);
	free(resource);

	resource = repeat("r", 1024, "");
	ck_assert_int_ne(asprintf(&s, "a@example.com/%s", resource), -1);
	parse_fails(s, "resourcepart longer than 1023 bytes");
	free(s);
	free(resource);

	/* Multi-byte characters count in bytes: 511 x U+00E9 + "a" is 1023. */
	local = repeat("\xc3\xa9", 511, "a@example.com");
	j = parse_ok(local);
	ck_assert_uint_eq(strlen(jid_localpart(j)), 1023);
	jid_free(&j);
	free(local);
	local = repeat("\xc3\xa9", 512, "@example.com");
	parse_fails(local, "localpart longer than 1023 bytes");
	free(local);

	/* The limit holds after preparation: U+FDFA expands to 18 characters
	 * under NFKC, so 40 of them (120 bytes) are far too long. */
	resource = repeat("\xef\xb7\xba", 40, "");
	ck_assert_int_ne(asprintf(&s, "a@example.com/%s", resource), -1);
	parse_fails(s, "resourcepart longer than 1023 bytes");
	free(s);
	free(resource);

	/* And characters that preparation deletes do not count: 1100 soft
	 * hyphens around "a" are 2201 bytes that prepare to one. */
	local = repeat("\xc2\xad", 1100, "a@example.com");
	assert_full(local, "a@example.com");
	free(local);

	/* Past four times the limit, input is refused unprepared. */
	local = repeat("\xc2\xad", 2047, "a@example.com");
	parse_fails(local, "localpart longer than 4092 bytes before preparation");
	free(local);
}
END_TEST

START_TEST(test_jid_limits_domain_labels_and_length)
{
	char *label63 = repeat("a", 63, "");
	char *s = NULL;

	ck_assert_int_ne(asprintf(&s, "u@%s.example", label63), -1);
	assert_full(s, s);
	free(s);
	ck_assert_int_ne(asprintf(&s, "u@a%s.example", label63), -1);
	parse_fails(s, "domainpart label longer than 63 bytes");
	free(s);

	/* 253 bytes in all: four 63-byte labels minus two, with dots. */
	ck_assert_int_ne(asprintf(&s, "u@%s.%s.%s.%.61s", label63, label63, label63,
	    label63), -1);
	ck_assert_uint_eq(strlen(s) - 2, 253);
	assert_full(s, s);
	free(s);
	ck_assert_int_ne(asprintf(&s, "u@%s.%s.%s.%.62s", label63, label63, label63,
	    label63), -1);
	parse_fails(s, "domainpart longer than 253 bytes in ASCII form");
	free(s);
	free(label63);

	/* A U-label whose A-label is too long. */
	char *idn = repeat("\xc3\xbc", 60, ".example");
	ck_assert_int_ne(asprintf(&s, "u@%s", idn), -1);
	parse_fails(s, "domainpart label longer than 63 bytes in ASCII form");
	free(s);
	/* A label that preparation empties. */
	ck_assert_int_ne(asprintf(&s, "u@\xc2\xad.example"), -1);
	parse_fails(s, "domainpart label is empty or longer than 63 bytes in ASCII form");
	free(s);
	free(idn);
}
END_TEST

START_TEST(test_jid_domain_refuses_non_ldh_characters)
{
	parse_fails("a@exa_mple.com", "domainpart contains a character that is not "
	    "a letter, digit or hyphen");
	parse_fails("a@example.com:5222", "domainpart contains a character that is not "
	    "a letter, digit or hyphen");
	parse_fails("a@-example.com", "domainpart label starts or ends with a hyphen");
	parse_fails("a@example-.com", "domainpart label starts or ends with a hyphen");
	parse_fails("a@b\xc3\xbc" "cher_.example",
	    "domainpart contains a character that is not a letter, digit or hyphen");
	/* U+2024 ONE DOT LEADER becomes '.' under NFKC, inside one label. */
	parse_fails("a@exa\xe2\x80\xa4mple.com",
	    "domainpart contains a character that is not a letter, digit or hyphen");
	assert_full("a@ab--cd.example", "a@ab--cd.example");
	assert_full("a@4chan.example", "a@4chan.example");
}
END_TEST

START_TEST(test_jid_rejects_invalid_utf8)
{
	parse_fails("\xff" "a@example.com", "localpart is not valid UTF-8");
	parse_fails("a@exampl\xc3", "domainpart is not valid UTF-8");
	parse_fails("a@example.com/\xc0\xaf", "resourcepart is not valid UTF-8");
	/* Overlong, surrogate, above U+10FFFF, lone continuation, truncated. */
	parse_fails("\xe0\x80\xaf@example.com", "localpart is not valid UTF-8");
	parse_fails("\xed\xa0\x80@example.com", "localpart is not valid UTF-8");
	parse_fails("\xf4\x90\x80\x80@example.com", "localpart is not valid UTF-8");
	parse_fails("\x80@example.com", "localpart is not valid UTF-8");
	parse_fails("a@example.com/\xf0\x9f\x93", "resourcepart is not valid UTF-8");
}
END_TEST

START_TEST(test_jid_rejects_bidi_violations)
{
	/* Hebrew and Latin letters in one localpart. */
	parse_fails("\xd7\xa9" "a@example.com",
	    "localpart breaks the bidirectional text rules");
	/* A right-to-left label on its own is fine. */
	assert_full("\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d@example.com",
	    "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d@example.com");
}
END_TEST

START_TEST(test_jid_compares_bare_and_full)
{
	struct jid *a = parse_ok("juliet@example.com/balcony");
	struct jid *b = parse_ok("juliet@example.com/chamber");
	struct jid *c = parse_ok("juliet@example.com");
	struct jid *d = parse_ok("romeo@example.com/balcony");

	ck_assert(!jid_equal_full(a, b));
	ck_assert(jid_equal_bare(a, b));
	ck_assert(!jid_equal_full(a, c));
	ck_assert(jid_equal_bare(a, c));
	ck_assert(!jid_equal_bare(a, d));
	ck_assert(jid_equal_full(c, c));

	struct jid *bare = jid_bare_dup(a);
	ck_assert(jid_equal_full(bare, c));
	ck_assert_ptr_null(jid_resourcepart(bare));
	struct jid *copy = jid_dup(a);
	ck_assert(jid_equal_full(copy, a));
	ck_assert_str_eq(jid_resourcepart(copy), "balcony");
	ck_assert_str_eq(jid_bare_str(copy), "juliet@example.com");

	struct jid *bound = NULL;
	char err[ERRLEN];
	ck_assert_int_eq(jid_with_resource(&bound, c, "Chamber", err, sizeof(err)), 0);
	ck_assert_str_eq(jid_full_str(bound), "juliet@example.com/Chamber");
	jid_free(&bound);
	ck_assert_int_eq(jid_with_resource(&bound, c, "a\x01", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "resourcepart contains a prohibited character");
	ck_assert_ptr_null(bound);

	jid_free(&a);
	jid_free(&b);
	jid_free(&c);
	jid_free(&d);
	jid_free(&bare);
	jid_free(&copy);
}
END_TEST

START_TEST(test_jid_resource_may_contain_slash_and_at)
{
	struct jid *j = parse_ok("juliet@example.com/foo/bar@baz");

	ck_assert_str_eq(jid_localpart(j), "juliet");
	ck_assert_str_eq(jid_domainpart(j), "example.com");
	ck_assert_str_eq(jid_resourcepart(j), "foo/bar@baz");
	jid_free(&j);

	/* The '@' after the first '/' does not make a localpart. */
	j = parse_ok("example.com/juliet@example.net");
	ck_assert_ptr_null(jid_localpart(j));
	ck_assert_str_eq(jid_domainpart(j), "example.com");
	ck_assert_str_eq(jid_resourcepart(j), "juliet@example.net");
	jid_free(&j);
}
END_TEST

START_TEST(test_jid_keeps_xep0106_escapes)
{
	struct jid *j = parse_ok("d\\27artagnan@musketeers.lit");

	ck_assert_str_eq(jid_localpart(j), "d\\27artagnan");
	jid_free(&j);
	assert_full("space\\20cadet@example.com", "space\\20cadet@example.com");
	assert_full("c\\3a\\5cwork@example.com", "c\\3a\\5cwork@example.com");
	/* Escapes are characters like any other: case folds, nothing unescapes. */
	assert_full("At\\40Home@example.com", "at\\40home@example.com");
}
END_TEST

START_TEST(test_jid_new_prepares_each_part)
{
	struct jid *j = NULL;
	char err[ERRLEN];

	ck_assert_int_eq(jid_new(&j, "Juliet", "Example.COM.", "Balcony", err,
	    sizeof(err)), 0);
	ck_assert_str_eq(jid_full_str(j), "juliet@example.com/Balcony");
	jid_free(&j);
	ck_assert_int_eq(jid_new(&j, NULL, "xn--bcher-kva.example", NULL, err,
	    sizeof(err)), 0);
	ck_assert_str_eq(jid_full_str(j), "b\xc3\xbc" "cher.example");
	jid_free(&j);
	/* Parts go in whole: a '/' in the localpart is not a separator. */
	ck_assert_int_eq(jid_new(&j, "a/b", "example.com", NULL, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "localpart contains a prohibited character");
}
END_TEST

START_TEST(test_jid_prep_helpers_prepare_one_part)
{
	char out[JID_PART_BUFSIZE];
	char err[ERRLEN];

	ck_assert_int_eq(jid_prep_localpart("Juliet", 6, out, err, sizeof(err)), 0);
	ck_assert_str_eq(out, "juliet");
	/* Only `len` bytes are read. */
	ck_assert_int_eq(jid_prep_localpart("Romeo@x", 5, out, err, sizeof(err)), 0);
	ck_assert_str_eq(out, "romeo");
	ck_assert_int_eq(jid_prep_domainpart("B\xc3\x9c" "CHER.Example.", 15, out, err,
	    sizeof(err)), 0);
	ck_assert_str_eq(out, "b\xc3\xbc" "cher.example");
	ck_assert_int_eq(jid_prep_resourcepart("Balcony", 7, out, err, sizeof(err)), 0);
	ck_assert_str_eq(out, "Balcony");
}
END_TEST

START_TEST(test_jid_preparation_is_idempotent)
{
	static const char *const inputs[] = {
		"Juliet@Example.COM/Balcony",
		"\xc3\x84RGER@B\xc3\x9c" "CHER.example/\xef\xac\x81",
		"user@XN--BCHER-KVA.example.",
		"a@[0:0::1]/x",
		"Stra\xc3\x9f" "e@example\xe3\x80\x82" "com",
	};

	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		struct jid *first = parse_ok(inputs[i]);
		struct jid *second = parse_ok(jid_full_str(first));
		ck_assert_str_eq(jid_full_str(second), jid_full_str(first));
		ck_assert(jid_equal_full(first, second));
		jid_free(&first);
		jid_free(&second);
	}
}
END_TEST

/* The ASCII shortcut must agree with libidn for every ASCII byte. */
START_TEST(test_jid_ascii_shortcut_matches_libidn)
{
	char out[JID_PART_BUFSIZE];
	char err[ERRLEN];

	for (int c = 1; c < 0x80; c++) {
		char in[4] = { 'x', (char)c, 'Y', '\0' };
		char ref[16];

		strcpy(ref, in);
		int lib = stringprep_xmpp_nodeprep(ref, sizeof(ref));
		int ours = jid_prep_localpart(in, 3, out, err, sizeof(err));
		ck_assert_msg((lib == STRINGPREP_OK) == (ours == 0),
		    "nodeprep disagrees on byte 0x%02x", c);
		if (ours == 0)
			ck_assert_str_eq(out, ref);

		strcpy(ref, in);
		lib = stringprep_xmpp_resourceprep(ref, sizeof(ref));
		ours = jid_prep_resourcepart(in, 3, out, err, sizeof(err));
		ck_assert_msg((lib == STRINGPREP_OK) == (ours == 0),
		    "resourceprep disagrees on byte 0x%02x", c);
		if (ours == 0)
			ck_assert_str_eq(out, ref);

		if (c == '.')
			continue;
		char *ascii = NULL;
		lib = idna_to_ascii_8z(in, &ascii, IDNA_USE_STD3_ASCII_RULES);
		ours = jid_prep_domainpart(in, 3, out, err, sizeof(err));
		ck_assert_msg((lib == IDNA_SUCCESS) == (ours == 0),
		    "domain label rules disagree on byte 0x%02x", c);
		if (ours == 0) {
			for (char *p = ascii; *p; p++)
				if (*p >= 'A' && *p <= 'Z')
					*p = (char)(*p - 'A' + 'a');
			ck_assert_str_eq(out, ascii);
		}
		free(ascii);
	}
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("jid");
	TCase *tc = tcase_create("jid");

	tcase_add_test(tc, test_jid_splits_localpart_domainpart_resourcepart);
	tcase_add_test(tc, test_jid_folds_localpart_case);
	tcase_add_test(tc, test_jid_keeps_resource_case);
	tcase_add_test(tc, test_jid_idn_domain_equals_its_a_label_form);
	tcase_add_test(tc, test_jid_domain_accepts_ideographic_full_stops);
	tcase_add_test(tc, test_jid_domain_refuses_bad_a_labels);
	tcase_add_test(tc, test_jid_strips_one_trailing_dot);
	tcase_add_test(tc, test_jid_accepts_ip_literals);
	tcase_add_test(tc, test_jid_rejects_each_prohibited_localpart_character);
	tcase_add_test(tc, test_jid_rejects_empty_parts);
	tcase_add_test(tc, test_jid_limits_localpart_and_resourcepart_to_1023_bytes);
	tcase_add_test(tc, test_jid_limits_domain_labels_and_length);
	tcase_add_test(tc, test_jid_domain_refuses_non_ldh_characters);
	tcase_add_test(tc, test_jid_rejects_invalid_utf8);
	tcase_add_test(tc, test_jid_rejects_bidi_violations);
	tcase_add_test(tc, test_jid_compares_bare_and_full);
	tcase_add_test(tc, test_jid_resource_may_contain_slash_and_at);
	tcase_add_test(tc, test_jid_keeps_xep0106_escapes);
	tcase_add_test(tc, test_jid_new_prepares_each_part);
	tcase_add_test(tc, test_jid_prep_helpers_prepare_one_part);
	tcase_add_test(tc, test_jid_preparation_is_idempotent);
	tcase_add_test(tc, test_jid_ascii_shortcut_matches_libidn);
	suite_add_tcase(s, tc);
	return s;
}
