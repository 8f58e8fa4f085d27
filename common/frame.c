/*
 * frame.c — the internal protocol's frame codec (see frame.h and
 * doc/component-protocol.md).
 *
 * Why our own codec and not protobuf, CBOR or msgpack: the router reads a
 * header and two names and copies the rest, at the rate of every stanza in
 * the system. A fixed header plus tag-length-value attributes is what
 * OpenBSD's imsg and netlink do: decoding is one pass over the bytes with no
 * allocation and no copy, the checks fit in one table per frame type, and
 * the whole format is a page of documentation. A general serializer would
 * bring a schema compiler or a dependency for the same result.
 *
 * The tables below are the specification in code: per tag its value kind
 * and size bounds, per frame type the flags and tags it takes. Keep them in
 * step with the document and bump FRAME_PROTOCOL_VERSION on any change.
 *
 * Must not: allocate while decoding, log (except log_fatal when the encoder
 * or a typed getter is misused), or look inside stanza bytes.
 */
#include <stdio.h>
#include <string.h>

#include "frame.h"
#include "jid.h"
#include "log.h"

enum value_kind {
	KIND_STR = 1,  /* text with its terminating NUL, no other NUL */
	KIND_BYTES,
	KIND_U32,      /* big-endian, exactly 4 bytes */
};

struct tag_spec {
	const char *name;
	enum value_kind kind;
	uint32_t min, max; /* value length in bytes (for strings: with the NUL) */
};

#define NAME_MAX_LEN (JID_PART_MAX + 1)   /* a domain and its NUL */
#define JID_MAX_LEN (JID_STRING_MAX + 1)   /* a full JID and its NUL */
#define BYTES_UNBOUNDED UINT32_MAX

static const struct tag_spec tag_specs[FRAME_TAG_MAX + 1] = {
	[FRAME_TAG_NAME] = { "name", KIND_STR, 2, NAME_MAX_LEN },
	[FRAME_TAG_ROLE] = { "role", KIND_STR, 2, 33 },
	[FRAME_TAG_SECRET] = { "secret", KIND_BYTES, 1, 1024 },
	[FRAME_TAG_PID] = { "pid", KIND_U32, 4, 4 },
	[FRAME_TAG_FROM] = { "from", KIND_STR, 2, NAME_MAX_LEN },
	[FRAME_TAG_TO] = { "to", KIND_STR, 2, NAME_MAX_LEN },
	[FRAME_TAG_ROUTE_KEY] = { "route-key", KIND_STR, 2, JID_MAX_LEN },
	[FRAME_TAG_SESSION_ID] = { "session-id", KIND_STR, 2, 65 },
	[FRAME_TAG_STANZA] = { "stanza", KIND_BYTES, 1, BYTES_UNBOUNDED },
	[FRAME_TAG_CODE] = { "code", KIND_U32, 4, 4 },
	[FRAME_TAG_TEXT] = { "text", KIND_STR, 1, 1024 },
	[FRAME_TAG_REF_SEQ] = { "ref-seq", KIND_U32, 4, 4 },
	[FRAME_TAG_REF_TO] = { "ref-to", KIND_STR, 2, NAME_MAX_LEN },
	[FRAME_TAG_ACK_SEQ] = { "ack-seq", KIND_U32, 4, 4 },
	[FRAME_TAG_JID] = { "jid", KIND_STR, 2, JID_MAX_LEN },
	[FRAME_TAG_HOST] = { "host", KIND_STR, 2, NAME_MAX_LEN },
	[FRAME_TAG_CLIENT_ADDR] = { "client-addr", KIND_STR, 2, 128 },
	[FRAME_TAG_MECHANISM] = { "mechanism", KIND_STR, 2, 21 },
	[FRAME_TAG_SASL_DATA] = { "sasl-data", KIND_BYTES, 0, BYTES_UNBOUNDED },
	[FRAME_TAG_CB_TYPE] = { "cb-type", KIND_STR, 2, 64 },
	[FRAME_TAG_CB_DATA] = { "cb-data", KIND_BYTES, 1, 1024 },
	[FRAME_TAG_PEER_CERT] = { "peer-cert", KIND_BYTES, 1, 65536 },
	[FRAME_TAG_STATUS] = { "status", KIND_U32, 4, 4 },
};

