/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The net family's suggestions: least-privilege allow rules for observed
 * denials (contract in suggest.h; kvm's are in suggest-requester.c).
 *
 * Design. Input: groups of operations the base policy denies (the caller has
 * already replayed them, so deny_rule is the rule that decides today).
 * Output: `net allow` rules, each covering some groups, built in three steps.
 *
 *  1. Grouping. A rule is scoped by (cgroup, op, proto): the event's cgroup
 *     path unless it is the root (or unknown), the hook's op, tcp/udp or any.
 *     Within that scope each address keeps its exact ports, unless it used
 *     more than max_ports distinct ports, then one LO-HI range covers them.
 *     Addresses with the same port spec are exact hosts (/32, /128), unless
 *     two or more fall in one /24 (IPv4) or /64 (IPv6): then the shortest
 *     prefix covering just those addresses (the longest common prefix) is
 *     used. Both widenings are reported in the suggestion's note.
 *
 *  2. Specificity. The kernel takes the most specific matching rule (longer
 *     prefix, narrower ports, proto given, deeper cgroup, deny on a tie), a
 *     total order, so an allow overrides a deny exactly when it sorts before
 *     the deny that decides today. A candidate that does not is narrowed:
 *     an aggregated prefix is split into hosts, a port range into ports; an
 *     unscoped host rule gets cgroup=/ (same reach as no cgroup, one level
 *     deeper in the order). Only a deny that is equal in every dimension is
 *     left: the suggestion is kept with a problem saying to edit that rule.
 *
 *  3. Verification. The base text plus all suggestions is parsed and
 *     compiled like a real policy and every group is decided again with
 *     dl_net_decide(); a suggestion whose groups are not all allowed loses
 *     its verified flag, and the check is repeated without it (another
 *     suggestion may have been what allowed some group).
 *
 *  4. Budget (max_rules). A policy holds at most DL_MAX_RULES rules, and a
 *     reviewer reads a few dozen, so when step 1 gives more suggestions
 *     than the budget they are widened uniformly until they fit: each
 *     (cgroup, op, proto, port, deciding deny rule) keeps one rule per IPv4
 *     /P (IPv6 /Q) prefix, never shorter than one bit more than that deny's
 *     (so the allow still outranks it and is not split back into hosts),
 *     P from 31 down to 8 (Q from 124 down to 32, 4 bits a step), each rule
 *     the smallest prefix covering its addresses; then the same with the
 *     ports of a prefix merged into one range. The first setting that fits
 *     wins. If none fits (more cgroups than rules), the setting that lets
 *     the most frequent groups cover the most events is used and the least
 *     frequent groups are left out. The caller is told what was widened and
 *     how many events are left uncovered, and verification (step 3) still
 *     runs on what is kept.
 *
 * Cgroup paths come from the kernel and may hold any byte; one that cannot
 * be written as a policy token (blank or control bytes, a trailing '\') is
 * not guessed around: the suggestion is marked with a problem and its text
 * shows the path with those bytes replaced by '?'.
 *
 * Ids are "sug-" + 8 hex digits of the sha256 of the rule text without its
 * id, so the same denials give the same ids on every run.
 *
 * This is the net family's suggest: drylock-query reaches it through the
 * family registry (query/report-net.c's suggest callback), which reads each
 * group's stored object into addr, port, proto and op first.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suggest.h"

struct cand {
	const char *scope;       /* NULL: no cgroup= */
	bool scope_bad;          /* cannot be written as a token */
	__u8 op, proto;
	size_t *ix, n;
	char *note;
};

struct sctx {
	const struct dl_replay *base;
	const struct dl_obs *obs;
	const struct dl_suggest_opts *opts;
	struct dl_suggestion *v;
	uint64_t *hash;          /* FNV-1a of each suggestion's body, for merging */
	size_t n, cap;
	size_t run_start;        /* first suggestion of the current (cgroup, op, proto) */
	bool oom;
};

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 14695981039346656037ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static const char *obs_scope(const struct dl_obs *o)
{
	return dl_cg_level(o->cgroup) > 0 ? o->cgroup : NULL;
}

static bool scope_writable(const char *s)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
			return false;
	return !n || s[n - 1] != '\\';
}

static __u8 proto_spec(__u8 p)
{
	return p == 6 || p == 17 ? p : 0;
}

static int scope_cmp(const char *a, const char *b)
{
	if (!a || !b)
		return !a && !b ? 0 : !a ? -1 : 1;
	return strcmp(a, b);
}

static const struct dl_obs *sort_obs;

static int ix_cmp(const void *pa, const void *pb)
{
	const struct dl_obs *a = &sort_obs[*(const size_t *)pa], *b = &sort_obs[*(const size_t *)pb];
	int c = scope_cmp(obs_scope(a), obs_scope(b));

	if (c)
		return c;
	if (a->op != b->op)
		return a->op < b->op ? -1 : 1;
	if (proto_spec(a->proto) != proto_spec(b->proto))
		return proto_spec(a->proto) < proto_spec(b->proto) ? -1 : 1;
	if ((c = memcmp(a->addr, b->addr, DL_ADDR_LEN)))
		return c;
	return a->port < b->port ? -1 : a->port > b->port;
}

/* Derived shape of a candidate: covering prefix and port range. */
static void cand_shape(const struct sctx *x, const struct cand *c, __u8 addr[DL_ADDR_LEN],
		       unsigned *plen, __u16 *lo, __u16 *hi)
{
	const __u8 *a0 = x->obs[c->ix[0]].addr;
	unsigned len = 128;

	*lo = *hi = x->obs[c->ix[0]].port;
	for (size_t i = 1; i < c->n; i++) {
		const struct dl_obs *o = &x->obs[c->ix[i]];
		unsigned l = 0;

		while (l < len && ((a0[l / 8] ^ o->addr[l / 8]) & (0x80 >> (l % 8))) == 0)
			l++;
		len = l;
		if (o->port < *lo)
			*lo = o->port;
		if (o->port > *hi)
			*hi = o->port;
	}
	memset(addr, 0, DL_ADDR_LEN);
	memcpy(addr, a0, len / 8);
	if (len % 8)
		addr[len / 8] = a0[len / 8] & (__u8)(0xff << (8 - len % 8));
	*plen = len;
}

static size_t distinct_addrs(const struct sctx *x, const struct cand *c)
{
	size_t n = c->n ? 1 : 0;

	for (size_t i = 1; i < c->n; i++)
		n += memcmp(x->obs[c->ix[i]].addr, x->obs[c->ix[i - 1]].addr, DL_ADDR_LEN) != 0;
	return n;
}

/* Does candidate c, of prefix length plen and ports lo..hi (cand_shape),
 * sort before base rule d in the kernel's order? */
static bool beats(const struct sctx *x, const struct cand *c, unsigned plen, __u16 lo, __u16 hi,
		  __u32 d)
{
	const struct dl_net_match *m = &x->base->policy->rules[d].u.net;
	unsigned sw, dw = (unsigned)m->port_hi - m->port_lo;
	int sl, dlv;

	sw = (unsigned)hi - lo;
	if (plen != m->prefixlen)
		return plen > m->prefixlen;
	if (sw != dw)
		return sw < dw;
	if (!c->proto != !m->proto)
		return c->proto != 0;
	sl = c->scope ? dl_cg_level(c->scope) : -1;
	dlv = m->cgroup ? dl_cg_level(m->cgroup) : -1;
	return sl > dlv; /* a tie goes to deny */
}

/* First deny rule of c's groups that c does not outrank, or DL_RULE_NONE. */
static __u32 unbeaten(const struct sctx *x, const struct cand *c)
{
	__u8 addr[DL_ADDR_LEN];
	unsigned plen;
	__u16 lo, hi;
	__u32 last = DL_RULE_NONE;

	cand_shape(x, c, addr, &plen, &lo, &hi);
	for (size_t i = 0; i < c->n; i++) {
		__u32 d = x->obs[c->ix[i]].deny_rule;

		if (d == last)
			continue;
		if (d != DL_RULE_NONE && d < x->base->policy->n_rules && !beats(x, c, plen, lo, hi, d))
			return d;
		last = d;
	}
	return DL_RULE_NONE;
}

static char *xstrdup(struct sctx *x, const char *s)
{
	char *r = s ? strdup(s) : NULL;

	if (s && !r)
		x->oom = true;
	return r;
}

static void add_suggestion(struct sctx *x, const struct cand *c, const char *problem)
{
	struct dl_suggestion *s;
	__u8 addr[DL_ADDR_LEN];
	unsigned plen;
	__u16 lo, hi;
	char pfx[INET6_ADDRSTRLEN + 8], ports[24] = "", hash[65], *body = NULL, *scope = NULL;

	cand_shape(x, c, addr, &plen, &lo, &hi);
	dl_prefix_format(pfx, sizeof(pfx), addr, plen);
	if (lo == hi)
		snprintf(ports, sizeof(ports), " port=%u", lo);
	else if (lo != 0 || hi != 65535)
		snprintf(ports, sizeof(ports), " port=%u-%u", lo, hi);
	if (c->scope) {
		scope = xstrdup(x, c->scope);
		for (char *p = scope; p && *p; p++)
			if ((unsigned char)*p <= 0x20 || *p == 0x7f)
				*p = '?';
	}
	if (asprintf(&body, "addr=%s%s%s op=%s%s%s", pfx, ports,
		     c->proto == 6 ? " proto=tcp" : c->proto == 17 ? " proto=udp" : "",
		     c->op == DL_NET_OP_BIND ? "bind" : "connect", scope ? " cgroup=" : "",
		     scope ? scope : "") < 0) {
		free(scope);
		x->oom = true;
		return;
	}
	free(scope);
	/* Same text twice (can only happen after splits, so within one
	 * (cgroup, op, proto) run, whose scope is in the text): merge into
	 * the first. */
	uint64_t h = fnv1a(body);
	for (size_t i = x->run_start; i < x->n; i++)
		if (x->hash[i] == h && !strcmp(x->v[i].text + x->v[i].keys_off, body)) {
			s = &x->v[i];
			goto merge;
		}
	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 16;
		struct dl_suggestion *v = realloc(x->v, cap * sizeof(*v));
		uint64_t *hv = v ? realloc(x->hash, cap * sizeof(*hv)) : NULL;

		if (v)
			x->v = v;
		if (!hv) {
			free(body);
			x->oom = true;
			return;
		}
		x->hash = hv;
		x->cap = cap;
	}
	x->hash[x->n] = h;
	s = &x->v[x->n++];
	*s = (struct dl_suggestion){ .first_ms = INT64_MAX, .last_ms = INT64_MIN };
	{
		char *canon = NULL;

		if (asprintf(&canon, "net allow %s", body) < 0)
			x->oom = true;
		dl_sha256_hex(canon ? canon : body, canon ? strlen(canon) : strlen(body), hash);
		free(canon);
	}
	snprintf(s->id, sizeof(s->id), "sug-%.8s", hash);
	{
		char head[40];
		int hl = snprintf(head, sizeof(head), "net allow %s ", s->id);

		if (asprintf(&s->text, "%s%s", head, body) < 0) {
			s->text = NULL;
			x->oom = true;
			x->n--;
			free(body);
			return;
		}
		s->keys_off = (size_t)hl;
	}
	s->note = xstrdup(x, c->note);
	s->problem = xstrdup(x, problem);
merge:
	free(body);
	{
		size_t *ob = realloc(s->obs, (s->n_obs + c->n) * sizeof(*ob));
		__u32 *ov = realloc(s->overrides, (s->n_overrides + c->n) * sizeof(*ov));

		if (ob)
			s->obs = ob;
		if (ov)
			s->overrides = ov;
		if (!ob || !ov) {
			x->oom = true;
			return;
		}
	}
	for (size_t i = 0; i < c->n; i++) {
		const struct dl_obs *o = &x->obs[c->ix[i]];
		size_t k;

		s->obs[s->n_obs++] = c->ix[i];
		s->count += o->count;
		if (o->first_ms < s->first_ms)
			s->first_ms = o->first_ms;
		if (o->last_ms > s->last_ms)
			s->last_ms = o->last_ms;
		s->verdicts |= o->verdicts;
		for (k = 0; k < s->n_overrides && s->overrides[k] != o->deny_rule; k++)
			;
		if (k == s->n_overrides && o->deny_rule != DL_RULE_NONE)
			s->overrides[s->n_overrides++] = o->deny_rule;
	}
}

/* Sub-candidate of c with the groups [from, to) of its (sorted) index list. */
static struct cand sub_cand(const struct cand *c, size_t from, size_t to)
{
	return (struct cand){ .scope = c->scope, .scope_bad = c->scope_bad, .op = c->op,
			      .proto = c->proto, .ix = c->ix + from, .n = to - from };
}

static void place(struct sctx *x, struct cand *c, bool root_tried)
{
	__u32 d;
	__u8 addr[DL_ADDR_LEN];
	unsigned plen;
	__u16 lo, hi;

	if (c->scope_bad) {
		add_suggestion(x, c, "the cgroup path holds bytes a policy file cannot carry "
				     "(blank or control characters): write this rule by hand");
		return;
	}
	if ((d = unbeaten(x, c)) == DL_RULE_NONE) {
		add_suggestion(x, c, NULL);
		return;
	}
	cand_shape(x, c, addr, &plen, &lo, &hi);
	if (distinct_addrs(x, c) > 1) {
		/* ix is sorted by address then port: split at address changes. */
		for (size_t i = 0, j; i < c->n; i = j) {
			struct cand s;

			for (j = i + 1; j < c->n && !memcmp(x->obs[c->ix[j]].addr,
							     x->obs[c->ix[i]].addr, DL_ADDR_LEN); j++)
				;
			s = sub_cand(c, i, j);
			place(x, &s, root_tried);
		}
		return;
	}
	if (lo != hi) {
		for (size_t i = 0, j; i < c->n; i = j) {
			struct cand s;

			for (j = i + 1; j < c->n && x->obs[c->ix[j]].port == x->obs[c->ix[i]].port; j++)
				;
			s = sub_cand(c, i, j);
			place(x, &s, root_tried);
		}
		return;
	}
	if (!c->scope && !root_tried) {
		struct cand s = *c;
		char *note = NULL;

		s.scope = "/";
		if (asprintf(&note, "cgroup=/ (every cgroup, like no cgroup=) makes it outrank "
				    "the global deny rule '%s'", x->base->policy->rules[d].id) < 0)
			note = NULL;
		s.note = note;
		place(x, &s, true);
		free(note);
		return;
	}
	{
		char *why = NULL;

		if (asprintf(&why, "cannot override the equally specific deny rule '%s' (a tie goes "
				   "to deny): edit that rule instead", x->base->policy->rules[d].id) < 0)
			why = NULL;
		add_suggestion(x, c, why ? why : "cannot override an equally specific deny rule");
		free(why);
	}
}

/* Same /24 (IPv4) or /64 (IPv6). */
static bool same_bucket(const __u8 *a, const __u8 *b)
{
	bool va = dl_addr_is_v4mapped(a), vb = dl_addr_is_v4mapped(b);

	if (va != vb)
		return false;
	return !memcmp(a, b, va ? 15 : 8);
}

struct item {
	size_t from, to;    /* range in the run's index list */
	__u16 lo, hi;
	const __u8 *addr;
};

static int item_cmp(const void *pa, const void *pb)
{
	const struct item *a = pa, *b = pb;
	int c;

	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	if (a->hi != b->hi)
		return a->hi < b->hi ? -1 : 1;
	if ((c = memcmp(a->addr, b->addr, DL_ADDR_LEN)))
		return c;
	return a->from < b->from ? -1 : a->from > b->from;
}

/* One (cgroup, op, proto) run: ix[0..n) sorted by address, then port. */
static void do_run(struct sctx *x, size_t *ix, size_t n)
{
	const struct dl_obs *o0 = &x->obs[ix[0]];
	struct item *items = calloc(n, sizeof(*items));
	size_t *order = malloc(n * sizeof(*order)), ni = 0;
	struct cand base = { .scope = obs_scope(o0), .op = o0->op, .proto = proto_spec(o0->proto) };

	x->run_start = x->n;
	if (!items || !order) {
		x->oom = true;
		goto out;
	}
	base.scope_bad = base.scope && !scope_writable(base.scope);
	for (size_t i = 0, j; i < n; i = j) {
		size_t ports = 0;

		for (j = i; j < n && !memcmp(x->obs[ix[j]].addr, x->obs[ix[i]].addr, DL_ADDR_LEN); j++)
			ports += j == i || x->obs[ix[j]].port != x->obs[ix[j - 1]].port;
		if (ports > x->opts->max_ports) {
			items[ni++] = (struct item){ .from = i, .to = j, .lo = x->obs[ix[i]].port,
						     .hi = x->obs[ix[j - 1]].port,
						     .addr = x->obs[ix[i]].addr };
			continue;
		}
		for (size_t k = i, l; k < j; k = l) {
			for (l = k + 1; l < j && x->obs[ix[l]].port == x->obs[ix[k]].port; l++)
				;
			items[ni++] = (struct item){ .from = k, .to = l, .lo = x->obs[ix[k]].port,
						     .hi = x->obs[ix[k]].port, .addr = x->obs[ix[k]].addr };
		}
	}
	qsort(items, ni, sizeof(*items), item_cmp);
	for (size_t i = 0, j; i < ni; i = j) {
		struct cand c = base;
		size_t m = 0, addrs = 1;
		char *note = NULL;

		for (j = i + 1; j < ni && items[j].lo == items[i].lo && items[j].hi == items[i].hi &&
				same_bucket(items[j].addr, items[i].addr); j++)
			addrs++;
		for (size_t k = i; k < j; k++)
			for (size_t l = items[k].from; l < items[k].to; l++)
				order[m++] = ix[l];
		c.ix = order;
		c.n = m;
		{
			__u8 a[DL_ADDR_LEN];
			unsigned plen;
			__u16 lo, hi;
			char pfx[INET6_ADDRSTRLEN + 8], agg[160] = "", rng[96] = "";

			cand_shape(x, &c, a, &plen, &lo, &hi);
			dl_prefix_format(pfx, sizeof(pfx), a, plen);
			if (addrs > 1)
				snprintf(agg, sizeof(agg), "aggregated: %zu addresses in one %s -> %s",
					 addrs, plen >= 96 && a[10] == 0xff && a[11] == 0xff ? "/24" : "/64",
					 pfx);
			if (lo != hi)
				snprintf(rng, sizeof(rng), "port range %u-%u: more than %u distinct ports "
					 "(--max-ports)", lo, hi, x->opts->max_ports);
			if ((agg[0] || rng[0]) && asprintf(&note, "%s%s%s", agg, agg[0] && rng[0] ? "; " : "",
							   rng) < 0)
				note = NULL;
		}
		/* place() may split along addresses, then ports: sort for it. A
		 * split drops the note, which describes the widening. */
		qsort(order, m, sizeof(*order), ix_cmp);
		c.note = note;
		place(x, &c, false);
		free(note);
	}
out:
	free(items);
	free(order);
}

/* ---- budget ---------------------------------------------------------- */

struct gkey {
	bool merge_ports;
	unsigned p4, p6;         /* prefix bits kept (IPv4 0..32, IPv6 0..128) */
};

static const struct gkey *sort_gk;
static const struct sctx *sort_x;

/* Compare a and b on their first bits bits. */
static int prefix_cmp(const __u8 *a, const __u8 *b, unsigned bits)
{
	int c = memcmp(a, b, bits / 8);
	__u8 m;

	if (c || bits % 8 == 0)
		return c;
	m = (__u8)(0xff << (8 - bits % 8));
	return (a[bits / 8] & m) - (b[bits / 8] & m);
}

/* Prefix bits of o's group key under k (128-bit space, IPv4 mapped). */
static unsigned key_bits(const struct dl_obs *o, const struct gkey *k)
{
	unsigned bits = dl_addr_is_v4mapped(o->addr) ? 96 + k->p4 : k->p6;
	const struct dl_policy *p = sort_x->base->policy;

	if (o->deny_rule != DL_RULE_NONE && o->deny_rule < p->n_rules &&
	    p->rules[o->deny_rule].u.net.prefixlen + 1u > bits)
		bits = p->rules[o->deny_rule].u.net.prefixlen + 1u;
	return bits > 128 ? 128 : bits;
}

/* Group key order: scope, op, proto, [port], family, deny rule, address prefix; then
 * address and port, so a group's members come sorted as place() needs. */
static int gk_key_cmp(const struct dl_obs *a, const struct dl_obs *b, bool whole)
{
	const struct gkey *k = sort_gk;
	bool va = dl_addr_is_v4mapped(a->addr), vb = dl_addr_is_v4mapped(b->addr);
	int c = scope_cmp(obs_scope(a), obs_scope(b));

	if (c)
		return c;
	if (a->op != b->op)
		return a->op < b->op ? -1 : 1;
	if (proto_spec(a->proto) != proto_spec(b->proto))
		return proto_spec(a->proto) < proto_spec(b->proto) ? -1 : 1;
	if (!k->merge_ports && a->port != b->port)
		return a->port < b->port ? -1 : 1;
	if (va != vb)
		return va ? -1 : 1;
	/* A group only holds what one deny rule decides, and its prefix stays
	 * longer than that rule's, so the widened allow still outranks it
	 * (place() would otherwise split it back into hosts). */
	if (a->deny_rule != b->deny_rule)
		return a->deny_rule < b->deny_rule ? -1 : 1;
	if ((c = prefix_cmp(a->addr, b->addr, key_bits(a, k))))
		return c;
	if (!whole)
		return 0;
	if ((c = memcmp(a->addr, b->addr, DL_ADDR_LEN)))
		return c;
	return a->port < b->port ? -1 : a->port > b->port;
}

static int gk_cmp(const void *pa, const void *pb)
{
	return gk_key_cmp(&sort_obs[*(const size_t *)pa], &sort_obs[*(const size_t *)pb], true);
}

struct grange {
	size_t from, to;
	uint64_t count;
	bool keep;
};

static int grange_by_count(const void *pa, const void *pb)
{
	const struct grange *a = *(const struct grange *const *)pa, *b = *(const struct grange *const *)pb;

	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	return a->from < b->from ? -1 : a->from > b->from;
}

/* Sort ix by k and split it into groups; mark the `budget` most frequent
 * as kept. Returns the group count (or 0 on ENOMEM, with x->oom), the
 * events the kept groups hold in *covered. */
static size_t group_by(struct sctx *x, size_t *ix, size_t m, const struct gkey *k, size_t budget,
		       struct grange **out, uint64_t *covered)
{
	struct grange *g = NULL, **byc = NULL;
	size_t n = 0;

	sort_gk = k;
	sort_x = x;
	qsort(ix, m, sizeof(*ix), gk_cmp);
	if (!(g = calloc(m ? m : 1, sizeof(*g))) || !(byc = calloc(m ? m : 1, sizeof(*byc)))) {
		free(g);
		x->oom = true;
		return 0;
	}
	for (size_t i = 0, j; i < m; i = j) {
		g[n] = (struct grange){ .from = i };
		for (j = i; j < m && gk_key_cmp(&x->obs[ix[i]], &x->obs[ix[j]], false) == 0; j++)
			g[n].count += x->obs[ix[j]].count;
		g[n].to = j;
		byc[n] = &g[n];
		n++;
	}
	qsort(byc, n, sizeof(*byc), grange_by_count);
	*covered = 0;
	for (size_t i = 0; i < n && i < budget; i++) {
		byc[i]->keep = true;
		*covered += byc[i]->count;
	}
	free(byc);
	*out = g;
	return n;
}

/* Place the kept groups of ix (sorted and split by group_by under k). */
static void place_groups(struct sctx *x, size_t *ix, const struct grange *g, size_t n,
			 struct dl_suggest_info *info)
{
	const struct dl_obs *prev = NULL;

	for (size_t i = 0; i < n; i++) {
		struct cand c = { 0 };
		const struct dl_obs *o0 = &x->obs[ix[g[i].from]];
		__u8 a[DL_ADDR_LEN];
		unsigned plen;
		__u16 lo, hi;
		char pfx[INET6_ADDRSTRLEN + 8], ports[32] = "", *note = NULL;
		size_t addrs;

		if (!g[i].keep)
			continue;
		if (!prev || scope_cmp(obs_scope(prev), obs_scope(o0)) || prev->op != o0->op ||
		    proto_spec(prev->proto) != proto_spec(o0->proto))
			x->run_start = x->n;
		prev = o0;
		c.scope = obs_scope(o0);
		c.scope_bad = c.scope && !scope_writable(c.scope);
		c.op = o0->op;
		c.proto = proto_spec(o0->proto);
		c.ix = ix + g[i].from;
		c.n = g[i].to - g[i].from;
		addrs = distinct_addrs(x, &c);
		cand_shape(x, &c, a, &plen, &lo, &hi);
		dl_prefix_format(pfx, sizeof(pfx), a, plen);
		if (dl_addr_is_v4mapped(a) && plen >= 96 && plen - 96 < info->v4_plen)
			info->v4_plen = plen - 96;
		else if (!dl_addr_is_v4mapped(a) && plen < info->v6_plen)
			info->v6_plen = plen;
		if (lo != hi) {
			snprintf(ports, sizeof(ports), ", ports %u-%u", lo, hi);
			info->ports_merged = true;
		}
		if ((addrs > 1 || lo != hi) &&
		    asprintf(&note, "widened to fit --max-rules: %zu address(es) -> %s%s", addrs, pfx,
			     ports) < 0)
			note = NULL;
		c.note = note;
		place(x, &c, false);
		free(note);
	}
}

static const struct dl_suggestion *sort_sg;

static int sg_by_count(const void *pa, const void *pb)
{
	size_t a = *(const size_t *)pa, b = *(const size_t *)pb;

	if (sort_sg[a].count != sort_sg[b].count)
		return sort_sg[a].count < sort_sg[b].count ? -1 : 1;
	return a > b ? -1 : a < b; /* later ones first among equals */
}

static void drop_suggestion(struct sctx *x, size_t i)
{
	free(x->v[i].text);
	free(x->v[i].obs);
	free(x->v[i].overrides);
	free(x->v[i].note);
	free(x->v[i].problem);
	memmove(&x->v[i], &x->v[i + 1], (x->n - i - 1) * sizeof(*x->v));
	memmove(&x->hash[i], &x->hash[i + 1], (x->n - i - 1) * sizeof(*x->hash));
	x->n--;
	x->run_start = 0;
}

static void clear_suggestions(struct sctx *x)
{
	while (x->n)
		drop_suggestion(x, x->n - 1);
}

/* Fit x (built by the least-privilege steps, over ix[0..m)) into the
 * budget. */
static void fit_budget(struct sctx *x, size_t *ix, size_t m, size_t budget,
		       struct dl_suggest_info *info)
{
	struct gkey best = { 0 };
	uint64_t best_cov = 0, total = 0;
	struct grange *g = NULL;
	size_t ng;

	for (size_t i = 0; i < m; i++)
		total += x->obs[ix[i]].count;
	info->widened = true;
	/* The first setting that covers the most events. */
	for (int merge = 0; merge < 2 && best_cov < total; merge++)
		for (unsigned st = 1; st <= 24 && best_cov < total; st++) {
			struct gkey k = { .merge_ports = merge, .p4 = 32 - st,
					  .p6 = 128 - 4 * st < 32 ? 32 : 128 - 4 * st };
			uint64_t cov;

			ng = group_by(x, ix, m, &k, budget, &g, &cov);
			free(g);
			g = NULL;
			if (x->oom)
				return;
			if (cov > best_cov) {
				best_cov = cov;
				best = k;
			}
		}
	clear_suggestions(x);
	ng = group_by(x, ix, m, &best, budget, &g, &best_cov);
	if (x->oom)
		return;
	info->v4_plen = 32;
	info->v6_plen = 128;
	place_groups(x, ix, g, ng, info);
	free(g);
	/* place() may have split a group it could not make win: drop the
	 * least frequent suggestions until the budget holds. */
	if (x->n > budget) {
		size_t *byc = malloc(x->n * sizeof(*byc)), k = 0;

		if (!byc) {
			x->oom = true;
			return;
		}
		for (size_t i = 0; i < x->n; i++)
			byc[i] = i;
		sort_sg = x->v;
		qsort(byc, x->n, sizeof(*byc), sg_by_count);
		/* byc[0..n-budget) are the least frequent: free them, keep order */
		for (size_t i = 0; i < x->n - budget; i++) {
			struct dl_suggestion *d = &x->v[byc[i]];

			free(d->text);
			free(d->obs);
			free(d->overrides);
			free(d->note);
			free(d->problem);
			d->text = NULL;
		}
		free(byc);
		for (size_t i = 0; i < x->n; i++)
			if (x->v[i].text) {
				x->hash[k] = x->hash[i];
				x->v[k++] = x->v[i];
			}
		x->n = k;
	}
}

static int verify(struct sctx *x, const char *base_text)
{
	for (int round = 0; round < 8; round++) {
		struct dl_replay rp;
		struct dl_diags dg = { 0 };
		size_t len = strlen(base_text) + 2, active = 0;
		bool changed = false;
		char *text, *p;
		int r;

		for (size_t i = 0; i < x->n; i++)
			if (!x->v[i].problem) {
				len += strlen(x->v[i].text) + 1;
				active++;
			}
		if (!active)
			return 0;
		if (!(text = malloc(len)))
			return -ENOMEM;
		p = stpcpy(text, base_text);
		if (p > text && p[-1] != '\n')
			*p++ = '\n';
		for (size_t i = 0; i < x->n; i++)
			if (!x->v[i].problem) {
				p = stpcpy(p, x->v[i].text);
				*p++ = '\n';
			}
		*p = 0;
		r = dl_replay_init(&rp, "suggest", text, &dg);
		free(text);
		if (r < 0) {
			char *why = NULL;

			if (asprintf(&why, "the policy with the suggestions does not compile: %s",
				     dg.n ? dg.v[0].msg : strerror(-r)) < 0)
				why = NULL;
			for (size_t i = 0; i < x->n; i++)
				if (!x->v[i].problem)
					x->v[i].problem = xstrdup(x, why ? why : "does not compile");
			free(why);
			dl_diags_free(&dg);
			return 0;
		}
		dl_diags_free(&dg);
		for (size_t i = 0; i < x->n; i++) {
			struct dl_suggestion *s = &x->v[i];

			if (s->problem)
				continue;
			for (size_t k = 0; k < s->n_obs; k++) {
				const struct dl_obs *o = &x->obs[s->obs[k]];
				__u64 anc[DL_CG_LEVEL_MAX + 1];
				bool unk;
				size_t n_anc = dl_cg_synth_ancestors(o->cgroup, anc, &unk);
				__u8 act;
				size_t n_ents;
				const struct dl_net_entry *ents = dl_net_compiled_entries(rp.comp.fam[DL_FAMILY_NET],
											 &n_ents);
				__u32 rule = dl_net_decide(ents, n_ents, o->addr, o->port, o->proto,
							   o->op, anc, n_anc, &act);

				if (act != DL_ACTION_ALLOW) {
					char *why = NULL;

					if (asprintf(&why, "replayed with the suggestions, rule '%s' still denies",
						     rule < rp.policy->n_rules ? rp.policy->rules[rule].id
									       : "?") < 0)
						why = NULL;
					s->problem = why ? why : xstrdup(x, "still denied on replay");
					changed = true;
					break;
				}
			}
		}
		dl_replay_free(&rp);
		if (!changed) {
			for (size_t i = 0; i < x->n; i++)
				x->v[i].verified = !x->v[i].problem;
			return 0;
		}
	}
	return 0;
}

int dl_suggest(const struct dl_replay *base, const char *base_text, const struct dl_obs *obs,
	       size_t n_obs, const struct dl_suggest_opts *opts, struct dl_suggestion **out,
	       size_t *n_out, struct dl_suggest_info *info)
{
	struct sctx x = { .base = base, .obs = obs, .opts = opts };
	struct dl_suggest_info dummy;
	size_t *ix = NULL, m = 0;
	int r;

	if (!info)
		info = &dummy;
	*info = (struct dl_suggest_info){ .v4_plen = 32, .v6_plen = 128 };
	*out = NULL;
	*n_out = 0;
	if (!n_obs)
		return 0;
	if (!(ix = malloc(n_obs * sizeof(*ix))))
		return -ENOMEM;
	for (size_t i = 0; i < n_obs; i++)
		if (obs[i].op)
			ix[m++] = i;
	sort_obs = obs;
	qsort(ix, m, sizeof(*ix), ix_cmp);
	for (size_t i = 0, j; i < m; i = j) {
		const struct dl_obs *a = &obs[ix[i]];

		for (j = i + 1; j < m; j++) {
			const struct dl_obs *b = &obs[ix[j]];

			if (scope_cmp(obs_scope(a), obs_scope(b)) || a->op != b->op ||
			    proto_spec(a->proto) != proto_spec(b->proto))
				break;
		}
		do_run(&x, ix + i, j - i);
	}
	for (size_t i = 0; i < m; i++)
		info->events += obs[ix[i]].count;
	if (!x.oom && opts->max_rules && x.n > opts->max_rules)
		fit_budget(&x, ix, m, opts->max_rules, info);
	if (info->widened) {
		size_t k = 0;

		if (info->v4_plen < 32)
			k += (size_t)snprintf(info->how + k, sizeof(info->how) - k, "widened to at most /%u (IPv4)",
					      info->v4_plen);
		if (info->v6_plen < 128 && k < sizeof(info->how))
			k += (size_t)snprintf(info->how + k, sizeof(info->how) - k, "%s /%u (IPv6)",
					      k ? "," : "widened to at most", info->v6_plen);
		if (info->ports_merged && k < sizeof(info->how))
			snprintf(info->how + k, sizeof(info->how) - k, "%sports of a prefix merged into a range",
				 k ? "; " : "");
	}
	free(ix);
	r = x.oom ? -ENOMEM : verify(&x, base_text);
	sort_obs = NULL;
	sort_gk = NULL;
	sort_x = NULL;
	info->covered = info->dropped_events = 0;
	info->dropped_groups = m;
	for (size_t i = 0; i < x.n; i++) {
		if (x.v[i].verified)
			info->covered += x.v[i].count;
		info->dropped_events += x.v[i].count;
		info->dropped_groups -= x.v[i].n_obs;
	}
	info->dropped_events = info->events - info->dropped_events;
	free(x.hash);
	if (r < 0 || x.oom) {
		dl_suggestions_free(x.v, x.n);
		return r < 0 ? r : -ENOMEM;
	}
	*out = x.v;
	*n_out = x.n;
	return 0;
}

void dl_suggestions_free(struct dl_suggestion *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(s[i].text);
		free(s[i].obs);
		free(s[i].overrides);
		free(s[i].note);
		free(s[i].problem);
	}
	free(s);
}
