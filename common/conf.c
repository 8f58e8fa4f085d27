/*
 * conf.c — loading and checking parley.conf against a schema, and the typed
 * getters (see conf.h). It owns the file's text and libconfig's tree for the
 * lifetime of a struct conf; it never logs except for programming errors.
 *
 * Why we read the files ourselves before libconfig does: libconfig 1.5 (the
 * version in Debian 12) has three traps for a daemon's config. It reads an
 * integer too large for 32 bits as the low 32 bits, silently
 * (`max_queue = 5000000000` would mean 705032704); it reads `0660` as six
 * hundred and sixty where C and libconfig 1.7 read octal; and with an
 * include directory set, an absolute `@include "/etc/..."` is glued onto it.
 * So we expand @include ourselves (relative to the including file),
 * rewrite every integer literal into an unambiguous form, and hand libconfig
 * one text with a map from its lines back to FILE:LINE. Only line contents
 * change, never the number of lines, so every line libconfig reports maps
 * back exactly.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libconfig.h>

#include "buf.h"
#include "conf.h"
#include "hash.h"

#define MAX_INCLUDE_DEPTH 10
#define MAX_FILE_SIZE (16 * 1024 * 1024)
#define PATHLEN 512 /* longer setting paths are truncated in messages */

#define KIB ((int64_t)1024)
#define MIB (KIB * 1024)
#define GIB (MIB * 1024)

/* --- errors --------------------------------------------------------------- */

void conf_errors_clear(struct conf_errors *errs)
{
	for (size_t i = 0; i < errs->count; i++)
		free(errs->msg[i]);
	memset(errs, 0, sizeof(*errs));
}

void conf_errors_print(const struct conf_errors *errs, FILE *out)
{
	for (size_t i = 0; i < errs->count; i++)
		fprintf(out, "%s\n", errs->msg[i]);
	if (errs->dropped > 0)
		fprintf(out, "(%zu more error%s not shown)\n", errs->dropped, errs->dropped == 1 ? "" : "s");
}

static size_t errors_total(const struct conf_errors *errs)
{
	return errs->count + errs->dropped;
}

static void errors_vadd(struct conf_errors *errs, const char *fmt, va_list ap) PRINTF_LIKE(2, 0);

static void errors_vadd(struct conf_errors *errs, const char *fmt, va_list ap)
{
	if (errs->count >= CONF_MAX_ERRORS) {
		errs->dropped++;
		return;
	}
	va_list copy;
	va_copy(copy, ap);
	int n = vsnprintf(NULL, 0, fmt, copy);
	va_end(copy);
	size_t len = n > 0 ? (size_t)n + 1 : 1;
	char *msg = xmalloc(len);
	if (vsnprintf(msg, len, fmt, ap) < 0)
		msg[0] = '\0';
	errs->msg[errs->count++] = msg;
}

static void errors_add(struct conf_errors *errs, const char *fmt, ...) PRINTF_LIKE(2, 3);

static void errors_add(struct conf_errors *errs, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	errors_vadd(errs, fmt, ap);
	va_end(ap);
}

/* --- the text libconfig reads, and where each of its lines came from ------ */

struct source_line {
	uint32_t file; /* index into source.files */
	uint32_t line;
};

struct source {
	char **files; /* [0] is the main file, as the caller named it */
	size_t nfiles;
	struct source_line *lines; /* lines[n - 1] is libconfig's line n */
	size_t nlines, caplines;
	uint32_t *string_lines;	   /* libconfig's line where each string value starts */
	size_t nstrings, capstrings;
	struct buf text;
};

static void source_free(struct source *src)
{
	for (size_t i = 0; i < src->nfiles; i++)
		free(src->files[i]);
	free(src->files);
	free(src->lines);
	free(src->string_lines);
	buf_free(&src->text);
	memset(src, 0, sizeof(*src));
}

static uint32_t source_add_file(struct source *src, const char *name)
{
	src->files = xreallocarray(src->files, src->nfiles + 1, sizeof(*src->files));
	src->files[src->nfiles] = xstrdup(name);
	return (uint32_t)src->nfiles++;
}

/* "FILE:LINE" of libconfig's line n; "FILE" for line 0 (the root group). */
static void source_where(const struct source *src, unsigned n, char *out, size_t len)
{
	if (n == 0 || src->nlines == 0) {
		snprintf(out, len, "%s", src->files[0]);
		return;
	}
	if (n > src->nlines) /* an error at end of input */
		n = (unsigned)src->nlines;
	const struct source_line *l = &src->lines[n - 1];
	snprintf(out, len, "%s:%" PRIu32, src->files[l->file], l->line);
}

static int read_file(const char *path, struct buf *out, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errf(err, errlen, "cannot read: %s", strerror(errno));
	for (;;) {
		if (buf_used(out) > MAX_FILE_SIZE) {
			close(fd);
			return errf(err, errlen, "larger than %d bytes: not a configuration file",
			    MAX_FILE_SIZE);
		}
		buf_reserve(out, 8192);
		ssize_t n = read(fd, buf_tail(out), buf_space(out));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			close(fd);
			return errf(err, errlen, "cannot read: %s", strerror(e));
		}
		if (n == 0)
			break;
		buf_commit(out, (size_t)n);
	}
	close(fd);
	return 0;
}

/* The preprocessor: one pass over each file that follows libconfig's lexer
 * just far enough to know what is a comment, a string, a name or a number. */

enum lex_state { LEX_CODE, LEX_STRING, LEX_COMMENT };

struct pp {
	struct source *src;
	struct conf_errors *errs;
	bool after_string; /* the last token was a string: a next one continues it */
};

static void pp_file(struct pp *pp, const char *text, size_t len, uint32_t file, int depth);

static void pp_error(struct pp *pp, uint32_t file, uint32_t line, const char *fmt, ...) PRINTF_LIKE(4, 5);

static void pp_error(struct pp *pp, uint32_t file, uint32_t line, const char *fmt, ...)
{
	char msg[ERRLEN * 2];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	errors_add(pp->errs, "%s:%" PRIu32 ": %s", pp->src->files[file], line, msg);
}

static void pp_emit_line_end(struct pp *pp, uint32_t file, uint32_t line)
{
	struct source *src = pp->src;
	buf_append(&src->text, "\n", 1);
	if (src->nlines == src->caplines) {
		src->caplines = src->caplines ? src->caplines * 2 : 64;
		src->lines = xreallocarray(src->lines, src->caplines, sizeof(*src->lines));
	}
	src->lines[src->nlines].file = file;
	src->lines[src->nlines].line = line;
	src->nlines++;
}

static bool is_name_start(int c)
{
	return isalpha(c) || c == '*';
}

static bool is_name_char(int c)
{
	return isalnum(c) || c == '-' || c == '_' || c == '*';
}

/*
 * An integer literal at s[0..n): copy it to the output in a form libconfig
 * 1.5 reads exactly: decimal, with an L where it needs 64 bits. A leading 0
 * means octal, as in C and in later libconfig versions. Returns the number of
 * input bytes used.
 */
