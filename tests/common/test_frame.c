/*
 * test_frame.c — the internal-protocol frame codec (common/frame.c): every
 * frame type round trip, partial input, and each way a frame is refused.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "frame.h"
#include "unit.h"
#include "util.h"

enum kind { S = 1, U, B };

struct rt_attr {
	enum frame_tag tag;
	enum kind kind;
	const char *s;   /* S: the string; B: the bytes */
	uint32_t u;      /* U: the value; B: the length */
};

struct rt_case {
	enum frame_type type;
	uint16_t flags;
	struct rt_attr attrs[14];
};

static const char stanza[] = "<message to='romeo@example.net'><body>hi</body></message>";

/* One frame of each type, with every attribute its table allows. */
static const struct rt_case cases[] = {
	{ FRAME_HELLO, 0, {
		{ FRAME_TAG_NAME, S, "c2s.1", 0 }, { FRAME_TAG_ROLE, S, "c2s", 0 },
		{ FRAME_TAG_SECRET, B, "s3cr3t\0x", 8 }, { FRAME_TAG_PID, U, NULL, 4242 } } },
	{ FRAME_HELLO_OK, 0, { { FRAME_TAG_NAME, S, "router", 0 } } },
	{ FRAME_ERROR, 0, {
		{ FRAME_TAG_CODE, U, NULL, FRAME_ERR_NO_ROUTE },
		{ FRAME_TAG_TEXT, S, "nobody bound example.org", 0 },
		{ FRAME_TAG_REF_SEQ, U, NULL, 77 }, { FRAME_TAG_REF_TO, S, "example.org", 0 },
		{ FRAME_TAG_SESSION_ID, S, "c2s.1-42", 0 },
		{ FRAME_TAG_STANZA, B, stanza, sizeof(stanza) - 1 } } },
	{ FRAME_BIND, FRAME_F_DEFAULT_ROUTE, { { FRAME_TAG_NAME, S, "s2s", 0 } } },
	{ FRAME_BIND_OK, FRAME_F_SHARED, { { FRAME_TAG_NAME, S, "auth", 0 } } },
	{ FRAME_UNBIND, 0, { { FRAME_TAG_NAME, S, "example.com", 0 } } },
	{ FRAME_PEER_UP, FRAME_F_SHARED, {
		{ FRAME_TAG_NAME, S, "auth", 0 }, { FRAME_TAG_ROLE, S, "auth", 0 } } },
	{ FRAME_PEER_DOWN, 0, { { FRAME_TAG_NAME, S, "c2s.2", 0 } } },
	{ FRAME_PING, 0, { { 0, 0, NULL, 0 } } },
	{ FRAME_PONG, 0, { { FRAME_TAG_REF_SEQ, U, NULL, 0xFFFFFFFFu } } },
	{ FRAME_ROUTE, FRAME_F_RESENT, {
		{ FRAME_TAG_FROM, S, "c2s.1", 0 }, { FRAME_TAG_TO, S, "sm", 0 },
		{ FRAME_TAG_ROUTE_KEY, S, "juliet@example.com", 0 },
		{ FRAME_TAG_SESSION_ID, S, "c2s.1-42", 0 },
		{ FRAME_TAG_STANZA, B, stanza, sizeof(stanza) - 1 } } },
	{ FRAME_ACK, 0, {
		{ FRAME_TAG_FROM, S, "sm", 0 }, { FRAME_TAG_TO, S, "c2s.1", 0 },
		{ FRAME_TAG_ACK_SEQ, U, NULL, 5 }, { FRAME_TAG_ACK_SEQ, U, NULL, 6 },
		{ FRAME_TAG_ACK_SEQ, U, NULL, 9 } } },
	{ FRAME_SESSION_START, FRAME_F_REANNOUNCE | FRAME_F_RESENT, {
		{ FRAME_TAG_FROM, S, "c2s.1", 0 }, { FRAME_TAG_TO, S, "sm", 0 },
		{ FRAME_TAG_SESSION_ID, S, "c2s.1-42", 0 },
		{ FRAME_TAG_JID, S, "juliet@example.com/balcony", 0 },
		{ FRAME_TAG_CLIENT_ADDR, S, "[2001:db8::1]:50012", 0 },
		{ FRAME_TAG_STANZA, B, "<presence/>", 11 } } },
	{ FRAME_SESSION_STARTED, 0, {
		{ FRAME_TAG_FROM, S, "sm", 0 }, { FRAME_TAG_TO, S, "c2s.1", 0 },
		{ FRAME_TAG_SESSION_ID, S, "c2s.1-42", 0 },
		{ FRAME_TAG_JID, S, "juliet@example.com/balcony", 0 } } },
	{ FRAME_SESSION_END, 0, {
		{ FRAME_TAG_FROM, S, "sm", 0 }, { FRAME_TAG_TO, S, "c2s.1", 0 },
		{ FRAME_TAG_SESSION_ID, S, "c2s.1-42", 0 },
		{ FRAME_TAG_JID, S, "juliet@example.com/balcony", 0 },
		{ FRAME_TAG_CODE, U, NULL, FRAME_SESSION_REPLACED },
		{ FRAME_TAG_TEXT, S, "replaced by a new connection", 0 } } },
	{ FRAME_SESSION_ENDED, 0, {
		{ FRAME_TAG_FROM, S, "c2s.1", 0 }, { FRAME_TAG_TO, S, "sm", 0 },
		{ FRAME_TAG_SESSION_ID, S, "c2s.1-42", 0 },
		{ FRAME_TAG_JID, S, "juliet@example.com/balcony", 0 },
		{ FRAME_TAG_CODE, U, NULL, FRAME_SESSION_REPLACED },
		{ FRAME_TAG_TEXT, S, "", 0 } } },
	{ FRAME_USER_DELETED, 0, {
		{ FRAME_TAG_FROM, S, "parleyctl.4242", 0 }, { FRAME_TAG_TO, S, "example.com", 0 },
		{ FRAME_TAG_JID, S, "juliet@example.com", 0 } } },
	{ FRAME_SASL_START, 0, {
		{ FRAME_TAG_FROM, S, "c2s.1", 0 }, { FRAME_TAG_TO, S, "auth", 0 },
		{ FRAME_TAG_SESSION_ID, S, "c2s.1-43", 0 },
		{ FRAME_TAG_HOST, S, "example.com", 0 },
		{ FRAME_TAG_MECHANISM, S, "SCRAM-SHA-256-PLUS", 0 },
		{ FRAME_TAG_SASL_DATA, B, "p=tls-exporter,,n=juliet,r=abc", 30 },
		{ FRAME_TAG_CB_TYPE, S, "tls-exporter", 0 },
		{ FRAME_TAG_CB_DATA, B, "\x01\x02\x03\x00\xff", 5 },
		{ FRAME_TAG_CB_TYPE, S, "tls-unique", 0 },
		{ FRAME_TAG_CB_DATA, B, "\x0a\x0b\x0c", 3 },
		{ FRAME_TAG_CLIENT_ADDR, S, "192.0.2.7:40000", 0 },
		{ FRAME_TAG_PEER_CERT, B, "\x30\x82\x01\x0a", 4 } } },
	{ FRAME_SASL_STEP, FRAME_F_ABORT, {
		{ FRAME_TAG_FROM, S, "c2s.1", 0 }, { FRAME_TAG_TO, S, "auth", 0 },
		{ FRAME_TAG_SESSION_ID, S, "c2s.1-43", 0 },
		{ FRAME_TAG_SASL_DATA, B, "", 0 } } },
	{ FRAME_SASL_RESULT, 0, {
		{ FRAME_TAG_FROM, S, "auth", 0 }, { FRAME_TAG_TO, S, "c2s.1", 0 },
		{ FRAME_TAG_SESSION_ID, S, "c2s.1-43", 0 },
		{ FRAME_TAG_STATUS, U, NULL, FRAME_SASL_SUCCESS },
		{ FRAME_TAG_SASL_DATA, B, "v=xyz", 5 },
		{ FRAME_TAG_JID, S, "juliet@example.com", 0 },
		{ FRAME_TAG_TEXT, S, "welcome", 0 } } },
};

