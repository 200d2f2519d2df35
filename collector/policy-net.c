/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Family "net" in the policy layer: the keys of a net rule (policy-net.h),
 * its canonical text, and compilation for the kernel (bpf/net.bpf.c).
 *
 * Compilation (dl_net_compile) turns net rules into LPM trie entries: one
 * per distinct prefix, holding every rule whose prefix covers that prefix,
 * most specific first. The kernel (bpf/net.bpf.c) does one longest-prefix
 * lookup and takes the first matching rule of the set; dl_net_decide is the
 * same walk in user space. That is exact because any rule matching an address
 * either covers the longest matching prefix or has a longer prefix of its own,
 * which would then be the longest match.
 *
 * dl_net_pf_build compiles the same rules into the pre-filter the kernel
 * asks first (bpf/net_pf.h): per operation, the bits of every address
 * /16 and every port some rule covers.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "addr.h"
#include "names.h"
#include "policy-family.h"
#include "bpf/net_pf.h"

#define PREFIX_STRLEN (INET6_ADDRSTRLEN + 16) /* "addr/len" */

/* Zero the bits of a beyond plen. */
static void mask_addr(__u8 a[DL_ADDR_LEN], unsigned plen)
{
	for (unsigned i = 0; i < DL_ADDR_LEN; i++) {
		unsigned lo = i * 8;

		if (plen <= lo)
			a[i] = 0;
		else if (plen < lo + 8)
			a[i] &= (__u8)(0xff << (lo + 8 - plen));
	}
}

/* Does prefix (a, plen) contain address/prefix b? */
static bool prefix_covers(const __u8 a[DL_ADDR_LEN], unsigned plen, const __u8 b[DL_ADDR_LEN])
{
	__u8 m[DL_ADDR_LEN];

	memcpy(m, b, DL_ADDR_LEN);
	mask_addr(m, plen);
	return memcmp(m, a, DL_ADDR_LEN) == 0;
}

/* "1.2.3.0/24", "2001:db8::/32", "any", "any4". */
static void format_prefix(char *out, size_t outlen, const __u8 a[DL_ADDR_LEN], unsigned plen)
{
	if (plen == 0)
		snprintf(out, outlen, "any");
	else if (plen == 96 && dl_addr_is_v4mapped(a) && !memcmp(a + 12, "\0\0\0\0", 4))
		snprintf(out, outlen, "any4");
	else
		dl_prefix_format(out, outlen, a, plen);
}

/* ------------------------------------------------------------------------ */
/* family "net" */

static int net_key_addr(struct dl_key_ctx *k)
{
	struct dl_net_match *m = &k->r->u.net;
	char ip[INET6_ADDRSTRLEN + 8], hint[INET6_ADDRSTRLEN + 8];
	const char *slash;
	unsigned long len;
	__u8 a[DL_ADDR_LEN], masked[DL_ADDR_LEN];
	unsigned plen;
	bool v4;
	int v;

	if (!strcmp(k->val, "any") || !strcmp(k->val, "any6")) {
		/* any6 cannot say "IPv6 but not v4-mapped" as one prefix: it is
		 * ::/0, and loses to any4 (::ffff:0:0/96) by specificity. */
		memset(m->addr, 0, DL_ADDR_LEN);
		m->prefixlen = 0;
		return 0;
	}
	if (!strcmp(k->val, "any4")) {
		memset(m->addr, 0, DL_ADDR_LEN);
		memcpy(m->addr, dl_v4mapped_prefix, sizeof(dl_v4mapped_prefix));
		m->prefixlen = 96;
		return 0;
	}

	slash = strchr(k->val, '/');
	v = dl_prefix_parse(k->val, a, &plen);
	if (v == -ERANGE && dl_tok_copy(ip, sizeof(ip), k->val, (size_t)(slash - k->val))) {
		v4 = dl_addr_parse(ip, a) == 4;
		dl_key_err(k, "invalid prefix length '/%s' for an %s address (0-%u)",
		     slash + 1, v4 ? "IPv4" : "IPv6", v4 ? 32 : 128);
		return -EINVAL;
	}
	if (v < 0)
		goto bad;
	v4 = v == 4;
	len = plen - (v4 ? 96 : 0);
	memcpy(masked, a, sizeof(a));
	mask_addr(masked, plen);
	if (memcmp(masked, a, sizeof(a))) {
		inet_ntop(v4 ? AF_INET : AF_INET6, v4 ? masked + 12 : masked, hint, sizeof(hint));
		dl_key_err(k, "host bits set, did you mean %s/%lu?", hint, len);
		return -EINVAL;
	}
	memcpy(m->addr, a, DL_ADDR_LEN);
	m->prefixlen = (__u8)plen;
	return 0;
bad:
	dl_key_err(k, "invalid address '%s' (expected IPv4 or IPv6 address[/len], any, any4 or any6)", k->val);
	return -EINVAL;
}

