/* SPDX-License-Identifier: MIT */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "kernel/identity.h"
#include "kernel/resolve.h"
#include "shared/log.h"
#include "watch/change-events.h"
#include "watch/item.h"
#include "watch/policy.h"
#include "watch/watch.h"

/* fd's; zero (matching no file) when statx() fails. */
static struct stat_id stat_id_of(int fd)
{
	struct statx stx;
	struct statx_timestamp t;

	if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_INO | STATX_BTIME | STATX_CTIME, &stx) < 0)
		return (struct stat_id){};
	t = stx.stx_mask & STATX_BTIME ? stx.stx_btime : stx.stx_ctime;
	return (struct stat_id){
		.dev = makedev(stx.stx_dev_major, stx.stx_dev_minor),
		.ino = stx.stx_ino,
		.sec = t.tv_sec,
		.nsec = t.tv_nsec,
	};
}

static bool stat_id_equal(struct stat_id a, struct stat_id b)
{
	return a.ino != 0 && a.dev == b.dev && a.ino == b.ino && a.sec == b.sec && a.nsec == b.nsec;
}

/*
 * A watched file, followed through inotify on the file itself: the kernel
 * says IN_DELETE_SELF once its last link is gone and nothing holds it open
 * (an inode mark: it keeps no mount busy). While the item's path leads to
 * the file, its entry is the item's; once the path leads elsewhere, the
 * file's entry is its own (away_key) until then.
 */
struct watch_file_life {
	sd_event_source *source;
	struct watch_set *set;
	struct change_events *changes; /* following it too, or NULL */
	const struct watch_file_follower *enforcer; /* and this, for an enforced entry's file */
	struct hive_watch_key file;
	char *away_key; /* its entry's key, while away */
	bool gone;
};

static struct watch_file_life *life_free(struct watch_file_life *life, bool remove_entry)
{
	if (!life)
		return NULL;
	if (life->away_key && remove_entry)
		watch_set_remove(life->set, life->away_key);
	change_events_unfollow(life->changes, &life->file);
	if (life->enforcer)
		life->enforcer->unfollow(life->enforcer->userdata, &life->file);
	sd_event_source_disable_unref(life->source);
	free(life->away_key);
	free(life);
	return NULL;
}

static int on_file_event(sd_event_source *s, const struct inotify_event *ev, void *userdata)
{
	struct watch_file_life *life = userdata;

	if (!(ev->mask & (IN_DELETE_SELF | IN_UNMOUNT | IN_IGNORED)))
		return 0;
	life->gone = true;
	if (life->away_key) {
		watch_set_remove(life->set, life->away_key);
		life->away_key = mfree(life->away_key);
	}
	return sd_event_source_set_enabled(s, SD_EVENT_OFF);
}

/* NULL where inotify cannot follow the file (no watch left): it is then
 * dropped when the path leads elsewhere, as before. */
static struct watch_file_life *life_new(const struct watch_item_target *t, int fd, const struct hive_watch_key *file,
				       bool enforced)
{
	struct watch_file_life *life;
	char proc[64];

	if (!t->event || fd < 0 || !(life = calloc(1, sizeof(*life))))
		return NULL;
	*life = (struct watch_file_life){ .set = t->set, .file = *file };
	/* The descriptor's file itself, whatever its path (an O_PATH one). */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (sd_event_add_inotify(t->event, &life->source, proc, IN_DELETE_SELF | IN_UNMOUNT, on_file_event, life) < 0) {
		if (!enforced)
			return life_free(life, false);
		/* Refused all the same: its end is then seen when the path leads
		 * elsewhere. */
		log_warning("Cannot follow inode %llu with inotify (fs.inotify.max_user_watches?): it is refused "
			    "until its path leads elsewhere.",
			    (unsigned long long)file->ino);
	}
	life->changes = watch_set_change_events(t->set);
	change_events_follow(life->changes, fd, file);
	life->enforcer = enforced ? watch_set_enforcer(t->set) : NULL;
	if (life->enforcer)
		life->enforcer->follow(life->enforcer->userdata, fd, file);
	return life;
}

int watch_item_init(struct watch_item *item, const struct policy *p, const char *path, const char *scope)
{
	size_t root_len = 0;
	enum policy_tree tree = policy_path_tree(path, &root_len);

	*item = (struct watch_item){
		.key = watch_key(scope, path, NULL),
		.scope = strdup(scope),
		.policy = strdup(p->name),
		.filter = process_filter_ref(p->filter),
		.policy_kind = policy_kind_to_string(p->kind),
		/* A tree is watched at its root directory. */
		.path = tree ? strndup(path, root_len) : strdup(path),
		.access = p->access,
		.action = p->action,
		.tree = tree != POLICY_TREE_NONE,
		.shallow = tree == POLICY_TREE_ENTRIES,
		.follow_symlinks = p->follow_symlinks,
	};
	return item->key && item->scope && item->policy && item->path ? 0 : -ENOMEM;
}

