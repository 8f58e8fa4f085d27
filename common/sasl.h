/*
 * sasl.h — the server side of SASL for client logins (RFC 6120 §6), on
 * libgsasl: SCRAM-SHA-256-PLUS, SCRAM-SHA-1-PLUS, SCRAM-SHA-256,
 * SCRAM-SHA-1, PLAIN and EXTERNAL, in that order of preference.
 *
 * It runs in parley-auth, the only process that sees credentials. c2s relays
 * what the client sent (mechanism name, base64-decoded data) together with
 * what it knows about the connection (TLS or not, channel-binding bytes,
 * client-certificate identities); auth feeds that to a sasl_session and
 * relays back a challenge, a success (with SCRAM's server-final message,
 * which XMPP carries in <success/>) or a failure with an RFC 6120 §6.5
 * condition. This file never touches the network, the store or TLS: the
 * connection facts come in as plain values, and the user database is
 * reached through callbacks the caller provides.
 *
 * Passwords are never stored: the lookup callback returns SCRAM secrets
 * (common/scram_secrets.h), against which SCRAM proofs and PLAIN passwords
 * are both checked. An unknown user goes through the whole SCRAM exchange
 * with a salt derived from a server secret, so the exchange does not reveal
 * which accounts exist; it fails at the end like a wrong password.
 *
 * Callbacks are called synchronously from sasl_session_step(); a backend
 * that may be slow must answer from a cache or a worker.
 */
#ifndef PARLEY_SASL_H
#define PARLEY_SASL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scram_secrets.h"
#include "util.h"

/* In order of preference: the order sasl_server_mechanisms() offers them. */
enum sasl_mechanism {
	SASL_MECH_SCRAM_SHA_256_PLUS,
	SASL_MECH_SCRAM_SHA_1_PLUS,
	SASL_MECH_SCRAM_SHA_256,
	SASL_MECH_SCRAM_SHA_1,
	SASL_MECH_PLAIN,
	SASL_MECH_EXTERNAL,
};

#define SASL_MECH_COUNT 6
#define SASL_MECH_BIT(m) (1u << (m))
/* Everything but EXTERNAL, which needs a policy callback to mean anything. */
#define SASL_MECHS_DEFAULT \
	(SASL_MECH_BIT(SASL_MECH_SCRAM_SHA_256_PLUS) | SASL_MECH_BIT(SASL_MECH_SCRAM_SHA_1_PLUS) | \
	 SASL_MECH_BIT(SASL_MECH_SCRAM_SHA_256) | SASL_MECH_BIT(SASL_MECH_SCRAM_SHA_1) | \
	 SASL_MECH_BIT(SASL_MECH_PLAIN))

/* "SCRAM-SHA-256-PLUS" etc. */
const char *sasl_mechanism_name(enum sasl_mechanism mech);
/* Exact IANA name (SASL names are upper case) → mechanism; -1 if unknown. */
int sasl_mechanism_from_name(const char *name);

/* RFC 6120 §6.5 failure conditions. SASL_COND_NONE means "no failure". */
enum sasl_condition {
	SASL_COND_NONE = 0,
	SASL_COND_ABORTED,
	SASL_COND_ACCOUNT_DISABLED,
	SASL_COND_CREDENTIALS_EXPIRED,
	SASL_COND_ENCRYPTION_REQUIRED,
	SASL_COND_INCORRECT_ENCODING,
	SASL_COND_INVALID_AUTHZID,
	SASL_COND_INVALID_MECHANISM,
	SASL_COND_MALFORMED_REQUEST,
	SASL_COND_MECHANISM_TOO_WEAK,
	SASL_COND_NOT_AUTHORIZED,
	SASL_COND_TEMPORARY_AUTH_FAILURE,
};

/* The element name inside <failure/>: "not-authorized" etc.; "" for NONE. */
const char *sasl_condition_name(enum sasl_condition cond);
/* Inverse of sasl_condition_name; -1 if unknown. */
int sasl_condition_from_name(const char *name);

/* --- what the caller tells us about the user database -------------------- */

enum sasl_lookup_result {
	SASL_LOOKUP_FOUND,        /* secrets filled in */
	SASL_LOOKUP_NO_USER,      /* no such user, or no secrets for this hash */
	SASL_LOOKUP_TEMPFAIL,     /* backend unreachable: temporary-auth-failure */
};

enum sasl_account_status {
	SASL_ACCOUNT_ACTIVE = 0,
	SASL_ACCOUNT_DISABLED,    /* right password → account-disabled */
	SASL_ACCOUNT_EXPIRED,     /* right password → credentials-expired */
};

/* Longest localpart RFC 7622 allows is 1023 bytes. */
#define SASL_USERNAME_MAX 1024

struct sasl_credentials {
	struct scram_secrets secrets;          /* for the hash asked for */
	enum sasl_account_status status;
	/* The account's name in canonical form (nodeprepped), if it differs
	 * from what the client typed; left empty, the typed name is used. */
	char username[SASL_USERNAME_MAX];
};

/*
 * Find `username`@`domain`'s secrets for `hash`. The username is what the
 * client sent: for SCRAM with =2C/=3D already decoded, for PLAIN after
 * SASLprep. It is NOT yet a valid JID localpart: the callback must nodeprep
 * it (common/jid) and answer NO_USER if that fails. `out` arrives zeroed.
 */
