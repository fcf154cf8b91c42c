/* SPDX-License-Identifier: MIT */
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/utsname.h>
#include <systemd/sd-daemon.h>

#include "daemon/bus.h"
#include "cluster/cluster.h"
#include "daemon/config.h"
#include "daemon/fleet-warnings.h"
#include "daemon/metrics-page.h"
#include "metrics/http.h"
#include "daemon/fdstore.h"
#include "daemon/refusals.h"
#include "watch/host.h"
#include "kernel/identity.h"
#include "kernel/loader.h"
#include "daemon/manager.h"
#include "daemon/sandbox.h"
#include "output/output.h"
#include "cluster/pods.h"
#include "watch/policy.h"
#include "cluster/selection.h"
#include "output/record.h"
#include "cluster/resources.h"
#include "shared/fileio.h"
#include "shared/log.h"
#include "shared/message-id.h"
#include "watch/change-events.h"
#include "watch/watch.h"

#define STATUS_INTERVAL_USEC (2 * USEC_PER_SEC)
#define PRUNE_DELAY_USEC (30 * USEC_PER_SEC)

struct manager {
	sd_event *event;
	struct config *config;
	struct policy_set *files;    /* from the policy directory */
	struct policy_set *policies; /* in force: files and resource policies */
	struct resources *resources; /* NULL: standalone */
	struct watch_set *watches;
	struct host_source *host;
	struct pod_source *pods; /* NULL: standalone */
	struct identity *identity; /* made once, for every source */
	struct loader *loader;     /* NULL while this agent attaches no hooks */
	/* Changes seen through fanotify where the loader's hooks see none
	 * (NULL: fanotify cannot here), and its descriptor's source. */
	struct change_events *changes;
	sd_event_source *changes_source;
	struct refusals *refusals; /* of deny policies (NULL: no mechanism here) */
	enum attach_mode attach;   /* to attach: the configuration's, until auto leaves fentry */
	struct kept_bpf kept;      /* from the agent before this one, until adopted or dropped */
	struct kept_refusals kept_refusals; /* its deny program alone, until refusals take it */
	sd_event_source *prune_timer;
	sd_event_source *ring_source;
	sd_event_source *status_timer;
	sd_event_source *stats_timer;
	sd_event_source *flush_timer;
	struct recorder *recorder;
	sd_bus *bus;
	struct cluster *cluster; /* NULL: standalone */
	struct metrics_server *metrics; /* NULL: no [metrics] listen */
	struct fleet_warnings fleet;
	uint64_t lease_transitions;
	sd_event_source *exit_timer;
	char *node_name;
	char *kernel_id;
	struct loader_stats reported;
	struct loader_stats stats_base; /* counted by loaders since replaced */
	uint32_t unseen; /* change kinds neither the hooks nor fanotify see */
	int changes_error; /* why there is no fanotify group, or 0 */
	bool reload_failed;
	uint64_t reloads_applied, reloads_refused;
	bool starting;      /* READY=1 not sent yet */
	bool ready_pending; /* READY=1 once the host paths are resolved */
	unsigned ring_budget; /* events left in this dispatch; 0: no limit */
};

/*
 * Events handled per dispatch of the ring buffer. Under a flood the ring is
 * never empty: without a limit one dispatch would never end, and timers
 * (status, flusher, watchdog) and the resolution of paths would starve. The
 * ring's fd stays readable, so the rest comes at the next turn.
 */
#define RING_BATCH 2048

static int on_event(const struct hive_event *ev, void *userdata)
{
	struct manager *m = userdata;
	/* A decision of the deny program, whichever loader holds it (one of
	 * it alone has no attach mode); else what a previous agent's hooks
	 * queued is read with none of ours attached (a follower's start). */
	bool decided = ev->flags & HIVE_EVENT_PERMISSION;

	record_event(m->recorder, ev,
		     decided ? "lsm" : attach_mode_to_string(m->loader ? loader_mode(m->loader) : ATTACH_NONE),
		     !decided && m->loader && m->flush_timer && loader_has_flusher(m->loader));
	if (m->ring_budget && --m->ring_budget == 0)
		return -EAGAIN; /* this event is consumed; the next wait for on_ring() */
	return 0;
}

static void on_change(const struct hive_ext_event *ce, void *userdata)
{
	struct manager *m = userdata;

	if (m->loader)
		record_event(m->recorder, &ce->ev, attach_mode_to_string(loader_mode(m->loader)), false);
}

static void on_decided(void *userdata, const struct hive_event *ev)
{
	struct manager *m = userdata;

	record_event(m->recorder, ev, "fanotify", false);
}

static const char *process_container(void *userdata, uint64_t cgroup_id)
{
	struct manager *m = userdata;
	struct watch_place place = {};

	return pod_source_owner(m->pods, cgroup_id, &place) ? place.container : NULL;
}

static int on_changes(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct manager *m = userdata;
	int r = change_events_consume(m->changes, RING_BATCH);

	if (r < 0 && r != -EAGAIN)
		log_warning_errno(r, "Cannot read changes from fanotify: %m");
	return 0;
}

/* For records: the pod of a process, when it runs in one of this node's. */
static bool process_place(void *userdata, uint64_t cgroup_id, struct watch_place *ret)
{
	struct manager *m = userdata;

	return pod_source_owner(m->pods, cgroup_id, ret);
}

