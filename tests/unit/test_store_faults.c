/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The store under faults, as the collector meets them: a full disk
 * (simulated with PRAGMA max_page_count, which fails the same way as
 * ENOSPC: SQLITE_FULL), a database locked by another writer beyond the busy
 * timeout, and files that are not databases, truncated or garbage. Each must
 * give a clear message naming the file, leave nothing half-written, and, for
 * the transient ones, let the very same batch commit once the cause is gone
 * (the collector keeps the records in the ring buffer and retries).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sqlite3.h>

#include "store/store.h"
#include "tap.h"
#include "sqlq.h"

static char dir[256];

/* Every event has its own destination and exe, so a batch needs new pages
 * in events, objects, strings and subjects. */
static struct dl_event ev(int64_t boot, uint64_t seq, char *exe, size_t exelen)
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
	memcpy(e.rec.comm, "job", 3);
	e.rec.u.net.addr[10] = e.rec.u.net.addr[11] = 0xff;
	uint32_t a = htonl(0x0b000000u + (uint32_t)seq);
	memcpy(e.rec.u.net.addr + 12, &a, 4);
	e.rec.u.net.port = 443;
	e.rec.u.net.protocol = IPPROTO_TCP;
	e.ts_ns = INT64_C(1795000000000000000) + (int64_t)seq * 1000000;
	e.boot_key = boot;
	snprintf(exe, exelen, "/opt/unique/%llu/bin/tool", (unsigned long long)seq);
	e.exe = exe;
	return e;
}

/* What the collector does with a batch: begin, events, commit; on any
 * failure roll back and report. Returns 0 or the first error. */
static int batch(struct dl_store *st, int64_t boot, uint64_t seq0, int n)
{
	char exe[64];
	int r = dl_store_begin(st);
	for (int i = 0; i < n && r == 0; i++) {
		struct dl_event e = ev(boot, seq0 + (uint64_t)i, exe, sizeof(exe));
		r = dl_store_event(st, &e);
	}
	if (r == 0)
		r = dl_store_commit(st);
	if (r < 0)
		dl_store_rollback(st);
	return r;
}

static void test_full(void)
{
	char db[300], want[400];
	snprintf(db, sizeof(db), "%s/full.db", dir);
	struct dl_store *st;
	if (dl_store_open(db, 0, &st) < 0) {
		TAP_OK(0, "open: %s", dl_store_errmsg(NULL));
		return;
	}
	sqlite3 *h = dl_store_sqlite(st);
	int64_t b;
	dl_store_boot(st, "boot-full", 0, &b);
	TAP_OK(batch(st, b, 1, 1000) == 0, "first batch fits");
	long long pages = qi(h, "PRAGMA page_count");
	char sql[80];
	snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %lld", pages + 5);
	sqlite3_exec(h, sql, NULL, NULL, NULL);
	int r = batch(st, b, 1001, 5000);
	snprintf(want, sizeof(want), "store: database or disk is full: %s", db);
	TAP_OK(r == -ENOSPC, "full disk -> -ENOSPC (%d)", r);
	TAP_OK(strncmp(dl_store_errmsg(st), want, strlen(want)) == 0, "message: %s", dl_store_errmsg(st));
	TAP_OK(qi(h, "SELECT count(*) FROM events") == 1000 &&
		       qi(h, "SELECT coalesce(sum(n),0) FROM minutes") == 1000 &&
		       qi(h, "SELECT count(*) FROM objects") == 1000 &&
		       qi(h, "SELECT count(*) FROM strings WHERE s LIKE '/opt/unique/%'") == 1000,
	       "nothing of the failed batch is stored (events, minutes, objects, strings)");
	TAP_OK(batch(st, b, 1001, 5000) == -ENOSPC, "still full: same error again");
	sqlite3_exec(h, "PRAGMA max_page_count = 1000000", NULL, NULL, NULL);
	r = batch(st, b, 1001, 5000);
	TAP_OK(r == 0, "after space is freed the same batch commits (%s)", r ? dl_store_errmsg(st) : "ok");
	TAP_OK(qi(h, "SELECT count(*) FROM events") == 6000 &&
		       qi(h, "SELECT coalesce(sum(n),0) FROM minutes") == 6000 &&
		       qi(h, "SELECT count(*) FROM subjects") == 6000,
	       "all 6000 events, their minutes and subjects");
	TAP_OK(qi(h, "SELECT count(*) FROM events e JOIN subjects s ON s.id = e.subject"
		     " JOIN strings x ON x.id = s.exe WHERE x.s = '/opt/unique/' || (e.id & 1099511627775) || '/bin/tool'") == 6000,
	       "every event references its own exe (no stale interned id after the rollback)");
	dl_store_close(st);
}