static const struct rt_case *find_case(enum frame_type type)
{
	for (size_t i = 0; i < ARRAY_LEN(cases); i++)
		if (cases[i].type == type)
			return &cases[i];
	ck_abort_msg("no case for type %d", type);
	return NULL;
}

static void put_attrs(struct buf *b, const struct rt_attr *attrs)
{
	for (const struct rt_attr *a = attrs; a->tag != 0; a++) {
		if (a->kind == S)
			frame_put_str(b, a->tag, a->s);
		else if (a->kind == U)
			frame_put_u32(b, a->tag, a->u);
		else
			frame_put(b, a->tag, a->s, a->u);
	}
}

/* Encode one of the cases above into `b`; returns its length. */
static size_t encode_case(struct buf *b, const struct rt_case *c, uint32_t seq)
{
	size_t start = frame_begin(b, c->type, c->flags, seq);
	put_attrs(b, c->attrs);
	return frame_end(b, start);
}

static int decode(const void *p, size_t len, struct frame *f, size_t *consumed,
    char *err)
{
	return frame_decode(p, len, 0, f, consumed, err, ERRLEN);
}

START_TEST(test_frame_round_trips_every_type)
{
	const struct rt_case *c = &cases[_i];
	struct buf b = BUF_INIT;
	struct frame f;
	size_t consumed;
	char err[ERRLEN] = "";

	size_t len = encode_case(&b, c, 1000 + (uint32_t)_i);
	ck_assert_uint_eq(len, buf_used(&b));
	ck_assert_int_eq(decode(buf_head(&b), buf_used(&b), &f, &consumed, err), 1);
	ck_assert_uint_eq(consumed, len);
	ck_assert_uint_eq(f.length, len);
	ck_assert_uint_eq(f.version, FRAME_PROTOCOL_VERSION);
	ck_assert_int_eq(f.type, c->type);
	ck_assert_uint_eq(f.flags, c->flags);
	ck_assert_uint_eq(f.seq, 1000 + (uint32_t)_i);
	ck_assert_int_eq(f.error, FRAME_DECODE_OK);

	/* Attributes come back in order with their values... */
	size_t cursor = 0;
	struct frame_attr attr;
	for (const struct rt_attr *a = c->attrs; a->tag != 0; a++) {
		ck_assert_msg(frame_next(&f, &cursor, &attr), "%s: '%s' missing",
		    frame_type_name(c->type), frame_tag_name(a->tag));
		ck_assert_int_eq(attr.tag, a->tag);
		if (a->kind == S) {
			ck_assert_uint_eq(attr.len, strlen(a->s) + 1);
			ck_assert_mem_eq(attr.data, a->s, attr.len);
		} else if (a->kind == U) {
			uint8_t be[4] = { (uint8_t)(a->u >> 24), (uint8_t)(a->u >> 16),
				(uint8_t)(a->u >> 8), (uint8_t)a->u };
			ck_assert_uint_eq(attr.len, 4);
			ck_assert_mem_eq(attr.data, be, 4);
		} else {
			ck_assert_uint_eq(attr.len, a->u);
			if (a->u > 0)
				ck_assert_mem_eq(attr.data, a->s, a->u);
		}
	}
	ck_assert(!frame_next(&f, &cursor, &attr));

	/* ...and through the getters, which give the first of each tag. */
	for (const struct rt_attr *a = c->attrs; a->tag != 0; a++) {
		ck_assert(frame_has(&f, a->tag));
		if (frame_count(&f, a->tag) > 1)
			continue; /* repeated tags were checked in order above */
		if (a->kind == S) {
			size_t slen;
			ck_assert_str_eq(frame_get_str(&f, a->tag, &slen), a->s);
			ck_assert_uint_eq(slen, strlen(a->s));
		} else if (a->kind == U && frame_count(&f, a->tag) == 1) {
			uint32_t v = 0;
			ck_assert(frame_get_u32(&f, a->tag, &v));
			ck_assert_uint_eq(v, a->u);
		} else if (a->kind == B) {
			const void *data;
			size_t blen;
			ck_assert(frame_get(&f, a->tag, &data, &blen));
			ck_assert_uint_eq(blen, a->u);
		}
	}
	ck_assert_int_eq(frame_type_is_routed(c->type), frame_has(&f, FRAME_TAG_TO));
	buf_free(&b);
}
END_TEST

