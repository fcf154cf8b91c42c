/* SPDX-License-Identifier: MIT */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "cluster/cgroup.h"
#include "kernel/identity.h"
#include "kube/reflector.h"
#include "cluster/pods.h"
#include "cluster/workloads.h"
#include "watch/policy.h"
#include "kernel/resolve.h"
#include "shared/abi.h"
#include "shared/hashmap.h"
#include "shared/histogram.h"
#include "shared/json.h"
#include "shared/log.h"
#include "shared/proc-stat.h"
#include "shared/message-id.h"
#include "shared/names.h"
#include "watch/dir-events.h"
#include "watch/item.h"
#include "watch/watch.h"

struct pod;

struct container {
	struct pod *pod;
	const struct pod_container_status *status; /* in pod->info */
	char runtime[32];
	char id[CONTAINER_ID_MAX + 1];
	struct cgroup_container cgroup; /* dir NULL until found */
	int last_error;
	pid_t chroot_said; /* the chroot()ed process last said */
	pid_t pid;	   /* the process whose root its paths were resolved in */
	/* Its discovery time is in the histogram, or never will be: it ran
	 * before the agent (or the policy) knew of it. */
	bool timed;
};

struct pod_item {
	struct watch_item item;
	struct container *container;
	/* The file's directory, and the path's own when that is another
	 * (the path goes through a symlink, the file is missing). */
	struct dir_events *dirs[2];
};

struct pod {
	struct pod_source *source;
	struct pod_info *info;
	struct container *containers;
	size_t n_containers;
	struct pod_item *items;
	size_t n_items;
	unsigned slot; /* which rescan ticks resolve it, see rescan() */
	sd_event_source *follow; /* resolve again: something happened in a directory of its items */
	char *held; /* the uid of its controller, held in the source's workloads */
};

struct pod_source {
	sd_event *event;
	struct watch_set *set;
	struct identity *identity;
	char *node;
	struct cgroup_roots roots;
	bool have_roots;
	const struct policy_set *policies;
	struct reflector *reflector;
	struct hashmap *pods;      /* uid -> struct pod */
	struct hashmap *by_cgroup; /* cgroup id (8 bytes) -> struct container */
	uint64_t cgroups_generation; /* moved by every change of by_cgroup */
	struct workloads *workloads;
	struct histogram discovery; /* a container's start -> its first file watched */
	bool listed;		    /* the first list of pods is done */
	sd_event_source *rescan_timer;
	uint64_t rescan_usec;
	unsigned tick, next_slot;
};

/* Container paths resolved per rescan tick, at most (about 140 us each on
 * the development VM): an idle agent's cost stays flat however many pods it
 * watches; with more paths each pod's turn comes every few ticks. A pod is
 * resolved at once whenever its object changes. */
#define POD_RESCAN_BUDGET 64

/*
 * The pod is resolved this long after the first event in a directory of its
 * items, once for all the events meanwhile: an update by the kubelet is
 * several (a directory made, "..data" swapped, the old one removed), and a
 * container renaming over its watched file in a loop costs the agent at
 * most one resolution of the pod per delay. Accesses meanwhile are
 * recorded by name (watch_item_find()).
 */
#define POD_FOLLOW_DELAY_USEC (20 * USEC_PER_MSEC)

static void item_dirs_clear(struct pod_item *pi)
{
	for (size_t i = 0; i < ARRAY_SIZE(pi->dirs); i++)
		pi->dirs[i] = dir_events_free(pi->dirs[i]);
}

static void forget_cgroup(struct pod_source *s, struct container *c)
{
	uint64_t id = c->cgroup.cgroup_id;

	if (id && hashmap_get(s->by_cgroup, &id, sizeof(id)) == c) {
		hashmap_remove(s->by_cgroup, &id, sizeof(id));
		s->cgroups_generation++;
	}
}

