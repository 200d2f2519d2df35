/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The SQLite store shared by the collector (writer) and the query tool
 * (read-only). Schema: store/schema.sql (documented, versioned).
 *
 * Writer contract: one connection, WAL journal, batched transactions.
 * dl_store_begin() ... dl_store_event() x N ... dl_store_commit(): when commit
 * returns 0 the events are durable (synchronous=NORMAL in WAL survives a process
 * kill; FULL if the caller asked for it), and only then may the collector
 * release the ring-buffer records. Events are keyed by (boot, seq) so that
 * re-inserting a record after a crash between commit and release is a no-op.
 *
 * All functions return 0 or a negative errno-style code and, on failure, leave
 * a message in dl_store_errmsg(). Nothing here prints.
 */
#ifndef DRYLOCK_STORE_H
#define DRYLOCK_STORE_H

#include <stddef.h>
#include <stdint.h>
#include "../bpf/drylock_abi.h"

struct dl_store;

enum {
	DL_STORE_RDONLY = 1 << 0, /* query tool: never writes, never creates */
	DL_STORE_SYNC_FULL = 1 << 1,
};

/* A decoded record plus what the collector knows about it. Strings may be NULL
 * (unknown). Pointers are only borrowed for the duration of the call. */
struct dl_event {
	struct dl_record rec;
	int64_t ts_ns;           /* wall clock, ns since the Unix epoch */
	int64_t boot_key;        /* from dl_store_boot() */
	int64_t policy_key;      /* from dl_store_policy(); 0 if unknown */
	const char *rule_id;     /* policy rule id, NULL if rule_idx == DL_RULE_NONE */
	const char *exe;         /* executable path */
	const char *cgroup_path; /* cgroup v2 path, e.g. "/system.slice/x.service" */
};

struct dl_store_rule {
	__u32 idx;
	const char *id;
	__u16 family;
	__u8 action;
	const char *text;
};

/* path must name a regular file holding a drylock database, or (writer)
 * a name that does not exist yet in an existing directory: the writer then
 * creates the database there, mode 0600. FIFOs, devices, empty files and
 * dangling symlinks are refused without blocking. A DL_STORE_RDONLY open
 * never creates or writes a file (not even -wal or -shm). docs/store.md,
 * "Files and permissions", has the reasons. */
int dl_store_open(const char *path, int flags, struct dl_store **out);
/* Message for the last failure on st, or for a failed open when st is NULL. */
const char *dl_store_errmsg(const struct dl_store *st);
void dl_store_close(struct dl_store *st);
/* A read-only store opened while no -wal existed reads the database file as
 * a snapshot (see docs/store.md): a collector starting meanwhile could
 * overwrite pages under it. Call after reading: -ESTALE (with a message) if
 * the file changed since the open, so the results may be inconsistent;
 * 0 otherwise, and always 0 for other opens. */
int dl_store_check_snapshot(struct dl_store *st);

/* Idempotent: returns the key of the boot with this boot_id (from
 * /proc/sys/kernel/random/boot_id), creating it. boot_wall_ns is the wall clock
 * at CLOCK_BOOTTIME 0, used to turn ktime_ns into wall time. */
int dl_store_boot(struct dl_store *st, const char *boot_id, int64_t boot_wall_ns, int64_t *key);
/* Idempotent by sha256: stores the policy text and its rules once. */
int dl_store_policy(struct dl_store *st, const char *name, const char *sha256, const char *text,
		    const struct dl_store_rule *rules, size_t n_rules, int64_t *key);
/* A policy generation was loaded into the kernel on this boot. */
int dl_store_policy_load(struct dl_store *st, int64_t boot_key, __u32 gen, int64_t policy_key,
			 int64_t ts_ns);
/* Look up the policy key for (boot, gen); -ENOENT if unknown. */
int dl_store_policy_for_gen(struct dl_store *st, int64_t boot_key, __u32 gen, int64_t *policy_key);
/* The highest sequence number of boot_key that the store has seen (0 if
 * none): a collector loading the engine afresh on the same boot continues
 * after it, so that (boot, seq) never names two decisions. */
int dl_store_max_seq(struct dl_store *st, int64_t boot_key, uint64_t *seq);