START_TEST(test_frame_getters_report_absent_attributes)
{
	struct buf b = BUF_INIT;
	struct frame f;
	size_t consumed;
	char err[ERRLEN];
	const void *data;
	size_t len;
	uint32_t v = 123;

	size_t start = frame_begin(&b, FRAME_ROUTE, 0, 1);
	frame_put_str(&b, FRAME_TAG_FROM, "c2s.1");
	frame_put_str(&b, FRAME_TAG_TO, "sm");
	frame_put(&b, FRAME_TAG_STANZA, "<presence/>", 11);
	frame_end(&b, start);
	ck_assert_int_eq(decode(buf_head(&b), buf_used(&b), &f, &consumed, err), 1);
	ck_assert(!frame_has(&f, FRAME_TAG_ROUTE_KEY));
	ck_assert_uint_eq(frame_count(&f, FRAME_TAG_SESSION_ID), 0);
	ck_assert_ptr_null(frame_get_str(&f, FRAME_TAG_SESSION_ID, NULL));
	ck_assert(!frame_get(&f, FRAME_TAG_SECRET, &data, &len));
	ck_assert(!frame_get_u32(&f, FRAME_TAG_CODE, &v));
	ck_assert_uint_eq(v, 123);
	ck_assert(!frame_has(&f, (enum frame_tag)999));
	buf_free(&b);
}
END_TEST

START_TEST(test_frame_iterates_repeated_ack_seqs)
{
	struct buf b = BUF_INIT;
	struct frame f;
	size_t consumed, cursor = 0;
	struct frame_attr attr;
	char err[ERRLEN];
	uint32_t seen[4];
	size_t n = 0;

	encode_case(&b, find_case(FRAME_ACK), 1);
	ck_assert_int_eq(decode(buf_head(&b), buf_used(&b), &f, &consumed, err), 1);
	ck_assert_uint_eq(frame_count(&f, FRAME_TAG_ACK_SEQ), 3);
	while (frame_next_tag(&f, FRAME_TAG_ACK_SEQ, &cursor, &attr)) {
		const uint8_t *p = attr.data;
		ck_assert_uint_lt(n, 4);
		seen[n++] = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		    (uint32_t)p[2] << 8 | p[3];
	}
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(seen[0], 5);
	ck_assert_uint_eq(seen[1], 6);
	ck_assert_uint_eq(seen[2], 9);
	buf_free(&b);
}
END_TEST

