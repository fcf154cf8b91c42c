/* SPDX-License-Identifier: MIT */
#ifndef HIVE_WATCH_H
#define HIVE_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hive.h"
#include "shared/macro.h"

/*
 * The watch set: every file Hive watches on this kernel, from every source
 * (host policies, container discovery, entries other nodes share through the
 * Kubernetes API), and the one place that keeps the BPF maps in step with
 * them.
 *
 * Sources add and remove entries by key; several entries may name the same
 * inode (two policies, a hard link), so entries are grouped per inode and the
 * map holds one slot per inode with the union of the wanted accesses. An
 * entry also names the name its file has in its directory, when known, or
 * only that name while no file is there: the kernel then recognises the file
 * a rename, link or create puts at that name from its first access (the
 * names map, hive_name_key), and the directory's slot says that it has
 * watched names.
 */

struct loader;

/* A watched name as an entry keeps it: struct hive_name_key at its used
 * length (the kernel's key is mostly NUL padding, 272 bytes a path). Its
 * bytes up to the name's end are a hive_name_key's, which the set's names
 * are keyed by. */
struct watch_name {
	struct hive_watch_key dir;
	char name[]; /* NUL-terminated */
};

struct watch_entry {
	char *key; /* unique over all sources, e.g. "host/etc-shadow//etc/shadow" */
	struct hive_watch_key file;
	bool has_file;              /* false: only the name is watched, nothing is there yet */
	struct watch_name *name;    /* the file's name in its directory, or NULL */
	uint32_t access;            /* HIVE_MAY_* */
	/* The file is a directory whose whole tree is watched (a policy's
	 * path ending in "/" "**"): access is also wanted for everything below
	 * it, at any depth; shallow: its own entries only (a path ending in
	 * "/" "*"), not what is in the directories among them. */
	bool tree, shallow;
	char *policy;
	const char *policy_kind; /* static: policy_kind_to_string() */
	char *path;
	char *node;
	/* NULL for files of the host itself. */
	char *namespace;
	char *pod;
	char *pod_uid;
	char *container;
	char *container_id;
	/* Learned from another node through the API server, not found here:
	 * never published again by this node. */
	bool shared;
	/* This node's presence probe for the lease holder of that name
	 * (cluster/presence.h): published for it alone to answer. */
	char *presence_for;
	/* What its policy does (enum policy_action): anything but log is
	 * enforced through permission events (enforce/enforce.h), which make
	 * its records; the hooks' map leaves it out. */
	int action;
	/* The executable of a process filter (watch/process-filter.h), not a
	 * watched file: access is 0, no record is ever made of it. */
	bool executable;
	/* Its policy's process filter (NULL: none), and where the filter's
	 * executables are (watch_executable_key()). */
	struct process_filter *filter;
	char *filter_scope;
	/* A container's file on overlayfs: the files below, as the host
	 * reaches them in the runtime's snapshot directory (NULL: none).
	 * Watched too, for what an open is checked for (WATCH_LAYER_ACCESS):
	 * a read of a layer from the host is a read of the container's file
	 * (HIVE_WATCH_LAYER); of a tree's root, of a file below it. */
	struct watch_layers *layers;
	/* The set's slots of its file and its name (0: none); a removed entry
	 * is still found by them, and its layers' ids, for a while
	 * (watch/retired.h). */
	uint32_t file_id, name_id;
};

/* What a layer is watched for: the permission checks of an open. */
#define WATCH_LAYER_ACCESS (HIVE_ACCESS_ALL & ~HIVE_ACCESS_CHANGES)

/* The files below a container's file on overlayfs (struct hive_resolved's
 * layers): of a file, the one the overlay shows; of a directory, its
 * directory in each layer. */
struct watch_layers {
	uint32_t n;
	struct watch_layer {
		struct hive_watch_key key;
		uint32_t id; /* in an entry's: the set's slot of it (0: none) */
	} at[];
};

/* A copy of n keys (*ret NULL when n is 0); free() frees it. */
int watch_layers_new(struct watch_layers **ret, const struct hive_watch_key *keys, uint32_t n);
int watch_layers_dup(struct watch_layers **ret, const struct watch_layers *l);
/* The same keys (ids aside); NULL is no layer. */
bool watch_layers_equal(const struct watch_layers *a, const struct watch_layers *b);
bool watch_layers_are(const struct watch_layers *l, const struct hive_watch_key *keys, uint32_t n);

