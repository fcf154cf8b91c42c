/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include "watch/host.h"
#include "kernel/identity.h"
#include "kernel/resolve.h"
#include "shared/abi.h"
#include "shared/escape.h"
#include "shared/hashmap.h"
#include "shared/log.h"
#include "shared/message-id.h"
#include "watch/item.h"
#include "watch/policy.h"
#include "watch/watch.h"

struct host_item {
	struct watch_item item;
	char *real; /* the file the watched inode was found at, when it is not path */
	/* Without followSymlinks, the watched file, held open (O_PATH): while it
	 * exists, the watch stays on it even if its path comes to lead
	 * elsewhere or nowhere. Holding it also keeps its inode number from
	 * being given to another file meanwhile. */
	int pinned_fd;
	/* item.file and real describe the last file watched, also while the
	 * path is missing: a path that vanishes and comes back somewhere else
	 * (a directory renamed away, then a symlink put in its place) is a move. */
	bool watched_before;
	bool dir_watched; /* listed in its directory's dir_watch */
};

/* inotify on one directory, and which items have their file in it. */
struct dir_watch {
	struct host_source *h;
	sd_event_source *source;
	size_t *items; /* indices into h->items */
	size_t n_items;
};

struct host_source {
	sd_event *event;
	struct watch_set *set;
	struct identity *identity;
	char *node;
	uint64_t rescan_usec;
	struct host_item *items;
	size_t n_items;
	sd_event_source *rescan_timer;
	size_t cursor; /* where the next slice of the safety net starts */
	size_t n_present; /* items whose file is watched */
	struct hashmap *dir_watches; /* directory -> struct dir_watch */
	/* A pass over every item, done a slice per event loop iteration so
	 * that records keep flowing while 100,000 paths are resolved. */
	sd_event_source *pass;
	size_t pass_next;
	bool pass_again; /* another pass was asked for during this one */
	bool pass_batch; /* the pass has the kernel's resolver attached */
	void (*on_settled)(void *userdata);
	void *settled_userdata;
	sd_event_source *mounts;     /* the mount table changed (EPOLLPRI) */
	int mounts_fd;
};

/*
 * What makes a watch follow its path: inotify on each path's directory (the
 * items whose file the event names are resolved again) and the mount
 * table's change notification (a pass over all items: the mount may be
 * anywhere above a path). The timer is only the safety net for what neither
 * sees (a directory higher up renamed or swapped, a directory that did not
 * exist): it resolves at most RESCAN_SLICE paths per tick, round robin, so
 * that an idle agent's cost does not grow with the number of paths.
 */
#define RESCAN_SLICE 128

/* A pass yields to the event loop after this long. */
#define PASS_SLICE_USEC (20 * USEC_PER_MSEC)

static void unpin(struct host_item *hi)
{
	closep(&hi->pinned_fd);
	hi->pinned_fd = -1;
}

static void items_free(struct host_item *items, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		watch_item_done(&items[i].item);
		free(items[i].real);
		closep(&items[i].pinned_fd);
	}
	free(items);
}

static void dir_watches_clear(struct host_source *h)
{
	struct hashmap_iter it;
	void *v;

	hashmap_iter_init(&it, h->dir_watches);
	while (hashmap_iter_next(&it, NULL, NULL, &v)) {
		struct dir_watch *d = v;

		sd_event_source_disable_unref(d->source);
		free(d->items);
		free(d);
	}
	hashmap_free(h->dir_watches);
	h->dir_watches = hashmap_new();
	for (size_t i = 0; i < h->n_items; i++)
		h->items[i].dir_watched = false;
}