START_TEST(test_frame_fed_one_byte_at_a_time_needs_more_until_complete)
{
	struct buf b = BUF_INIT;
	struct frame f;
	size_t consumed = 99;
	char err[ERRLEN];

	size_t len = encode_case(&b, find_case(FRAME_ROUTE), 7);
	for (size_t have = 0; have < len; have++) {
		ck_assert_msg(decode(buf_head(&b), have, &f, &consumed, err) == 0,
		    "decoded with %zu of %zu bytes", have, len);
		ck_assert_uint_eq(consumed, 0);
	}
	ck_assert_int_eq(decode(buf_head(&b), len, &f, &consumed, err), 1);
	ck_assert_uint_eq(consumed, len);
	ck_assert_str_eq(frame_get_str(&f, FRAME_TAG_TO, NULL), "sm");
	buf_free(&b);
}
END_TEST

START_TEST(test_frame_decodes_two_frames_back_to_back)
{
	struct buf b = BUF_INIT;
	struct frame f;
	size_t consumed;
	char err[ERRLEN];

	size_t first = encode_case(&b, find_case(FRAME_HELLO), 1);
	size_t second = encode_case(&b, find_case(FRAME_ROUTE), 2);
	/* And the start of a third, still incomplete. */
	size_t third = encode_case(&b, find_case(FRAME_PONG), 3);
	size_t total = buf_used(&b) - 1;
	const char *p = buf_head(&b);

	ck_assert_int_eq(decode(p, total, &f, &consumed, err), 1);
	ck_assert_uint_eq(consumed, first);
	ck_assert_int_eq(f.type, FRAME_HELLO);
	ck_assert_uint_eq(f.seq, 1);
	ck_assert_int_eq(decode(p + first, total - first, &f, &consumed, err), 1);
	ck_assert_uint_eq(consumed, second);
	ck_assert_int_eq(f.type, FRAME_ROUTE);
	ck_assert_uint_eq(f.seq, 2);
	ck_assert_int_eq(decode(p + first + second, total - first - second, &f,
	    &consumed, err), 0);
	ck_assert_int_eq(decode(p + first + second, third, &f, &consumed, err), 1);
	ck_assert_int_eq(f.type, FRAME_PONG);
	buf_free(&b);
}
END_TEST

/* Hand-made frames for the refusal tests. */
struct raw {
	uint8_t bytes[256];
	size_t len;
};

static void raw_u8(struct raw *r, uint8_t v)
{
	r->bytes[r->len++] = v;
}

static void raw_u16(struct raw *r, uint16_t v)
{
	raw_u8(r, (uint8_t)(v >> 8));
	raw_u8(r, (uint8_t)v);
}

static void raw_u32(struct raw *r, uint32_t v)
{
	raw_u16(r, (uint16_t)(v >> 16));
	raw_u16(r, (uint16_t)v);
}

static void raw_header(struct raw *r, uint8_t version, uint8_t type, uint16_t flags)
{
	r->len = 0;
	raw_u32(r, 0); /* patched by raw_finish */
	raw_u8(r, version);
	raw_u8(r, type);
	raw_u16(r, flags);
	raw_u32(r, 1);
}

static void raw_attr(struct raw *r, uint16_t tag, const void *v, uint32_t len)
{
	raw_u16(r, tag);
	raw_u32(r, len);
	memcpy(r->bytes + r->len, v, len);
	r->len += len;
}

static void raw_str(struct raw *r, uint16_t tag, const char *s)
{
	raw_attr(r, tag, s, (uint32_t)strlen(s) + 1);
}

static void raw_finish(struct raw *r)
{
	uint32_t n = (uint32_t)r->len;
	r->bytes[0] = (uint8_t)(n >> 24);
	r->bytes[1] = (uint8_t)(n >> 16);
	r->bytes[2] = (uint8_t)(n >> 8);
	r->bytes[3] = (uint8_t)n;
}

/* A valid PONG and ROUTE to start from. */
static void raw_route(struct raw *r, uint16_t flags)
{
	raw_header(r, FRAME_PROTOCOL_VERSION, FRAME_ROUTE, flags);
	raw_str(r, FRAME_TAG_FROM, "c2s.1");
	raw_str(r, FRAME_TAG_TO, "sm");
	raw_attr(r, FRAME_TAG_STANZA, "<a/>", 4);
}

static void assert_refused(const struct raw *r, size_t feed,
    enum frame_decode_error expect, const char *text)
{
	struct frame f;
	size_t consumed = 99;
	char err[ERRLEN] = "";

	int rc = frame_decode(r->bytes, feed, 0, &f, &consumed, err, sizeof(err));
	ck_assert_msg(rc == -1, "accepted (rc %d), expected %s", rc,
	    frame_decode_error_name(expect));
	ck_assert_msg(f.error == expect, "refused as %s (%s), expected %s",
	    frame_decode_error_name(f.error), err, frame_decode_error_name(expect));
	ck_assert_str_eq(err, text);
	ck_assert_uint_eq(consumed, 0);
}

