/*
 * sandbox.c — the mechanism behind sandbox.h: dropping the user, setting
 * no_new_privs, loading the seccomp filter and reporting a violation of
 * it, and sandbox_apply(), which runs the steps in order. Which system calls
 * a policy word allows is seccomp_policy.c's business; the Landlock ruleset
 * is landlock.c's. Nothing here logs: results go back to the caller.
 *
 * Why this order — drop user, no_new_privs, Landlock, seccomp:
 *  - The user goes first because everything after it needs no privilege,
 *    and because the drop itself needs what the later steps take away:
 *    getpwnam_r() may read /etc/passwd and dlopen() NSS modules (open,
 *    mmap with PROT_EXEC), and setgroups/setresgid/setresuid are calls no
 *    filter should allow afterwards. The kernel would accept no_new_privs
 *    either side of the drop; putting it after keeps the rule simple: first
 *    lose the privilege, then lock the ways back in.
 *  - no_new_privs comes before Landlock and seccomp because an unprivileged
 *    process may only install either of them with it set: otherwise it
 *    could sandbox a setuid program it then executes into misbehaving.
 *  - Landlock comes before seccomp because building the ruleset needs
 *    open(O_PATH) and the three landlock system calls, none of which a
 *    process's filter should allow. The filter goes last since it is the
 *    step that forbids the calls every other step makes.
 *
 * Why SCMP_ACT_TRAP and a SIGSYS handler rather than SCMP_ACT_KILL_PROCESS:
 * a killed process leaves nothing but "killed by signal 31" for the
 * supervisor, and the operator has to guess which call it was (the kernel's
 * audit log is rarely collected, and not at all inside most containers).
 * TRAP asks the kernel to deliver SIGSYS with the call's number and
 * architecture instead of running it; our handler writes one line saying
 * which call and which policy, using only async-signal-safe calls and a
 * table of names made before the filter went in, then ends the process
 * with SIGSYS, so the supervisor sees the same death either way.
 * A trapped call never runs, so the reporter adds no hole: if something
 * replaced the handler, the forbidden call would still fail, just quietly.
 * The "signal" policy group does not allow touching SIGSYS anyway.
 */
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <seccomp.h>

#include "conf_user.h"
#include "landlock.h"
#include "sandbox.h"
#include "seccomp_policy.h"
#include "util.h"

/* ---- the user ---------------------------------------------------------- */

/* The user, and the group when one is named (else the user's login group). */
static int lookup_user(const char *user, const char *group, uid_t *uid, gid_t *gid,
    char **home, char *err, size_t errlen)
{
	if (conf_lookup_user(user, uid, gid, home, err, errlen) < 0)
		return -1;
	if (group != NULL && conf_lookup_group(group, gid, err, errlen) < 0) {
		free(*home);
		*home = NULL;
		return -1;
	}
	return 0;
}

static bool ids_are(uid_t uid, gid_t gid)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0)
		return false;
	return ru == uid && eu == uid && su == uid && rg == gid && eg == gid && sg == gid;
}

static bool groups_are(gid_t gid)
{
	gid_t groups[2];
	int n = getgroups(2, groups);
	return n == 1 && groups[0] == gid;
}

