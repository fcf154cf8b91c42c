// SPDX-License-Identifier: MIT
/*
 * Report folded accesses whose window has ended: a process that read a
 * watched file 100,000 times and exited has 99,999 of them pending in the
 * dedup map, and no later access of its own will carry them. Run from user
 * space (BPF_PROG_RUN) every dedup window; a program of its own type
 * (syscall, 5.14+) in an object of its own, so that kernels without it still
 * load the access hooks. Shares hive.bpf.c's maps (maps.bpf.h).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "hive.h"
#include "maps.bpf.h"
#include "process.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

const volatile __u64 dedup_window_ns = 0;
/* Set by user space once the access hooks are detached for good: then no
 * hook can claim a count any more, and every pending one is reported. */
__u32 flush_all = 0;

/* hive.bpf.c leaves entries this old to us: see dedup_admit(). */
#define FLUSH_GUARD_NS (10 * 1000 * 1000ULL)
/* Claimed per run (the verifier walks the emitting loop once per item, so
 * keep it small); a full batch tells user space to run it again. */
#define FLUSH_BATCH 64

struct claimed {
	struct hive_dedup_key key;
	struct hive_dedup_state state; /* as claimed; its pending is the count */
};

/* Claims are gathered while iterating, events written after: the verifier
 * does not follow ring-buffer reservations through an iteration callback. */
struct flush_batch {
	__u64 now;
	__u32 n;
	__u32 pad;
	struct claimed items[FLUSH_BATCH];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct flush_batch);
} batch SEC(".maps");

/* The iteration's context must live on the stack. */
struct claim_ctx {
	struct flush_batch *b;
};

static long claim_one(struct bpf_map *map, struct hive_dedup_key *key, struct hive_dedup_state *state,
		      struct claim_ctx *ctx)
{
	struct flush_batch *b = ctx->b;
	__u64 pending = state->pending;
	__u32 i = b->n;

	if (i >= FLUSH_BATCH)
		return 1;
	if (!flush_all && b->now - state->last_emit_ns < 2 * dedup_window_ns + FLUSH_GUARD_NS)
		return 0;
	if ((__s64)pending <= 0) {
		/* Idle and nothing to report: make room (the table is a plain
		 * hash while we run, so nothing else removes entries). A
		 * count claimed by the last run was left until now, so that a
		 * give-back always finds its entry. Below zero, a hook held
		 * up past the guard claimed what this program had reported:
		 * those accesses were reported twice, never lost, and the
		 * count must not wrap into a huge one. */
		bpf_map_delete_elem(map, key);
		return 0;
	}
	/* Only this program claims entries this old (a hook held up past
	 * the guard aside): take exactly what was read, never more. */
	if (__sync_val_compare_and_swap(&state->pending, pending, 0) != pending)
		return 0; /* changed meanwhile: the next run takes it */
	b->items[i].key = *key;
	b->items[i].state = *state;
	b->items[i].state.pending = pending;
	b->n = i + 1;
	return 0;
}

static void give_back(const struct claimed *c)
{
	struct hive_dedup_state *state = bpf_map_lookup_elem(&dedup, &c->key);

	if (state)
		__sync_fetch_and_add(&state->pending, c->state.pending);
}

/* The event of a claim: the process as the key and the state name it
 * (user space adds the executable's path), the file as it was found. */
static __always_inline void fill_event(struct hive_event *ev, __u64 now, const struct claimed *c)
{
	const struct hive_process *who = &c->state.who;

	__builtin_memset(ev, 0, sizeof(*ev));
	ev->boot_ns = now;
	ev->ino = c->key.ino;
	ev->dev = c->key.dev;
	ev->gen = c->key.gen;
	ev->mask = c->key.mask;
	fill_process(ev, &c->key, who);
	/* As the accesses were found: their file may be gone from the map
	 * since (replaced), user space still knows its id. */
	ev->watch_id = c->state.watch_id;
	ev->dir = c->state.dir;
	/* The record stands for all of them: itself and count - 1 more. */
	ev->suppressed = c->state.pending - 1;
	ev->flags = HIVE_EVENT_FOLDED | c->state.flags | (c->key.tgid ? 0 : HIVE_EVENT_AGGREGATED);
}

SEC("syscall")
int flush_folded(void *ctx)
{
	__u32 zero = 0, full = 0;
	struct flush_batch *b = bpf_map_lookup_elem(&batch, &zero);
	struct claim_ctx cctx = { .b = b };

	if (!b)
		return 0;
	b->now = bpf_ktime_get_boot_ns();
	b->n = 0;
	bpf_for_each_map_elem(&dedup, claim_one, &cctx, 0);

	for (__u32 i = 0; i < FLUSH_BATCH; i++) {
		struct claimed *c;
		struct hive_event *ev;

		if (i >= b->n)
			break;
		c = &b->items[i];
		if (full) {
			give_back(c);
			continue;
		}
		ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
		if (!ev) {
			full = 1; /* the rest goes back, for the next run */
			give_back(c);
			continue;
		}
		fill_event(ev, b->now, c);
		bpf_ringbuf_submit(ev, 0);
	}
	if (full)
		return -1;
	return b->n == FLUSH_BATCH ? 1 : 0;
}
