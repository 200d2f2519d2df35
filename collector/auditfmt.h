/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Text of drylock's Linux audit records, and the deduplication that keeps a
 * burst of identical decisions from flooding the audit backlog. Pure logic:
 * no libaudit here (collector/audit.c sends), so all of it is unit-tested.
 *
 * Record text (see docs/audit-records.md; conventions from ../shared/AUDIT.md):
 *   USER_AVC, one decision:
 *     avc:  <denied|granted>  { <connect|bind> } for op=<hook> lsm=drylock
 *     tcontext=<ip:port | [ip6]:port> tclass=<family>
 *     decision=<allow|would-deny|deny> enforcing=<0|1> policy=<enc> rule=<id>
 *     seq=<n> boot=<8 hex of boot_id> spid=<tgid> stid=<pid> sppid=<ppid>
 *     suid=<uid> euid=<euid> sgid=<gid> sauid=<loginuid> sses=<n|unset>
 *     scgroup=<id> comm=<enc> cmd=<enc exe>
 *     family-specific: daddr=<ip> dport=<n> proto=<IANA number> (connect)
 *                      laddr=<ip> lport=<n> proto=...            (bind)
 *     trunc=1 last, only when the record's DL_REC_F_TRUNCATED is set
 *   The "avc: ... { perm }" prefix, tcontext= and tclass= are what aureport
 *   --avc reads for result, permission, object and class. There is no
 *   scontext=, so SELinux tools (audit2allow) do not take it for theirs.
 *   <enc> is dl_audit_encode(): "value" or upper-case hex. Never a header or
 *   trailer name (pid uid auid ses subj exe hostname addr terminal res) and
 *   never a name auparse reinterprets (mode flags id action data code list sig
 *   exit saddr key family). family= and a protocol name were seen misread
 *   by `ausearch -i` (as a socket family, and as protocol 0).
 */
#ifndef DRYLOCK_AUDITFMT_H
#define DRYLOCK_AUDITFMT_H

#include <stddef.h>
#include <stdint.h>
#include "../store/store.h"

#define DL_AUDIT_LSM "drylock"
#define DL_AUDIT_MAX_TEXT 2048   /* well under the kernel's 8560-byte limit */
#define DL_AUDIT_MAX_VALUE 256   /* untrusted input bytes kept before encoding */
#define DL_AUDIT_UNSET 4294967295u /* login uid / session id not set */

/*
 * Encode an untrusted value (len bytes, may contain NUL or anything) for an
 * audit field: truncated to maxin bytes first, then written as "value" when
 * every byte is in 0x21..0x7e and none of  "  '  =  \  , else as upper-case
 * hex of the bytes (so a space also forces hex). An empty value is "".
 * Returns the length written (NUL-terminated) or -ENOSPC.
 */
int dl_audit_encode(char *out, size_t outlen, const void *val, size_t len, size_t maxin);

/* Format the USER_AVC text for ev into out. policy_name may be NULL ("?").
 * boot_id is the full boot id string (first 8 hex chars used).
 * Returns the length, or -ENOSPC. */
int dl_audit_format_avc(char *out, size_t outlen, const struct dl_event *ev,
			const char *policy_name, const char *boot_id);

/*
 * The lifecycle records (USER_MAC_POLICY_LOAD, USER_MAC_STATUS), one function
 * each so that the collector, `drylock mode` and `drylock unload` write
 * exactly what docs/audit-records.md says and tests can check it. Each
 * returns the length or -ENOSPC. policy_name is encoded here.
 */
int dl_audit_format_policy_load(char *out, size_t outlen, const char *policy_name,
				const char *sha256, size_t rules, unsigned gen);
int dl_audit_format_start(char *out, size_t outlen, int old_enabled, int enforcing);
int dl_audit_format_stop(char *out, size_t outlen, int enforcing);
/* rule_id NULL: the family's mode was switched; else that one rule's (its
 * effective mode before and after, rule=ID after class=). */
int dl_audit_format_setenforce(char *out, size_t outlen, unsigned family, const char *rule_id,
			       int enforcing, int old_enforcing);
int dl_audit_format_suppressed(char *out, size_t outlen, uint64_t n);
int dl_audit_format_unload(char *out, size_t outlen, int64_t stored, uint64_t lost, uint64_t seq);
/* `drylock lock` (USER_MAC_CONFIG_CHANGE): the engine is final until reboot;
 * maps: how many map ids were protected; enforcing: the self family's mode. */
int dl_audit_format_lock(char *out, size_t outlen, unsigned maps, int enforcing);
/* USER_MAC_CONFIG_CHANGE: a running program replaced by a newer build's;
 * how is "link_update" or "relink" (collector/upgrade.c). */
int dl_audit_format_upgrade(char *out, size_t outlen, const char *hook, const char *prog,
			    const char *old_tag, const char *new_tag, const char *how);

/* res= for a decision: 1 (success) unless the operation was denied. */
int dl_audit_result(const struct dl_record *rec);

/*
 * Deduplication: the first decision with a given key (policy, rule, verdict,
 * enforcing, hook, uid, comm, exe, object) within 'window_ns' is logged; later
 * ones in the window are counted as suppressed. At most 'burst' records per
 * second are logged overall; excess is suppressed too. Time is passed in, so
 * this is deterministic. Fixed memory: 'slots' entries, oldest evicted.
 */
struct dl_dedup;
struct dl_dedup *dl_dedup_new(size_t slots, uint64_t window_ns, unsigned burst);
void dl_dedup_free(struct dl_dedup *d);
/* Returns 1 if ev should be logged now, 0 if suppressed (and counted). */
int dl_dedup_check(struct dl_dedup *d, const struct dl_event *ev, uint64_t now_ns);
/* Suppressed count since the last call; resets it. */
uint64_t dl_dedup_take_suppressed(struct dl_dedup *d);

/*
 * How far the audit log is confirmed, for the store's audit mark (pure: the
 * audit thread holds one under its lock). ids are events.id of one boot,
 * (boot << 40) | seq. A decision is confirmed once its USER_AVC was sent, or
 * once the op=suppressed record that counts it was; it is lost when it could
 * not be queued or sent. The mark is the highest id such that every decision
 * at or below it that went through here is confirmed: below the lowest one
 * still queued (queued_min, INT64_MAX for none), pending in a suppressed
 * count, or lost (lost ones stay for the rest of the run: a restart sends
 * them again from the store).
 */
struct dl_audit_track {
	int64_t top;      /* highest id seen, or the mark it started from */
	int64_t pending;  /* lowest id counted as suppressed, not yet reported */
	int64_t lost;     /* lowest id that was not sent */
};
void dl_audit_track_init(struct dl_audit_track *t, int64_t mark);
void dl_audit_track_queued(struct dl_audit_track *t, int64_t id);
void dl_audit_track_suppressed(struct dl_audit_track *t, int64_t id);
void dl_audit_track_lost(struct dl_audit_track *t, int64_t id);
/* The op=suppressed record was sent (ok) or not. */
void dl_audit_track_summary(struct dl_audit_track *t, int ok);
int64_t dl_audit_track_mark(const struct dl_audit_track *t, int64_t queued_min);

#endif
