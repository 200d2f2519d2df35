/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The drylock store: decisions into SQLite, fast enough to keep up with the
 * kernel and small enough to keep weeks of permissive-mode history.
 *
 * Shape. store/schema.sql is the documented schema; read it first. An event
 * row is a dozen small integers. Everything that repeats (the acting process
 * with its comm, exe, cgroup and ids; the destination) lives in a side table
 * and is referenced by a small integer, so the cost of a row is mostly its
 * key and its timestamp.
 *
 * Keys. events.id is (boot << 40) | seq and is the rowid, so storing a record
 * twice is impossible and INSERT OR IGNORE turns the collector's crash
 * recovery (records committed but not yet released from the ring buffer are
 * read again) into a no-op. Nothing else indexes events. Time windows go
 * through the per-minute table `minutes` (see the schema), which this file
 * maintains in memory for the current minute and writes when the minute or
 * the boot changes and before every commit, in the same transaction as the
 * events it describes. Only rows that were actually inserted are counted
 * (sqlite3_changes()), so a replay does not inflate the counts.
 *
 * Interning. A lookup of a subject or object first probes an in-memory
 * cache keyed by the raw bytes the collector gave us (comm, exe, cgroup path
 * and the numeric ids for a subject; address, port, protocol for an object),
 * so a hot subject costs one hash and one memcmp, not four queries. On a miss
 * the strings are interned one by one (their own cache entries, then SELECT,
 * then INSERT) and the tuple row is looked up or inserted. The cache is an
 * LRU with a fixed number of entries and a fixed budget of key bytes, so
 * memory is bounded whatever the stream. Ids handed out inside a transaction
 * that is rolled back no longer exist: rollback (explicit, or SQLite's own
 * after an I/O error or a full disk) therefore empties the cache. That is
 * rare and only costs a few misses.
 *
 * Inserts. Events are buffered per (minute, boot) and written 32 at a time
 * by one multi-row INSERT (see group_flush()); a direct-mapped front cache
 * with inline keys sits before the LRU for subjects and objects.
 *
 * Rollups. Committed events are aggregated in memory per minute and written
 * to rollup_rules/rollup_subjects (what summary and top read) about once a
 * minute, in the same transaction as that commit's events; rollup_marks
 * makes them exact for readers (see schema.sql and the rollup section).
 *
 * Retention. dl_store_retain() deletes whole minutes by id range, in short
 * transactions with a time budget (see the retention section).
 *
 * Versions. meta.schema_version says which schema a file has. Opening for
 * writing runs, in one IMMEDIATE transaction: the migrations from the file's
 * version to DL_SCHEMA_VERSION, then schema.sql (idempotent: creates what is
 * missing, recreates views), then the enum name tables from the X-macro lists
 * in bpf/drylock_abi.h, then records the version. A file with a newer version
 * is refused before anything is written. A read-only open never writes, so it
 * refuses a file that still needs a migration.
 *
 * Files. The writer creates a new database itself, 0600, under a temporary
 * name renamed into place (create_new()); SQLite gives -wal and -shm the
 * same mode. Only regular files are opened (FIFOs, devices, empty files and
 * dangling symlinks are refused). A read-only open never creates or writes
 * a file: it reads through existing -wal/-shm, or the file alone as an
 * immutable snapshot when there is no -wal (reader_uri()). docs/store.md,
 * "Files and permissions".
 *
 * Threads. A dl_store is used by one thread at a time (the collector's
 * ingest loop), so the connection is opened SQLITE_OPEN_NOMUTEX: SQLite's
 * per-call mutex was a measurable share of the ingest path.
 *
 * Errors. Every function returns 0 or a negative errno and leaves
 * "store: <what>: <detail>" in dl_store_errmsg(). Nothing here prints.
 * After a failure inside a transaction the caller must dl_store_rollback().
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <sqlite3.h>

#include "store.h"
#include "store-family.h"
#include "schema_sql.h"

#define DL_SCHEMA_VERSION 3

#define SEQ_BITS 40
#define SEQ_MASK ((INT64_C(1) << SEQ_BITS) - 1)
#define BOOT_MAX ((INT64_C(1) << (63 - SEQ_BITS)) - 1)

/* Cache bounds: entries and bytes of keys. A subject key is ~100 bytes. */
#define CACHE_ENTRIES 32768u
#define CACHE_KEY_BYTES (8u << 20)
#define CACHE_KEY_MAX 8192u /* longer keys bypass the cache */

/* Schema migrations. Entry `from` upgrades a version-`from` database to
 * version from+1, inside the open's IMMEDIATE transaction, before schema.sql
 * runs. The tables are spelled out as they were at version from+1 (later
 * migrations change them further), never taken from schema.sql.
 * 1 -> 2: the rollup tables. Every boot gets a mark before its first event,
 * so rollup_repair() (run on every writable open, right after) aggregates
 * all existing events into the rollups. tests/unit/test_store_migrate.c
 * builds a v1 file from tests/unit/fixtures/schema-v1.sql and checks it.
 * 2 -> 3: family-neutral objects (family, text, k1, k2; the family of a v2
 * row is that of the hook of an event referencing it, 0 when no event
 * does any more), events.flags, verdict_names.denies, and strings,
 * subjects, objects without their UNIQUE indexes (the writer's caches
 * deduplicate, schema.sql "Deduplication"). Views go first: renaming a
 * table checks the views that name it. test_store_migrate.c builds a v2
 * file from tests/unit/fixtures/schema-v2.sql and compares every report. */
struct migration {
	int from;
	const char *sql;
};
static const struct migration migrations[] = {
	{ 1, "CREATE TABLE rollup_marks (boot INTEGER PRIMARY KEY, through_id INTEGER NOT NULL);"
	     "CREATE TABLE rollup_rules (minute INTEGER NOT NULL, boot INTEGER NOT NULL, policy INTEGER,"
	     " rule INTEGER, hook INTEGER NOT NULL, verdict INTEGER NOT NULL, enforced INTEGER NOT NULL,"
	     " n INTEGER NOT NULL, first INTEGER NOT NULL, last INTEGER NOT NULL);"
	     "CREATE TABLE rollup_subjects (minute INTEGER NOT NULL, boot INTEGER NOT NULL,"
	     " subject INTEGER NOT NULL, verdict INTEGER NOT NULL, n INTEGER NOT NULL,"
	     " first INTEGER NOT NULL, last INTEGER NOT NULL);"
	     "INSERT INTO rollup_marks SELECT id, id << 40 FROM boots;" },
	{ 2, "DROP VIEW IF EXISTS events_v; DROP VIEW IF EXISTS would_deny_v;"
	     "DROP VIEW IF EXISTS counters_v; DROP VIEW IF EXISTS loads_v; DROP VIEW IF EXISTS modes_v;"
	     "DROP VIEW IF EXISTS summary_v; DROP VIEW IF EXISTS top_subjects_v;"
	     "CREATE TEMP TABLE v3_ofam (object INTEGER PRIMARY KEY, hook INTEGER NOT NULL);"
	     "INSERT INTO v3_ofam SELECT object, min(hook) FROM events WHERE object IS NOT NULL"
	     " GROUP BY object;"
	     "CREATE TABLE v3_objects (id INTEGER PRIMARY KEY, family INTEGER NOT NULL,"
	     " text TEXT NOT NULL, k1 INTEGER NOT NULL, k2 INTEGER NOT NULL);"
	     "INSERT INTO v3_objects SELECT o.id, coalesce((SELECT h.family FROM v3_ofam f"
	     " JOIN hook_names h ON h.id = f.hook WHERE f.object = o.id), 0), o.addr, o.port, o.proto"
	     " FROM objects o;"
	     "DROP TABLE v3_ofam; DROP TABLE objects; ALTER TABLE v3_objects RENAME TO objects;"
	     "CREATE TABLE v3_strings (id INTEGER PRIMARY KEY, s TEXT NOT NULL);"
	     "INSERT INTO v3_strings SELECT id, s FROM strings;"
	     "DROP TABLE strings; ALTER TABLE v3_strings RENAME TO strings;"
	     "CREATE TABLE v3_subjects (id INTEGER PRIMARY KEY, comm INTEGER NOT NULL,"
	     " exe INTEGER NOT NULL, cgroup INTEGER NOT NULL, cgroup_id INTEGER NOT NULL,"
	     " mnt_ns INTEGER NOT NULL, uid INTEGER NOT NULL, euid INTEGER NOT NULL,"
	     " gid INTEGER NOT NULL, loginuid INTEGER NOT NULL, sessionid INTEGER NOT NULL);"
	     "INSERT INTO v3_subjects SELECT id, comm, exe, cgroup, cgroup_id, mnt_ns, uid, euid, gid,"
	     " loginuid, sessionid FROM subjects;"
	     "DROP TABLE subjects; ALTER TABLE v3_subjects RENAME TO subjects;"
	     "ALTER TABLE events ADD COLUMN flags INTEGER NOT NULL DEFAULT 0;"
	     "ALTER TABLE verdict_names ADD COLUMN denies INTEGER NOT NULL DEFAULT 0;" },
};

/* ---- bounded LRU cache: byte-string key -> int64 ---------------------- */

struct centry {
	uint64_t hash;
	int64_t val;
	uint8_t *key;
	uint32_t klen;
	uint32_t hnext; /* bucket chain; 0 = end */
	uint32_t prev, next; /* LRU list, head = most recent; 0 = none */
};

struct cache {
	struct centry *e; /* e[1..cap]; e[0] unused so that 0 means "none" */
	uint32_t *bucket;
	uint32_t cap, nbucket, used, head, tail, free;
	size_t bytes;
};

static uint64_t hash_bytes(const uint8_t *p, size_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
	while (n >= 8) {
		uint64_t v;
		memcpy(&v, p, 8);
		h = (h ^ v) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
		p += 8;
		n -= 8;
	}
	while (n--)
		h = (h ^ *p++) * 0x100000001b3ull;
	h ^= h >> 29;
	h *= 0xc4ceb9fe1a85ec53ull;
	return h ^ (h >> 32);
}

static int cache_init(struct cache *c, uint32_t cap)
{
	c->cap = cap;
	c->nbucket = 1;
	while (c->nbucket < cap * 2)
		c->nbucket <<= 1;
	c->e = calloc(cap + 1, sizeof(*c->e));
	c->bucket = calloc(c->nbucket, sizeof(*c->bucket));
	if (!c->e || !c->bucket)
		return -ENOMEM;
	for (uint32_t i = 1; i <= cap; i++)
		c->e[i].next = i < cap ? i + 1 : 0;
	c->free = 1;
	return 0;
}

static void cache_clear(struct cache *c)
{
	if (!c->e)
		return;
	for (uint32_t i = 1; i <= c->cap; i++) {
		free(c->e[i].key);
		c->e[i] = (struct centry){ .next = i < c->cap ? i + 1 : 0 };
	}
	memset(c->bucket, 0, c->nbucket * sizeof(*c->bucket));
	c->free = 1;
	c->head = c->tail = c->used = 0;
	c->bytes = 0;
}

static void cache_free(struct cache *c)
{
	cache_clear(c);
	free(c->e);
	free(c->bucket);
}

static void lru_unlink(struct cache *c, uint32_t i)
{
	struct centry *x = &c->e[i];
	if (x->prev)
		c->e[x->prev].next = x->next;
	else
		c->head = x->next;
	if (x->next)
		c->e[x->next].prev = x->prev;
	else
		c->tail = x->prev;
	x->prev = x->next = 0;
}

static void lru_push_front(struct cache *c, uint32_t i)
{
	c->e[i].prev = 0;
	c->e[i].next = c->head;
	if (c->head)
		c->e[c->head].prev = i;
	c->head = i;
	if (!c->tail)
		c->tail = i;
}

static int cache_get(struct cache *c, const uint8_t *key, uint32_t klen, uint64_t h, int64_t *val)
{
	if (!c->e) /* read-only store: no cache */
		return 0;
	for (uint32_t i = c->bucket[h & (c->nbucket - 1)]; i; i = c->e[i].hnext) {
		struct centry *x = &c->e[i];
		if (x->hash == h && x->klen == klen && memcmp(x->key, key, klen) == 0) {
			if (c->head != i) {
				lru_unlink(c, i);
				lru_push_front(c, i);
			}
			*val = x->val;
			return 1;
		}
	}
	return 0;
}

static void cache_evict_tail(struct cache *c)
{
	uint32_t i = c->tail;
	struct centry *x = &c->e[i];
	uint32_t *pp = &c->bucket[x->hash & (c->nbucket - 1)];
	while (*pp != i)
		pp = &c->e[*pp].hnext;
	*pp = x->hnext;
	lru_unlink(c, i);
	c->bytes -= x->klen;
	free(x->key);
	*x = (struct centry){ .next = c->free };
	c->free = i;
	c->used--;
}

/* Insert a key known to be absent. Failure to allocate only loses caching. */
static void cache_put(struct cache *c, const uint8_t *key, uint32_t klen, uint64_t h, int64_t val)
{
	if (!c->e || klen > CACHE_KEY_MAX)
		return;
	while (c->tail && (!c->free || c->bytes + klen > CACHE_KEY_BYTES))
		cache_evict_tail(c);
	uint8_t *k = malloc(klen ? klen : 1);
	if (!k)
		return;
	memcpy(k, key, klen);
	uint32_t i = c->free;
	struct centry *x = &c->e[i];
	c->free = x->next;
	uint32_t *b = &c->bucket[h & (c->nbucket - 1)];
	*x = (struct centry){ .hash = h, .val = val, .key = k, .klen = klen, .hnext = *b };
	*b = i;
	lru_push_front(c, i);
	c->bytes += klen;
	c->used++;
}

