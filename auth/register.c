/*
 * register.c — XEP-0077 in-band registration and account management, for
 * the iqs in jabber:iq:register that c2s relays to "auth" as ROUTE frames:
 *
 *   before login (no `from`; `to` is the stream's host — c2s puts it there
 *   if the client did not):
 *     get → the form; set username+password → create the account, when
 *     auth.registration is on (not-allowed otherwise);
 *   after login (`from` is the user's full JID, stamped by c2s):
 *     get → <registered/> and the username; set username+password →
 *     change the password (the username must be the user's own);
 *     set <remove/> → delete the account.
 *
 * The answer goes back as a ROUTE to the frame's `from` (the c2s instance)
 * with the same session-id, and every ROUTE is acknowledged (ACK) once
 * handled. Errors are XEP-0077's: conflict (the user exists),
 * not-acceptable (a username that is not a valid localpart, an empty
 * password), bad-request (a field missing), not-allowed (registration
 * off), not-authorized (someone else's account, removal before login),
 * internal-server-error (the backend cannot answer now).
 *
 * Must not: log a password, or echo one back in an error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "jid.h"
#include "log.h"
#include "register.h"
#include "stanza.h"
#include "xml_stream.h"

#define NS_REGISTER "jabber:iq:register"

struct reg {
	struct auth *a;
	char *c2s;                   /* the frame's from */
	char *sid;
	struct stanza *iq;           /* the request, password removed */
	char user[JID_PART_BUFSIZE];
	char host[JID_PART_BUFSIZE];
	char *password;
	enum register_action action;
};

static void reg_free(struct reg *r)
{
	free(r->c2s);
	free(r->sid);
	stanza_free(&r->iq);
	if (r->password != NULL) {
		explicit_bzero(r->password, strlen(r->password));
		free(r->password);
	}
	free(r);
}

static void send_stanza(struct auth *a, const char *c2s, const char *sid, const struct stanza *st)
{
	struct buf b = BUF_INIT;
	char err[ERRLEN];

	stanza_write(st, &b, NULL);
	if (router_link_route(a->link, AUTH_NAME, c2s, NULL, sid, buf_head(&b), buf_used(&b),
	    NULL, err, sizeof(err)) < 0)
		log_warn("cannot answer a registration iq of %s: %s", c2s, err);
	buf_free(&b);
}

static void send_error(struct reg *r, const char *type, const char *condition, const char *text)
{
	if (stanza_make_error(r->iq, type, condition, text) == 0)
		send_stanza(r->a, r->c2s, r->sid, r->iq);
}

static void send_result(struct reg *r, struct stanza *reply)
{
	send_stanza(r->a, r->c2s, r->sid, reply);
}

/* An empty result iq for the request. */
static struct stanza *result_for(const struct stanza *iq, const char *host)
{
	struct stanza *st = stanza_new(NS_CLIENT, "iq");
	stanza_set_type(st, "result");
	if (stanza_id(iq) != NULL)
		stanza_set_id(st, stanza_id(iq));
	if (stanza_from(iq) != NULL)
		stanza_set_to(st, stanza_from(iq));
	stanza_set_from(st, host);
	return st;
}

static void answer(struct reg *r, enum register_outcome o)
{
	const struct register_error *e = register_outcome_error(o);

	if (e == NULL) {
		struct stanza *st = result_for(r->iq, r->host);
		send_result(r, st);
		stanza_free(&st);
	} else {
		send_error(r, e->type, e->condition, e->text);
	}
}

static void done(void *arg, enum authreg_result result)
{
	struct reg *r = arg;
	enum register_outcome o = register_outcome_for(r->action, result);

	if (o == REGISTER_OK)
		log_info("registration: %s %s@%s", register_action_name(r->action), r->user, r->host);
	else
		log_info("registration: %s %s@%s refused: %s", register_action_name(r->action),
		    r->user, r->host, authreg_result_name(result));
	answer(r, o);
	reg_free(r);
}