static size_t pp_number(struct pp *pp, const char *s, size_t n, uint32_t file, uint32_t line)
{
	struct buf *out = &pp->src->text;
	size_t i = 0;
	bool negative = false;

	if (s[i] == '-' || s[i] == '+')
		negative = s[i++] == '-';

	if (!negative && s[0] != '+' && i + 1 < n && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
		size_t j = 2;
		uint64_t v = 0;
		bool overflow = false;
		for (; j < n && isxdigit((unsigned char)s[j]); j++) {
			unsigned d = isdigit((unsigned char)s[j]) ? (unsigned)(s[j] - '0')
			    : (unsigned)(tolower((unsigned char)s[j]) - 'a' + 10);
			if (v > (UINT64_MAX >> 4))
				overflow = true;
			v = (v << 4) | d;
		}
		size_t suffix = 0;
		while (j + suffix < n && s[j + suffix] == 'L' && suffix < 2)
			suffix++;
		if (j > 2 && (overflow || v > INT64_MAX))
			pp_error(pp, file, line, "integer %.*s does not fit in 64 bits", (int)j, s);
		buf_append(out, s, j + suffix);
		/* libconfig 1.5 truncates a hex literal beyond 32 bits, but not with an L. */
		if (j > 2 && suffix == 0 && v > INT32_MAX)
			buf_append(out, "L", 1);
		return j + suffix;
	}

	size_t start = i, j = i;
	while (j < n && isdigit((unsigned char)s[j]))
		j++;
	/* A float: leave it to libconfig. */
	if ((j < n && s[j] == '.') || (j == start && j < n && s[j] == '.') ||
	    (j < n && (s[j] == 'e' || s[j] == 'E'))) {
		if (j < n && s[j] == '.') {
			j++;
			while (j < n && isdigit((unsigned char)s[j]))
				j++;
		}
		if (j < n && (s[j] == 'e' || s[j] == 'E')) {
			size_t k = j + 1;
			if (k < n && (s[k] == '-' || s[k] == '+'))
				k++;
			if (k < n && isdigit((unsigned char)s[k])) {
				while (k < n && isdigit((unsigned char)s[k]))
					k++;
				j = k;
			}
		}
		buf_append(out, s, j);
		return j;
	}

	bool octal = j - start > 1 && s[start] == '0';
	unsigned base = octal ? 8 : 10;
	uint64_t v = 0;
	bool overflow = false;
	for (size_t k = start; k < j; k++) {
		unsigned d = (unsigned)(s[k] - '0');
		if (d >= base) {
			pp_error(pp, file, line, "%.*s is not a valid octal number (a leading 0 means octal)",
			    (int)j, s);
			buf_append(out, s, j);
			return j;
		}
		if (v > (UINT64_MAX - d) / base)
			overflow = true;
		else
			v = v * base + d;
	}
	size_t suffix = 0;
	while (j + suffix < n && s[j + suffix] == 'L' && suffix < 2)
		suffix++;
	if (overflow || v > (uint64_t)INT64_MAX + (negative ? 1 : 0)) {
		pp_error(pp, file, line, "integer %.*s does not fit in 64 bits", (int)j, s);
		buf_append(out, s, j + suffix);
		return j + suffix;
	}
	bool wide = negative ? v > (uint64_t)INT32_MAX + 1 : v > INT32_MAX;
	buf_appendf(out, "%s%" PRIu64 "%s", negative ? "-" : "", v, wide || suffix ? "L" : "");
	return j + suffix;
}

/*
 * libconfig dates a string element of an array or list by the token after
 * it (it must look ahead for a string to join), so in
 *     hosts = [
 *         "example.org"
 *     ];
 * it would blame line 3. We note where every string value starts, in order,
 * and fix_string_lines() puts those lines back on the elements.
 */
static void pp_string_starts(struct pp *pp)
{
	struct source *src = pp->src;
	if (src->nstrings == src->capstrings) {
		src->capstrings = src->capstrings ? src->capstrings * 2 : 16;
		src->string_lines = xreallocarray(src->string_lines, src->capstrings,
		    sizeof(*src->string_lines));
	}
	src->string_lines[src->nstrings++] = (uint32_t)src->nlines + 1; /* the line being copied */
}

/* Copy one line (without its '\n'), returning the lexer state at its end. */
static enum lex_state pp_line(struct pp *pp, const char *s, size_t n, enum lex_state state,
    uint32_t file, uint32_t line)
{
	struct buf *out = &pp->src->text;
	size_t i = 0;

	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		unsigned char next = i + 1 < n ? (unsigned char)s[i + 1] : '\0';

		if (state == LEX_STRING) {
			if (c == '\\' && i + 1 < n) {
				buf_append(out, s + i, 2);
				i += 2;
				continue;
			}
			if (c == '"')
				state = LEX_CODE;
			buf_append(out, s + i, 1);
			i++;
		} else if (state == LEX_COMMENT) {
			if (c == '*' && next == '/') {
				buf_append(out, s + i, 2);
				i += 2;
				state = LEX_CODE;
				continue;
			}
			buf_append(out, s + i, 1);
			i++;
		} else if (c == '"') {
			/* Adjacent strings are one value ("a" "b" is "ab"). */
			if (!pp->after_string)
				pp_string_starts(pp);
			pp->after_string = true;
			state = LEX_STRING;
			buf_append(out, s + i, 1);
			i++;
		} else if (c == '#' || (c == '/' && next == '/')) {
			buf_append(out, s + i, n - i);
			i = n;
		} else if (c == '/' && next == '*') {
			state = LEX_COMMENT;
			buf_append(out, s + i, 2);
			i += 2;
		} else if (isspace(c)) {
			buf_append(out, s + i, 1);
			i++;
		} else if (is_name_start(c)) {
			pp->after_string = false;
			size_t j = i + 1;
			while (j < n && is_name_char((unsigned char)s[j]))
				j++;
			buf_append(out, s + i, j - i);
			i = j;
		} else if (isdigit(c) || ((c == '-' || c == '+' || c == '.') && isdigit(next))) {
			pp->after_string = false;
			i += pp_number(pp, s + i, n - i, file, line);
		} else {
			pp->after_string = false;
			buf_append(out, s + i, 1);
			i++;
		}
	}
	return state;
}

/* libconfig's rule: `@include "FILE"` at the start of a line, outside any
 * comment or string. Returns the length of the directive (through the
 * closing quote) and the file name, or 0 if the line is not one; -1 if it
 * starts like one but is malformed. */
static ssize_t parse_include(const char *s, size_t n, struct buf *name)
{
	size_t i = 0;
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (n - i < 8 || memcmp(s + i, "@include", 8) != 0)
		return 0;
	i += 8;
	if (i >= n || (s[i] != ' ' && s[i] != '\t'))
		return -1;
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i >= n || s[i] != '"')
		return -1;
	for (i++; i < n; i++) {
		if (s[i] == '"') {
			buf_append(name, "", 1);
			return (ssize_t)(i + 1);
		}
		if (s[i] == '\\' && i + 1 < n && (s[i + 1] == '"' || s[i + 1] == '\\'))
			i++;
		buf_append(name, s + i, 1);
	}
	return -1;
}

static void pp_include(struct pp *pp, const char *name, uint32_t from, uint32_t line, int depth)
{
	char err[ERRLEN];
	struct buf path = BUF_INIT, text = BUF_INIT;
	const char *includer = pp->src->files[from];
	const char *slash = strrchr(includer, '/');

	if (name[0] == '/' || slash == NULL)
		buf_append_str(&path, name);
	else
		buf_appendf(&path, "%.*s/%s", (int)(slash - includer), includer, name);
	buf_append(&path, "", 1);

	if (depth >= MAX_INCLUDE_DEPTH) {
		pp_error(pp, from, line, "@include \"%s\": includes nested more than %d deep (does a file include itself?)",
		    name, MAX_INCLUDE_DEPTH);
	} else if (read_file(path.data, &text, err, sizeof(err)) < 0) {
		pp_error(pp, from, line, "@include \"%s\": %s: %s", name, path.data, err);
	} else {
		uint32_t file = source_add_file(pp->src, path.data);
		pp_file(pp, buf_head(&text), buf_used(&text), file, depth + 1);
	}
	buf_free(&path);
	buf_free(&text);
}

