/*
 * frame.h — the internal protocol's frame codec: the one place that knows
 * the byte layout of what Parley processes (router, c2s, sm, auth, s2s)
 * say to each other. doc/component-protocol.md is the specification; this
 * header and frame.c must agree with it.
 *
 * A frame is a 12-byte header (big-endian: u32 length of the whole frame,
 * u8 version, u8 type, u16 flags, u32 sequence number) followed by
 * attributes (u16 tag, u32 length, value). Each frame type has a table of
 * the tags it takes — required, optional, repeatable — and the decoder
 * refuses any frame that breaks its table, so a handler can rely on what
 * the table promises without checking again.
 *
 * Strings travel with their terminating NUL (counted in the attribute
 * length) so that a decoded string is usable in place; the decoder makes
 * sure there is exactly one NUL, at the end.
 *
 * Must not: log (except log_fatal when the encoder or a typed getter is
 * misused: a programming error), allocate while decoding, or interpret
 * stanza bytes.
 */
#ifndef PARLEY_FRAME_H
#define PARLEY_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Bump on any change to the layout, the types, the tags or their tables. */
#define FRAME_PROTOCOL_VERSION 2

#define FRAME_HEADER_SIZE 12
#define FRAME_ATTR_HEADER_SIZE 6
/* A receiver's default limit: a 1 MiB stanza plus room for the addresses. */
#define FRAME_MAX_DEFAULT (1024 * 1024 + 64 * 1024)

enum frame_type {
	/* Between a peer and the router itself. */
	FRAME_HELLO = 1,
	FRAME_HELLO_OK = 2,
	FRAME_ERROR = 3,
	FRAME_BIND = 4,
	FRAME_BIND_OK = 5,
	FRAME_UNBIND = 6,
	FRAME_PEER_UP = 7,
	FRAME_PEER_DOWN = 8,
	FRAME_PING = 9,
	FRAME_PONG = 10,
	/* Routed: they carry FRAME_TAG_TO and the router forwards them. */
	FRAME_ROUTE = 16,
	FRAME_ACK = 17,
	FRAME_SESSION_START = 32,
	FRAME_SESSION_STARTED = 33,
	FRAME_SESSION_END = 34,
	FRAME_SESSION_ENDED = 35,
	FRAME_USER_DELETED = 36,
	FRAME_SASL_START = 48,
	FRAME_SASL_STEP = 49,
	FRAME_SASL_RESULT = 50,
};

/* Header flags; each frame type accepts only the ones its table names. */
enum {
	FRAME_F_DEFAULT_ROUTE = 0x0001, /* BIND, BIND_OK, PEER_UP */
	FRAME_F_SHARED = 0x0002,        /* BIND, BIND_OK, PEER_UP */
	FRAME_F_RESENT = 0x0004,        /* routed types: may be a duplicate */
	FRAME_F_REANNOUNCE = 0x0008,    /* SESSION_START: sm restarted */
	FRAME_F_ABORT = 0x0010,         /* SASL_STEP: the client aborted */
	FRAME_F_KEPT = 0x0020,          /* ROUTE, SESSION_START/END, USER_DELETED: kept until ACK */
	FRAME_F_REJECTED = 0x0040,      /* ACK: not taken; the sender gets it back */
};

