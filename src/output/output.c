/* SPDX-License-Identifier: MIT */
#include <cjson/cJSON.h>
#include <string.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include <time.h>

#include "output/output.h"
#include "output/record.h"
#include "shared/abi.h"
#include "shared/escape.h"
#include "shared/json.h"
#include "shared/log.h"
#include "shared/message-id.h"
#include "watch/watch.h"

static const char *const output_kind_names[_OUTPUT_KIND_MAX] = {
	[OUTPUT_JOURNAL] = "journal",
	[OUTPUT_JSON] = "json",
};

DEFINE_STRING_TABLE(output_kind, enum output_kind, _OUTPUT_KIND_MAX)

enum field_type {
	FIELD_STRING,
	FIELD_NUMBER,
	FIELD_LIST, /* comma-separated in the journal, an array in JSON */
	FIELD_LINEAGE, /* "sh[812] nginx[77]" in the journal, an array of objects in JSON */
	FIELD_LABELS,  /* the record_labels one field each in the journal, an object in JSON */
};

/* A record's fields, in the order people read them. */
enum record_field {
	F_POLICY,
	F_POLICY_KIND,
	F_PATH,
	F_INODE,
	F_DEV,
	F_GENERATION,
	F_ACCESS,
	F_ACTION,
	F_MASK,
	F_CHANGED,
	F_NEW_MODE,
	F_NEW_UID,
	F_NEW_GID,
	F_NEW_SIZE,
	F_XATTR,
	F_TARGET_PATH,
	F_SOURCE_PATH,
	F_PID,
	F_TID,
	F_PPID,
	F_UID,
	F_USER,
	F_EUID,
	F_FSUID,
	F_GID,
	F_AUID,
	F_LOGIN,
	F_SESSION,
	F_TTY,
	F_COMM,
	F_EXE,
	F_EXE_INODE,
	F_EXE_DEV,
	F_BEFORE_EXEC_COMM,
	F_BEFORE_EXEC_EXE,
	F_BEFORE_EXEC_EXE_INODE,
	F_PARENT_COMM,
	F_PARENT_EXE,
	F_ANCESTORS,
	F_CGROUP_ID,
	F_NAMESPACE,
	F_POD,
	F_POD_UID,
	F_CONTAINER,
	F_CONTAINER_ID,
	F_WORKLOAD_KIND,
	F_WORKLOAD,
	F_IMAGE,
	F_IMAGE_ID,
	F_LABELS,
	F_PROC_NAMESPACE,
	F_PROC_POD,
	F_PROC_CONTAINER,
	F_PROC_WORKLOAD_KIND,
	F_PROC_WORKLOAD,
	F_PROC_IMAGE,
	F_PROC_IMAGE_ID,
	F_PROC_LABELS,
	F_NODE,
	F_KERNEL_ID,
	F_ATTACH,
	F_SUPPRESSED,
	F_FOLDED,
	F_AGGREGATED,
	F_TIMESTAMP_USEC,
	F_BOOTTIME_NSEC,
	_F_MAX,
};

