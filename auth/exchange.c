/*
 * exchange.c — SASL exchanges for c2s: a SASL_START begins one, keyed by
 * (the c2s instance it came from, its session-id); SASL_STEP frames carry
 * the client's responses and our challenges; a SASL_RESULT ends it. One
 * auth process runs any number of exchanges at once; the router keeps
 * every frame of one session-id on the same auth process.
 *
 * Mechanisms run in common/sasl.c on libgsasl against the backend's SCRAM
 * secrets. A backend without secrets (pipe) allows only PLAIN, which this
 * file runs itself so that the password check can be asynchronous
 * (plain_*): the backend may take its time and the loop goes on. So does
 * a backend that prefetches (sql): PLAIN goes to its check_password, and
 * before a SCRAM client-first message reaches libgsasl, the user it names
 * is prefetched (scram_first), so that the secrets libgsasl then asks for
 * synchronously come from the backend's cache.
 *
 * Failures: the right condition, one log line with the client's address
 * and the username tried, and a delay (delay.h) that holds the SASL_RESULT
 * of repeated failures from one address. An exchange whose c2s went away
 * (PEER_DOWN) is dropped, and so is one that stalls (auth.sasl_timeout).
 *
 * Must not: log a password or a proof, or answer an exchange twice.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsasl.h>

#include "auth.h"
#include "jid.h"
#include "tls.h"
#include "log.h"
#include "register.h"

#define MAX_BINDINGS 8

struct exchange {
	struct auth *a;
	char *key;                      /* from "\0" session-id */
	size_t klen;
	char *from;                     /* the c2s instance */
	char *sid;
	char host[JID_PART_BUFSIZE];    /* prepared */
	char *client_addr;              /* "" if c2s did not say */
	char mech[24];
	struct sasl_session *session;   /* NULL for PLAIN run here */
	struct timer *timer;            /* stall timeout, or a held failure */
	/* PLAIN against a backend without secrets. */
	bool plain;
	struct authreg_request *req;
	bool in_call;
	bool answered_in_call;
	enum authreg_result call_result;
	char user[JID_PART_BUFSIZE];
	/* SCRAM with a prefetching backend: the client-first message waits in
	 * `pending` while the backend loads `user`; `prefetched` once it
	 * holds an entry we must release. */
	bool scram_first_seen;
	bool prefetched;
	uint8_t *pending;
	size_t pending_len;
	/* A failure held back by the delay. */
	bool held;
	uint32_t held_status;
};

/* --- helpers ------------------------------------------------------------------- */

static const char *addr_of(const struct exchange *ex)
{
	return ex->client_addr[0] != '\0' ? ex->client_addr : "an unknown address";
}

static void send_frame_end(struct auth *a, size_t start, const char *what)
{
	char err[ERRLEN];
	if (router_link_end(a->link, start, NULL, err, sizeof(err)) < 0)
		log_warn("cannot send %s: %s", what, err);
}

static void send_step(struct auth *a, const char *to, const char *sid, const void *data,
    size_t len)
{
	size_t start;
	struct buf *b = router_link_begin(a->link, FRAME_SASL_STEP, 0, &start);

	frame_put_str(b, FRAME_TAG_FROM, AUTH_NAME);
	frame_put_str(b, FRAME_TAG_TO, to);
	frame_put_str(b, FRAME_TAG_SESSION_ID, sid);
	frame_put(b, FRAME_TAG_SASL_DATA, data, len);
	send_frame_end(a, start, "a SASL challenge");
}

static void send_result(struct auth *a, const char *to, const char *sid, uint32_t status,
    const void *data, size_t len, const char *jid)
{
	size_t start;
	struct buf *b = router_link_begin(a->link, FRAME_SASL_RESULT, 0, &start);

	frame_put_str(b, FRAME_TAG_FROM, AUTH_NAME);
	frame_put_str(b, FRAME_TAG_TO, to);
	frame_put_str(b, FRAME_TAG_SESSION_ID, sid);
	frame_put_u32(b, FRAME_TAG_STATUS, status);
	if (data != NULL && len > 0)
		frame_put(b, FRAME_TAG_SASL_DATA, data, len);
	if (jid != NULL)
		frame_put_str(b, FRAME_TAG_JID, jid);
	send_frame_end(a, start, "a SASL result");
}