START_TEST(test_frame_valid_raw_route_is_accepted)
{
	struct raw r;
	struct frame f;
	size_t consumed;
	char err[ERRLEN];

	/* The baseline the refusal tests alter one thing at a time. */
	raw_route(&r, 0);
	raw_finish(&r);
	ck_assert_int_eq(frame_decode(r.bytes, r.len, 0, &f, &consumed, err,
	    sizeof(err)), 1);
	ck_assert_uint_eq(consumed, r.len);
}
END_TEST

START_TEST(test_frame_refuses_oversize_header_before_payload)
{
	struct raw r;

	raw_header(&r, FRAME_PROTOCOL_VERSION, FRAME_ROUTE, 0);
	r.bytes[0] = 0x00;
	r.bytes[1] = 0x11; /* 0x00110001 = FRAME_MAX_DEFAULT + 1 */
	r.bytes[2] = 0x00;
	r.bytes[3] = 0x01;
	assert_refused(&r, FRAME_HEADER_SIZE, FRAME_DECODE_TOO_LARGE,
	    "frame of 1114113 bytes exceeds the limit of 1114112 bytes");
	/* The length field alone is enough to refuse. */
	assert_refused(&r, 4, FRAME_DECODE_TOO_LARGE,
	    "frame of 1114113 bytes exceeds the limit of 1114112 bytes");

	/* Exactly the limit is fine: only the header so far, need more. */
	struct frame f;
	size_t consumed;
	char err[ERRLEN];
	r.bytes[3] = 0x00;
	ck_assert_int_eq(frame_decode(r.bytes, FRAME_HEADER_SIZE, 0, &f, &consumed,
	    err, sizeof(err)), 0);

	/* The receiver chooses its limit. */
	raw_route(&r, 0);
	raw_finish(&r);
	ck_assert_int_eq(frame_decode(r.bytes, FRAME_HEADER_SIZE, r.len - 1, &f,
	    &consumed, err, sizeof(err)), -1);
	ck_assert_int_eq(f.error, FRAME_DECODE_TOO_LARGE);
	ck_assert_int_eq(frame_decode(r.bytes, r.len, r.len, &f, &consumed, err,
	    sizeof(err)), 1);
}
END_TEST

START_TEST(test_frame_refuses_length_shorter_than_header)
{
	struct raw r;

	raw_header(&r, FRAME_PROTOCOL_VERSION, FRAME_PING, 0);
	r.bytes[3] = 11;
	assert_refused(&r, FRAME_HEADER_SIZE, FRAME_DECODE_SHORT_LENGTH,
	    "frame length 11 is shorter than the 12-byte header");
	r.bytes[3] = 0;
	assert_refused(&r, 4, FRAME_DECODE_SHORT_LENGTH,
	    "frame length 0 is shorter than the 12-byte header");
}
END_TEST

START_TEST(test_frame_refuses_other_protocol_version)
{
	struct raw r;

	raw_route(&r, 0);
	raw_finish(&r);
	r.bytes[4] = FRAME_PROTOCOL_VERSION + 1;
	assert_refused(&r, r.len, FRAME_DECODE_BAD_VERSION, "protocol version 3, expected 2");
	assert_refused(&r, 5, FRAME_DECODE_BAD_VERSION, "protocol version 3, expected 2");
	r.bytes[4] = 0;
	assert_refused(&r, r.len, FRAME_DECODE_BAD_VERSION, "protocol version 0, expected 2");
}
END_TEST

START_TEST(test_frame_refuses_unknown_type)
{
	struct raw r;

	raw_header(&r, FRAME_PROTOCOL_VERSION, 0, 0);
	raw_finish(&r);
	assert_refused(&r, r.len, FRAME_DECODE_UNKNOWN_TYPE, "unknown frame type 0");
	r.bytes[5] = 11;
	assert_refused(&r, 6, FRAME_DECODE_UNKNOWN_TYPE, "unknown frame type 11");
	r.bytes[5] = 255;
	assert_refused(&r, r.len, FRAME_DECODE_UNKNOWN_TYPE, "unknown frame type 255");
	ck_assert(!frame_type_is_known(11));
	ck_assert(frame_type_is_known(FRAME_SASL_RESULT));
}
END_TEST

START_TEST(test_frame_refuses_flags_the_type_does_not_define)
{
	struct raw r;

	raw_route(&r, FRAME_F_DEFAULT_ROUTE | FRAME_F_RESENT);
	raw_finish(&r);
	assert_refused(&r, r.len, FRAME_DECODE_BAD_FLAGS,
	    "ROUTE: flags 0x0001 not defined for this type");
	assert_refused(&r, 8, FRAME_DECODE_BAD_FLAGS,
	    "ROUTE: flags 0x0001 not defined for this type");
	raw_route(&r, 0x8000);
	raw_finish(&r);
	assert_refused(&r, r.len, FRAME_DECODE_BAD_FLAGS,
	    "ROUTE: flags 0x8000 not defined for this type");
}
END_TEST

