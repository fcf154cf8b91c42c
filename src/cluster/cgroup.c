/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "cluster/cgroup.h"
#include "shared/fileio.h"
#include "shared/macro.h"

static bool id_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
	       c == '.';
}

int cgroup_parse_container_id(const char *status_id, char runtime[32], char id[CONTAINER_ID_MAX + 1])
{
	const char *sep = strstr(status_id, "://");
	size_t rlen, ilen;

	if (!sep)
		return -EINVAL;
	rlen = sep - status_id;
	ilen = strlen(sep + 3);
	if (rlen == 0 || rlen >= 32 || ilen == 0 || ilen > CONTAINER_ID_MAX)
		return -EINVAL;
	for (size_t i = 0; i < ilen; i++)
		if (!id_char_ok(sep[3 + i]))
			return -EINVAL;
	if (strcmp(sep + 3, ".") == 0 || strcmp(sep + 3, "..") == 0)
		return -EINVAL;
	memcpy(runtime, status_id, rlen);
	runtime[rlen] = '\0';
	memcpy(id, sep + 3, ilen + 1);
	return 0;
}

/* The systemd driver names a container's scope after its runtime. */
static const char *scope_prefix(const char *runtime)
{
	if (strcmp(runtime, "containerd") == 0)
		return "cri-containerd";
	if (strcmp(runtime, "cri-o") == 0)
		return "crio";
	if (strcmp(runtime, "docker") == 0)
		return "docker";
	return NULL;
}

int cgroup_container_candidates(const char *pod_uid, const char *qos, const char *runtime, const char *id,
				char *out[], size_t max)
{
	static const char *const all_qos[] = { "burstable", "besteffort", "" };
	const char *prefix = scope_prefix(runtime);
	char uid_[64], q[16];
	size_t n = 0;

	if (strlen(pod_uid) >= sizeof(uid_))
		return -EINVAL;
	for (size_t i = 0; pod_uid[i] || (uid_[i] = '\0'); i++)
		uid_[i] = pod_uid[i] == '-' ? '_' : pod_uid[i];

	for (size_t k = 0; k < ARRAY_SIZE(all_qos); k++) {
		const char *level = all_qos[k];
		char *p;
		int len;

		/* Guaranteed pods sit right under kubepods, without a QoS level. */
		if (qos) {
			snprintf(q, sizeof(q), "%s", strcasecmp(qos, "Guaranteed") == 0 ? "" : qos);
			for (char *c = q; *c; c++)
				*c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
			if (strcmp(q, level) != 0)
				continue;
		}
		if (n + 3 > max)
			return -ENOBUFS;
		len = asprintf(&p, "kubepods%s%s/pod%s/%s", level[0] ? "/" : "", level, pod_uid, id);
		if (len < 0)
			goto oom;
		out[n++] = p;
		if (strcmp(runtime, "cri-o") == 0) {
			if (asprintf(&p, "kubepods%s%s/pod%s/crio-%s", level[0] ? "/" : "", level, pod_uid, id) < 0)
				goto oom;
			out[n++] = p;
		}
		if (prefix) {
			if (level[0])
				len = asprintf(&p, "kubepods.slice/kubepods-%s.slice/kubepods-%s-pod%s.slice/%s-%s.scope",
					       level, level, uid_, prefix, id);
			else
				len = asprintf(&p, "kubepods.slice/kubepods-pod%s.slice/%s-%s.scope", uid_, prefix, id);
			if (len < 0)
				goto oom;
			out[n++] = p;
		}
	}
	return (int)n;
oom:
	for (size_t i = 0; i < n; i++)
		free(out[i]);
	return -ENOMEM;
}

static bool is_fs(const char *path, long magic)
{
	struct statfs sf;

	return statfs(path, &sf) == 0 && sf.f_type == magic;
}

int cgroup_roots_find(const char *root, struct cgroup_roots *ret)
{
	static const char *const v1[] = { "pids", "memory", "cpu", "systemd" };
	struct cgroup_roots r = {};
	char *p;

	if (is_fs(root, CGROUP2_SUPER_MAGIC))
		r.unified = strdup(root);
	else {
		if (asprintf(&p, "%s/unified", root) < 0)
			return -ENOMEM;
		if (is_fs(p, CGROUP2_SUPER_MAGIC))
			r.unified = p;
		else
			free(p);
		for (size_t i = 0; i < ARRAY_SIZE(v1); i++) {
			if (asprintf(&p, "%s/%s", root, v1[i]) < 0) {
				cgroup_roots_clear(&r);
				return -ENOMEM;
			}
			if (is_fs(p, CGROUP_SUPER_MAGIC))
				r.v1[r.n_v1++] = p;
			else
				free(p);
		}
	}
	if (!r.unified && r.n_v1 == 0)
		return -ENOENT;
	*ret = r;
	return 0;
}

