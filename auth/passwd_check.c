/*
 * passwd_check.c — checking a password against the stored forms an
 * operator's user table may hold, and making the stored form of a new one
 * (passwd_check.h). crypt(3) forms go through libxcrypt's crypt_rn with a
 * work area of our own per call (the thread-safe entry point), argon2
 * through libargon2, SCRAM through common/scram_secrets. Never logs.
 */
#include <crypt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <argon2.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "passwd_check.h"
#include "scram_secrets.h"
#include "util.h"

/* New bcrypt hashes: 2^11 rounds (about 0.1 s on a current core). The
 * other crypt schemes take libxcrypt's default cost. */
#define BCRYPT_COST 11
/* New argon2id hashes: RFC 9106 §4's second recommendation in time and
 * memory (t=3, 64 MiB), one lane so libargon2 starts no threads of its own. */
#define ARGON2_T_COST 3
#define ARGON2_M_COST_KIB 65536
#define ARGON2_LANES 1
#define ARGON2_SALT_LEN 16
#define ARGON2_HASH_LEN 32
/* What we agree to spend on one stored argon2 string, whatever the table
 * holds: a row with m=4 GiB must not take the process down. */
#define ARGON2_MAX_M_KIB (1024u * 1024u)
#define ARGON2_MAX_T 64u
#define ARGON2_MAX_P 16u

static bool has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* "$argon2id$[v=NN$]m=M,t=T,p=P$salt$hash": the type and costs we accept. */
static bool argon2_parse(const char *stored, argon2_type *type)
{
	const char *p;
	unsigned m, t, lanes;
	int used = 0;

	if (has_prefix(stored, "$argon2id$")) {
		*type = Argon2_id;
		p = stored + 10;
	} else if (has_prefix(stored, "$argon2i$")) {
		*type = Argon2_i;
		p = stored + 9;
	} else if (has_prefix(stored, "$argon2d$")) {
		*type = Argon2_d;
		p = stored + 9;
	} else {
		return false;
	}
	if (has_prefix(p, "v=")) {
		p = strchr(p, '$');
		if (p == NULL)
			return false;
		p++;
	}
	if (sscanf(p, "m=%u,t=%u,p=%u%n", &m, &t, &lanes, &used) != 3 || p[used] != '$')
		return false;
	if (m == 0 || t == 0 || lanes == 0 || m > ARGON2_MAX_M_KIB || t > ARGON2_MAX_T ||
	    lanes > ARGON2_MAX_P)
		return false;
	/* Salt and hash follow, each non-empty. */
	p += used + 1;
	const char *sep = strchr(p, '$');
	return sep != NULL && sep > p && sep[1] != '\0' && strchr(sep + 1, '$') == NULL;
}

enum passwd_form passwd_form_of(const char *stored)
{
	struct scram_secrets s;
	argon2_type type;

	if (stored == NULL || *stored == '\0')
		return PASSWD_MALFORMED;
	if (has_prefix(stored, "$2a$") || has_prefix(stored, "$2b$") || has_prefix(stored, "$2y$"))
		return PASSWD_BCRYPT;
	if (has_prefix(stored, "$6$"))
		return PASSWD_SHA512_CRYPT;
	if (has_prefix(stored, "$5$"))
		return PASSWD_SHA256_CRYPT;
	if (has_prefix(stored, "$y$"))
		return PASSWD_YESCRYPT;
	if (has_prefix(stored, "$argon2"))
		return argon2_parse(stored, &type) ? PASSWD_ARGON2 : PASSWD_MALFORMED;
	if (has_prefix(stored, "SCRAM-SHA-1$") || has_prefix(stored, "SCRAM-SHA-256$")) {
		if (scram_secrets_parse(stored, &s, NULL, 0) < 0)
			return PASSWD_MALFORMED;
		scram_secrets_wipe(&s);
		return PASSWD_SCRAM;
	}
	if (*stored == '$')
		return PASSWD_MALFORMED;
	return PASSWD_PLAIN;
}

