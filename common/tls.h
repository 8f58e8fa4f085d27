/*
 * tls.h — TLS for every Parley process, on OpenSSL 3: contexts built from a
 * plain settings struct (the daemons map their config keys onto it), one
 * `struct tls_conn` per connection over a non-blocking fd that plugs into the
 * edge-triggered loop, SNI certificate selection on the server side, peer
 * name checks on the client side (RFC 6125), the peer certificate's XMPP
 * identities, and the channel-binding bytes SCRAM-*-PLUS needs.
 *
 * This module never reads the config file, never logs and never closes the
 * fd it is given. Errors follow util.h: -1 (or TLS_ERROR) and a reason in
 * the caller's buffer, with OpenSSL's error queue text where it has any.
 *
 * Everything a context needs from the filesystem (certificates, keys, CA
 * file and CA directory, OpenSSL's own config) is read when the context is
 * built, so build contexts before the sandbox closes the filesystem.
 */
#ifndef PARLEY_TLS_H
#define PARLEY_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util.h"

struct tls_context;
struct tls_conn;

/* Protocol versions, numbered as on the wire. There is nothing below 1.2:
 * a context never accepts less, whatever the settings say. */
enum tls_version {
	TLS_VERSION_DEFAULT = 0, /* min: 1.2; max: the newest OpenSSL knows */
	TLS_VERSION_1_2 = 0x0303,
	TLS_VERSION_1_3 = 0x0304,
};

/* What to do about the peer's certificate.
 * Server side: NONE asks the client for none; REQUEST asks for one but lets
 * the handshake finish whatever it sends (SASL EXTERNAL or s2s decide later,
 * from tls_peer_verified() and tls_peer_identities()); REQUIRE fails the
 * handshake unless the client sends one that verifies against the CAs.
 * Client side: NONE and REQUEST both let the handshake finish and record
 * the verdict (chain, and the name given to tls_conn_new_client()) for
 * tls_peer_verified(); REQUIRE fails the handshake on a bad chain or name. */
enum tls_verify {
	TLS_VERIFY_NONE = 0,
	TLS_VERIFY_REQUEST,
	TLS_VERIFY_REQUIRE,
};

/* One certificate with its key. On a server, one per hosted domain (the
 * first is the default, used when the client's server_name matches none or
 * the client sends none); on a client, at most one, offered when the server
 * asks (s2s SASL EXTERNAL). */
struct tls_cert_settings {
	/* The server_name this certificate answers for, matched exactly
	 * (ASCII case-insensitively). NULL: the names in the certificate's
	 * own subjectAltName (DNS-IDs, wildcards as RFC 6125 allows them). */
	const char *domain;
	const char *cert_file; /* PEM: the leaf first, then intermediates */
	const char *key_file;  /* PEM, not encrypted (no one is there to type a passphrase) */
};

struct tls_settings {
	const struct tls_cert_settings *certs;
	size_t ncerts;               /* a server needs at least one */
	const char *ciphers;         /* TLS 1.2 cipher list; NULL: OpenSSL's default */
	const char *ciphersuites;    /* TLS 1.3 ciphersuites; NULL: OpenSSL's default */
	const char *ca_file;         /* PEM bundle of trusted CAs; may be NULL */
	const char *ca_path;         /* directory of hashed CA files (c_rehash); may be NULL */
	enum tls_verify verify_peer;
	/* ALPN protocols in order of preference ("xmpp-client", "xmpp-server"
	 * for XEP-0368 direct TLS); none: no ALPN. A server picks its own most
	 * preferred protocol among those the client offers and carries on
	 * without ALPN when there is none in common (tls_alpn() says which). */
	const char *const *alpn;
	size_t nalpn;
	enum tls_version min_version; /* DEFAULT or 1.2: 1.2; 1.3: 1.3 only */
	enum tls_version max_version; /* DEFAULT: the newest */
	/* Allow resumption with session tickets (stateless on the server; a
	 * client offers the extension). Off by default: see tls.c for why. */
	bool session_tickets;
};

/* Load what OpenSSL loads lazily (its config file, error strings) and seed
 * its random generator now, while the filesystem is still open. Call once
 * at start, before the sandbox. Returns -1 with a reason if it fails. */
int tls_library_init(char *err, size_t errlen);

struct tls_context *tls_context_new_server(const struct tls_settings *settings,
    char *err, size_t errlen);
struct tls_context *tls_context_new_client(const struct tls_settings *settings,
    char *err, size_t errlen);
/* Connections hold their own references: a context may be freed (say, on a
 * reload) while connections made from it are still open. */
void tls_context_free(struct tls_context **ctx);

/* A connection over `fd`, which must be a connected, non-blocking socket.
 * The fd stays the caller's: tls_conn_free() does not close it. */
