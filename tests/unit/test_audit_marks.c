/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * At-least-once audit across a crash, the parts without threads or libaudit:
 *   - the confirmation tracker (auditfmt.c dl_audit_track): the mark never
 *     passes a decision still queued, counted in an unsent op=suppressed
 *     record, or lost;
 *   - the store's audit marks: a boot's mark starts at its highest stored
 *     event, moves when set, survives a reopen, and a would-deny stored at or
 *     below it (a late ring record) lowers it in the same transaction (not
 *     when that transaction rolls back);
 *   - the backlog: every would-deny/deny after each boot's mark, in id order,
 *     rebuilt so that its USER_AVC text is byte for byte the one the
 *     collector wrote when it stored it; allows are not in it; a cap keeps
 *     the newest; dl_store_event_exists finds re-read records.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sqlite3.h>

#include "tap.h"
#include "store/store.h"
#include "collector/auditfmt.h"

static char dir[256];
static int64_t g_pkey;

static struct dl_event ev(int64_t boot, uint64_t seq, unsigned verdict)
{
	struct dl_event e;

	memset(&e, 0, sizeof(e));
	e.rec.version = DL_ABI_VERSION;
	e.rec.size = sizeof(e.rec);
	e.rec.family = DL_FAMILY_NET;
	e.rec.hook = seq % 2 ? DL_HOOK_SOCKET_CONNECT : DL_HOOK_SOCKET_BIND;
	e.rec.seq = seq;
	e.rec.tgid = 100 + (uint32_t)seq;
	e.rec.pid = seq % 3 ? e.rec.tgid : e.rec.tgid + 1;
	e.rec.ppid = 1;
	e.rec.uid = 1000;
	e.rec.euid = seq % 2 ? 1000 : 0;
	e.rec.gid = 100;
	e.rec.loginuid = seq % 2 ? 1000 : 4294967295u;
	e.rec.sessionid = seq % 2 ? 7 : 4294967295u;
	e.rec.cgroup_id = 4242;
	e.rec.rule_idx = seq % 4 ? 0 : DL_RULE_NONE;
	e.rec.verdict = verdict;
	e.rec.enforced = verdict == DL_VERDICT_DENY;
	memcpy(e.rec.comm, seq % 2 ? "curl" : "a b'=", seq % 2 ? 4 : 5);
	if (seq % 5 == 0) {
		inet_pton(AF_INET6, "2001:db8::7", e.rec.u.net.addr);
		e.rec.u.net.sa_family = AF_INET6;
	} else {
		e.rec.u.net.addr[10] = e.rec.u.net.addr[11] = 0xff;
		uint32_t a = htonl(0x0a000000u + (uint32_t)seq);
		memcpy(e.rec.u.net.addr + 12, &a, 4);
		e.rec.u.net.sa_family = AF_INET;
	}
	e.rec.u.net.port = (uint16_t)(1000 + seq);
	e.rec.u.net.protocol = seq % 3 ? IPPROTO_TCP : IPPROTO_UDP;
	e.ts_ns = INT64_C(1795000000000000000) + (int64_t)seq * 1000000;
	e.boot_key = boot;
	e.policy_key = g_pkey;
	e.rule_id = e.rec.rule_idx == DL_RULE_NONE ? NULL : "r-zero";
	e.exe = seq % 7 ? "/usr/bin/curl" : NULL;
	e.cgroup_path = "/system.slice/x.service";
	return e;
}

static int64_t id_of(int64_t boot, uint64_t seq)
{
	return (boot << 40) | (int64_t)seq;
}

