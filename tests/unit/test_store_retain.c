/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * dl_store_retain(): retention by age and by size on real SQLite files.
 * Checks what must hold whatever the timing: only events older than the cut
 * go, the minutes index stays exact (sum(n) == count(*), every remaining
 * event inside its minute's id range), a later event sitting inside an old
 * minute's id range survives, minutes bigger than one transaction are done
 * in several, freed pages are reused, a reader's snapshot is undisturbed,
 * and a "retention_deleted" counter sample is written.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sqlite3.h>

#include "store/store.h"
#include "tap.h"
#include "sqlq.h"

static char dir[256];

#define T0_MS INT64_C(1795000000000) /* a minute boundary: 1795000000000 % 60000 == 20000 */
static int64_t t0_ms(void)
{
	return T0_MS - T0_MS % 60000;
}

static struct dl_event ev(int64_t boot, uint64_t seq, int64_t ts_ms, uint32_t dst)
{
	struct dl_event e = { 0 };
	e.rec.version = DL_ABI_VERSION;
	e.rec.size = sizeof(e.rec);
	e.rec.family = DL_FAMILY_NET;
	e.rec.hook = DL_HOOK_SOCKET_CONNECT;
	e.rec.seq = seq;
	e.rec.tgid = e.rec.pid = 100;
	e.rec.rule_idx = DL_RULE_NONE;
	e.rec.verdict = DL_VERDICT_WOULD_DENY;
	memcpy(e.rec.comm, "curl", 4);
	e.rec.u.net.addr[10] = e.rec.u.net.addr[11] = 0xff;
	uint32_t a = htonl(0x0a000000u | (dst & 0xffffff));
	memcpy(e.rec.u.net.addr + 12, &a, 4);
	e.rec.u.net.port = 443;
	e.rec.u.net.protocol = IPPROTO_TCP;
	e.ts_ns = ts_ms * 1000000;
	e.boot_key = boot;
	e.exe = "/usr/bin/curl";
	return e;
}

static int store_range(struct dl_store *st, int64_t boot, uint64_t seq0, uint64_t n, int64_t ts_ms,
		       int64_t step_ms)
{
	int r = dl_store_begin(st);
	for (uint64_t i = 0; i < n && r == 0; i++) {
		struct dl_event e = ev(boot, seq0 + i, ts_ms + (int64_t)i * step_ms, (uint32_t)(i % 50));
		r = dl_store_event(st, &e);
		if (r == 0 && i % 10000 == 9999)
			r = dl_store_commit(st) ?: dl_store_begin(st);
	}
	if (r == 0)
		r = dl_store_commit(st);
	else
		dl_store_rollback(st);
	return r;
}

/* Retain until done; -1000 if it never finishes. */
static int retain_all(struct dl_store *st, int64_t age_ns, int64_t max_bytes, int64_t now_ns,
		      uint64_t *deleted, int *calls)
{
	int r = 1;
	*calls = 0;
	while (r == 1 && *calls < 10000) {
		r = dl_store_retain(st, age_ns, max_bytes, now_ns, deleted);
		(*calls)++;
	}
	return r == 1 ? -1000 : r;
}

static int index_exact(sqlite3 *h)
{
	return qi(h, "SELECT (SELECT count(*) FROM events) = (SELECT coalesce(sum(n),0) FROM minutes)") == 1 &&
	       qi(h, "SELECT count(*) FROM events e WHERE NOT EXISTS (SELECT 1 FROM minutes m"
		     " WHERE m.minute = e.ts / 60000 AND e.id BETWEEN m.first_id AND m.last_id)") == 0;
}

static void test_age(void)
{
	char db[300];
	snprintf(db, sizeof(db), "%s/age.db", dir);
	struct dl_store *st;
	if (dl_store_open(db, 0, &st) < 0) {
		TAP_OK(0, "open: %s", dl_store_errmsg(NULL));
		return;
	}
	sqlite3 *h = dl_store_sqlite(st);
	int64_t b;
	dl_store_boot(st, "boot-retain", 0, &b);
	int64_t t0 = t0_ms();
	/* 10 minutes, one event per second: seq 1..600. */
	TAP_OK(store_range(st, b, 1, 600, t0, 1000) == 0, "600 events over 10 minutes");
	/* Minute 10 holds 120,000 events (seq 601..120600): more than 2 chunks. */
	TAP_OK(store_range(st, b, 601, 120000, t0 + 600000, 0) == 0, "120k events in one minute");
	/* seq 50 is not stored yet; store it now with a time 20 minutes later:
	 * it sits inside minute 0's id range but belongs to minute 20. */
	sqlite3_exec(h, "DELETE FROM events WHERE id = (SELECT id FROM events ORDER BY id LIMIT 1 OFFSET 49)",
		     NULL, NULL, NULL);
	sqlite3_exec(h, "UPDATE minutes SET n = n - 1 WHERE minute = (SELECT min(minute) FROM minutes)",
		     NULL, NULL, NULL);
	TAP_OK(store_range(st, b, 50, 1, t0 + 20 * 60000, 0) == 0, "out-of-order event stored");
	TAP_OK(index_exact(h), "index exact before retention");
	long long total = qi(h, "SELECT count(*) FROM events");

	TAP_OK(dl_store_begin(st) == 0, "begin");
	uint64_t d = 0;
	TAP_OK(dl_store_retain(st, 1, 0, (t0 + 3600000) * 1000000, &d) == -EBUSY && d == 0,
	       "retain inside a transaction refused: %s", dl_store_errmsg(st));
	dl_store_rollback(st);

	/* A reader holding a snapshot. */
	sqlite3 *rd;
	sqlite3_open_v2(db, &rd, SQLITE_OPEN_READONLY, NULL);
	sqlite3_exec(rd, "BEGIN", NULL, NULL, NULL);
	long long before_rd = qi(rd, "SELECT count(*) FROM events");

	/* Keep 5 minutes before now = t0 + 10 min: minutes 0..4 go (300 events,
	 * minus seq 50 which is in minute 20). */
	int64_t now_ns = (t0 + 10 * 60000) * 1000000, age = INT64_C(5) * 60 * 1000000000;
	int calls;
	d = 0;
	int r = retain_all(st, age, 0, now_ns, &d, &calls);
	TAP_OK(r == 0, "retention by age completes (%d calls, %s)", calls, r ? dl_store_errmsg(st) : "ok");
	TAP_OK(d == 299, "299 events deleted (got %llu)", (unsigned long long)d);
	char sql[200];
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM events WHERE ts < %lld", (long long)(t0 + 5 * 60000));
	TAP_OK(qi(h, sql) == 0, "nothing older than the cut remains");
	TAP_OK(qi(h, "SELECT count(*) FROM events") == total - 299, "everything newer remains");
	TAP_OK(qi(h, "SELECT count(*) FROM events WHERE id & 1099511627775 = 50") == 1,
	       "a later event inside an old minute's id range survives");
	TAP_OK(index_exact(h), "minutes index exact after retention");
	TAP_OK(qi(rd, "SELECT count(*) FROM events") == before_rd, "reader's snapshot undisturbed");
	sqlite3_exec(rd, "COMMIT", NULL, NULL, NULL);
	TAP_OK(qi(rd, "SELECT count(*) FROM events") == total - 299, "reader sees it after its snapshot");
	sqlite3_close(rd);
	TAP_OK(qi(h, "SELECT value FROM counters WHERE kind = 'retention_deleted' ORDER BY rowid DESC LIMIT 1") == 299,
	       "retention_deleted counter sample");
	d = 0;
	TAP_OK(dl_store_retain(st, age, 0, now_ns, &d) == 0 && d == 0, "second call: nothing due");
	TAP_OK(qi(h, "SELECT count(*) FROM counters WHERE kind = 'retention_deleted'") == 1,
	       "no counter sample when nothing was deleted");

	/* The big minute goes in several transactions; the minute row follows. */
	now_ns = (t0 + 12 * 60000) * 1000000;
	age = INT64_C(60) * 1000000000;
	d = 0;
	r = retain_all(st, age, 0, now_ns, &d, &calls);
	TAP_OK(r == 0 && d == 300 + 120000, "big minute deleted (%llu)", (unsigned long long)d);
	TAP_OK(qi(h, "SELECT count(*) FROM events") == 1 && index_exact(h),
	       "only the minute-20 event is left, index exact");
	TAP_OK(qi(h, "SELECT value FROM counters WHERE kind = 'retention_deleted' ORDER BY rowid DESC LIMIT 1") ==
		       299 + 300 + 120000,
	       "counter is a running total");
	TAP_OK(dl_store_retain(st, 0, 0, now_ns, &d) == 0, "no limits: no-op");
	dl_store_close(st);
}

static void test_size(void)
{
	char db[300];
	snprintf(db, sizeof(db), "%s/size.db", dir);
	struct dl_store *st;
	if (dl_store_open(db, 0, &st) < 0) {
		TAP_OK(0, "open: %s", dl_store_errmsg(NULL));
		return;
	}
	sqlite3 *h = dl_store_sqlite(st);
	int64_t b;
	dl_store_boot(st, "boot-size", 0, &b);
	int64_t t0 = t0_ms();
	/* 200k events, 200 per minute. */
	TAP_OK(store_range(st, b, 1, 200000, t0, 300) == 0, "200k events");
	long long live0 = (qi(h, "PRAGMA page_count") - qi(h, "PRAGMA freelist_count")) * qi(h, "PRAGMA page_size");
	long long cap = live0 / 2;
	uint64_t d = 0;
	int calls;
	int r = retain_all(st, 0, cap, t0 * 1000000, &d, &calls);
	long long live1 = (qi(h, "PRAGMA page_count") - qi(h, "PRAGMA freelist_count")) * qi(h, "PRAGMA page_size");
	TAP_OK(r == 0, "retention by size completes (%s)", r ? dl_store_errmsg(st) : "ok");
	TAP_OK(live1 <= cap, "live bytes %lld <= cap %lld (were %lld)", live1, cap, live0);
	TAP_OK(d > 50000 && d < 150000, "about half deleted: %llu", (unsigned long long)d);
	TAP_OK(qi(h, "SELECT max(id) & 1099511627775 FROM events") == 200000, "newest kept");
	TAP_OK(qi(h, "SELECT min(id) & 1099511627775 FROM events") == (long long)d + 1, "oldest went first");
	TAP_OK(index_exact(h), "index exact");
	/* The halving left a freelist far above an eighth of the file: it was
	 * handed back to the file system (auto_vacuum=INCREMENTAL). */
	long long pages = qi(h, "PRAGMA page_count"), freep = qi(h, "PRAGMA freelist_count");
	TAP_OK(qi(h, "PRAGMA auto_vacuum") == 2 && freep <= pages / 8 && pages * qi(h, "PRAGMA page_size") < live0,
	       "oversized freelist handed back: %lld pages, %lld free", pages, freep);
	/* Steady state of a capped store: delete a little, insert as much; the
	 * few freed pages stay on the freelist and take the new rows. */
	long long live = (pages - freep) * qi(h, "PRAGMA page_size");
	d = 0;
	r = retain_all(st, 0, live - live / 20, t0 * 1000000, &d, &calls);
	long long p1 = qi(h, "PRAGMA page_count"), f1 = qi(h, "PRAGMA freelist_count");
	TAP_OK(r == 0 && d > 0 && f1 > 0 && p1 == pages, "small deletion keeps its pages: %llu events, %lld free of %lld",
	       (unsigned long long)d, f1, p1);
	TAP_OK(store_range(st, b, 200001, d, t0 + 200000 * 300, 300) == 0, "refill as much");
	long long p2 = qi(h, "PRAGMA page_count");
	TAP_OK(p2 <= p1 + f1 / 4, "freed pages reused: %lld -> %lld pages (%lld were free)", p1, p2, f1);
	dl_store_close(st);
}

int main(void)
{
	if (tap_tmpdir(dir, sizeof(dir), "retain"))
		return 1;
	test_age();
	test_size();
	tap_tmpdir_remove(dir);
	return tap_done();
}