static void pod_free(struct pod_source *s, struct pod *p, bool remove_entries)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_items; i++) {
		if (remove_entries)
			watch_item_unwatch(&p->items[i].item, s->set);
		watch_item_done(&p->items[i].item);
		item_dirs_clear(&p->items[i]);
	}
	free(p->items);
	sd_event_source_disable_unref(p->follow);
	for (size_t i = 0; i < p->n_containers; i++) {
		forget_cgroup(s, &p->containers[i]);
		cgroup_container_clear(&p->containers[i].cgroup);
	}
	free(p->containers);
	workloads_release(s->workloads, p->held);
	free(p->held);
	pod_info_free(p->info);
	free(p);
}

struct new_item {
	struct pod *pod;
	struct container *container;
};

static struct watch_item *add_item(void *userdata)
{
	struct new_item *a = userdata;
	struct pod *p = a->pod;
	struct pod_item *grown = realloc(p->items, (p->n_items + 1) * sizeof(*grown)), *pi;

	if (!grown)
		return NULL;
	p->items = grown;
	pi = &grown[p->n_items++];
	*pi = (struct pod_item){ .container = a->container };
	return &pi->item;
}

static int add_items(struct pod *p, struct container *c, const struct policy *policy)
{
	_cleanup_(freep) char *scope = watch_key("pod", p->info->uid, c->status->name, policy->id, NULL);

	if (!scope)
		return -ENOMEM;
	return watch_items_of_policy(policy, scope, add_item, &(struct new_item){ .pod = p, .container = c });
}

/* The pod's containers and the items its policies select in them. Takes
 * info on success only. */
static int pod_build(struct pod_source *s, struct pod_info *info, struct pod **ret)
{
	struct pod *p = calloc(1, sizeof(*p));
	int r = 0;

	if (!p)
		return -ENOMEM;
	p->source = s;
	p->info = info;
	p->slot = s->next_slot++;
	p->containers = calloc(MAX(info->n_containers, 1u), sizeof(*p->containers));
	if (!p->containers) {
		p->info = NULL; /* still the caller's */
		pod_free(s, p, false);
		return -ENOMEM;
	}
	for (size_t i = 0; i < info->n_containers; i++) {
		struct container *c = &p->containers[p->n_containers];

		*c = (struct container){ .pod = p, .status = &info->containers[i] };
		(void)cgroup_parse_container_id(c->status->container_id, c->runtime, c->id); /* checked by the parser */
		p->n_containers++;
	}
	for (size_t k = 0; s->policies && k < s->policies->n && r >= 0; k++) {
		const struct policy *policy = &s->policies->policies[k];

		if (!selection_matches_pod(policy, info->namespace, info->labels))
			continue;
		for (size_t i = 0; i < p->n_containers && r >= 0; i++) {
			if (!selection_matches_container(policy, p->containers[i].status->name, p->containers[i].status->kind))
				continue;
			r = add_items(p, &p->containers[i], policy);
		}
	}
	if (r >= 0 && info->owner.kind && !(p->held = strdup(info->owner.uid)))
		r = -ENOMEM;
	if (r < 0) {
		p->info = NULL; /* still the caller's */
		pod_free(s, p, false);
		return r;
	}
	if (p->held)
		workloads_hold(s->workloads, info->namespace, &info->owner);
	*ret = p;
	return 0;
}

/* What is known of old stays where the same container still runs: its
 * cgroup, and its items' watched inodes. What no longer is, goes. */