static void test_track(void)
{
	struct dl_audit_track t;
	int64_t b = 3;

	dl_audit_track_init(&t, id_of(b, 10));
	TAP_OK(dl_audit_track_mark(&t, INT64_MAX) == id_of(b, 10), "tracker: starts at the stored mark");
	dl_audit_track_queued(&t, id_of(b, 11));
	dl_audit_track_queued(&t, id_of(b, 12));
	TAP_OK(dl_audit_track_mark(&t, id_of(b, 11)) == id_of(b, 10),
	       "tracker: not past the oldest decision still queued");
	TAP_OK(dl_audit_track_mark(&t, INT64_MAX) == id_of(b, 12), "tracker: all sent: at the newest");
	dl_audit_track_queued(&t, id_of(b, 13));
	dl_audit_track_suppressed(&t, id_of(b, 13));
	dl_audit_track_queued(&t, id_of(b, 14));
	TAP_OK(dl_audit_track_mark(&t, INT64_MAX) == id_of(b, 12),
	       "tracker: a deduplicated decision holds the mark until op=suppressed is sent");
	dl_audit_track_summary(&t, 1);
	TAP_OK(dl_audit_track_mark(&t, INT64_MAX) == id_of(b, 14), "tracker: ... and releases it then");
	dl_audit_track_queued(&t, id_of(b, 15));
	dl_audit_track_suppressed(&t, id_of(b, 15));
	dl_audit_track_summary(&t, 0);
	dl_audit_track_queued(&t, id_of(b, 16));
	TAP_OK(dl_audit_track_mark(&t, INT64_MAX) == id_of(b, 14),
	       "tracker: a failed op=suppressed leaves what it counted owed");
	dl_audit_track_init(&t, id_of(b, 20));
	dl_audit_track_lost(&t, id_of(b, 22));
	dl_audit_track_queued(&t, id_of(b, 30));
	TAP_OK(dl_audit_track_mark(&t, INT64_MAX) == id_of(b, 21), "tracker: a lost decision pins the mark");
	dl_audit_track_init(&t, id_of(b, 20));
	dl_audit_track_queued(&t, id_of(b, 25));
	dl_audit_track_queued(&t, id_of(b, 18)); /* late: below the stored mark */
	TAP_OK(dl_audit_track_mark(&t, id_of(b, 18)) == id_of(b, 17),
	       "tracker: a late decision below the mark lowers it while queued");
	TAP_OK(dl_audit_track_mark(&t, INT64_MAX) == id_of(b, 25), "tracker: ... and not once sent");
}

static int put(struct dl_store *st, int64_t boot, uint64_t from, uint64_t to, int commit)
{
	int r = dl_store_begin(st);

	for (uint64_t s = from; s <= to && r == 0; s++) {
		struct dl_event e = ev(boot, s, s % 6 == 0 ? DL_VERDICT_ALLOW :
					  s % 4 == 1 ? DL_VERDICT_DENY : DL_VERDICT_WOULD_DENY);
		r = dl_store_event(st, &e);
	}
	if (r == 0 && commit)
		return dl_store_commit(st);
	dl_store_rollback(st);
	return r;
}

struct seen {
	int n;
	int64_t ids[256];
	int text_ok;
	char first_bad[2 * DL_AUDIT_MAX_TEXT + 8];
};

static int collect(void *arg, const struct dl_event *e, const char *policy_name)
{
	struct seen *s = arg;
	struct dl_event orig = ev(e->boot_key, e->rec.seq, e->rec.verdict);
	char a[DL_AUDIT_MAX_TEXT], b[DL_AUDIT_MAX_TEXT];

	if (s->n < 256)
		s->ids[s->n] = id_of(e->boot_key, e->rec.seq);
	s->n++;
	dl_audit_format_avc(a, sizeof(a), &orig, "pol", "0123abcd");
	dl_audit_format_avc(b, sizeof(b), e, policy_name, "0123abcd");
	if (strcmp(a, b) && s->text_ok) {
		s->text_ok = 0;
		snprintf(s->first_bad, sizeof(s->first_bad), "%s\n# got:  %s", a, b);
	}
	return 0;
}