/* For records: what is known now of a watched file's pod. */
static bool pod_place(void *userdata, const char *pod_uid, const char *container, struct watch_place *ret)
{
	struct manager *m = userdata;

	return pod_source_describe(m->pods, pod_uid, container, ret);
}

static int on_ring(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct manager *m = userdata;
	int r;

	m->ring_budget = RING_BATCH;
	r = loader_consume(m->loader);
	m->ring_budget = 0;
	if (r < 0 && r != -EAGAIN)
		log_warning_errno(r, "Cannot read events from the ring buffer: %m");
	return 0;
}

static void stats_get(struct manager *m, struct loader_stats *st)
{
	struct change_events_stats changes;
	struct refusals_stats rs;

	*st = m->stats_base;
	if (m->loader && loader_stats_add(m->loader, st) < 0)
		*st = m->stats_base; /* this once, what earlier loaders counted */
	/* Changes told by fanotify are accesses like the hooks' ones; an
	 * overflow of its queue lost at least one. */
	change_events_stats_get(m->changes, &changes);
	st->matched += changes.reported + changes.lost;
	st->emitted += changes.reported;
	st->dropped += changes.lost;
	/* A decision of the deny program whose event found no room is an
	 * access unrecorded. */
	refusals_stats_get(m->refusals, &rs);
	st->matched += rs.dropped;
	st->dropped += rs.dropped;
}

void manager_get_status(struct manager *m, struct manager_status *ret)
{
	struct refusals_stats rs;

	*ret = (struct manager_status){
		.attach = m->loader ? attach_mode_to_string(loader_mode(m->loader)) : "none",
		.role = m->cluster ? cluster_role(m->cluster) : "standalone",
		.node = m->node_name,
		.kernel_id = m->kernel_id,
		.n_policies = m->policies->n,
		.n_inodes = watch_set_n_inodes(m->watches),
		.n_entries = watch_set_n_entries(m->watches),
		.n_missing = (m->host ? host_source_n_missing(m->host) : 0) + pod_source_n_missing(m->pods),
		.records = record_counters(m->recorder)->records,
		.output_errors = record_counters(m->recorder)->output_errors,
		.unmatched = record_counters(m->recorder)->unmatched,
		.excepted = record_counters(m->recorder)->excepted,
		.lease_transitions = m->lease_transitions,
		.last_reload_failed = m->reload_failed,
		.reloads_applied = m->reloads_applied,
		.reloads_refused = m->reloads_refused,
	};
	stats_get(m, &ret->kernel);
	refusals_stats_get(m->refusals, &rs);
	ret->denied = rs.denied;
	ret->allowed = rs.allowed;
	ret->ring_used = m->loader ? loader_ring_used(m->loader) : 0;
	resources_count(m->resources, &ret->objects_applied, &ret->objects_rejected);
}

const struct watch_set *manager_get_watches(struct manager *m)
{
	return m->watches;
}

/* STATUS=, after what (e.g. "READY=1\n") in the same message: whoever
 * reads READY=1 reads the status that goes with it. */
static void send_status(struct manager *m, const char *what, const struct manager_status *st)
{
	char missing[48] = "", missed[48] = "";

	if (st->n_missing)
		snprintf(missing, sizeof(missing), " (%zu paths not present)", st->n_missing);
	if (st->kernel.missed)
		snprintf(missed, sizeof(missed), ", %llu hook runs missed", (unsigned long long)st->kernel.missed);
	sd_notifyf(false,
		   "%sSTATUS=%s%s%s mode; watching %zu inodes for %zu entries%s; %llu records, %llu suppressed, "
		   "%llu dropped%s%s",
		   what, m->cluster ? st->role : "", m->cluster ? ", " : "", st->attach, st->n_inodes, st->n_entries,
		   missing, (unsigned long long)st->records,
		   (unsigned long long)st->kernel.suppressed, (unsigned long long)st->kernel.dropped, missed,
		   st->last_reload_failed ? "; last reload FAILED, old policies kept" : "");
}

static void notify_status(struct manager *m, const char *what)
{
	struct manager_status st;

	manager_get_status(m, &st);
	send_status(m, what, &st);
}

static void report_stats(struct manager *m, bool final)
{
	struct loader_stats st = {};

	stats_get(m, &st);
	if (!final && memcmp(&st, &m->reported, sizeof(st)) == 0)
		return;
	log_id(st.dropped > m->reported.dropped ? LOG_WARNING : LOG_INFO, HIVE_MESSAGE_STATS,
	       "%sStats: %llu accesses matched, %llu records written, %llu suppressed, %llu dropped "
	       "(ring buffer full), %llu for removed watches, %llu aggregated, %llu hook runs missed, %llu excepted by "
	       "process filters.",
	       final ? "Final " : "", (unsigned long long)st.matched,
	       (unsigned long long)record_counters(m->recorder)->records, (unsigned long long)st.suppressed,
	       (unsigned long long)st.dropped, (unsigned long long)record_counters(m->recorder)->unmatched,
	       (unsigned long long)record_counters(m->recorder)->aggregated, (unsigned long long)st.missed,
	       (unsigned long long)record_counters(m->recorder)->excepted);
	if (st.missed > m->reported.missed)
		log_id(LOG_WARNING, HIVE_MESSAGE_MISSED,
		       "The kernel skipped %llu runs of the access hooks (%llu in all): it skips a run on a CPU "
		       "where a preempted one has not finished. Accesses among them have no record.",
		       (unsigned long long)(st.missed - m->reported.missed), (unsigned long long)st.missed);
	m->reported = st;
}

