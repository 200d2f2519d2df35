/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * End-to-end tests of drylock-query (path in argv[1]): a database is built
 * with the store API in a temp dir, the binary is run on it, its output and
 * exit status are checked. Covers every filter, the three output formats
 * with a hostile comm, injection-looking filter values, a read-only run while
 * the writer holds a transaction, and error exits.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/wait.h>
#include <unistd.h>
#include <sqlite3.h>

#include "store/store.h"
#include "tap.h"

#include "runbin.h"

static char db[320];
static time_t old_s; /* the old events' base time: 10 days ago, minute-aligned */


static int count_lines(void)
{
	int n = 0;
	for (size_t i = 0; i < out_len; i++)
		n += out[i] == '\n';
	return n;
}

/* Rows of `-o json` output: number of top-level objects; -1 if the text is
 * not well formed in the ways that matter here (balanced brackets outside
 * strings, no raw control bytes inside strings, only valid escapes). */
static int json_rows(const char *s, size_t n)
{
	int depth = 0, rows = 0, in = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (in) {
			if (c < 0x20)
				return -1;
			if (c == '\\') {
				char e = s[++i];
				if (e == 'u') {
					for (int k = 1; k <= 4; k++)
						if (!strchr("0123456789abcdefABCDEF", s[i + k]) || !s[i + k])
							return -1;
					i += 4;
				} else if (!strchr("\"\\/bfnrt", e) || !e) {
					return -1;
				}
			} else if (c == '"') {
				in = 0;
			}
			continue;
		}
		if (c == '"')
			in = 1;
		else if (c == '[' || c == '{') {
			if (c == '{' && depth == 1)
				rows++;
			depth++;
		} else if (c == ']' || c == '}') {
			if (--depth < 0)
				return -1;
		}
	}
	return depth == 0 && !in ? rows : -1;
}

static int jrows(void)
{
	return json_rows(out, out_len);
}

static struct dl_event ev(int64_t boot, uint64_t seq, int64_t ts_ms, int64_t pol)
{
	struct dl_event e = { 0 };
	e.rec.version = DL_ABI_VERSION;
	e.rec.size = sizeof(e.rec);
	e.rec.family = DL_FAMILY_NET;
	e.rec.hook = DL_HOOK_SOCKET_CONNECT;
	e.rec.seq = seq;
	e.rec.cgroup_id = 77;
	e.rec.tgid = e.rec.pid = 500;
	e.rec.ppid = 1;
	e.rec.loginuid = e.rec.sessionid = 4294967295u;
	e.rec.verdict = DL_VERDICT_ALLOW;
	e.rec.rule_idx = 1;
	memcpy(e.rec.comm, "nginx", 5);
	e.rec.u.net.addr[10] = e.rec.u.net.addr[11] = 0xff;
	inet_pton(AF_INET, "10.0.0.5", e.rec.u.net.addr + 12);
	e.rec.u.net.port = 443;
	e.rec.u.net.protocol = IPPROTO_TCP;
	e.ts_ns = ts_ms * 1000000;
	e.boot_key = boot;
	e.policy_key = pol;
	e.exe = "/usr/sbin/nginx";
	e.cgroup_path = "/system.slice/nginx.service";
	return e;
}

/* A comm that tries everything: quotes, newline, apostrophe, equals, ESC,
 * an invalid UTF-8 byte, a comma. 15 bytes + NUL. */
static const char hostile[] = "a\"b\n'c=d\x1b[2J\xff,;";