static void test_store(void)
{
	char db[300];
	struct dl_store *st;
	int64_t b1, b2, m;
	uint64_t sent, skipped;
	struct dl_store_rule rule = { .idx = 0, .id = "r-zero", .family = DL_FAMILY_NET,
				      .action = DL_ACTION_DENY, .text = "net deny r-zero addr=any" };

	snprintf(db, sizeof(db), "%s/marks.db", dir);
	if (dl_store_open(db, 0, &st) < 0) {
		TAP_OK(0, "open: %s", dl_store_errmsg(NULL));
		return;
	}
	TAP_OK(dl_store_policy(st, "pol", "ab12", "net deny r-zero addr=any", &rule, 1, &g_pkey) == 0,
	       "policy stored");
	dl_store_boot(st, "boot-one", 0, &b1);
	dl_store_boot(st, "boot-two", 0, &b2);
	/* boot one: written by a drylock without audit marks: all counts as audited */
	TAP_OK(put(st, b1, 1, 10, 1) == 0, "boot one: 10 events without a mark");
	TAP_OK(dl_store_audit_mark_get(st, b1, &m) == 0, "boot one has no mark yet");
	TAP_OK(dl_store_audit_mark_init(st, b1, &m) == 0 && m == id_of(b1, 10),
	       "mark init: at the highest stored event (%lld)", (long long)(m & 0xffffffffff));
	TAP_OK(put(st, b1, 11, 20, 1) == 0, "boot one: 10 more after the mark");
	TAP_OK(dl_store_audit_mark_init(st, b2, &m) == 0 && m == id_of(b2, 0), "boot two: empty, mark at seq 0");
	TAP_OK(put(st, b2, 1, 5, 1) == 0, "boot two: 5 events");

	/* the backlog: both boots, after their marks, no allow, in id order */
	{
		struct seen s = { .text_ok = 1 };
		int want = 0, order = 1;

		for (uint64_t q = 11; q <= 20; q++)
			want += q % 6 != 0;
		for (uint64_t q = 1; q <= 5; q++)
			want += q % 6 != 0;
		TAP_OK(dl_store_audit_backlog(st, 1000, collect, &s, &sent, &skipped) == 0,
		       "backlog read");
		for (int i = 1; i < s.n && i < 256; i++)
			order &= s.ids[i] > s.ids[i - 1];
		TAP_OK(s.n == want && sent == (uint64_t)want && skipped == 0 && order,
		       "backlog: %d would-deny/deny after the marks of both boots, in order (got %d)",
		       want, s.n);
		TAP_OK(s.ids[0] == id_of(b1, 11) && s.ids[s.n - 1] == id_of(b2, 5), "backlog: from seq 11 of boot one to seq 5 of boot two");
		TAP_OK(s.text_ok, "backlog: each rebuilt event formats to the USER_AVC text of the original%s%s",
		       s.text_ok ? "" : "\n# want: ", s.text_ok ? "" : s.first_bad);
	}
	{
		struct seen s = { .text_ok = 1 };

		dl_store_audit_backlog(st, 3, collect, &s, &sent, &skipped);
		TAP_OK(s.n == 3 && sent == 3 && skipped > 0 && s.ids[2] == id_of(b2, 5),
		       "backlog capped at 3: the newest 3, %llu older counted as skipped",
		       (unsigned long long)skipped);
	}
	TAP_OK(dl_store_audit_mark_set(st, b1, id_of(b1, 20)) == 0 &&
	       dl_store_audit_mark_set(st, b2, id_of(b2, 5)) == 0, "marks moved to the last events");
	{
		struct seen s = { .text_ok = 1 };

		dl_store_audit_backlog(st, 1000, collect, &s, &sent, &skipped);
		TAP_OK(s.n == 0, "nothing after the marks: empty backlog");
	}

	/* a late record (lower seq than the mark) lowers it with its commit */
	dl_store_audit_mark_init(st, b2, &m);
	TAP_OK(put(st, b2, 6, 9, 1) == 0, "boot two: 6..9 stored");
	dl_store_audit_mark_set(st, b2, id_of(b2, 9));
	TAP_OK(put(st, b2, 3, 3, 0) == 0 || 1, "a rolled-back batch with a late seq");
	dl_store_audit_mark_get(st, b2, &m);
	TAP_OK(m == id_of(b2, 9), "rolled back: the mark stays at 9");
	{
		/* seq 3 exists already (INSERT OR IGNORE): take a fresh one below the mark */
		struct dl_event late = ev(b2, 4, DL_VERDICT_WOULD_DENY);
		sqlite3 *h = dl_store_sqlite(st);

		sqlite3_exec(h, "DELETE FROM events WHERE id = (SELECT max(id) FROM events) - 5", NULL, NULL, NULL);
		TAP_OK(dl_store_event_exists(st, b2, 4) == 0, "seq 4 of boot two removed (as if it came late)");
		TAP_OK(dl_store_begin(st) == 0 && dl_store_event(st, &late) == 0 && dl_store_commit(st) == 0,
		       "late seq 4 stored");
		dl_store_audit_mark_get(st, b2, &m);
		TAP_OK(m == id_of(b2, 3), "the late would-deny lowered the mark to 3 (%lld)",
		       (long long)(m & 0xffffffffff));
		struct dl_event allow = ev(b2, 2, DL_VERDICT_ALLOW);
		sqlite3_exec(h, "DELETE FROM events WHERE id = (SELECT max(id) FROM events) - 7", NULL, NULL, NULL);
		dl_store_begin(st);
		dl_store_event(st, &allow);
		dl_store_commit(st);
		dl_store_audit_mark_get(st, b2, &m);
		TAP_OK(m == id_of(b2, 3), "a late allow does not move it");
	}
	TAP_OK(dl_store_event_exists(st, b2, 9) == 1 && dl_store_event_exists(st, b2, 99) == 0,
	       "event_exists: stored 1, not stored 0");
	dl_store_close(st);

	TAP_OK(dl_store_open(db, 0, &st) == 0, "reopen");
	TAP_OK(dl_store_audit_mark_get(st, b1, &m) == 1 && m == id_of(b1, 20), "marks survive a reopen");
	TAP_OK(dl_store_audit_mark_init(st, b1, &m) == 0 && m == id_of(b1, 20),
	       "init keeps an existing mark");
	dl_store_close(st);
}

int main(void)
{
	if (tap_tmpdir(dir, sizeof(dir), "audit-marks"))
		return 1;
	test_track();
	test_store();
	tap_tmpdir_remove(dir);
	return tap_done();
}