void cgroup_roots_clear(struct cgroup_roots *r)
{
	free(r->unified);
	for (size_t i = 0; i < r->n_v1; i++)
		free(r->v1[i]);
	*r = (struct cgroup_roots){};
}

void cgroup_container_clear(struct cgroup_container *c)
{
	free(c->dir);
	*c = (struct cgroup_container){};
}

/* The first candidate directory that exists below hierarchy. */
static int find_in(const char *hierarchy, char *const candidates[], size_t n, char **ret_dir, uint64_t *ret_ino)
{
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		char *dir;

		if (asprintf(&dir, "%s/%s", hierarchy, candidates[i]) < 0)
			return -ENOMEM;
		if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) {
			*ret_dir = dir;
			*ret_ino = st.st_ino;
			return 0;
		}
		free(dir);
	}
	return -ENOENT;
}

int cgroup_find_container(const struct cgroup_roots *roots, const char *pod_uid, const char *qos, const char *runtime,
			  const char *id, struct cgroup_container *ret)
{
	char *candidates[CGROUP_CANDIDATES_MAX];
	uint64_t ino = 0;
	char *dir = NULL;
	int n, r = -ENOENT;

	n = cgroup_container_candidates(pod_uid, qos, runtime, id, candidates, ARRAY_SIZE(candidates));
	if (n < 0)
		return n;
	/* cgroup2 first: its directory's inode number is the cgroup id the
	 * BPF programs report for processes inside. */
	if (roots->unified)
		r = find_in(roots->unified, candidates, n, &dir, &ino);
	if (r == 0)
		*ret = (struct cgroup_container){ .dir = dir, .cgroup_id = ino };
	for (size_t i = 0; r == -ENOENT && i < roots->n_v1; i++) {
		r = find_in(roots->v1[i], candidates, n, &dir, &ino);
		if (r == 0)
			*ret = (struct cgroup_container){ .dir = dir };
	}
	for (int i = 0; i < n; i++)
		free(candidates[i]);
	return r;
}

bool cgroup_file_names_container(const char *text, const char *id)
{
	size_t idlen = strlen(id);

	for (const char *line = text; line && *line;) {
		const char *end = strchrnul(line, '\n'), *last = end;

		while (last > line && last[-1] != '/')
			last--;
		if (last > line) {
			size_t len = end - last, scope = idlen + strlen("-.scope");

			/* "ID" (cgroupfs) or "PREFIX-ID.scope" (systemd) */
			if (len == idlen && memcmp(last, id, idlen) == 0)
				return true;
			if (len > scope && end[-scope] == '-' && memcmp(end - scope + 1, id, idlen) == 0 &&
			    memcmp(end - 6, ".scope", 6) == 0)
				return true;
		}
		line = *end ? end + 1 : NULL;
	}
	return false;
}

static int process_in_container(int proc_fd, const char *id)
{
	_cleanup_(freep) char *text = NULL;
	int r = read_small_file_at(proc_fd, "cgroup", 64 * 1024, &text, NULL);

	if (r < 0)
		return r == -ENOENT ? -ESRCH : r;
	return cgroup_file_names_container(text, id) ? 0 : -ESRCH;
}

/* Whether the process is its pid namespace's init: the last NSpid field is 1. */
static bool is_namespace_init(int proc_fd)
{
	_cleanup_(freep) char *status = NULL;
	const char *line, *end;

	if (read_small_file_at(proc_fd, "status", 64 * 1024, &status, NULL) < 0)
		return false;
	line = strstr(status, "\nNSpid:");
	if (!line)
		return false;
	end = strchrnul(line + 1, '\n');
	return end - line >= 3 && end[-1] == '1' && (end[-2] == '\t' || end[-2] == ' ');
}

/* Where a directory is, as ".." walks: its mount and inode. */
struct place {
	uint64_t mnt_id;
	dev_t dev;
	ino_t ino;
	bool mount_root;
};