const char *passwd_form_name(enum passwd_form form)
{
	switch (form) {
	case PASSWD_MALFORMED: return "malformed";
	case PASSWD_BCRYPT: return "bcrypt";
	case PASSWD_SHA512_CRYPT: return "sha512-crypt";
	case PASSWD_SHA256_CRYPT: return "sha256-crypt";
	case PASSWD_YESCRYPT: return "yescrypt";
	case PASSWD_ARGON2: return "argon2";
	case PASSWD_SCRAM: return "SCRAM";
	case PASSWD_PLAIN: return "plain text";
	}
	return "unknown";
}

/* Equal in time that depends on neither string's content: both are hashed
 * first, so even the length stays hidden. */
static bool same_secret(const char *a, const char *b)
{
	unsigned char da[SHA256_DIGEST_LENGTH], db[SHA256_DIGEST_LENGTH];

	SHA256((const unsigned char *)a, strlen(a), da);
	SHA256((const unsigned char *)b, strlen(b), db);
	bool same = CRYPTO_memcmp(da, db, sizeof(da)) == 0;
	OPENSSL_cleanse(da, sizeof(da));
	OPENSSL_cleanse(db, sizeof(db));
	return same;
}

static enum passwd_verdict verify_crypt(const char *stored, const char *password)
{
	/* 32 KiB: on the heap, not on a worker's stack. */
	struct crypt_data *cd = xcalloc(1, sizeof(*cd));
	enum passwd_verdict v = PASSWD_UNUSABLE;

	const char *out = crypt_rn(password, stored, cd, (int)sizeof(*cd));
	/* crypt_rn answers NULL for a setting it cannot use; a result that is
	 * not as long as the stored string cannot be its hash either. */
	if (out != NULL && out[0] != '*' && strlen(out) == strlen(stored))
		v = CRYPTO_memcmp(out, stored, strlen(stored)) == 0 ? PASSWD_MATCH : PASSWD_MISMATCH;
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return v;
}

static enum passwd_verdict verify_argon2(const char *stored, const char *password)
{
	argon2_type type;

	if (!argon2_parse(stored, &type))
		return PASSWD_UNUSABLE;
	switch (argon2_verify(stored, password, strlen(password), type)) {
	case ARGON2_OK:
		return PASSWD_MATCH;
	case ARGON2_VERIFY_MISMATCH:
		return PASSWD_MISMATCH;
	default:
		return PASSWD_UNUSABLE;
	}
}

static enum passwd_verdict verify_scram(const char *stored, const char *password)
{
	struct scram_secrets s;

	if (scram_secrets_parse(stored, &s, NULL, 0) < 0)
		return PASSWD_UNUSABLE;
	bool ok = scram_secrets_check_password(&s, password);
	scram_secrets_wipe(&s);
	return ok ? PASSWD_MATCH : PASSWD_MISMATCH;
}

enum passwd_verdict passwd_verify(const char *stored, const char *password,
    enum passwd_form *form_out)
{
	enum passwd_form form = passwd_form_of(stored);

	if (form_out != NULL)
		*form_out = form;
	if (password == NULL)
		return PASSWD_MISMATCH;
	switch (form) {
	case PASSWD_BCRYPT:
	case PASSWD_SHA512_CRYPT:
	case PASSWD_SHA256_CRYPT:
	case PASSWD_YESCRYPT:
		return verify_crypt(stored, password);
	case PASSWD_ARGON2:
		return verify_argon2(stored, password);
	case PASSWD_SCRAM:
		return verify_scram(stored, password);
	case PASSWD_PLAIN:
		return same_secret(stored, password) ? PASSWD_MATCH : PASSWD_MISMATCH;
	case PASSWD_MALFORMED:
		break;
	}
	return PASSWD_UNUSABLE;
}