static void exchange_free(struct exchange *ex)
{
	struct auth *a = ex->a;

	if (hash_get(a->exchanges, ex->key, ex->klen) == ex)
		hash_del(a->exchanges, ex->key, ex->klen);
	loop_timer_cancel(a->loop, &ex->timer);
	authreg_cancel(a->authreg, &ex->req);
	if (ex->prefetched)
		authreg_prefetch_forget(a->authreg, ex->user, ex->host);
	if (ex->pending != NULL) {
		explicit_bzero(ex->pending, ex->pending_len);
		free(ex->pending);
	}
	sasl_session_free(&ex->session);
	free(ex->key);
	free(ex->from);
	free(ex->sid);
	free(ex->client_addr);
	explicit_bzero(ex, sizeof(*ex));
	free(ex);
}

static void stalled(struct loop *loop, void *arg)
{
	struct exchange *ex = arg;

	(void)loop;
	ex->timer = NULL;
	log_info("SASL exchange %s of %s (%s) stalled for %llu ms: dropped", ex->sid, ex->from,
	    addr_of(ex), (unsigned long long)ex->a->set.sasl_timeout_ms);
	exchange_free(ex);
}

static void arm_stall_timer(struct exchange *ex)
{
	loop_timer_cancel(ex->a->loop, &ex->timer);
	ex->timer = loop_timer_add(ex->a->loop, ex->a->set.sasl_timeout_ms, stalled, ex);
}

static void release_held(struct loop *loop, void *arg)
{
	struct exchange *ex = arg;

	(void)loop;
	ex->timer = NULL;
	send_result(ex->a, ex->from, ex->sid, ex->held_status, NULL, 0, NULL);
	exchange_free(ex);
}

/* Failures that cost the address a delay: the ones a guesser makes. */
static bool counts_as_guess(enum sasl_condition cond)
{
	return cond == SASL_COND_NOT_AUTHORIZED || cond == SASL_COND_INVALID_AUTHZID ||
	    cond == SASL_COND_ACCOUNT_DISABLED || cond == SASL_COND_CREDENTIALS_EXPIRED;
}

static void fail(struct exchange *ex, enum sasl_condition cond, const char *username,
    const char *reason)
{
	struct auth *a = ex->a;
	uint64_t delay = 0;

	if (counts_as_guess(cond))
		delay = delay_record_failure(a->delays, ex->client_addr, loop_now_ms(a->loop));
	log_warn("authentication failed: %s from %s for %.64s@%s (%s): %s%s%s", ex->mech,
	    addr_of(ex), username != NULL ? username : "(no name)", ex->host,
	    sasl_condition_name(cond), reason != NULL ? reason : "", delay > 0 ? ", answer held "
	    "back" : "", delay > 0 ? " by the failure delay" : "");
	if (delay == 0) {
		send_result(a, ex->from, ex->sid, (uint32_t)cond, NULL, 0, NULL);
		exchange_free(ex);
		return;
	}
	log_info("holding the failure for %s for %llu ms (%u failures)", addr_of(ex),
	    (unsigned long long)delay, delay_failures(a->delays, ex->client_addr,
	    loop_now_ms(a->loop)));
	loop_timer_cancel(a->loop, &ex->timer);
	sasl_session_free(&ex->session);
	ex->held = true;
	ex->held_status = (uint32_t)cond;
	ex->timer = loop_timer_add(a->loop, delay, release_held, ex);
}

static void succeed(struct exchange *ex, const char *username, const void *data, size_t len)
{
	char jid[JID_STRING_MAX + 1];

	snprintf(jid, sizeof(jid), "%s@%s", username, ex->host);
	log_info("authenticated %s from %s with %s", jid, addr_of(ex), ex->mech);
	send_result(ex->a, ex->from, ex->sid, FRAME_SASL_SUCCESS, data, len, jid);
	exchange_free(ex);
}