static int switch_loader(struct manager *m, enum attach_mode mode);

/* Auto mode on a kernel that preempts fentry programs: kprobe hooks, which
 * it does not, from now on (see loader_fentry_preempted()). Once: where
 * kprobes cannot attach, fentry stays and its misses are counted. */
static void leave_preempted_fentry(struct manager *m)
{
	if (m->config->attach != ATTACH_AUTO || m->attach != ATTACH_AUTO || !m->loader ||
	    !loader_fentry_preempted(m->loader))
		return;
	log_id(LOG_WARNING, HIVE_MESSAGE_MISSED,
	       "This kernel preempts the fentry hook and then skips other tasks' runs of it: moving to kprobe mode, "
	       "whose hooks it runs with preemption off.");
	m->attach = switch_loader(m, ATTACH_KPROBE) < 0 ? ATTACH_FENTRY : ATTACH_KPROBE;
	if (m->attach == ATTACH_FENTRY)
		log_warning("Staying in fentry mode: its skipped runs are counted as missed.");
}

static int on_status_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct manager *m = userdata;
	struct manager_status st;

	leave_preempted_fentry(m);
	manager_get_status(m, &st);
	send_status(m, "", &st);
	if (m->cluster)
		fleet_warnings_check(&m->fleet, m->cluster, &st, m->config->renew_deadline_s * USEC_PER_SEC);
	if (watch_set_n_unsynced(m->watches) > 0)
		watch_set_sync(m->watches);
	return sd_event_source_set_time_relative(s, STATUS_INTERVAL_USEC);
}

/* Every dedup window: have the kernel report folded accesses whose window
 * ended without a later access to carry them. */
static int on_flush_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct manager *m = userdata;

	if (m->loader && loader_has_flusher(m->loader)) {
		int r = loader_flush_folded(m->loader);

		if (r < 0 && r != -ENOBUFS)
			log_warning_errno(r, "Cannot report folded accesses: %m");
	}
	return sd_event_source_set_time_relative(s, MAX(m->config->dedup_window_ms, 100ULL) * USEC_PER_MSEC);
}

static int on_stats_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct manager *m = userdata;

	report_stats(m, false);
	return sd_event_source_set_time_relative(s, m->config->stats_interval_s * USEC_PER_SEC);
}

static int exit_now(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct manager *m = userdata;

	return sd_event_exit(m->event, 0);
}

static void released(void *userdata)
{
	exit_now(NULL, 0, userdata);
}

/* At SIGTERM: a restart leaves the hooks and the refusals attached for the
 * next agent (the service manager keeps them); a stop for good leaves
 * nothing attached or refused, and reports the pending folded counts. */
static void leave_kernel_side(struct manager *m)
{
	int r = fdstore_restarting(m->bus);

	if (r > 0 && m->loader)
		log_info("Restarting: the hooks stay attached and keep recording for the next agent.");
	if (r != 0)
		return;
	(void)fdstore_put_refusals(-1, -1);
	fdstore_empty(true);
	refusals_stop(m->refusals);
	r = m->loader ? loader_detach_and_flush_all(m->loader) : -EOPNOTSUPP;
	if (r < 0 && r != -EOPNOTSUPP)
		log_warning_errno(r, "Cannot report the last folded accesses: %m");
	/* And the changes fanotify queued: nobody reads them later. */
	if (m->loader && m->changes)
		(void)change_events_consume(m->changes, 0);
}

static int on_terminate(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	struct manager *m = userdata;

	if (m->exit_timer)
		return 0; /* already on our way out */
	sd_notify(false, "STOPPING=1\nSTATUS=Shutting down.");
	log_info("Received SIG%s, detaching.", sigabbrev_np(si->ssi_signo));
	if (m->loader || streq_ptr(refusals_mechanism(m->refusals), "kernel"))
		leave_kernel_side(m);
	/* Whatever the kernel already queued is still worth a record. */
	if (m->loader)
		loader_consume(m->loader);
	refusals_consume(m->refusals);
	report_stats(m, true);
	if (!m->cluster)
		return sd_event_exit(m->event, 0);
	/* The last status is said. */
	sd_event_source_set_enabled(m->status_timer, SD_EVENT_OFF);
	/* Hand the lease over now rather than make the next loader wait for
	 * it to expire; but do not hang on an unreachable API server. */
	sd_event_add_time_relative(m->event, &m->exit_timer, CLOCK_MONOTONIC, 3 * USEC_PER_SEC, 0, exit_now, m);
	cluster_release(m->cluster, released, m);
	return 0;
}

static int on_reload(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	manager_reload(userdata);
	return 0;
}

/* Without a cluster there are no pods to select from: say so, rather than
 * look as if such a policy were in force. */
static void warn_container_policies(const struct policy_set *policies)
{
	for (size_t i = 0; i < policies->n; i++)
		if (selection_has_containers(&policies->policies[i]))
			log_warning("Policy %s (%s) selects containers, but hived runs without a cluster (no kubeconfig): "
				    "only its host paths%s are watched.",
				    policies->policies[i].name, policies->policies[i].file,
				    policies->policies[i].host ? "" : ", of which it has none,");
}