enum frame_tag {
	FRAME_TAG_NAME = 1,         /* str: a routing name */
	FRAME_TAG_ROLE = 2,         /* str: "c2s", "sm", "auth", "s2s"… */
	FRAME_TAG_SECRET = 3,       /* bytes: the shared secret */
	FRAME_TAG_PID = 4,          /* u32 */
	FRAME_TAG_FROM = 5,         /* str: source name */
	FRAME_TAG_TO = 6,           /* str: destination name */
	FRAME_TAG_ROUTE_KEY = 7,    /* str: keeps one user on one binder */
	FRAME_TAG_SESSION_ID = 8,   /* str */
	FRAME_TAG_STANZA = 9,       /* bytes: serialized stanza */
	FRAME_TAG_CODE = 10,        /* u32 */
	FRAME_TAG_TEXT = 11,        /* str: human-readable */
	FRAME_TAG_REF_SEQ = 12,     /* u32: seq of the frame answered */
	FRAME_TAG_REF_TO = 13,      /* str: destination of the frame answered */
	FRAME_TAG_ACK_SEQ = 14,     /* u32, repeatable */
	FRAME_TAG_JID = 15,         /* str */
	FRAME_TAG_HOST = 16,        /* str: domain the client asked for */
	FRAME_TAG_CLIENT_ADDR = 17, /* str: "192.0.2.1:5222", "[2001:db8::1]:5222" */
	FRAME_TAG_MECHANISM = 18,   /* str */
	FRAME_TAG_SASL_DATA = 19,   /* bytes, may be empty */
	FRAME_TAG_CB_TYPE = 20,     /* str: "tls-exporter", "tls-server-end-point" */
	FRAME_TAG_CB_DATA = 21,     /* bytes */
	FRAME_TAG_PEER_CERT = 22,   /* bytes: client certificate, DER */
	FRAME_TAG_STATUS = 23,      /* u32: enum frame_sasl_status */
};
#define FRAME_TAG_MAX 23

/* What the decoder found wrong (struct frame's `error`). */
enum frame_decode_error {
	FRAME_DECODE_OK = 0,
	FRAME_DECODE_SHORT_LENGTH,   /* length < FRAME_HEADER_SIZE */
	FRAME_DECODE_TOO_LARGE,      /* length > the receiver's limit */
	FRAME_DECODE_BAD_VERSION,
	FRAME_DECODE_UNKNOWN_TYPE,
	FRAME_DECODE_BAD_FLAGS,      /* a flag the type does not define */
	FRAME_DECODE_TRUNCATED_ATTR, /* an attribute runs past the frame end */
	FRAME_DECODE_UNKNOWN_TAG,    /* a tag the type does not take */
	FRAME_DECODE_DUPLICATE_TAG,  /* a non-repeatable tag twice */
	FRAME_DECODE_BAD_SIZE,       /* a value of the wrong length for its tag */
	FRAME_DECODE_BAD_STRING,     /* a string not ending in its only NUL */
	FRAME_DECODE_MISSING_TAG,    /* a required tag absent */
};

/* CODE of an ERROR frame. */
enum frame_error_code {
	FRAME_ERR_PROTOCOL = 1,       /* malformed frame; the router closes */
	FRAME_ERR_NOT_AUTHORIZED = 2, /* HELLO refused, or nothing before HELLO */
	FRAME_ERR_CONFLICT = 3,       /* name bound by another peer */
	FRAME_ERR_NOT_ALLOWED = 4,    /* this peer may not use that name */
	FRAME_ERR_NO_ROUTE = 5,       /* nobody bound the destination */
	FRAME_ERR_PEER_GONE = 6,      /* destination left before delivery */
	FRAME_ERR_OVERLOADED = 7,     /* destination's queue is full */
	FRAME_ERR_INTERNAL = 8,
	FRAME_ERR_AWAY = 9,           /* destination of ours is restarting: keep, wait for PEER_UP */
	FRAME_ERR_REJECTED = 10,      /* (never on the wire) the receiver's ACK said REJECTED */
};

/* STATUS of SASL_RESULT: success or an RFC 6120 §6.5 failure condition. */
enum frame_sasl_status {
	FRAME_SASL_SUCCESS = 0,
	FRAME_SASL_ABORTED = 1,
	FRAME_SASL_ACCOUNT_DISABLED = 2,
	FRAME_SASL_CREDENTIALS_EXPIRED = 3,
	FRAME_SASL_ENCRYPTION_REQUIRED = 4,
	FRAME_SASL_INCORRECT_ENCODING = 5,
	FRAME_SASL_INVALID_AUTHZID = 6,
	FRAME_SASL_INVALID_MECHANISM = 7,
	FRAME_SASL_MALFORMED_REQUEST = 8,
	FRAME_SASL_MECHANISM_TOO_WEAK = 9,
	FRAME_SASL_NOT_AUTHORIZED = 10,
	FRAME_SASL_TEMPORARY_AUTH_FAILURE = 11,
};

