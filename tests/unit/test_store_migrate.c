/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Schema migration and rollups.
 *
 * A database is built exactly as drylock with schema version 1 wrote it
 * (tests/unit/fixtures/schema-v1.sql, the v1 schema kept verbatim, plus rows
 * inserted with plain SQL), then opened by this store: it must migrate to
 * version 2, keep every event readable through events_v, and have exact
 * rollups. Rollups are then checked against a plain aggregation of events
 * after: flushes at the threshold, a writer killed without closing (the
 * in-memory aggregation lost), a replayed batch, a late event below the
 * mark, a rolled-back batch, and retention.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/wait.h>
#include <unistd.h>
#include <sqlite3.h>

#include "store/store.h"
#include "tap.h"
#include "sqlq.h"

#ifndef FIXTURE_DIR
#error FIXTURE_DIR must point at tests/unit/fixtures
#endif

static char dir[256];

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *s = malloc((size_t)n + 1);
	if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
		free(s);
		s = NULL;
	}
	if (s)
		s[n] = 0;
	fclose(f);
	return s;
}

/* All rows of a query as one string, "|" between columns, "\n" after rows. */
static char *rows(sqlite3 *h, const char *sql)
{
	sqlite3_stmt *s;
	size_t cap = 1 << 16, len = 0;
	char *out = calloc(1, cap);
	if (sqlite3_prepare_v2(h, sql, -1, &s, NULL) != SQLITE_OK) {
		snprintf(out, cap, "ERR %s", sqlite3_errmsg(h));
		return out;
	}
	while (sqlite3_step(s) == SQLITE_ROW) {
		for (int c = 0; c < sqlite3_column_count(s); c++) {
			const char *t = (const char *)sqlite3_column_text(s, c);
			size_t need = len + (t ? strlen(t) : 4) + 2;
			if (need >= cap) {
				while (need >= cap)
					cap *= 2;
				out = realloc(out, cap);
			}
			len += (size_t)sprintf(out + len, "%s%c", t ? t : "NULL",
					       c + 1 < sqlite3_column_count(s) ? '|' : '\n');
		}
	}
	sqlite3_finalize(s);
	return out;
}

/* The rollup views against the same aggregation computed from events. */
static const char SUM_ROLL[] = "SELECT * FROM summary_v ORDER BY 1, 2, 3, 4";
/* What drylock-query summary computes, straight from events. */
static const char SUM_EV[] =
	"SELECT p.name, fn.name, coalesce(r.rule_id, '#' || g.rule), v.name, g.n,"
	" strftime('%Y-%m-%dT%H:%M:%fZ', g.first / 1000.0, 'unixepoch'),"
	" strftime('%Y-%m-%dT%H:%M:%fZ', g.last / 1000.0, 'unixepoch')"
	" FROM (SELECT e.policy AS policy, h.family AS fam, e.rule AS rule, e.verdict AS verdict,"
	" count(*) AS n, min(e.ts) AS first, max(e.ts) AS last"
	" FROM events e LEFT JOIN hook_names h ON h.id = e.hook"
	" GROUP BY e.policy, h.family, e.rule, e.verdict) g"
	" LEFT JOIN policies p ON p.id = g.policy LEFT JOIN family_names fn ON fn.id = g.fam"
	" LEFT JOIN rules r ON r.policy = g.policy AND r.idx = g.rule"
	" LEFT JOIN verdict_names v ON v.id = g.verdict ORDER BY 1, 2, 3, 4";
static const char TOP_ROLL[] =
	"SELECT comm, exe, cgroup, sum(count), min(first_ms), max(last_ms) FROM top_subjects_v"
	" GROUP BY comm, exe, cgroup ORDER BY 4 DESC, 1, 2";
static const char TOP_EV[] =
	"SELECT comm, exe, cgroup, count(*), min(ts_ns / 1000000), max(ts_ns / 1000000) FROM events_v"
	" GROUP BY comm, exe, cgroup ORDER BY 4 DESC, 1, 2";