static int drop_user(const char *user, const char *group, bool allow_root,
    char *err, size_t errlen)
{
	uid_t uid = 0;
	gid_t gid = 0;
	char *home = NULL;
	int rc = -1;

	if (lookup_user(user, group, &uid, &gid, &home, err, errlen) < 0)
		return -1;
	if (uid == 0 && !allow_root) {
		errf(err, errlen, "refusing to run as %s: it has uid 0 "
		    "(configure an unprivileged user)", user);
		goto out;
	}
	if (geteuid() != 0) {
		if (ids_are(uid, gid)) {
			errf(err, errlen, "not running as root: already user %s, "
			    "nothing to drop", user);
			rc = 1;
		} else {
			errf(err, errlen, "cannot switch to user %s: not running as root", user);
		}
		goto out;
	}

	/* Changing the effective ids clears the parent-death signal
	 * (prctl(2)); note the one parleyd set, to set it again below. */
	int pdeathsig = 0;
	pid_t parent = getppid();
	(void)prctl(PR_GET_PDEATHSIG, &pdeathsig, 0, 0, 0);

	/* Groups first: once the uid has changed we may no longer change them.
	 * Exactly one supplementary group — the one we run as — rather than
	 * initgroups(): group memberships the operator gave the account for
	 * other purposes are not this daemon's to use. */
	if (setgroups(1, &gid) < 0) {
		errf(err, errlen, "setgroups(%lu): %s", (unsigned long)gid, strerror(errno));
		goto out;
	}
	if (setresgid(gid, gid, gid) < 0) {
		errf(err, errlen, "setresgid(%lu): %s", (unsigned long)gid, strerror(errno));
		goto out;
	}
	if (setresuid(uid, uid, uid) < 0) {
		errf(err, errlen, "setresuid(%lu): %s", (unsigned long)uid, strerror(errno));
		goto out;
	}
	/* Trust, but verify: a kernel or LSM quirk that left a saved id behind
	 * would let the process switch back. */
	if (!ids_are(uid, gid) || !groups_are(gid)) {
		errf(err, errlen, "switched to user %s, but the ids did not all change", user);
		goto out;
	}
	if (uid != 0 && (setuid(0) != -1 || setgid(0) != -1)) {
		errf(err, errlen, "switched to user %s, but could switch back to root", user);
		goto out;
	}
	/* A process started by parleyd must still die with it; if parleyd died
	 * while the signal was cleared, nobody would have told us. */
	if (pdeathsig != 0) {
		if (prctl(PR_SET_PDEATHSIG, pdeathsig, 0, 0, 0) < 0) {
			errf(err, errlen, "prctl(PR_SET_PDEATHSIG): %s", strerror(errno));
			goto out;
		}
		if (getppid() != parent) {
			errf(err, errlen, "the parent process exited while switching to user %s", user);
			goto out;
		}
	}
	/* Libraries that look for per-user files must look in this user's home,
	 * not in root's. */
	if (setenv("HOME", home, 1) < 0 || setenv("USER", user, 1) < 0 ||
	    setenv("LOGNAME", user, 1) < 0) {
		errf(err, errlen, "cannot set the environment for user %s: %s", user,
		    strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(home);
	return rc;
}

int sandbox_drop_user(const char *user, const char *group, char *err, size_t errlen)
{
	if (user == NULL)
		return errf(err, errlen, "no user to switch to");
	return drop_user(user, group, false, err, errlen);
}

int sandbox_no_new_privs(char *err, size_t errlen)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return errf(err, errlen, "prctl(PR_SET_NO_NEW_PRIVS): %s", strerror(errno));
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return errf(err, errlen, "no_new_privs did not stick");
	return 0;
}

/* ---- the C library's lazy start-up --------------------------------------- */

/* Some of the C library initialises itself on first use, which may come
 * after the sandbox forbids what the initialisation needs. Do it now.
 * glibc reads /etc/localtime the first time any time conversion runs, even
 * gmtime_r(), which log.c calls for every line; a process that had not
 * logged before its sandbox would die on its first log line. */
static void warm_up_libc(void)
{
	tzset();
}

/* ---- the violation reporter -------------------------------------------- */

/* Everything the SIGSYS handler needs is prepared before the filter is
 * loaded, in static storage, because the handler may call nothing but
 * async-signal-safe functions: no malloc, no stdio, no libseccomp (whose
 * name lookup allocates). Syscall numbers of the native architecture are
 * resolved to names in advance; a call from another architecture (i386
 * via int 0x80 on x86-64) is reported by number and architecture, which
 * `scmp_sys_resolver -a ARCH NUMBER` turns into a name. */
#define REPORT_MAX_SYSCALL 512
#define REPORT_NAME_LEN 24

/* si_code of a SIGSYS raised by a seccomp filter. glibc 2.36 does not name
 * it, and <asm-generic/siginfo.h>, which does, clashes with <signal.h>. */
#ifndef SYS_SECCOMP
#define SYS_SECCOMP 1
#endif

static struct {
	int fd;
	uint32_t native_arch;
	bool names_ready;
	char names[REPORT_MAX_SYSCALL][REPORT_NAME_LEN];
	char process[64];
	char policy[192];
} report = { .fd = 2 };

void sandbox_report_violations_to(int fd, const char *process)
{
	report.fd = fd;
	snprintf(report.process, sizeof(report.process), "%s",
	    process ? process : program_invocation_short_name);
}

static void prepare_report(const char *policy)
{
	if (!report.names_ready) {
		report.native_arch = seccomp_arch_native();
		for (int nr = 0; nr < REPORT_MAX_SYSCALL; nr++) {
			char *name = seccomp_syscall_resolve_num_arch(report.native_arch, nr);
			if (name != NULL)
				snprintf(report.names[nr], REPORT_NAME_LEN, "%s", name);
			free(name);
		}
		report.names_ready = true;
	}
	if (report.process[0] == '\0')
		snprintf(report.process, sizeof(report.process), "%s",
		    program_invocation_short_name);
	snprintf(report.policy, sizeof(report.policy), "%s", policy);
}

/* A line under construction in the handler: appends that never overflow. */
struct line {
	char buf[512];
	size_t len;
};

static void put_str(struct line *l, const char *s)
{
	while (*s != '\0' && l->len < sizeof(l->buf) - 1)
		l->buf[l->len++] = *s++;
}

static void put_uint(struct line *l, uint64_t v, int min_digits)
{
	char digits[24];
	int n = 0;

	do {
		digits[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0 && n < (int)sizeof(digits));
	while (n < min_digits && n < (int)sizeof(digits))
		digits[n++] = '0';
	while (n > 0 && l->len < sizeof(l->buf) - 1)
		l->buf[l->len++] = digits[--n];
}

static void put_hex(struct line *l, uint64_t v)
{
	static const char hex[] = "0123456789abcdef";
	char digits[16];
	int n = 0;

	do {
		digits[n++] = hex[v & 0xf];
		v >>= 4;
	} while (v != 0 && n < (int)sizeof(digits));
	put_str(l, "0x");
	while (n > 0 && l->len < sizeof(l->buf) - 1)
		l->buf[l->len++] = digits[--n];
}

/* The UTC timestamp log.c writes, without gmtime_r(), which is not on the
 * async-signal-safe list: days since 1970 to a civil date (the usual
 * era-of-400-years arithmetic). */
static void put_timestamp(struct line *l)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) < 0 || ts.tv_sec < 0)
		return;
	int64_t secs = ts.tv_sec;
	int64_t days = secs / 86400, rem = secs % 86400;
	int64_t z = days + 719468;
	int64_t era = z / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int64_t day = doy - (153 * mp + 2) / 5 + 1;
	int64_t month = mp < 10 ? mp + 3 : mp - 9;
	int64_t year = yoe + era * 400 + (month <= 2);

	put_uint(l, (uint64_t)year, 4);
	put_str(l, "-");
	put_uint(l, (uint64_t)month, 2);
	put_str(l, "-");
	put_uint(l, (uint64_t)day, 2);
	put_str(l, "T");
	put_uint(l, (uint64_t)(rem / 3600), 2);
	put_str(l, ":");
	put_uint(l, (uint64_t)(rem / 60 % 60), 2);
	put_str(l, ":");
	put_uint(l, (uint64_t)(rem % 60), 2);
	put_str(l, ".");
	put_uint(l, (uint64_t)(ts.tv_nsec / 1000000), 3);
	put_str(l, "Z ");
}

