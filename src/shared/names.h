/* SPDX-License-Identifier: MIT */
#ifndef HIVE_NAMES_H
#define HIVE_NAMES_H

#include <stdbool.h>

/* Kubernetes' name rules (apimachinery validation), for what policies name. */

/* RFC 1123 label: [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63. Namespaces, containers, policies. */
bool dns_label_is_valid(const char *s);
/* RFC 1123 subdomain: dot-separated labels, at most 253. Pod and node names. */
bool dns_subdomain_is_valid(const char *s);
/* Label key: [prefix/]name, prefix a subdomain, name a qualified name. */
bool label_key_is_valid(const char *s);
/* Label value: empty, or at most 63 of [A-Za-z0-9-_.] starting and ending alphanumeric. */
bool label_value_is_valid(const char *s);
/* An object kind: [A-Za-z][A-Za-z0-9]*, at most 63 ("ReplicaSet"). */
bool kind_is_valid(const char *s);

#endif
