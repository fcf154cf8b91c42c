/* SPDX-License-Identifier: MIT */
/*
 * Hive's Kubernetes client against a real API server: create, get, update
 * with optimistic concurrency (409, re-read, retry), merge patch, delete,
 * paginated list through the reflector, and the errors a TLS or
 * authentication failure gives. Prints TAP.
 *
 *   kube-client-test ADMIN_KUBECONFIG [BAD_CA_KUBECONFIG UNTRUSTED_CERT_KUBECONFIG]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/client.h"
#include "kube/kubeconfig.h"
#include "kube/reflector.h"
#include "shared/log.h"

#define NW "/apis/hive.io/v1alpha1/namespaces/hive-system/nodewatches"
#define KERNEL "11111111-2222-3333-4444-555555555555"

static sd_event *event;
static int n_tests, n_failed;

static void report(bool ok, const char *what, const struct kube_response *r)
{
	printf("%s %d - %s", ok ? "ok" : "not ok", ++n_tests, what);
	if (!ok && r)
		printf(" (status %ld%s%s%s%s)", r->status, r->error ? ", " : "", r->error ? r->error : "",
		       r->reason ? ": " : "", r->reason ? r->reason : "");
	printf("\n");
	fflush(stdout);
	n_failed += !ok;
}

/* Run one request to completion on the loop; the reply is kept for checks. */
struct result {
	bool done;
	long status;
	char error[256];
	char reason[256];
	cJSON *json;
};

static void on_done(const struct kube_response *r, void *userdata)
{
	struct result *res = userdata;

	res->done = true;
	res->status = r->status;
	snprintf(res->error, sizeof(res->error), "%s", r->error ? r->error : "");
	snprintf(res->reason, sizeof(res->reason), "%s", r->reason ? r->reason : "");
	res->json = r->json ? cJSON_Duplicate(r->json, true) : NULL;
}

static struct result call(struct kube_client *c, const char *method, const char *path, const char *body)
{
	struct result res = {};
	cJSON *json = body ? cJSON_Parse(body) : NULL;

	if (kube_request(c, method, path, json, on_done, &res, NULL) >= 0)
		while (!res.done)
			sd_event_run(event, UINT64_MAX);
	cJSON_Delete(json);
	return res;
}

static const char *rv_of(const cJSON *o)
{
	const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "metadata"), "resourceVersion");

	return cJSON_IsString(v) ? v->valuestring : "";
}

static char *object(const char *name, const char *rv, int count)
{
	char *s;

	if (asprintf(&s,
		     "{\"apiVersion\": \"hive.io/v1alpha1\", \"kind\": \"NodeWatch\", \"metadata\": {\"name\": \"%s\","
		     " \"namespace\": \"hive-system\", \"labels\": {\"hive.io/kernel-id\": \"" KERNEL "\"}%s%s%s},"
		     " \"spec\": {\"nodeName\": \"%s\", \"kernelId\": \"" KERNEL "\", \"entryCount\": %d, \"entries\": []}}",
		     name, rv ? ", \"resourceVersion\": \"" : "", rv ? rv : "", rv ? "\"" : "", name, count) < 0)
		abort();
	return s;
}

static int count_of(const cJSON *o)
{
	const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "spec"), "entryCount");

	return cJSON_IsNumber(v) ? v->valueint : -1;
}