static const char *arch_name(uint32_t arch)
{
	switch (arch) {
	case SCMP_ARCH_X86_64:
		return "x86_64";
	case SCMP_ARCH_X86:
		return "x86";
	case SCMP_ARCH_X32:
		return "x32";
	case SCMP_ARCH_AARCH64:
		return "aarch64";
	case SCMP_ARCH_ARM:
		return "arm";
	}
	return NULL;
}

static void report_violation(int sig, siginfo_t *si, void *ucontext)
{
	struct line l = { .len = 0 };

	(void)ucontext;
	if (si->si_code == SYS_SECCOMP) {
		int nr = si->si_syscall;
		uint32_t arch = si->si_arch;
		const char *name = NULL;
		if (arch == report.native_arch && nr >= 0 && nr < REPORT_MAX_SYSCALL &&
		    report.names[nr][0] != '\0')
			name = report.names[nr];
		const char *an = arch_name(arch);

		put_timestamp(&l);
		put_str(&l, report.process);
		put_str(&l, "[");
		put_uint(&l, (uint64_t)syscall(SYS_getpid), 1);
		put_str(&l, "] fatal: seccomp: system call ");
		if (name != NULL) {
			put_str(&l, name);
			put_str(&l, " (");
			put_uint(&l, (uint64_t)nr, 1);
			put_str(&l, ")");
		} else {
			put_str(&l, "number ");
			put_uint(&l, (uint64_t)(uint32_t)nr, 1);
			put_str(&l, " of architecture ");
			put_str(&l, an ? an : "");
			put_str(&l, an ? " (" : "(");
			put_hex(&l, arch);
			put_str(&l, ")");
		}
		put_str(&l, " is outside the policy \"");
		put_str(&l, report.policy);
		put_str(&l, "\"; the process dies of SIGSYS");
		l.buf[l.len++] = '\n';
		for (size_t off = 0; off < l.len;) {
			ssize_t w = write(report.fd, l.buf + off, l.len - off);
			if (w <= 0)
				break;
			off += (size_t)w;
		}
	}
	/* Now die of SIGSYS, as SCMP_ACT_KILL_PROCESS would have made us.
	 * SA_RESETHAND already put the default action back, and SIGSYS stays
	 * blocked until this handler returns, so the signal we send ourselves
	 * waits and then kills. Should the filter forbid even these calls,
	 * that violation, raised while SIGSYS is blocked, kills the process on
	 * the spot: the kernel does not hold back a blocked SIGSYS from
	 * seccomp, it restores the default action and delivers it. */
	syscall(SYS_tgkill, syscall(SYS_getpid), syscall(SYS_gettid), sig);
}