/*
 * Audit marks (schema.sql audit_marks): how far the audit log is confirmed.
 * init: create the boot's row if missing (at its highest stored event: a
 * boot first seen without marks counts as audited), read it, and make this
 * store lower it whenever a would-deny/deny at or below it is stored (in the
 * same transaction). get: 1 and the mark, 0 if the boot has none. set: move
 * it (outside a batch). backlog: every would-deny/deny after its boot's mark,
 * all boots, in id order, rebuilt as events (strings valid during the call);
 * at most max of them, the newest: *skipped says how many older ones were
 * left out. cb returning <0 stops and is returned.
 */
int dl_store_audit_mark_init(struct dl_store *st, int64_t boot_key, int64_t *through);
int dl_store_audit_mark_get(struct dl_store *st, int64_t boot_key, int64_t *through);
int dl_store_audit_mark_set(struct dl_store *st, int64_t boot_key, int64_t through);
int dl_store_audit_backlog(struct dl_store *st, uint64_t max,
			   int (*cb)(void *arg, const struct dl_event *ev, const char *policy_name),
			   void *arg, uint64_t *sent, uint64_t *skipped);
/* 1 if an event with this boot and seq is stored, 0 if not, <0 on error. */
int dl_store_event_exists(struct dl_store *st, int64_t boot_key, uint64_t seq);
/* A family's mode was set (at start or by a switch). */
int dl_store_mode(struct dl_store *st, int64_t boot_key, __u16 family, __u32 mode, int64_t ts_ns);
/* A counter sample: kind is "kernel_drops", "audit_suppressed", "audit_dropped"
 * (written by the collector) or "retention_deleted" (by dl_store_retain). */
int dl_store_counter(struct dl_store *st, int64_t boot_key, __u16 family, const char *kind,
		     uint64_t value, int64_t ts_ns);

/* Retention, called by the collector from its own loop between batches (never
 * inside a dl_store_begin/commit pair). Deletes the oldest events, a minute
 * of the time index at a time, while they are older than max_age_ns before
 * now_ns (0: no age limit) or while the live part of the file,
 * (page_count - freelist_count) * page_size, is above max_bytes (0: no size
 * limit). Works in transactions of at most DL_RETAIN_CHUNK event ids and
 * stops after about DL_RETAIN_BUDGET_MS so that the collector is never held
 * for long. Freed pages are reused by new events (see docs/store.md).
 * strings/subjects/objects rows are kept even when no event references them.
 * Adds the number of events deleted to *deleted (may be NULL) and records a
 * "retention_deleted" counter sample when it deleted anything.
 * Returns 0 when nothing more is due, 1 when it stopped at its budget with
 * more to delete (call again after the next batch), or <0. */
#define DL_RETAIN_CHUNK 50000
#define DL_RETAIN_BUDGET_MS 100
int dl_store_retain(struct dl_store *st, int64_t max_age_ns, int64_t max_bytes, int64_t now_ns,
		    uint64_t *deleted);

/* The SQLite connection behind a store, for the query tool's SELECTs and SQL
 * functions and for tests; read-only when the store is. (Also declared, the
 * same way, in query/qdb.h.) */
struct sqlite3;
struct sqlite3 *dl_store_sqlite(struct dl_store *st);
/* SQL for one object's display text over aliases o (objects) and kn
 * (object_kind_names joined on family and k2): each family's fragment
 * (store/obj-<stem>.c) in a CASE on o.family. events_v.object is this. */
const char *dl_store_object_sql(void);
/* Replace the interning caches by an LRU of `entries` entries and no front
 * cache, outside a transaction. For tests: with a small cache every value
 * that leaves it is stored again as a duplicate row (store/schema.sql,
 * "Deduplication"), which reports must not see. */
int dl_store_set_cache(struct dl_store *st, uint32_t entries);

int dl_store_begin(struct dl_store *st);
int dl_store_event(struct dl_store *st, const struct dl_event *ev);
/* On failure the transaction is rolled back (by SQLite or by the caller's
 * dl_store_rollback) and nothing of it is stored; the same events can be
 * stored again later. Distinct errors, each with the database path in the
 * message: -ENOSPC "store: database or disk is full: PATH", -EBUSY
 * "store: database is locked: PATH" (another writer beyond the busy
 * timeout), -EBADMSG "store: PATH is not a drylock database or is corrupt". */
int dl_store_commit(struct dl_store *st);
int dl_store_rollback(struct dl_store *st);

#endif