/* The JSON key and the journal field of each. */
static const struct {
	const char *key;
	const char *journal;
	enum field_type type;
} fields[_F_MAX] = {
	[F_POLICY] = { "policy", "HIVE_POLICY", FIELD_STRING },
	[F_POLICY_KIND] = { "policy_kind", "HIVE_POLICY_KIND", FIELD_STRING },
	[F_PATH] = { "path", "HIVE_PATH", FIELD_STRING },
	[F_INODE] = { "inode", "HIVE_INODE", FIELD_NUMBER },
	[F_DEV] = { "dev", "HIVE_DEV", FIELD_STRING },
	[F_GENERATION] = { "generation", "HIVE_GENERATION", FIELD_NUMBER },
	[F_ACCESS] = { "access", "HIVE_ACCESS", FIELD_LIST },
	[F_ACTION] = { "action", "HIVE_ACTION", FIELD_STRING },
	[F_MASK] = { "mask", "HIVE_MASK", FIELD_NUMBER },
	[F_CHANGED] = { "changed", "HIVE_CHANGED", FIELD_LIST },
	[F_NEW_MODE] = { "new_mode", "HIVE_NEW_MODE", FIELD_STRING },
	[F_NEW_UID] = { "new_uid", "HIVE_NEW_UID", FIELD_NUMBER },
	[F_NEW_GID] = { "new_gid", "HIVE_NEW_GID", FIELD_NUMBER },
	[F_NEW_SIZE] = { "new_size", "HIVE_NEW_SIZE", FIELD_NUMBER },
	[F_XATTR] = { "xattr", "HIVE_XATTR", FIELD_STRING },
	[F_TARGET_PATH] = { "target_path", "HIVE_TARGET_PATH", FIELD_STRING },
	[F_SOURCE_PATH] = { "source_path", "HIVE_SOURCE_PATH", FIELD_STRING },
	[F_PID] = { "pid", "HIVE_PID", FIELD_NUMBER },
	[F_TID] = { "tid", "HIVE_TID", FIELD_NUMBER },
	[F_PPID] = { "ppid", "HIVE_PPID", FIELD_NUMBER },
	[F_UID] = { "uid", "HIVE_UID", FIELD_NUMBER },
	[F_USER] = { "user", "HIVE_USER", FIELD_STRING },
	[F_EUID] = { "euid", "HIVE_EUID", FIELD_NUMBER },
	[F_FSUID] = { "fsuid", "HIVE_FSUID", FIELD_NUMBER },
	[F_GID] = { "gid", "HIVE_GID", FIELD_NUMBER },
	[F_AUID] = { "auid", "HIVE_AUID", FIELD_NUMBER },
	[F_LOGIN] = { "login", "HIVE_LOGIN", FIELD_STRING },
	[F_SESSION] = { "session", "HIVE_SESSION", FIELD_NUMBER },
	[F_TTY] = { "tty", "HIVE_TTY", FIELD_STRING },
	[F_COMM] = { "comm", "HIVE_COMM", FIELD_STRING },
	[F_EXE] = { "exe", "HIVE_EXE", FIELD_STRING },
	[F_EXE_INODE] = { "exe_inode", "HIVE_EXE_INODE", FIELD_NUMBER },
	[F_EXE_DEV] = { "exe_dev", "HIVE_EXE_DEV", FIELD_STRING },
	[F_BEFORE_EXEC_COMM] = { "before_exec_comm", "HIVE_BEFORE_EXEC_COMM", FIELD_STRING },
	[F_BEFORE_EXEC_EXE] = { "before_exec_exe", "HIVE_BEFORE_EXEC_EXE", FIELD_STRING },
	[F_BEFORE_EXEC_EXE_INODE] = { "before_exec_exe_inode", "HIVE_BEFORE_EXEC_EXE_INODE", FIELD_NUMBER },
	[F_PARENT_COMM] = { "parent_comm", "HIVE_PARENT_COMM", FIELD_STRING },
	[F_PARENT_EXE] = { "parent_exe", "HIVE_PARENT_EXE", FIELD_STRING },
	[F_ANCESTORS] = { "ancestors", "HIVE_ANCESTORS", FIELD_LINEAGE },
	[F_CGROUP_ID] = { "cgroup_id", "HIVE_CGROUP_ID", FIELD_NUMBER },
	[F_NAMESPACE] = { "namespace", "HIVE_NAMESPACE", FIELD_STRING },
	[F_POD] = { "pod", "HIVE_POD", FIELD_STRING },
	[F_POD_UID] = { "pod_uid", "HIVE_POD_UID", FIELD_STRING },
	[F_CONTAINER] = { "container", "HIVE_CONTAINER", FIELD_STRING },
	[F_CONTAINER_ID] = { "container_id", "HIVE_CONTAINER_ID", FIELD_STRING },
	[F_WORKLOAD_KIND] = { "workload_kind", "HIVE_WORKLOAD_KIND", FIELD_STRING },
	[F_WORKLOAD] = { "workload", "HIVE_WORKLOAD", FIELD_STRING },
	[F_IMAGE] = { "image", "HIVE_IMAGE", FIELD_STRING },
	[F_IMAGE_ID] = { "image_id", "HIVE_IMAGE_ID", FIELD_STRING },
	[F_LABELS] = { "labels", "HIVE_LABEL_", FIELD_LABELS },
	[F_PROC_NAMESPACE] = { "proc_namespace", "HIVE_PROC_NAMESPACE", FIELD_STRING },
	[F_PROC_POD] = { "proc_pod", "HIVE_PROC_POD", FIELD_STRING },
	[F_PROC_CONTAINER] = { "proc_container", "HIVE_PROC_CONTAINER", FIELD_STRING },
	[F_PROC_WORKLOAD_KIND] = { "proc_workload_kind", "HIVE_PROC_WORKLOAD_KIND", FIELD_STRING },
	[F_PROC_WORKLOAD] = { "proc_workload", "HIVE_PROC_WORKLOAD", FIELD_STRING },
	[F_PROC_IMAGE] = { "proc_image", "HIVE_PROC_IMAGE", FIELD_STRING },
	[F_PROC_IMAGE_ID] = { "proc_image_id", "HIVE_PROC_IMAGE_ID", FIELD_STRING },
	[F_PROC_LABELS] = { "proc_labels", "HIVE_PROC_LABEL_", FIELD_LABELS },
	[F_NODE] = { "node", "HIVE_NODE", FIELD_STRING },
	[F_KERNEL_ID] = { "kernel_id", "HIVE_KERNEL_ID", FIELD_STRING },
	[F_ATTACH] = { "attach", "HIVE_ATTACH", FIELD_STRING },
	[F_SUPPRESSED] = { "suppressed", "HIVE_SUPPRESSED", FIELD_NUMBER },
	[F_FOLDED] = { "folded", "HIVE_FOLDED", FIELD_NUMBER },
	[F_AGGREGATED] = { "aggregated", "HIVE_AGGREGATED", FIELD_NUMBER },
	[F_TIMESTAMP_USEC] = { "timestamp_usec", "HIVE_TIMESTAMP_USEC", FIELD_NUMBER },
	[F_BOOTTIME_NSEC] = { "boottime_nsec", "HIVE_BOOTTIME_NSEC", FIELD_NUMBER },
};