static void pp_file(struct pp *pp, const char *text, size_t len, uint32_t file, int depth)
{
	enum lex_state state = LEX_CODE;
	const char *p = text, *end = text + len;
	uint32_t line = 0;

	const char *nul = memchr(text, '\0', len);
	if (nul != NULL) {
		uint32_t at = 1;
		for (const char *q = text; q < nul; q++)
			at += *q == '\n';
		pp_error(pp, file, at, "the file contains a NUL byte: not a configuration file");
		return;
	}
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t n = eol ? (size_t)(eol - p) : (size_t)(end - p);
		line++;
		ssize_t used = 0;
		if (state == LEX_CODE) {
			struct buf name = BUF_INIT;
			used = parse_include(p, n, &name);
			if (used < 0)
				pp_error(pp, file, line, "malformed @include: expected @include \"FILE\"");
			else if (used > 0) {
				pp->after_string = false;
				pp_include(pp, name.data, file, line, depth);
				pp->after_string = false;
			}
			buf_free(&name);
		}
		if (used < 0) {
			/* Keep the line count; libconfig must not see the directive. */
			pp_emit_line_end(pp, file, line);
		} else {
			state = pp_line(pp, p + used, n - (size_t)used, state, file, line);
			pp_emit_line_end(pp, file, line);
		}
		p += n + (eol ? 1 : 0);
	}
}

/* --- values --------------------------------------------------------------- */

/* A checked value: b for CONF_BOOL; i for INT, SIZE (bytes), DURATION (ms)
 * and MODE; s for STRING, ENUM and PATH. */
struct value {
	bool b;
	int64_t i;
	const char *s;
};

static const char *const type_names[] = {
	[CONF_GROUP] = "group", [CONF_GROUP_LIST] = "list of groups", [CONF_BOOL] = "bool",
	[CONF_INT] = "int", [CONF_STRING] = "string", [CONF_ENUM] = "enum", [CONF_PATH] = "path",
	[CONF_STRLIST] = "string list", [CONF_SIZE] = "size", [CONF_DURATION] = "duration",
	[CONF_MODE] = "mode",
};

const char *conf_type_name(enum conf_type type)
{
	if ((unsigned)type < ARRAY_LEN(type_names) && type_names[type] != NULL)
		return type_names[type];
	return "?";
}

/* What the file should have said, for "expected X, got Y". */
static const char *expected_name(enum conf_type type)
{
	switch (type) {
	case CONF_GROUP: return "a group { ... }";
	case CONF_GROUP_LIST: return "a list of groups ( { ... }, ... )";
	case CONF_BOOL: return "true or false";
	case CONF_INT: return "an integer";
	case CONF_STRING: case CONF_ENUM: case CONF_PATH: return "a string";
	case CONF_STRLIST: return "a list of strings [ \"...\", ... ]";
	case CONF_SIZE: return "a size (bytes, or a string like \"256K\")";
	case CONF_DURATION: return "a duration (seconds, or a string like \"30s\")";
	case CONF_MODE: return "an octal mode like 0660";
	}
	return "?";
}

static const char *setting_type_name(const config_setting_t *s)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_GROUP: return "a group";
	case CONFIG_TYPE_INT: case CONFIG_TYPE_INT64: return "an integer";
	case CONFIG_TYPE_FLOAT: return "a number with a fraction";
	case CONFIG_TYPE_STRING: return "a string";
	case CONFIG_TYPE_BOOL: return "a boolean";
	case CONFIG_TYPE_ARRAY: return "an array [ ... ]";
	case CONFIG_TYPE_LIST: return "a list ( ... )";
	}
	return "nothing";
}

static bool setting_is_int(const config_setting_t *s)
{
	return config_setting_type(s) == CONFIG_TYPE_INT || config_setting_type(s) == CONFIG_TYPE_INT64;
}

static int64_t setting_int(const config_setting_t *s)
{
	if (config_setting_type(s) == CONFIG_TYPE_INT64)
		return config_setting_get_int64(s);
	return config_setting_get_int(s);
}

/* Digits, then an optional suffix; the digits' value in *v. */
static const char *parse_digits(const char *t, uint64_t *v, bool *overflow)
{
	*v = 0;
	*overflow = false;
	for (; isdigit((unsigned char)*t); t++) {
		unsigned d = (unsigned)(*t - '0');
		if (*v > (UINT64_MAX - d) / 10)
			*overflow = true;
		else
			*v = *v * 10 + d;
	}
	return t;
}

static int parse_size_text(const char *t, int64_t *out, char *err, size_t errlen)
{
	uint64_t v, mult = 1;
	bool overflow;
	const char *end = parse_digits(t, &v, &overflow);

	if (end != t && end[0] != '\0' && end[1] == '\0') {
		switch (toupper((unsigned char)end[0])) {
		case 'K': mult = KIB; end++; break;
		case 'M': mult = MIB; end++; break;
		case 'G': mult = GIB; end++; break;
		}
	}
	if (end == t || *end != '\0')
		return errf(err, errlen, "bad size \"%s\": expected a number of bytes with an optional K, M or G suffix",
		    t);
	if (overflow || v > (uint64_t)INT64_MAX / mult)
		return errf(err, errlen, "size \"%s\" is too large", t);
	*out = (int64_t)(v * mult);
	return 0;
}

static int parse_duration_text(const char *t, int64_t *out, char *err, size_t errlen)
{
	static const struct { const char *unit; uint64_t ms; } units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 }, { "d", 86400000 },
	};
	uint64_t v;
	bool overflow;
	const char *end = parse_digits(t, &v, &overflow);

	if (end != t) {
		for (size_t i = 0; i < ARRAY_LEN(units); i++) {
			if (strcmp(end, units[i].unit) != 0)
				continue;
			if (overflow || v > (uint64_t)INT64_MAX / units[i].ms)
				return errf(err, errlen, "duration \"%s\" is too large", t);
			*out = (int64_t)(v * units[i].ms);
			return 0;
		}
	}
	return errf(err, errlen, "bad duration \"%s\": expected a number with a unit: ms, s, m, h or d", t);
}

static int parse_mode_text(const char *t, int64_t *out, char *err, size_t errlen)
{
	int64_t v = 0;
	size_t n = 0;
	for (; t[n] >= '0' && t[n] <= '7'; n++)
		v = v * 8 + (t[n] - '0');
	if (n == 0 || n > 4 || t[n] != '\0')
		return errf(err, errlen, "bad mode \"%s\": expected octal digits like \"0660\"", t);
	*out = v;
	return 0;
}

static void format_size(int64_t v, char *out, size_t len)
{
	if (v != 0 && v % GIB == 0)
		snprintf(out, len, "%" PRId64 "G", v / GIB);
	else if (v != 0 && v % MIB == 0)
		snprintf(out, len, "%" PRId64 "M", v / MIB);
	else if (v != 0 && v % KIB == 0)
		snprintf(out, len, "%" PRId64 "K", v / KIB);
	else
		snprintf(out, len, "%" PRId64, v);
}