static int install_reporter(char *err, size_t errlen)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = report_violation;
	sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		return errf(err, errlen, "sigaction(SIGSYS): %s", strerror(errno));
	return 0;
}

/* ---- the filter -------------------------------------------------------- */

struct sandbox_filter {
	scmp_filter_ctx ctx;
	enum sandbox_violation on_violation;
	char policy[192];       /* what was allowed, for the report */
};

static void note_policy(struct sandbox_filter *f, const char *what)
{
	size_t n = strlen(f->policy);
	snprintf(f->policy + n, sizeof(f->policy) - n, "%s%s", n ? " " : "", what);
}

struct sandbox_filter *sandbox_filter_new(enum sandbox_violation on_violation,
    char *err, size_t errlen)
{
	uint32_t action = on_violation == SANDBOX_KILL ? SCMP_ACT_KILL_PROCESS : SCMP_ACT_TRAP;
	scmp_filter_ctx ctx = seccomp_init(action);
	int rc;

	if (ctx == NULL) {
		errf(err, errlen, "seccomp_init failed");
		return NULL;
	}
	/* A call made through another architecture's entry (int 0x80 on
	 * x86-64) meets the same fate as any other call outside the policy. */
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, action)) < 0 ||
	    /* If some library did start a thread, it gets the filter too
	     * rather than being the way around it. */
	    (rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) < 0) {
		seccomp_release(ctx);
		errf(err, errlen, "seccomp_attr_set: %s", strerror(-rc));
		return NULL;
	}
	/* A binary search over the allowed calls instead of a linear scan;
	 * only an optimisation, so its failure is not one. */
	(void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);

	struct sandbox_filter *f = xcalloc(1, sizeof(*f));
	f->ctx = ctx;
	f->on_violation = on_violation;
	return f;
}

void sandbox_filter_free(struct sandbox_filter **filter)
{
	if (*filter == NULL)
		return;
	seccomp_release((*filter)->ctx);
	free(*filter);
	*filter = NULL;
}

/* Call `fn` for each word of a policy string; stops at the first failure. */
static int each_word(const char *policy, int (*fn)(const char *word, size_t len, void *arg),
    void *arg)
{
	const char *p = policy;
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (*p == '\0')
			return 0;
		const char *w = p;
		while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\n')
			p++;
		if (fn(w, (size_t)(p - w), arg) < 0)
			return -1;
	}
}

struct word_check {
	char *err;
	size_t errlen;
	size_t count;
};