static int rollups_exact(sqlite3 *h, const char *what)
{
	char *a = rows(h, SUM_ROLL), *b = rows(h, SUM_EV), *c = rows(h, TOP_ROLL), *d = rows(h, TOP_EV);
	int ok = !strcmp(a, b) && !strcmp(c, d) && strlen(a) > 0;
	if (!ok)
		printf("# %s: summary_v:\n%s# events_v:\n%s# top_subjects_v:\n%.400s# events_v:\n%.400s", what,
		       a, b, c, d);
	free(a), free(b), free(c), free(d);
	return ok;
}

static const char *const v1_rows =
	"INSERT INTO meta VALUES ('schema_version', 1);"
	"INSERT INTO family_names VALUES (1, 'net');"
	"INSERT INTO hook_names VALUES (1, 'socket_connect', 1), (2, 'socket_bind', 1);"
	"INSERT INTO verdict_names VALUES (0, 'allow'), (1, 'would-deny'), (2, 'deny');"
	"INSERT INTO action_names VALUES (0, 'allow'), (1, 'deny');"
	"INSERT INTO mode_names VALUES (0, 'permissive'), (1, 'enforce');"
	"INSERT INTO boots VALUES (1, 'old-boot', 1795000000000000000);"
	"INSERT INTO policies VALUES (1, 'aa11', 'base', 'net deny meta ...', 1795000000000);"
	"INSERT INTO rules VALUES (1, 0, 'no-metadata', 1, 1, 'net deny no-metadata addr=169.254.169.254/32');"
	"INSERT INTO loads VALUES (1, 1, 1, 1795000000000);"
	"INSERT INTO strings VALUES (1, 'curl'), (2, '/usr/bin/curl'), (3, '/user.slice');"
	"INSERT INTO subjects VALUES (1, 1, 2, 3, 4242, 4026531841, 1000, 1000, 1000, 4294967295, 4294967295);"
	"INSERT INTO objects VALUES (1, '169.254.169.254', 80, 6), (2, '2001:db8::1', 443, 6);"
	"INSERT INTO events VALUES ((1 << 40) | 1, 1795000000123, 1, 1, 0, 1, 0, 1, 1, 100, NULL, 1),"
	" ((1 << 40) | 2, 1795000060456, 1, 0, 0, 1, NULL, 1, 2, 100, 101, 1),"
	" ((1 << 40) | 3, 1795000060999, 2, 2, 1, 1, 0, 1, 1, 100, NULL, 1);"
	"INSERT INTO minutes VALUES (29916666, 1, (1 << 40) | 1, (1 << 40) | 1, 1),"
	" (29916667, 1, (1 << 40) | 2, (1 << 40) | 3, 2);";

/* The columns events_v had in v1 and v2 (v3 added flags and object). */
#define V1_COLS "boot_id, seq, time, ts_ns, family, hook, verdict, enforced, policy, policy_sha256," \
	" rule, tgid, pid, ppid, uid, euid, gid, loginuid, sessionid, cgroup_id, cgroup, mnt_ns, comm," \
	" exe, addr, port, proto"

