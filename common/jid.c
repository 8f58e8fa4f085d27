/*
 * jid.c — parsing, preparation and comparison of JIDs (see jid.h).
 *
 * Preparation is libidn's: Nodeprep for the localpart, Resourceprep for the
 * resourcepart, IDNA2003 ToASCII/ToUnicode (which apply Nameprep) for each
 * label of the domainpart. Unassigned code points (Unicode 3.2) are allowed
 * in localparts and resourceparts, as the XMPP profiles permit, so that a
 * resource such as "phone 📱" works; domain labels must be assigned, as
 * IDNA requires for anything that goes into DNS.
 *
 * Pure-ASCII parts, which are nearly all of them, are prepared here without
 * calling libidn: for ASCII the profiles reduce to "lower-case, refuse a
 * short list of characters", and libidn's path costs several allocations.
 * The unit tests check the shortcut against libidn for every ASCII byte.
 *
 * Must not: log, or keep any state between calls.
 */
#include <arpa/inet.h>
#include <idna.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <stringprep.h>

#include "jid.h"
#include "util.h"

/*
 * Preparation can delete characters (soft hyphens, zero-width joiners map
 * to nothing), so a part may be longer before preparation than after. Past
 * this bound the input is refused without preparing it: the work is bounded
 * whatever a peer sends.
 */
#define PART_INPUT_MAX (4 * JID_PART_MAX)

#define LABEL_ASCII_MAX 63
#define ACE_PREFIX "xn--"
#define ACE_PREFIX_LEN 4

/* Where the parts live inside the JID's one allocation. */
#define NO_PART UINT16_MAX

struct jid {
	uint16_t size;          /* bytes in text[] */
	uint16_t full_len;      /* text[0..full_len) is the full JID */
	uint16_t bare_off;      /* == 0 when the JID is bare: bare is full */
	uint16_t bare_len;
	uint16_t local_off;     /* NO_PART when absent */
	uint16_t domain_off;
	uint16_t resource_off;  /* NO_PART when absent */
	char text[];
};

/* --- UTF-8 --------------------------------------------------------------- */

/* Strict RFC 3629 UTF-8: no overlong forms, no surrogates, nothing above
 * U+10FFFF. libidn would convert some of these instead of refusing them. */
static bool utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t n;
		unsigned char lo = 0x80, hi = 0xBF;

		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xC2 && c <= 0xDF) {
			n = 1;
		} else if (c >= 0xE0 && c <= 0xEF) {
			n = 2;
			if (c == 0xE0)
				lo = 0xA0;      /* overlong */
			else if (c == 0xED)
				hi = 0x9F;      /* surrogates */
		} else if (c >= 0xF0 && c <= 0xF4) {
			n = 3;
			if (c == 0xF0)
				lo = 0x90;      /* overlong */
			else if (c == 0xF4)
				hi = 0x8F;      /* above U+10FFFF */
		} else {
			return false;
		}
		if (len - i - 1 < n)
			return false;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return false;
		for (size_t k = 2; k <= n; k++)
			if (s[i + k] < 0x80 || s[i + k] > 0xBF)
				return false;
		i += n + 1;
	}
	return true;
}

static bool is_ascii(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			return false;
	return true;
}

static char ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Checks every part shares before any preparation. */
static int check_input(const char *what, const char *in, size_t len,
    char *err, size_t errlen)
{
	if (len == 0)
		return errf(err, errlen, "%s is empty", what);
	if (len > PART_INPUT_MAX)
		return errf(err, errlen, "%s longer than %d bytes before preparation",
		    what, PART_INPUT_MAX);
	if (!utf8_valid((const unsigned char *)in, len))
		return errf(err, errlen, "%s is not valid UTF-8", what);
	/* A NUL would silently cut the string short inside libidn. */
	if (memchr(in, '\0', len) != NULL)
		return errf(err, errlen, "%s contains a prohibited character", what);
	return 0;
}

/* --- localpart and resourcepart -------------------------------------------- */

/* Nodeprep on ASCII: controls (C.2.1), space (C.1.1) and RFC 6122's extra
 * list are prohibited; B.2 case-folds A-Z; nothing else applies. */
static bool ascii_node_prohibited(unsigned char c)
{
	return c < 0x20 || c == 0x7F || strchr(" \"&'/:<>@", c) != NULL;
}

