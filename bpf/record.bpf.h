/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The header of a decision record as every family fills it: who (ids,
 * credentials, comm, executable, cgroup, mount namespace), when, and which
 * record. No map is named here, so a program outside drylock's maps can fill
 * the same header the same way: the hook benchmark's emitfull program
 * (bench/hook/emit.bpf.c) does, to measure what the record's content costs
 * apart from the decision.
 */
#ifndef DRYLOCK_RECORD_BPF_H
#define DRYLOCK_RECORD_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "drylock_abi.h"

/* Fill rec's header: size is the whole record's; the decision (gen, rule_idx,
 * verdict, enforced) as dl_decide found it, zeros outside a decision. */
static __always_inline void dl_record_fill(struct dl_record *rec, __u32 size, __u16 family, __u16 hook, __u64 seq,
					   __u32 gen, __u32 rule_idx, __u8 verdict, __u8 enforced)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task_btf();
	struct nsproxy *nsp;
	__u64 id = bpf_get_current_pid_tgid(), ugid = bpf_get_current_uid_gid();

	rec->version = DL_ABI_VERSION;
	rec->size = size;
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
}

#endif