START_TEST(test_frame_refuses_tag_unknown_for_the_type)
{
	struct raw r;

	raw_route(&r, 0);
	raw_attr(&r, FRAME_TAG_SECRET, "x", 1);
	raw_finish(&r);
	assert_refused(&r, r.len, FRAME_DECODE_UNKNOWN_TAG,
	    "ROUTE: attribute tag 3 (secret) not allowed in this type");

	raw_route(&r, 0);
	raw_attr(&r, 0, "", 0);
	raw_finish(&r);
	assert_refused(&r, r.len, FRAME_DECODE_UNKNOWN_TAG,
	    "ROUTE: attribute tag 0 (unknown) not allowed in this type");

	raw_route(&r, 0);
	raw_attr(&r, 999, "x", 1);
	raw_finish(&r);
	assert_refused(&r, r.len, FRAME_DECODE_UNKNOWN_TAG,
	    "ROUTE: attribute tag 999 (unknown) not allowed in this type");

	raw_header(&r, FRAME_PROTOCOL_VERSION, FRAME_PING, 0);
	raw_str(&r, FRAME_TAG_TO, "sm");
	raw_finish(&r);
	assert_refused(&r, r.len, FRAME_DECODE_UNKNOWN_TAG,
	    "PING: attribute tag 6 (to) not allowed in this type");
}
END_TEST

START_TEST(test_frame_refuses_missing_required_tag)
{
	struct raw r;

	raw_header(&r, FRAME_PROTOCOL_VERSION, FRAME_ROUTE, 0);
	raw_str(&r, FRAME_TAG_FROM, "c2s.1");
	raw_attr(&r, FRAME_TAG_STANZA, "<a/>", 4);
	raw_finish(&r);
	assert_refused(&r, r.len, FRAME_DECODE_MISSING_TAG,
	    "ROUTE: required attribute 'to' is missing");

	raw_header(&r, FRAME_PROTOCOL_VERSION, FRAME_ACK, 0);
	raw_str(&r, FRAME_TAG_FROM, "sm");
	raw_str(&r, FRAME_TAG_TO, "c2s.1");
	raw_finish(&r);
	assert_refused(&r, r.len, FRAME_DECODE_MISSING_TAG,
	    "ACK: required attribute 'ack-seq' is missing");
}
END_TEST

START_TEST(test_frame_refuses_duplicate_tag)
{
	struct raw r;

	raw_route(&r, 0);
	raw_str(&r, FRAME_TAG_TO, "s2s");
	raw_finish(&r);
	assert_refused(&r, r.len, FRAME_DECODE_DUPLICATE_TAG,
	    "ROUTE: attribute 'to' appears more than once");

	/* Optional tags may not repeat either. */
	raw_route(&r, 0);
	raw_str(&r, FRAME_TAG_SESSION_ID, "a");
	raw_str(&r, FRAME_TAG_SESSION_ID, "b");
	raw_finish(&r);
	assert_refused(&r, r.len, FRAME_DECODE_DUPLICATE_TAG,
	    "ROUTE: attribute 'session-id' appears more than once");
}
END_TEST

START_TEST(test_frame_refuses_truncated_attribute)
{
	struct raw r;

	/* The value runs past the frame's end. */
	raw_route(&r, 0);
	raw_attr(&r, FRAME_TAG_ROUTE_KEY, "a@b\0", 4);
	r.bytes[r.len - 5] = 5; /* length 4 -> 5 */
	raw_finish(&r);
	assert_refused(&r, r.len, FRAME_DECODE_TRUNCATED_ATTR,
	    "ROUTE: attribute 'route-key' runs past the end of the frame");

	/* An attribute header cut short. */
	raw_route(&r, 0);
	raw_u16(&r, FRAME_TAG_ROUTE_KEY);
	raw_u16(&r, 0);
	raw_finish(&r);
	assert_refused(&r, r.len, FRAME_DECODE_TRUNCATED_ATTR,
	    "ROUTE: attribute header runs past the end of the frame");

	/* A length near 2^32 must not wrap around. */
	raw_route(&r, 0);
	raw_u16(&r, FRAME_TAG_ROUTE_KEY);
	raw_u32(&r, 0xFFFFFFFFu);
	raw_finish(&r);
	assert_refused(&r, r.len, FRAME_DECODE_TRUNCATED_ATTR,
	    "ROUTE: attribute 'route-key' runs past the end of the frame");
}
END_TEST

START_TEST(test_frame_refuses_u32_of_wrong_size)
{
	struct raw r;

	raw_header(&r, FRAME_PROTOCOL_VERSION, FRAME_PONG, 0);
	raw_attr(&r, FRAME_TAG_REF_SEQ, "\0\0\1", 3);
	raw_finish(&r);
	assert_refused(&r, r.len, FRAME_DECODE_BAD_SIZE,
	    "PONG: attribute 'ref-seq' must be 4 bytes, not 3");

	raw_header(&r, FRAME_PROTOCOL_VERSION, FRAME_PONG, 0);
	raw_attr(&r, FRAME_TAG_REF_SEQ, "\0\0\0\0\1", 5);
	raw_finish(&r);
	assert_refused(&r, r.len, FRAME_DECODE_BAD_SIZE,
	    "PONG: attribute 'ref-seq' must be 4 bytes, not 5");
}
END_TEST

