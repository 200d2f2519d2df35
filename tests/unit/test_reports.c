/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Tests of the tuning reports of drylock-query (path in argv[1]): timeline
 * (+ SVG/HTML chart), denials, suggest, what-if. A database is built with the
 * store API in a temp dir; each event's verdict and rule are what the
 * policy decides for it (replayed with the same code the kernel mirror uses),
 * so the data is what a collector would have written. suggest's output is
 * parsed back with the policy parser and combined with the stored policy to
 * prove it allows every denial it covers and nothing next to it; library
 * tests cover the aggregation rules, the offline cgroup resolver and the
 * replay of stored text (include lines skipped, never followed) directly.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/store.h"
#include "query/replay.h"
#include "query/suggest.h"
#include "query/chart.h"
#include "tap.h"

#include "runbin.h"

static char db[320];

/* Top-level objects of a JSON array (or of the first array value); -1 if
 * brackets/strings are not balanced or a raw control byte is in a string. */
static int json_rows(const char *s)
{
	int depth = 0, rows = 0, in = 0, base = -1;
	for (size_t i = 0; s[i]; i++) {
		unsigned char c = (unsigned char)s[i];
		if (in) {
			if (c < 0x20)
				return -1;
			if (c == '\\')
				i++;
			else if (c == '"')
				in = 0;
			continue;
		}
		if (c == '"')
			in = 1;
		else if (c == '[' || c == '{') {
			if (c == '[' && base < 0)
				base = depth + 1;
			if (c == '{' && depth == base)
				rows++;
			depth++;
		} else if (c == ']' || c == '}') {
			if (--depth < 0)
				return -1;
		}
	}
	return depth == 0 && !in ? rows : -1;
}

static const char policy_text[] =
	"policy base\n"
	"net deny  smtp-out addr=any port=25 proto=tcp\n"
	"net deny  lan      addr=10.0.0.0/8\n"
	"net allow web      addr=any port=443 proto=tcp\n"
	"net deny  dns9     addr=127.0.0.2/32 port=9 proto=tcp\n"
	"net deny  pin      addr=127.0.0.3/32 port=7 proto=tcp cgroup=/system.slice/pin.service\n"
	"net deny  v6       addr=2001:db8::/32\n"
	"net deny  lowbind  addr=any port=0-1023 op=bind\n";

static struct dl_replay pol;
static int64_t t0_ms; /* minute-aligned base time, 3 days ago */

struct spec {
	const char *comm, *exe, *cgroup, *addr;
	unsigned port, proto, hook, n, minute;
};

/* Events as the kernel would have decided them under policy_text. Hostile
 * strings: a comm and an exe that each carry a newline and a complete,
 * valid allow-everything policy line after it. */
static const struct spec specs[] = {
	{ "curl", "/usr/bin/curl", "/user.slice", "93.184.216.34", 443, 6, 1, 5, 0 },
	{ "curl", "/usr/bin/curl", "/system.slice/mail.service", "10.0.0.25", 25, 6, 1, 3, 10 },
	{ "app", "/opt/app", "/system.slice/app.service", "10.1.2.1", 5432, 6, 1, 2, 20 },
	{ "app", "/opt/app", "/system.slice/app.service", "10.1.2.2", 5432, 6, 1, 2, 21 },
	{ "app", "/opt/app", "/system.slice/app.service", "10.1.2.3", 5432, 6, 1, 2, 22 },
	{ "app", "/opt/app", "/system.slice/app.service", "10.7.0.1", 5432, 6, 1, 1, 23 },
	{ "app6", "/opt/app6", "/system.slice/app.service", "2001:db8::1", 80, 6, 1, 1, 24 },
	{ "app6", "/opt/app6", "/system.slice/app.service", "2001:db8::2", 80, 6, 1, 1, 24 },
	{ "nc", "/usr/bin/nc", "/", "127.0.0.2", 9, 6, 1, 4, 30 },
	{ "pinned", "/usr/bin/pinned", "/system.slice/pin.service", "127.0.0.3", 7, 6, 1, 1, 31 },
	{ "web", "/usr/sbin/web", "/system.slice/web.service", "0.0.0.0", 80, 6, 2, 1, 40 },
	{ "x\nnet allow e1 addr=any", "/tmp/x\nnet allow evil addr=any\n", "/system.slice/evil.service",
	  "10.66.0.1", 25, 6, 1, 1, 50 },
	{ "lost", "/usr/bin/lost", NULL, "10.5.5.5", 22, 6, 1, 1, 60 },
	/* 12 ports on one address: above --max-ports 8 */
	{ "scan", "/usr/bin/scan", "/system.slice/scan.service", "10.9.9.9", 1000, 6, 1, 1, 70 },
};
#define SCAN_PORTS 12

static int n_events_total, n_denied_events;
static bool force_deny; /* store a denial as deny (enforce) instead of would-deny */

static int add_event_rp(struct dl_store *st, const struct dl_replay *rp, int64_t boot,
			int64_t polkey, uint64_t *seq, const struct spec *s, unsigned port, int64_t ts_ms)
{
	struct dl_event e = { 0 };
	struct dl_replay_in in = { .hook = s->hook, .addr = s->addr, .port = port, .proto = s->proto,
				   .cgroup = s->cgroup };
	__u8 act;
	__u32 rule;
	bool unk;

	e.rec.version = DL_ABI_VERSION;
	e.rec.size = sizeof(e.rec);
	e.rec.family = DL_FAMILY_NET;
	e.rec.hook = (__u16)s->hook;
	e.rec.seq = ++*seq;
	e.rec.cgroup_id = 42;
	e.rec.tgid = e.rec.pid = 100;
	e.rec.ppid = 1;
	e.rec.uid = 1000;
	e.rec.loginuid = e.rec.sessionid = 4294967295u;
	strncpy(e.rec.comm, s->comm, sizeof(e.rec.comm) - 1);
	dl_addr_parse(s->addr, e.rec.u.net.addr);
	e.rec.u.net.port = (__u16)port;
	e.rec.u.net.protocol = (__u8)s->proto;
	if (dl_replay_decide(rp, &in, &act, &rule, &unk) < 0)
		return -EINVAL;
	e.rec.verdict = act != DL_ACTION_DENY ? DL_VERDICT_ALLOW
			: force_deny		 ? DL_VERDICT_DENY
						 : DL_VERDICT_WOULD_DENY;
	e.rec.rule_idx = rule;
	e.rule_id = rule == DL_RULE_NONE ? NULL : rp->policy->rules[rule].id;
	e.ts_ns = ts_ms * 1000000;
	e.boot_key = boot;
	e.policy_key = polkey;
	e.exe = s->exe;
	e.cgroup_path = s->cgroup;
	n_events_total++;
	n_denied_events += act == DL_ACTION_DENY;
	return dl_store_event(st, &e);
}

static int add_event(struct dl_store *st, int64_t boot, int64_t polkey, uint64_t *seq,
		     const struct spec *s, unsigned port, int64_t ts_ms)
{
	return add_event_rp(st, &pol, boot, polkey, seq, s, port, ts_ms);
}