struct host_source *host_source_free(struct host_source *h)
{
	if (!h)
		return NULL;
	for (size_t i = 0; i < h->n_items; i++)
		watch_item_unwatch(&h->items[i].item, h->set);
	items_free(h->items, h->n_items);
	if (h->dir_watches)
		dir_watches_clear(h);
	hashmap_free(h->dir_watches);
	sd_event_source_disable_unref(h->rescan_timer);
	identity_end_lazily(h->identity, &h->pass_batch);
	sd_event_source_disable_unref(h->pass);
	sd_event_source_disable_unref(h->mounts);
	closep(&h->mounts_fd);
	sd_event_unref(h->event);
	free(h->node);
	free(h);
	return NULL;
}

#define SYMLINK_NOTE_SIZE (ESCAPED_SIZE(240) + 32)

/* "LINK -> TARGET" for the first symlink on path, after prefix, escaped:
 * whoever made the link chose both strings. Empty when there is none. */
static void symlink_note(const char *path, const char *prefix, const char *suffix, char out[SYMLINK_NOTE_SIZE])
{
	_cleanup_(freep) char *link = NULL, *target = NULL;
	char l[ESCAPED_SIZE(120)], t[ESCAPED_SIZE(120)];

	out[0] = '\0';
	if (resolve_first_symlink(path, &link, &target) < 0)
		return;
	escape_untrusted(link, strnlen(link, 120), l, sizeof(l));
	escape_untrusted(target, strnlen(target, 120), t, sizeof(t));
	snprintf(out, SYMLINK_NOTE_SIZE, "%s%s -> %s%s", prefix, l, t, suffix);
}

/* Where a host item's entries go. */
static struct watch_item_target host_target(struct host_source *h)
{
	return (struct watch_item_target){ h->event, h->set, h->identity, h->node, NULL };
}

/* Without followSymlinks, the path no longer leads to the watched file
 * (error: -ELOOP, a symlink on the way; anything else, nothing there), but
 * the file still exists: keep watching it, and say so once per cause. */
static bool keep_pinned(struct host_item *hi, int error)
{
	char shown[ESCAPED_SIZE(128)], via[SYMLINK_NOTE_SIZE], dev[KERNEL_DEV_STRLEN];
	struct watch_item *item = &hi->item;
	struct stat st;

	if (item->follow_symlinks || !item->present || hi->pinned_fd < 0 || fstat(hi->pinned_fd, &st) < 0 ||
	    st.st_nlink == 0)
		return false;
	if (item->last_error == error)
		return true;
	item->last_error = error;
	escape_untrusted(item->path, strlen(item->path), shown, sizeof(shown));
	kernel_dev_to_string(item->file.dev, dev);
	if (error == -ELOOP) {
		symlink_note(item->path, " (", ")", via);
		log_id(LOG_WARNING, HIVE_MESSAGE_WATCH_KEPT,
		       "Host path %s (policy %s) now goes through a symlink%s, which the policy does not follow "
		       "(followSymlinks is false): still watching the file it named before, inode %llu on %s.",
		       shown, item->policy, via, (unsigned long long)item->file.ino, dev);
	} else
		log_id_errno(LOG_WARNING, error, HIVE_MESSAGE_WATCH_KEPT,
			     "Host path %s (policy %s) does not resolve any more (%m), but the file it named still "
			     "exists: still watching it, inode %llu on %s (followSymlinks is false).",
			     shown, item->policy, (unsigned long long)item->file.ino, dev);
	return true;
}

/* The path goes through a symlink and the policy refuses them: not watched. */
static void refuse_symlink(struct host_source *h, struct host_item *hi)
{
	char shown[ESCAPED_SIZE(128)], via[SYMLINK_NOTE_SIZE];
	struct watch_item_target target = host_target(h);
	struct watch_item *item = &hi->item;
	bool news = item->last_error != -ELOOP;

	h->n_present -= item->present;
	watch_item_failed(item, &target, -ELOOP);
	unpin(hi);
	if (!news)
		return;
	escape_untrusted(item->path, strlen(item->path), shown, sizeof(shown));
	symlink_note(item->path, " (", ")", via);
	log_id(LOG_ERR, HIVE_MESSAGE_PATH_REFUSED,
	       "Host path %s (policy %s) goes through a symlink%s, which the policy does not follow "
	       "(followSymlinks is false): not watched.",
	       shown, item->policy, via);
}