/* Resourceprep on ASCII: only the controls (C.2.1); case is kept. */
static bool ascii_resource_prohibited(unsigned char c)
{
	return c < 0x20 || c == 0x7F;
}

static const char *stringprep_reason(int rc)
{
	switch (rc) {
	case STRINGPREP_CONTAINS_PROHIBITED:
		return "contains a prohibited character";
	case STRINGPREP_CONTAINS_UNASSIGNED:
		return "contains an unassigned character";
	case STRINGPREP_BIDI_BOTH_L_AND_RAL:
	case STRINGPREP_BIDI_LEADTRAIL_NOT_RAL:
	case STRINGPREP_BIDI_CONTAINS_PROHIBITED:
		return "breaks the bidirectional text rules";
	case STRINGPREP_ICONV_ERROR:
		return "is not valid UTF-8";
	case STRINGPREP_NFKC_FAILED:
		return "cannot be normalized";
	default:
		return "cannot be prepared";
	}
}

static int prep_text_part(const char *what, const Stringprep_profile *profile,
    bool fold_case, bool (*prohibited)(unsigned char),
    const char *in, size_t len, char out[JID_PART_BUFSIZE], char *err, size_t errlen)
{
	if (check_input(what, in, len, err, errlen) == -1)
		return -1;

	if (is_ascii(in, len)) {
		if (len > JID_PART_MAX)
			return errf(err, errlen, "%s longer than %d bytes", what, JID_PART_MAX);
		for (size_t i = 0; i < len; i++) {
			if (prohibited((unsigned char)in[i]))
				return errf(err, errlen, "%s contains a prohibited character",
				    what);
			out[i] = fold_case ? ascii_lower(in[i]) : in[i];
		}
		out[len] = '\0';
		return 0;
	}

	/* libidn prepares in place and says when the buffer is too small; a
	 * buffer of at least JID_PART_BUFSIZE means "too small" can only be
	 * "longer than the limit". */
	size_t size = len + 1 > JID_PART_BUFSIZE ? len + 1 : JID_PART_BUFSIZE;
	char *work = size > JID_PART_BUFSIZE ? xmalloc(size) : out;
	memcpy(work, in, len);
	work[len] = '\0';

	int rc = stringprep(work, size, 0, profile);
	int ret = -1;
	if (rc == STRINGPREP_TOO_SMALL_BUFFER) {
		errf(err, errlen, "%s longer than %d bytes", what, JID_PART_MAX);
	} else if (rc != STRINGPREP_OK) {
		errf(err, errlen, "%s %s", what, stringprep_reason(rc));
	} else {
		size_t outlen = strlen(work);
		if (outlen == 0)
			errf(err, errlen, "%s is empty after preparation", what);
		else if (outlen > JID_PART_MAX)
			errf(err, errlen, "%s longer than %d bytes", what, JID_PART_MAX);
		else
			ret = 0;
		if (ret == 0 && work != out)
			memcpy(out, work, outlen + 1);
	}
	if (work != out)
		free(work);
	return ret;
}

int jid_prep_localpart(const char *in, size_t len, char out[JID_PART_BUFSIZE],
    char *err, size_t errlen)
{
	return prep_text_part("localpart", stringprep_xmpp_nodeprep, true,
	    ascii_node_prohibited, in, len, out, err, errlen);
}

int jid_prep_resourcepart(const char *in, size_t len, char out[JID_PART_BUFSIZE],
    char *err, size_t errlen)
{
	return prep_text_part("resourcepart", stringprep_xmpp_resourceprep, false,
	    ascii_resource_prohibited, in, len, out, err, errlen);
}

/* --- domainpart -------------------------------------------------------------- */

/* One label, written in both forms: U-label (canonical) and A-label (DNS).
 * Both outputs hold at least JID_PART_BUFSIZE and LABEL_ASCII_MAX + 1. */
static int prep_label_ascii(const char *in, size_t len, char *ulabel, size_t *ulen,
    char *alabel, size_t *alen, char *err, size_t errlen)
{
	if (len > LABEL_ASCII_MAX)
		return errf(err, errlen, "domainpart label longer than %d bytes",
		    LABEL_ASCII_MAX);
	for (size_t i = 0; i < len; i++) {
		char c = ascii_lower(in[i]);
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return errf(err, errlen, "domainpart contains a character that is "
			    "not a letter, digit or hyphen");
		ulabel[i] = alabel[i] = c;
	}
	if (in[0] == '-' || in[len - 1] == '-')
		return errf(err, errlen, "domainpart label starts or ends with a hyphen");
	ulabel[len] = alabel[len] = '\0';
	*ulen = *alen = len;
	return 0;
}

