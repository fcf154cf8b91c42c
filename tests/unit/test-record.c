/* SPDX-License-Identifier: MIT */
/* From the kernel's event to what the output writes: the recorder's fan-out
 * over watch entries, folded records' executables, the process's pod, and both output
 * formats (escaping, numbers beyond 2^53, absent fields). */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "output/exe-names.h"
#include "output/output.h"
#include "output/record.h"
#include "output/users.h"
#include "shared/abi.h"
#include "shared/macro.h"
#include "watch/watch.h"
#include "tap.h"

#define DEV ((8 << 20) | 1)

static struct watch_entry *entry(const char *key, uint64_t ino, uint32_t access, const char *policy)
{
	struct hive_watch_key file = { .ino = ino, .dev = DEV };

	return watch_entry_new(key, &file, access, policy, "/etc/shadow", NULL);
}

static struct hive_event event(uint64_t ino, uint32_t tgid, uint32_t mask, const char *comm)
{
	struct hive_event ev = { .ino = ino, .dev = DEV, .tgid = tgid, .tid = tgid, .mask = mask, .uid = 1000,
				 .euid = 1000, .fsuid = 1000, .boot_ns = 1, .cgroup_id = 77,
				 .exe_file = { .ino = 500 + tgid, .dev = DEV, .gen = 3 }, .auid = HIVE_ID_UNSET,
				 .sessionid = HIVE_ID_UNSET };

	snprintf(ev.comm, sizeof(ev.comm), "%s", comm);
	snprintf(ev.exe, sizeof(ev.exe), "/usr/bin/%s", comm);
	return ev;
}

static bool in_pod(void *userdata, uint64_t cgroup_id, struct watch_place *ret)
{
	if (cgroup_id != 77)
		return false;
	*ret = (struct watch_place){ .namespace = "payments", .pod = "web", .container = "app" };
	return true;
}

/* The JSON lines written so far, parsed; the stream is emptied. */
struct sink {
	char *text;
	size_t size;
	FILE *f;
};

static cJSON *lines(struct sink *s)
{
	cJSON *all = cJSON_CreateArray();

	fflush(s->f);
	for (char *line = s->text, *nl; line && (nl = strchr(line, '\n')); line = nl + 1) {
		*nl = '\0';
		cJSON_AddItemToArray(all, cJSON_Parse(line));
	}
	rewind(s->f);
	if (s->text)
		s->text[0] = '\0';
	return all;
}

static const char *str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void test_one_record_per_entry_that_wants_it(void)
{
	struct sink sink = {};
	struct watch_set *set;
	struct recorder *r;
	struct hive_event ev = event(10, 42, HIVE_MAY_READ, "cat");
	cJSON *got;

	sink.f = open_memstream(&sink.text, &sink.size);
	CHECK(watch_set_new(&set) == 0);
	CHECK(watch_set_put(set, entry("a", 10, HIVE_MAY_READ, "reads")) == 0);
	CHECK(watch_set_put(set, entry("b", 10, HIVE_MAY_WRITE, "writes")) == 0);
	CHECK(watch_set_put(set, entry("c", 10, HIVE_ACCESS_ALL, "all")) == 0);
	CHECK(record_new(&(struct recorder_options){ .watches = set, .kernel_id = "k", .node = "n1",
						     .output = OUTPUT_JSON, .json = sink.f, .process_place = in_pod },
			 &r) == 0);

	record_event(r, &ev, "tracepoint", false);
	got = lines(&sink);
	CHECK(cJSON_GetArraySize(got) == 2);
	for (int i = 0; i < cJSON_GetArraySize(got); i++) {
		const cJSON *o = cJSON_GetArrayItem(got, i);

		CHECK(strcmp(str(o, "policy"), "reads") == 0 || strcmp(str(o, "policy"), "all") == 0);
		CHECK_STREQ(str(o, "node"), "n1");
		CHECK_STREQ(str(o, "proc_pod"), "web");
		CHECK_STREQ(str(o, "exe"), "/usr/bin/cat");
		CHECK_STREQ(str(o, "attach"), "tracepoint");
		CHECK(str(o, "pod") == NULL); /* the file is the host's */
	}
	cJSON_Delete(got);
	CHECK(record_counters(r)->records == 2);

	/* An inode no longer watched: counted, not written. */
	ev.ino = 11;
	record_event(r, &ev, "tracepoint", false);
	got = lines(&sink);
	CHECK(cJSON_GetArraySize(got) == 0);
	CHECK(record_counters(r)->unmatched == 1);
	cJSON_Delete(got);

	record_free(r);
	watch_set_free(set);
	fclose(sink.f);
	free(sink.text);
}

