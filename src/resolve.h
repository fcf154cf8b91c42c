/* SPDX-License-Identifier: MIT */
#ifndef HIVE_RESOLVE_H
#define HIVE_RESOLVE_H

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
 * let a container point the agent at any file it holds open.
 *
 * Returns the descriptor or -errno.
 */
int resolve_open(int root_fd, const char *path);

#endif
