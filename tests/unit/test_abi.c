/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The kernel/user ABI as user space compiles it: sizes and offsets must be
 * what the BPF side (same header, compiled against vmlinux.h) assumes, and
 * every X-macro entry must round-trip through the name tables.
 */
#include <stddef.h>
#include <string.h>
#include "tap.h"
#include "collector/names.h"

#define SIZE_IS(t, n) TAP_OK(sizeof(t) == (n), "sizeof(" #t ") == %d (is %zu)", (n), sizeof(t))
#define OFF_IS(t, f, n) TAP_OK(offsetof(t, f) == (n), "offsetof(" #t ", " #f ") == %d (is %zu)", \
			       (n), offsetof(t, f))

int main(void)
{
	/* layouts */
	SIZE_IS(struct dl_record, 160);
	SIZE_IS(struct dl_net_payload, 32);
	TAP_OK(sizeof(struct dl_net_payload) <= DL_PAYLOAD_LEN, "net payload fits DL_PAYLOAD_LEN");
	SIZE_IS(((struct dl_record *)0)->u, DL_PAYLOAD_LEN);
	OFF_IS(struct dl_record, version, 0);
	OFF_IS(struct dl_record, size, 2);
	OFF_IS(struct dl_record, family, 4);
	OFF_IS(struct dl_record, hook, 6);
	OFF_IS(struct dl_record, seq, 8);
	OFF_IS(struct dl_record, ktime_ns, 16);
	OFF_IS(struct dl_record, cgroup_id, 24);
	OFF_IS(struct dl_record, mnt_ns, 32);
	OFF_IS(struct dl_record, exe_ino, 40);
	OFF_IS(struct dl_record, policy_gen, 48);
	OFF_IS(struct dl_record, rule_idx, 52);
	OFF_IS(struct dl_record, verdict, 88);
	OFF_IS(struct dl_record, enforced, 89);
	OFF_IS(struct dl_record, flags, 90);
	TAP_OK(DL_RECORD_HDR_LEN == offsetof(struct dl_record, u) && DL_RECORD_HDR_LEN % 8 == 0,
	       "record header is everything before the payload, 8-byte aligned");
	TAP_OK(DL_ABI_VERSION == 2 && DL_ABI_VERSION_MIN == 1, "record ABI 2, version 1 still read");
#define PAYLOAD_FITS(n, v, s, stem)                                                                  \
	TAP_OK(sizeof(struct dl_##stem##_payload) <= DL_PAYLOAD_LEN &&                              \
	       (DL_RECORD_HDR_LEN + sizeof(struct dl_##stem##_payload)) % 8 == 0,                   \
	       "family " s ": payload dl_" #stem "_payload fits the union, record a multiple of 8");
	DL_FAMILIES(PAYLOAD_FITS)
	OFF_IS(struct dl_record, comm, 96);
	OFF_IS(struct dl_record, u, 112);
	OFF_IS(struct dl_net_payload, port, 16);
	OFF_IS(struct dl_net_payload, protocol, 22);
	SIZE_IS(((struct dl_record *)0)->comm, DL_COMM_LEN);
	SIZE_IS(struct dl_lpm_key, 20);
	OFF_IS(struct dl_lpm_key, addr, 4);
	SIZE_IS(struct dl_net_rule, 24);
	OFF_IS(struct dl_net_rule, rule_idx, 8);
	SIZE_IS(struct dl_net_set, 8 + 24 * DL_NET_SET_MAX);
	OFF_IS(struct dl_net_set, r, 8);
	SIZE_IS(struct dl_config, 80);
	OFF_IS(struct dl_config, mode, 12);
	OFF_IS(struct dl_config, locked, 76);
	SIZE_IS(struct dl_exe, 8 + DL_PATH_MAX);
	SIZE_IS(struct dl_count, 8 * DL_VERDICT_MAX);
	SIZE_IS(struct dl_rule_mode, 56);
	OFF_IS(struct dl_rule_mode, gen, 8);
	OFF_IS(struct dl_rule_mode, mode, 12);
	OFF_IS(struct dl_rule_mode, id, 16);
	TAP_OK(sizeof(((struct dl_rule_mode *)0)->id) > 32, "dl_rule_mode.id holds a rule id (at most 32, policy.h) and its NUL");
	TAP_OK(sizeof(struct dl_record) % 8 == 0, "dl_record is a multiple of 8 (ring buffer alignment)");
	TAP_OK(DL_ABI_VERSION >= 1, "ABI version set");
	TAP_OK((DL_RINGBUF_DEFAULT & (DL_RINGBUF_DEFAULT - 1)) == 0 && DL_RINGBUF_DEFAULT % 4096 == 0,
	       "default ring buffer is a power of two and a page multiple");

	/* name tables: every entry round-trips, values in range */
#define CHECK3(kind, n, v, s)                                                              \
	TAP_OK(strcmp(dl_##kind##_name(v), s) == 0 && dl_##kind##_by_name(s) == (v),       \
	       #kind " " #n " <-> \"%s\"", s);
#define FAM(n, v, s, stem) CHECK3(family, n, v, s)                                               \
	TAP_OK((v) > 0 && (v) < DL_FAMILY_MAX, "family " #n " in 1..DL_FAMILY_MAX-1");
#define HOOK(n, v, s, f, op) CHECK3(hook, n, v, s)                                             \
	TAP_OK(strcmp(dl_family_name(DL_FAMILY_##f), "?") != 0, "hook " #n " family " #f " named");
#define VERD(n, v, s) CHECK3(verdict, n, v, s)                                             \
	TAP_OK((v) >= 0 && (v) < DL_VERDICT_MAX, "verdict " #n " < DL_VERDICT_MAX");
#define ACT(n, v, s) CHECK3(action, n, v, s)
#define MODE(n, v, s) CHECK3(mode, n, v, s)
#define RMODE(n, v, s) CHECK3(rule_mode, n, v, s)
	DL_FAMILIES(FAM)
	DL_HOOKS(HOOK)
	DL_VERDICTS(VERD)
	DL_ACTIONS(ACT)
	DL_MODES(MODE)
	DL_RULE_MODES(RMODE)

	/* DL_VERDICT_MAX is exactly the number of verdicts (the counters array) */
#define COUNT(n, v, s) + 1
	TAP_OK(0 DL_VERDICTS(COUNT) == DL_VERDICT_MAX, "DL_VERDICT_MAX == number of verdicts");

	/* unknown values and names */
	TAP_OK(strcmp(dl_family_name(0), "?") == 0, "family 0 is unnamed");
	TAP_OK(strcmp(dl_verdict_name(DL_VERDICT_MAX), "?") == 0, "verdict DL_VERDICT_MAX is unnamed");
	TAP_OK(dl_hook_by_name("nope") == -1 && dl_family_by_name(NULL) == -1, "unknown names give -1");
	return tap_done();
}
