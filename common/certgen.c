/*
 * certgen.c — self-signed server certificates on the OpenSSL 3 API (see
 * certgen.h). Owns the choice of key, extensions and validity of the
 * certificates Parley makes for itself; must not log or read the config.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "certgen.h"
#include "file_replace.h"
#include "jid.h"

/* Clock skew we tolerate in peers: notBefore is this far in the past. */
#define BACKDATE_SECONDS (5 * 60)
/* X.520 ub-common-name: a longer first domain is left out of the subject. */
#define CN_MAX 64
#define CERTGEN_DAYS_MAX (100 * 366)

/* The OpenSSL error queue's last reason after our own words. */
static int ssl_errf(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	char reason[160] = "";

	if (e != 0)
		ERR_error_string_n(e, reason, sizeof(reason));
	ERR_clear_error();
	return errf(err, errlen, "%s%s%s", what, e != 0 ? ": " : "", reason);
}

/* --- the certificate --------------------------------------------------------- */

/* One SAN entry for an already-prepared domain in A-label form. IP literals
 * (which jid.c leaves as they are, IPv6 in brackets) become iPAddress. */
static GENERAL_NAME *san_entry(const char *ascii)
{
	unsigned char ip[16];
	size_t iplen = 0;
	char inner[INET6_ADDRSTRLEN + 1];
	size_t len = strlen(ascii);

	if (len > 2 && ascii[0] == '[' && ascii[len - 1] == ']' && len - 2 < sizeof(inner)) {
		memcpy(inner, ascii + 1, len - 2);
		inner[len - 2] = '\0';
		if (inet_pton(AF_INET6, inner, ip) == 1)
			iplen = 16;
	} else if (inet_pton(AF_INET, ascii, ip) == 1) {
		iplen = 4;
	}

	GENERAL_NAME *gn = GENERAL_NAME_new();
	if (gn == NULL)
		return NULL;
	if (iplen > 0) {
		ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
		if (os == NULL || ASN1_OCTET_STRING_set(os, ip, (int)iplen) != 1) {
			ASN1_OCTET_STRING_free(os);
			GENERAL_NAME_free(gn);
			return NULL;
		}
		GENERAL_NAME_set0_value(gn, GEN_IPADD, os);
	} else {
		ASN1_IA5STRING *ia5 = ASN1_IA5STRING_new();
		if (ia5 == NULL || ASN1_STRING_set(ia5, ascii, (int)len) != 1) {
			ASN1_IA5STRING_free(ia5);
			GENERAL_NAME_free(gn);
			return NULL;
		}
		GENERAL_NAME_set0_value(gn, GEN_DNS, ia5);
	}
	return gn;
}

static int add_ext(X509 *cert, X509V3_CTX *v3, int nid, const char *value, char *err,
    size_t errlen)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, v3, nid, value);
	if (ext == NULL)
		return ssl_errf(err, errlen, OBJ_nid2sn(nid));
	int ok = X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return ok == 1 ? 0 : ssl_errf(err, errlen, OBJ_nid2sn(nid));
}

/* A positive serial of 127 random bits: RFC 5280 allows up to 20 octets,
 * and unpredictable serials are what CAs use since the MD5 collisions. */
static int set_random_serial(X509 *cert, char *err, size_t errlen)
{
	unsigned char bytes[16];
	if (RAND_bytes(bytes, sizeof(bytes)) != 1)
		return ssl_errf(err, errlen, "random serial number");
	bytes[0] &= 0x7f;
	bytes[0] |= 0x40; /* never so small that it reads as a counter */
	BIGNUM *bn = BN_bin2bn(bytes, sizeof(bytes), NULL);
	int ok = bn != NULL && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != NULL;
	BN_free(bn);
	return ok ? 0 : ssl_errf(err, errlen, "serial number");
}

static EVP_PKEY *new_key(enum certgen_key_type type)
{
	switch (type) {
	case CERTGEN_KEY_EC_P256:
		return EVP_EC_gen("P-256");
	case CERTGEN_KEY_RSA_2048:
		return EVP_RSA_gen(2048);
	}
	return NULL;
}