static void carry_over(struct pod_source *s, struct pod *old, struct pod *p)
{
	for (size_t i = 0; i < old->n_containers; i++) {
		struct container *o = &old->containers[i];

		for (size_t j = 0; j < p->n_containers; j++) {
			struct container *c = &p->containers[j];

			if (strcmp(o->status->container_id, c->status->container_id) != 0 || c->cgroup.dir)
				continue;
			forget_cgroup(s, o);
			c->cgroup = o->cgroup;
			o->cgroup = (struct cgroup_container){};
			c->last_error = o->last_error;
			c->timed = o->timed;
			break;
		}
	}
	for (size_t i = 0; i < old->n_items; i++) {
		struct pod_item *o = &old->items[i];

		for (size_t j = 0; j < p->n_items; j++) {
			struct pod_item *n = &p->items[j];

			if (strcmp(o->item.key, n->item.key) == 0 &&
			    strcmp(o->container->status->container_id, n->container->status->container_id) == 0) {
				watch_item_carry_over(&n->item, &o->item);
				for (size_t k = 0; k < ARRAY_SIZE(n->dirs); k++) {
					n->dirs[k] = TAKE_PTR(o->dirs[k]);
					dir_events_set_userdata(n->dirs[k], p);
				}
				break;
			}
		}
		/* A restarted container's file is another inode: the old one
		 * goes now, not when the new one is found. */
		watch_item_unwatch(&o->item, s->set);
	}
}

static void remember_cgroup(struct pod_source *s, struct container *c)
{
	uint64_t id = c->cgroup.cgroup_id;

	if (!id)
		return;
	if (hashmap_put(s->by_cgroup, &id, sizeof(id), c, NULL) < 0)
		log_warning("Out of memory: accesses by container %s will not be attributed to its pod.", c->id);
	else
		s->cgroups_generation++;
}

static const char *describe_error(int error)
{
	switch (error) {
	case -ENOENT:
		return "does not exist in the container, watching for it to appear";
	case -ELOOP:
		return "goes through a symlink loop, a /proc magic link (such as /proc/1/root), or a symlink the "
		       "policy does not follow: not watched";
	case -ENAMETOOLONG:
		return "leads to a name that is too long: not watched";
	case -EXDEV:
		return "leads out of the container's root: not watched";
	default:
		return NULL;
	}
}

/* Where an item of the pod's container puts its entry. */
static void item_target(struct pod_source *s, struct pod *p, struct pod_item *pi, struct watch_place *place,
			struct watch_item_target *ret)
{
	*place = (struct watch_place){
		.namespace = p->info->namespace,
		.pod = p->info->name,
		.pod_uid = p->info->uid,
		.container = pi->container->status->name,
		.container_id = pi->container->status->container_id,
	};
	*ret = (struct watch_item_target){ s->event, s->set, s->identity, s->node, place };
}

static int on_follow(sd_event_source *es, uint64_t usec, void *userdata);

/* Something happened in a directory of one of the pod's items. */
static void on_dir_event(void *userdata)
{
	struct pod *p = userdata;
	int enabled = SD_EVENT_OFF, r;

	if (!p->follow)
		r = sd_event_add_time_relative(p->source->event, &p->follow, CLOCK_MONOTONIC, POD_FOLLOW_DELAY_USEC, 0,
					       on_follow, p);
	else if (sd_event_source_get_enabled(p->follow, &enabled) >= 0 && enabled != SD_EVENT_OFF)
		return; /* due already */
	else
		r = sd_event_source_set_time_relative(p->follow, POD_FOLLOW_DELAY_USEC);
	if (r >= 0)
		r = sd_event_source_set_enabled(p->follow, SD_EVENT_ONESHOT);
	if (r < 0)
		log_debug_errno(r, "Cannot follow pod %s/%s now (%m): at the next rescan.", p->info->namespace,
				p->info->name);
}

/*
 * Follow the item by events from now on: inotify on the directory of the
 * file found (file_fd; -1: none, the path is missing) and on the directory
 * the path names, when that is another one, for the names that lead to the
 * file (and "..data", which the kubelet swaps on a volume's update). Without
 * it (inotify's limits reached, a directory that went away meanwhile), the
 * rescan still follows.
 */
