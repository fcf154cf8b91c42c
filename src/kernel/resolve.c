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

int resolve_fd_path_buf(int fd, char *buf, size_t size)
{
	char proc[64];
	ssize_t n;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = readlink(proc, buf, size - 1);
	if (n < 0)
		return negative_errno();
	buf[n] = '\0';
	return 0;
}

int resolve_fd_path(int fd, char **ret)
{
	char buf[PATH_MAX];
	int r = resolve_fd_path_buf(fd, buf, sizeof(buf));

	if (r < 0)
		return r;
	*ret = strdup(buf);
	return *ret ? 0 : -ENOMEM;
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

bool resolve_same_file(int a, int b)
{
	struct stat sa, sb;

	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

int resolve_open_parent(int fd, int root_fd, char *ret_name)
{
	_cleanup_(freep) char *path = NULL;
	_cleanup_(closep) int again = -1;
	char *slash;
	int dir, r;

	r = resolve_fd_path(fd, &path);
	if (r < 0)
		return r;
	slash = strrchr(path, '/');
	if (path[0] != '/' || !slash || !slash[1] || strlen(slash + 1) > NAME_MAX)
		return -ESTALE; /* "(deleted)", "anon_inode:", the root itself */
	strcpy(ret_name, slash + 1);
	*slash = '\0';
	dir = resolve_open(root_fd, path[0] ? path : "/", false);
	if (dir < 0)
		return dir;
	again = resolve_open(dir, ret_name, false);
	if (again < 0 || !resolve_same_file(again, fd)) {
		close(dir);
		return -ESTALE;
	}
	return dir;
}