static void test_v1(void)
{
	char db[300], fx[600];
	snprintf(db, sizeof(db), "%s/v1.db", dir);
	snprintf(fx, sizeof(fx), "%s/schema-v1.sql", FIXTURE_DIR);
	char *sql = slurp(fx);
	TAP_OK(sql != NULL, "fixture %s", fx);
	if (!sql)
		return;
	sqlite3 *h;
	sqlite3_open(db, &h);
	int rc = sqlite3_exec(h, "PRAGMA auto_vacuum = INCREMENTAL; PRAGMA journal_mode = WAL", NULL, NULL, NULL);
	rc = rc ? rc : sqlite3_exec(h, sql, NULL, NULL, NULL);
	rc = rc ? rc : sqlite3_exec(h, v1_rows, NULL, NULL, NULL);
	TAP_OK(rc == SQLITE_OK, "v1 database built from the fixture (%s)", sqlite3_errmsg(h));
	free(sql);
	char *before = rows(h, "SELECT * FROM events_v ORDER BY seq");
	TAP_OK(qi(h, "SELECT count(*) FROM sqlite_master WHERE name LIKE 'rollup%'") == 0, "no rollups in v1");
	sqlite3_close(h);

	struct dl_store *st;
	int r = dl_store_open(db, DL_STORE_RDONLY, &st);
	TAP_OK(r == -EPROTONOSUPPORT && strstr(dl_store_errmsg(NULL), "run the collector once"),
	       "read-only open of v1 asks for a migration: %s", dl_store_errmsg(NULL));
	r = dl_store_open(db, 0, &st);
	TAP_OK(r == 0, "v1 database opens for writing (%s)", r ? dl_store_errmsg(NULL) : "migrated");
	if (r)
		return;
	h = dl_store_sqlite(st);
	TAP_OK(qi(h, "SELECT value FROM meta WHERE key = 'schema_version'") == 3, "now schema version 3");
	char *after = rows(h, "SELECT " V1_COLS " FROM events_v ORDER BY seq");
	TAP_OK(!strcmp(before, after) && strstr(after, "old-boot|1|"),
	       "events_v reads the same 3 events (%zu bytes of rows, identical)", strlen(after));
	TAP_OK(strstr(after, "169.254.169.254|80|tcp") && strstr(after, "no-metadata") &&
		       strstr(after, "2001:db8::1|443|tcp"),
	       "policy, rule and objects resolve after migration");
	TAP_OK(qi(h, "SELECT through_id FROM rollup_marks WHERE boot = 1") == ((1LL << 40) | 3),
	       "mark moved to the last event");
	TAP_OK(qi(h, "SELECT sum(n) FROM rollup_rules") == 3 && qi(h, "SELECT sum(n) FROM rollup_subjects") == 3,
	       "existing events rolled up");
	TAP_OK(rollups_exact(h, "after migration"), "summary_v and top_subjects_v match events_v");
	free(before);
	free(after);

	/* New events on top of the migrated file. */
	int64_t b;
	TAP_OK(dl_store_boot(st, "old-boot", 0, &b) == 0 && b == 1, "same boot found");
	struct dl_event e = { 0 };
	e.rec.version = DL_ABI_VERSION;
	e.rec.size = sizeof(e.rec);
	e.rec.hook = DL_HOOK_SOCKET_CONNECT;
	e.rec.seq = 4;
	e.rec.rule_idx = DL_RULE_NONE;
	e.rec.verdict = DL_VERDICT_WOULD_DENY;
	memcpy(e.rec.comm, "wget", 4);
	e.rec.u.net.addr[10] = e.rec.u.net.addr[11] = 0xff;
	e.rec.u.net.addr[12] = 10;
	e.rec.u.net.port = 8080;
	e.rec.u.net.protocol = IPPROTO_TCP;
	e.ts_ns = INT64_C(1795000120000000000);
	e.boot_key = b;
	e.policy_key = 1;
	e.exe = "/usr/bin/wget";
	TAP_OK(dl_store_begin(st) == 0 && dl_store_event(st, &e) == 0 && dl_store_commit(st) == 0,
	       "new event stored");
	TAP_OK(rollups_exact(h, "new event, not flushed"), "views exact before the rollup flush");
	dl_store_close(st);
	sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL);
	TAP_OK(qi(h, "SELECT sum(n) FROM rollup_rules") == 4 && rollups_exact(h, "after close"),
	       "close flushed the rollups; views exact");
	sqlite3_close(h);
}