static void item_follow(struct pod_source *s, struct pod *p, struct pod_item *pi, int file_fd, int root_fd)
{
	_cleanup_(closep) int file_dir = -1, path_dir = -1;
	char name[NAME_MAX + 1], parent[PATH_MAX];
	const char *base = strrchr(pi->item.path, '/') + 1; /* policies hold absolute paths */
	const char *names[] = { base, "..data" };
	size_t n = 0;
	int r = 0;

	item_dirs_clear(pi);
	if (file_fd >= 0 && (file_dir = resolve_open_parent(file_fd, root_fd, name)) >= 0)
		r = dir_events_new(s->event, file_dir, (const char *const[]){ name }, 1, on_dir_event, p, &pi->dirs[n++]);
	snprintf(parent, sizeof(parent), "%.*s", (int)(base - pi->item.path), pi->item.path);
	if (r >= 0 && (path_dir = resolve_open(root_fd, parent, pi->item.follow_symlinks)) >= 0 &&
	    !(file_dir >= 0 && resolve_same_file(file_dir, path_dir)))
		r = dir_events_new(s->event, path_dir, names, ARRAY_SIZE(names), on_dir_event, p, &pi->dirs[n++]);
	if (r < 0)
		log_debug_errno(r, "Cannot follow %s in pod %s/%s by events (%m): at each rescan.", pi->item.path,
				p->info->namespace, p->info->name);
}

/* root_fd: the container's root, or -1 when none could be opened (then a
 * missing file's name is not watched either). */
static void item_failed(struct pod_source *s, struct pod *p, struct pod_item *pi, int error, int root_fd,
			bool *batch)
{
	const struct watch_item *item = &pi->item;
	struct watch_item_target t;
	struct watch_place place;
	bool news;

	item_target(s, p, pi, &place, &t);
	if (error == -ENOENT && root_fd >= 0)
		news = watch_item_missing(&pi->item, &t, root_fd, batch);
	else
		news = watch_item_failed(&pi->item, &t, error);
	if (!news)
		return;
	if (root_fd >= 0)
		item_follow(s, p, pi, -1, root_fd); /* for the file to come back */
	else
		item_dirs_clear(pi);
	if (error == -ESRCH)
		log_info("Path %s (policy %s) in pod %s/%s container %s: no process of the container to resolve it in "
			 "(yet).",
			 item->path, item->policy, p->info->namespace, p->info->name, pi->container->status->name);
	else if (describe_error(error))
		/* What the image made of the path is a refusal; a missing file is not. */
		log_id(error == -ENOENT ? LOG_INFO : LOG_WARNING, error == -ENOENT ? NULL : HIVE_MESSAGE_PATH_REFUSED,
		       "Path %s (policy %s) in pod %s/%s container %s %s.", item->path, item->policy,
		       p->info->namespace, p->info->name, pi->container->status->name, describe_error(error));
	else
		log_warning_errno(error, "Cannot resolve %s (policy %s) in pod %s/%s container %s: %m", item->path,
				  item->policy, p->info->namespace, p->info->name, pi->container->status->name);
}

/*
 * How long the container ran before its first watched file was in the
 * map: the window in which its accesses have no record. Only containers
 * that started while the agent was following their pod count: not those
 * found at the agent's start or by a new policy.
 */
static void discovered(struct pod_source *s, struct container *c)
{
	uint64_t started, now = clock_usec(CLOCK_BOOTTIME);

	if (c->timed)
		return;
	c->timed = true;
	if (!s->listed) /* found in the first list: it ran before the agent */
		return;
	if (proc_start_usec(c->pid, &started) < 0 || started > now)
		return;
	histogram_observe(&s->discovery, (double)(now - started) / USEC_PER_SEC);
}

/*
 * Resolve one path inside the container, whose root is root_fd:
 * RESOLVE_IN_ROOT keeps "..", absolute symlinks and the like inside it, and
 * magic links are refused, so whatever the image contains, the agent
 * watches a file of the container's own tree. The kernel's resolver is asked
 * only when the path leads to another file than before (*batch: see
 * watch_item_find()).
 */
