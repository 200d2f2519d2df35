/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The audit writer (collector/audit.c) with its thread, sending through a
 * fake sender instead of libaudit (dl_audit_start_sender):
 *   - repeats are held back by the deduplication before they are queued: a
 *     writer stuck in a send (a full audit backlog) while 20,000 repeats
 *     arrive drops nothing, and the repeats are counted in op=suppressed;
 *   - the start-up backlog (decisions stored but never confirmed) is
 *     deduplicated like live decisions;
 *   - the mark does not pass a suppressed decision while the op=suppressed
 *     record counting it is being sent, and stays below it when that send
 *     fails.
 * No timing: the fake sender reports when it is blocked, through a condvar.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libaudit.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tap.h"
#include "collector/collector.h"
#include "store/store.h"

/* main.c's, which this test does not link */
void dl_log_level(int level, const char *fmt, ...)
{
	va_list ap;

	(void)level;
	va_start(ap, fmt);
	printf("# ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
}

int64_t dl_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

struct fake {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool gate_closed;     /* the sender waits while closed */
	bool blocked;         /* the sender is waiting at the gate */
	int fail_type;        /* records of this type fail (-EIO) */
	int avc, status;      /* records sent, by type */
	char last_status[256];
};

static int fake_send(void *ctx, int type, const char *text, int success)
{
	struct fake *f = ctx;
	int err = 0;

	(void)success;
	pthread_mutex_lock(&f->lock);
	while (f->gate_closed) {
		f->blocked = true;
		pthread_cond_broadcast(&f->cond);
		pthread_cond_wait(&f->cond, &f->lock);
	}
	f->blocked = false;
	if (type == f->fail_type) {
		err = -EIO;
	} else if (type == AUDIT_USER_AVC) {
		f->avc++;
	} else if (type == AUDIT_USER_MAC_STATUS) {
		f->status++;
		snprintf(f->last_status, sizeof(f->last_status), "%s", text);
	}
	pthread_mutex_unlock(&f->lock);
	return err;
}

static void gate(struct fake *f, bool closed)
{
	pthread_mutex_lock(&f->lock);
	f->gate_closed = closed;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
}

static void wait_blocked(struct fake *f)
{
	pthread_mutex_lock(&f->lock);
	while (!f->blocked)
		pthread_cond_wait(&f->cond, &f->lock);
	pthread_mutex_unlock(&f->lock);
}

static struct dl_event decision(int64_t boot, uint64_t seq, __u16 port)
{
	struct dl_event e;

	memset(&e, 0, sizeof(e));
	e.rec.version = DL_ABI_VERSION;
	e.rec.size = sizeof(e.rec);
	e.rec.family = DL_FAMILY_NET;
	e.rec.hook = DL_HOOK_SOCKET_CONNECT;
	e.rec.seq = seq;
	e.rec.tgid = e.rec.pid = 4321;
	e.rec.uid = 1000;
	e.rec.rule_idx = 0;
	e.rec.verdict = DL_VERDICT_WOULD_DENY;
	memcpy(e.rec.comm, "curl", 4);
	e.rec.u.net.addr[10] = e.rec.u.net.addr[11] = 0xff;
	inet_pton(AF_INET, "192.0.2.1", e.rec.u.net.addr + 12);
	e.rec.u.net.sa_family = AF_INET;
	e.rec.u.net.port = port;
	e.rec.u.net.protocol = 6;
	e.ts_ns = INT64_C(1795000000000000000) + (int64_t)seq;
	e.boot_key = boot;
	e.policy_key = 1;
	e.rule_id = "r";
	e.exe = "/usr/bin/curl";
	return e;
}

static void test_dedup_before_queue(void)
{
	struct fake f = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER };
	struct dl_audit *a = dl_audit_start_sender("boot-a", fake_send, &f);
	struct dl_event e;
	uint64_t sup = 0, drop = 0;
	int err;

	TAP_OK(a != NULL, "writer starts with a fake sender");
	if (!a)
		return;
	gate(&f, true);
	e = decision(1, 1, 80);
	dl_audit_decision(a, &e, "p");
	dl_audit_kick(a);
	wait_blocked(&f); /* the writer is stuck in its first send */
	for (uint64_t s = 2; s < 20002; s++) {
		e = decision(1, s, 443); /* one new decision, then 19,999 repeats */
		dl_audit_decision(a, &e, "p");
	}
	for (uint64_t s = 20002; s < 20102; s++) {
		e = decision(1, s, (__u16)(1000 + s)); /* 100 distinct ones */
		dl_audit_decision(a, &e, "p");
	}
	dl_audit_kick(a);
	dl_audit_counters(a, &sup, &drop);
	TAP_OK(drop == 0, "20,000 repeats behind a stuck send: nothing dropped (%llu)", (unsigned long long)drop);
	gate(&f, false);
	err = dl_audit_sync(a);
	dl_audit_counters(a, &sup, &drop);
	TAP_OK(err == 0 && f.avc == 102, "one USER_AVC per distinct decision: 102 (%d), sync %d", f.avc, err);
	TAP_OK(sup == 19999 && drop == 0, "repeats counted as suppressed: 19999 (%llu), dropped %llu",
	       (unsigned long long)sup, (unsigned long long)drop);
	TAP_OK(f.status == 1 && strstr(f.last_status, "19999") != NULL,
	       "one op=suppressed record counts them: '%s'", f.last_status);
	dl_audit_stop(a);
}