static void test_folded_records_are_completed(void)
{
	struct sink sink = {};
	struct watch_set *set;
	struct recorder *r;
	struct hive_event ev = event(10, 42, HIVE_MAY_READ, "cat"), folded = ev;
	const cJSON *o;
	cJSON *got;

	/* The kernel says who, all but the executable's path. */
	folded.exe[0] = '\0';
	folded.suppressed = 4;
	folded.flags = HIVE_EVENT_FOLDED;
	sink.f = open_memstream(&sink.text, &sink.size);
	CHECK(watch_set_new(&set) == 0);
	CHECK(watch_set_put(set, entry("a", 10, HIVE_MAY_READ, "reads")) == 0);
	CHECK(record_new(&(struct recorder_options){ .watches = set, .node = "n1", .output = OUTPUT_JSON,
						     .json = sink.f },
			 &r) == 0);
	record_event(r, &ev, "kprobe", true);
	record_event(r, &folded, "kprobe", true);
	got = lines(&sink);
	CHECK(cJSON_GetArraySize(got) == 2);
	o = cJSON_GetArrayItem(got, 1);
	CHECK_STREQ(str(o, "comm"), "cat");
	CHECK_STREQ(str(o, "exe"), "/usr/bin/cat"); /* the path its file last had */
	CHECK(cJSON_GetObjectItemCaseSensitive(o, "folded") && cJSON_GetObjectItemCaseSensitive(o, "uid"));
	CHECK(cJSON_GetObjectItemCaseSensitive(o, "suppressed")->valuedouble == 4);
	CHECK(cJSON_GetObjectItemCaseSensitive(o, "exe_inode")->valuedouble == 542);
	cJSON_Delete(got);

	/* An executable never seen: its file, no path; nothing made up. */
	folded.tgid = 43;
	folded.exe_file.ino = 543;
	folded.uid = 0;
	record_event(r, &folded, "kprobe", true);
	got = lines(&sink);
	o = cJSON_GetArrayItem(got, 0);
	CHECK(o && str(o, "exe") == NULL && cJSON_GetObjectItemCaseSensitive(o, "pid")->valuedouble == 43);
	CHECK(o && cJSON_GetObjectItemCaseSensitive(o, "exe_inode")->valuedouble == 543);
	CHECK_STREQ(str(o, "comm"), "cat");
	cJSON_Delete(got);

	record_free(r);
	watch_set_free(set);
	fclose(sink.f);
	free(sink.text);
}

static void test_found_by_name(void)
{
	struct hive_name_key name = { .dir = { .ino = 2, .dev = DEV, .gen = 9 }, .name = "shadow" };
	struct sink sink = {};
	struct watch_set *set;
	struct watch_entry *e = entry("a", 10, HIVE_MAY_READ, "reads");
	struct recorder *r;
	/* The file a rename put at the watched name: another inode than the
	 * entry's, found by its name. */
	struct hive_event ev = event(77, 42, HIVE_MAY_READ, "cat");
	const struct watch_inode *n;
	const cJSON *o;
	cJSON *got;

	sink.f = open_memstream(&sink.text, &sink.size);
	CHECK(watch_set_new(&set) == 0);
	CHECK(watch_entry_set_name(e, &name) == 0);
	CHECK(watch_set_put(set, e) == 0);
	CHECK(record_new(&(struct recorder_options){ .watches = set, .node = "n1", .output = OUTPUT_JSON,
						     .json = sink.f },
			 &r) == 0);
	n = watch_set_find(set, 0, &(struct hive_watch_key){ .ino = 10, .dev = DEV });
	CHECK(n != NULL);
	/* The name's id is not the inode's: find it through a lookup by name. */
	ev.flags = HIVE_EVENT_BY_NAME;
	ev.dir = name.dir;
	for (uint32_t id = n ? n->id - 2 : 0; id <= (n ? n->id + 2 : 0); id++) {
		ev.watch_id = id;
		if (watch_set_find_name(set, id, &name.dir))
			break;
	}
	record_event(r, &ev, "tracepoint", false);
	got = lines(&sink);
	o = cJSON_GetArrayItem(got, 0);
	CHECK(cJSON_GetArraySize(got) == 1);
	CHECK(o && strcmp(str(o, "path"), "/etc/shadow") == 0 &&
	      cJSON_GetObjectItemCaseSensitive(o, "inode")->valuedouble == 77);
	cJSON_Delete(got);
	/* Another directory's event with that id is no one's. */
	ev.dir.gen = 10;
	record_event(r, &ev, "tracepoint", false);
	got = lines(&sink);
	CHECK(cJSON_GetArraySize(got) == 0 && record_counters(r)->unmatched == 1);
	cJSON_Delete(got);
	record_free(r);
	watch_set_free(set);
	fclose(sink.f);
	free(sink.text);
}