static void handle_reply(struct exchange *ex, const struct sasl_reply *r)
{
	switch (r->status) {
	case SASL_CONTINUE:
		send_step(ex->a, ex->from, ex->sid, r->data, r->len);
		arm_stall_timer(ex);
		return;
	case SASL_SUCCESS:
		succeed(ex, r->username, r->data, r->len);
		return;
	case SASL_FAILURE:
		fail(ex, r->condition, r->username, r->reason);
		return;
	}
}

/* --- the user database, for sasl.c ------------------------------------------------ */

static enum sasl_lookup_result lookup(void *arg, const char *username, const char *domain,
    enum scram_hash hash, struct sasl_credentials *out)
{
	struct auth *a = arg;
	char local[JID_PART_BUFSIZE], err[ERRLEN];

	if (jid_prep_localpart(username, strlen(username), local, err, sizeof(err)) < 0)
		return SASL_LOOKUP_NO_USER;
	switch (authreg_get_secrets(a->authreg, local, domain, hash, &out->secrets)) {
	case AUTHREG_OK:
		if (strcmp(local, username) != 0)
			snprintf(out->username, sizeof(out->username), "%s", local);
		return SASL_LOOKUP_FOUND;
	case AUTHREG_NO:
		return SASL_LOOKUP_NO_USER;
	case AUTHREG_UNSUPPORTED:
		/* The user's stored password is not a SCRAM secret (sql): the
		 * exchange goes on with made-up secrets and ends not-authorized,
		 * exactly as for a user who does not exist (doc/auth.md). */
		log_info("%s@%s: the stored password is not a SCRAM secret: only PLAIN can check it",
		    local, domain);
		return SASL_LOOKUP_NO_USER;
	default:
		return SASL_LOOKUP_TEMPFAIL;
	}
}

/* The mechanisms auth serves are the ones c2s offers (c2s.sasl_mechanisms,
 * one file for the suite), as far as the backend can: this is also what
 * tells the SCRAM code whether -PLUS was offered, so that a client's "y"
 * flag is taken for a downgrade only when it really is one. */
static unsigned offered_mechanisms(const struct auth *a)
{
	unsigned mask = 0;
	const char *path = "c2s.sasl_mechanisms";

	if (!conf_is_set(a->conf, path)) {
		mask = SASL_MECHS_DEFAULT;
	} else {
		for (size_t i = 0; i < conf_strlist_count(a->conf, path); i++) {
			int m = sasl_mechanism_from_name(conf_strlist_get(a->conf, path, i));
			if (m >= 0 && m != SASL_MECH_EXTERNAL)
				mask |= SASL_MECH_BIT(m);
		}
	}
	if (!authreg_has_secrets(a->authreg))
		mask &= SASL_MECH_BIT(SASL_MECH_PLAIN);
	else if (conf_bool(a->conf, "c2s.sasl_external"))
		mask |= SASL_MECH_BIT(SASL_MECH_EXTERNAL);
	return mask;
}

/* SASL EXTERNAL (RFC 6120 §6.3.8, §13.7.1.4): c2s offers it only for a
 * client certificate that chains to the configured CAs; whose it is comes
 * from its xmppAddr names in this domain. With an authzid, the certificate
 * must name that bare JID; without, it must name exactly one account. The
 * session manager refuses a session for an account that does not exist. */
