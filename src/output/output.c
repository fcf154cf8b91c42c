/* SPDX-License-Identifier: MIT */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <string.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include <time.h>

#include "output/output.h"
#include "output/record.h"
#include "shared/abi.h"
#include "shared/escape.h"
#include "shared/log.h"
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
};

/* One field of a record; the journal name is "HIVE_" + the key upper-cased. */
struct field {
	const char *key;
	enum field_type type;
	const char *string; /* raw, escaped on output */
	unsigned long long number;
};

#define MAX_FIELDS 40

static size_t add_string(struct field *f, size_t n, const char *key, const char *value)
{
	if (!value || !*value)
		return n;
	f[n] = (struct field){ .key = key, .type = FIELD_STRING, .string = value };
	return n + 1;
}

static size_t add_number(struct field *f, size_t n, const char *key, unsigned long long value)
{
	f[n] = (struct field){ .key = key, .type = FIELD_NUMBER, .number = value };
	return n + 1;
}

/* The record's fields, in the order people read them. */
static size_t record_fields(const struct access_record *r, char dev[static KERNEL_DEV_STRLEN],
			    struct field f[static MAX_FIELDS])
{
	const struct hive_event *ev = r->event;
	const struct watch_entry *e = r->entry;
	size_t n = 0;

	kernel_dev_to_string(ev->dev, dev);
	n = add_string(f, n, "policy", e->policy);
	n = add_string(f, n, "policy_kind", e->policy_kind);
	n = add_string(f, n, "path", e->path);
	n = add_number(f, n, "inode", ev->ino);
	n = add_string(f, n, "dev", dev);
	f[n++] = (struct field){ .key = "access", .type = FIELD_LIST, .string = r->access };
	n = add_number(f, n, "mask", ev->mask);
	/* An aggregate stands for accesses of any process: none to name. */
	if (!(ev->flags & HIVE_EVENT_AGGREGATED)) {
		n = add_number(f, n, "pid", ev->tgid);
		n = add_number(f, n, "tid", ev->tid);
		n = add_number(f, n, "ppid", ev->ppid);
		n = add_number(f, n, "uid", ev->uid);
		n = add_number(f, n, "gid", ev->gid);
		n = add_string(f, n, "comm", r->comm);
		n = add_string(f, n, "exe", r->exe);
		n = add_number(f, n, "cgroup_id", ev->cgroup_id);
	}
	n = add_string(f, n, "namespace", e->namespace);
	n = add_string(f, n, "pod", e->pod);
	n = add_string(f, n, "pod_uid", e->pod_uid);
	n = add_string(f, n, "container", e->container);
	n = add_string(f, n, "container_id", e->container_id);
	n = add_string(f, n, "proc_namespace", r->proc_namespace);
	n = add_string(f, n, "proc_pod", r->proc_pod);
	n = add_string(f, n, "proc_container", r->proc_container);
	n = add_string(f, n, "node", r->node);
	n = add_string(f, n, "kernel_id", r->kernel_id);
	n = add_string(f, n, "attach", r->attach);
	n = add_number(f, n, "suppressed", ev->suppressed);
	if (ev->flags & HIVE_EVENT_FOLDED)
		n = add_number(f, n, "folded", 1);
	if (ev->flags & HIVE_EVENT_AGGREGATED)
		n = add_number(f, n, "aggregated", 1);
	n = add_number(f, n, "timestamp_usec", r->realtime_usec);
	n = add_number(f, n, "boottime_nsec", ev->boot_ns);
	return n;
}

static char *escaped(const char *s)
{
	return escape_untrusted_dup(s, strlen(s));
}

