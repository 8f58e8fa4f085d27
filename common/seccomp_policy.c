/*
 * seccomp_policy.c — the exact system-call lists behind each policy group
 * (see seccomp_policy.h for the summary). This file is the security spec in
 * table form: it only says which calls, with which arguments, a group
 * allows. It must not load filters, install handlers or know about users
 * and paths; that is sandbox.c's job.
 *
 * Calls are named by string and resolved through libseccomp, so a table
 * reads like the man pages and a name that does not exist on the running
 * architecture (open on arm64, say) is skipped rather than guessed.
 *
 * Argument tests are used where they are cheap and close a real door:
 * socket() by address family, mmap()/mprotect() without PROT_EXEC, fcntl()
 * and ioctl() by command. A filter cannot read memory the arguments point
 * to, so paths and structures are Landlock's business, not this file's.
 * Each row of a table is one rule; its argument tests must all hold, and a
 * call is allowed if any of its rows holds.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "seccomp_policy.h"
#include "util.h"

#if defined(__SANITIZE_ADDRESS__)
#define PARLEY_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PARLEY_ASAN 1
#endif
#endif
#ifndef PARLEY_ASAN
#define PARLEY_ASAN 0
#endif

/* The socket type lives in the low four bits of socket()'s second argument;
 * SOCK_NONBLOCK and SOCK_CLOEXEC sit above them. (The kernel calls this
 * SOCK_TYPE_MASK but does not export it.) */
#define SOCKET_TYPE_BITS 0xfu

struct arg_test {
	unsigned int arg;        /* argument index, 0-5 */
	enum scmp_compare op;
	uint64_t a, b;           /* SCMP_CMP_MASKED_EQ: (arg & a) == b */
	bool own_pid;            /* compare against the building process's pid */
};

struct syscall_rule {
	const char *name;
	unsigned int nargs;
	struct arg_test args[2];
	int fail_errno;          /* 0: allow; else answer this errno */
};

#define ANY(nm)            { .name = (nm) }
#define IF(nm, t)          { .name = (nm), .nargs = 1, .args = { t } }
#define IF2(nm, t, u)      { .name = (nm), .nargs = 2, .args = { t, u } }
#define FAIL(nm, e)        { .name = (nm), .fail_errno = (e) }

#define ARG_EQ(n, v)       { .arg = (n), .op = SCMP_CMP_EQ, .a = (uint64_t)(v) }
#define ARG_NE(n, v)       { .arg = (n), .op = SCMP_CMP_NE, .a = (uint64_t)(v) }
/* (argument n & mask) == value */
#define ARG_BITS(n, m, v) \
	{ .arg = (n), .op = SCMP_CMP_MASKED_EQ, .a = (uint64_t)(m), .b = (uint64_t)(v) }
#define ARG_OWN_PID(n)     { .arg = (n), .op = SCMP_CMP_EQ, .own_pid = true }

