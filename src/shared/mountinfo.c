/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "shared/macro.h"
#include "shared/mountinfo.h"

/* A mount point's octal escapes (\040 for a space) undone, in place. */
static void unescape(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' &&
		    s[3] <= '7') {
			*out++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else
			*out++ = *s;
	}
	*out = '\0';
}

int mountinfo_foreach(int (*fn)(const struct mount_entry *m, void *userdata), void *userdata)
{
	_cleanup_(fclosep) FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[8192];

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		struct mount_entry m = {};
		const char *sep = strstr(line, " - ");
		int r;

		if (!sep || sscanf(line, "%d %*s %u:%u %*s %4095s", &m.id, &m.major, &m.minor, m.point) != 4 ||
		    sscanf(sep + 3, "%63s", m.fstype) != 1)
			continue;
		unescape(m.point);
		r = fn(&m, userdata);
		if (r)
			return r;
	}
	return 0;
}