/* The entries of one inode, or of one name. */
struct watch_inode {
	struct hive_watch_key file; /* a name's: its directory */
	uint32_t id;                /* echoed by the kernel in every event */
	uint32_t access;
	uint32_t tree_access;    /* what its tree entries want below it */
	uint32_t entries_access; /* what its shallow tree entries want of its own entries */
	bool layer;              /* every entry is here for a layer (HIVE_WATCH_LAYER) */
	struct watch_entry **entries;
	size_t n_entries;
};

/* What e wants of the accesses to inode (one of its slots): of a layer,
 * only WATCH_LAYER_ACCESS. */
uint32_t watch_entry_access_at(const struct watch_entry *e, const struct watch_inode *inode);

struct watch_set;

int watch_set_new(struct watch_set **ret);
struct watch_set *watch_set_free(struct watch_set *s);

/*
 * Add e, or replace the entry with the same key. Takes ownership of e in all
 * cases. Returns < 0 when the BPF map refused the change; the entry is kept
 * and pushed again by the next watch_set_sync().
 */
/* Takes e, also on failure; -EDQUOT when e is for a HiveNamespacedPolicy
 * and its namespace has its quota of entries already (see
 * watch_set_set_tenant_quota()). */
int watch_set_put(struct watch_set *s, struct watch_entry *e);

/* How many entries this node's HiveNamespacedPolicies of one namespace may
 * have (default: no limit): a tenant cannot fill the kernel map, the
 * NodeWatch or everyone's rescan. */
void watch_set_set_tenant_quota(struct watch_set *s, uint32_t max_files);

/* Whether e is this node's entry for a HiveNamespacedPolicy: a tenant's. */
bool watch_entry_is_tenants(const struct watch_entry *e);
int watch_set_remove(struct watch_set *s, const char *key);
const struct watch_entry *watch_set_get(const struct watch_set *s, const char *key);

/* The inode an event names, or NULL when it was removed meanwhile; for an
 * event found by name (HIVE_EVENT_BY_NAME), the name's entries, dir being
 * the event's directory. */
const struct watch_inode *watch_set_find(const struct watch_set *s, uint32_t id, const struct hive_watch_key *file);
const struct watch_inode *watch_set_find_name(const struct watch_set *s, uint32_t id,
					      const struct hive_watch_key *dir);
/* The entries of watched name in the directory of that number and device
 * (whatever its generation: stat() knows none), or NULL. Their file is the
 * directory's key. */
const struct watch_inode *watch_set_find_name_at(const struct watch_set *s, uint64_t ino, uint32_t dev,
					      const char *name);

/*
 * The kernel's map of watched inodes, as the set writes it: the loader's
 * (watch_set_set_loader()), or a test's. put and delete return -errno (a
 * delete of a missing key is no error); foreach calls fn for every key and
 * returns the sum of what fn returned.
 */
struct watch_map_ops {
	int (*put)(void *map, const struct hive_watch_key *key, const struct hive_watch_value *value);
	int (*delete)(void *map, const struct hive_watch_key *key);
	int (*foreach)(void *map, int (*fn)(const struct hive_watch_key *key, void *userdata), void *userdata);
	/* The same for the names map. */
	int (*name_put)(void *map, const struct hive_name_key *key, const struct hive_watch_value *value);
	int (*name_delete)(void *map, const struct hive_name_key *key);
	int (*name_foreach)(void *map, int (*fn)(const struct hive_name_key *key, void *userdata), void *userdata);
	/* How many names are HIVE_NAME_ANY_DATA_DIR's (NULL: not told). */
	int (*data_dir_names)(void *map, uint64_t n);
	/* Word word of the name filter (NULL: no filter; hive.h). */
	int (*name_filter_put)(void *map, uint32_t word, uint64_t bits);
	/* How many trees are watched (NULL: not told). */
	int (*trees)(void *map, uint64_t n);
};

/* Start (map != NULL) or stop writing to a map; starting writes every
 * inode. */
int watch_set_set_map(struct watch_set *s, const struct watch_map_ops *ops, void *map);
/* The same, with a loader's map (NULL: none). */
int watch_set_set_loader(struct watch_set *s, struct loader *loader);
/* Who follows the changes of watched files where the hooks cannot
 * (watch/change-events.h): told by every source of each file it finds.
 * NULL: nobody. */
