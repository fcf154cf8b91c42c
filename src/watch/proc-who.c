/* SPDX-License-Identifier: MIT */
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

/* /proc/TID/NAME as a number; HIVE_ID_UNSET when unreadable. */
static uint32_t proc_id(uint32_t tid, const char *name)
{
	_cleanup_(freep) char *line = NULL;
	char path[64];
	uint32_t v;

	snprintf(path, sizeof(path), "/proc/%" PRIu32 "/%s", tid, name);
	if (read_one_line(path, &line) < 0 || sscanf(line, "%" SCNu32, &v) != 1)
		return HIVE_ID_UNSET;
	return v;
}

/* The login behind thread tid and its terminal, as the kernel would tell
 * them (process_login() in bpf/hive.bpf.c): the terminal's name from its
 * device number, for the kinds that name themselves by it. */
static void proc_login(uint32_t tid, struct hive_event *ev)
{
	unsigned tty_nr, major, minor;
	struct proc_stat st;

	ev->auid = proc_id(tid, "loginuid");
	ev->sessionid = proc_id(tid, "sessionid");
	if (proc_stat_read((pid_t)tid, &st) < 0 || st.tty_nr == 0)
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

bool proc_who(const char *cgroup2, uint32_t tid, struct hive_event *ev)
{
	_cleanup_(freep) char *status = NULL, *comm = NULL, *cgroup = NULL;
	char path[64], cgpath[PATH_MAX];
	const char *line;
	struct stat st;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%" PRIu32 "/exe", tid);
	n = readlink(path, ev->exe, sizeof(ev->exe) - 1);
	if (n < 0)
		return false;
	ev->exe[n] = '\0';
	if (stat(path, &st) == 0)
		ev->exe_file = (struct hive_watch_key){ .ino = st.st_ino, .dev = kernel_dev_from_user(st.st_dev) };
	snprintf(path, sizeof(path), "/proc/%" PRIu32 "/status", tid);
	if (read_small_file(path, 1 << 16, &status, NULL) < 0)
		return false;
	line = strstr(status, "\nTgid:");
	if (line)
		(void)sscanf(line, "\nTgid: %" SCNu32, &ev->tgid);
	line = strstr(status, "\nPPid:");
	if (line)
		(void)sscanf(line, "\nPPid: %" SCNu32, &ev->ppid);
	line = strstr(status, "\nUid:");
	if (line)
		(void)sscanf(line, "\nUid: %" SCNu32 " %" SCNu32 " %*u %" SCNu32, &ev->uid, &ev->euid, &ev->fsuid);
	line = strstr(status, "\nGid:");
	if (line)
		(void)sscanf(line, "\nGid: %" SCNu32, &ev->gid);
	snprintf(path, sizeof(path), "/proc/%" PRIu32 "/comm", tid);
	if (read_one_line(path, &comm) >= 0)
		snprintf(ev->comm, sizeof(ev->comm), "%s", comm);
	proc_login(tid, ev);
	/* The cgroup id is the cgroup2 directory's inode number. */
	snprintf(path, sizeof(path), "/proc/%" PRIu32 "/cgroup", tid);
	if (cgroup2[0] && read_small_file(path, 1 << 16, &cgroup, NULL) >= 0 &&
	    (line = strncmp(cgroup, "0::/", 4) == 0 ? cgroup : strstr(cgroup, "\n0::/"))) {
		int len = (int)strcspn(line + (line[0] == '\n') + 3, "\n");

		line += (line[0] == '\n') + 3;
		if (snprintf(cgpath, sizeof(cgpath), "%s%.*s", strcmp(cgroup2, "/") == 0 ? "" : cgroup2, len,
			     line) < (int)sizeof(cgpath) &&
		    stat(cgpath, &st) == 0)
			ev->cgroup_id = st.st_ino;
	}
	return true;
}

