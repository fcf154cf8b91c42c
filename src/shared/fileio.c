/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "shared/fileio.h"

int read_small_file_at(int dir_fd, const char *path, size_t max, char **ret, size_t *ret_len)
{
	_cleanup_(closep) int fd = -1;
	_cleanup_(freep) char *buf = NULL;
	size_t len = 0, size;
	struct stat st;

	fd = openat(dir_fd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return negative_errno();
	if (fstat(fd, &st) < 0)
		return negative_errno();
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (!S_ISREG(st.st_mode))
		return -ENODEV;
	if ((size_t)st.st_size > max)
		return -EFBIG;

	/* st_size is only a hint (procfs says 0), read until EOF. */
	size = st.st_size > 0 ? (size_t)st.st_size + 1 : 4096;
	buf = malloc(size + 1);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		if (len == size) {
			char *grown;

			if (size > max)
				return -EFBIG;
			size *= 2;
			grown = realloc(buf, size + 1);
			if (!grown)
				return -ENOMEM;
			buf = grown;
		}
		n = read(fd, buf + len, size - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		if (n == 0)
			break;
		len += n;
		if (len > max)
			return -EFBIG;
	}
	buf[len] = '\0';
	*ret = TAKE_PTR(buf);
	if (ret_len)
		*ret_len = len;
	return 0;
}

int read_small_file(const char *path, size_t max, char **ret, size_t *ret_len)
{
	return read_small_file_at(AT_FDCWD, path, max, ret, ret_len);
}

int read_one_line(const char *path, char **ret)
{
	char *text;
	int r;

	r = read_small_file(path, 4096, &text, NULL);
	if (r < 0)
		return r;
	text[strcspn(text, "\n")] = '\0';
	*ret = text;
	return 0;
}
