/*
 * fuzz_frame.c — libFuzzer target for the frame decoder (common/frame.c).
 *
 * The input is a byte stream decoded frame after frame, as a peer's socket
 * would be. Each frame that decodes is encoded again from its decoded
 * attributes; the bytes must be identical and must decode to the same
 * frame. Any difference aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "frame.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A small limit lets the fuzzer reach "too large" with small inputs. */
#define FUZZ_MAX_FRAME 4096

static void fail(const char *what, size_t off)
{
	fprintf(stderr, "fuzz_frame: frame at offset %zu: %s\n", off, what);
	abort();
}

static void check_same(const struct frame *a, const struct frame *b, size_t off)
{
	if (a->length != b->length || a->type != b->type || a->flags != b->flags ||
	    a->seq != b->seq || a->version != b->version)
		fail("header differs after re-encoding", off);
	for (int tag = 0; tag <= FRAME_TAG_MAX + 1; tag++) {
		const void *pa, *pb;
		size_t la, lb;
		bool ha = frame_get(a, (enum frame_tag)tag, &pa, &la);
		bool hb = frame_get(b, (enum frame_tag)tag, &pb, &lb);
		if (ha != hb || frame_count(a, (enum frame_tag)tag) !=
		    frame_count(b, (enum frame_tag)tag))
			fail("attribute presence differs", off);
		if (ha && (la != lb || memcmp(pa, pb, la) != 0))
			fail("attribute value differs", off);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;
	char err[ERRLEN];

	while (off < size) {
		struct frame f, again;
		size_t consumed, consumed2;

		if (frame_decode(data + off, size - off, FUZZ_MAX_FRAME, &f, &consumed,
		    err, sizeof(err)) != 1)
			break;
		if (consumed < FRAME_HEADER_SIZE || consumed > size - off)
			fail("impossible length consumed", off);

		struct buf b = BUF_INIT;
		size_t start = frame_begin(&b, f.type, f.flags, f.seq);
		size_t cursor = 0, n = 0;
		struct frame_attr attr;
		while (frame_next(&f, &cursor, &attr)) {
			frame_put(&b, attr.tag, attr.data, attr.len);
			n++;
		}
		size_t len = frame_end(&b, start);
		if (len != consumed || memcmp(buf_head(&b), data + off, len) != 0)
			fail("re-encoding gave other bytes", off);
		if (frame_decode(buf_head(&b), buf_used(&b), FUZZ_MAX_FRAME, &again,
		    &consumed2, err, sizeof(err)) != 1 || consumed2 != len)
			fail("re-encoded frame refused", off);
		check_same(&f, &again, off);

		/* The per-tag walk sees every attribute exactly once. */
		size_t seen = 0;
		for (int tag = 1; tag <= FRAME_TAG_MAX; tag++) {
			size_t c = 0, k = 0;
			while (frame_next_tag(&f, (enum frame_tag)tag, &c, &attr))
				k++;
			if (k != frame_count(&f, (enum frame_tag)tag))
				fail("frame_next_tag disagrees with frame_count", off);
			seen += k;
		}
		if (seen != n)
			fail("attributes walked by tag do not add up", off);
		buf_free(&b);
		off += consumed;
	}
	return 0;
}