static void resolve_item(struct pod_source *s, struct pod *p, struct pod_item *pi, int root_fd, bool *batch)
{
	const struct watch_item *item = &pi->item;
	const struct container *c = pi->container;
	struct watch_item_target t;
	struct watch_item_found f;
	struct watch_place place;
	char dev[KERNEL_DEV_STRLEN];
	bool via_symlink = false;
	int r;

	r = watch_item_find(&pi->item, s->identity, root_fd, batch, &f);
	if (r < 0)
		item_failed(s, p, pi, r, root_fd, batch);
	if (r <= 0)
		return;
	/* Said once, when the inode changes: a symlink chosen by the image
	 * decides which of its files this is (but a kubelet volume's update
	 * is its normal life). */
	if (item->follow_symlinks && !watch_item_volume_update(item, &f)) {
		int plain = resolve_open(root_fd, item->path, false);

		via_symlink = plain == -ELOOP;
		if (plain >= 0)
			close(plain);
	}
	kernel_dev_to_string(f.file.dev, dev);
	log_full(via_symlink ? LOG_NOTICE : LOG_INFO, "%s %s (policy %s) in pod %s/%s container %s%s: inode %llu on %s.",
		 watch_item_found_verb(item), item->path, item->policy, p->info->namespace, p->info->name,
		 c->status->name, via_symlink ? " through a symlink inside the container (resolved within its root)" : "",
		 (unsigned long long)f.file.ino, dev);
	item_target(s, p, pi, &place, &t);
	watch_item_watch(&pi->item, &t, &f);
	if (!item->executable) /* a filter's: no file of the container is watched by it */
		discovered(s, pi->container);
	item_follow(s, p, pi, f.fd, root_fd);
	close(f.fd);
}

static int locate(struct pod_source *s, struct container *c)
{
	int r;

	if (c->cgroup.dir)
		return 0;
	if (!s->have_roots)
		return -ENOENT;
	r = cgroup_find_container(&s->roots, c->pod->info->uid, c->pod->info->qos, c->runtime, c->id, &c->cgroup);
	if (r < 0)
		return r;
	remember_cgroup(s, c);
	return 0;
}

static void resolve_pod(struct pod_source *s, struct pod *p, bool *batch)
{
	for (size_t i = 0; i < p->n_containers; i++) {
		struct container *c = &p->containers[i];
		_cleanup_(closep) int root_fd = -1;
		bool wanted = false;
		int r;

		for (size_t j = 0; j < p->n_items && !wanted; j++)
			wanted = p->items[j].container == c;
		r = locate(s, c);
		if (!wanted)
			continue;
		if (r >= 0) {
			pid_t chrooted = 0;

			root_fd = cgroup_open_container_root(c->cgroup.dir, c->id, &c->pid, &chrooted);
			r = root_fd < 0 ? root_fd : 0;
			if (chrooted && chrooted != c->chroot_said)
				log_warning("Container %s of pod %s/%s: its process %d runs chroot()ed in a directory of "
					    "the container; its paths are resolved from the container's root, not from there.",
					    c->status->name, p->info->namespace, p->info->name, (int)chrooted);
			c->chroot_said = chrooted ?: c->chroot_said;
		}
		if (r < 0 && r != -ENOENT && r != -ESRCH && c->last_error != r)
			log_warning_errno(r, "Cannot find the processes of container %s (pod %s/%s): %m", c->id,
					  p->info->namespace, p->info->name);
		c->last_error = r;
		for (size_t j = 0; j < p->n_items; j++) {
			if (p->items[j].container != c)
				continue;
			if (r < 0)
				item_failed(s, p, &p->items[j], -ESRCH, -1, batch);
			else
				resolve_item(s, p, &p->items[j], root_fd, batch);
		}
	}
}

static int on_follow(sd_event_source *es, uint64_t usec, void *userdata)
{
	struct pod *p = userdata;
	bool batch = false;

	resolve_pod(p->source, p, &batch);
	identity_end_lazily(p->source->identity, &batch);
	return 0;
}