struct change_events;
void watch_set_set_change_events(struct watch_set *s, struct change_events *c);
struct change_events *watch_set_change_events(const struct watch_set *s);
/* Who is told of every file of an enforced entry (action deny or
 * audit-deny) that the items find, with a descriptor of it, and when it is
 * no longer one (as many unfollow as follow calls): enforce/enforce.h. NULL:
 * nobody. */
struct watch_file_follower {
	void (*follow)(void *userdata, int fd, const struct hive_watch_key *file);
	void (*unfollow)(void *userdata, const struct hive_watch_key *file);
	void *userdata;
};
void watch_set_set_enforcer(struct watch_set *s, const struct watch_file_follower *f);
const struct watch_file_follower *watch_set_enforcer(const struct watch_set *s);

/* Whether entry e's policy is about the process of ev by its process
 * filter (watch/process-filter.h); container: the name of the container of
 * this node's pods the process runs in, NULL: none. */
bool watch_entry_admits(const struct watch_set *s, const struct watch_entry *e, const struct hive_event *ev,
			const char *container);

/* Remove from the map every inode the set does not have: what a previous
 * agent's map (kept across a restart) held. Returns how many. */
int watch_set_prune(struct watch_set *s);
/* Retry inodes the map refused earlier. */
int watch_set_sync(struct watch_set *s);

size_t watch_set_n_entries(const struct watch_set *s);
/* Bumped whenever an entry that is not shared changes: what this node publishes. */
uint64_t watch_set_local_generation(const struct watch_set *s);
size_t watch_set_n_inodes(const struct watch_set *s);
size_t watch_set_n_unsynced(const struct watch_set *s);

/* Calls fn for every entry; fn must not change the set. */
int watch_set_foreach(const struct watch_set *s, int (*fn)(const struct watch_entry *e, void *userdata),
		      void *userdata);

struct cJSON;

/* Where a file inside a container is; fields may be NULL. */
struct watch_place {
	const char *namespace;
	const char *pod;
	const char *pod_uid;
	const char *container;
	const char *container_id;
	/* What records add, read from this node's pods as each is written
	 * (never kept in entries): the pod's top controller ("Deployment",
	 * "web"), the container's image and its digest, the pod's labels. */
	const char *workload_kind;
	const char *workload;
	const char *image;
	const char *image_id;
	const struct cJSON *labels;
};

/* The same file: number, device and generation. */
static inline bool watch_key_equal(const struct hive_watch_key *a, const struct hive_watch_key *b)
{
	return a->ino == b->ino && a->dev == b->dev && a->gen == b->gen;
}

/* Entry helpers. Strings are copied; NULL stays NULL. */
/* file NULL: nothing is at the path (yet); then only a name can be watched. */
struct watch_entry *watch_entry_new(const char *key, const struct hive_watch_key *file, uint32_t access,
				    const char *policy, const char *path, const char *node);
int watch_entry_set_name(struct watch_entry *e, const struct hive_name_key *name);
int watch_entry_set_place(struct watch_entry *e, const struct watch_place *place);

/*
 * A key of the watch set, unique over all sources: the parts joined by '/',
 * the source's name first ("host", "pod", "node"), e.g.
 * "host/etc-shadow//etc/shadow" or "pod/UID/CONTAINER/POLICY/PATH". The
 * list ends with NULL. NULL when out of memory.
 */
char *watch_key(const char *source, ...) _sentinel_;
struct watch_entry *watch_entry_free(struct watch_entry *e);
bool watch_entry_equal(const struct watch_entry *a, const struct watch_entry *b);

/* The key of the entry of a process filter's executable path in scope
 * (see watch_item_init()): scope/MARK/path, the mark a control character
 * no policy path has. NULL when out of memory. */
#define WATCH_EXECUTABLE_KEY_MARK "\x1e"
char *watch_executable_key(const char *scope, const char *path);

/* Between an item's key and what names one of its files kept away (see
 * watch/item.h): a control character, which no policy path has, so no
 * item's own key has it. */
#define WATCH_AWAY_KEY_MARK "\x1f"

/* Whether inode's entry i is a kept-away file of an item whose own entry,
 * or an earlier kept-away one, is on the same inode too (a file renamed away
 * and back, or told gone late): one record per item and access. */
bool watch_inode_entry_repeats(const struct watch_inode *inode, size_t i);

#endif
