/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Host tests of store/store.c against real SQLite files in a temp dir:
 * schema, idempotence, the events_v interface, interning, transactions,
 * read-only opens, schema versions, error messages, and a size figure.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sqlite3.h>

#include "store/store.h"
#include "query/qdb.h"
#include "tap.h"

static char dir[256];

static void path_in(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/%s", dir, name);
}

/* First column of the first row of a query on a separate raw connection, as
 * text ("" for NULL, "ERR" on error). */
static const char *q1(const char *db, const char *sql)
{
	static char out[512];
	sqlite3 *h;
	sqlite3_stmt *s;
	snprintf(out, sizeof(out), "ERR");
	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		goto done;
	if (sqlite3_prepare_v2(h, sql, -1, &s, NULL) != SQLITE_OK)
		goto done;
	if (sqlite3_step(s) == SQLITE_ROW)
		snprintf(out, sizeof(out), "%s",
			 sqlite3_column_text(s, 0) ? (const char *)sqlite3_column_text(s, 0) : "");
	else
		out[0] = 0;
	sqlite3_finalize(s);
done:
	sqlite3_close(h);
	return out;
}

static long long q1i(const char *db, const char *sql)
{
	return atoll(q1(db, sql));
}

static void rawexec(const char *db, const char *sql)
{
	sqlite3 *h;
	sqlite3_open(db, &h);
	sqlite3_exec(h, sql, NULL, NULL, NULL);
	sqlite3_close(h);
}

static void v4(struct dl_record *r, const char *a)
{
	memset(r->u.net.addr, 0, 16);
	r->u.net.addr[10] = r->u.net.addr[11] = 0xff;
	inet_pton(AF_INET, a, r->u.net.addr + 12);
	r->u.net.sa_family = AF_INET;
}

static void v6(struct dl_record *r, const char *a)
{
	inet_pton(AF_INET6, a, r->u.net.addr);
	r->u.net.sa_family = AF_INET6;
}

static struct dl_event mkev(int64_t boot, uint64_t seq, int64_t ts_ns, int64_t pol)
{
	struct dl_event e = { 0 };
	e.rec.version = DL_ABI_VERSION;
	e.rec.size = sizeof(e.rec);
	e.rec.family = DL_FAMILY_NET;
	e.rec.hook = DL_HOOK_SOCKET_CONNECT;
	e.rec.seq = seq;
	e.rec.cgroup_id = 4242;
	e.rec.mnt_ns = 4026531841u;
	e.rec.policy_gen = 1;
	e.rec.rule_idx = 0;
	e.rec.tgid = 100;
	e.rec.pid = 100;
	e.rec.ppid = 1;
	e.rec.uid = e.rec.euid = e.rec.gid = 1000;
	e.rec.loginuid = 4294967295u;
	e.rec.sessionid = 4294967295u;
	e.rec.verdict = DL_VERDICT_WOULD_DENY;
	memcpy(e.rec.comm, "curl", 4);
	v4(&e.rec, "10.1.2.3");
	e.rec.u.net.port = 443;
	e.rec.u.net.protocol = IPPROTO_TCP;
	e.rec.u.net.sock_type = 1;
	e.ts_ns = ts_ns;
	e.boot_key = boot;
	e.policy_key = pol;
	e.exe = "/usr/bin/curl";
	e.cgroup_path = "/user.slice/user-1000.slice/session-1.scope";
	return e;
}


static int64_t t0_ns(void)
{
	struct tm tm = { .tm_year = 126, .tm_mon = 10, .tm_mday = 22, .tm_hour = 5, .tm_min = 41,
			 .tm_sec = 7 };
	return (int64_t)timegm(&tm) * 1000000000 + 123456789;
}

