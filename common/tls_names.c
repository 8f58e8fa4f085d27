/*
 * tls_names.c — does a peer's certificate name a given XMPP domain? The
 * RFC 6125 check s2s makes before it trusts certificates for a domain
 * (RFC 6120 §13.7.2, RFC 7590), declared at the end of tls.h.
 *
 * This file only compares names. Whether the chain leads to a trusted CA is
 * OpenSSL's verdict, recorded during the handshake (tls_peer_verified());
 * tls_peer_authenticates_domain() asks for both.
 *
 * The rules, and why:
 * - Reference and presented names are compared in A-label form, ASCII
 *   case-insensitively, without a final dot: certificates carry A-labels in
 *   dNSName (an IA5String), our domains are Unicode (jid.h).
 * - DNS-ID (dNSName): equal, or a wildcard "*" that is the whole leftmost
 *   label and stands for exactly one non-empty label (RFC 6125 §6.4.3):
 *   *.example.com names a.example.com, not a.b.example.com nor example.com.
 *   Partial wildcards (f*.example.com) and wildcards over fewer than two
 *   labels (*.com) name nothing.
 * - SRV-ID (otherName id-on-dnsSRV, RFC 4985): "_xmpp-server." followed by
 *   the domain; never a wildcard. "_xmpp-client." names a client service
 *   and is not accepted for s2s.
 * - XmppAddr (otherName id-on-xmppAddr, RFC 6120 §13.7.1.4): a JID that is
 *   the bare domain; one with a localpart or resourcepart names someone
 *   else. It is a UTF8String and may hold U-labels.
 * - CN-ID: the subject's commonName, read only when the certificate has no
 *   DNS-ID, SRV-ID or XmppAddr at all (RFC 6125 §6.4.4), whether or not
 *   those are well formed, so that a broken subjectAltName never lets the
 *   CN speak instead. Matched by the DNS-ID rules. Other subjectAltName
 *   types (IP, e-mail, URI) do not count: we use none of them.
 * Any name with a NUL byte in it is ignored ("a.example\0.evil").
 */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "jid.h"
#include "tls.h"

#define SRV_PREFIX "_xmpp-server."

/* The names a certificate presents, as text for the reason given back;
 * short enough to leave room in an ERRLEN reason for the domain. */
struct presented {
	char text[ERRLEN / 2];
	size_t len;
	bool truncated;
};

static void note_name(struct presented *p, const char *kind, const unsigned char *data, int len)
{
	if (p->truncated)
		return;
	size_t room = sizeof(p->text) - p->len;
	int n = snprintf(p->text + p->len, room, "%s%s %.*s", p->len ? ", " : "", kind,
	    len, (const char *)data);
	if (n < 0 || (size_t)n >= room) {
		p->truncated = true;
		p->text[p->len] = '\0';
		return;
	}
	p->len += (size_t)n;
}

static bool has_nul(const unsigned char *data, int len)
{
	return data == NULL || len <= 0 || memchr(data, '\0', (size_t)len) != NULL;
}

/* An ASCII DNS name, lowercased and without its final dot, into out;
 * false if it is not ASCII or does not fit. The "*" of a wildcard stays. */
static bool fold_ascii(const unsigned char *data, int len, char out[JID_DOMAIN_ASCII_MAX + 1])
{
	if (len > 0 && data[len - 1] == '.')
		len--;
	if (len <= 0 || len > JID_DOMAIN_ASCII_MAX)
		return false;
	for (int i = 0; i < len; i++) {
		if (data[i] >= 0x80)
			return false;
		out[i] = (char)tolower(data[i]);
	}
	out[len] = '\0';
	return true;
}

/* A presented DNS-ID (or CN-ID), already folded, against the reference. */
static bool dns_id_matches(const char *pattern, const char *ref)
{
	if (strcmp(pattern, ref) == 0)
		return true;
	if (pattern[0] != '*' || pattern[1] != '.')
		return false;
	const char *suffix = pattern + 1; /* ".example.com" */
	/* Two labels at least under the wildcard, and no second "*". */
	if (strchr(suffix + 1, '.') == NULL || strchr(suffix, '*') != NULL)
		return false;
	const char *dot = strchr(ref, '.');
	if (dot == NULL || dot == ref)
		return false;
	return strcmp(dot, suffix) == 0;
}

