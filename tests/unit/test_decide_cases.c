/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The host half of the decide-equality test (issue 7 s1): every operation
 * of tests/decide-cases.txt decided by dl_replay_decide, the user-space
 * decide that what-if, ready and suggest use, must give the table's action
 * and rule. tests/vm/guest/decide.sh checks the same table against the BPF
 * programs on real kernels, so the two cannot drift without one of them
 * failing. The table's format is described at its top.
 *
 * Usage: test_decide_cases TABLE
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/replay.h"
#include "tap.h"

struct block {
	char name[64];
	char *text;
	size_t len;
	unsigned line;
	struct dl_replay rp;
	bool ok;
};

static void block_add(struct block *b, const char *rule)
{
	size_t n = strlen(rule);
	char *t = realloc(b->text, b->len + n + 2);

	if (!t) {
		perror("realloc");
		exit(2);
	}
	b->text = t;
	memcpy(b->text + b->len, rule, n);
	b->len += n;
	b->text[b->len++] = '\n';
	b->text[b->len] = 0;
}

/* Parse the block's policy once, before its first operation. */
static void block_load(struct block *b)
{
	struct dl_diags dg = { 0 };
	char name[80];

	snprintf(name, sizeof(name), "dc-%s", b->name);
	b->ok = dl_replay_init(&b->rp, name, b->text ? b->text : "", &dg) == 0;
	TAP_OK(b->ok, "case %s (line %u): its policy parses and compiles%s%s", b->name, b->line,
	       dg.n ? ": " : "", dg.n ? dg.v[0].msg : "");
	dl_diags_free(&dg);
}

static void block_end(struct block *b)
{
	if (b->ok)
		dl_replay_free(&b->rp);
	free(b->text);
	memset(b, 0, sizeof(*b));
}

int main(int argc, char **argv)
{
	struct block b = { 0 };
	char line[1024];
	unsigned lineno = 0, ops = 0, blocks = 0;
	bool loaded = false;
	FILE *f;

	if (argc != 2 || !(f = fopen(argv[1], "r"))) {
		fprintf(stderr, "usage: %s TABLE (tests/decide-cases.txt)\n", argv[0]);
		return 2;
	}
	while (fgets(line, sizeof(line), f)) {
		char hook[64], addr[64], proto[8], cg[256], expect[8], rule[64];
		unsigned port;

		lineno++;
		line[strcspn(line, "\n")] = 0;
		if (!line[0] || line[0] == '#')
			continue;
		if (!strncmp(line, "case ", 5)) {
			if (blocks)
				block_end(&b);
			snprintf(b.name, sizeof(b.name), "%s", line + 5);
			b.line = lineno;
			loaded = false;
			blocks++;
		} else if (!strncmp(line, "rule ", 5) && blocks && !loaded) {
			block_add(&b, line + 5);
		} else if (sscanf(line, "op %63s %63s %u %7s %255s %7s %63s", hook, addr, &port, proto, cg, expect,
				  rule) == 7 && blocks) {
			struct dl_replay_in in = { .addr = addr, .port = port, .cgroup = cg };
			int h = dl_hook_by_name(hook);
			__u8 act = 99;
			__u32 ri = DL_RULE_NONE;
			bool unk = false;
			const char *got = "?";
			int r = -EINVAL;

			if (!loaded) {
				block_load(&b);
				loaded = true;
			}
			in.proto = !strcmp(proto, "tcp") ? 6 : !strcmp(proto, "udp") ? 17 : 999;
			in.hook = h < 0 ? 0 : (unsigned)h;
			if (b.ok && h >= 0 && in.proto != 999)
				r = dl_replay_decide(&b.rp, &in, &act, &ri, &unk);
			if (r == 0)
				got = ri == DL_RULE_NONE ? "-" : ri < b.rp.policy->n_rules ? b.rp.policy->rules[ri].id : "?";
			ops++;
			TAP_OK(r == 0 && !unk && !strcmp(expect, act == DL_ACTION_ALLOW ? "allow" : "deny") &&
				       !strcmp(rule, got),
			       "%s line %u: %s %s port %u %s in %s: %s %s (got %s %s, %d)", b.name, lineno, hook, addr,
			       port, proto, cg, expect, rule, r ? "error" : act == DL_ACTION_ALLOW ? "allow" : "deny",
			       got, r);
		} else {
			TAP_OK(false, "line %u of the table is not a case, rule or op line (or a rule after an op): %s",
			       lineno, line);
		}
	}
	fclose(f);
	if (blocks)
		block_end(&b);
	TAP_OK(blocks >= 5 && ops >= 30, "the table has cases (%u) and operations (%u)", blocks, ops);
	return tap_done();
}
