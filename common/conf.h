/*
 * conf.h — the configuration of the whole suite: one libconfig file with a
 * section per process (router, c2s, s2s, sm, auth), shared top-level settings
 * and a storage section, checked against one schema (conf_schema.c) before
 * any process acts on it.
 *
 * Everything wrong in the file is reported as "FILE:LINE: path: what is
 * wrong" — syntax errors, unknown keys (with a "did you mean" suggestion),
 * wrong types, bad values, missing required keys — and every error is
 * collected, not just the first, so an operator fixes the file in one pass.
 * A process whose file does not load refuses to start.
 *
 * Once loaded, values are read with typed getters by path
 * (conf_int(c, "c2s.max_depth")); a key the file leaves out reads as its
 * schema default. Asking for a path the schema does not know, or with the
 * wrong getter, is a programming error and is fatal.
 *
 * This module does not log (except for those programming errors) and does not
 * look at anything but the file: whether a certificate is readable or a user
 * exists is for the process that uses it, which reports it with conf_error()
 * so that the message points at the right line.
 */
#ifndef PARLEY_CONF_H
#define PARLEY_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "jid.h"
#include "log.h"
#include "util.h"

/* --- the schema ---------------------------------------------------------- */

enum conf_type {
	CONF_GROUP,	 /* a group { ... }: a section, or settings inside one */
	CONF_GROUP_LIST, /* ( { ... }, { ... } ): groups that share one sub-schema */
	CONF_BOOL,	 /* true or false */
	CONF_INT,	 /* an integer in [min, max] */
	CONF_STRING,	 /* any string the key's check accepts */
	CONF_ENUM,	 /* one of `choices` */
	CONF_PATH,	 /* an absolute file system path */
	CONF_STRLIST,	 /* [ "a", "b" ] */
	CONF_SIZE,	 /* bytes: an integer, or "64K", "16M", "1G" (powers of 1024) */
	CONF_DURATION,	 /* an integer of seconds, or "250ms", "30s", "5m", "2h", "1d";
			  * min/max and the getter are in milliseconds */
	CONF_MODE,	 /* permission bits: 0660 (a leading 0 is octal) or "0660" */
};

/* conf_key.flags */
#define CONF_REQUIRED	0x1 /* the file must set it whenever it has the key's group */
#define CONF_UNIQUE	0x2 /* string list: no entry twice, ignoring case */

/*
 * One setting. `path` is the full dotted path ("c2s.max_stanza_size"); the
 * fields of the elements of a CONF_GROUP_LIST are written under the list's
 * path ("c2s.listeners.port"). Every group a key lives in has its own entry.
 *
 * `def` is the default written as it would be in the file ("256K", "0660",
 * "true", "32"); in a string or path it may name another top-level key as
 * "${run_dir}", and a default whose reference is unset is unset too. NULL
 * means no default: string getters then return NULL, and every other type
 * must have a default unless it is required.
 */
struct conf_key {
	const char *path;
	enum conf_type type;
	const char *def;
	unsigned flags;
	int64_t min, max;		/* CONF_INT, SIZE, DURATION (ms), MODE; and the
					 * number of entries of a STRLIST or GROUP_LIST
					 * when max > 0 */
	const char *const *choices;	/* CONF_ENUM: NULL-terminated */
	/* More checks on a string, path or string-list entry: return 0, or -1
	 * with the reason (which may quote the value) in err. */
	int (*check)(const char *value, char *err, size_t errlen);
	const char *excludes;		/* a sibling key that may not be set as well */
	const char *doc;		/* one line, for humans */
};

struct conf_schema {
	const struct conf_key *keys;
	size_t nkeys;
};

/* Parley's schema: every key of parley.conf (conf_schema.c). */
extern const struct conf_schema conf_parley_schema;

/* Check a schema for mistakes (duplicate or orphan paths, defaults that do
 * not parse or lie out of range, bad references). The loader calls it and
 * treats a failure as fatal; tests call it to say what is wrong. */
int conf_schema_check(const struct conf_schema *schema, char *err, size_t errlen);
const struct conf_key *conf_schema_find(const struct conf_schema *schema, const char *path);
const char *conf_type_name(enum conf_type type);

/* --- errors -------------------------------------------------------------- */