/* A field's value in one record; absent fields are left out. */
struct value {
	bool present;
	const char *string; /* raw, escaped on output */
	unsigned long long number;
	const cJSON *labels; /* FIELD_LABELS */
};

static void string(struct value v[static _F_MAX], enum record_field f, const char *s)
{
	if (s && *s)
		v[f] = (struct value){ .present = true, .string = s };
}

static void number(struct value v[static _F_MAX], enum record_field f, unsigned long long n)
{
	v[f] = (struct value){ .present = true, .number = n };
}

/* The text a record's values point to: device numbers, a change's values. */
struct record_devs {
	char file[KERNEL_DEV_STRLEN];
	char exe[KERNEL_DEV_STRLEN];
	char changed[64];
	char mode[16];
	char other[HIVE_PATH_LEN + 4];
	char parent_comm[HIVE_COMM_LEN + 1];
	char ancestors[HIVE_ANCESTORS_MAX * (HIVE_COMM_LEN + 14)];
};

/* What HIVE_CHANGED lists, in struct hive_ext's changed. */
static const struct {
	uint32_t bit;
	const char *name;
} changed_names[] = {
	{ HIVE_CHANGED_MODE, "mode" },	 { HIVE_CHANGED_UID, "uid" },	  { HIVE_CHANGED_GID, "gid" },
	{ HIVE_CHANGED_SIZE, "size" },	 { HIVE_CHANGED_ATIME, "atime" }, { HIVE_CHANGED_MTIME, "mtime" },
	{ HIVE_CHANGED_XATTR, "xattr" }, { HIVE_CHANGED_REMOVED, "removed" },
};

