/*
 * authreg_pam.c — the `pam` authreg backend, auth's side: it turns a
 * password check into one packet to the PAM helper (authreg_pam_helper.c,
 * forked here before the sandbox) and the helper's answer into the
 * callback, without ever blocking the loop. doc/auth.md ("pam") is the
 * operator's description; authreg_pam.h has the packets.
 *
 *   check_password  the service auth.pam.service, the user name
 *                   auth.pam.username (%u localpart, %d domain), then
 *                   pam_authenticate and pam_acct_mgmt in the helper.
 *   exists          PAM has no question for that (pam_acct_mgmt needs an
 *                   authenticated user and answers for a login, not an
 *                   account): AUTHREG_UNSUPPORTED.
 *   create, set_password, remove, list: AUTHREG_UNSUPPORTED (accounts are
 *                   the system's).
 * It keeps no SCRAM secrets, so with it auth offers only PLAIN.
 *
 * Each request has auth.pam.timeout from the moment it is asked: past it,
 * the login is answered AUTHREG_TEMPFAIL at once. The helper kills a
 * conversation that runs that long and answers for it; until that answer
 * the request keeps its place among the auth.threads conversations that
 * may run at once, so a stack that hangs cannot make the helper start more
 * and more of them. Requests beyond that wait here, in order.
 *
 * If the helper itself dies (it runs no PAM code; only a kill can do it),
 * auth cannot start another one from inside its sandbox: it logs why and
 * exits, and parleyd starts it again with a new helper.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "authreg_pam.h"
#include "buf.h"
#include "log.h"

struct authreg_request {
	struct authreg_request *next;  /* in `queue` or `asked` */
	struct authreg_pam *owner;
	uint32_t id;
	authreg_cb cb;                 /* NULL once answered or cancelled */
	void *arg;
	struct timer *timer;
	char *user;                    /* the PAM user name, for the log */
	unsigned char *pkt;            /* the request packet; wiped once sent */
	size_t len;
};

struct authreg_pam {
	struct authreg base;
	struct loop *loop;
	int fd;                        /* SOCK_SEQPACKET to the helper */
	pid_t helper;
	char *service;
	char *username;                /* the template */
	unsigned timeout_ms;
	unsigned max_asked;
	unsigned asked_count;
	uint32_t next_id;
	struct authreg_request *queue, **queue_tail;  /* not sent yet */
	struct authreg_request *asked;                /* sent, no answer yet */
};

static void kick(struct authreg_pam *p);

/* --- the user name ------------------------------------------------------------- */

static int username_template_check(const char *tmpl, char *err, size_t errlen)
{
	for (const char *s = tmpl; *s != '\0'; s++) {
		if (*s != '%')
			continue;
		if (s[1] != 'u' && s[1] != 'd' && s[1] != '%')
			return errf(err, errlen, "only %%u, %%d and %%%% may follow '%%'");
		s++;
	}
	return 0;
}

void authreg_pam_check(const struct conf *c, struct conf_errors *errs)
{
	char why[ERRLEN];

	if (username_template_check(conf_str(c, "auth.pam.username"), why, sizeof(why)) < 0)
		conf_error(errs, c, "auth.pam.username", "%s", why);
}

static char *username_for(const char *tmpl, const char *user, const char *domain)
{
	struct buf b = BUF_INIT;

	for (const char *s = tmpl; *s != '\0'; s++) {
		if (s[0] != '%' || (s[1] != 'u' && s[1] != 'd' && s[1] != '%')) {
			buf_append(&b, s, 1);
			continue;
		}
		s++;
		buf_append_str(&b, *s == 'u' ? user : *s == 'd' ? domain : "%");
	}
	buf_append(&b, "", 1);
	char *out = xstrdup(buf_head(&b));
	buf_free(&b);
	return out;
}

/* --- requests --------------------------------------------------------------------- */

static void request_free(struct authreg_request *req)
{
	loop_timer_cancel(req->owner->loop, &req->timer);
	if (req->pkt != NULL)
		explicit_bzero(req->pkt, req->len);
	free(req->pkt);
	free(req->user);
	free(req);
}

static bool unlink_from(struct authreg_request **head, struct authreg_request *req)
{
	for (struct authreg_request **pp = head; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == req) {
			*pp = req->next;
			req->next = NULL;
			return true;
		}
	}
	return false;
}

static void unqueue(struct authreg_pam *p, struct authreg_request *req)
{
	if (!unlink_from(&p->queue, req))
		return;
	p->queue_tail = &p->queue;
	while (*p->queue_tail != NULL)
		p->queue_tail = &(*p->queue_tail)->next;
}