static bool dns_name_matches(const ASN1_STRING *s, const char *ref)
{
	const unsigned char *data = ASN1_STRING_get0_data(s);
	int len = ASN1_STRING_length(s);
	char folded[JID_DOMAIN_ASCII_MAX + 1];
	return !has_nul(data, len) && fold_ascii(data, len, folded) && dns_id_matches(folded, ref);
}

static bool srv_name_matches(const ASN1_STRING *s, const char *ref)
{
	const unsigned char *data = ASN1_STRING_get0_data(s);
	int len = ASN1_STRING_length(s);
	size_t plen = strlen(SRV_PREFIX);
	char folded[JID_DOMAIN_ASCII_MAX + 1];
	if (has_nul(data, len) || (size_t)len <= plen ||
	    strncasecmp((const char *)data, SRV_PREFIX, plen) != 0)
		return false;
	if (!fold_ascii(data + plen, len - (int)plen, folded))
		return false;
	return strcmp(folded, ref) == 0; /* no wildcards in SRV-IDs */
}

/* A domain-only JID, in any form jid.h accepts, against the reference. */
static bool domain_text_matches(const unsigned char *data, int len, const char *ref)
{
	char ascii[JID_DOMAIN_ASCII_MAX + 1];
	if (has_nul(data, len) || memchr(data, '@', (size_t)len) != NULL ||
	    memchr(data, '/', (size_t)len) != NULL)
		return false;
	if (jid_domainpart_to_ascii((const char *)data, (size_t)len, ascii, NULL, 0) < 0)
		return false;
	return strcmp(ascii, ref) == 0;
}

static bool xmpp_addr_matches(const ASN1_STRING *s, const char *ref)
{
	return domain_text_matches(ASN1_STRING_get0_data(s), ASN1_STRING_length(s), ref);
}

/* A CN, in whatever string type the subject used, against the reference:
 * ASCII names (wildcards included) by the DNS-ID rules, Unicode ones
 * through their A-label form. */
static bool cn_matches(const ASN1_STRING *s, const char *ref, struct presented *p,
    char *why, size_t whylen)
{
	unsigned char *utf8 = NULL;
	int len = ASN1_STRING_to_UTF8(&utf8, s);
	if (len < 0) {
		ERR_clear_error();
		return false;
	}
	bool match = false;
	if (!has_nul(utf8, len)) {
		note_name(p, "CN", utf8, len);
		char folded[JID_DOMAIN_ASCII_MAX + 1];
		if (fold_ascii(utf8, len, folded))
			match = dns_id_matches(folded, ref);
		else
			match = domain_text_matches(utf8, len, ref);
		if (match)
			errf(why, whylen, "CN-ID %.*s (no subjectAltName identifiers)", len,
			    (const char *)utf8);
	}
	OPENSSL_free(utf8);
	return match;
}

/* Walks the subjectAltName: true on a match (what matched goes to why).
 * *any_id tells whether there was any DNS-ID, SRV-ID or XmppAddr, usable
 * or not, which rules out the CN. */