/* A change's values: what it set, and its other name (HIVE_OTHER_*). */
static void change_values(const struct hive_ext *c, struct record_devs *t, struct value v[static _F_MAX])
{
	static const enum record_field other_field[] = {
		[HIVE_OTHER_TARGET] = F_TARGET_PATH,
		[HIVE_OTHER_SOURCE] = F_SOURCE_PATH,
		[HIVE_OTHER_XATTR] = F_XATTR,
	};
	size_t used = 0;

	t->changed[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(changed_names); i++)
		if (c->changed & changed_names[i].bit)
			used += snprintf(t->changed + used, sizeof(t->changed) - used, "%s%s", used ? "," : "",
					 changed_names[i].name);
	string(v, F_CHANGED, t->changed);
	if (c->changed & HIVE_CHANGED_MODE) {
		snprintf(t->mode, sizeof(t->mode), "%04o", c->mode);
		string(v, F_NEW_MODE, t->mode);
	}
	if (c->changed & HIVE_CHANGED_UID)
		number(v, F_NEW_UID, c->uid);
	if (c->changed & HIVE_CHANGED_GID)
		number(v, F_NEW_GID, c->gid);
	if (c->changed & HIVE_CHANGED_SIZE)
		number(v, F_NEW_SIZE, c->size);
	if (c->other_kind > HIVE_OTHER_NONE && c->other_kind < ARRAY_SIZE(other_field)) {
		snprintf(t->other, sizeof(t->other), "%s%.*s", c->changed & HIVE_CHANGED_OTHER_TRUNCATED ? "..." : "",
			 (int)sizeof(c->other), c->other);
		string(v, other_field[c->other_kind], t->other);
	}
}

/* Workload, image and labels of a pod: fields from first on, in the
 * table's order. */
static void pod_values(const struct watch_place *p, enum record_field first, struct value v[static _F_MAX])
{
	string(v, first, p->workload_kind);
	string(v, first + 1, p->workload);
	string(v, first + 2, p->image);
	string(v, first + 3, p->image_id);
	if (cJSON_IsObject(p->labels) && p->labels->child)
		v[first + 4] = (struct value){ .present = true, .labels = p->labels };
}

static size_t n_ancestors(const struct access_record *r)
{
	return r->lineage ? MIN(r->lineage->n, (uint32_t)HIVE_ANCESTORS_MAX) : 0;
}

/* The parent, and every ancestor as "comm[pid]", nearest first. */
static void lineage_values(const struct access_record *r, struct record_devs *devs, struct value v[static _F_MAX])
{
	const struct hive_ancestor *a = r->lineage ? r->lineage->ancestors : NULL;
	size_t used = 0;

	if (!n_ancestors(r))
		return;
	snprintf(devs->parent_comm, sizeof(devs->parent_comm), "%.*s", HIVE_COMM_LEN, a[0].comm);
	string(v, F_PARENT_COMM, devs->parent_comm);
	string(v, F_PARENT_EXE, r->ancestor_exe[0]);
	devs->ancestors[0] = '\0';
	for (size_t i = 0; i < n_ancestors(r) && used < sizeof(devs->ancestors); i++)
		used += snprintf(devs->ancestors + used, sizeof(devs->ancestors) - used, "%s%.*s[%u]", i ? " " : "",
				 HIVE_COMM_LEN, a[i].comm, a[i].tgid);
	string(v, F_ANCESTORS, devs->ancestors);
}