static int write_journal(const struct access_record *r)
{
	const struct watch_entry *e = r->entry;
	struct field fields[MAX_FIELDS];
	char dev[KERNEL_DEV_STRLEN], *lines[MAX_FIELDS + 4] = {};
	struct iovec iov[MAX_FIELDS + 4];
	size_t n, k = 0;
	int ret = -ENOMEM;

	n = record_fields(r, dev, fields);
	for (size_t i = 0; i < n; i++) {
		char name[32], *value = NULL;
		int len;

		for (size_t j = 0; j <= strlen(fields[i].key); j++)
			name[j] = toupper((unsigned char)fields[i].key[j]);
		if (fields[i].type == FIELD_NUMBER)
			len = asprintf(&lines[k], "HIVE_%s=%llu", name, fields[i].number);
		else {
			value = escaped(fields[i].string);
			len = value ? asprintf(&lines[k], "HIVE_%s=%s", name, value) : -1;
			free(value);
		}
		if (len < 0)
			goto finish;
		iov[k] = (struct iovec){ lines[k], len };
		k++;
	}
	{
		_cleanup_(freep) char *comm = escaped(r->comm), *path = escaped(e->path), *policy = escaped(e->policy),
				      *ns = e->namespace ? escaped(e->namespace) : NULL,
				      *pod = e->pod ? escaped(e->pod) : NULL,
				      *container = e->container ? escaped(e->container) : NULL;
		char where[512] = "";
		int len;

		if (!comm || !path || !policy)
			goto finish;
		if (pod)
			snprintf(where, sizeof(where), " in pod %s/%s%s%s", ns ? ns : "", pod,
				 container ? " container " : "", container ? container : "");
		/* Names the API server validated; still escaped like the rest. */
		if (r->proc_pod) {
			_cleanup_(freep) char *pns = escaped(r->proc_namespace ? r->proc_namespace : ""),
					      *ppod = escaped(r->proc_pod);
			size_t used = strlen(where);

			if (pns && ppod)
				snprintf(where + used, sizeof(where) - used, " by pod %s/%s", pns, ppod);
		}
		if (r->event->flags & HIVE_EVENT_AGGREGATED)
			len = asprintf(&lines[k],
				       "MESSAGE=%s %s%s (policy %s): %llu accesses by processes not recorded one by one "
				       "(records were coming faster than they could be written)",
				       r->access[0] ? r->access : "access", path, where, policy,
				       (unsigned long long)r->event->suppressed + 1);
		else if (r->event->flags & HIVE_EVENT_FOLDED)
			len = asprintf(&lines[k], "MESSAGE=%s[%u] uid=%u %s %s%s (policy %s): %llu accesses folded",
				       comm, r->event->tgid, r->event->uid, r->access[0] ? r->access : "access", path,
				       where, policy, (unsigned long long)r->event->suppressed + 1);
		else
			len = asprintf(&lines[k], "MESSAGE=%s[%u] uid=%u %s %s%s (policy %s)", comm, r->event->tgid,
				       r->event->uid, r->access[0] ? r->access : "access", path, where, policy);
		if (len < 0)
			goto finish;
		iov[k] = (struct iovec){ lines[k], len };
		k++;
	}
	iov[k++] = (struct iovec){ (char *)"MESSAGE_ID=" HIVE_ACCESS_MESSAGE_ID, strlen("MESSAGE_ID=" HIVE_ACCESS_MESSAGE_ID) };
	iov[k++] = (struct iovec){ (char *)"PRIORITY=5", strlen("PRIORITY=5") };
	iov[k++] = (struct iovec){ (char *)"SYSLOG_IDENTIFIER=hived", strlen("SYSLOG_IDENTIFIER=hived") };
	ret = sd_journal_sendv(iov, k);
finish:
	for (size_t i = 0; i < ARRAY_SIZE(lines); i++)
		free(lines[i]);
	return ret;
}

static int write_json(FILE *f, const struct access_record *r)
{
	struct field fields[MAX_FIELDS];
	char dev[KERNEL_DEV_STRLEN], stamp[64];
	struct tm tm;
	time_t secs = r->realtime_usec / USEC_PER_SEC;
	cJSON *o = cJSON_CreateObject();
	char *text = NULL;
	size_t n;
	int ret = -ENOMEM;

	if (!o)
		return -ENOMEM;
	gmtime_r(&secs, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(stamp + strlen(stamp), sizeof(stamp) - strlen(stamp), ".%06lluZ",
		 (unsigned long long)(r->realtime_usec % USEC_PER_SEC));
	if (!cJSON_AddStringToObject(o, "time", stamp))
		goto finish;

	n = record_fields(r, dev, fields);
	for (size_t i = 0; i < n; i++) {
		_cleanup_(freep) char *value = NULL;
		cJSON *item;

		switch (fields[i].type) {
		case FIELD_NUMBER:
			/* Doubles hold integers exactly up to 2^53; inode numbers
			 * and nanosecond clocks may not fit, so print those
			 * ourselves. */
			{
				char num[24];

				snprintf(num, sizeof(num), "%llu", fields[i].number);
				item = cJSON_CreateRaw(num);
			}
			break;
		case FIELD_LIST:
			item = cJSON_CreateArray();
			for (const char *p = fields[i].string; item && *p;) {
				size_t len = strcspn(p, ",");
				char name[16];
				cJSON *s;

				snprintf(name, sizeof(name), "%.*s", (int)MIN(len, sizeof(name) - 1), p);
				s = cJSON_CreateString(name);
				if (!s || !cJSON_AddItemToArray(item, s)) {
					cJSON_Delete(s);
					cJSON_Delete(item);
					item = NULL;
				}
				p += len + (p[len] == ',');
			}
			break;
		default:
			value = escaped(fields[i].string);
			item = value ? cJSON_CreateString(value) : NULL;
			break;
		}
		if (!item || !cJSON_AddItemToObject(o, fields[i].key, item)) {
			cJSON_Delete(item);
			goto finish;
		}
	}
	text = cJSON_PrintUnformatted(o);
	if (!text)
		goto finish;
	ret = fprintf(f, "%s\n", text) < 0 || fflush(f) != 0 ? negative_errno() : 0;
finish:
	free(text);
	cJSON_Delete(o);
	return ret;
}

int output_write(enum output_kind kind, FILE *f, const struct access_record *r)
{
	return kind == OUTPUT_JSON ? write_json(f, r) : write_journal(r);
}
