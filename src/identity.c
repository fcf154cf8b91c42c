/* SPDX-License-Identifier: MIT */
#include <bpf/libbpf.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "identity.h" /* before the skeleton: it uses hive.h types */
#include "loader.h"
#include "resolve.skel.h"
#include "shared/abi.h"
#include "shared/log.h"

struct identity {
	struct resolve_bpf *skel; /* NULL: fstat() only */
	uint64_t seen_seq;
};

int identity_new(struct identity **ret)
{
	struct identity *id = calloc(1, sizeof(*id));
	struct resolve_bpf *skel;
	int r;

	if (!id)
		return -ENOMEM;
	loader_prepare();
	skel = resolve_bpf__open();
	if (!skel) {
		r = negative_errno();
		goto fallback;
	}
	skel->rodata->self_tgid = getpid();
	r = resolve_bpf__load(skel);
	if (r >= 0)
		r = resolve_bpf__attach(skel);
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
	resolve_bpf__destroy(id->skel);
	free(id);
	return NULL;
}

bool identity_from_kernel(const struct identity *id)
{
	return id && id->skel;
}

static int from_fstat(int fd, struct hive_watch_key *ret)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return negative_errno();
	*ret = (struct hive_watch_key){ .ino = st.st_ino, .dev = kernel_dev_from_user(st.st_dev) };
	return 0;
}

int identity_of_fd(struct identity *id, int fd, struct hive_watch_key *ret)
{
	if (identity_from_kernel(id)) {
		const volatile struct hive_resolved *r = &id->skel->bss->resolved;

		if (r->fd == fd && r->seq != id->seen_seq) {
			id->seen_seq = r->seq;
			*ret = (struct hive_watch_key){ .ino = r->ino, .dev = r->dev };
			return 1;
		}
		log_debug("Resolver did not report fd %d, using fstat().", fd);
	}
	return from_fstat(fd, ret);
}
