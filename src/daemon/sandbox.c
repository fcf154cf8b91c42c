/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/sandbox.h"
#include "kernel/loader.h"
#include "shared/macro.h"
#include "shared/log.h"
#include "shared/mountinfo.h"
#include "watch/deny-safety.h"

/* What a unit may make hived's own, the setting that does, and the file
 * system the host mounts there (where only one kind is the host's). */
static const struct private_dir {
	const char *dir;
	const char *setting;
	const char *host_fstype;
} private_dirs[] = {
	{ "/dev", "PrivateDevices=yes", "devtmpfs" },
	{ "/proc", "ProtectProc= or ProcSubset=", NULL },
	{ "/tmp", "PrivateTmp=yes", NULL },
	{ "/var/tmp", "PrivateTmp=yes", NULL },
};

struct fstype_at {
	const char *dir;
	char *fstype; /* 64 bytes */
};

static int keep_fstype(const struct mount_entry *m, void *userdata)
{
	struct fstype_at *at = userdata;

	if (strcmp(m->point, at->dir) == 0)
		snprintf(at->fstype, 64, "%s", m->fstype);
	return 0;
}

/* The file system type mounted last at dir in hived's namespace, or "". */
static void mounted_fstype(const char *dir, char fstype[static 64])
{
	fstype[0] = '\0';
	(void)mountinfo_foreach(keep_fstype, &(struct fstype_at){ dir, fstype });
}

/* Whether hived's d->dir is another directory than the host's: PID 1's,
 * where its root can be read (systemd's can), else by what is mounted
 * there. Unknown counts as the same: nothing is refused on a guess. */
static bool differs_from_host(const struct private_dir *d)
{
	char host[64], fstype[64];
	struct stat here, there;

	snprintf(host, sizeof(host), "/proc/1/root%s", d->dir);
	if (stat(d->dir, &here) < 0)
		return false;
	if (stat(host, &there) == 0)
		return here.st_dev != there.st_dev || here.st_ino != there.st_ino;
	if (!d->host_fstype)
		return false;
	mounted_fstype(d->dir, fstype);
	return fstype[0] && strcmp(fstype, d->host_fstype) != 0;
}

/* Whether this kernel gives this process fanotify permission events
 * (CONFIG_FANOTIFY_ACCESS_PERMISSIONS, CAP_SYS_ADMIN): 0, or why not. */
static int permission_events(void)
{
	int fd = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return negative_errno();
	close(fd);
	return 0;
}

/* A deny policy where nothing can refuse is refused itself: never pretend. */
static void check_refusals(const struct policy_set *set, struct diag *d)
{
	int r = 1;

	for (size_t p = 0; p < set->n; p++) {
		const struct policy *pol = &set->policies[p];

		if (pol->action == POLICY_ACTION_LOG)
			continue;
		/* fanotify first: the BPF LSM program takes a load to tell. */
		if (r > 0)
			r = permission_events() < 0 ? loader_probe_deny() : 0;
		if (r < 0)
			diag_add(d,
				 "%s: policy \"%s\": action: \"%s\" needs BPF LSM programs or fanotify permission "
				 "events, and this kernel gives neither (BPF LSM: %s): \"bpf\" in the kernel's lsm= "
				 "list, or CONFIG_FANOTIFY_ACCESS_PERMISSIONS and hived with CAP_SYS_ADMIN",
				 pol->file, pol->name, policy_action_to_string(pol->action), strerror(-r));
	}
}

int sandbox_check_policies(const struct policy_set *set, struct diag *d)
{
	bool hidden[ARRAY_SIZE(private_dirs)];
	size_t before = d->n + d->omitted;

	for (size_t i = 0; i < ARRAY_SIZE(private_dirs); i++)
		hidden[i] = differs_from_host(&private_dirs[i]);
	for (size_t p = 0; p < set->n; p++) {
		const struct policy *pol = &set->policies[p];

		for (size_t k = 0; pol->host && k < pol->n_paths; k++)
			for (size_t i = 0; i < ARRAY_SIZE(private_dirs); i++)
				if (hidden[i] && policy_path_below(pol->paths[k], private_dirs[i].dir))
					diag_add(d,
						 "%s: policy \"%s\": paths[%zu]: %s is in hived's own %s (%s in its "
						 "unit), not the host's: the host's file cannot be watched; turn "
						 "that setting off in a drop-in (systemctl edit hive) to watch it",
						 pol->file, pol->name, k, pol->paths[k], private_dirs[i].dir,
						 private_dirs[i].setting);
	}
	check_refusals(set, d);
	return d->n + d->omitted > before ? -EINVAL : 0;
}

static void warn(const char *line, void *userdata)
{
	log_warning("%s", line);
}

int sandbox_load_policies(const char *dir, struct policy_set **ret, struct diag *d)
{
	struct policy_set *set = NULL;
	int r;

	r = policy_set_load_dir(dir, &set, d);
	if (r < 0)
		return r;
	r = sandbox_check_policies(set, d);
	if (r < 0) {
		policy_set_free(set);
		return r;
	}
	deny_safety_warnings(set, warn, NULL);
	*ret = set;
	return 0;
}