static enum sasl_condition external(void *arg, const char *domain,
    const char *const *identities, size_t n, const char *authzid, char *username,
    size_t usernamelen)
{
	struct jid *want = NULL, *id = NULL;
	char found[JID_PART_BUFSIZE] = "";
	size_t matches = 0;
	char err[ERRLEN];

	(void)arg;
	if (authzid != NULL && jid_parse(&want, authzid, strlen(authzid), err, sizeof(err)) < 0)
		return SASL_COND_INVALID_AUTHZID;
	for (size_t i = 0; i < n; i++) {
		if (jid_parse(&id, identities[i], strlen(identities[i]), err, sizeof(err)) < 0)
			continue;
		if (jid_localpart(id) != NULL && jid_is_bare(id) &&
		    strcmp(jid_domainpart(id), domain) == 0 &&
		    (want == NULL || jid_equal_full(id, want))) {
			snprintf(found, sizeof(found), "%s", jid_localpart(id));
			matches++;
		}
		jid_free(&id);
	}
	jid_free(&want);
	if (matches == 0)
		return authzid != NULL ? SASL_COND_INVALID_AUTHZID : SASL_COND_NOT_AUTHORIZED;
	if (matches > 1)
		return SASL_COND_INVALID_AUTHZID; /* several accounts: the client must choose */
	snprintf(username, usernamelen, "%s", found);
	return SASL_COND_NONE;
}

int auth_sasl_init(struct auth *a, char *err, size_t errlen)
{
	unsigned mechanisms = offered_mechanisms(a);
	if (mechanisms == 0)
		return errf(err, errlen, "%s: none of c2s.sasl_mechanisms can be served by the %s "
		    "backend", conf_where(a->conf, "c2s.sasl_mechanisms"),
		    authreg_has_secrets(a->authreg) ? "configured" : "pipe (PLAIN only)");
	struct sasl_server_config cfg = {
		.mechanisms = mechanisms,
		.iterations = a->set.iterations,
		.secret = a->salt_secret,
		.secret_len = sizeof(a->salt_secret),
		.lookup = lookup,
		.external = external,
		.arg = a,
	};

	a->sasl = sasl_server_new(&cfg, err, errlen);
	if (a->sasl == NULL)
		return -1;
	a->exchanges = hash_new(64);
	a->delays = delay_table_new(&a->set.delay);
	return 0;
}

/* --- PLAIN run here, against a backend without secrets ------------------------------ */

static void plain_answer(struct exchange *ex, enum authreg_result r)
{
	switch (r) {
	case AUTHREG_OK:
		succeed(ex, ex->user, NULL, 0);
		return;
	case AUTHREG_NO:
		fail(ex, SASL_COND_NOT_AUTHORIZED, ex->user, "the backend said no");
		return;
	default:
		log_warn("authentication of %s@%s from %s: the %s backend: %s", ex->user, ex->host,
		    addr_of(ex), ex->a->authreg->backend->name, authreg_result_name(r));
		send_result(ex->a, ex->from, ex->sid, FRAME_SASL_TEMPORARY_AUTH_FAILURE, NULL, 0,
		    NULL);
		exchange_free(ex);
		return;
	}
}

static void plain_checked(void *arg, enum authreg_result r)
{
	struct exchange *ex = arg;

	ex->req = NULL;
	if (ex->in_call) {
		ex->answered_in_call = true;
		ex->call_result = r;
		return;
	}
	plain_answer(ex, r);
}

/* SASLprep (RFC 4013, as a query) into a fresh string; NULL if it fails. */
static char *saslprep(const char *in)
{
	char *out = NULL;
	int rc;

	if (gsasl_saslprep(in, 0, &out, &rc) != GSASL_OK)
		return NULL;
	return out;
}