static const char *idna_reason(int rc)
{
	switch (rc) {
	case IDNA_STRINGPREP_ERROR:
		return "contains a prohibited or unassigned character";
	case IDNA_CONTAINS_NON_LDH:
		return "contains a character that is not a letter, digit or hyphen";
	case IDNA_CONTAINS_MINUS:
		return "label starts or ends with a hyphen";
	case IDNA_INVALID_LENGTH:
		return "label is empty or longer than 63 bytes in ASCII form";
	case IDNA_PUNYCODE_ERROR:
		/* Punycode fails only when its output outgrows a label. */
		return "label longer than 63 bytes in ASCII form";
	case IDNA_CONTAINS_ACE_PREFIX:
		return "label starts with \"xn--\" but is not a valid A-label";
	default:
		return "label is not a valid internationalized domain label";
	}
}

static bool has_ace_prefix(const char *s, size_t len)
{
	return len >= ACE_PREFIX_LEN && strncasecmp(s, ACE_PREFIX, ACE_PREFIX_LEN) == 0;
}

static int prep_label(const char *in, size_t len, char *ulabel, size_t *ulen,
    char *alabel, size_t *alen, char *err, size_t errlen)
{
	if (is_ascii(in, len) && !has_ace_prefix(in, len))
		return prep_label_ascii(in, len, ulabel, ulen, alabel, alen, err, errlen);

	/* The caller splits at every IDNA separator, so libidn sees one label
	 * (a dot that Nameprep produces fails the STD3 rules). */
	char *label = xstrndup(in, len);
	char *ascii = NULL, *unicode = NULL, *again = NULL;
	int ret = -1;

	int rc = idna_to_ascii_8z(label, &ascii, IDNA_USE_STD3_ASCII_RULES);
	if (rc != IDNA_SUCCESS) {
		errf(err, errlen, "domainpart %s", idna_reason(rc));
		goto out;
	}
	/* ToASCII leaves an all-ASCII label's case alone. */
	size_t n = strlen(ascii);
	for (size_t i = 0; i < n; i++)
		ascii[i] = ascii_lower(ascii[i]);
	if (n == 0) {
		errf(err, errlen, "domainpart contains an empty label");
		goto out;
	}
	if (n > LABEL_ASCII_MAX) {
		errf(err, errlen, "domainpart label longer than %d bytes in ASCII form",
		    LABEL_ASCII_MAX);
		goto out;
	}
	memcpy(alabel, ascii, n + 1);
	*alen = n;

	if (!has_ace_prefix(ascii, n)) {
		memcpy(ulabel, ascii, n + 1);
		*ulen = n;
		ret = 0;
		goto out;
	}
	/* An A-label: decode it, and accept it only if it decodes to a real
	 * U-label that encodes back to the same A-label. libidn's ToUnicode
	 * hands back its input instead of failing, hence the checks. */
	rc = idna_to_unicode_8z8z(ascii, &unicode, IDNA_USE_STD3_ASCII_RULES);
	if (rc != IDNA_SUCCESS || has_ace_prefix(unicode, strlen(unicode)) ||
	    is_ascii(unicode, strlen(unicode)) ||
	    idna_to_ascii_8z(unicode, &again, IDNA_USE_STD3_ASCII_RULES) != IDNA_SUCCESS ||
	    strcasecmp(again, ascii) != 0) {
		errf(err, errlen, "domainpart label starts with \"xn--\" but is not a "
		    "valid A-label");
		goto out;
	}
	size_t u = strlen(unicode);
	if (u > JID_PART_MAX) {
		errf(err, errlen, "domainpart longer than %d bytes", JID_PART_MAX);
		goto out;
	}
	memcpy(ulabel, unicode, u + 1);
	*ulen = u;
	ret = 0;
out:
	free(label);
	free(ascii);
	free(unicode);
	free(again);
	return ret;
}

/* Length of the IDNA2003 label separator at s (".", U+3002, U+FF0E,
 * U+FF61), or 0. */
