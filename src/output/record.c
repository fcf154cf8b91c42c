/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "output/exe-names.h"
#include "output/output.h"
#include "output/record.h"
#include "output/users.h"
#include "shared/abi.h"
#include "shared/hashmap.h"
#include "shared/log.h"
#include "shared/macro.h"
#include "shared/message-id.h"

struct recorder {
	struct recorder_options o;
	struct exe_names *exe_names;
	/* The paths ancestors' executables had in /proc/PID/exe (the agent's
	 * view, which may not be the process's): kept apart from exe_names,
	 * whose paths folded records take. */
	struct exe_names *proc_exe_names;
	struct users *users;
	struct recorder_counters counters;
	struct hashmap *outcomes; /* "POLICY\0KIND" -> struct outcome */
	uint64_t aggregating_said_ns; /* boot time of the last warning, 0: none */
};

#define AGGREGATING_WARN_EVERY_NS (60 * NSEC_PER_SEC)

/* Aggregation started (or goes on): said once a minute at most. */
static void say_aggregating(struct recorder *r, const struct hive_event *ev)
{
	r->counters.aggregated++;
	if (r->aggregating_said_ns && ev->boot_ns - r->aggregating_said_ns < AGGREGATING_WARN_EVERY_NS)
		return;
	r->aggregating_said_ns = ev->boot_ns ? ev->boot_ns : 1;
	log_id(LOG_WARNING, HIVE_MESSAGE_AGGREGATING,
	       "Records come faster than they are written: further accesses of each process group (file, access, "
	       "uid, cgroup, executable) are counted in aggregated records (HIVE_AGGREGATED=1), %llu so far.",
	       (unsigned long long)r->counters.aggregated);
}

uint64_t boottime_to_realtime_usec(uint64_t boot_ns)
{
	struct timespec rt, bt;
	int64_t offset_ns;

	/* Recomputed per event so that clock steps (NTP, suspend) are followed. */
	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_BOOTTIME, &bt);
	offset_ns = (int64_t)(rt.tv_sec - bt.tv_sec) * 1000000000LL + (rt.tv_nsec - bt.tv_nsec);
	return (uint64_t)((int64_t)boot_ns + offset_ns) / NSEC_PER_USEC;
}

int record_new(const struct recorder_options *o, struct recorder **ret)
{
	struct recorder *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	r->o = *o;
	r->exe_names = exe_names_new();
	r->proc_exe_names = exe_names_new();
	r->outcomes = hashmap_new();
	r->users = users_new(o->passwd ? o->passwd : "/etc/passwd", !o->passwd);
	if (!r->exe_names || !r->proc_exe_names || !r->users || !r->outcomes) {
		record_free(r);
		return -ENOMEM;
	}
	*ret = r;
	return 0;
}

struct recorder *record_free(struct recorder *r)
{
	if (!r)
		return NULL;
	exe_names_free(r->exe_names);
	exe_names_free(r->proc_exe_names);
	hashmap_free_with(r->outcomes, free);
	users_free(r->users);
	free(r);
	return NULL;
}

const struct recorder_counters *record_counters(const struct recorder *r)
{
	return &r->counters;
}

/* The path of an ancestor's executable: as events of it said, or, while
 * it runs, /proc/PID/exe when that is still the same file (once per file:
 * a shell's parents make every record ask). "" when gone. */
static void ancestor_exe(const struct recorder *r, const struct hive_ancestor *a, char buf[static HIVE_EXE_LEN])
{
	const char *known = exe_names_find(r->exe_names, &a->exe) ?: exe_names_find(r->proc_exe_names, &a->exe);
	char proc[64];
	struct stat st;
	ssize_t n;

	buf[0] = '\0';
	if (known) {
		snprintf(buf, HIVE_EXE_LEN, "%s", known);
		return;
	}
	if (!a->exe.ino)
		return;
	snprintf(proc, sizeof(proc), "/proc/%u/exe", a->tgid);
	if (stat(proc, &st) < 0 || st.st_ino != a->exe.ino || kernel_dev_from_user(st.st_dev) != a->exe.dev)
		return;
	n = readlink(proc, buf, HIVE_EXE_LEN - 1);
	buf[n > 0 ? n : 0] = '\0';
	if (n > 0)
		exe_names_put(r->proc_exe_names, &a->exe, buf, n == HIVE_EXE_LEN - 1);
}

static void name_of(struct recorder *r, uint32_t uid, bool wanted, char buf[static LOGIN_NAME_MAX])
{
	const char *name = wanted ? users_name(r->users, uid) : NULL;

	snprintf(buf, LOGIN_NAME_MAX, "%s", name ? name : "");
}