static void test_exe_names_alone(void)
{
	struct exe_names *n = exe_names_new();
	struct hive_event ev = event(10, 42, HIVE_MAY_READ, "cat"), folded = ev;

	folded.exe[0] = '\0';
	CHECK(!exe_names_complete(n, &folded));
	CHECK(folded.exe[0] == '\0');
	exe_names_remember(n, &ev);
	CHECK(exe_names_complete(n, &folded));
	CHECK_STREQ(folded.exe, "/usr/bin/cat");
	/* By the file, not the process: another file under the same pid is
	 * another program. */
	folded.exe[0] = '\0';
	folded.exe_file.gen = 4;
	CHECK(!exe_names_complete(n, &folded) && folded.exe[0] == '\0');
	exe_names_free(n);
}

static void test_journal_fields(void)
{
	struct watch_entry *e = entry("p", 1ULL << 60, HIVE_MAY_READ, "pol");
	struct hive_event ev = event(1ULL << 60, 7, HIVE_MAY_READ | HIVE_MAY_WRITE, "a\nPRIORITY=0");
	struct access_record rec = { .event = &ev, .entry = e, .node = "n1", .kernel_id = "k", .attach = "fentry",
				     .realtime_usec = 1 };
	bool message = false, forged = false;
	int shared = 0;
	char **lines;

	snprintf(rec.comm, sizeof(rec.comm), "%s", ev.comm);
	snprintf(rec.access, sizeof(rec.access), "read,write");
	lines = output_journal_lines(&rec);
	CHECK(lines != NULL);
	for (size_t i = 0; lines && lines[i]; i++) {
		CHECK(strchr(lines[i], '\n') == NULL); /* a name cannot start a field of its own */
		forged = forged || strcmp(lines[i], "PRIORITY=0") == 0;
		message = message || strncmp(lines[i], "MESSAGE=a\\x0aPRIORITY=0[7] uid=1000 read,write /etc/shadow", 56) == 0;
	}
	CHECK(message && !forged);
	CHECK(lines && strcmp(lines[0], "HIVE_POLICY=pol") == 0);
	output_journal_lines_free(lines);

	/* An aggregate names no process, but the uid, cgroup and executable
	 * its processes share. */
	ev.flags = HIVE_EVENT_FOLDED | HIVE_EVENT_AGGREGATED;
	snprintf(rec.exe, sizeof(rec.exe), "/usr/bin/flood");
	lines = output_journal_lines(&rec);
	for (size_t i = 0; lines && lines[i]; i++) {
		CHECK(strncmp(lines[i], "HIVE_PID=", 9) != 0 && strncmp(lines[i], "HIVE_COMM=", 10) != 0);
		if (strncmp(lines[i], "HIVE_INODE=", 11) == 0)
			CHECK_STREQ(lines[i], "HIVE_INODE=1152921504606846976");
		shared += strcmp(lines[i], "HIVE_UID=1000") == 0 || strcmp(lines[i], "HIVE_CGROUP_ID=77") == 0 ||
			  strcmp(lines[i], "HIVE_EXE=/usr/bin/flood") == 0 || strcmp(lines[i], "HIVE_EXE_INODE=507") == 0;
		if (strncmp(lines[i], "MESSAGE=", 8) == 0)
			CHECK(strstr(lines[i], "processes of uid=1000 running /usr/bin/flood") != NULL);
	}
	CHECK(shared == 4);
	output_journal_lines_free(lines);
	watch_entry_free(e);
}