static size_t separator_len(const char *s, size_t left)
{
	const unsigned char *p = (const unsigned char *)s;

	if (p[0] == '.')
		return 1;
	if (left >= 3 && ((p[0] == 0xE3 && p[1] == 0x80 && p[2] == 0x82) ||
	    (p[0] == 0xEF && p[1] == 0xBC && p[2] == 0x8E) ||
	    (p[0] == 0xEF && p[1] == 0xBD && p[2] == 0xA1)))
		return 3;
	return 0;
}

/* An IPv6 literal ("[2001:db8::1]"), kept in the form inet_ntop gives, so
 * that "[::0:1]" and "[::1]" are the same domainpart. `in` has no trailing
 * dot. Returns 1 if `in` is one (written to out), 0 if `in` does not start
 * with '[', -1 if it does but is no valid literal. */
static int prep_ipv6_literal(const char *in, size_t len, char out[JID_PART_BUFSIZE],
    char *err, size_t errlen)
{
	char text[INET6_ADDRSTRLEN];
	struct in6_addr a6;

	if (in[0] != '[')
		return 0;
	if (len < 3 || in[len - 1] != ']' || len - 2 >= sizeof(text))
		return errf(err, errlen, "domainpart is not a valid IPv6 literal");
	memcpy(text, in + 1, len - 2);
	text[len - 2] = '\0';
	if (inet_pton(AF_INET6, text, &a6) != 1)
		return errf(err, errlen, "domainpart is not a valid IPv6 literal");
	out[0] = '[';
	inet_ntop(AF_INET6, &a6, out + 1, INET6_ADDRSTRLEN);
	strcat(out, "]");
	return 1;
}

/* A prepared name whose every label is numeric is no host name (RFC 1123
 * §2.1), so it must be a dotted quad. This is judged on the prepared form:
 * fullwidth digits become ASCII digits under NFKC. */
static int check_numeric_name(const char *name, size_t len, char *err, size_t errlen)
{
	struct in_addr a4;

	for (size_t i = 0; i < len; i++)
		if (!((name[i] >= '0' && name[i] <= '9') || name[i] == '.'))
			return 0;
	/* inet_pton refuses leading zeros, so what it accepts is canonical. */
	if (len >= INET_ADDRSTRLEN || inet_pton(AF_INET, name, &a4) != 1)
		return errf(err, errlen, "domainpart is not a valid IPv4 address");
	return 0;
}

/* The whole domainpart: canonical (Unicode) form to `out`, and the A-label
 * form to `ascii` when not NULL. */
static int prep_domain(const char *in, size_t len, char out[JID_PART_BUFSIZE],
    char ascii[JID_DOMAIN_ASCII_MAX + 1], char *err, size_t errlen)
{
	if (check_input("domainpart", in, len, err, errlen) == -1)
		return -1;
	/* RFC 7622 §3.2: one final dot goes before anything else is done. */
	if (in[len - 1] == '.')
		len--;
	if (len == 0)
		return errf(err, errlen, "domainpart is empty");

	int ip = prep_ipv6_literal(in, len, out, err, errlen);
	if (ip == -1)
		return -1;
	if (ip == 1) {
		if (ascii != NULL)
			strcpy(ascii, out);
		return 0;
	}

	size_t ulen = 0, alen = 0;
	size_t pos = 0;
	char ulabel[JID_PART_BUFSIZE];
	char alabel[LABEL_ASCII_MAX + 1];

	for (;;) {
		size_t start = pos, sep = 0;
		while (pos < len && (sep = separator_len(in + pos, len - pos)) == 0)
			pos++;
		if (pos == start)
			return errf(err, errlen, "domainpart contains an empty label");

		size_t ul = 0, al = 0;
		if (prep_label(in + start, pos - start, ulabel, &ul, alabel, &al,
		    err, errlen) == -1)
			return -1;
		if (ulen + ul + 1 > JID_PART_BUFSIZE)
			return errf(err, errlen, "domainpart longer than %d bytes",
			    JID_PART_MAX);
		if (alen + al > JID_DOMAIN_ASCII_MAX)
			return errf(err, errlen, "domainpart longer than %d bytes in "
			    "ASCII form", JID_DOMAIN_ASCII_MAX);
		memcpy(out + ulen, ulabel, ul);
		ulen += ul;
		if (ascii != NULL)
			memcpy(ascii + alen, alabel, al);
		alen += al;
		if (pos == len)
			break;
		/* A separator that ends the input leaves an empty last label:
		 * only an ASCII dot may end a domainpart, and it is gone. */
		pos += sep;
		if (ulen + 1 >= JID_PART_BUFSIZE)
			return errf(err, errlen, "domainpart longer than %d bytes",
			    JID_PART_MAX);
		if (alen + 1 > JID_DOMAIN_ASCII_MAX)
			return errf(err, errlen, "domainpart longer than %d bytes in "
			    "ASCII form", JID_DOMAIN_ASCII_MAX);
		out[ulen++] = '.';
		if (ascii != NULL)
			ascii[alen] = '.';
		alen++;
		if (pos == len)
			return errf(err, errlen, "domainpart contains an empty label");
	}
	out[ulen] = '\0';
	if (ascii != NULL)
		ascii[alen] = '\0';
	return check_numeric_name(out, ulen, err, errlen);
}