static void test_basic(void)
{
	char db[300];
	path_in(db, sizeof(db), "a.db");
	struct dl_store *st;
	int r = dl_store_open(db, 0, &st);
	TAP_OK(r == 0, "open creates %s (%s)", db, r ? dl_store_errmsg(NULL) : "");
	if (r)
		return;
	TAP_OK(q1i(db, "SELECT value FROM meta WHERE key='schema_version'") == 3, "schema_version 3");
	TAP_OK(!strcmp(q1(db, "PRAGMA journal_mode"), "wal"), "WAL journal");
	TAP_OK(q1i(db, "SELECT count(*) FROM sqlite_master WHERE name IN ('events','strings',"
		       "'subjects','objects','boots','policies','rules','loads','modes','counters',"
		       "'minutes','meta','events_v','counters_v','would_deny_v')") == 15,
	       "tables and views exist");
	TAP_OK(!strcmp(q1(db, "SELECT name FROM hook_names WHERE id=2"), "socket_bind"),
	       "hook names filled from the X-macros");
	TAP_OK(q1i(db, "PRAGMA auto_vacuum") == 2, "auto_vacuum incremental");

	int64_t b1, b1b, b2;
	TAP_OK(dl_store_boot(st, "boot-a", 1000, &b1) == 0 && b1 > 0, "boot created");
	TAP_OK(dl_store_boot(st, "boot-a", 2000, &b1b) == 0 && b1b == b1, "boot idempotent");
	TAP_OK(dl_store_boot(st, "boot-b", 3000, &b2) == 0 && b2 != b1, "second boot, new key");

	struct dl_store_rule rules[] = {
		{ 0, "no-metadata", DL_FAMILY_NET, DL_ACTION_DENY, "deny connect 169.254.169.254/32" },
		{ 1, "web", DL_FAMILY_NET, DL_ACTION_ALLOW, "allow connect any port 443" },
	};
	int64_t p1, p1b, p2, pg;
	TAP_OK(dl_store_policy(st, "base", "aa11", "text v1", rules, 2, &p1) == 0, "policy stored");
	TAP_OK(dl_store_policy(st, "base", "aa11", "text v1", rules, 2, &p1b) == 0 && p1b == p1,
	       "policy idempotent by sha256");
	TAP_OK(dl_store_policy(st, "base", "bb22", "text v2", rules, 1, &p2) == 0 && p2 != p1,
	       "new version, new key");
	TAP_OK(q1i(db, "SELECT count(*) FROM rules") == 3, "rules stored once per version");
	TAP_OK(dl_store_policy_load(st, b1, 1, p1, t0_ns()) == 0, "policy load");
	TAP_OK(dl_store_policy_load(st, b1, 1, p1, t0_ns() + 5) == 0, "same load again");
	TAP_OK(q1i(db, "SELECT count(*) FROM loads") == 1, "repeated load is one row");
	TAP_OK(dl_store_policy_for_gen(st, b1, 1, &pg) == 0 && pg == p1, "policy for gen");
	TAP_OK(dl_store_policy_for_gen(st, b1, 7, &pg) == -ENOENT, "unknown gen -> -ENOENT");
	TAP_OK(q1i(db, "SELECT first_loaded FROM policies WHERE sha256='aa11'") == t0_ns() / 1000000,
	       "first_loaded set from load");
	TAP_OK(dl_store_mode(st, b1, DL_FAMILY_NET, DL_MODE_PERMISSIVE, t0_ns()) == 0, "mode");
	TAP_OK(dl_store_counter(st, b1, DL_FAMILY_NET, "kernel_drops", 7, t0_ns()) == 0, "counter");
	TAP_OK(!strcmp(q1(db, "SELECT time||' '||boot_id||' '||family||' '||kind||' '||value FROM counters_v"),
		       "2026-11-22T05:41:07.123Z boot-a net kernel_drops 7"),
	       "counters_v: %s", q1(db, "SELECT time||' '||boot_id||' '||family||' '||kind||' '||value FROM counters_v"));
	TAP_OK(!strcmp(q1(db, "SELECT mode FROM modes_v"), "permissive"), "modes_v");

	/* Events. */
	TAP_OK(dl_store_begin(st) == 0, "begin");
	struct dl_event e1 = mkev(b1, 1, t0_ns(), p1);
	struct dl_event e2 = mkev(b1, 2, t0_ns() + 1000000, p1);
	v6(&e2.rec, "2001:db8::1");
	e2.rec.pid = 101;
	e2.rec.rule_idx = DL_RULE_NONE;
	e2.rec.verdict = DL_VERDICT_ALLOW;
	e2.rec.u.net.protocol = IPPROTO_UDP;
	e2.rec.u.net.port = 53;
	r = dl_store_event(st, &e1);
	TAP_OK(r == 0, "event 1 (%s)", dl_store_errmsg(st));
	TAP_OK(dl_store_event(st, &e2) == 0, "event 2");
	TAP_OK(dl_store_commit(st) == 0, "commit");
	TAP_OK(q1i(db, "SELECT count(*) FROM events") == 2, "2 events");
	/* Replay after a "crash": same (boot, seq) again. */
	TAP_OK(dl_store_begin(st) == 0 && dl_store_event(st, &e1) == 0 && dl_store_event(st, &e2) == 0 &&
		       dl_store_commit(st) == 0,
	       "re-insert succeeds");
	TAP_OK(q1i(db, "SELECT count(*) FROM events") == 2, "re-insert is a no-op (count unchanged)");
	TAP_OK(q1i(db, "SELECT sum(n) FROM minutes") == 2, "minutes count only inserted rows");
	TAP_OK(q1i(db, "SELECT count(*) FROM strings WHERE s='/usr/bin/curl'") == 1,
	       "same exe twice -> one strings row");
	TAP_OK(q1i(db, "SELECT count(*) FROM subjects") == 1, "same subject -> one subjects row");

	/* events_v: the column list is an interface. */
	sqlite3 *h;
	sqlite3_stmt *s;
	sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL);
	sqlite3_prepare_v2(h, "SELECT * FROM events_v ORDER BY seq", -1, &s, NULL);
	static const char *cols[] = { "boot_id", "seq", "time", "ts_ns", "family", "hook", "verdict",
				      "enforced", "policy", "policy_sha256", "rule", "tgid", "pid",
				      "ppid", "uid", "euid", "gid", "loginuid", "sessionid",
				      "cgroup_id", "cgroup", "mnt_ns", "comm", "exe", "addr", "port",
				      "proto", "flags", "object" };
	int ok = sqlite3_column_count(s) == (int)(sizeof(cols) / sizeof(cols[0]));
	for (int i = 0; ok && i < sqlite3_column_count(s); i++)
		ok = !strcmp(sqlite3_column_name(s, i), cols[i]);
	TAP_OK(ok, "events_v has exactly the documented columns");