static void test_json_line(void)
{
	struct watch_entry *e = entry("p", 1ULL << 60, HIVE_MAY_READ, "pol");
	struct hive_event ev = event(1ULL << 60, 7, HIVE_MAY_READ | HIVE_MAY_APPEND, "c\x1b[31m");
	struct access_record rec = { .event = &ev, .entry = e, .node = "n1", .realtime_usec = 1700000000123456ULL };
	char *line;
	cJSON *o, *access;

	snprintf(rec.comm, sizeof(rec.comm), "%s", ev.comm);
	snprintf(rec.access, sizeof(rec.access), "read,append");
	line = output_json_line(&rec);
	CHECK(line && strstr(line, "\"inode\":1152921504606846976")); /* exact, not a double */
	o = cJSON_Parse(line);
	CHECK_STREQ(str(o, "comm"), "c\\x1b[31m");
	CHECK_STREQ(str(o, "time"), "2023-11-14T22:13:20.123456Z");
	access = cJSON_GetObjectItemCaseSensitive(o, "access");
	CHECK(cJSON_GetArraySize(access) == 2 && strcmp(cJSON_GetArrayItem(access, 1)->valuestring, "append") == 0);
	CHECK(!cJSON_GetObjectItemCaseSensitive(o, "namespace") && !cJSON_GetObjectItemCaseSensitive(o, "folded"));
	cJSON_Delete(o);
	free(line);
	watch_entry_free(e);
}

/* A change's values and its other name, in both formats; the other name
 * is escaped like every name a process chose. */
static void test_change_fields(void)
{
	struct watch_entry *e = entry("p", 10, HIVE_ACCESS_ATTRIB | HIVE_ACCESS_RENAME, "pol");
	struct hive_ext_event ce = { .ev = event(10, 7, HIVE_ACCESS_ATTRIB, "chmod"),
					.ext = { .changed = HIVE_CHANGED_MODE | HIVE_CHANGED_UID, .mode = 04755,
						    .uid = 0 } };
	struct access_record rec = { .event = &ce.ev, .ext = &ce.ext, .entry = e, .realtime_usec = 1 };
	bool mode = false, message = false, forged = false;
	char **lines, *line;
	cJSON *o, *changed;

	ce.ev.flags = HIVE_EVENT_EXT;
	CHECK(hive_event_ext(&ce.ev) == &ce.ext);
	snprintf(rec.comm, sizeof(rec.comm), "chmod");
	snprintf(rec.access, sizeof(rec.access), "attrib");
	lines = output_journal_lines(&rec);
	for (size_t i = 0; lines && lines[i]; i++) {
		mode = mode || strcmp(lines[i], "HIVE_NEW_MODE=4755") == 0;
		message = message || strstr(lines[i], "MESSAGE=chmod[7] uid=1000 attrib /etc/shadow (mode 4755, uid 0)");
		CHECK(strncmp(lines[i], "HIVE_NEW_GID=", 13) != 0 && strncmp(lines[i], "HIVE_TARGET_PATH=", 17) != 0);
	}
	CHECK(mode && message);
	output_journal_lines_free(lines);

	/* A rename away: the new name, chosen by the process. */
	ce.ev.mask = HIVE_ACCESS_RENAME;
	ce.ext = (struct hive_ext){ .other_kind = HIVE_OTHER_TARGET };
	snprintf(ce.ext.other, sizeof(ce.ext.other), "/tmp/x\nPRIORITY=0");
	snprintf(rec.access, sizeof(rec.access), "rename");
	lines = output_journal_lines(&rec);
	message = false;
	for (size_t i = 0; lines && lines[i]; i++) {
		forged = forged || strcmp(lines[i], "PRIORITY=0") == 0;
		mode = mode && strncmp(lines[i], "HIVE_NEW_MODE=", 14) != 0;
		message = message || strstr(lines[i], "rename /etc/shadow (name /tmp/x\\x0aPRIORITY=0)");
		if (strncmp(lines[i], "HIVE_TARGET_PATH=", 17) == 0)
			CHECK_STREQ(lines[i], "HIVE_TARGET_PATH=/tmp/x\\x0aPRIORITY=0");
	}
	CHECK(mode && message && !forged);
	output_journal_lines_free(lines);

	/* JSON: the list of what changed, the xattr's name. */
	ce.ev.mask = HIVE_ACCESS_ATTRIB;
	ce.ext = (struct hive_ext){ .changed = HIVE_CHANGED_XATTR | HIVE_CHANGED_REMOVED,
					  .other_kind = HIVE_OTHER_XATTR };
	snprintf(ce.ext.other, sizeof(ce.ext.other), "security.capability");
	line = output_json_line(&rec);
	o = cJSON_Parse(line);
	changed = cJSON_GetObjectItemCaseSensitive(o, "changed");
	CHECK(cJSON_GetArraySize(changed) == 2 && strcmp(cJSON_GetArrayItem(changed, 1)->valuestring, "removed") == 0);
	CHECK_STREQ(str(o, "xattr"), "security.capability");
	CHECK(!cJSON_GetObjectItemCaseSensitive(o, "target_path"));
	cJSON_Delete(o);
	free(line);

	/* A create at a watched name: no file yet, so no inode. */
	ce.ev.ino = 0;
	ce.ev.mask = HIVE_ACCESS_CREATE;
	line = output_json_line(&rec);
	CHECK(line && !strstr(line, "\"inode\"") && !strstr(line, "\"dev\""));
	free(line);
	watch_entry_free(e);
}