static void record_values(const struct access_record *r, struct record_devs *devs, struct value v[static _F_MAX])
{
	const struct hive_event *ev = r->event;
	const struct watch_entry *e = r->entry;

	memset(v, 0, _F_MAX * sizeof(*v));
	kernel_dev_to_string(ev->dev, devs->file);
	kernel_dev_to_string(ev->exe_file.dev, devs->exe);
	string(v, F_POLICY, e->policy);
	string(v, F_POLICY_KIND, e->policy_kind);
	string(v, F_PATH, r->path ? r->path : e->path);
	/* A create at a watched name: no file yet. */
	if (ev->ino) {
		number(v, F_INODE, ev->ino);
		string(v, F_DEV, devs->file);
		number(v, F_GENERATION, ev->gen);
	}
	v[F_ACCESS] = (struct value){ .present = true, .string = r->access };
	string(v, F_ACTION, r->action);
	number(v, F_MASK, ev->mask);
	if (r->ext)
		change_values(r->ext, devs, v);
	/* An aggregate stands for accesses of processes of one uid, fsuid,
	 * cgroup and executable: no single process to name. */
	if (!(ev->flags & HIVE_EVENT_AGGREGATED)) {
		number(v, F_PID, ev->tgid);
		number(v, F_TID, ev->tid);
		number(v, F_PPID, ev->ppid);
		number(v, F_EUID, ev->euid);
		number(v, F_GID, ev->gid);
		string(v, F_COMM, r->comm);
		if (ev->auid != HIVE_ID_UNSET) {
			number(v, F_AUID, ev->auid);
			string(v, F_LOGIN, r->login);
		}
		if (ev->sessionid != HIVE_ID_UNSET)
			number(v, F_SESSION, ev->sessionid);
		string(v, F_TTY, r->tty);
	}
	number(v, F_UID, ev->uid);
	string(v, F_USER, r->user);
	number(v, F_FSUID, ev->fsuid);
	string(v, F_EXE, r->exe);
	if (ev->exe_file.ino) {
		number(v, F_EXE_INODE, ev->exe_file.ino);
		string(v, F_EXE_DEV, devs->exe);
	}
	if (r->before_exec) {
		string(v, F_BEFORE_EXEC_COMM, r->before_comm);
		string(v, F_BEFORE_EXEC_EXE, r->before_exe);
		number(v, F_BEFORE_EXEC_EXE_INODE, r->before_exec->exe_file.ino);
	}
	lineage_values(r, devs, v);
	number(v, F_CGROUP_ID, ev->cgroup_id);
	string(v, F_NAMESPACE, e->namespace);
	string(v, F_POD, e->pod);
	string(v, F_POD_UID, e->pod_uid);
	string(v, F_CONTAINER, e->container);
	string(v, F_CONTAINER_ID, e->container_id);
	pod_values(&r->pod, F_WORKLOAD_KIND, v);
	string(v, F_PROC_NAMESPACE, r->proc.namespace);
	string(v, F_PROC_POD, r->proc.pod);
	string(v, F_PROC_CONTAINER, r->proc.container);
	pod_values(&r->proc, F_PROC_WORKLOAD_KIND, v);
	string(v, F_NODE, r->node);
	string(v, F_KERNEL_ID, r->kernel_id);
	string(v, F_ATTACH, r->attach);
	number(v, F_SUPPRESSED, ev->suppressed);
	if (ev->flags & HIVE_EVENT_FOLDED)
		number(v, F_FOLDED, 1);
	if (ev->flags & HIVE_EVENT_AGGREGATED)
		number(v, F_AGGREGATED, 1);
	number(v, F_TIMESTAMP_USEC, r->realtime_usec);
	number(v, F_BOOTTIME_NSEC, ev->boot_ns);
}

static char *escaped(const char *s)
{
	return escape_untrusted_dup(s, strlen(s));
}

/* What a change did, for MESSAGE: " (mode 4755, to /tmp/x)", or "". */
static char *change_summary(const struct hive_ext *c)
{
	static const char *const other_says[] = {
		[HIVE_OTHER_TARGET] = "name",
		[HIVE_OTHER_SOURCE] = "from",
		[HIVE_OTHER_XATTR] = "xattr",
	};
	_cleanup_(freep) char *other = NULL;
	char values[128] = "";
	size_t used = 0;
	char *m = NULL;

	if (!c)
		return strdup("");
	if (c->changed & HIVE_CHANGED_MODE)
		used += snprintf(values + used, sizeof(values) - used, ", mode %04o", c->mode);
	if (c->changed & HIVE_CHANGED_UID && used < sizeof(values))
		used += snprintf(values + used, sizeof(values) - used, ", uid %u", c->uid);
	if (c->changed & HIVE_CHANGED_GID && used < sizeof(values))
		used += snprintf(values + used, sizeof(values) - used, ", gid %u", c->gid);
	if (c->changed & HIVE_CHANGED_SIZE && used < sizeof(values))
		used += snprintf(values + used, sizeof(values) - used, ", size %llu", (unsigned long long)c->size);
	if (c->changed & HIVE_CHANGED_REMOVED && used < sizeof(values))
		used += snprintf(values + used, sizeof(values) - used, ", removed");
	if (c->other_kind > HIVE_OTHER_NONE && c->other_kind < ARRAY_SIZE(other_says)) {
		other = escape_untrusted_dup(c->other, strnlen(c->other, sizeof(c->other)));
		if (!other)
			return NULL;
	}
	if (!other && !values[0])
		return strdup("");
	if (asprintf(&m, " (%s%s%s%s%s)", values[0] ? values + 2 : "", values[0] && other ? ", " : "",
		     other ? other_says[c->other_kind] : "", other ? " " : "", other ? other : "") < 0)
		return NULL;
	return m;
}

