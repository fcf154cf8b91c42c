/* SPDX-License-Identifier: MIT */
#ifndef HIVE_ITEM_H
#define HIVE_ITEM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "hive.h"
#include "kernel/identity.h"

struct identity;
struct watch_file_life;
struct policy;
struct watch_place;
struct watch_set;

/*
 * One path of one policy in one root (the host's, or a container's): what
 * every watch source keeps per path. The item knows which file it watches,
 * keeps that file's entry in the watch set, and asks the kernel's resolver
 * again only when stat() says the path leads to another file than before
 * (attached, the resolver puts every system call of the host on the slow
 * path).
 *
 * A source resolves an item in two steps, so that it can say what changed
 * between them: watch_item_find() opens the path and tells whether it now
 * leads elsewhere; watch_item_watch() makes that file the watched one.
 */

/*
 * What statx() says of a file: while the path leads to a file with the same
 * one, it leads to the file it led to before. The number alone would not
 * do: a file system gives a freed number to its next new file. That file is
 * born later: its birth time (or, where the file system keeps none, its
 * change time, which only moves forward) tells the two apart, as the
 * generation the kernel's map is keyed on does.
 */
struct stat_id {
	dev_t dev;
	ino_t ino;
	int64_t sec;
	uint32_t nsec;
};

/*
 * Files an item's path led to and no longer does (renamed away, or a
 * directory or symlink on the path changed) stay watched while they have a
 * link, each under a key of its own: `mv secret s2; cat s2; mv s2 secret`
 * is a record. The first ones are kept (the file watched first, the one a
 * policy meant, is never pushed out by files made later at the same path).
 */
#define WATCH_ITEM_AWAY_MAX 4

struct watch_item {
	char *key;   /* in the watch set: scope/path, see watch_key() */
	char *scope; /* "host/POLICY", "pod/UID/CONTAINER/POLICY" */
	char *policy;
	/* The policy's process filter: its entries carry it. */
	struct process_filter *filter;
	/* An executable of that filter, watched for no access: followed like
	 * a path, so that the filter knows the file it leads to. */
	bool executable;
	const char *policy_kind; /* static: policy_kind_to_string() */
	char *path;
	uint32_t access; /* HIVE_MAY_* */
	int action;      /* enum policy_action */
	bool tree;       /* path is a directory whose whole tree is watched */
	bool shallow;    /* that tree is its own entries only (DIR/ "*") */
	bool follow_symlinks;
	bool present; /* its file is the watch set's entry for key */
	/* Its name (the last component as the kernel resolves the path) is
	 * in the entry: with the file, or alone while the file is missing. */
	bool named;
	/* The watch set still has the entry an earlier item of the same key
	 * made (see watch_item_carry_over()), until a resolution replaces or
	 * removes it. */
	bool stale;
	int last_error;             /* of the last failure, to say each failure once */
	struct hive_watch_key file; /* the file watched, or watched last while !present */
	struct stat_id stat;        /* what stat() said of that file */
	struct hive_name_key name;  /* while named */
	/* A container's file on overlayfs: the files below, watched with file
	 * (struct watch_entry's layers); NULL: none. */
	struct watch_layers *layers;
	bool layers_truncated_said;
	struct stat_id dir_stat;    /* of the name's directory, while only the name is watched */
	struct watch_file_life *life; /* of file, while present: told when its last link is gone */
	struct watch_file_life *away[WATCH_ITEM_AWAY_MAX];
	/* The directory of its name, followed while only the name is
	 * watched: fanotify tells the create there (watch/change-events.h). */
	struct watch_file_life *name_dir;
	bool away_full_said;
};

/* Where an item's entry goes, and what it says besides the path. */
struct watch_item_target {
	sd_event *event; /* for inotify on watched files */
	struct watch_set *set;
	struct identity *identity;
	const char *node;
	const struct watch_place *place; /* NULL: a file of the host */
};

