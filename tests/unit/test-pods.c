/* SPDX-License-Identifier: MIT */
/* Pod discovery's pure parts: container ids, cgroup names, the pod object
 * from the API server, and which containers a policy selects. */
#include <cjson/cJSON.h>

#include "cluster/cgroup.h"
#include "cluster/pods.h"
#include "watch/policy.h"
#include "cluster/selection.h"
#include "cluster/workloads.h"
#include "tap.h"

#define UID "0f0e7ad2-5c34-4b8e-9d0a-1c2b3a4d5e6f"
#define ID "5eb995c541c62f9d698ad7111983e57518b4ad06487e977f96374d6b56dda49e"

static void test_container_id(void)
{
	char runtime[32], id[CONTAINER_ID_MAX + 1];

	CHECK(cgroup_parse_container_id("containerd://" ID, runtime, id) == 0);
	CHECK_STREQ(runtime, "containerd");
	CHECK_STREQ(id, ID);
	CHECK(cgroup_parse_container_id("cri-o://abc", runtime, id) == 0);
	CHECK_STREQ(runtime, "cri-o");
	/* Whatever becomes a path component stays one. */
	CHECK(cgroup_parse_container_id("containerd://../../etc", runtime, id) < 0);
	CHECK(cgroup_parse_container_id("containerd://..", runtime, id) < 0);
	CHECK(cgroup_parse_container_id("containerd://a/b", runtime, id) < 0);
	CHECK(cgroup_parse_container_id("containerd://", runtime, id) < 0);
	CHECK(cgroup_parse_container_id("://abc", runtime, id) < 0);
	CHECK(cgroup_parse_container_id(ID, runtime, id) < 0);
	CHECK(cgroup_parse_container_id("containerd://a\nb", runtime, id) < 0);
}

static bool has(char *out[], int n, const char *want)
{
	for (int i = 0; i < n; i++)
		if (strcmp(out[i], want) == 0)
			return true;
	return false;
}

static void free_all(char *out[], int n)
{
	for (int i = 0; i < n; i++)
		free(out[i]);
}

static void test_candidates(void)
{
	char *out[CGROUP_CANDIDATES_MAX];
	int n;

	n = cgroup_container_candidates(UID, "BestEffort", "containerd", ID, out, CGROUP_CANDIDATES_MAX);
	CHECK(n == 2);
	CHECK(has(out, n, "kubepods/besteffort/pod" UID "/" ID));
	CHECK(has(out, n, "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod"
			  "0f0e7ad2_5c34_4b8e_9d0a_1c2b3a4d5e6f.slice/cri-containerd-" ID ".scope"));
	free_all(out, n);

	n = cgroup_container_candidates(UID, "Guaranteed", "cri-o", "abc", out, CGROUP_CANDIDATES_MAX);
	CHECK(has(out, n, "kubepods/pod" UID "/abc"));
	CHECK(has(out, n, "kubepods/pod" UID "/crio-abc"));
	CHECK(has(out, n, "kubepods.slice/kubepods-pod0f0e7ad2_5c34_4b8e_9d0a_1c2b3a4d5e6f.slice/crio-abc.scope"));
	free_all(out, n);

	n = cgroup_container_candidates(UID, "Burstable", "docker", "abc", out, CGROUP_CANDIDATES_MAX);
	CHECK(has(out, n, "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod"
			  "0f0e7ad2_5c34_4b8e_9d0a_1c2b3a4d5e6f.slice/docker-abc.scope"));
	free_all(out, n);

	/* No QoS class known yet: every level is tried. */
	n = cgroup_container_candidates(UID, NULL, "containerd", "abc", out, CGROUP_CANDIDATES_MAX);
	CHECK(n == 6);
	CHECK(has(out, n, "kubepods/burstable/pod" UID "/abc"));
	CHECK(has(out, n, "kubepods/pod" UID "/abc"));
	free_all(out, n);

	/* An unknown runtime still has the cgroupfs layout. */
	n = cgroup_container_candidates(UID, "BestEffort", "kata", "abc", out, CGROUP_CANDIDATES_MAX);
	CHECK(n == 1);
	free_all(out, n);
}

static void test_proc_cgroup(void)
{
	CHECK(cgroup_file_names_container("12:pids:/kubepods/besteffort/pod" UID "/" ID "\n0::/x\n", ID));
	CHECK(cgroup_file_names_container("0::/kubepods.slice/a.slice/cri-containerd-" ID ".scope\n", ID));
	CHECK(cgroup_file_names_container("0::/kubepods.slice/a.slice/crio-abc.scope", "abc"));
	CHECK(!cgroup_file_names_container("0::/kubepods/besteffort/pod" UID "/other\n", ID));
	CHECK(!cgroup_file_names_container("0::/kubepods/x/" ID "x\n", ID));
	CHECK(!cgroup_file_names_container("0::/kubepods/x/x" ID "\n", ID));
	CHECK(!cgroup_file_names_container("0::/kubepods/x/docker-" ID ".scopex\n", ID));
	CHECK(!cgroup_file_names_container("0::/\n", ID));
	CHECK(!cgroup_file_names_container("", ID));
}