/* The login behind a process that runs as another user: its number, name,
 * session and terminal; in MESSAGE, "uid=0 (login alice)". The name is
 * escaped like the rest (the passwd file's bytes). */
static void test_login_fields(void)
{
	struct watch_entry *e = entry("p", 10, HIVE_MAY_READ, "pol");
	struct hive_event ev = event(10, 7, HIVE_MAY_READ, "cat");
	struct access_record rec = { .event = &ev, .entry = e, .realtime_usec = 1 };
	int seen = 0;
	char **lines, *line;
	cJSON *o;

	ev.uid = ev.fsuid = 0;
	ev.auid = 1000;
	ev.sessionid = 4;
	snprintf(ev.tty, sizeof(ev.tty), "pts3");
	snprintf(rec.comm, sizeof(rec.comm), "cat");
	snprintf(rec.access, sizeof(rec.access), "read");
	snprintf(rec.login, sizeof(rec.login), "alice");
	snprintf(rec.user, sizeof(rec.user), "root");
	snprintf(rec.tty, sizeof(rec.tty), "%s", ev.tty);
	lines = output_journal_lines(&rec);
	for (size_t i = 0; lines && lines[i]; i++) {
		seen += strcmp(lines[i], "HIVE_AUID=1000") == 0 || strcmp(lines[i], "HIVE_LOGIN=alice") == 0 ||
			strcmp(lines[i], "HIVE_SESSION=4") == 0 || strcmp(lines[i], "HIVE_TTY=pts3") == 0 ||
			strcmp(lines[i], "HIVE_USER=root") == 0;
		if (strncmp(lines[i], "MESSAGE=", 8) == 0)
			CHECK_STREQ(lines[i], "MESSAGE=cat[7] uid=0 (login alice) read /etc/shadow (policy pol)");
	}
	CHECK(seen == 5);
	output_journal_lines_free(lines);

	line = output_json_line(&rec);
	o = cJSON_Parse(line);
	CHECK(o && cJSON_GetObjectItemCaseSensitive(o, "auid")->valuedouble == 1000);
	CHECK_STREQ(str(o, "login"), "alice");
	CHECK_STREQ(str(o, "tty"), "pts3");
	cJSON_Delete(o);
	free(line);

	/* A hostile name; a login without one; none at all. */
	snprintf(rec.login, sizeof(rec.login), "a\nPRIORITY=0");
	lines = output_journal_lines(&rec);
	for (size_t i = 0; lines && lines[i]; i++)
		CHECK(strchr(lines[i], '\n') == NULL && strcmp(lines[i], "PRIORITY=0") != 0);
	output_journal_lines_free(lines);
	rec.login[0] = '\0';
	lines = output_journal_lines(&rec);
	for (size_t i = 0; lines && lines[i]; i++)
		if (strncmp(lines[i], "MESSAGE=", 8) == 0)
			CHECK(strstr(lines[i], "uid=0 (login 1000) read") != NULL);
	output_journal_lines_free(lines);
	ev.auid = ev.sessionid = HIVE_ID_UNSET;
	ev.tty[0] = rec.tty[0] = '\0';
	lines = output_journal_lines(&rec);
	for (size_t i = 0; lines && lines[i]; i++) {
		CHECK(strncmp(lines[i], "HIVE_AUID=", 10) != 0 && strncmp(lines[i], "HIVE_SESSION=", 13) != 0 &&
		      strncmp(lines[i], "HIVE_TTY=", 9) != 0);
		if (strncmp(lines[i], "MESSAGE=", 8) == 0)
			CHECK(strstr(lines[i], "login") == NULL);
	}
	output_journal_lines_free(lines);
	watch_entry_free(e);
}

/* The process's lineage, nearest first: its parent's own fields, the chain
 * as "comm[pid]" in the journal and objects in JSON, names escaped; never
 * more than the event can hold, whatever its count says. */