int jid_prep_domainpart(const char *in, size_t len, char out[JID_PART_BUFSIZE],
    char *err, size_t errlen)
{
	return prep_domain(in, len, out, NULL, err, errlen);
}

int jid_domainpart_to_ascii(const char *in, size_t len,
    char out[JID_DOMAIN_ASCII_MAX + 1], char *err, size_t errlen)
{
	char unicode[JID_PART_BUFSIZE];

	return prep_domain(in, len, unicode, out, err, errlen);
}

/* --- struct jid ---------------------------------------------------------------- */

/* Assemble a JID from parts that are already prepared. */
static struct jid *jid_assemble(const char *local, size_t llen,
    const char *domain, size_t dlen, const char *resource, size_t rlen)
{
	size_t bare_len = (local ? llen + 1 : 0) + dlen;
	size_t full_len = bare_len + (resource ? rlen + 1 : 0);
	size_t size = full_len + 1 + (resource ? bare_len + 1 : 0) +
	    (local ? llen + 1 : 0) + dlen + 1 + (resource ? rlen + 1 : 0);

	/* Three parts of at most 1023 bytes keep this far below 64 KiB. */
	if (size >= NO_PART)
		abort();

	struct jid *j = xmalloc(sizeof(*j) + size);
	char *p = j->text;

	j->size = (uint16_t)size;
	j->full_len = (uint16_t)full_len;
	j->bare_len = (uint16_t)bare_len;
	if (local) {
		memcpy(p, local, llen);
		p += llen;
		*p++ = '@';
	}
	memcpy(p, domain, dlen);
	p += dlen;
	if (resource) {
		*p++ = '/';
		memcpy(p, resource, rlen);
		p += rlen;
	}
	*p++ = '\0';

	j->bare_off = 0;
	if (resource) {
		j->bare_off = (uint16_t)(p - j->text);
		memcpy(p, j->text, bare_len);
		p += bare_len;
		*p++ = '\0';
	}
	j->local_off = NO_PART;
	if (local) {
		j->local_off = (uint16_t)(p - j->text);
		memcpy(p, local, llen);
		p += llen;
		*p++ = '\0';
	}
	j->domain_off = (uint16_t)(p - j->text);
	memcpy(p, domain, dlen);
	p += dlen;
	*p++ = '\0';
	j->resource_off = NO_PART;
	if (resource) {
		j->resource_off = (uint16_t)(p - j->text);
		memcpy(p, resource, rlen);
		p += rlen;
		*p++ = '\0';
	}
	return j;
}

/* Prepare parts given as (pointer, length); NULL pointer = absent part. */
static int jid_build(struct jid **out, const char *local, size_t llen,
    const char *domain, size_t dlen, const char *resource, size_t rlen,
    char *err, size_t errlen)
{
	char plocal[JID_PART_BUFSIZE], pdomain[JID_PART_BUFSIZE];
	char presource[JID_PART_BUFSIZE];

	*out = NULL;
	if (local != NULL && jid_prep_localpart(local, llen, plocal, err, errlen) == -1)
		return -1;
	if (prep_domain(domain, dlen, pdomain, NULL, err, errlen) == -1)
		return -1;
	if (resource != NULL &&
	    jid_prep_resourcepart(resource, rlen, presource, err, errlen) == -1)
		return -1;
	*out = jid_assemble(local ? plocal : NULL, local ? strlen(plocal) : 0,
	    pdomain, strlen(pdomain),
	    resource ? presource : NULL, resource ? strlen(presource) : 0);
	return 0;
}