typedef enum sasl_lookup_result (*sasl_lookup_cb)(void *arg, const char *username,
    const char *domain, enum scram_hash hash, struct sasl_credentials *out);

/*
 * EXTERNAL: may the client holding a certificate with these identities log
 * in, as `authzid` if it gave one (NULL if not)? On yes, write the
 * account's localpart to `username` and return SASL_COND_NONE; otherwise
 * return the condition to fail with (not-authorized, invalid-authzid,
 * temporary-auth-failure, ...).
 */
typedef enum sasl_condition (*sasl_external_cb)(void *arg, const char *domain,
    const char *const *identities, size_t nidentities, const char *authzid,
    char *username, size_t usernamelen);

/*
 * May `username`@`domain` act as `authzid` (non-empty, valid UTF-8)? When
 * this is NULL the rule is: only as its own bare JID, compared byte for
 * byte with username "@" domain. Pass a callback that compares prepared
 * JIDs once the caller has the JID code.
 */
typedef bool (*sasl_authorize_cb)(void *arg, const char *username, const char *domain,
    const char *authzid);

struct sasl_server_config {
	unsigned mechanisms;          /* SASL_MECH_BIT()s; 0 = SASL_MECHS_DEFAULT */
	/* Rounds announced for users that do not exist; match what the store
	 * uses for real users. 0 = SCRAM_DEFAULT_ITERATIONS. */
	uint32_t iterations;
	/* Key for the fake salts of users that do not exist. It must stay the
	 * same across restarts and be shared by every auth process, or a
	 * changing salt would give unknown users away. NULL = random per
	 * process (fine for tests only). */
	const uint8_t *secret;
	size_t secret_len;
	sasl_lookup_cb lookup;        /* required */
	sasl_external_cb external;    /* required if EXTERNAL is enabled */
	sasl_authorize_cb authorize;  /* optional, see above */
	void *arg;                    /* passed to every callback */
};

struct sasl_server;

struct sasl_server *sasl_server_new(const struct sasl_server_config *config,
    char *err, size_t errlen);
void sasl_server_free(struct sasl_server **server);

/* --- what the caller tells us about the connection ----------------------- */

struct sasl_channel_binding {
	const char *type;             /* "tls-exporter" (RFC 9266) or "tls-unique" */
	const uint8_t *data;
	size_t len;
};

struct sasl_connection {
	const char *domain;           /* the stream's 'to': the domain users log into */
	bool tls;                     /* the stream is encrypted */
	/* Channel-binding data c2s computed for this TLS connection (usually
	 * one entry; unknown types are ignored). Ignored without tls. */
	const struct sasl_channel_binding *bindings;
	size_t nbindings;
	bool client_certificate;      /* a verified client certificate was shown */
	const char *const *cert_identities;   /* its identities, for EXTERNAL */
	size_t ncert_identities;
};

/*
 * The mechanisms to offer on this connection, best first, into `names`
 * (room for SASL_MECH_COUNT); returns how many. -PLUS only with
 * channel-binding data, PLAIN only over TLS, EXTERNAL only with a client
 * certificate.
 */
size_t sasl_server_mechanisms(const struct sasl_server *server,
    const struct sasl_connection *conn, const char **names);

/* --- one authentication exchange ----------------------------------------- */

struct sasl_session;

/*
 * Begin an exchange with the mechanism the client chose. Everything in
 * `conn` is copied. Returns NULL with *refused set if the mechanism cannot
 * be used here: invalid-mechanism (unknown, disabled, or not offered on
 * this connection), encryption-required (PLAIN without TLS) or
 * temporary-auth-failure (libgsasl could not start it).
 */
struct sasl_session *sasl_session_start(struct sasl_server *server, const char *mechanism,
    const struct sasl_connection *conn, enum sasl_condition *refused);
void sasl_session_free(struct sasl_session **session);

enum sasl_status {
	SASL_CONTINUE,    /* send <challenge/> with data, wait for <response/> */
	SASL_SUCCESS,     /* send <success/> with data (may be empty) */
	SASL_FAILURE,     /* send <failure/> with condition */
};

/* Pointers stay valid until the next step or sasl_session_free(). */
struct sasl_reply {
	enum sasl_status status;
	const uint8_t *data;          /* challenge or success data (not base64) */
	size_t len;
	enum sasl_condition condition;    /* FAILURE */
	/* SUCCESS: the account's localpart. FAILURE: the name that was tried,
	 * if the exchange got that far (NULL if not) — as the client sent it,
	 * so sanitise it before logging. */
	const char *username;
	const char *authzid;          /* SUCCESS: the authzid asked for, or NULL */
	const char *reason;           /* FAILURE: why, for the log; never to the client */
};

/*
 * Feed the client's next message: the initial response of <auth/> first,
 * then each <response/>. `data` NULL means "no initial response" (an <auth/>
 * with no text), which differs from an empty one ("=") for EXTERNAL. Once
 * the reply is SUCCESS or FAILURE the exchange is over; further steps fail
 * with malformed-request. An <abort/> needs no step: answer `aborted` and
 * free the session.
 */
void sasl_session_step(struct sasl_session *session, const void *data, size_t len,
    struct sasl_reply *reply);

enum sasl_mechanism sasl_session_mechanism(const struct sasl_session *session);

#endif