#define COL(i) ((const char *)sqlite3_column_text(s, i) ?: "NULL")
	TAP_OK(sqlite3_step(s) == SQLITE_ROW, "events_v row 1");
	TAP_OK(!strcmp(COL(0), "boot-a") && sqlite3_column_int64(s, 1) == 1, "boot_id, seq");
	TAP_OK(!strcmp(COL(2), "2026-11-22T05:41:07.123Z"), "time ISO-8601 ms: %s", COL(2));
	TAP_OK(sqlite3_column_int64(s, 3) == t0_ns() / 1000000 * 1000000, "ts_ns (ms precision)");
	TAP_OK(!strcmp(COL(4), "net") && !strcmp(COL(5), "socket_connect") &&
		       !strcmp(COL(6), "would-deny") && sqlite3_column_int(s, 7) == 0,
	       "family, hook, verdict, enforced");
	TAP_OK(!strcmp(COL(8), "base") && !strcmp(COL(9), "aa11") && !strcmp(COL(10), "no-metadata"),
	       "policy, sha256, rule");
	TAP_OK(sqlite3_column_int(s, 11) == 100 && sqlite3_column_int(s, 12) == 100 &&
		       sqlite3_column_int(s, 13) == 1,
	       "tgid, pid, ppid");
	TAP_OK(sqlite3_column_int64(s, 17) == 4294967295LL && sqlite3_column_int64(s, 19) == 4242 &&
		       sqlite3_column_int64(s, 21) == 4026531841LL,
	       "loginuid unset, cgroup_id, mnt_ns");
	TAP_OK(!strcmp(COL(20), "/user.slice/user-1000.slice/session-1.scope") &&
		       !strcmp(COL(22), "curl") && !strcmp(COL(23), "/usr/bin/curl"),
	       "cgroup, comm, exe");
	TAP_OK(!strcmp(COL(24), "10.1.2.3"), "v4-mapped address as dotted quad: %s", COL(24));
	TAP_OK(sqlite3_column_int(s, 25) == 443 && !strcmp(COL(26), "tcp"), "port, proto");
	TAP_OK(sqlite3_column_int(s, 27) == 0 && !strcmp(COL(28), "10.1.2.3:443/tcp"),
	       "flags 0; object from the net family's view fragment: %s", COL(28));
	TAP_OK(sqlite3_step(s) == SQLITE_ROW, "events_v row 2");
	TAP_OK(!strcmp(COL(24), "2001:db8::1"), "IPv6 text: %s", COL(24));
	TAP_OK(!strcmp(COL(26), "udp") && sqlite3_column_int(s, 25) == 53, "udp/53");
	TAP_OK(!strcmp(COL(28), "[2001:db8::1]:53/udp"), "IPv6 object: %s", COL(28));
	TAP_OK(sqlite3_column_int(s, 12) == 101 && sqlite3_column_int(s, 11) == 100, "pid != tgid kept");
	TAP_OK(sqlite3_column_type(s, 10) == SQLITE_NULL && !strcmp(COL(6), "allow"),
	       "no rule -> NULL, allow");
	TAP_OK(!strcmp(COL(2), "2026-11-22T05:41:07.124Z"), "time row 2: %s", COL(2));
	sqlite3_finalize(s);
	sqlite3_close(h);
	TAP_OK(!strcmp(q1(db, "SELECT rule||' '||comm||' '||addr||' '||port||' '||count||' '||first_seen FROM would_deny_v"),
		       "no-metadata curl 10.1.2.3 443 1 2026-11-22T05:41:07.123Z"),
	       "would_deny_v: %s", q1(db, "SELECT rule||' '||comm||' '||addr||' '||port||' '||count||' '||first_seen FROM would_deny_v"));

	/* Rollback: events and the strings interned inside are gone, and the
	 * cache does not hand out their stale ids afterwards. */
	struct dl_event e3 = mkev(b1, 3, t0_ns() + 2000000, p1);
	e3.exe = "/opt/rolled/back";
	TAP_OK(dl_store_begin(st) == 0 && dl_store_event(st, &e3) == 0, "event in txn");
	TAP_OK(dl_store_rollback(st) == 0, "rollback");
	TAP_OK(q1i(db, "SELECT count(*) FROM events") == 2 &&
		       q1i(db, "SELECT count(*) FROM strings WHERE s='/opt/rolled/back'") == 0,
	       "rollback dropped the event and its string");
	TAP_OK(dl_store_begin(st) == 0 && dl_store_event(st, &e3) == 0 && dl_store_commit(st) == 0,
	       "same event after rollback");
	TAP_OK(!strcmp(q1(db, "SELECT exe FROM events_v WHERE seq=3"), "/opt/rolled/back"),
	       "after rollback the exe resolves (no stale cached id)");

	/* Out-of-range keys are refused, not wrapped. */
	struct dl_event bad = mkev(b1, UINT64_C(1) << 40, t0_ns(), p1);
	TAP_OK(dl_store_event(st, &bad) == -ERANGE, "seq >= 2^40 refused");
	TAP_OK(strncmp(dl_store_errmsg(st), "store: ", 7) == 0, "errmsg prefixed: %s",
	       dl_store_errmsg(st));

	/* Read-only while the writer is open. */
	struct dl_store *ro;
	r = dl_store_open(db, DL_STORE_RDONLY, &ro);
	TAP_OK(r == 0, "read-only open while writer is open (%s)", r ? dl_store_errmsg(NULL) : "");
	if (r == 0) {
		struct dl_event e4 = mkev(b1, 4, t0_ns(), p1);
		r = dl_store_event(ro, &e4);
		TAP_OK(r < 0, "read-only store cannot write (%d: %s)", r, dl_store_errmsg(ro));
		TAP_OK(sqlite3_exec(dl_store_sqlite(ro), "DELETE FROM events", NULL, NULL, NULL) ==
			       SQLITE_READONLY,
		       "read-only connection refuses raw writes");
		dl_store_close(ro);
	}
	TAP_OK(q1i(db, "SELECT count(*) FROM events") == 3, "nothing written by the read-only store");
	dl_store_close(st);

	/* Reopen an existing v1 database: the migration path with nothing to
	 * do, and schema.sql repairs what is missing (here a dropped view). */
	rawexec(db, "DROP VIEW would_deny_v");
	r = dl_store_open(db, 0, &st);
	TAP_OK(r == 0, "existing v1 database opens for writing");
	TAP_OK(q1i(db, "SELECT count(*) FROM sqlite_master WHERE name='would_deny_v'") == 1,
	       "reopen recreates views");
	TAP_OK(q1i(db, "SELECT count(*) FROM events") == 3, "data kept across reopen");
	dl_store_close(st);

	/* A newer schema is refused by both kinds of open. */
	rawexec(db, "UPDATE meta SET value=99 WHERE key='schema_version'");
	r = dl_store_open(db, 0, &st);
	TAP_OK(r < 0 && strstr(dl_store_errmsg(NULL), "newer") && strstr(dl_store_errmsg(NULL), db),
	       "newer schema refused: %s", dl_store_errmsg(NULL));
	r = dl_store_open(db, DL_STORE_RDONLY, &st);
	TAP_OK(r < 0 && strstr(dl_store_errmsg(NULL), "newer"), "newer schema refused read-only");
	TAP_OK(q1i(db, "SELECT value FROM meta WHERE key='schema_version'") == 99,
	       "refused open wrote nothing");
}

