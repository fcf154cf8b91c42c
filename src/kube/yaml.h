/* SPDX-License-Identifier: MIT */
#ifndef HIVE_KUBE_YAML_H
#define HIVE_KUBE_YAML_H

#include <cjson/cJSON.h>
#include <stddef.h>

/*
 * The part of YAML that kubeconfig files use, read into a cJSON tree: block
 * mappings and sequences (including "- key: value" items), plain, single- and
 * double-quoted scalars, comments, empty flow collections ({} and []) and one
 * leading "---". Anchors, aliases, tags, multi-line and block scalars,
 * non-empty flow collections and multiple documents are refused with the line
 * they are on, never guessed at. Scalars stay strings: a kubeconfig has no
 * other kind of value Hive reads. Input that starts with '{' is JSON.
 *
 * On error returns NULL and writes "LINE: problem" into err.
 */
cJSON *yaml_parse(const char *text, size_t len, char *err, size_t err_size);

#endif
