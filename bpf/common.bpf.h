/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Shared by every drylock BPF object: the maps all families use (pinned by
 * name under the collector's pin root, so separate objects share one ring
 * buffer, one sequence counter and one config), and the steps every decision
 * takes (dl_decide): the verdict from the rule's action and the family's
 * mode, count it, number it, emit it as a header plus the family's payload,
 * return a verifier-provable verdict. A family program only finds the rule
 * and fills its payload.
 *
 * The allow/deny outcome never depends on whether the record could be
 * reserved: a failed reservation is counted in dl_drops and leaves a gap in
 * the sequence, which the collector reports.
 */
#ifndef DRYLOCK_COMMON_BPF_H
#define DRYLOCK_COMMON_BPF_H

#include "vmlinux.h"
#include <asm-generic/errno-base.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "drylock_abi.h"
#include "record.bpf.h"

/* Address family numbers are uapi constants (include/linux/socket.h), which
 * vmlinux.h cannot carry because they are macros. */
#define DL_AF_UNSPEC 0
#define DL_AF_INET 2
#define DL_AF_INET6 10

/* Decision records, drained by the collector. Size set by the loader. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, DL_RINGBUF_DEFAULT);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dl_events SEC(".maps");

/* key 0 -> struct dl_config: mode per family, policy generation. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dl_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dl_config SEC(".maps");

/* key 0 -> last sequence number handed out on this boot. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dl_seq SEC(".maps");

/* key family -> records lost because the ring buffer was full. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, DL_FAMILY_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dl_drops SEC(".maps");

/* key DL_GEN_SLOT(gen, rule_idx) -> decisions per verdict of that rule of
 * that generation (per CPU; user space sums). Two halves by generation
 * parity (drylock_abi.h): a reload zeroes the new generation's half before
 * installing its rules, so its first decisions are counted and the old
 * generation's late ones stay in their own half. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, DL_GEN_SLOTS);
	__type(key, __u32);
	__type(value, struct dl_count);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dl_counts SEC(".maps");

/* key DL_GEN_SLOT(gen, rule_idx) -> struct dl_rule_mode: the rule's own
 * mode (policy key mode=, or `drylock mode --rule ID`); written by the
 * loader into the new generation's half before that generation's rules. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, DL_GEN_SLOTS);
	__type(key, __u32);
	__type(value, struct dl_rule_mode);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dl_rule_mode SEC(".maps");

/* key family -> operations that matched no rule (allowed, not recorded). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, DL_FAMILY_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dl_unmatched SEC(".maps");

static __always_inline struct dl_config *dl_get_config(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&dl_config, &zero);
}

/*
 * An earlier LSM's denial passes through unchanged. The 6.12+ verifier needs
 * R0 provably within [-4095, 0] and cannot follow the clamp clang 14 makes of
 * plain C, so the branches are spelled out (values outside become -EPERM).
 */
static __always_inline int dl_pass(int ret)
{
	long r = ret;

	asm volatile("if %[r] s> 0 goto +2;"
		     "if %[r] s< -4095 goto +1;"
		     "goto +1;"
		     "%[r] = %[eperm];"
		     : [r] "+r"(r)
		     : [eperm] "i"(-EPERM));
	return r;
}

/* 0 or -EPERM, in a form the 6.12+ verifier can bound (see dl_pass). */
static __always_inline int dl_verdict_ret(__u8 verdict)
{
	long r, v = verdict;

	asm volatile("%[r] = 0;"
		     "if %[v] != %[deny] goto +1;"
		     "%[r] = %[eperm];"
		     : [r] "=&r"(r)
		     : [v] "r"(v), [deny] "i"(DL_VERDICT_DENY), [eperm] "i"(-EPERM));
	return r;
}

/*
 * The effective mode of a deny rule: 1 (enforce) or 0 (permissive). The
 * rule's own mode when dl_rule_mode holds one for this rule of this
 * generation (gen: the generation its rule set was installed with, the
 * record's policy_gen), else its family's from dl_config. An entry of
 * another generation (a slot reused two reloads later) never applies.
 */
static __always_inline __u8 dl_rule_enforced(const struct dl_config *cfg, __u32 family, __u32 rule_idx,
					     __u32 gen)
{
	__u32 slot = DL_GEN_SLOT(gen, rule_idx);
	struct dl_rule_mode *m = bpf_map_lookup_elem(&dl_rule_mode, &slot);

	if (m && m->gen == gen && m->mode != DL_RULE_MODE_FAMILY)
		return m->mode == DL_RULE_MODE_ENFORCE;
	if (!cfg || family >= DL_FAMILY_MAX)
		return 0;
	return cfg->mode[family] == DL_MODE_ENFORCE;
}

