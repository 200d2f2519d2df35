/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Ingest (collector/ingest.c) into a real store in a temp directory: which
 * records dl_ingest_add accepts, and the wall time it gives them. A record's
 * time that int64 nanoseconds cannot hold is refused, not wrapped (found by
 * tests/fuzz/fuzz_ingest.c: signed overflow in boot_wall_ns + ktime_ns).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include "tap.h"
#include "collector/ingest.h"

#define BOOT_WALL INT64_C(1700000000000000000)

static struct dl_record rec(__u64 seq, __u64 ktime_ns)
{
	struct dl_record r = { .version = DL_ABI_VERSION, .size = sizeof(r), .family = DL_FAMILY_NET,
			       .hook = DL_HOOK_SOCKET_CONNECT, .seq = seq, .ktime_ns = ktime_ns,
			       .policy_gen = 1, .rule_idx = 0, .tgid = 1, .pid = 1,
			       .verdict = DL_VERDICT_WOULD_DENY };

	r.u.net.addr[10] = r.u.net.addr[11] = 0xff;
	r.u.net.port = 80;
	r.u.net.protocol = 6;
	return r;
}

int main(void)
{
	struct dl_policy *p = NULL;
	struct dl_diags d = { 0 };
	struct dl_store *st = NULL;
	struct dl_ingest in;
	struct dl_record r;
	int64_t boot = 0, pkey = 0;
	char dir[256], db[300];

	if (tap_tmpdir(dir, sizeof(dir), "ingest"))
		return EXIT_FAILURE;
	snprintf(db, sizeof(db), "%s/t.db", dir);
	if (dl_policy_parse_string("t.policy", "net deny a addr=any\n", &p, &d) ||
	    dl_store_open(db, 0, &st) < 0) {
		printf("Bail out! setup: %s\n", dl_store_errmsg(st));
		return EXIT_FAILURE;
	}
	struct dl_store_rule sr = { .idx = 0, .id = p->rules[0].id, .family = p->rules[0].family,
				    .action = p->rules[0].action, .text = p->rules[0].text };
	TAP_OK(dl_store_boot(st, "0123456789abcdef", BOOT_WALL, &boot) == 0 &&
	       dl_store_policy(st, p->name, p->sha256, p->text, &sr, 1, &pkey) == 0 &&
	       dl_store_policy_load(st, boot, 1, pkey, BOOT_WALL) == 0 &&
	       dl_ingest_init(&in, st, p, boot, BOOT_WALL, pkey, 1, -1, -1, 8) == 0, "setup");

	r = rec(1, 5000000000ull);
	TAP_OK(dl_ingest_add(&in, &r, sizeof(r)) == 0 && in.n == 1 &&
	       in.batch[0].ev.ts_ns == BOOT_WALL + 5000000000ll, "a record's time is boot + ktime");
	r = rec(2, (__u64)INT64_MAX - 1);
	TAP_OK(dl_ingest_add(&in, &r, sizeof(r)) == -EPROTO && in.n == 1 && in.bad == 1,
	       "a time past int64 nanoseconds is refused and counted, not wrapped");
	r = rec(3, UINT64_C(1) << 63);
	TAP_OK(dl_ingest_add(&in, &r, sizeof(r)) == -EPROTO && in.n == 1 && in.bad == 2,
	       "a ktime_ns of 2^63 or more is refused and counted");
	r = rec(4, (__u64)(INT64_MAX - BOOT_WALL));
	TAP_OK(dl_ingest_add(&in, &r, sizeof(r)) == 0 && in.n == 2 && in.batch[1].ev.ts_ns == INT64_MAX,
	       "the last representable time is accepted");
	r = rec(5, 1);
	r.size = sizeof(r) + 8;
	TAP_OK(dl_ingest_add(&in, &r, sizeof(r)) == -EPROTO && in.bad == 3, "a record of another size is refused");
	TAP_OK(dl_ingest_commit(&in) == 2, "the accepted records are stored");

	dl_ingest_fini(&in);
	dl_store_close(st);
	dl_policy_free(p);
	dl_diags_free(&d);
	tap_tmpdir_remove(dir);
	return tap_done();
}
