/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harnesses: each feeds outside bytes to one parser through its
 * public entry point, as hived would get them from a file, a kubeconfig or
 * the API server. tests/fuzz/run runs them; corpus/NAME/ holds the seeds.
 */
#ifndef HIVE_FUZZ_H
#define HIVE_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shared/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input as a C string (parsers of text stop at a NUL, like a file read
 * by read_small_file() would be), with hived's logging silenced. */
static inline char *fuzz_text(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);

	log_set_max_level(-1);
	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	return text;
}

#endif
