/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internal interfaces of the drylock collector (see main.c for the overview). */
#ifndef DRYLOCK_COLLECTOR_H
#define DRYLOCK_COLLECTOR_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include "../bpf/drylock_abi.h"
#include "policy.h"
#include "../store/store.h"

#define DL_PIN_DIR_DEFAULT "/sys/fs/bpf/drylock"
#define DL_DB_DEFAULT "/var/lib/drylock/drylock.db"
#define DL_POLICY_DEFAULT "/etc/drylock/drylock.policy"
#define DL_RUN_DIR_DEFAULT "/run/drylock" /* DRYLOCK_RUN_DIR overrides (tests) */

/* Every message from the collector goes through here: "drylock: <component>: ...",
 * one line on stderr. When stderr is the journal ($JOURNAL_STREAM matches it)
 * the line starts with the syslog level, "<3>" LOG_ERR, "<4>" LOG_WARNING,
 * "<6>" LOG_INFO (sd-daemon(3)); dl_log() is LOG_INFO. */
void dl_log_level(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define dl_log(...) dl_log_level(6 /* LOG_INFO */, __VA_ARGS__)
#define dl_warn(...) dl_log_level(4 /* LOG_WARNING */, __VA_ARGS__)
#define dl_err(...) dl_log_level(3 /* LOG_ERR */, __VA_ARGS__)

/* sdnotify.c: send state ("READY=1") to systemd's $NOTIFY_SOCKET. 1 sent,
 * 0 no socket to tell (not a Type=notify service), -errno (errno set too). */
int dl_sd_notify(const char *state);

/* ---- loader.c: load, attach, pin, configure ---- */
#define DL_FAMILY_MAPS_MAX 4 /* pinned maps one family may own */
struct dl_pinned {
	char pin_dir[256];
	int config_fd, seq_fd, drops_fd, counts_fd, unmatched_fd, events_fd, exe_fd;
	int rule_mode_fd;       /* dl_rule_mode, -1 if not pinned */
	int fam_fd[DL_FAMILY_MAX][DL_FAMILY_MAPS_MAX]; /* per family, -1 if not pinned */
};
/* Is family f loaded (its first map pinned)? */
bool dl_family_loaded(const struct dl_pinned *p, unsigned f);
/* Per-family kernel counter (dl_drops or dl_unmatched, summed over CPUs). */
int dl_read_unmatched(const struct dl_pinned *p, __u32 family, uint64_t *out);

/* Is BPF LSM usable here? 0, or -errno with a one-line reason in why. */
int dl_bpf_lsm_check(char *why, size_t whylen);
/* For every LSM program of every BPF object the loader knows (the skeletons
 * are opened, nothing reaches the kernel): cb(family, hook) with family 0
 * for objects loaded whatever the policy says. Stops at cb's first nonzero
 * return and returns it; -errno if a skeleton does not open. */
int dl_lsm_hooks(int (*cb)(int family, const char *hook, void *ctx), void *ctx);
/* A program of the running engine replaced by this build's (upgrade.c). */
struct dl_upgrade {
	char prog[16];                  /* BPF_OBJ_NAME_LEN */
	char hook[48];                  /* LSM hook */
	char old_tag[17], new_tag[17];  /* bpf_prog_info.tag, 16 hex digits */
	__u32 old_link_id, new_link_id; /* equal after a link_update */
	const char *how;                /* "link_update" or "relink" */
};
#define DL_UPGRADES_MAX 32
struct dl_upgrades {
	unsigned n;
	struct dl_upgrade u[DL_UPGRADES_MAX];
	bool locked;                    /* engine locked: nothing loaded or replaced */
};
/* Load every program the policy needs, attach what is not attached yet,
 * replace an attached program whose code differs from this build's
 * (upgrade.c; each one in *upg), pin links and maps under pin_dir, then
 * install the policy's rules and bump the generation. mode < 0 keeps the
 * current mode of an already-loaded engine (permissive on a fresh load). On
 * a fresh load the sequence counter starts after seq_floor (the highest seq
 * already used on this boot). On return p->*_fd are open. *fresh is set
 * when nothing was pinned before. */
int dl_load(const char *pin_dir, const struct dl_policy *policy, int mode, __u32 ringbuf_size,
	    uint64_t seq_floor, struct dl_pinned *p, __u32 *gen, bool *fresh, struct dl_upgrades *upg);
/* Open the pinned maps of a loaded engine (for mode/status/collecting);
 * -ENOENT if none. dl_config and the families' maps are opened read-only
 * (a locked engine grants nothing else: family self); dl_config_write
 * opens its own writable fd. */
int dl_pinned_open(const char *pin_dir, struct dl_pinned *p);
/* One pinned map of pin_dir, writable or read-only: an fd or -errno. */
int dl_pinned_open_map(const char *pin_dir, const char *name, bool writable);
/* Is the engine locked (`drylock lock`, until reboot)? 1, 0, or -errno
 * when its config cannot be read. */
int dl_engine_locked(const struct dl_pinned *p);
void dl_pinned_close(struct dl_pinned *p);
int dl_config_read(const struct dl_pinned *p, struct dl_config *c);
int dl_config_write(const struct dl_pinned *p, const struct dl_config *c);
/* Detach everything: remove the pins (links and maps) and the directory. */
int dl_unload(const char *pin_dir);
/* Remove every pin under dir, then dir. */
int dl_rm_pins(const char *dir);
/* Sum of per-family kernel drop counters. */
int dl_read_drops(const struct dl_pinned *p, __u32 family, uint64_t *out);
/* The DL_MAX_RULES entries of generation gen's half of dl_rule_mode
 * (entry i: rule i; an entry of another generation is stale). */
int dl_rule_modes_read(const struct dl_pinned *p, __u32 gen, struct dl_rule_mode *half);
/* Decisions of rule rule_idx of generation gen, per verdict, summed over
 * the CPUs (dl_counts, gen's half). */
int dl_rule_counts_read(const struct dl_pinned *p, __u32 gen, __u32 rule_idx, uint64_t out[DL_VERDICT_MAX]);
/* Write one rule's entry back (its gen picks the half). */
int dl_rule_mode_write(const struct dl_pinned *p, __u32 rule_idx, const struct dl_rule_mode *m);

/* ---- lock-self.c: `drylock lock` (the self family's command) ---- */
/* Lock the engine in pin_dir until reboot (family self): 0 (*already set if
 * it was locked before), or -errno after logging why. */
int dl_lock(const char *pin_dir, bool *already);

/* ---- doctor.c: `drylock check` ---- */
/* Every prerequisite of BPF LSM on this host, yes or no with the fix, for
 * people or as JSON. db_path's directory must be writable. Returns the exit
 * status: EXIT_SUCCESS when every required check passes. */
int dl_doctor(const char *pin_dir, const char *db_path, bool json);
/* The collector's one-bit "enforcing" (lifecycle audit records, its log):
 * 1 when any family the policy uses is in enforce mode. */
static inline int dl_any_enforcing(const __u32 mode[DL_FAMILY_MAX], __u32 families)
{
	for (unsigned f = 1; f < DL_FAMILY_MAX; f++)
		if ((families & (1u << f)) && mode[f] == DL_MODE_ENFORCE)
			return 1;
	return 0;
}

/* ---- ringread.c: the ring buffer read in place, released after commit ---- */
struct dl_ring {
	int fd;
	size_t page, size, mask;
	unsigned long *consumer;    /* consumer page (we write it) */
	const unsigned long *producer;
	const uint8_t *data;        /* data pages, mapped twice for wrap-around */
	void *cons_map, *prod_map;
	size_t prod_map_len;
	unsigned long pos;          /* next record to read (>= *consumer) */
};
int dl_ring_open(struct dl_ring *r, int map_fd);
void dl_ring_close(struct dl_ring *r);
/* Next committed record at or after r->pos: 1 with *data and *len set and r->pos
 * advanced past it, 0 when none is ready. Discarded records are skipped. */
int dl_ring_next(struct dl_ring *r, const void **data, __u32 *len);
/* Hand everything before r->pos back to the kernel. */
void dl_ring_release(struct dl_ring *r);
/* Forget what was read but not released (after a failed commit). */
void dl_ring_rewind(struct dl_ring *r);

/* ---- ingest.c: one ring record decoded ---- */
/*
 * Record ABI (bpf/drylock_abi.h, docs/abi.md): a record is a fixed header
 * (DL_RECORD_HDR_LEN bytes) plus its family's payload, size bytes in all.
 * dl_record_read() takes a record of a known version (DL_ABI_VERSION_MIN to
 * DL_ABI_VERSION) of any size from the header up: out is zeroed, then gets
 * the first min(size, sizeof(*out)) bytes (a payload longer than this build
 * knows is cut, a shorter one reads as zeros). Anything else is skipped, for
 * one of these reasons (DL_REC_OK is 0), counted per reason by the ingest
 * (ingest.h) and reported by the collector and `drylock status`.
 * X(NAME, "key" (status --json, <pin>.skipped), "what the collector says")
 */
#define DL_REC_SKIPS(X) \
	X(SHORT,   "short",   "shorter than the record header") \
	X(SIZE,    "size",    "size field beyond the ring record or below the header") \
	X(VERSION, "version", "unknown record version") \
	X(TIME,    "time",    "time beyond int64 nanoseconds")
enum dl_rec_skip {
	DL_REC_OK = 0,
#define DL_X_REC_SKIP_ENUM(n, k, s) DL_REC_##n,
	DL_REC_SKIPS(DL_X_REC_SKIP_ENUM)
	DL_REC_SKIP_MAX
};
/* A reason's key and what the collector says of it ("?" out of range). */
const char *dl_rec_skip_key(unsigned reason);
const char *dl_rec_skip_name(unsigned reason);
/* Decode one ring record of len bytes: DL_REC_OK with *out set, or the
 * reason it is skipped (DL_REC_SHORT, _SIZE, _VERSION). */
int dl_record_read(const void *data, __u32 len, struct dl_record *out);

/* unload.c: the running collector's skip counters, in the run directory
 * (<pin>.skipped), for `drylock status`. read: all zero if none saved. */
int dl_skipped_save(const char *pin_dir, const uint64_t skipped[DL_REC_SKIP_MAX]);
int dl_skipped_read(const char *pin_dir, uint64_t skipped[DL_REC_SKIP_MAX]);

/* ---- audit.c: the audit writer thread ---- */
struct dl_audit;
/* Always returns a usable object; when audit is unusable it says so once and
 * every push is only counted. */
struct dl_audit *dl_audit_start(bool enabled, const char *boot_id);
/* The same writer sending through send (tests): returns 0 or -errno. */
typedef int (*dl_audit_sender)(void *ctx, int type, const char *text, int success);
struct dl_audit *dl_audit_start_sender(const char *boot_id, dl_audit_sender send, void *ctx);
void dl_audit_stop(struct dl_audit *a);
/* Queue a decision (copied) unless the deduplication holds it back as a
 * repeat. Never blocks; a full queue counts a drop. The writer is not woken
 * per decision: call dl_audit_kick after a batch (it is woken early only
 * when the queue is a quarter full, and checks at least once a second). */
void dl_audit_decision(struct dl_audit *a, const struct dl_event *ev, const char *policy_name);
/* Wake the writer if anything is queued: one signal per batch. */
void dl_audit_kick(struct dl_audit *a);
/* Queue a lifecycle record (AUDIT_USER_MAC_STATUS, _POLICY_LOAD, ...). */
void dl_audit_text(struct dl_audit *a, int type, const char *text, int success);
/* Totals since start. */
void dl_audit_counters(struct dl_audit *a, uint64_t *suppressed, uint64_t *dropped);
/* Send one record synchronously (for short-lived commands like `drylock mode`).
 * Returns 0, or -errno when audit is unavailable. */
int dl_audit_send_once(int type, const char *text, int success);
/* At least once (audit.c): catch_up, once at start: create the boot's audit
 * mark and send what the store holds after every boot's mark, waiting for
 * it; sync: wait until everything queued was handled and the suppressed
 * count sent, <0 if something could not be sent since the last sync; mark:
 * the audit mark the current boot may have now (write it with
 * dl_store_audit_mark_set). batch_dups, before a batch's commit: dup[i] set
 * for each would-deny/deny with seq <= floor already in the store (a batch
 * re-read after a crash), which must not be queued again. */
struct dl_pending;
int dl_audit_catch_up(struct dl_audit *a, struct dl_store *st, int64_t boot_key);
int dl_audit_sync(struct dl_audit *a);
int64_t dl_audit_mark(struct dl_audit *a);
void dl_audit_batch_dups(struct dl_store *st, const struct dl_pending *batch, unsigned n,
			 uint64_t floor, bool *dup);

/* ---- collect.c: the drain loop ---- */
struct dl_collect_opts {
	const char *db_path;
	const char *pin_dir;
	const char *ready_file;
	const struct dl_policy *policy;
	bool audit;
	bool sync_full;
	int mode;                 /* -1 keep, else enum dl_mode */
	__u32 ringbuf_size;
	unsigned batch;           /* records per transaction */
	bool exit_when_idle;      /* drain once and return (tests, demo) */
	int64_t max_age_ns;       /* retention: delete events older (0: keep) */
	int64_t max_bytes;        /* retention: keep the database under (0: no limit) */
};
int dl_collect(const struct dl_collect_opts *o);

/* ---- links.c: the kernel's BPF LSM links ---- */
struct dl_lsm_link {
	__u32 link_id, prog_id;
	char prog_name[16];     /* BPF_OBJ_NAME_LEN */
	char hook[64];          /* LSM hook, "?" if unknown */
};
/* Every BPF_LSM_MAC link the kernel lists (malloc'd array). */
int dl_lsm_links(struct dl_lsm_link **out, size_t *n);
/* Is the link's program one of drylock's (named dl_*)? */
bool dl_lsm_link_is_ours(const struct dl_lsm_link *l);

/* ---- unload.c: state kept across collectors, `drylock unload` ---- */
/* Take the one-collector-per-engine lock: the fd to keep open, or -EBUSY
 * with *holder set to the running collector's pid (0 if unknown). */
int dl_collector_lock(const char *pin_dir, pid_t *holder);
/* The last sequence number `unload` saved for this boot, 0 if none. */
int dl_seq_saved(const char *pin_dir, const char *boot_id, uint64_t *seq);
int dl_cmd_unload(const char *pin_dir, int argc, char **argv);

/* ---- util ---- */
int dl_boot_id(char out[64]);
int64_t dl_boot_wall_ns(void);
int64_t dl_now_ns(void);
extern const char dl_default_policy[];

#endif