static const struct syscall_rule stdio_rules[] = {
	/* I/O on descriptors the process already holds. */
	ANY("read"), ANY("write"), ANY("readv"), ANY("writev"),
	ANY("pread64"), ANY("pwrite64"), ANY("lseek"), ANY("close"),
	ANY("dup"), ANY("dup3"),
	/* Sockets already held: send() is sendto() without an address, which
	 * is all a connected socket needs (and all syslog() does); choosing a
	 * destination or making a socket takes unix, inet or dns. */
	IF("sendto", ARG_EQ(4, 0)), ANY("recvfrom"), ANY("sendmsg"), ANY("recvmsg"),
	ANY("shutdown"),
	ANY("fstat"),
	/* glibc ≥ 2.33 implements fstat(fd) as newfstatat(fd, "", …,
	 * AT_EMPTY_PATH). Requiring the flag does not stop a determined stat
	 * of a path (that takes rpath's unconditional rule), but it makes an
	 * accidental stat("/etc/…") after start show up as a violation. */
	IF("newfstatat", ARG_BITS(3, AT_EMPTY_PATH, AT_EMPTY_PATH)),
	IF("fcntl", ARG_EQ(1, F_GETFD)), IF("fcntl", ARG_EQ(1, F_SETFD)),
	IF("fcntl", ARG_EQ(1, F_GETFL)), IF("fcntl", ARG_EQ(1, F_SETFL)),
	IF("fcntl", ARG_EQ(1, F_DUPFD_CLOEXEC)),
	/* An allowlist of ioctl commands compares all 64 bits, so junk in the
	 * upper half of the argument cannot sneak a different command past. */
	IF("ioctl", ARG_EQ(1, FIONREAD)), IF("ioctl", ARG_EQ(1, FIONBIO)),
	IF("ioctl", ARG_EQ(1, FIOCLEX)), IF("ioctl", ARG_EQ(1, FIONCLEX)),
	IF("ioctl", ARG_EQ(1, TCGETS)),

	/* The event loop. */
	ANY("epoll_create1"), ANY("epoll_ctl"), ANY("epoll_wait"),
	ANY("epoll_pwait"), ANY("epoll_pwait2"), ANY("poll"), ANY("ppoll"),

	/* Memory: malloc (brk, mmap, munmap, mremap, madvise) and OpenSSL's
	 * secure heap (mprotect, madvise). Nothing may become executable after
	 * start: code is mapped by the loader, before the filter. */
	ANY("brk"), ANY("munmap"), ANY("mremap"), ANY("madvise"),
	IF("mmap", ARG_BITS(2, PROT_EXEC, 0)),
	IF("mprotect", ARG_BITS(2, PROT_EXEC, 0)),
	ANY("futex"),

	/* Time and randomness (clock_gettime is usually a vDSO call that never
	 * reaches the filter; the syscall is the fallback). */
	ANY("clock_gettime"), ANY("clock_getres"), ANY("gettimeofday"), ANY("time"),
	ANY("nanosleep"), ANY("clock_nanosleep"),
	ANY("getrandom"),

	/* Who and where am I. */
	ANY("getpid"), ANY("gettid"), ANY("getuid"), ANY("geteuid"),
	ANY("getgid"), ANY("getegid"), ANY("getresuid"), ANY("getresgid"),
	ANY("uname"), ANY("sysinfo"), ANY("sched_yield"),
	/* getrlimit() is prlimit64(0, resource, NULL, old): read-only, own. */
	IF2("prlimit64", ARG_EQ(0, 0), ARG_EQ(2, 0)),
	ANY("getrlimit"),
	IF("getrusage", ARG_EQ(0, RUSAGE_SELF)),

	/* Signals, as far as every process needs them. raise() and abort()
	 * are tgkill(getpid(), gettid(), sig): allowed towards this process so
	 * that a failed assertion still dies of SIGABRT, not of the filter. */
	ANY("rt_sigprocmask"), ANY("rt_sigreturn"), ANY("restart_syscall"),
	IF("tgkill", ARG_OWN_PID(0)),

	ANY("exit"), ANY("exit_group"),
#if PARLEY_ASAN
	/* Only in AddressSanitizer builds (the tests): its runtime asks for
	 * the current alternate signal stack on its exit and abort paths.
	 * Asking changes nothing, and production builds never need it. */
	IF("sigaltstack", ARG_EQ(0, 0)),
#endif
};

/* The calls every socket owner needs, whatever the family. They act on
 * descriptors, so they cannot open a new kind of socket by themselves: the
 * family gate is socket() in each group. */
#define SOCKET_CALLS \
	ANY("bind"), ANY("listen"), ANY("accept"), ANY("accept4"), \
	ANY("connect"), ANY("sendmsg"), ANY("recvmsg"), ANY("sendto"), \
	ANY("recvfrom"), ANY("getsockopt"), ANY("setsockopt"), \
	ANY("getsockname"), ANY("getpeername"), ANY("shutdown")

static const struct syscall_rule unix_rules[] = {
	IF("socket", ARG_EQ(0, AF_UNIX)),
	IF("socketpair", ARG_EQ(0, AF_UNIX)),
	SOCKET_CALLS,
};

static const struct syscall_rule inet_rules[] = {
	IF("socket", ARG_EQ(0, AF_INET)),
	IF("socket", ARG_EQ(0, AF_INET6)),
	SOCKET_CALLS,
};

static const struct syscall_rule dns_rules[] = {
	IF2("socket", ARG_EQ(0, AF_INET), ARG_BITS(1, SOCKET_TYPE_BITS, SOCK_DGRAM)),
	IF2("socket", ARG_EQ(0, AF_INET6), ARG_BITS(1, SOCKET_TYPE_BITS, SOCK_DGRAM)),
	ANY("connect"), ANY("sendto"), ANY("recvfrom"), ANY("sendmsg"), ANY("recvmsg"),
	IF2("setsockopt", ARG_EQ(1, IPPROTO_IPV6), ARG_EQ(2, IPV6_V6ONLY)),
};

/* The open flags that decide what an open may do to a file. */
#define OPEN_MODE_BITS (O_ACCMODE | O_CREAT | O_TRUNC)