static int check_word(const char *word, size_t len, void *arg)
{
	struct word_check *c = arg;
	c->count++;
	if (word[0] == '+') {
		/* One system call by name, beyond the groups ("+unlink"). */
		char name[64];
		if (len < 2 || len - 1 >= sizeof(name))
			return errf(c->err, c->errlen, "bad system call word \"%.*s\"",
			    (int)(len > 64 ? 64 : len), word);
		memcpy(name, word + 1, len - 1);
		name[len - 1] = '\0';
		if (seccomp_syscall_resolve_name(name) == __NR_SCMP_ERROR)
			return errf(c->err, c->errlen, "unknown system call \"%s\" in the seccomp policy",
			    name);
		return 0;
	}
	if (!seccomp_policy_is_group(word, len))
		return errf(c->err, c->errlen, "unknown seccomp policy group \"%.*s\" (known: %s)",
		    (int)(len > 64 ? 64 : len), word, seccomp_policy_group_names());
	return 0;
}

/* Every word known, and at least one: an empty policy is more likely a
 * missing configuration line than a wish to be killed by the first call. */
static int check_policy(const char *policy, char *err, size_t errlen)
{
	struct word_check c = { err, errlen, 0 };

	if (policy == NULL)
		return errf(err, errlen, "no seccomp policy given");
	if (each_word(policy, check_word, &c) < 0)
		return -1;
	if (c.count == 0)
		return errf(err, errlen, "empty seccomp policy");
	return 0;
}

struct word_add {
	struct sandbox_filter *filter;
	char *err;
	size_t errlen;
};

static int add_word(const char *word, size_t len, void *arg)
{
	struct word_add *a = arg;
	char group[32];

	if (word[0] == '+') {
		char name[64];
		memcpy(name, word + 1, len - 1); /* check_word bounded len */
		name[len - 1] = '\0';
		return sandbox_filter_allow_syscall(a->filter, name, a->err, a->errlen);
	}
	if (seccomp_policy_add_group(a->filter->ctx, word, len, a->err, a->errlen) < 0)
		return -1;
	if (len >= sizeof(group))
		len = sizeof(group) - 1;
	memcpy(group, word, len);
	group[len] = '\0';
	note_policy(a->filter, group);
	return 0;
}

int sandbox_filter_allow(struct sandbox_filter *filter, const char *policy,
    char *err, size_t errlen)
{
	struct word_add a = { filter, err, errlen };

	if (check_policy(policy, err, errlen) < 0)
		return -1;
	return each_word(policy, add_word, &a);
}

int sandbox_filter_allow_syscall(struct sandbox_filter *filter, const char *name,
    char *err, size_t errlen)
{
	char what[64];
	int nr = seccomp_syscall_resolve_name(name);

	if (nr == __NR_SCMP_ERROR)
		return errf(err, errlen, "unknown system call: %s", name);
	if (nr < 0)
		return 0; /* not on this architecture */
	int rc = seccomp_rule_add(filter->ctx, SCMP_ACT_ALLOW, nr, 0);
	if (rc < 0)
		return errf(err, errlen, "cannot allow system call %s: %s", name, strerror(-rc));
	snprintf(what, sizeof(what), "+%s", name);
	note_policy(filter, what);
	return 0;
}

/* What the reporter itself calls, allowed whatever the policy, so that a
 * policy without "stdio" still gets its line: write to the report
 * descriptor only, getpid for the line, clock_gettime for the timestamp
 * (if the vDSO falls back to the system call), gettid and tgkill to
 * re-raise SIGSYS, rt_sigreturn so the pending SIGSYS is delivered. */
static int allow_reporter_calls(struct sandbox_filter *f, char *err, size_t errlen)
{
	const struct scmp_arg_cmp to_report_fd[] = {
		{ .arg = 0, .op = SCMP_CMP_EQ, .datum_a = (uint64_t)report.fd },
	};
	const struct scmp_arg_cmp sigsys_to_self[] = {
		{ .arg = 0, .op = SCMP_CMP_EQ, .datum_a = (uint64_t)getpid() },
		{ .arg = 2, .op = SCMP_CMP_EQ, .datum_a = SIGSYS },
	};
	int rc;

	rc = seccomp_rule_add_array(f->ctx, SCMP_ACT_ALLOW, SCMP_SYS(write),
	    ARRAY_LEN(to_report_fd), to_report_fd);
	if (rc == 0)
		rc = seccomp_rule_add_array(f->ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill),
		    ARRAY_LEN(sigsys_to_self), sigsys_to_self);
	if (rc == 0)
		rc = seccomp_rule_add(f->ctx, SCMP_ACT_ALLOW, SCMP_SYS(getpid), 0);
	if (rc == 0)
		rc = seccomp_rule_add(f->ctx, SCMP_ACT_ALLOW, SCMP_SYS(gettid), 0);
	if (rc == 0)
		rc = seccomp_rule_add(f->ctx, SCMP_ACT_ALLOW, SCMP_SYS(clock_gettime), 0);
	if (rc == 0)
		rc = seccomp_rule_add(f->ctx, SCMP_ACT_ALLOW, SCMP_SYS(rt_sigreturn), 0);
	if (rc < 0)
		return errf(err, errlen, "cannot allow the violation reporter's calls: %s",
		    strerror(-rc));
	return 0;
}

