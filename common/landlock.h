/*
 * landlock.h — limiting a process's view of the filesystem with Landlock:
 * the process lists the paths it needs and how (read, read-write, or a
 * directory where it keeps its Unix sockets), and after landlock_restrict()
 * every other path is out of reach for it and for anything it executes,
 * whatever the file permissions say. Called by sandbox_apply() (sandbox.h)
 * after the user drop and no_new_privs, before the seccomp filter.
 */
#ifndef PARLEY_LANDLOCK_H
#define PARLEY_LANDLOCK_H

#include <stddef.h>

/* What a process may do beneath one path. */
enum fs_access {
	/* Read files and list directories. */
	FS_READ = 1,
	/* Read, write and truncate files; create and remove files,
	 * directories, sockets, FIFOs and symlinks; rename within and between
	 * read-write trees. Never execute, never create device nodes. */
	FS_READ_WRITE,
	/* Create Unix socket files (bind) and remove entries (a stale socket
	 * after a restart). Landlock cannot tell a socket from a file on
	 * removal, so any non-directory entry there may be removed. Connecting
	 * to a socket is not a right our headers know, so it stays allowed
	 * everywhere: peers can reach the router's socket wherever it is. */
	FS_SOCKETS,
};

struct landlock_path {
	const char *path;       /* must exist; a directory or a file */
	enum fs_access access;  /* on a file, only its file rights apply */
};

/* The Landlock ABI version of the running kernel: 0 if Landlock is not
 * built in or is disabled at boot. */
int landlock_abi(void);

/* Allow only `paths` from now on (none: no filesystem access at all).
 * Needs no_new_privs, or CAP_SYS_ADMIN. Every listed path must exist; a
 * missing one fails with a reason naming it, checked even when the kernel
 * has no Landlock, so a configuration mistake shows up on every machine.
 *
 * Returns 1 when the process is restricted, 0 when the kernel has no
 * Landlock (nothing restricted: log it, it is not a failure), -1 with a
 * reason on failure.
 *
 * Access rights are handled up to what both the kernel and the headers we
 * were built against know: ABI 1 rights, REFER (ABI 2), and TRUNCATE
 * (ABI 3) and IOCTL_DEV (ABI 5) when <linux/landlock.h> defines them.
 * Network rules (ABI 4) need a newer <linux/landlock.h> than Debian 12's. */
int landlock_restrict(const struct landlock_path *paths, size_t npaths,
    char *err, size_t errlen);

#endif