/* Answer the caller (once); the request itself may live on, waiting for
 * the helper's answer. */
static void respond(struct authreg_request *req, enum authreg_result r)
{
	authreg_cb cb = req->cb;

	req->cb = NULL;
	loop_timer_cancel(req->owner->loop, &req->timer);
	if (cb != NULL)
		cb(req->arg, r);
}

static void request_timeout(struct loop *loop, void *arg)
{
	struct authreg_request *req = arg;
	struct authreg_pam *p = req->owner;

	(void)loop;
	req->timer = NULL;
	log_warn("pam: login of %s: no answer from the PAM stack \"%s\" within %u ms%s", req->user,
	    p->service, p->timeout_ms, req->pkt == NULL ? " (the helper kills it)" : "");
	if (req->pkt != NULL) {
		/* Never sent: forget it now. */
		unqueue(p, req);
		respond(req, AUTHREG_TEMPFAIL);
		request_free(req);
		return;
	}
	respond(req, AUTHREG_TEMPFAIL);
}

/* --- the helper's socket ------------------------------------------------------------ */

NORETURN static void helper_lost(struct authreg_pam *p, const char *why)
{
	log_error("pam: the PAM helper (pid %d) is gone (%s): exiting, to be started again "
	    "with a new one", (int)p->helper, why);
	exit(EXIT_FAILURE);
}

static void kick(struct authreg_pam *p)
{
	while (p->queue != NULL && p->asked_count < p->max_asked) {
		struct authreg_request *req = p->queue;
		ssize_t n = send(p->fd, req->pkt, req->len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR || errno == ENOBUFS))
			return; /* LOOP_WRITE brings us back */
		if (n < 0)
			helper_lost(p, strerror(errno));
		p->queue = req->next;
		if (p->queue == NULL)
			p->queue_tail = &p->queue;
		explicit_bzero(req->pkt, req->len);
		free(req->pkt);
		req->pkt = NULL;
		req->next = p->asked;
		p->asked = req;
		p->asked_count++;
	}
}

static void on_answer(struct authreg_pam *p, const unsigned char *pkt, size_t len)
{
	uint32_t id;
	uint16_t rlen;
	char reason[PAM_HELPER_MAX_REASON + 1];

	if (len < PAM_HELPER_ANS_HEADER)
		return;
	memcpy(&id, pkt, 4);
	memcpy(&rlen, pkt + 6, 2);
	if ((size_t)PAM_HELPER_ANS_HEADER + rlen != len || rlen > PAM_HELPER_MAX_REASON)
		return;
	memcpy(reason, pkt + PAM_HELPER_ANS_HEADER, rlen);
	reason[rlen] = '\0';

	struct authreg_request *req = p->asked;
	while (req != NULL && req->id != id)
		req = req->next;
	if (req == NULL) {
		log_debug("pam: an answer for request %u, which is answered already", id);
		return;
	}
	unlink_from(&p->asked, req);
	p->asked_count--;
	switch (pkt[4]) {
	case PAM_ANSWER_YES:
		log_debug("pam: login of %s: accepted by the stack \"%s\"", req->user, p->service);
		respond(req, AUTHREG_OK);
		break;
	case PAM_ANSWER_NO:
		log_debug("pam: login of %s: refused: %s", req->user, reason);
		respond(req, AUTHREG_NO);
		break;
	default:
		if (req->cb != NULL)
			log_warn("pam: login of %s: %s", req->user, reason);
		respond(req, AUTHREG_TEMPFAIL);
		break;
	}
	request_free(req);
}

static void on_helper(struct loop *loop, int fd, unsigned events, void *arg)
{
	struct authreg_pam *p = arg;
	unsigned char pkt[PAM_HELPER_ANS_HEADER + PAM_HELPER_MAX_REASON + 16];

	(void)loop;
	for (;;) {
		ssize_t n = recv(fd, pkt, sizeof(pkt), MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n == 0)
			helper_lost(p, "its socket closed");
		if (n < 0)
			helper_lost(p, strerror(errno));
		on_answer(p, pkt, (size_t)n);
	}
	(void)events;
	kick(p);
}

/* --- the backend's table -------------------------------------------------------------- */