static void resolve_failed(struct host_source *h, struct host_item *hi, int error, bool *batch)
{
	struct watch_item_target target = host_target(h);
	struct watch_item *item = &hi->item;
	bool was_present = item->present, news;

	h->n_present -= was_present;
	unpin(hi);
	/* A missing file's name stays watched where its directory is. */
	if (error == -ENOENT)
		news = watch_item_missing(item, &target, -1, batch);
	else
		news = watch_item_failed(item, &target, error);
	if (news) {
		if (error == -ENOSYS)
			log_error("Cannot resolve host path %s: openat2() is not available (kernel older than 5.6, or a "
				  "seccomp filter such as systemd's RestrictSUIDSGID=).",
				  item->path);
		else if (error == -ENOENT)
			log_info("Host %s %s (policy %s) does not exist%s, watching for it to appear.",
				 watch_item_what(item), item->path, item->policy, was_present ? " any more" : "");
		else
			log_warning_errno(error, "Cannot resolve host %s %s (policy %s): %m", watch_item_what(item),
					  item->path, item->policy);
	}
}

/* Where a newly found inode is, when that is not the policy's path: a symlink
 * on the way, or a directory swapped for one, decides which file is watched. */
static void describe_move(struct host_item *hi, const struct watch_item_found *f)
{
	const struct hive_watch_key *file = &f->file;
	bool volume_update = watch_item_volume_update(&hi->item, f);
	_cleanup_(freep) char *real = NULL;
	char shown[ESCAPED_SIZE(128)], now[ESCAPED_SIZE(128)], before[ESCAPED_SIZE(128)];
	char via[SYMLINK_NOTE_SIZE] = "";
	const struct watch_item *item = &hi->item;
	bool moved_elsewhere;

	if (resolve_fd_path(f->fd, &real) < 0 || strcmp(real, item->path) == 0)
		real = mfree(real);
	escape_untrusted(item->path, strlen(item->path), shown, sizeof(shown));
	escape_untrusted(real ? real : item->path, strnlen(real ? real : item->path, 128), now, sizeof(now));
	if (real)
		symlink_note(item->path, " through symlink ", "", via);
	/* Replaced in place (rename over it, delete and create) is what
	 * following means; landing in another directory is not, unless the
	 * kubelet's update of a volume took it there. */
	moved_elsewhere = hi->watched_before && !streq_ptr(real, hi->real) && !volume_update;
	if (moved_elsewhere) {
		escape_untrusted(hi->real ? hi->real : item->path, strnlen(hi->real ? hi->real : item->path, 128),
				 before, sizeof(before));
		log_id(LOG_WARNING, HIVE_MESSAGE_WATCH_MOVED,
		       "Watch of %s (policy %s) moved to a different file: it was %s (inode %llu on %u:%u), it is "
		       "now %s (inode %llu on %u:%u)%s.",
		       shown, item->policy, before, (unsigned long long)item->file.ino,
		       kernel_dev_major(item->file.dev), kernel_dev_minor(item->file.dev), now,
		       (unsigned long long)file->ino, kernel_dev_major(file->dev), kernel_dev_minor(file->dev), via);
	} else if (real)
		log_full(volume_update ? LOG_INFO : LOG_NOTICE, "%s %s (policy %s)%s: the file is %s, inode %llu on %u:%u.",
			 watch_item_found_verb(item), shown, item->policy, via, now,
			 (unsigned long long)file->ino, kernel_dev_major(file->dev), kernel_dev_minor(file->dev));
	else
		log_info("%s %s (policy %s): inode %llu on %u:%u.", watch_item_found_verb(item), shown,
			 item->policy, (unsigned long long)file->ino, kernel_dev_major(file->dev),
			 kernel_dev_minor(file->dev));
	free(hi->real);
	hi->real = TAKE_PTR(real);
}