/* Make info the pod's state; old (or NULL) is what was known before, and may
 * already have handed its info over (a policy change). */
static void pod_replace(struct pod_source *s, struct pod *old, struct pod_info *info)
{
	struct pod *p = NULL;
	bool batch = false;
	int r;

	r = pod_build(s, info, &p);
	if (r < 0) {
		log_error_errno(r, "Cannot follow pod %s/%s: %m", info->namespace, info->name);
		if (old && !old->info)
			old->info = info; /* keep what it had */
		else
			pod_info_free(info);
		return;
	}
	if (old) {
		carry_over(s, old, p);
		hashmap_remove_str(s->pods, p->info->uid);
		pod_free(s, old, true);
	}
	for (size_t i = 0; i < p->n_containers; i++)
		remember_cgroup(s, &p->containers[i]);
	if (hashmap_put_str(s->pods, p->info->uid, p, NULL) < 0) {
		log_error("Out of memory: not following pod %s/%s.", p->info->namespace, p->info->name);
		pod_free(s, p, true);
		return;
	}
	resolve_pod(s, p, &batch);
	identity_end_lazily(s->identity, &batch);
}

static void pod_update(struct pod_source *s, struct pod_info *info)
{
	pod_replace(s, hashmap_get_str(s->pods, info->uid), info);
}

static void pod_delete(struct pod_source *s, const char *uid)
{
	struct pod *p = hashmap_remove_str(s->pods, uid);

	if (p)
		log_debug("Pod %s/%s is gone.", p->info->namespace, p->info->name);
	pod_free(s, p, true);
}

static struct pod_info *parse_or_warn(const cJSON *object)
{
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(object, "metadata");
	const char *ns = json_string(meta, "namespace"), *name = json_string(meta, "name"), *why = NULL;
	struct pod_info *info = NULL;
	char shown[160];
	int r;

	r = pod_info_parse(object, &info, &why);
	if (r >= 0)
		return info;
	snprintf(shown, sizeof(shown), "%.63s/%.90s", ns && dns_label_is_valid(ns) ? ns : "?",
		 name && dns_subdomain_is_valid(name) ? name : "?");
	if (r == -ENOMEM)
		log_error("Out of memory reading pod %s.", shown);
	else
		log_warning("Ignoring a change of pod %s from the API server: %s.", shown, why);
	return NULL;
}

/* Containers running before they were ours to follow. */
static void untimed_all(struct pod_source *s)
{
	struct hashmap_iter it;
	void *value;

	hashmap_iter_init(&it, s->pods);
	while (hashmap_iter_next(&it, NULL, NULL, &value)) {
		struct pod *p = value;

		for (size_t i = 0; i < p->n_containers; i++)
			p->containers[i].timed = true;
	}
}

static void on_pods_listed(const cJSON *items, void *userdata)
{
	struct pod_source *s = userdata;
	struct hashmap *seen = hashmap_new();
	struct hashmap_iter it;
	const cJSON *item;
	const void *key;
	void *value;

	if (!seen) {
		log_error("Out of memory while listing pods.");
		return;
	}
	cJSON_ArrayForEach(item, items) {
		struct pod_info *info = parse_or_warn(item);
		const char *uid = json_string(cJSON_GetObjectItemCaseSensitive(item, "metadata"), "uid");

		/* A pod we cannot read now keeps what it had. */
		if (uid)
			(void)hashmap_put_str(seen, uid, (void *)item, NULL);
		if (info)
			pod_update(s, info);
	}
	hashmap_iter_init(&it, s->pods);
	while (hashmap_iter_next(&it, &key, NULL, &value))
		if (!hashmap_get_str(seen, key))
			pod_delete(s, key);
	hashmap_free(seen);
	if (!s->listed)
		untimed_all(s);
	s->listed = true;
}