/* authzid NUL authcid NUL passwd (RFC 4616). */
static void plain_message(struct exchange *ex, const uint8_t *data, size_t len)
{
	char msg[1024];
	char err[ERRLEN];

	if (len >= sizeof(msg) || len == 0) {
		fail(ex, SASL_COND_MALFORMED_REQUEST, NULL, "PLAIN message too long or empty");
		return;
	}
	memcpy(msg, data, len);
	msg[len] = '\0';
	const char *authzid = msg;
	const char *nul1 = memchr(msg, '\0', len);
	const char *authcid = nul1 != NULL ? nul1 + 1 : NULL;
	const char *nul2 = authcid != NULL ? memchr(authcid, '\0', len - (size_t)(authcid - msg)) :
	    NULL;
	const char *passwd = nul2 != NULL && nul2 < msg + len ? nul2 + 1 : NULL;
	if (passwd == NULL || memchr(passwd, '\0', len - (size_t)(passwd - msg)) != NULL ||
	    *authcid == '\0' || *passwd == '\0') {
		explicit_bzero(msg, sizeof(msg));
		fail(ex, SASL_COND_MALFORMED_REQUEST, NULL, "not a PLAIN message");
		return;
	}
	char *pcid = saslprep(authcid), *ppw = saslprep(passwd);
	if (pcid == NULL || ppw == NULL) {
		free(pcid);
		if (ppw != NULL)
			explicit_bzero(ppw, strlen(ppw));
		free(ppw);
		explicit_bzero(msg, sizeof(msg));
		fail(ex, SASL_COND_MALFORMED_REQUEST, NULL, "SASLprep failed");
		return;
	}
	explicit_bzero(msg + (passwd - msg), strlen(passwd));
	if (jid_prep_localpart(pcid, strlen(pcid), ex->user, err, sizeof(err)) < 0) {
		explicit_bzero(ppw, strlen(ppw));
		free(ppw);
		fail(ex, SASL_COND_NOT_AUTHORIZED, pcid, "not a valid username");
		free(pcid);
		return;
	}
	free(pcid);
	if (*authzid != '\0') {
		char own[JID_STRING_MAX + 1];
		struct jid *j = NULL;
		snprintf(own, sizeof(own), "%s@%s", ex->user, ex->host);
		bool same = jid_parse(&j, authzid, strlen(authzid), err, sizeof(err)) == 0 &&
		    strcmp(jid_full_str(j), own) == 0;
		jid_free(&j);
		if (!same) {
			explicit_bzero(ppw, strlen(ppw));
			free(ppw);
			fail(ex, SASL_COND_INVALID_AUTHZID, ex->user, "may only act as itself");
			return;
		}
	}
	loop_timer_cancel(ex->a->loop, &ex->timer);
	ex->in_call = true;
	struct authreg_request *req = authreg_check_password(ex->a->authreg, ex->user, ex->host,
	    ppw, plain_checked, ex);
	ex->in_call = false;
	explicit_bzero(ppw, strlen(ppw));
	free(ppw);
	if (ex->answered_in_call) {
		plain_answer(ex, ex->call_result);
		return;
	}
	ex->req = req;
}

/* Whether PLAIN is offered on this connection (c2s.sasl_mechanisms, TLS). */
static bool plain_offered(struct auth *a, const struct sasl_connection *conn)
{
	const char *names[SASL_MECH_COUNT];
	size_t n = sasl_server_mechanisms(a->sasl, conn, names);

	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], "PLAIN") == 0)
			return true;
	return false;
}

/* --- SCRAM with a prefetching backend ------------------------------------------------ */

/* The username of a SCRAM client-first message (RFC 5802 §7: gs2-header,
 * then "n=" saslname ","), with =2C and =3D decoded as libgsasl does. */
static bool scram_username(const uint8_t *data, size_t len, char *out, size_t outlen)
{
	const char *p = (const char *)data, *end = p + len;
	const char *c1 = memchr(p, ',', len);
	const char *c2 = c1 != NULL ? memchr(c1 + 1, ',', (size_t)(end - c1 - 1)) : NULL;
	size_t n = 0;

	if (c2 == NULL)
		return false;
	p = c2 + 1;
	if (end - p < 2 || p[0] != 'n' || p[1] != '=')
		return false;
	for (p += 2; p < end && *p != ','; ) {
		char ch = *p++;
		if (ch == '\0')
			return false;
		if (ch == '=') {
			if (end - p < 2)
				return false;
			if (p[0] == '2' && p[1] == 'C')
				ch = ',';
			else if (p[0] == '3' && p[1] == 'D')
				ch = '=';
			else
				return false;
			p += 2;
		}
		if (n + 1 >= outlen)
			return false;
		out[n++] = ch;
	}
	out[n] = '\0';
	return p < end && n > 0;
}

static void scram_step(struct exchange *ex, const void *data, size_t len)
{
	struct sasl_reply reply;

	sasl_session_step(ex->session, data, len, &reply);
	handle_reply(ex, &reply);
}