/*
 * Put files and the cluster's resource policies in force together. On
 * failure the running set stays (and a new files is freed); on success m
 * owns files.
 */
static int apply_policies(struct manager *m, struct policy_set *files)
{
	struct policy_set *all = policy_set_new();
	int r = all ? policy_set_append(all, files) : -ENOMEM;

	/* The files first: the cluster's objects get what they leave, so
	 * that no number of them makes the files fail. */
	if (m->resources)
		resources_set_room(m->resources, POLICY_MAX_POLICIES - MIN(files->n, (size_t)POLICY_MAX_POLICIES));
	if (r >= 0 && m->resources)
		r = policy_set_append(all, resources_applied(m->resources));
	if (r >= 0)
		r = host_source_apply(m->host, all);
	if (r < 0) {
		host_source_apply(m->host, m->policies);
		policy_set_free(all);
		if (files != m->files)
			policy_set_free(files);
		return r == -E2BIG ? -EINVAL : r;
	}
	if (m->pods)
		pod_source_apply(m->pods, all);
	policy_set_free(m->policies);
	m->policies = all;
	if (files != m->files) {
		policy_set_free(m->files);
		m->files = files;
	}
	return 0;
}

static void on_resources_changed(void *userdata)
{
	struct manager *m = userdata;
	int r;

	r = apply_policies(m, m->files);
	if (r < 0)
		log_error_errno(r, "Cannot apply the cluster's policies, keeping the ones in force: %m");
	cluster_set_policy_report(m->cluster, resources_report(m->resources));
	notify_status(m, "");
}

/* READY=1 (after start or reload) means every host path is watched. */
static bool has_refusals(const struct policy_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		if (set->policies[i].action != POLICY_ACTION_LOG)
			return true;
	return false;
}

static void ready_when_settled(struct manager *m)
{
	if (!host_source_settled(m->host)) {
		m->ready_pending = true;
		return;
	}
	m->ready_pending = false;
	refusals_sync(m->refusals);
	/* Standalone, the host's paths are every source: what a previous
	 * agent refused and this one does not is allowed from now on (in a
	 * cluster, once the pods had time: on_prune_timer()). */
	if (m->starting && !m->cluster)
		refusals_settled(m->refusals);
	if (m->starting && m->ring_source && sd_event_source_set_enabled(m->ring_source, SD_EVENT_ON) < 0)
		log_error("Cannot read the ring buffer: no access is logged.");
	if (m->starting && m->changes_source && sd_event_source_set_enabled(m->changes_source, SD_EVENT_ON) < 0)
		log_error("Cannot read fanotify: no change is logged.");
	if (m->starting)
		log_info("Node %s, kernel %s: %zu policies, %zu host paths, %zu inodes watched; output to %s.",
			 m->node_name, m->kernel_id, m->policies->n, host_source_n_paths(m->host),
			 watch_set_n_inodes(m->watches), output_kind_to_string(m->config->output));
	if (m->starting && has_refusals(m->policies) && streq_ptr(refusals_mechanism(m->refusals), "kernel"))
		log_info("Deny policies are enforced in the kernel (BPF LSM): a refused open or exec fails with EACCES; "
			 "refusals hold while hived restarts (hive-policy(5)).");
	else if (m->starting && has_refusals(m->policies))
		log_info("Deny policies are enforced through fanotify permission events: a refused open or exec fails "
			 "with EPERM; while hived does not run, nothing is refused (hive-policy(5)).");
	m->starting = false;
	notify_status(m, "READY=1\n");
}

static void on_host_settled(void *userdata)
{
	struct manager *m = userdata;

	if (m->ready_pending)
		ready_when_settled(m);
	else
		notify_status(m, "");
}

int manager_reload(struct manager *m)
{
	struct policy_set *policies = NULL;
	struct diag d = {};
	int r;

	sd_notify(false, "RELOADING=1\nSTATUS=Reloading policies.");
	r = sandbox_load_policies(m->config->policy_dir, &policies, &d);
	diag_log(&d);
	if (r < 0) {
		if (r != -EINVAL)
			log_error_errno(r, "Cannot read policy directory %s: %m", m->config->policy_dir);
		log_id(LOG_ERR, HIVE_MESSAGE_RELOAD_REFUSED,
		       "Reload refused, still running the %zu policies loaded before.", m->files->n);
		m->reload_failed = true;
		goto finish;
	}

	r = apply_policies(m, policies);
	if (r < 0) {
		log_id_errno(LOG_ERR, r, HIVE_MESSAGE_RELOAD_REFUSED,
			     "Cannot apply the new policies, keeping the old ones: %m");
		m->reload_failed = true;
		goto finish;
	}
	if (!m->pods)
		warn_container_policies(m->files);
	m->reload_failed = false;
	log_info("Reloaded %zu policies from %s.", m->files->n, m->config->policy_dir);
finish:
	if (m->reload_failed)
		m->reloads_refused++;
	else
		m->reloads_applied++;
	ready_when_settled(m);
	return r;
}

static char *node_name_default(void)
{
	struct utsname u;

	if (uname(&u) < 0)
		return NULL;
	return strdup(u.nodename);
}

