/*
 * ctl_notify.c — telling a running sm that `parleyctl user del` removed an
 * account, so that the user's open sessions end and sm forgets what it
 * kept for the user: a short-lived router peer ("parleyctl.PID", role
 * "ctl") binds its name, sends USER_DELETED to the user's domain and
 * waits for sm's ACK.
 * When the suite is not running (no router socket) there is nobody to
 * tell; when it runs but sm does not answer in time, the caller says so.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frame.h"
#include "loop.h"
#include "parleyctl.h"
#include "router_link.h"
#include "router_secret.h"

/* Long enough for a busy sm; a person waits at the terminal. */
#define NOTIFY_TIMEOUT_MS 5000

struct notify {
	struct loop *loop;
	const char *domain;
	const char *bare;
	uint32_t seq;
	bool sent;
	int result;                 /* 1: acknowledged; -1: failed; 0: not yet */
	char why[ERRLEN];
};

/* Once our name is bound (the router routes only from bound names). */
static void bound(struct router_link *link, const char *name, uint16_t flags, void *arg)
{
	struct notify *n = arg;
	size_t start;
	char err[ERRLEN];

	(void)name;
	(void)flags;
	if (n->sent)
		return;
	struct buf *b = router_link_begin(link, FRAME_USER_DELETED, 0, &start);
	frame_put_str(b, FRAME_TAG_FROM, router_link_name(link));
	frame_put_str(b, FRAME_TAG_TO, n->domain);
	frame_put_str(b, FRAME_TAG_JID, n->bare);
	if (router_link_end(link, start, &n->seq, err, sizeof(err)) < 0) {
		snprintf(n->why, sizeof(n->why), "%s", err);
		n->result = -1;
		loop_stop(n->loop);
		return;
	}
	n->sent = true;
}

static void down(struct router_link *link, const char *reason, void *arg)
{
	struct notify *n = arg;

	(void)link;
	snprintf(n->why, sizeof(n->why), "%s", reason);
}

static void frame(struct router_link *link, const struct frame *f, void *arg)
{
	struct notify *n = arg;

	(void)link;
	if (f->type == FRAME_ACK) {
		struct frame_attr a;
		size_t cursor = 0;
		while (frame_next_tag(f, FRAME_TAG_ACK_SEQ, &cursor, &a)) {
			const unsigned char *p = a.data;
			uint32_t seq = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
			    (uint32_t)p[2] << 8 | p[3];
			if (seq == n->seq) {
				n->result = 1;
				loop_stop(n->loop);
			}
		}
	} else if (f->type == FRAME_ERROR) {
		/* Nobody serves the domain (sm is not running). */
		const char *text = frame_get_str(f, FRAME_TAG_TEXT, NULL);
		snprintf(n->why, sizeof(n->why), "%s", text != NULL ? text : "the router refused it");
		n->result = -1;
		loop_stop(n->loop);
	}
}

static void timeout(struct loop *loop, void *arg)
{
	struct notify *n = arg;

	if (n->why[0] == '\0')
		snprintf(n->why, sizeof(n->why), "no answer from sm in %d s",
		    NOTIFY_TIMEOUT_MS / 1000);
	n->result = -1;
	loop_stop(loop);
}

int ctl_notify_user_deleted(const struct conf *c, const char *domain, const char *bare,
    char *err, size_t errlen)
{
	const char *socket_path = conf_str(c, "router.socket");
	char secret[ROUTER_SECRET_MAX + 1], name[64], why[ERRLEN];
	size_t secret_len;
	struct stat st;

	if (stat(socket_path, &st) < 0 || !S_ISSOCK(st.st_mode))
		return 0; /* not running: nothing to tell */
	if (router_secret_get(c, secret, &secret_len, why, sizeof(why)) < 0)
		return errf(err, errlen, "%s: %s: %s", conf_where(c, router_secret_setting(c)),
		    router_secret_setting(c), why);
	struct notify n = { .domain = domain, .bare = bare };
	if ((n.loop = loop_new(err, errlen)) == NULL) {
		explicit_bzero(secret, sizeof(secret));
		return -1;
	}
	snprintf(name, sizeof(name), "parleyctl.%ld", (long)getpid());
	const struct router_link_settings settings = {
		.socket_path = socket_path,
		.name = name, .role = "ctl",
		.secret = secret, .secret_len = secret_len,
		.max_frame = (size_t)conf_size(c, "router.max_frame"),
		.connect_timeout_ms = 2000,
	};
	const struct router_link_callbacks cbs = { .bound = bound, .down = down, .frame = frame };
	struct router_link *link = router_link_new(n.loop, &settings, &cbs, &n, err, errlen);
	explicit_bzero(secret, sizeof(secret));
	if (link == NULL) {
		loop_free(&n.loop);
		return -1;
	}
	router_link_bind(link, name, 0);
	router_link_start(link);
	(void)loop_timer_add(n.loop, NOTIFY_TIMEOUT_MS, timeout, &n);
	(void)loop_run(n.loop);
	router_link_free(&link);
	loop_free(&n.loop);
	if (n.result != 1)
		return errf(err, errlen, "%s", n.why);
	return 1;
}