static struct pod_info *parse(const char *json, const char **why)
{
	cJSON *o = cJSON_Parse(json);
	struct pod_info *p = NULL;

	*why = NULL;
	if (!o || pod_info_parse(o, &p, why) < 0)
		p = NULL;
	cJSON_Delete(o);
	return p;
}

#define POD(meta, status) "{\"metadata\":{" meta "},\"status\":{" status "}}"
#define META "\"uid\":\"" UID "\",\"namespace\":\"payments\",\"name\":\"web-1\",\"labels\":{\"app\":\"web\"}"
#define RUNNING(name, id) "{\"name\":\"" name "\",\"containerID\":\"" id "\",\"state\":{\"running\":{}}}"

static void test_pod_parse(void)
{
	const char *why;
	struct pod_info *p;

	p = parse(POD(META, "\"qosClass\":\"BestEffort\",\"containerStatuses\":[" RUNNING("app", "containerd://" ID) ","
			    "{\"name\":\"side\",\"containerID\":\"containerd://abc\",\"state\":{\"waiting\":{}}}],"
			    "\"initContainerStatuses\":[" RUNNING("init", "containerd://def") "]"),
		  &why);
	CHECK(p);
	if (p) {
		CHECK_STREQ(p->uid, UID);
		CHECK_STREQ(p->namespace, "payments");
		CHECK_STREQ(p->qos, "BestEffort");
		/* Only running containers: side is waiting. */
		CHECK(p->n_containers == 2);
		CHECK_STREQ(p->containers[0].name, "app");
		CHECK(p->containers[0].kind == CONTAINER_REGULAR);
		CHECK(p->containers[1].kind == CONTAINER_INIT);
	}
	pod_info_free(p);

	/* Its controller and the containers' images. */
	p = parse(POD(META ",\"ownerReferences\":[{\"kind\":\"Node\",\"apiVersion\":\"v1\",\"name\":\"n1\","
			   "\"uid\":\"" UID "\"},{\"kind\":\"ReplicaSet\",\"apiVersion\":\"apps/v1\","
			   "\"name\":\"web-7d9f\",\"uid\":\"" UID "\",\"controller\":true}]",
		      "\"containerStatuses\":[{\"name\":\"app\",\"containerID\":\"containerd://" ID "\","
		      "\"state\":{\"running\":{}},\"image\":\"registry/web:1\",\"imageID\":\"bad\\nid\"}]"),
		  &why);
	CHECK(p && !p->owner_invalid);
	if (p) {
		CHECK_STREQ(p->owner.kind, "ReplicaSet"); /* the controller, not the first */
		CHECK_STREQ(p->owner.api_version, "apps/v1");
		CHECK_STREQ(p->owner.name, "web-7d9f");
		CHECK_STREQ(p->containers[0].image, "registry/web:1");
		CHECK(p->containers[0].image_id == NULL); /* not a plain reference: left out */
	}
	pod_info_free(p);
	/* A controller reference that is not one: the pod is still watched,
	 * no workload claimed. */
	p = parse(POD(META ",\"ownerReferences\":[{\"kind\":\"Replica Set\",\"apiVersion\":\"apps/v1\","
			   "\"name\":\"x\",\"uid\":\"" UID "\",\"controller\":true}]", "\"qosClass\":\"BestEffort\""),
		  &why);
	CHECK(p && p->owner_invalid && !p->owner.kind);
	pod_info_free(p);

	/* A pod that is not scheduled or has no status yet is fine. */
	p = parse("{\"metadata\":{" META "}}", &why);
	CHECK(p && p->n_containers == 0);
	pod_info_free(p);

	/* What goes into paths and records is checked. */
	CHECK(!parse(POD("\"uid\":\"../../x\",\"namespace\":\"a\",\"name\":\"b\"", ""), &why));
	CHECK(why && strstr(why, "uid"));
	CHECK(!parse(POD(META, "\"containerStatuses\":[" RUNNING("app", "containerd://../x") "]"), &why));
	CHECK(why && strstr(why, "containerID"));
	CHECK(!parse(POD(META, "\"containerStatuses\":[" RUNNING("App X", "containerd://a") "]"), &why));
	CHECK(!parse(POD(META, "\"qosClass\":\"Platinum\""), &why));
	CHECK(!parse(POD("\"uid\":\"" UID "\",\"namespace\":\"Bad_NS\",\"name\":\"b\"", ""), &why));
	CHECK(!parse(POD("\"uid\":\"" UID "\",\"namespace\":\"a\",\"name\":\"b\",\"labels\":{\"a\":1}", ""), &why));
	CHECK(!parse(POD(META, "\"containerStatuses\":{}"), &why));
	CHECK(!parse("[]", &why));
}