int manager_new(struct config *config, struct policy_set *policies, struct manager **ret)
{
	struct manager *m = calloc(1, sizeof(*m));
	int r;

	if (!m) {
		config_free(config);
		policy_set_free(policies);
		return -ENOMEM;
	}
	m->config = config;
	m->attach = config->attach;
	m->files = policies;
	m->kept = KEPT_BPF_NONE;
	m->kept_refusals = KEPT_REFUSALS_NONE;
	m->policies = policy_set_new();
	if (!m->policies) {
		r = -ENOMEM;
		goto fail;
	}

	r = read_one_line("/proc/sys/kernel/random/boot_id", &m->kernel_id);
	if (r < 0) {
		log_error_errno(r, "Cannot read the kernel's boot id: %m");
		goto fail;
	}
	m->node_name = config->node_name ? strdup(config->node_name) : node_name_default();
	if (!m->node_name) {
		r = -ENOMEM;
		goto fail;
	}
	r = sd_event_default(&m->event);
	if (r < 0)
		goto fail;
	r = watch_set_new(&m->watches);
	if (r >= 0)
		watch_set_set_tenant_quota(m->watches, config->namespace_max_files);
	if (r < 0)
		goto fail;
	r = record_new(&(struct recorder_options){
			       .watches = m->watches,
			       .kernel_id = m->kernel_id,
			       .node = m->node_name,
			       .output = config->output,
			       .json = stdout,
			       .process_place = process_place,
			       .pod_place = pod_place,
			       .record_labels = config->record_labels,
			       .userdata = m,
		       },
		       &m->recorder);
	if (r < 0)
		goto fail;
	*ret = m;
	return 0;
fail:
	manager_free(m);
	return r;
}

struct manager *manager_free(struct manager *m)
{
	if (!m)
		return NULL;
	metrics_server_free(m->metrics); /* its pages read what follows */
	sd_event_source_disable_unref(m->ring_source);
	sd_event_source_disable_unref(m->status_timer);
	sd_event_source_disable_unref(m->stats_timer);
	sd_event_source_disable_unref(m->flush_timer);
	sd_event_source_disable_unref(m->prune_timer);
	kept_bpf_close(&m->kept);
	record_free(m->recorder);
	sd_bus_flush_close_unref(m->bus);
	/* First let go of the map: the sources remove their entries as they
	 * are freed, and the map outlives us when the service manager keeps
	 * it for the next agent (which must find every watched inode in it). */
	if (m->watches)
		watch_set_set_loader(m->watches, NULL);
	/* The pod source's and the resource policies' watches are calls of
	 * the cluster's API client. */
	pod_source_free(m->pods);
	resources_free(m->resources);
	cluster_free(m->cluster);
	sd_event_source_disable_unref(m->exit_timer);
	host_source_free(m->host);
	/* After the sources: they stop following their files. */
	sd_event_source_disable_unref(m->changes_source);
	change_events_free(m->changes);
	/* Every refusal goes with it; the kernel's stay with the maps kept
	 * for the next agent (a stop has detached them). */
	refusals_free(m->refusals);
	/* Whatever the service manager keeps for the next agent stays
	 * attached; without one, our exit closes the last descriptors. */
	if (m->loader)
		loader_disconnect(m->loader);
	loader_free(m->loader);
	identity_free(m->identity);
	watch_set_free(m->watches);
	sd_event_unref(m->event);
	config_free(m->config);
	policy_set_free(m->files);
	policy_set_free(m->policies);
	free(m->node_name);
	free(m->kernel_id);
	free(m);
	return NULL;
}

/* Replace the running loader (or none) by l (or none). What the kernel queued
 * for the old one is still worth a record, read while it is m->loader (the
 * records name its mode), and what it counted is kept. Freeing it detaches
 * its programs. */
static void replace_loader(struct manager *m, struct loader *l)
{
	struct loader *old = m->loader;

	if (old)
		loader_consume(old);
	m->ring_source = sd_event_source_disable_unref(m->ring_source);
	m->loader = l;
	if (old)
		(void)loader_stats_add(old, &m->stats_base);
	loader_free(old);
}

/*
 * Attach the access hooks in mode, or none (ATTACH_NONE: an agent that is not
 * its kernel's loader), and move the watch set over. On failure the running
 * loader stays. The watch sources are not involved: they only know the watch
 * set and the identity resolver, whatever is attached.
 */
/* Once the sources had time to find their files again: drop from the
 * adopted watch map what the previous agent watched and this one does not. */
static int on_prune_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct manager *m = userdata;
	int n = watch_set_prune(m->watches);

	if (n > 0)
		log_info("No longer watching %d inodes the previous agent watched.", n);
	refusals_settled(m->refusals);
	m->prune_timer = sd_event_source_disable_unref(m->prune_timer);
	return 0;
}

static void arm_prune_timer(struct manager *m)
{
	if (!m->prune_timer)
		(void)sd_event_add_time_relative(m->event, &m->prune_timer, CLOCK_MONOTONIC, PRUNE_DELAY_USEC,
						 USEC_PER_SEC, on_prune_timer, m);
}

/* l's maps and links go to the service manager, to outlive this process. */
static void store_kernel_side(struct loader *l)
{
	int maps[_KEPT_MAP_MAX], links[KEPT_LINKS_MAX], r;
	size_t n = loader_kernel_fds(l, maps, links);

	r = fdstore_put(maps, links, n);
	if (r < 0)
		log_warning_errno(r, "Cannot hand the BPF side to the service manager (%m): a restart will "
				  "leave a moment unwatched.");
}