int watch_item_init_executable(struct watch_item *item, const struct policy *p, const char *path,
			       const char *scope)
{
	*item = (struct watch_item){
		.key = watch_executable_key(scope, path),
		.scope = strdup(scope),
		.policy = strdup(p->name),
		.policy_kind = policy_kind_to_string(p->kind),
		.path = strdup(path),
		.executable = true,
		/* The kernel runs what a symlink leads to (/usr/bin/python3). */
		.follow_symlinks = true,
	};
	return item->key && item->scope && item->policy && item->path ? 0 : -ENOMEM;
}

struct items_of {
	const struct policy *p;
	const char *scope;
	struct watch_item *(*add)(void *userdata);
	void *userdata;
};

static int add_executable(const char *path, void *userdata)
{
	struct items_of *o = userdata;
	struct watch_item *item = o->add(o->userdata);

	return item ? watch_item_init_executable(item, o->p, path, o->scope) : -ENOMEM;
}

int watch_items_of_policy(const struct policy *p, const char *scope,
			  struct watch_item *(*add)(void *userdata), void *userdata)
{
	struct items_of o = { .p = p, .scope = scope, .add = add, .userdata = userdata };

	for (size_t j = 0; j < p->n_paths; j++) {
		struct watch_item *item = add(userdata);
		int r = item ? watch_item_init(item, p, p->paths[j], scope) : -ENOMEM;

		if (r < 0)
			return r;
	}
	return process_filter_foreach_executable(p->filter, add_executable, &o);
}

void watch_item_done(struct watch_item *item)
{
	/* Their entries stay, as the item's own does: see watch_item_unwatch(). */
	life_free(item->life, false);
	for (size_t i = 0; i < WATCH_ITEM_AWAY_MAX; i++)
		life_free(item->away[i], false);
	life_free(item->name_dir, false);
	free(item->key);
	free(item->scope);
	free(item->policy);
	process_filter_unref(item->filter);
	free(item->path);
	free(item->layers);
	*item = (struct watch_item){};
}

void watch_item_carry_over(struct watch_item *item, struct watch_item *old)
{
	bool same_rules = item->access == old->access && item->action == old->action &&
			  item->follow_symlinks == old->follow_symlinks &&
			  process_filter_equal(item->filter, old->filter);

	item->file = old->file;
	item->stat = old->stat;
	item->name = old->name;
	free(item->layers);
	item->layers = TAKE_PTR(old->layers);
	item->dir_stat = old->dir_stat;
	item->last_error = old->last_error;
	item->present = old->present && same_rules;
	item->named = old->named && same_rules;
	/* Another access filter or symlink rule: the entry is rewritten (or
	 * removed) by the next resolution, never dropped in between. */
	item->stale = (old->present || old->named || old->stale) && !same_rules;
	old->present = old->named = old->stale = false;
	item->life = TAKE_PTR(old->life);
	for (size_t i = 0; i < WATCH_ITEM_AWAY_MAX; i++)
		item->away[i] = TAKE_PTR(old->away[i]);
	item->name_dir = TAKE_PTR(old->name_dir);
	item->away_full_said = old->away_full_said;
}

/* Open path in root_fd, with the resolver attached (*batch) when the kernel
 * is to say which file this is. */
static int open_identified(const char *path, bool follow, struct identity *identity, int root_fd, bool *batch)
{
	identity_begin_lazily(identity, batch);
	return resolve_open(root_fd, path, follow);
}

/*
 * A file of a kubelet volume (Secret, ConfigMap, projected) is in the
 * volume's current "..<timestamp>" directory, which the next update replaces
 * by another: its name is then watched on the volume's directory, in any such
 * directory (HIVE_NAME_ANY_DATA_DIR), so that the first read after an update
 * is recorded. Recognised by the volume's "..data" symlink beside it.
 */
static void kubelet_volume_name(int fd, int root_fd, struct identity *identity, bool *batch,
				struct hive_name_key *name)
{
	_cleanup_(closep) int data_fd = -1, volume_fd = -1, identified_fd = -1;
	char file[NAME_MAX + 1], data[NAME_MAX + 1];
	struct hive_watch_key volume;