/* How a tag may appear in a frame type; 0 means not at all. */
enum presence {
	OPT = 1,      /* at most once */
	REQ,          /* exactly once */
	REPEAT,       /* any number of times */
	REQ_REPEAT,   /* at least once */
};

struct type_spec {
	const char *name;
	uint16_t flags;
	uint8_t tags[FRAME_TAG_MAX + 1];
};

#define ROUTED_FLAGS FRAME_F_RESENT
/* The types a sender may keep until acknowledged. */
#define KEPT_FLAGS (FRAME_F_RESENT | FRAME_F_KEPT)

static const struct type_spec type_specs[256] = {
	[FRAME_HELLO] = { "HELLO", 0, {
		[FRAME_TAG_NAME] = REQ, [FRAME_TAG_ROLE] = REQ,
		[FRAME_TAG_SECRET] = REQ, [FRAME_TAG_PID] = OPT } },
	[FRAME_HELLO_OK] = { "HELLO_OK", 0, {
		[FRAME_TAG_NAME] = REQ } },
	[FRAME_ERROR] = { "ERROR", 0, {
		[FRAME_TAG_CODE] = REQ, [FRAME_TAG_TEXT] = OPT,
		[FRAME_TAG_REF_SEQ] = OPT, [FRAME_TAG_REF_TO] = OPT,
		[FRAME_TAG_SESSION_ID] = OPT, [FRAME_TAG_STANZA] = OPT } },
	[FRAME_BIND] = { "BIND", FRAME_F_DEFAULT_ROUTE | FRAME_F_SHARED, {
		[FRAME_TAG_NAME] = REQ } },
	[FRAME_BIND_OK] = { "BIND_OK", FRAME_F_DEFAULT_ROUTE | FRAME_F_SHARED, {
		[FRAME_TAG_NAME] = REQ } },
	[FRAME_UNBIND] = { "UNBIND", 0, {
		[FRAME_TAG_NAME] = REQ } },
	[FRAME_PEER_UP] = { "PEER_UP", FRAME_F_DEFAULT_ROUTE | FRAME_F_SHARED, {
		[FRAME_TAG_NAME] = REQ, [FRAME_TAG_ROLE] = OPT } },
	[FRAME_PEER_DOWN] = { "PEER_DOWN", 0, {
		[FRAME_TAG_NAME] = REQ } },
	[FRAME_PING] = { "PING", 0, { 0 } },
	[FRAME_PONG] = { "PONG", 0, {
		[FRAME_TAG_REF_SEQ] = REQ } },
	[FRAME_ROUTE] = { "ROUTE", KEPT_FLAGS, {
		[FRAME_TAG_FROM] = REQ, [FRAME_TAG_TO] = REQ,
		[FRAME_TAG_ROUTE_KEY] = OPT, [FRAME_TAG_SESSION_ID] = OPT,
		[FRAME_TAG_STANZA] = REQ } },
	[FRAME_ACK] = { "ACK", FRAME_F_REJECTED, {
		[FRAME_TAG_FROM] = REQ, [FRAME_TAG_TO] = REQ,
		[FRAME_TAG_ACK_SEQ] = REQ_REPEAT } },
	[FRAME_SESSION_START] = { "SESSION_START", KEPT_FLAGS | FRAME_F_REANNOUNCE, {
		[FRAME_TAG_FROM] = REQ, [FRAME_TAG_TO] = REQ,
		[FRAME_TAG_SESSION_ID] = REQ, [FRAME_TAG_JID] = REQ,
		[FRAME_TAG_CLIENT_ADDR] = OPT, [FRAME_TAG_STANZA] = OPT } },
	[FRAME_SESSION_STARTED] = { "SESSION_STARTED", ROUTED_FLAGS, {
		[FRAME_TAG_FROM] = REQ, [FRAME_TAG_TO] = REQ,
		[FRAME_TAG_SESSION_ID] = REQ, [FRAME_TAG_JID] = REQ } },
	[FRAME_SESSION_END] = { "SESSION_END", KEPT_FLAGS, {
		[FRAME_TAG_FROM] = REQ, [FRAME_TAG_TO] = REQ,
		[FRAME_TAG_SESSION_ID] = REQ, [FRAME_TAG_JID] = REQ,
		[FRAME_TAG_CODE] = OPT, [FRAME_TAG_TEXT] = OPT } },
	[FRAME_SESSION_ENDED] = { "SESSION_ENDED", ROUTED_FLAGS, {
		[FRAME_TAG_FROM] = REQ, [FRAME_TAG_TO] = REQ,
		[FRAME_TAG_SESSION_ID] = REQ, [FRAME_TAG_JID] = REQ,
		[FRAME_TAG_CODE] = OPT, [FRAME_TAG_TEXT] = OPT } },
	[FRAME_USER_DELETED] = { "USER_DELETED", KEPT_FLAGS, {
		[FRAME_TAG_FROM] = REQ, [FRAME_TAG_TO] = REQ, [FRAME_TAG_JID] = REQ } },
	[FRAME_SASL_START] = { "SASL_START", 0, {
		[FRAME_TAG_FROM] = REQ, [FRAME_TAG_TO] = REQ,
		[FRAME_TAG_SESSION_ID] = REQ, [FRAME_TAG_HOST] = REQ,
		[FRAME_TAG_MECHANISM] = REQ, [FRAME_TAG_SASL_DATA] = OPT,
		[FRAME_TAG_CB_TYPE] = REPEAT, [FRAME_TAG_CB_DATA] = REPEAT,
		[FRAME_TAG_CLIENT_ADDR] = OPT, [FRAME_TAG_PEER_CERT] = OPT } },
	[FRAME_SASL_STEP] = { "SASL_STEP", FRAME_F_ABORT, {
		[FRAME_TAG_FROM] = REQ, [FRAME_TAG_TO] = REQ,
		[FRAME_TAG_SESSION_ID] = REQ, [FRAME_TAG_SASL_DATA] = OPT } },
	[FRAME_SASL_RESULT] = { "SASL_RESULT", 0, {
		[FRAME_TAG_FROM] = REQ, [FRAME_TAG_TO] = REQ,
		[FRAME_TAG_SESSION_ID] = REQ, [FRAME_TAG_STATUS] = REQ,
		[FRAME_TAG_SASL_DATA] = OPT, [FRAME_TAG_JID] = OPT,
		[FRAME_TAG_TEXT] = OPT } },
};