START_TEST(test_frame_refuses_strings_out_of_bounds)
{
	struct raw r;

	/* Empty name (just the NUL) and an over-long mechanism name. */
	raw_route(&r, 0);
	raw_str(&r, FRAME_TAG_SESSION_ID, "");
	raw_finish(&r);
	assert_refused(&r, r.len, FRAME_DECODE_BAD_SIZE,
	    "ROUTE: attribute 'session-id' must be 2 to 65 bytes, not 1");

	raw_header(&r, FRAME_PROTOCOL_VERSION, FRAME_SASL_START, 0);
	raw_str(&r, FRAME_TAG_MECHANISM, "A-MECHANISM-NAME-TOO-LONG");
	raw_finish(&r);
	assert_refused(&r, r.len, FRAME_DECODE_BAD_SIZE,
	    "SASL_START: attribute 'mechanism' must be 2 to 21 bytes, not 26");
}
END_TEST

START_TEST(test_frame_refuses_strings_without_single_final_nul)
{
	struct raw r;

	raw_route(&r, 0);
	raw_attr(&r, FRAME_TAG_ROUTE_KEY, "a@b", 3);
	raw_finish(&r);
	assert_refused(&r, r.len, FRAME_DECODE_BAD_STRING,
	    "ROUTE: string attribute 'route-key' must end with its only NUL byte");

	raw_route(&r, 0);
	raw_attr(&r, FRAME_TAG_ROUTE_KEY, "a\0b\0", 4);
	raw_finish(&r);
	assert_refused(&r, r.len, FRAME_DECODE_BAD_STRING,
	    "ROUTE: string attribute 'route-key' must end with its only NUL byte");
}
END_TEST

START_TEST(test_frame_position_survives_buffer_moving)
{
	struct buf b = BUF_INIT;
	struct frame f;
	size_t consumed;
	char err[ERRLEN];
	static char big[5000];

	/* Unread bytes sit behind a consumed front; growing the buffer
	 * moves them, and the frame begun meanwhile must still be patched. */
	buf_append(&b, "0123456789", 10);
	buf_consume(&b, 6);
	size_t start = frame_begin(&b, FRAME_ROUTE, 0, 3);
	ck_assert_uint_eq(start, 4);
	frame_put_str(&b, FRAME_TAG_FROM, "c2s.1");
	frame_put_str(&b, FRAME_TAG_TO, "sm");
	memset(big, 'x', sizeof(big));
	frame_put(&b, FRAME_TAG_STANZA, big, sizeof(big));
	size_t len = frame_end(&b, start);
	ck_assert_uint_eq(len, buf_used(&b) - 4);
	ck_assert_mem_eq(buf_head(&b), "6789", 4);
	ck_assert_int_eq(decode(buf_head(&b) + 4, len, &f, &consumed, err), 1);
	ck_assert_uint_eq(f.tags[FRAME_TAG_STANZA].len, sizeof(big));
	buf_free(&b);
}
END_TEST

START_TEST(test_frame_abort_drops_a_half_built_frame)
{
	struct buf b = BUF_INIT;

	buf_append(&b, "keep", 4);
	size_t start = frame_begin(&b, FRAME_ROUTE, 0, 3);
	frame_put_str(&b, FRAME_TAG_FROM, "c2s.1");
	frame_abort(&b, start);
	ck_assert_uint_eq(buf_used(&b), 4);
	ck_assert_mem_eq(buf_head(&b), "keep", 4);
	buf_free(&b);
}
END_TEST

/* Encoder misuse is a programming error: the process ends. The buffer is
 * static so that a leak checker does not count it at that exit. */
static struct buf misuse_buf = BUF_INIT;

START_TEST(test_frame_end_refuses_frame_missing_required_tag)
{
	struct buf *b = &misuse_buf;

	size_t start = frame_begin(b, FRAME_ROUTE, 0, 3);
	frame_put_str(b, FRAME_TAG_FROM, "c2s.1");
	frame_put(b, FRAME_TAG_STANZA, "<a/>", 4);
	frame_end(b, start);
}
END_TEST

START_TEST(test_frame_put_str_refuses_non_string_tag)
{
	frame_begin(&misuse_buf, FRAME_PONG, 0, 3);
	frame_put_str(&misuse_buf, FRAME_TAG_REF_SEQ, "12");
}
END_TEST

