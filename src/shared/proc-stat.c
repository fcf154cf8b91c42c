/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "shared/fileio.h"
#include "shared/proc-stat.h"

int proc_stat_read(pid_t pid, struct proc_stat *ret)
{
	_cleanup_(freep) char *line = NULL;
	char path[64];
	int r;

	if (pid == 0)
		snprintf(path, sizeof(path), "/proc/self/stat");
	else
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	r = read_small_file(path, 1 << 16, &line, NULL);
	if (r < 0)
		return r;
	return proc_stat_parse(line, ret);
}

int proc_stat_parse(const char *line, struct proc_stat *ret)
{
	const char *open, *close;

	open = strchr(line, '(');
	close = strrchr(line, ')');
	if (!open || !close || close < open)
		return -EBADMSG;
	*ret = (struct proc_stat){};
	snprintf(ret->comm, sizeof(ret->comm), "%.*s", (int)(close - open - 1), open + 1);
	if (sscanf(close + 1,
		   " %c %" SCNu32 " %*d %*d %u %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d %llu %llu %lld",
		   &ret->state, &ret->ppid, &ret->tty_nr, &ret->utime, &ret->stime, &ret->start, &ret->vsize,
		   &ret->rss) != 8)
		return -EBADMSG;
	return 0;
}

int proc_start_usec(pid_t pid, uint64_t *ret)
{
	long hz = sysconf(_SC_CLK_TCK);
	struct proc_stat st;
	int r;

	r = proc_stat_read(pid, &st);
	if (r < 0)
		return r;
	if (hz <= 0)
		return -EINVAL;
	*ret = st.start * USEC_PER_SEC / (unsigned long long)hz;
	return 0;
}