/* The item for path of policy p in scope ("host/POLICY-ID",
 * "pod/UID/CONTAINER/POLICY-ID"), keyed scope/path. */
int watch_item_init(struct watch_item *item, const struct policy *p, const char *path, const char *scope);
/* The item for executable path of p's process filter in scope, keyed
 * watch_executable_key(). */
int watch_item_init_executable(struct watch_item *item, const struct policy *p, const char *path,
			       const char *scope);
/* The items of every path and executable of p in scope, appended by add
 * (which inits the one it returns, or returns NULL when out of memory). */
int watch_items_of_policy(const struct policy *p, const char *scope,
			  struct watch_item *(*add)(void *userdata), void *userdata);
void watch_item_done(struct watch_item *item);

/* "path", or "executable" (of a process filter), for messages. */
static inline const char *watch_item_what(const struct watch_item *item)
{
	return item->executable ? "executable" : "path";
}

/* How a message says the item found its file: "Watching" the first time,
 * "Followed" after that; of an executable, so that it reads as one. */
static inline const char *watch_item_found_verb(const struct watch_item *item)
{
	if (item->executable)
		return item->present ? "Followed executable" : "Watching executable";
	return item->present ? "Followed" : "Watching";
}

/*
 * What is known of the same path of the same policy from before (a reload, a
 * pod update): item takes over old's file and state, and its entry in the
 * watch set (old then no longer has one). When the access filter or the
 * symlink rule changed, the file is looked up again (item is not present),
 * and its entry stays until that resolution replaces or removes it.
 */
void watch_item_carry_over(struct watch_item *item, struct watch_item *old);

/* What watch_item_find() found: the file and the name it has. */
struct watch_item_found {
	int fd; /* the path's descriptor (the caller's), for messages */
	struct hive_watch_key file;
	struct hive_name_key name; /* name[0] == 0: unknown */
	struct identity_layers layers; /* a container's file on overlayfs: the files below */
};

/*
 * Open the item's path in root_fd (-1: the host's root; see resolve_open())
 * and tell which file it leads to:
 *   0    the file watched now, or the same failure as the last one: nothing
 *        to do;
 *   1    another file, or the first (*ret), for watch_item_watch() and
 *        messages;
 *   < 0  the path does not resolve now (-ENOENT, -ELOOP, ...).
 * The kernel's resolver is attached at the first item that needs it
 * (*batch) until the caller's identity_end_lazily(). A file the kernel
 * cannot identify is said and left as it was (0).
 */
int watch_item_find(struct watch_item *item, struct identity *identity, int root_fd, bool *batch,
		    struct watch_item_found *ret);

/* Whether what watch_item_find() found is the kubelet's next version of the
 * volume file item watches (see HIVE_NAME_ANY_DATA_DIR): the volume's normal
 * life, not a redirection worth saying loudly. */
bool watch_item_volume_update(const struct watch_item *item, const struct watch_item_found *f);

/* Watch what watch_item_find() found from now on. A map that refuses it is
 * said; the watch set retries it. */
void watch_item_watch(struct watch_item *item, const struct watch_item_target *t, const struct watch_item_found *f);

/*
 * The path leads to nothing (-ENOENT): its file's entry goes, and its name
 * is watched alone when its directory resolves in root_fd, so that the file
 * a create or rename puts there is recorded from its first access. Returns
 * whether this differs from the last failure, i.e. is worth saying.
 */
bool watch_item_missing(struct watch_item *item, const struct watch_item_target *t, int root_fd, bool *batch);

/* The path stopped leading to a file (error): its entry goes (the file
 * stays watched while it has a link). Returns whether error differs from the
 * last failure, i.e. is worth saying. */
bool watch_item_failed(struct watch_item *item, const struct watch_item_target *t, int error);

/* Remove its entries from the watch set, if it has any (an item whose state
 * another took over has none), those of files renamed away too. */
void watch_item_unwatch(struct watch_item *item, struct watch_set *set);

#endif