#define CONF_MAX_ERRORS 50

/* The errors of one load, in file order, each "FILE:LINE: path: message".
 * Beyond CONF_MAX_ERRORS they are only counted. */
struct conf_errors {
	char *msg[CONF_MAX_ERRORS];
	size_t count;
	size_t dropped;
};

#define CONF_ERRORS_INIT { { NULL }, 0, 0 }

/* Free the messages; the struct is empty and usable again. */
void conf_errors_clear(struct conf_errors *errs);
/* One line per error, then "(N more errors not shown)" if any were dropped. */
void conf_errors_print(const struct conf_errors *errs, FILE *out);

/* --- loading ------------------------------------------------------------- */

struct conf;

/*
 * Read and check the file at `path` (with its @includes, which are read
 * relative to the directory of the file that includes them). On success
 * returns 0 and sets *out; on any error returns -1, leaves *out NULL and
 * appends every error found to errs.
 */
int conf_load(struct conf **out, const char *path, struct conf_errors *errs);
/* The same from text in memory; `name` stands for the file name in errors
 * (and its directory, if it has one, is where relative @includes are read). */
int conf_load_string(struct conf **out, const char *text, const char *name,
    struct conf_errors *errs);
/* The same against another schema: for the loader's own tests. */
int conf_load_string_schema(struct conf **out, const struct conf_schema *schema,
    const char *text, const char *name, struct conf_errors *errs);
/* Free what conf_load returned (never a list element view). */
void conf_free(struct conf **c);

/* --- reading ------------------------------------------------------------- */

/*
 * Getters take a path relative to `c`: from conf_load's result, the full
 * path; from a list element (conf_list_elem), the field's path inside the
 * element. Strings stay valid until conf_free.
 */
bool conf_bool(const struct conf *c, const char *path);
int64_t conf_int(const struct conf *c, const char *path);
/* CONF_STRING, CONF_ENUM and CONF_PATH; NULL if unset without a default. */
const char *conf_str(const struct conf *c, const char *path);
uint64_t conf_size(const struct conf *c, const char *path);
int64_t conf_duration_ms(const struct conf *c, const char *path);
mode_t conf_mode(const struct conf *c, const char *path);
size_t conf_strlist_count(const struct conf *c, const char *path);
const char *conf_strlist_get(const struct conf *c, const char *path, size_t i);
/* A list of groups: the number of elements, and element i as a view whose
 * getters read that element's fields ("port", not "c2s.listeners.port"). */
size_t conf_list_count(const struct conf *c, const char *path);
const struct conf *conf_list_elem(const struct conf *c, const char *path, size_t i);

/* Whether `domain` is one of `hosts` (both prepared); its prepared form is
 * written to `out`. In conf_hosts.c. */
bool conf_hosted_domain(const struct conf *c, const char *domain, char out[JID_PART_BUFSIZE]);

/* Whether parleyd runs `service` ("router", "auth", "sm", "c2s", "s2s"):
 * listed in parleyd.services, or, when that is unset, in its default (the
 * processes built so far; the schema cannot hold a list default). */
bool conf_service_enabled(const struct conf *c, const char *service);

/* Whether the file sets the key (rather than leaving it to its default). */
bool conf_is_set(const struct conf *c, const char *path);
/* "FILE:LINE" of the setting; if the file leaves it out, of the nearest
 * enclosing group it has, or "FILE" alone. For messages about values that
 * are well-formed but unusable, found later by the process. */
const char *conf_where(const struct conf *c, const char *path);
/* The path as the operator sees it ("c2s.listeners[1].port"). */
const char *conf_display_path(const struct conf *c, const char *path, char *buf, size_t len);
/* Append "WHERE: PATH: message" to errs, for those same later checks. */
void conf_error(struct conf_errors *errs, const struct conf *c, const char *path,
    const char *fmt, ...) PRINTF_LIKE(4, 5);

/* Where a process logs: its own section's log.target and log.level where
 * set, else the top-level log group's. `process` is "router", "c2s", "s2s",
 * "sm" or "auth"; NULL gives the top-level settings (for parleyd). */
void conf_log_for(const struct conf *c, const char *process, const char **target,
    enum log_level *level);

#endif