/* The process's comm and executable's path of ev, NUL-terminated. From the
 * kernel, not /proc/PID/exe: the process may be gone, and its pid (the
 * kernel's initial-namespace one) may name another process in the pid
 * namespace hived runs in. */
static void process_names(const struct hive_event *ev, char comm[static HIVE_COMM_LEN + 1],
			  char exe[static HIVE_EXE_LEN + 4])
{
	memcpy(comm, ev->comm, HIVE_COMM_LEN);
	comm[HIVE_COMM_LEN] = '\0';
	exe[0] = '\0';
	if (ev->exe[0])
		snprintf(exe, HIVE_EXE_LEN + 4, "%s%.*s", ev->flags & HIVE_EVENT_EXE_TRUNCATED ? "..." : "",
			 (int)sizeof(ev->exe), ev->exe);
}

/* Whether a file found in e's tree, where ext says (NULL: not said), is of
 * that tree: a shallow one ("DIR/" "*") has its root's own entries alone.
 * A folded record says not where: taken (the kernel found it at a depth
 * one of the root's trees wants). */
static bool tree_reaches(const struct watch_entry *e, const struct hive_ext *ext)
{
	return e->tree && (!e->shallow || !ext || !strchr(ext->below, '/'));
}

/* What every record of the event shares: time, names, the process's pod. */
static void fill(struct recorder *r, const struct hive_event *ev, const char *attach, struct access_record *rec)
{
	*rec = (struct access_record){
		.event = ev,
		.ext = hive_event_ext(ev),
		.lineage = hive_event_lineage(ev),
		.realtime_usec = boottime_to_realtime_usec(ev->boot_ns),
		.kernel_id = r->o.kernel_id,
		.attach = attach,
		.record_labels = r->o.record_labels,
	};
	process_names(ev, rec->comm, rec->exe);
	rec->before_exec = hive_event_before_exec(ev);
	if (rec->before_exec)
		process_names(rec->before_exec, rec->before_comm, rec->before_exe);
	memcpy(rec->tty, ev->tty, sizeof(ev->tty));
	rec->tty[sizeof(ev->tty)] = '\0';
	access_to_string(ev->mask, rec->access, sizeof(rec->access));
	if (r->o.process_place)
		r->o.process_place(r->o.userdata, ev->cgroup_id, &rec->proc);
	name_of(r, ev->auid, ev->auid != HIVE_ID_UNSET, rec->login);
	name_of(r, ev->uid, !rec->proc.pod, rec->user);
	for (uint32_t i = 0; rec->lineage && i < MIN(rec->lineage->n, (uint32_t)HIVE_ANCESTORS_MAX); i++)
		ancestor_exe(r, &rec->lineage->ancestors[i], rec->ancestor_exe[i]);
}

struct outcome {
	const char *access; /* static: access_name() */
	struct record_outcomes o;
	char policy[];
};

/* The counters of policy and kind bit, made on first use; NULL when out
 * of memory (that record is then not counted). */
static struct record_outcomes *outcomes_of(struct recorder *r, const char *policy, uint32_t bit)
{
	const char *access = access_name(bit);
	size_t plen = strlen(policy), alen = strlen(access);
	char key[plen + 1 + alen];
	struct outcome *o;

	memcpy(key, policy, plen + 1);
	memcpy(key + plen + 1, access, alen);
	o = hashmap_get(r->outcomes, key, sizeof(key));
	if (o)
		return &o->o;
	o = calloc(1, sizeof(*o) + plen + 1);
	if (!o)
		return NULL;
	o->access = access;
	memcpy(o->policy, policy, plen + 1);
	if (hashmap_put(r->outcomes, key, sizeof(key), o, NULL) < 0) {
		free(o);
		return NULL;
	}
	return &o->o;
}

static void count_outcome(struct recorder *r, const struct watch_entry *e, const struct hive_event *ev,
			  bool excepted)
{
	uint64_t n = (uint64_t)ev->suppressed + 1;

	for (size_t i = 0; i < ACCESS_N; i++) {
		struct record_outcomes *o;

		if (!(ev->mask & e->access & access_bit(i)) || !(o = outcomes_of(r, e->policy, access_bit(i))))
			continue;
		if (excepted)
			o->excepted += n;
		else if (ev->flags & HIVE_EVENT_AGGREGATED)
			o->aggregated += n;
		else if (ev->flags & HIVE_EVENT_FOLDED)
			o->folded += n;
		else {
			o->recorded++;
			o->suppressed += ev->suppressed;
		}
	}
}