static void on_pod_changed(const char *type, const cJSON *object, void *userdata)
{
	struct pod_source *s = userdata;

	if (strcmp(type, "DELETED") == 0) {
		const char *uid = json_string(cJSON_GetObjectItemCaseSensitive(object, "metadata"), "uid");

		if (uid)
			pod_delete(s, uid);
		return;
	}
	struct pod_info *info = parse_or_warn(object);

	if (info)
		pod_update(s, info);
}

static void rescan(struct pod_source *s)
{
	struct hashmap_iter it;
	void *value;
	size_t items = 0;
	unsigned turns;
	bool batch = false;

	hashmap_iter_init(&it, s->pods);
	while (hashmap_iter_next(&it, NULL, NULL, &value))
		items += ((struct pod *)value)->n_items;
	/* Every pod once in this many ticks, so that a tick resolves about
	 * POD_RESCAN_BUDGET paths. */
	turns = MAX(1u, (unsigned)((items + POD_RESCAN_BUDGET - 1) / POD_RESCAN_BUDGET));
	s->tick++;
	hashmap_iter_init(&it, s->pods);
	while (hashmap_iter_next(&it, NULL, NULL, &value)) {
		struct pod *p = value;

		if ((p->slot + s->tick) % turns == 0)
			resolve_pod(s, p, &batch);
	}
	identity_end_lazily(s->identity, &batch);
}

static int on_rescan_timer(sd_event_source *es, uint64_t usec, void *userdata)
{
	struct pod_source *s = userdata;

	rescan(s);
	return sd_event_source_set_time_relative(es, s->rescan_usec);
}

void pod_source_apply(struct pod_source *s, const struct policy_set *policies)
{
	struct hashmap_iter it;
	struct pod **pods;
	void *value;
	size_t n = 0;

	s->policies = policies;
	/* Rebuild every pod from its last known object, keeping inodes
	 * where the item is unchanged; collected first because rebuilding
	 * replaces the pods in the map. */
	pods = calloc(MAX(hashmap_size(s->pods), 1u), sizeof(*pods));
	if (!pods) {
		log_error("Out of memory applying policies to pods.");
		return;
	}
	hashmap_iter_init(&it, s->pods);
	while (hashmap_iter_next(&it, NULL, NULL, &value))
		pods[n++] = value;
	for (size_t i = 0; i < n; i++)
		pod_replace(s, pods[i], TAKE_PTR(pods[i]->info));
	free(pods);
	untimed_all(s);
}

/* What a record says of a container and its pod. */
static void describe(const struct pod_source *s, const struct container *c, struct watch_place *ret)
{
	const struct pod_info *info = c->pod->info;

	*ret = (struct watch_place){
		.namespace = info->namespace,
		.pod = info->name,
		.pod_uid = info->uid,
		.container = c->status->name,
		.container_id = c->status->container_id,
		.image = c->status->image,
		.image_id = c->status->image_id,
		.labels = info->labels,
	};
	workloads_of(s->workloads, info, &ret->workload_kind, &ret->workload);
}

bool pod_source_owner(const struct pod_source *s, uint64_t cgroup_id, struct watch_place *ret)
{
	const struct container *c;

	if (!s || !cgroup_id)
		return false;
	c = hashmap_get(s->by_cgroup, &cgroup_id, sizeof(cgroup_id));
	if (!c)
		return false;
	describe(s, c, ret);
	return true;
}

int pod_source_foreach_cgroup(const struct pod_source *s, const char *name,
			      int (*fn)(uint64_t cgroup_id, void *userdata), void *userdata)
{
	struct hashmap_iter it;
	const void *key;
	void *v;
	int r = 0;

	if (!s)
		return 0;
	hashmap_iter_init(&it, s->by_cgroup);
	while (r >= 0 && hashmap_iter_next(&it, &key, NULL, &v))
		if (strcmp(((const struct container *)v)->status->name, name) == 0)
			r = fn(*(const uint64_t *)key, userdata);
	return r;
}

uint64_t pod_source_cgroups_generation(const struct pod_source *s)
{
	return s ? s->cgroups_generation : 0;
}

