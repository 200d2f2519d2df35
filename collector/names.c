/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>
#include "names.h"

struct dl_name { unsigned v; const char *s; };

#define X3(n, v, s) { v, s },
#define X4(n, v, s, stem) { v, s },
#define X5(n, v, s, f, op) { v, s },
static const struct dl_name families[] = { DL_FAMILIES(X4) };
static const struct dl_name hooks[] = { DL_HOOKS(X5) };
static const struct dl_name verdicts[] = { DL_VERDICTS(X3) };
static const struct dl_name actions[] = { DL_ACTIONS(X3) };
static const struct dl_name modes[] = { DL_MODES(X3) };
static const struct dl_name rule_modes[] = { DL_RULE_MODES(X3) };
#undef X3
#undef X4
#undef X5

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char *lookup(const struct dl_name *t, size_t n, unsigned v)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].v == v)
			return t[i].s;
	return "?";
}

static int rlookup(const struct dl_name *t, size_t n, const char *s)
{
	for (size_t i = 0; s && i < n; i++)
		if (strcmp(t[i].s, s) == 0)
			return (int)t[i].v;
	return -1;
}

const char *dl_family_name(unsigned v) { return lookup(families, N(families), v); }
const char *dl_hook_name(unsigned v) { return lookup(hooks, N(hooks), v); }
const char *dl_verdict_name(unsigned v) { return lookup(verdicts, N(verdicts), v); }
const char *dl_action_name(unsigned v) { return lookup(actions, N(actions), v); }
const char *dl_mode_name(unsigned v) { return lookup(modes, N(modes), v); }
int dl_family_by_name(const char *s) { return rlookup(families, N(families), s); }
int dl_hook_by_name(const char *s) { return rlookup(hooks, N(hooks), s); }
int dl_verdict_by_name(const char *s) { return rlookup(verdicts, N(verdicts), s); }
int dl_action_by_name(const char *s) { return rlookup(actions, N(actions), s); }
int dl_mode_by_name(const char *s) { return rlookup(modes, N(modes), s); }
const char *dl_rule_mode_name(unsigned v) { return lookup(rule_modes, N(rule_modes), v); }
int dl_rule_mode_by_name(const char *s) { return rlookup(rule_modes, N(rule_modes), s); }

unsigned dl_hook_op(unsigned hook)
{
#define OP(n, v, s, f, op) case v: return op;
	switch (hook) { DL_HOOKS(OP) }
#undef OP
	return 0;
}

unsigned dl_hook_family(unsigned hook)
{
#define FAM(n, v, s, f, op) case v: return DL_FAMILY_##f;
	switch (hook) { DL_HOOKS(FAM) }
#undef FAM
	return 0;
}
