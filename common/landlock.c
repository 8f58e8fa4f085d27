/*
 * landlock.c — the Landlock ruleset behind landlock_restrict() (see
 * landlock.h). It talks to the kernel with raw syscall(): glibc 2.36 has no
 * wrappers and a library for three system calls is not worth a dependency.
 * It must not decide which paths a process needs (the caller lists them)
 * and must not log (the caller logs the result once).
 *
 * Landlock is deny-by-default only for the rights a ruleset "handles", and
 * every right the kernel knows but we leave unhandled stays allowed
 * everywhere. So the ruleset handles every right that both the running
 * kernel and our headers know, and each path then gets back the subset its
 * access level needs. Rights newer than our headers (say TRUNCATE with
 * Debian 12's 6.1 headers on a 6.x kernel) cannot be handled: the constants
 * are not ours to invent, and the seccomp policy backs that gap up
 * (truncate/ftruncate only under "wpath").
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "landlock.h"
#include "util.h"

/* Each filesystem right with the ABI version that introduced it. */
static const struct {
	uint64_t right;
	int abi;
} fs_rights[] = {
	{ LANDLOCK_ACCESS_FS_EXECUTE, 1 },
	{ LANDLOCK_ACCESS_FS_WRITE_FILE, 1 },
	{ LANDLOCK_ACCESS_FS_READ_FILE, 1 },
	{ LANDLOCK_ACCESS_FS_READ_DIR, 1 },
	{ LANDLOCK_ACCESS_FS_REMOVE_DIR, 1 },
	{ LANDLOCK_ACCESS_FS_REMOVE_FILE, 1 },
	{ LANDLOCK_ACCESS_FS_MAKE_CHAR, 1 },
	{ LANDLOCK_ACCESS_FS_MAKE_DIR, 1 },
	{ LANDLOCK_ACCESS_FS_MAKE_REG, 1 },
	{ LANDLOCK_ACCESS_FS_MAKE_SOCK, 1 },
	{ LANDLOCK_ACCESS_FS_MAKE_FIFO, 1 },
	{ LANDLOCK_ACCESS_FS_MAKE_BLOCK, 1 },
	{ LANDLOCK_ACCESS_FS_MAKE_SYM, 1 },
	/* Renames and links between directories. Under ABI 1 they are always
	 * denied in a sandbox; from ABI 2 a read-write tree may allow them. */
	{ LANDLOCK_ACCESS_FS_REFER, 2 },
#ifdef LANDLOCK_ACCESS_FS_TRUNCATE
	{ LANDLOCK_ACCESS_FS_TRUNCATE, 3 },
#endif
#ifdef LANDLOCK_ACCESS_FS_IOCTL_DEV
	{ LANDLOCK_ACCESS_FS_IOCTL_DEV, 5 },
#endif
};

/* Rights that make sense on a file rather than a directory; the kernel
 * refuses a rule granting directory rights on a file. */
static const uint64_t file_rights = LANDLOCK_ACCESS_FS_EXECUTE |
    LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE
#ifdef LANDLOCK_ACCESS_FS_TRUNCATE
    | LANDLOCK_ACCESS_FS_TRUNCATE
#endif
#ifdef LANDLOCK_ACCESS_FS_IOCTL_DEV
    | LANDLOCK_ACCESS_FS_IOCTL_DEV
#endif
    ;

static const uint64_t read_rights = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;

static const uint64_t read_write_rights = LANDLOCK_ACCESS_FS_READ_FILE |
    LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_WRITE_FILE |
    LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |
    LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |
    LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO |
    LANDLOCK_ACCESS_FS_MAKE_SYM | LANDLOCK_ACCESS_FS_REFER
#ifdef LANDLOCK_ACCESS_FS_TRUNCATE
    | LANDLOCK_ACCESS_FS_TRUNCATE
#endif
    ;

static const uint64_t socket_rights = LANDLOCK_ACCESS_FS_MAKE_SOCK |
    LANDLOCK_ACCESS_FS_REMOVE_FILE;

