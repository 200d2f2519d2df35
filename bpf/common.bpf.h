/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Shared by every drylock BPF object: the maps all families use (pinned by
 * name under the collector's pin root, so separate objects share one ring
 * buffer, one sequence counter and one config), and the steps every decision
 * takes: count it, number it, emit it, return a verifier-provable verdict.
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

/* key rule_idx -> decisions per verdict (per CPU; the collector sums). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, DL_MAX_RULES);
	__type(key, __u32);
	__type(value, struct dl_count);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dl_counts SEC(".maps");

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

static __always_inline void dl_count(__u32 rule_idx, __u8 verdict)
{
	struct dl_count *c = bpf_map_lookup_elem(&dl_counts, &rule_idx);

	if (c && verdict < DL_VERDICT_MAX)
		c->n[verdict]++;
}

static __always_inline void dl_count_unmatched(__u32 family)
{
	__u64 *n = bpf_map_lookup_elem(&dl_unmatched, &family);

	if (n)
		(*n)++;
}

/* Reserve and fill the common part of a record; NULL (and counted) if the
 * ring buffer is full. The caller fills the payload and submits. */
static __always_inline struct dl_record *dl_record_start(__u16 family, __u16 hook, __u32 rule_idx,
							 __u8 verdict, __u8 enforced, __u32 gen)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task_btf();
	struct dl_record *rec;
	__u32 zero = 0, fam = family;
	__u64 seq = 0, *seqp, *drops, id, ugid;
	struct nsproxy *nsp;

	seqp = bpf_map_lookup_elem(&dl_seq, &zero);
	if (seqp)
		seq = __sync_fetch_and_add(seqp, 1) + 1;

	rec = bpf_ringbuf_reserve(&dl_events, sizeof(*rec), 0);
	if (!rec) {
		drops = bpf_map_lookup_elem(&dl_drops, &fam);
		if (drops)
			__sync_fetch_and_add(drops, 1);
		return NULL;
	}

	id = bpf_get_current_pid_tgid();
	ugid = bpf_get_current_uid_gid();
	rec->version = DL_ABI_VERSION;
	rec->size = sizeof(*rec);
	rec->family = family;
	rec->hook = hook;
	rec->seq = seq;
	rec->ktime_ns = bpf_ktime_get_boot_ns();
	rec->cgroup_id = bpf_get_current_cgroup_id();
	/* Direct loads through the trusted task pointer (CO-RE relocated by
	 * vmlinux.h's preserve_access_index): the verifier turns each into a
	 * fault-safe load (a NULL mm of a kernel thread reads as 0), without
	 * the helper call per field that BPF_CORE_READ chains cost. */
	nsp = task->nsproxy;
	rec->mnt_ns = nsp ? nsp->mnt_ns->ns.inum : 0;
	rec->exe_ino = task->mm->exe_file->f_inode->i_ino;
	rec->policy_gen = gen;
	rec->rule_idx = rule_idx;
	rec->tgid = id >> 32;
	rec->pid = (__u32)id;
	rec->ppid = task->real_parent->tgid;
	rec->uid = (__u32)ugid;
	rec->gid = ugid >> 32;
	rec->euid = task->cred->euid.val;
	rec->loginuid = task->loginuid.val;
	rec->sessionid = task->sessionid;
	rec->verdict = verdict;
	rec->enforced = enforced;
	rec->flags = 0;
	__builtin_memset(rec->pad, 0, sizeof(rec->pad));
	bpf_get_current_comm(rec->comm, sizeof(rec->comm));
	__builtin_memset(&rec->u, 0, sizeof(rec->u));
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

#endif
