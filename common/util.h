/*
 * util.h — small things every file needs: allocation that cannot return
 * NULL, the error-reason convention, and a couple of macros.
 *
 * Error convention (after Dovecot's error_r): a function that can fail
 * returns 0 on success and -1 on failure, and writes a human-readable reason
 * into the caller's `err` buffer (ERRLEN bytes is always enough). It does not
 * log: the caller decides what the failure means and logs it once.
 */
#ifndef PARLEY_UTIL_H
#define PARLEY_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define ERRLEN 256

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#if defined(__GNUC__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#define NORETURN __attribute__((noreturn))
#else
#define PRINTF_LIKE(f, a)
#define NORETURN
#endif

/* Out of memory is fatal: a daemon that cannot allocate a few bytes cannot
 * keep its promises either, and pretending otherwise spreads NULL checks
 * through every line. These log once and exit. */
void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
/* Grow an array of `nmemb` elements of `size` bytes; checks for overflow. */
void *xreallocarray(void *p, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* Write a formatted reason into err (may be NULL); always returns -1 so that
 * `return errf(err, errlen, "...")` reads naturally. */
int errf(char *err, size_t errlen, const char *fmt, ...) PRINTF_LIKE(3, 4);

#endif