static const struct syscall_rule rpath_rules[] = {
	IF("open", ARG_BITS(1, OPEN_MODE_BITS, O_RDONLY)),
	IF("openat", ARG_BITS(2, OPEN_MODE_BITS, O_RDONLY)),
	ANY("stat"), ANY("lstat"), ANY("newfstatat"), ANY("statx"),
	ANY("readlink"), ANY("readlinkat"), ANY("getdents64"),
	ANY("access"), ANY("faccessat"), ANY("faccessat2"),
	ANY("statfs"), ANY("fstatfs"), ANY("getcwd"),
};

static const struct syscall_rule wpath_rules[] = {
	IF("open", ARG_BITS(1, O_ACCMODE | O_CREAT, O_WRONLY)),
	IF("open", ARG_BITS(1, O_ACCMODE | O_CREAT, O_RDWR)),
	IF("openat", ARG_BITS(2, O_ACCMODE | O_CREAT, O_WRONLY)),
	IF("openat", ARG_BITS(2, O_ACCMODE | O_CREAT, O_RDWR)),
	ANY("truncate"), ANY("ftruncate"), ANY("fsync"), ANY("fdatasync"),
	ANY("fallocate"),
};

static const struct syscall_rule cpath_rules[] = {
	IF("open", ARG_BITS(1, O_CREAT, O_CREAT)),
	IF("openat", ARG_BITS(2, O_CREAT, O_CREAT)),
	ANY("mkdir"), ANY("mkdirat"), ANY("rmdir"), ANY("unlink"), ANY("unlinkat"),
	ANY("rename"), ANY("renameat"), ANY("renameat2"),
};

static const struct syscall_rule flock_rules[] = {
	ANY("flock"),
	IF("fcntl", ARG_EQ(1, F_GETLK)), IF("fcntl", ARG_EQ(1, F_SETLK)),
	IF("fcntl", ARG_EQ(1, F_SETLKW)), IF("fcntl", ARG_EQ(1, F_OFD_GETLK)),
	IF("fcntl", ARG_EQ(1, F_OFD_SETLK)), IF("fcntl", ARG_EQ(1, F_OFD_SETLKW)),
};

static const struct syscall_rule proc_rules[] = {
	ANY("fork"), ANY("vfork"),
	/* Processes, not threads: glibc's fork() is clone(SIGCHLD|…). */
	IF("clone", ARG_BITS(0, CLONE_THREAD, 0)),
	/* clone3 takes its flags in a structure the filter cannot read; glibc
	 * treats ENOSYS as "old kernel" and falls back to clone. */
	FAIL("clone3", ENOSYS),
	ANY("set_robust_list"),
	ANY("wait4"), ANY("waitid"), ANY("kill"),
	ANY("getppid"), ANY("setsid"), ANY("setpgid"), ANY("getpgid"), ANY("getpgrp"),
	ANY("prlimit64"),
};

static const struct syscall_rule thread_rules[] = {
	/* Threads, not processes: pthread_create's clone carries CLONE_THREAD. */
	IF("clone", ARG_BITS(0, CLONE_THREAD, CLONE_THREAD)),
	FAIL("clone3", ENOSYS),
	ANY("set_robust_list"), ANY("rseq"),
	/* glibc's first pthread_create installs handlers for its two
	 * internal real-time signals (cancellation, setxid), kernel numbers
	 * 32 and 33, below the SIGRTMIN it shows programs. */
	IF("rt_sigaction", ARG_EQ(0, 32)), IF("rt_sigaction", ARG_EQ(0, 33)),
	/* pthread_getattr_np (a thread measuring its own stack, as the
	 * sanitizers' runtime does in every new thread) reads the affinity. */
	ANY("sched_getaffinity"),
#if PARLEY_ASAN
	/* AddressSanitizer gives each new thread an alternate signal stack. */
	ANY("sigaltstack"),
#endif
};

static const struct syscall_rule exec_rules[] = {
	ANY("execve"), ANY("execveat"),
};

static const struct syscall_rule id_rules[] = {
	ANY("setuid"), ANY("setgid"), ANY("setreuid"), ANY("setregid"),
	ANY("setresuid"), ANY("setresgid"), ANY("setfsuid"), ANY("setfsgid"),
	ANY("setgroups"), ANY("getgroups"), ANY("capget"),
};

static const struct syscall_rule signal_rules[] = {
	/* Never SIGSYS: sandbox.c's filter kills the process for that, which
	 * keeps the violation reporter in place. */
	IF("rt_sigaction", ARG_NE(0, SIGSYS)),
	ANY("signalfd"), ANY("signalfd4"), ANY("sigaltstack"),
	ANY("rt_sigpending"), ANY("rt_sigtimedwait"), ANY("rt_sigsuspend"),
	IF("kill", ARG_OWN_PID(0)),
};

