/* SPDX-License-Identifier: MIT */
#include <unistd.h>

#include "kernel/kept.h"

bool kept_bpf_any(const struct kept_bpf *k)
{
	for (size_t m = 0; m < _KEPT_MAP_MAX; m++)
		if (k->maps[m] >= 0)
			return true;
	return k->n_links > 0;
}

void kept_bpf_close(struct kept_bpf *k)
{
	for (size_t m = 0; m < _KEPT_MAP_MAX; m++)
		if (k->maps[m] >= 0)
			close(k->maps[m]);
	for (size_t i = 0; i < k->n_links; i++)
		close(k->links[i]);
	*k = KEPT_BPF_NONE;
}

void kept_refusals_close(struct kept_refusals *k)
{
	if (k->link >= 0)
		close(k->link);
	if (k->events >= 0)
		close(k->events);
	*k = KEPT_REFUSALS_NONE;
}
