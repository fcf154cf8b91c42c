/* SPDX-License-Identifier: MIT */
#include <stdbool.h>

#include "daemon/figures.h"
#include "shared/macro.h"

#define AT(field) offsetof(struct manager_status, field)

const struct figure figures[] = {
	{ "Policies", "Policies", "hive_policies", FIGURE_GAUGE, "Policies in force (files and resources).", NULL,
	  NULL, AT(n_policies), 'z' },
	{ "LastReloadFailed", "Last reload failed", "hive_last_reload_failed", FIGURE_GAUGE,
	  "1 when the last reload was refused.", NULL, NULL, AT(last_reload_failed), 'b' },
	{ "ReloadsApplied", "Reloads applied", "hive_reloads_total", FIGURE_COUNTER,
	  "Reloads of the policy directory: applied, or refused (a bad policy; the old ones kept).", "result",
	  "applied", AT(reloads_applied), 't' },
	{ "ReloadsRefused", "Reloads refused", "hive_reloads_total", FIGURE_COUNTER, NULL, "result", "refused",
	  AT(reloads_refused), 't' },
	{ "PolicyObjectsApplied", "Policy objects applied", "hive_policy_objects", FIGURE_GAUGE,
	  "HivePolicy and HiveNamespacedPolicy objects this node applies, or refuses (their status says why).", "state",
	  "applied", AT(objects_applied), 'z' },
	{ "PolicyObjectsRejected", "Policy objects rejected", "hive_policy_objects", FIGURE_GAUGE, NULL, "state",
	  "rejected", AT(objects_rejected), 'z' },
	{ "WatchedInodes", "Watched inodes", "hive_watched_inodes", FIGURE_GAUGE,
	  "Files (inodes) the kernel map holds for the policies.", NULL, NULL, AT(n_inodes), 'z' },
	{ NULL, NULL, "hive_bpf_map_entries", FIGURE_GAUGE, "Entries of the agent's BPF maps in use.", "map", "watched",
	  AT(n_inodes), 'z' },
	{ "WatchedEntries", "Watched entries", NULL, FIGURE_GAUGE, NULL, NULL, NULL, AT(n_entries), 'z' },
	{ "MissingPaths", "Paths not present", "hive_missing_paths", FIGURE_GAUGE,
	  "Watched paths with no file yet (watched by name).", NULL, NULL, AT(n_missing), 'z' },
	{ "Records", "Records", "hive_records_total", FIGURE_COUNTER, "Records written, by output.", "output", "$output",
	  AT(records), 't' },
	{ "OutputErrors", "Records refused by the output", "hive_record_write_errors_total", FIGURE_COUNTER,
	  "Records the output refused, by output.", "output", "$output", AT(output_errors), 't' },
	{ "Matched", "Accesses matched", "hive_kernel_accesses_total", FIGURE_COUNTER,
	  "The hooks' own counts: matched (an access to a watched file), emitted (sent as an event), suppressed "
	  "(folded in the kernel), dropped (ring buffer full).",
	  "stage", "matched", AT(kernel.matched), 't' },
	{ "Emitted", "Events emitted", "hive_kernel_accesses_total", FIGURE_COUNTER, NULL, "stage", "emitted",
	  AT(kernel.emitted), 't' },
	{ "Suppressed", "Suppressed", "hive_kernel_accesses_total", FIGURE_COUNTER, NULL, "stage", "suppressed",
	  AT(kernel.suppressed), 't' },
	{ "Dropped", "Dropped", "hive_kernel_accesses_total", FIGURE_COUNTER, NULL, "stage", "dropped",
	  AT(kernel.dropped), 't' },
	{ "Missed", "Hook runs missed", "hive_hook_runs_missed_total", FIGURE_COUNTER,
	  "Runs of the access hooks the kernel skipped (a preempted run on the CPU): accesses among them have no "
	  "record.",
	  NULL, NULL, AT(kernel.missed), 't' },
	{ "RingBufferUsed", "Ring buffer awaiting the agent (bytes)", "hive_ring_buffer_used_bytes", FIGURE_GAUGE,
	  "Bytes of the kernel-to-agent ring buffer written by the hooks and not yet read; accesses are dropped when "
	  "it is full.",
	  NULL, NULL, AT(ring_used), 't' },
	{ "Unmatched", "Events for files no longer watched", "hive_events_unmatched_total", FIGURE_COUNTER,
	  "Events for files no longer watched when they were read.", NULL, NULL, AT(unmatched), 't' },
	/* Per policy and kind in hive_accesses_total{outcome="excepted"}. */
	{ "Excepted", "Records excepted by process filters", NULL, FIGURE_COUNTER, NULL, NULL, NULL, AT(excepted), 't' },
	{ "Denied", "Opens refused", "hive_permission_answers_total", FIGURE_COUNTER,
	  "Answers to the permission events of deny and audit-deny policies' files: denied (the open or exec "
	  "failed), allowed.",
	  "answer", "denied", AT(denied), 't' },
	{ "Allowed", "Opens allowed", "hive_permission_answers_total", FIGURE_COUNTER, NULL, "answer", "allowed",
	  AT(allowed), 't' },
	{ "LeaseTransitions", "Lease transitions", "hive_lease_transitions_total", FIGURE_COUNTER,
	  "Times this agent became its kernel's loader or stopped being it.", NULL, NULL, AT(lease_transitions), 't' },
};

const size_t n_figures = ARRAY_SIZE(figures);

uint64_t figure_value(const struct figure *f, const struct manager_status *st)
{
	const char *p = (const char *)st + f->offset;

	switch (f->kind) {
	case 'z':
		return *(const size_t *)p;
	case 'b':
		return *(const bool *)p;
	default:
		return *(const uint64_t *)p;
	}
}