static void prefetch_answer(struct exchange *ex, enum authreg_result r)
{
	uint8_t *data = ex->pending;
	size_t len = ex->pending_len;

	ex->pending = NULL;
	ex->pending_len = 0;
	if (r == AUTHREG_OK || r == AUTHREG_NO) {
		ex->prefetched = true;
		scram_step(ex, data, len);   /* may free ex */
	} else {
		log_warn("authentication of %s@%s from %s: the %s backend: %s", ex->user, ex->host,
		    addr_of(ex), ex->a->authreg->backend->name, authreg_result_name(r));
		send_result(ex->a, ex->from, ex->sid, FRAME_SASL_TEMPORARY_AUTH_FAILURE, NULL, 0,
		    NULL);
		exchange_free(ex);
	}
	explicit_bzero(data, len);
	free(data);
}

static void prefetched(void *arg, enum authreg_result r)
{
	struct exchange *ex = arg;

	ex->req = NULL;
	if (ex->in_call) {
		ex->answered_in_call = true;
		ex->call_result = r;
		return;
	}
	prefetch_answer(ex, r);
}

/* The client-first message: have the backend load the user it names, then
 * hand the message to libgsasl. A name that cannot be found or prepared
 * goes straight on: the lookup answers "no such user" for it without the
 * backend. */
static void scram_first(struct exchange *ex, const void *data, size_t len)
{
	char typed[JID_PART_BUFSIZE], err[ERRLEN];

	if (!scram_username(data, len, typed, sizeof(typed)) ||
	    jid_prep_localpart(typed, strlen(typed), ex->user, err, sizeof(err)) < 0) {
		ex->user[0] = '\0';
		scram_step(ex, data, len);
		return;
	}
	ex->pending = xmalloc(len > 0 ? len : 1);
	memcpy(ex->pending, data, len);
	ex->pending_len = len;
	loop_timer_cancel(ex->a->loop, &ex->timer);
	ex->in_call = true;
	struct authreg_request *req = authreg_prefetch(ex->a->authreg, ex->user, ex->host,
	    prefetched, ex);
	ex->in_call = false;
	if (ex->answered_in_call) {
		ex->answered_in_call = false;
		prefetch_answer(ex, ex->call_result);
		return;
	}
	ex->req = req;
}

/* --- frames --------------------------------------------------------------------------- */

static char *make_key(const char *from, const char *sid, size_t *klen)
{
	size_t fl = strlen(from), sl = strlen(sid);
	char *k = xmalloc(fl + 1 + sl);
	memcpy(k, from, fl);
	k[fl] = '\0';
	memcpy(k + fl + 1, sid, sl);
	*klen = fl + 1 + sl;
	return k;
}