/* ---- front caches ---------------------------------------------------- */

/*
 * Direct-mapped, keys inline, in front of the LRU for the two lookups every
 * event makes (subject, object). Measured (perf, bench/ingest_bench): with
 * the LRU alone, its bucket -> entry -> malloc'ed key pointer chase was the
 * largest cost of the ingest path after SQLite itself, because the long tail
 * keeps the 32k-entry LRU's working set out of the CPU caches. A hot subject
 * or destination now costs one probe of one slot. A slot is overwritten by
 * whatever hashes there; a miss falls back to the LRU, which stays the
 * authority (and the bound on memory). Emptied with the LRU on rollback.
 */
#define FRONT_SUBJ 1024u
#define FRONT_SUBJ_KEY 176u
#define FRONT_OBJ 4096u
#define OBJ_KEY_LEN (2 + DL_STORE_OBJ_KEY_MAX) /* 'O', family, identity */

struct fsubj {
	uint64_t hash;
	int64_t val; /* 0: empty */
	uint32_t klen;
	uint8_t key[FRONT_SUBJ_KEY];
};

struct fobj {
	uint64_t hash;
	int64_t val;
	uint8_t key[OBJ_KEY_LEN];
};

struct front {
	struct fsubj *subj;
	struct fobj *obj;
};

static int front_init(struct front *f)
{
	f->subj = calloc(FRONT_SUBJ, sizeof(*f->subj));
	f->obj = calloc(FRONT_OBJ, sizeof(*f->obj));
	return f->subj && f->obj ? 0 : -ENOMEM;
}

static void front_clear(struct front *f)
{
	if (f->subj)
		memset(f->subj, 0, FRONT_SUBJ * sizeof(*f->subj));
	if (f->obj)
		memset(f->obj, 0, FRONT_OBJ * sizeof(*f->obj));
}

static void front_free(struct front *f)
{
	free(f->subj);
	free(f->obj);
}

/* ---- rollup accumulator ---------------------------------------------- */

/*
 * Committed events not yet in the rollup tables, aggregated in memory by
 * (minute, boot, key): open addressing, fixed capacity, so memory is bounded;
 * a table 3/4 full forces a flush. `pend` holds the current transaction's
 * events, folded in only once their COMMIT succeeded, so a rollback never
 * has to be undone here. See schema.sql (rollup_*) for the contract.
 */
#define ROLL_RULES 4096u
#define ROLL_SUBJ 32768u
#define ROLL_FLUSH_EVENTS 65536    /* ... and a new minute has begun */
#define ROLL_FLUSH_MAX (1 << 20)   /* whatever the minute */
#define ROLL_BOOTS 4

struct rent {
	int64_t k[5]; /* minute, boot, then per table; k[0] == INT64_MIN: empty */
	int64_t n, first, last;
};

struct rtab {
	struct rent *e;
	uint32_t cap, used;
};

struct pend {
	int64_t id, ts, policy, rule, subject;
	uint8_t hook, verdict, enforced;
};

struct rollup {
	struct rtab rules, subj;
	int64_t events;                       /* committed events in the tables */
	struct { int64_t boot, maxid; } bmax[ROLL_BOOTS]; /* per boot in the tables */
	struct pend *pend;
	size_t npend, cpend;
	int force;    /* flush at the next commit (late event, full table) */
	int resync;   /* tables unknown after a failed flush: rebuild from events */
	int64_t mark_boot, mark;  /* cached rollup_marks row of the current boot */
	int64_t emax_boot, emax;  /* cached max(events.id) of that boot */
	int64_t newest, flushed_newest; /* newest minute seen; at the last flush */
};

static int rtab_init(struct rtab *t, uint32_t cap)
{
	t->cap = cap;
	t->used = 0;
	t->e = malloc(cap * sizeof(*t->e));
	if (!t->e)
		return -ENOMEM;
	for (uint32_t i = 0; i < cap; i++)
		t->e[i].k[0] = INT64_MIN;
	return 0;
}

static void rtab_clear(struct rtab *t)
{
	if (!t->e || !t->used)
		return;
	for (uint32_t i = 0; i < t->cap; i++)
		t->e[i].k[0] = INT64_MIN;
	t->used = 0;
}

/* Add one event (n = 1) under key k. Returns 1 when the table is 3/4 full. */
static int rtab_add(struct rtab *t, const int64_t k[5], int64_t ts)
{
	uint64_t h = hash_bytes((const uint8_t *)k, 5 * sizeof(int64_t));
	for (uint32_t i = (uint32_t)h & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
		struct rent *x = &t->e[i];
		if (x->k[0] == INT64_MIN) {
			memcpy(x->k, k, sizeof(x->k));
			x->n = 1;
			x->first = x->last = ts;
			t->used++;
			break;
		}
		if (memcmp(x->k, k, sizeof(x->k)) == 0) {
			x->n++;
			x->first = ts < x->first ? ts : x->first;
			x->last = ts > x->last ? ts : x->last;
			break;
		}
	}
	return t->used * 4 >= t->cap * 3;
}

/* ---- the store ------------------------------------------------------- */

enum {
	S_STR_PUT, S_SUBJ_PUT, S_OBJ_PUT, S_MINUTE,
	S_BOOT_GET, S_BOOT_PUT, S_POL_GET, S_POL_PUT, S_RULE_PUT, S_LOAD_LAST, S_LOAD_PUT,
	S_POL_FIRST, S_MODE, S_COUNTER, S_BEGIN, S_COMMIT, S_ROLLBACK,
	S_RET_OLDEST, S_RET_DEL, S_RET_MIN_DEL, S_RET_MIN_UPD, S_RET_BOOT,
	S_ROLL_RULE, S_ROLL_SUBJ, S_ROLL_MARK, S_MARK_GET, S_EMAX, S_EXISTS, S_MARK_PUT,
	S_RET_ROLL_R, S_RET_ROLL_S, S_AMARK_INIT, S_AMARK_GET, S_AMARK_SET,
	S_N
};

static const char *const stmt_sql[S_N] = {
	[S_STR_PUT] = "INSERT INTO strings(s) VALUES (?1)",
	[S_SUBJ_PUT] = "INSERT INTO subjects(exe, comm, cgroup, cgroup_id, mnt_ns, uid, euid, gid,"
		       " loginuid, sessionid) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	[S_OBJ_PUT] = "INSERT INTO objects(family, text, k1, k2) VALUES (?1, ?2, ?3, ?4)",
	[S_MINUTE] = "INSERT INTO minutes(minute, boot, first_id, last_id, n) VALUES (?1, ?2, ?3, ?4, ?5)"
		     " ON CONFLICT(minute, boot) DO UPDATE SET first_id = min(first_id, excluded.first_id),"
		     " last_id = max(last_id, excluded.last_id), n = n + excluded.n",
	[S_BOOT_GET] = "SELECT id FROM boots WHERE boot_id = ?1",
	[S_BOOT_PUT] = "INSERT INTO boots(boot_id, boot_wall_ns) VALUES (?1, ?2)",
	[S_POL_GET] = "SELECT id FROM policies WHERE sha256 = ?1",
	[S_POL_PUT] = "INSERT INTO policies(sha256, name, text) VALUES (?1, ?2, ?3)",
	[S_RULE_PUT] = "INSERT INTO rules(policy, idx, rule_id, family, action, text)"
		       " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[S_LOAD_LAST] = "SELECT policy FROM loads WHERE boot = ?1 AND gen = ?2 ORDER BY rowid DESC LIMIT 1",
	[S_LOAD_PUT] = "INSERT INTO loads(boot, gen, policy, ts) VALUES (?1, ?2, ?3, ?4)",
	[S_POL_FIRST] = "UPDATE policies SET first_loaded = ?2 WHERE id = ?1"
			" AND (first_loaded IS NULL OR first_loaded > ?2)",
	[S_MODE] = "INSERT INTO modes(boot, family, mode, ts) VALUES (?1, ?2, ?3, ?4)",
	[S_COUNTER] = "INSERT INTO counters(boot, family, kind, value, ts) VALUES (?1, ?2, ?3, ?4, ?5)",
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_RET_OLDEST] = "SELECT minute, boot, first_id, last_id FROM minutes ORDER BY minute, boot LIMIT 1",
	[S_RET_DEL] = "DELETE FROM events WHERE id BETWEEN ?1 AND ?2 AND ts < ?3",
	[S_RET_MIN_DEL] = "DELETE FROM minutes WHERE minute = ?1 AND boot = ?2",
	[S_RET_MIN_UPD] = "UPDATE minutes SET first_id = ?3, n = max(n - ?4, 0)"
			  " WHERE minute = ?1 AND boot = ?2",
	[S_RET_BOOT] = "SELECT coalesce(max(id), 0) FROM boots",
	[S_ROLL_RULE] = "INSERT INTO rollup_rules(minute, boot, policy, rule, hook, verdict, enforced,"
			" n, first, last) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	[S_ROLL_SUBJ] = "INSERT INTO rollup_subjects(minute, boot, subject, verdict, n, first, last)"
			" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[S_ROLL_MARK] = "INSERT INTO rollup_marks(boot, through_id) VALUES (?1, ?2)"
			" ON CONFLICT(boot) DO UPDATE SET through_id = max(through_id, excluded.through_id)",
	[S_MARK_GET] = "SELECT through_id FROM rollup_marks WHERE boot = ?1",
	[S_EMAX] = "SELECT coalesce(max(id), ?1) FROM events WHERE id >= ?1 AND id < ?2",
	[S_EXISTS] = "SELECT 1 FROM events WHERE id = ?1",
	[S_MARK_PUT] = "INSERT OR IGNORE INTO rollup_marks(boot, through_id) VALUES (?1, ?1 << 40)",
	[S_RET_ROLL_R] = "DELETE FROM rollup_rules WHERE minute = ?1 AND boot = ?2",
	[S_RET_ROLL_S] = "DELETE FROM rollup_subjects WHERE minute = ?1 AND boot = ?2",
	[S_AMARK_INIT] = "INSERT OR IGNORE INTO audit_marks(boot, through_id) SELECT ?1,"
			 " coalesce(max(id), ?1 << 40) FROM events WHERE id >= ?1 << 40 AND id < (?1 + 1) << 40",
	[S_AMARK_GET] = "SELECT through_id FROM audit_marks WHERE boot = ?1",
	[S_AMARK_SET] = "UPDATE audit_marks SET through_id = ?2 WHERE boot = ?1",
};

/* Every event after a boot's mark into the rollups, the marks moved to the
 * last event. Used on every writable open (after a crash the in-memory
 * aggregation was lost; after the v1 -> v2 migration everything is after
 * the mark) and after a failed flush. A few seeks when there is nothing. */
static const char rollup_repair_sql[] =
	"INSERT OR IGNORE INTO rollup_marks(boot, through_id) SELECT id, id << 40 FROM boots;"
	"INSERT INTO rollup_rules(minute, boot, policy, rule, hook, verdict, enforced, n, first, last)"
	" SELECT e.ts / 60000, m.boot, e.policy, e.rule, e.hook, e.verdict, e.enforced,"
	" count(*), min(e.ts), max(e.ts)"
	" FROM rollup_marks m JOIN events e ON e.id > m.through_id AND e.id < ((m.boot + 1) << 40)"
	" GROUP BY 1, 2, 3, 4, 5, 6, 7;"
	"INSERT INTO rollup_subjects(minute, boot, subject, verdict, n, first, last)"
	" SELECT e.ts / 60000, m.boot, e.subject, e.verdict, count(*), min(e.ts), max(e.ts)"
	" FROM rollup_marks m JOIN events e ON e.id > m.through_id AND e.id < ((m.boot + 1) << 40)"
	" GROUP BY 1, 2, 3, 4;"
	"UPDATE rollup_marks SET through_id = coalesce((SELECT max(id) FROM events"
	" WHERE id > through_id AND id < ((boot + 1) << 40)), through_id);";

/* The columns of an events row as the writer binds them, in the order of
 * struct group's v[]: the one list both event INSERTs are built from
 * (event_insert_sql()). */
static const char *const ev_columns[] = {
	"id", "ts", "hook", "verdict", "enforced", "policy", "rule", "subject", "object", "tgid", "pid",
	"ppid", "flags",
};
#define EV_COLS (sizeof(ev_columns) / sizeof(ev_columns[0]))
_Static_assert(EV_COLS <= 16, "struct group's null mask has 16 bits");

/* Events waiting for their multi-row INSERT: all of one (minute, boot). */
#define GROUP_ROWS 32
struct group {
	unsigned n;
	int64_t minute, boot;
	int64_t v[GROUP_ROWS][EV_COLS];
	uint16_t nulls[GROUP_ROWS]; /* bit c: column c is NULL */
};

struct minute_acc {
	int valid;
	int64_t minute, boot, first, last, n;
};

struct dl_store {
	sqlite3 *db;
	int flags;
	int in_txn;
	sqlite3_stmt *stmt[S_N];
	struct cache cache;
	struct front front;
	struct minute_acc min;
	struct group grp;
	sqlite3_stmt *ins_one, *ins_group; /* 1-row and GROUP_ROWS-row INSERTs */
	struct rollup roll;
	/* audit_marks row of the boot being written (dl_store_audit_mark_init):
	 * a would-deny/deny stored at or below it lowers it in the same
	 * transaction (alower; INT64_MAX: nothing to lower). */
	int64_t amark_boot, amark, alower;
	uint8_t *kbuf; /* scratch for cache keys */
	size_t kcap;
	char *path;
	uint64_t retained; /* events deleted by retention since open */
	int snap_fd;           /* read-only snapshot open: the file, else -1 */
	struct stat snap;      /* ... and its fstat at open */
	char err[512];
};

