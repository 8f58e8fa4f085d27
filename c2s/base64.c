/*
 * base64.c — the base64 of SASL data in XMPP (RFC 6120 §6.4.2: RFC 4648
 * base64, padded, with no line breaks or other whitespace). Strict on
 * purpose: anything else is <incorrect-encoding/>, and a lenient decoder
 * would let two different strings mean the same bytes.
 */
#include "c2s.h"

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int value(unsigned char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	if (ch == '/')
		return 63;
	return -1;
}

ssize_t base64_decode(const char *in, size_t len, unsigned char *out)
{
	size_t n = 0;

	if (len % 4 != 0)
		return -1;
	for (size_t i = 0; i < len; i += 4) {
		int v[4];
		size_t pad = 0;
		for (size_t j = 0; j < 4; j++) {
			unsigned char ch = (unsigned char)in[i + j];
			if (ch == '=' && i + 4 == len && j >= 2) {
				v[j] = 0;
				pad++;
				continue;
			}
			if (pad > 0 || (v[j] = value(ch)) < 0)
				return -1;
		}
		uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
		    (uint32_t)v[3];
		/* Bits the padding hides must be zero: one encoding per value. */
		if ((pad == 1 && (w & 0xff) != 0) || (pad == 2 && (w & 0xffff) != 0))
			return -1;
		out[n++] = (unsigned char)(w >> 16);
		if (pad < 2)
			out[n++] = (unsigned char)(w >> 8);
		if (pad < 1)
			out[n++] = (unsigned char)w;
	}
	return (ssize_t)n;
}

void base64_encode(const unsigned char *in, size_t len, struct buf *out)
{
	buf_reserve(out, (len + 2) / 3 * 4 + 1);
	char *p = buf_tail(out);
	size_t n = 0;

	for (size_t i = 0; i < len; i += 3) {
		uint32_t w = (uint32_t)in[i] << 16;
		if (i + 1 < len)
			w |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < len)
			w |= in[i + 2];
		p[n++] = alphabet[(w >> 18) & 63];
		p[n++] = alphabet[(w >> 12) & 63];
		p[n++] = i + 1 < len ? alphabet[(w >> 6) & 63] : '=';
		p[n++] = i + 2 < len ? alphabet[w & 63] : '=';
	}
	buf_commit(out, n);
}