struct tls_conn *tls_conn_new_server(struct tls_context *ctx, int fd, char *err, size_t errlen);
/* `server_name` (may be NULL) is sent as SNI (not if it is an IP address).
 * `verify_name` (may be NULL) is the DNS-ID the server's certificate must
 * carry (RFC 6125, checked by OpenSSL); see enum tls_verify for what a
 * mismatch does. Without it only the chain is checked: any certificate from
 * a trusted CA passes, which is right only with a private CA. */
struct tls_conn *tls_conn_new_client(struct tls_context *ctx, int fd, const char *server_name,
    const char *verify_name, char *err, size_t errlen);
/* Frees without sending anything: call tls_shutdown() first for a clean close. */
void tls_conn_free(struct tls_conn **conn);

/*
 * Results of tls_handshake(), tls_read(), tls_write() and tls_shutdown().
 * WANT_READ / WANT_WRITE: nothing more can happen until the fd is readable
 * (writable); call the same function again then. Either can come from any
 * of them (a read may have to send a TLS 1.3 KeyUpdate reply, a write may
 * have to finish a handshake). CLOSED: the peer sent close_notify; no more
 * data will come. ERROR: the connection is unusable; the reason is in err.
 * A peer that closes TCP without close_notify is an ERROR ("closed without
 * close_notify"): XMPP ends its streams with </stream:stream>, so the caller
 * knows whether anything was lost.
 */
enum tls_result {
	TLS_OK = 0,
	TLS_WANT_READ = -1,
	TLS_WANT_WRITE = -2,
	TLS_CLOSED = -3,
	TLS_ERROR = -4,
};

/* Drive the handshake: TLS_OK when it is complete. */
int tls_handshake(struct tls_conn *conn, char *err, size_t errlen);
bool tls_handshake_done(const struct tls_conn *conn);

/* Bytes read (> 0) or a tls_result. With an edge-triggered loop, read until
 * TLS_WANT_READ: OpenSSL may hold decrypted bytes the fd knows nothing of. */
ssize_t tls_read(struct tls_conn *conn, void *data, size_t len, char *err, size_t errlen);
/* Bytes written (> 0, possibly fewer than len: at least one record) or a
 * tls_result; 0 when len is 0. After TLS_WANT_WRITE, call again with the
 * same bytes (they may have moved, e.g. by buf compaction) and at least the
 * same length. */
ssize_t tls_write(struct tls_conn *conn, const void *data, size_t len, char *err, size_t errlen);
/* Send close_notify: TLS_OK once it is on its way (or was already sent, or
 * the handshake never completed, so there is nothing to close), TLS_WANT_WRITE
 * to retry when writable, TLS_ERROR if the connection has already failed
 * (nothing is sent then). Does not wait for the peer's close_notify: keep
 * reading until TLS_CLOSED for that, if it matters. */
int tls_shutdown(struct tls_conn *conn, char *err, size_t errlen);

/* For logs: "TLSv1.3", "TLS_AES_256_GCM_SHA384" (or "none" before the
 * handshake completes). */
const char *tls_version_name(const struct tls_conn *conn);
const char *tls_cipher_name(const struct tls_conn *conn);
/* The negotiated protocol version, or 0 before the handshake completes. */
enum tls_version tls_version(const struct tls_conn *conn);
/* The ALPN protocol agreed on, copied NUL-terminated into out; false if
 * none (or it does not fit). */
bool tls_alpn(const struct tls_conn *conn, char *out, size_t outlen);
/* Server side, before the handshake: start from the certificate SNI would
 * pick for `domain`, so a client that sends no server_name still gets it
 * (s2s knows the domain from the stream header sent before STARTTLS; some
 * servers send no SNI on s2s). A server_name the client does send still
 * decides. false (and the default certificate stays) if none answers. */
bool tls_conn_prefer_domain(struct tls_conn *conn, const char *domain);
/* Server side: the server_name the client sent (SNI), or NULL. */
const char *tls_server_name(const struct tls_conn *conn);
/* Whether the handshake resumed an earlier session. */
bool tls_session_resumed(const struct tls_conn *conn);

/* The OpenSSL connection underneath, for tests and for what this module
 * does not wrap yet (say, offering a saved session on a client). Do not
 * change its settings or do I/O on it behind this module's back. */
struct ssl_st;
struct ssl_st *tls_conn_ssl(struct tls_conn *conn);

/* --- the peer's certificate ---------------------------------------------- */

bool tls_peer_has_certificate(const struct tls_conn *conn);
/* True if the peer sent a certificate whose chain verified against the
 * context's CAs (and, on a client, which carries the verify_name). If not,
 * the reason is in err ("no certificate", "hostname mismatch", ...). */
bool tls_peer_verified(const struct tls_conn *conn, char *err, size_t errlen);
/* The certificate's subject, one line (RFC 2253); false if there is none. */
bool tls_peer_subject(const struct tls_conn *conn, char *out, size_t outlen);

