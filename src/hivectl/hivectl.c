/* SPDX-License-Identifier: MIT */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-bus.h>

#include "daemon/bus.h"
#include "hivectl/from-auditd.h"
#include "daemon/figures.h"
#include "shared/escape.h"
#include "shared/macro.h"

static void help(void)
{
	printf("Usage: hivectl [--json] COMMAND\n"
	       "Query the running hived over the system bus (as root).\n\n"
	       "Commands:\n"
	       "  status   attach mode, role, kernel id, watched count, events, suppressed, dropped, missed, policies\n"
	       "  list     watched entries: path, policy, pod/container, inode, device\n"
	       "  from-auditd [FILE...]\n"
	       "           print auditd rules' file watches (-w, -F path=, -F dir=) as a Hive policy file\n\n"
	       "Options:\n"
	       "  --json   one JSON object per line instead of a table\n"
	       "  -h --help\n"
	       "     --version\n");
}

/* Strings from the agent come from policies, pods and the API server. */
static const char *safe(const char *s, char *buf, size_t size)
{
	escape_untrusted(s, strlen(s), buf, size);
	return buf;
}

static void json_string(const char *s)
{
	char buf[ESCAPED_SIZE(512)];

	safe(s, buf, sizeof(buf));
	putchar('"');
	for (const char *p = buf; *p; p++) {
		if (*p == '"' || *p == '\\')
			putchar('\\');
		putchar(*p);
	}
	putchar('"');
}

static int call(sd_bus *bus, const char *method, sd_bus_message **reply)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	int r;

	r = sd_bus_call_method(bus, HIVE_BUS_NAME, HIVE_BUS_PATH, HIVE_BUS_INTERFACE, method, &error, reply, "");
	if (r < 0) {
		if (sd_bus_error_has_names(&error, SD_BUS_ERROR_ACCESS_DENIED))
			fprintf(stderr, "hivectl: permission denied: only root may query hived.\n");
		else if (sd_bus_error_has_names(&error, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER))
			fprintf(stderr, "hivectl: hived is not running (no %s on the system bus).\n", HIVE_BUS_NAME);
		else
			fprintf(stderr, "hivectl: %s failed: %s\n", method, error.message ? error.message : strerror(-r));
		sd_bus_error_free(&error);
	}
	return r;
}

/* What status prints, in order: who and what the agent is, then its
 * figures (daemon/figures.c, the metrics page's too). */
static const struct {
	const char *key, *label;
} status_strings[] = {
	{ "AttachMode", "Attach mode" },
	{ "Role", "Role" },
	{ "Node", "Node" },
	{ "KernelId", "Kernel id" },
	{ "Version", "Version" },
};

#define STATUS_MAX 64

static size_t status_labels(const char *keys[static STATUS_MAX], const char *labels[static STATUS_MAX])
{
	size_t n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(status_strings); i++, n++) {
		keys[n] = status_strings[i].key;
		labels[n] = status_strings[i].label;
	}
	for (size_t i = 0; i < n_figures && n < STATUS_MAX; i++)
		if (figures[i].key) {
			keys[n] = figures[i].key;
			labels[n++] = figures[i].label;
		}
	return n;
}

static int status(sd_bus *bus, bool json)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	const char *keys[STATUS_MAX], *labels[STATUS_MAX];
	size_t n = status_labels(keys, labels);
	char values[STATUS_MAX][ESCAPED_SIZE(128)] = {};
	bool is_string[STATUS_MAX] = {};
	const char *key;
	int r;

	r = call(bus, "Status", &reply);
	if (r < 0)
		return r;
	r = sd_bus_message_enter_container(reply, 'a', "{sv}");
	while (r >= 0 && (r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
		char type;
		const char *contents, *s;
		uint64_t t;
		int b;
		size_t i;

		r = sd_bus_message_read_basic(reply, 's', &key);
		if (r >= 0)
			r = sd_bus_message_peek_type(reply, &type, &contents);
		if (r < 0)
			break;
		for (i = 0; i < n && strcmp(keys[i], key) != 0; i++)
			;
		r = sd_bus_message_enter_container(reply, 'v', contents);
		if (r >= 0 && contents[0] == 's' && (r = sd_bus_message_read_basic(reply, 's', &s)) >= 0 &&
		    i < n) {
			safe(s, values[i], sizeof(values[i]));
			is_string[i] = true;
		} else if (r >= 0 && contents[0] == 't' && (r = sd_bus_message_read_basic(reply, 't', &t)) >= 0 &&
			   i < n)
			snprintf(values[i], sizeof(values[i]), "%llu", (unsigned long long)t);
		else if (r >= 0 && contents[0] == 'b' && (r = sd_bus_message_read_basic(reply, 'b', &b)) >= 0 &&
			 i < n)
			snprintf(values[i], sizeof(values[i]), "%s", json ? (b ? "true" : "false") : (b ? "yes" : "no"));
		else if (r >= 0)
			r = sd_bus_message_skip(reply, contents);
		if (r >= 0)
			r = sd_bus_message_exit_container(reply);
		if (r >= 0)
			r = sd_bus_message_exit_container(reply);
	}
	if (r < 0) {
		fprintf(stderr, "hivectl: malformed reply from hived: %s\n", strerror(-r));
		return r;
	}
	if (json) {
		bool first = true;

		putchar('{');
		for (size_t i = 0; i < n; i++) {
			if (!values[i][0])
				continue;
			printf("%s\"%s\":", first ? "" : ",", keys[i]);
			if (is_string[i])
				json_string(values[i]);
			else
				fputs(values[i], stdout);
			first = false;
		}
		printf("}\n");
	} else
		for (size_t i = 0; i < n; i++)
			if (values[i][0])
				printf("%-34s %s\n", labels[i], values[i]);
	return 0;
}

