/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>

#include "resolve.h"
#include "shared/macro.h"

int resolve_open(int root_fd, const char *path)
{
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC,
		.resolve = RESOLVE_NO_MAGICLINKS,
	};
	int fd;

	if (root_fd >= 0)
		how.resolve |= RESOLVE_IN_ROOT;
	fd = syscall(SYS_openat2, root_fd >= 0 ? root_fd : AT_FDCWD, path, &how, sizeof(how));
	if (fd < 0)
		return negative_errno();
	return fd;
}