static int net_key_port(struct dl_key_ctx *k)
{
	struct dl_net_match *m = &k->r->u.net;
	const char *dash = strchr(k->val, '-');
	unsigned long lo, hi;

	if (dash) {
		if (!dl_parse_udec(k->val, (size_t)(dash - k->val), 65535, &lo) ||
		    !dl_parse_udec(dash + 1, strlen(dash + 1), 65535, &hi))
			goto bad;
		if (lo > hi) {
			dl_key_err(k, "invalid port range '%s': %lu is above %lu",
			     k->val, lo, hi);
			return -EINVAL;
		}
	} else {
		if (!dl_parse_udec(k->val, k->vlen, 65535, &lo))
			goto bad;
		hi = lo;
	}
	m->port_lo = (__u16)lo;
	m->port_hi = (__u16)hi;
	return 0;
bad:
	dl_key_err(k, "invalid port '%s' (expected N or LO-HI within 0-65535)", k->val);
	return -EINVAL;
}

static int net_key_proto(struct dl_key_ctx *k)
{
	struct dl_net_match *m = &k->r->u.net;

	if (!strcmp(k->val, "tcp"))
		m->proto = 6;
	else if (!strcmp(k->val, "udp"))
		m->proto = 17;
	else if (!strcmp(k->val, "any"))
		m->proto = 0;
	else {
		dl_key_err(k, "invalid proto '%s' (expected tcp, udp or any)", k->val);
		return -EINVAL;
	}
	return 0;
}

static int net_key_op(struct dl_key_ctx *k)
{
	struct dl_net_match *m = &k->r->u.net;
	const char *p = k->val;
	__u8 ops = 0;

	for (;;) {
		size_t n = strcspn(p, ",");
		__u8 bit;

		if (n == 7 && !strncmp(p, "connect", 7))
			bit = DL_NET_OP_CONNECT;
		else if (n == 4 && !strncmp(p, "bind", 4))
			bit = DL_NET_OP_BIND;
		else
			goto bad;
		if (ops & bit)
			goto bad;
		ops |= bit;
		if (!p[n])
			break;
		p += n + 1;
	}
	m->ops = ops;
	return 0;
bad:
	dl_key_err(k, "invalid op '%s' (expected connect, bind or connect,bind)", k->val);
	return -EINVAL;
}

static int net_key_cgroup(struct dl_key_ctx *k)
{
	return dl_key_cgroup(k, &k->r->u.net.cgroup);
}

static void net_init(struct dl_rule *r)
{
	r->u.net = (struct dl_net_match){ .ops = DL_NET_OP_CONNECT, .port_lo = 0, .port_hi = 65535 };
}

/* Keys in canonical order: addr port proto op cgroup. Defaults (port any,
 * proto any, cgroup any) omitted; op always printed. */
static void net_canon(const struct dl_rule *r, struct dl_strbuf *b)
{
	const struct dl_net_match *m = &r->u.net;
	char pfx[PREFIX_STRLEN];

	format_prefix(pfx, sizeof(pfx), m->addr, m->prefixlen);
	dl_sb_printf(b, " addr=%s", pfx);
	if (m->port_lo == m->port_hi)
		dl_sb_printf(b, " port=%u", m->port_lo);
	else if (m->port_lo != 0 || m->port_hi != 65535)
		dl_sb_printf(b, " port=%u-%u", m->port_lo, m->port_hi);
	if (m->proto == 6)
		dl_sb_str(b, " proto=tcp");
	else if (m->proto == 17)
		dl_sb_str(b, " proto=udp");
	dl_sb_str(b, m->ops == (DL_NET_OP_CONNECT | DL_NET_OP_BIND) ? " op=connect,bind"
	       : m->ops == DL_NET_OP_BIND ? " op=bind" : " op=connect");
	if (m->cgroup) {
		dl_sb_str(b, " cgroup=");
		dl_sb_str(b, m->cgroup);
	}
}

