/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Family "kvm" in the policy layer (collector/policy-kvm.c): one VM creator
 * at a time (bpf/kvm.bpf.c). The family is on when the policy has a kvm
 * rule. Rules:
 *   kvm deny <id> [cgroup=<path>]    a KVM_CREATE_VM by a thread group other
 *                                    than the current owner is refused
 *                                    (would-deny in permissive mode)
 *   kvm allow <id> cgroup=<path>     an exception: requesters in this cgroup
 *                                    (or below) may create VMs while another
 *                                    process owns the lock (recorded as allow)
 * Among the rules whose cgroup holds the requester, the deepest cgroup wins,
 * then deny over allow, then the first written. At most DL_KVM_RULES_MAX.
 */
#ifndef DRYLOCK_POLICY_KVM_H
#define DRYLOCK_POLICY_KVM_H

struct dl_policy;
struct dl_diags;

struct dl_kvm_match {
	char *cgroup;            /* NULL: any cgroup */
};

/* The policy's kvm rules as the kernel walks them (dl_kvm_rules, key 0). */
int dl_kvm_compile(const struct dl_policy *p, dl_cgroup_resolver res, void *res_ctx, struct dl_kvm_set *out,
		   struct dl_diags *diags);

/* The kernel's decision for a KVM_CREATE_VM while owner_tgid holds the lock
 * (0: nobody, so no rule applies): rule_idx or DL_RULE_NONE, and *action. */
__u32 dl_kvm_decide(const struct dl_kvm_set *set, __u32 owner_tgid, const __u64 *ancestors, size_t n_anc,
		    __u8 *action);

#endif
