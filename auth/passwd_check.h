/*
 * passwd_check.h — passwords in the forms an operator's own user table
 * keeps them (auth's sql backend): tell the form from the stored string,
 * check a password against it, and make the stored form of a new
 * password.
 *
 * Forms, recognised by their prefix:
 *   $2a$ $2b$ $2y$            bcrypt             (libxcrypt)
 *   $6$                       sha512-crypt       (libxcrypt)
 *   $5$                       sha256-crypt       (libxcrypt)
 *   $y$                       yescrypt           (libxcrypt)
 *   $argon2id$ $argon2i$ $argon2d$   argon2      (libargon2)
 *   SCRAM-SHA-1$ SCRAM-SHA-256$      SCRAM secrets in Parley's text form
 *                                    (common/scram_secrets.h)
 *   anything else not starting with '$' and not empty: plain text
 * Any other '$' prefix, an empty string and a SCRAM or argon2 string that
 * does not parse are malformed: no password matches them.
 *
 * Every function here is safe on any thread (crypt_rn with a private
 * work area, argon2, OpenSSL) and never logs: the sql backend runs them
 * on its worker threads and logs on the loop's.
 */
#ifndef PARLEY_PASSWD_CHECK_H
#define PARLEY_PASSWD_CHECK_H

#include <stddef.h>

enum passwd_form {
	PASSWD_MALFORMED = 0,
	PASSWD_BCRYPT,
	PASSWD_SHA512_CRYPT,
	PASSWD_SHA256_CRYPT,
	PASSWD_YESCRYPT,
	PASSWD_ARGON2,
	PASSWD_SCRAM,
	PASSWD_PLAIN,
};

/* What `stored` is, from its prefix alone (SCRAM and argon2 strings are
 * parsed far enough to know they are whole). */
enum passwd_form passwd_form_of(const char *stored);
/* "bcrypt", "plain text", "malformed"…, for logs. */
const char *passwd_form_name(enum passwd_form form);

enum passwd_verdict {
	PASSWD_MATCH,
	PASSWD_MISMATCH,
	PASSWD_UNUSABLE,     /* the stored string is malformed */
};

/* Does `password` match `stored`? Comparisons of derived values are
 * constant-time. `form` (may be NULL) gets the stored string's form. */
enum passwd_verdict passwd_verify(const char *stored, const char *password,
    enum passwd_form *form);

/* The forms new passwords can be stored in (auth.sql.hash). */
enum passwd_scheme {
	PASSWD_SCHEME_BCRYPT,
	PASSWD_SCHEME_SHA512_CRYPT,
	PASSWD_SCHEME_YESCRYPT,
	PASSWD_SCHEME_ARGON2ID,
	PASSWD_SCHEME_SCRAM_SHA1,
	PASSWD_SCHEME_SCRAM_SHA256,
	PASSWD_SCHEME_PLAIN,
};

/* auth.sql.hash's spelling ("bcrypt", "sha512-crypt", "yescrypt",
 * "argon2id", "scram-sha-1", "scram-sha-256", "plain") → scheme; -1 if
 * unknown. */
int passwd_scheme_from_name(const char *name);

/* The stored form of `password` under `scheme`, with a fresh random salt,
 * in a new string the caller frees (wipe it first: for "plain" it is the
 * password). `scram_iterations` is used by the SCRAM schemes. NULL and a
 * reason in `err` on failure. */
char *passwd_make(enum passwd_scheme scheme, const char *password, unsigned scram_iterations,
    char *err, size_t errlen);

#endif