int sandbox_filter_load(struct sandbox_filter *filter, char *err, size_t errlen)
{
	warm_up_libc();
	if (filter->on_violation == SANDBOX_REPORT) {
		if (allow_reporter_calls(filter, err, errlen) < 0)
			return -1;
		prepare_report(filter->policy);
		/* Before the load: afterwards the policy may forbid it. */
		if (install_reporter(err, errlen) < 0)
			return -1;
	}
	int rc = seccomp_load(filter->ctx);
	if (rc < 0)
		return errf(err, errlen, "cannot load the seccomp filter: %s", strerror(-rc));
	return 0;
}

int sandbox_seccomp(const char *policy, char *err, size_t errlen)
{
	struct sandbox_filter *f = sandbox_filter_new(SANDBOX_REPORT, err, errlen);
	int rc = -1;

	if (f == NULL)
		return -1;
	if (sandbox_filter_allow(f, policy, err, errlen) == 0)
		rc = sandbox_filter_load(f, err, errlen);
	sandbox_filter_free(&f);
	return rc;
}

/* ---- the whole story --------------------------------------------------- */

/* Append `note` to `notes`, "; "-separated, truncating at `size`. */
static void add_note(char *notes, size_t size, const char *note)
{
	size_t n = strlen(notes);

	if (n > 0 && n + 2 < size) {
		memcpy(notes + n, "; ", 2);
		n += 2;
	}
	size_t len = strlen(note);
	if (len > size - 1 - n)
		len = size - 1 - n;
	memcpy(notes + n, note, len);
	notes[n + len] = '\0';
}

int sandbox_apply(const struct sandbox_spec *spec, char *err, size_t errlen)
{
	char notes[ERRLEN] = "";
	char note[ERRLEN];
	int rc;

	/* Check what can be checked before anything changes. */
	if (check_policy(spec->syscalls, err, errlen) < 0)
		return -1;
	if (spec->user == NULL && spec->group != NULL)
		return errf(err, errlen, "a group (%s) but no user to run as", spec->group);
	if (!spec->fs_unrestricted) {
		for (size_t i = 0; i < spec->npaths; i++) {
			const char *path = spec->paths[i].path;
			if (path == NULL || access(path, F_OK) < 0)
				return errf(err, errlen, "landlock: cannot use %s: %s",
				    path ? path : "(null)", path ? strerror(errno) : "no path");
		}
	}

	if (spec->user != NULL) {
		rc = drop_user(spec->user, spec->group, spec->allow_root, note, sizeof(note));
		if (rc < 0)
			return errf(err, errlen, "%s", note);
		if (rc > 0)
			add_note(notes, sizeof(notes), note);
	}

	if (sandbox_no_new_privs(err, errlen) < 0)
		return -1;

	warm_up_libc();
	if (!spec->fs_unrestricted) {
		rc = landlock_restrict(spec->paths, spec->npaths, err, errlen);
		if (rc < 0)
			return -1;
		if (rc == 0)
			add_note(notes, sizeof(notes), "Landlock is not available in this kernel: "
			    "the filesystem is not restricted");
	}

	struct sandbox_filter *f = sandbox_filter_new(spec->on_violation, err, errlen);
	if (f == NULL)
		return -1;
	rc = sandbox_filter_allow(f, spec->syscalls, err, errlen);
	if (rc == 0)
		rc = sandbox_filter_load(f, err, errlen);
	sandbox_filter_free(&f);
	if (rc < 0)
		return -1;

	if (notes[0] != '\0') {
		errf(err, errlen, "%s", notes);
		return 1;
	}
	return 0;
}
