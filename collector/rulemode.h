/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Per-rule mode and the order in which a policy generation is published
 * (pure logic; the map I/O is loader.c's and main.c's).
 *
 * A rule's own mode lives in the pinned array dl_rule_mode, one struct
 * dl_rule_mode per (generation parity, rule index) slot (drylock_abi.h,
 * DL_GEN_SLOT). The entry names its rule (id, family) and remembers both
 * the mode in effect and the one the policy file gave, so that
 *  - `drylock mode enforce --rule ID` finds the rule by the id the reports
 *    show, in the generation that is deciding now, and switches it;
 *  - `drylock status` lists the rules whose mode differs from their
 *    family's;
 *  - a new generation of the SAME policy (same sha256: a collector restart
 *    that reuses the pinned engine) keeps every runtime switch, while a
 *    generation of another policy (a reload) takes the file's modes: the
 *    file wins, and each runtime switch that is dropped is reported so the
 *    loader can log it.
 */
#ifndef DRYLOCK_RULEMODE_H
#define DRYLOCK_RULEMODE_H

#include <stdbool.h>
#include <stddef.h>
#include "policy.h"

/* The policy tag kept in every entry: the first 8 bytes of its sha256
 * (hex, at least 16 digits read). */
__u64 dl_policy_tag(const char *sha256_hex);

/* Called for a runtime switch a reload drops: old is the previous
 * generation's entry (its mode differs from its file_mode), now the new
 * policy's rule of the same id or NULL when the new policy lacks it. */
typedef void (*dl_rule_mode_dropped_fn)(const struct dl_rule_mode *old, const struct dl_rule *now,
					void *ctx);

/*
 * The entries of generation gen for policy p: out[i] for rule i (n_rules
 * of them). old holds the previous generation's entries (n_old slots as
 * read from its half of dl_rule_mode; entries of other generations than
 * old_gen are ignored), or NULL on a fresh load. Returns the number of
 * runtime switches carried over (same policy) or, for another policy, 0
 * after calling dropped() for each one it drops.
 */
size_t dl_rule_modes_build(const struct dl_policy *p, __u32 gen, const struct dl_rule_mode *old, size_t n_old,
			   __u32 old_gen, struct dl_rule_mode *out, dl_rule_mode_dropped_fn dropped, void *ctx);

/* The rule index of id among the n entries of one generation's half
 * (entry i is rule i), considering only entries of generation gen;
 * -ENOENT if no rule of that generation has this id. */
int dl_rule_mode_find(const struct dl_rule_mode *half, size_t n, __u32 gen, const char *id);

/* Is the rule's effective mode (m->mode, else family_mode) enforce? */
bool dl_rule_mode_enforcing(const struct dl_rule_mode *m, __u32 family_mode);
/* Does the rule's mode differ from its family's (what status lists)? */
bool dl_rule_mode_differs(const struct dl_rule_mode *m, __u32 family_mode);

/*
 * Publishing generation gen, step by step, in the one order that loses
 * nothing: (1) zero the per-rule counters of gen's half and (2) write gen's
 * rule modes, both before (3) any rule of gen is installed, then (4)
 * publish gen in dl_config. While (1)-(3) run, the previous generation's
 * rules keep deciding and counting in the other half; from (3) on, every
 * decision of a gen rule reads its own mode and is counted from zero.
 * Stops at the first step that fails and returns its error.
 */
struct dl_gen_ops {
	int (*zero_counts)(void *ctx, __u32 gen);
	int (*write_modes)(void *ctx, __u32 gen, const struct dl_rule_mode *m, size_t n);
	int (*install_rules)(void *ctx, __u32 gen);
	int (*publish)(void *ctx, __u32 gen);
};
int dl_gen_publish(const struct dl_gen_ops *ops, void *ctx, __u32 gen, const struct dl_rule_mode *m, size_t n);

#endif