static struct authreg_request *pam_check_password(struct authreg *ar, const char *user,
    const char *domain, const char *password, authreg_cb cb, void *arg)
{
	struct authreg_pam *p = (struct authreg_pam *)ar;
	char *name;
	size_t ulen, plen = password != NULL ? strlen(password) : 0;

	if (plen == 0) {
		log_debug("pam: login of %s@%s: empty password refused", user, domain);
		cb(arg, AUTHREG_NO);
		return NULL;
	}
	name = username_for(p->username, user, domain);
	ulen = strlen(name);
	if (PAM_HELPER_REQ_HEADER + ulen + plen > PAM_HELPER_MAX_PACKET) {
		log_info("pam: login of %s: user name and password too long", name);
		free(name);
		cb(arg, AUTHREG_NO);
		return NULL;
	}
	struct authreg_request *req = xcalloc(1, sizeof(*req));
	uint16_t u16;
	req->owner = p;
	req->id = ++p->next_id;
	req->cb = cb;
	req->arg = arg;
	req->user = name;
	req->len = PAM_HELPER_REQ_HEADER + ulen + plen;
	req->pkt = xmalloc(req->len);
	memcpy(req->pkt, &req->id, 4);
	u16 = (uint16_t)ulen;
	memcpy(req->pkt + 4, &u16, 2);
	u16 = (uint16_t)plen;
	memcpy(req->pkt + 6, &u16, 2);
	memcpy(req->pkt + PAM_HELPER_REQ_HEADER, name, ulen);
	memcpy(req->pkt + PAM_HELPER_REQ_HEADER + ulen, password, plen);
	req->timer = loop_timer_add(p->loop, p->timeout_ms, request_timeout, req);
	*p->queue_tail = req;
	p->queue_tail = &req->next;
	kick(p);
	return req;
}

/* A request the helper has: it keeps its place until the answer comes
 * (and is then dropped); one still queued goes at once. */
static void pam_cancel(struct authreg *ar, struct authreg_request *req)
{
	struct authreg_pam *p = (struct authreg_pam *)ar;

	req->cb = NULL;
	loop_timer_cancel(p->loop, &req->timer);
	if (req->pkt != NULL) {
		unqueue(p, req);
		request_free(req);
	}
}

static void pam_free(struct authreg *ar)
{
	struct authreg_pam *p = (struct authreg_pam *)ar;

	while (p->queue != NULL) {
		struct authreg_request *req = p->queue;
		p->queue = req->next;
		request_free(req);
	}
	while (p->asked != NULL) {
		struct authreg_request *req = p->asked;
		p->asked = req->next;
		request_free(req);
	}
	if (p->fd >= 0) {
		loop_del_fd(p->loop, p->fd);
		close(p->fd); /* the helper kills its conversations and exits */
	}
	free(p->service);
	free(p->username);
	free(p);
}

static const struct authreg_backend pam_backend = {
	.name = "pam",
	.check_password = pam_check_password,
	/* exists, create, set_password, remove, list: authreg.c answers
	 * AUTHREG_UNSUPPORTED. */
	.cancel = pam_cancel,
	.free = pam_free,
};

struct authreg *authreg_pam_new(struct loop *loop, const struct conf *c, char *err,
    size_t errlen)
{
	int sv[2];
	const char *service = conf_str(c, "auth.pam.service");
	unsigned timeout_ms = (unsigned)conf_duration_ms(c, "auth.pam.timeout");
	unsigned max = (unsigned)conf_int(c, "auth.threads");

	if (username_template_check(conf_str(c, "auth.pam.username"), err, errlen) < 0)
		return NULL;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return errf(err, errlen, "socketpair: %s", strerror(errno)), NULL;
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return errf(err, errlen, "fork: %s", strerror(errno)), NULL;
	}
	if (pid == 0) {
		close(sv[0]);
		/* Room for twice what auth asks at once: a conversation that
		 * has answered may still be ending (pam_end, exit) when auth,
		 * which counts it done, sends the next request. */
		pam_helper_main(sv[1], service, 2 * max, timeout_ms, parent);
	}
	close(sv[1]);

	struct authreg_pam *p = xcalloc(1, sizeof(*p));
	p->base.backend = &pam_backend;
	p->loop = loop;
	p->fd = sv[0];
	p->helper = pid;
	p->service = xstrdup(service);
	p->username = xstrdup(conf_str(c, "auth.pam.username"));
	p->timeout_ms = timeout_ms;
	p->max_asked = max;
	p->queue_tail = &p->queue;
	if (loop_add_fd(loop, p->fd, on_helper, p, err, errlen) < 0) {
		pam_free(&p->base);
		return NULL;
	}
	log_info("pam: service \"%s\", user name \"%s\", helper pid %d, up to %u conversations "
	    "at once", p->service, p->username, (int)pid, max);
	return &p->base;
}
