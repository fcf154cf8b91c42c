/* SPDX-License-Identifier: MIT */
#ifndef HIVE_FILEIO_H
#define HIVE_FILEIO_H

#include <dirent.h>
#include <stddef.h>

#include "shared/macro.h"

/*
 * Read a whole regular file of at most max bytes into a NUL-terminated buffer.
 * -EFBIG when larger, -EISDIR / -ENODEV when not a regular file (never blocks
 * on a FIFO).
 */
int read_small_file(const char *path, size_t max, char **ret, size_t *ret_len);
int read_small_file_at(int dir_fd, const char *path, size_t max, char **ret, size_t *ret_len);

/* First line of a small file (e.g. /proc/sys/kernel/random/boot_id), without the newline. */
int read_one_line(const char *path, char **ret);

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir)

#endif