static int build_db(struct dl_store **stp)
{
	struct dl_store *st;
	int r = dl_store_open(db, 0, &st);
	if (r < 0)
		return r;
	int64_t b, p;
	struct dl_store_rule rules[] = {
		{ 0, "metadata", DL_FAMILY_NET, DL_ACTION_DENY, "deny connect 169.254.169.254" },
		{ 1, "web", DL_FAMILY_NET, DL_ACTION_ALLOW, "allow connect any port 443" },
	};
	dl_store_boot(st, "qboot", 0, &b);
	dl_store_policy(st, "base", "5ha", "policy text", rules, 2, &p);
	dl_store_policy_load(st, b, 1, p, 0);
	int64_t now = (int64_t)time(NULL) * 1000;
	int64_t old = (int64_t)old_s * 1000;
	dl_store_begin(st);
	/* 1..5: old allowed nginx https to 10.0.0.5 */
	for (int i = 1; i <= 5; i++) {
		struct dl_event e = ev(b, (uint64_t)i, old + i * 1000, p);
		dl_store_event(st, &e);
	}
	/* 6: recent would-deny by a hostile comm to the metadata address */
	struct dl_event e = ev(b, 6, now - 3600 * 1000, p);
	memset(e.rec.comm, 0, sizeof(e.rec.comm));
	memcpy(e.rec.comm, hostile, sizeof(hostile) - 1);
	e.rec.verdict = DL_VERDICT_WOULD_DENY;
	e.rec.rule_idx = 0;
	e.exe = "/tmp/evil";
	e.cgroup_path = "/system.slice/nginx.service/worker";
	e.rec.u.net.addr[12] = 169, e.rec.u.net.addr[13] = 254, e.rec.u.net.addr[14] = 169,
	e.rec.u.net.addr[15] = 254;
	e.rec.u.net.port = 80;
	dl_store_event(st, &e);
	/* 7: recent IPv6 DNS from a sibling cgroup whose name extends nginx's */
	e = ev(b, 7, now - 60 * 1000, p);
	memset(e.rec.u.net.addr, 0, 16);
	inet_pton(AF_INET6, "2001:db8::53", e.rec.u.net.addr);
	e.rec.u.net.port = 53;
	e.rec.u.net.protocol = IPPROTO_UDP;
	e.rec.rule_idx = DL_RULE_NONE;
	e.cgroup_path = "/system.slice/nginx.service2";
	memset(e.rec.comm, 0, sizeof(e.rec.comm));
	memcpy(e.rec.comm, "resolver", 8);
	e.exe = "/usr/bin/resolver";
	dl_store_event(st, &e);
	r = dl_store_commit(st);
	*stp = st;
	return r;
}


/* ---- rollups vs scan ------------------------------------------------- */

static char db2[340];
static int64_t r_t0; /* minute-aligned base of the rollup database */
/* Ground truth for the checks below: every event's (ts, verdict). */
static int64_t r_ts[4000];
static int r_verdict[4000], r_n;

/* Event i of the rollup database: over 12 minutes, three subjects, two
 * hooks, three verdicts, rules 0, 1 and none. */
static struct dl_event rev(int64_t boot, uint64_t seq, int64_t pol, int i, int64_t ts)
{
	static const char *const comms[] = { "curl", "nginx", "resolver" };
	struct dl_event e = ev(boot, seq, ts, pol);
	memset(e.rec.comm, 0, sizeof(e.rec.comm));
	memcpy(e.rec.comm, comms[i % 3], strlen(comms[i % 3]));
	e.exe = i % 3 == 0 ? "/usr/bin/curl" : i % 3 == 1 ? "/usr/sbin/nginx" : "/usr/bin/resolver";
	e.rec.verdict = (__u8)((i / 3) % 3);
	e.rec.rule_idx = i % 5 == 0 ? DL_RULE_NONE : (__u32)(i % 2);
	e.rec.hook = i % 7 == 0 ? DL_HOOK_SOCKET_BIND : DL_HOOK_SOCKET_CONNECT;
	e.rec.u.net.port = (__u16)(440 + i % 4);
	r_ts[r_n] = ts;
	r_verdict[r_n++] = e.rec.verdict;
	return e;
}

/* Events 0..599 at t0 + i * 1.1 s (minutes 0..10) are committed and the store
 * closed, which rolls them all up; then the store is reopened and events
 * 600..899 at t0 + 300 s + (i - 600) * 1.5 s (minutes 5..12, overlapping
 * rolled-up minutes) are committed and stay after the mark. *stp stays open. */
static int build_rollup_db(struct dl_store **stp)
{
	struct dl_store *st;
	int64_t b, p, p2;
	struct dl_store_rule rules[] = {
		{ 0, "metadata", DL_FAMILY_NET, DL_ACTION_DENY, "deny connect 169.254.169.254" },
		{ 1, "web", DL_FAMILY_NET, DL_ACTION_ALLOW, "allow connect any port 443" },
	};
	int r = dl_store_open(db2, 0, &st);
	if (r < 0)
		return r;
	dl_store_boot(st, "rboot", 0, &b);
	dl_store_policy(st, "base", "r5ha", "policy text", rules, 2, &p);
	dl_store_policy(st, "base", "r5hb", "policy text 2", rules, 2, &p2);
	dl_store_policy_load(st, b, 1, p, 0);
	uint64_t seq = 1;
	for (int batch = 0; batch < 6 && r == 0; batch++) {
		dl_store_begin(st);
		for (int i = batch * 100; i < batch * 100 + 100; i++) {
			struct dl_event e = rev(b, seq++, i < 300 ? p : p2, i, r_t0 + i * 1100);
			dl_store_event(st, &e);
		}
		r = dl_store_commit(st);
	}
	dl_store_close(st);
	if (r < 0 || (r = dl_store_open(db2, 0, &st)) < 0)
		return r;
	dl_store_boot(st, "rboot", 0, &b);
	dl_store_begin(st);
	for (int i = 600; i < 900; i++) {
		struct dl_event e = rev(b, seq++, p2, i, r_t0 + 300000 + (i - 600) * 1500);
		dl_store_event(st, &e);
	}
	r = dl_store_commit(st);
	*stp = st;
	return r;
}