bool pod_source_describe(const struct pod_source *s, const char *pod_uid, const char *container,
			 struct watch_place *ret)
{
	const struct pod *p = s && pod_uid ? hashmap_get_str(s->pods, pod_uid) : NULL;

	for (size_t i = 0; p && container && i < p->n_containers; i++)
		if (strcmp(p->containers[i].status->name, container) == 0) {
			describe(s, &p->containers[i], ret);
			return true;
		}
	return false;
}

static size_t count_items(const struct pod_source *s, bool missing_only)
{
	struct hashmap_iter it;
	void *value;
	size_t n = 0;

	if (!s)
		return 0;
	hashmap_iter_init(&it, s->pods);
	while (hashmap_iter_next(&it, NULL, NULL, &value)) {
		const struct pod *p = value;

		for (size_t i = 0; i < p->n_items; i++)
			n += !missing_only || !p->items[i].item.present;
	}
	return n;
}

size_t pod_source_n_paths(const struct pod_source *s)
{
	return count_items(s, false);
}

const struct histogram *pod_source_discovery(const struct pod_source *s)
{
	return s ? &s->discovery : NULL;
}

size_t pod_source_n_missing(const struct pod_source *s)
{
	return count_items(s, true);
}

int pod_source_new(sd_event *event, struct kube_client *client, struct watch_set *set, struct identity *identity,
		   const struct pod_source_options *o, struct pod_source **ret)
{
	static const struct reflector_ops ops = { .replace = on_pods_listed, .event = on_pod_changed };
	struct pod_source *s = calloc(1, sizeof(*s));
	_cleanup_(freep) char *selector = NULL;
	int r;

	if (!s)
		return -ENOMEM;
	s->event = sd_event_ref(event);
	s->set = set;
	s->identity = identity;
	s->rescan_usec = o->rescan_usec;
	histogram_init(&s->discovery, histogram_seconds_bounds, histogram_seconds_n_bounds);
	s->node = strdup(o->node);
	s->pods = hashmap_new();
	s->by_cgroup = hashmap_new();
	if (!s->node || !s->pods || !s->by_cgroup || workloads_new(event, client, &s->workloads) < 0 || asprintf(&selector, "spec.nodeName=%s", o->node) < 0) {
		pod_source_free(s);
		return -ENOMEM;
	}
	r = cgroup_roots_find(o->cgroup_root, &s->roots);
	if (r < 0)
		log_warning_errno(r, "No cgroup hierarchy under %s (%m): containers of this node's pods cannot be found.",
				  o->cgroup_root);
	s->have_roots = r >= 0;
	r = reflector_new(client, event, "/api/v1/pods", NULL, o->watch_timeout_s, &ops, s, &s->reflector);
	if (r >= 0)
		r = reflector_set_field_selector(s->reflector, selector);
	if (r >= 0)
		r = sd_event_add_time_relative(event, &s->rescan_timer, CLOCK_MONOTONIC, s->rescan_usec,
					       s->rescan_usec / 10, on_rescan_timer, s);
	if (r >= 0)
		r = sd_event_source_set_enabled(s->rescan_timer, SD_EVENT_ON);
	if (r < 0) {
		pod_source_free(s);
		return r;
	}
	*ret = s;
	return 0;
}

struct pod_source *pod_source_free(struct pod_source *s)
{
	struct hashmap_iter it;
	void *value;

	if (!s)
		return NULL;
	reflector_free(s->reflector);
	if (s->pods) {
		hashmap_iter_init(&it, s->pods);
		while (hashmap_iter_next(&it, NULL, NULL, &value))
			pod_free(s, value, true);
	}
	hashmap_free(s->pods);
	hashmap_free(s->by_cgroup);
	workloads_free(s->workloads);
	cgroup_roots_clear(&s->roots);
	sd_event_source_disable_unref(s->rescan_timer);
	sd_event_unref(s->event);
	free(s->node);
	free(s);
	return NULL;
}