static void test_locked(void)
{
	char db[300], want[400];
	snprintf(db, sizeof(db), "%s/locked.db", dir);
	struct dl_store *st;
	if (dl_store_open(db, 0, &st) < 0) {
		TAP_OK(0, "open: %s", dl_store_errmsg(NULL));
		return;
	}
	sqlite3 *h = dl_store_sqlite(st);
	sqlite3_busy_timeout(h, 100); /* the store's default is 5 s */
	int64_t b;
	dl_store_boot(st, "boot-locked", 0, &b);
	TAP_OK(batch(st, b, 1, 100) == 0, "first batch");
	sqlite3 *other;
	sqlite3_open(db, &other);
	TAP_OK(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK,
	       "another connection takes the write lock");
	int r = batch(st, b, 101, 100);
	snprintf(want, sizeof(want), "store: database is locked: %s", db);
	TAP_OK(r == -EBUSY, "locked -> -EBUSY (%d)", r);
	TAP_OK(strncmp(dl_store_errmsg(st), want, strlen(want)) == 0, "message: %s", dl_store_errmsg(st));
	uint64_t d = 0;
	TAP_OK(dl_store_retain(st, 1, 0, INT64_MAX, &d) == -EBUSY && d == 0,
	       "retention while locked: -EBUSY, nothing deleted");
	sqlite3_exec(other, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(other);
	r = batch(st, b, 101, 100);
	TAP_OK(r == 0 && qi(h, "SELECT count(*) FROM events") == 200, "after release the batch commits");
	dl_store_close(st);
}

static void write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	fwrite(p, 1, n, f);
	fclose(f);
}

static void expect_corrupt(const char *db, const char *what)
{
	char want[400];
	struct dl_store *st = (void *)1;
	snprintf(want, sizeof(want), "store: %s is not a drylock database or is corrupt: ", db);
	int r = dl_store_open(db, 0, &st);
	TAP_OK(r == -EBADMSG && st == NULL && strncmp(dl_store_errmsg(NULL), want, strlen(want)) == 0,
	       "%s: open refused: %s", what, dl_store_errmsg(NULL));
	st = (void *)1;
	r = dl_store_open(db, DL_STORE_RDONLY, &st);
	TAP_OK(r == -EBADMSG && st == NULL && strncmp(dl_store_errmsg(NULL), want, strlen(want)) == 0,
	       "%s: read-only open refused: %s", what, dl_store_errmsg(NULL));
}

static void test_corrupt(void)
{
	char db[300];
	static unsigned char junk[65536];
	srand(7);
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (unsigned char)rand();
	snprintf(db, sizeof(db), "%s/random.db", dir);
	write_file(db, junk, sizeof(junk));
	expect_corrupt(db, "random bytes");

	/* A real SQLite header followed by garbage. */
	snprintf(db, sizeof(db), "%s/header.db", dir);
	memcpy(junk, "SQLite format 3", 16);
	write_file(db, junk, sizeof(junk));
	expect_corrupt(db, "SQLite magic, garbage after");

	snprintf(db, sizeof(db), "%s/short.db", dir);
	write_file(db, "SQLite format 3", 16);
	expect_corrupt(db, "16-byte file");

	/* A drylock database cut in half (a copy that stopped, a lost tail). */
	snprintf(db, sizeof(db), "%s/trunc.db", dir);
	struct dl_store *st;
	if (dl_store_open(db, 0, &st) < 0) {
		TAP_OK(0, "open: %s", dl_store_errmsg(NULL));
		return;
	}
	int64_t b;
	dl_store_boot(st, "boot-trunc", 0, &b);
	batch(st, b, 1, 5000);
	dl_store_close(st);
	struct stat sb;
	stat(db, &sb);
	TAP_OK(dl_store_open(db, DL_STORE_RDONLY, &st) == 0, "intact copy opens");
	dl_store_close(st);
	TAP_OK(truncate(db, sb.st_size / 2) == 0, "truncated to %lld bytes", (long long)sb.st_size / 2);
	expect_corrupt(db, "truncated database");
	TAP_OK(truncate(db, 4096) == 0, "truncated to one page");
	expect_corrupt(db, "one page left");
}

int main(void)
{
	if (tap_tmpdir(dir, sizeof(dir), "faults"))
		return 1;
	test_full();
	test_locked();
	test_corrupt();
	tap_tmpdir_remove(dir);
	return tap_done();
}
