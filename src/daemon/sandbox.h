/* SPDX-License-Identifier: MIT */
#ifndef HIVE_SANDBOX_H
#define HIVE_SANDBOX_H

#include "shared/diag.h"
#include "watch/policy.h"

/*
 * hive.service runs hived with a /dev and a /proc of its own
 * (PrivateDevices=, ProtectProc=): there a host path such as /dev/sda or
 * /proc/kcore names another file than the host's, or none, and watching it
 * would silently watch nothing. Host paths below a directory that hived's
 * mount namespace shows differently from PID 1's are refused, with the
 * setting that hides it. Returns -EINVAL with the problems in d.
 */
int sandbox_check_policies(const struct policy_set *set, struct diag *d);

/* policy_set_load_dir(), then the check above: what hived and --check load;
 * deny policies that would refuse what the system needs are logged as
 * warnings (watch/deny-safety.h). */
int sandbox_load_policies(const char *dir, struct policy_set **ret, struct diag *d);

#endif