static void test_errors(void)
{
	char db[300];
	struct dl_store *st = (void *)1;
	path_in(db, sizeof(db), "no/such/dir/x.db");
	int r = dl_store_open(db, 0, &st);
	TAP_OK(r == -ENOENT && st == NULL, "missing directory -> -ENOENT");
	TAP_OK(strstr(dl_store_errmsg(NULL), db) && strstr(dl_store_errmsg(NULL), "directory"),
	       "message names the path: %s", dl_store_errmsg(NULL));

	path_in(db, sizeof(db), "missing.db");
	r = dl_store_open(db, DL_STORE_RDONLY, &st);
	char want[400];
	snprintf(want, sizeof(want), "store: database %s does not exist", db);
	TAP_OK(r == -ENOENT && !strcmp(dl_store_errmsg(NULL), want), "read-only missing: %s",
	       dl_store_errmsg(NULL));
	TAP_OK(access(db, F_OK) < 0, "read-only open did not create the file");

	path_in(db, sizeof(db), "garbage.db");
	FILE *f = fopen(db, "w");
	fputs("this is not a database, just text long enough to look like a header.....\n", f);
	for (int i = 0; i < 100; i++)
		fputs("garbage garbage garbage garbage garbage\n", f);
	fclose(f);
	r = dl_store_open(db, 0, &st);
	TAP_OK(r < 0 && strstr(dl_store_errmsg(NULL), db), "garbage file refused: %s",
	       dl_store_errmsg(NULL));

	path_in(db, sizeof(db), "other.db");
	rawexec(db, "CREATE TABLE foo(x)");
	r = dl_store_open(db, 0, &st);
	TAP_OK(r < 0 && strstr(dl_store_errmsg(NULL), "not a drylock database"),
	       "foreign database refused: %s", dl_store_errmsg(NULL));
}

