/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Per-rule mode without a kernel (collector/rulemode.c): the entries a new
 * generation gets (a restart keeps runtime switches, a reload takes the
 * file's modes and reports the switches it drops), rule id -> index in the
 * deciding generation, the effective mode, and the order in which a
 * generation is published, checked against a model of the kernel that
 * makes a decision after every step (as the kernel may while the loader
 * works): every decision must read its own generation's mode and be counted
 * in its own generation's counters.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "tap.h"
#include "collector/policy.h"
#include "collector/rulemode.h"

static struct dl_policy *parse(const char *text)
{
	struct dl_diags d = { 0 };
	struct dl_policy *p = NULL;

	if (dl_policy_parse_string("t.policy", text, &p, &d))
		for (size_t i = 0; i < d.n; i++)
			printf("#   %u:%u: %s\n", d.v[i].line, d.v[i].col, d.v[i].msg);
	dl_diags_free(&d);
	return p;
}

static const char pol_a[] =
	"net deny smtp addr=any port=25 proto=tcp\n"
	"net deny meta addr=169.254.169.254 mode=enforce\n"
	"net deny dns addr=any port=53 mode=permissive\n";
static const char pol_b[] =
	"net deny meta addr=169.254.169.254 mode=enforce\n"
	"net deny smtp addr=any port=25 proto=tcp\n";

static void test_tag(void)
{
	TAP_OK(dl_policy_tag("0123456789abcdef0000") == 0x0123456789abcdefull, "policy tag: first 8 bytes of the sha256");
}

struct drops {
	int n;
	char id[4][40];
	const struct dl_rule *now[4];
};

static void on_drop(const struct dl_rule_mode *old, const struct dl_rule *now, void *ctx)
{
	struct drops *d = ctx;

	if (d->n < 4) {
		snprintf(d->id[d->n], sizeof(d->id[0]), "%s", old->id);
		d->now[d->n] = now;
	}
	d->n++;
}

static void test_build(void)
{
	struct dl_policy *a = parse(pol_a), *a2 = parse(pol_a), *b = parse(pol_b);
	struct dl_rule_mode g1[DL_MAX_RULES] = { 0 }, g2[DL_MAX_RULES] = { 0 }, g3[DL_MAX_RULES] = { 0 };
	struct drops d = { 0 };
	size_t n;

	if (!a || !a2 || !b) {
		TAP_OK(0, "policies parse");
		return;
	}
	TAP_OK(a->rules[0].mode == DL_RULE_MODE_FAMILY && a->rules[1].mode == DL_RULE_MODE_ENFORCE &&
	       a->rules[2].mode == DL_RULE_MODE_PERMISSIVE, "mode= parsed into the rule (none, enforce, permissive)");

	/* fresh load: the file's modes, named, generation 1 */
	n = dl_rule_modes_build(a, 1, NULL, 0, 0, g1, on_drop, &d);
	TAP_OK(n == 0 && d.n == 0, "fresh load: nothing carried, nothing dropped");
	TAP_OK(g1[0].gen == 1 && !strcmp(g1[0].id, "smtp") && g1[0].family == DL_FAMILY_NET &&
	       g1[0].mode == DL_RULE_MODE_FAMILY && g1[0].file_mode == DL_RULE_MODE_FAMILY,
	       "entry 0: smtp, net, follows its family");
	TAP_OK(g1[1].mode == DL_RULE_MODE_ENFORCE && g1[1].file_mode == DL_RULE_MODE_ENFORCE &&
	       g1[2].mode == DL_RULE_MODE_PERMISSIVE, "entries 1, 2: the file's enforce and permissive");
	TAP_OK(g1[0].policy_tag == dl_policy_tag(a->sha256), "entries carry the policy tag");

	/* a runtime switch, then a restart with the same policy: kept */
	g1[0].mode = DL_RULE_MODE_ENFORCE;
	n = dl_rule_modes_build(a2, 2, g1, DL_MAX_RULES, 1, g2, on_drop, &d);
	TAP_OK(n == 1 && d.n == 0 && g2[0].mode == DL_RULE_MODE_ENFORCE && g2[0].file_mode == DL_RULE_MODE_FAMILY &&
	       g2[0].gen == 2, "restart with the same policy keeps the runtime switch of smtp (carried %zu)", n);
	TAP_OK(g2[1].mode == DL_RULE_MODE_ENFORCE && g2[2].mode == DL_RULE_MODE_PERMISSIVE,
	       "restart: the other rules keep the file's modes");

	/* stale entries (another generation) never count as the previous one */
	n = dl_rule_modes_build(a2, 3, g1, DL_MAX_RULES, 2, g3, on_drop, &d);
	TAP_OK(n == 0 && g3[0].mode == DL_RULE_MODE_FAMILY, "entries of another generation than the previous are ignored");

	/* a reload with another policy: the file wins, the switch is reported */
	memset(g3, 0, sizeof(g3));
	n = dl_rule_modes_build(b, 3, g2, DL_MAX_RULES, 2, g3, on_drop, &d);
	TAP_OK(n == 0 && g3[1].mode == DL_RULE_MODE_FAMILY && !strcmp(g3[1].id, "smtp"),
	       "reload with another policy: smtp follows its family again (the file wins)");
	TAP_OK(d.n == 1 && !strcmp(d.id[0], "smtp") && d.now[0] == &b->rules[1],
	       "reload: the dropped runtime switch of smtp is reported once, with the new rule (%d reports)", d.n);
	TAP_OK(g3[0].mode == DL_RULE_MODE_ENFORCE && !strcmp(g3[0].id, "meta"), "reload: meta keeps mode=enforce at its new index 0");

	dl_policy_free(a);
	dl_policy_free(a2);
	dl_policy_free(b);
}

static void test_find(void)
{
	struct dl_policy *a = parse(pol_a);
	struct dl_rule_mode h[DL_MAX_RULES] = { 0 };

	if (!a) {
		TAP_OK(0, "policy parses");
		return;
	}
	dl_rule_modes_build(a, 7, NULL, 0, 0, h, NULL, NULL);
	TAP_OK(dl_rule_mode_find(h, DL_MAX_RULES, 7, "smtp") == 0 && dl_rule_mode_find(h, DL_MAX_RULES, 7, "dns") == 2,
	       "rule id -> index: smtp 0, dns 2");
	TAP_OK(dl_rule_mode_find(h, DL_MAX_RULES, 7, "nope") == -ENOENT, "unknown rule id: -ENOENT");
	TAP_OK(dl_rule_mode_find(h, DL_MAX_RULES, 5, "smtp") == -ENOENT,
	       "an entry of another generation (stale half) is not found");
	TAP_OK(dl_rule_mode_find(h, DL_MAX_RULES, 7, "smt") == -ENOENT && dl_rule_mode_find(h, DL_MAX_RULES, 7, "") == -ENOENT,
	       "a prefix or empty id matches nothing");
	TAP_OK(DL_GEN_SLOT(7, 2) == DL_MAX_RULES + 2 && DL_GEN_SLOT(8, 2) == 2 && DL_GEN_SLOT(9, DL_MAX_RULES - 1) == DL_GEN_SLOTS - 1,
	       "slots: odd generations in the upper half, even in the lower");

	/* effective mode and "differs from the family" (what status lists) */
	TAP_OK(dl_rule_mode_enforcing(&h[1], DL_MODE_PERMISSIVE) && dl_rule_mode_differs(&h[1], DL_MODE_PERMISSIVE),
	       "mode=enforce in a permissive family: enforcing, listed");
	TAP_OK(dl_rule_mode_enforcing(&h[1], DL_MODE_ENFORCE) && !dl_rule_mode_differs(&h[1], DL_MODE_ENFORCE),
	       "mode=enforce in an enforcing family: not listed");
	TAP_OK(!dl_rule_mode_enforcing(&h[2], DL_MODE_ENFORCE) && dl_rule_mode_differs(&h[2], DL_MODE_ENFORCE),
	       "mode=permissive in an enforcing family: permissive, listed");
	TAP_OK(dl_rule_mode_enforcing(&h[0], DL_MODE_ENFORCE) && !dl_rule_mode_enforcing(&h[0], DL_MODE_PERMISSIVE) &&
	       !dl_rule_mode_differs(&h[0], DL_MODE_PERMISSIVE), "no mode=: follows the family, never listed");
	dl_policy_free(a);
}

/* ---- a model of the kernel side while a generation is published ---- */

struct model {
	__u64 counts[DL_GEN_SLOTS][DL_VERDICT_MAX];
	struct dl_rule_mode modes[DL_GEN_SLOTS];
	__u32 rules_gen;        /* generation of the rule set the hook sees */
	__u32 cfg_gen;
	__u32 family_mode;
	unsigned decided[2];    /* decisions by the old / new generation */
	unsigned wrong_mode;    /* decisions that did not use their rule's mode */
	__u8 want_enforce[2];   /* the mode the old / new generation's rule has */
	__u32 old_gen;
	const char *order[4];
	int steps;
};

/* One deny decision by rule 0 of the visible generation, as the programs
 * make it: the mode through dl_rule_enforced, the count through dl_count. */
static void decide(struct model *m)
{
	__u32 g = m->rules_gen, slot = DL_GEN_SLOT(g, 0);
	const struct dl_rule_mode *rm = &m->modes[slot];
	int enforced = rm->gen == g && rm->mode != DL_RULE_MODE_FAMILY ? rm->mode == DL_RULE_MODE_ENFORCE
								       : m->family_mode == DL_MODE_ENFORCE;
	int which = g != m->old_gen;

	m->counts[slot][enforced ? DL_VERDICT_DENY : DL_VERDICT_WOULD_DENY]++;
	m->decided[which]++;
	if (enforced != m->want_enforce[which])
		m->wrong_mode++;
}

static int m_zero(void *ctx, __u32 gen)
{
	struct model *m = ctx;

	m->order[m->steps++] = "zero";
	for (__u32 i = 0; i < DL_MAX_RULES; i++)
		memset(m->counts[DL_GEN_SLOT(gen, i)], 0, sizeof(m->counts[0]));
	decide(m);
	return 0;
}

static int m_modes(void *ctx, __u32 gen, const struct dl_rule_mode *rm, size_t n)
{
	struct model *m = ctx;

	m->order[m->steps++] = "modes";
	for (__u32 i = 0; i < DL_MAX_RULES; i++) {
		struct dl_rule_mode e = { 0 };

		m->modes[DL_GEN_SLOT(gen, i)] = i < n ? rm[i] : e;
	}
	decide(m);
	return 0;
}

static int m_install(void *ctx, __u32 gen)
{
	struct model *m = ctx;

	m->order[m->steps++] = "install";
	m->rules_gen = gen;
	decide(m);
	return 0;
}

static int m_publish(void *ctx, __u32 gen)
{
	struct model *m = ctx;

	m->order[m->steps++] = "publish";
	m->cfg_gen = gen;
	decide(m);
	return 0;
}

static void test_publish_order(void)
{
	static const struct dl_gen_ops ops = { m_zero, m_modes, m_install, m_publish };
	static struct model m;
	struct dl_policy *a = parse("net deny r addr=any port=25 mode=enforce\n");
	struct dl_policy *b = parse("net deny r2 addr=any port=26 mode=permissive\n");
	struct dl_rule_mode ma[1], mb[1];
	__u32 s_old, s_new;

	if (!a || !b) {
		TAP_OK(0, "policies parse");
		return;
	}
	/* generation 4 is deciding (its rule 0 enforces) with 3 decisions
	 * counted; generation 5's rule 0 is permissive. */
	memset(&m, 0, sizeof(m));
	m.family_mode = DL_MODE_PERMISSIVE;
	m.old_gen = 4;
	m.want_enforce[0] = 1;
	m.want_enforce[1] = 0;
	dl_rule_modes_build(a, 4, NULL, 0, 0, ma, NULL, NULL);
	m.modes[DL_GEN_SLOT(4, 0)] = ma[0];
	m.rules_gen = m.cfg_gen = 4;
	decide(&m);
	decide(&m);
	decide(&m);
	/* leftovers of generation 2 in the new generation's half */
	m.counts[DL_GEN_SLOT(5, 0)][DL_VERDICT_DENY] = 99;
	m.modes[DL_GEN_SLOT(5, 0)] = ma[0];
	m.modes[DL_GEN_SLOT(5, 0)].gen = 3;

	dl_rule_modes_build(b, 5, NULL, 0, 0, mb, NULL, NULL);
	TAP_OK(dl_gen_publish(&ops, &m, 5, mb, 1) == 0 && m.steps == 4 && m.cfg_gen == 5 && m.rules_gen == 5,
	       "publish runs its four steps: %s, %s, %s, %s", m.order[0], m.order[1], m.order[2], m.order[3]);
	s_old = DL_GEN_SLOT(4, 0);
	s_new = DL_GEN_SLOT(5, 0);
	TAP_OK(m.counts[s_new][DL_VERDICT_WOULD_DENY] + m.counts[s_new][DL_VERDICT_DENY] == m.decided[1],
	       "the new generation's counts hold all of its %u decisions, the first ones too (counted %llu)",
	       m.decided[1],
	       (unsigned long long)(m.counts[s_new][DL_VERDICT_WOULD_DENY] + m.counts[s_new][DL_VERDICT_DENY]));
	TAP_OK(m.counts[s_old][DL_VERDICT_DENY] + m.counts[s_old][DL_VERDICT_WOULD_DENY] == m.decided[0],
	       "the old generation's counts keep all of its %u decisions, those made during the reload too (counted %llu)",
	       m.decided[0],
	       (unsigned long long)(m.counts[s_old][DL_VERDICT_DENY] + m.counts[s_old][DL_VERDICT_WOULD_DENY]));
	TAP_OK(m.wrong_mode == 0, "every decision used its own generation's rule mode (%u did not)", m.wrong_mode);
	dl_policy_free(a);
	dl_policy_free(b);
}

int main(void)
{
	test_tag();
	test_build();
	test_find();
	test_publish_order();
	return tap_done();
}