static const struct syscall_rule prctl_rules[] = {
	IF("prctl", ARG_EQ(0, PR_SET_NAME)), IF("prctl", ARG_EQ(0, PR_GET_NAME)),
	IF("prctl", ARG_EQ(0, PR_GET_DUMPABLE)),
	IF("prctl", ARG_EQ(0, PR_SET_PDEATHSIG)), IF("prctl", ARG_EQ(0, PR_GET_PDEATHSIG)),
	IF("prctl", ARG_EQ(0, PR_SET_NO_NEW_PRIVS)), IF("prctl", ARG_EQ(0, PR_GET_NO_NEW_PRIVS)),
	IF("prctl", ARG_EQ(0, PR_GET_SECCOMP)),
};

struct policy_group {
	const char *name;
	const struct syscall_rule *rules;
	size_t nrules;
};

#define GROUP(nm, table) { nm, table, ARRAY_LEN(table) }

static const struct policy_group groups[] = {
	GROUP("stdio", stdio_rules),
	GROUP("unix", unix_rules),
	GROUP("inet", inet_rules),
	GROUP("dns", dns_rules),
	GROUP("rpath", rpath_rules),
	GROUP("wpath", wpath_rules),
	GROUP("cpath", cpath_rules),
	GROUP("flock", flock_rules),
	GROUP("proc", proc_rules),
	GROUP("thread", thread_rules),
	GROUP("exec", exec_rules),
	GROUP("id", id_rules),
	GROUP("signal", signal_rules),
	GROUP("prctl", prctl_rules),
};

static const struct policy_group *find_group(const char *name, size_t len)
{
	for (size_t i = 0; i < ARRAY_LEN(groups); i++)
		if (strlen(groups[i].name) == len && memcmp(groups[i].name, name, len) == 0)
			return &groups[i];
	return NULL;
}

bool seccomp_policy_is_group(const char *name, size_t len)
{
	return find_group(name, len) != NULL;
}

const char *seccomp_policy_group_names(void)
{
	static char names[128];

	if (names[0] == '\0') {
		size_t n = 0;
		for (size_t i = 0; i < ARRAY_LEN(groups) && n < sizeof(names); i++)
			n += (size_t)snprintf(names + n, sizeof(names) - n, "%s%s",
			    i ? " " : "", groups[i].name);
	}
	return names;
}

static int add_rule(scmp_filter_ctx ctx, const char *group, const struct syscall_rule *r,
    uint64_t own_pid, char *err, size_t errlen)
{
	struct scmp_arg_cmp cmp[ARRAY_LEN(r->args)];
	int nr = seccomp_syscall_resolve_name(r->name);

	if (nr == __NR_SCMP_ERROR)
		return errf(err, errlen, "seccomp group %s: libseccomp does not know "
		    "system call %s", group, r->name);
	/* Negative numbers are libseccomp's names for calls this architecture
	 * does not have (open on arm64): nothing to allow. */
	if (nr < 0)
		return 0;
	for (unsigned int i = 0; i < r->nargs; i++) {
		cmp[i].arg = r->args[i].arg;
		cmp[i].op = r->args[i].op;
		cmp[i].datum_a = r->args[i].own_pid ? own_pid : r->args[i].a;
		cmp[i].datum_b = r->args[i].b;
	}
	uint32_t action = r->fail_errno ? SCMP_ACT_ERRNO((uint32_t)r->fail_errno) : SCMP_ACT_ALLOW;
	int rc = seccomp_rule_add_array(ctx, action, nr, r->nargs, cmp);
	if (rc < 0)
		return errf(err, errlen, "seccomp group %s: cannot add a rule for %s: %s",
		    group, r->name, strerror(-rc));
	return 0;
}

int seccomp_policy_add_group(scmp_filter_ctx ctx, const char *name, size_t len,
    char *err, size_t errlen)
{
	const struct policy_group *g = find_group(name, len);

	if (g == NULL)
		return errf(err, errlen, "unknown seccomp policy group \"%.*s\" (known: %s)",
		    (int)(len > 64 ? 64 : len), name, seccomp_policy_group_names());
	uint64_t own_pid = (uint64_t)getpid();
	for (size_t i = 0; i < g->nrules; i++)
		if (add_rule(ctx, g->name, &g->rules[i], own_pid, err, errlen) < 0)
			return -1;
	return 0;
}