static __thread char open_err[512];

static int roll_flush_now(struct dl_store *st);
static int amark_lower(struct dl_store *st);
static void amark_lowered(struct dl_store *st);
static int hook_family(unsigned hook);

static int errno_of(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK: return 0;
	case SQLITE_BUSY: case SQLITE_LOCKED: return -EBUSY;
	case SQLITE_NOMEM: return -ENOMEM;
	case SQLITE_READONLY: return -EROFS;
	case SQLITE_FULL: return -ENOSPC;
	case SQLITE_CANTOPEN: return -ENOENT;
	case SQLITE_PERM: case SQLITE_AUTH: return -EACCES;
	case SQLITE_CORRUPT: case SQLITE_NOTADB: return -EBADMSG;
	case SQLITE_CONSTRAINT: return -EEXIST;
	case SQLITE_TOOBIG: case SQLITE_RANGE: case SQLITE_MISMATCH: return -EINVAL;
	default: return -EIO;
	}
}

static int seterr(struct dl_store *st, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int seterr(struct dl_store *st, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(st->err, sizeof(st->err), fmt, ap);
	va_end(ap);
	return err;
}

/* Record an SQLite failure as "store: <what>: <sqlite message>". If SQLite
 * rolled the transaction back on its own (I/O error, full disk), the ids in
 * the cache may be gone: forget them. */
static int fail(struct dl_store *st, int rc, const char *what)
{
	int err = errno_of(rc);
	const char *path = st->path ? st->path : "?";
	/* The three conditions an operator must act on name the file first. */
	switch (rc & 0xff) {
	case SQLITE_FULL:
		seterr(st, err, "store: database or disk is full: %s (%s)", path, what);
		break;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		seterr(st, err, "store: database is locked: %s (%s: another connection holds the"
				" write lock)", path, what);
		break;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		seterr(st, err, "store: %s is not a drylock database or is corrupt: %s: %s", path,
		       what, sqlite3_errmsg(st->db));
		break;
	default:
		seterr(st, err ? err : -EIO, "store: %s: %s", what, sqlite3_errmsg(st->db));
	}
	if (st->in_txn && sqlite3_get_autocommit(st->db)) {
		st->in_txn = 0;
		st->min.valid = 0;
		st->grp.n = 0;
		st->roll.npend = 0;
		st->roll.emax_boot = 0;
		cache_clear(&st->cache);
		front_clear(&st->front);
	}
	return err ? err : -EIO;
}

static sqlite3_stmt *stmt(struct dl_store *st, int i)
{
	if (!st->stmt[i] &&
	    sqlite3_prepare_v3(st->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &st->stmt[i], NULL) !=
		    SQLITE_OK)
		return NULL;
	return st->stmt[i];
}

/* Step a statement that returns at most one row. Returns 1 and the first
 * column in *out for a row, 0 for none (or when it is a write), or <0. The
 * statement is reset either way. Bindings are not cleared (that costs a
 * call per event): every caller binds every parameter, NULLs included. */
static int step1(struct dl_store *st, sqlite3_stmt *s, const char *what, int64_t *out)
{
	int rc = sqlite3_step(s);
	int r;
	if (rc == SQLITE_ROW) {
		if (out)
			*out = sqlite3_column_int64(s, 0);
		r = 1;
	} else if (rc == SQLITE_DONE) {
		r = 0;
	} else {
		r = fail(st, rc, what);
	}
	sqlite3_reset(s);
	return r;
}

static int exec(struct dl_store *st, const char *sql, const char *what)
{
	int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? 0 : fail(st, rc, what);
}

#define PREP(st, i, s)                                                      \
	sqlite3_stmt *s = stmt(st, i);                                      \
	if (!s)                                                             \
		return fail(st, sqlite3_errcode((st)->db), "prepare " #i)

/* ---- open, version, migrations -------------------------------------- */

/* Read meta.schema_version: >0 the version, 0 for an empty file (no tables
 * at all), <0 on error (not a drylock database, unreadable). */
static int schema_version(struct dl_store *st, const char *path)
{
	sqlite3_stmt *s = NULL;
	int64_t v = 0;
	int rc = sqlite3_prepare_v2(st->db, "SELECT count(*) FROM sqlite_master", -1, &s, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW)
			v = sqlite3_column_int64(s, 0);
		sqlite3_finalize(s);
	}
	if (rc != SQLITE_ROW && rc != SQLITE_OK)
		return fail(st, rc, "open");
	if (v == 0)
		return 0;
	rc = sqlite3_prepare_v2(st->db, "SELECT value FROM meta WHERE key = 'schema_version'", -1, &s,
				NULL);
	if (rc != SQLITE_OK)
		return seterr(st, -EBADMSG,
			      "store: %s is not a drylock database or is corrupt: no meta table (%s)",
			      path, sqlite3_errmsg(st->db));
	v = -1;
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) == SQLITE_INTEGER)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	if (v <= 0 || v > INT_MAX)
		return seterr(st, -EBADMSG,
			      "store: %s is not a drylock database or is corrupt: no schema_version",
			      path);
	return (int)v;
}

static int migrate(struct dl_store *st, int from)
{
	for (int v = from; v < DL_SCHEMA_VERSION; v++) {
		const struct migration *m = NULL;
		for (size_t i = 0; i < sizeof(migrations) / sizeof(migrations[0]); i++)
			if (migrations[i].sql && migrations[i].from == v)
				m = &migrations[i];
		if (!m)
			return seterr(st, -ENOTSUP, "store: no migration from schema version %d", v);
		char what[64];
		snprintf(what, sizeof(what), "migrate schema %d -> %d", v, v + 1);
		int r = exec(st, m->sql, what);
		if (r < 0)
			return r;
	}
	return 0;
}

struct name_row {
	unsigned v;
	const char *s;
	unsigned family; /* hooks: the family; verdicts: 1 if it denies */
};

static int fill_names(struct dl_store *st, const char *table, const struct name_row *rows, size_t n,
		      const char *third)
{
	char sql[160];
	sqlite3_stmt *s;
	snprintf(sql, sizeof(sql), "INSERT OR REPLACE INTO %s(id, name%s%s) VALUES (?1, ?2%s)", table,
		 third ? ", " : "", third ? third : "", third ? ", ?3" : "");
	int rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
	if (rc != SQLITE_OK)
		return fail(st, rc, table);
	for (size_t i = 0; i < n; i++) {
		sqlite3_bind_int64(s, 1, rows[i].v);
		sqlite3_bind_text(s, 2, rows[i].s, -1, SQLITE_STATIC);
		if (third)
			sqlite3_bind_int64(s, 3, rows[i].family);
		rc = sqlite3_step(s);
		sqlite3_reset(s);
		if (rc != SQLITE_DONE) {
			int r = fail(st, rc, table);
			sqlite3_finalize(s);
			return r;
		}
	}
	sqlite3_finalize(s);
	return 0;
}

#define NAME3(n, v, s) { v, s, 0 },
#define NAMEV(n, v, s) { v, s, v != DL_VERDICT_ALLOW },
#define NAME4(n, v, s, stem) { v, s, 0 },
#define NAME5(n, v, s, f, op) { v, s, DL_FAMILY_##f },
static const struct name_row family_rows[] = { DL_FAMILIES(NAME4) };
static const struct name_row hook_rows[] = { DL_HOOKS(NAME5) };
static const struct name_row verdict_rows[] = { DL_VERDICTS(NAMEV) };
static const struct name_row action_rows[] = { DL_ACTIONS(NAME3) };
static const struct name_row mode_rows[] = { DL_MODES(NAME3) };
#undef NAME3
#undef NAMEV
#undef NAME4
#undef NAME5
#define NROWS(a) (sizeof(a) / sizeof((a)[0]))

/* Each family's names for its objects.k2 values (store/obj-<stem>.c). */
static int fill_family_parts(struct dl_store *st)
{
	sqlite3_stmt *s;
	int rc = sqlite3_prepare_v2(st->db, "INSERT OR REPLACE INTO object_kind_names(family, id, name)"
				    " VALUES (?1, ?2, ?3)", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return fail(st, rc, "object_kind_names");
	for (unsigned f = 1; f < DL_FAMILY_MAX; f++) {
		const struct dl_store_family *sf = dl_store_families[f];
		for (const struct dl_store_kind *k = sf ? sf->kinds : NULL; k && k->name; k++) {
			sqlite3_bind_int64(s, 1, f);
			sqlite3_bind_int64(s, 2, k->k2);
			sqlite3_bind_text(s, 3, k->name, -1, SQLITE_STATIC);
			rc = sqlite3_step(s);
			sqlite3_reset(s);
			if (rc != SQLITE_DONE) {
				int r = fail(st, rc, "object_kind_names");
				sqlite3_finalize(s);
				return r;
			}
		}
	}
	sqlite3_finalize(s);
	return 0;
}

const char *dl_store_object_sql(void)
{
	static char sql[2048];
	size_t n;

	if (sql[0])
		return sql;
	n = (size_t)snprintf(sql, sizeof(sql), "CASE o.family");
	for (unsigned f = 1; f < DL_FAMILY_MAX && n < sizeof(sql); f++)
		if (dl_store_families[f] && dl_store_families[f]->view_object)
			n += (size_t)snprintf(sql + n, sizeof(sql) - n, " WHEN %u THEN (%s)", f,
					      dl_store_families[f]->view_object);
	if (n < sizeof(sql))
		n += (size_t)snprintf(sql + n, sizeof(sql) - n, " ELSE o.text END");
	if (n >= sizeof(sql)) /* the fragments outgrew the buffer: plain text */
		snprintf(sql, sizeof(sql), "o.text");
	return sql;
}

/* schema.sql with events_v.object from the families' fragments: the
 * view's marker becomes dl_store_object_sql(). */
static int exec_schema(struct dl_store *st)
{
	static const char marker[] = "NULL /*@object@*/";
	const char *at = strstr(dl_schema_sql, marker), *obj = dl_store_object_sql();
	size_t len;
	char *sql;
	int r;

	if (!at)
		return seterr(st, -EINVAL, "store: schema.sql lacks the events_v object marker");
	sql = malloc(sizeof(dl_schema_sql) + strlen(obj));
	if (!sql)
		return seterr(st, -ENOMEM, "store: out of memory");
	len = (size_t)(at - dl_schema_sql);
	memcpy(sql, dl_schema_sql, len);
	strcpy(sql + len, obj);
	strcat(sql + len, at + strlen(marker));
	r = exec(st, sql, "create schema");
	free(sql);
	return r;
}

static int setup_schema(struct dl_store *st, const char *path)
{
	int r = exec(st, "BEGIN IMMEDIATE", "begin schema setup");
	if (r < 0)
		return r;
	/* Read again under the write lock: another writer may have moved it. */
	int v = schema_version(st, path);
	if (v < 0) {
		r = v;
		goto fail;
	}
	if (v > DL_SCHEMA_VERSION) {
		r = seterr(st, -EPROTONOSUPPORT,
			   "store: database %s has schema version %d, newer than this drylock (%d)",
			   path, v, DL_SCHEMA_VERSION);
		goto fail;
	}
	if (v > 0 && (r = migrate(st, v)) < 0)
		goto fail;
	if ((r = exec_schema(st)) < 0 ||
	    (r = fill_names(st, "family_names", family_rows, NROWS(family_rows), NULL)) < 0 ||
	    (r = fill_names(st, "hook_names", hook_rows, NROWS(hook_rows), "family")) < 0 ||
	    (r = fill_names(st, "verdict_names", verdict_rows, NROWS(verdict_rows), "denies")) < 0 ||
	    (r = fill_names(st, "action_names", action_rows, NROWS(action_rows), NULL)) < 0 ||
	    (r = fill_names(st, "mode_names", mode_rows, NROWS(mode_rows), NULL)) < 0 ||
	    (r = fill_family_parts(st)) < 0 ||
	    (r = exec(st, rollup_repair_sql, "rollup repair")) < 0)
		goto fail;
	char sql[128];
	snprintf(sql, sizeof(sql),
		 "INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', %d)",
		 DL_SCHEMA_VERSION);
	if ((r = exec(st, sql, "set schema version")) < 0 ||
	    (r = exec(st, "COMMIT", "commit schema setup")) < 0)
		goto fail;
	return 0;
fail:
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

static int pragma_check(struct dl_store *st, const char *sql, const char *want)
{
	sqlite3_stmt *s;
	int rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
	if (rc != SQLITE_OK)
		return fail(st, rc, sql);
	rc = sqlite3_step(s);
	int ok = rc == SQLITE_ROW && want &&
		 strcmp((const char *)sqlite3_column_text(s, 0) ?: "", want) == 0;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		int r = fail(st, rc, sql);
		sqlite3_finalize(s);
		return r;
	}
	sqlite3_finalize(s);
	if (want && !ok)
		return seterr(st, -EIO, "store: %s: did not take effect", sql);
	return 0;
}

/* Create a new, empty drylock database file at path, mode 0600 whatever the
 * umask. SQLite creates -wal and -shm with the mode (and, as root, the
 * owner) of the database file, so this decides all three. The file is made
 * under a temporary name in the same directory (PATH.new-XXXXXX), SQLite
 * writes its first page there (auto_vacuum, WAL: both must precede the first
 * table), and it is renamed into place only if nothing exists at path: a
 * crash never leaves an empty file at path, and nothing is ever created
 * through a symlink at path. -EEXIST if something appeared at path meanwhile
 * (the caller then opens that). */
static int create_new(struct dl_store *st, const char *path)
{
	char tmp[PATH_MAX];
	sqlite3 *db = NULL;
	int e, rc;

	if (snprintf(tmp, sizeof(tmp), "%s.new-XXXXXX", path) >= (int)sizeof(tmp))
		return seterr(st, -ENAMETOOLONG, "store: cannot create database %s: name too long",
			      path);
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		return seterr(st, -e, "store: cannot create database %s: %s: %s", path, tmp,
			      strerror(e));
	}
	e = fchmod(fd, 0600) < 0 ? errno : 0;
	close(fd);
	if (e) {
		unlink(tmp);
		return seterr(st, -e, "store: cannot create database %s: chmod %s: %s", path, tmp,
			      strerror(e));
	}
	rc = sqlite3_open_v2(tmp, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "PRAGMA auto_vacuum = INCREMENTAL; PRAGMA journal_mode = WAL",
				  NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		int r = seterr(st, errno_of(rc), "store: cannot create database %s: %s: %s", path,
			       tmp, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		unlink(tmp);
		return r;
	}
	sqlite3_close(db); /* the last connection: removes tmp-wal and tmp-shm */
	e = renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0 ? 0 : errno;
	if (e == EINVAL || e == ENOSYS || e == EOPNOTSUPP) /* file system without it */
		e = link(tmp, path) == 0 ? 0 : errno;
	unlink(tmp); /* gone after a rename; after a link (or a failure) still there */
	if (e == EEXIST)
		return -EEXIST;
	if (e)
		return seterr(st, -e, "store: cannot create database %s: %s", path, strerror(e));
	/* Make the new name durable before events are written to it. */
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) + 1 : 1, slash ? path : ".");
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

