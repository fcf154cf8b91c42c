/* SPDX-License-Identifier: MIT */
/* Who a thread is, from /proc: this test's own process and a child whose
 * parent's name holds parentheses and spaces (stat's comm is anything). */
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"
#include "watch/proc-who.h"

static void test_this_process(void)
{
	struct hive_event ev = {};
	struct hive_lineage lin = {};
	char comm[32] = "", cgroup2[PATH_MAX];
	FILE *f;

	proc_who_cgroup2(cgroup2);
	CHECK(proc_who(cgroup2, (uint32_t)getpid(), &ev));
	CHECK(ev.tgid == (uint32_t)getpid() && ev.ppid == (uint32_t)getppid() && ev.uid == getuid());
	proc_lineage(ev.tgid, &lin);
	CHECK(lin.n >= 1 && lin.ancestors[0].tgid == (uint32_t)getppid());
	CHECK(ev.exe[0] == '/' && ev.exe_file.ino != 0);
	f = fopen("/proc/self/comm", "re");
	CHECK(f && fgets(comm, sizeof(comm), f));
	if (f)
		fclose(f);
	comm[strcspn(comm, "\n")] = '\0';
	CHECK_STREQ(ev.comm, comm);
	/* A chain ends at an init, or at its bound. */
	CHECK(lin.n == HIVE_ANCESTORS_MAX || (lin.ancestors[lin.n - 1].flags & HIVE_ANCESTOR_NS_INIT));
}

static void test_a_parent_named_like_stat(void)
{
	int ready[2];
	pid_t parent, child = 0;
	struct hive_event ev = {};
	struct hive_lineage lin = {};

	CHECK(pipe(ready) == 0);
	parent = fork();
	if (parent == 0) {
		pid_t c;

		prctl(PR_SET_NAME, "x) (y 1 2", 0, 0, 0);
		c = fork();
		if (c == 0) {
			pause();
			_exit(0);
		}
		if (write(ready[1], &c, sizeof(c)) != sizeof(c))
			_exit(1);
		waitpid(c, NULL, 0);
		_exit(0);
	}
	CHECK(read(ready[0], &child, sizeof(child)) == sizeof(child));
	CHECK(proc_who("", (uint32_t)child, &ev));
	proc_lineage((uint32_t)child, &lin);
	CHECK(lin.n >= 2);
	CHECK_STREQ(lin.ancestors[0].comm, "x) (y 1 2");
	CHECK(lin.ancestors[0].tgid == (uint32_t)parent && lin.ancestors[1].tgid == (uint32_t)getpid());
	kill(child, SIGKILL);
	waitpid(parent, NULL, 0);
	/* Gone. */
	CHECK(!proc_who("", (uint32_t)child, &ev));
	close(ready[0]);
	close(ready[1]);
}

/* A /proc directory whose process went between two of its reads (here a
 * directory without comm, whose other files read): nothing of it is taken,
 * for a record would then name a process without its name. */
static void test_a_thread_gone_midway_is_none(void)
{
	char dir[] = "/tmp/hive-proc-who-XXXXXX", path[PATH_MAX];
	struct hive_event ev = {};
	const char *status = "Name:\tln\nTgid:\t42\nPPid:\t1\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n";
	FILE *f;
	int fd;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/exe", dir);
	CHECK(symlink("/bin/ln", path) == 0);
	snprintf(path, sizeof(path), "%s/status", dir);
	f = fopen(path, "we");
	CHECK(f && fputs(status, f) >= 0);
	if (f)
		fclose(f);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(fd >= 0);
	CHECK(!proc_who_at("", fd, &ev));
	/* With its name, the same directory is a thread. */
	snprintf(path, sizeof(path), "%s/comm", dir);
	f = fopen(path, "we");
	CHECK(f && fputs("ln\n", f) >= 0);
	if (f)
		fclose(f);
	CHECK(proc_who_at("", fd, &ev) && ev.tgid == 42 && strcmp(ev.comm, "ln") == 0);
	close(fd);
	unlink(path);
	snprintf(path, sizeof(path), "%s/status", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/exe", dir);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	RUN(test_this_process);
	RUN(test_a_parent_named_like_stat);
	RUN(test_a_thread_gone_midway_is_none);
	return TAP_END();
}