/* Who logged in, when the process runs as someone else (su, sudo):
 * " (login alice)", or "". */
static char *login_summary(const struct access_record *r)
{
	const struct hive_event *ev = r->event;
	_cleanup_(freep) char *name = NULL;
	char *m = NULL;

	if (ev->auid == HIVE_ID_UNSET || ev->auid == ev->uid)
		return strdup("");
	if (r->login[0]) {
		name = escaped(r->login);
		if (!name || asprintf(&m, " (login %s)", name) < 0)
			return NULL;
		return m;
	}
	return asprintf(&m, " (login %u)", ev->auid) < 0 ? NULL : m;
}

/* Who the process was before an exec that may have come after the change:
 * " (exec'd from python3)", or "". */
static char *exec_summary(const struct access_record *r)
{
	_cleanup_(freep) char *comm = r->before_exec ? escaped(r->before_comm) : NULL;
	char *m = NULL;

	if (!r->before_exec)
		return strdup("");
	return comm && asprintf(&m, " (exec'd from %s)", comm) >= 0 ? m : NULL;
}

/* MESSAGE=: the sentence journalctl shows. */
static char *message(const struct access_record *r)
{
	const struct watch_entry *e = r->entry;
	const struct hive_event *ev = r->event;
	_cleanup_(freep) char *comm = escaped(r->comm), *path = escaped(r->path ? r->path : e->path), *policy = escaped(e->policy),
			      *ns = escaped(e->namespace ? e->namespace : ""), *pod = escaped(e->pod ? e->pod : ""),
			      *container = escaped(e->container ? e->container : ""),
			      *pns = escaped(r->proc.namespace ? r->proc.namespace : ""),
			      *ppod = escaped(r->proc.pod ? r->proc.pod : ""), *exe = escaped(r->exe),
			      *change = change_summary(r->ext), *login = login_summary(r), *execd = exec_summary(r);
	const char *access = r->access[0] ? r->access : "access";
	char where[512] = "", as[32] = "", *m = NULL;
	int n;

	if (!comm || !path || !policy || !ns || !pod || !container || !pns || !ppod || !exe || !change || !login ||
	    !execd)
		return NULL;
	/* Names the API server validated; still escaped like the rest. */
	if (e->pod)
		snprintf(where, sizeof(where), " in pod %s/%s%s%s", ns, pod, e->container ? " container " : "",
			 container);
	if (r->proc.pod)
		snprintf(where + strlen(where), sizeof(where) - strlen(where), " by pod %s/%s", pns, ppod);
	/* The uid that decided, when it is not the real one (setuid). */
	if (ev->fsuid != ev->uid)
		snprintf(as, sizeof(as), " (fsuid %u)", ev->fsuid);
	if (ev->flags & HIVE_EVENT_AGGREGATED)
		n = asprintf(&m,
			     "MESSAGE=%s %s%s (policy %s): %llu accesses by processes of uid=%u%s running %s not "
			     "recorded one by one (records were coming faster than they could be written)",
			     access, path, where, policy, (unsigned long long)ev->suppressed + 1, ev->uid, as,
			     exe[0] ? exe : "an unknown executable");
	else if (ev->flags & HIVE_EVENT_FOLDED)
		n = asprintf(&m, "MESSAGE=%s[%u] uid=%u%s%s %s %s%s (policy %s): %llu accesses folded", comm,
			     ev->tgid, ev->uid, login, as, access, path, where, policy,
			     (unsigned long long)ev->suppressed + 1);
	else
		n = asprintf(&m, "MESSAGE=%s[%u]%s uid=%u%s%s %s %s%s%s (policy %s)", comm, ev->tgid, execd, ev->uid,
			     login, as, access, path, change, where, policy);
	return n < 0 ? NULL : m;
}

