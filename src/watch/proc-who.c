/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shared/abi.h"
#include "shared/fileio.h"
#include "shared/macro.h"
#include "shared/mountinfo.h"
#include "shared/proc-stat.h"
#include "watch/proc-who.h"

static int keep_cgroup2(const struct mount_entry *m, void *userdata)
{
	char *buf = userdata;

	if (strcmp(m->fstype, "cgroup2") != 0)
		return 0;
	snprintf(buf, PATH_MAX, "%s", m->point);
	return 1;
}

void proc_who_cgroup2(char buf[static PATH_MAX])
{
	buf[0] = '\0';
	(void)mountinfo_foreach(keep_cgroup2, buf);
}

int proc_dir_open(uint32_t tid)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%" PRIu32, tid);
	fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? negative_errno() : fd;
}

int proc_read_at(int dir, const char *name, char *buf, size_t size)
{
	_cleanup_(closep) int fd = openat(dir, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	ssize_t n;

	if (fd < 0)
		return negative_errno();
	n = read(fd, buf, size - 1);
	if (n < 0)
		return negative_errno();
	if ((size_t)n == size - 1)
		return -EFBIG;
	buf[n] = '\0';
	return (int)n;
}

/* NAME of the directory as a number; HIVE_ID_UNSET when unreadable. */
static uint32_t proc_id(int dir, const char *name)
{
	char line[32];
	uint32_t v;

	if (proc_read_at(dir, name, line, sizeof(line)) < 0 || sscanf(line, "%" SCNu32, &v) != 1)
		return HIVE_ID_UNSET;
	return v;
}

/* The login behind the thread and its terminal, as the kernel would tell
 * them (process_login() in bpf/hive.bpf.c): the terminal's name from its
 * device number, for the kinds that name themselves by it. */
static void proc_login(int dir, struct hive_event *ev)
{
	unsigned tty_nr, major, minor;
	struct proc_stat st;
	char line[1024];

	ev->auid = proc_id(dir, "loginuid");
	ev->sessionid = proc_id(dir, "sessionid");
	if (proc_read_at(dir, "stat", line, sizeof(line)) < 0 || proc_stat_parse(line, &st) < 0 || st.tty_nr == 0)
		return;
	tty_nr = st.tty_nr;
	major = (tty_nr >> 8) & 0xfff;
	minor = (tty_nr & 0xff) | ((tty_nr >> 12) & 0xfff00);
	if (major >= 136 && major <= 143)
		snprintf(ev->tty, sizeof(ev->tty), "pts%u", (major - 136) * 256 + minor);
	else if (major == 4 && minor < 64)
		snprintf(ev->tty, sizeof(ev->tty), "tty%u", minor);
	else if (major == 4)
		snprintf(ev->tty, sizeof(ev->tty), "ttyS%u", minor - 64);
}

/* Process pid's name and parent from /proc/PID/stat, and whether it is its
 * pid namespace's init (status's NSpid ends in 1). False when gone. */
static bool proc_parent(uint32_t pid, char comm[static HIVE_COMM_LEN], uint32_t *ret_ppid, bool *ret_init)
{
	_cleanup_(freep) char *status = NULL;
	struct proc_stat st;
	const char *nspid;
	char path[64];

	if (proc_stat_read((pid_t)pid, &st) < 0)
		return false;
	*ret_ppid = st.ppid;
	snprintf(comm, HIVE_COMM_LEN, "%s", st.comm);
	snprintf(path, sizeof(path), "/proc/%" PRIu32 "/status", pid);
	*ret_init = false;
	/* "NSpid:\t4242\t1": its number in each namespace, its own last. */
	if (read_small_file(path, 1 << 16, &status, NULL) >= 0 && (nspid = strstr(status, "\nNSpid:"))) {
		char line[256], *last;

		snprintf(line, sizeof(line), "%.*s", (int)strcspn(nspid + 1, "\n"), nspid + 1);
		last = strrchr(line, '\t');
		*ret_init = last && strcmp(last + 1, "1") == 0;
	}
	return true;
}

void proc_lineage(uint32_t tgid, struct hive_lineage *lin)
{
	uint32_t pid = tgid, ppid = 0;
	char comm[HIVE_COMM_LEN];
	bool init = false;

	lin->n = 0;
	if (!proc_parent(pid, comm, &ppid, &init) || init)
		return;
	for (pid = ppid; pid > 0 && lin->n < HIVE_ANCESTORS_MAX; pid = ppid) {
		struct hive_ancestor *a = &lin->ancestors[lin->n];
		char path[64];
		struct stat st;

		if (!proc_parent(pid, a->comm, &ppid, &init))
			break;
		a->tgid = pid;
		a->flags = init ? HIVE_ANCESTOR_NS_INIT : 0;
		a->exe = (struct hive_watch_key){};
		snprintf(path, sizeof(path), "/proc/%" PRIu32 "/exe", pid);
		if (stat(path, &st) == 0)
			a->exe = (struct hive_watch_key){ .ino = st.st_ino, .dev = kernel_dev_from_user(st.st_dev) };
		lin->n++;
		if (init)
			break;
	}
}

bool proc_who_at(const char *cgroup2, int dir, struct hive_event *ev)
{
	char buf[4096], cgpath[PATH_MAX];
	const char *line;
	struct stat st;
	ssize_t n;

	n = readlinkat(dir, "exe", ev->exe, sizeof(ev->exe) - 1);
	if (n < 0)
		return false;
	ev->exe[n] = '\0';
	if (fstatat(dir, "exe", &st, 0) == 0)
		ev->exe_file = (struct hive_watch_key){ .ino = st.st_ino, .dev = kernel_dev_from_user(st.st_dev) };
	if (proc_read_at(dir, "status", buf, sizeof(buf)) < 0)
		return false;
	line = strstr(buf, "\nTgid:");
	if (line)
		(void)sscanf(line, "\nTgid: %" SCNu32, &ev->tgid);
	line = strstr(buf, "\nPPid:");
	if (line)
		(void)sscanf(line, "\nPPid: %" SCNu32, &ev->ppid);
	line = strstr(buf, "\nUid:");
	if (line)
		(void)sscanf(line, "\nUid: %" SCNu32 " %" SCNu32 " %*u %" SCNu32, &ev->uid, &ev->euid, &ev->fsuid);
	line = strstr(buf, "\nGid:");
	if (line)
		(void)sscanf(line, "\nGid: %" SCNu32, &ev->gid);
	/* The name as the kernel keeps it (status escapes some bytes). */
	if (proc_read_at(dir, "comm", buf, sizeof(buf)) < 0)
		return false;
	snprintf(ev->comm, sizeof(ev->comm), "%.*s", (int)strcspn(buf, "\n"), buf);
	proc_login(dir, ev);
	/* The cgroup id is the cgroup2 directory's inode number. */
	if (cgroup2[0] && proc_read_at(dir, "cgroup", buf, sizeof(buf)) >= 0 &&
	    (line = strncmp(buf, "0::/", 4) == 0 ? buf : strstr(buf, "\n0::/"))) {
		int len = (int)strcspn(line + (line[0] == '\n') + 3, "\n");

		line += (line[0] == '\n') + 3;
		if (snprintf(cgpath, sizeof(cgpath), "%s%.*s", strcmp(cgroup2, "/") == 0 ? "" : cgroup2, len,
			     line) < (int)sizeof(cgpath) &&
		    stat(cgpath, &st) == 0)
			ev->cgroup_id = st.st_ino;
	}
	/* Still there (no zombie has an executable): every read above was of
	 * the running thread, none failed for its going (a short-lived process
	 * goes between two of them; the exits map has it whole then). */
	return readlinkat(dir, "exe", buf, sizeof(buf)) >= 0;
}

bool proc_who(const char *cgroup2, uint32_t tid, struct hive_event *ev)
{
	_cleanup_(closep) int dir = proc_dir_open(tid);

	return dir >= 0 && proc_who_at(cgroup2, dir, ev);
}
