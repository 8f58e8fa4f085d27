/*
 * fuzz_jid.c — libFuzzer target for the JID parser (common/jid.c).
 *
 * Beyond "no crash": a JID that parses must come back unchanged when its
 * canonical form is parsed again, each part must be a fixed point of its
 * preparation, the parts must rebuild the same JID, and the A-label form of
 * the domain must name the same domain. Any difference aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jid.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const struct jid *j, const char *detail)
{
	fprintf(stderr, "fuzz_jid: %s: '%s': %s\n", what, jid_full_str(j), detail);
	abort();
}

static void check_part(const struct jid *j, const char *part,
    int (*prep)(const char *, size_t, char *, char *, size_t), const char *what)
{
	char out[JID_PART_BUFSIZE];
	char err[ERRLEN];

	if (part == NULL)
		return;
	if (prep(part, strlen(part), out, err, sizeof(err)) == -1)
		fail(what, j, err);
	if (strcmp(out, part) != 0)
		fail(what, j, "preparing again changed it");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jid *first = NULL, *second = NULL, *rebuilt = NULL, *bare = NULL;
	struct jid *ascii_jid = NULL;
	char err[ERRLEN];
	char ascii[JID_DOMAIN_ASCII_MAX + 1];

	if (jid_parse(&first, (const char *)data, size, err, sizeof(err)) == -1)
		return 0;

	if (jid_parse(&second, jid_full_str(first), jid_full_len(first), err,
	    sizeof(err)) == -1)
		fail("canonical form refused", first, err);
	if (!jid_equal_full(first, second))
		fail("canonical form parsed differently", first, jid_full_str(second));

	check_part(first, jid_localpart(first), jid_prep_localpart, "localpart");
	check_part(first, jid_domainpart(first), jid_prep_domainpart, "domainpart");
	check_part(first, jid_resourcepart(first), jid_prep_resourcepart,
	    "resourcepart");

	if (jid_new(&rebuilt, jid_localpart(first), jid_domainpart(first),
	    jid_resourcepart(first), err, sizeof(err)) == -1)
		fail("parts refused by jid_new", first, err);
	if (!jid_equal_full(first, rebuilt))
		fail("jid_new built another JID", first, jid_full_str(rebuilt));

	bare = jid_bare_dup(first);
	if (!jid_equal_bare(first, bare) || !jid_is_bare(bare) ||
	    strcmp(jid_bare_str(first), jid_full_str(bare)) != 0)
		fail("bare copy differs", first, jid_full_str(bare));

	if (jid_domain_ascii(first, ascii, err, sizeof(err)) == -1)
		fail("no A-label form", first, err);
	if (jid_parse(&ascii_jid, ascii, strlen(ascii), err, sizeof(err)) == -1)
		fail("A-label form refused", first, err);
	if (strcmp(jid_domainpart(ascii_jid), jid_domainpart(first)) != 0)
		fail("A-label form names another domain", first, ascii);

	jid_free(&first);
	jid_free(&second);
	jid_free(&rebuilt);
	jid_free(&bare);
	jid_free(&ascii_jid);
	return 0;
}