static int build_db(void)
{
	struct dl_store *st;
	struct dl_diags dg = { 0 };
	struct dl_store_rule rules[16];
	int64_t boot, pk;
	uint64_t seq = 0;
	int r;

	if (dl_replay_init(&pol, "base.policy", policy_text, &dg) < 0)
		return -EINVAL;
	if ((r = dl_store_open(db, 0, &st)) < 0)
		return r;
	for (size_t i = 0; i < pol.policy->n_rules; i++)
		rules[i] = (struct dl_store_rule){ (__u32)i, pol.policy->rules[i].id, DL_FAMILY_NET,
						   pol.policy->rules[i].action, pol.policy->rules[i].text };
	dl_store_boot(st, "rboot", 0, &boot);
	dl_store_policy(st, pol.policy->name, pol.policy->sha256, pol.policy->text, rules,
			pol.policy->n_rules, &pk);
	dl_store_policy_load(st, boot, 1, pk, t0_ms * 1000000);
	dl_store_begin(st);
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		const struct spec *s = &specs[i];
		unsigned nports = !strcmp(s->comm, "scan") ? SCAN_PORTS : 1;

		for (unsigned p = 0; p < nports; p++)
			for (unsigned k = 0; k < s->n; k++)
				if ((r = add_event(st, boot, pk, &seq, s, s->port + p,
						   t0_ms + (int64_t)s->minute * 60000 + k * 1000)) < 0)
					return r;
	}
	r = dl_store_commit(st);
	dl_store_close(st);
	return r;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	static char buf[1 << 20];
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

	if (f)
		fclose(f);
	buf[n] = 0;
	if (len)
		*len = n;
	return f ? buf : NULL;
}

/* Tags balanced (a stack of names), no script, root element svg. */
static int xml_balanced(const char *s)
{
	char stack[64][32];
	int depth = 0, elements = 0;

	for (const char *p = strchr(s, '<'); p; p = strchr(p + 1, '<')) {
		char name[32];
		int closing = p[1] == '/', n = 0;
		const char *q = p + 1 + closing, *gt = strchr(p, '>');

		if (!gt)
			return -1;
		if (p[1] == '!' || p[1] == '?')
			continue;
		while (n < 31 && q[n] && !strchr(" \t\n/>", q[n]))
			n++;
		memcpy(name, q, (size_t)n);
		name[n] = 0;
		if (closing) {
			if (!depth || strcmp(stack[--depth], name))
				return -1;
		} else if (gt[-1] != '/') {
			if (depth == 64)
				return -1;
			strcpy(stack[depth++], name);
		}
		elements++;
	}
	return depth == 0 ? elements : -1;
}

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

/* Decide with a replay context: 1 allow, 0 deny, -1 error. */
static int allows(const struct dl_replay *rp, const char *addr, unsigned port, unsigned hook,
		  const char *cgroup)
{
	struct dl_replay_in in = { .hook = hook, .addr = addr, .port = port, .proto = 6,
				   .cgroup = cgroup };
	__u8 act;
	__u32 rule;
	bool unk;

	if (dl_replay_decide(rp, &in, &act, &rule, &unk) < 0)
		return -1;
	return act == DL_ACTION_ALLOW;
}

