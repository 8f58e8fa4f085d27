/*
 * supervisor_files.h — the files parleyd publishes for others to read: its
 * pid file and its state file. Both are replaced atomically (a temporary
 * file in the same directory, then rename), so a reader sees the old
 * content or the new, never half of one.
 */
#ifndef PARLEY_SUPERVISOR_FILES_H
#define PARLEY_SUPERVISOR_FILES_H

#include <stddef.h>
#include <sys/types.h>

#include "file_replace.h"


/*
 * Whether the pid file names a parleyd that is alive: returns 1 and sets
 * *pid if so; 0 if there is no pid file, or it is stale (the process is
 * gone, or the pid now belongs to another program, or to us); -1 with the
 * reason if it cannot be read or does not hold a pid.
 */
int pidfile_live(const char *path, pid_t *pid, char *err, size_t errlen);
int pidfile_write(const char *path, pid_t pid, char *err, size_t errlen);
/* Remove the pid file if it still names `pid` (a parleyd started later with
 * another pid file owner keeps its own). */
void pidfile_remove(const char *path, pid_t pid);

/* mkdir -p, for run_dir: each missing directory created with `mode`. */
int mkdir_parents(const char *path, mode_t mode, char *err, size_t errlen);

#endif
