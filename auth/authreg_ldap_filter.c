/*
 * authreg_ldap_filter.c — the ldap backend's search filter: checking the
 * operator's template (auth.ldap.filter) and filling it in with a user's
 * localpart and domain, escaped as RFC 4515 §3 says, so that a username
 * such as "al*" or "x)(uid=*" is a value to match and never filter syntax.
 *
 * Localparts reach us nodeprepped, which still allows '*', '(', ')' and
 * '\' (RFC 7622 forbids only " & ' / : < > @ and spaces), so the escaping
 * is the only thing between a client and the directory's filter parser.
 * Written here rather than taken from libldap (ldap_bv2escaped_filter_value
 * leaves non-ASCII bytes alone), and free of libldap so it can be unit
 * tested.
 */
#include <stdlib.h>
#include <string.h>

#include "authreg_ldap.h"
#include "util.h"

static const char hex[] = "0123456789abcdef";

/* RFC 4515: the assertion value may hold any UTF-8, but '*', '(', ')',
 * '\' and NUL must be escaped. We escape every byte that is not printable
 * ASCII too: a directory then never sees a raw control character or a
 * partial UTF-8 sequence, and escaped UTF-8 matches the same values. */
static bool must_escape(unsigned char c)
{
	return c == '*' || c == '(' || c == ')' || c == '\\' || c < 0x20 || c >= 0x7f;
}

size_t ldap_filter_escape(const char *value, size_t len, char *out, size_t outlen)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)value[i];
		if (must_escape(c)) {
			if (n + 3 < outlen) {
				out[n] = '\\';
				out[n + 1] = hex[c >> 4];
				out[n + 2] = hex[c & 0xf];
			}
			n += 3;
		} else {
			if (n + 1 < outlen)
				out[n] = (char)c;
			n++;
		}
	}
	if (outlen > 0)
		out[n < outlen ? n : outlen - 1] = '\0';
	/* A value cut short must not end in half an escape. */
	if (n >= outlen && outlen > 0) {
		size_t keep = 0;
		for (size_t i = 0, m = 0; i < len; i++) {
			m += must_escape((unsigned char)value[i]) ? 3 : 1;
			if (m >= outlen)
				break;
			keep = m;
		}
		out[keep] = '\0';
	}
	return n;
}

int ldap_filter_template_check(const char *tmpl, char *err, size_t errlen)
{
	size_t len = strlen(tmpl);
	bool user = false;
	int depth = 0;

	if (len < 2 || tmpl[0] != '(' || tmpl[len - 1] != ')')
		return errf(err, errlen, "a filter is one parenthesized expression, "
		    "such as \"(uid=%%u)\"");
	for (size_t i = 0; i < len; i++) {
		char c = tmpl[i];
		if (c == '%') {
			char next = tmpl[i + 1];
			if (next == 'u')
				user = true;
			else if (next != 'd' && next != '%')
				return errf(err, errlen, "only %%u, %%d and %%%% may follow '%%' "
				    "(at offset %zu)", i);
			i++;
			continue;
		}
		if (c == '\\') {
			/* The operator's own escapes (\2a) pass as they are. */
			if (i + 2 >= len || strchr(hex, tmpl[i + 1] | 0x20) == NULL ||
			    strchr(hex, tmpl[i + 2] | 0x20) == NULL)
				return errf(err, errlen, "'\\' must start an escape of two hex digits "
				    "(at offset %zu)", i);
			i += 2;
			continue;
		}
		if (c == '(')
			depth++;
		else if (c == ')' && --depth < 0)
			return errf(err, errlen, "unbalanced ')' at offset %zu", i);
		else if (c == ')' && depth == 0 && i != len - 1)
			return errf(err, errlen, "more than one expression (a second begins at "
			    "offset %zu); combine them with (&...) or (|...)", i + 1);
	}
	if (depth != 0)
		return errf(err, errlen, "unbalanced '('");
	if (!user)
		return errf(err, errlen, "the filter does not use %%u: every user would find "
		    "the same entries");
	return 0;
}

char *ldap_filter_build(const char *tmpl, const char *user, const char *domain)
{
	size_t ulen = strlen(user), dlen = strlen(domain);
	size_t need = 1;

	/* Worst case first: every value byte escaped. */
	for (const char *p = tmpl; *p != '\0'; p++) {
		if (p[0] == '%' && p[1] == 'u') {
			need += 3 * ulen;
			p++;
		} else if (p[0] == '%' && p[1] == 'd') {
			need += 3 * dlen;
			p++;
		} else {
			need++;
		}
	}
	char *out = xmalloc(need), *o = out;
	for (const char *p = tmpl; *p != '\0'; p++) {
		if (p[0] == '%' && (p[1] == 'u' || p[1] == 'd')) {
			const char *v = p[1] == 'u' ? user : domain;
			size_t vlen = p[1] == 'u' ? ulen : dlen;
			o += ldap_filter_escape(v, vlen, o, need - (size_t)(o - out));
			p++;
		} else if (p[0] == '%' && p[1] == '%') {
			*o++ = '%';
			p++;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	return out;
}
