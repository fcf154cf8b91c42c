/* SPDX-License-Identifier: MIT */
#ifndef HIVE_BUS_H
#define HIVE_BUS_H

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

/*
 * hived's D-Bus API on the system bus, for hivectl. Only root may call it:
 * the bus policy (io.hive.Hive1.conf) refuses everyone else, and the methods
 * check the caller again.
 *
 *   Status() -> a{sv}            attach mode, role, counters, ...
 *   ListWatches() -> a(sssssssts)
 *       key, path, policy, node, namespace, pod, container, inode, dev "MAJ:MIN"
 */
#define HIVE_BUS_NAME "io.hive.Hive1"
#define HIVE_BUS_PATH "/io/hive/Hive1"
#define HIVE_BUS_INTERFACE "io.hive.Hive1"

struct manager;

/* Connect, export the object, ask for the name (a refusal is logged when
 * the bus answers). */
int bus_setup(struct manager *m, sd_event *event, sd_bus **ret);

#endif