void auth_sasl_start(struct auth *a, const struct frame *f)
{
	const char *from = frame_get_str(f, FRAME_TAG_FROM, NULL);
	const char *sid = frame_get_str(f, FRAME_TAG_SESSION_ID, NULL);
	const char *host = frame_get_str(f, FRAME_TAG_HOST, NULL);
	const char *mech = frame_get_str(f, FRAME_TAG_MECHANISM, NULL);
	const char *addr = frame_get_str(f, FRAME_TAG_CLIENT_ADDR, NULL);
	struct sasl_channel_binding bindings[MAX_BINDINGS];
	size_t nbindings = 0;

	if (a->stopping) {
		send_result(a, from, sid, FRAME_SASL_TEMPORARY_AUTH_FAILURE, NULL, 0, NULL);
		return;
	}
	struct exchange *ex = xcalloc(1, sizeof(*ex));
	ex->a = a;
	ex->from = xstrdup(from);
	ex->sid = xstrdup(sid);
	ex->client_addr = xstrdup(addr != NULL ? addr : "");
	snprintf(ex->mech, sizeof(ex->mech), "%s", mech);
	ex->key = make_key(from, sid, &ex->klen);
	struct exchange *old = hash_put(a->exchanges, ex->key, ex->klen, ex);
	if (old != NULL) {
		log_info("SASL exchange %s of %s started again: the old one is dropped", sid, from);
		exchange_free(old);
	}

	if (!conf_hosted_domain(a->conf, host, ex->host)) {
		snprintf(ex->host, sizeof(ex->host), "%.200s", host);
		fail(ex, SASL_COND_NOT_AUTHORIZED, NULL, "not a domain this server hosts");
		return;
	}
	if (frame_count(f, FRAME_TAG_CB_TYPE) != frame_count(f, FRAME_TAG_CB_DATA)) {
		fail(ex, SASL_COND_MALFORMED_REQUEST, NULL,
		    "c2s sent unpaired channel-binding types and data");
		return;
	}
	size_t ct = 0, cd = 0;
	struct frame_attr ta, da;
	while (nbindings < MAX_BINDINGS && frame_next_tag(f, FRAME_TAG_CB_TYPE, &ct, &ta) &&
	    frame_next_tag(f, FRAME_TAG_CB_DATA, &cd, &da)) {
		bindings[nbindings].type = ta.data;
		bindings[nbindings].data = da.data;
		bindings[nbindings].len = da.len;
		nbindings++;
	}
	/* c2s sends every channel binding its TLS connection offers, and has
	 * some on every TLS connection: none means the stream is not
	 * encrypted (PLAIN is then refused). */
	struct sasl_connection conn = {
		.domain = ex->host, .tls = nbindings > 0,
		.bindings = bindings, .nbindings = nbindings,
	};
	const void *data = NULL;
	size_t len = 0;
	bool has_data = frame_get(f, FRAME_TAG_SASL_DATA, &data, &len);

	if (!authreg_has_secrets(a->authreg) ||
	    (authreg_has_prefetch(a->authreg) && strcmp(mech, "PLAIN") == 0)) {
		if (strcmp(mech, "PLAIN") != 0) {
			fail(ex, SASL_COND_INVALID_MECHANISM, NULL,
			    "the pipe backend allows only PLAIN (it keeps no SCRAM secrets)");
			return;
		}
		if (!conn.tls) {
			fail(ex, SASL_COND_ENCRYPTION_REQUIRED, NULL, "PLAIN without TLS");
			return;
		}
		if (!plain_offered(a, &conn)) {
			fail(ex, SASL_COND_INVALID_MECHANISM, NULL, "PLAIN is not offered");
			return;
		}
		ex->plain = true;
		if (!has_data) {
			send_step(a, ex->from, ex->sid, "", 0);
			arm_stall_timer(ex);
			return;
		}
		plain_message(ex, data, len);
		return;
	}

	/* The client certificate c2s verified, for EXTERNAL: its xmppAddrs. */
	struct tls_identities ids = { NULL, 0 };
	const char *xmpp_addrs[16];
	size_t naddrs = 0;
	const void *der;
	size_t derlen;
	if (frame_get(f, FRAME_TAG_PEER_CERT, &der, &derlen) &&
	    tls_der_identities(der, derlen, &ids) == 0) {
		for (size_t i = 0; i < ids.count && naddrs < ARRAY_LEN(xmpp_addrs); i++)
			if (ids.ids[i].type == TLS_ID_XMPP_ADDR)
				xmpp_addrs[naddrs++] = ids.ids[i].value;
		conn.client_certificate = true;
		conn.cert_identities = xmpp_addrs;
		conn.ncert_identities = naddrs;
	}
	enum sasl_condition refused = SASL_COND_NONE;
	ex->session = sasl_session_start(a->sasl, mech, &conn, &refused);
	tls_identities_free(&ids); /* the session keeps its own copies */
	if (ex->session == NULL) {
		fail(ex, refused, NULL, "this mechanism cannot be used here");
		return;
	}
	if (has_data && authreg_has_prefetch(a->authreg) && strncmp(mech, "SCRAM-", 6) == 0) {
		ex->scram_first_seen = true;
		scram_first(ex, data, len);
		return;
	}
	struct sasl_reply reply;
	sasl_session_step(ex->session, has_data ? data : NULL, len, &reply);
	handle_reply(ex, &reply);
}