/*
 * Resolve one item again. The kernel's resolver is asked only when the path
 * now leads to another file than before; it is attached at the first such
 * item (*batch) and stays until identity_end_lazily(): attaching and
 * detaching cost milliseconds each.
 */
static void resolve_item(struct host_source *h, struct host_item *hi, bool *batch)
{
	struct watch_item_target target = host_target(h);
	struct watch_item_found f;
	int r;

	r = watch_item_find(&hi->item, h->identity, -1, batch, &f);
	if (r == 0 || (r < 0 && keep_pinned(hi, r)))
		return;
	if (r == -ELOOP && !hi->item.follow_symlinks) {
		refuse_symlink(h, hi);
		return;
	}
	if (r < 0) {
		resolve_failed(h, hi, r, batch);
		return;
	}
	describe_move(hi, &f);
	h->n_present += !hi->item.present;
	watch_item_watch(&hi->item, &target, &f);
	hi->watched_before = true;
	if (!hi->item.follow_symlinks) {
		unpin(hi);
		hi->pinned_fd = fcntl(f.fd, F_DUPFD_CLOEXEC, 3);
	}
	close(f.fd);
}

static int on_dir_event(sd_event_source *s, const struct inotify_event *ev, void *userdata);

/* inotify on the item's directory, once it exists. */
static void watch_dir(struct host_source *h, size_t index)
{
	struct host_item *hi = &h->items[index];
	char buf[PATH_MAX];
	const char *dir;
	struct dir_watch *d;
	size_t *grown;

	if (hi->dir_watched)
		return;
	snprintf(buf, sizeof(buf), "%s", hi->item.path);
	dir = dirname(buf);
	d = hashmap_get_str(h->dir_watches, dir);
	if (!d) {
		d = calloc(1, sizeof(*d));
		if (!d)
			return;
		d->h = h;
		if (sd_event_add_inotify(h->event, &d->source, dir,
					 IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_ONLYDIR, on_dir_event,
					 d) < 0 ||
		    hashmap_put_str(h->dir_watches, dir, d, NULL) < 0) {
			/* Not there yet: the next rescan tries again. */
			sd_event_source_disable_unref(d->source);
			free(d);
			return;
		}
	}
	if ((d->n_items & (d->n_items - 1)) == 0) { /* 0, 1, 2, 4, ...: double */
		grown = realloc(d->items, MAX(d->n_items * 2, 1) * sizeof(*grown));
		if (!grown)
			return;
		d->items = grown;
	}
	d->items[d->n_items++] = index;
	hi->dir_watched = true;
}

static void rescan_item(struct host_source *h, size_t index, bool *batch)
{
	resolve_item(h, &h->items[index], batch);
	watch_dir(h, index);
}

/* Resolve up to n items from from on (round robin), until the monotonic
 * clock reaches until (0: no limit); returns how many. */
static size_t rescan_slice(struct host_source *h, size_t from, size_t n, uint64_t until, bool *batch)
{
	size_t done = 0;

	for (; done < n && h->n_items; done++) {
		rescan_item(h, (from + done) % h->n_items, batch);
		if (until && done % 64 == 63 && clock_usec(CLOCK_MONOTONIC) >= until)
			return done + 1;
	}
	return done;
}

/*
 * The next slice of the pass, at the loop's next turn. A timer due now
 * rather than a defer source: a defer source stays pending from its first
 * turn on and so always goes before an event source of its priority that
 * became pending later, such as the ring buffer's, until the pass is done.
 */
static int pass_continue(struct host_source *h)
{
	int r = sd_event_source_set_time_relative(h->pass, 0);

	return r < 0 ? r : sd_event_source_set_enabled(h->pass, SD_EVENT_ONESHOT);
}