static void test_library(void)
{
	__u64 anc[DL_CG_LEVEL_MAX + 1], id;
	__u8 lvl;
	bool unk;
	size_t n = dl_cg_synth_ancestors("/a/b", anc, &unk);

	dl_cg_synth_resolve("/a", &id, &lvl, NULL);
	TAP_OK(n == 3 && !unk && anc[1] == id && lvl == 1, "synthetic ancestors of /a/b: 3, level 1 = /a");
	n = dl_cg_synth_ancestors(NULL, anc, &unk);
	dl_cg_synth_resolve("/", &id, &lvl, NULL);
	TAP_OK(n == 1 && unk && anc[0] == id && lvl == 0, "unknown cgroup path is the root");
	n = dl_cg_synth_ancestors("/a//b", anc, &unk);
	TAP_OK(n == 1 && unk, "malformed cgroup path is the root, flagged");

	/* Stored text is replayed with includes off in the parser: none of these
	 * include lines may pull in x.policy from the current directory. */
	char cwd[1024], xd[400];
	snprintf(xd, sizeof(xd), "%s/cwd", dir);
	mkdir(xd, 0700);
	snprintf(xd, sizeof(xd), "%s/cwd/x.policy", dir);
	write_file(xd, "net allow evil addr=any\n");
	if (!getcwd(cwd, sizeof(cwd)) || chdir(dir) < 0 || chdir("cwd") < 0)
		perror("chdir");
	struct dl_replay rp;
	struct dl_diags dg = { 0 };
	int r = dl_replay_init(&rp, "stored", "# drylock-file: top\ninclude d/*.policy\n"
				"include \\\n  x.policy\n\\\ninclude x.policy\ninclude\rx.policy\n"
				"net deny a addr=any\n"
				"# drylock-file: d/1.policy\nnet allow b addr=10.0.0.0/8\n", &dg);
	if (chdir(cwd) < 0)
		perror("chdir");
	TAP_OK(r == 0 && rp.policy->n_rules == 2, "stored text with include lines replays without them (%d, %s, %zu rules)",
	       r, dg.n ? dg.v[0].msg : "ok", r == 0 ? rp.policy->n_rules : 0);
	if (r == 0)
		dl_replay_free(&rp);
	dl_diags_free(&dg);

	/* Aggregation: same /24 yes, neighbouring /24 no; /64 for IPv6. */
	struct dl_obs obs[6] = { 0 };
	const char *addrs[6] = { "10.1.2.1", "10.1.2.200", "10.1.3.1", "2001:db8::1",
				 "2001:db8::9", "2001:db8:0:1::1" };
	for (int i = 0; i < 6; i++) {
		dl_addr_parse(addrs[i], obs[i].addr);
		obs[i].port = 80;
		obs[i].proto = 6;
		obs[i].op = DL_NET_OP_CONNECT;
		obs[i].cgroup = "/s.slice/a.service";
		obs[i].count = 1;
		obs[i].deny_rule = 0;
		obs[i].verdicts = 2;
	}
	static const char base_txt[] = "net deny all addr=any\n";
	r = dl_replay_init(&rp, "b", base_txt, &dg);
	struct dl_suggestion *sg = NULL;
	size_t nsg = 0;
	r = r ? r : dl_suggest(&rp, base_txt, obs, 6, &(struct dl_suggest_opts){ .max_ports = 8 }, &sg, &nsg, NULL);
	int agg4 = 0, host4 = 0, agg6 = 0, host6 = 0, ver = 0;
	for (size_t i = 0; i < nsg; i++) {
		agg4 += strstr(sg[i].text, "addr=10.1.2.0/24 ") != NULL && sg[i].note &&
			strstr(sg[i].note, "aggregated: 2 addresses in one /24");
		host4 += strstr(sg[i].text, "addr=10.1.3.1/32 ") != NULL;
		agg6 += strstr(sg[i].text, "addr=2001:db8::/124 ") != NULL;
		host6 += strstr(sg[i].text, "addr=2001:db8:0:1::1/128 ") != NULL;
		ver += sg[i].verified;
	}
	/* 10.1.2.1 and 10.1.2.200 differ in bit 0 of the last byte: /24 covers */
	TAP_OK(r == 0 && nsg == 4 && agg4 == 1 && host4 == 1 && agg6 == 1 && host6 == 1 && ver == 4,
	       "aggregation: /24 and /64 buckets only, else exact hosts (%zu rules)", nsg);
	char hash[65], want[16];
	for (size_t i = 0; i < nsg; i++)
		if (strstr(sg[i].text, "10.1.3.1/32")) {
			static const char canon[] =
				"net allow addr=10.1.3.1/32 port=80 proto=tcp op=connect cgroup=/s.slice/a.service";
			dl_sha256_hex(canon, strlen(canon), hash);
			snprintf(want, sizeof(want), "sug-%.8s", hash);
			TAP_OK(!strcmp(sg[i].id, want), "id is sug- + 8 hex of sha256 of the rule text (%s)",
			       sg[i].id);
			char exact[256];
			snprintf(exact, sizeof(exact), "net allow %s %s", want, canon + strlen("net allow "));
			TAP_OK(!strcmp(sg[i].text, exact) &&
				       !strcmp(sg[i].text + sg[i].keys_off, canon + strlen("net allow ")),
			       "the text is exact and keys_off finds its keys as built (%s)", sg[i].text);
		}
	dl_suggestions_free(sg, nsg);

	/* Exactly max_ports ports: exact; one more: a range. */
	struct dl_obs po[9];
	for (int i = 0; i < 9; i++) {
		po[i] = obs[2];
		po[i].port = (__u16)(2000 + i * 3);
	}
	r = dl_suggest(&rp, base_txt, po, 8, &(struct dl_suggest_opts){ .max_ports = 8 }, &sg, &nsg, NULL);
	TAP_OK(r == 0 && nsg == 8, "8 ports with --max-ports 8: 8 exact rules (%zu)", nsg);
	dl_suggestions_free(sg, nsg);
	r = dl_suggest(&rp, base_txt, po, 9, &(struct dl_suggest_opts){ .max_ports = 8 }, &sg, &nsg, NULL);
	TAP_OK(r == 0 && nsg == 1 && strstr(sg[0].text, " port=2000-2024 ") && sg[0].verified,
	       "9 ports: one range 2000-2024 (%s)", nsg ? sg[0].text : "-");
	dl_suggestions_free(sg, nsg);
	dl_replay_free(&rp);
	dl_diags_free(&dg);

	/* Budget: widening stops one bit short of the deny it must outrank.
	 * 100 hosts in 10.1.0.0/16, denied by a rule equal to a /16 allow in
	 * every other dimension: two /17s fit --max-rules 2 and win; with
	 * --max-rules 1 the busier /17 is kept (one /16 would lose the tie,
	 * be split into hosts and cover one host). */
	{
		static const char b16[] = "net deny all addr=any\n"
					  "net deny lan16 addr=10.1.0.0/16 port=80 proto=tcp cgroup=/s.slice/a.service\n";
		struct dl_obs wo[100];
		struct dl_suggest_info info;
		char a[32];
		int ok17 = 0;

		r = dl_replay_init(&rp, "b16", b16, &dg);
		for (int i = 0; i < 100; i++) {
			wo[i] = obs[0];
			snprintf(a, sizeof(a), "10.1.%d.%d", (i * 53) % 256, 1 + i);
			dl_addr_parse(a, wo[i].addr);
			wo[i].deny_rule = 1;
		}
		r = r ? r : dl_suggest(&rp, b16, wo, 100, &(struct dl_suggest_opts){ .max_ports = 8, .max_rules = 2 },
				       &sg, &nsg, &info);
		for (size_t i = 0; r == 0 && i < nsg; i++)
			ok17 += sg[i].verified && (strstr(sg[i].text, "addr=10.1.0.0/17 ") ||
						   strstr(sg[i].text, "addr=10.1.128.0/17 "));
		TAP_OK(r == 0 && nsg == 2 && ok17 == 2 && info.covered == 100 && info.dropped_events == 0,
		       "budget: widened to two /17s that outrank the /16 deny, all 100 covered (%zu rules, %d, %llu)",
		       nsg, ok17, (unsigned long long)info.covered);
		dl_suggestions_free(sg, nsg);
		r = r ? r : dl_suggest(&rp, b16, wo, 100, &(struct dl_suggest_opts){ .max_ports = 8, .max_rules = 1 },
				       &sg, &nsg, &info);
		TAP_OK(r == 0 && nsg == 1 && sg[0].verified && strstr(sg[0].text, "/17 ") && info.covered >= 40 &&
			       info.covered + info.dropped_events == 100,
		       "budget 1: one verified /17, the other half given up (%s, covers %llu)",
		       nsg ? sg[0].text : "-", (unsigned long long)info.covered);
		dl_suggestions_free(sg, nsg);
		if (r == 0)
			dl_replay_free(&rp);
		dl_diags_free(&dg);
	}
}

/* Issue 9 s3: "web" v1 denies 10.9.0.0/16:5432, v2 (loaded later under the
 * same name) allows it and denies port 25, which v1 allowed. Reports decide
 * as of one version: its own events as logged, the others replayed. */
static const char web_v1[] = "policy web\nnet deny lan addr=10.0.0.0/8\n";
static const char web_v2[] = "policy web\nnet deny lan addr=10.0.0.0/8\n"
			     "net allow db addr=10.9.0.0/16 port=5432 proto=tcp\n"
			     "net deny smtp addr=any port=25 proto=tcp\n";

static int store_version(struct dl_store *st, const struct dl_replay *rp, int64_t *pk)
{
	struct dl_store_rule rules[8];

	for (size_t i = 0; i < rp->policy->n_rules; i++)
		rules[i] = (struct dl_store_rule){ (__u32)i, rp->policy->rules[i].id, DL_FAMILY_NET,
						   rp->policy->rules[i].action, rp->policy->rules[i].text };
	return dl_store_policy(st, rp->policy->name, rp->policy->sha256, rp->policy->text, rules,
			       rp->policy->n_rules, pk);
}

