/* SPDX-License-Identifier: MIT */
#ifndef HIVE_KUBE_KUBECONFIG_H
#define HIVE_KUBE_KUBECONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "shared/diag.h"

/* How to reach and authenticate to one API server. */
struct kube_credentials {
	char *server; /* https://host:port, no trailing slash */
	char *ca_pem; /* NULL: the system's trust store */
	size_t ca_len;
	char *cert_pem; /* client certificate and key, or NULL */
	size_t cert_len;
	char *key_pem;
	size_t key_len;
	char *token;      /* bearer token, or NULL */
	char *token_file; /* re-read for every request: tokens rotate */
	bool insecure;    /* insecure-skip-tls-verify */
};

/* The value of --kubeconfig that means "the pod's service account". */
#define KUBECONFIG_IN_CLUSTER "in-cluster"

/*
 * Read a kubeconfig (YAML or JSON) and resolve its current context. Files it
 * names are read now, relative to the kubeconfig's directory; *-data fields
 * are base64. Exec and auth-provider plugins are refused. Problems go to d,
 * each naming the file and field; returns -EINVAL then.
 */
int kubeconfig_load(const char *path, struct kube_credentials **ret, struct diag *d);
int kubeconfig_parse(const char *label, const char *text, size_t len, const char *base_dir,
		     struct kube_credentials **ret, struct diag *d);

/* A pod's service account: $KUBERNETES_SERVICE_HOST/PORT and the files under
 * root (normally "/")var/run/secrets/kubernetes.io/serviceaccount. */
int kube_in_cluster(const char *root, struct kube_credentials **ret, struct diag *d);

struct kube_credentials *kube_credentials_dup(const struct kube_credentials *c);
struct kube_credentials *kube_credentials_free(struct kube_credentials *c);

/* Strict base64 (whitespace ignored). Returns the length or -EINVAL. */
int base64_decode(const char *in, size_t len, char **ret);

#endif
