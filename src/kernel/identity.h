/* SPDX-License-Identifier: MIT */
#ifndef HIVE_IDENTITY_H
#define HIVE_IDENTITY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "hive.h"

/*
 * Which file, as the access hooks will see it, a path names: the (s_dev,
 * i_ino) of the inode behind a descriptor the agent just opened with
 * openat2() (resolve_open()), reported by a small BPF program of its own
 * (bpf/resolve.bpf.c), because stat() is not always what the kernel compares
 * (btrfs subvolumes). Where that program cannot run, fstat() stands in.
 *
 * Made once and handed to every watch source: whether the access hooks are
 * attached, and in which mode, changes nothing here.
 *
 * The program runs on a syscall tracepoint, and an attached syscall
 * tracepoint puts every system call of every process on the kernel's slower
 * tracing path. So it is attached only while a source resolves paths:
 * between identity_begin() and identity_end().
 */
struct identity;

/* Never fails for want of BPF: *ret then answers from fstat(). */
int identity_new(struct identity **ret);
struct identity *identity_free(struct identity *id);

/* Whether identities come from the kernel (true), generation included, or
 * from fstat(), which knows none (the hooks must then leave it out:
 * loader_options.with_generation). */
bool identity_from_kernel(const struct identity *id);

/* Around a batch of resolve_open() + identity_of_fd(); they nest. */
void identity_begin(struct identity *id);
void identity_end(struct identity *id);

/* A batch begun only once needed: identity_begin() the first time, when
 * *begun is false; identity_end_lazily() ends it if it was begun. */
void identity_begin_lazily(struct identity *id, bool *begun);
void identity_end_lazily(struct identity *id, bool *begun);

/*
 * The identity of the file behind fd, which the calling thread must have just
 * opened with openat2(), and (ret_name, may be NULL) the name it has in its
 * directory, as the kernel resolved the path; ret_name->name is empty when
 * that is unknown (the fstat() fallback, a root), and (ret_layers, may be
 * NULL) on overlayfs the files below it, as the host reaches them in the
 * layers (none elsewhere, or unknown). Returns 1 when the kernel reported
 * them, 0 for the fstat() fallback (also when id is NULL), or -errno
 * (-EAGAIN: the resolver missed this open; try again).
 */
struct identity_layers {
	struct hive_watch_key keys[HIVE_LAYERS_MAX]; /* see struct hive_resolved */
	uint32_t n;
	bool truncated; /* a directory in more layers than HIVE_LAYERS_MAX */
};
int identity_of_fd(struct identity *id, int fd, struct hive_watch_key *ret, struct hive_name_key *ret_name,
		   struct identity_layers *ret_layers);

#endif