int landlock_abi(void)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	/* ENOSYS: not built in; EOPNOTSUPP: built in but disabled at boot. */
	return abi < 0 ? 0 : (int)abi;
}

static uint64_t handled_rights(int abi)
{
	uint64_t handled = 0;
	for (size_t i = 0; i < ARRAY_LEN(fs_rights); i++)
		if (fs_rights[i].abi <= abi)
			handled |= fs_rights[i].right;
	return handled;
}

static int access_rights(enum fs_access access, uint64_t *rights)
{
	switch (access) {
	case FS_READ:
		*rights = read_rights;
		return 0;
	case FS_READ_WRITE:
		*rights = read_write_rights;
		return 0;
	case FS_SOCKETS:
		*rights = socket_rights;
		return 0;
	}
	return -1;
}

static const char *access_name(enum fs_access access)
{
	switch (access) {
	case FS_READ:
		return "read";
	case FS_READ_WRITE:
		return "read-write";
	case FS_SOCKETS:
		return "sockets";
	}
	return "?";
}

/* Add the rule for one path to `ruleset`, or with ruleset < 0 (no Landlock)
 * only check that the path is usable, so that both kinds of kernel reject
 * the same configurations. */
static int add_path(int ruleset, uint64_t handled, const struct landlock_path *p,
    char *err, size_t errlen)
{
	uint64_t rights;
	struct stat st;

	if (p->path == NULL || access_rights(p->access, &rights) < 0)
		return errf(err, errlen, "landlock: bad rule (path %s, access %d)",
		    p->path ? p->path : "(null)", (int)p->access);
	/* O_PATH: a handle on the place in the tree, without reading the file
	 * or needing read permission on it. */
	int fd = open(p->path, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return errf(err, errlen, "landlock: cannot use %s: %s", p->path, strerror(errno));
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return errf(err, errlen, "landlock: cannot stat %s: %s", p->path, strerror(e));
	}
	if (!S_ISDIR(st.st_mode)) {
		rights &= file_rights;
		if (rights == 0) {
			close(fd);
			return errf(err, errlen, "landlock: %s is not a directory, "
			    "and %s access only makes sense on one", p->path,
			    access_name(p->access));
		}
	}
	if (ruleset < 0) {
		close(fd);
		return 0;
	}

	struct landlock_path_beneath_attr rule = {
		.allowed_access = rights & handled,
		.parent_fd = fd,
	};
	long rc = syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0);
	int e = errno;
	close(fd);
	if (rc < 0)
		return errf(err, errlen, "landlock: cannot add a rule for %s: %s", p->path,
		    strerror(e));
	return 0;
}

int landlock_restrict(const struct landlock_path *paths, size_t npaths,
    char *err, size_t errlen)
{
	int abi = landlock_abi();

	if (abi == 0) {
		for (size_t i = 0; i < npaths; i++)
			if (add_path(-1, 0, &paths[i], err, errlen) < 0)
				return -1;
		return 0;
	}

	struct landlock_ruleset_attr attr = { .handled_access_fs = handled_rights(abi) };
	int ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
	if (ruleset < 0)
		return errf(err, errlen, "landlock: cannot create a ruleset (ABI %d): %s",
		    abi, strerror(errno));
	for (size_t i = 0; i < npaths; i++) {
		if (add_path(ruleset, attr.handled_access_fs, &paths[i], err, errlen) < 0) {
			close(ruleset);
			return -1;
		}
	}
	if (syscall(SYS_landlock_restrict_self, ruleset, 0) < 0) {
		int e = errno;
		close(ruleset);
		if (e == EPERM)
			return errf(err, errlen, "landlock: cannot restrict this process: "
			    "set no_new_privs first (or hold CAP_SYS_ADMIN)");
		return errf(err, errlen, "landlock: cannot restrict this process: %s", strerror(e));
	}
	close(ruleset);
	return 1;
}