static struct dl_event mk(int64_t boot, uint64_t seq)
{
	struct dl_event e = { 0 };
	static const char *comms[] = { "curl", "nginx", "sshd", "apt" };
	e.rec.version = DL_ABI_VERSION;
	e.rec.size = sizeof(e.rec);
	e.rec.hook = seq % 9 ? DL_HOOK_SOCKET_CONNECT : DL_HOOK_SOCKET_BIND;
	e.rec.seq = seq;
	e.rec.tgid = e.rec.pid = 100;
	e.rec.rule_idx = seq % 5 == 0 ? DL_RULE_NONE : (uint32_t)(seq % 3);
	e.rec.verdict = (uint8_t)(seq % 7 == 0 ? DL_VERDICT_ALLOW : seq % 11 == 0 ? DL_VERDICT_DENY : DL_VERDICT_WOULD_DENY);
	e.rec.enforced = e.rec.verdict == DL_VERDICT_DENY;
	memcpy(e.rec.comm, comms[seq % 4], strlen(comms[seq % 4]));
	e.rec.uid = (uint32_t)(seq % 13); /* 52 subjects */
	e.rec.u.net.addr[10] = e.rec.u.net.addr[11] = 0xff;
	e.rec.u.net.addr[15] = (uint8_t)seq;
	e.rec.u.net.port = 443;
	e.rec.u.net.protocol = IPPROTO_TCP;
	e.ts_ns = INT64_C(1795000000000000000) + (int64_t)seq * 7000000; /* 7 ms apart */
	e.boot_key = boot;
	e.exe = "/usr/bin/x";
	return e;
}

static int put(struct dl_store *st, int64_t boot, uint64_t from, uint64_t n, int commit)
{
	int r = dl_store_begin(st);
	for (uint64_t i = 0; i < n && r == 0; i++) {
		struct dl_event e = mk(boot, from + i);
		r = dl_store_event(st, &e);
	}
	if (r == 0 && commit)
		return dl_store_commit(st);
	dl_store_rollback(st);
	return r;
}