static int on_pass(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct host_source *h = userdata;

	if (h->pass_next < h->n_items)
		h->pass_next += rescan_slice(h, h->pass_next, h->n_items - h->pass_next,
					     clock_usec(CLOCK_MONOTONIC) + PASS_SLICE_USEC, &h->pass_batch);
	if (h->pass_next >= h->n_items && h->pass_again) {
		h->pass_again = false;
		h->pass_next = 0;
	}
	if (h->pass_next < h->n_items && pass_continue(h) >= 0)
		return 0;
	/* Done (or the timer cannot be armed, which cannot happen). */
	h->pass_next = h->n_items;
	identity_end_lazily(h->identity, &h->pass_batch);
	if (h->on_settled)
		h->on_settled(h->settled_userdata);
	return 0;
}

void host_source_rescan(struct host_source *h)
{
	if (host_source_settled(h)) {
		h->pass_next = 0;
		if (pass_continue(h) < 0) {
			/* Cannot happen for a timer source; resolve at once. */
			rescan_slice(h, 0, h->n_items, 0, &h->pass_batch);
			identity_end_lazily(h->identity, &h->pass_batch);
		}
	} else
		h->pass_again = true;
}

bool host_source_settled(const struct host_source *h)
{
	int enabled = SD_EVENT_OFF;

	return sd_event_source_get_enabled(h->pass, &enabled) < 0 || enabled == SD_EVENT_OFF;
}

void host_source_set_settled_callback(struct host_source *h, void (*fn)(void *userdata), void *userdata)
{
	h->on_settled = fn;
	h->settled_userdata = userdata;
}

static int on_dir_event(sd_event_source *s, const struct inotify_event *ev, void *userdata)
{
	struct dir_watch *d = userdata;
	struct host_source *h = d->h;
	bool batch = false;

	/* Only the items whose file the event names can have changed; an
	 * event without a name (the queue overflowed, the directory itself
	 * went away) may concern any of them. */
	for (size_t k = 0; k < d->n_items; k++) {
		const char *path = h->items[d->items[k]].item.path, *slash = strrchr(path, '/');

		if (ev->len == 0 || !slash || strcmp(slash + 1, ev->name) == 0)
			rescan_item(h, d->items[k], &batch);
	}
	identity_end_lazily(h->identity, &batch);
	return 0;
}

static int on_mounts(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct host_source *h = userdata;

	/* Something was mounted or unmounted: over one of our paths, maybe. */
	host_source_rescan(h);
	return 0;
}

static int on_safety_net_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct host_source *h = userdata;
	size_t n = MIN(h->n_items, (size_t)RESCAN_SLICE);
	bool batch = false;

	rescan_slice(h, h->cursor, n, 0, &batch);
	identity_end_lazily(h->identity, &batch);
	h->cursor = h->n_items ? (h->cursor + n) % h->n_items : 0;
	return sd_event_source_set_time_relative(s, h->rescan_usec);
}

int host_source_new(sd_event *event, struct watch_set *set, struct identity *identity, const char *node,
		    uint64_t rescan_usec, struct host_source **ret)
{
	struct host_source *h = calloc(1, sizeof(*h));
	int r;

	if (!h)
		return -ENOMEM;
	h->event = sd_event_ref(event);
	h->set = set;
	h->identity = identity;
	h->rescan_usec = rescan_usec;
	h->mounts_fd = -1;
	h->node = strdup(node);
	h->dir_watches = hashmap_new();
	if (!h->node || !h->dir_watches) {
		host_source_free(h);
		return -ENOMEM;
	}
	r = sd_event_add_time_relative(event, &h->rescan_timer, CLOCK_MONOTONIC, rescan_usec, rescan_usec / 10,
				       on_safety_net_timer, h);
	if (r < 0) {
		host_source_free(h);
		return r;
	}
	r = sd_event_source_set_enabled(h->rescan_timer, SD_EVENT_ON);
	/* At the same priority as the ring buffer, so that the two take turns:
	 * below it, a flood of records would hold a reload back for good. */
	if (r >= 0)
		r = sd_event_add_time(event, &h->pass, CLOCK_MONOTONIC, 0, 1, on_pass, h);
	if (r >= 0)
		r = sd_event_source_set_enabled(h->pass, SD_EVENT_OFF);
	if (r < 0) {
		host_source_free(h);
		return r;
	}
	/* The mount table polls with EPOLLPRI when it changes. */
	h->mounts_fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
	if (h->mounts_fd < 0 || sd_event_add_io(event, &h->mounts, h->mounts_fd, EPOLLPRI, on_mounts, h) < 0)
		log_warning("Cannot follow mount table changes: mounts over watched paths are found by the "
			    "periodic rescan only.");
	*ret = h;
	return 0;
}