static void format_duration(int64_t ms, char *out, size_t len)
{
	static const struct { const char *unit; int64_t ms; } units[] = {
		{ "d", 86400000 }, { "h", 3600000 }, { "m", 60000 }, { "s", 1000 },
	};
	for (size_t i = 0; i < ARRAY_LEN(units); i++) {
		if (ms != 0 && ms % units[i].ms == 0) {
			snprintf(out, len, "%" PRId64 "%s", ms / units[i].ms, units[i].unit);
			return;
		}
	}
	snprintf(out, len, "%" PRId64 "ms", ms);
}

static void format_number(const struct conf_key *k, int64_t v, char *out, size_t len)
{
	if (k->type == CONF_SIZE)
		format_size(v, out, len);
	else if (k->type == CONF_DURATION)
		format_duration(v, out, len);
	else if (k->type == CONF_MODE)
		snprintf(out, len, "0%" PRIo64, v);
	else
		snprintf(out, len, "%" PRId64, v);
}

/* A value as the file holds it: the right type, and parsed if it is text. */
static int value_from_setting(const struct conf_key *k, const config_setting_t *s, struct value *v,
    char *err, size_t errlen)
{
	int type = config_setting_type(s);

	switch (k->type) {
	case CONF_BOOL:
		if (type != CONFIG_TYPE_BOOL)
			break;
		v->b = config_setting_get_bool(s) != 0;
		return 0;
	case CONF_INT:
	case CONF_MODE:
		if (!setting_is_int(s)) {
			if (k->type == CONF_MODE && type == CONFIG_TYPE_STRING)
				return parse_mode_text(config_setting_get_string(s), &v->i, err, errlen);
			break;
		}
		v->i = setting_int(s);
		return 0;
	case CONF_SIZE:
		if (type == CONFIG_TYPE_STRING)
			return parse_size_text(config_setting_get_string(s), &v->i, err, errlen);
		if (!setting_is_int(s))
			break;
		v->i = setting_int(s);
		return 0;
	case CONF_DURATION:
		if (type == CONFIG_TYPE_STRING)
			return parse_duration_text(config_setting_get_string(s), &v->i, err, errlen);
		if (!setting_is_int(s))
			break;
		v->i = setting_int(s);
		if (v->i > INT64_MAX / 1000 || v->i < INT64_MIN / 1000)
			return errf(err, errlen, "duration %" PRId64 "s is too large", v->i);
		v->i *= 1000;
		return 0;
	case CONF_STRING:
	case CONF_ENUM:
	case CONF_PATH:
		if (type != CONFIG_TYPE_STRING)
			break;
		v->s = config_setting_get_string(s);
		return 0;
	case CONF_GROUP:
	case CONF_GROUP_LIST:
	case CONF_STRLIST:
		break;
	}
	return errf(err, errlen, "expected %s, got %s", expected_name(k->type), setting_type_name(s));
}

/* A default, written in the schema as it would be in the file. */
static int value_from_text(const struct conf_key *k, const char *t, struct value *v, char *err, size_t errlen)
{
	char *end;

	switch (k->type) {
	case CONF_BOOL:
		if (strcmp(t, "true") != 0 && strcmp(t, "false") != 0)
			return errf(err, errlen, "bad bool \"%s\"", t);
		v->b = strcmp(t, "true") == 0;
		return 0;
	case CONF_INT:
		errno = 0;
		v->i = strtoll(t, &end, 10);
		if (end == t || *end != '\0' || errno != 0)
			return errf(err, errlen, "bad integer \"%s\"", t);
		return 0;
	case CONF_MODE:
		return parse_mode_text(t, &v->i, err, errlen);
	case CONF_SIZE:
		return parse_size_text(t, &v->i, err, errlen);
	case CONF_DURATION:
		return parse_duration_text(t, &v->i, err, errlen);
	case CONF_STRING:
	case CONF_ENUM:
	case CONF_PATH:
		v->s = t;
		return 0;
	case CONF_GROUP:
	case CONF_GROUP_LIST:
	case CONF_STRLIST:
		break;
	}
	return errf(err, errlen, "a %s has no default", conf_type_name(k->type));
}

/* Whether a well-typed value is allowed. */
static int value_check(const struct conf_key *k, const struct value *v, char *err, size_t errlen)
{
	char lo[32], hi[32], got[32];

	switch (k->type) {
	case CONF_INT:
	case CONF_SIZE:
	case CONF_DURATION:
	case CONF_MODE:
		if (v->i >= k->min && v->i <= k->max)
			return 0;
		format_number(k, k->min, lo, sizeof(lo));
		format_number(k, k->max, hi, sizeof(hi));
		format_number(k, v->i, got, sizeof(got));
		if (k->type == CONF_MODE)
			return errf(err, errlen, "must be between %s and %s, got %s%s", lo, hi, got,
			    " (write modes in octal, with a leading 0)");
		return errf(err, errlen, "must be between %s and %s, got %s", lo, hi, got);
	case CONF_ENUM: {
		struct buf b = BUF_INIT;
		for (const char *const *c = k->choices; *c != NULL; c++) {
			if (strcmp(*c, v->s) == 0) {
				buf_free(&b);
				return 0;
			}
			buf_appendf(&b, "%s\"%s\"", c == k->choices ? "" : c[1] == NULL ? " or " : ", ", *c);
		}
		errf(err, errlen, "must be %s%s, got \"%s\"", k->choices[0] && k->choices[1] ? "one of " : "",
		    b.data ? b.data : "", v->s);
		buf_free(&b);
		return -1;
	}
	case CONF_PATH:
		if (v->s[0] != '/')
			return errf(err, errlen, "must be an absolute path, got \"%s\"", v->s);
		/* fall through */
	case CONF_STRING:
		if (k->check != NULL)
			return k->check(v->s, err, errlen);
		return 0;
	case CONF_BOOL:
	case CONF_GROUP:
	case CONF_GROUP_LIST:
	case CONF_STRLIST:
		break;
	}
	return 0;
}

/* --- the schema ------------------------------------------------------------- */

const struct conf_key *conf_schema_find(const struct conf_schema *schema, const char *path)
{
	for (size_t i = 0; i < schema->nkeys; i++)
		if (strcmp(schema->keys[i].path, path) == 0)
			return &schema->keys[i];
	return NULL;
}

static const char *last_component(const char *path)
{
	const char *dot = strrchr(path, '.');
	return dot ? dot + 1 : path;
}

/* Whether `path` names a key directly inside the group `prefix` ("" = root). */
static bool is_child(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);
	if (n == 0)
		return strchr(path, '.') == NULL;
	return strncmp(path, prefix, n) == 0 && path[n] == '.' && strchr(path + n + 1, '.') == NULL;
}

/* The innermost list of groups `path` is a field of, below `prefix`. */
static const struct conf_key *enclosing_list(const struct conf_schema *schema, const char *path,
    const char *prefix)
{
	char anc[PATHLEN];
	const struct conf_key *found = NULL;
	size_t skip = strlen(prefix);

	for (const char *p = path + skip; (p = strchr(p + 1, '.')) != NULL;) {
		size_t n = (size_t)(p - path);
		if (n >= sizeof(anc))
			break;
		memcpy(anc, path, n);
		anc[n] = '\0';
		const struct conf_key *k = conf_schema_find(schema, anc);
		if (k != NULL && k->type == CONF_GROUP_LIST)
			found = k;
	}
	return found;
}

