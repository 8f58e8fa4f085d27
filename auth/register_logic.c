/*
 * register_logic.c — what a jabber:iq:register iq asks and what each
 * answer is (register.h); no frames, no backend calls.
 */
#include <string.h>

#include "register.h"

#define NS_REGISTER "jabber:iq:register"

const char *register_action_name(enum register_action action)
{
	switch (action) {
	case REGISTER_FORM: return "form";
	case REGISTER_FORM_REGISTERED: return "form (registered)";
	case REGISTER_CREATE: return "create";
	case REGISTER_PASSWORD: return "password change of";
	case REGISTER_REMOVE: return "removal of";
	}
	return "?";
}

enum register_outcome register_parse(const struct stanza *iq, const struct conf *c,
    bool registration_on, struct register_request *req)
{
	int root = stanza_root(iq);
	const char *type = stanza_type(iq);
	char err[ERRLEN];

	memset(req, 0, sizeof(*req));
	if (!stanza_is(iq, root, NS_CLIENT, "iq") || type == NULL)
		return REGISTER_IGNORE;
	bool get = strcmp(type, "get") == 0, set = strcmp(type, "set") == 0;
	if (!get && !set)
		return REGISTER_IGNORE;
	int q = stanza_find_child(iq, root, NS_REGISTER, "query");
	if (q == STANZA_NONE)
		return REGISTER_SERVICE_UNAVAILABLE;

	/* Who asks: a logged-in user (c2s stamped `from`), or a stream not
	 * yet authenticated (then `to` is its host). */
	const char *from = stanza_from(iq);
	bool logged_in = from != NULL;
	if (logged_in) {
		struct jid *j = NULL;
		if (jid_parse(&j, from, strlen(from), err, sizeof(err)) < 0)
			return REGISTER_JID_MALFORMED;
		bool ok = jid_localpart(j) != NULL &&
		    conf_hosted_domain(c, jid_domainpart(j), req->host);
		if (ok)
			strcpy(req->user, jid_localpart(j));
		jid_free(&j);
		if (!ok)
			return REGISTER_NOT_AUTHORIZED;
	} else {
		const char *to = stanza_to(iq);
		struct jid *j = NULL;
		if (to == NULL)
			return REGISTER_JID_MALFORMED;
		if (jid_parse(&j, to, strlen(to), err, sizeof(err)) < 0)
			return REGISTER_JID_MALFORMED;
		bool ok = jid_localpart(j) == NULL && jid_resourcepart(j) == NULL &&
		    conf_hosted_domain(c, jid_domainpart(j), req->host);
		jid_free(&j);
		if (!ok)
			return REGISTER_SERVICE_UNAVAILABLE;
	}

	if (get) {
		if (logged_in) {
			req->action = REGISTER_FORM_REGISTERED;
			return REGISTER_OK;
		}
		req->action = REGISTER_FORM;
		return registration_on ? REGISTER_OK : REGISTER_SERVICE_UNAVAILABLE;
	}

	int rm = stanza_find_child(iq, q, NS_REGISTER, "remove");
	if (rm != STANZA_NONE) {
		if (!logged_in)
			return REGISTER_NOT_AUTHORIZED;
		/* §3.2: alone, or the request is not understood — an account
		 * is not deleted on a request that says something else too. */
		if (stanza_first_element(iq, q) != rm || stanza_next_element(iq, rm) != STANZA_NONE)
			return REGISTER_BAD_REMOVE;
		req->action = REGISTER_REMOVE;
		return REGISTER_OK;
	}
	int u = stanza_find_child(iq, q, NS_REGISTER, "username");
	int p = stanza_find_child(iq, q, NS_REGISTER, "password");
	if (!logged_in && !registration_on)
		return REGISTER_NOT_ALLOWED;
	/* §3.1: registration without all the information asked for is
	 * not-acceptable; §3.3: a password change without it, bad-request. */
	if (u == STANZA_NONE || p == STANZA_NONE)
		return logged_in ? REGISTER_BAD_REQUEST : REGISTER_NOT_ACCEPTABLE;
	const char *username = stanza_text(iq, u);
	req->password = stanza_text(iq, p);
	if (req->password == NULL || req->password[0] == '\0')
		return REGISTER_NOT_ACCEPTABLE;
	char prepped[JID_PART_BUFSIZE];
	if (username == NULL || username[0] == '\0' ||
	    jid_prep_localpart(username, strlen(username), prepped, err, sizeof(err)) < 0)
		return REGISTER_NOT_ACCEPTABLE;
	if (logged_in) {
		if (strcmp(prepped, req->user) != 0)
			return REGISTER_NOT_AUTHORIZED;
		req->action = REGISTER_PASSWORD;
		return REGISTER_OK;
	}
	strcpy(req->user, prepped);
	req->action = REGISTER_CREATE;
	return REGISTER_OK;
}

enum register_outcome register_outcome_for(enum register_action action,
    enum authreg_result result)
{
	switch (result) {
	case AUTHREG_OK:
		return REGISTER_OK;
	case AUTHREG_EXISTS:
		return REGISTER_CONFLICT;
	case AUTHREG_NO:
		/* create: the backend refused (extauth's tryregister 0);
		 * password change or removal: the account is gone. */
		return action == REGISTER_CREATE ? REGISTER_NOT_ACCEPTABLE : REGISTER_ITEM_NOT_FOUND;
	case AUTHREG_UNSUPPORTED:
		return REGISTER_NOT_ALLOWED;
	case AUTHREG_TEMPFAIL:
		break;
	}
	return REGISTER_INTERNAL_ERROR;
}

const struct register_error *register_outcome_error(enum register_outcome o)
{
	static const struct register_error errors[] = {
		[REGISTER_BAD_REQUEST] = { "modify", "bad-request", "username and password are required" },
		[REGISTER_BAD_REMOVE] = { "modify", "bad-request",
		    "<remove/> must be the query's only child" },
		[REGISTER_NOT_ACCEPTABLE] = { "modify", "not-acceptable",
		    "a username and a non-empty password are required, the username a valid one" },
		[REGISTER_NOT_ALLOWED] = { "cancel", "not-allowed", NULL },
		[REGISTER_NOT_AUTHORIZED] = { "auth", "not-authorized", NULL },
		[REGISTER_CONFLICT] = { "cancel", "conflict", "the username is taken" },
		[REGISTER_ITEM_NOT_FOUND] = { "cancel", "item-not-found", NULL },
		[REGISTER_JID_MALFORMED] = { "modify", "jid-malformed", NULL },
		[REGISTER_SERVICE_UNAVAILABLE] = { "cancel", "service-unavailable", NULL },
		[REGISTER_INTERNAL_ERROR] = { "wait", "internal-server-error", NULL },
	};

	if (o == REGISTER_OK || o == REGISTER_IGNORE || (size_t)o >= ARRAY_LEN(errors))
		return NULL;
	return &errors[o];
}

void register_strip_password(struct stanza *iq)
{
	int q = stanza_find_child(iq, stanza_root(iq), NS_REGISTER, "query");
	int p;

	while ((p = stanza_find_child(iq, q, NS_REGISTER, "password")) != STANZA_NONE)
		stanza_remove(iq, p);
}

void register_request_wipe(struct register_request *req)
{
	req->password = NULL;
}