/* What is known about a path that stays from one policy set to the next. */
static void carry_over(struct host_item *kept, struct host_item *old)
{
	watch_item_carry_over(&kept->item, &old->item);
	kept->watched_before = old->watched_before;
	kept->real = TAKE_PTR(old->real);
	kept->pinned_fd = TAKE_FD(old->pinned_fd);
	if (!kept->item.present)
		unpin(kept);
}

struct new_items {
	struct host_item *items;
	size_t n, cap;
};

static struct watch_item *add_item(void *userdata)
{
	struct new_items *a = userdata;

	if (a->n == a->cap) {
		struct host_item *grown = realloc(a->items, MAX(2 * a->cap, 16) * sizeof(*grown));

		if (!grown)
			return NULL;
		a->items = grown;
		a->cap = MAX(2 * a->cap, 16);
	}
	a->items[a->n] = (struct host_item){ .pinned_fd = -1 };
	return &a->items[a->n++].item;
}

int host_source_apply(struct host_source *h, const struct policy_set *policies)
{
	struct new_items a = {};
	struct host_item *items;
	struct hashmap *by_key = NULL;
	size_t n, same;

	for (size_t i = 0; i < policies->n; i++) {
		const struct policy *p = &policies->policies[i];
		_cleanup_(freep) char *scope = NULL;

		if (!p->host)
			continue;
		scope = watch_key("host", p->id, NULL);
		if (!scope || watch_items_of_policy(p, scope, add_item, &a) < 0) {
			items = a.items;
			n = a.n;
			goto oom;
		}
	}
	items = a.items;
	n = a.n;

	/* Carry over what is known about paths that stay, drop the others. A
	 * reload that changes nothing keeps the order: matched in place; the
	 * rest by key, so that any reload of many paths stays linear. Keys are
	 * unique, so what matched in place matches nothing further on. */
	for (same = 0; same < MIN(n, h->n_items) && strcmp(items[same].item.key, h->items[same].item.key) == 0; same++)
		carry_over(&items[same], &h->items[same]);
	if (same < h->n_items) {
		by_key = hashmap_new();
		if (!by_key)
			goto oom;
		for (size_t j = same; j < n; j++)
			if (hashmap_put_str(by_key, items[j].item.key, &items[j], NULL) < 0)
				goto oom;
	}
	for (size_t i = same; i < h->n_items; i++) {
		struct host_item *kept = hashmap_get_str(by_key, h->items[i].item.key);

		if (kept)
			carry_over(kept, &h->items[i]);
		else
			watch_item_unwatch(&h->items[i].item, h->set);
	}
	hashmap_free(by_key);
	items_free(h->items, h->n_items);
	h->items = items;
	h->n_items = n;
	h->n_present = 0;
	for (size_t i = 0; i < n; i++)
		h->n_present += items[i].item.present;

	dir_watches_clear(h);
	h->cursor = 0;
	h->pass_again = false;
	h->pass_next = 0;
	return pass_continue(h);

oom:
	hashmap_free(by_key);
	items_free(items, n);
	return -ENOMEM;
}

size_t host_source_n_paths(const struct host_source *h)
{
	return h->n_items;
}

size_t host_source_n_missing(const struct host_source *h)
{
	return h->n_items - h->n_present;
}