/* The deny program was attached: its link is kept too. */
static void on_deny_attach_changed(void *userdata)
{
	struct manager *m = userdata;

	if (m->loader)
		store_kernel_side(m->loader);
}

/*
 * A follower: the previous agent's hooks and programs go (attaching is the
 * lease holder's business), and then what they queued is read: refusals
 * its deny program made while no agent ran are records of ours.
 */
static void drop_kept(struct manager *m)
{
	int events = TAKE_FD(m->kept.maps[KEPT_EVENTS]);

	fdstore_empty(true);
	kept_bpf_close(&m->kept);
	if (events >= 0) {
		(void)loader_drain_ring(events, on_event, m);
		close(events);
	}
}

/* l is attached: the previous agent's programs can go, and l's side is kept. */
static void keep_kernel_side(struct manager *m, struct loader *l)
{
	if (kept_bpf_any(&m->kept)) {
		if (loader_adopted(l)) {
			log_id(LOG_INFO, HIVE_MESSAGE_ADOPTED,
			       "Adopted the BPF maps kept across the restart: accesses made meanwhile are read now.");
			arm_prune_timer(m);
		}
		kept_bpf_close(&m->kept); /* the old programs detach now that ours are attached */
	}
	store_kernel_side(l);
}

/* What the hooks of l do not see, fanotify may; what neither sees is said. */
static void say_unseen(struct manager *m, struct loader *l)
{
	uint32_t seen;

	seen = change_events_start(m->changes, loader_unseen(l) || loader_unseen_calls(l) ? l : NULL);
	m->unseen = loader_unseen(l) & ~seen;
	if (m->unseen) {
		char unseen[96];

		log_warning("In %s mode on this kernel, %s changes are not seen%s%s%s: policies that ask for them get "
			    "no such records (hived(8), ATTACH MODES).",
			    attach_mode_to_string(loader_mode(l)), access_to_string(m->unseen, unseen, sizeof(unseen)),
			    m->changes_error ? " (fanotify: " : "", m->changes_error ? strerror(-m->changes_error) : "",
			    m->changes_error ? ")" : "");
	} else if (loader_unseen(l))
		log_info("Changes to watched files are seen through fanotify.");
	if (loader_unseen_calls(l))
		log_warning("In %s mode, %s is %s (hived(8), ATTACH MODES).", attach_mode_to_string(loader_mode(l)),
			    loader_unseen_calls(l),
			    seen & HIVE_ACCESS_TRUNCATE ? "seen on watched files (through fanotify), not on the files of a tree"
							: "not seen: policies get no record of it");
	/* An open through an overlay ends with the overlay's file: the layer
	 * below is checked only inside the kernel. */
	if (m->pods && loader_mode(l) == ATTACH_TRACEPOINT)
		log_warning("In tracepoint mode, a container's file read through another overlay mounted over its "
			    "layers is not seen (its layers read directly are) (hived(8), ATTACH MODES).");
}

/* How this agent's loaders are made, in mode. */
static struct loader_options loader_options_of(const struct manager *m, enum attach_mode mode)
{
	return (struct loader_options){
		.mode = mode,
		.with_generation = identity_from_kernel(m->identity),
		.dedup_window_ns = m->config->dedup_window_ms * NSEC_PER_MSEC,
		.dedup_entries = m->config->dedup_entries,
		.max_watches = m->config->max_watches,
		.ringbuf_bytes = m->config->ringbuf_kib * 1024,
		.ancestors = m->config->ancestors,
		/* Its program refuses while this agent attaches hooks (refusals.h). */
		.deny = true,
		.kept = &m->kept,
	};
}

static int switch_loader(struct manager *m, enum attach_mode mode)
{
	struct loader_options o = loader_options_of(m, mode);
	char notes[LOADER_NOTES_SIZE];
	struct loader *l = NULL;
	int r;

	if (mode == ATTACH_NONE) {
		if (m->loader)
			log_info("Detaching: not this kernel's loader.");
		watch_set_set_loader(m->watches, NULL);
		(void)change_events_start(m->changes, NULL);
		/* Before the loader goes: its refusals are made elsewhere. */
		refusals_follow(m->refusals, NULL);
		replace_loader(m, NULL);
		/* At start in a cluster, the lease decides whether we adopt what
		 * the previous agent left attached; once it has, a follower keeps
		 * nothing attached beyond its own life. */
		if (m->cluster)
			drop_kept(m);
		notify_status(m, "");
		return 0;
	}
	r = loader_new(&o, on_event, m, &l, notes);
	if (r < 0)
		return log_id_errno(LOG_ERR, r, HIVE_MESSAGE_ATTACH_FAILED,
				    "Cannot load the BPF program in %s mode: %m (%s)%s", attach_mode_to_string(o.mode),
				    notes, r == -EPERM ? "; hived needs CAP_BPF and CAP_PERFMON (run as root)" : "");
	log_id(LOG_INFO, HIVE_MESSAGE_ATTACHED, "Attached in %s mode%s%s.", attach_mode_to_string(loader_mode(l)),
	       notes[0] ? "; skipped: " : "", notes);
	say_unseen(m, l);

	/* The new programs are attached and their map filled before the old
	 * ones go: duplicates for a moment, never a gap. */
	r = watch_set_set_loader(m->watches, l);
	if (r < 0)
		log_warning_errno(r, "Some watched inodes did not fit in the kernel map: %m");
	refusals_follow(m->refusals, l);
	replace_loader(m, l);
	keep_kernel_side(m, l);
	r = sd_event_add_io(m->event, &m->ring_source, loader_event_fd(l), EPOLLIN, on_ring, m);
	/* Until the host paths are first resolved, an event (one the previous
	 * agent's hooks recorded while none ran) would find no watch: it
	 * waits in the ring. */
	if (r >= 0 && m->starting)
		r = sd_event_source_set_enabled(m->ring_source, SD_EVENT_OFF);
	if (r < 0)
		log_error_errno(r, "Cannot watch the ring buffer: %m");
	notify_status(m, "");
	return 0;
}

