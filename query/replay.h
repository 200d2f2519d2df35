/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Offline replay of stored decisions against a policy (what-if, suggest).
 *
 * A policy is compiled with dl_policy_compile() and decided with
 * dl_policy_decide(), each family's user-space mirror of its kernel program, so a replayed decision is the one the
 * kernel would make. Cgroups are resolved without /sys/fs/cgroup: a path is
 * mapped to a synthetic id (a hash of the path) and its level (component
 * count), and an event's ancestors are the same mapping applied to each
 * prefix of its stored cgroup path. Nothing here prints.
 */
#ifndef DRYLOCK_QUERY_REPLAY_H
#define DRYLOCK_QUERY_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "collector/addr.h"
#include "collector/names.h"
#include "collector/policy.h"

#define DL_CG_LEVEL_MAX 255

/* dl_cgroup_resolver for offline use: id = 64-bit FNV-1a of the path (never
 * 0), level = number of components. -EINVAL for a path the parser would
 * reject. */
int dl_cg_synth_resolve(const char *path, __u64 *id, __u8 *level, void *ctx);

/* Fill anc[0..level] with the synthetic ids of "/", "/a", "/a/b", ... for
 * path; returns the count (level + 1). A NULL, empty or malformed path is
 * treated as the root: returns 1 with anc[0] = id of "/" and sets *unknown.
 * anc must hold DL_CG_LEVEL_MAX + 1 entries. */
size_t dl_cg_synth_ancestors(const char *path, __u64 *anc, bool *unknown);

/* Components of a cgroup path ("/" is 0; -1 for NULL = no cgroup). */
int dl_cg_level(const char *path);

/* dl_addr_parse (display text to the 16 bytes) and dl_prefix_format are
 * collector/addr.h's, shared with the collector. */


struct dl_replay {
	struct dl_policy *policy;
	struct dl_compiled comp;   /* every family's rules (dl_policy_compile) */
};

/* Parse stored policy text (files concatenated, see dl_policy.text, maybe
 * with rules appended) with dl_policy_parse_stored(): `include` lines are
 * skipped by the parser, never followed, as the included text is inline.
 * Then compile it with the synthetic resolver. 0, or -EINVAL with the
 * problems in *diags. */
int dl_replay_init(struct dl_replay *rp, const char *name, const char *text, struct dl_diags *diags);
/* From a policy file on disk (includes resolved as usual, bounded as for
 * every policy file: see dl_policy_parse_file). */
int dl_replay_init_file(struct dl_replay *rp, const char *path, struct dl_diags *diags);
void dl_replay_free(struct dl_replay *rp);

struct dl_replay_in {
	unsigned hook;          /* enum dl_hook */
	const char *addr;       /* display text from objects.addr */
	unsigned port, proto;
	const char *cgroup;     /* stored path, may be NULL */
};

/* Decide one stored operation under rp. Returns 0 with *action and *rule
 * (rule index or DL_RULE_NONE; no rule means allow), *unknown_cg set when the
 * cgroup path was unusable and the root was assumed; -EINVAL when the event
 * cannot be replayed (unknown hook, or an object row its family cannot turn
 * back into a payload: see report-family.h). */
int dl_replay_decide(const struct dl_replay *rp, const struct dl_replay_in *in, __u8 *action,
		     __u32 *rule, bool *unknown_cg);

#endif
