/* SPDX-License-Identifier: MIT */
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <assert.h>
#include <bpf/libbpf.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "kernel/loader.h" /* before the skeleton: it uses hive.h types */
#include "flush.skel.h"
#include "hive.skel.h"
#include "kernel/self.h"
#include "shared/log.h"

/* The most programs one attach mode attaches (fentry's and kprobe's). */
#define HOOKS_MAX 18

/*
 * The system calls whose exit marks a thread as having changed a file until
 * its next exec (tracepoint mode; bpf/hive.bpf.c, mark_changer()): every
 * call fanotify reports a change of that no other hook of the mode sees
 * (opens and truncations mark in their own programs). Each is optional:
 * fchmodat2 is 6.6+, setxattrat and removexattrat 6.13+. Not kept across a
 * restart: while no agent runs, a change made before an exec is named as
 * the program after it, as without these hooks.
 */
static const char *const change_calls[] = {
	"chmod",      "fchmod",	    "fchmodat",	  "fchmodat2", "chown",	      "fchown",	     "lchown",
	"fchownat",   "utime",	    "utimes",	  "futimesat", "utimensat",   "setxattr",    "lsetxattr",
	"fsetxattr",  "setxattrat", "removexattr", "lremovexattr", "fremovexattr", "removexattrat", "rename",
	"renameat",   "renameat2",  "link",	  "linkat",    "unlink",      "unlinkat",    "rmdir",
	"mkdir",      "mkdirat",    "mknod",	  "mknodat",   "symlink",     "symlinkat",   "bind",
};
/* And the entries of the exec calls, which keep who a marked thread was. */
static const char *const exec_calls[] = { "execve", "execveat" };
#define CALLS_MAX (ARRAY_SIZE(change_calls) + ARRAY_SIZE(exec_calls))

/* One attach point: its program, where the skeleton keeps its link (so that
 * hive_bpf__destroy() detaches it), whether the kernel may lack it, and for
 * a change hook, its function (looked up in the kernel's BTF before load)
 * and the change kinds that are not seen without it. */
struct hook {
	struct bpf_program *prog;
	struct bpf_link *link; /* once attached */
	bool optional;
	const char *func;
	uint32_t kinds;
	/* The system call tracepoint to attach prog to (NULL: its section's),
	 * for one program serves several calls. */
	const char *call;
};

/* What the kernel's BTF says about the hooked functions. */
struct kernel_funcs {
	struct btf *btf; /* NULL: unreadable; every change hook is then tried */
	int inode_arg;   /* struct inode * in inode_permission() */
	int setattr_arg; /* struct dentry * in security_inode_setattr() */
	int xattr_arg;   /* struct dentry * in security_inode_setxattr() */
	bool task_regs;  /* bpf_task_pt_regs(): a syscall's arguments at its exit (5.15+) */
	bool rdonly_cast; /* bpf_rdonly_cast(): plain loads of kernel memory (6.2+) */
};

struct loader {
	struct hive_bpf *skel;
	struct flush_bpf *flush; /* NULL where the kernel cannot run it */
	struct ring_buffer *ring;
	/* The ring's consumer and producer positions, mapped read-only (a
	 * page each): how much awaits the agent, on every kernel with ring
	 * buffers (libbpf's own accessor is newer than Debian's libbpf). */
	const void *positions;
	size_t page_size;
	enum attach_mode mode;
	struct hook hooks[HOOKS_MAX]; /* the mode's, once loaded */
	size_t n_hooks;
	struct bpf_link *calls[CALLS_MAX]; /* tracepoint mode: see change_calls */
	uint32_t unseen; /* change kinds this mode cannot see here */
	bool adopted;
	uint64_t generation; /* nonzero, unique per loader: see control in maps.bpf.h */
	uint64_t deny_version; /* the last deny value's (struct hive_deny_value) */
	int n_cpus;
	loader_event_fn on_event;
	void *userdata;
};

static const char *const attach_mode_names[_ATTACH_MODE_MAX] = {
	[ATTACH_AUTO] = "auto",
	[ATTACH_FENTRY] = "fentry",
	[ATTACH_KPROBE] = "kprobe",
	[ATTACH_TRACEPOINT] = "tracepoint",
	[ATTACH_NONE] = "none",
};

DEFINE_STRING_TABLE(attach_mode, enum attach_mode, _ATTACH_MODE_MAX)

/* libbpf hands us its own format strings, and the verifier's log as one
 * string of many lines: each line is a message of its own. */
_printf_(2, 0) static int libbpf_log(int prio, const char *fmt, va_list ap)
{
	_cleanup_(freep) char *text = NULL;

	if (prio > log_get_max_level() || vasprintf(&text, fmt, ap) < 0)
		return 0;
	for (char *line = text, *end; *line; line = end + (*end == '\n')) {
		end = line + strcspn(line, "\n");
		log_full(prio, "%.*s", (int)(end - line), line); /* libbpf prefixes its own name */
	}
	return 0;
}

_printf_(2, 0) static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return libbpf_log(level == LIBBPF_WARN ? LOG_WARNING : LOG_DEBUG, fmt, ap);
}

/* While the modes are probed, failures are expected: libbpf's complaints
 * go to debug. */
_printf_(2, 0) static int libbpf_print_probing(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return libbpf_log(LOG_DEBUG, fmt, ap);
}

/*
 * Where a parameter pointing to struct type sits in func's arguments, read
 * from the kernel's own BTF rather than guessed from its version:
 * inode_permission()'s inode moved from first to second in 5.12, the
 * setattr and xattr hooks' dentry in 6.1. -ENOENT: no such function,
 * -ENXIO: no such parameter.
 */
static int btf_param_position(const struct btf *btf, const char *func_name, const char *type)
{
	const struct btf_type *func, *proto;
	const struct btf_param *params;
	int id = btf__find_by_name_kind(btf, func_name, BTF_KIND_FUNC);

	if (id < 0)
		return -ENOENT;
	func = btf__type_by_id(btf, id);
	proto = btf__type_by_id(btf, func->type);
	if (!proto || !btf_is_func_proto(proto))
		return -ENXIO;
	params = btf_params(proto);
	for (int i = 0; i < btf_vlen(proto); i++) {
		const struct btf_type *t = btf__type_by_id(btf, params[i].type);

		if (!t || !btf_is_ptr(t))
			continue;
		t = btf__type_by_id(btf, btf__resolve_type(btf, t->type));
		if (t && btf_is_struct(t) && strcmp(btf__name_by_offset(btf, t->name_off), type) == 0)
			return i;
	}
	return -ENXIO;
}

