/*
 * fuzz_xml_stream.c — libFuzzer target for the XML stream parser and the
 * serializer. The input is a client stream; the first byte picks how it is
 * chunked (0: one byte at a time; otherwise a split point) and a few
 * behaviours (taking stanzas, pausing and restarting the stream). Every
 * stanza delivered is written out and parsed back, in a stream and
 * standalone, and must come back as the same tree and the same bytes, and
 * no larger than stanza_write_max_size() allows for the whole input;
 * anything else aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stanza.h"
#include "xml_stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_STANZA 8192
#define MAX_DEPTH 16
/* A serialization this long may legitimately trip the re-parsing stream's
 * limit on one tag (escaping makes attribute values grow). */
#define LONG_OUTPUT XML_STREAM_MAX_TAG

struct run {
	struct xml_stream *xs;
	struct xml_stream *reparser;	/* for the stream round trip */
	struct xml_stream *standalone;	/* for xml_stream_parse_stanza */
	char *content_ns;		/* from the stream header */
	bool have_header;
	bool take;
	int pause_after;		/* pause on this stanza (1-based), or 0 */
	int stanzas;
	bool paused;
	struct stanza *reparsed;
	size_t input_size;		/* every stanza and header came from it */
};

static void check(bool ok)
{
	if (!ok)
		abort();
}

static void keep_reparsed(void *arg, struct stanza *st)
{
	struct run *r = arg;
	check(r->reparsed == NULL);	/* exactly one stanza comes back */
	r->reparsed = stanza_copy(st);
}

static char *serialize(const struct stanza *st, const char *stream_ns, size_t *len)
{
	struct buf b = BUF_INIT;
	stanza_write(st, &b, stream_ns);
	*len = buf_used(&b);
	buf_append(&b, "", 1);
	char *s = xstrdup(buf_head(&b));
	buf_free(&b);
	return s;
}

/* Written for the stream it came from, inside a header we write. */
static void stream_round_trip(struct run *r, const struct stanza *st)
{
	char err[ERRLEN];
	size_t len1, len2;
	char *out1 = serialize(st, r->content_ns, &len1);
	check(len1 <= stanza_write_max_size(r->input_size, 0));

	struct stanza *hdr = stanza_new_stream_header(r->content_ns);
	struct buf in = BUF_INIT;
	stanza_write_stream_header(hdr, &in);
	stanza_free(&hdr);
	buf_append(&in, out1, len1);

	xml_stream_reset(r->reparser);
	ssize_t n = xml_stream_feed(r->reparser, buf_head(&in), buf_used(&in), err, sizeof(err));
	if (n < 0 && xml_stream_error(r->reparser) == XML_STREAM_POLICY_VIOLATION &&
	    len1 > LONG_OUTPUT) {
		stanza_free(&r->reparsed);
	} else {
		check(n == (ssize_t)buf_used(&in));
		check(r->reparsed != NULL && stanza_equal(st, r->reparsed));
		char *out2 = serialize(r->reparsed, r->content_ns, &len2);
		check(len1 == len2 && memcmp(out1, out2, len1) == 0);
		free(out2);
		stanza_free(&r->reparsed);
	}
	buf_free(&in);
	free(out1);
}

/* Written standalone, as for the internal protocol. */
static void standalone_round_trip(struct run *r, const struct stanza *st)
{
	char err[ERRLEN];
	size_t len1, len2;
	char *out1 = serialize(st, NULL, &len1);
	check(len1 <= stanza_write_max_size(r->input_size, 0));
	struct stanza *back = stanza_new_empty();
	check(xml_stream_parse_stanza(r->standalone, out1, len1, back, err, sizeof(err)) == 0);
	check(stanza_equal(st, back));
	char *out2 = serialize(back, NULL, &len2);
	check(len1 == len2 && memcmp(out1, out2, len1) == 0);
	free(out2);
	free(out1);
	stanza_free(&back);
}

static void on_open(void *arg, const struct xml_stream_header *h)
{
	struct run *r = arg;
	check(h->element != NULL && h->prefix != NULL);
	free(r->content_ns);
	r->content_ns = h->content_ns ? xstrdup(h->content_ns) : NULL;
	r->have_header = true;
}

static void on_stanza(void *arg, struct stanza *st)
{
	struct run *r = arg;
	check(r->have_header && stanza_root(st) == 0);
	r->stanzas++;

	struct stanza *copy = stanza_copy(st);
	check(stanza_equal(st, copy));
	stream_round_trip(r, st);
	standalone_round_trip(r, st);
	stanza_free(&copy);

	if (r->take) {
		struct stanza *mine = xml_stream_take_stanza(r->xs);
		check(mine == st);
		stanza_free(&mine);
	}
	if (r->stanzas == r->pause_after) {
		xml_stream_pause(r->xs);
		r->paused = true;
	}
}

static void on_close(void *arg)
{
	(void)arg;
}

/* Feed in two parts split at `split` (0: a byte at a time). After a pause
 * the rest goes to a fresh stream, as after SASL success. */
static void feed(struct run *r, const uint8_t *p, size_t len, size_t split)
{
	char err[ERRLEN];
	size_t off = 0;

	while (off < len) {
		size_t n = split == 0 ? 1 : (off < split ? split - off : len - off);
		ssize_t got = xml_stream_feed(r->xs, p + off, n, err, sizeof(err));
		if (got < 0) {
			check(xml_stream_error(r->xs) != XML_STREAM_OK && err[0] != '\0');
			return;
		}
		check((size_t)got == n || r->paused);
		off += (size_t)got;
		if (r->paused) {
			r->paused = false;
			r->have_header = false;
			xml_stream_reset(r->xs);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct xml_stream_callbacks cb = { on_open, on_stanza, on_close };
	static const struct xml_stream_callbacks recb = { NULL, keep_reparsed, NULL };
	char err[ERRLEN];
	struct run r = { 0 };

	if (size < 1)
		return 0;
	uint8_t mode = data[0];
	data++;
	size--;
	/* Byte-at-a-time is slow on long inputs; split those instead. */
	size_t split = mode == 0 && size <= 4096 ? 0 : 1 + (size_t)(mode >> 1) * size / 128;
	r.take = (mode & 1) != 0;
	r.pause_after = (mode & 6) == 6 ? 1 : 0;
	r.input_size = size;

	r.xs = xml_stream_new(&cb, &r, MAX_STANZA, MAX_DEPTH, err, sizeof(err));
	r.reparser = xml_stream_new(&recb, &r, 0, MAX_DEPTH, err, sizeof(err));
	r.standalone = xml_stream_new(NULL, NULL, 0, MAX_DEPTH, err, sizeof(err));
	check(r.xs && r.reparser && r.standalone);

	feed(&r, data, size, split);

	xml_stream_free(&r.xs);
	xml_stream_free(&r.reparser);
	xml_stream_free(&r.standalone);
	stanza_free(&r.reparsed);
	free(r.content_ns);
	return 0;
}