	data_fd = resolve_open_parent(fd, root_fd, file);
	if (data_fd < 0 || strlen(file) + strlen(HIVE_NAME_ANY_DATA_DIR) >= sizeof(name->name))
		return;
	volume_fd = resolve_open_parent(data_fd, root_fd, data);
	if (volume_fd < 0 || strncmp(data, "..", 2) != 0 || !data[2] ||
	    faccessat(volume_fd, "..data", F_OK, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	/* Opened once more, for the resolver: it sees the last open only. */
	identified_fd = open_identified(".", false, identity, volume_fd, batch);
	if (identified_fd < 0 || identity_of_fd(identity, identified_fd, &volume, NULL, NULL) != 1)
		return;
	memset(name, 0, sizeof(*name));
	name->dir = volume;
	/* Fits: checked above. */
	memcpy(name->name, HIVE_NAME_ANY_DATA_DIR, strlen(HIVE_NAME_ANY_DATA_DIR));
	memcpy(name->name + strlen(HIVE_NAME_ANY_DATA_DIR), file, strlen(file) + 1);
}

/* A container's file on overlayfs for which the kernel reported no layer:
 * its BTF does not describe overlayfs (a module, before 5.11's module BTF).
 * Said once: every container's file is in the same case. */
static void say_no_layer(int fd)
{
	static bool said;
	struct statfs sfs;

	if (said || fstatfs(fd, &sfs) < 0 || sfs.f_type != OVERLAYFS_SUPER_MAGIC)
		return;
	said = true;
	log_notice("The kernel's BTF does not describe overlayfs (a module of a kernel before 5.11): containers' "
		   "files are watched through their overlay only, and a read of one in the runtime's snapshot "
		   "directory is not recorded.");
}

int watch_item_find(struct watch_item *item, struct identity *identity, int root_fd, bool *batch,
		    struct watch_item_found *ret)
{
	_cleanup_(closep) int fd = -1;
	int r;

	ret->fd = -1;
	fd = resolve_open(root_fd, item->path, item->follow_symlinks);
	if (fd < 0)
		return fd;
	item->last_error = 0;
	if (item->present && stat_id_equal(stat_id_of(fd), item->stat))
		return 0;
	if (!*batch) {
		/* Again, now that the resolver sees the open. */
		closep(&fd);
		fd = open_identified(item->path, item->follow_symlinks, identity, root_fd, batch);
		if (fd < 0)
			return fd;
	}
	r = identity_of_fd(identity, fd, &ret->file, &ret->name, &ret->layers);
	if (r < 0) {
		log_warning_errno(r, "Cannot identify %s (policy %s): %m", item->path, item->policy);
		return 0;
	}
	if (ret->name.name[0])
		kubelet_volume_name(fd, root_fd, identity, batch, &ret->name);
	/* A container's file is watched in its layers too (the host's files
	 * are what the host reads). */
	if (root_fd < 0 || item->executable)
		ret->layers = (struct identity_layers){};
	else if (!ret->layers.n && r == 1)
		say_no_layer(fd);
	else if (ret->layers.truncated && !item->layers_truncated_said) {
		log_notice("%s (policy %s) is a directory in more than %d of its overlay's layers: the files of its "
			   "tree in the deeper ones are watched through the overlay only.",
			   item->path, item->policy, HIVE_LAYERS_MAX);
		item->layers_truncated_said = true;
	}
	if (item->present && watch_key_equal(&ret->file, &item->file) &&
	    watch_layers_are(item->layers, ret->layers.keys, ret->layers.n) &&
	    (item->named ? memcmp(&ret->name, &item->name, sizeof(ret->name)) == 0 : !ret->name.name[0])) {
		item->stat = stat_id_of(fd);
		return 0;
	}
	ret->fd = TAKE_FD(fd);
	return 1;
}

/* Put an entry of the item under key: its file (NULL: none), its name (NULL:
 * none), its layers (NULL: none). */
static int put_entry_as(struct watch_item *item, const char *key, const struct watch_item_target *t,
			const struct hive_watch_key *file, const struct hive_name_key *name,
			const struct watch_layers *layers)
{
	struct watch_entry *e = watch_entry_new(key, file, item->access, item->policy, item->path, t->node);
	int r;

	if (e && watch_layers_dup(&e->layers, layers) < 0)
		e = watch_entry_free(e);
	if (e) {
		e->policy_kind = item->policy_kind;
		e->tree = item->tree;
		e->shallow = item->shallow;
		e->executable = item->executable;
		e->action = item->action;
		e->filter = process_filter_ref(item->filter);
		if (item->filter && !(e->filter_scope = strdup(item->scope)))
			e = watch_entry_free(e);
	}
	if (!e || (t->place && watch_entry_set_place(e, t->place) < 0) || watch_entry_set_name(e, name) < 0) {
		watch_entry_free(e);
		log_error("Out of memory while watching %s (policy %s).", item->path, item->policy);
		return -ENOMEM;
	}
	r = watch_set_put(t->set, e);
	if (r == -EDQUOT) {
		/* Not in the set: tried again at the next resolution. */
		if (item->last_error != -EDQUOT)
			log_warning("%s (policy %s) in namespace %s is not watched: the namespace's "
				    "HiveNamespacedPolicies watch as many files on this node as its quota allows "
				    "(namespace_max_files).",
				    item->path, item->policy, t->place ? t->place->namespace : "?");
		item->last_error = -EDQUOT;
	} else if (r < 0)
		/* Kept in the set and retried; the map is probably full. */
		log_warning_errno(r, "Cannot add inode of %s (policy %s) to the kernel map: %m", item->path,
				  item->policy);
	return r;
}

/* The item's own entry: false when its namespace's quota refused it. */
static bool put_entry(struct watch_item *item, const struct watch_item_target *t, const struct hive_watch_key *file,
		      const struct hive_name_key *name, const struct watch_layers *layers)
{
	if (put_entry_as(item, item->key, t, file, name, layers) == -EDQUOT)
		return false;
	item->stale = false;
	return true;
}

/*
 * The path no longer leads to the file the item watched: while that file has
 * a link (renamed away, or the path changed above it), it stays watched under
 * a key of its own. Called before the item's entry moves or goes, so that the
 * file is in the map throughout.
 */
static void keep_away(struct watch_item *item, const struct watch_item_target *t)
{
	struct watch_file_life *life = TAKE_PTR(item->life);
	char suffix[16];
	size_t i;

	if (!life || life->gone || !item->present) {
		life_free(life, true);
		return;
	}
	for (i = 0; i < WATCH_ITEM_AWAY_MAX && item->away[i] && !item->away[i]->gone; i++)
		;
	if (i == WATCH_ITEM_AWAY_MAX) {
		if (!item->away_full_said)
			log_warning("%s (policy %s) led to %d other files that still have a link: the latest, inode "
				    "%llu, is no longer watched (the first ones are).",
				    item->path, item->policy, WATCH_ITEM_AWAY_MAX, (unsigned long long)life->file.ino);
		item->away_full_said = true;
		life_free(life, true);
		return;
	}
	life_free(item->away[i], true);
	snprintf(suffix, sizeof(suffix), WATCH_AWAY_KEY_MARK "away%zu", i);
	life->away_key = malloc(strlen(item->key) + strlen(suffix) + 1);
	if (!life->away_key) {
		life_free(life, true);
		return;
	}
	strcpy(stpcpy(life->away_key, item->key), suffix);
	put_entry_as(item, life->away_key, t, &life->file, NULL, NULL);
	item->away[i] = life;
	/* Not said: a file renamed over or deleted is usually told gone only
	 * a moment later (its last reference goes after the directory's event). */
	log_debug("%s (policy %s) no longer leads to inode %llu: watched until its last link is gone.", item->path,
		  item->policy, (unsigned long long)life->file.ino);
}

/* The file the path leads to again, if it is one kept away: the item's own
 * entry takes over from its away one. */
static struct watch_file_life *take_back(struct watch_item *item, const struct hive_watch_key *file)
{
	for (size_t i = 0; i < WATCH_ITEM_AWAY_MAX; i++) {
		struct watch_file_life *life = item->away[i];

		if (life && !life->gone && watch_key_equal(&life->file, file)) {
			item->away[i] = NULL;
			return life;
		}
	}
	return NULL;
}

bool watch_item_volume_update(const struct watch_item *item, const struct watch_item_found *f)
{
	return item->present && item->named &&
	       strncmp(f->name.name, HIVE_NAME_ANY_DATA_DIR, strlen(HIVE_NAME_ANY_DATA_DIR)) == 0 &&
	       memcmp(&item->name, &f->name, sizeof(f->name)) == 0;
}

void watch_item_watch(struct watch_item *item, const struct watch_item_target *t, const struct watch_item_found *f)
{
	_cleanup_(freep) struct watch_layers *layers = NULL;
	struct watch_file_life *back;
	bool other_file = !item->present || !watch_key_equal(&f->file, &item->file);

	if (watch_layers_new(&layers, f->layers.keys, f->layers.n) < 0)
		log_error("Out of memory while watching %s (policy %s) in its overlay's layers.", item->path,
			  item->policy);

	if (other_file)
		keep_away(item, t);
	item->named = f->name.name[0] != '\0';
	if (item->named)
		item->name = f->name;
	/* Refused by the namespace's quota: what it had stays, and the next
	 * resolution tries again. */
	if (!put_entry(item, t, &f->file, item->named ? &item->name : NULL, layers))
		return;
	back = other_file ? take_back(item, &f->file) : NULL;
	if (back) {
		/* After the item's entry is in: the file is never out of the map. */
		watch_set_remove(back->set, back->away_key);
		back->away_key = mfree(back->away_key);
		item->life = back;
	} else if (other_file) {
		life_free(item->life, true);
		item->life = life_new(t, f->fd, &f->file, item->action != 0);
	}
	item->file = f->file;
	free(item->layers);
	item->layers = TAKE_PTR(layers);
	item->stat = stat_id_of(f->fd);
	item->present = true;
	item->last_error = 0;
}

/* The item's own entry goes. */
static void unwatch_own(struct watch_item *item, struct watch_set *set)
{
	if (item->present || item->named || item->stale)
		watch_set_remove(set, item->key);
	item->present = item->named = item->stale = false;
	item->layers = mfree(item->layers);
}

void watch_item_unwatch(struct watch_item *item, struct watch_set *set)
{
	unwatch_own(item, set);
	item->life = life_free(item->life, true);
	item->name_dir = life_free(item->name_dir, false);
	for (size_t i = 0; i < WATCH_ITEM_AWAY_MAX; i++)
		item->away[i] = life_free(item->away[i], true);
}

bool watch_item_failed(struct watch_item *item, const struct watch_item_target *t, int error)
{
	bool news = item->present || item->last_error != error;

	keep_away(item, t);
	unwatch_own(item, t->set);
	item->last_error = error;
	return news;
}

/* The directory fd (dir) of the item's name is followed from now on. */
static void follow_name_dir(struct watch_item *item, const struct watch_item_target *t, int fd,
			    const struct hive_watch_key *dir)
{
	if (item->name_dir && watch_key_equal(&item->name_dir->file, dir))
		return;
	life_free(item->name_dir, false);
	item->name_dir = life_new(t, fd, dir, false);
}

/* The name the path's last component is in its directory, found by opening
 * the directory; false when it cannot be. */
static bool find_name(struct watch_item *item, const struct watch_item_target *t, int root_fd, bool *batch,
		      struct hive_name_key *ret, struct stat_id *ret_dir)
{
	_cleanup_(freep) char *dir = strdup(item->path);
	const char *base = strrchr(item->path, '/');
	_cleanup_(closep) int fd = -1;
	struct hive_watch_key key;
	char *slash;

	if (!dir || !base || strlen(base + 1) >= sizeof(ret->name))
		return false;
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0'; /* "/x": the root */
	else
		*slash = '\0';
	fd = resolve_open(root_fd, dir, item->follow_symlinks);
	if (fd >= 0 && item->named && stat_id_equal(stat_id_of(fd), item->dir_stat)) {
		*ret = item->name; /* the same directory as before: no need to ask the kernel */
		*ret_dir = item->dir_stat;
		follow_name_dir(item, t, fd, &ret->dir);
		return true;
	}
	closep(&fd);
	fd = open_identified(dir, item->follow_symlinks, t->identity, root_fd, batch);
	if (fd < 0 || identity_of_fd(t->identity, fd, &key, NULL, NULL) != 1)
		return false;
	memset(ret, 0, sizeof(*ret));
	ret->dir = key;
	strcpy(ret->name, base + 1);
	*ret_dir = stat_id_of(fd);
	follow_name_dir(item, t, fd, &ret->dir);
	return true;
}

bool watch_item_missing(struct watch_item *item, const struct watch_item_target *t, int root_fd, bool *batch)
{
	bool news = item->present || item->last_error != -ENOENT;
	struct hive_name_key name;
	struct stat_id dir_stat;

	if (!find_name(item, t, root_fd, batch, &name, &dir_stat)) {
		watch_item_failed(item, t, -ENOENT);
		return news;
	}
	keep_away(item, t);
	if ((item->present || !item->named || memcmp(&name, &item->name, sizeof(name)) != 0) &&
	    !put_entry(item, t, NULL, &name, NULL))
		return news;
	item->name = name;
	item->dir_stat = dir_stat;
	item->named = true;
	item->present = false;
	item->layers = mfree(item->layers);
	item->last_error = -ENOENT;
	return news;
}
