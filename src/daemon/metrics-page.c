/* SPDX-License-Identifier: MIT */
/*
 * The agent's figures as Prometheus metrics. Every label has few values
 * whatever the cluster's size: policy names (bounded by the policies in
 * force), access kinds, outcomes, roles, sources, HTTP verbs and codes;
 * never a path, a pod or a pid.
 */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "daemon/figures.h"
#include "daemon/metrics-page.h"
#include "kube/client.h"
#include "metrics/exposition.h"
#include "output/record.h"
#include "shared/macro.h"
#include "shared/proc-stat.h"
#include "watch/watch.h"

static void gauge(struct expo *e, const char *name, const char *help, uint64_t value)
{
	expo_family(e, name, "gauge", help);
	expo_u64(e, name, NULL, value);
}

static void build_and_role(struct expo *e, const struct metrics_sources *s)
{
	static const char *const roles[] = { "standalone", "leader", "follower", "self-attached" };
	struct utsname u;

	if (uname(&u) < 0)
		snprintf(u.release, sizeof(u.release), "unknown");
	expo_family(e, "hive_build_info", "gauge", "The agent's version, attach mode and kernel; always 1.");
	expo_u64(e, "hive_build_info",
		 (const char *const[]){ "version", HIVE_VERSION, "attach_mode", s->status->attach, "kernel", u.release,
					NULL },
		 1);
	expo_family(e, "hive_role", "gauge",
		    "1 for the agent's role: standalone, leader (holds its kernel's lease), follower, self-attached "
		    "(attached without the lease).");
	for (size_t i = 0; i < ARRAY_SIZE(roles); i++)
		expo_u64(e, "hive_role", (const char *const[]){ "role", roles[i], NULL },
			 strcmp(s->status->role, roles[i]) == 0);
}

struct by_source {
	uint64_t host, pod, node;
};

static int count_source(const struct watch_entry *entry, void *userdata)
{
	struct by_source *b = userdata;

	if (entry->presence_for)
		return 0; /* a probe for a lease holder, no file of a policy */
	if (entry->shared)
		b->node++;
	else if (entry->pod_uid)
		b->pod++;
	else
		b->host++;
	return 0;
}

static void watches(struct expo *e, const struct metrics_sources *s)
{
	struct by_source b = {};

	(void)watch_set_foreach(s->watches, count_source, &b);
	expo_family(e, "hive_watch_entries", "gauge",
		    "Watched paths by source: host policies, this node's pods, other nodes on this kernel (NodeWatch).");
	expo_u64(e, "hive_watch_entries", (const char *const[]){ "source", "host", NULL }, b.host);
	expo_u64(e, "hive_watch_entries", (const char *const[]){ "source", "pod", NULL }, b.pod);
	expo_u64(e, "hive_watch_entries", (const char *const[]){ "source", "nodewatch", NULL }, b.node);
	expo_family(e, "hive_bpf_map_capacity_entries", "gauge", "Entries the agent's BPF maps can hold.");
	expo_u64(e, "hive_bpf_map_capacity_entries", (const char *const[]){ "map", "watched", NULL }, s->max_watches);
	gauge(e, "hive_ring_buffer_capacity_bytes", "Size of the kernel-to-agent ring buffer.", s->ringbuf_bytes);
	if (s->discovery)
		expo_histogram(e, "hive_pod_discovery_seconds",
			       "From a container's first process to its first watched file in the kernel map (its "
			       "accesses meanwhile have no record); containers started while the agent followed their pod.",
			       s->discovery);
}

/* The figures hivectl status shows too (daemon/figures.c). */
static void figures_out(struct expo *e, const struct metrics_sources *s)
{
	const char *family = NULL;

	for (size_t i = 0; i < n_figures; i++) {
		const struct figure *f = &figures[i];
		const char *value = f->label_value && strcmp(f->label_value, "$output") == 0 ? s->output : f->label_value;

		if (!f->metric)
			continue;
		if (!family || strcmp(family, f->metric) != 0)
			expo_family(e, f->metric, f->type == FIGURE_COUNTER ? "counter" : "gauge", f->help);
		family = f->metric;
		expo_u64(e, f->metric, f->label_name ? (const char *const[]){ f->label_name, value, NULL } : NULL,
			 figure_value(f, s->status));
	}
}