/* extauth's tryregister says only yes or no: ask isuser first so that an
 * existing account is a conflict, not a vague refusal. */
static void checked_exists(void *arg, enum authreg_result result)
{
	struct reg *r = arg;

	if (result == AUTHREG_OK) {
		done(r, AUTHREG_EXISTS);
		return;
	}
	if (result != AUTHREG_NO && result != AUTHREG_UNSUPPORTED) {
		done(r, result);
		return;
	}
	(void)authreg_create(r->a->authreg, r->user, r->host, r->password, done, r);
}

static void send_form(struct reg *r, const char *registered_user)
{
	struct stanza *st = result_for(r->iq, r->host);
	int q = stanza_add_child(st, stanza_root(st), NS_REGISTER, "query");

	if (registered_user != NULL) {
		stanza_add_child_text(st, q, NULL, "instructions",
		    "You are registered: send a new password to change it, or <remove/> to "
		    "delete your account.");
		stanza_add_child(st, q, NULL, "registered");
		stanza_add_child_text(st, q, NULL, "username", registered_user);
	} else {
		stanza_add_child_text(st, q, NULL, "instructions",
		    "Choose a username and password to register with this server.");
		stanza_add_child(st, q, NULL, "username");
	}
	stanza_add_child(st, q, NULL, "password");
	send_result(r, st);
	stanza_free(&st);
}

static void ack(struct auth *a, const struct frame *f)
{
	char err[ERRLEN];
	const char *from = frame_get_str(f, FRAME_TAG_FROM, NULL);

	if (router_link_ack(a->link, AUTH_NAME, from, &f->seq, 1, err, sizeof(err)) < 0)
		log_warn("cannot acknowledge a frame of %s: %s", from, err);
}

void auth_register_route(struct auth *a, const struct frame *f)
{
	const char *from = frame_get_str(f, FRAME_TAG_FROM, NULL);
	const char *sid = frame_get_str(f, FRAME_TAG_SESSION_ID, NULL);
	const void *data;
	size_t len;
	char err[ERRLEN];

	ack(a, f);
	if (sid == NULL || !frame_get(f, FRAME_TAG_STANZA, &data, &len)) {
		log_warn("a ROUTE from %s without a session-id: ignored", from);
		return;
	}
	struct reg *r = xcalloc(1, sizeof(*r));
	r->a = a;
	r->c2s = xstrdup(from);
	r->sid = xstrdup(sid);
	r->iq = stanza_new_empty();
	if (xml_stream_parse_stanza(a->parser, data, len, r->iq, err, sizeof(err)) < 0) {
		log_warn("a ROUTE from %s carries a stanza we cannot read: %s", from, err);
		reg_free(r);
		return;
	}

	struct register_request req;
	enum register_outcome o = register_parse(r->iq, a->conf, a->set.registration, &req);
	snprintf(r->host, sizeof(r->host), "%s", req.host);
	snprintf(r->user, sizeof(r->user), "%s", req.user);
	if (req.password != NULL)
		r->password = xstrdup(req.password);
	register_strip_password(r->iq);
	register_request_wipe(&req);
	r->action = req.action;
	if (o != REGISTER_OK) {
		if (o != REGISTER_IGNORE)
			answer(r, o);
		reg_free(r);
		return;
	}
	switch (r->action) {
	case REGISTER_FORM:
		send_form(r, NULL);
		reg_free(r);
		return;
	case REGISTER_FORM_REGISTERED:
		send_form(r, r->user);
		reg_free(r);
		return;
	case REGISTER_CREATE:
		(void)authreg_exists(a->authreg, r->user, r->host, checked_exists, r);
		return;
	case REGISTER_PASSWORD:
		(void)authreg_set_password(a->authreg, r->user, r->host, r->password, done, r);
		return;
	case REGISTER_REMOVE:
		(void)authreg_remove(a->authreg, r->user, r->host, done, r);
		return;
	}
	reg_free(r);
}
