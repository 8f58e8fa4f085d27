/*
 * idle.c — giving an idle session's XML parser back. An expat parser with
 * its buffers and our stanza tree costs 13 to 19 KiB, more than the rest of
 * an idle TLS session, and a session spends nearly all its life between
 * stanzas. So when a session has been quiet for its release delay with the
 * input exactly between stanzas, the parser is freed; the next byte from
 * the client makes a new one, which is first fed a stream header of our
 * own making (its stream_open event is swallowed) so that it is back
 * inside <stream:stream> with the same namespaces.
 *
 * The delay adapts per session. It starts short (RELEASE_MIN_MS): after a
 * wave of logins every parser still alive is, once freed, a hole between
 * other sessions' long-lived TLS state that the heap cannot give back
 * (glibc's mallinfo2 in c2s after 2000 logins at ~500/s: 2.3-3.5 MB of
 * free heap with a fixed 250 ms delay, 1.6-1.7 MB with this one, 1 MB
 * with 1 ms). A session whose client comes back soon after its parser was
 * freed (one that speaks every few hundred milliseconds) would pay a new
 * parser each time, so each such quick return doubles its delay, up to
 * RELEASE_MAX_MS: it settles after a few rounds.
 *
 * Freed parsers leave holes between long-lived allocations; glibc gives
 * back only the top of the heap by itself. So once a wave of releases has
 * been followed by a quiet second, the heap is trimmed, which returns the
 * whole pages inside those holes to the kernel (malloc_trim).
 *
 * "Exactly between stanzas" is known from depth.c, which follows the
 * element depth of what the parser is fed. A stream
 * whose header declared more than the default namespace and the "stream"
 * prefix is never released (its declarations would be lost).
 */
#include <malloc.h>
#include <string.h>

#include "c2s.h"
#include "log.h"

#define RELEASE_MIN_MS 50
#define RELEASE_MAX_MS 2000
/* A client back within this many delays of the release counts as quick. */
#define QUICK_RETURN_FACTOR 4

/* Trim after at least this many releases, this long after the last one. */
#define TRIM_MIN_RELEASES 64
#define TRIM_QUIET_MS 1000

static void trim_cb(struct loop *loop, void *arg)
{
	struct c2s *c2s = arg;

	(void)loop;
	c2s->trim_timer = NULL;
	if (c2s->released_since_trim < TRIM_MIN_RELEASES)
		return;
	c2s->released_since_trim = 0;
	(void)malloc_trim(0);
}

static void note_release(struct c2s *c2s)
{
	c2s->released_since_trim++;
	loop_timer_cancel(c2s->loop, &c2s->trim_timer);
	c2s->trim_timer = loop_timer_add(c2s->loop, TRIM_QUIET_MS, trim_cb, c2s);
}

static uint64_t release_delay(const struct client *c)
{
	return c->release_ms != 0 ? c->release_ms : RELEASE_MIN_MS;
}

static void release_cb(struct loop *loop, void *arg)
{
	struct client *c = arg;

	c->release_timer = NULL;
	if (c->xs == NULL || c->phase != PHASE_STREAM || c->stage != STAGE_SESSION ||
	    c->hold != 0 || c->npending > 0 || !c->releasable || !depth_between_stanzas(&c->track))
		return;
	uint64_t now = loop_now_ms(loop), delay = release_delay(c);
	if (now - c->last_read < delay) {
		c->release_timer = loop_timer_add(loop, delay - (now - c->last_read), release_cb, c);
		return;
	}
	xml_stream_free(&c->xs);
	c->released_at = (uint32_t)now;
	note_release(c->c2s);
}

void idle_check(struct client *c)
{
	if (c->release_timer == NULL && c->xs != NULL && c->stage == STAGE_SESSION &&
	    c->releasable && c->phase == PHASE_STREAM)
		c->release_timer = loop_timer_add(c->c2s->loop, release_delay(c), release_cb, c);
}

int idle_restore(struct client *c)
{
	char err[ERRLEN];
	char header[160];

	if (c->xs != NULL)
		return 0;
	uint64_t delay = release_delay(c);
	if ((uint32_t)loop_now_ms(c->c2s->loop) - c->released_at < delay * QUICK_RETURN_FACTOR)
		c->release_ms = (uint16_t)(delay * 2 < RELEASE_MAX_MS ? delay * 2 : RELEASE_MAX_MS);
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