/* Whether the kernel's enum type has a value of that name. */
static bool btf_has_enum_value(const struct btf *btf, const char *type, const char *value)
{
	int id = btf__find_by_name_kind(btf, type, BTF_KIND_ENUM);
	const struct btf_type *t = id < 0 ? NULL : btf__type_by_id(btf, id);

	for (int i = 0; t && i < btf_vlen(t); i++)
		if (strcmp(btf__name_by_offset(btf, btf_enum(t)[i].name_off), value) == 0)
			return true;
	return false;
}

static void kernel_funcs_probe(struct kernel_funcs *k)
{
	*k = (struct kernel_funcs){ .inode_arg = 1, .setattr_arg = 1, .xattr_arg = 1 };
	k->btf = btf__load_vmlinux_btf();
	if (!k->btf) {
		log_debug_errno(errno, "Cannot read the kernel's BTF (%m), assuming 6.3+ arguments.");
		return;
	}
	k->inode_arg = btf_param_position(k->btf, "inode_permission", "inode");
	k->setattr_arg = btf_param_position(k->btf, "security_inode_setattr", "dentry");
	k->xattr_arg = btf_param_position(k->btf, "security_inode_setxattr", "dentry");
	k->task_regs = btf_has_enum_value(k->btf, "bpf_func_id", "BPF_FUNC_task_pt_regs");
	k->rdonly_cast = btf__find_by_name_kind(k->btf, "bpf_rdonly_cast", BTF_KIND_FUNC) >= 0;
	if (k->inode_arg < 0) {
		log_debug_errno(k->inode_arg, "Cannot find inode_permission()'s inode in BTF (%m), assuming 5.12+.");
		k->inode_arg = 1;
	}
	k->setattr_arg = MAX(k->setattr_arg, 0);
	k->xattr_arg = MAX(k->xattr_arg, 0);
}

static bool kernel_has(const struct kernel_funcs *k, const char *func)
{
	return !k->btf || btf__find_by_name_kind(k->btf, func, BTF_KIND_FUNC) >= 0;
}

#define HOOK(name, opt) { skel->progs.name, NULL, opt, NULL, 0, NULL }
#define CALL_HOOK(name, call, opt) { skel->progs.name, NULL, opt, NULL, 0, call }
/* The change hooks (bpf/changes.bpf.h) of a mode (fentry or kprobe). */
#define CHANGE_HOOKS(mode)                                                                                     \
	CHANGE(mode, security_inode_setattr, HIVE_ACCESS_ATTRIB | HIVE_ACCESS_TRUNCATE),                       \
		CHANGE(mode, security_inode_setxattr, HIVE_ACCESS_ATTRIB),                                     \
		CHANGE(mode, security_inode_removexattr, HIVE_ACCESS_ATTRIB),                                  \
		CHANGE(mode, security_inode_set_acl, 0), /* 6.2+; ACLs were xattrs before */                   \
		CHANGE(mode, security_inode_remove_acl, 0),                                                    \
		CHANGE(mode, security_path_unlink, HIVE_ACCESS_DELETE),                                        \
		CHANGE(mode, security_path_rmdir, HIVE_ACCESS_DELETE),                                         \
		CHANGE(mode, security_path_mknod, HIVE_ACCESS_CREATE),                                         \
		CHANGE(mode, security_path_mkdir, HIVE_ACCESS_CREATE),                                         \
		CHANGE(mode, security_path_symlink, HIVE_ACCESS_CREATE),                                       \
		CHANGE(mode, security_path_rename, HIVE_ACCESS_RENAME),                                        \
		CHANGE_AS(mode, security_path_rename_over, security_path_rename, HIVE_ACCESS_RENAME | HIVE_ACCESS_DELETE), \
		CHANGE_AS(mode, security_path_rename_to, security_path_rename, HIVE_ACCESS_RENAME),             \
		CHANGE(mode, security_path_link, HIVE_ACCESS_LINK | HIVE_ACCESS_CREATE)
#define CHANGE_AS(mode, name, func, kinds) { skel->progs.mode##__##name, NULL, true, #func, kinds, NULL }
#define CHANGE(mode, func, kinds) CHANGE_AS(mode, func, func, kinds)

static size_t mode_hooks(struct hive_bpf *skel, enum attach_mode mode, struct hook hooks[static HOOKS_MAX])
{
	const struct hook fentry[] = { HOOK(fentry__inode_permission, false), CHANGE_HOOKS(fentry) };
	const struct hook kprobe[] = { HOOK(kprobe__inode_permission, false), CHANGE_HOOKS(kprobe) };
	const struct hook tracepoint[] = {
		CALL_HOOK(tracepoint__syscalls__sys_exit_opens, "sys_exit_openat", false),
		CALL_HOOK(tracepoint__syscalls__sys_exit_opens, "sys_exit_openat2", false),
		CALL_HOOK(tracepoint__syscalls__sys_exit_execs, "sys_exit_execve", false),
		CALL_HOOK(tracepoint__syscalls__sys_exit_execs, "sys_exit_execveat", false),
		/* open(2) and creat(2) exist on x86_64, not on newer architectures. */
		CALL_HOOK(tracepoint__syscalls__sys_exit_opens, "sys_exit_open", true),
		CALL_HOOK(tracepoint__syscalls__sys_exit_opens, "sys_exit_creat", true),
		{ skel->progs.tracepoint__syscalls__sys_exit_ftruncate, NULL, true, NULL, HIVE_ACCESS_TRUNCATE, NULL },
		/* Paired with fanotify's FAN_MODIFY of a watched file. */
		HOOK(tracepoint__syscalls__sys_exit_truncate, true),
		/* Who a process was once it is gone, for changes seen through
		 * fanotify (kernel/change-events.h); without them such a change
		 * names a process that exited first by its id alone. */
		CALL_HOOK(tracepoint__syscalls__sys_enter_exits, "sys_enter_exit_group", true),
		CALL_HOOK(tracepoint__syscalls__sys_enter_exits, "sys_enter_exit", true),
	};
	const struct hook *src = NULL;
	size_t n = 0;

	switch (mode) {
	case ATTACH_FENTRY:
		src = fentry, n = ARRAY_SIZE(fentry);
		break;
	case ATTACH_KPROBE:
		src = kprobe, n = ARRAY_SIZE(kprobe);
		break;
	case ATTACH_TRACEPOINT:
		src = tracepoint, n = ARRAY_SIZE(tracepoint);
		break;
	default:
		break;
	}
	assert(n <= HOOKS_MAX);
	if (n)
		memcpy(hooks, src, n * sizeof(*hooks));
	return n;
}

