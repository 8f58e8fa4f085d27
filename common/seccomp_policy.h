/*
 * seccomp_policy.h — the vocabulary of Parley's system-call policies: the
 * named groups a process lists in its policy string ("stdio unix" for the
 * router, "stdio inet dns" for s2s…), and what each group lets it do.
 * seccomp_policy.c holds the exact lists; this file is the summary a
 * reviewer reads. The mechanism that loads a filter is in sandbox.c.
 *
 * The groups (x86-64 names; a call that does not exist on the running
 * architecture is skipped):
 *
 *   stdio   what a single-threaded event-loop process needs after start,
 *           whoever it is: I/O on descriptors it already holds (read,
 *           write, readv, writev, pread64, pwrite64, lseek, close, dup,
 *           dup3, send — sendto without an address — recvfrom, sendmsg,
 *           recvmsg, shutdown, fstat, and newfstatat only with
 *           AT_EMPTY_PATH, the fstat() of glibc ≥ 2.33), fcntl only
 *           F_GETFD/F_SETFD/F_GETFL/F_SETFL/
 *           F_DUPFD_CLOEXEC, ioctl only FIONREAD/FIONBIO/FIOCLEX/FIONCLEX/
 *           TCGETS (isatty), the event loop (epoll_*, poll, ppoll), memory
 *           (brk, mmap and mprotect without PROT_EXEC, munmap, mremap,
 *           madvise), futex, clocks and sleeps, getrandom, the process's
 *           own ids, uname, sysinfo (glibc's qsort asks for it), its own
 *           resource limits and usage (prlimit64/getrlimit/getrusage: read
 *           only, own process), signal masks and returns (rt_sigprocmask,
 *           rt_sigreturn, restart_syscall), tgkill to its own process (so
 *           abort() and raise() still work), exit and exit_group.
 *           There is no separate "epoll", "time" or "random" group: every
 *           Parley process runs a loop, reads the clock and needs entropy
 *           for TLS and ids, so those belong to the floor.
 *   unix    Unix-domain sockets: socket and socketpair for AF_UNIX only,
 *           bind, listen, accept, accept4, connect, sendmsg, recvmsg,
 *           sendto, recvfrom, getsockopt, setsockopt, getsockname,
 *           getpeername, shutdown.
 *   inet    TCP and UDP over IPv4/IPv6: socket for AF_INET/AF_INET6 only,
 *           and the same socket calls as unix.
 *   dns     what udns needs to ask a resolver: socket for AF_INET/AF_INET6
 *           datagram sockets only, connect, sendto, recvfrom, sendmsg,
 *           recvmsg, setsockopt only IPV6_V6ONLY.
 *   rpath   read files by name: open/openat read-only (no O_CREAT, no
 *           O_TRUNC), the stat family, statx, readlink(at), getdents64,
 *           access/faccessat(2), statfs/fstatfs, getcwd.
 *   wpath   write files: open/openat for writing without O_CREAT,
 *           truncate/ftruncate, fsync/fdatasync, fallocate.
 *   cpath   create and remove names: open/openat with O_CREAT, mkdir(at),
 *           rmdir, unlink(at), rename(at/at2).
 *   flock   file locks (SQLite): flock, fcntl F_GETLK/F_SETLK/F_SETLKW and
 *           the F_OFD_* variants.
 *   thread  threads (pthread_create): clone with CLONE_THREAD, clone3
 *           refused with ENOSYS (glibc falls back to clone), set_robust_list,
 *           rseq, rt_sigaction of glibc's internal signals 32 and 33,
 *           sched_getaffinity (pthread_getattr_np; and sigaltstack in ASan builds); for the worker threads of sm's and auth's database
 *           and directory calls (workq.h).
 *   proc    processes, for parleyd: fork/vfork, clone without CLONE_THREAD
 *           (clone3 answers ENOSYS, because a filter cannot read its
 *           flags, and glibc then falls back to clone), set_robust_list
 *           (glibc's fork child), wait4, waitid, kill, getppid, setsid,
 *           setpgid, getpgid, getpgrp, prlimit64.
 *   exec    execve, execveat. The filter (and the Landlock domain) survive
 *           exec: the new program runs under them from its first
 *           instruction, and a dynamically linked one dies at once, since
 *           its loader opens and maps libraries. So a process that starts
 *           other programs (parleyd) cannot filter itself more tightly than
 *           their start-up needs.
 *   id      change identity: setuid/setgid and the res/re/fs variants,
 *           setgroups, getgroups, capget. Before the drop only; hardly
 *           ever in a filter.
 *   signal  handling signals: rt_sigaction for any signal except SIGSYS
 *           (the violation reporter's, see sandbox.c), signalfd(4),
 *           sigaltstack, rt_sigpending, rt_sigtimedwait, rt_sigsuspend,
 *           kill to its own process.
 *   prctl   prctl only PR_SET_NAME/PR_GET_NAME (instance titles),
 *           PR_GET_DUMPABLE, PR_SET/GET_PDEATHSIG, PR_SET/GET_NO_NEW_PRIVS,
 *           PR_GET_SECCOMP. Never PR_SET_DUMPABLE: that would reopen the
 *           process to ptrace by its own uid after the drop.
 *
 * "Own process" means the process that built the filter: the pid is read
 * when the filter is built, so a child forked later under the same filter
 * cannot use those calls on itself.
 *
 * Beyond its groups, a reporting filter always allows the few calls its
 * violation reporter makes (sandbox.c), and an AddressSanitizer build adds
 * the one call that runtime makes on its exit path (seccomp_policy.c).
 */
#ifndef PARLEY_SECCOMP_POLICY_H
#define PARLEY_SECCOMP_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include <seccomp.h>

/* True if `name` (not NUL-terminated: `len` bytes) is a group above. */
bool seccomp_policy_is_group(const char *name, size_t len);

/* Add the rules of group `name` (`len` bytes) to `ctx` as SCMP_ACT_ALLOW
 * rules (or the ERRNO answers noted above). An unknown name fails with a
 * reason naming it and listing the known groups. */
int seccomp_policy_add_group(scmp_filter_ctx ctx, const char *name, size_t len,
    char *err, size_t errlen);

/* The known group names separated by spaces, for messages. */
const char *seccomp_policy_group_names(void);

#endif
