/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "shared/strv.h"

void strv_free(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

int strv_copy(char *const *src, size_t n, char ***ret)
{
	char **v;

	if (!src) {
		*ret = NULL;
		return 0;
	}
	v = calloc(n + 1, sizeof(char *));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (!(v[i] = strdup(src[i]))) {
			strv_free(v, i);
			return -ENOMEM;
		}
	*ret = v;
	return 0;
}
