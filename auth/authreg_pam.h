/*
 * authreg_pam.h — the `pam` authreg backend (authreg_pam.c, auth's side)
 * and its helper process (authreg_pam_helper.c), and the few bytes they
 * exchange.
 *
 * PAM cannot run inside auth: libpam dlopen()s the stack's modules at
 * pam_start, which auth's seccomp filter (no executable mappings) and
 * Landlock forbid, modules such as pam_unix must read /etc/shadow as root,
 * and a module may block for as long as it likes. So auth forks a helper
 * before its sandbox; the helper keeps auth's starting privileges and runs
 * each conversation in a child of its own. They talk over a socketpair of
 * type SOCK_SEQPACKET: one request or answer is one packet, the kernel keeps
 * the boundaries, and every field inside carries its length.
 *
 *   request  u32 id, u16 user length, u16 password length, user, password
 *   answer   u32 id, u8 result (enum pam_answer), u8 0, u16 reason length,
 *            reason (pam_strerror's text, or why the child died)
 *
 * Integers are in the host's order: both ends are one binary on one
 * machine. Exactly one answer comes for every request (the helper answers
 * for a child that died or was killed); a duplicate is possible only when a
 * child answered and was killed before it could exit, and auth ignores an
 * answer whose id it no longer waits for.
 */
#ifndef PARLEY_AUTHREG_PAM_H
#define PARLEY_AUTHREG_PAM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "authreg.h"
#include "conf.h"
#include "loop.h"
#include "util.h"

#define PAM_HELPER_MAX_PACKET 8192
#define PAM_HELPER_REQ_HEADER 8
#define PAM_HELPER_ANS_HEADER 8
#define PAM_HELPER_MAX_REASON 240

enum pam_answer {
	PAM_ANSWER_YES = 0,     /* authenticated, and the account may log in */
	PAM_ANSWER_NO = 1,      /* wrong password, unknown user, account refused */
	PAM_ANSWER_ERROR = 2,   /* the stack could not decide (a module failed, a timeout) */
};

/* Check auth.pam.username (only %u, %d and %% after '%'). */
void authreg_pam_check(const struct conf *c, struct conf_errors *errs);

/* Fork the helper (now, before the sandbox) and return the backend. */
struct authreg *authreg_pam_new(struct loop *loop, const struct conf *c, char *err,
    size_t errlen);

/* authreg_pam_helper.c: the helper's life, in the child of the fork. It
 * serves requests on `sock` until auth closes its end, at most
 * `max_children` conversations at once, each killed (with whatever it
 * started) after `timeout_ms`. */
NORETURN void pam_helper_main(int sock, const char *service, unsigned max_children,
    unsigned timeout_ms, pid_t parent);

#endif