static void test_lineage_fields(void)
{
	static const struct {
		const char *comm;
		uint32_t pid;
	} chain[] = { { "sh", 812 }, { "nginx\n", 77 }, { "containerd-shim", 60 } };
	struct watch_entry *e = entry("p", 10, HIVE_MAY_READ, "pol");
	struct hive_lin_event le = { .ev = event(10, 7, HIVE_MAY_READ, "cat") };
	struct hive_event *ev = &le.ev;
	struct access_record rec = { .event = ev, .entry = e, .realtime_usec = 1 };
	int seen = 0;
	char **lines, *line;
	cJSON *o, *a;

	for (size_t i = 0; i < ARRAY_SIZE(chain); i++) {
		snprintf(le.lin.ancestors[i].comm, sizeof(le.lin.ancestors[i].comm), "%s", chain[i].comm);
		le.lin.ancestors[i].tgid = chain[i].pid;
	}
	le.lin.n = ARRAY_SIZE(chain);
	ev->flags |= HIVE_EVENT_LINEAGE;
	CHECK(hive_event_lineage(ev) == &le.lin && hive_event_size(ev) == sizeof(le));
	rec.lineage = hive_event_lineage(ev);
	snprintf(rec.comm, sizeof(rec.comm), "cat");
	snprintf(rec.access, sizeof(rec.access), "read");
	snprintf(rec.ancestor_exe[0], sizeof(rec.ancestor_exe[0]), "/bin/sh");
	lines = output_journal_lines(&rec);
	for (size_t i = 0; lines && lines[i]; i++)
		seen += strcmp(lines[i], "HIVE_PARENT_COMM=sh") == 0 || strcmp(lines[i], "HIVE_PARENT_EXE=/bin/sh") == 0 ||
			strcmp(lines[i], "HIVE_ANCESTORS=sh[812] nginx\\x0a[77] containerd-shim[60]") == 0;
	CHECK(seen == 3);
	output_journal_lines_free(lines);

	line = output_json_line(&rec);
	o = cJSON_Parse(line);
	a = cJSON_GetObjectItemCaseSensitive(o, "ancestors");
	CHECK(cJSON_GetArraySize(a) == 3);
	CHECK_STREQ(str(cJSON_GetArrayItem(a, 0), "exe"), "/bin/sh");
	CHECK_STREQ(str(cJSON_GetArrayItem(a, 1), "comm"), "nginx\\x0a");
	CHECK(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(a, 2), "pid")->valuedouble == 60);
	CHECK(!cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(a, 2), "exe"));
	cJSON_Delete(o);
	free(line);

	le.lin.n = 1000;
	line = output_json_line(&rec);
	o = cJSON_Parse(line);
	CHECK(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, "ancestors")) == HIVE_ANCESTORS_MAX);
	cJSON_Delete(o);
	free(line);
	rec.lineage = NULL;
	line = output_json_line(&rec);
	CHECK(line && !strstr(line, "ancestors") && !strstr(line, "parent_comm"));
	free(line);
	watch_entry_free(e);
}

/* Who a process was before an exec that may have come after its change:
 * after everything else of the event (with or without a lineage), in both
 * formats and the MESSAGE, its name escaped. */
static void test_before_exec_fields(void)
{
	struct watch_entry *e = entry("p", 10, HIVE_ACCESS_ATTRIB, "pol");
	struct {
		struct hive_ext_lin_event full;
		struct hive_event before;
	} b = { .full.ev = event(10, 7, HIVE_ACCESS_ATTRIB, "sleep") };
	struct hive_event *ev = &b.full.ev;
	const struct hive_event *before;
	struct access_record rec = { .event = ev, .entry = e, .realtime_usec = 1 };
	int seen = 0;
	char **lines, *line;
	cJSON *o;

	ev->flags = HIVE_EVENT_EXT | HIVE_EVENT_LINEAGE | HIVE_EVENT_BEFORE_EXEC;
	CHECK(hive_event_before_exec(ev) == &b.before && hive_event_size(ev) == sizeof(b));
	ev->flags = HIVE_EVENT_EXT | HIVE_EVENT_BEFORE_EXEC;
	before = hive_event_before_exec(ev);
	CHECK((const char *)before == (const char *)ev + sizeof(struct hive_ext_event));
	CHECK(hive_event_size(ev) == sizeof(struct hive_ext_event) + sizeof(struct hive_event));
	ev->flags = HIVE_EVENT_EXT;
	CHECK(!hive_event_before_exec(ev));

	rec.before_exec = &b.before;
	b.before.exe_file.ino = 4242;
	snprintf(rec.comm, sizeof(rec.comm), "sleep");
	snprintf(rec.access, sizeof(rec.access), "attrib");
	snprintf(rec.before_comm, sizeof(rec.before_comm), "evil\nPRIORITY=0");
	snprintf(rec.before_exe, sizeof(rec.before_exe), "/tmp/evil");
	lines = output_journal_lines(&rec);
	for (size_t i = 0; lines && lines[i]; i++) {
		CHECK(strcmp(lines[i], "PRIORITY=0") != 0);
		seen += strcmp(lines[i], "HIVE_BEFORE_EXEC_COMM=evil\\x0aPRIORITY=0") == 0 ||
			strcmp(lines[i], "HIVE_BEFORE_EXEC_EXE=/tmp/evil") == 0 ||
			strcmp(lines[i], "HIVE_BEFORE_EXEC_EXE_INODE=4242") == 0 ||
			strstr(lines[i], "MESSAGE=sleep[7] (exec'd from evil\\x0aPRIORITY=0) uid=1000 attrib") != NULL;
	}
	CHECK(seen == 4);
	output_journal_lines_free(lines);

	line = output_json_line(&rec);
	o = cJSON_Parse(line);
	CHECK_STREQ(str(o, "before_exec_exe"), "/tmp/evil");
	CHECK(cJSON_GetObjectItemCaseSensitive(o, "before_exec_exe_inode")->valuedouble == 4242);
	cJSON_Delete(o);
	free(line);
	rec.before_exec = NULL;
	line = output_json_line(&rec);
	CHECK(line && !strstr(line, "before_exec"));
	free(line);
	watch_entry_free(e);
}