static void test_rollups(void)
{
	char db[300];
	snprintf(db, sizeof(db), "%s/roll.db", dir);
	struct dl_store *st;
	if (dl_store_open(db, 0, &st) < 0) {
		TAP_OK(0, "open: %s", dl_store_errmsg(NULL));
		return;
	}
	sqlite3 *h = dl_store_sqlite(st);
	int64_t b;
	dl_store_boot(st, "roll-boot", 0, &b);
	int r = 0;
	for (uint64_t s = 1; s <= 150000 && r == 0; s += 1000)
		r = put(st, b, s, 1000, 1);
	TAP_OK(r == 0, "150k events in batches of 1000");
	TAP_OK(qi(h, "SELECT sum(n) FROM rollup_rules") >= 65536, "rollups flushed at the threshold (%lld)",
	       qi(h, "SELECT sum(n) FROM rollup_rules"));
	TAP_OK(rollups_exact(h, "mid-stream"), "views exact mid-stream (rollups + events after the mark)");
	TAP_OK(put(st, b, 150001, 1000, 0) == 0, "a rolled-back batch");
	TAP_OK(rollups_exact(h, "after rollback"), "views exact after a rollback");
	TAP_OK(put(st, b, 149001, 2000, 1) == 0, "replay of a stored batch plus 1000 new");
	TAP_OK(qi(h, "SELECT count(*) FROM events") == 151000 && rollups_exact(h, "after replay"),
	       "replayed events not counted twice");
	/* A late event: a seq below the mark that was never stored (made by
	 * taking event 500 out of events and of the rollups, by hand). */
	TAP_OK(qi(h, "SELECT through_id & 1099511627775 FROM rollup_marks") > 500, "event 500 is below the mark");
	static const char *const unroll[] = {
		"UPDATE rollup_rules SET n = n - 1 WHERE rowid = (SELECT r.rowid FROM rollup_rules r, events e"
		" WHERE e.id = (1 << 40) | 500 AND r.minute = e.ts / 60000 AND r.boot = 1 AND r.policy IS e.policy"
		" AND r.rule IS e.rule AND r.hook = e.hook AND r.verdict = e.verdict AND r.enforced = e.enforced LIMIT 1)",
		"UPDATE rollup_subjects SET n = n - 1 WHERE rowid = (SELECT r.rowid FROM rollup_subjects r, events e"
		" WHERE e.id = (1 << 40) | 500 AND r.minute = e.ts / 60000 AND r.boot = 1 AND r.subject = e.subject"
		" AND r.verdict = e.verdict LIMIT 1)",
		"DELETE FROM events WHERE id = (1 << 40) | 500",
		"UPDATE minutes SET n = n - 1 WHERE minute = 1795000003500 / 60000",
	};
	for (int i = 0; i < 4; i++)
		sqlite3_exec(h, unroll[i], NULL, NULL, NULL);
	TAP_OK(rollups_exact(h, "event 500 removed"), "consistent without event 500");
	TAP_OK(put(st, b, 500, 1, 1) == 0, "late event below the mark stored");
	TAP_OK(rollups_exact(h, "late event"), "views exact at once (a late event forces a flush)");
	dl_store_close(st);

	/* A writer that dies without closing: its in-memory aggregation is lost
	 * and the next open must add what is missing. */
	pid_t pid = fork();
	if (pid == 0) {
		struct dl_store *w;
		if (dl_store_open(db, 0, &w) < 0)
			_exit(2);
		int64_t bb;
		dl_store_boot(w, "roll-boot", 0, &bb);
		_exit(put(w, bb, 151001, 5000, 1) == 0 ? 0 : 3);
	}
	int status;
	waitpid(pid, &status, 0);
	TAP_OK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "writer stored 5000 events and died unclosed");
	sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL);
	TAP_OK(qi(h, "SELECT count(*) FROM events") == 156000, "its events are there");
	TAP_OK(rollups_exact(h, "after the crash, read-only"), "views exact before any repair (events after the mark)");
	sqlite3_close(h);
	TAP_OK(dl_store_open(db, 0, &st) == 0, "reopen for writing repairs");
	h = dl_store_sqlite(st);
	TAP_OK(qi(h, "SELECT through_id & 1099511627775 FROM rollup_marks") == 156000 &&
		       rollups_exact(h, "after repair"),
	       "mark at the last event, views exact");
	uint64_t d = 0;
	int64_t now = INT64_C(1795000000000000000) + INT64_C(156000) * 7000000;
	do
		r = dl_store_retain(st, INT64_C(10) * 60 * 1000000000, 0, now, &d);
	while (r == 1);
	TAP_OK(r == 0 && d > 0, "retention deleted %llu events", (unsigned long long)d);
	TAP_OK(rollups_exact(h, "after retention"), "rollups of deleted minutes went with them");
	/* Outside a transaction every event is its own commit. */
	struct dl_event e1 = mk(b, 156001), e2 = mk(b, 156002);
	TAP_OK(dl_store_event(st, &e1) == 0 && dl_store_event(st, &e2) == 0, "two autocommit events");
	TAP_OK(rollups_exact(h, "autocommit"), "views exact with autocommit events");
	dl_store_close(st);
	sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL);
	TAP_OK(qi(h, "SELECT sum(n) FROM rollup_rules") == qi(h, "SELECT count(*) FROM events") &&
		       qi(h, "SELECT through_id FROM rollup_marks") == qi(h, "SELECT max(id) FROM events"),
	       "after close everything is in the rollups, autocommit events included");
	sqlite3_close(h);
}

int main(void)
{
	if (tap_tmpdir(dir, sizeof(dir), "migrate"))
		return 1;
	test_v1();
	test_rollups();
	tap_tmpdir_remove(dir);
	return tap_done();
}
