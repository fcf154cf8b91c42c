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
	__u64 count;
	__u32 watch_id;
	__u32 flags;
	struct hive_watch_key dir;
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
	if (!pending) {
		/* Idle and nothing to report: make room (the table is a plain
		 * hash while we run, so nothing else removes entries). A
		 * count claimed by the last run was left until now, so that a
		 * give-back always finds its entry. */
		bpf_map_delete_elem(map, key);
		return 0;
	}
	/* Only this program claims entries this old; the hooks only add. */
	__sync_fetch_and_add(&state->pending, -pending);
	b->items[i].key = *key;
	b->items[i].count = pending;
	b->items[i].watch_id = state->watch_id;
	b->items[i].flags = state->flags;
	b->items[i].dir = state->dir;
	b->n = i + 1;
	return 0;
}

static void give_back(const struct claimed *c)
{
	struct hive_dedup_state *state = bpf_map_lookup_elem(&dedup, &c->key);

	if (state)
		__sync_fetch_and_add(&state->pending, c->count);
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
		__builtin_memset(ev, 0, sizeof(*ev));
		ev->boot_ns = b->now;
		ev->ino = c->key.ino;
		ev->dev = c->key.dev;
		ev->gen = c->key.gen;
		ev->tgid = c->key.tgid;
		ev->mask = c->key.mask;
		/* As the accesses were found: their file may be gone from
		 * the map since (replaced), user space still knows its id. */
		ev->watch_id = c->watch_id;
		ev->dir = c->dir;
		/* The record stands for all of them: itself and count - 1 more. */
		ev->suppressed = c->count - 1;
		ev->flags = HIVE_EVENT_FOLDED | c->flags | (c->key.tgid ? 0 : HIVE_EVENT_AGGREGATED);
		bpf_ringbuf_submit(ev, 0);
	}
	if (full)
		return -1;
	return b->n == FLUSH_BATCH ? 1 : 0;
}