/* Count one decision in its generation's half of dl_counts. */
static __always_inline void dl_count(__u32 rule_idx, __u32 gen, __u8 verdict)
{
	__u32 slot = DL_GEN_SLOT(gen, rule_idx);
	struct dl_count *c = bpf_map_lookup_elem(&dl_counts, &slot);

	if (c && verdict < DL_VERDICT_MAX)
		c->n[verdict]++;
}

static __always_inline void dl_count_unmatched(__u32 family)
{
	__u64 *n = bpf_map_lookup_elem(&dl_unmatched, &family);

	if (n)
		(*n)++;
}

/* Reserve a record of the header plus payload_len bytes (a constant at
 * every call site: the verifier bounds the payload writes by it) and fill
 * the header (record.bpf.h); NULL (and counted) if the ring buffer is full.
 * The caller fills the payload and submits. */
static __always_inline struct dl_record *dl_record_start(__u16 family, __u16 hook, __u32 rule_idx,
							 __u8 verdict, __u8 enforced, __u32 gen,
							 __u32 payload_len)
{
	struct dl_record *rec;
	__u32 zero = 0, fam = family;
	__u64 seq = 0, *seqp, *drops;

	seqp = bpf_map_lookup_elem(&dl_seq, &zero);
	if (seqp)
		seq = __sync_fetch_and_add(seqp, 1) + 1;

	rec = bpf_ringbuf_reserve(&dl_events, DL_RECORD_HDR_LEN + payload_len, 0);
	if (!rec) {
		drops = bpf_map_lookup_elem(&dl_drops, &fam);
		if (drops)
			__sync_fetch_and_add(drops, 1);
		return NULL;
	}
	dl_record_fill(rec, DL_RECORD_HDR_LEN + payload_len, family, hook, seq, gen, rule_idx, verdict, enforced);
	return rec;
}

/*
 * Submit a record without waking the collector, unless the ring is filling
 * up. A wake-up per record (libbpf's default) costs the process that made
 * the decision a cross-CPU wake-up each time the collector has caught up;
 * instead the collector drains on a short timer (collect.c: at most
 * DL_DRAIN_INTERVAL_MS after a record arrives) and is woken at once only when
 * a quarter of the ring is used, long before a burst could fill it. So no
 * drop is added, and a busy system pays about one wake-up per timer tick.
 */
static __always_inline void dl_record_submit(struct dl_record *rec)
{
	__u64 avail = bpf_ringbuf_query(&dl_events, BPF_RB_AVAIL_DATA);
	__u64 size = bpf_ringbuf_query(&dl_events, BPF_RB_RING_SIZE);

	bpf_ringbuf_submit(rec, avail > size / 4 ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
}

/*
 * How every decision ends, once the family has found the rule that decides
 * (rule_idx and its action; action < 0: no rule matched) and built the
 * record's payload (payload_len bytes, a constant at the call site; flags
 * DL_REC_F_* about it, e.g. a string cut at its field's size):
 *   no rule -> counted in dl_unmatched, allowed, not recorded;
 *   allow   -> allowed, counted, recorded as allow;
 *   deny    -> would-deny (permissive) or deny (enforce: the rule's own mode
 *              if it has one, else its family's), counted,
 *              recorded; -EPERM when denied.
 * The verdict never depends on whether the record could be reserved.
 */
static __always_inline int dl_decide(__u16 family, __u16 hook, __u32 gen, __u32 rule_idx, int action,
				     const void *payload, __u32 payload_len, __u8 flags)
{
	struct dl_config *cfg;
	struct dl_record *rec;
	__u8 verdict, enforced = 0;

	if (action < 0) {
		dl_count_unmatched(family);
		return 0;
	}
	cfg = dl_get_config();
	if (cfg)
		enforced = dl_rule_enforced(cfg, family, rule_idx, gen);
	if (action == DL_ACTION_ALLOW)
		verdict = DL_VERDICT_ALLOW;
	else
		verdict = enforced ? DL_VERDICT_DENY : DL_VERDICT_WOULD_DENY;
	dl_count(rule_idx, gen, verdict);

	rec = dl_record_start(family, hook, rule_idx, verdict, enforced, gen, payload_len);
	if (rec) {
		rec->flags = flags;
		__builtin_memcpy(&rec->u, payload, payload_len);
		dl_record_submit(rec);
	}
	return dl_verdict_ret(verdict);
}

#endif
