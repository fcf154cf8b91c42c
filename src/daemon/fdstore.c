/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "daemon/fdstore.h"
#include "shared/log.h"
#include "shared/macro.h"

static const char *const map_names[_KEPT_MAP_MAX] = {
	[KEPT_WATCHES] = "hive-watches",
	[KEPT_EVENTS] = "hive-events",
	[KEPT_DEDUP] = "hive-dedup",
	[KEPT_STATS] = "hive-stats",
	[KEPT_CONTROL] = "hive-control",
	[KEPT_NAMES] = "hive-names",
	[KEPT_NAME_FILTER] = "hive-name-filter",
	[KEPT_EXITS] = "hive-exits",
	[KEPT_TRUNCATIONS] = "hive-truncations",
	[KEPT_CHANGERS] = "hive-changers",
	[KEPT_EXECS] = "hive-execs",
	[KEPT_CHANGED] = "hive-changed",
	[KEPT_DENIES] = "hive-denies",
	[KEPT_DENY_MEMBERS] = "hive-deny-members",
};
#define LINK_NAME "hive-link"
#define CHANGES_NAME "hive-changes"
#define REFUSALS_LINK_NAME "hive-refusals-link"
#define REFUSALS_EVENTS_NAME "hive-refusals-events"

/* fd into *slot if name is want and the slot is free. */
static bool take_one(const char *name, const char *want, int fd, int *slot)
{
	if (strcmp(name, want) != 0 || *slot >= 0)
		return false;
	*slot = fd;
	return true;
}

void fdstore_take(struct kept_bpf *k, int *ret_changes, struct kept_refusals *ret_refusals)
{
	char **names = NULL;
	int n = sd_listen_fds_with_names(true, &names);

	*k = KEPT_BPF_NONE;
	*ret_changes = -1;
	*ret_refusals = KEPT_REFUSALS_NONE;
	if (n > 0) {
		char list[512] = "";
		size_t used = 0;

		for (int i = 0; i < n && used < sizeof(list); i++)
			used += snprintf(list + used, sizeof(list) - used, "%s%s", i ? " " : "", names ? names[i] : "?");
		log_debug("The service manager passed %d descriptors: %s.", n, list);
	}
	for (int i = 0; i < n; i++) {
		int fd = SD_LISTEN_FDS_START + i;
		const char *name = names ? names[i] : "";
		bool taken = false;

		for (size_t m = 0; m < _KEPT_MAP_MAX && !taken; m++)
			if (strcmp(name, map_names[m]) == 0 && k->maps[m] < 0)
				k->maps[m] = fd, taken = true;
		if (!taken && strcmp(name, LINK_NAME) == 0 && k->n_links < KEPT_LINKS_MAX)
			k->links[k->n_links++] = fd, taken = true;
		taken = taken || take_one(name, CHANGES_NAME, fd, ret_changes) ||
			take_one(name, REFUSALS_LINK_NAME, fd, &ret_refusals->link) ||
			take_one(name, REFUSALS_EVENTS_NAME, fd, &ret_refusals->events);
		if (!taken) {
			log_debug("Closing an unknown descriptor from the service manager (%s).", name);
			close(fd);
		}
		free(names ? names[i] : NULL);
	}
	free(names);
	if (n < 0)
		log_warning_errno(n, "Cannot read the descriptors passed by the service manager: %m");
}

static void unstore_name(const char *name)
{
	char msg[64];

	snprintf(msg, sizeof(msg), "FDSTOREREMOVE=1\nFDNAME=%s", name);
	(void)sd_notify(false, msg);
}

void fdstore_empty(bool wait)
{
	for (size_t m = 0; m < _KEPT_MAP_MAX; m++)
		unstore_name(map_names[m]);
	unstore_name(LINK_NAME);
	if (wait)
		(void)sd_notify_barrier(false, USEC_PER_SEC);
}

int fdstore_restarting(sd_bus *bus)
{
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *unit = NULL, *job = NULL;
	_cleanup_(freep) char *type = NULL;
	const char *unit_path, *job_path;
	uint32_t job_id;
	int r;

	if (!getenv("NOTIFY_SOCKET"))
		return 0;
	if (!bus)
		return -ENOTCONN;
	(void)sd_bus_set_method_call_timeout(bus, USEC_PER_SEC);
	r = sd_bus_call_method(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
			       "org.freedesktop.systemd1.Manager", "GetUnitByPID", &error, &unit, "u", (uint32_t)getpid());
	if (r >= 0)
		r = sd_bus_message_read(unit, "o", &unit_path);
	if (r >= 0)
		r = sd_bus_get_property(bus, "org.freedesktop.systemd1", unit_path, "org.freedesktop.systemd1.Unit",
					"Job", &error, &job, "(uo)");
	if (r >= 0)
		r = sd_bus_message_read(job, "(uo)", &job_id, &job_path);
	if (r < 0)
		return r;
	if (job_id == 0)
		return -ENODATA;
	r = sd_bus_get_property_string(bus, "org.freedesktop.systemd1", job_path, "org.freedesktop.systemd1.Job",
				       "JobType", &error, &type);
	if (r < 0)
		return r;
	return strcmp(type, "stop") != 0;
}

int fdstore_put(const int maps[static _KEPT_MAP_MAX], const int *links, size_t n_links)
{
	char msg[80];
	int r;

	/* Our own copies keep everything attached between these messages. */
	fdstore_empty(false);
	for (size_t m = 0; m < _KEPT_MAP_MAX; m++) {
		/* FDPOLL=0: a map's descriptor polls as an error (only ring
		 * buffers implement poll), which would make systemd drop it. */
		snprintf(msg, sizeof(msg), "FDSTORE=1\nFDPOLL=0\nFDNAME=%s", map_names[m]);
		r = sd_pid_notify_with_fds(0, false, msg, &maps[m], 1);
		if (r <= 0)
			return r; /* 0: no service manager to keep them */
	}
	if (n_links == 0)
		return 1;
	return sd_pid_notify_with_fds(0, false, "FDSTORE=1\nFDPOLL=0\nFDNAME=" LINK_NAME, links, n_links);
}

int fdstore_put_changes(int fd)
{
	/* Replaces the one kept before, which is the same group or a stale one. */
	unstore_name(CHANGES_NAME);
	return sd_pid_notify_with_fds(0, false, "FDSTORE=1\nFDPOLL=0\nFDNAME=" CHANGES_NAME, &fd, 1);
}

int fdstore_put_refusals(int link, int events)
{
	int r;

	unstore_name(REFUSALS_LINK_NAME);
	unstore_name(REFUSALS_EVENTS_NAME);
	if (link < 0)
		return 0;
	r = sd_pid_notify_with_fds(0, false, "FDSTORE=1\nFDPOLL=0\nFDNAME=" REFUSALS_EVENTS_NAME, &events, 1);
	if (r > 0)
		r = sd_pid_notify_with_fds(0, false, "FDSTORE=1\nFDPOLL=0\nFDNAME=" REFUSALS_LINK_NAME, &link, 1);
	return r;
}
