/*
 * certgen.h — self-signed server certificates, made with the OpenSSL API:
 * what `parleyctl init` gives a new installation so that TLS works from the
 * first start, and what tests use for throwaway certificates.
 *
 * A certificate carries every domain it is for as a subjectAltName dNSName
 * in A-label (ASCII) form — RFC 6125 matching is on DNS-IDs, and an IDN
 * domain is looked up in that form — plus the first domain as the subject
 * CN for tools that still show it. It is an end-entity certificate
 * (CA:FALSE) for serverAuth and clientAuth (s2s presents it as a client for
 * SASL EXTERNAL), with a random 127-bit serial and a validity starting a
 * few minutes in the past, so a peer whose clock is slightly behind
 * accepts it.
 *
 * This module does not log and does not read the configuration.
 */
#ifndef PARLEY_CERTGEN_H
#define PARLEY_CERTGEN_H

#include <stddef.h>
#include <sys/types.h>

#include "util.h"

#define CERTGEN_DAYS_DEFAULT 365

enum certgen_key_type {
	CERTGEN_KEY_EC_P256 = 0, /* ECDSA on P-256: small, fast, universally supported */
	CERTGEN_KEY_RSA_2048,    /* for peers that know nothing but RSA */
};

struct certgen_request {
	/* Domains in any form jid_prep_domainpart() accepts (U-labels or
	 * A-labels; an IP literal becomes an iPAddress SAN). At least one. */
	const char *const *domains;
	size_t ndomains;
	unsigned days;                  /* 0: CERTGEN_DAYS_DEFAULT */
	enum certgen_key_type key_type;
};

/* OpenSSL's X509 and EVP_PKEY, without making every includer pull in
 * OpenSSL's headers. */
struct x509_st;
struct evp_pkey_st;

/* A new key and a certificate for it, signed by itself. The caller frees
 * them with X509_free() and EVP_PKEY_free(). */
int certgen_make(const struct certgen_request *req, struct x509_st **cert,
    struct evp_pkey_st **key, char *err, size_t errlen);

/*
 * certgen_make(), then write the certificate (PEM, mode 0644) to cert_file
 * and the key (unencrypted PKCS#8 PEM, mode key_mode) to key_file. When both
 * are the same path, that file holds the certificate then the key, with
 * key_mode. Each file is written to a temporary name in its directory and
 * renamed into place, so a failure never leaves half a key behind, and the
 * key's mode is set before any key byte is written. Existing files are
 * replaced.
 */
int certgen_write(const struct certgen_request *req, const char *cert_file,
    const char *key_file, mode_t key_mode, char *err, size_t errlen);

#endif
