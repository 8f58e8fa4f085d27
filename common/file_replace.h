/*
 * file_replace.h — write a whole file atomically: through a temporary file
 * in the same directory, which gets `mode` before any byte is written (a
 * key is never readable by others, even briefly), is synced, then renamed
 * over `path`. Used for pid and state files, secrets, keys and configs.
 */
#ifndef PARLEY_FILE_REPLACE_H
#define PARLEY_FILE_REPLACE_H

#include <stddef.h>
#include <sys/types.h>

#include "util.h"

int file_replace(const char *path, const void *data, size_t len, mode_t mode,
    char *err, size_t errlen);

#endif
