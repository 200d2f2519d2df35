/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Family "self" in the policy layer (collector/policy-self.c): what
 * `drylock lock` makes final (bpf/self.bpf.c). The family is on when the
 * policy has a self rule:
 *   self deny <id>     once the engine is locked, removing or renaming its
 *                      pins, unmounting their bpffs, loading an LSM program,
 *                      detaching or updating a link, or opening a rule map
 *                      or dl_config for writing is refused (would-deny in
 *                      permissive mode)
 * A self rule has no keys. There is at most one, and no `self allow`: an
 * exception to self-protection would be a way around it.
 */
#ifndef DRYLOCK_POLICY_SELF_H
#define DRYLOCK_POLICY_SELF_H

struct dl_policy;
struct dl_diags;

struct dl_self_match {
	__u8 none;               /* a self rule has no keys */
};

/* The policy's self rule as the kernel reads it (dl_self_rules, key 0):
 * n == 0 when the policy has none. */
int dl_self_compile(const struct dl_policy *p, struct dl_self_set *out, struct dl_diags *diags);

/* The name of one DL_SELF_OP_* ("unlink", "prog_load", ...), "?" if none. */
const char *dl_self_op_name(__u32 op);

#endif