struct syncer {
	struct dl_audit *a;
	int err;
};

static void *sync_thread(void *arg)
{
	struct syncer *s = arg;

	s->err = dl_audit_sync(s->a);
	return NULL;
}

static void test_mark_while_summary_sent(void)
{
	struct fake f = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER };
	char dir[256], path[300];
	struct dl_store *st = NULL;
	struct dl_audit *a;
	struct dl_event e;
	struct syncer sy;
	pthread_t t;
	int64_t boot = 0, m = 0, id1, id2, id3;

	if (tap_tmpdir(dir, sizeof(dir), "audit-writer")) {
		TAP_OK(0, "temporary directory");
		return;
	}
	snprintf(path, sizeof(path), "%s/db", dir);
	if (dl_store_open(path, 0, &st) || dl_store_boot(st, "boot-b", 1, &boot)) {
		TAP_OK(0, "store opens");
		return;
	}
	a = dl_audit_start_sender("boot-b", fake_send, &f);
	TAP_OK(a && dl_audit_catch_up(a, st, boot) == 0, "writer tracks the store's boot");
	if (!a)
		return;
	id1 = (boot << 40) | 1;
	id2 = (boot << 40) | 2;
	id3 = (boot << 40) | 3;
	e = decision(boot, 1, 80);
	dl_audit_decision(a, &e, "p");
	e = decision(boot, 2, 80); /* a repeat */
	dl_audit_decision(a, &e, "p");
	TAP_OK(dl_audit_mark(a) < id2, "a suppressed decision holds the mark before its count is sent");
	TAP_OK(dl_audit_sync(a) == 0 && (m = dl_audit_mark(a)) == id2,
	       "sent and counted: the mark covers both (%lld)", (long long)(m - (boot << 40)));

	/* the op=suppressed record counting seq 3 is in flight, then fails */
	e = decision(boot, 3, 80);
	dl_audit_decision(a, &e, "p");
	gate(&f, true);
	f.fail_type = AUDIT_USER_MAC_STATUS;
	sy.a = a;
	pthread_create(&t, NULL, sync_thread, &sy);
	wait_blocked(&f);
	m = dl_audit_mark(a);
	TAP_OK(m == id2, "while the count is being sent the mark stays below it (%lld)",
	       (long long)(m - (boot << 40)));
	gate(&f, false);
	pthread_join(t, NULL);
	m = dl_audit_mark(a);
	TAP_OK(sy.err == -EIO && m == id2, "the send failed: sync says so, the mark stays (%lld)",
	       (long long)(m - (boot << 40)));
	(void)id1;
	(void)id3;
	dl_audit_stop(a);
	dl_store_close(st);
	tap_tmpdir_remove(dir);
}

static void test_backlog_dedup(void)
{
	struct fake f = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER };
	struct dl_store_rule rule = { .idx = 0, .id = "r", .family = DL_FAMILY_NET, .action = DL_ACTION_DENY,
				      .text = "net deny r addr=192.0.2.1" };
	char dir[256], path[300];
	struct dl_store *st = NULL;
	struct dl_audit *a;
	int64_t boot = 0, mark = 0, pkey = 0;
	uint64_t sup = 0, drop = 0;
	int r;

	if (tap_tmpdir(dir, sizeof(dir), "audit-backlog")) {
		TAP_OK(0, "temporary directory");
		return;
	}
	snprintf(path, sizeof(path), "%s/db", dir);
	r = dl_store_open(path, 0, &st);
	if (!r)
		r = dl_store_policy(st, "p", "ab12", "net deny r addr=192.0.2.1", &rule, 1, &pkey);
	if (!r)
		r = dl_store_boot(st, "boot-c", 1, &boot);
	if (!r)
		r = dl_store_audit_mark_init(st, boot, &mark); /* a collector started ... */
	if (!r)
		r = dl_store_begin(st);
	for (uint64_t s = 1; s <= 50 && !r; s++) { /* ... stored 50 repeats and was killed */
		struct dl_event e = decision(boot, s, 80);

		e.policy_key = pkey;
		r = dl_store_event(st, &e);
	}
	if (!r)
		r = dl_store_commit(st);
	TAP_OK(r == 0, "store with 50 unconfirmed repeats");
	a = dl_audit_start_sender("boot-c", fake_send, &f);
	TAP_OK(a && dl_audit_catch_up(a, st, boot) == 0, "catch-up sends the backlog");
	if (a) {
		dl_audit_counters(a, &sup, &drop);
		TAP_OK(f.avc == 1 && sup == 49, "backlog deduplicated: 1 USER_AVC (%d), 49 suppressed (%llu)", f.avc,
		       (unsigned long long)sup);
		TAP_OK(dl_audit_mark(a) == ((boot << 40) | 50), "and all 50 confirmed");
		dl_audit_stop(a);
	}
	dl_store_close(st);
	tap_tmpdir_remove(dir);
}

int main(void)
{
	test_dedup_before_queue();
	test_mark_while_summary_sent();
	test_backlog_dedup();
	return tap_done();
}
