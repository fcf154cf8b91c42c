/* SPDX-License-Identifier: MIT */
#ifndef HIVE_RESOLVE_H
#define HIVE_RESOLVE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Open a watched path for identification only (O_PATH: no read, no
 * inode_permission() check on the file, no side effects on FIFOs or devices).
 *
 * root_fd < 0: a host path, resolved from "/".
 * root_fd >= 0: a directory standing for a container's root; the path is
 * resolved as if it were "/", with RESOLVE_IN_ROOT so that neither ".." nor an
 * absolute symlink planted by the container can lead out of it.
 *
 * Magic links (/proc/PID/fd/N and friends) are never followed: they would
 * let a container point the agent at any file it holds open. Without
 * follow_symlinks, no symbolic link is followed at all (-ELOOP): for policies
 * that refuse to be redirected by whoever can write a directory on the path.
 *
 * Returns the descriptor or -errno.
 */
int resolve_open(int root_fd, const char *path, bool follow_symlinks);

/*
 * For messages about a path that resolved elsewhere than it reads: the file
 * an O_PATH descriptor stands for (from /proc/self/fd), and the first
 * component of path that is a symbolic link, with its target. Both are
 * best effort (the tree may change meanwhile) and return -errno when there is
 * nothing to say.
 */
int resolve_fd_path(int fd, char **ret);
/* The same into buf (size bytes; a longer path is cut). */
int resolve_fd_path_buf(int fd, char *buf, size_t size);
int resolve_first_symlink(const char *path, char **ret_link, char **ret_target);

/*
 * The directory holding the file fd stands for, opened (O_PATH) under
 * root_fd as resolve_open() does, and the file's name in it (ret_name, at
 * least NAME_MAX + 1 bytes). Where a path can only be guessed (from
 * /proc/self/fd: inside a container the container's path, unless the runtime
 * chroots; the tree may change meanwhile), the guess counts only if the name
 * in the directory found is the very file fd holds (both held open, so the
 * same device and inode number are the same file). -ESTALE when it is not.
 */
int resolve_open_parent(int fd, int root_fd, char *ret_name);

/* Whether two open descriptors stand for the same file. */
bool resolve_same_file(int a, int b);

#endif