static struct policy_set *policies(const char *json)
{
	struct policy_set *set = policy_set_new();
	struct diag d = {};

	if (policy_parse("test", json, strlen(json), set, &d) < 0) {
		for (size_t i = 0; i < d.n; i++)
			printf("# %s\n", d.lines[i]);
		set = policy_set_free(set);
	}
	diag_clear(&d);
	return set;
}

static void test_selection(void)
{
	struct policy_set *set = policies(
		"[{\"name\":\"a\",\"paths\":[\"/x\"],\"namespaces\":[\"payments\"],"
		"  \"podSelector\":{\"matchLabels\":{\"app\":\"web\"},"
		"    \"matchExpressions\":[{\"key\":\"tier\",\"operator\":\"NotIn\",\"values\":[\"test\"]}]}},"
		" {\"name\":\"b\",\"paths\":[\"/x\"],\"containers\":[\"init\"],\"podSelector\":{}},"
		" {\"name\":\"c\",\"paths\":[\"/x\"],\"host\":true},"
		" {\"name\":\"d\",\"paths\":[\"/x\"],\"podSelector\":{\"matchExpressions\":["
		"    {\"key\":\"canary\",\"operator\":\"DoesNotExist\"},{\"key\":\"app\",\"operator\":\"Exists\"}]}}]");
	cJSON *web = cJSON_Parse("{\"app\":\"web\"}"), *test = cJSON_Parse("{\"app\":\"web\",\"tier\":\"test\"}");
	cJSON *canary = cJSON_Parse("{\"app\":\"web\",\"canary\":\"1\"}");
	const struct policy *a, *b, *c, *d;

	CHECK(set && set->n == 4);
	if (!set || set->n != 4)
		return;
	a = &set->policies[0], b = &set->policies[1], c = &set->policies[2], d = &set->policies[3];

	CHECK(selection_matches_pod(a, "payments", web));
	CHECK(!selection_matches_pod(a, "other", web));
	CHECK(!selection_matches_pod(a, "payments", test));
	CHECK(!selection_matches_pod(a, "payments", NULL));
	CHECK(selection_matches_container(a, "app", CONTAINER_REGULAR));
	CHECK(!selection_matches_container(a, "init", CONTAINER_INIT));
	CHECK(!selection_matches_container(a, "debug", CONTAINER_EPHEMERAL));

	/* An empty selector selects every pod; named containers only. */
	CHECK(selection_matches_pod(b, "anything", NULL));
	CHECK(selection_matches_container(b, "init", CONTAINER_INIT));
	CHECK(!selection_matches_container(b, "app", CONTAINER_REGULAR));

	/* Host-only policies select no container. */
	CHECK(!selection_has_containers(c));
	CHECK(!selection_matches_pod(c, "payments", web));

	CHECK(selection_matches_pod(d, "x", web));
	CHECK(!selection_matches_pod(d, "x", canary));
	CHECK(!selection_matches_pod(d, "x", NULL));

	cJSON_Delete(web);
	cJSON_Delete(test);
	cJSON_Delete(canary);
	policy_set_free(set);
}

/* What a pod's workload is before any controller is read: the pod
 * itself, a static pod's too; its controller; nothing when that
 * reference was refused. */
static void test_workload_before_lookup(void)
{
	struct pod_info p = { .name = "web-1" };
	const char *kind, *name;

	workloads_of(NULL, &p, &kind, &name);
	CHECK_STREQ(kind, "Pod");
	CHECK_STREQ(name, "web-1");
	p.owner = (struct owner_ref){ .kind = "Node", .name = "n1", .uid = UID };
	workloads_of(NULL, &p, &kind, &name);
	CHECK_STREQ(kind, "Pod");
	p.owner = (struct owner_ref){ .kind = "ReplicaSet", .api_version = "apps/v1", .name = "web-7d9f", .uid = UID };
	workloads_of(NULL, &p, &kind, &name);
	CHECK_STREQ(kind, "ReplicaSet");
	CHECK_STREQ(name, "web-7d9f");
	p.owner = (struct owner_ref){};
	p.owner_invalid = true;
	workloads_of(NULL, &p, &kind, &name);
	CHECK(!kind && !name);
}

int main(void)
{
	RUN(test_container_id);
	RUN(test_candidates);
	RUN(test_proc_cgroup);
	RUN(test_pod_parse);
	RUN(test_selection);
	RUN(test_workload_before_lookup);
	return TAP_END();
}