int certgen_make(const struct certgen_request *req, X509 **certp, EVP_PKEY **keyp,
    char *err, size_t errlen)
{
	X509 *cert = NULL;
	EVP_PKEY *key = NULL;
	GENERAL_NAMES *names = NULL;
	char first[JID_DOMAIN_ASCII_MAX + 1] = "";
	unsigned days = req->days ? req->days : CERTGEN_DAYS_DEFAULT;

	*certp = NULL;
	*keyp = NULL;
	if (req->ndomains == 0 || req->domains == NULL)
		return errf(err, errlen, "a certificate needs at least one domain");
	if (days > CERTGEN_DAYS_MAX)
		return errf(err, errlen, "validity of %u days is too long", days);
	if (req->key_type != CERTGEN_KEY_EC_P256 && req->key_type != CERTGEN_KEY_RSA_2048)
		return errf(err, errlen, "unknown key type %d", (int)req->key_type);

	names = sk_GENERAL_NAME_new_null();
	if (names == NULL)
		return ssl_errf(err, errlen, "subjectAltName");
	for (size_t i = 0; i < req->ndomains; i++) {
		char ascii[JID_DOMAIN_ASCII_MAX + 1], why[ERRLEN];
		const char *d = req->domains[i];
		if (jid_domainpart_to_ascii(d, strlen(d), ascii, why, sizeof(why)) < 0) {
			errf(err, errlen, "\"%s\" is not a domain: %s", d, why);
			goto fail;
		}
		if (i == 0)
			memcpy(first, ascii, strlen(ascii) + 1);
		GENERAL_NAME *gn = san_entry(ascii);
		if (gn == NULL || sk_GENERAL_NAME_push(names, gn) <= 0) {
			GENERAL_NAME_free(gn);
			ssl_errf(err, errlen, "subjectAltName");
			goto fail;
		}
	}

	key = new_key(req->key_type);
	if (key == NULL) {
		ssl_errf(err, errlen, "key generation");
		goto fail;
	}
	cert = X509_new();
	if (cert == NULL || X509_set_version(cert, X509_VERSION_3) != 1 ||
	    X509_set_pubkey(cert, key) != 1) {
		ssl_errf(err, errlen, "certificate");
		goto fail;
	}
	if (set_random_serial(cert, err, errlen) < 0)
		goto fail;
	if (X509_gmtime_adj(X509_getm_notBefore(cert), -BACKDATE_SECONDS) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(cert), (int)days, 0, NULL) == NULL) {
		ssl_errf(err, errlen, "validity");
		goto fail;
	}

	/* Subject = issuer: that is what self-signed means. An empty subject
	 * is allowed only with a critical subjectAltName (RFC 5280 4.2.1.6). */
	X509_NAME *subject = X509_get_subject_name(cert);
	bool has_cn = strlen(first) <= CN_MAX;
	if (has_cn && X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
	    (const unsigned char *)first, -1, -1, 0) != 1) {
		ssl_errf(err, errlen, "subject");
		goto fail;
	}
	if (X509_set_issuer_name(cert, subject) != 1) {
		ssl_errf(err, errlen, "issuer");
		goto fail;
	}

	X509V3_CTX v3;
	X509V3_set_ctx(&v3, cert, cert, NULL, NULL, 0);
	/* No keyUsage: the one that fits a leaf (digitalSignature only) lacks
	 * keyCertSign, and then OpenSSL no longer sees the certificate as
	 * issued by itself (X509_check_issued fails), which is what a peer
	 * that pins it as its own trust anchor relies on; keyCertSign with
	 * CA:FALSE is forbidden (RFC 5280 4.2.1.3). extendedKeyUsage says
	 * what the key is for. */
	if (add_ext(cert, &v3, NID_basic_constraints, "critical,CA:FALSE", err, errlen) < 0 ||
	    add_ext(cert, &v3, NID_ext_key_usage, "serverAuth,clientAuth", err, errlen) < 0 ||
	    add_ext(cert, &v3, NID_subject_key_identifier, "hash", err, errlen) < 0)
		goto fail;
	if (X509_add1_ext_i2d(cert, NID_subject_alt_name, names, has_cn ? 0 : 1,
	    X509V3_ADD_DEFAULT) != 1) {
		ssl_errf(err, errlen, "subjectAltName");
		goto fail;
	}
	if (X509_sign(cert, key, EVP_sha256()) <= 0) {
		ssl_errf(err, errlen, "signing the certificate");
		goto fail;
	}
	GENERAL_NAMES_free(names);
	*certp = cert;
	*keyp = key;
	return 0;
fail:
	GENERAL_NAMES_free(names);
	X509_free(cert);
	EVP_PKEY_free(key);
	return -1;
}

/* --- files ------------------------------------------------------------------- */

/* Write `cert` and/or `key` (either may be NULL) as PEM to `path`, which
 * has `mode` before a byte of the key is in it (file_replace). */
static int write_pem(const char *path, mode_t mode, X509 *cert, EVP_PKEY *key, char *err,
    size_t errlen)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *pem;
	int rc = -1;

	if (bio == NULL)
		return ssl_errf(err, errlen, path);
	if ((cert != NULL && PEM_write_bio_X509(bio, cert) != 1) ||
	    (key != NULL && PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) != 1)) {
		ssl_errf(err, errlen, path);
		goto out;
	}
	long len = BIO_get_mem_data(bio, &pem);
	rc = file_replace(path, pem, (size_t)len, mode, err, errlen);
	OPENSSL_cleanse(pem, (size_t)len);
out:
	BIO_free(bio);
	return rc;
}

int certgen_write(const struct certgen_request *req, const char *cert_file,
    const char *key_file, mode_t key_mode, char *err, size_t errlen)
{
	X509 *cert;
	EVP_PKEY *key;
	int rc;

	if (cert_file == NULL || key_file == NULL)
		return errf(err, errlen, "certificate and key files must be named");
	if (certgen_make(req, &cert, &key, err, errlen) < 0)
		return -1;
	if (strcmp(cert_file, key_file) == 0) {
		rc = write_pem(cert_file, key_mode, cert, key, err, errlen);
	} else {
		/* The key first: a certificate without its key is useless, and
		 * a run that fails halfway should not leave one that looks new. */
		rc = write_pem(key_file, key_mode, NULL, key, err, errlen);
		if (rc == 0)
			rc = write_pem(cert_file, 0644, cert, NULL, err, errlen);
	}
	X509_free(cert);
	EVP_PKEY_free(key);
	return rc;
}