static cJSON *web_labels;

/* The watched file's pod, as the pod source describes it: a Deployment's. */
static bool file_pod(void *userdata, const char *pod_uid, const char *container, struct watch_place *ret)
{
	if (strcmp(pod_uid, "u-1") != 0 || strcmp(container, "app") != 0)
		return false;
	*ret = (struct watch_place){ .namespace = "payments", .pod = "web-7d9f-x2", .workload_kind = "Deployment",
				     .workload = "web", .image = "registry/web:1", .image_id = "registry/web@sha256:ab",
				     .labels = web_labels };
	return true;
}

/* The reader's: a CronJob's, with a label whose value a journal reader
 * filters on. */
static bool reader_pod(void *userdata, uint64_t cgroup_id, struct watch_place *ret)
{
	static cJSON *labels;

	if (!labels)
		labels = cJSON_Parse("{\"app\":\"backup\",\"app.kubernetes.io/name\":\"backup-v2\"}");
	*ret = (struct watch_place){ .namespace = "ops", .pod = "backup-1-abc", .container = "job",
				     .workload_kind = "CronJob", .workload = "backup", .labels = labels };
	return true;
}

/* Workload, image and labels of both pods: every label in JSON, those of
 * record_labels as journal fields of their own. */
static void test_pod_fields(void)
{
	char *const record_labels[] = { "app", "app.kubernetes.io/name", "tier", NULL };
	struct watch_entry *e = entry("p", 10, HIVE_MAY_READ, "pol");
	struct hive_event ev = event(10, 7, HIVE_MAY_READ, "cat");
	struct sink sink = {};
	struct watch_set *set;
	struct recorder *r;
	char name[OUTPUT_FIELD_NAME_MAX + 1];
	const cJSON *o;
	cJSON *got;

	web_labels = cJSON_Parse("{\"app\":\"web\",\"app.kubernetes.io/name\":\"web\"}");
	CHECK(watch_entry_set_place(e, &(struct watch_place){ .namespace = "payments", .pod = "web-7d9f-x2",
							       .pod_uid = "u-1", .container = "app" }) == 0);
	sink.f = open_memstream(&sink.text, &sink.size);
	CHECK(watch_set_new(&set) == 0);
	CHECK(watch_set_put(set, e) == 0);
	CHECK(record_new(&(struct recorder_options){ .watches = set, .output = OUTPUT_JSON, .json = sink.f,
						     .process_place = reader_pod, .pod_place = file_pod,
						     .record_labels = record_labels },
			 &r) == 0);
	record_event(r, &ev, "tracepoint", false);
	got = lines(&sink);
	o = cJSON_GetArrayItem(got, 0);
	CHECK_STREQ(str(o, "workload_kind"), "Deployment");
	CHECK_STREQ(str(o, "workload"), "web");
	CHECK_STREQ(str(o, "image"), "registry/web:1");
	CHECK_STREQ(str(o, "image_id"), "registry/web@sha256:ab");
	CHECK_STREQ(str(cJSON_GetObjectItemCaseSensitive(o, "labels"), "app.kubernetes.io/name"), "web");
	CHECK_STREQ(str(o, "proc_workload_kind"), "CronJob");
	CHECK_STREQ(str(o, "proc_workload"), "backup");
	CHECK_STREQ(str(cJSON_GetObjectItemCaseSensitive(o, "proc_labels"), "app"), "backup");
	CHECK(!cJSON_GetObjectItemCaseSensitive(o, "proc_image"));
	cJSON_Delete(got);

	/* The journal: the same, labels by their stated names. */
	{
		struct access_record rec = { .event = &ev, .entry = e, .realtime_usec = 1,
					     .record_labels = record_labels };
		int seen = 0;
		char **jl;

		CHECK(file_pod(NULL, "u-1", "app", &rec.pod));
		CHECK(reader_pod(NULL, 77, &rec.proc));
		snprintf(rec.access, sizeof(rec.access), "read");
		jl = output_journal_lines(&rec);
		for (size_t i = 0; jl && jl[i]; i++) {
			seen += strcmp(jl[i], "HIVE_WORKLOAD_KIND=Deployment") == 0 ||
				strcmp(jl[i], "HIVE_WORKLOAD=web") == 0 || strcmp(jl[i], "HIVE_LABEL_APP=web") == 0 ||
				strcmp(jl[i], "HIVE_LABEL_APP_KUBERNETES_IO_NAME=web") == 0 ||
				strcmp(jl[i], "HIVE_IMAGE_ID=registry/web@sha256:ab") == 0 ||
				strcmp(jl[i], "HIVE_PROC_WORKLOAD_KIND=CronJob") == 0 ||
				strcmp(jl[i], "HIVE_PROC_LABEL_APP=backup") == 0 ||
				strcmp(jl[i], "HIVE_PROC_LABEL_APP_KUBERNETES_IO_NAME=backup-v2") == 0;
			CHECK(strncmp(jl[i], "HIVE_LABEL_TIER", 15) != 0); /* the pod has none */
		}
		CHECK(seen == 8);
		output_journal_lines_free(jl);
	}
	record_free(r);
	watch_set_free(set); /* and e */
	fclose(sink.f);
	free(sink.text);
	CHECK(output_label_field("app.kubernetes.io/name", false, name) == 0);
	CHECK_STREQ(name, "HIVE_LABEL_APP_KUBERNETES_IO_NAME");
	CHECK(output_label_field("example.com/Tier-2", true, name) == 0);
	CHECK_STREQ(name, "HIVE_PROC_LABEL_EXAMPLE_COM_TIER_2");
	CHECK(output_label_field("example.com/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false, name) ==
	      -ENAMETOOLONG);
	cJSON_Delete(web_labels);
}

/* Names from a passwd file: the first of a uid, read again once it
 * changes (looked at once a second at most). */
static void test_users(void)
{
	char path[] = "/tmp/hive-test-passwd-XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");
	struct users *u;

	fputs("root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n"
	      "alias:x:1000:1000::/:/bin/sh\n", f);
	fclose(f);
	u = users_new(path, false);
	CHECK_STREQ(users_name(u, 0), "root");
	CHECK_STREQ(users_name(u, 1000), "alice");
	CHECK(users_name(u, 4242) == NULL);
	f = fopen(path, "w");
	fputs("bob:x:4242:4242::/:/bin/sh\n", f);
	fclose(f);
	sleep(1);
	CHECK_STREQ(users_name(u, 4242), "bob");
	CHECK(users_name(u, 0) == NULL);
	/* Gone: the names stay as they were. */
	unlink(path);
	sleep(1);
	CHECK_STREQ(users_name(u, 4242), "bob");
	users_free(u);

	/* A uid the file lacks is asked of NSS (this host's real one) by a
	 * thread: named by number until it answers, by name after. */
	u = users_new("/nonexistent/passwd", true);
	CHECK(users_name(u, 0) == NULL);
	for (int i = 0; i < 500 && !users_name(u, 0); i++)
		usleep(10000);
	CHECK_STREQ(users_name(u, 0), "root");
	CHECK(users_name(u, 4199999999u) == NULL);
	for (int i = 0; i < 50; i++) /* asked, answered "none": still none */
		CHECK(users_name(u, 4199999999u) == NULL);
	users_free(u);
}

int main(void)
{
	RUN(test_one_record_per_entry_that_wants_it);
	RUN(test_folded_records_are_completed);
	RUN(test_found_by_name);
	RUN(test_exe_names_alone);
	RUN(test_journal_fields);
	RUN(test_json_line);
	RUN(test_change_fields);
	RUN(test_login_fields);
	RUN(test_lineage_fields);
	RUN(test_before_exec_fields);
	RUN(test_pod_fields);
	RUN(test_users);
	return TAP_END();
}
