/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Family "self" in the policy layer: the one rule `self deny <id>` compiled
 * into dl_self_set. The kernel decides only after `drylock lock`, and then
 * every attempt its programs see is the rule's (they only fire for the
 * engine's own pins, maps and bpffs, and for LSM program loads and link
 * changes), so the user-space decide is: a self record matches the rule.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "names.h"
#include "policy-family.h"

const char *dl_self_op_name(__u32 op)
{
	switch (op) {
	case DL_SELF_OP_UNLINK: return "unlink";
	case DL_SELF_OP_RENAME: return "rename";
	case DL_SELF_OP_RMDIR: return "rmdir";
	case DL_SELF_OP_UMOUNT: return "umount";
	case DL_SELF_OP_PROG_LOAD: return "prog_load";
	case DL_SELF_OP_LINK_DETACH: return "link_detach";
	case DL_SELF_OP_LINK_UPDATE: return "link_update";
	case DL_SELF_OP_MAP_WRITE: return "map_write";
	}
	return "?";
}

static void self_init(struct dl_rule *r)
{
	r->u.self = (struct dl_self_match){ 0 };
}

static void self_canon(const struct dl_rule *r, struct dl_strbuf *b)
{
}

int dl_self_compile(const struct dl_policy *p, struct dl_self_set *out, struct dl_diags *diags)
{
	const struct dl_rule *first = NULL;
	bool bad = false;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct dl_rule *r = &p->rules[i];

		if (r->family != DL_FAMILY_SELF)
			continue;
		if (r->action != DL_ACTION_DENY) {
			dl_diag_add(diags, r->file, r->line, 0,
				    "self rule '%s': only 'self deny' exists (self-protection has no exceptions)",
				    r->id);
			bad = true;
			continue;
		}
		if (first) {
			dl_diag_add(diags, r->file, r->line, 0,
				    "second self rule '%s': a policy has at most one (the first is '%s' at %s:%u)",
				    r->id, first->id, first->file, first->line);
			bad = true;
			continue;
		}
		first = r;
		out->n = 1;
		out->rule_idx = (__u32)i;
	}
	return bad ? -EINVAL : 0;
}

static int self_compile(const struct dl_policy *p, dl_cgroup_resolver res, void *res_ctx, void **out,
			struct dl_diags *diags)
{
	struct dl_self_set *set = malloc(sizeof(*set));
	int err;

	*out = NULL;
	if (!set)
		return -ENOMEM;
	err = dl_self_compile(p, set, diags);
	if (err) {
		free(set);
		return err;
	}
	*out = set;
	return 0;
}

/* A stored self record was decided by the self rule when there is one and
 * the record names one of the family's operations. */
static __u32 self_decide(const void *compiled, unsigned hook, const void *payload, const __u64 *anc,
			 size_t n_anc, __u8 *action)
{
	const struct dl_self_set *set = compiled;
	const struct dl_self_payload *s = payload;

	if (action)
		*action = DL_ACTION_ALLOW;
	if (!set->n || !(dl_hook_op(hook) & s->op))
		return DL_RULE_NONE;
	if (action)
		*action = DL_ACTION_DENY;
	return set->rule_idx;
}

const struct dl_policy_family dl_policy_family_self = {
	.keys = NULL,
	.n_keys = 0,
	.init = self_init,
	.canon = self_canon,
	.compile = self_compile,
	.decide = self_decide,
	.free_compiled = free,
};