static char out_rollup[1 << 16];

static void print_commented(const char *t)
{
	for (const char *nl; *t; t = nl + 1) {
		if (!(nl = strchr(t, '\n')))
			nl = t + strlen(t) - 1;
		printf("# %.*s\n", (int)(nl - t), t);
	}
}

/* Run args with the rollups allowed and with DRYLOCK_QUERY_NO_ROLLUPS=1;
 * 1 if both succeed with the same non-empty output. */
static int same_both_ways(char *const *args)
{
	unsetenv("DRYLOCK_QUERY_NO_ROLLUPS");
	int r1 = runv(args);
	if (out_len >= sizeof(out_rollup))
		return 0;
	memcpy(out_rollup, out, out_len + 1);
	setenv("DRYLOCK_QUERY_NO_ROLLUPS", "1", 1);
	int r2 = runv(args);
	unsetenv("DRYLOCK_QUERY_NO_ROLLUPS");
	if (r1 != 0 || r2 != 0 || strcmp(out_rollup, out) != 0) {
		printf("# rollups (exit %d):\n", r1);
		print_commented(out_rollup);
		printf("# scan (exit %d):\n", r2);
		print_commented(out);
		return 0;
	}
	return out_len > 0;
}

/* Sum of "count": N in the JSON output. */
static long json_count_sum(void)
{
	long sum = 0;
	for (const char *p = out; (p = strstr(p, "\"count\": ")); p += 9)
		sum += strtol(p + 9, NULL, 10);
	return sum;
}

static long truth(int64_t since, int64_t until, bool denied_only)
{
	long n = 0;
	for (int i = 0; i < r_n; i++)
		n += r_ts[i] >= since && r_ts[i] < until && (!denied_only || r_verdict[i] != 0);
	return n;
}