static void on_leader(bool attach, void *userdata)
{
	struct manager *m = userdata;

	m->lease_transitions++;
	if (switch_loader(m, attach ? m->attach : ATTACH_NONE) < 0 && attach)
		log_error("This agent should be its kernel's loader but could not attach: nothing is logged on this "
			  "kernel.");
}

static int container_cgroups(void *userdata, const char *name, int (*fn)(uint64_t cgroup_id, void *ctx), void *ctx)
{
	struct manager *m = userdata;

	return pod_source_foreach_cgroup(m->pods, name, fn, ctx);
}

static uint64_t container_cgroups_generation(void *userdata)
{
	struct manager *m = userdata;

	return pod_source_cgroups_generation(m->pods);
}

/* Refusals in the kernel where it runs BPF LSM programs, else through
 * fanotify (refusals.h). */
static int start_refusals(struct manager *m)
{
	struct loader_options o = loader_options_of(m, ATTACH_NONE);

	return refusals_new(m->event,
			    &(struct refusals_options){ .watches = m->watches,
							.containers = { .foreach = container_cgroups,
									.generation = container_cgroups_generation,
									.userdata = m },
							.loader = o,
							.on_event = on_event,
							.hooks_side_changed = on_deny_attach_changed,
							.container = process_container,
							.decided = on_decided,
							.userdata = m },
			    m->loader, &m->kept_refusals, &m->refusals);
}

/* Cluster mode: the lease, NodeWatches, this node's pods, policy objects. */
static int start_cluster(struct manager *m)
{
	const struct config *c = m->config;
	int r;

	r = cluster_new(m->event,
			&(struct cluster_options){
				.kubeconfig = c->kubeconfig,
				.namespace = c->kube_namespace,
				.node = m->node_name,
				.kernel_id = m->kernel_id,
				.lease = {
					.duration_usec = c->lease_duration_s * USEC_PER_SEC,
					.renew_deadline_usec = c->renew_deadline_s * USEC_PER_SEC,
					.retry_usec = c->retry_period_s * USEC_PER_SEC,
				},
				.watch_timeout_s = c->watch_timeout_s,
				.identity = m->identity,
				/* systemd's RuntimeDirectory=, writable under ProtectSystem=strict */
				.runtime_dir = getenv("RUNTIME_DIRECTORY") ?: "/run/hive",
				.on_leader = on_leader,
				.userdata = m,
			},
			m->watches, &m->cluster);
	if (r < 0)
		return log_error_errno(r, "Cannot join the cluster: %m");
	r = pod_source_new(m->event, cluster_client(m->cluster), m->watches, m->identity,
			   &(struct pod_source_options){
				   .node = m->node_name,
				   .cgroup_root = c->cgroup_root,
				   .rescan_usec = c->rescan_interval_ms * USEC_PER_MSEC,
				   .watch_timeout_s = c->watch_timeout_s,
			   },
			   &m->pods);
	if (r < 0)
		return log_error_errno(r, "Cannot set up pod discovery: %m");
	pod_source_apply(m->pods, m->policies);
	r = resources_new(m->event, cluster_client(m->cluster), m->node_name, c->watch_timeout_s,
			  &(struct resources_limits){ .namespace_max_policies = c->namespace_max_policies,
						      .namespace_max_paths = c->namespace_max_paths },
			  on_resources_changed, m, &m->resources);
	if (r < 0)
		return log_error_errno(r, "Cannot set up policies from the cluster: %m");
	return 0;
}

/* Signals, and the timers of status, counters and the flusher. */
static int start_loop_sources(struct manager *m)
{
	uint64_t flush_usec = MAX(m->config->dedup_window_ms, 100ULL) * USEC_PER_MSEC;
	int r;

	if ((r = sd_event_add_signal(m->event, NULL, SIGTERM, on_terminate, m)) < 0 ||
	    (r = sd_event_add_signal(m->event, NULL, SIGINT, on_terminate, m)) < 0 ||
	    (r = sd_event_add_signal(m->event, NULL, SIGHUP, on_reload, m)) < 0)
		return log_error_errno(r, "Cannot set up signal handling: %m");
	r = sd_event_add_time_relative(m->event, &m->status_timer, CLOCK_MONOTONIC, STATUS_INTERVAL_USEC,
				       USEC_PER_SEC / 4, on_status_timer, m);
	if (r >= 0)
		r = sd_event_add_time_relative(m->event, &m->stats_timer, CLOCK_MONOTONIC,
					       m->config->stats_interval_s * USEC_PER_SEC, USEC_PER_SEC,
					       on_stats_timer, m);
	if (r >= 0)
		r = sd_event_source_set_enabled(m->status_timer, SD_EVENT_ON);
	if (r >= 0)
		r = sd_event_source_set_enabled(m->stats_timer, SD_EVENT_ON);
	if (r >= 0 && m->config->dedup_window_ms)
		r = sd_event_add_time_relative(m->event, &m->flush_timer, CLOCK_MONOTONIC, flush_usec,
					       10 * USEC_PER_MSEC, on_flush_timer, m);
	if (r >= 0 && m->flush_timer)
		r = sd_event_source_set_enabled(m->flush_timer, SD_EVENT_ON);
	if (r < 0)
		return log_error_errno(r, "Cannot set up timers: %m");
	return 0;
}

