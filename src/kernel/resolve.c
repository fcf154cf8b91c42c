/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "kernel/resolve.h"
#include "shared/macro.h"

int resolve_open(int root_fd, const char *path, bool follow_symlinks)
{
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC,
		.resolve = RESOLVE_NO_MAGICLINKS,
	};
	int fd;

	if (root_fd >= 0)
		how.resolve |= RESOLVE_IN_ROOT;
	/* Without O_NOFOLLOW, so that a symlink as the last component fails
	 * too, instead of being opened itself. */
	if (!follow_symlinks)
		how.resolve |= RESOLVE_NO_SYMLINKS;
	fd = syscall(SYS_openat2, root_fd >= 0 ? root_fd : AT_FDCWD, path, &how, sizeof(how));
	if (fd < 0)
		return negative_errno();
	return fd;
}

static int read_link_at(int dir_fd, const char *path, char **ret)
{
	char buf[PATH_MAX];
	ssize_t n = readlinkat(dir_fd, path, buf, sizeof(buf) - 1);

	if (n < 0)
		return negative_errno();
	buf[n] = '\0';
	*ret = strdup(buf);
	return *ret ? 0 : -ENOMEM;
}

int resolve_fd_path(int fd, char **ret)
{
	char proc[64];

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	return read_link_at(AT_FDCWD, proc, ret);
}

int resolve_first_symlink(const char *path, char **ret_link, char **ret_target)
{
	char prefix[PATH_MAX];
	size_t len = strlen(path);
	struct stat st;
	int r;

	if (len >= sizeof(prefix))
		return -ENAMETOOLONG;
	for (size_t i = 1; i <= len; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		memcpy(prefix, path, i);
		prefix[i] = '\0';
		if (lstat(prefix, &st) < 0)
			return negative_errno();
		if (!S_ISLNK(st.st_mode))
			continue;
		r = read_link_at(AT_FDCWD, prefix, ret_target);
		if (r < 0)
			return r;
		*ret_link = strdup(prefix);
		if (!*ret_link) {
			free(*ret_target);
			return -ENOMEM;
		}
		return 0;
	}
	return -ENOENT;
}