void auth_sasl_step(struct auth *a, const struct frame *f)
{
	const char *from = frame_get_str(f, FRAME_TAG_FROM, NULL);
	const char *sid = frame_get_str(f, FRAME_TAG_SESSION_ID, NULL);
	size_t klen;
	char *key = make_key(from, sid, &klen);
	struct exchange *ex = hash_get(a->exchanges, key, klen);

	free(key);
	if (ex == NULL) {
		/* Dropped (stalled), or an auth process that restarted: the
		 * client may try again. */
		log_info("SASL_STEP from %s for an exchange we do not have (%s)", from, sid);
		send_result(a, from, sid, FRAME_SASL_TEMPORARY_AUTH_FAILURE, NULL, 0, NULL);
		return;
	}
	if (f->flags & FRAME_F_ABORT) {
		log_info("SASL exchange %s of %s (%s): the client aborted", sid, from, addr_of(ex));
		if (ex->held)
			return; /* the held failure answers it */
		send_result(a, from, sid, FRAME_SASL_ABORTED, NULL, 0, NULL);
		exchange_free(ex);
		return;
	}
	if (ex->held || ex->req != NULL) {
		/* A response while we have not asked for one. */
		if (ex->held)
			return;
		fail(ex, SASL_COND_MALFORMED_REQUEST, NULL, "a response nobody asked for");
		return;
	}
	const void *data = NULL;
	size_t len = 0;
	(void)frame_get(f, FRAME_TAG_SASL_DATA, &data, &len);
	if (ex->plain) {
		plain_message(ex, data, len);
		return;
	}
	if (!ex->scram_first_seen && authreg_has_prefetch(a->authreg) &&
	    strncmp(ex->mech, "SCRAM-", 6) == 0) {
		ex->scram_first_seen = true;
		scram_first(ex, data != NULL ? data : "", len);
		return;
	}
	struct sasl_reply reply;
	sasl_session_step(ex->session, data != NULL ? data : "", len, &reply);
	handle_reply(ex, &reply);
}

static void collect(struct auth *a, const char *only_from, struct exchange ***out, size_t *n)
{
	struct hash_iter it;
	const char *key;
	size_t klen;
	void *value;

	*n = 0;
	*out = xcalloc(hash_count(a->exchanges) + 1, sizeof(**out));
	hash_iter_init(a->exchanges, &it);
	while (hash_iter_next(&it, &key, &klen, &value)) {
		struct exchange *ex = value;
		if (only_from == NULL || strcmp(ex->from, only_from) == 0)
			(*out)[(*n)++] = ex;
	}
}

void auth_sasl_peer_down(struct auth *a, const char *name)
{
	struct exchange **list;
	size_t n;

	if (a->exchanges == NULL)
		return;
	collect(a, name, &list, &n);
	if (n > 0)
		log_info("%s went away: dropping its %zu SASL exchange%s", name, n, n == 1 ? "" : "s");
	for (size_t i = 0; i < n; i++)
		exchange_free(list[i]);
	free(list);
}

void auth_sasl_fail_all(struct auth *a)
{
	struct exchange **list;
	size_t n;

	if (a->exchanges == NULL)
		return;
	collect(a, NULL, &list, &n);
	for (size_t i = 0; i < n; i++) {
		send_result(a, list[i]->from, list[i]->sid, list[i]->held ? list[i]->held_status :
		    FRAME_SASL_TEMPORARY_AUTH_FAILURE, NULL, 0, NULL);
		exchange_free(list[i]);
	}
	free(list);
}

void auth_sasl_fini(struct auth *a)
{
	struct exchange **list;
	size_t n;

	if (a->exchanges != NULL) {
		collect(a, NULL, &list, &n);
		for (size_t i = 0; i < n; i++)
			exchange_free(list[i]);
		free(list);
		hash_free(&a->exchanges, NULL);
	}
	delay_table_free(&a->delays);
	sasl_server_free(&a->sasl);
}