static const char *file_type(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFIFO: return "a FIFO";
	case S_IFCHR: return "a character device";
	case S_IFBLK: return "a block device";
	case S_IFSOCK: return "a socket";
	case S_IFLNK: return "a symbolic link";
	default: return "not a file";
	}
}

/* Only a regular file can be a database: SQLite would block opening a FIFO
 * (waiting for a writer) or read a device. */
static int check_regular(struct dl_store *st, const char *path, const struct stat *sb)
{
	if (S_ISREG(sb->st_mode))
		return 0;
	if (S_ISDIR(sb->st_mode))
		return seterr(st, -EISDIR, "store: database %s is a directory", path);
	return seterr(st, -EINVAL, "store: database %s is not a regular file (%s)", path,
		      file_type(sb->st_mode));
}

/* Check what can be checked before SQLite turns it into "unable to open
 * database file" or blocks: what path names must be a regular file (looked
 * at through an O_PATH descriptor, which neither blocks on a FIFO nor opens
 * a device); a read-only open needs it to exist, a write open needs it or a
 * writable directory to create it in (then creates it: create_new()). */
static int precheck(struct dl_store *st, const char *path, int rdonly)
{
	struct stat sb;
	int fd = open(path, O_PATH | O_CLOEXEC);
	if (fd >= 0) {
		int e = fstat(fd, &sb) < 0 ? errno : 0;
		close(fd);
		if (e)
			return seterr(st, -e, "store: database %s: %s", path, strerror(e));
		return check_regular(st, path, &sb);
	}
	int e = errno;
	if (e == ENOENT && lstat(path, &sb) == 0 && S_ISLNK(sb.st_mode)) {
		/* Creating the database would put it where the link points, a
		 * place the user did not name (and may not have meant). */
		char to[PATH_MAX];
		ssize_t n = readlink(path, to, sizeof(to) - 1);
		to[n > 0 ? n : 0] = 0;
		return seterr(st, -ENOENT,
			      "store: database %s is a dangling symbolic link to %s: not creating"
			      " a database there (name that path, or remove the link)",
			      path, to);
	}
	if (rdonly || e != ENOENT) {
		if (e == ENOENT)
			return seterr(st, -ENOENT, "store: database %s does not exist", path);
		return seterr(st, -e, "store: database %s: %s", path, strerror(e));
	}
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if (access(dir, W_OK | X_OK) < 0) {
		e = errno;
		return seterr(st, -e, "store: cannot create database %s: directory %s: %s", path, dir,
			      strerror(e));
	}
	return create_new(st, path);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Refuse, before SQLite sees it, a file that is not an SQLite database or
 * that is shorter than its own header says (a truncated copy, a disk that
 * lost the tail): SQLite would open it and fail, or worse return partial
 * results, only when a missing page is touched, which may be much later.
 * The in-header size is trusted only when valid (bytes 92..95 equal the
 * change counter at 24..27, as SQLite itself checks) and when no WAL with
 * frames exists: uncheckpointed frames may legitimately extend the file. */
static int check_header(struct dl_store *st, const char *path, const char *real)
{
	uint8_t h[100];
	struct stat sb, wb;
	char wal[PATH_MAX];
	/* O_NONBLOCK: if path was swapped for a FIFO since precheck(), the
	 * open returns and fstat says so. */
	int fd = open(real, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return 0; /* unreadable: SQLite will say */
	int e = fstat(fd, &sb) < 0 ? errno : 0;
	if (e || !S_ISREG(sb.st_mode)) {
		close(fd);
		if (e)
			return seterr(st, -e, "store: database %s: %s", path, strerror(e));
		return check_regular(st, path, &sb);
	}
	ssize_t got;
	size_t n = 0;
	while (n < sizeof(h) && (got = read(fd, h + n, sizeof(h) - n)) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			e = errno;
			close(fd);
			return seterr(st, -e, "store: database %s: %s", path, strerror(e));
		}
		n += (size_t)got;
	}
	close(fd);
	if (n == 0) /* never one of ours: create_new() writes the first page first */
		return seterr(st, -EBADMSG,
			      "store: database %s is an empty file, not a drylock database"
			      " (remove it to have a new database created there)",
			      path);
	if (n < sizeof(h) || memcmp(h, "SQLite format 3", 16) != 0)
		return seterr(st, -EBADMSG,
			      "store: %s is not a drylock database or is corrupt: no SQLite header",
			      path);
	uint32_t psz = (uint32_t)h[16] << 8 | h[17];
	if (psz == 1)
		psz = 65536;
	uint32_t pages = be32(h + 28);
	snprintf(wal, sizeof(wal), "%s-wal", real);
	int wal_frames = stat(wal, &wb) == 0 && wb.st_size > 32;
	if (!wal_frames && be32(h + 24) == be32(h + 92) && pages &&
	    (int64_t)pages * psz > (int64_t)sb.st_size)
		return seterr(st, -EBADMSG,
			      "store: %s is not a drylock database or is corrupt: truncated"
			      " (%u pages of %u bytes expected, file has %lld bytes)",
			      path, pages, psz, (long long)sb.st_size);
	return 0;
}

/* "file:" URI for path: bytes other than [A-Za-z0-9._~/-] percent-encoded,
 * and a leading "//" too (it would read as an authority), then query. */
static char *file_uri(const char *path, const char *query)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(path);
	char *u = malloc(3 * n + strlen(query) + 8), *o = u;
	if (!u)
		return NULL;
	o += sprintf(o, "file:");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)path[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("._~-", c) || (c == '/' && !(i == 0 && path[1] == '/'))) {
			*o++ = (char)c;
		} else {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	sprintf(o, "?%s", query);
	return u;
}

/* How a reader opens the database, without ever creating or writing a file.
 * A WAL database is read through its -wal and its -shm (the index of the
 * -wal that SQLite shares between connections); a read-only connection
 * would create both if missing (and, as it may not checkpoint, leave them
 * behind), or fail where it cannot ("attempt to write a readonly database",
 * "unable to open database file"). So:
 *  - -wal and -shm both exist (a collector is running, or crashed, or this is
 *    a copy of all three files): an ordinary read-only open with
 *    readonly_shm=1, so that the -shm is never written either. With a live
 *    collector SQLite reads its index; without one (or read-only files) it
 *    rebuilds the index in private memory from the -wal (SQLite >= 3.22).
 *  - a -wal with frames but no -shm: refused. The -wal may hold committed
 *    transactions that are not in the database file; reading them needs a
 *    -shm, which a reader does not create (and immutable=1 would silently
 *    ignore them).
 *  - otherwise (no -wal, or an empty one): every committed transaction is in
 *    the database file (the last writer checkpointed and removed its -wal),
 *    so it is read as immutable=1: no locks, no -wal, no -shm. That is only
 *    wrong if a writer starts and checkpoints while we read, since we hold no
 *    lock it would respect: the file's fstat is kept (snap_fd, snap) and
 *    dl_store_check_snapshot() tells the reader if it changed.
 * Returns the URI (malloc'ed) or NULL with the error set. */
static char *reader_uri(struct dl_store *st, const char *path, const char *real, int *err)
{
	char side[PATH_MAX + 8];
	struct stat wal, shm;
	int fd = open(real, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		*err = seterr(st, -e, "store: open %s: %s", path, strerror(e));
		return NULL;
	}
	if (fstat(fd, &st->snap) < 0) {
		int e = errno;
		close(fd);
		*err = seterr(st, -e, "store: %s: %s", path, strerror(e));
		return NULL;
	}
	if ((*err = check_regular(st, path, &st->snap)) < 0) {
		close(fd);
		return NULL;
	}
	snprintf(side, sizeof(side), "%s-wal", real);
	int has_wal = stat(side, &wal) == 0;
	snprintf(side, sizeof(side), "%s-shm", real);
	int has_shm = stat(side, &shm) == 0;
	char *uri;
	if (has_wal && has_shm) {
		close(fd);
		uri = file_uri(real, "mode=ro&readonly_shm=1");
	} else if (has_wal && wal.st_size > 32) {
		close(fd);
		*err = seterr(st, -EROFS,
			      "store: %s-wal holds transactions that may not be in %s yet and %s"
			      " does not exist; a read-only open never creates it. Start the"
			      " collector (it merges the -wal when it stops), or copy %s and %s-wal"
			      " to a directory you can write and read the copy",
			      real, real, side, real, real);
		return NULL;
	} else {
		st->snap_fd = fd;
		uri = file_uri(real, "immutable=1");
	}
	if (!uri)
		*err = seterr(st, -ENOMEM, "store: open %s: out of memory", path);
	return uri;
}

int dl_store_check_snapshot(struct dl_store *st)
{
	struct stat now;
	if (!st || st->snap_fd < 0)
		return 0;
	if (fstat(st->snap_fd, &now) < 0)
		return seterr(st, -errno, "store: %s: %s", st->path, strerror(errno));
	if (now.st_size != st->snap.st_size || now.st_mtim.tv_sec != st->snap.st_mtim.tv_sec ||
	    now.st_mtim.tv_nsec != st->snap.st_mtim.tv_nsec)
		return seterr(st, -ESTALE,
			      "store: %s changed while it was read (a collector started and wrote"
			      " to it): the results may mix old and new data; run again",
			      st->path);
	return 0;
}

