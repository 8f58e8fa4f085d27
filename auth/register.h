/*
 * register.h — the decisions of XEP-0077 in-band registration, apart from
 * the frames and the backend calls (register.c), so tests can check them
 * one by one: what a jabber:iq:register iq asks for, whether it may, and
 * which result or error each outcome is.
 */
#ifndef PARLEY_AUTH_REGISTER_H
#define PARLEY_AUTH_REGISTER_H

#include <stdbool.h>

#include "authreg.h"
#include "conf.h"
#include "jid.h"
#include "stanza.h"

enum register_action {
	REGISTER_FORM,             /* get, before login */
	REGISTER_FORM_REGISTERED,  /* get, logged in */
	REGISTER_CREATE,           /* set username+password, before login */
	REGISTER_PASSWORD,         /* set username+password, logged in */
	REGISTER_REMOVE,           /* set <remove/>, logged in */
};

enum register_outcome {
	REGISTER_OK = 0,
	REGISTER_IGNORE,           /* not ours to answer (a result, an error) */
	REGISTER_BAD_REQUEST,      /* a password change without both fields */
	REGISTER_BAD_REMOVE,       /* <remove/> with other children (XEP-0077 §3.2) */
	REGISTER_NOT_ACCEPTABLE,   /* registration: a field missing, a bad username, an
	                            * empty password (XEP-0077 §3.1) */
	REGISTER_NOT_ALLOWED,      /* registration is off; the backend cannot */
	REGISTER_NOT_AUTHORIZED,   /* someone else's account; removal before login */
	REGISTER_CONFLICT,         /* the user exists */
	REGISTER_ITEM_NOT_FOUND,   /* the account is gone */
	REGISTER_JID_MALFORMED,    /* a `to` or `from` that is not a JID */
	REGISTER_SERVICE_UNAVAILABLE, /* a domain we do not host; the form with registration off */
	REGISTER_INTERNAL_ERROR,   /* the backend cannot answer now */
};

struct register_error {
	const char *type;          /* cancel, modify, auth, wait */
	const char *condition;
	const char *text;          /* may be NULL */
};

struct register_request {
	enum register_action action;
	char host[JID_PART_BUFSIZE];
	char user[JID_PART_BUFSIZE];   /* prepared; the logged-in user for REMOVE */
	const char *password;          /* points into the stanza */
};


/* Read the request from an iq; REGISTER_OK with *req filled, or the error
 * to answer (REGISTER_IGNORE: answer nothing). */
enum register_outcome register_parse(const struct stanza *iq, const struct conf *c,
    bool registration_on, struct register_request *req);
/* What the backend's answer means for the client. */
enum register_outcome register_outcome_for(enum register_action action,
    enum authreg_result result);
/* NULL for REGISTER_OK. */
const struct register_error *register_outcome_error(enum register_outcome o);
const char *register_action_name(enum register_action action);
/* Remove every <password/> from the query, so an error does not echo it. */
void register_strip_password(struct stanza *iq);
void register_request_wipe(struct register_request *req);

#endif
