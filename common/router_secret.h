/*
 * router_secret.h — the shared secret every process presents to the router
 * in its HELLO: `router.secret`, or the first line of `router.secret_file`.
 * One reader for the router, its peers and parleyctl, so they agree on
 * what the secret is (an editor's final newline is not part of it).
 */
#ifndef PARLEY_ROUTER_SECRET_H
#define PARLEY_ROUTER_SECRET_H

#include <stddef.h>
#include <sys/stat.h>

#include "conf.h"

/* The HELLO frame's `secret` carries at most 1024 bytes; the schema's check
 * on router.secret asks for at least 16. */
#define ROUTER_SECRET_MAX 1023
#define ROUTER_SECRET_MIN 16

/* Read a secret file: its bytes without the final line ends. `out` holds
 * ROUTER_SECRET_MAX + 1 bytes and is NUL-terminated; `st` (may be NULL)
 * gets the file's status, for a check of its mode. */
int router_secret_read_file(const char *path, char *out, size_t *len, struct stat *st,
    char *err, size_t errlen);

/* The secret the configuration names. On failure the reason names the
 * file; conf_where(c, router_secret_setting(c)) says where it was set. */
int router_secret_get(const struct conf *c, char *out, size_t *len, char *err, size_t errlen);
/* "router.secret", "router.secret_file", or "router" when neither is set. */
const char *router_secret_setting(const struct conf *c);

#endif