static bool is_valid_name(const char *s, size_t n)
{
	if (n == 0 || !isalpha((unsigned char)s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-')
			return false;
	return true;
}

/* Check every "${key}" of a default: top-level string keys with a plain default. */
static int check_references(const struct conf_schema *schema, const struct conf_key *k, char *err,
    size_t errlen)
{
	const char *p = k->def;
	char ref[PATHLEN];

	if (k->type != CONF_STRING && k->type != CONF_PATH)
		return errf(err, errlen, "%s: only strings and paths may refer to other keys", k->path);
	while ((p = strstr(p, "${")) != NULL) {
		const char *close = strchr(p, '}');
		if (close == NULL || (size_t)(close - p - 2) >= sizeof(ref))
			return errf(err, errlen, "%s: unterminated ${ in the default", k->path);
		memcpy(ref, p + 2, (size_t)(close - p - 2));
		ref[close - p - 2] = '\0';
		const struct conf_key *r = conf_schema_find(schema, ref);
		if (r == NULL)
			return errf(err, errlen, "%s: default refers to unknown key %s", k->path, ref);
		if (r->type != CONF_STRING && r->type != CONF_PATH && r->type != CONF_ENUM)
			return errf(err, errlen, "%s: default refers to %s, which is not a string", k->path, ref);
		if (r->def != NULL && strstr(r->def, "${") != NULL)
			return errf(err, errlen, "%s: default refers to %s, whose own default refers to another key",
			    k->path, ref);
		if (enclosing_list(schema, ref, "") != NULL)
			return errf(err, errlen, "%s: default refers to %s, a field of a list", k->path, ref);
		p = close + 1;
	}
	return 0;
}

int conf_schema_check(const struct conf_schema *schema, char *err, size_t errlen)
{
	char why[ERRLEN];

	for (size_t i = 0; i < schema->nkeys; i++) {
		const struct conf_key *k = &schema->keys[i];
		const char *p = k->path;

		if (p == NULL || strlen(p) >= PATHLEN)
			return errf(err, errlen, "key %zu: missing or too long path", i);
		for (const char *c = p;; c = strchr(c, '.') + 1) {
			const char *dot = strchr(c, '.');
			if (!is_valid_name(c, dot ? (size_t)(dot - c) : strlen(c)))
				return errf(err, errlen, "%s: not a valid libconfig name", p);
			if (dot == NULL)
				break;
		}
		if (k->doc == NULL || k->doc[0] == '\0')
			return errf(err, errlen, "%s: undocumented", p);
		for (size_t j = 0; j < i; j++)
			if (strcmp(schema->keys[j].path, p) == 0)
				return errf(err, errlen, "%s: listed twice", p);
		const char *dot = strrchr(p, '.');
		if (dot != NULL) {
			char parent[PATHLEN];
			memcpy(parent, p, (size_t)(dot - p));
			parent[dot - p] = '\0';
			const struct conf_key *pk = conf_schema_find(schema, parent);
			if (pk == NULL || (pk->type != CONF_GROUP && pk->type != CONF_GROUP_LIST))
				return errf(err, errlen, "%s: its group %s is not in the schema", p, parent);
		}
		if ((unsigned)k->type >= ARRAY_LEN(type_names))
			return errf(err, errlen, "%s: bad type", p);
		if (k->type == CONF_ENUM && (k->choices == NULL || k->choices[0] == NULL))
			return errf(err, errlen, "%s: an enum needs choices", p);
		if (k->min > k->max && (k->type == CONF_INT || k->type == CONF_SIZE ||
		    k->type == CONF_DURATION || k->type == CONF_MODE || k->type == CONF_STRLIST ||
		    k->type == CONF_GROUP_LIST))
			return errf(err, errlen, "%s: min > max", p);
		if ((k->flags & CONF_REQUIRED) && k->def != NULL)
			return errf(err, errlen, "%s: a required key cannot have a default", p);
		bool textual = k->type == CONF_STRING || k->type == CONF_ENUM || k->type == CONF_PATH;
		bool aggregate = k->type == CONF_GROUP || k->type == CONF_GROUP_LIST || k->type == CONF_STRLIST;
		if (aggregate && k->def != NULL)
			return errf(err, errlen, "%s: a %s cannot have a default", p, conf_type_name(k->type));
		if (!textual && !aggregate && k->def == NULL && !(k->flags & CONF_REQUIRED))
			return errf(err, errlen, "%s: needs a default (getters must have a value to return)", p);
		if (k->def != NULL && strstr(k->def, "${") != NULL) {
			if (check_references(schema, k, err, errlen) < 0)
				return -1;
		} else if (k->def != NULL) {
			struct value v = { 0 };
			if (value_from_text(k, k->def, &v, why, sizeof(why)) < 0 ||
			    value_check(k, &v, why, sizeof(why)) < 0)
				return errf(err, errlen, "%s: default \"%s\": %s", p, k->def, why);
		}
		if (k->excludes != NULL) {
			const struct conf_key *x = conf_schema_find(schema, k->excludes);
			if (x == NULL || x == k || last_component(x->path) - x->path != last_component(p) - p ||
			    strncmp(x->path, p, (size_t)(last_component(p) - p)) != 0)
				return errf(err, errlen, "%s: excludes %s, which is not a sibling key", p, k->excludes);
		}
	}
	return 0;
}

/* --- the loaded configuration ---------------------------------------------- */

struct conf {
	struct conf *root;
	const char *prefix;		/* schema path of the group this reads; "" at the root */
	char *display;			/* the same as the operator sees it: "c2s.listeners[1]" */
	config_setting_t *group;	/* that group in the file */

	/* The rest belongs to the root. */
	const struct conf_schema *schema;
	config_t cfg;
	struct source src;
	char **derived;			/* per schema key: its default with ${...} expanded */
	struct conf **views;		/* one per element of every list of groups */
	size_t nviews;
	struct hash *where;		/* interned "FILE:LINE" strings */
};

/* Paths too long for the buffer end in "...": they only appear in messages,
 * since no key of the schema is that long. */
static void cut_short(char *out, size_t len, int n)
{
	if ((n < 0 || (size_t)n >= len) && len > 4)
		memcpy(out + len - 4, "...", 4);
}

static void join(char *out, size_t len, const char *prefix, const char *name)
{
	if (prefix[0] == '\0')
		cut_short(out, len, snprintf(out, len, "%s", name));
	else
		cut_short(out, len, snprintf(out, len, "%s.%s", prefix, name));
}

/* "hosts[2]": element i of the list at `display`. */
static void index_path(char *out, size_t len, const char *display, int i)
{
	cut_short(out, len, snprintf(out, len, "%s[%d]", display, i));
}

static void setting_where(const struct conf *root, const config_setting_t *s, char *out, size_t len)
{
	source_where(&root->src, s ? config_setting_source_line(s) : 0, out, len);
}

/* --- checking a file against the schema ---------------------------------- */

struct walk {
	struct conf *root;
	struct conf_errors *errs;
};

static void walk_error(struct walk *w, const config_setting_t *at, const char *display,
    const char *fmt, ...) PRINTF_LIKE(4, 5);

static void walk_error(struct walk *w, const config_setting_t *at, const char *display,
    const char *fmt, ...)
{
	char where[PATH_MAX + 32], msg[ERRLEN * 2];
	va_list ap;

	setting_where(w->root, at, where, sizeof(where));
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	errors_add(w->errs, "%s: %s: %s", where, display, msg);
}

/* Optimal string alignment distance, ignoring case: a typo is usually one
 * or two edits (a letter dropped, doubled, or two swapped). */
static size_t edit_distance(const char *a, const char *b)
{
	unsigned short d[33][33];
	size_t la = strlen(a), lb = strlen(b);

	if (la > 32 || lb > 32)
		return SIZE_MAX;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = (unsigned short)i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = (unsigned short)j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			int ai = tolower((unsigned char)a[i - 1]), bj = tolower((unsigned char)b[j - 1]);
			unsigned short best = (unsigned short)(d[i - 1][j - 1] + (ai != bj));
			if (d[i - 1][j] + 1 < best)
				best = (unsigned short)(d[i - 1][j] + 1);
			if (d[i][j - 1] + 1 < best)
				best = (unsigned short)(d[i][j - 1] + 1);
			if (i > 1 && j > 1 && ai == tolower((unsigned char)b[j - 2]) &&
			    tolower((unsigned char)a[i - 2]) == bj && d[i - 2][j - 2] + 1 < best)
				best = (unsigned short)(d[i - 2][j - 2] + 1);
			d[i][j] = best;
		}
	}
	return d[la][lb];
}