static void net_free(struct dl_rule *r)
{
	free(r->u.net.cgroup);
	r->u.net.cgroup = NULL;
}

/* ------------------------------------------------------------------------ */
/* net compilation */

struct cg_res {
	const char *path;
	__u64 id;
	__u8 level;
	int err;
};

/* Most specific first; see policy.h for the order. rule_idx last makes it
 * total. ctx is the policy (qsort_r: no file-static sort state). */
static int rule_cmp(const void *pa, const void *pb, void *ctx)
{
	const struct dl_policy *pol = ctx;
	const struct dl_net_rule *a = pa, *b = pb;
	const struct dl_net_match *ma = &pol->rules[a->rule_idx].u.net;
	const struct dl_net_match *mb = &pol->rules[b->rule_idx].u.net;
	int la = a->cgroup_id ? a->cgroup_level : -1, lb = b->cgroup_id ? b->cgroup_level : -1;
	unsigned wa = (unsigned)a->port_hi - a->port_lo, wb = (unsigned)b->port_hi - b->port_lo;

	if (ma->prefixlen != mb->prefixlen)
		return ma->prefixlen > mb->prefixlen ? -1 : 1;
	if (wa != wb)
		return wa < wb ? -1 : 1;
	if (!a->proto != !b->proto)
		return a->proto ? -1 : 1;
	if (la != lb)
		return la > lb ? -1 : 1;
	if (a->action != b->action)
		return a->action == DL_ACTION_DENY ? -1 : 1;
	return a->rule_idx < b->rule_idx ? -1 : a->rule_idx > b->rule_idx;
}

static int entry_cmp(const void *pa, const void *pb)
{
	const struct dl_net_entry *a = pa, *b = pb;

	if (a->key.prefixlen != b->key.prefixlen)
		return a->key.prefixlen > b->key.prefixlen ? -1 : 1;
	return memcmp(a->key.addr, b->key.addr, DL_ADDR_LEN);
}

int dl_net_compile(const struct dl_policy *p, dl_cgroup_resolver res, void *res_ctx,
		   struct dl_net_entry **out, size_t *n_out, struct dl_diags *diags)
{
	const char *root = res == dl_cgroup_resolve_fs && res_ctx ? res_ctx : DL_CGROUP_ROOT_DEFAULT;
	struct dl_net_entry *ents = NULL;
	struct dl_net_rule *rr = NULL;
	struct cg_res *cgs = NULL;
	size_t n_cgs = 0, n_ents = 0, *first_of = NULL;
	bool bad = false;
	int ret = -ENOMEM;

	*out = NULL;
	*n_out = 0;
	if (!p->n_rules)
		return 0;
	rr = calloc(p->n_rules, sizeof(*rr));
	cgs = calloc(p->n_rules, sizeof(*cgs));
	ents = calloc(p->n_rules, sizeof(*ents));
	first_of = calloc(p->n_rules, sizeof(*first_of));
	if (!rr || !cgs || !ents || !first_of)
		goto out;

	/* Resolve each distinct cgroup path once; build kernel rules. */
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct dl_rule *r = &p->rules[i];
		const struct dl_net_match *m = &r->u.net;
		size_t j;