static int attach_hook(struct hook *h)
{
	int r;

	h->link = h->call ? bpf_program__attach_tracepoint(h->prog, "syscalls", h->call) : bpf_program__attach(h->prog);
	if (h->link)
		return 0;
	r = negative_errno();
	/* A change hook's function may be in BTF and still not attachable
	 * (notrace, inlined into its callers). */
	if (h->optional && (r == -ENOENT || h->func)) {
		log_debug_errno(r, "Optional hook %s cannot be attached on this kernel (%m), skipping.",
				bpf_program__name(h->prog));
		return 0;
	}
	return r;
}

/* Tracepoint mode's marks of threads that changed a file, and what their
 * exec keeps (change_calls). A call the kernel lacks is skipped; one that
 * does not attach costs the records of its changes the name before an
 * exec, not the mode. */
static void attach_calls(struct loader *l)
{
	size_t n = 0;

	for (size_t i = 0; i < CALLS_MAX; i++) {
		bool exec = i >= ARRAY_SIZE(change_calls);
		const char *call = exec ? exec_calls[i - ARRAY_SIZE(change_calls)] : change_calls[i];
		struct bpf_program *prog = exec ? l->skel->progs.tracepoint__syscalls__sys_enter_exec
						: l->skel->progs.tracepoint__syscalls__sys_exit_change;
		char tp[64];
		int r;

		snprintf(tp, sizeof(tp), "sys_%s_%s", exec ? "enter" : "exit", call);
		l->calls[n] = bpf_program__attach_tracepoint(prog, "syscalls", tp);
		if (l->calls[n]) {
			n++;
			continue;
		}
		r = negative_errno();
		if (r == -ENOENT)
			log_debug("No tracepoint %s on this kernel, skipping.", tp);
		else
			log_warning_errno(r, "Cannot attach to tracepoint %s (%m): a change it makes and then "
					     "an exec is named as the program exec'd alone.", tp);
	}
}

static void detach_hooks(struct loader *l)
{
	for (size_t i = 0; i < l->n_hooks; i++) {
		bpf_link__destroy(l->hooks[i].link);
		l->hooks[i].link = NULL;
	}
}

static void destroy_skel(struct loader *l)
{
	ring_buffer__free(l->ring);
	l->ring = NULL;
	if (l->positions)
		munmap((void *)l->positions, 2 * l->page_size);
	l->positions = NULL;
	for (size_t i = 0; i < CALLS_MAX; i++) {
		bpf_link__destroy(l->calls[i]);
		l->calls[i] = NULL;
	}
	detach_hooks(l);
	hive_bpf__destroy(l->skel); /* and the deny program's link */
	l->skel = NULL;
	l->n_hooks = 0;
}

/* The maps hive.bpf.c and flush.bpf.c share (maps.bpf.h), of either
 * skeleton, in enum kept_map order: what is shared, kept and adopted. */
#define SHARED_MAPS(obj)                                                                                       \
	(struct bpf_map *const[_KEPT_MAP_MAX])                                                                 \
	{                                                                                                      \
		[KEPT_WATCHES] = (obj)->maps.watches, [KEPT_EVENTS] = (obj)->maps.events,                      \
		[KEPT_DEDUP] = (obj)->maps.dedup, [KEPT_STATS] = (obj)->maps.stats,                            \
		[KEPT_CONTROL] = (obj)->maps.control, [KEPT_NAMES] = (obj)->maps.names,                        \
		[KEPT_NAME_FILTER] = (obj)->maps.name_filter, [KEPT_EXITS] = (obj)->maps.exits,                \
		[KEPT_TRUNCATIONS] = (obj)->maps.truncations, [KEPT_CHANGERS] = (obj)->maps.changers,          \
		[KEPT_EXECS] = (obj)->maps.execs, [KEPT_CHANGED] = (obj)->maps.changed,                        \
		[KEPT_DENIES] = (obj)->maps.denies, [KEPT_DENY_MEMBERS] = (obj)->maps.deny_members,            \
	}

/* The kept map fits m as configured now: same type, sizes and capacity.
 * Otherwise why not, in why. */
static bool map_fits(const struct bpf_map *m, int fd, char *why, size_t size)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	if (fd < 0) {
		snprintf(why, size, "%s was not kept", bpf_map__name(m));
		return false;
	}
	if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0) {
		snprintf(why, size, "%s: %s", bpf_map__name(m), strerror(errno));
		return false;
	}
	snprintf(why, size, "%s: type %u, key %u, value %u, entries %u instead of %u, %u, %u, %u", bpf_map__name(m),
		 info.type, info.key_size, info.value_size, info.max_entries, bpf_map__type(m), bpf_map__key_size(m),
		 bpf_map__value_size(m), bpf_map__max_entries(m));
	return info.type == bpf_map__type(m) && info.key_size == bpf_map__key_size(m) &&
	       info.value_size == bpf_map__value_size(m) && info.max_entries == bpf_map__max_entries(m);
}

/* The kept control map says its maps have this agent's layout. */
static bool layout_fits(int control_fd, char *why, size_t size)
{
	__u64 layout = 0;

	if (bpf_map_lookup_elem(control_fd, &(__u32){ HIVE_CONTROL_LAYOUT }, &layout) < 0 ||
	    layout != HIVE_MAPS_LAYOUT) {
		snprintf(why, size, "layout %llu instead of %d", (unsigned long long)layout, HIVE_MAPS_LAYOUT);
		return false;
	}
	return true;
}

/* Adopt every kept map, or none (0: some do not fit, or none kept). */
static int adopt_kept(struct bpf_map *const maps[static _KEPT_MAP_MAX], const struct kept_bpf *k)
{
	int r = 0;

	if (!k || !kept_bpf_any(k))
		return 0;
	for (size_t i = 0; i < _KEPT_MAP_MAX; i++) {
		char why[160];

		if (!map_fits(maps[i], k->maps[i], why, sizeof(why)) ||
		    (i == KEPT_CONTROL && !layout_fits(k->maps[i], why, sizeof(why)))) {
			log_warning("The BPF maps kept from the previous agent do not fit this one (%s: configuration "
				    "or version changed); starting with new ones.",
				    why);
			return 0;
		}
	}
	for (size_t i = 0; i < _KEPT_MAP_MAX && r >= 0; i++)
		r = bpf_map__reuse_fd(maps[i], k->maps[i]);
	return r < 0 ? r : 1;
}

/*
 * The flusher of folded counts (bpf/flush.bpf.c): a syscall program (5.14+)
 * iterating the dedup map (5.13+). Loaded first, with the maps the access
 * hooks then reuse. NULL where the kernel refuses it: the hooks then carry
 * folded counts only on a later access, as before.
 */
