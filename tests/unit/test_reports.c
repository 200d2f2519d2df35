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

static int add_event(struct dl_store *st, int64_t boot, int64_t polkey, uint64_t *seq,
		     const struct spec *s, unsigned port, int64_t ts_ms)
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
	if (dl_replay_decide(&pol, &in, &act, &rule, &unk) < 0)
		return -EINVAL;
	e.rec.verdict = act == DL_ACTION_DENY ? DL_VERDICT_WOULD_DENY : DL_VERDICT_ALLOW;
	e.rec.rule_idx = rule;
	e.rule_id = rule == DL_RULE_NONE ? NULL : pol.policy->rules[rule].id;
	e.ts_ns = ts_ms * 1000000;
	e.boot_key = boot;
	e.policy_key = polkey;
	e.exe = s->exe;
	e.cgroup_path = s->cgroup;
	n_events_total++;
	n_denied_events += act == DL_ACTION_DENY;
	return dl_store_event(st, &e);
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
	r = r ? r : dl_suggest(&rp, base_txt, obs, 6, &(struct dl_suggest_opts){ .max_ports = 8 }, &sg, &nsg);
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
		}
	dl_suggestions_free(sg, nsg);

	/* Exactly max_ports ports: exact; one more: a range. */
	struct dl_obs po[9];
	for (int i = 0; i < 9; i++) {
		po[i] = obs[2];
		po[i].port = (__u16)(2000 + i * 3);
	}
	r = dl_suggest(&rp, base_txt, po, 8, &(struct dl_suggest_opts){ .max_ports = 8 }, &sg, &nsg);
	TAP_OK(r == 0 && nsg == 8, "8 ports with --max-ports 8: 8 exact rules (%zu)", nsg);
	dl_suggestions_free(sg, nsg);
	r = dl_suggest(&rp, base_txt, po, 9, &(struct dl_suggest_opts){ .max_ports = 8 }, &sg, &nsg);
	TAP_OK(r == 0 && nsg == 1 && strstr(sg[0].text, " port=2000-2024 ") && sg[0].verified,
	       "9 ports: one range 2000-2024 (%s)", nsg ? sg[0].text : "-");
	dl_suggestions_free(sg, nsg);
	dl_replay_free(&rp);
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
