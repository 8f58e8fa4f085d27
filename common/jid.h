/*
 * jid.h — XMPP addresses (RFC 7622 shape: [localpart@]domainpart[/resourcepart])
 * prepared with libidn's stringprep profiles (Nodeprep, Nameprep through
 * IDNA2003, Resourceprep).
 *
 * A struct jid is immutable and always canonical: every part is prepared
 * when the JID is made, so two JIDs that address the same entity hold the
 * same bytes and compare with a plain byte comparison. The domainpart is
 * kept in its Unicode form (U-labels, lower case, no trailing dot);
 * jid_domain_ascii() gives the A-label form that DNS wants.
 *
 * XEP-0106 escapes ("\20", "\40"…) are ordinary characters to the server:
 * stored and compared as they are, never unescaped.
 *
 * This file must not log: failures come back as -1 with a reason that names
 * the bad part ("localpart contains a prohibited character").
 */
#ifndef PARLEY_JID_H
#define PARLEY_JID_H

#include <stdbool.h>
#include <stddef.h>

/* Each part is 1..1023 bytes after preparation (RFC 7622 §3). */
#define JID_PART_MAX 1023
/* A buffer that holds any prepared part and its NUL. */
#define JID_PART_BUFSIZE (JID_PART_MAX + 1)
/* The longest full JID string: three parts and two separators. */
#define JID_STRING_MAX (3 * JID_PART_MAX + 2)
/* A domain name in A-label (ASCII) form is at most 253 bytes. */
#define JID_DOMAIN_ASCII_MAX 253

struct jid;

/* Parse and prepare `len` bytes of `s` (need not be NUL-terminated).
 * On success *out is a new JID (free with jid_free). */
int jid_parse(struct jid **out, const char *s, size_t len, char *err, size_t errlen);
/* Build a JID from its parts, preparing each. `localpart` and `resourcepart`
 * may be NULL (absent); an empty string is an error, as in a parsed JID. */
int jid_new(struct jid **out, const char *localpart, const char *domainpart,
    const char *resourcepart, char *err, size_t errlen);
/* The same bare JID with another resource (resource binding). */
int jid_with_resource(struct jid **out, const struct jid *jid,
    const char *resourcepart, char *err, size_t errlen);
void jid_free(struct jid **jid);

struct jid *jid_dup(const struct jid *jid);
/* A copy without the resource. */
struct jid *jid_bare_dup(const struct jid *jid);

/* Prepared parts; localpart and resourcepart are NULL when absent. */
const char *jid_localpart(const struct jid *jid);
const char *jid_domainpart(const struct jid *jid);
const char *jid_resourcepart(const struct jid *jid);
/* "local@domain/resource" and "local@domain", kept with the JID: no
 * allocation per call, valid as long as the JID. */
const char *jid_full_str(const struct jid *jid);
const char *jid_bare_str(const struct jid *jid);
size_t jid_full_len(const struct jid *jid);
size_t jid_bare_len(const struct jid *jid);
static inline bool jid_is_bare(const struct jid *jid)
{
	return jid_resourcepart(jid) == NULL;
}

bool jid_equal_full(const struct jid *a, const struct jid *b);
bool jid_equal_bare(const struct jid *a, const struct jid *b);

/* The domainpart in A-label form for DNS (IP literals unchanged, IPv6 with
 * its brackets). `out` holds JID_DOMAIN_ASCII_MAX + 1 bytes. */
int jid_domain_ascii(const struct jid *jid, char out[JID_DOMAIN_ASCII_MAX + 1],
    char *err, size_t errlen);

/* Prepare one part alone, as jid_parse would (registration, configuration:
 * "is this a valid username / hosted domain?"). The prepared, NUL-terminated
 * part is written to `out`. Input is `len` bytes, need not be terminated. */
int jid_prep_localpart(const char *in, size_t len, char out[JID_PART_BUFSIZE],
    char *err, size_t errlen);
int jid_prep_domainpart(const char *in, size_t len, char out[JID_PART_BUFSIZE],
    char *err, size_t errlen);
int jid_prep_resourcepart(const char *in, size_t len, char out[JID_PART_BUFSIZE],
    char *err, size_t errlen);
/* A domain (any accepted form) to its A-label form. */
int jid_domainpart_to_ascii(const char *in, size_t len,
    char out[JID_DOMAIN_ASCII_MAX + 1], char *err, size_t errlen);

#endif
