/* SPDX-License-Identifier: MIT */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hive.h"
#include "shared/macro.h"
#include "watch/deny-safety.h"
#include "watch/process-filter.h"

static const struct critical {
	const char *path;
	bool below; /* everything below the directory path */
	const char *why;
} critical[] = {
	{ "/etc/passwd", false, "every login and most programs read the user database" },
	{ "/etc/group", false, "every login and most programs read the group database" },
	{ "/etc/shadow", false, "password logins read it, through unix_chkpwd" },
	{ "/etc/gshadow", false, "su, newgrp and group logins read it" },
	{ "/etc/nsswitch.conf", false, "every user, group and host lookup reads it" },
	{ "/etc/pam.d", true, "every login reads its PAM configuration" },
	{ "/etc/security", true, "PAM modules read it at every login" },
	{ "/etc/login.defs", false, "login, su and useradd read it" },
	{ "/etc/ld.so.cache", false, "every dynamically linked program reads it as it starts" },
	{ "/etc/ld.so.preload", false, "every dynamically linked program reads it as it starts" },
	{ "/etc/fstab", false, "the boot mounts the file systems it lists" },
	{ "/etc/sudoers", false, "sudo reads it" },
	{ "/etc/sudoers.d", true, "sudo reads it" },
	{ "/etc/ssh/sshd_config", false, "sshd reads it to accept logins" },
	{ "/usr/sbin/sshd", false, "remote logins run it" },
	{ "/usr/sbin/unix_chkpwd", false, "password logins run it" },
	{ "/usr/bin/login", false, "console logins run it" },
	{ "/usr/bin/su", false, "su logins run it" },
	{ "/usr/bin/sudo", false, "sudo runs it" },
	{ "/usr/bin/bash", false, "a shell: logins and scripts run it" },
	{ "/usr/bin/dash", false, "/bin/sh: scripts, the boot's too, run it" },
	{ "/usr/bin/sh", false, "/bin/sh: scripts, the boot's too, run it" },
	{ "/bin/sh", false, "/bin/sh: scripts, the boot's too, run it" },
	{ "/bin/bash", false, "a shell: logins and scripts run it" },
	{ "/sbin/init", false, "the kernel starts it at boot" },
	{ "/usr/sbin/init", false, "the kernel starts it at boot" },
	{ "/usr/lib/systemd/systemd", false, "the kernel starts it at boot" },
	{ "/lib/systemd/systemd", false, "the kernel starts it at boot" },
};

/* Directories of shared libraries, and the dynamic loader. */
static const char *const library_dirs[] = { "/lib", "/lib64", "/usr/lib", "/usr/lib64" };

const char *deny_critical_path(const char *path)
{
	const char *name = strrchr(path, '/');

	for (size_t i = 0; i < ARRAY_SIZE(critical); i++)
		if (critical[i].below ? policy_path_below(path, critical[i].path) : strcmp(path, critical[i].path) == 0)
			return critical[i].why;
	name = name ? name + 1 : path;
	for (size_t i = 0; i < ARRAY_SIZE(library_dirs); i++)
		if (policy_path_below(path, library_dirs[i]) && (strstr(name, ".so") || strncmp(name, "ld-", 3) == 0))
			return "a shared library or the dynamic loader: the programs linked with it load it as they start";
	return NULL;
}

void deny_safety_warnings(const struct policy_set *set, void (*fn)(const char *line, void *userdata),
			  void *userdata)
{
	for (size_t p = 0; p < set->n; p++) {
		const struct policy *pol = &set->policies[p];

		if (pol->action != POLICY_ACTION_DENY || !pol->host || !(pol->access & (HIVE_MAY_READ | HIVE_MAY_EXEC)) ||
		    (pol->filter && pol->filter->has_only))
			continue;
		for (size_t k = 0; k < pol->n_paths; k++) {
			char resolved[PATH_MAX], line[PATH_MAX * 2 + 512];
			const char *why = deny_critical_path(pol->paths[k]);

			if (!why && realpath(pol->paths[k], resolved))
				why = deny_critical_path(resolved);
			if (!why)
				continue;
			snprintf(line, sizeof(line),
				 "%s: policy \"%s\": paths[%zu]: %s is needed to boot or log in (%s); this deny refuses "
				 "it to every process%s: roll it out as \"audit-deny\" first and check what the records "
				 "name",
				 pol->file, pol->name, k, pol->paths[k], why,
				 pol->filter && pol->filter->has_except ? " its \"except\" does not name" : "");
			fn(line, userdata);
		}
	}
}
