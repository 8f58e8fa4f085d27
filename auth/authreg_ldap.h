/*
 * authreg_ldap.h — the `ldap` authreg backend (authreg_ldap.c): find the
 * user's entry with a search, then bind as it with the password. Also the
 * filter template and its RFC 4515 escaping (authreg_ldap_filter.c), kept
 * apart from libldap so a unit test can check them byte by byte.
 */
#ifndef PARLEY_AUTHREG_LDAP_H
#define PARLEY_AUTHREG_LDAP_H

#include <stdbool.h>
#include <stddef.h>

#include "authreg.h"
#include "conf.h"
#include "landlock.h"
#include "loop.h"

/* Check the auth.ldap settings auth_configure() cannot judge alone (the
 * URI, the base, the filter template, the password file); each problem
 * is reported at its setting's line. */
void authreg_ldap_check(const struct conf *c, struct conf_errors *errs);

/* Start the backend from the auth.ldap settings and auth.threads: libldap's
 * global TLS context (the CA file is read here), the bind password file,
 * and, when the URI names a host rather than an address, one lookup so the
 * resolver's modules are loaded. Before the sandbox; no connection is made
 * yet and no thread is started (the first request starts them). */
struct authreg *authreg_ldap_new(struct loop *loop, const struct conf *c, char *err,
    size_t errlen);

/* What the backend needs from auth's sandbox: appends its seccomp words to
 * `policy` (always "thread inet"; "rpath dns" when the URI names a host)
 * and adds up to `max` - *npaths Landlock paths (the resolver's files) to
 * `paths`. The strings stay valid for the backend's life. */
void authreg_ldap_sandbox(const struct authreg *ar, char *policy, size_t policylen,
    struct landlock_path *paths, size_t *npaths, size_t max);

/* --- authreg_ldap_filter.c ---------------------------------------------------- */

/* A template is valid when it is one parenthesized filter, uses no '%'
 * sequences but %u, %d and %%, and names %u at least once. */
int ldap_filter_template_check(const char *tmpl, char *err, size_t errlen);

/* The value as an RFC 4515 assertion value: '*', '(', ')', '\', NUL, the
 * other control characters and every byte outside ASCII become \XX (two
 * lowercase hex digits). Writes at most outlen bytes with the NUL; returns
 * the length the whole escaped value needs (without the NUL), so a result
 * >= outlen means it did not fit. */
size_t ldap_filter_escape(const char *value, size_t len, char *out, size_t outlen);

/* The filter for one user: the template with %u and %d replaced by the
 * escaped localpart and domain and %% by '%'. A new string (free()). */
char *ldap_filter_build(const char *tmpl, const char *user, const char *domain);

#endif