static void test_versions(void)
{
	char vdb[340], v1s[13], v2s[13], pfx[16];
	struct dl_replay v1, v2;
	struct dl_diags dg = { 0 };
	struct dl_store *st;
	int64_t boot, k1, k2, kf;
	uint64_t seq = 0;
	int64_t t = t0_ms;
	int r = 0;
	static const struct spec db = { "app", "/opt/app", "/system.slice/app.service", "10.9.0.1", 5432, 6, 1, 1, 0 };
	static const struct spec lan = { "app", "/opt/app", "/system.slice/app.service", "10.8.0.1", 80, 6, 1, 1, 0 };
	static const struct spec lan2 = { "app", "/opt/app", "/system.slice/app.service", "10.8.0.2", 80, 6, 1, 1, 0 };
	static const struct spec mail = { "mta", "/usr/sbin/mta", "/system.slice/mta.service", "192.0.2.25", 25, 6, 1, 1, 0 };

	snprintf(vdb, sizeof(vdb), "%s/versions.db", dir);
	if (dl_replay_init(&v1, "web.policy", web_v1, &dg) < 0 || dl_replay_init(&v2, "web.policy", web_v2, &dg) < 0) {
		TAP_OK(0, "versions: policies parse (%s)", dg.n ? dg.v[0].msg : "?");
		return;
	}
	snprintf(v1s, sizeof(v1s), "%.12s", v1.policy->sha256);
	snprintf(v2s, sizeof(v2s), "%.12s", v2.policy->sha256);
	r |= dl_store_open(vdb, 0, &st);
	r |= dl_store_boot(st, "vboot", 0, &boot);
	r |= store_version(st, &v1, &k1);
	r |= dl_store_policy_load(st, boot, 1, k1, t * 1000000);
	r |= dl_store_begin(st);
	for (int i = 0; i < 3; i++)
		r |= add_event_rp(st, &v1, boot, k1, &seq, &db, db.port, t + 1000 + i);
	r |= add_event_rp(st, &v1, boot, k1, &seq, &mail, 25, t + 2000);
	r |= dl_store_commit(st);
	r |= store_version(st, &v2, &k2);
	r |= dl_store_policy_load(st, boot, 2, k2, (t + 60000) * 1000000);
	r |= dl_store_begin(st);
	/* would-deny first, then deny; and the other way round */
	r |= add_event_rp(st, &v2, boot, k2, &seq, &lan, 80, t + 63000);
	force_deny = true;
	r |= add_event_rp(st, &v2, boot, k2, &seq, &lan, 80, t + 63001);
	r |= add_event_rp(st, &v2, boot, k2, &seq, &lan2, 80, t + 63002);
	force_deny = false;
	r |= add_event_rp(st, &v2, boot, k2, &seq, &lan2, 80, t + 63003);
	for (int i = 0; i < 2; i++)
		r |= add_event_rp(st, &v2, boot, k2, &seq, &db, db.port, t + 61000 + i);
	r |= dl_store_commit(st);
	/* two stored versions whose sha256 share 10 hex digits */
	r |= dl_store_policy(st, "fake", "abcdef0123aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "policy fake\n",
			     NULL, 0, &kf);
	r |= dl_store_policy(st, "fake", "abcdef0123bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "policy fake\n",
			     NULL, 0, &kf);
	dl_store_close(st);
	TAP_OK(r == 0, "versions: database with web v1, reload as v2");

	r = RUN("--db", vdb, "ready", "--policy", "web", "--dest", "10.9.0.0/16");
	TAP_OK(r == 0 && strstr(out, "ready:"),
	       "ready --policy web: v1's denials of what v2 allows do not fail it (%d: %.200s)", r, out);
	r = RUN("--db", vdb, "ready", "--dest", "10.9.0.0/16");
	TAP_OK(r == 0, "ready defaults to the current version (%d)", r);
	r = RUN("--db", vdb, "ready", "--policy", "current", "--dest", "10.9.0.0/16");
	TAP_OK(r == 0, "ready --policy current (%d)", r);
	r = RUN("--db", vdb, "ready", "--policy", v1s, "--dest", "10.9.0.0/16");
	TAP_OK(r == 1 && strstr(out, "10.9.0.1") && strstr(out, v1s),
	       "ready --policy <v1 sha256 prefix>: v2's events replayed against v1 are denied (%d)", r);
	r = RUN("--db", vdb, "-o", "json", "denials", "--policy", "web", "--port", "25");
	TAP_OK(r == 0 && json_rows(out) == 1 && strstr(out, "\"addr\": \"192.0.2.25\"") &&
		       strstr(out, "\"rule\": \"smtp\"") && strstr(out, "\"replayed\": 1") &&
		       strstr(out, v2s),
	       "denials: what v1 allowed and v2 denies shows, decided by v2 by replay");
	r = RUN("--db", vdb, "-o", "json", "denials", "--policy", "web");
	TAP_OK(r == 0 && !strstr(out, "10.9.0.1"), "denials --policy web: nothing v2 allows");
	{
		int both = 0, wrong = 0;
		for (const char *p = out; (p = strstr(p, "\"verdict\": \"")); p++) {
			both += !strncmp(p + 12, "would-deny,deny\"", 16);
			wrong += !strncmp(p + 12, "deny,would-deny\"", 16);
		}
		TAP_OK(both == 2 && wrong == 0, "denials: verdicts listed in verdict order on every row (%d, %d)",
		       both, wrong);
	}
	r = RUN("--db", vdb, "-o", "json", "summary");
	TAP_OK(r == 0 && strstr(out, v1s) && strstr(out, v2s) && strstr(out, "\"version\": "),
	       "summary: a version column tells v1 from v2");
	r = RUN("--db", vdb, "-o", "json", "summary", "--policy", v1s);
	TAP_OK(r == 0 && strstr(out, v1s) && !strstr(out, v2s), "summary --policy <sha256 prefix>: that version only");
	snprintf(pfx, sizeof(pfx), "%.8s", v2.policy->sha256);
	r = RUN("--db", vdb, "-o", "json", "events", "--policy", pfx);
	TAP_OK(r == 0 && json_rows(out) == 6, "events --policy <8-digit prefix>: v2's 6 events (%d)", json_rows(out));
	r = RUN("--db", vdb, "summary", "--policy", "abcdef01");
	TAP_OK(r == 2 && strstr(err, "ambiguous") && strstr(err, "abcdef0123a"),
	       "--policy with an ambiguous sha256 prefix: a clear error (%d: %s)", r, err);
	r = RUN("--db", vdb, "summary", "--policy", "abcdef0123b");
	TAP_OK(r == 0, "--policy with a longer prefix picks one version");
	r = RUN("--db", vdb, "suggest", "--policy", "web");
	TAP_OK(r == 0 && strstr(out, v2s) && !strstr(out, "addr=10.9.0.1/32"),
	       "suggest --policy web: the latest version, nothing for what it allows");
	TAP_OK(strstr(out, "addr=192.0.2.25/32 port=25 proto=tcp op=connect cgroup=/system.slice/mta.service\n"),
	       "suggest: an event v1 allowed and v2 denies gets a rule (replayed)");
	dl_replay_free(&v1);
	dl_replay_free(&v2);
	dl_diags_free(&dg);
}

/* Issue 9 s4: reports that scale. 15,000 distinct destinations in 10/8
 * from 3 services (denied by one /8 rule), plus 100 one-off subjects, each
 * in its own cgroup: more groups than any budget can hold. */
#define BIG_N 15000
#define BIG_LONERS 100
static const char big_text[] = "policy big\nnet deny lan addr=10.0.0.0/8\n";

static void big_spec(int i, struct spec *sp, char *cg, size_t cgn, char *addr, size_t an)
{
	if (i < BIG_N) {
		snprintf(cg, cgn, "/system.slice/svc%d.service", i % 3);
		snprintf(addr, an, "10.%d.%d.%d", i % 60, (i / 60) % 250, 1 + (i * 7) % 250);
		*sp = (struct spec){ "svc", "/usr/bin/svc", cg, addr, 443, 6, 1, 1, 0 };
	} else {
		snprintf(cg, cgn, "/user.slice/u%d.scope", i - BIG_N);
		snprintf(addr, an, "10.200.0.%d", 1 + (i - BIG_N));
		*sp = (struct spec){ "ssh", "/usr/bin/ssh", cg, addr, 22, 6, 1, 1, 0 };
	}
}