static struct flush_bpf *load_flusher(const struct loader_options *o, bool *adopted)
{
	struct flush_bpf *f;
	int r;

	/* Tried rather than probed: libbpf's probes do not know every
	 * program type its version may meet. */
	if (!o->dedup_window_ns)
		return NULL;
	f = flush_bpf__open();
	if (!f)
		return NULL;
	f->rodata->dedup_window_ns = o->dedup_window_ns;
	r = bpf_map__set_max_entries(f->maps.watches, o->max_watches);
	if (r >= 0)
		r = bpf_map__set_max_entries(f->maps.names, o->max_watches);
	if (r >= 0)
		r = bpf_map__set_max_entries(f->maps.denies, o->max_watches);
	if (r >= 0)
		r = bpf_map__set_max_entries(f->maps.events, o->ringbuf_bytes);
	/* With the flusher, no entry is evicted with a count pending: the
	 * flusher deletes idle entries, and an access that finds the table
	 * full is simply not folded. Without it, an LRU table stays. */
	if (r >= 0)
		r = bpf_map__set_type(f->maps.dedup, BPF_MAP_TYPE_HASH);
	if (r >= 0 && o->dedup_entries)
		r = bpf_map__set_max_entries(f->maps.dedup, o->dedup_entries);
	if (r >= 0)
		r = adopt_kept(SHARED_MAPS(f), o->kept);
	*adopted = r > 0;
	if (r < 0 || flush_bpf__load(f) < 0) {
		*adopted = false;
		log_debug_errno(errno, "No flusher of folded counts: %m");
		flush_bpf__destroy(f);
		return NULL;
	}
	return f;
}

static int share_maps(struct hive_bpf *skel, struct flush_bpf *f)
{
	struct bpf_map *const *ours = SHARED_MAPS(skel), *const *theirs = SHARED_MAPS(f);
	int r = 0;

	for (size_t i = 0; i < _KEPT_MAP_MAX && r >= 0; i++)
		r = bpf_map__reuse_fd(ours[i], bpf_map__fd(theirs[i]));
	return r;
}

/*
 * Tracepoints are found by name in tracefs. systemd mounts it at boot; a bare
 * host or a container may not, so mount it as bpftool and perf do.
 */