static void one_outcome(const char *policy, const char *access, const struct record_outcomes *o, void *userdata)
{
	static const char *const names[] = { "recorded", "suppressed", "folded", "aggregated", "excepted" };
	const uint64_t values[] = { o->recorded, o->suppressed, o->folded, o->aggregated, o->excepted };
	struct expo *e = userdata;

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		expo_u64(e, "hive_accesses_total",
			 (const char *const[]){ "policy", policy, "access", access, "outcome", names[i], NULL }, values[i]);
}

static void accesses(struct expo *e, const struct metrics_sources *s)
{
	expo_family(e, "hive_accesses_total", "counter",
		    "Accesses to watched files by policy, kind and outcome: recorded (a record of its own), "
		    "suppressed (counted in a record's HIVE_SUPPRESSED), folded (reported by a folded record after its "
		    "window), aggregated (in an aggregated record), excepted (no record: the policy's \"only\" or \"except\" "
		    "left the process out), dropped (the ring buffer was full: no policy or kind "
		    "known).");
	record_outcomes_foreach(s->recorder, one_outcome, e);
	expo_u64(e, "hive_accesses_total",
		 (const char *const[]){ "policy", "", "access", "", "outcome", "dropped", NULL }, s->status->kernel.dropped);
}

static void api(struct expo *e, const struct metrics_sources *s)
{
	const struct kube_request_count *c;
	size_t n;

	if (!s->client)
		return;
	c = kube_client_requests(s->client, &n);
	expo_family(e, "hive_api_requests_total", "counter",
		    "Requests to the API server by verb (WATCH: a watch stream) and HTTP status (0: no answer).");
	for (size_t i = 0; i < n; i++) {
		char code[16];

		snprintf(code, sizeof(code), "%ld", c[i].code);
		expo_u64(e, "hive_api_requests_total", (const char *const[]){ "verb", c[i].verb, "code", code, NULL },
			 c[i].n);
	}
	expo_family(e, "hive_api_lists_total", "counter",
		    "Full lists of a resource (pods, policies, NodeWatches): each one's first, and relists after a "
		    "watch expired or failed.");
	expo_u64(e, "hive_api_lists_total", NULL, kube_client_watch_stats(s->client)->lists);
	expo_family(e, "hive_api_watch_restarts_total", "counter", "Watch streams that ended and were started again.");
	expo_u64(e, "hive_api_watch_restarts_total", NULL,
		 kube_client_watch_stats(s->client)->watch_restarts);
	expo_family(e, "hive_api_last_success_timestamp_seconds", "gauge",
		    "When the API server last answered with success (0: never).");
	expo_double(e, "hive_api_last_success_timestamp_seconds", NULL,
		    (double)kube_client_last_success_usec(s->client) / USEC_PER_SEC);
}

/* The usual process_* metrics, from /proc/self. */
static void process(struct expo *e)
{
	long tick = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	struct timespec now, boot;
	struct rlimit lim = {};
	struct proc_stat st;
	uint64_t fds = 0;
	DIR *d;

	if (proc_stat_read(0, &st) < 0)
		return;
	if ((d = opendir("/proc/self/fd"))) {
		while (readdir(d))
			fds++;
		closedir(d);
		fds = fds > 3 ? fds - 3 : 0; /* ".", "..", and the one opendir() holds */
	}
	(void)getrlimit(RLIMIT_NOFILE, &lim);
	clock_gettime(CLOCK_REALTIME, &now);
	clock_gettime(CLOCK_BOOTTIME, &boot);
	expo_family(e, "process_cpu_seconds_total", "counter", "User and system CPU time spent, in seconds.");
	expo_double(e, "process_cpu_seconds_total", NULL, (double)(st.utime + st.stime) / tick);
	gauge(e, "process_resident_memory_bytes", "Resident memory size in bytes.", (uint64_t)st.rss * page);
	gauge(e, "process_virtual_memory_bytes", "Virtual memory size in bytes.", st.vsize);
	gauge(e, "process_open_fds", "Number of open file descriptors.", fds);
	gauge(e, "process_max_fds", "Maximum number of open file descriptors.", lim.rlim_cur);
	expo_family(e, "process_start_time_seconds", "gauge", "Start time of the process since the epoch, in seconds.");
	expo_double(e, "process_start_time_seconds", NULL,
		    (double)now.tv_sec + now.tv_nsec / 1e9 - (boot.tv_sec + boot.tv_nsec / 1e9) + (double)st.start / tick);
}

char *metrics_page(const struct metrics_sources *s, int *error)
{
	struct expo e = {};

	build_and_role(&e, s);
	figures_out(&e, s);
	watches(&e, s);
	accesses(&e, s);
	api(&e, s);
	process(&e);
	return expo_finish(&e, error);
}
