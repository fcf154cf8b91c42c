/* SPDX-License-Identifier: MIT */
#ifndef HIVE_FDSTORE_H
#define HIVE_FDSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-bus.h>

#include "kernel/kept.h"

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

/* What the service manager passed us (LISTEN_FDS), the fanotify group of
 * changes (*ret_changes, -1: none) and what a loader of the deny program
 * alone left (*ret_refusals); anything else is closed. */
void fdstore_take(struct kept_bpf *k, int *ret_changes, struct kept_refusals *ret_refusals);

/* Keep the fanotify group of changes (watch/change-events.h) too: what it
 * queues while no agent runs is read by the next one. Left alone by
 * fdstore_put() and fdstore_empty(). */
int fdstore_put_changes(int fd);

/* Keep the link and ring buffer of a loader of the deny program alone
 * (kept.h) instead of the ones kept before; link -1: none any more. Left
 * alone by fdstore_put() and fdstore_empty(). */
int fdstore_put_refusals(int link, int events);

/* Replace what the store holds by these maps and links. */
int fdstore_put(const int maps[static _KEPT_MAP_MAX], const int *links, size_t n_links);
/* Empty the store of the access hooks' side: nothing of it survives this
 * agent (it attaches no hooks); wait: until the service manager has closed
 * its copies (at most a second), what was removed before included. */
void fdstore_empty(bool wait);

/*
 * At SIGTERM: will what the store holds outlive us? 1 while the service
 * manager restarts us (a restart job, a package upgrade), 0 when it stops us
 * for good or there is no service manager (then ours are the only copies),
 * < 0 when it cannot tell (then systemd decides: kept if restarted).
 */
int fdstore_restarting(sd_bus *bus);

#endif