		if (r->family != DL_FAMILY_NET)
			continue;
		rr[i] = (struct dl_net_rule){ .rule_idx = (__u32)i, .port_lo = m->port_lo,
					      .port_hi = m->port_hi, .proto = m->proto,
					      .ops = m->ops, .action = r->action };
		if (!m->cgroup)
			continue;
		for (j = 0; j < n_cgs; j++)
			if (!strcmp(cgs[j].path, m->cgroup))
				break;
		if (j == n_cgs) {
			cgs[j].path = m->cgroup;
			cgs[j].err = res ? res(m->cgroup, &cgs[j].id, &cgs[j].level, res_ctx) : -ENOSYS;
			if (!cgs[j].err && !cgs[j].id)
				cgs[j].err = -ENOENT; /* 0 means "any cgroup" to the kernel */
			n_cgs++;
		}
		if (cgs[j].err == -ENOENT) {
			dl_diag_add(diags, r->file, r->line, 0, "cgroup %s not found under %s", m->cgroup, root);
			bad = true;
		} else if (cgs[j].err) {
			dl_diag_add(diags, r->file, r->line, 0, "cannot resolve cgroup %s: %s", m->cgroup,
				 strerror(-cgs[j].err));
			bad = true;
		} else {
			rr[i].cgroup_id = cgs[j].id;
			rr[i].cgroup_level = cgs[j].level;
		}
	}

	/* Distinct prefixes, remembering the first rule that wrote each. */
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct dl_net_match *m = &p->rules[i].u.net;
		size_t j;

		if (p->rules[i].family != DL_FAMILY_NET)
			continue;
		for (j = 0; j < n_ents; j++)
			if (ents[j].key.prefixlen == m->prefixlen &&
			    !memcmp(ents[j].key.addr, m->addr, DL_ADDR_LEN))
				break;
		if (j < n_ents)
			continue;
		ents[n_ents].key.prefixlen = m->prefixlen;
		memcpy(ents[n_ents].key.addr, m->addr, DL_ADDR_LEN);
		first_of[n_ents++] = i;
	}
	if (n_ents > DL_NET_LPM_MAX) {
		dl_diag_add(diags, p->rules[first_of[DL_NET_LPM_MAX]].file,
			 p->rules[first_of[DL_NET_LPM_MAX]].line, 0,
			 "too many distinct net address prefixes (%zu, at most %d)", n_ents, DL_NET_LPM_MAX);
		bad = true;
	}

	for (size_t e = 0; e < n_ents; e++) {
		struct dl_net_entry *ent = &ents[e];
		struct dl_net_rule tmp[DL_MAX_RULES];
		size_t n = 0;

		for (size_t i = 0; i < p->n_rules && n < DL_MAX_RULES; i++) {
			const struct dl_net_match *m = &p->rules[i].u.net;

			if (p->rules[i].family == DL_FAMILY_NET && m->prefixlen <= ent->key.prefixlen &&
			    prefix_covers(m->addr, m->prefixlen, ent->key.addr))
				tmp[n++] = rr[i];
		}
		if (n > DL_NET_SET_MAX) {
			char pfx[PREFIX_STRLEN];
			const struct dl_rule *r = &p->rules[first_of[e]];

			format_prefix(pfx, sizeof(pfx), ent->key.addr, ent->key.prefixlen);
			dl_diag_add(diags, r->file, r->line, 0,
				 "%zu rules apply to prefix %s (rule '%s'), at most %d can", n, pfx,
				 r->id, DL_NET_SET_MAX);
			bad = true;
			continue;
		}
		qsort_r(tmp, n, sizeof(tmp[0]), rule_cmp, (void *)p);
		ent->set.n = (__u32)n;
		ent->set.gen = 0; /* the loader stamps the generation */
		memcpy(ent->set.r, tmp, n * sizeof(tmp[0]));
	}
	if (bad) {
		ret = -EINVAL;
		goto out;
	}
	qsort(ents, n_ents, sizeof(ents[0]), entry_cmp);
	*out = ents;
	*n_out = n_ents;
	ents = NULL;
	ret = 0;
out:
	free(rr);
	free(cgs);
	free(first_of);
	free(ents);
	return ret;
}

__u32 dl_net_decide(const struct dl_net_entry *entries, size_t n, const __u8 addr[DL_ADDR_LEN],
		    __u16 port, __u8 proto, __u8 op, const __u64 *ancestors, size_t n_anc,
		    __u8 *action)
{
	const struct dl_net_entry *best = NULL;

	if (action)
		*action = DL_ACTION_ALLOW;
	for (size_t i = 0; i < n; i++) {
		const struct dl_net_entry *e = &entries[i];

		if (e->key.prefixlen > 128 || (best && e->key.prefixlen <= best->key.prefixlen))
			continue;
		if (prefix_covers(e->key.addr, e->key.prefixlen, addr))
			best = e;
	}
	if (!best)
		return DL_RULE_NONE;
	for (__u32 i = 0; i < best->set.n && i < DL_NET_SET_MAX; i++) {
		const struct dl_net_rule *r = &best->set.r[i];

		if (!(r->ops & op))
			continue;
		if (r->proto && r->proto != proto)
			continue;
		if (port < r->port_lo || port > r->port_hi)
			continue;
		/* bpf_get_current_ancestor_cgroup_id(level): 0 past the own level */
		if (r->cgroup_id && (r->cgroup_level >= n_anc || ancestors[r->cgroup_level] != r->cgroup_id))
			continue;
		if (action)
			*action = r->action;
		return r->rule_idx;
	}
	return DL_RULE_NONE;
}

/* ------------------------------------------------------------------------ */
/* the pre-filter */