static int place_of(int fd, struct place *ret)
{
	struct statx stx;

	if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_INO | STATX_MNT_ID, &stx) < 0)
		return -errno;
	/* Both from 5.8 on. */
	if (!(stx.stx_mask & STATX_MNT_ID) || !(stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT))
		return -EOPNOTSUPP;
	*ret = (struct place){
		.mnt_id = stx.stx_mnt_id,
		.dev = makedev(stx.stx_dev_major, stx.stx_dev_minor),
		.ino = stx.stx_ino,
		.mount_root = stx.stx_attributes & STATX_ATTR_MOUNT_ROOT,
	};
	return 0;
}

static bool same_place(const struct place *a, const struct place *b)
{
	return a->mnt_id == b->mnt_id && a->dev == b->dev && a->ino == b->ino;
}

/*
 * The root of the mount namespace that fd (a chroot()ed process's root) is
 * in: where ".." stops. From a mount's root, ".." goes to where the mount
 * is mounted, except for mounts stacked on the namespace's own root: that is
 * where a process that joins the namespace finds itself (setns()), the root
 * the runtime made (pivot_root(), or its rootfs moved onto "/").
 */
static int namespace_root_of(int fd)
{
	_cleanup_(closep) int cur = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	struct place here, up;

	if (cur < 0)
		return -errno;
	if (place_of(cur, &here) < 0)
		return -ESRCH;
	for (int depth = 0; depth < 4096; depth++) {
		_cleanup_(closep) int parent = openat(cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);

		if (parent < 0 || place_of(parent, &up) < 0)
			return -ESRCH;
		if (same_place(&up, &here))
			return TAKE_FD(cur);
		closep(&cur);
		cur = TAKE_FD(parent);
		here = up;
	}
	return -ELOOP;
}

/* The root of pid if it is (still) a process of the container; -ESRCH if not. */
static int open_root_of(long pid, const char *id, bool init_only, bool *chrooted)
{
	_cleanup_(closep) int proc_fd = -1, root_fd = -1;
	struct place root;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%ld", pid);
	/* From here on proc_fd stands for this process, not for whichever
	 * gets its PID next: lookups through it fail once it has exited. */
	proc_fd = open(path, O_DIRECTORY | O_CLOEXEC | O_RDONLY);
	if (proc_fd < 0 || process_in_container(proc_fd, id) < 0)
		return -ESRCH;
	if (init_only && !is_namespace_init(proc_fd))
		return -ESRCH;
	root_fd = openat(proc_fd, "root", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0 || process_in_container(proc_fd, id) < 0)
		return -ESRCH;
	*chrooted = false;
	if (place_of(root_fd, &root) == 0 && !root.mount_root) {
		*chrooted = true;
		return namespace_root_of(root_fd);
	}
	return TAKE_FD(root_fd);
}

int cgroup_open_container_root(const char *cgroup_dir, const char *id, pid_t *ret_pid, pid_t *ret_chrooted)
{
	_cleanup_(freep) char *procs = NULL, *file = NULL;
	int r;

	if (asprintf(&file, "%s/cgroup.procs", cgroup_dir) < 0)
		return -ENOMEM;
	r = read_small_file(file, 1024 * 1024, &procs, NULL);
	if (r < 0)
		return r == -ENOENT ? -ESRCH : r;
	/* The container's init first: the runtime set its root up. Any other
	 * process may have chroot()ed itself somewhere else in the container
	 * (a decoy tree, say), and its view is not the container's (the init's
	 * may be one too: see open_root_of()). Then, as when the container
	 * shares the pod's pid namespace, any of them; one may exit while we
	 * look. */
	for (int pass = 0; pass < 2; pass++)
		for (char *p = procs, *end; *p; p = end) {
			long pid = strtol(p, &end, 10);
			bool chrooted;
			int fd;

			if (end == p)
				break;
			while (*end == '\n')
				end++;
			if (pid <= 0)
				continue;
			fd = open_root_of(pid, id, pass == 0, &chrooted);
			if (fd < 0)
				continue;
			if (ret_pid)
				*ret_pid = (pid_t)pid;
			if (ret_chrooted)
				*ret_chrooted = chrooted ? (pid_t)pid : 0;
			return fd;
		}
	return -ESRCH;
}