static bool looks_like(const char *typed, const char *known)
{
	size_t n = strlen(typed), m = strlen(known);
	size_t allowed = n <= 3 ? 1 : n <= 6 ? 2 : 3;

	if (edit_distance(typed, known) <= allowed)
		return true;
	/* A name cut short or run on: "max_stanza" for "max_stanza_size". */
	size_t shorter = n < m ? n : m;
	return shorter >= 4 && strncasecmp(typed, known, shorter) == 0;
}

static void report_unknown(struct walk *w, const char *prefix, const char *display,
    const config_setting_t *s)
{
	const struct conf_schema *schema = w->root->schema;
	const char *name = config_setting_name(s);
	char disp[PATHLEN], hint[PATHLEN * 3 + 64] = "";
	const struct conf_key *best = NULL;
	size_t bestd = SIZE_MAX;

	join(disp, sizeof(disp), display, name);
	for (size_t i = 0; i < schema->nkeys; i++) {
		const struct conf_key *k = &schema->keys[i];
		if (!is_child(k->path, prefix) || !looks_like(name, last_component(k->path)))
			continue;
		size_t d = edit_distance(name, last_component(k->path));
		if (best == NULL || d < bestd) {
			best = k;
			bestd = d;
		}
	}
	if (best != NULL) {
		char sugg[PATHLEN];
		join(sugg, sizeof(sugg), display, last_component(best->path));
		snprintf(hint, sizeof(hint), " (did you mean %s?)", sugg);
	} else {
		/* Right name, wrong section: "max_stanza_size" at the top level. */
		size_t n = 0, used = 0;
		for (size_t i = 0; i < schema->nkeys && n < 3; i++) {
			const struct conf_key *k = &schema->keys[i];
			if (strcasecmp(last_component(k->path), name) != 0)
				continue;
			int m = snprintf(hint + used, sizeof(hint) - used, "%s%s", n == 0 ? " (did you mean " : " or ",
			    k->path);
			if (m < 0 || (size_t)m >= sizeof(hint) - used)
				break;
			used += (size_t)m;
			n++;
		}
		if (n > 0)
			snprintf(hint + used, sizeof(hint) - used, "?)");
	}
	walk_error(w, s, disp, "unknown setting%s", hint);
}

static void check_group(struct walk *w, const char *prefix, const char *display,
    config_setting_t *group);

static void check_strlist(struct walk *w, const struct conf_key *k, const config_setting_t *s,
    const char *display)
{
	char err[ERRLEN], disp[PATHLEN];
	int n = config_setting_length(s);

	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		index_path(disp, sizeof(disp), display, i);
		if (config_setting_type(e) != CONFIG_TYPE_STRING) {
			walk_error(w, e, disp, "expected a string, got %s", setting_type_name(e));
			continue;
		}
		const char *v = config_setting_get_string(e);
		if (k->check != NULL && k->check(v, err, sizeof(err)) < 0)
			walk_error(w, e, disp, "%s", err);
		if (!(k->flags & CONF_UNIQUE))
			continue;
		for (int j = 0; j < i; j++) {
			const config_setting_t *o = config_setting_get_elem(s, (unsigned)j);
			if (config_setting_type(o) == CONFIG_TYPE_STRING &&
			    strcasecmp(config_setting_get_string(o), v) == 0) {
				walk_error(w, e, disp, "\"%s\" is listed twice", v);
				break;
			}
		}
	}
	if (k->max > 0 && (n < k->min || n > k->max)) {
		if (k->min == 1 && n == 0)
			walk_error(w, s, display, "must list at least one entry");
		else
			walk_error(w, s, display, "must list between %" PRId64 " and %" PRId64 " entries, got %d",
			    k->min, k->max, n);
	}
}

static struct conf *view_new(struct conf *root, const char *prefix, const char *display,
    config_setting_t *group)
{
	struct conf *v = xcalloc(1, sizeof(*v));
	v->root = root;
	v->prefix = prefix;
	v->display = xstrdup(display);
	v->group = group;
	root->views = xreallocarray(root->views, root->nviews + 1, sizeof(*root->views));
	root->views[root->nviews++] = v;
	config_setting_set_hook(group, v);
	return v;
}

static void check_setting(struct walk *w, const struct conf_key *k, config_setting_t *s,
    const char *display)
{
	char err[ERRLEN], disp[PATHLEN];
	int type = config_setting_type(s);

	switch (k->type) {
	case CONF_GROUP:
		if (type != CONFIG_TYPE_GROUP)
			break;
		check_group(w, k->path, display, s);
		return;
	case CONF_GROUP_LIST:
		if (type != CONFIG_TYPE_LIST && !(type == CONFIG_TYPE_ARRAY && config_setting_length(s) == 0))
			break;
		for (int i = 0; i < config_setting_length(s); i++) {
			config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
			index_path(disp, sizeof(disp), display, i);
			if (config_setting_type(e) != CONFIG_TYPE_GROUP) {
				walk_error(w, e, disp, "expected a group { ... }, got %s", setting_type_name(e));
				continue;
			}
			view_new(w->root, k->path, disp, e);
			check_group(w, k->path, disp, e);
		}
		if (k->max > 0 && (config_setting_length(s) < k->min || config_setting_length(s) > k->max))
			walk_error(w, s, display, "must have between %" PRId64 " and %" PRId64 " entries, got %d",
			    k->min, k->max, config_setting_length(s));
		return;
	case CONF_STRLIST:
		if (type != CONFIG_TYPE_ARRAY && type != CONFIG_TYPE_LIST)
			break;
		check_strlist(w, k, s, display);
		return;
	default: {
		struct value v = { 0 };
		if (value_from_setting(k, s, &v, err, sizeof(err)) < 0 || value_check(k, &v, err, sizeof(err)) < 0)
			walk_error(w, s, display, "%s", err);
		return;
	}
	}
	walk_error(w, s, display, "expected %s, got %s", expected_name(k->type), setting_type_name(s));
}