static void set_bits(__u64 *bits, unsigned lo, unsigned hi)
{
	for (unsigned i = lo; i <= hi; i++)
		bits[i >> 6] |= 1ull << (i & 63);
}

/* Set the bits of every 16-bit value whose top plen bits equal those of v. */
static void set_prefix16(__u64 *bits, unsigned v, unsigned plen)
{
	unsigned span = plen >= 16 ? 1 : 1u << (16 - plen), lo = v & ~(span - 1) & 0xffff;

	set_bits(bits, lo, lo + span - 1);
}

void dl_net_pf_build(const struct dl_policy *p, struct dl_net_pf *pf /* [DL_NET_PF_OPS] */)
{
	__u8 v4mapped[DL_ADDR_LEN] = { 0 }; /* ::ffff:0:0 */
	static const __u8 ops[DL_NET_PF_OPS] = { [DL_NET_PF_CONNECT] = DL_NET_OP_CONNECT,
						 [DL_NET_PF_BIND] = DL_NET_OP_BIND };

	memcpy(v4mapped, dl_v4mapped_prefix, sizeof(dl_v4mapped_prefix));

	memset(pf, 0, DL_NET_PF_OPS * sizeof(*pf));
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct dl_net_match *m = &p->rules[i].u.net;

		if (p->rules[i].family != DL_FAMILY_NET)
			continue;
		for (unsigned k = 0; k < DL_NET_PF_OPS; k++) {
			if (!(m->ops & ops[k]))
				continue;
			set_bits(pf[k].port, m->port_lo, m->port_hi);
			if (m->prefixlen >= 96 && dl_addr_is_v4mapped(m->addr)) {
				/* an IPv4 prefix: only v4-mapped addresses */
				set_prefix16(pf[k].v4, (unsigned)m->addr[12] << 8 | m->addr[13], m->prefixlen - 96u);
				continue;
			}
			set_prefix16(pf[k].v6, (unsigned)m->addr[0] << 8 | m->addr[1], m->prefixlen);
			/* A shorter prefix that covers ::ffff:0:0/96 covers every
			 * IPv4 address (any, ::/80 ...). */
			if (m->prefixlen <= 96 && prefix_covers(m->addr, m->prefixlen, v4mapped))
				set_bits(pf[k].v4, 0, DL_NET_PF_BITS - 1);
		}
	}
}

/* ------------------------------------------------------------------------ */
/* registry entry */

struct net_compiled {
	struct dl_net_entry *ents;
	size_t n;
};

static int net_compile(const struct dl_policy *p, dl_cgroup_resolver res, void *res_ctx, void **out,
		       struct dl_diags *diags)
{
	struct net_compiled *c = calloc(1, sizeof(*c));
	int err;

	*out = NULL;
	if (!c)
		return -ENOMEM;
	err = dl_net_compile(p, res, res_ctx, &c->ents, &c->n, diags);
	if (err) {
		free(c);
		return err;
	}
	*out = c;
	return 0;
}

static __u32 net_decide(const void *compiled, unsigned hook, const void *payload, const __u64 *anc,
			size_t n_anc, __u8 *action)
{
	const struct net_compiled *c = compiled;
	const struct dl_net_payload *n = payload;
	__u8 op = (__u8)dl_hook_op(hook);

	if (action)
		*action = DL_ACTION_ALLOW;
	if (!op)
		return DL_RULE_NONE;
	return dl_net_decide(c->ents, c->n, n->addr, n->port, n->protocol, op, anc, n_anc, action);
}

const struct dl_net_entry *dl_net_compiled_entries(const void *compiled, size_t *n)
{
	const struct net_compiled *c = compiled;

	*n = c ? c->n : 0;
	return c ? c->ents : NULL;
}

static void net_free_compiled(void *compiled)
{
	struct net_compiled *c = compiled;

	if (c)
		free(c->ents);
	free(c);
}

static const struct dl_key_def net_keys[] = {
	{ "addr", true, net_key_addr },
	{ "port", false, net_key_port },
	{ "proto", false, net_key_proto },
	{ "op", false, net_key_op },
	{ "cgroup", false, net_key_cgroup },
};

const struct dl_policy_family dl_policy_family_net = {
	.keys = net_keys,
	.n_keys = sizeof(net_keys) / sizeof(net_keys[0]),
	.init = net_init,
	.canon = net_canon,
	.free = net_free,
	.compile = net_compile,
	.decide = net_decide,
	.free_compiled = net_free_compiled,
};
