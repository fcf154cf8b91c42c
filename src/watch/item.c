/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernel/identity.h"
#include "kernel/resolve.h"
#include "shared/log.h"
#include "watch/item.h"
#include "watch/policy.h"
#include "watch/watch.h"

/* fd's; zero (matching no file) when fstat() fails. */
static struct stat_id stat_id_of(int fd)
{
	struct stat st;

	return fstat(fd, &st) < 0 ? (struct stat_id){} : (struct stat_id){ .dev = st.st_dev, .ino = st.st_ino };
}

static bool stat_id_equal(struct stat_id a, struct stat_id b)
{
	return a.ino != 0 && a.dev == b.dev && a.ino == b.ino;
}

int watch_item_init(struct watch_item *item, const struct policy *p, const char *path, char *key)
{
	*item = (struct watch_item){
		.key = key,
		.policy = strdup(p->name),
		.policy_kind = policy_kind_to_string(p->kind),
		.path = strdup(path),
		.access = p->access,
		.follow_symlinks = p->follow_symlinks,
	};
	return item->key && item->policy && item->path ? 0 : -ENOMEM;
}

void watch_item_done(struct watch_item *item)
{
	free(item->key);
	free(item->policy);
	free(item->path);
	*item = (struct watch_item){};
}

void watch_item_carry_over(struct watch_item *item, struct watch_item *old)
{
	item->file = old->file;
	item->stat = old->stat;
	item->last_error = old->last_error;
	item->present = old->present && item->access == old->access && item->follow_symlinks == old->follow_symlinks;
	/* Another access filter or symlink rule: the entry is rewritten (or
	 * removed) by the next resolution, never dropped in between. */
	item->stale = (old->present || old->stale) && !item->present;
	old->present = old->stale = false;
}

int watch_item_find(struct watch_item *item, struct identity *identity, int root_fd, bool *batch, int *ret_fd,
		    struct hive_watch_key *ret_file)
{
	_cleanup_(closep) int fd = -1;
	struct hive_watch_key file;
	int r;

	*ret_fd = -1;
	fd = resolve_open(root_fd, item->path, item->follow_symlinks);
	if (fd < 0)
		return fd;
	item->last_error = 0;
	if (item->present && stat_id_equal(stat_id_of(fd), item->stat))
		return 0;
	if (!*batch) {
		identity_begin_lazily(identity, batch);
		/* Again, now that the resolver sees the open. */
		closep(&fd);
		fd = resolve_open(root_fd, item->path, item->follow_symlinks);
		if (fd < 0)
			return fd;
	}
	r = identity_of_fd(identity, fd, &file);
	if (r < 0) {
		log_warning_errno(r, "Cannot identify %s (policy %s): %m", item->path, item->policy);
		return 0;
	}
	if (item->present && file.ino == item->file.ino && file.dev == item->file.dev) {
		item->stat = stat_id_of(fd);
		return 0;
	}
	*ret_file = file;
	*ret_fd = TAKE_FD(fd);
	return 1;
}

void watch_item_watch(struct watch_item *item, struct watch_set *set, int fd, const struct hive_watch_key *file,
		      const char *node, const struct watch_place *place)
{
	struct watch_entry *e = watch_entry_new(item->key, file, item->access, item->policy, item->path, node);
	int r;

	if (e)
		e->policy_kind = item->policy_kind;
	if (!e || (place && watch_entry_set_place(e, place) < 0)) {
		watch_entry_free(e);
		log_error("Out of memory while watching %s (policy %s).", item->path, item->policy);
		return;
	}
	r = watch_set_put(set, e);
	if (r < 0)
		/* Kept in the set and retried; the map is probably full. */
		log_warning_errno(r, "Cannot add inode of %s (policy %s) to the kernel map: %m", item->path,
				  item->policy);
	item->file = *file;
	item->stat = stat_id_of(fd);
	item->present = true;
	item->stale = false;
	item->last_error = 0;
}

void watch_item_unwatch(struct watch_item *item, struct watch_set *set)
{
	if (item->present || item->stale)
		watch_set_remove(set, item->key);
	item->present = item->stale = false;
}

bool watch_item_failed(struct watch_item *item, struct watch_set *set, int error)
{
	bool news = item->present || item->last_error != error;

	watch_item_unwatch(item, set);
	item->last_error = error;
	return news;
}