/* Identities in the peer certificate's subjectAltName that XMPP uses
 * (RFC 6120 §13.7.1.4, RFC 7590): xmppAddr (id-on-xmppAddr, a JID, for c2s
 * SASL EXTERNAL and s2s), SRVName (id-on-dnsSRV, "_xmpp-server.example.org")
 * and dNSName. Values are copied as the certificate has them, except that
 * any containing a NUL byte or of the wrong ASN.1 type are left out. */
enum tls_identity_type {
	TLS_ID_XMPP_ADDR,
	TLS_ID_SRV_NAME,
	TLS_ID_DNS_NAME,
};

struct tls_identity {
	enum tls_identity_type type;
	char *value;
};

struct tls_identities {
	struct tls_identity *ids;
	size_t count;
};

/* Fill `ids` (count 0 if no certificate or no such names). Free with
 * tls_identities_free(). */
void tls_peer_identities(const struct tls_conn *conn, struct tls_identities *ids);
/* The same from a DER certificate (auth gets the client's from c2s);
 * -1 if the bytes are not a certificate. */
int tls_der_identities(const void *der, size_t len, struct tls_identities *ids);
void tls_identities_free(struct tls_identities *ids);

/* --- channel binding (SCRAM-*-PLUS, XEP-0440) ------------------------------ */

enum tls_channel_binding {
	TLS_CB_UNIQUE = 0,     /* "tls-unique", RFC 5929: TLS 1.2 only */
	TLS_CB_EXPORTER,       /* "tls-exporter", RFC 9266: TLS 1.3, or 1.2 with EMS */
	TLS_CB_SERVER_END_POINT, /* "tls-server-end-point", RFC 5929: hash of the server certificate */
	TLS_CB_COUNT,
};

/* Enough for any of them (a SHA-512 is 64 bytes). */
#define TLS_CB_MAX 64

/* The bytes of the binding `type` for this connection (written to out,
 * TLS_CB_MAX bytes is always enough); -1 with a reason if this connection
 * does not have that type (wrong version, no EMS, handshake not done...). */
int tls_channel_binding(const struct tls_conn *conn, enum tls_channel_binding type,
    unsigned char *out, size_t outlen, size_t *len, char *err, size_t errlen);
/* On TLS 1.3 only: the bytes that TLS 1.2-era client libraries (OpenSSL's
 * SSL_get_finished, as Python's ssl module and so slixmpp use it) send as
 * "tls-unique": the client's Finished message. RFC 9266 forbids tls-unique
 * on TLS 1.3 and this is not advertised as a channel binding; c2s passes it
 * on only when c2s.sasl_tls13_unique_compat allows, so that such clients
 * can log in with -PLUS. Our connections are never resumed (no tickets, no
 * cache), so the client's Finished is unique to the connection. */
int tls_legacy_unique_tls13(const struct tls_conn *conn, unsigned char *out, size_t outlen,
    size_t *len, char *err, size_t errlen);
/* Bit (1u << type) set for each type tls_channel_binding() can give. */
unsigned tls_channel_bindings_available(const struct tls_conn *conn);
/* "tls-unique", "tls-exporter", "tls-server-end-point". */
const char *tls_channel_binding_name(enum tls_channel_binding type);
/* The type with that name, or -1. */
int tls_channel_binding_parse(const char *name);

/* --- is the peer this domain? (s2s, RFC 6125; common/tls_names.c) ------- */

/* Whether the peer's certificate names `domain` (Unicode or A-label form):
 * a DNS-ID (wildcard only as the whole leftmost label), an SRV-ID
 * "_xmpp-server.<domain>", or an XmppAddr that is the bare domain; the CN
 * only when the certificate has none of those (tls_names.c has the rules).
 * Names only: the chain is NOT checked here. `why` gets what matched, or
 * why nothing did ("certificate names DNS-ID a.example, not b.example").
 *
 * For s2s on either side: tls_peer_authenticates_domain() below, which is
 * tls_peer_verified() (chain to a CA of the context) and then this. A
 * server context must be built with verify_peer REQUEST (or REQUIRE) for a
 * certificate to be asked for at all; a client context passes verify_name
 * NULL to tls_conn_new_client() (that check knows only DNS-IDs, and with
 * it tls_peer_verified() would also fail certificates that name the
 * domain in an SRV-ID or XmppAddr only) and calls this after the handshake. */
bool tls_peer_matches_domain(const struct tls_conn *conn, const char *domain,
    char *why, size_t whylen);
/* The same for a DER certificate; false ("not a certificate") if the bytes
 * are not one. */
bool tls_der_matches_domain(const void *der, size_t len, const char *domain,
    char *why, size_t whylen);
/* Chain verified against the context's CAs, and names `domain`: what s2s
 * needs before it offers or accepts SASL EXTERNAL for that domain. */
bool tls_peer_authenticates_domain(const struct tls_conn *conn, const char *domain,
    char *why, size_t whylen);

#endif