static void ensure_tracefs(void)
{
	if (access("/sys/kernel/tracing/events", F_OK) == 0 || access("/sys/kernel/debug/tracing/events", F_OK) == 0)
		return;
	if (mount("tracefs", "/sys/kernel/tracing", "tracefs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		log_warning_errno(errno, "tracefs is not mounted and mounting it failed (%m): no tracepoint mode.");
	else
		log_info("Mounted tracefs on /sys/kernel/tracing to find tracepoints.");
}

void loader_prepare(void)
{
	libbpf_set_print(libbpf_print);
	ensure_tracefs();
}

static int deliver(loader_event_fn fn, void *userdata, const void *data, size_t size)
{
	const struct hive_event *ev = data;

	if (size < sizeof(struct hive_event) || size < hive_event_size(ev)) {
		log_warning("Ignoring short event from the kernel (%zu bytes).", size);
		return 0;
	}
	return fn(ev, userdata);
}

static int ring_event(void *ctx, void *data, size_t size)
{
	struct loader *l = ctx;

	return deliver(l->on_event, l->userdata, data, size);
}

/* The deny program alone: the access hooks' preallocated maps are not
 * read, one entry each will do. */
static int refusals_only(struct hive_bpf *skel)
{
	struct bpf_map *const unused[] = { skel->maps.watches, skel->maps.dedup,    skel->maps.exits,
					   skel->maps.changers, skel->maps.execs, skel->maps.changed,
					   skel->maps.truncations };
	int r = 0;

	for (size_t i = 0; i < ARRAY_SIZE(unused) && r >= 0; i++)
		r = bpf_map__set_max_entries(unused[i], 1);
	return r;
}

/* The numbers of the calls one tracepoint program serves (-1: this
 * architecture has no such call). */
static void set_call_numbers(struct hive_bpf *skel)
{
#ifdef SYS_open
	skel->rodata->nr_open = SYS_open;
#endif
#ifdef SYS_creat
	skel->rodata->nr_creat = SYS_creat;
#endif
#ifdef SYS_openat2
	skel->rodata->nr_openat2 = SYS_openat2;
#else
	skel->rodata->nr_openat2 = 437; /* the unified table's number (x86_64, arm64...); older libc headers lack it */
#endif
}

/* The object's constants and map sizes, before it is loaded. */
static int configure(struct loader *l, const struct loader_options *o, const struct kernel_funcs *k)
{
	struct hive_bpf *skel = l->skel;
	struct bpf_self self;
	int r;

	bpf_self_get(&self);
	skel->rodata->self_tgid = self.tgid;
	skel->rodata->self_pidns_dev = self.pidns_dev;
	skel->rodata->self_pidns_ino = self.pidns_ino;
	skel->rodata->with_generation = o->with_generation;
	skel->rodata->inode_arg = k->inode_arg;
	skel->rodata->direct_reads = k->rdonly_cast;
	skel->rodata->setattr_arg = k->setattr_arg;
	skel->rodata->xattr_arg = k->xattr_arg;
	skel->rodata->dedup_window_ns = o->dedup_window_ns;
	skel->rodata->ancestors_max = MIN(o->ancestors, (uint32_t)HIVE_ANCESTORS_MAX);
	skel->rodata->generation = l->generation;
	set_call_numbers(skel);
	r = bpf_map__set_max_entries(skel->maps.watches, o->max_watches);
	if (r >= 0)
		r = bpf_map__set_max_entries(skel->maps.names, o->max_watches);
	if (r >= 0)
		r = bpf_map__set_max_entries(skel->maps.denies, o->max_watches);
	if (r < 0)
		return r;
	r = bpf_map__set_max_entries(skel->maps.events, o->ringbuf_bytes);
	if (r < 0)
		return r;
	if (o->mode == ATTACH_NONE)
		return refusals_only(skel);
	if (o->dedup_entries) {
		r = bpf_map__set_max_entries(skel->maps.dedup, o->dedup_entries);
		if (r < 0)
			return r;
	}
	return 0;
}

static bool map_has_entries(const struct bpf_map *m)
{
	char key[64];

	_Static_assert(sizeof(key) >= sizeof(struct hive_watch_key), "a denies key fits");
	return bpf_map_get_next_key(bpf_map__fd(m), NULL, key) == 0;
}

static int deny_attach(struct loader *l)
{
	struct hive_bpf *skel = l->skel;

	if (skel->links.lsm__file_open)
		return 0;
	skel->links.lsm__file_open = bpf_program__attach_lsm(skel->progs.lsm__file_open);
	return skel->links.lsm__file_open ? 0 : negative_errno();
}

static int try_mode(struct loader *l, enum attach_mode mode, const struct loader_options *o,
		    const struct kernel_funcs *k, bool with_deny)
{
	struct bpf_program *prog;
	struct hive_bpf *skel;
	size_t n;
	int r;

	skel = hive_bpf__open();
	if (!skel)
		return negative_errno();
	l->skel = skel;
	r = configure(l, o, k);
	if (r < 0)
		return r;

	if (l->flush) {
		r = share_maps(skel, l->flush);
		if (r < 0)
			return r;
		skel->rodata->flusher = 1;
	} else {
		/* Refusals alone adopt nothing: the kept maps are the access hooks'
		 * too, which a loader of their own takes over (or closes). */
		r = adopt_kept(SHARED_MAPS(skel), mode == ATTACH_NONE ? NULL : o->kept);
		if (r < 0)
			return r;
		l->adopted = r > 0;
	}

	/* What this mode has no hook for at all, then what the kernel lacks. */
	l->unseen = 0;
	if (mode == ATTACH_TRACEPOINT)
		l->unseen = HIVE_ACCESS_CHANGES & ~(k->task_regs ? HIVE_ACCESS_TRUNCATE : 0);
	n = mode_hooks(skel, mode, l->hooks);
	bpf_object__for_each_program(prog, skel->obj)
		bpf_program__set_autoload(prog, false);
	for (size_t i = 0; i < n; i++) {
		if (l->hooks[i].func && !kernel_has(k, l->hooks[i].func)) {
			l->unseen |= l->hooks[i].kinds;
			continue;
		}
		bpf_program__set_autoload(l->hooks[i].prog, true);
		l->hooks[l->n_hooks++] = l->hooks[i];
	}
	bpf_program__set_autoload(skel->progs.lsm__file_open, with_deny);
	bpf_program__set_autoload(skel->progs.tracepoint__syscalls__sys_exit_change, mode == ATTACH_TRACEPOINT);
	bpf_program__set_autoload(skel->progs.tracepoint__syscalls__sys_enter_exec, mode == ATTACH_TRACEPOINT);

	r = hive_bpf__load(skel);
	if (r < 0)
		return r;
	/* Attached at the first refusal (loader_deny_put()): every open pays
	 * for the program, a host with no deny policy should not. Refusals
	 * adopted from the previous agent hold from now on. */
	if (with_deny && l->adopted && map_has_entries(skel->maps.denies)) {
		r = deny_attach(l);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < l->n_hooks; i++) {
		r = attach_hook(&l->hooks[i]);
		if (r < 0)
			return r;
		if (!l->hooks[i].link)
			l->unseen |= l->hooks[i].kinds;
	}
	if (mode == ATTACH_TRACEPOINT)
		attach_calls(l);
	return 0;
}

/* Whether the running kernel lists the BPF LSM among its active security
 * modules (lsm= on its command line, or its CONFIG_LSM). Unknown (no
 * securityfs): tried. */
bool loader_lsm_listed(void)
{
	char list[512] = "";
	FILE *f = fopen("/sys/kernel/security/lsm", "re");
	bool listed;

	if (!f)
		return true;
	listed = fgets(list, sizeof(list), f) != NULL;
	fclose(f);
	if (!listed)
		return true;
	for (char *save = NULL, *t = strtok_r(list, ",\n", &save); t; t = strtok_r(NULL, ",\n", &save))
		if (strcmp(t, "bpf") == 0)
			return true;
	return false;
}

/* What this kernel said of the deny program: 0 not asked yet, 1 it loads,
 * -errno why it refused. A mode's load carries the program only once it is
 * known to load, for a refusal there comes after every hook's program was
 * verified, and the mode is then loaded again without it (seconds, in the
 * agent's loop). */
static int deny_verdict;

static void deny_said(int r)
{
	if (r >= 0)
		deny_verdict = 1;
	else if (r != -ENOMEM && r != -EAGAIN && r != -EINTR) /* passing: asked again */
		deny_verdict = r;
}

/* The deny program alone (ATTACH_NONE). */
static int load_deny_alone(struct loader *l, const struct loader_options *o)
{
	struct kernel_funcs k;
	int r;

	kernel_funcs_probe(&k);
	libbpf_set_print(libbpf_print_probing);
	r = try_mode(l, ATTACH_NONE, o, &k, true);
	libbpf_set_print(libbpf_print);
	btf__free(k.btf);
	deny_said(r);
	l->mode = ATTACH_NONE;
	return r;
}

/* Whether kprobes attach at all: through the kprobe PMU, else tracefs's
 * kprobe_events, the two ways libbpf knows. A kernel without them would
 * have every program of the mode verified before its first attach fails
 * (2 s on a host built without kprobes). */
static bool kprobes_attachable(void)
{
	static const char *const where[] = { "/sys/bus/event_source/devices/kprobe/type",
					     "/sys/kernel/tracing/kprobe_events",
					     "/sys/kernel/debug/tracing/kprobe_events" };

	for (size_t i = 0; i < ARRAY_SIZE(where); i++)
		if (access(where[i], F_OK) == 0)
			return true;
	return false;
}

static void note(char *notes, size_t size, size_t *used, const char *what, int r)
{
	if (*used < size)
		*used += snprintf(notes + *used, size - *used, "%s%s: %s", *used ? ", " : "", what, strerror(-r));
}

/* Why a mode's load goes without the deny program (0: it carries it). It
 * is tried alone first, once: a refusal within a mode's load comes after
 * every hook's program was verified, and the mode is then loaded again
 * without it. */
static int deny_left_out(const struct loader_options *o)
{
	if (!o->deny)
		return 0;
	if (!loader_lsm_listed())
		return -EOPNOTSUPP;
	if (deny_verdict)
		return MIN(deny_verdict, 0);
	if (o->mode == ATTACH_NONE || o->mode == ATTACH_TRACEPOINT)
		return 0;
	return MIN(loader_probe_deny(), 0);
}

/* The modes o allows, best first, until one loads and attaches; why each
 * one before it was skipped goes into notes. With o->deny, the deny program
 * too where the kernel runs BPF LSM programs (they need the trampolines
 * fentry needs: not with tracepoint hooks, whose refusals are a loader's
 * of the program alone, mode ATTACH_NONE); a mode that loads only without
 * it is taken without it, and why goes into notes as "deny". */
static int load_best_mode(struct loader *l, const struct loader_options *o, char *notes, size_t size)
{
	static const enum attach_mode order[] = { ATTACH_FENTRY, ATTACH_KPROBE, ATTACH_TRACEPOINT };
	int deny_why = deny_left_out(o);
	bool deny = o->deny && !deny_why;
	struct kernel_funcs k;
	size_t used = 0;
	int r = -EOPNOTSUPP;

	if (o->mode == ATTACH_NONE) {
		r = deny ? load_deny_alone(l, o) : deny_why;
		if (r < 0)
			note(notes, size, &used, "deny", r);
		return r;
	}
	kernel_funcs_probe(&k);
	for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
		enum attach_mode mode = order[i];
		bool with_deny = deny && mode != ATTACH_TRACEPOINT;

		if (o->mode != ATTACH_AUTO && mode != o->mode)
			continue;
		if (mode == ATTACH_KPROBE && !kprobes_attachable()) {
			r = -ENOENT;
			note(notes, size, &used, attach_mode_to_string(mode), r);
			continue;
		}
		if (o->mode == ATTACH_AUTO || with_deny)
			libbpf_set_print(libbpf_print_probing);
		r = try_mode(l, mode, o, &k, with_deny);
		if (r < 0 && with_deny) {
			int without;

			destroy_skel(l);
			without = try_mode(l, mode, o, &k, false);
			if (without >= 0) {
				deny_why = r;
				deny = false;
				deny_said(r);
			}
			r = without;
		}
		libbpf_set_print(libbpf_print);
		if (r >= 0) {
			l->mode = mode;
			break;
		}
		note(notes, size, &used, attach_mode_to_string(mode), r);
		log_debug_errno(r, "Attach mode %s unavailable: %m", attach_mode_to_string(mode));
		destroy_skel(l);
	}
	if (deny_why)
		note(notes, size, &used, "deny", deny_why);
	btf__free(k.btf);
	return r < 0 ? r : 0;
}

int loader_new(const struct loader_options *o, loader_event_fn on_event, void *userdata, struct loader **ret,
	       char notes[static LOADER_NOTES_SIZE])
{
	struct loader *l;
	int r;

	notes[0] = '\0';
	if (o->mode == ATTACH_NONE && !o->deny)
		return -EINVAL; /* nothing to load: the caller needs no loader */
	loader_prepare();

	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->on_event = on_event;
	l->userdata = userdata;
	l->n_cpus = libbpf_num_possible_cpus();
	if (l->n_cpus <= 0) {
		r = l->n_cpus < 0 ? l->n_cpus : -EIO;
		goto fail;
	}

	l->generation = clock_nsec(CLOCK_BOOTTIME) | 1;
	if (o->mode != ATTACH_NONE)
		l->flush = load_flusher(o, &l->adopted);
	r = load_best_mode(l, o, notes, LOADER_NOTES_SIZE);
	if (r < 0)
		goto fail;

	l->ring = ring_buffer__new(bpf_map__fd(l->skel->maps.events), ring_event, l, NULL);
	if (!l->ring) {
		r = negative_errno();
		goto fail;
	}
	l->page_size = (size_t)sysconf(_SC_PAGESIZE);
	l->positions = mmap(NULL, 2 * l->page_size, PROT_READ, MAP_SHARED, bpf_map__fd(l->skel->maps.events), 0);
	if (l->positions == MAP_FAILED) {
		l->positions = NULL;
		r = negative_errno();
		goto fail;
	}
	/* Our hooks are attached: from this write on they record, and those
	 * of the loader before us (still attached, if adopted) stop. */
	r = bpf_map_update_elem(bpf_map__fd(l->skel->maps.control), &(__u32){ HIVE_CONTROL_LAYOUT },
				&(__u64){ HIVE_MAPS_LAYOUT }, BPF_ANY);
	if (r >= 0)
		r = bpf_map_update_elem(bpf_map__fd(l->skel->maps.control), &(__u32){ HIVE_CONTROL_ACTIVE },
					&l->generation, BPF_ANY);
	if (r < 0) {
		r = negative_errno();
		goto fail;
	}
	/* Loading parsed the kernel's whole BTF (megabytes); give it back. */
	malloc_trim(0);
	*ret = l;
	return 0;

fail:
	loader_free(l);
	malloc_trim(0); /* a failed load parsed the kernel's BTF too */
	return r;
}

int loader_probe_deny(void)
{
	/* The smallest maps the program loads with: nothing is attached. */
	struct loader_options o = { .mode = ATTACH_NONE, .deny = true, .max_watches = 1, .ringbuf_bytes = 4096 };
	char notes[LOADER_NOTES_SIZE];
	struct loader *l = NULL;
	int r = loader_new(&o, NULL, NULL, &l, notes);

	loader_free(l);
	return r;
}

struct loader *loader_free(struct loader *l)
{
	if (!l)
		return NULL;
	destroy_skel(l);
	flush_bpf__destroy(l->flush);
	free(l);
	return NULL;
}

enum attach_mode loader_mode(const struct loader *l)
{
	return l->mode;
}

/* Who thread tid was, as map (exits, execs or changed) keeps it. */
static int who_lookup(const struct bpf_map *map, uint32_t tid, struct hive_event *ret)
{
	if (bpf_map_lookup_elem(bpf_map__fd(map), &tid, ret) < 0)
		return negative_errno();
	return 0;
}

int loader_exited(const struct loader *l, uint32_t tid, struct hive_event *ret)
{
	return who_lookup(l->skel->maps.exits, tid, ret);
}

int loader_before_exec(const struct loader *l, uint32_t tid, struct hive_event *ret)
{
	return who_lookup(l->skel->maps.execs, tid, ret);
}

int loader_changed(const struct loader *l, uint32_t tid, struct hive_event *ret)
{
	return who_lookup(l->skel->maps.changed, tid, ret);
}

int loader_truncated(const struct loader *l, uint32_t tid, int64_t *ret_length)
{
	int fd = bpf_map__fd(l->skel->maps.truncations);
	struct hive_truncation t;

	if (bpf_map_lookup_elem(fd, &tid, &t) < 0)
		return negative_errno();
	(void)bpf_map_delete_elem(fd, &tid);
	*ret_length = t.length;
	return 0;
}

uint32_t loader_unseen(const struct loader *l)
{
	return l->unseen;
}

const char *loader_unseen_calls(const struct loader *l)
{
	/* truncate(2) names a path, which nothing at its exit resolves the
	 * way the kernel did; open(O_TRUNC) and ftruncate(2) leave a file. */
	if (l->mode == ATTACH_TRACEPOINT && !(l->unseen & HIVE_ACCESS_TRUNCATE))
		return "truncate(2) of a path";
	return NULL;
}

bool loader_adopted(const struct loader *l)
{
	return l->adopted;
}

size_t loader_kernel_fds(const struct loader *l, int maps[static _KEPT_MAP_MAX], int links[static KEPT_LINKS_MAX])
{
	struct bpf_map *const *shared = SHARED_MAPS(l->skel);
	size_t k = 0;

	for (size_t i = 0; i < _KEPT_MAP_MAX; i++)
		maps[i] = bpf_map__fd(shared[i]);
	for (size_t i = 0; i < l->n_hooks && k < KEPT_LINKS_MAX; i++)
		if (l->hooks[i].link)
			links[k++] = bpf_link__fd(l->hooks[i].link);
	/* Kept, the deny program refuses while no agent runs. */
	if (l->skel->links.lsm__file_open && k < KEPT_LINKS_MAX)
		links[k++] = bpf_link__fd(l->skel->links.lsm__file_open);
	return k;
}

/* Add the per-CPU counters of map m (one entry, n __u64 fields each) to sum. */
_Static_assert(sizeof(struct hive_stats) % sizeof(__u64) == 0, "counters only");
_Static_assert(sizeof(struct hive_deny_stats) % sizeof(__u64) == 0, "counters only");
static int counters_add(const struct loader *l, const struct bpf_map *m, __u64 *sum, size_t n)
{
	_cleanup_(freep) __u64 *per_cpu = calloc((size_t)l->n_cpus * n, sizeof(*per_cpu));

	if (!per_cpu)
		return -ENOMEM;
	if (bpf_map_lookup_elem(bpf_map__fd(m), &(__u32){ 0 }, per_cpu) < 0)
		return negative_errno();
	for (size_t i = 0; i < (size_t)l->n_cpus * n; i++)
		sum[i % n] += per_cpu[i];
	return 0;
}

bool loader_can_deny(const struct loader *l)
{
	return bpf_program__fd(l->skel->progs.lsm__file_open) >= 0;
}

bool loader_deny_attached(const struct loader *l)
{
	return l->skel->links.lsm__file_open != NULL;
}

void loader_deny_detach(struct loader *l)
{
	bpf_link__destroy(l->skel->links.lsm__file_open);
	l->skel->links.lsm__file_open = NULL;
}

int loader_deny_put(struct loader *l, const struct hive_watch_key *key, const struct hive_deny_value *value)
{
	struct hive_deny_value stamped = *value;
	int r;

	if (!loader_can_deny(l))
		return -EOPNOTSUPP;
	/* Whose and which write (hive.h): boot time, so that no agent of
	 * this boot, before or after, writes the same version. */
	l->deny_version = MAX(l->deny_version + 1, clock_nsec(CLOCK_BOOTTIME));
	stamped.key = *key;
	stamped.version = l->deny_version;
	/* The rule first: attached, the program finds it at once. */
	if (bpf_map_update_elem(bpf_map__fd(l->skel->maps.denies), key, &stamped, BPF_ANY) < 0)
		return negative_errno();
	r = deny_attach(l);
	if (r < 0)
		(void)bpf_map_delete_elem(bpf_map__fd(l->skel->maps.denies), key);
	return r;
}

int loader_deny_foreach(const struct loader *l, int (*rule)(const struct hive_watch_key *key,
							   const struct hive_deny_value *value, void *userdata),
			int (*member)(const struct hive_deny_member *m, void *userdata), void *userdata)
{
	int denies = bpf_map__fd(l->skel->maps.denies), members = bpf_map__fd(l->skel->maps.deny_members);
	struct hive_watch_key key, *prev = NULL;
	struct hive_deny_member m, *prev_m = NULL;
	int r = 0;

	/* The callbacks may delete the entry they are given: the kernel then
	 * answers the next key with the first one, and the walk starts over
	 * (what was kept is given again; deleting is idempotent). */
	while (r >= 0 && rule && bpf_map_get_next_key(denies, prev, &key) == 0) {
		struct hive_watch_key at = key;
		struct hive_deny_value v;

		prev = &key;
		if (bpf_map_lookup_elem(denies, &at, &v) == 0)
			r = rule(&at, &v, userdata);
	}
	while (r >= 0 && member && bpf_map_get_next_key(members, prev_m, &m) == 0) {
		struct hive_deny_member at = m;

		prev_m = &m;
		r = member(&at, userdata);
	}
	return r;
}

int loader_deny_delete(struct loader *l, const struct hive_watch_key *key)
{
	return bpf_map_delete_elem(bpf_map__fd(l->skel->maps.denies), key) < 0 ? negative_errno() : 0;
}

int loader_deny_member_put(struct loader *l, const struct hive_deny_member *m)
{
	if (!loader_can_deny(l))
		return -EOPNOTSUPP;
	return bpf_map_update_elem(bpf_map__fd(l->skel->maps.deny_members), m, &(uint8_t){ 1 }, BPF_ANY) < 0
		       ? negative_errno()
		       : 0;
}

int loader_deny_member_delete(struct loader *l, const struct hive_deny_member *m)
{
	return bpf_map_delete_elem(bpf_map__fd(l->skel->maps.deny_members), m) < 0 ? negative_errno() : 0;
}

int loader_deny_stats(const struct loader *l, struct hive_deny_stats *ret)
{
	*ret = (struct hive_deny_stats){};
	return counters_add(l, l->skel->maps.deny_stats, (__u64 *)ret, sizeof(*ret) / sizeof(__u64));
}

int loader_deny_link_fd(const struct loader *l)
{
	return l->skel->links.lsm__file_open ? bpf_link__fd(l->skel->links.lsm__file_open) : -EBADF;
}

int loader_events_map_fd(const struct loader *l)
{
	return bpf_map__fd(l->skel->maps.events);
}

struct drain {
	loader_event_fn fn;
	void *userdata;
};

static int drain_event(void *ctx, void *data, size_t size)
{
	const struct drain *d = ctx;

	return deliver(d->fn, d->userdata, data, size);
}

int loader_drain_ring(int events_fd, loader_event_fn fn, void *userdata)
{
	struct drain d = { .fn = fn, .userdata = userdata };
	struct ring_buffer *ring = ring_buffer__new(events_fd, drain_event, &d, NULL);
	int r;

	if (!ring)
		return negative_errno();
	r = ring_buffer__consume(ring);
	ring_buffer__free(ring);
	return r < 0 ? r : 0;
}

int loader_event_fd(const struct loader *l)
{
	return ring_buffer__epoll_fd(l->ring);
}

int loader_consume(struct loader *l)
{
	return ring_buffer__consume(l->ring);
}

/* fn for every key of a map; returns the sum of what fn returned. */
static int map_foreach(int fd, size_t key_size, int (*fn)(const void *key, void *userdata), void *userdata)
{
	_cleanup_(freep) char *keys = NULL;
	size_t k = 0, cap = 0;
	int n = 0;

	/* Keys are collected before fn runs: fn may delete the current one,
	 * which would restart a get_next_key walk from the beginning. */
	for (;;) {
		if (k == cap) {
			char *grown = realloc(keys, (cap = MAX(2 * cap, 256)) * key_size);

			if (!grown)
				return -ENOMEM;
			keys = grown;
		}
		if (bpf_map_get_next_key(fd, k ? keys + (k - 1) * key_size : NULL, keys + k * key_size) < 0)
			break;
		k++;
	}
	for (size_t i = 0; i < k; i++)
		n += fn(keys + i * key_size, userdata);
	return n;
}

/* The typed callbacks of the two foreach functions, behind map_foreach()'s. */
struct foreach_call {
	int (*watch)(const struct hive_watch_key *key, void *userdata);
	int (*name)(const struct hive_name_key *key, void *userdata);
	void *userdata;
};

static int call_typed(const void *key, void *userdata)
{
	const struct foreach_call *c = userdata;

	return c->watch ? c->watch(key, c->userdata) : c->name(key, c->userdata);
}

int loader_watch_foreach(struct loader *l, int (*fn)(const struct hive_watch_key *key, void *userdata),
			 void *userdata)
{
	return map_foreach(bpf_map__fd(l->skel->maps.watches), sizeof(struct hive_watch_key), call_typed,
			   &(struct foreach_call){ .watch = fn, .userdata = userdata });
}

int loader_name_foreach(struct loader *l, int (*fn)(const struct hive_name_key *key, void *userdata),
			void *userdata)
{
	return map_foreach(bpf_map__fd(l->skel->maps.names), sizeof(struct hive_name_key), call_typed,
			   &(struct foreach_call){ .name = fn, .userdata = userdata });
}

int loader_watch_put(struct loader *l, const struct hive_watch_key *key, const struct hive_watch_value *value)
{
	if (bpf_map_update_elem(bpf_map__fd(l->skel->maps.watches), key, value, BPF_ANY) < 0)
		return negative_errno();
	return 0;
}

int loader_watch_delete(struct loader *l, const struct hive_watch_key *key)
{
	if (bpf_map_delete_elem(bpf_map__fd(l->skel->maps.watches), key) < 0 && errno != ENOENT)
		return negative_errno();
	return 0;
}

int loader_name_put(struct loader *l, const struct hive_name_key *key, const struct hive_watch_value *value)
{
	if (bpf_map_update_elem(bpf_map__fd(l->skel->maps.names), key, value, BPF_ANY) < 0)
		return negative_errno();
	return 0;
}

int loader_set_data_dir_names(struct loader *l, uint64_t n)
{
	if (bpf_map_update_elem(bpf_map__fd(l->skel->maps.control), &(__u32){ HIVE_CONTROL_DATA_DIR_NAMES }, &n,
				BPF_ANY) < 0)
		return negative_errno();
	return 0;
}

int loader_set_trees(struct loader *l, uint64_t n)
{
	if (bpf_map_update_elem(bpf_map__fd(l->skel->maps.control), &(__u32){ HIVE_CONTROL_TREES }, &n, BPF_ANY) < 0)
		return negative_errno();
	return 0;
}

int loader_name_filter_put(struct loader *l, uint32_t word, uint64_t bits)
{
	if (bpf_map_update_elem(bpf_map__fd(l->skel->maps.name_filter), &word, &bits, BPF_ANY) < 0)
		return negative_errno();
	return 0;
}

int loader_name_delete(struct loader *l, const struct hive_name_key *key)
{
	if (bpf_map_delete_elem(bpf_map__fd(l->skel->maps.names), key) < 0 && errno != ENOENT)
		return negative_errno();
	return 0;
}

bool loader_has_flusher(const struct loader *l)
{
	return l->flush;
}

int loader_flush_folded(struct loader *l)
{
	if (!l->flush)
		return -EOPNOTSUPP;
	/* A run reports one batch; a full batch asks for another. */
	for (int i = 0; i < 1024; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, opts);

		if (bpf_prog_test_run_opts(bpf_program__fd(l->flush->progs.flush_folded), &opts) < 0)
			return negative_errno();
		if ((int)opts.retval < 0)
			return -ENOBUFS;
		if (opts.retval == 0)
			break;
	}
	return 0;
}