/* Check one group of the file: what it holds, and what it lacks. A group the
 * file leaves out is not checked: a key required inside an optional group
 * is required only when the file has that group. */
static void check_group(struct walk *w, const char *prefix, const char *display,
    config_setting_t *group)
{
	const struct conf_schema *schema = w->root->schema;
	char path[PATHLEN], disp[PATHLEN];

	for (int i = 0; i < config_setting_length(group); i++) {
		config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
		join(path, sizeof(path), prefix, config_setting_name(s));
		join(disp, sizeof(disp), display, config_setting_name(s));
		const struct conf_key *k = conf_schema_find(schema, path);
		if (k == NULL)
			report_unknown(w, prefix, display, s);
		else
			check_setting(w, k, s, disp);
	}
	for (size_t i = 0; i < schema->nkeys; i++) {
		const struct conf_key *k = &schema->keys[i];
		if (!is_child(k->path, prefix))
			continue;
		const char *name = last_component(k->path);
		config_setting_t *s = config_setting_get_member(group, name);
		join(disp, sizeof(disp), display, name);
		if (s == NULL) {
			if (k->flags & CONF_REQUIRED)
				walk_error(w, group, disp, "required setting is missing");
			continue;
		}
		const config_setting_t *x = k->excludes ?
		    config_setting_get_member(group, last_component(k->excludes)) : NULL;
		if (x != NULL) {
			char xwhere[PATH_MAX + 32], xdisp[PATHLEN];
			setting_where(w->root, x, xwhere, sizeof(xwhere));
			join(xdisp, sizeof(xdisp), display, last_component(k->excludes));
			walk_error(w, s, disp, "cannot be set together with %s (%s): choose one", xdisp, xwhere);
		}
	}
}

/* Expand the "${key}" defaults once, now that the keys they name are known. */
static void expand_defaults(struct walk *w)
{
	struct conf *root = w->root;
	const struct conf_schema *schema = root->schema;
	char ref[PATHLEN], err[ERRLEN];

	root->derived = xcalloc(schema->nkeys, sizeof(*root->derived));
	for (size_t i = 0; i < schema->nkeys; i++) {
		const struct conf_key *k = &schema->keys[i];
		if (k->def == NULL || strstr(k->def, "${") == NULL)
			continue;
		struct buf b = BUF_INIT;
		bool unset = false;
		for (const char *p = k->def; *p != '\0';) {
			const char *open = strstr(p, "${");
			if (open == NULL) {
				buf_append_str(&b, p);
				break;
			}
			const char *close = strchr(open, '}');
			buf_append(&b, p, (size_t)(open - p));
			snprintf(ref, sizeof(ref), "%.*s", (int)(close - open - 2), open + 2);
			const char *v = conf_str(root, ref);
			if (v == NULL)
				unset = true;
			else
				buf_append_str(&b, v);
			p = close + 1;
		}
		buf_append(&b, "", 1);
		if (unset) {
			buf_free(&b);
			continue;
		}
		struct value v = { .s = b.data };
		if (value_check(k, &v, err, sizeof(err)) < 0)
			walk_error(w, NULL, k->path, "its default \"%s\" (from %s) is not usable: %s", b.data, k->def,
			    err);
		root->derived[i] = b.data;
	}
}

/* --- loading ----------------------------------------------------------------- */

/* The string values of the tree in file order, which is the order their
 * literals were found in (see pp_string_starts). */
static void count_strings(config_setting_t *s, size_t *n)
{
	if (config_setting_type(s) == CONFIG_TYPE_STRING)
		(*n)++;
	if (config_setting_is_aggregate(s))
		for (int i = 0; i < config_setting_length(s); i++)
			count_strings(config_setting_get_elem(s, (unsigned)i), n);
}

static void set_string_lines(config_setting_t *s, const struct source *src, size_t *n)
{
	if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		/* A named setting is dated by its name, which is right already.
		 * The field is public in libconfig.h; the tree is ours. */
		if (config_setting_name(s) == NULL)
			s->line = src->string_lines[*n];
		(*n)++;
	}
	if (config_setting_is_aggregate(s))
		for (int i = 0; i < config_setting_length(s); i++)
			set_string_lines(config_setting_get_elem(s, (unsigned)i), src, n);
}

static void fix_string_lines(config_setting_t *root, const struct source *src)
{
	size_t n = 0;
	count_strings(root, &n);
	if (n != src->nstrings)
		return; /* we lexed differently from libconfig: keep its lines */
	n = 0;
	set_string_lines(root, src, &n);
}

static int load(struct conf **out, const struct conf_schema *schema, const char *text, size_t len,
    const char *name, struct conf_errors *errs)
{
	char err[ERRLEN];
	size_t before = errors_total(errs);

	*out = NULL;
	if (conf_schema_check(schema, err, sizeof(err)) < 0)
		log_fatal("configuration schema: %s", err);

	struct conf *c = xcalloc(1, sizeof(*c));
	c->root = c;
	c->prefix = "";
	c->display = xstrdup("");
	c->schema = schema;
	c->where = hash_new(16);
	config_init(&c->cfg);

	struct pp pp = { &c->src, errs, false };
	uint32_t main_file = source_add_file(&c->src, name);
	pp_file(&pp, text, len, main_file, 0);
	buf_append(&c->src.text, "", 1);
	if (errors_total(errs) != before)
		goto fail;

	if (config_read_string(&c->cfg, buf_head(&c->src.text)) != CONFIG_TRUE) {
		char where[PATH_MAX + 32];
		source_where(&c->src, (unsigned)config_error_line(&c->cfg), where, sizeof(where));
		errors_add(errs, "%s: %s", where, config_error_text(&c->cfg));
		goto fail;
	}
	c->group = config_root_setting(&c->cfg);
	fix_string_lines(c->group, &c->src);

	struct walk w = { c, errs };
	check_group(&w, "", "", c->group);
	if (errors_total(errs) != before)
		goto fail;
	expand_defaults(&w);
	if (errors_total(errs) != before)
		goto fail;
	*out = c;
	return 0;
fail:
	conf_free(&c);
	return -1;
}

int conf_load_string_schema(struct conf **out, const struct conf_schema *schema, const char *text,
    const char *name, struct conf_errors *errs)
{
	return load(out, schema, text, strlen(text), name, errs);
}

int conf_load_string(struct conf **out, const char *text, const char *name, struct conf_errors *errs)
{
	return load(out, &conf_parley_schema, text, strlen(text), name, errs);
}

int conf_load(struct conf **out, const char *path, struct conf_errors *errs)
{
	char err[ERRLEN];
	struct buf text = BUF_INIT;

	*out = NULL;
	if (read_file(path, &text, err, sizeof(err)) < 0) {
		errors_add(errs, "%s: %s", path, err);
		buf_free(&text);
		return -1;
	}
	int r = load(out, &conf_parley_schema, buf_head(&text), buf_used(&text), path, errs);
	buf_free(&text);
	return r;
}

void conf_free(struct conf **cp)
{
	struct conf *c = *cp;

	if (c == NULL)
		return;
	if (c->root != c)
		log_fatal("conf_free: called on a list element, which its configuration owns");
	for (size_t i = 0; i < c->nviews; i++) {
		free(c->views[i]->display);
		free(c->views[i]);
	}
	free(c->views);
	if (c->derived != NULL)
		for (size_t i = 0; i < c->schema->nkeys; i++)
			free(c->derived[i]);
	free(c->derived);
	config_destroy(&c->cfg);
	source_free(&c->src);
	hash_free(&c->where, free);
	free(c->display);
	free(c);
	*cp = NULL;
}

