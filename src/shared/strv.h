/* SPDX-License-Identifier: MIT */
#ifndef HIVE_STRV_H
#define HIVE_STRV_H

#include <stddef.h>

/* Arrays of n strings (the array may be NULL when n is 0). */
void strv_free(char **v, size_t n);
/* A deep copy of src (NULL stays NULL); -ENOMEM. */
int strv_copy(char *const *src, size_t n, char ***ret);

#endif
