/* SPDX-License-Identifier: MIT */
#ifndef HIVE_FROM_AUDITD_H
#define HIVE_FROM_AUDITD_H

#include <stddef.h>

/* Read auditd rules files (standard input when none) and print their file
 * watches as one Hive policy file (a JSON array) on standard output; what
 * was skipped or lost on standard error. -EINVAL when a watch was
 * malformed (the rest is still printed). */
int from_auditd(char *const *files, size_t n_files);

#endif