static const struct type_spec *type_spec(int type)
{
	if (type < 0 || type >= (int)ARRAY_LEN(type_specs) || type_specs[type].name == NULL)
		return NULL;
	return &type_specs[type];
}

static const struct tag_spec *tag_spec(int tag)
{
	if (tag <= 0 || tag > FRAME_TAG_MAX)
		return NULL;
	return &tag_specs[tag];
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* --- decoding --------------------------------------------------------------- */

static int refuse(struct frame *f, enum frame_decode_error error, char *err,
    size_t errlen, const char *fmt, ...) PRINTF_LIKE(5, 6);

static int refuse(struct frame *f, enum frame_decode_error error, char *err,
    size_t errlen, const char *fmt, ...)
{
	f->error = error;
	if (err != NULL && errlen > 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int check_value(struct frame *f, const struct type_spec *ts,
    const struct tag_spec *spec, const uint8_t *v, uint32_t len,
    char *err, size_t errlen)
{
	if (len < spec->min || len > spec->max) {
		if (spec->min == spec->max)
			return refuse(f, FRAME_DECODE_BAD_SIZE, err, errlen,
			    "%s: attribute '%s' must be %u bytes, not %u",
			    ts->name, spec->name, spec->min, len);
		return refuse(f, FRAME_DECODE_BAD_SIZE, err, errlen,
		    "%s: attribute '%s' must be %u to %u bytes, not %u",
		    ts->name, spec->name, spec->min, spec->max, len);
	}
	if (spec->kind == KIND_STR &&
	    (len == 0 || v[len - 1] != '\0' || memchr(v, '\0', len - 1) != NULL))
		return refuse(f, FRAME_DECODE_BAD_STRING, err, errlen,
		    "%s: string attribute '%s' must end with its only NUL byte",
		    ts->name, spec->name);
	return 0;
}

int frame_decode(const void *data, size_t len, size_t max_frame, struct frame *f,
    size_t *consumed, char *err, size_t errlen)
{
	const uint8_t *p = data;

	*consumed = 0;
	f->error = FRAME_DECODE_OK;
	if (max_frame == 0)
		max_frame = FRAME_MAX_DEFAULT;
	if (max_frame > UINT32_MAX)
		max_frame = UINT32_MAX;

	/* Judge the header field by field as it arrives: a peer announcing a
	 * frame we will refuse is told so before it sends the payload. */
	if (len < 4)
		return 0;
	f->length = get_be32(p);
	if (f->length < FRAME_HEADER_SIZE)
		return refuse(f, FRAME_DECODE_SHORT_LENGTH, err, errlen,
		    "frame length %u is shorter than the %d-byte header",
		    f->length, FRAME_HEADER_SIZE);
	if (f->length > max_frame)
		return refuse(f, FRAME_DECODE_TOO_LARGE, err, errlen,
		    "frame of %u bytes exceeds the limit of %zu bytes",
		    f->length, max_frame);
	if (len < 5)
		return 0;
	f->version = p[4];
	if (f->version != FRAME_PROTOCOL_VERSION)
		return refuse(f, FRAME_DECODE_BAD_VERSION, err, errlen,
		    "protocol version %u, expected %d", f->version,
		    FRAME_PROTOCOL_VERSION);
	if (len < 6)
		return 0;
	const struct type_spec *ts = type_spec(p[5]);
	if (ts == NULL)
		return refuse(f, FRAME_DECODE_UNKNOWN_TYPE, err, errlen,
		    "unknown frame type %u", p[5]);
	f->type = (enum frame_type)p[5];
	if (len < 8)
		return 0;
	f->flags = get_be16(p + 6);
	if ((f->flags & ~ts->flags) != 0)
		return refuse(f, FRAME_DECODE_BAD_FLAGS, err, errlen,
		    "%s: flags 0x%04x not defined for this type", ts->name,
		    f->flags & ~ts->flags);
	if (len < f->length)
		return 0;
	f->seq = get_be32(p + 8);
	f->payload = p + FRAME_HEADER_SIZE;
	f->payload_len = f->length - FRAME_HEADER_SIZE;
	memset(f->tags, 0, sizeof(f->tags));

	size_t off = 0;
	while (off < f->payload_len) {
		const uint8_t *a = f->payload + off;
		size_t left = f->payload_len - off;

		if (left < FRAME_ATTR_HEADER_SIZE)
			return refuse(f, FRAME_DECODE_TRUNCATED_ATTR, err, errlen,
			    "%s: attribute header runs past the end of the frame",
			    ts->name);
		uint16_t tag = get_be16(a);
		uint32_t vlen = get_be32(a + 2);
		const struct tag_spec *spec = tag_spec(tag);
		if (spec == NULL || ts->tags[tag] == 0)
			return refuse(f, FRAME_DECODE_UNKNOWN_TAG, err, errlen,
			    "%s: attribute tag %u (%s) not allowed in this type",
			    ts->name, tag, frame_tag_name(tag));
		if (vlen > left - FRAME_ATTR_HEADER_SIZE)
			return refuse(f, FRAME_DECODE_TRUNCATED_ATTR, err, errlen,
			    "%s: attribute '%s' runs past the end of the frame",
			    ts->name, spec->name);
		const uint8_t *v = a + FRAME_ATTR_HEADER_SIZE;
		if (f->tags[tag].count > 0 &&
		    (ts->tags[tag] == OPT || ts->tags[tag] == REQ))
			return refuse(f, FRAME_DECODE_DUPLICATE_TAG, err, errlen,
			    "%s: attribute '%s' appears more than once",
			    ts->name, spec->name);
		if (check_value(f, ts, spec, v, vlen, err, errlen) == -1)
			return -1;
		if (f->tags[tag].count++ == 0) {
			f->tags[tag].data = v;
			f->tags[tag].len = vlen;
		}
		off += FRAME_ATTR_HEADER_SIZE + vlen;
	}

	for (int tag = 1; tag <= FRAME_TAG_MAX; tag++)
		if ((ts->tags[tag] == REQ || ts->tags[tag] == REQ_REPEAT) &&
		    f->tags[tag].count == 0)
			return refuse(f, FRAME_DECODE_MISSING_TAG, err, errlen,
			    "%s: required attribute '%s' is missing",
			    ts->name, tag_specs[tag].name);

	*consumed = f->length;
	return 1;
}

/* --- getters -------------------------------------------------------------------- */

bool frame_has(const struct frame *f, enum frame_tag tag)
{
	return frame_count(f, tag) > 0;
}

size_t frame_count(const struct frame *f, enum frame_tag tag)
{
	if (tag_spec(tag) == NULL)
		return 0;
	return f->tags[tag].count;
}

bool frame_get(const struct frame *f, enum frame_tag tag, const void **data,
    size_t *len)
{
	if (!frame_has(f, tag))
		return false;
	*data = f->tags[tag].data;
	*len = f->tags[tag].len;
	return true;
}

const char *frame_get_str(const struct frame *f, enum frame_tag tag, size_t *len)
{
	const struct tag_spec *spec = tag_spec(tag);

	if (spec == NULL || spec->kind != KIND_STR)
		log_fatal("frame_get_str on non-string attribute %d (%s)", tag,
		    frame_tag_name(tag));
	if (f->tags[tag].count == 0)
		return NULL;
	/* The decoder made sure the value ends with its only NUL. */
	if (len != NULL)
		*len = f->tags[tag].len - 1;
	return (const char *)f->tags[tag].data;
}

bool frame_get_u32(const struct frame *f, enum frame_tag tag, uint32_t *value)
{
	const struct tag_spec *spec = tag_spec(tag);

	if (spec == NULL || spec->kind != KIND_U32)
		log_fatal("frame_get_u32 on non-u32 attribute %d (%s)", tag,
		    frame_tag_name(tag));
	if (f->tags[tag].count == 0)
		return false;
	*value = get_be32(f->tags[tag].data);
	return true;
}

bool frame_next(const struct frame *f, size_t *cursor, struct frame_attr *attr)
{
	/* Only called on decoded frames, whose attributes are all sound. */
	if (*cursor >= f->payload_len)
		return false;
	const uint8_t *a = f->payload + *cursor;
	attr->tag = (enum frame_tag)get_be16(a);
	attr->len = get_be32(a + 2);
	attr->data = a + FRAME_ATTR_HEADER_SIZE;
	*cursor += FRAME_ATTR_HEADER_SIZE + attr->len;
	return true;
}

bool frame_next_tag(const struct frame *f, enum frame_tag tag, size_t *cursor,
    struct frame_attr *attr)
{
	while (frame_next(f, cursor, attr))
		if (attr->tag == tag)
			return true;
	return false;
}

/* --- encoding --------------------------------------------------------------------- */

size_t frame_begin(struct buf *b, enum frame_type type, uint16_t flags, uint32_t seq)
{
	uint8_t h[FRAME_HEADER_SIZE];
	size_t start = buf_used(b);

	if (type_spec(type) == NULL)
		log_fatal("frame_begin: unknown frame type %d", (int)type);
	put_be32(h, 0); /* patched by frame_end */
	h[4] = FRAME_PROTOCOL_VERSION;
	h[5] = (uint8_t)type;
	put_be16(h + 6, flags);
	put_be32(h + 8, seq);
	buf_append(b, h, sizeof(h));
	return start;
}

void frame_put(struct buf *b, enum frame_tag tag, const void *data, size_t len)
{
	uint8_t h[FRAME_ATTR_HEADER_SIZE];

	if (tag_spec(tag) == NULL)
		log_fatal("frame_put: unknown attribute tag %d", (int)tag);
	if (len > UINT32_MAX - FRAME_HEADER_SIZE - FRAME_ATTR_HEADER_SIZE)
		log_fatal("frame_put: attribute '%s' of %zu bytes is too large",
		    frame_tag_name(tag), len);
	put_be16(h, (uint16_t)tag);
	put_be32(h + 2, (uint32_t)len);
	buf_append(b, h, sizeof(h));
	buf_append(b, data, len);
}

void frame_put_strn(struct buf *b, enum frame_tag tag, const char *s, size_t len)
{
	uint8_t h[FRAME_ATTR_HEADER_SIZE];
	const struct tag_spec *spec = tag_spec(tag);

	if (spec == NULL || spec->kind != KIND_STR)
		log_fatal("frame_put_str on non-string attribute %d (%s)", (int)tag,
		    frame_tag_name(tag));
	if (len > UINT32_MAX - FRAME_HEADER_SIZE - FRAME_ATTR_HEADER_SIZE - 1)
		log_fatal("frame_put_str: attribute '%s' of %zu bytes is too large",
		    spec->name, len);
	put_be16(h, (uint16_t)tag);
	put_be32(h + 2, (uint32_t)(len + 1));
	buf_append(b, h, sizeof(h));
	buf_append(b, s, len);
	buf_append(b, "", 1);
}

void frame_put_str(struct buf *b, enum frame_tag tag, const char *s)
{
	frame_put_strn(b, tag, s, strlen(s));
}

void frame_put_u32(struct buf *b, enum frame_tag tag, uint32_t value)
{
	uint8_t v[4];
	const struct tag_spec *spec = tag_spec(tag);

	if (spec == NULL || spec->kind != KIND_U32)
		log_fatal("frame_put_u32 on non-u32 attribute %d (%s)", (int)tag,
		    frame_tag_name(tag));
	put_be32(v, value);
	frame_put(b, tag, v, sizeof(v));
}

size_t frame_end(struct buf *b, size_t start)
{
	if (start > buf_used(b) || buf_used(b) - start < FRAME_HEADER_SIZE)
		log_fatal("frame_end: no frame begun at %zu", start);
	size_t length = buf_used(b) - start;
	if (length > UINT32_MAX)
		log_fatal("frame_end: frame of %zu bytes is too large", length);

	uint8_t *h = (uint8_t *)b->data + b->off + start;
	put_be32(h, (uint32_t)length);

	/* The sender holds itself to the receiver's rules: the decoder is the
	 * one definition of a valid frame. */
	struct frame f;
	size_t consumed;
	char err[ERRLEN];
	if (frame_decode(h, length, UINT32_MAX, &f, &consumed, err, sizeof(err)) != 1)
		log_fatal("frame_end: invalid frame built: %s", err);
	return length;
}

void frame_abort(struct buf *b, size_t start)
{
	if (start > buf_used(b))
		log_fatal("frame_abort: no frame begun at %zu", start);
	b->len = b->off + start;
	if (b->len < b->cap)
		b->data[b->len] = '\0';
}

/* --- names ------------------------------------------------------------------------ */

bool frame_type_is_known(int type)
{
	return type_spec(type) != NULL;
}

bool frame_type_is_routed(enum frame_type type)
{
	const struct type_spec *ts = type_spec(type);

	return ts != NULL && ts->tags[FRAME_TAG_TO] != 0;
}

const char *frame_type_name(int type)
{
	const struct type_spec *ts = type_spec(type);

	return ts ? ts->name : "unknown";
}

const char *frame_tag_name(int tag)
{
	const struct tag_spec *spec = tag_spec(tag);

	return spec ? spec->name : "unknown";
}

const char *frame_decode_error_name(enum frame_decode_error error)
{
	static const char *const names[] = {
		[FRAME_DECODE_OK] = "ok",
		[FRAME_DECODE_SHORT_LENGTH] = "short-length",
		[FRAME_DECODE_TOO_LARGE] = "too-large",
		[FRAME_DECODE_BAD_VERSION] = "bad-version",
		[FRAME_DECODE_UNKNOWN_TYPE] = "unknown-type",
		[FRAME_DECODE_BAD_FLAGS] = "bad-flags",
		[FRAME_DECODE_TRUNCATED_ATTR] = "truncated-attribute",
		[FRAME_DECODE_UNKNOWN_TAG] = "unknown-tag",
		[FRAME_DECODE_DUPLICATE_TAG] = "duplicate-tag",
		[FRAME_DECODE_BAD_SIZE] = "bad-size",
		[FRAME_DECODE_BAD_STRING] = "bad-string",
		[FRAME_DECODE_MISSING_TAG] = "missing-tag",
	};

	if ((size_t)error >= ARRAY_LEN(names) || names[error] == NULL)
		return "unknown";
	return names[error];
}

const char *frame_error_code_name(uint32_t code)
{
	static const char *const names[] = {
		[FRAME_ERR_PROTOCOL] = "protocol",
		[FRAME_ERR_NOT_AUTHORIZED] = "not-authorized",
		[FRAME_ERR_CONFLICT] = "conflict",
		[FRAME_ERR_NOT_ALLOWED] = "not-allowed",
		[FRAME_ERR_NO_ROUTE] = "no-route",
		[FRAME_ERR_PEER_GONE] = "peer-gone",
		[FRAME_ERR_OVERLOADED] = "overloaded",
		[FRAME_ERR_INTERNAL] = "internal",
		[FRAME_ERR_AWAY] = "away",
		[FRAME_ERR_REJECTED] = "rejected",
	};

	if (code >= ARRAY_LEN(names) || names[code] == NULL)
		return "unknown";
	return names[code];
}

const char *frame_sasl_status_name(uint32_t status)
{
	/* The RFC 6120 §6.5 condition element names, ready for a <failure/>. */
	static const char *const names[] = {
		[FRAME_SASL_SUCCESS] = "success",
		[FRAME_SASL_ABORTED] = "aborted",
		[FRAME_SASL_ACCOUNT_DISABLED] = "account-disabled",
		[FRAME_SASL_CREDENTIALS_EXPIRED] = "credentials-expired",
		[FRAME_SASL_ENCRYPTION_REQUIRED] = "encryption-required",
		[FRAME_SASL_INCORRECT_ENCODING] = "incorrect-encoding",
		[FRAME_SASL_INVALID_AUTHZID] = "invalid-authzid",
		[FRAME_SASL_INVALID_MECHANISM] = "invalid-mechanism",
		[FRAME_SASL_MALFORMED_REQUEST] = "malformed-request",
		[FRAME_SASL_MECHANISM_TOO_WEAK] = "mechanism-too-weak",
		[FRAME_SASL_NOT_AUTHORIZED] = "not-authorized",
		[FRAME_SASL_TEMPORARY_AUTH_FAILURE] = "temporary-auth-failure",
	};

	if (status >= ARRAY_LEN(names) || names[status] == NULL)
		return "unknown";
	return names[status];
}

const char *frame_session_reason_name(uint32_t reason)
{
	static const char *const names[] = {
		[FRAME_SESSION_CLOSED] = "closed",
		[FRAME_SESSION_CONNECTION_LOST] = "connection-lost",
		[FRAME_SESSION_REPLACED] = "replaced",
		[FRAME_SESSION_REFUSED] = "refused",
		[FRAME_SESSION_ACCOUNT_REMOVED] = "account-removed",
		[FRAME_SESSION_KICKED] = "kicked",
		[FRAME_SESSION_SHUTDOWN] = "shutdown",
	};

	if (reason >= ARRAY_LEN(names) || names[reason] == NULL)
		return "unknown";
	return names[reason];
}
