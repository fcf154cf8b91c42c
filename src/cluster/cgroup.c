/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>

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

/* The root of pid if it is (still) a process of the container; -ESRCH if not. */
static int open_root_of(long pid, const char *id, bool init_only)
{
	_cleanup_(closep) int proc_fd = -1, root_fd = -1;
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
	return TAKE_FD(root_fd);
}

int cgroup_open_container_root(const char *cgroup_dir, const char *id, pid_t *ret_pid)
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
	 * (a decoy tree, say), and its view is not the container's. Then, as
	 * when the container shares the pod's pid namespace, any of them; one
	 * may exit while we look. */
	for (int pass = 0; pass < 2; pass++)
		for (char *p = procs, *end; *p; p = end) {
			long pid = strtol(p, &end, 10);
			int fd;

			if (end == p)
				break;
			while (*end == '\n')
				end++;
			if (pid <= 0)
				continue;
			fd = open_root_of(pid, id, pass == 0);
			if (fd < 0)
				continue;
			if (ret_pid)
				*ret_pid = (pid_t)pid;
			return fd;
		}
	return -ESRCH;
}