/* --- reading ----------------------------------------------------------------- */

/* The file's setting at `rel` below `group`, or NULL. */
static config_setting_t *find_setting(config_setting_t *group, const char *rel)
{
	char name[PATHLEN];

	while (group != NULL && *rel != '\0') {
		if (config_setting_type(group) != CONFIG_TYPE_GROUP)
			return NULL;
		const char *dot = strchr(rel, '.');
		size_t n = dot ? (size_t)(dot - rel) : strlen(rel);
		if (n >= sizeof(name))
			return NULL;
		memcpy(name, rel, n);
		name[n] = '\0';
		group = config_setting_get_member(group, name);
		rel += n + (dot ? 1 : 0);
	}
	return group;
}

/* The key behind a getter's path, checked against what the getter reads. */
static const struct conf_key *resolve(const struct conf *c, const char *rel, const char *fn,
    unsigned types, config_setting_t **setting)
{
	const struct conf_schema *schema = c->root->schema;
	char path[PATHLEN];

	join(path, sizeof(path), c->prefix, rel);
	const struct conf_key *k = conf_schema_find(schema, path);
	if (k == NULL)
		log_fatal("%s(\"%s\"): no such key in the configuration schema", fn, path);
	if (!(types & (1u << k->type)))
		log_fatal("%s(\"%s\"): the key is a %s", fn, path, conf_type_name(k->type));
	const struct conf_key *list = enclosing_list(schema, path, c->prefix);
	if (list != NULL)
		log_fatal("%s(\"%s\"): %s is a list: read its elements with conf_list_elem()", fn, path,
		    list->path);
	*setting = find_setting(c->group, rel);
	return k;
}

#define T(t) (1u << (t))

static struct value get_value(const struct conf *c, const char *rel, const char *fn, unsigned types)
{
	config_setting_t *s;
	const struct conf_key *k = resolve(c, rel, fn, types, &s);
	struct value v = { 0 };
	char err[ERRLEN];

	if (s != NULL) {
		if (value_from_setting(k, s, &v, err, sizeof(err)) < 0)
			log_fatal("%s(\"%s\"): %s", fn, k->path, err); /* checked at load: cannot happen */
		return v;
	}
	if (k->def != NULL && strstr(k->def, "${") != NULL) {
		v.s = c->root->derived[k - c->root->schema->keys];
		return v;
	}
	if (k->def == NULL)
		return v; /* an unset string */
	if (value_from_text(k, k->def, &v, err, sizeof(err)) < 0)
		log_fatal("%s(\"%s\"): default: %s", fn, k->path, err);
	return v;
}

bool conf_bool(const struct conf *c, const char *path)
{
	return get_value(c, path, "conf_bool", T(CONF_BOOL)).b;
}

int64_t conf_int(const struct conf *c, const char *path)
{
	return get_value(c, path, "conf_int", T(CONF_INT)).i;
}

const char *conf_str(const struct conf *c, const char *path)
{
	return get_value(c, path, "conf_str", T(CONF_STRING) | T(CONF_ENUM) | T(CONF_PATH)).s;
}

uint64_t conf_size(const struct conf *c, const char *path)
{
	return (uint64_t)get_value(c, path, "conf_size", T(CONF_SIZE)).i;
}

int64_t conf_duration_ms(const struct conf *c, const char *path)
{
	return get_value(c, path, "conf_duration_ms", T(CONF_DURATION)).i;
}

mode_t conf_mode(const struct conf *c, const char *path)
{
	return (mode_t)get_value(c, path, "conf_mode", T(CONF_MODE)).i;
}

size_t conf_strlist_count(const struct conf *c, const char *path)
{
	config_setting_t *s;
	resolve(c, path, "conf_strlist_count", T(CONF_STRLIST), &s);
	return s ? (size_t)config_setting_length(s) : 0;
}

const char *conf_strlist_get(const struct conf *c, const char *path, size_t i)
{
	config_setting_t *s;
	resolve(c, path, "conf_strlist_get", T(CONF_STRLIST), &s);
	if (s == NULL || i >= (size_t)config_setting_length(s))
		log_fatal("conf_strlist_get(\"%s\", %zu): out of range", path, i);
	return config_setting_get_string_elem(s, (int)i);
}

size_t conf_list_count(const struct conf *c, const char *path)
{
	config_setting_t *s;
	resolve(c, path, "conf_list_count", T(CONF_GROUP_LIST), &s);
	return s ? (size_t)config_setting_length(s) : 0;
}

const struct conf *conf_list_elem(const struct conf *c, const char *path, size_t i)
{
	config_setting_t *s;
	resolve(c, path, "conf_list_elem", T(CONF_GROUP_LIST), &s);
	if (s == NULL || i >= (size_t)config_setting_length(s))
		log_fatal("conf_list_elem(\"%s\", %zu): out of range", path, i);
	return config_setting_get_hook(config_setting_get_elem(s, (unsigned)i));
}

#define ANY_TYPE (~0u)

bool conf_is_set(const struct conf *c, const char *path)
{
	config_setting_t *s;
	resolve(c, path, "conf_is_set", ANY_TYPE, &s);
	return s != NULL;
}

const char *conf_where(const struct conf *c, const char *path)
{
	config_setting_t *s, *found = c->group;
	char rel[PATHLEN], where[PATH_MAX + 32];

	resolve(c, path, "conf_where", ANY_TYPE, &s);
	/* The setting, or the deepest group the file has on the way to it. */
	snprintf(rel, sizeof(rel), "%s", path);
	for (;;) {
		config_setting_t *t = find_setting(c->group, rel);
		if (t != NULL) {
			found = t;
			break;
		}
		char *dot = strrchr(rel, '.');
		if (dot == NULL)
			break;
		*dot = '\0';
	}
	setting_where(c->root, found, where, sizeof(where));

	struct hash *h = c->root->where;
	char *interned = hash_get(h, where, strlen(where));
	if (interned == NULL) {
		interned = xstrdup(where);
		hash_put(h, where, strlen(where), interned);
	}
	return interned;
}

const char *conf_display_path(const struct conf *c, const char *path, char *out, size_t len)
{
	join(out, len, c->display, path);
	return out;
}

void conf_error(struct conf_errors *errs, const struct conf *c, const char *path, const char *fmt, ...)
{
	char disp[PATHLEN], msg[ERRLEN * 2];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	errors_add(errs, "%s: %s: %s", conf_where(c, path), conf_display_path(c, path, disp, sizeof(disp)),
	    msg);
}

void conf_log_for(const struct conf *c, const char *process, const char **target, enum log_level *level)
{
	char path[PATHLEN];
	const char *t = NULL, *l = NULL;

	if (c->root != c)
		log_fatal("conf_log_for: needs the whole configuration, not a list element");
	if (process != NULL) {
		snprintf(path, sizeof(path), "%s.log.target", process);
		t = conf_str(c, path);
		snprintf(path, sizeof(path), "%s.log.level", process);
		l = conf_str(c, path);
	}
	*target = t ? t : conf_str(c, "log.target");
	int lv = log_level_parse(l ? l : conf_str(c, "log.level"));
	*level = lv < 0 ? LOG_LEVEL_INFO : (enum log_level)lv;
}