static uint32_t rnd_state = 12345;
static uint32_t RND(void)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return rnd_state >> 8;
}

/* 100k events shaped like a real permissive run: a few dozen services with
 * the same subject over and over, popular destinations, a long tail. */
static void test_size(void)
{
	char db[300];
	path_in(db, sizeof(db), "size.db");
	struct dl_store *st;
	if (dl_store_open(db, 0, &st) < 0) {
		TAP_OK(0, "open size db: %s", dl_store_errmsg(NULL));
		return;
	}
	int64_t b, p;
	dl_store_boot(st, "size-boot", 0, &b);
	dl_store_policy(st, "p", "cc33", "t", NULL, 0, &p);
	static const char *exes[] = { "/usr/bin/curl", "/usr/lib/systemd/systemd-resolved",
				      "/usr/sbin/sshd", "/usr/bin/python3.11", "/usr/bin/git",
				      "/usr/lib/apt/methods/http", "/usr/sbin/chronyd",
				      "/usr/bin/node", "/usr/bin/java", "/usr/sbin/nginx" };
	static const char *cgs[] = { "/system.slice/nginx.service", "/system.slice/ssh.service",
				     "/user.slice/user-1000.slice/session-3.scope",
				     "/system.slice/systemd-resolved.service",
				     "/system.slice/docker-4f1e2a.scope", "/system.slice/cron.service" };
	const int N = 100000;
	struct timespec a, z;
	clock_gettime(CLOCK_MONOTONIC, &a);
	int64_t ts = t0_ns();
	int r = 0;
	dl_store_begin(st);
	for (int i = 1; i <= N && r == 0; i++) {
		int svc = (int)(RND() % 40);
		struct dl_event e = mkev(b, (uint64_t)i, ts, p);
		ts += (int64_t)(RND() % 2000) * 1000000; /* ~1 event/s on average */
		e.exe = exes[svc % 10];
		e.cgroup_path = cgs[svc % 6];
		memset(e.rec.comm, 0, sizeof(e.rec.comm));
		snprintf(e.rec.comm, sizeof(e.rec.comm), "%.15s", strrchr(e.exe, '/') + 1);
		e.rec.uid = e.rec.euid = e.rec.gid = svc < 20 ? 0 : 1000;
		e.rec.cgroup_id = 5000 + svc % 6;
		e.rec.tgid = 1000 + (uint32_t)(RND() % 30000);
		e.rec.pid = (RND() % 4) ? e.rec.tgid : e.rec.tgid + 1 + RND() % 8;
		e.rec.ppid = 1 + RND() % 3000;
		e.rec.verdict = (RND() % 10) ? DL_VERDICT_ALLOW : DL_VERDICT_WOULD_DENY;
		e.rec.rule_idx = RND() % 20;
		char ip[32];
		if (RND() % 10)
			snprintf(ip, sizeof(ip), "10.0.%u.%u", RND() % 4, RND() % 50); /* popular */
		else
			snprintf(ip, sizeof(ip), "%u.%u.%u.%u", RND() % 223 + 1, RND() % 256,
				 RND() % 256, RND() % 256); /* long tail */
		v4(&e.rec, ip);
		e.rec.u.net.port = (RND() % 4) ? 443 : 80 + RND() % 10;
		r = dl_store_event(st, &e);
		if (i % 10000 == 0)
			r = r ? r : dl_store_commit(st), r = r ? r : dl_store_begin(st);
	}
	r = r ? r : dl_store_commit(st);
	clock_gettime(CLOCK_MONOTONIC, &z);
	TAP_OK(r == 0, "100k realistic events stored (%s)", r ? dl_store_errmsg(st) : "ok");
	double secs = (double)(z.tv_sec - a.tv_sec) + (double)(z.tv_nsec - a.tv_nsec) / 1e9;
	sqlite3_exec(dl_store_sqlite(st), "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
	dl_store_close(st);
	struct stat sb;
	stat(db, &sb);
	TAP_OK(q1i(db, "SELECT count(*) FROM events") == N, "all %d events present", N);
	TAP_OK(q1i(db, "SELECT sum(n) FROM minutes") == N, "minutes table counts them all");
	printf("# bytes/event: %.1f (file %lld bytes, %lld subjects, %lld objects, %lld strings)\n",
	       (double)sb.st_size / N, (long long)sb.st_size, q1i(db, "SELECT count(*) FROM subjects"),
	       q1i(db, "SELECT count(*) FROM objects"), q1i(db, "SELECT count(*) FROM strings"));
	printf("# ingest: %.0f events/s through dl_store_event (generator included, not asserted)\n",
	       N / secs);
}

/* Issue 7 section 8: the multi-row INSERT was made by cutting the length of
 * a literal 12-column VALUES clause off the one-row statement's text, so a
 * change to the events columns (v3 added flags) broke every full group
 * silently at prepare time. A whole number of full groups, plus a
 * remainder, with a flags value on every event, must all be stored with
 * their columns. */
static void test_group_insert(void)
{
	char db[300];
	struct dl_store *st;
	int64_t b, pol;
	int ok = 1;
	const int N = 3 * 32 + 5;

	path_in(db, sizeof(db), "group.db");
	if (dl_store_open(db, 0, &st) || dl_store_boot(st, "group-boot", 0, &b) ||
	    dl_store_policy(st, "p", "beef", "text", NULL, 0, &pol)) {
		TAP_OK(0, "open store for the group test: %s", dl_store_errmsg(NULL));
		return;
	}
	ok = dl_store_begin(st) == 0;
	for (int i = 1; ok && i <= N; i++) {
		struct dl_event e = mkev(b, (uint64_t)i, t0_ns() + i * 1000000LL, pol);
		e.rec.flags = i % 3 == 0 ? DL_REC_F_TRUNCATED : 0;
		e.rec.u.net.port = (__u16)(1000 + i);
		e.rec.pid = i % 2 ? 100 : 200 + (unsigned)i;
		ok = dl_store_event(st, &e) == 0;
	}
	ok = ok && dl_store_commit(st) == 0;
	TAP_OK(ok, "%d events with flags in one transaction (%s)", N, ok ? "stored" : dl_store_errmsg(st));
	dl_store_close(st);
	TAP_OK(q1i(db, "SELECT count(*) FROM events") == N, "all %d rows stored (full groups and the rest)", N);
	TAP_OK(q1i(db, "SELECT count(*) FROM events WHERE flags = 1") == N / 3 &&
		       q1i(db, "SELECT sum(flags) FROM events_v") == N / 3,
	       "flags stored per event and shown by events_v");
	TAP_OK(q1i(db, "SELECT count(*) FROM events_v WHERE port = 1000 + seq AND"
		       " pid = CASE seq % 2 WHEN 1 THEN 100 ELSE 200 + seq END AND ppid = 1 AND verdict = 'would-deny'") == N,
	       "every column of every row in place");
	TAP_OK(q1i(db, "SELECT n FROM minutes") == N || q1i(db, "SELECT sum(n) FROM minutes") == N,
	       "minutes count every inserted row");
}

int main(void)
{
	if (tap_tmpdir(dir, sizeof(dir), "store"))
		return 1;
	test_basic();
	test_errors();
	test_size();
	test_group_insert();
	tap_tmpdir_remove(dir);
	return tap_done();
}
