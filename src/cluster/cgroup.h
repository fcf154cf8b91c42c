/* SPDX-License-Identifier: MIT */
#ifndef HIVE_CGROUP_H
#define HIVE_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * From a container id that the kubelet reports in a pod's status to the
 * processes of that container, through the cgroup the kubelet made for it:
 * no container runtime socket, so every CRI runtime works alike.
 *
 * The directory is computed from the pod's UID, QoS class and the id, in the
 * layouts the kubelet's two cgroup drivers make:
 *   cgroupfs: kubepods[/burstable|/besteffort]/pod<UID>/<ID>
 *   systemd:  kubepods.slice[/kubepods-<qos>.slice]/kubepods[-<qos>]-pod<UID_>.slice/<prefix>-<ID>.scope
 * with <prefix> cri-containerd, crio or docker after the runtime, and looked
 * up in the cgroup2 hierarchy and the v1 ones: a handful of stat()s per
 * container, never a walk of the cgroup tree.
 */

#define CONTAINER_ID_MAX 128

/* "containerd://0123..." -> runtime "containerd", id "0123...". The id
 * becomes a path component: only [A-Za-z0-9_.-], not "." or "..". */
int cgroup_parse_container_id(const char *status_id, char runtime[32], char id[CONTAINER_ID_MAX + 1]);

/* The candidate directories (relative to a hierarchy's root) of a container,
 * most likely first; qos is the pod's status.qosClass or NULL (all tried).
 * Returns how many were written (at most max), or -errno. */
#define CGROUP_CANDIDATES_MAX 16
int cgroup_container_candidates(const char *pod_uid, const char *qos, const char *runtime, const char *id,
				char *out[], size_t max);

/* The hierarchies to search below root (normally /sys/fs/cgroup): root itself
 * when it is cgroup2, root/unified (hybrid), then v1 root/pids, root/memory,
 * root/cpu, root/systemd. */
struct cgroup_roots {
	char *unified; /* the cgroup2 hierarchy, or NULL */
	char *v1[4];
	size_t n_v1;
};
int cgroup_roots_find(const char *root, struct cgroup_roots *ret);
void cgroup_roots_clear(struct cgroup_roots *r);

struct cgroup_container {
	char *dir;          /* absolute; the cgroup2 one when there is one */
	uint64_t cgroup_id; /* what bpf_get_current_cgroup_id() says inside; 0 without cgroup2 */
};

/* -ENOENT when no candidate exists (yet). */
int cgroup_find_container(const struct cgroup_roots *roots, const char *pod_uid, const char *qos, const char *runtime,
			  const char *id, struct cgroup_container *ret);
void cgroup_container_clear(struct cgroup_container *c);

/* Whether one of /proc/PID/cgroup's lines puts the process in the
 * container's cgroup: its last path component is the id, or a scope named
 * PREFIX-ID.scope. */
bool cgroup_file_names_container(const char *text, const char *id);

/*
 * The root directory of a live process of the container (O_PATH), for
 * resolving paths inside it. Guards against PID reuse: the process is pinned
 * through its /proc directory first, then shown to be in the container's
 * cgroup (id is in its /proc/PID/cgroup) both before and after its root is
 * opened. Its init (pid 1 of its pid namespace) is preferred. -ESRCH when no
 * process of the container is (still) there.
 *
 * A process's root is the image's to move: its init may chroot() into a
 * decoy tree. The runtime makes the container's root the root of a mount
 * (pivot_root), so a process root that is none is a chroot: the root of the
 * container's mount namespace is used instead (*ret_chrooted: that process's
 * pid), where ".." from it stops.
 */
int cgroup_open_container_root(const char *cgroup_dir, const char *id, pid_t *ret_pid, pid_t *ret_chrooted);

#endif
