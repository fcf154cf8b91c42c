/* SPDX-License-Identifier: MIT */
#ifndef HIVE_FDSTORE_H
#define HIVE_FDSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-bus.h>

/*
 * The kernel side kept across a restart of the agent. hived hands its BPF
 * maps and attached links to systemd's file descriptor store
 * (FileDescriptorStoreMax= in hive.service); systemd keeps them while the
 * service restarts (systemctl restart, a package upgrade, a crash with
 * Restart=on-failure) and closes them when it stops. So the hooks stay
 * attached and keep recording into the same ring buffer while no agent runs,
 * and the next agent adopts the maps, reads what was recorded meanwhile, and
 * replaces the programs (new ones attached before the old ones go).
 */

enum kept_map {
	KEPT_WATCHES,
	KEPT_EVENTS,
	KEPT_DEDUP,
	KEPT_STATS,
	KEPT_CONTROL,
	_KEPT_MAP_MAX,
};

#define KEPT_LINKS_MAX 8

struct kept_bpf {
	int maps[_KEPT_MAP_MAX]; /* -1: none */
	int links[KEPT_LINKS_MAX];
	size_t n_links;
};

#define KEPT_BPF_NONE                                                                                          \
	(struct kept_bpf)                                                                                      \
	{                                                                                                      \
		.maps = { -1, -1, -1, -1, -1 }                                                                 \
	}

/* What the service manager passed us (LISTEN_FDS); anything else is closed. */
void kept_bpf_take(struct kept_bpf *k);
static inline bool kept_bpf_any(const struct kept_bpf *k)
{
	for (size_t m = 0; m < _KEPT_MAP_MAX; m++)
		if (k->maps[m] >= 0)
			return true;
	return k->n_links > 0;
}
/* Close our copies (old links: their programs detach unless stored again). */
void kept_bpf_close(struct kept_bpf *k);

/* Replace what the store holds by these maps and links. */
int kept_bpf_store(const int maps[static _KEPT_MAP_MAX], const int *links, size_t n_links);
/* Empty the store: nothing survives this agent (it attaches nothing); wait:
 * until the service manager has closed its copies (at most a second). */
void kept_bpf_unstore(bool wait);

/*
 * At SIGTERM: will what the store holds outlive us? 1 while the service
 * manager restarts us (a restart job, a package upgrade), 0 when it stops us
 * for good or there is no service manager (then ours are the only copies),
 * < 0 when it cannot tell (then systemd decides: kept if restarted).
 */
int kept_bpf_restarting(sd_bus *bus);

#endif
