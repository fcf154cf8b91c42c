/* SPDX-License-Identifier: MIT */
#include <bpf/libbpf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernel/identity.h" /* before the skeleton: it uses hive.h types */
#include "kernel/loader.h"
#include "kernel/self.h"
#include "resolve.skel.h"
#include "shared/abi.h"
#include "shared/log.h"

struct identity {
	struct resolve_bpf *skel; /* NULL: fstat() only */
	struct bpf_link *link;    /* while resolving */
	unsigned depth;
	bool warned;
	uint64_t seen_seq;
};

int identity_new(struct identity **ret)
{
	struct identity *id = calloc(1, sizeof(*id));
	struct resolve_bpf *skel;
	struct bpf_self self;
	int r;

	if (!id)
		return -ENOMEM;
	loader_prepare();
	skel = resolve_bpf__open();
	if (!skel) {
		r = negative_errno();
		goto fallback;
	}
	bpf_self_get(&self);
	skel->rodata->self_tgid = self.tgid;
	skel->rodata->self_pidns_dev = self.pidns_dev;
	skel->rodata->self_pidns_ino = self.pidns_ino;
	r = resolve_bpf__load(skel);
	if (r >= 0) {
		/* Attach once now, so that a kernel without the tracepoint is
		 * found out at start, not at the first resolution. */
		struct bpf_link *link = bpf_program__attach(skel->progs.resolve__sys_exit_openat2);

		r = link ? 0 : negative_errno();
		bpf_link__destroy(link);
	}
	if (r < 0) {
		resolve_bpf__destroy(skel);
		goto fallback;
	}
	id->skel = skel;
	*ret = id;
	return 0;

fallback:
	/* A kernel without syscall tracepoints still works, through fstat(). */
	log_notice_errno(r, "Cannot attach the inode resolver (%m): identifying files with fstat(), which is wrong "
			    "for btrfs subvolumes.");
	*ret = id;
	return 0;
}

struct identity *identity_free(struct identity *id)
{
	if (!id)
		return NULL;
	bpf_link__destroy(id->link);
	resolve_bpf__destroy(id->skel);
	free(id);
	return NULL;
}

bool identity_from_kernel(const struct identity *id)
{
	return id && id->skel;
}

void identity_begin(struct identity *id)
{
	if (!identity_from_kernel(id) || id->depth++ > 0)
		return;
	id->link = bpf_program__attach(id->skel->progs.resolve__sys_exit_openat2);
	if (!id->link && !id->warned) {
		log_warning_errno(negative_errno(), "Cannot attach the inode resolver (%m): using fstat() meanwhile.");
		id->warned = true;
	}
}

void identity_end(struct identity *id)
{
	if (!identity_from_kernel(id) || id->depth == 0 || --id->depth > 0)
		return;
	bpf_link__destroy(id->link);
	id->link = NULL;
}

void identity_begin_lazily(struct identity *id, bool *begun)
{
	if (!*begun)
		identity_begin(id);
	*begun = true;
}

void identity_end_lazily(struct identity *id, bool *begun)
{
	if (*begun)
		identity_end(id);
	*begun = false;
}

static int from_fstat(int fd, struct hive_watch_key *ret)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return negative_errno();
	*ret = (struct hive_watch_key){ .ino = st.st_ino, .dev = kernel_dev_from_user(st.st_dev) };
	return 0;
}

int identity_of_fd(struct identity *id, int fd, struct hive_watch_key *ret, struct hive_name_key *ret_name,
		   struct identity_layers *ret_layers)
{
	if (ret_name)
		memset(ret_name, 0, sizeof(*ret_name));
	if (ret_layers)
		*ret_layers = (struct identity_layers){};
	if (identity_from_kernel(id) && id->link) {
		const volatile struct hive_resolved *r = &id->skel->bss->resolved;

		if (r->fd == fd && r->seq != id->seen_seq) {
			id->seen_seq = r->seq;
			*ret = (struct hive_watch_key){ .ino = r->ino, .dev = r->dev, .gen = r->gen };
			if (ret_name)
				memcpy(ret_name, (const void *)&r->name, sizeof(*ret_name));
			if (ret_layers) {
				ret_layers->n = MIN(r->n_layers, (uint32_t)HIVE_LAYERS_MAX);
				memcpy(ret_layers->keys, (const void *)r->layers, ret_layers->n * sizeof(r->layers[0]));
				ret_layers->truncated = r->layers_truncated;
			}
			return 1;
		}
		/* Not fstat(): it knows no generation, and the hooks key on one.
		 * The caller tries again at its next resolution. */
		log_debug("The resolver did not report fd %d.", fd);
		return -EAGAIN;
	}
	return from_fstat(fd, ret);
}
