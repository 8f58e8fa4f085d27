/*
 * depth.c — the element depth of an XML stream, followed byte by byte
 * without parsing: tags (with quoted attribute values, which may hold '>'),
 * end tags, empty-element tags, comments, CDATA sections, declarations and
 * processing instructions. c2s uses it to know when a client's input is
 * exactly between stanzas (depth 1, inside <stream:stream>, no tag open),
 * which is when an idle session's parser may be given back (idle.c).
 *
 * It must be right for well-formed input only: what is not well-formed
 * fails in the real parser, which sees the same bytes, and the stream ends.
 */
#include <string.h>

#include "c2s.h"

enum { T_TEXT, T_LT, T_START, T_END, T_BANG, T_COMMENT, T_CDATA, T_DECL, T_PI };

void depth_track(struct depth_tracker *t, const char *data, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		char ch = data[i];
		switch (t->state) {
		case T_TEXT:
			if (ch == '<')
				t->state = T_LT;
			break;
		case T_LT:
			if (ch == '/') {
				t->state = T_END;
			} else if (ch == '!') {
				t->state = T_BANG;
			} else if (ch == '?') {
				t->state = T_PI;
			} else {
				t->state = T_START;
				t->depth++;
			}
			break;
		case T_START:
			if (t->quote != 0) {
				if (ch == t->quote)
					t->quote = 0;
			} else if (ch == '"' || ch == '\'') {
				t->quote = ch;
			} else if (ch == '>') {
				if (t->prev == '/')
					t->depth--;
				t->state = T_TEXT;
			}
			break;
		case T_END:
			if (ch == '>') {
				t->depth--;
				t->state = T_TEXT;
			}
			break;
		case T_BANG:
			t->state = ch == '-' ? T_COMMENT : ch == '[' ? T_CDATA : T_DECL;
			break;
		case T_COMMENT:
			if (ch == '>' && t->prev == '-' && t->prev2 == '-')
				t->state = T_TEXT;
			break;
		case T_CDATA:
			if (ch == '>' && t->prev == ']' && t->prev2 == ']')
				t->state = T_TEXT;
			break;
		case T_DECL:
			if (ch == '>')
				t->state = T_TEXT;
			break;
		case T_PI:
			if (ch == '>' && t->prev == '?')
				t->state = T_TEXT;
			break;
		}
		t->prev2 = t->prev;
		t->prev = ch;
	}
}

void depth_reset(struct depth_tracker *t)
{
	memset(t, 0, sizeof(*t));
}

bool depth_between_stanzas(const struct depth_tracker *t)
{
	return t->state == T_TEXT && t->depth == 1;
}