void loader_disconnect(struct loader *l)
{
	for (size_t i = 0; i < l->n_hooks; i++)
		if (l->hooks[i].link)
			bpf_link__disconnect(l->hooks[i].link);
	/* Refusals too: the next agent's start is no way through. */
	if (l->skel->links.lsm__file_open)
		bpf_link__disconnect(l->skel->links.lsm__file_open);
}

int loader_detach_and_flush_all(struct loader *l)
{
	detach_hooks(l);
	/* A stop ends every refusal. */
	loader_deny_detach(l);
	if (!l->flush)
		return -EOPNOTSUPP;
	l->flush->bss->flush_all = 1;
	return loader_flush_folded(l);
}

static bool first_of_its_program(const struct loader *l, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (l->hooks[j].prog == l->hooks[i].prog)
			return false;
	return true;
}

int loader_stats_add(const struct loader *l, struct loader_stats *total)
{
	struct hive_stats sum = {};
	int r = counters_add(l, l->skel->maps.stats, (__u64 *)&sum, sizeof(sum) / sizeof(__u64));

	if (r < 0)
		return r;
	total->matched += sum.matched;
	total->emitted += sum.emitted;
	total->suppressed += sum.suppressed;
	total->dropped += sum.dropped;
	for (size_t i = 0; i < l->n_hooks; i++) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);

		if (!first_of_its_program(l, i))
			continue; /* one program, several calls: counted once */

		/* Older kernels fill less of info and leave the rest 0. */
		if (bpf_obj_get_info_by_fd(bpf_program__fd(l->hooks[i].prog), &info, &len) == 0)
			total->missed += info.recursion_misses;
	}
	return 0;
}

uint64_t loader_ring_used(const struct loader *l)
{
	const unsigned long *consumer = l->positions;
	const unsigned long *producer = (const void *)((const char *)l->positions + l->page_size);
	unsigned long c;

	if (!l->positions)
		return 0;
	c = __atomic_load_n(consumer, __ATOMIC_ACQUIRE);
	return __atomic_load_n(producer, __ATOMIC_ACQUIRE) - c;
}

bool loader_fentry_preempted(const struct loader *l)
{
	struct loader_stats st = {};

	return l->mode == ATTACH_FENTRY && loader_stats_add(l, &st) == 0 && st.missed > 0;
}
