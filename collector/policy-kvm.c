/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Family "kvm" in the policy layer: keys (cgroup=), canonical text, and the
 * compiled rule set bpf/kvm.bpf.c walks. dl_kvm_decide is the same walk over
 * the same compiled set, for what-if replay: a stored kvm record always
 * names the owner that held the lock, which is the one piece of kernel state
 * the decision needs besides the requester's cgroup.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "names.h"
#include "policy-family.h"

static int kvm_key_cgroup(struct dl_key_ctx *k)
{
	return dl_key_cgroup(k, &k->r->u.kvm.cgroup);
}

static void kvm_init(struct dl_rule *r)
{
	r->u.kvm = (struct dl_kvm_match){ 0 };
}

static void kvm_canon(const struct dl_rule *r, struct dl_strbuf *b)
{
	if (r->u.kvm.cgroup) {
		dl_sb_str(b, " cgroup=");
		dl_sb_str(b, r->u.kvm.cgroup);
	}
}

static void kvm_free(struct dl_rule *r)
{
	free(r->u.kvm.cgroup);
	r->u.kvm.cgroup = NULL;
}

/* Deepest cgroup first (none = shallowest), deny before allow, then order. */
static int kvm_rule_cmp(const void *pa, const void *pb)
{
	const struct dl_kvm_rule *a = pa, *b = pb;
	int la = a->cgroup_id ? a->cgroup_level : -1, lb = b->cgroup_id ? b->cgroup_level : -1;

	if (la != lb)
		return la > lb ? -1 : 1;
	if (a->action != b->action)
		return a->action == DL_ACTION_DENY ? -1 : 1;
	return a->rule_idx < b->rule_idx ? -1 : a->rule_idx > b->rule_idx;
}

int dl_kvm_compile(const struct dl_policy *p, dl_cgroup_resolver res, void *res_ctx, struct dl_kvm_set *out,
		   struct dl_diags *diags)
{
	const char *root = res == dl_cgroup_resolve_fs && res_ctx ? res_ctx : DL_CGROUP_ROOT_DEFAULT;
	bool bad = false;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct dl_rule *r = &p->rules[i];
		struct dl_kvm_rule kr = { .rule_idx = (__u32)i, .action = r->action };

		if (r->family != DL_FAMILY_KVM)
			continue;
		if (out->n == DL_KVM_RULES_MAX) {
			dl_diag_add(diags, r->file, r->line, 0, "too many kvm rules (at most %d)", DL_KVM_RULES_MAX);
			return -EINVAL;
		}
		if (r->u.kvm.cgroup) {
			int err = res ? res(r->u.kvm.cgroup, &kr.cgroup_id, &kr.cgroup_level, res_ctx) : -ENOSYS;

			if (!err && !kr.cgroup_id)
				err = -ENOENT; /* 0 means "any cgroup" to the kernel */
			if (err == -ENOENT)
				dl_diag_add(diags, r->file, r->line, 0, "cgroup %s not found under %s", r->u.kvm.cgroup,
					    root);
			else if (err)
				dl_diag_add(diags, r->file, r->line, 0, "cannot resolve cgroup %s: %s",
					    r->u.kvm.cgroup, strerror(-err));
			if (err) {
				bad = true;
				continue;
			}
		}
		out->r[out->n++] = kr;
	}
	if (bad)
		return -EINVAL;
	qsort(out->r, out->n, sizeof(out->r[0]), kvm_rule_cmp);
	return 0;
}

__u32 dl_kvm_decide(const struct dl_kvm_set *set, __u32 owner_tgid, const __u64 *ancestors, size_t n_anc,
		    __u8 *action)
{
	if (action)
		*action = DL_ACTION_ALLOW;
	if (!owner_tgid)
		return DL_RULE_NONE;
	for (__u32 i = 0; i < set->n && i < DL_KVM_RULES_MAX; i++) {
		const struct dl_kvm_rule *r = &set->r[i];

		/* bpf_get_current_ancestor_cgroup_id(level): 0 past the own level */
		if (r->cgroup_id && (r->cgroup_level >= n_anc || ancestors[r->cgroup_level] != r->cgroup_id))
			continue;
		if (action)
			*action = r->action;
		return r->rule_idx;
	}
	return DL_RULE_NONE;
}

static int kvm_compile(const struct dl_policy *p, dl_cgroup_resolver res, void *res_ctx, void **out,
		       struct dl_diags *diags)
{
	struct dl_kvm_set *set = malloc(sizeof(*set));
	int err;

	*out = NULL;
	if (!set)
		return -ENOMEM;
	err = dl_kvm_compile(p, res, res_ctx, set, diags);
	if (err) {
		free(set);
		return err;
	}
	*out = set;
	return 0;
}

static __u32 kvm_decide(const void *compiled, unsigned hook, const void *payload, const __u64 *anc,
			size_t n_anc, __u8 *action)
{
	const struct dl_kvm_payload *k = payload;

	if (action)
		*action = DL_ACTION_ALLOW;
	if (!dl_hook_op(hook) || k->cmd != DL_KVM_CREATE_VM)
		return DL_RULE_NONE;
	return dl_kvm_decide(compiled, k->owner_tgid, anc, n_anc, action);
}

static const struct dl_key_def kvm_keys[] = {
	{ "cgroup", false, kvm_key_cgroup },
};

const struct dl_policy_family dl_policy_family_kvm = {
	.keys = kvm_keys,
	.n_keys = sizeof(kvm_keys) / sizeof(kvm_keys[0]),
	.init = kvm_init,
	.canon = kvm_canon,
	.free = kvm_free,
	.compile = kvm_compile,
	.decide = kvm_decide,
	.free_compiled = free,
};