static bool san_matches(X509 *cert, const char *ref, bool *any_id, struct presented *p,
    char *why, size_t whylen)
{
	*any_id = false;
	GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	if (names == NULL) {
		ERR_clear_error();
		return false;
	}
	bool match = false;
	for (int i = 0; i < sk_GENERAL_NAME_num(names) && !match; i++) {
		const GENERAL_NAME *name = sk_GENERAL_NAME_value(names, i);
		const ASN1_STRING *s = NULL;
		const char *kind = NULL;
		if (name->type == GEN_DNS) {
			*any_id = true;
			s = name->d.dNSName;
			kind = "DNS-ID";
			match = dns_name_matches(s, ref);
		} else if (name->type == GEN_OTHERNAME) {
			const OTHERNAME *other = name->d.otherName;
			int nid = OBJ_obj2nid(other->type_id);
			const ASN1_TYPE *value = other->value;
			if (nid == NID_XmppAddr) {
				*any_id = true;
				kind = "XmppAddr";
				/* RFC 6120 §13.7.1.4: a UTF8String. */
				if (value->type == V_ASN1_UTF8STRING) {
					s = value->value.utf8string;
					match = xmpp_addr_matches(s, ref);
				}
			} else if (nid == NID_SRVName) {
				*any_id = true;
				kind = "SRV-ID";
				/* RFC 4985: an IA5String. */
				if (value->type == V_ASN1_IA5STRING) {
					s = value->value.ia5string;
					match = srv_name_matches(s, ref);
				}
			}
		}
		if (s == NULL || has_nul(ASN1_STRING_get0_data(s), ASN1_STRING_length(s)))
			continue;
		if (match)
			errf(why, whylen, "%s %.*s", kind, ASN1_STRING_length(s),
			    (const char *)ASN1_STRING_get0_data(s));
		else
			note_name(p, kind, ASN1_STRING_get0_data(s), ASN1_STRING_length(s));
	}
	GENERAL_NAMES_free(names);
	return match;
}

static bool subject_cn_matches(X509 *cert, const char *ref, struct presented *p,
    char *why, size_t whylen)
{
	X509_NAME *subject = X509_get_subject_name(cert);
	for (int i = X509_NAME_get_index_by_NID(subject, NID_commonName, -1); i >= 0;
	    i = X509_NAME_get_index_by_NID(subject, NID_commonName, i)) {
		const ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i));
		if (cn_matches(s, ref, p, why, whylen))
			return true;
	}
	return false;
}

static bool cert_matches_domain(X509 *cert, const char *domain, char *why, size_t whylen)
{
	char ref[JID_DOMAIN_ASCII_MAX + 1];
	char err[ERRLEN];
	if (domain == NULL || *domain == '\0' || strchr(domain, '*') != NULL ||
	    jid_domainpart_to_ascii(domain, strlen(domain), ref, err, sizeof(err)) < 0) {
		errf(why, whylen, "\"%s\" is not a domain name", domain ? domain : "(null)");
		return false;
	}
	struct presented p = { .len = 0 };
	p.text[0] = '\0';
	bool any_id;
	if (san_matches(cert, ref, &any_id, &p, why, whylen))
		return true;
	if (!any_id && subject_cn_matches(cert, ref, &p, why, whylen))
		return true;
	if (p.len == 0)
		errf(why, whylen, "certificate names no domain (%s)", ref);
	else
		errf(why, whylen, "certificate names %s%s, not %s", p.text,
		    p.truncated ? ", ..." : "", ref);
	return false;
}

bool tls_peer_matches_domain(const struct tls_conn *conn, const char *domain,
    char *why, size_t whylen)
{
	/* tls_conn_ssl() is not const only because callers may need a
	 * writable SSL; nothing here changes it. */
	SSL *ssl = tls_conn_ssl((struct tls_conn *)conn);
	X509 *peer = SSL_get0_peer_certificate(ssl);
	if (peer == NULL) {
		errf(why, whylen, "peer sent no certificate");
		return false;
	}
	return cert_matches_domain(peer, domain, why, whylen);
}

bool tls_der_matches_domain(const void *der, size_t len, const char *domain,
    char *why, size_t whylen)
{
	const unsigned char *p = der;
	if (len > LONG_MAX) {
		errf(why, whylen, "not a certificate");
		return false;
	}
	X509 *cert = d2i_X509(NULL, &p, (long)len);
	if (cert == NULL) {
		ERR_clear_error();
		errf(why, whylen, "not a certificate");
		return false;
	}
	bool match = cert_matches_domain(cert, domain, why, whylen);
	X509_free(cert);
	return match;
}

bool tls_peer_authenticates_domain(const struct tls_conn *conn, const char *domain,
    char *why, size_t whylen)
{
	char reason[ERRLEN];
	if (!tls_peer_verified(conn, reason, sizeof(reason))) {
		errf(why, whylen, "certificate not trusted: %s", reason);
		return false;
	}
	return tls_peer_matches_domain(conn, domain, why, whylen);
}