static void crud(struct kube_client *c)
{
	char rv1[64], *body;
	struct result r;

	call(c, "DELETE", NW "/client-test", NULL);
	body = object("client-test", NULL, 1);
	r = call(c, "POST", NW, body);
	free(body);
	report(r.status == 201, "create", NULL);
	snprintf(rv1, sizeof(rv1), "%s", rv_of(r.json));
	cJSON_Delete(r.json);

	r = call(c, "GET", NW "/client-test", NULL);
	report(r.status == 200 && count_of(r.json) == 1 && strcmp(rv_of(r.json), rv1) == 0, "get", NULL);
	cJSON_Delete(r.json);

	body = object("client-test", rv1, 2);
	r = call(c, "PUT", NW "/client-test", body);
	free(body);
	report(r.status == 200 && count_of(r.json) == 2, "update with the current resourceVersion", NULL);
	cJSON_Delete(r.json);

	/* Someone else's version moved on: the stale write is refused... */
	body = object("client-test", rv1, 3);
	r = call(c, "PUT", NW "/client-test", body);
	free(body);
	report(r.status == 409, "update with a stale resourceVersion is a 409 Conflict", NULL);
	cJSON_Delete(r.json);
	/* ...and succeeds after reading the object again. */
	r = call(c, "GET", NW "/client-test", NULL);
	body = object("client-test", rv_of(r.json), 3);
	cJSON_Delete(r.json);
	r = call(c, "PUT", NW "/client-test", body);
	free(body);
	report(r.status == 200 && count_of(r.json) == 3, "re-read and retry after 409", NULL);
	cJSON_Delete(r.json);

	r = call(c, "PATCH", NW "/client-test", "{\"spec\": {\"entryCount\": 4}, \"metadata\": {\"labels\": {\"x\": \"y\"}}}");
	report(r.status == 200 && count_of(r.json) == 4, "merge patch", NULL);
	cJSON_Delete(r.json);

	r = call(c, "DELETE", NW "/client-test", NULL);
	report(r.status == 200, "delete", NULL);
	cJSON_Delete(r.json);
	r = call(c, "GET", NW "/client-test", NULL);
	report(r.status == 404 && strstr(r.reason, "not found"), "gone after delete (404 with the server's reason)",
	       NULL);
	cJSON_Delete(r.json);
}

/* Reflector: a list of 7 objects in pages of 3, then the watch. */
static int listed = -1;

static void on_replace(const cJSON *items, void *userdata)
{
	listed = cJSON_GetArraySize(items);
}

static void on_event(const char *type, const cJSON *o, void *userdata)
{
}

static void paginated_list(struct kube_client *c)
{
	static const struct reflector_ops ops = { .replace = on_replace, .event = on_event };
	struct reflector *r = NULL;
	char name[32], *body;

	for (int i = 0; i < 7; i++) {
		snprintf(name, sizeof(name), "page-%d", i);
		body = object(name, NULL, i);
		cJSON_Delete(call(c, "POST", NW, body).json);
		free(body);
	}
	if (reflector_new(c, event, NW, "hive.io/kernel-id=" KERNEL, 60, &ops, NULL, &r) < 0) {
		report(false, "reflector", NULL);
		return;
	}
	reflector_set_page_size(r, 3);
	while (listed < 0)
		sd_event_run(event, UINT64_MAX);
	report(listed == 7 && reflector_pages(r) == 3, "list in pages of 3 gathers all 7 objects", NULL);
	reflector_free(r);
	for (int i = 0; i < 7; i++) {
		char path[128];

		snprintf(path, sizeof(path), NW "/page-%d", i);
		cJSON_Delete(call(c, "DELETE", path, NULL).json);
	}
}

static struct kube_client *client_for(const char *kubeconfig)
{
	struct kube_credentials *cred = NULL;
	struct kube_client *c = NULL;
	struct diag d = {};

	if (kubeconfig_load(kubeconfig, &cred, &d) < 0 || kube_client_new(event, cred, &c) < 0) {
		for (size_t i = 0; i < d.n; i++)
			printf("# %s\n", d.lines[i]);
		exit(1);
	}
	kube_credentials_free(cred);
	return c;
}

int main(int argc, char *argv[])
{
	struct kube_client *c;
	struct result r;

	if (argc != 2 && argc != 4) {
		fprintf(stderr, "usage: %s ADMIN_KUBECONFIG [BAD_CA_KUBECONFIG UNTRUSTED_CERT_KUBECONFIG]\n", argv[0]);
		return 2;
	}
	log_setup();
	sd_event_default(&event);
	c = client_for(argv[1]);
	crud(c);
	paginated_list(c);
	kube_client_free(c);

	if (argc == 4) {
		c = client_for(argv[2]);
		r = call(c, "GET", NW, NULL);
		report(r.status == 0 && strstr(r.error, "certificate"), "a server the CA does not vouch for is refused",
		       NULL);
		printf("# %s\n", r.error);
		kube_client_free(c);
		c = client_for(argv[3]);
		r = call(c, "GET", NW, NULL);
		report(r.status == 401, "a client certificate the server does not trust gets 401", NULL);
		kube_client_free(c);
	}
	printf("1..%d\n", n_tests);
	sd_event_unref(event);
	return n_failed ? 1 : 0;
}
