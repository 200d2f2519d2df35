/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Offline replay (contract in replay.h).
 *
 * Design. What-if and suggest must agree with the kernel, so they never
 * re-implement the decision: a policy is parsed by the collector's parser,
 * compiled by dl_policy_compile() and each stored operation is decided by
 * dl_policy_decide() on the payload its family rebuilds from the stored
 * object (report-family.h). The only thing replaced is the cgroup lookup, which in the
 * collector stats /sys/fs/cgroup: here a cgroup path maps to FNV-1a(path) and
 * its component count. Rules and events use the same mapping, so "rule's
 * cgroup is an ancestor of the event's cgroup" is exactly "rule path is a
 * prefix, at a component boundary, of the event path", which is what the
 * kernel checks with ids. A removed-and-recreated cgroup is the same cgroup
 * here (the kernel would see a new id); that is the right answer for "what
 * would this policy do", since a reload resolves paths again.
 *
 * Stored policy text concatenates the top file and every included file
 * (each after "# drylock-file: NAME"). It is parsed with
 * dl_policy_parse_stored(), in which the parser itself skips `include`
 * lines: rewriting the text to comment them out missed spellings the
 * tokenizer accepts (a continuation line before the include, a CR after the
 * keyword), and replay then read files relative to the caller's current
 * directory. Rule order may differ from the original parse (included rules
 * come after the top file's), which only matters for two identical rules,
 * and the decision is reported by rule id, not index.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay.h"
#include "report-family.h"

static __u64 fnv1a(const char *s, size_t n)
{
	__u64 h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ull;
	}
	return h ? h : 1;
}

/* Component count of a well-formed path, -1 if the parser would reject it
 * or it is deeper than an ancestor list holds. */
static int path_level(const char *path)
{
	int n = dl_cgroup_path_level(path);

	return n > DL_CG_LEVEL_MAX ? -1 : n;
}

int dl_cg_level(const char *path)
{
	return path ? path_level(path) : -1;
}

int dl_cg_synth_resolve(const char *path, __u64 *id, __u8 *level, void *ctx)
{
	int l = path_level(path);

	(void)ctx;
	if (l < 0)
		return -EINVAL;
	*id = fnv1a(path, strlen(path));
	*level = (__u8)l;
	return 0;
}

size_t dl_cg_synth_ancestors(const char *path, __u64 *anc, bool *unknown)
{
	int l = path ? path_level(path) : -1;
	size_t n = 1;

	anc[0] = fnv1a("/", 1);
	if (l < 0) {
		*unknown = true;
		return 1;
	}
	*unknown = false;
	/* Each '/' after the first character ends an ancestor's path. */
	for (const char *p = path + 1; *p; p++)
		if (*p == '/')
			anc[n++] = fnv1a(path, (size_t)(p - path));
	if (l > 0)
		anc[n++] = fnv1a(path, strlen(path));
	return n;
}

static int compile(struct dl_replay *rp, int r, struct dl_diags *diags)
{
	if (r < 0)
		return r;
	r = dl_policy_compile(rp->policy, dl_cg_synth_resolve, NULL, &rp->comp, diags);
	if (r < 0) {
		dl_policy_free(rp->policy);
		rp->policy = NULL;
	}
	return r;
}

int dl_replay_init(struct dl_replay *rp, const char *name, const char *text, struct dl_diags *diags)
{
	*rp = (struct dl_replay){ 0 };
	return compile(rp, dl_policy_parse_stored(name, text, strlen(text), &rp->policy, diags), diags);
}

int dl_replay_init_file(struct dl_replay *rp, const char *path, struct dl_diags *diags)
{
	*rp = (struct dl_replay){ 0 };
	return compile(rp, dl_policy_parse_file(path, &rp->policy, diags), diags);
}

void dl_replay_free(struct dl_replay *rp)
{
	dl_policy_free(rp->policy);
	dl_compiled_free(&rp->comp);
	*rp = (struct dl_replay){ 0 };
}

int dl_replay_decide(const struct dl_replay *rp, const struct dl_replay_in *in, __u8 *action,
		     __u32 *rule, bool *unknown_cg)
{
	__u64 anc[DL_CG_LEVEL_MAX + 1];
	unsigned f = dl_hook_family(in->hook);
	struct dl_record rec; /* only its payload union is used */
	size_t n_anc;

	if (!f || f >= DL_FAMILY_MAX || !dl_query_families[f] ||
	    dl_query_families[f]->payload(in->hook, in->addr, in->port, in->proto, &rec.u) < 0)
		return -EINVAL;
	n_anc = dl_cg_synth_ancestors(in->cgroup, anc, unknown_cg);
	*rule = dl_policy_decide(&rp->comp, in->hook, &rec.u, anc, n_anc, action);
	return 0;
}
