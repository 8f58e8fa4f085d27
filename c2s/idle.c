/*
 * idle.c — giving an idle session's XML parser back. An expat parser with
 * its buffers and our stanza tree costs 13 to 19 KiB, more than the rest of
 * an idle TLS session, and a session spends nearly all its life between
 * stanzas. So when a session has been quiet for IDLE_RELEASE_MS (a quarter
 * of a second: long enough to outlast a burst, short enough that a wave of
 * logins does not hold a parser each and fragment the heap) with the
 * input exactly between stanzas, the parser is freed; the next byte from
 * the client makes a new one, which is first fed a stream header of our
 * own making (its stream_open event is swallowed) so that it is back
 * inside <stream:stream> with the same namespaces.
 *
 * "Exactly between stanzas" is known from depth.c, which follows the
 * element depth of what the parser is fed. A stream
 * whose header declared more than the default namespace and the "stream"
 * prefix is never released (its declarations would be lost).
 */
#include <string.h>

#include "c2s.h"
#include "log.h"

#define IDLE_RELEASE_MS 250

static void release_cb(struct loop *loop, void *arg)
{
	struct client *c = arg;

	c->release_timer = NULL;
	if (c->xs == NULL || c->phase != PHASE_STREAM || c->stage != STAGE_SESSION ||
	    c->hold != 0 || c->npending > 0 || !c->releasable || !depth_between_stanzas(&c->track))
		return;
	if (loop_now_ms(loop) - c->last_read < IDLE_RELEASE_MS) {
		c->release_timer = loop_timer_add(loop, IDLE_RELEASE_MS - (loop_now_ms(loop) -
		    c->last_read), release_cb, c);
		return;
	}
	xml_stream_free(&c->xs);
}

void idle_check(struct client *c)
{
	if (c->release_timer == NULL && c->xs != NULL && c->stage == STAGE_SESSION &&
	    c->releasable && c->phase == PHASE_STREAM)
		c->release_timer = loop_timer_add(c->c2s->loop, IDLE_RELEASE_MS, release_cb, c);
}

int idle_restore(struct client *c)
{
	char err[ERRLEN];
	char header[160];

	if (c->xs != NULL)
		return 0;
	c->xs = xml_stream_new(&client_xml_callbacks, c, c->c2s->cfg.max_stanza,
	    c->c2s->cfg.max_depth, err, sizeof(err));
	if (c->xs == NULL) {
		log_error("%s: %s", c->addr, err);
		return -1;
	}
	snprintf(header, sizeof(header), "<stream:stream xmlns='%s' xmlns:stream='%s'>", NS_CLIENT,
	    NS_STREAMS);
	c->resuming = true;
	ssize_t n = xml_stream_feed(c->xs, header, strlen(header), err, sizeof(err));
	c->resuming = false;
	if (n < 0) {
		log_error("%s: restoring the parser: %s", c->addr, err);
		return -1;
	}
	return 0;
}