int dl_store_open(const char *path, int flags, struct dl_store **out)
{
	int rdonly = !!(flags & DL_STORE_RDONLY);
	char *real = NULL;
	int r, rc;
	*out = NULL;
	struct dl_store *st = calloc(1, sizeof(*st));
	if (st)
		st->alower = INT64_MAX;
	if (!st) {
		snprintf(open_err, sizeof(open_err), "store: open %s: out of memory", path);
		return -ENOMEM;
	}
	st->flags = flags;
	st->snap_fd = -1;
	if (!(st->path = strdup(path))) {
		r = seterr(st, -ENOMEM, "store: open %s: out of memory", path);
		goto fail;
	}
	if ((r = precheck(st, path, rdonly)) == -EEXIST) /* created meanwhile by another */
		r = precheck(st, path, rdonly);
	if (r == -EEXIST)
		r = seterr(st, r, "store: cannot create database %s: it keeps appearing and vanishing",
			   path);
	if (r < 0)
		goto fail;
	/* SQLite names -wal and -shm after the path with symlinks resolved:
	 * look for them there. */
	if (!(real = realpath(path, NULL))) {
		r = seterr(st, -errno, "store: database %s: %s", path, strerror(errno));
		goto fail;
	}
	if ((r = check_header(st, path, real)) < 0)
		goto fail;
	if (rdonly) {
		char *uri = reader_uri(st, path, real, &r);
		if (!uri)
			goto fail;
		rc = sqlite3_open_v2(uri, &st->db,
				     SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, NULL);
		free(uri);
	} else {
		/* No SQLITE_OPEN_CREATE: precheck() made the file (0600) if needed. */
		rc = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	}
	if (rc != SQLITE_OK) {
		if ((rc & 0xff) == SQLITE_NOTADB || (rc & 0xff) == SQLITE_CORRUPT)
			r = fail(st, rc, "open");
		else
			r = seterr(st, errno_of(rc), "store: open %s: %s", path,
				   st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, 5000);

	int v = schema_version(st, path);
	if (v < 0) {
		r = v;
		goto fail;
	}
	if (v > DL_SCHEMA_VERSION) {
		r = seterr(st, -EPROTONOSUPPORT,
			   "store: database %s has schema version %d, newer than this drylock (%d)",
			   path, v, DL_SCHEMA_VERSION);
		goto fail;
	}
	if (rdonly) {
		if (v == 0) {
			r = seterr(st, -EBADMSG, "store: database %s is empty (no drylock schema)", path);
			goto fail;
		}
		if (v < DL_SCHEMA_VERSION) {
			r = seterr(st, -EPROTONOSUPPORT,
				   "store: database %s has schema version %d, this drylock needs %d:"
				   " run the collector once to migrate it",
				   path, v, DL_SCHEMA_VERSION);
			goto fail;
		}
		free(real);
		*out = st;
		return 0;
	}

	/* auto_vacuum only takes effect before the first table is created. */
	if ((v == 0 && (r = exec(st, "PRAGMA auto_vacuum = INCREMENTAL", "auto_vacuum")) < 0) ||
	    (r = pragma_check(st, "PRAGMA journal_mode = WAL", "wal")) < 0 ||
	    (r = exec(st, flags & DL_STORE_SYNC_FULL ? "PRAGMA synchronous = FULL"
						       : "PRAGMA synchronous = NORMAL",
		      "synchronous")) < 0 ||
	    (r = exec(st, "PRAGMA cache_size = -8192", "cache_size")) < 0 ||
	    (r = setup_schema(st, path)) < 0)
		goto fail;
	if ((r = cache_init(&st->cache, CACHE_ENTRIES)) < 0 || (r = front_init(&st->front)) < 0 ||
	    (r = rtab_init(&st->roll.rules, ROLL_RULES)) < 0 ||
	    (r = rtab_init(&st->roll.subj, ROLL_SUBJ)) < 0) {
		seterr(st, r, "store: open %s: out of memory", path);
		goto fail;
	}
	free(real);
	*out = st;
	return 0;
fail:
	free(real);
	snprintf(open_err, sizeof(open_err), "%s", st->err);
	dl_store_close(st);
	return r;
}

int dl_store_set_cache(struct dl_store *st, uint32_t entries)
{
	struct cache c = { 0 };
	int r;

	if (st->in_txn || !entries)
		return seterr(st, -EINVAL, "store: set cache: %s",
			      entries ? "inside a transaction" : "no entries");
	if ((r = cache_init(&c, entries)) < 0) {
		free(c.e);
		free(c.bucket);
		return seterr(st, r, "store: set cache: out of memory");
	}
	cache_free(&st->cache);
	st->cache = c;
	front_free(&st->front);
	st->front = (struct front){ NULL, NULL }; /* the LRU alone decides */
	return 0;
}

const char *dl_store_errmsg(const struct dl_store *st)
{
	if (!st)
		return open_err[0] ? open_err : "store: no error";
	return st->err[0] ? st->err : "store: no error";
}

struct sqlite3 *dl_store_sqlite(struct dl_store *st)
{
	return st ? st->db : NULL;
}

void dl_store_close(struct dl_store *st)
{
	if (!st)
		return;
	if (st->db && !st->in_txn && st->roll.rules.e)
		roll_flush_now(st); /* on failure the next open repairs */
	for (int i = 0; i < S_N; i++)
		sqlite3_finalize(st->stmt[i]);
	sqlite3_finalize(st->ins_one);
	sqlite3_finalize(st->ins_group);
	free(st->roll.rules.e);
	free(st->roll.subj.e);
	free(st->roll.pend);
	if (st->db) {
		if (st->in_txn)
			sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		sqlite3_close(st->db);
	}
	if (st->snap_fd >= 0)
		close(st->snap_fd);
	cache_free(&st->cache);
	front_free(&st->front);
	free(st->kbuf);
	free(st->path);
	free(st);
}

/* ---- boots, policies, loads, modes, counters ------------------------- */

int dl_store_boot(struct dl_store *st, const char *boot_id, int64_t boot_wall_ns, int64_t *key)
{
	PREP(st, S_BOOT_GET, g);
	PREP(st, S_BOOT_PUT, p);
	if (!boot_id || !*boot_id)
		return seterr(st, -EINVAL, "store: boot: empty boot_id");
	sqlite3_bind_text(g, 1, boot_id, -1, SQLITE_STATIC);
	int r = step1(st, g, "boot lookup", key);
	if (r != 0)
		return r < 0 ? r : 0;
	sqlite3_bind_text(p, 1, boot_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(p, 2, boot_wall_ns);
	if ((r = step1(st, p, "boot insert", NULL)) < 0)
		return r;
	*key = sqlite3_last_insert_rowid(st->db);
	if (*key > BOOT_MAX)
		return seterr(st, -ERANGE, "store: boot: more than %lld boots", (long long)BOOT_MAX);
	PREP(st, S_MARK_PUT, m);
	sqlite3_bind_int64(m, 1, *key);
	return (r = step1(st, m, "rollup mark", NULL)) < 0 ? r : 0;
}

static int savepoint_end(struct dl_store *st, int r)
{
	if (r < 0)
		sqlite3_exec(st->db, "ROLLBACK TO dl_policy; RELEASE dl_policy", NULL, NULL, NULL);
	else if ((r = exec(st, "RELEASE dl_policy", "policy release")) < 0)
		sqlite3_exec(st->db, "ROLLBACK TO dl_policy; RELEASE dl_policy", NULL, NULL, NULL);
	return r;
}

int dl_store_policy(struct dl_store *st, const char *name, const char *sha256, const char *text,
		    const struct dl_store_rule *rules, size_t n_rules, int64_t *key)
{
	PREP(st, S_POL_GET, g);
	PREP(st, S_POL_PUT, p);
	PREP(st, S_RULE_PUT, rp);
	if (!name || !sha256 || !text)
		return seterr(st, -EINVAL, "store: policy: name, sha256 and text are required");
	sqlite3_bind_text(g, 1, sha256, -1, SQLITE_STATIC);
	int r = step1(st, g, "policy lookup", key);
	if (r != 0)
		return r < 0 ? r : 0;

	/* A savepoint makes policy + rules atomic inside or outside a transaction. */
	if ((r = exec(st, "SAVEPOINT dl_policy", "policy savepoint")) < 0)
		return r;
	sqlite3_bind_text(p, 1, sha256, -1, SQLITE_STATIC);
	sqlite3_bind_text(p, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(p, 3, text, -1, SQLITE_STATIC);
	if ((r = step1(st, p, "policy insert", NULL)) < 0)
		return savepoint_end(st, r);
	int64_t k = sqlite3_last_insert_rowid(st->db);
	for (size_t i = 0; i < n_rules; i++) {
		sqlite3_bind_int64(rp, 1, k);
		sqlite3_bind_int64(rp, 2, rules[i].idx);
		sqlite3_bind_text(rp, 3, rules[i].id ? rules[i].id : "", -1, SQLITE_STATIC);
		sqlite3_bind_int64(rp, 4, rules[i].family);
		sqlite3_bind_int64(rp, 5, rules[i].action);
		sqlite3_bind_text(rp, 6, rules[i].text ? rules[i].text : "", -1, SQLITE_STATIC);
		if ((r = step1(st, rp, "rule insert", NULL)) < 0)
			return savepoint_end(st, r);
	}
	if ((r = savepoint_end(st, 0)) < 0)
		return r;
	*key = k;
	return 0;
}

int dl_store_policy_load(struct dl_store *st, int64_t boot_key, __u32 gen, int64_t policy_key,
			 int64_t ts_ns)
{
	PREP(st, S_LOAD_LAST, g);
	PREP(st, S_LOAD_PUT, p);
	PREP(st, S_POL_FIRST, f);
	int64_t cur = 0;
	sqlite3_bind_int64(g, 1, boot_key);
	sqlite3_bind_int64(g, 2, gen);
	int r = step1(st, g, "load lookup", &cur);
	if (r < 0)
		return r;
	if (r == 0 || cur != policy_key) {
		sqlite3_bind_int64(p, 1, boot_key);
		sqlite3_bind_int64(p, 2, gen);
		sqlite3_bind_int64(p, 3, policy_key);
		sqlite3_bind_int64(p, 4, ts_ns / 1000000);
		if ((r = step1(st, p, "load insert", NULL)) < 0)
			return r;
	}
	sqlite3_bind_int64(f, 1, policy_key);
	sqlite3_bind_int64(f, 2, ts_ns / 1000000);
	r = step1(st, f, "policy first_loaded", NULL);
	return r < 0 ? r : 0;
}

int dl_store_policy_for_gen(struct dl_store *st, int64_t boot_key, __u32 gen, int64_t *policy_key)
{
	PREP(st, S_LOAD_LAST, g);
	sqlite3_bind_int64(g, 1, boot_key);
	sqlite3_bind_int64(g, 2, gen);
	int r = step1(st, g, "load lookup", policy_key);
	if (r == 0)
		return seterr(st, -ENOENT, "store: no policy loaded as generation %u on boot %lld", gen,
			      (long long)boot_key);
	return r < 0 ? r : 0;
}

int dl_store_max_seq(struct dl_store *st, int64_t boot_key, uint64_t *seq)
{
	/* Events, and the rollup mark (which stays when retention has deleted
	 * every event of the boot): a sequence number at or below either must
	 * never be handed out again on this boot. */
	static const char sql[] =
		"SELECT max(coalesce((SELECT max(id) FROM events WHERE id > (?1 << 40) AND id < ((?1 + 1) << 40)), 0),"
		" coalesce((SELECT through_id FROM rollup_marks WHERE boot = ?1), 0))";
	sqlite3_stmt *q;
	int64_t v = 0;
	int rc = sqlite3_prepare_v2(st->db, sql, -1, &q, NULL);

	if (rc != SQLITE_OK)
		return fail(st, rc, "max seq");
	sqlite3_bind_int64(q, 1, boot_key);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		v = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	if (rc != SQLITE_ROW)
		return fail(st, rc, "max seq");
	*seq = v > (boot_key << 40) ? (uint64_t)(v - (boot_key << 40)) : 0;
	return 0;
}

/* ---- audit marks ------------------------------------------------------ */
/*
 * audit_marks(boot, through_id): every would-deny/deny of the boot with an
 * id at or below through_id was sent to the audit log (or counted in an
 * op=suppressed record that was), as far as the collector could confirm.
 * The collector raises it (dl_store_audit_mark_set) once the audit thread has
 * confirmed; a decision stored at or below it (a record that reached the ring
 * after one with a higher sequence number) lowers it in the same transaction
 * as its insert, so a crash never leaves a stored, unaudited decision under
 * the mark. A boot first seen by a drylock without audit marks starts at its
 * highest stored event: what came before is taken as audited.
 */
int dl_store_audit_mark_init(struct dl_store *st, int64_t boot_key, int64_t *through)
{
	PREP(st, S_AMARK_INIT, i);
	PREP(st, S_AMARK_GET, g);
	int64_t v = 0;
	int r;

	sqlite3_bind_int64(i, 1, boot_key);
	if ((r = step1(st, i, "audit mark init", NULL)) < 0)
		return r;
	sqlite3_bind_int64(g, 1, boot_key);
	if ((r = step1(st, g, "audit mark", &v)) < 0)
		return r;
	if (r == 0)
		return seterr(st, -EIO, "store: audit mark of boot %lld vanished", (long long)boot_key);
	st->amark_boot = boot_key;
	st->amark = v;
	st->alower = INT64_MAX;
	*through = v;
	return 0;
}

int dl_store_audit_mark_get(struct dl_store *st, int64_t boot_key, int64_t *through)
{
	PREP(st, S_AMARK_GET, g);
	sqlite3_bind_int64(g, 1, boot_key);
	return step1(st, g, "audit mark", through);
}

int dl_store_event_exists(struct dl_store *st, int64_t boot_key, uint64_t seq)
{
	PREP(st, S_EXISTS, x);
	sqlite3_bind_int64(x, 1, (boot_key << SEQ_BITS) | (int64_t)(seq & (uint64_t)SEQ_MASK));
	return step1(st, x, "event lookup", NULL);
}

int dl_store_audit_mark_set(struct dl_store *st, int64_t boot_key, int64_t through)
{
	PREP(st, S_AMARK_SET, s);
	sqlite3_bind_int64(s, 1, boot_key);
	sqlite3_bind_int64(s, 2, through);
	int r = step1(st, s, "audit mark", NULL);
	if (r < 0)
		return r;
	if (boot_key == st->amark_boot)
		st->amark = through;
	return 0;
}

int dl_store_audit_backlog(struct dl_store *st, uint64_t max,
			   int (*cb)(void *arg, const struct dl_event *ev, const char *policy_name),
			   void *arg, uint64_t *sent, uint64_t *skipped)
{
#define BACKLOG_FROM \
	" FROM audit_marks m JOIN events e ON e.id > m.through_id AND e.id < ((m.boot + 1) << 40)" \
	" AND e.verdict <> ?1"
	static const char count_sql[] = "SELECT count(*)" BACKLOG_FROM;
	static const char sql[] =
		"SELECT e.id, e.ts, e.hook, e.verdict, e.enforced, coalesce(e.policy, 0),"
		" coalesce(e.rule, -1), e.tgid, coalesce(e.pid, e.tgid), e.ppid, s.uid, s.euid, s.gid,"
		" s.loginuid, s.sessionid, s.cgroup_id, s.mnt_ns, cm.s, ex.s, cg.s, o.text, o.k1,"
		" o.k2, p.name, r.rule_id, e.flags, o.family"
		BACKLOG_FROM
		" JOIN subjects s ON s.id = e.subject"
		" LEFT JOIN strings cm ON cm.id = s.comm LEFT JOIN strings ex ON ex.id = s.exe"
		" LEFT JOIN strings cg ON cg.id = s.cgroup LEFT JOIN objects o ON o.id = e.object"
		" LEFT JOIN policies p ON p.id = e.policy"
		" LEFT JOIN rules r ON r.policy = e.policy AND r.idx = e.rule"
		" ORDER BY e.id LIMIT -1 OFFSET ?2";
#undef BACKLOG_FROM
	sqlite3_stmt *q;
	int64_t total = 0, skip;
	int rc, r = 0;

	*sent = *skipped = 0;
	rc = sqlite3_prepare_v2(st->db, count_sql, -1, &q, NULL);
	if (rc != SQLITE_OK)
		return fail(st, rc, "audit backlog");
	sqlite3_bind_int64(q, 1, DL_VERDICT_ALLOW);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		total = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	if (rc != SQLITE_ROW)
		return fail(st, rc, "audit backlog");
	skip = total > (int64_t)max ? total - (int64_t)max : 0;
	*skipped = (uint64_t)skip;
	rc = sqlite3_prepare_v2(st->db, sql, -1, &q, NULL);
	if (rc != SQLITE_OK)
		return fail(st, rc, "audit backlog");
	sqlite3_bind_int64(q, 1, DL_VERDICT_ALLOW);
	sqlite3_bind_int64(q, 2, skip);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct dl_event ev;
		struct dl_record *rec = &ev.rec;
		int64_t id = sqlite3_column_int64(q, 0), rule = sqlite3_column_int64(q, 6);
		const char *comm = (const char *)sqlite3_column_text(q, 17);
		int commlen = sqlite3_column_bytes(q, 17);

		memset(&ev, 0, sizeof(ev));
		rec->version = DL_ABI_VERSION;
		rec->size = sizeof(*rec);
		rec->hook = (__u16)sqlite3_column_int(q, 2);
		rec->family = (__u16)hook_family(rec->hook);
		rec->seq = (uint64_t)(id & SEQ_MASK);
		rec->verdict = (__u8)sqlite3_column_int(q, 3);
		rec->enforced = (__u8)sqlite3_column_int(q, 4);
		rec->rule_idx = rule < 0 ? DL_RULE_NONE : (__u32)rule;
		rec->tgid = (__u32)sqlite3_column_int64(q, 7);
		rec->pid = (__u32)sqlite3_column_int64(q, 8);
		rec->ppid = (__u32)sqlite3_column_int64(q, 9);
		rec->uid = (__u32)sqlite3_column_int64(q, 10);
		rec->euid = (__u32)sqlite3_column_int64(q, 11);
		rec->gid = (__u32)sqlite3_column_int64(q, 12);
		rec->loginuid = (__u32)sqlite3_column_int64(q, 13);
		rec->sessionid = (__u32)sqlite3_column_int64(q, 14);
		rec->cgroup_id = (__u64)sqlite3_column_int64(q, 15);
		rec->mnt_ns = (__u64)sqlite3_column_int64(q, 16);
		if (comm)
			memcpy(rec->comm, comm, commlen < DL_COMM_LEN ? (size_t)commlen : DL_COMM_LEN);
		rec->flags = (__u8)sqlite3_column_int(q, 25);
		/* The object back into the payload, by the family that wrote it. */
		if (sqlite3_column_type(q, 26) != SQLITE_NULL && rec->family < DL_FAMILY_MAX &&
		    sqlite3_column_int64(q, 26) == rec->family && dl_store_families[rec->family] &&
		    dl_store_families[rec->family]->payload) {
			struct dl_store_object o = { .k1 = sqlite3_column_int64(q, 21),
						     .k2 = sqlite3_column_int64(q, 22) };
			const char *t = (const char *)sqlite3_column_text(q, 20);

			snprintf(o.text, sizeof(o.text), "%s", t ? t : "");
			if (dl_store_families[rec->family]->payload(&o, rec) < 0)
				memset(&rec->u, 0, sizeof(rec->u)); /* a row it cannot read: none */
		}
		ev.ts_ns = sqlite3_column_int64(q, 1) * 1000000;
		ev.boot_key = id >> SEQ_BITS;
		ev.policy_key = sqlite3_column_int64(q, 5);
		ev.rule_id = (const char *)sqlite3_column_text(q, 24);
		ev.exe = (const char *)sqlite3_column_text(q, 18);
		ev.cgroup_path = (const char *)sqlite3_column_text(q, 19);
		r = cb(arg, &ev, (const char *)sqlite3_column_text(q, 23));
		if (r < 0)
			break;
		(*sent)++;
	}
	sqlite3_finalize(q);
	if (r < 0)
		return r;
	if (rc != SQLITE_DONE)
		return fail(st, rc, "audit backlog");
	return 0;
}

int dl_store_mode(struct dl_store *st, int64_t boot_key, __u16 family, __u32 mode, int64_t ts_ns)
{
	PREP(st, S_MODE, p);
	sqlite3_bind_int64(p, 1, boot_key);
	sqlite3_bind_int64(p, 2, family);
	sqlite3_bind_int64(p, 3, mode);
	sqlite3_bind_int64(p, 4, ts_ns / 1000000);
	int r = step1(st, p, "mode insert", NULL);
	return r < 0 ? r : 0;
}

int dl_store_counter(struct dl_store *st, int64_t boot_key, __u16 family, const char *kind,
		     uint64_t value, int64_t ts_ns)
{
	PREP(st, S_COUNTER, p);
	if (!kind)
		return seterr(st, -EINVAL, "store: counter: no kind");
	sqlite3_bind_int64(p, 1, boot_key);
	sqlite3_bind_int64(p, 2, family);
	sqlite3_bind_text(p, 3, kind, -1, SQLITE_STATIC);
	sqlite3_bind_int64(p, 4, value > INT64_MAX ? INT64_MAX : (int64_t)value);
	sqlite3_bind_int64(p, 5, ts_ns / 1000000);
	int r = step1(st, p, "counter insert", NULL);
	return r < 0 ? r : 0;
}

/* ---- interning ------------------------------------------------------- */

static int kbuf_reserve(struct dl_store *st, size_t n)
{
	if (n <= st->kcap)
		return 0;
	size_t cap = st->kcap ? st->kcap : 256;
	while (cap < n)
		cap *= 2;
	uint8_t *p = realloc(st->kbuf, cap);
	if (!p)
		return seterr(st, -ENOMEM, "store: out of memory");
	st->kbuf = p;
	st->kcap = cap;
	return 0;
}

/* Id of the string s[0..n), creating it. NULL maps to 0 ("unknown"). Uses
 * its own key buffer: callers may be in the middle of building another key. */
static int intern(struct dl_store *st, const char *s, size_t n, int64_t *id)
{
	if (!s) {
		*id = 0;
		return 0;
	}
	uint8_t small[256], *key = n + 1 <= sizeof(small) ? small : malloc(n + 1);
	if (!key)
		return seterr(st, -ENOMEM, "store: out of memory");
	key[0] = 'T';
	memcpy(key + 1, s, n);
	uint64_t h = hash_bytes(key, n + 1);
	int r = 0;
	if (cache_get(&st->cache, key, (uint32_t)(n + 1), h, id))
		goto out;
	sqlite3_stmt *p = stmt(st, S_STR_PUT);
	if (!p) {
		r = fail(st, sqlite3_errcode(st->db), "prepare strings");
		goto out;
	}
	/* Not in the cache: a new row, even if an evicted copy exists (there
	 * is no index to find it by; schema.sql "Deduplication"). */
	sqlite3_bind_text(p, 1, s, (int)n, SQLITE_STATIC);
	if ((r = step1(st, p, "string insert", NULL)) < 0)
		goto out;
	*id = sqlite3_last_insert_rowid(st->db);
	r = 0;
	cache_put(&st->cache, key, (uint32_t)(n + 1), h, *id);
out:
	if (key != small)
		free(key);
	return r;
}

static void put_u64(uint8_t **p, uint64_t v)
{
	memcpy(*p, &v, 8);
	*p += 8;
}

static void put_str(uint8_t **p, const char *s)
{
	/* 0xff marks NULL, 0x00 terminates a string: distinct, unambiguous. */
	if (!s) {
		*(*p)++ = 0xff;
		return;
	}
	size_t n = strlen(s);
	memcpy(*p, s, n);
	*p += n;
	*(*p)++ = 0;
}

static int subject_miss(struct dl_store *st, const struct dl_event *ev, size_t commlen,
			uint32_t klen, uint64_t h, int64_t *id);

static int subject_id(struct dl_store *st, const struct dl_event *ev, int64_t *id)
{
	const struct dl_record *rc = &ev->rec;
	size_t commlen = strnlen(rc->comm, DL_COMM_LEN);
	size_t need = 1 + 7 * 8 + DL_COMM_LEN + 2 + (ev->exe ? strlen(ev->exe) : 0) +
		      (ev->cgroup_path ? strlen(ev->cgroup_path) : 0) + 2;
	int r = kbuf_reserve(st, need);
	if (r < 0)
		return r;
	uint8_t *p = st->kbuf;
	*p++ = 'S';
	put_u64(&p, rc->cgroup_id);
	put_u64(&p, rc->mnt_ns);
	put_u64(&p, rc->uid);
	put_u64(&p, rc->euid);
	put_u64(&p, rc->gid);
	put_u64(&p, rc->loginuid);
	put_u64(&p, rc->sessionid);
	*p++ = (uint8_t)commlen;
	memcpy(p, rc->comm, commlen);
	p += commlen;
	put_str(&p, ev->exe);
	put_str(&p, ev->cgroup_path);
	uint32_t klen = (uint32_t)(p - st->kbuf);
	uint64_t h = hash_bytes(st->kbuf, klen);
	struct fsubj *fs = st->front.subj ? &st->front.subj[(h >> 7) & (FRONT_SUBJ - 1)] : NULL;
	if (fs && fs->val && fs->hash == h && fs->klen == klen && memcmp(fs->key, st->kbuf, klen) == 0) {
		*id = fs->val;
		return 0;
	}
	if (!cache_get(&st->cache, st->kbuf, klen, h, id) && (r = subject_miss(st, ev, commlen, klen, h, id)) < 0)
		return r;
	/* The LRU copied the key; st->kbuf is intact (intern() has its own). */
	if (fs && klen <= FRONT_SUBJ_KEY) {
		fs->hash = h;
		fs->val = *id;
		fs->klen = klen;
		memcpy(fs->key, st->kbuf, klen);
	}
	return 0;
}

/* A subject not in the caches: intern its strings, insert the row, and
 * remember it in the LRU under the key in st->kbuf. */
static int subject_miss(struct dl_store *st, const struct dl_event *ev, size_t commlen,
			uint32_t klen, uint64_t h, int64_t *id)
{
	const struct dl_record *rc = &ev->rec;
	int r;

	int64_t comm, exe, cg;
	if ((r = intern(st, rc->comm, commlen, &comm)) < 0 ||
	    (r = intern(st, ev->exe, ev->exe ? strlen(ev->exe) : 0, &exe)) < 0 ||
	    (r = intern(st, ev->cgroup_path, ev->cgroup_path ? strlen(ev->cgroup_path) : 0, &cg)) < 0)
		return r;
	PREP(st, S_SUBJ_PUT, q);
	/* A new row (see intern()). */
	sqlite3_bind_int64(q, 1, exe);
	sqlite3_bind_int64(q, 2, comm);
	sqlite3_bind_int64(q, 3, cg);
	sqlite3_bind_int64(q, 4, (int64_t)rc->cgroup_id);
	sqlite3_bind_int64(q, 5, (int64_t)rc->mnt_ns);
	sqlite3_bind_int64(q, 6, rc->uid);
	sqlite3_bind_int64(q, 7, rc->euid);
	sqlite3_bind_int64(q, 8, rc->gid);
	sqlite3_bind_int64(q, 9, rc->loginuid);
	sqlite3_bind_int64(q, 10, rc->sessionid);
	if ((r = step1(st, q, "subject insert", NULL)) < 0)
		return r;
	*id = sqlite3_last_insert_rowid(st->db);
	/* The key buffer was not touched by intern(), which has its own. */
	cache_put(&st->cache, st->kbuf, klen, h, *id);
	return 0;
}

#define DL_X_STORE_DECL(n, v, s, stem) extern const struct dl_store_family dl_store_family_##stem;
DL_FAMILIES(DL_X_STORE_DECL)
#define DL_X_STORE_ROW(n, v, s, stem) [DL_FAMILY_##n] = &dl_store_family_##stem,
const struct dl_store_family *const dl_store_families[DL_FAMILY_MAX] = { DL_FAMILIES(DL_X_STORE_ROW) };

static int object_miss(struct dl_store *st, unsigned family, const struct dl_record *rec,
		       struct dl_store_object *o, const uint8_t key[OBJ_KEY_LEN], uint64_t h, int64_t *id);

/* The objects row of a family's object (store-family.h), through the caches. */
static int object_id(struct dl_store *st, unsigned family, const struct dl_record *rec,
		     struct dl_store_object *o, int64_t *id)
{
	uint8_t key[OBJ_KEY_LEN];
	key[0] = 'O';
	key[1] = (uint8_t)family;
	memcpy(key + 2, o->key, DL_STORE_OBJ_KEY_MAX);
	uint64_t h = hash_bytes(key, sizeof(key));
	struct fobj *fo = st->front.obj ? &st->front.obj[(h >> 7) & (FRONT_OBJ - 1)] : NULL;
	if (fo && fo->val && fo->hash == h && memcmp(fo->key, key, sizeof(key)) == 0) {
		*id = fo->val;
		return 0;
	}
	int r = 0;
	if (!cache_get(&st->cache, key, sizeof(key), h, id))
		r = object_miss(st, family, rec, o, key, h, id);
	if (r == 0 && fo) {
		fo->hash = h;
		fo->val = *id;
		memcpy(fo->key, key, sizeof(key));
	}
	return r;
}

/* An object not in the caches: insert its row (see intern()), remember it. */
static int object_miss(struct dl_store *st, unsigned family, const struct dl_record *rec,
		       struct dl_store_object *o, const uint8_t key[OBJ_KEY_LEN], uint64_t h, int64_t *id)
{
	PREP(st, S_OBJ_PUT, q);
	if (dl_store_families[family]->text)
		dl_store_families[family]->text(rec, o);
	sqlite3_bind_int64(q, 1, family);
	sqlite3_bind_text(q, 2, o->text, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, o->k1);
	sqlite3_bind_int64(q, 4, o->k2);
	int r = step1(st, q, "object insert", NULL);
	if (r < 0)
		return r;
	*id = sqlite3_last_insert_rowid(st->db);
	cache_put(&st->cache, key, OBJ_KEY_LEN, h, *id);
	return 0;
}

/* ---- events and transactions ----------------------------------------- */

static int minute_flush(struct dl_store *st)
{
	struct minute_acc *m = &st->min;
	if (!m->valid)
		return 0;
	PREP(st, S_MINUTE, s);
	sqlite3_bind_int64(s, 1, m->minute);
	sqlite3_bind_int64(s, 2, m->boot);
	sqlite3_bind_int64(s, 3, m->first);
	sqlite3_bind_int64(s, 4, m->last);
	sqlite3_bind_int64(s, 5, m->n);
	int r = step1(st, s, "minutes update", NULL);
	if (r < 0)
		return r;
	m->valid = 0;
	return 0;
}

static int hook_family(unsigned hook)
{
#define HF(n, v, s, f, op) case v: return DL_FAMILY_##f;
	switch (hook) { DL_HOOKS(HF) }
#undef HF
	return 0;
}

/* ---- rollups ------------------------------------------------------- */

static void roll_clear(struct rollup *R)
{
	rtab_clear(&R->rules);
	rtab_clear(&R->subj);
	R->events = 0;
	R->force = 0;
	memset(R->bmax, 0, sizeof(R->bmax));
}

/* The committed transaction's events into the tables. A table that cannot
 * take them (only with a pathological batch) makes the next commit rebuild
 * the rollups from events instead. */
static void roll_fold(struct rollup *R)
{
	for (size_t i = 0; i < R->npend && !R->resync; i++) {
		const struct pend *p = &R->pend[i];
		int64_t minute = p->ts / 60000, boot = p->id >> SEQ_BITS;
		int64_t kr[5] = { minute, boot, p->policy, p->rule,
				  (int64_t)p->hook << 16 | p->verdict << 8 | p->enforced };
		int64_t ks[5] = { minute, boot, p->subject, p->verdict, 0 };
		if (R->rules.used + 1 >= R->rules.cap || R->subj.used + 1 >= R->subj.cap) {
			R->resync = 1;
			break;
		}
		R->force |= rtab_add(&R->rules, kr, p->ts) | rtab_add(&R->subj, ks, p->ts);
		int b;
		for (b = 0; b < ROLL_BOOTS && R->bmax[b].boot && R->bmax[b].boot != boot; b++)
			;
		if (b == ROLL_BOOTS) {
			R->resync = 1;
			break;
		}
		R->bmax[b].boot = boot;
		if (p->id > R->bmax[b].maxid)
			R->bmax[b].maxid = p->id;
		R->events++;
	}
	R->npend = 0;
}

static void bind_or_null(sqlite3_stmt *s, int i, int64_t v)
{
	if (v < 0)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_int64(s, i, v);
}

/* Write the tables as rollup rows and move the marks; inside a transaction. */
static int roll_write(struct dl_store *st)
{
	struct rollup *R = &st->roll;
	PREP(st, S_ROLL_RULE, rr);
	PREP(st, S_ROLL_SUBJ, rs);
	PREP(st, S_ROLL_MARK, rm);
	int r;
	if (R->resync) {
		st->roll.mark_boot = 0;
		return exec(st, rollup_repair_sql, "rollup repair");
	}
	for (uint32_t i = 0; i < R->rules.cap; i++) {
		const struct rent *x = &R->rules.e[i];
		if (x->k[0] == INT64_MIN)
			continue;
		sqlite3_bind_int64(rr, 1, x->k[0]);
		sqlite3_bind_int64(rr, 2, x->k[1]);
		bind_or_null(rr, 3, x->k[2]);
		bind_or_null(rr, 4, x->k[3]);
		sqlite3_bind_int64(rr, 5, x->k[4] >> 16);
		sqlite3_bind_int64(rr, 6, x->k[4] >> 8 & 0xff);
		sqlite3_bind_int64(rr, 7, x->k[4] & 0xff);
		sqlite3_bind_int64(rr, 8, x->n);
		sqlite3_bind_int64(rr, 9, x->first);
		sqlite3_bind_int64(rr, 10, x->last);
		if ((r = step1(st, rr, "rollup insert", NULL)) < 0)
			return r;
	}
	for (uint32_t i = 0; i < R->subj.cap; i++) {
		const struct rent *x = &R->subj.e[i];
		if (x->k[0] == INT64_MIN)
			continue;
		for (int c = 0; c < 4; c++)
			sqlite3_bind_int64(rs, c + 1, x->k[c]);
		sqlite3_bind_int64(rs, 5, x->n);
		sqlite3_bind_int64(rs, 6, x->first);
		sqlite3_bind_int64(rs, 7, x->last);
		if ((r = step1(st, rs, "rollup insert", NULL)) < 0)
			return r;
	}
	for (int b = 0; b < ROLL_BOOTS && R->bmax[b].boot; b++) {
		sqlite3_bind_int64(rm, 1, R->bmax[b].boot);
		sqlite3_bind_int64(rm, 2, R->bmax[b].maxid);
		if ((r = step1(st, rm, "rollup mark", NULL)) < 0)
			return r;
		if (R->mark_boot == R->bmax[b].boot && R->bmax[b].maxid > R->mark)
			R->mark = R->bmax[b].maxid;
	}
	return 0;
}

/* Outside a transaction (close, retention): write what is aggregated. */
static int roll_flush_now(struct dl_store *st)
{
	struct rollup *R = &st->roll;
	if (!R->rules.e || (!R->events && !R->resync))
		return 0;
	int r = exec(st, "BEGIN IMMEDIATE", "rollup begin");
	if (r < 0)
		return r;
	if ((r = roll_write(st)) < 0 || (r = exec(st, "COMMIT", "rollup commit")) < 0) {
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		R->resync = 1;
		roll_clear(R);
		return r;
	}
	R->resync = 0;
	roll_clear(R);
	return 0;
}

/* The current boot's mark and last stored event id, cached. */
static int roll_boot_state(struct dl_store *st, int64_t boot)
{
	struct rollup *R = &st->roll;
	int r;
	if (R->mark_boot != boot) {
		PREP(st, S_MARK_GET, g);
		sqlite3_bind_int64(g, 1, boot);
		if ((r = step1(st, g, "rollup mark lookup", &R->mark)) < 0)
			return r;
		if (r == 0)
			R->mark = boot << SEQ_BITS; /* dl_store_boot() creates it */
		R->mark_boot = boot;
	}
	if (R->emax_boot != boot) {
		PREP(st, S_EMAX, e);
		sqlite3_bind_int64(e, 1, boot << SEQ_BITS);
		sqlite3_bind_int64(e, 2, (boot + 1) << SEQ_BITS);
		if ((r = step1(st, e, "last event lookup", &R->emax)) < 0)
			return r;
		R->emax_boot = boot;
	}
	return 0;
}

/* Drop from the group the events already stored (a replay after a crash:
 * only ids up to the last stored one can be), so that every row the group
 * INSERT is given is new and can be counted in minutes and rollups. In a
 * normal stream no id is that low and this costs nothing. */
static int group_drop_stored(struct dl_store *st)
{
	struct group *g = &st->grp;
	struct rollup *R = &st->roll;
	int r;
	if ((r = roll_boot_state(st, g->boot)) < 0)
		return r;
	unsigned w = 0;
	for (unsigned i = 0; i < g->n; i++) {
		if (g->v[i][0] <= R->emax) {
			PREP(st, S_EXISTS, x);
			sqlite3_bind_int64(x, 1, g->v[i][0]);
			if ((r = step1(st, x, "event lookup", NULL)) < 0)
				return r;
			if (r == 1)
				continue;
		}
		if (w != i) {
			memcpy(g->v[w], g->v[i], sizeof(g->v[w]));
			g->nulls[w] = g->nulls[i];
		}
		w++;
	}
	g->n = w;
	return 0;
}

static int pend_add(struct dl_store *st, unsigned i)
{
	struct rollup *R = &st->roll;
	const int64_t *v = st->grp.v[i];
	uint16_t nulls = st->grp.nulls[i];
	if (R->npend == R->cpend) {
		size_t c = R->cpend ? R->cpend * 2 : 1024;
		struct pend *p = realloc(R->pend, c * sizeof(*p));
		if (!p)
			return seterr(st, -ENOMEM, "store: out of memory");
		R->pend = p;
		R->cpend = c;
	}
	R->pend[R->npend++] = (struct pend){
		.id = v[0], .ts = v[1], .hook = (uint8_t)v[2], .verdict = (uint8_t)v[3],
		.enforced = (uint8_t)v[4], .policy = nulls & (1u << 5) ? -1 : v[5],
		.rule = nulls & (1u << 6) ? -1 : v[6], .subject = v[7],
	};
	if (v[0] <= R->mark)
		R->force = 1; /* late: at or below the mark, must be in the rollups now */
	if (v[1] / 60000 > R->newest)
		R->newest = v[1] / 60000;
	if (v[0] > R->emax)
		R->emax = v[0];
	return 0;
}

/*
 * Events are inserted GROUP_ROWS at a time by one multi-row INSERT OR IGNORE
 * (the remainder of a group row by row). Measured with callgrind on the
 * ingest benchmark: per statement execution SQLite re-seeks the events
 * B-tree from the root (GetVarint/TableMoveto) and pays its statement
 * start/halt/reset; inside one statement the cursor stays on the last leaf
 * and an append is found without a search. A group holds events of one
 * (minute, boot) only, so the number of rows a statement inserted
 * (sqlite3_changes) is exactly what the minutes row gains: replays of
 * stored events are still not counted. The group lives in memory until the
 * next flush: when it is full, when the minute changes, before commit, and
 * at once outside a transaction. Rollback discards it.
 */
/* Prepare "INSERT OR IGNORE INTO events(<ev_columns>) VALUES (?, ...), ..."
 * with `rows` rows of EV_COLS parameters each, written from ev_columns: a
 * column added there is in both statements, with its placeholder. */
static int event_insert_sql(struct dl_store *st, unsigned rows, sqlite3_stmt **out)
{
	size_t cap = 64, len = 0;
	char *sql;
	int rc;

	for (size_t c = 0; c < EV_COLS; c++)
		cap += strlen(ev_columns[c]) + 2;
	cap += rows * (EV_COLS * 2 + 3);
	sql = malloc(cap);
	if (!sql)
		return seterr(st, -ENOMEM, "store: out of memory");
	len += (size_t)sprintf(sql, "INSERT OR IGNORE INTO events(");
	for (size_t c = 0; c < EV_COLS; c++)
		len += (size_t)sprintf(sql + len, "%s%s", c ? ", " : "", ev_columns[c]);
	len += (size_t)sprintf(sql + len, ") VALUES ");
	for (unsigned i = 0; i < rows; i++) {
		sql[len++] = i ? ',' : ' ';
		sql[len++] = '(';
		for (size_t c = 0; c < EV_COLS; c++) {
			if (c)
				sql[len++] = ',';
			sql[len++] = '?';
		}
		sql[len++] = ')';
	}
	sql[len] = '\0';
	rc = sqlite3_prepare_v3(st->db, sql, (int)len, SQLITE_PREPARE_PERSISTENT, out, NULL);
	free(sql);
	return rc == SQLITE_OK ? 0 : fail(st, rc, rows > 1 ? "prepare group insert" : "prepare event insert");
}

static int group_flush(struct dl_store *st)
{
	struct group *g = &st->grp;
	int r0;
	if (!g->n)
		return 0;
	if ((!st->ins_group && (r0 = event_insert_sql(st, GROUP_ROWS, &st->ins_group)) < 0) ||
	    (!st->ins_one && (r0 = event_insert_sql(st, 1, &st->ins_one)) < 0))
		return r0;
	sqlite3_stmt *one = st->ins_one;
	int64_t inserted = 0;
	unsigned done = 0;
	r0 = st->roll.rules.e ? group_drop_stored(st) : 0;
	if (r0 < 0)
		return r0;
	if (!g->n)
		return 0;
	while (done < g->n) {
		sqlite3_stmt *s = g->n - done == GROUP_ROWS ? st->ins_group : one;
		unsigned rows = s == one ? 1 : GROUP_ROWS;
		int p = 1;
		for (unsigned i = done; i < done + rows; i++)
			for (unsigned c = 0; c < EV_COLS; c++, p++)
				if (g->nulls[i] & (1u << c))
					sqlite3_bind_null(s, p);
				else
					sqlite3_bind_int64(s, p, g->v[i][c]);
		int r = step1(st, s, "event insert", NULL);
		if (r < 0)
			return r;
		inserted += sqlite3_changes(st->db);
		done += rows;
	}
	if (st->roll.rules.e) {
		if (inserted != (int64_t)g->n)
			st->roll.resync = 1; /* duplicate ids inside one batch: recount */
		for (unsigned i = 0; i < g->n; i++)
			if ((r0 = pend_add(st, i)) < 0)
				return r0;
	}
	int64_t lo = g->v[0][0], hi = lo;
	for (unsigned i = 1; i < g->n; i++) {
		lo = g->v[i][0] < lo ? g->v[i][0] : lo;
		hi = g->v[i][0] > hi ? g->v[i][0] : hi;
	}
	g->n = 0;
	if (!inserted)
		return 0; /* all already stored: a replay after a crash */

	struct minute_acc *m = &st->min;
	int r;
	if (m->valid && (m->minute != g->minute || m->boot != g->boot) && (r = minute_flush(st)) < 0)
		return r;
	if (!m->valid)
		*m = (struct minute_acc){ 1, g->minute, g->boot, lo, hi, 0 };
	if (lo < m->first)
		m->first = lo;
	if (hi > m->last)
		m->last = hi;
	m->n += inserted;
	if (!st->in_txn)
		return minute_flush(st);
	return 0;
}

int dl_store_event(struct dl_store *st, const struct dl_event *ev)
{
	const struct dl_record *rc = &ev->rec;
	if (ev->boot_key <= 0 || ev->boot_key > BOOT_MAX || rc->seq > (uint64_t)SEQ_MASK)
		return seterr(st, -ERANGE, "store: event: boot %lld seq %llu out of range",
			      (long long)ev->boot_key, (unsigned long long)rc->seq);
	int64_t id = (ev->boot_key << SEQ_BITS) | (int64_t)rc->seq;
	int64_t ts = ev->ts_ns / 1000000;
	if (st->amark_boot == ev->boot_key && rc->verdict != DL_VERDICT_ALLOW && id <= st->amark &&
	    id - 1 < st->alower)
		st->alower = id - 1;
	int64_t subject, object = 0;
	int r = subject_id(st, ev, &subject);
	if (r < 0)
		return r;
	unsigned fam = (unsigned)hook_family(rc->hook);
	if (fam && fam < DL_FAMILY_MAX && dl_store_families[fam]) {
		struct dl_store_object o;
		memset(&o, 0, sizeof(o));
		if (dl_store_families[fam]->object(rc, &o) > 0 && (r = object_id(st, fam, rc, &o, &object)) < 0)
			return r;
	}

	struct group *g = &st->grp;
	int64_t minute = ts / 60000;
	if (g->n && (g->minute != minute || g->boot != ev->boot_key) && (r = group_flush(st)) < 0)
		return r;
	if (!g->n) {
		g->minute = minute;
		g->boot = ev->boot_key;
	}
	int64_t *v = g->v[g->n];
	uint16_t nulls = 0;
	v[0] = id;
	v[1] = ts;
	v[2] = rc->hook;
	v[3] = rc->verdict;
	v[4] = rc->enforced;
	v[5] = ev->policy_key;
	nulls |= ev->policy_key ? 0 : 1u << 5;
	v[6] = rc->rule_idx;
	nulls |= rc->rule_idx != DL_RULE_NONE ? 0 : 1u << 6;
	v[7] = subject;
	v[8] = object;
	nulls |= object ? 0 : 1u << 8;
	v[9] = rc->tgid;
	v[10] = rc->pid;
	nulls |= rc->pid != rc->tgid ? 0 : 1u << 10;
	v[11] = rc->ppid;
	v[12] = rc->flags;
	g->nulls[g->n++] = nulls;
	if (st->in_txn)
		return g->n == GROUP_ROWS ? group_flush(st) : 0;
	/* Autocommit: the row is committed by its own statement. */
	if ((r = group_flush(st)) < 0 || (r = amark_lower(st)) < 0) {
		st->roll.npend = 0;
		st->alower = INT64_MAX;
		return r;
	}
	amark_lowered(st);
	if (st->roll.rules.e) {
		roll_fold(&st->roll);
		if (st->roll.force || st->roll.resync)
			return roll_flush_now(st);
	}
	return 0;
}

int dl_store_begin(struct dl_store *st)
{
	PREP(st, S_BEGIN, s);
	int r = step1(st, s, "begin", NULL);
	if (r < 0)
		return r;
	st->in_txn = 1;
	return 0;
}

/* A would-deny/deny stored at or below the audit mark was never audited
 * (it arrived late: see dl_store_audit_mark_init): lower the mark with it. */
static int amark_lower(struct dl_store *st)
{
	if (st->alower == INT64_MAX)
		return 0;
	PREP(st, S_AMARK_SET, s);
	sqlite3_bind_int64(s, 1, st->amark_boot);
	sqlite3_bind_int64(s, 2, st->alower);
	return step1(st, s, "audit mark", NULL);
}

/* After the transaction that lowered the mark committed. */
static void amark_lowered(struct dl_store *st)
{
	if (st->alower != INT64_MAX)
		st->amark = st->alower;
	st->alower = INT64_MAX;
}

int dl_store_commit(struct dl_store *st)
{
	PREP(st, S_COMMIT, s);
	struct rollup *R = &st->roll;
	int r = group_flush(st);
	if (r < 0)
		return r;
	r = amark_lower(st);
	if (r < 0)
		return r;
	r = minute_flush(st);
	if (r < 0)
		return r;
	/* Rollups are written with the first commit of a new minute once
	 * ROLL_FLUSH_EVENTS events are aggregated (so that a minute's keys
	 * mostly get one row, not one per flush), or at ROLL_FLUSH_MAX events;
	 * in between, committed events are only aggregated. Readers scan the
	 * events after the mark: at most a minute's worth, or ROLL_FLUSH_MAX. */
	int64_t agg = R->events + (int64_t)R->npend;
	int due = R->rules.e && (R->resync || R->force || agg >= ROLL_FLUSH_MAX ||
				 (agg >= ROLL_FLUSH_EVENTS && R->newest > R->flushed_newest));
	if (due) {
		roll_fold(R);
		r = roll_write(st);
	}
	if (r == 0)
		r = step1(st, s, "commit", NULL);
	if (r < 0) {
		if (due) {
			R->resync = 1;
			roll_clear(R);
		}
		R->npend = 0;
		return r;
	}
	if (due) {
		R->resync = 0;
		R->flushed_newest = R->newest;
		roll_clear(R);
	} else if (R->rules.e) {
		roll_fold(R);
	}
	amark_lowered(st);
	st->in_txn = 0;
	return 0;
}

int dl_store_rollback(struct dl_store *st)
{
	PREP(st, S_ROLLBACK, s);
	int r = 0;
	st->min.valid = 0;
	st->grp.n = 0;
	st->roll.npend = 0;
	st->alower = INT64_MAX;
	st->roll.emax_boot = 0;
	cache_clear(&st->cache);
	front_clear(&st->front);
	if (!sqlite3_get_autocommit(st->db))
		r = step1(st, s, "rollback", NULL);
	st->in_txn = 0;
	return r < 0 ? r : 0;
}

/* ---- retention ------------------------------------------------------- */

/*
 * Retention deletes whole minutes of the time index, oldest first, never
 * scanning events: a minute's row gives the id range holding its events, and
 * the rowid B-tree deletes a range by descending once. The filter ts < end of
 * that minute keeps any event of a later minute that happens to sit inside
 * the range (ids are only nearly time-ordered), so nothing newer than the
 * oldest minute is ever deleted. A minute with more than DL_RETAIN_CHUNK ids
 * is done in several transactions; its row's first_id moves up as it goes,
 * which keeps the time index exact for readers in between.
 *
 * Pages. Deleted rows' pages go to the freelist and are reused by the next
 * inserts: a capped store reaches a steady file size and stays there, which
 * is why the size limit is measured on live pages, not on the file. The file
 * was created with auto_vacuum=INCREMENTAL, so pages could be handed back to
 * the file system; this is done only for a freelist larger than an eighth of
 * the file (after a limit was lowered, or a burst), in steps of
 * RETAIN_VACUUM_PAGES pages, each its own short transaction; handing back
 * pages the collector refills a minute later would only cost I/O.
 *
 * Side tables. strings/subjects/objects rows are kept when their last event
 * goes: finding unreferenced rows needs a scan of events (they carry no index
 * on subject or object, on purpose), and the writer's cache may still hold
 * their ids. They grow with distinct values, not with events.
 */
#define RETAIN_VACUUM_PAGES 2048

static int64_t mono_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static int pragma_int(struct dl_store *st, const char *sql, int64_t *v)
{
	sqlite3_stmt *s;
	int rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
	if (rc != SQLITE_OK)
		return fail(st, rc, sql);
	rc = sqlite3_step(s);
	*v = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
	sqlite3_finalize(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : fail(st, rc, sql);
}

/* Live bytes: pages in use times page size. */
static int live_bytes(struct dl_store *st, int64_t *bytes, int64_t *pages, int64_t *free_pages)
{
	int64_t psz;
	int r;
	if ((r = pragma_int(st, "PRAGMA page_count", pages)) < 0 ||
	    (r = pragma_int(st, "PRAGMA freelist_count", free_pages)) < 0 ||
	    (r = pragma_int(st, "PRAGMA page_size", &psz)) < 0)
		return r;
	*bytes = (*pages - *free_pages) * psz;
	return 0;
}

/* One transaction: delete up to DL_RETAIN_CHUNK ids of the oldest minute.
 * Returns 1 if it did something, 0 if nothing was due, <0. */
static int retain_step(struct dl_store *st, int64_t cut_minute, int64_t max_bytes, uint64_t *n)
{
	PREP(st, S_RET_OLDEST, o);
	PREP(st, S_RET_DEL, d);
	PREP(st, S_RET_MIN_DEL, md);
	PREP(st, S_RET_MIN_UPD, mu);
	PREP(st, S_RET_ROLL_R, xr);
	PREP(st, S_RET_ROLL_S, xs);
	int64_t minute, boot, first, last, bytes, pages, freep;
	int r, rc = sqlite3_step(o);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(o);
		return rc == SQLITE_DONE ? 0 : fail(st, rc, "retention: oldest minute");
	}
	minute = sqlite3_column_int64(o, 0);
	boot = sqlite3_column_int64(o, 1);
	first = sqlite3_column_int64(o, 2);
	last = sqlite3_column_int64(o, 3);
	sqlite3_reset(o);
	if (minute >= cut_minute) {
		if (max_bytes <= 0)
			return 0;
		if ((r = live_bytes(st, &bytes, &pages, &freep)) < 0)
			return r;
		if (bytes <= max_bytes)
			return 0;
	}
	int64_t hi = last - first >= DL_RETAIN_CHUNK ? first + DL_RETAIN_CHUNK - 1 : last;
	if ((r = exec(st, "BEGIN IMMEDIATE", "retention: begin")) < 0)
		return r;
	sqlite3_bind_int64(d, 1, first);
	sqlite3_bind_int64(d, 2, hi);
	sqlite3_bind_int64(d, 3, (minute + 1) * 60000);
	if ((r = step1(st, d, "retention: delete events", NULL)) < 0)
		goto fail;
	int64_t del = sqlite3_changes(st->db);
	sqlite3_stmt *m = hi == last ? md : mu;
	sqlite3_bind_int64(m, 1, minute);
	sqlite3_bind_int64(m, 2, boot);
	if (m == mu) {
		sqlite3_bind_int64(m, 3, hi + 1);
		sqlite3_bind_int64(m, 4, del);
	}
	if ((r = step1(st, m, "retention: update minutes", NULL)) < 0)
		goto fail;
	if (m == md) {
		sqlite3_bind_int64(xr, 1, minute);
		sqlite3_bind_int64(xr, 2, boot);
		sqlite3_bind_int64(xs, 1, minute);
		sqlite3_bind_int64(xs, 2, boot);
		if ((r = step1(st, xr, "retention: delete rollups", NULL)) < 0 ||
		    (r = step1(st, xs, "retention: delete rollups", NULL)) < 0)
			goto fail;
	}
	if ((r = exec(st, "COMMIT", "retention: commit")) < 0)
		goto fail;
	*n += (uint64_t)del;
	return 1;
fail:
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

int dl_store_retain(struct dl_store *st, int64_t max_age_ns, int64_t max_bytes, int64_t now_ns,
		    uint64_t *deleted)
{
	if (st->flags & DL_STORE_RDONLY)
		return seterr(st, -EROFS, "store: retention: the store is read-only");
	if (st->in_txn || !sqlite3_get_autocommit(st->db))
		return seterr(st, -EBUSY, "store: retention: called inside a transaction");
	int64_t cut_minute = INT64_MIN;
	if (max_age_ns > 0)
		cut_minute = (now_ns - max_age_ns) / 1000000 / 60000;
	int64_t deadline = mono_ns() + (int64_t)DL_RETAIN_BUDGET_MS * 1000000;
	uint64_t n = 0;
	int r, more = 0;
	/* Rollup rows of a deleted minute go with it: write the aggregated
	 * ones first so none for a deleted minute is written afterwards. */
	if ((r = roll_flush_now(st)) < 0)
		return r;
	while ((r = retain_step(st, cut_minute, max_bytes, &n)) == 1) {
		if (mono_ns() >= deadline) {
			more = 1;
			break;
		}
	}
	if (deleted)
		*deleted += n;
	if (r < 0)
		return r;

	/* Hand back an oversized freelist, within what is left of the budget. */
	int64_t av, bytes, pages, freep;
	if ((r = pragma_int(st, "PRAGMA auto_vacuum", &av)) < 0)
		return r;
	while (av == 2 && (r = live_bytes(st, &bytes, &pages, &freep)) == 0 && freep > pages / 8 &&
	       freep > RETAIN_VACUUM_PAGES / 4) {
		if (mono_ns() >= deadline) {
			more = 1;
			break;
		}
		char sql[64];
		snprintf(sql, sizeof(sql), "PRAGMA incremental_vacuum(%d)", RETAIN_VACUUM_PAGES);
		/* incremental_vacuum returns no rows; exec steps it to the end. */
		if ((r = exec(st, sql, "retention: incremental_vacuum")) < 0)
			return r;
	}
	if (r < 0)
		return r;

	if (n) {
		int64_t boot = 0;
		PREP(st, S_RET_BOOT, b);
		if ((r = step1(st, b, "retention: boot", &boot)) < 0)
			return r;
		st->retained += n;
		if ((r = dl_store_counter(st, boot, 0, "retention_deleted", st->retained, now_ns)) < 0)
			return r;
	}
	return more;
}