static int list(sd_bus *bus, bool json)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	const char *key, *path, *policy, *node, *ns, *pod, *container, *dev;
	uint64_t ino;
	size_t n = 0;
	int r;

	r = call(bus, "ListWatches", &reply);
	if (r < 0)
		return r;
	r = sd_bus_message_enter_container(reply, 'a', "(sssssssts)");
	if (!json && r >= 0)
		printf("%-40s %-20s %-16s %-40s %12s %s\n", "PATH", "POLICY", "NODE", "POD/CONTAINER", "INODE", "DEV");
	while (r >= 0 &&
	       (r = sd_bus_message_read(reply, "(sssssssts)", &key, &path, &policy, &node, &ns, &pod, &container, &ino,
					&dev)) > 0) {
		char b1[ESCAPED_SIZE(256)], b2[ESCAPED_SIZE(64)], b3[ESCAPED_SIZE(256)], where[sizeof(b1) + sizeof(b2) + sizeof(b3) + 3];

		n++;
		if (json) {
			printf("{\"key\":");
			json_string(key);
			printf(",\"path\":");
			json_string(path);
			printf(",\"policy\":");
			json_string(policy);
			printf(",\"node\":");
			json_string(node);
			printf(",\"namespace\":");
			json_string(ns);
			printf(",\"pod\":");
			json_string(pod);
			printf(",\"container\":");
			json_string(container);
			printf(",\"inode\":%llu,\"dev\":", (unsigned long long)ino);
			json_string(dev);
			printf("}\n");
			continue;
		}
		if (pod[0])
			snprintf(where, sizeof(where), "%s/%s/%s", safe(ns, b1, sizeof(b1)), safe(pod, b2, sizeof(b2)),
				 container[0] ? safe(container, b3, sizeof(b3)) : "-");
		else
			snprintf(where, sizeof(where), "-");
		printf("%-40s ", safe(path, b1, sizeof(b1)));
		printf("%-20s ", safe(policy, b2, sizeof(b2)));
		printf("%-16s %-40s %12llu %s\n", safe(node, b3, sizeof(b3)), where, (unsigned long long)ino, dev);
	}
	if (r < 0) {
		fprintf(stderr, "hivectl: malformed reply from hived: %s\n", strerror(-r));
		return r;
	}
	if (!json && n == 0)
		printf("(nothing watched)\n");
	return 0;
}

int main(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{},
	};
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	bool json = false;
	int c, r;

	while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'h':
			help();
			return 0;
		case 'V':
			printf("hivectl %s\n", HIVE_VERSION);
			return 0;
		default:
			return 2;
		}
	if (optind < argc && strcmp(argv[optind], "from-auditd") == 0)
		return from_auditd(argv + optind + 1, argc - optind - 1) < 0 ? 1 : 0;
	if (optind != argc - 1 || (strcmp(argv[optind], "status") != 0 && strcmp(argv[optind], "list") != 0)) {
		fprintf(stderr, "hivectl: expected one command, status, list or from-auditd; see hivectl --help.\n");
		return 2;
	}
	r = sd_bus_open_system(&bus);
	if (r < 0) {
		fprintf(stderr, "hivectl: cannot connect to the system bus: %s\n", strerror(-r));
		return 1;
	}
	r = strcmp(argv[optind], "status") == 0 ? status(bus, json) : list(bus, json);
	return r < 0 ? 1 : 0;
}