/* CODE of SESSION_END / SESSION_ENDED: why the session ends. */
enum frame_session_reason {
	FRAME_SESSION_CLOSED = 0,          /* the client closed its stream */
	FRAME_SESSION_CONNECTION_LOST = 1,
	FRAME_SESSION_REPLACED = 2,        /* another session took the resource */
	FRAME_SESSION_REFUSED = 3,         /* sm did not accept the session */
	FRAME_SESSION_ACCOUNT_REMOVED = 4,
	FRAME_SESSION_KICKED = 5,          /* by an administrator */
	FRAME_SESSION_SHUTDOWN = 6,        /* the sending process is stopping */
};

struct frame_attr {
	enum frame_tag tag;
	uint32_t len;
	const void *data;
};

/* A decoded frame: points into the bytes it was decoded from, which must
 * outlive it. */
struct frame {
	uint32_t length;
	uint8_t version;
	enum frame_type type;
	uint16_t flags;
	uint32_t seq;
	const uint8_t *payload;
	size_t payload_len;
	enum frame_decode_error error; /* why frame_decode returned -1 */
	/* For each tag: how many times it appears and its first value. */
	struct {
		uint32_t count;
		uint32_t len;
		const uint8_t *data;
	} tags[FRAME_TAG_MAX + 1];
};

/*
 * Decode the frame at the start of `data`. Returns 1 when a whole frame was
 * decoded (*consumed = its length), 0 when more bytes are needed (nothing is
 * consumed; a header already known to be bad is refused before its payload
 * arrives), -1 when the frame is malformed: f->error and `err` say why, and
 * the connection must be closed. `max_frame` is the receiver's limit
 * (0 = FRAME_MAX_DEFAULT).
 */
int frame_decode(const void *data, size_t len, size_t max_frame, struct frame *f,
    size_t *consumed, char *err, size_t errlen);

/* Getters. frame_get gives the raw value (strings with their NUL). The typed
 * getters end the process if the tag is not of their kind (a bug). */
bool frame_has(const struct frame *f, enum frame_tag tag);
size_t frame_count(const struct frame *f, enum frame_tag tag);
bool frame_get(const struct frame *f, enum frame_tag tag, const void **data,
    size_t *len);
/* NULL when absent; *len (if not NULL) gets the length without the NUL. */
const char *frame_get_str(const struct frame *f, enum frame_tag tag, size_t *len);
bool frame_get_u32(const struct frame *f, enum frame_tag tag, uint32_t *value);
/* Walk the attributes in wire order; *cursor starts at 0. */
bool frame_next(const struct frame *f, size_t *cursor, struct frame_attr *attr);
/* The same, only the attributes with `tag` (repeatable tags). */
bool frame_next_tag(const struct frame *f, enum frame_tag tag, size_t *cursor,
    struct frame_attr *attr);

/*
 * Encoder. frame_begin appends a header and returns the frame's position
 * (relative to the unread part of the buffer, so it survives the buffer
 * moving its contents — but nothing may be consumed from the buffer before
 * frame_end). frame_end patches the length, checks the frame against its
 * type's table and returns its length: a frame that breaks the table is a
 * programming error and ends the process.
 */
size_t frame_begin(struct buf *b, enum frame_type type, uint16_t flags, uint32_t seq);
void frame_put(struct buf *b, enum frame_tag tag, const void *data, size_t len);
void frame_put_str(struct buf *b, enum frame_tag tag, const char *s);
void frame_put_strn(struct buf *b, enum frame_tag tag, const char *s, size_t len);
void frame_put_u32(struct buf *b, enum frame_tag tag, uint32_t value);
size_t frame_end(struct buf *b, size_t start);
/* Drop a frame begun but not ended. */
void frame_abort(struct buf *b, size_t start);

/* Whether the router forwards this type (it carries a destination). */
bool frame_type_is_routed(enum frame_type type);
bool frame_type_is_known(int type);

/* Names for logs; "unknown" for values outside the enums. */
const char *frame_type_name(int type);
const char *frame_tag_name(int tag);
const char *frame_decode_error_name(enum frame_decode_error error);
const char *frame_error_code_name(uint32_t code);
const char *frame_sasl_status_name(uint32_t status);
const char *frame_session_reason_name(uint32_t reason);

#endif