void output_journal_lines_free(char **lines)
{
	for (size_t i = 0; lines && lines[i]; i++)
		free(lines[i]);
	free(lines);
}

int output_label_field(const char *key, bool proc, char buf[static OUTPUT_FIELD_NAME_MAX + 1])
{
	const char *prefix = fields[proc ? F_PROC_LABELS : F_LABELS].journal;
	size_t n = strlen(prefix);

	if (n + strlen(key) > OUTPUT_FIELD_NAME_MAX)
		return -ENAMETOOLONG;
	memcpy(buf, prefix, n);
	for (const char *k = key; *k; k++)
		buf[n++] = (*k >= 'a' && *k <= 'z') ? *k - 'a' + 'A' :
			   ((*k >= 'A' && *k <= 'Z') || (*k >= '0' && *k <= '9')) ? *k :
										      '_';
	buf[n] = '\0';
	return 0;
}

/* "HIVE_LABEL_APP=web" for each of record_labels the pod has, at lines. */
static int journal_labels(const struct access_record *r, enum record_field f, const cJSON *labels, char **lines,
			  size_t *k)
{
	for (size_t i = 0; r->record_labels && r->record_labels[i] && i < OUTPUT_RECORD_LABELS_MAX; i++) {
		const char *value = json_string(labels, r->record_labels[i]);
		_cleanup_(freep) char *escaped_value = NULL;
		char name[OUTPUT_FIELD_NAME_MAX + 1];

		if (!value || output_label_field(r->record_labels[i], f == F_PROC_LABELS, name) < 0)
			continue;
		escaped_value = escaped(value);
		if (!escaped_value || asprintf(&lines[*k], "%s=%s", name, escaped_value) < 0) {
			lines[*k] = NULL;
			return -ENOMEM;
		}
		(*k)++;
	}
	return 0;
}

/* Every field (labels may be several), MESSAGE, MESSAGE_ID, PRIORITY,
 * SYSLOG_IDENTIFIER, NULL. */
#define JOURNAL_LINES_MAX (_F_MAX + 2 * OUTPUT_RECORD_LABELS_MAX + 5)

char **output_journal_lines(const struct access_record *r)
{
	struct value v[_F_MAX];
	struct record_devs devs;
	char **lines;
	size_t k = 0;

	lines = calloc(JOURNAL_LINES_MAX, sizeof(*lines));
	if (!lines)
		return NULL;
	record_values(r, &devs, v);
	for (size_t i = 0; i < _F_MAX; i++) {
		_cleanup_(freep) char *value = NULL;
		int n;

		if (!v[i].present)
			continue;
		if (fields[i].type == FIELD_LABELS) {
			if (journal_labels(r, i, v[i].labels, lines, &k) < 0)
				goto oom;
			continue;
		}
		if (fields[i].type == FIELD_NUMBER)
			n = asprintf(&lines[k], "%s=%llu", fields[i].journal, v[i].number);
		else
			n = (value = escaped(v[i].string)) ? asprintf(&lines[k], "%s=%s", fields[i].journal, value) : -1;
		if (n < 0)
			goto oom;
		k++;
	}
	lines[k++] = message(r);
	lines[k++] = strdup("MESSAGE_ID=" HIVE_MESSAGE_ACCESS);
	lines[k++] = strdup("PRIORITY=5");
	lines[k++] = strdup("SYSLOG_IDENTIFIER=hived");
	for (size_t i = 0; i < k; i++)
		if (!lines[i])
			goto oom;
	return lines;
oom:
	for (size_t i = 0; i < JOURNAL_LINES_MAX; i++)
		free(lines[i]);
	free(lines);
	return NULL;
}

static int write_journal(const struct access_record *r)
{
	char **lines = output_journal_lines(r);
	struct iovec iov[JOURNAL_LINES_MAX];
	size_t n = 0;
	int ret;

	if (!lines)
		return -ENOMEM;
	for (; lines[n]; n++)
		iov[n] = (struct iovec){ lines[n], strlen(lines[n]) };
	ret = sd_journal_sendv(iov, n);
	output_journal_lines_free(lines);
	return ret;
}