/* The worked example of doc/component-protocol.md, byte for byte. */
START_TEST(test_frame_matches_the_documented_route_example)
{
	static const uint8_t expect[] = {
		0x00, 0x00, 0x00, 0x4b, 0x02, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07,
		0x00, 0x05, 0x00, 0x00, 0x00, 0x06, 'c', '2', 's', '.', '1', 0x00,
		0x00, 0x06, 0x00, 0x00, 0x00, 0x03, 's', 'm', 0x00,
		0x00, 0x07, 0x00, 0x00, 0x00, 0x13, 'j', 'u', 'l', 'i', 'e', 't', '@',
		'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'c', 'o', 'm', 0x00,
		0x00, 0x09, 0x00, 0x00, 0x00, 0x0b, '<', 'p', 'r', 'e', 's', 'e', 'n',
		'c', 'e', '/', '>',
	};
	struct buf b = BUF_INIT;

	size_t start = frame_begin(&b, FRAME_ROUTE, 0, 7);
	frame_put_str(&b, FRAME_TAG_FROM, "c2s.1");
	frame_put_str(&b, FRAME_TAG_TO, "sm");
	frame_put_str(&b, FRAME_TAG_ROUTE_KEY, "juliet@example.com");
	frame_put(&b, FRAME_TAG_STANZA, "<presence/>", 11);
	ck_assert_uint_eq(frame_end(&b, start), sizeof(expect));
	ck_assert_mem_eq(buf_head(&b), expect, sizeof(expect));
	buf_free(&b);
}
END_TEST

START_TEST(test_frame_names_types_tags_and_errors)
{
	ck_assert_str_eq(frame_type_name(FRAME_ROUTE), "ROUTE");
	ck_assert_str_eq(frame_type_name(FRAME_SESSION_ENDED), "SESSION_ENDED");
	ck_assert_str_eq(frame_type_name(200), "unknown");
	ck_assert_str_eq(frame_tag_name(FRAME_TAG_ROUTE_KEY), "route-key");
	ck_assert_str_eq(frame_tag_name(0), "unknown");
	ck_assert_str_eq(frame_decode_error_name(FRAME_DECODE_DUPLICATE_TAG),
	    "duplicate-tag");
	ck_assert_str_eq(frame_error_code_name(FRAME_ERR_NO_ROUTE), "no-route");
	ck_assert_str_eq(frame_error_code_name(0), "unknown");
	ck_assert_str_eq(frame_sasl_status_name(FRAME_SASL_NOT_AUTHORIZED),
	    "not-authorized");
	ck_assert_str_eq(frame_sasl_status_name(12), "unknown");
	ck_assert_str_eq(frame_session_reason_name(FRAME_SESSION_REPLACED), "replaced");

	ck_assert(frame_type_is_routed(FRAME_ROUTE));
	ck_assert(frame_type_is_routed(FRAME_ACK));
	ck_assert(frame_type_is_routed(FRAME_SASL_START));
	ck_assert(!frame_type_is_routed(FRAME_HELLO));
	ck_assert(!frame_type_is_routed(FRAME_ERROR));
	ck_assert(!frame_type_is_routed(FRAME_BIND));
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("frame");
	TCase *tc = tcase_create("frame");

	tcase_add_loop_test(tc, test_frame_round_trips_every_type, 0,
	    (int)ARRAY_LEN(cases));
	tcase_add_test(tc, test_frame_getters_report_absent_attributes);
	tcase_add_test(tc, test_frame_iterates_repeated_ack_seqs);
	tcase_add_test(tc, test_frame_fed_one_byte_at_a_time_needs_more_until_complete);
	tcase_add_test(tc, test_frame_decodes_two_frames_back_to_back);
	tcase_add_test(tc, test_frame_valid_raw_route_is_accepted);
	tcase_add_test(tc, test_frame_refuses_oversize_header_before_payload);
	tcase_add_test(tc, test_frame_refuses_length_shorter_than_header);
	tcase_add_test(tc, test_frame_refuses_other_protocol_version);
	tcase_add_test(tc, test_frame_refuses_unknown_type);
	tcase_add_test(tc, test_frame_refuses_flags_the_type_does_not_define);
	tcase_add_test(tc, test_frame_refuses_tag_unknown_for_the_type);
	tcase_add_test(tc, test_frame_refuses_missing_required_tag);
	tcase_add_test(tc, test_frame_refuses_duplicate_tag);
	tcase_add_test(tc, test_frame_refuses_truncated_attribute);
	tcase_add_test(tc, test_frame_refuses_u32_of_wrong_size);
	tcase_add_test(tc, test_frame_refuses_strings_out_of_bounds);
	tcase_add_test(tc, test_frame_refuses_strings_without_single_final_nul);
	tcase_add_test(tc, test_frame_position_survives_buffer_moving);
	tcase_add_test(tc, test_frame_abort_drops_a_half_built_frame);
	tcase_add_exit_test(tc, test_frame_end_refuses_frame_missing_required_tag,
	    EXIT_FAILURE);
	tcase_add_exit_test(tc, test_frame_put_str_refuses_non_string_tag, EXIT_FAILURE);
	tcase_add_test(tc, test_frame_matches_the_documented_route_example);
	tcase_add_test(tc, test_frame_names_types_tags_and_errors);
	suite_add_tcase(s, tc);
	return s;
}
