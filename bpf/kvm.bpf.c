// SPDX-License-Identifier: GPL-2.0-only
/*
 * Policy family "kvm": one VM creator at a time (seed 000, vm.bpf.c).
 *
 * The first thread group that issues KVM_CREATE_VM on /dev/kvm becomes the
 * owner and may create more VMs; KVM_CREATE_VM from any other thread group
 * is decided by the policy's kvm rules (dl_kvm_rules) until the owner exits:
 *   allow rule whose cgroup holds the requester -> allowed, recorded as allow
 *     (the exception; the requester does not become owner);
 *   deny rule -> would-deny (permissive) or -EPERM (enforce), recorded.
 * Requests that take or use the lock are allowed and not recorded.
 *
 * Hooks: file_ioctl and file_ioctl_compat (a 32-bit process's ioctl goes
 * only through the compat hook where the kernel has it; the loader skips a
 * program whose hook the running kernel lacks), and task_free to release.
 * /dev/kvm is recognised by the inode's device number (i_rdev 10:232 on a
 * character device), so a node made elsewhere counts too.
 *
 * Identity of the owner (dl_kvm_owner): tgid plus the start time of the
 * thread group's leader. A pid that is reused by a later process has a
 * later start time, so it never matches the stored owner; an exec keeps both
 * (de_thread copies the old leader's start_time). Release: task_free runs
 * when the last reference to a task goes, where current is NOT the dying
 * task (so the task argument is used); the lock is released when a task of
 * the owner's group leader is freed with no live thread left in its
 * signal_struct (signal->live reaches 0 in do_exit of the group's last
 * thread). The leader is freed last: the kernel does not reap a group leader
 * while other threads of its group live (delay_group_leader), and a thread
 * that execs takes over as leader (de_thread, which also swaps the pids)
 * while the old one, whose pid is no longer the tgid, is skipped.
 *
 * Taking the lock is a compare-and-swap on the owner's tgid, so two
 * first creators racing get one owner; the loser is decided as a
 * non-owner.
 */
#include "common.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define DL_S_IFMT 00170000   /* include/uapi/linux/stat.h */
#define DL_S_IFCHR 0020000

/* key 0 -> struct dl_kvm_set: the policy's kvm rules (n == 0: family off). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dl_kvm_set);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dl_kvm_rules SEC(".maps");

/* key 0 -> struct dl_kvm_owner: who holds the lock (tgid 0: nobody). Pinned,
 * so a restarted collector or a policy reload keeps the owner. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dl_kvm_owner);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dl_kvm_owner SEC(".maps");

static __always_inline int kvm_decide(struct file *file, unsigned int cmd, __u16 hook)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task_btf();
	struct dl_kvm_owner *owner;
	struct dl_kvm_set *set;
	struct dl_config *cfg;
	struct dl_record *rec;
	struct inode *inode;
	__u32 zero = 0, tgid, rule_idx = DL_RULE_NONE, i;
	__u64 start;
	__u8 verdict, enforced = 0;
	int action = -1;

	if (cmd != DL_KVM_CREATE_VM)
		return 0;
	inode = file->f_inode;
	if (!inode || (inode->i_mode & DL_S_IFMT) != DL_S_IFCHR || inode->i_rdev != DL_KVM_DEV)
		return 0;
	set = bpf_map_lookup_elem(&dl_kvm_rules, &zero);
	owner = bpf_map_lookup_elem(&dl_kvm_owner, &zero);
	if (!set || !owner || !set->n)
		return 0;

	tgid = bpf_get_current_pid_tgid() >> 32;
	start = task->group_leader->start_time;
	if (owner->tgid == tgid && owner->start_ns == start)
		return 0;
	if (owner->tgid == 0 && __sync_val_compare_and_swap(&owner->tgid, 0, (__u64)tgid) == 0) {
		owner->start_ns = start;
		bpf_get_current_comm(owner->comm, sizeof(owner->comm));
		return 0;
	}

	for (i = 0; i < DL_KVM_RULES_MAX; i++) {
		struct dl_kvm_rule *r;

		if (i >= set->n)
			break;
		r = &set->r[i];
		if (r->cgroup_id && bpf_get_current_ancestor_cgroup_id(r->cgroup_level) != r->cgroup_id)
			continue;
		rule_idx = r->rule_idx;
		action = r->action;
		break;
	}
	if (action < 0) {
		dl_count_unmatched(DL_FAMILY_KVM);
		return 0;
	}
	cfg = dl_get_config();
	if (cfg)
		enforced = dl_rule_enforced(cfg, DL_FAMILY_KVM, rule_idx, set->gen);
	if (action == DL_ACTION_ALLOW)
		verdict = DL_VERDICT_ALLOW;
	else
		verdict = enforced ? DL_VERDICT_DENY : DL_VERDICT_WOULD_DENY;
	dl_count(rule_idx, set->gen, verdict);

	rec = dl_record_start(DL_FAMILY_KVM, hook, rule_idx, verdict, enforced, set->gen);
	if (rec) {
		rec->u.kvm.owner_tgid = (__u32)owner->tgid;
		rec->u.kvm.cmd = cmd;
		__builtin_memcpy(rec->u.kvm.owner_comm, owner->comm, DL_COMM_LEN);
		dl_record_submit(rec);
	}
	return dl_verdict_ret(verdict);
}

SEC("lsm/file_ioctl")
int BPF_PROG(dl_kvm_ioctl, struct file *file, unsigned int cmd, unsigned long arg, int ret)
{
	if (ret)
		return dl_pass(ret);
	return kvm_decide(file, cmd, DL_HOOK_FILE_IOCTL);
}

SEC("lsm/file_ioctl_compat")
int BPF_PROG(dl_kvm_ioctl32, struct file *file, unsigned int cmd, unsigned long arg, int ret)
{
	if (ret)
		return dl_pass(ret);
	return kvm_decide(file, cmd, DL_HOOK_FILE_IOCTL_COMPAT);
}

/* Release the lock when the owner's thread group is gone (see the top). */
SEC("lsm/task_free")
int BPF_PROG(dl_kvm_free, struct task_struct *task)
{
	struct dl_kvm_owner *owner;
	__u32 zero = 0;

	/* only the group leader (pid == tgid; after de_thread the old leader
	 * carries the exec'ing thread's old pid) */
	if (task->pid != task->tgid)
		return 0;
	owner = bpf_map_lookup_elem(&dl_kvm_owner, &zero);
	if (!owner || !owner->tgid || owner->tgid != (__u64)task->tgid || owner->start_ns != task->start_time)
		return 0;
	if (task->signal->live.counter > 0)
		return 0;
	owner->start_ns = 0;
	__builtin_memset(owner->comm, 0, sizeof(owner->comm));
	__sync_val_compare_and_swap(&owner->tgid, (__u64)task->tgid, 0);
	return 0;
}