/* "read,write" as ["read","write"]. */
static cJSON *json_list(const char *list)
{
	cJSON *array = cJSON_CreateArray();

	for (const char *p = list; array && *p;) {
		size_t len = strcspn(p, ",");
		cJSON *s;
		char name[16];

		snprintf(name, sizeof(name), "%.*s", (int)MIN(len, sizeof(name) - 1), p);
		s = cJSON_CreateString(name);
		if (!s || !cJSON_AddItemToArray(array, s)) {
			cJSON_Delete(s);
			cJSON_Delete(array);
			return NULL;
		}
		p += len + (p[len] == ',');
	}
	return array;
}

static cJSON *json_value(enum field_type type, const struct value *v)
{
	_cleanup_(freep) char *value = NULL;
	char num[24];

	switch (type) {
	case FIELD_NUMBER:
		/* Doubles hold integers exactly up to 2^53; inode numbers and
		 * nanosecond clocks may not fit, so print those ourselves. */
		snprintf(num, sizeof(num), "%llu", v->number);
		return cJSON_CreateRaw(num);
	case FIELD_LIST:
		return json_list(v->string);
	default:
		value = escaped(v->string);
		return value ? cJSON_CreateString(value) : NULL;
	}
}

/* The ancestors as objects, nearest first: pid, comm, and the executable's
 * path where known. */
static cJSON *json_lineage(const struct access_record *r)
{
	cJSON *array = cJSON_CreateArray();

	for (size_t i = 0; array && i < n_ancestors(r); i++) {
		const struct hive_ancestor *a = &r->lineage->ancestors[i];
		_cleanup_(freep) char *comm = escape_untrusted_dup(a->comm, strnlen(a->comm, sizeof(a->comm)));
		_cleanup_(freep) char *exe = escaped(r->ancestor_exe[i]);
		cJSON *o = cJSON_CreateObject();

		if (!o || !comm || !exe || !cJSON_AddNumberToObject(o, "pid", a->tgid) ||
		    !cJSON_AddStringToObject(o, "comm", comm) || (exe[0] && !cJSON_AddStringToObject(o, "exe", exe)) ||
		    !cJSON_AddItemToArray(array, o)) {
			cJSON_Delete(o);
			cJSON_Delete(array);
			return NULL;
		}
	}
	return array;
}

char *output_json_line(const struct access_record *r)
{
	struct value v[_F_MAX];
	struct record_devs devs;
	char stamp[64];
	time_t secs = r->realtime_usec / USEC_PER_SEC;
	cJSON *o = cJSON_CreateObject();
	char *text = NULL;
	struct tm tm;

	if (!o)
		return NULL;
	gmtime_r(&secs, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(stamp + strlen(stamp), sizeof(stamp) - strlen(stamp), ".%06lluZ",
		 (unsigned long long)(r->realtime_usec % USEC_PER_SEC));
	if (!cJSON_AddStringToObject(o, "time", stamp))
		goto finish;
	record_values(r, &devs, v);
	for (size_t i = 0; i < _F_MAX; i++) {
		cJSON *item;

		if (!v[i].present)
			continue;
		item = fields[i].type == FIELD_LINEAGE ? json_lineage(r) :
		       fields[i].type == FIELD_LABELS  ? cJSON_Duplicate(v[i].labels, true) :
							 json_value(fields[i].type, &v[i]);
		if (!item || !cJSON_AddItemToObject(o, fields[i].key, item)) {
			cJSON_Delete(item);
			goto finish;
		}
	}
	text = cJSON_PrintUnformatted(o);
finish:
	cJSON_Delete(o);
	return text;
}

int output_write(enum output_kind kind, FILE *f, const struct access_record *r)
{
	_cleanup_(freep) char *line = NULL;

	if (kind == OUTPUT_JOURNAL)
		return write_journal(r);
	line = output_json_line(r);
	if (!line)
		return -ENOMEM;
	return fprintf(f, "%s\n", line) < 0 || fflush(f) != 0 ? negative_errno() : 0;
}