void record_outcomes_foreach(const struct recorder *r, record_outcomes_fn fn, void *userdata)
{
	struct hashmap_iter it;
	void *v;

	hashmap_iter_init(&it, r->outcomes);
	while (hashmap_iter_next(&it, NULL, NULL, &v)) {
		const struct outcome *o = v;

		fn(o->policy, o->access, &o->o, userdata);
	}
}

/* The entries an event is about: its inode's, those of the name the kernel
 * found the file by, or those of the tree's root. */
static const struct watch_inode *event_entries(const struct recorder *r, const struct hive_event *ev)
{
	struct hive_watch_key file = { .ino = ev->ino, .dev = ev->dev, .gen = ev->gen };

	if (ev->flags & HIVE_EVENT_BY_NAME)
		return watch_set_find_name(r->o.watches, ev->watch_id, &ev->dir);
	if (ev->flags & HIVE_EVENT_IN_TREE)
		return watch_set_find(r->o.watches, ev->watch_id, &ev->dir);
	return watch_set_find(r->o.watches, ev->watch_id, &file);
}

/* A tree's file: its path as it sits in the tree, "/etc/sudoers.d/sub/f"
 * (the root's alone when the kernel did not say: a folded record). */
static const char *tree_path(const struct watch_entry *e, const struct hive_ext *x, char *buf, size_t size)
{
	if (!x || !x->below[0])
		return e->path;
	snprintf(buf, size, "%s%s%s%.*s", e->path, strcmp(e->path, "/") == 0 ? "" : "/",
		 x->changed & HIVE_CHANGED_BELOW_TRUNCATED ? ".../" : "", (int)sizeof(x->below), x->below);
	return buf;
}

void record_event(struct recorder *r, const struct hive_event *raw, const char *attach, bool remember)
{
	const struct watch_inode *inode;
	const struct hive_event *ev = raw;
	bool in_tree = raw->flags & HIVE_EVENT_IN_TREE;
	struct hive_event completed;
	struct access_record rec;
	char path[PATH_MAX + HIVE_PATH_LEN];
	bool filled = false;

	if (raw->flags & HIVE_EVENT_AGGREGATED)
		say_aggregating(r, raw);
	if (raw->flags & HIVE_EVENT_FOLDED) {
		completed = *raw;
		exe_names_complete(r->exe_names, &completed);
		ev = &completed;
	} else if (remember)
		exe_names_remember(r->exe_names, raw);
	inode = event_entries(r, ev);
	if (!inode) {
		r->counters.unmatched++;
		return;
	}
	/* One record per entry that wants this kind of access. */
	for (size_t i = 0; i < inode->n_entries; i++) {
		const struct watch_entry *e = inode->entries[i];
		int k;

		if (!(watch_entry_access_at(e, inode) & ev->mask) || (in_tree && !tree_reaches(e, hive_event_ext(ev))) ||
		    watch_inode_entry_repeats(inode, i))
			continue;
		/* An enforced entry's records are its permission events' alone. */
		if ((e->action != 0) != !!(ev->flags & HIVE_EVENT_PERMISSION))
			continue;
		if (!filled) {
			fill(r, ev, attach, &rec);
			filled = true;
		}
		/* A process that exec'd after the change may have made it as
		 * either program: excepted only as both. */
		if (e->filter && !watch_entry_admits(r->o.watches, e, ev, rec.proc.container) &&
		    (!rec.before_exec ||
		     !watch_entry_admits(r->o.watches, e, rec.before_exec, rec.proc.container))) {
			r->counters.excepted++;
			count_outcome(r, e, ev, true);
			continue;
		}
		rec.entry = e;
		rec.action = !(ev->flags & HIVE_EVENT_PERMISSION) ? NULL
			     : ev->flags & HIVE_EVENT_DENIED      ? "denied"
								  : "would-deny";
		rec.pod = (struct watch_place){};
		if (e->pod_uid && r->o.pod_place)
			r->o.pod_place(r->o.userdata, e->pod_uid, e->container, &rec.pod);
		rec.path = in_tree ? tree_path(e, rec.ext, path, sizeof(path)) : e->path;
		rec.node = e->node ? e->node : r->o.node;
		k = output_write(r->o.output, r->o.json, &rec);
		if (k < 0) {
			if (r->counters.output_errors++ == 0)
				log_error_errno(k, "Cannot write access record: %m");
			continue;
		}
		r->counters.records++;
		count_outcome(r, e, ev, false);
	}
}