static void test_rollups(void)
{
	struct dl_store *st = NULL;
	snprintf(db2, sizeof(db2), "%s/r.db", dir);
	r_t0 = ((int64_t)time(NULL) - 2 * 86400) / 60 * 60 * 1000;
	int r = build_rollup_db(&st);
	TAP_OK(r == 0, "rollup test database built (%s)", r ? dl_store_errmsg(st) : "ok");
	sqlite3 *sq = dl_store_sqlite(st);
	sqlite3_stmt *s;
	int64_t mark = 0, max_id = 0, rolled = 0;
	if (sqlite3_prepare_v2(sq, "SELECT (SELECT max(through_id) FROM rollup_marks),"
			       " (SELECT max(id) FROM events), (SELECT sum(n) FROM rollup_rules)",
			       -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW) {
		mark = sqlite3_column_int64(s, 0);
		max_id = sqlite3_column_int64(s, 1);
		rolled = sqlite3_column_int64(s, 2);
	}
	sqlite3_finalize(s);
	TAP_OK(rolled == 600 && max_id - mark == 300,
	       "600 events rolled up, 300 after the mark (%lld, %lld)", (long long)rolled,
	       (long long)(max_id - mark));

	char a_mid[32], a_mid_end[32], a_min[32], a_min_end[32], a_sec[32], a_late[32];
	/* mid-minute window: minute 2 + 30.5 s .. minute 9 + 15 s */
	snprintf(a_mid, sizeof(a_mid), "%lld", (long long)(r_t0 / 1000 + 150));
	snprintf(a_mid_end, sizeof(a_mid_end), "%lld", (long long)(r_t0 / 1000 + 555));
	snprintf(a_min, sizeof(a_min), "%lld", (long long)(r_t0 / 1000 + 180));
	snprintf(a_min_end, sizeof(a_min_end), "%lld", (long long)(r_t0 / 1000 + 480));
	snprintf(a_sec, sizeof(a_sec), "%lld", (long long)(r_t0 / 1000 + 333));
	snprintf(a_late, sizeof(a_late), "%lld", (long long)(r_t0 / 1000 + 690));
	char *const windows[][5] = {
		{ NULL },
		{ "--since", a_mid, "--until", a_mid_end, NULL },
		{ "--since", a_min, "--until", a_min_end, NULL },
		{ "--since", a_mid, NULL },
		{ "--until", a_mid_end, NULL },
		{ "--since", a_sec, "--until", a_late, NULL },
		{ "--since", a_mid, "--verdict", "deny", NULL },
		{ "--policy", "base", "--until", a_sec, NULL },
		{ "--rule", "web", "--since", a_mid, NULL },
		{ "--family", "net", "--verdict", "allow", NULL },
	};
	static const char *const cmds[][3] = {
		{ "summary" }, { "top" }, { "top", "--by", "rules" }, { "top", "--by", "objects" },
		{ "top", "--limit", "2" },
	};
	for (size_t w = 0; w < sizeof(windows) / sizeof(windows[0]); w++) {
		for (size_t k = 0; k < sizeof(cmds) / sizeof(cmds[0]); k++) {
			for (int json = 0; json < 2; json++) {
				char *args[16];
				int n = 0;
				args[n++] = "--db";
				args[n++] = db2;
				if (json)
					args[n++] = "--json";
				for (int i = 0; i < 3 && cmds[k][i]; i++)
					args[n++] = (char *)cmds[k][i];
				for (int i = 0; windows[w][i]; i++)
					args[n++] = windows[w][i];
				args[n] = NULL;
				TAP_OK(same_both_ways(args), "rollups = scan: %s%s %s %s %s %s %s",
				       json ? "--json " : "", cmds[k][0], cmds[k][1] ? cmds[k][2] : "",
				       windows[w][0] ? windows[w][0] : "(all)",
				       windows[w][0] && windows[w][1] ? windows[w][1] : "",
				       windows[w][0] && windows[w][1] && windows[w][2] ? windows[w][2] : "",
				       windows[w][0] && windows[w][1] && windows[w][2] && windows[w][3] ?
					       windows[w][3] : "");
			}
		}
	}
	/* Counts against the ground truth, rollup path. */
	int64_t mid = r_t0 + 150000, mid_end = r_t0 + 555000;
	TAP_OK(RUN("--db", db2, "--json", "summary") == 0 && json_count_sum() == 900,
	       "summary counts all 900 (%ld)", json_count_sum());
	TAP_OK(RUN("--db", db2, "--json", "summary", "--since", a_mid, "--until", a_mid_end) == 0 &&
		       json_count_sum() == truth(mid, mid_end, false),
	       "mid-minute window summary: %ld = %ld", json_count_sum(), truth(mid, mid_end, false));
	TAP_OK(RUN("--db", db2, "--json", "top", "--limit", "0", "--since", a_mid, "--until", a_mid_end) == 0 &&
		       json_count_sum() == truth(mid, mid_end, true),
	       "mid-minute window top: %ld = %ld", json_count_sum(), truth(mid, mid_end, true));

	/* The rollup path is really taken: skew the rollups, outputs differ. */
	sqlite3_exec(sq, "UPDATE rollup_rules SET n = n + 1000; UPDATE rollup_subjects SET n = n + 1000",
		     NULL, NULL, NULL);
	char *const sum_args[] = { "--db", db2, "summary", NULL };
	char *const top_args[] = { "--db", db2, "top", NULL };
	char *const comm_args[] = { "--db", db2, "summary", "--comm", "curl", NULL };
	TAP_OK(!same_both_ways(sum_args), "summary reads the rollups (skewed rollups show)");
	TAP_OK(!same_both_ways(top_args), "top reads the rollups (skewed rollups show)");
	TAP_OK(same_both_ways(comm_args), "--comm scans events (skewed rollups do not show)");
	sqlite3_exec(sq, "UPDATE rollup_rules SET n = n - 1000; UPDATE rollup_subjects SET n = n - 1000",
		     NULL, NULL, NULL);
	TAP_OK(same_both_ways(sum_args), "rollups restored");
	dl_store_close(st);
}

/* ---- output that cannot attack its reader --------------------------- */

/* One event whose strings are a spreadsheet formula (exe), a formula-like
 * cgroup, a comm starting with '-', and bidi/C1 controls, in its own
 * database; then CSV defuses the formulas, the table shows the controls as
 * escapes, and JSON carries the text exactly. */
static void test_hostile_output(void)
{
	char db3[340];
	struct dl_store *st;
	int64_t b, p;
	int r;

	snprintf(db3, sizeof(db3), "%s/hostile.db", dir);
	r = dl_store_open(db3, 0, &st);
	TAP_OK(r == 0, "hostile database opened");
	if (r)
		return;
	dl_store_boot(st, "hboot", 0, &b);
	dl_store_policy(st, "base", "5hb", "policy text", NULL, 0, &p);
	dl_store_begin(st);
	struct dl_event e = ev(b, 1, (int64_t)time(NULL) * 1000, p);
	memset(e.rec.comm, 0, sizeof(e.rec.comm));
	memcpy(e.rec.comm, "-2+3\xe2\x80\xae" "gpj.exe", 14);
	e.exe = "=cmd|' /C calc'!A0";
	e.cgroup_path = "@SUM(1+1)\xc2\x9b" "2J\xe2\x81\xa6x";
	dl_store_event(st, &e);
	e = ev(b, 2, (int64_t)time(NULL) * 1000, p);
	memset(e.rec.comm, 0, sizeof(e.rec.comm));
	memcpy(e.rec.comm, "\tx", 2);
	e.exe = "+1,\"2\"";
	e.cgroup_path = "\rcg";
	dl_store_event(st, &e);
	r = dl_store_commit(st);
	dl_store_close(st);
	TAP_OK(r == 0, "hostile events stored");

	r = RUN("--db", db3, "-o", "csv", "events", "--limit", "0");
	TAP_OK(r == 0 && strstr(out, ",\"'=cmd|' /C calc'!A0\",") && !strstr(out, ",=cmd"),
	       "csv: a cell starting with = gets a ' and quotes");
	TAP_OK(strstr(out, ",\"'@SUM(1+1)\xc2\x9b" "2J\xe2\x81\xa6x\",") != NULL, "csv: @ cell defused");
	TAP_OK(strstr(out, ",\"'-2+3\xe2\x80\xae" "gpj.exe\",") != NULL, "csv: - cell defused");
	TAP_OK(strstr(out, ",\"'\tx\",") && strstr(out, ",\"'\rcg\",") && strstr(out, ",\"'+1,\"\"2\"\"\","),
	       "csv: tab, CR and + cells defused, quotes doubled");
	TAP_OK(strstr(out, ",443,tcp,0,") != NULL, "csv: numbers are not prefixed");
	r = RUN("--db", db3, "export", "--format", "csv");
	TAP_OK(r == 0 && strstr(out, ",\"'=cmd|' /C calc'!A0\","), "export csv defuses formulas too");

	r = RUN("--db", db3, "events", "--limit", "0");
	TAP_OK(r == 0 && strstr(out, "-2+3\\u202egpj.exe") && strstr(out, "@SUM(1+1)\\u009b2J\\u2066x") &&
		       strstr(out, "\\tx") && strstr(out, "\\rcg"),
	       "table: bidi and C1 controls shown as \\uXXXX, tab and CR as \\t, \\r");
	TAP_OK(!strstr(out, "\xe2\x80\xae") && !strstr(out, "\xe2\x81\xa6") && !strstr(out, "\xc2\x9b") &&
		       !strchr(out, '\t') && !strchr(out, '\r'),
	       "table: no raw bidi, C1, tab or CR");
	r = RUN("--db", db3, "--json", "events", "--limit", "0");
	TAP_OK(r == 0 && jrows() == 2 && strstr(out, "\"-2+3\xe2\x80\xae" "gpj.exe\"") &&
		       strstr(out, "\"=cmd|' /C calc'!A0\"") && strstr(out, "\"\\tx\"") &&
		       strstr(out, "\"\\rcg\""),
	       "json: text exact (bidi raw, formulas unprefixed), controls as JSON escapes");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		printf("1..0 # SKIP no drylock-query path given\n");
		return 0;
	}
	bin = argv[1];
	if (tap_tmpdir(dir, sizeof(dir), "query"))
		return 1;
	snprintf(db, sizeof(db), "%s/q.db", dir);
	old_s = (time(NULL) - 10 * 86400) / 60 * 60;
	struct dl_store *st = NULL;
	int r = build_db(&st);
	TAP_OK(r == 0, "test database built (%s)", r ? dl_store_errmsg(st) : "ok");
	setenv("DRYLOCK_DB", db, 1);

	/* Basics. */
	TAP_OK(RUN("--help") == 0 && strstr(out, "Examples") && strstr(out, "--since"), "--help");
	TAP_OK(RUN("--version") == 0 && strstr(out, "drylock-query "), "--version");
	TAP_OK(RUN("summary") == 0 && strstr(out, "policy") && strstr(out, "would-deny") &&
		       strstr(out, "metadata"),
	       "summary table");
	TAP_OK(RUN("--json", "summary") == 0 && jrows() == 3, "summary json: 3 groups (%d)", jrows());
	TAP_OK(RUN("events") == 0 && count_lines() == 8, "events table: header + 7 (%d lines)",
	       count_lines());
	TAP_OK(RUN("events", "--limit", "2") == 0 && count_lines() == 4 && strstr(out, "resolver") &&
		       !strstr(out, "nginx  ") && strstr(out, "\nshowing the last 2 of 7 events "),
	       "--limit 2 gives the newest two, newest last, and says it left some out");
	TAP_OK(RUN("--json", "events", "--limit", "2") == 0 && jrows() == 2 &&
		       strstr(err, "showing the last 2 of 7 events") && !strstr(out, "showing"),
	       "--json events --limit 2: JSON exact, the note on stderr");
	TAP_OK(RUN("events", "--all") == 0 && count_lines() == 8 && !strstr(out, "showing"),
	       "events --all: every event, no note");
	TAP_OK(RUN("events", "--all", "--limit", "3") == 2, "--all with --limit: usage error");
	TAP_OK(RUN("-o", "json", "events", "--limit", "0") == 0 && jrows() == 7, "--limit 0 = all");

	/* Filters, each with a count in JSON. */
#define JCOUNT(n, ...) (RUN("-o", "json", "events", __VA_ARGS__) == 0 && jrows() == (n))
	TAP_OK(JCOUNT(1, "--verdict", "would-deny"), "--verdict would-deny");
	TAP_OK(JCOUNT(6, "--verdict", "allow"), "--verdict allow");
	TAP_OK(JCOUNT(5, "--comm", "nginx"), "--comm");
	TAP_OK(JCOUNT(1, "--exe", "/tmp/evil"), "--exe");
	TAP_OK(JCOUNT(6, "--cgroup", "/system.slice/nginx.service"),
	       "--cgroup matches itself and descendants, not nginx.service2 (%d)", jrows());
	TAP_OK(JCOUNT(6, "--cgroup", "/system.slice/nginx.service/"), "--cgroup trailing slash");
	TAP_OK(JCOUNT(1, "--cgroup", "/system.slice/nginx.service/worker"), "--cgroup leaf");
	TAP_OK(JCOUNT(7, "--cgroup", "/"), "--cgroup / is everything");
	TAP_OK(JCOUNT(5, "--dest", "10.0.0.0/8"), "--dest IPv4 prefix");
	TAP_OK(JCOUNT(5, "--dest", "10.0.0.5"), "--dest IPv4 host");
	TAP_OK(JCOUNT(0, "--dest", "10.0.0.4/32"), "--dest other host");
	TAP_OK(JCOUNT(1, "--dest", "169.254.0.0/16"), "--dest link-local");
	TAP_OK(JCOUNT(1, "--dest", "2001:db8::/32"), "--dest IPv6 prefix");
	TAP_OK(JCOUNT(6, "--dest", "::ffff:0.0.0.0/96"), "--dest v4-mapped /96 = all IPv4");
	TAP_OK(JCOUNT(0, "--dest", "2001:db9::/32"), "--dest IPv6 other prefix");
	TAP_OK(JCOUNT(1, "--port", "53"), "--port");
	TAP_OK(JCOUNT(5, "--dest", "10.0.0.0/8", "--port", "443"), "--dest + --port");
	TAP_OK(JCOUNT(7, "--policy", "base"), "--policy");
	TAP_OK(JCOUNT(0, "--policy", "other"), "--policy unknown");
	TAP_OK(JCOUNT(5, "--rule", "web"), "--rule");
	TAP_OK(JCOUNT(7, "--family", "net"), "--family");
	TAP_OK(JCOUNT(2, "--since", "2d"), "--since 2d (relative)");
	TAP_OK(JCOUNT(1, "--since", "30m"), "--since 30m");
	TAP_OK(JCOUNT(5, "--until", "2d"), "--until 2d");
	char since[64], until[64];
	time_t old = old_s;
	strftime(since, sizeof(since), "%Y-%m-%dT%H:%M:%S", gmtime(&(time_t){ old - 3600 }));
	strftime(until, sizeof(until), "%Y-%m-%dT%H:%M:%S", gmtime(&(time_t){ old + 3600 }));
	TAP_OK(JCOUNT(5, "--since", since, "--until", until), "--since/--until ISO UTC (%s)", since);
	snprintf(since, sizeof(since), "%lld", (long long)old - 86400);
	snprintf(until, sizeof(until), "%lld", (long long)old + 86400);
	TAP_OK(JCOUNT(5, "--since", since, "--until", until), "--since/--until unix seconds");
	TAP_OK(JCOUNT(0, "--since", "2001-01-01", "--until", "2001-01-02"), "empty window");
	/* Inside one minute: the minutes table must not cut off the minute the
	 * window starts or ends in, and the exact ts test must. */
	snprintf(since, sizeof(since), "%lld", (long long)old);
	TAP_OK(JCOUNT(7, "--since", since), "--since at the start of the events' minute");
	snprintf(since, sizeof(since), "%lld", (long long)old + 3);
	TAP_OK(JCOUNT(5, "--since", since), "--since mid-minute is exact");
	TAP_OK(JCOUNT(2, "--until", since), "--until mid-minute is exact (exclusive)");

	/* Injection-looking values are data, not SQL. */
	TAP_OK(JCOUNT(0, "--comm", "x' OR 1=1 --"), "--comm \"x' OR 1=1 --\" matches nothing");
	TAP_OK(JCOUNT(0, "--policy", "x' OR 1=1 --"), "--policy injection matches nothing");
	TAP_OK(JCOUNT(0, "--cgroup", "x' OR 1=1 --"), "--cgroup injection matches nothing");
	TAP_OK(JCOUNT(0, "--rule", "\") OR 1=1 --"), "--rule injection matches nothing");
	TAP_OK(JCOUNT(1, "--comm", (char *)hostile), "--comm with the hostile bytes matches exactly");

	/* The hostile comm in every format. */
	TAP_OK(RUN("-o", "json", "events", "--verdict", "would-deny") == 0 && jrows() == 1,
	       "json well formed with hostile comm");
	TAP_OK(strstr(out, "\"comm\": \"a\\\"b\\n'c=d\\u001b[2J\\u00ff,;\""),
	       "json escapes quote, newline, ESC, invalid byte");
	TAP_OK(RUN("-o", "csv", "events", "--verdict", "would-deny") == 0 &&
		       strstr(out, ",\"a\"\"b\n'c=d\x1b[2J\xff,;\","),
	       "csv quotes the field and doubles the quote (RFC 4180)");
	TAP_OK(out_len > 2 && !memcmp(out + out_len - 2, "\r\n", 2), "csv records end in CRLF");
	TAP_OK(RUN("events", "--verdict", "would-deny") == 0 && count_lines() == 2 &&
		       strstr(out, "a\"b\\n'c=d\\x1b[2J\\xff,;") && !strchr(out, '\x1b') && !strchr(out, '\xff'),
	       "table shows control bytes and invalid UTF-8 as \\n, \\x1b, \\xff");
	TAP_OK(RUN("export") == 0 && count_lines() == 7 && strstr(out, "\\u001b"),
	       "export jsonl: one escaped object per line");
	TAP_OK(RUN("export", "--format", "csv") == 0 && strncmp(out, "boot_id,seq,time,", 17) == 0,
	       "export csv header");

	/* The CSV header is exactly events_v's columns. */
	RUN("-o", "csv", "events", "--limit", "1");
	char header[1024] = "";
	{
		sqlite3 *h;
		sqlite3_stmt *s;
		sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL);
		sqlite3_prepare_v2(h, "SELECT * FROM events_v", -1, &s, NULL);
		for (int i = 0; i < sqlite3_column_count(s); i++) {
			strcat(header, i ? "," : "");
			strcat(header, sqlite3_column_name(s, i));
		}
		strcat(header, "\r\n");
		sqlite3_finalize(s);
		sqlite3_close(h);
	}
	TAP_OK(strncmp(out, header, strlen(header)) == 0, "events columns = events_v columns");

	/* top and ready. */
	TAP_OK(RUN("--json", "top") == 0 && jrows() == 1 && strstr(out, "/tmp/evil"),
	       "top subjects counts would-deny only");
	TAP_OK(RUN("--json", "top", "--by", "objects", "--verdict", "allow") == 0 && jrows() == 2,
	       "top objects with --verdict allow");
	TAP_OK(RUN("--json", "top", "--by", "rules") == 0 && strstr(out, "\"metadata\""),
	       "top rules");
	TAP_OK(RUN("ready") == 1 && strstr(out, "not ready") && strstr(out, "metadata"),
	       "ready exits 1 and lists would-deny");
	TAP_OK(RUN("ready", "--comm", "nginx") == 0 && strstr(out, "ready"), "ready exits 0 when clean");
	TAP_OK(RUN("ready", "--until", "2d") == 0, "ready window before the would-deny");

	/* A reader while the writer holds an open write transaction. */
	dl_store_begin(st);
	struct dl_event e = ev(1, 8, (int64_t)time(NULL) * 1000, 1);
	dl_store_event(st, &e);
	r = RUN("-o", "json", "events", "--limit", "0");
	TAP_OK(r == 0 && jrows() == 7, "read-only query during a write transaction (exit %d, %s)", r,
	       err);
	dl_store_commit(st);
	TAP_OK(JCOUNT(8, "--limit", "0"), "committed event visible afterwards");
	dl_store_close(st);

	test_rollups();
	test_hostile_output();

	/* Errors. */
	char missing[400];
	snprintf(missing, sizeof(missing), "%s/nope.db", dir);
	r = RUN("--db", missing, "summary");
	TAP_OK(r == 1 && strstr(err, "drylock-query: ") && strstr(err, "does not exist") &&
		       strstr(err, missing),
	       "missing db: exit 1, %s", err);
	TAP_OK(access(missing, F_OK) < 0, "missing db not created");
	TAP_OK(RUN("bogus") == 2 && strstr(err, "unknown command"), "unknown command: exit 2");
	TAP_OK(RUN("events", "--verdict", "maybe") == 2, "bad verdict: exit 2");
	TAP_OK(RUN("events", "--dest", "10.0.0.0/33") == 2, "bad prefix: exit 2");
	TAP_OK(RUN("events", "--since", "yesterday") == 2, "bad time: exit 2");
	TAP_OK(RUN("events", "--port", "70000") == 2, "bad port: exit 2");
	TAP_OK(RUN("-o", "xml", "events") == 2, "bad format: exit 2");

	/* Numbers cannot wrap: every numeric option and filter is checked
	 * whole, in range, and refused with exit 2 naming option and value. */
	{
		static const struct {
			const char *cmd, *opt, *val;
		} bad[] = {
			{ "events", "--port", "4294967318" }, /* was port 22 */
			{ "events", "--port", "65536" },
			{ "events", "--port", "-1" },
			{ "events", "--port", "+22" },
			{ "events", "--port", " 22" },
			{ "events", "--port", "22x" },
			{ "events", "--port", "0x16" },
			{ "events", "--dest", "1.2.3.4/-0" },
			{ "events", "--dest", "1.2.3.4/ 8" },
			{ "events", "--dest", "1.2.3.4/+8" },
			{ "events", "--dest", "1.2.3.4/" },
			{ "events", "--dest", "1.2.3.4/4294967304" },
			{ "events", "--dest", "2001:db8::/129" },
			{ "events", "--dest", "2001:db8::/0x20" },
			{ "events", "--since", "9223372036854775807" },
			{ "events", "--since", "253402300800" },
			{ "events", "--until", "99999999999999999999" },
			{ "timeline", "--since", "106751991166d" },
			{ "events", "--since", "99999999999999w" },
			{ "events", "--since", "18446744074s" },
			{ "events", "--since", "-5d" },
			{ "events", "--since", "0d" },
			{ "events", "--limit", "10x" },
			{ "events", "--limit", "-1" },
			{ "events", "--limit", "9223372036854775808" },
			{ "events", "--limit", "99999999999999999999" },
			{ "suggest", "--max-ports", "0" },
			{ "suggest", "--max-ports", "65537" },
			{ "suggest", "--max-ports", "4294967304" },
		};
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			r = RUN((char *)bad[i].cmd, (char *)bad[i].opt, (char *)bad[i].val);
			TAP_OK(r == 2 && strstr(err, bad[i].opt) && strstr(err, bad[i].val) && !out[0],
			       "%s %s '%s': exit 2 naming both (got %d: %.200s)", bad[i].cmd, bad[i].opt,
			       bad[i].val, r, err);
		}
	}
	/* (8 events by now: the one added during the write transaction is
	 * recent, to 10.0.0.5 port 443.) */
	TAP_OK(JCOUNT(3, "--since", "1w", "--limit", "0"), "--since 1w (weeks, as --max-age takes)");
	TAP_OK(JCOUNT(8, "--since", "100w", "--limit", "0"), "--since 100w");
	TAP_OK(JCOUNT(8, "--since", "0", "--limit", "0"), "--since 0 (unix seconds)");
	TAP_OK(JCOUNT(8, "--since", "0000", "--limit", "0"), "--since 0000 (decimal, leading zeros)");
	TAP_OK(JCOUNT(1, "--port", "053"), "--port 053 is decimal 53");
	TAP_OK(JCOUNT(8, "--dest", "::/0", "--limit", "0"), "--dest ::/0");
	TAP_OK(JCOUNT(6, "--dest", "10.0.0.5/032", "--limit", "0"), "--dest /032 is /32");
	TAP_OK(runv((char *const[]){ NULL }) == 2, "no command: exit 2");
	setenv("DRYLOCK_DB", missing, 1);
	TAP_OK(RUN("summary") == 1, "DRYLOCK_DB is used");
	TAP_OK(RUN("--db", db, "summary") == 0, "--db overrides DRYLOCK_DB");

	tap_tmpdir_remove(dir);
	return tap_done();
}