int passwd_scheme_from_name(const char *name)
{
	static const char *const names[] = {
		[PASSWD_SCHEME_BCRYPT] = "bcrypt",
		[PASSWD_SCHEME_SHA512_CRYPT] = "sha512-crypt",
		[PASSWD_SCHEME_YESCRYPT] = "yescrypt",
		[PASSWD_SCHEME_ARGON2ID] = "argon2id",
		[PASSWD_SCHEME_SCRAM_SHA1] = "scram-sha-1",
		[PASSWD_SCHEME_SCRAM_SHA256] = "scram-sha-256",
		[PASSWD_SCHEME_PLAIN] = "plain",
	};

	for (size_t i = 0; i < ARRAY_LEN(names); i++)
		if (strcmp(name, names[i]) == 0)
			return (int)i;
	return -1;
}

static char *make_crypt(const char *prefix, unsigned long cost, const char *password,
    char *err, size_t errlen)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd;
	char *out = NULL;

	/* NULL random bytes: libxcrypt draws them itself (getrandom). */
	if (crypt_gensalt_rn(prefix, cost, NULL, 0, setting, sizeof(setting)) == NULL) {
		errf(err, errlen, "cannot make a %s salt", prefix);
		return NULL;
	}
	cd = xcalloc(1, sizeof(*cd));
	const char *h = crypt_rn(password, setting, cd, (int)sizeof(*cd));
	if (h == NULL || h[0] == '*')
		errf(err, errlen, "crypt failed for %s", prefix);
	else
		out = xstrdup(h);
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return out;
}

static char *make_argon2id(const char *password, char *err, size_t errlen)
{
	uint8_t salt[ARGON2_SALT_LEN];
	size_t len = argon2_encodedlen(ARGON2_T_COST, ARGON2_M_COST_KIB, ARGON2_LANES,
	    ARGON2_SALT_LEN, ARGON2_HASH_LEN, Argon2_id);
	char *out;
	int rc;

	if (getrandom(salt, sizeof(salt), 0) != (ssize_t)sizeof(salt)) {
		errf(err, errlen, "getrandom failed");
		return NULL;
	}
	out = xmalloc(len);
	rc = argon2id_hash_encoded(ARGON2_T_COST, ARGON2_M_COST_KIB, ARGON2_LANES, password,
	    strlen(password), salt, sizeof(salt), ARGON2_HASH_LEN, out, len);
	if (rc != ARGON2_OK) {
		errf(err, errlen, "argon2id: %s", argon2_error_message(rc));
		free(out);
		return NULL;
	}
	return out;
}

static char *make_scram(enum scram_hash hash, const char *password, unsigned iterations,
    char *err, size_t errlen)
{
	struct scram_secrets s;
	char text[SCRAM_SECRETS_TEXT_MAX];

	if (scram_secrets_from_password(hash, password, iterations, NULL, 0, &s, err, errlen) < 0)
		return NULL;
	int rc = scram_secrets_format(&s, text, sizeof(text), err, errlen);
	scram_secrets_wipe(&s);
	return rc < 0 ? NULL : xstrdup(text);
}

char *passwd_make(enum passwd_scheme scheme, const char *password, unsigned scram_iterations,
    char *err, size_t errlen)
{
	switch (scheme) {
	case PASSWD_SCHEME_BCRYPT:
		return make_crypt("$2b$", BCRYPT_COST, password, err, errlen);
	case PASSWD_SCHEME_SHA512_CRYPT:
		return make_crypt("$6$", 0, password, err, errlen);
	case PASSWD_SCHEME_YESCRYPT:
		return make_crypt("$y$", 0, password, err, errlen);
	case PASSWD_SCHEME_ARGON2ID:
		return make_argon2id(password, err, errlen);
	case PASSWD_SCHEME_SCRAM_SHA1:
		return make_scram(SCRAM_HASH_SHA1, password, scram_iterations, err, errlen);
	case PASSWD_SCHEME_SCRAM_SHA256:
		return make_scram(SCRAM_HASH_SHA256, password, scram_iterations, err, errlen);
	case PASSWD_SCHEME_PLAIN:
		/* A '$' first would read back as a malformed hash, and an empty
		 * string as no password at all. */
		if (*password == '\0' || *password == '$') {
			errf(err, errlen, "a password stored as plain text may not be empty or "
			    "start with '$'");
			return NULL;
		}
		return xstrdup(password);
	}
	errf(err, errlen, "unknown password scheme");
	return NULL;
}