static int count_prefix_lines(const char *s, const char *pfx)
{
	int n = 0;
	size_t l = strlen(pfx);

	for (const char *p = s; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		n += !strncmp(p, pfx, l);
	return n;
}

static int count_char(const char *s, char c)
{
	int n = 0;

	for (; *s; s++)
		n += *s == c;
	return n;
}

static void test_scale(void)
{
	char bdb[340], cg[64], addr[32], path[400], cmd[1200];
	struct dl_replay bp;
	struct dl_diags dg = { 0 };
	struct dl_store *st;
	struct dl_store_rule rule;
	int64_t boot, pk;
	uint64_t seq = 0;
	struct spec sp;
	int r = 0;

	snprintf(bdb, sizeof(bdb), "%s/big.db", dir);
	if (dl_replay_init(&bp, "big.policy", big_text, &dg) < 0) {
		TAP_OK(0, "scale: policy parses");
		return;
	}
	rule = (struct dl_store_rule){ 0, bp.policy->rules[0].id, DL_FAMILY_NET, bp.policy->rules[0].action,
				       bp.policy->rules[0].text };
	r |= dl_store_open(bdb, 0, &st);
	r |= dl_store_boot(st, "bigboot", 0, &boot);
	r |= dl_store_policy(st, bp.policy->name, bp.policy->sha256, bp.policy->text, &rule, 1, &pk);
	r |= dl_store_policy_load(st, boot, 1, pk, t0_ms * 1000000);
	r |= dl_store_begin(st);
	for (int i = 0; i < BIG_N + BIG_LONERS; i++) {
		big_spec(i, &sp, cg, sizeof(cg), addr, sizeof(addr));
		r |= add_event_rp(st, &bp, boot, pk, &seq, &sp, sp.port, t0_ms + i * 10);
	}
	r |= dl_store_commit(st);
	dl_store_close(st);
	TAP_OK(r == 0, "scale: %d events to distinct destinations stored", BIG_N + BIG_LONERS);

	/* ---- default limits, "showing N of M" ---- */
	r = RUN("--db", bdb, "denials");
	TAP_OK(r == 0 && count_char(out, '\n') == 52 && strstr(out, "\nshowing 50 of 15100 groups "),
	       "denials table: 50 rows by default, then 'showing 50 of 15100 groups' (%d lines)",
	       count_char(out, '\n'));
	r = RUN("--db", bdb, "-o", "json", "denials");
	TAP_OK(r == 0 && json_rows(out) == 50 && strstr(err, "showing 50 of 15100 groups") &&
		       !strstr(out, "showing"),
	       "denials -o json: 50 rows, exact JSON, the note on stderr (%d)", json_rows(out));
	r = RUN("--db", bdb, "-o", "csv", "denials", "--limit", "7");
	TAP_OK(r == 0 && count_char(out, '\n') == 8 && strstr(err, "showing 7 of 15100"),
	       "denials -o csv --limit 7: header + 7 rows (%d)", count_char(out, '\n'));
	r = RUN("--db", bdb, "-o", "json", "denials", "--all", "--cgroup", "/user.slice");
	TAP_OK(r == 0 && json_rows(out) == 100 && !err[0], "denials --all: every group (100 > 50), no note (%d)",
	       json_rows(out));
	r = RUN("--db", bdb, "-o", "json", "ready", "--limit", "3");
	TAP_OK(r == 1 && json_rows(out) == 3, "ready --limit 3: 3 rows, still not ready (%d, %d)", r,
	       json_rows(out));
	r = RUN("--db", bdb, "ready");
	TAP_OK(r == 1 && strstr(out, "showing 50 of 15100 groups") &&
		       strstr(out, "not ready: 15100 group(s)"),
	       "ready table: default limit, the whole count in the verdict line");
	r = RUN("--db", bdb, "events");
	TAP_OK(r == 0 && strstr(out, "\nshowing the last 100 of 15100 events "),
	       "events says it shows the last 100");
	r = RUN("--db", bdb, "-o", "json", "top", "--by", "objects");
	TAP_OK(r == 0 && json_rows(out) == 20 && strstr(err, "showing 20 of 15100"), "top: 20 and says so");
	r = RUN("--db", bdb, "-o", "csv", "top", "--by", "objects", "--all", "--cgroup", "/user.slice");
	TAP_OK(r == 0 && count_char(out, '\n') == 101 && !err[0], "top --all: every row (%d lines)",
	       count_char(out, '\n'));
	r = RUN("--db", bdb, "-o", "json", "timeline", "--bucket", "minute", "--limit", "1");
	TAP_OK(r == 0 && json_rows(out) == 1 && strstr(err, "showing the last 1 of 3 buckets"),
	       "timeline --limit 1: the last bucket (%d: %s)", json_rows(out), err);
	r = RUN("--db", bdb, "-o", "json", "summary", "--limit", "1", "--verdict", "would-deny");
	TAP_OK(r == 0 && json_rows(out) == 1 && !err[0], "summary --limit 1 with one row: no note");

	/* ---- suggest within a budget ---- */
	r = RUN("--db", bdb, "suggest", "--cgroup", "/system.slice");
	TAP_OK(r == 0 && count_prefix_lines(out, "net allow sug-") <= 64 &&
		       count_prefix_lines(out, "net allow sug-") == 60 && !strstr(out, "NOT VERIFIED") &&
		       strstr(out, "# covers 15000 of 15000 event(s) to allow with 60 rule(s) (--max-rules 64);"
				   " widened to at most /16 (IPv4)"),
	       "suggest, 15,000 destinations of 3 services (20 /16s each): 60 rules, all verified, coverage stated (%d)",
	       count_prefix_lines(out, "net allow sug-"));
	r = RUN("--db", bdb, "suggest");
	static char sug[1 << 17];
	memcpy(sug, out, out_len < sizeof(sug) ? out_len : sizeof(sug) - 1);
	sug[sizeof(sug) - 1] = 0;
	TAP_OK(r == 0 && count_prefix_lines(sug, "net allow sug-") == 64 && !strstr(sug, "NOT VERIFIED") &&
		       strstr(sug, "# covers 15061 of 15100 event(s) to allow with 64 rule(s) (--max-rules 64);"
				   " widened to at most /10 (IPv4)") &&
		       strstr(sug, "gave up 39 event(s) in 39 least frequent group(s)"),
	       "suggest with 103 cgroups: 64 rules, the coverage given up stated (%d)",
	       count_prefix_lines(sug, "net allow sug-"));
	TAP_OK(strstr(sug, "addr=10.0.0.0/10 port=443 proto=tcp op=connect cgroup=/system.slice/svc0.service\n") &&
		       strstr(sug, "# widened to fit --max-rules: 5000 address(es) -> 10.0.0.0/10"),
	       "suggest: a service's destinations widened to their covering prefix, in its cgroup, said so");
	{
		/* Replay every stored event with the policy plus the suggestions. */
		static char combined[sizeof(big_text) + (1 << 17)];
		struct dl_replay cp;
		int allowed = 0, lan_other = -1;

		strcpy(combined, big_text);
		strcat(combined, sug);
		r = dl_replay_init(&cp, "combined", combined, &dg);
		for (int i = 0; r == 0 && i < BIG_N + BIG_LONERS; i++) {
			big_spec(i, &sp, cg, sizeof(cg), addr, sizeof(addr));
			allowed += allows(&cp, sp.addr, sp.port, sp.hook, sp.cgroup) == 1;
		}
		if (r == 0)
			lan_other = allows(&cp, "10.100.0.1", 443, 1, "/system.slice/svc0.service") +
				    allows(&cp, "10.1.2.3", 443, 1, "/system.slice/other.service") +
				    allows(&cp, "10.1.2.3", 80, 1, "/system.slice/svc0.service");
		TAP_OK(r == 0 && allowed == 15061, "suggest: replayed, the suggestions allow exactly the 15061 events"
		       " they claim (%d, %s)", allowed, dg.n ? dg.v[0].msg : "ok");
		TAP_OK(lan_other == 0, "suggest: outside the prefix, another cgroup or port stays denied (%d)",
		       lan_other);
		if (r == 0)
			dl_replay_free(&cp);
	}
	r = RUN("--db", bdb, "suggest", "--max-rules", "10");
	TAP_OK(r == 0 && count_prefix_lines(out, "net allow sug-") == 10 && strstr(out, "(--max-rules 10)"),
	       "suggest --max-rules 10: 10 rules (%d)", count_prefix_lines(out, "net allow sug-"));
	r = RUN("--db", bdb, "-o", "json", "suggest", "--max-rules", "10");
	TAP_OK(r == 0 && json_rows(out) == 10 && strstr(err, "suggest: covers "),
	       "suggest -o json: exact JSON, the coverage on stderr");
	TAP_OK(RUN("--db", bdb, "summary", "--max-rules", "3") == 2, "--max-rules on another command: exit 2");

	/* ---- pager ---- */
	snprintf(path, sizeof(path), "%s/paged", dir);
	snprintf(cmd, sizeof(cmd), "cat > %s", path);
	setenv("PAGER", cmd, 1);
	r = RUN("--db", bdb, "events");
	TAP_OK(r == 0 && strstr(out, "showing the last 100") && access(path, F_OK) != 0,
	       "pager: not used when stdout is not a terminal");
	if (access("/usr/bin/script", X_OK) == 0) {
		snprintf(cmd, sizeof(cmd), "script -qec '%s --db %s summary' /dev/null > /dev/null 2>&1", bin, bdb);
		r = system(cmd);
		char *paged = read_file(path, NULL);
		TAP_OK(r == 0 && paged && strstr(paged, "would-deny") && strstr(paged, "lan"),
		       "pager: $PAGER gets the output when stdout is a terminal (script(1) pty)");
		unlink(path);
		snprintf(cmd, sizeof(cmd), "script -qec '%s --db %s --no-pager summary' /dev/null > /dev/null 2>&1",
			 bin, bdb);
		r = system(cmd);
		TAP_OK(r == 0 && access(path, F_OK) != 0, "pager: --no-pager on a terminal: none");
	} else {
		TAP_OK(1, "# SKIP script(1) not installed: pager on a pty not tested");
		TAP_OK(1, "# SKIP script(1) not installed");
	}
	unsetenv("PAGER");
	dl_replay_free(&bp);
	dl_diags_free(&dg);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		printf("1..0 # SKIP no drylock-query path given\n");
		return 0;
	}
	bin = argv[1];
	if (tap_tmpdir(dir, sizeof(dir), "reports"))
		return 1;
	snprintf(db, sizeof(db), "%s/r.db", dir);
	t0_ms = ((int64_t)time(NULL) - 3 * 86400) / 3600 * 3600 * 1000;
	int r = build_db();
	TAP_OK(r == 0, "test database built (%d)", r);
	setenv("DRYLOCK_DB", db, 1);

	test_library();
	test_versions();
	test_scale();

	/* ---- timeline ---- */
	char since[32], until[32], path[400];
	snprintf(since, sizeof(since), "%lld", (long long)(t0_ms / 1000));
	snprintf(until, sizeof(until), "%lld", (long long)(t0_ms / 1000 + 7200));
	r = RUN("-o", "json", "timeline", "--bucket", "minute");
	/* distinct minutes with events: 0..4 (5 curl at k seconds: same minute 0),
	 * 10, 20, 21, 22, 23, 24, 30, 31, 40, 50, 60, 70 */
	TAP_OK(r == 0 && json_rows(out) == 13, "timeline per minute: 13 buckets (%d)", json_rows(out));
	TAP_OK(strstr(out, "\"allow\": 5") && strstr(out, "\"would_deny\": 3") &&
		       strstr(out, "\"total\": 12"),
	       "timeline counts per verdict (allow 5 at minute 0, 3 would-deny at minute 10, 12 scans)");
	r = RUN("-o", "json", "timeline", "--bucket", "hour");
	TAP_OK(r == 0 && json_rows(out) == 2, "timeline per hour: 2 buckets (%d)", json_rows(out));
	r = RUN("-o", "csv", "timeline", "--since", since, "--until", until);
	TAP_OK(r == 0 && !strncmp(out, "bucket,allow,would_deny,deny,total\r\n", 36) &&
		       strstr(out, ":10Z,0,3,0,3\r\n"),
	       "timeline default bucket for a 2h window is a minute; csv");
	r = RUN("-o", "json", "timeline", "--bucket", "hour", "--by", "rule");
	TAP_OK(r == 0 && strstr(out, "\"rule\": \"lan\"") && strstr(out, "\"rule\": \"web\""),
	       "timeline --by rule");
	r = RUN("-o", "json", "timeline", "--bucket", "hour", "--verdict", "allow");
	TAP_OK(r == 0 && json_rows(out) == 1 && strstr(out, "\"total\": 5"), "timeline honours filters");

	snprintf(path, sizeof(path), "%s/t.svg", dir);
	r = RUN("timeline", "--since", since, "--until", until, "--chart", path);
	size_t len;
	char *svg = read_file(path, &len);
	TAP_OK(r == 0 && svg && !strncmp(svg, "<svg", 4), "chart: SVG file starts with <svg");
	TAP_OK(svg && xml_balanced(svg) > 20, "chart: tags balanced (%d elements)", svg ? xml_balanced(svg) : -1);
	TAP_OK(svg && strstr(svg, "id=\"series-allow\"") && strstr(svg, "id=\"series-would-deny\"") &&
		       strstr(svg, "id=\"series-deny\"") && strstr(svg, "class=\"legend\"") &&
		       strstr(svg, "would-deny (") && strstr(svg, "events per minute"),
	       "chart: one series per verdict, legend, axis label");
	TAP_OK(svg && !strstr(svg, "<script") && !strstr(svg, "http://") == 0 &&
		       !strstr(svg, "href"),
	       "chart: no script, no links (only the SVG namespace)");
	/* 120 minute buckets: the would-deny series has 120 points */
	{
		const char *p = svg ? strstr(svg, "id=\"series-would-deny\"") : NULL;
		const char *pts = p ? strstr(p, "points=\"") : NULL;
		int commas = 0;
		for (const char *q = pts ? pts + 8 : ""; *q && *q != '"'; q++)
			commas += *q == ',';
		TAP_OK(commas == 120, "chart: every minute of the window is a point, zeros included (%d)",
		       commas);
	}
	TAP_OK(strstr(err, "wrote ") && strstr(err, "t.svg"), "chart: 'wrote FILE' on stderr (%s)", err);
	/* --by rule: one series per rule, not per verdict */
	snprintf(path, sizeof(path), "%s/r.svg", dir);
	r = RUN("timeline", "--bucket", "hour", "--by", "rule", "--chart", path);
	svg = read_file(path, NULL);
	TAP_OK(r == 0 && svg && strstr(svg, "id=\"series-lan\"") && strstr(svg, "id=\"series-dns9\"") &&
		       strstr(svg, "lan (") && !strstr(svg, "id=\"series-would-deny\"") &&
		       xml_balanced(svg) > 20 && strstr(svg, "per hour and rule"),
	       "chart --by rule: one series per rule (lan, dns9, ...), not per verdict");
	/* the legend fits: the image is wide enough for "would-deny (254943)" */
	{
		uint64_t counts[2 * DL_VERDICT_MAX] = { 1, 254943, 3, 4, 5, 6 };
		char *buf = NULL;
		size_t blen = 0;
		FILE *m = open_memstream(&buf, &blen);
		int width = 0;
		double x = 0;
		const char *lt;

		dl_chart_write(m, &(struct dl_chart){ .t0_ms = 0, .bucket_ms = 60000, .n = 2,
						      .n_series = DL_VERDICT_MAX, .counts = counts, .title = "t" },
			       0);
		fclose(m);
		sscanf(buf, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\"", &width);
		lt = strstr(buf, ">would-deny (254948)</text>");
		while (lt && lt > buf && strncmp(lt, "<text x=\"", 9))
			lt--;
		if (lt)
			sscanf(lt, "<text x=\"%lf\"", &x);
		/* 19 characters at 7 px (sans-serif 12 px averages below that) */
		TAP_OK(lt && x > 0 && x + 19 * 7.0 <= width, "chart legend not clipped: text at x=%.0f, width %d",
		       x, width);
		free(buf);
	}
	snprintf(path, sizeof(path), "%s/t.html", dir);
	r = RUN("timeline", "--bucket", "hour", "--chart", path);
	char *html = read_file(path, NULL);
	TAP_OK(r == 0 && html && !strncmp(html, "<!DOCTYPE html>", 15) && strstr(html, "<svg") &&
		       xml_balanced(strstr(html, "<html")) > 0 && strstr(html, "events per hour"),
	       "chart: HTML embeds the SVG");
	TAP_OK(RUN("timeline", "--chart", "x.png") == 2, "chart: other extension is a usage error");
	TAP_OK(RUN("timeline", "--bucket", "day") == 2, "bad --bucket: exit 2");

	/* ---- denials ---- */
	r = RUN("-o", "json", "denials");
	/* would-deny groups: mail curl, app x4, app6 x2, nc, pinned, web bind,
	 * evil, lost, 12 scan ports */
	TAP_OK(r == 0 && json_rows(out) == 24, "denials: 24 subject/object groups (%d)", json_rows(out));
	TAP_OK(!strncmp(out, "[\n  {\"count\": 4,", 16) && strstr(out, "\"rule\": \"dns9\""),
	       "denials: sorted by count, nc's 4 first, with the rule");
	r = RUN("denials", "--comm", "curl");
	TAP_OK(r == 0 && strstr(out, "10.0.0.25") && strstr(out, "lan") && !strstr(out, "93.184"),
	       "denials table: only denied, filtered");
	r = RUN("denials");
	TAP_OK(r == 0 && !strstr(out, "\nnet allow") && strstr(out, "x\\nnet allow e1"),
	       "denials table: newline in comm shown as \\n");

	/* ---- suggest ---- */
	r = RUN("suggest");
	static char sug[1 << 16];
	memcpy(sug, out, out_len < sizeof(sug) - 1 ? out_len + 1 : sizeof(sug) - 1);
	sug[sizeof(sug) - 1] = 0;
	TAP_OK(r == 0 && strstr(sug, "policy base"), "suggest runs on the latest policy");
	TAP_OK(strstr(sug, "# 3 would-deny by curl (/usr/bin/curl) ") && strstr(sug, ", overrides lan\n") &&
		       strstr(sug, "addr=10.0.0.25/32 port=25 proto=tcp op=connect cgroup=/system.slice/mail.service\n"),
	       "suggest: comment line with count, comm (exe), overrides; exact host rule");
	TAP_OK(strstr(sug, "# aggregated: 3 addresses in one /24 -> 10.1.2.0/30") &&
		       strstr(sug, "addr=10.1.2.0/30 port=5432 proto=tcp op=connect cgroup=/system.slice/app.service") &&
		       strstr(sug, "addr=10.7.0.1/32 port=5432"),
	       "suggest: 3 hosts in one /24 aggregated to their covering /30, said so; 10.7.0.1 alone");
	TAP_OK(strstr(sug, "addr=2001:db8::/126 port=80 proto=tcp"), "suggest: IPv6 hosts in one /64 aggregated");
	TAP_OK(strstr(sug, "port=1000-1011 proto=tcp op=connect cgroup=/system.slice/scan.service") &&
		       strstr(sug, "port range 1000-1011: more than 8"),
	       "suggest: 12 ports > 8 become a range, said so");
	TAP_OK(strstr(sug, "addr=127.0.0.2/32 port=9 proto=tcp op=connect cgroup=/\n") &&
		       strstr(sug, "outrank the global deny rule 'dns9'"),
	       "suggest: root-cgroup subject vs equal global deny: cgroup=/ makes it win");
	TAP_OK(strstr(sug, "# NOT VERIFIED: cannot override the equally specific deny rule 'pin'") &&
		       strstr(sug, "\n# net allow sug-") && strstr(sug, "cgroup=/system.slice/pin.service\n"),
	       "suggest: a tie with a deny is commented out with advice to edit the deny");
	TAP_OK(strstr(sug, "addr=0.0.0.0/32 port=80 proto=tcp op=bind cgroup=/system.slice/web.service"),
	       "suggest: op from the hook (bind)");
	TAP_OK(strstr(sug, "addr=10.5.5.5/32 port=22 proto=tcp op=connect\n"),
	       "suggest: unknown cgroup path: no cgroup= scope");

	/* Hostile comm/exe: every line is a comment, blank, or a suggested rule. */
	{
		int bad = 0, rules = 0;
		char *save = NULL, *copy = strdup(sug);
		for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
			if (l[0] == '#')
				continue;
			if (!strncmp(l, "net allow sug-", 14))
				rules++;
			else
				bad++;
		}
		free(copy);
		TAP_OK(bad == 0 && rules == 9, "suggest: hostile comm/exe cannot start a policy line (%d bad, %d rules)",
		       bad, rules);
		TAP_OK(strstr(sug, "by x\\nnet allow e1  (/tmp/x\\nnet allow evil addr=any\\n) "),
		       "suggest: newline in comm/exe shown as \\n inside the comment");
	}

	/* Parse the output with the stored policy: every denial covered is now
	 * allowed (except the pinned tie), and neighbours are still denied. */
	{
		static char combined[1 << 17];
		struct dl_replay cp;
		struct dl_diags dg = { 0 };
		snprintf(combined, sizeof(combined), "%s%s", policy_text, sug);
		r = dl_replay_init(&cp, "combined", combined, &dg);
		TAP_OK(r == 0 && !dl_policy_parse_string("x", combined, &(struct dl_policy *){ 0 }, &dg) ? 1 : r == 0,
		       "suggest output parses and compiles with the stored policy (%s)",
		       dg.n ? dg.v[0].msg : "ok");
		int ok = 0, total = 0;
		for (size_t i = 0; r == 0 && i < sizeof(specs) / sizeof(specs[0]); i++) {
			const struct spec *s = &specs[i];
			unsigned np = !strcmp(s->comm, "scan") ? SCAN_PORTS : 1;
			for (unsigned p = 0; p < np; p++) {
				if (!strcmp(s->comm, "pinned"))
					continue;
				total++;
				ok += allows(&cp, s->addr, s->port + p, s->hook, s->cgroup) == 1;
			}
		}
		TAP_OK(r == 0 && ok == total, "every denied event is allowed with the suggestions (%d/%d)", ok,
		       total);
		TAP_OK(r == 0 && allows(&cp, "127.0.0.3", 7, 1, "/system.slice/pin.service") == 0,
		       "the unverified tie stays denied");
		TAP_OK(r == 0 && allows(&cp, "10.0.0.26", 25, 1, "/system.slice/mail.service") == 0 &&
			       allows(&cp, "10.0.0.25", 26, 1, "/system.slice/mail.service") == 0 &&
			       allows(&cp, "10.0.0.25", 25, 1, "/system.slice/other.service") == 0 &&
			       allows(&cp, "10.0.0.25", 25, 2, "/system.slice/mail.service") == 0 &&
			       allows(&cp, "10.1.2.9", 5432, 1, "/system.slice/app.service") == 0 &&
			       allows(&cp, "10.9.9.9", 1012, 1, "/system.slice/scan.service") == 0 &&
			       allows(&cp, "10.66.0.2", 25, 1, "/system.slice/evil.service") == 0,
		       "least privilege: other address, port, cgroup, op, outside the /30 and the range stay denied");
		TAP_OK(r == 0 && allows(&cp, "10.0.0.25", 25, 1, "/system.slice/mail.service/sub") == 1,
		       "cgroup scope covers the subtree, as policy cgroup= does");
		if (r == 0)
			dl_replay_free(&cp);
		dl_diags_free(&dg);
	}
	r = RUN("suggest");
	TAP_OK(r == 0 && !strcmp(out, sug), "suggest is stable: a rerun prints the same ids and text");
	r = RUN("suggest", "--max-ports", "20");
	TAP_OK(r == 0 && !strstr(out, "port=1000-1011") && strstr(out, "port=1011 proto=tcp"),
	       "--max-ports 20: exact ports");
	r = RUN("-o", "json", "suggest");
	TAP_OK(r == 0 && json_rows(out) >= 10 && strstr(out, "\"overrides\": [\"lan\"]") &&
		       strstr(out, "\"comms\": [\"curl\"]") && strstr(out, "\"verified\": false") &&
		       strstr(out, "\"id\": \"sug-"),
	       "suggest -o json: rule, id, count, comms, exes, overrides, verified (%d)", json_rows(out));
	r = RUN("suggest", "--comm", "curl");
	TAP_OK(r == 0 && strstr(out, "mail.service") && !strstr(out, "scan.service"), "suggest honours filters");
	TAP_OK(RUN("suggest", "--policy", "nope") == 1 && strstr(err, "no stored policy"),
	       "suggest --policy unknown: error");

	/* ---- what-if ---- */
	char cand[400];
	static char ctext[4096];
	snprintf(cand, sizeof(cand), "%s/cand.policy", dir);
	snprintf(ctext, sizeof(ctext), "%snet allow mail addr=10.0.0.25 port=25 proto=tcp "
		 "cgroup=/system.slice/mail.service\n", policy_text);
	write_file(cand, ctext);
	r = RUN("what-if", "--candidate", cand);
	TAP_OK(r == 0 && strstr(out, "would-deny -> allow") && strstr(out, "0 newly denied, 3 newly allowed"),
	       "what-if: an added allow is reported, exit 0 (%d)", r);
	TAP_OK(strstr(out, "1 event(s) had an unknown cgroup path"), "what-if: unknown cgroup paths counted");
	snprintf(ctext, sizeof(ctext), "%snet deny block addr=93.184.216.34 port=443 proto=tcp\n", policy_text);
	write_file(cand, ctext);
	r = RUN("what-if", "--candidate", cand);
	TAP_OK(r == 1 && strstr(out, "allow -> would-deny") && strstr(out, "curl") &&
		       strstr(out, "93.184.216.34") && strstr(out, "5 newly denied"),
	       "what-if: an added deny lists the events and exits 1 (%d)", r);
	r = RUN("-o", "json", "what-if", "--candidate", cand);
	TAP_OK(r == 1 && json_rows(out) == 1 && strstr(out, "\"newly_denied\": 5") &&
		       strstr(out, "\"new_rule\": \"block\""),
	       "what-if -o json: changes and totals");
	/* the same deny with mode=enforce refuses from the start */
	snprintf(ctext, sizeof(ctext), "%snet deny block addr=93.184.216.34 port=443 proto=tcp mode=enforce\n",
		 policy_text);
	write_file(cand, ctext);
	r = RUN("-o", "json", "what-if", "--candidate", cand);
	TAP_OK(r == 1 && strstr(out, "\"change\": \"allow -> deny\"") && strstr(out, "\"new_verdict\": \"deny\"") &&
		       strstr(out, "\"newly_denied\": 5"),
	       "what-if: an added deny with mode=enforce is a deny, not a would-deny (%d)", r);
	snprintf(ctext, sizeof(ctext), "%s", policy_text);
	write_file(cand, ctext);
	r = RUN("what-if", "--candidate", cand);
	TAP_OK(r == 0 && strstr(out, "no decision would change"), "what-if: same policy, nothing changes");
	/* a narrower deny takes some events from 'lan': rule change, still denied */
	snprintf(ctext, sizeof(ctext), "%snet deny pg addr=10.1.2.0/24 port=5432 proto=tcp\n", policy_text);
	write_file(cand, ctext);
	r = RUN("what-if", "--candidate", cand);
	TAP_OK(r == 0 && strstr(out, "rule change") && strstr(out, "6 with another rule"),
	       "what-if: rule changes reported, not counted as newly denied");
	r = RUN("what-if", "--candidate", cand, "--comm", "curl");
	TAP_OK(r == 0 && strstr(out, "no decision would change"), "what-if honours filters");
	write_file(cand, "net deny oops addr=10.0.0.1/8\n");
	r = RUN("what-if", "--candidate", cand);
	TAP_OK(r == 2 && strstr(err, "host bits set"), "what-if: invalid candidate exits 2 with diagnostics");
	snprintf(cand, sizeof(cand), "%s/cand.fifo", dir);
	r = mkfifo(cand, 0600) == 0 ? RUN("what-if", "--candidate", cand) : -1;
	TAP_OK(r == 2 && strstr(err, "not a regular file (a FIFO)"),
	       "what-if --candidate FIFO: refused, does not block (%d)", r);
	TAP_OK(RUN("what-if") == 2, "what-if without --candidate: exit 2");
	TAP_OK(RUN("summary", "--candidate", cand) == 2, "--candidate on another command: exit 2");

	tap_tmpdir_remove(dir);
	dl_replay_free(&pol);
	return tap_done();
}
