-- SPDX-License-Identifier: LGPL-2.1-or-later
--
-- drylock store schema, version 3 (v2 + family-neutral objects, events.flags,
-- interned tables without UNIQUE indexes; see store.c's migrations).
--
-- This file is the whole schema. store.c embeds it and runs it on every
-- writable open, after any migrations, so every statement here is idempotent:
-- tables and indexes are CREATE ... IF NOT EXISTS, views are dropped and
-- recreated (a newer drylock can fix a view without a migration). Changing a
-- TABLE means bumping DL_SCHEMA_VERSION in store.c and adding a migration
-- there that brings the previous version's tables to this shape; a database
-- written by an older drylock is migrated when a newer one opens it for
-- writing. A database with a newer version than the code knows is refused.
--
-- People read the views (events_v, would_deny_v, counters_v, loads_v,
-- modes_v), not the tables; see docs/store.md for examples.
--
-- Size budget. The target is <= 40 bytes on disk per event at >= 1M
-- events/s, so the events table holds only small integers and everything
-- that repeats lives in a side table and is referenced:
--   strings   every repeated text (comm, exe, cgroup path), stored once;
--   subjects  the identity of the acting process (comm, exe, cgroup, ids,
--             namespaces): a service produces the same tuple millions of
--             times, so an event carries one small integer for all of it;
--   objects   what was acted on, by family: a display text and two typed
--             integer keys (net: address, port, protocol; kvm: the lock
--             owner's comm, pid, ioctl command).
-- Pids are not part of the subject: they change with every process and
-- would make the subject table as large as the events table.
-- store.c keeps a bounded in-memory cache of these lookups, so a hot
-- subject costs one hash probe, not a query.
--
-- Deduplication (v3). strings, subjects and objects have no UNIQUE index:
-- the writer's caches are what makes a value stored once. A value evicted
-- from the bounded cache (or first seen again after the collector
-- restarted) gets a second row. That costs a few bytes; a UNIQUE index
-- cost half the ingest rate (every never-seen destination was a random
-- page write in the index, at commit and again at checkpoint). So a value
-- may have several ids, and everything that groups or filters by a
-- subject, object or string does it by value (the text, the typed keys),
-- never by id; ties are broken by the smallest id of a value, which is the
-- order in which values were first stored.
--
-- References are documented with REFERENCES but foreign keys are not
-- enforced (PRAGMA foreign_keys stays off): enforcement would cost a lookup
-- per event and the single writer, store.c, keeps them consistent.
--
-- Time. Stored as milliseconds since the Unix epoch (6 bytes as a varint
-- where nanoseconds take 8); reports need minute resolution. Views format
-- it as ISO-8601 UTC text with milliseconds.
--
-- Pragmas (set by store.c, not here): journal_mode=WAL so readers never
-- block the collector; synchronous=NORMAL (FULL on request);
-- auto_vacuum=INCREMENTAL, set when the file is created, so retention by
-- size can give pages back to the file system without stopping collection
-- (PRAGMA incremental_vacuum runs in short steps).

-- Key/value facts about this database. schema_version is an integer.
CREATE TABLE IF NOT EXISTS meta (
	key   TEXT PRIMARY KEY,
	value ANY
) WITHOUT ROWID;

-- Names of the ABI enums, filled by store.c from the X-macro lists in
-- bpf/drylock_abi.h on every writable open, so views can join them.
CREATE TABLE IF NOT EXISTS family_names  (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS hook_names    (id INTEGER PRIMARY KEY, name TEXT NOT NULL,
                                          family INTEGER NOT NULL); -- family_names.id
CREATE TABLE IF NOT EXISTS verdict_names (id INTEGER PRIMARY KEY, name TEXT NOT NULL,
                                          denies INTEGER NOT NULL DEFAULT 0); -- would-deny/deny
CREATE TABLE IF NOT EXISTS action_names  (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS mode_names    (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
-- Names of the values of objects.k2 per family (net: the IANA protocol,
-- kvm: the ioctl command), from each family's store file (store/obj-*.c).
CREATE TABLE IF NOT EXISTS object_kind_names (family INTEGER NOT NULL, id INTEGER NOT NULL,
                                              name TEXT NOT NULL, PRIMARY KEY (family, id))
                                              WITHOUT ROWID;

-- One row per boot of the host (boot_id from
-- /proc/sys/kernel/random/boot_id). boot_wall_ns is the wall clock at
-- CLOCK_BOOTTIME 0. Boot ids are allocated in the order boots are first seen,
-- which is chronological; event ids rely on that (see events). At most 2^23
-- boots.
CREATE TABLE IF NOT EXISTS boots (
	id           INTEGER PRIMARY KEY,
	boot_id      TEXT NOT NULL UNIQUE,
	boot_wall_ns INTEGER NOT NULL
);

-- Every policy version ever loaded, by content: the exact text is kept, so
-- an event can always be traced to the rule text that decided it.
-- first_loaded: ms, the earliest load seen (NULL until loaded).
CREATE TABLE IF NOT EXISTS policies (
	id           INTEGER PRIMARY KEY,
	sha256       TEXT NOT NULL UNIQUE,  -- hex of the policy text
	name         TEXT NOT NULL,
	text         TEXT NOT NULL,
	first_loaded INTEGER
);

-- The rules of a policy version. idx is the kernel's rule_idx.
CREATE TABLE IF NOT EXISTS rules (
	policy  INTEGER NOT NULL REFERENCES policies(id),
	idx     INTEGER NOT NULL,
	rule_id TEXT NOT NULL,          -- the id written in the policy file
	family  INTEGER NOT NULL,       -- family_names.id
	action  INTEGER NOT NULL,       -- action_names.id
	text    TEXT NOT NULL,
	PRIMARY KEY (policy, idx)
) WITHOUT ROWID;

-- A policy generation loaded into the kernel on a boot. gen is the
-- kernel's dl_config.policy_gen, carried by every record. A (boot, gen) pair
-- can repeat if the engine was unloaded and loaded again within one boot;
-- the latest row wins for new events (events themselves store the policy).
CREATE TABLE IF NOT EXISTS loads (
	boot   INTEGER NOT NULL REFERENCES boots(id),
	gen    INTEGER NOT NULL,
	policy INTEGER NOT NULL REFERENCES policies(id),
	ts     INTEGER NOT NULL         -- ms
);
CREATE INDEX IF NOT EXISTS loads_by_gen ON loads(boot, gen);

-- Mode switches per family (at start and on `drylock mode`).
CREATE TABLE IF NOT EXISTS modes (
	boot   INTEGER NOT NULL REFERENCES boots(id),
	family INTEGER NOT NULL,        -- family_names.id
	mode   INTEGER NOT NULL,        -- mode_names.id
	ts     INTEGER NOT NULL         -- ms
);

-- Counter samples over time: kind is 'kernel_drops' (records the kernel
-- could not put on the ring buffer), 'audit_suppressed', 'audit_dropped'.
-- Values are totals since the collector started on that boot.
CREATE TABLE IF NOT EXISTS counters (
	boot   INTEGER NOT NULL REFERENCES boots(id),
	family INTEGER NOT NULL,        -- family_names.id, 0 for all
	kind   TEXT NOT NULL,
	value  INTEGER NOT NULL,
	ts     INTEGER NOT NULL         -- ms
);

-- Interned text. One table for every kind of string, not one per kind: a
-- string's kind is known from the column that references it, one table means
-- one cache and one pair of prepared statements in the writer, and the few
-- values shared between kinds (a comm equal to a path's last component is
-- rare; a cgroup path equal to an exe path is rarer) would be stored twice in
-- per-kind tables. No index (see "Deduplication" above): filters by a
-- string scan this table, which grows with distinct values, not events.
-- Id 0 is never used: it means "unknown" in referencing columns.
-- Text is stored as the kernel gave it; comm in particular is untrusted and
-- may hold any byte, including invalid UTF-8.
CREATE TABLE IF NOT EXISTS strings (
	id INTEGER PRIMARY KEY,
	s  TEXT NOT NULL
);

-- The acting process, minus pids. Text columns reference strings(id), 0 if
-- unknown. loginuid/sessionid are 4294967295 when unset, as in audit.
CREATE TABLE IF NOT EXISTS subjects (
	id        INTEGER PRIMARY KEY,
	comm      INTEGER NOT NULL,     -- strings.id
	exe       INTEGER NOT NULL,     -- strings.id
	cgroup    INTEGER NOT NULL,     -- strings.id of the cgroup v2 path
	cgroup_id INTEGER NOT NULL,
	mnt_ns    INTEGER NOT NULL,
	uid       INTEGER NOT NULL,
	euid      INTEGER NOT NULL,
	gid       INTEGER NOT NULL,
	loginuid  INTEGER NOT NULL,
	sessionid INTEGER NOT NULL
);

-- What was acted on, for every family in one table: family, a display
-- text and two typed integer keys, whose meaning the family's store file
-- (store/obj-<stem>.c) gives and object_kind_names names (k2). net: text
-- is the address (dotted quad for v4-mapped addresses, RFC 5952 IPv6
-- otherwise: SQL cannot format IPv6, and the text is shorter than 16 bytes
-- for IPv4 and what people query), k1 the port, k2 the IANA protocol. kvm:
-- text is the lock owner's comm, k1 its pid (tgid), k2 the ioctl command.
-- One table rather than one per family: every family so far fits "a text
-- and two numbers", events keep one object column, and a report over all
-- families is one join (docs/store.md, "Objects"). Prefix filters parse the
-- net text back in C (drylock-query registers a function for that).
CREATE TABLE IF NOT EXISTS objects (
	id     INTEGER PRIMARY KEY,
	family INTEGER NOT NULL,        -- family_names.id
	text   TEXT NOT NULL,
	k1     INTEGER NOT NULL,
	k2     INTEGER NOT NULL
);

-- Decisions. Narrow on purpose: integers only, most of them one byte.
--
-- id = (boots.id << 40) | seq. The record's seq is per boot and starts at
-- 1, so id is unique, and because it is the INTEGER PRIMARY KEY (the rowid)
-- the table needs no separate index for it: INSERT OR IGNORE of a record that
-- is already stored (the collector crashed after commit but before releasing
-- the ring buffer) is a no-op found by the B-tree descent the insert does
-- anyway. seq < 2^40, boots < 2^23. Since boots are numbered in order and
-- seq grows with time, id order is (nearly) time order, and appends go to the
-- end of the B-tree, which keeps pages full.
--
-- There is deliberately no index on ts: it would cost ~20 bytes per event.
-- Time windows are resolved through the minutes table below into an id range.
CREATE TABLE IF NOT EXISTS events (
	id       INTEGER PRIMARY KEY,
	ts       INTEGER NOT NULL,      -- ms since the epoch
	hook     INTEGER NOT NULL,      -- hook_names.id (implies the family)
	verdict  INTEGER NOT NULL,      -- verdict_names.id
	enforced INTEGER NOT NULL,      -- 1 if the effective mode (the rule's own, else its family's) was enforce
	policy   INTEGER,               -- policies.id, NULL if unknown
	rule     INTEGER,               -- rules.idx in that policy, NULL if none
	subject  INTEGER NOT NULL,      -- subjects.id
	object   INTEGER,               -- objects.id, NULL if the hook has none
	tgid     INTEGER NOT NULL,
	pid      INTEGER,               -- thread id, NULL when equal to tgid
	ppid     INTEGER NOT NULL,
	flags    INTEGER NOT NULL DEFAULT 0 -- DL_REC_F_* (bpf/drylock_abi.h)
);

-- The time index, one row per (minute, boot) that has events: the smallest
-- and largest event id in that minute and how many events were stored.
-- Every event with ts in [a, b] has an id in
--   [min(first_id) over minutes >= a, max(last_id) over minutes <= b],
-- so a time window becomes a rowid range on events without any assumption
-- about ordering (the ordering only makes the range tight). Retention by age
-- deletes the id ranges of old minutes. Also gives an unfiltered timeline
-- for free. Written in the same transaction as its events.
CREATE TABLE IF NOT EXISTS minutes (
	minute   INTEGER NOT NULL,      -- ts / 60000
	boot     INTEGER NOT NULL,
	first_id INTEGER NOT NULL,
	last_id  INTEGER NOT NULL,
	n        INTEGER NOT NULL,
	PRIMARY KEY (minute, boot)
) WITHOUT ROWID;

-- Rollups: what summary and top read, so that a report over millions of
-- events reads thousands of rows. Written by store.c from an in-memory
-- aggregation of committed events, flushed with the first commit of a new
-- minute after ~64k events (at the latest every ~1M events, and at close)
-- in the same transaction as the events of that commit, so they are exact:
-- for each boot, every event with id <= rollup_marks.through_id is counted
-- in the rollups exactly once and no later event is. Readers add the few
-- events after the mark by scanning that id range (summary_v and
-- top_subjects_v do it); after a crash the writer adds them on its next
-- open. Rows are not unique per key (a minute flushed twice has two rows):
-- sum them. Retention deletes a minute's rollup rows with its events.
-- No indexes: they are read whole, and their size is the number of distinct
-- (minute, key) pairs, not of events.
CREATE TABLE IF NOT EXISTS rollup_marks (
	boot       INTEGER PRIMARY KEY,  -- boots.id
	through_id INTEGER NOT NULL      -- events.id; (boot << 40) when none yet
);
-- How far audit has been confirmed sent, per boot: every would-deny/deny
-- with events.id <= through_id reached the audit log (as USER_AVC, or counted
-- in an op=suppressed record). A restarted collector sends those after it
-- (collector/audit.c, docs/audit-records.md "Repeats after a crash").
-- Added without a version bump: CREATE IF NOT EXISTS on every writable open.
CREATE TABLE IF NOT EXISTS audit_marks (
	boot       INTEGER PRIMARY KEY,  -- boots.id
	through_id INTEGER NOT NULL      -- events.id
);
-- Per (minute, boot, policy, rule, hook, verdict, enforced): summary.
CREATE TABLE IF NOT EXISTS rollup_rules (
	minute   INTEGER NOT NULL,
	boot     INTEGER NOT NULL,
	policy   INTEGER,               -- as events.policy
	rule     INTEGER,               -- as events.rule
	hook     INTEGER NOT NULL,
	verdict  INTEGER NOT NULL,
	enforced INTEGER NOT NULL,
	n        INTEGER NOT NULL,
	first    INTEGER NOT NULL,      -- ms, min(ts)
	last     INTEGER NOT NULL       -- ms, max(ts)
);
-- Per (minute, boot, subject, verdict): top by subject.
CREATE TABLE IF NOT EXISTS rollup_subjects (
	minute  INTEGER NOT NULL,
	boot    INTEGER NOT NULL,
	subject INTEGER NOT NULL,
	verdict INTEGER NOT NULL,
	n       INTEGER NOT NULL,
	first   INTEGER NOT NULL,
	last    INTEGER NOT NULL
);

-- ---------------------------------------------------------------------------
-- Views for people. Times are ISO-8601 UTC text with milliseconds.

-- Every decision with names resolved. Column names are an interface
-- (integration tests and docs use them). ts_ns has millisecond precision.
DROP VIEW IF EXISTS events_v;
CREATE VIEW events_v AS
SELECT
	b.boot_id                                                   AS boot_id,
	e.id & 1099511627775                                        AS seq,
	strftime('%Y-%m-%dT%H:%M:%fZ', e.ts / 1000.0, 'unixepoch')  AS time,
	e.ts * 1000000                                              AS ts_ns,
	fn.name                                                     AS family,
	h.name                                                      AS hook,
	v.name                                                      AS verdict,
	e.enforced                                                  AS enforced,
	p.name                                                      AS policy,
	p.sha256                                                    AS policy_sha256,
	r.rule_id                                                   AS rule,
	e.tgid                                                      AS tgid,
	coalesce(e.pid, e.tgid)                                     AS pid,
	e.ppid                                                      AS ppid,
	s.uid                                                       AS uid,
	s.euid                                                      AS euid,
	s.gid                                                       AS gid,
	s.loginuid                                                  AS loginuid,
	s.sessionid                                                 AS sessionid,
	s.cgroup_id                                                 AS cgroup_id,
	cg.s                                                        AS cgroup,
	s.mnt_ns                                                    AS mnt_ns,
	cm.s                                                        AS comm,
	ex.s                                                        AS exe,
	o.text                                                      AS addr,
	o.k1                                                        AS port,
	coalesce(kn.name, o.k2)                                     AS proto,
	e.flags                                                     AS flags,
	NULL /*@object@*/                                           AS object
FROM events e
LEFT JOIN boots b          ON b.id = e.id >> 40
LEFT JOIN hook_names h     ON h.id = e.hook
LEFT JOIN family_names fn  ON fn.id = h.family
LEFT JOIN verdict_names v  ON v.id = e.verdict
LEFT JOIN policies p       ON p.id = e.policy
LEFT JOIN rules r          ON r.policy = e.policy AND r.idx = e.rule
LEFT JOIN subjects s       ON s.id = e.subject
LEFT JOIN strings cg       ON cg.id = s.cgroup
LEFT JOIN strings cm       ON cm.id = s.comm
LEFT JOIN strings ex       ON ex.id = s.exe
LEFT JOIN objects o        ON o.id = e.object
LEFT JOIN object_kind_names kn ON kn.family = o.family AND kn.id = o.k2;

-- What enforcing would break: would-deny and deny decisions grouped by
-- policy, rule, subject (comm, exe, cgroup) and object (addr, port).
DROP VIEW IF EXISTS would_deny_v;
CREATE VIEW would_deny_v AS
SELECT
	p.name  AS policy,
	r.rule_id AS rule,
	g.comm  AS comm,
	g.exe   AS exe,
	g.cgroup AS cgroup,
	g.addr  AS addr,
	g.port  AS port,
	g.n     AS count,
	strftime('%Y-%m-%dT%H:%M:%fZ', g.first / 1000.0, 'unixepoch') AS first_seen,
	strftime('%Y-%m-%dT%H:%M:%fZ', g.last / 1000.0, 'unixepoch')  AS last_seen
FROM (
	SELECT e.policy, e.rule, cm.s AS comm, ex.s AS exe, cg.s AS cgroup,
	       o.text AS addr, o.k1 AS port,
	       count(*) AS n, min(e.ts) AS first, max(e.ts) AS last
	FROM events e
	JOIN subjects s      ON s.id = e.subject
	LEFT JOIN strings cm ON cm.id = s.comm
	LEFT JOIN strings ex ON ex.id = s.exe
	LEFT JOIN strings cg ON cg.id = s.cgroup
	LEFT JOIN objects o  ON o.id = e.object
	WHERE e.verdict IN (SELECT id FROM verdict_names WHERE denies)
	GROUP BY e.policy, e.rule, cm.s, ex.s, cg.s, o.text, o.k1  -- by value (see above)
) g
LEFT JOIN policies p ON p.id = g.policy
LEFT JOIN rules r    ON r.policy = g.policy AND r.idx = g.rule;

-- Counter samples: kernel drops, suppressed and dropped audit records.
DROP VIEW IF EXISTS counters_v;
CREATE VIEW counters_v AS
SELECT
	strftime('%Y-%m-%dT%H:%M:%fZ', c.ts / 1000.0, 'unixepoch') AS time,
	b.boot_id AS boot_id,
	fn.name   AS family,
	c.kind    AS kind,
	c.value   AS value
FROM counters c
LEFT JOIN boots b         ON b.id = c.boot
LEFT JOIN family_names fn ON fn.id = c.family;

-- Policy loads: which policy version ran from when, on which boot.
DROP VIEW IF EXISTS loads_v;
CREATE VIEW loads_v AS
SELECT
	strftime('%Y-%m-%dT%H:%M:%fZ', l.ts / 1000.0, 'unixepoch') AS time,
	b.boot_id AS boot_id,
	l.gen     AS gen,
	p.name    AS policy,
	p.sha256  AS policy_sha256
FROM loads l
LEFT JOIN boots b    ON b.id = l.boot
LEFT JOIN policies p ON p.id = l.policy;

-- Mode switches.
DROP VIEW IF EXISTS modes_v;
CREATE VIEW modes_v AS
SELECT
	strftime('%Y-%m-%dT%H:%M:%fZ', m.ts / 1000.0, 'unixepoch') AS time,
	b.boot_id AS boot_id,
	fn.name   AS family,
	mn.name   AS mode
FROM modes m
LEFT JOIN boots b         ON b.id = m.boot
LEFT JOIN family_names fn ON fn.id = m.family
LEFT JOIN mode_names mn   ON mn.id = m.mode;

-- Exact totals from the rollups plus the events after each boot's mark.
-- Same columns as `drylock-query summary` (no filters: those scan events).
DROP VIEW IF EXISTS summary_v;
CREATE VIEW summary_v AS
SELECT
	p.name AS policy,
	fn.name AS family,
	coalesce(r.rule_id, '#' || g.rule) AS rule,
	v.name AS verdict,
	g.n AS count,
	strftime('%Y-%m-%dT%H:%M:%fZ', g.first / 1000.0, 'unixepoch') AS first_seen,
	strftime('%Y-%m-%dT%H:%M:%fZ', g.last / 1000.0, 'unixepoch')  AS last_seen
FROM (
	SELECT u.policy, h.family AS fam, u.rule, u.verdict,
	       sum(u.n) AS n, min(u.first) AS first, max(u.last) AS last
	FROM (
		SELECT policy, rule, hook, verdict, n, first, last FROM rollup_rules
		UNION ALL
		SELECT e.policy, e.rule, e.hook, e.verdict, 1, e.ts, e.ts
		FROM rollup_marks m JOIN events e
		  ON e.id > m.through_id AND e.id < ((m.boot + 1) << 40)
	) u
	LEFT JOIN hook_names h ON h.id = u.hook
	GROUP BY u.policy, h.family, u.rule, u.verdict
) g
LEFT JOIN policies p      ON p.id = g.policy
LEFT JOIN family_names fn ON fn.id = g.fam
LEFT JOIN rules r         ON r.policy = g.policy AND r.idx = g.rule
LEFT JOIN verdict_names v ON v.id = g.verdict;

-- Per subject and verdict, exact (rollups + events after the mark). `top`
-- is: SELECT comm, exe, cgroup, sum(count) ... WHERE verdict IN
-- ('would-deny', 'deny') GROUP BY comm, exe, cgroup ORDER BY 4 DESC LIMIT 20.
DROP VIEW IF EXISTS top_subjects_v;
CREATE VIEW top_subjects_v AS
SELECT
	cm.s AS comm,
	ex.s AS exe,
	cg.s AS cgroup,
	v.name AS verdict,
	sum(g.n) AS count,
	min(g.first) AS first_ms,
	max(g.last) AS last_ms
FROM (
	SELECT u.subject, u.verdict, sum(u.n) AS n, min(u.first) AS first, max(u.last) AS last
	FROM (
		SELECT subject, verdict, n, first, last FROM rollup_subjects
		UNION ALL
		SELECT e.subject, e.verdict, 1, e.ts, e.ts
		FROM rollup_marks m JOIN events e
		  ON e.id > m.through_id AND e.id < ((m.boot + 1) << 40)
	) u
	GROUP BY u.subject, u.verdict
) g
JOIN subjects s           ON s.id = g.subject
LEFT JOIN strings cm      ON cm.id = s.comm
LEFT JOIN strings ex      ON ex.id = s.exe
LEFT JOIN strings cg      ON cg.id = s.cgroup
LEFT JOIN verdict_names v ON v.id = g.verdict
GROUP BY cm.s, ex.s, cg.s, g.verdict;  -- by value: a subject may have several ids