int jid_parse(struct jid **out, const char *s, size_t len, char *err, size_t errlen)
{
	if (len == 0) {
		*out = NULL;
		return errf(err, errlen, "domainpart is empty");
	}
	/* RFC 7622 §3.1: the first '/' starts the resourcepart (which may hold
	 * '/' and '@'); before it, the first '@' ends the localpart. Neither
	 * byte can occur inside a UTF-8 sequence, so splitting bytes is safe. */
	const char *slash = memchr(s, '/', len);
	size_t before = slash ? (size_t)(slash - s) : len;
	const char *at = memchr(s, '@', before);
	const char *local = NULL, *domain = s, *resource = NULL;
	size_t llen = 0, dlen = before, rlen = 0;

	if (at != NULL) {
		local = s;
		llen = (size_t)(at - s);
		domain = at + 1;
		dlen = before - llen - 1;
	}
	if (slash != NULL) {
		resource = slash + 1;
		rlen = len - before - 1;
	}
	return jid_build(out, local, llen, domain, dlen, resource, rlen, err, errlen);
}

int jid_new(struct jid **out, const char *localpart, const char *domainpart,
    const char *resourcepart, char *err, size_t errlen)
{
	if (domainpart == NULL) {
		*out = NULL;
		return errf(err, errlen, "domainpart is empty");
	}
	return jid_build(out, localpart, localpart ? strlen(localpart) : 0,
	    domainpart, strlen(domainpart),
	    resourcepart, resourcepart ? strlen(resourcepart) : 0, err, errlen);
}

int jid_with_resource(struct jid **out, const struct jid *jid,
    const char *resourcepart, char *err, size_t errlen)
{
	char presource[JID_PART_BUFSIZE];
	const char *local = jid_localpart(jid);
	const char *domain = jid_domainpart(jid);

	*out = NULL;
	if (resourcepart == NULL)
		return errf(err, errlen, "resourcepart is empty");
	if (jid_prep_resourcepart(resourcepart, strlen(resourcepart), presource,
	    err, errlen) == -1)
		return -1;
	*out = jid_assemble(local, local ? strlen(local) : 0, domain, strlen(domain),
	    presource, strlen(presource));
	return 0;
}

void jid_free(struct jid **jid)
{
	free(*jid);
	*jid = NULL;
}

struct jid *jid_dup(const struct jid *jid)
{
	struct jid *copy = xmalloc(sizeof(*jid) + jid->size);

	memcpy(copy, jid, sizeof(*jid) + jid->size);
	return copy;
}

struct jid *jid_bare_dup(const struct jid *jid)
{
	const char *local = jid_localpart(jid);
	const char *domain = jid_domainpart(jid);

	if (jid_is_bare(jid))
		return jid_dup(jid);
	return jid_assemble(local, local ? strlen(local) : 0, domain, strlen(domain),
	    NULL, 0);
}

const char *jid_localpart(const struct jid *jid)
{
	return jid->local_off == NO_PART ? NULL : jid->text + jid->local_off;
}

const char *jid_domainpart(const struct jid *jid)
{
	return jid->text + jid->domain_off;
}

const char *jid_resourcepart(const struct jid *jid)
{
	return jid->resource_off == NO_PART ? NULL : jid->text + jid->resource_off;
}

const char *jid_full_str(const struct jid *jid)
{
	return jid->text;
}

const char *jid_bare_str(const struct jid *jid)
{
	return jid->text + jid->bare_off;
}

size_t jid_full_len(const struct jid *jid)
{
	return jid->full_len;
}

size_t jid_bare_len(const struct jid *jid)
{
	return jid->bare_len;
}

/* Canonical forms make comparison a byte comparison. */
bool jid_equal_full(const struct jid *a, const struct jid *b)
{
	return a->full_len == b->full_len && memcmp(a->text, b->text, a->full_len) == 0;
}

bool jid_equal_bare(const struct jid *a, const struct jid *b)
{
	return a->bare_len == b->bare_len &&
	    memcmp(jid_bare_str(a), jid_bare_str(b), a->bare_len) == 0;
}

int jid_domain_ascii(const struct jid *jid, char out[JID_DOMAIN_ASCII_MAX + 1],
    char *err, size_t errlen)
{
	const char *domain = jid_domainpart(jid);

	return jid_domainpart_to_ascii(domain, strlen(domain), out, err, errlen);
}