/* The /metrics page: made from the same figures as hivectl status. */
static char *render_metrics(void *userdata, int *error)
{
	struct manager *m = userdata;
	struct manager_status st;

	manager_get_status(m, &st);
	return metrics_page(&(struct metrics_sources){
				    .status = &st,
				    .recorder = m->recorder,
				    .client = m->cluster ? cluster_client(m->cluster) : NULL,
				    .watches = m->watches,
				    .discovery = pod_source_discovery(m->pods),
				    .max_watches = m->config->max_watches,
				    .ringbuf_bytes = (uint64_t)m->config->ringbuf_kib * 1024,
				    .output = output_kind_to_string(m->config->output),
			    },
			    error);
}

static int start_metrics(struct manager *m)
{
	int r;

	if (!m->config->metrics_listen)
		return 0;
	r = metrics_server_new(m->event, m->config->metrics_listen, render_metrics, m, &m->metrics);
	if (r < 0)
		return log_error_errno(r, "Cannot serve metrics on %s: %m", m->config->metrics_listen);
	log_info("Serving metrics on http://%s/metrics.", m->config->metrics_listen);
	return 0;
}

int manager_start(struct manager *m)
{
	int kept_changes, r;

	m->starting = true;
	fdstore_take(&m->kept, &kept_changes, &m->kept_refusals);
	if (kept_bpf_any(&m->kept))
		log_info("The previous agent's BPF side is still attached (%zu links): taking it over.", m->kept.n_links);
	r = identity_new(&m->identity);
	if (r < 0)
		return log_error_errno(r, "Cannot set up inode identification: %m");
	/* Before any source finds a file: each is followed from the start. */
	r = change_events_new(m->watches, on_change, m, kept_changes, &m->changes);
	if (r > 0)
		log_info("Took over the previous agent's fanotify group: changes made meanwhile are read now.");
	if (r >= 0)
		r = sd_event_add_io(m->event, &m->changes_source, change_events_fd(m->changes), EPOLLIN, on_changes, m);
	/* Like the ring: read once the watched files are found again. */
	if (r >= 0)
		r = sd_event_source_set_enabled(m->changes_source, SD_EVENT_OFF);
	if (r >= 0) {
		watch_set_set_change_events(m->watches, m->changes);
		if (fdstore_put_changes(change_events_fd(m->changes)) < 0)
			log_debug("Cannot hand the fanotify group to the service manager.");
	} else {
		/* Said with what the hooks do not see, if anything. */
		m->changes_error = r;
		m->changes = change_events_free(m->changes);
	}
	/* In a cluster, start as a follower: the lease decides who attaches. */
	r = switch_loader(m, m->config->kubeconfig ? ATTACH_NONE : m->attach);
	if (r < 0)
		return r;
	/* In a cluster, the previous agent's program alone refuses until the
	 * pods had time to be found again (on_prune_timer()). */
	if (m->config->kubeconfig && (m->kept_refusals.link >= 0 || m->kept_refusals.events >= 0))
		arm_prune_timer(m);
	/* Before any source finds an enforced file, too. */
	r = start_refusals(m);
	if (r < 0)
		log_debug_errno(r, "Neither BPF LSM programs nor fanotify permission events here (%m): no policy can "
				"deny.");

	r = host_source_new(m->event, m->watches, m->identity, m->node_name,
			    m->config->rescan_interval_ms * USEC_PER_MSEC, &m->host);
	if (r < 0)
		return log_error_errno(r, "Cannot set up host paths: %m");
	host_source_set_settled_callback(m->host, on_host_settled, m);
	r = apply_policies(m, m->files);
	if (r < 0)
		return log_error_errno(r, "Cannot apply policies: %m");
	if (m->config->kubeconfig)
		r = start_cluster(m);
	else
		warn_container_policies(m->files);
	if (r >= 0)
		r = start_loop_sources(m);
	if (r >= 0)
		r = start_metrics(m);
	if (r < 0)
		return r;
	r = bus_setup(m, m->event, &m->bus);
	if (r == -ENOENT)
		log_notice("No D-Bus system bus here: hivectl cannot reach this agent.");
	else if (r < 0)
		log_warning_errno(r, "Not on the D-Bus system bus (%m): hivectl cannot reach this agent.");
	r = sd_event_set_watchdog(m->event, true);
	if (r < 0)
		log_warning_errno(r, "Cannot enable the watchdog: %m");

	ready_when_settled(m);
	return 0;
}

int manager_run(struct manager *m)
{
	return sd_event_loop(m->event);
}
