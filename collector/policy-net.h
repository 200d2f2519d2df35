/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Family "net" in the policy layer (collector/policy-net.c): rule fields and
 * the compile/decide pair the loader, what-if replay and suggest use.
 * Included by policy.h (for the rule union); nothing else of the family is
 * visible outside its files.
 *
 * Rule keys (docs/policy-format.md):
 *       addr=<ipv4|ipv6>[/len] | any | any4 | any6     (required)
 *       port=<n> | <lo>-<hi>                            (default: any)
 *       proto=tcp|udp|any                               (default: any)
 *       op=connect|bind|connect,bind                    (default: connect)
 *       cgroup=<path under /sys/fs/cgroup, starting '/'> (default: any cgroup)
 *   - decision for one operation: among the rules that match it, the most
 *     specific wins: longer address prefix, then narrower port range, then
 *     a given proto over any, then a deeper cgroup over a shallower/global
 *     one; on a full tie deny wins. No matching rule: allow, not recorded.
 *
 */
#ifndef DRYLOCK_POLICY_NET_H
#define DRYLOCK_POLICY_NET_H

struct dl_policy;
struct dl_diags;

struct dl_net_match {
	__u8 addr[DL_ADDR_LEN];  /* network order, IPv4 v4-mapped, host bits zeroed */
	__u8 prefixlen;          /* 0..128 (IPv4 /n is stored as 96+n) */
	__u8 ops;                /* DL_NET_OP_* */
	__u8 proto;              /* 0 any, 6 tcp, 17 udp */
	__u16 port_lo, port_hi;  /* inclusive */
	char *cgroup;            /* NULL: any cgroup; else path like "/web.slice" */
};

struct dl_net_entry {
	struct dl_lpm_key key;
	struct dl_net_set set;
};

/* Compile the policy's net rules into LPM entries: one entry per distinct
 * prefix, each holding every rule whose prefix covers it, most specific
 * first. Unresolvable cgroups and sets over DL_NET_SET_MAX are reported in
 * diags (with the rule's file:line) and make it fail with -EINVAL. */
int dl_net_compile(const struct dl_policy *p, dl_cgroup_resolver res, void *res_ctx,
		   struct dl_net_entry **out, size_t *n_out, struct dl_diags *diags);

/* The kernel's decision procedure, in user space (used by unit tests and by
 * what-if replay): returns the index into entries' rule of the deciding rule
 * (its rule_idx) or DL_RULE_NONE, and sets *action. ancestors[i] is the
 * cgroup id at level i of the subject's cgroup (ancestors[n_anc-1] = own). */
__u32 dl_net_decide(const struct dl_net_entry *entries, size_t n, const __u8 addr[DL_ADDR_LEN],
		    __u16 port, __u8 proto, __u8 op, const __u64 *ancestors, size_t n_anc,
		    __u8 *action);

/* The pre-filter (bpf/net_pf.h) for p's net rules: pf[DL_NET_PF_CONNECT]
 * and pf[DL_NET_PF_BIND], DL_NET_PF_OPS entries of struct dl_net_pf. Every
 * address and port a rule of that operation covers has its bit set. */
struct dl_net_pf;
void dl_net_pf_build(const struct dl_policy *p, struct dl_net_pf *pf);

/* The entries inside net's compiled form (dl_compiled.fam[DL_FAMILY_NET]);
 * NULL and 0 for NULL. */
const struct dl_net_entry *dl_net_compiled_entries(const void *compiled, size_t *n);

#endif
