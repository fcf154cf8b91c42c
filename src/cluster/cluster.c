/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/cluster.h"
#include "cluster/colocation.h"
#include "kube/client.h"
#include "kube/events.h"
#include "kube/kubeconfig.h"
#include "kube/lease.h"
#include "cluster/nodewatch.h"
#include "cluster/presence.h"
#include "shared/log.h"
#include "shared/names.h"

struct cluster {
	struct kube_client *client;
	struct colocation *colocation;
	struct lease_driver *lease;
	struct nodewatch *store;
	struct presence *presence;
	struct kube_events *events; /* on this node's Node object */
	char *node;
	void (*on_leader)(bool leader, void *userdata);
	void *userdata;
};

static int load_credentials(const char *kubeconfig, struct kube_credentials **ret, struct diag *d)
{
	if (strcmp(kubeconfig, KUBECONFIG_IN_CLUSTER) == 0)
		return kube_in_cluster("/", ret, d);
	return kubeconfig_load(kubeconfig, ret, d);
}

int cluster_check_credentials(const char *kubeconfig, struct diag *d)
{
	struct kube_credentials *cred = NULL;
	int r;

	if (!kubeconfig)
		return 0;
	r = load_credentials(kubeconfig, &cred, d);
	kube_credentials_free(cred);
	return r;
}

static void on_lease_change(bool attached, void *userdata)
{
	struct cluster *c = userdata;

	if (lease_driver_leader(c->lease))
		presence_stop(c->presence); /* no one else to ask */
	c->on_leader(attached, c->userdata);
}

/*
 * Another node holds this kernel's lease: this agent stays detached only
 * while the holder is known to run a loader here. Its Node saying so is not
 * enough (a node's credential may write any boot id into its own Node): the
 * holder must also answer the presence probe, which only hooks on this
 * kernel can.
 */
static enum lease_trust holder_trust(const char *holder, void *userdata)
{
	struct cluster *c = userdata;

	switch (colocation_of(c->colocation, holder)) {
	case COLOCATION_ELSEWHERE:
		return LEASE_HOLDER_UNTRUSTED;
	case COLOCATION_UNKNOWN:
		return LEASE_HOLDER_UNKNOWN;
	default: /* here, or unverifiable: the kernel decides */
		break;
	}
	switch (presence_of(c->presence, holder)) {
	case PRESENCE_PROVEN:
		return LEASE_HOLDER_TRUSTED;
	case PRESENCE_FAILED:
		return LEASE_HOLDER_UNTRUSTED;
	default:
		return LEASE_HOLDER_UNKNOWN;
	}
}

static void on_presence_change(void *userdata)
{
	struct cluster *c = userdata;

	if (c->lease)
		lease_driver_recheck(c->lease);
}

static void on_colocation_change(void *userdata, const char *node)
{
	struct cluster *c = userdata;

	if (c->lease)
		lease_driver_recheck(c->lease);
	if (c->store)
		nodewatch_recheck(c->store, node);
}

int cluster_new(sd_event *event, const struct cluster_options *o, struct watch_set *set, struct cluster **ret)
{
	const char *node = o->node, *kernel_id = o->kernel_id;
	struct kube_credentials *cred = NULL;
	struct cluster *c;
	struct diag d = {};
	char lease_name[64];
	int r;

	/* Both end up as object names in the API server. */
	if (!dns_subdomain_is_valid(node)) {
		log_error("Node name \"%s\" is not a valid Kubernetes name (lower-case RFC 1123 subdomain); "
			  "set node_name in hive.conf or --node-name.",
			  node);
		return -EINVAL;
	}
	r = load_credentials(o->kubeconfig, &cred, &d);
	diag_log(&d);
	if (r < 0)
		return r;
	c = calloc(1, sizeof(*c));
	if (!c) {
		kube_credentials_free(cred);
		return -ENOMEM;
	}
	c->on_leader = o->on_leader;
	c->userdata = o->userdata;
	r = kube_client_new(event, cred, &c->client);
	if (r >= 0 && cred->insecure)
		log_warning("The kubeconfig turns off TLS verification of %s (insecure-skip-tls-verify).", cred->server);
	kube_credentials_free(cred);
	/* One lease per kernel; its holder is the kernel's loader. */
	snprintf(lease_name, sizeof(lease_name), "hive-%s", kernel_id);
	if (r >= 0)
		r = (c->node = strdup(node)) ? kube_events_new(event, c->client, node, &c->events) : -ENOMEM;
	if (r >= 0)
		r = colocation_new(c->client, event, kernel_id, on_colocation_change, c, &c->colocation);
	if (r >= 0)
		r = presence_new(event, set, o->identity,
				 &(struct presence_options){
					 .node = node,
					 .dir = o->runtime_dir,
					 .interval_usec = o->lease.retry_usec,
					 /* A holder's NodeWatch reader and map take well under
					  * a second; a lease's length is what a takeover may take. */
					 .deadline_usec = 2 * o->lease.duration_usec,
					 .on_change = on_presence_change,
					 .userdata = c,
				 },
				 &c->presence);
	if (r >= 0)
		r = lease_driver_new(c->client, event, o->namespace, lease_name, kernel_id, node, &o->lease,
				     on_lease_change, holder_trust, c, &c->lease);
	if (r >= 0)
		r = nodewatch_new(c->client, event, set, c->colocation, o->namespace, node, kernel_id,
				   o->watch_timeout_s, &c->store);
	if (r < 0) {
		cluster_free(c);
		return r;
	}
	log_info("Cluster mode: API server %s, lease %s/%s, node %s.", kube_client_server(c->client),
		 o->namespace, lease_name, node);
	*ret = c;
	return 0;
}

struct cluster *cluster_free(struct cluster *c)
{
	if (!c)
		return NULL;
	nodewatch_free(c->store);
	lease_driver_free(c->lease);
	presence_free(c->presence);
	colocation_free(c->colocation);
	kube_events_free(c->events);
	kube_client_free(c->client);
	free(c->node);
	free(c);
	return NULL;
}

void cluster_set_policy_report(struct cluster *c, cJSON *policies)
{
	if (c->store)
		nodewatch_set_report(c->store, policies);
	else
		cJSON_Delete(policies);
}

struct kube_client *cluster_client(struct cluster *c)
{
	return c->client;
}

void cluster_warn_node(struct cluster *c, const char *reason, const char *message)
{
	kube_events_warn(c->events, &(struct kube_event_object){ .api_version = "v1", .kind = "Node", .name = c->node },
			 reason, message);
}

struct lease_episodes cluster_lease_episodes(const struct cluster *c)
{
	return lease_driver_episodes(c->lease);
}

const char *cluster_role(const struct cluster *c)
{
	if (lease_driver_leader(c->lease))
		return "leader";
	return lease_driver_attached(c->lease) ? "self-attached" : "follower";
}

void cluster_release(struct cluster *c, void (*done)(void *userdata), void *userdata)
{
	lease_driver_release(c->lease, done, userdata);
}
