/* SPDX-License-Identifier: MIT */
#ifndef HIVE_KERNEL_DENY_H
#define HIVE_KERNEL_DENY_H

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "enforce/deny-plan.h"

struct loader;
struct watch_set;

/*
 * Refusals decided in the kernel: the watch set's enforced entries written
 * into the loader's deny maps (deny-plan.h), kept in step with the set after
 * every turn of the loop that changed it (a policy reloaded, a file found,
 * replaced or gone, a filter's executable replaced). Nothing waits for this
 * agent at an open; a refusal holds across a restart while the service
 * manager keeps the program's link and maps. The fanotify enforcer
 * (enforce.h) is the other way, where the kernel has no BPF LSM.
 */
struct kernel_denier;

struct kernel_denier_options {
	struct watch_set *watches;
	/* What process filters' containers are (deny-plan.h); may be empty. */
	struct deny_containers containers;
	/* The program was attached (its first rule written): what the service
	 * manager keeps is to be stored anew. */
	void (*attach_changed)(void *userdata);
	void *userdata;
};

/* loader must be able to deny (loader_can_deny()). */
int kernel_denier_new(sd_event *event, struct loader *loader, const struct kernel_denier_options *o,
		      struct kernel_denier **ret);
struct kernel_denier *kernel_denier_free(struct kernel_denier *d);

/* Another loader (an attach mode changed, the lease moved): everything is
 * written into its maps at once, before the caller lets the old one go.
 * -EOPNOTSUPP: it cannot deny (or NULL); nothing is refused any more. */
int kernel_denier_set_loader(struct kernel_denier *d, struct loader *loader);

/* Now rather than after this turn of the loop: before the agent says it is
 * ready, so that what it says it refuses is refused. */
void kernel_denier_sync(struct kernel_denier *d);

/* Once every source has found its files: remove the rules and members a
 * previous agent left that this one does not have. Once; syncs first. */
void kernel_denier_prune(struct kernel_denier *d);

#endif
