/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Audit writer: a thread of its own between the drain loop and libaudit.
 *
 * Sending to the kernel's audit netlink socket can block for most of a second
 * when the audit backlog is full, and the record may still be dropped while
 * the call reports success (../shared/AUDIT.md). So the drain loop only
 * copies a decision into a bounded queue (never blocking: a full queue counts
 * the decision as audit_dropped; it is already in SQLite), and this thread
 * formats and sends. Deduplication (auditfmt.c: dl_dedup) happens in the
 * drain loop before queueing, so a repeat costs a hash probe and no copy or
 * hand-off, and the loop signals this thread once per batch (dl_audit_kick),
 * not once per decision: it wakes once per batch that has something to send.
 * Every 10 s a USER_MAC_STATUS "op=suppressed" record says how many repeats
 * were held back.
 *
 * Audit being unusable (no CAP_AUDIT_WRITE, a user namespace, audit disabled,
 * no audit support) is said once on stderr; the collector keeps storing.
 *
 * At least once across a crash: the store keeps an audit mark per boot
 * (audit_marks). The thread tracks which queued decisions were confirmed
 * (sent, or counted in an op=suppressed record that was sent; auditfmt.c:
 * dl_audit_track) and the collector writes the resulting mark about once a
 * second. On start, dl_audit_catch_up() first sends every would-deny/deny
 * stored after its boot's mark (what a killed collector still had queued)
 * and waits for it; a batch re-read from the ring after a crash was stored
 * before, so its decisions are not queued again (dl_audit_batch_dups). A
 * decision sent twice (sent, then killed before the mark moved) carries the
 * same seq= and boot= both times.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libaudit.h>

#include "collector.h"
#include "auditfmt.h"
#include "ingest.h"

#define DL_AUDIT_QUEUE 8192
#define DL_AUDIT_BACKLOG_MAX 100000 /* stored decisions sent at start, at most */
#define DL_AUDIT_FLUSH_NS (10ull * 1000000000ull)

struct dl_audit_item {
	int type;                 /* 0: a decision in ev; else a text record */
	int success;
	struct dl_event ev;       /* string pointers re-aimed at the buffers below */
	char exe[DL_PATH_MAX];
	char rule_id[DL_RULE_ID_MAX + 1];
	char policy[DL_POLICY_NAME_MAX + 1];
	char text[DL_AUDIT_MAX_TEXT];
	bool has_exe, has_rule;
	bool tracked;             /* a decision of the tracked boot: id counts */
	int64_t id;               /* events.id of the decision */
};

struct dl_audit {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_cond_t done;      /* head moved, or a sync finished */
	struct dl_audit_item *q;
	size_t head, tail;        /* head: next to pop; tail: next free */
	bool stop, running;
	int fd;
	bool usable;
	bool off;                 /* --no-audit: nothing is owed to the log */
	dl_audit_sender send;     /* NULL: libaudit on fd */
	void *send_ctx;
	struct dl_audit_track track;
	int64_t track_boot;       /* 0: none yet */
	uint64_t sync_req, sync_done;
	bool lost;                /* a decision was not sent since the last sync */
	char boot_id[64];
	int64_t sending;          /* lowest id counted by the op=suppressed record
				   * being sent; INT64_MAX: none */
	struct dl_dedup *dedup;   /* under lock: the drain loop checks, this thread takes counts */
	uint64_t suppressed, dropped;
};

static void copy_str(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src ? src : "");
}

static int send_text(struct dl_audit *a, int type, const char *text, int success)
{
	if (!a->usable)
		return -ENOTCONN;
	if (a->send)
		return a->send(a->send_ctx, type, text, success);
	if (audit_log_user_message(a->fd, type, text, NULL, NULL, "", success) <= 0)
		return -errno ? -errno : -EIO;
	return 0;
}

/* Under the lock: a decision was not sent. */
static void lost_locked(struct dl_audit *a, bool tracked, int64_t id)
{
	a->lost = true;
	if (tracked)
		dl_audit_track_lost(&a->track, id);
}

static void handle(struct dl_audit *a, struct dl_audit_item *it)
{
	char text[DL_AUDIT_MAX_TEXT];
	int err;

	if (it->type) {
		send_text(a, it->type, it->text, it->success);
		return;
	}
	it->ev.exe = it->has_exe ? it->exe : NULL;
	it->ev.rule_id = it->has_rule ? it->rule_id : NULL;
	it->ev.cgroup_path = NULL;
	err = dl_audit_format_avc(text, sizeof(text), &it->ev, it->policy[0] ? it->policy : NULL,
				  a->boot_id);
	if (err >= 0)
		err = send_text(a, AUDIT_USER_AVC, text, dl_audit_result(&it->ev.rec));
	if (err < 0) {
		pthread_mutex_lock(&a->lock);
		lost_locked(a, it->tracked, it->id);
		pthread_mutex_unlock(&a->lock);
	}
}

/*
 * Send the op=suppressed record. The count and the lowest decision it counts
 * are taken together under the lock (the drain loop suppresses
 * concurrently): one suppressed after the take is in the next record. While
 * the record is being sent, those decisions hold the mark back as if queued
 * (sending); a failed send makes them lost.
 */
static void flush_suppressed(struct dl_audit *a)
{
	char text[128];
	int64_t first;
	uint64_t n;
	int err;

	pthread_mutex_lock(&a->lock);
	n = dl_dedup_take_suppressed(a->dedup);
	first = a->track.pending;
	dl_audit_track_summary(&a->track, 1);
	a->sending = first;
	a->suppressed += n;
	pthread_mutex_unlock(&a->lock);
	err = 0;
	if (n) {
		dl_audit_format_suppressed(text, sizeof(text), n);
		err = send_text(a, AUDIT_USER_MAC_STATUS, text, 1);
	}
	pthread_mutex_lock(&a->lock);
	a->sending = INT64_MAX;
	if (err < 0) {
		a->lost = true;
		if (first != INT64_MAX)
			dl_audit_track_lost(&a->track, first);
	}
	pthread_mutex_unlock(&a->lock);
}

static void *audit_main(void *arg)
{
	struct dl_audit *a = arg;
	uint64_t last_flush = dl_now_ns();

	pthread_mutex_lock(&a->lock);
	for (;;) {
		struct timespec until;

		while (a->head != a->tail) {
			struct dl_audit_item *it = &a->q[a->head % DL_AUDIT_QUEUE];

			/* The slot stays ours until head moves past it. */
			pthread_mutex_unlock(&a->lock);
			handle(a, it);
			pthread_mutex_lock(&a->lock);
			a->head++;
			pthread_cond_broadcast(&a->done);
		}
		if (a->sync_req != a->sync_done) {
			uint64_t req = a->sync_req;

			pthread_mutex_unlock(&a->lock);
			flush_suppressed(a);
			pthread_mutex_lock(&a->lock);
			last_flush = dl_now_ns();
			a->sync_done = req;
			pthread_cond_broadcast(&a->done);
			continue;
		}
		if (a->stop)
			break;
		if ((uint64_t)dl_now_ns() - last_flush >= DL_AUDIT_FLUSH_NS) {
			pthread_mutex_unlock(&a->lock);
			flush_suppressed(a);
			pthread_mutex_lock(&a->lock);
			last_flush = dl_now_ns();
		}
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 1;
		pthread_cond_timedwait(&a->cond, &a->lock, &until);
	}
	pthread_mutex_unlock(&a->lock);
	flush_suppressed(a);
	return NULL;
}

/* Is an audit daemon registered with the kernel? 1 yes, 0 no, <0 unknown. */
static int auditd_running(int fd)
{
	struct audit_reply rep;

	if (audit_request_status(fd) <= 0)
		return -1;
	for (int i = 0; i < 5; i++) {
		if (audit_get_reply(fd, &rep, GET_REPLY_BLOCKING, 0) <= 0)
			return -1;
		if (rep.type == AUDIT_GET)
			return rep.status->pid != 0;
	}
	return -1;
}

static struct dl_audit *audit_new(const char *boot_id)
{
	struct dl_audit *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->cond, NULL);
	pthread_cond_init(&a->done, NULL);
	dl_audit_track_init(&a->track, 0);
	a->sending = INT64_MAX;
	copy_str(a->boot_id, sizeof(a->boot_id), boot_id);
	a->fd = -1;
	a->q = calloc(DL_AUDIT_QUEUE, sizeof(*a->q));
	a->dedup = dl_dedup_new(4096, 60ull * 1000000000ull, 200);
	if (!a->q || !a->dedup) {
		free(a->q);
		dl_dedup_free(a->dedup);
		free(a);
		return NULL;
	}
	return a;
}

static void start_thread(struct dl_audit *a)
{
	a->usable = true;
	if (pthread_create(&a->thread, NULL, audit_main, a) == 0)
		a->running = true;
	else
		a->usable = false;
}

struct dl_audit *dl_audit_start_sender(const char *boot_id, dl_audit_sender send, void *ctx)
{
	struct dl_audit *a = audit_new(boot_id);

	if (!a)
		return NULL;
	a->send = send;
	a->send_ctx = ctx;
	start_thread(a);
	return a;
}

struct dl_audit *dl_audit_start(bool enabled, const char *boot_id)
{
	struct dl_audit *a = audit_new(boot_id);

	if (!a)
		return NULL;
	if (!enabled) {
		dl_log("audit: disabled by --no-audit; decisions are stored in SQLite only");
		a->off = true;
		return a;
	}
	a->fd = audit_open();
	if (a->fd < 0) {
		dl_log("audit: unavailable (%s); decisions are stored in SQLite only", strerror(errno));
		return a;
	}
	switch (audit_is_enabled(a->fd)) {
	case 0:
		dl_log("audit: the kernel's audit is disabled (auditctl -e 1 enables it); "
		       "only USER_AVC records reach it, all decisions are stored in SQLite");
		break;
	case -1:
		dl_log("audit: cannot query the kernel's audit status (%s); trying anyway", strerror(errno));
		break;
	}
	if (auditd_running(a->fd) == 0)
		dl_log("audit: no audit daemon is running; records go to the kernel log only "
		       "and every decision is stored in SQLite");
	start_thread(a);
	return a;
}

void dl_audit_stop(struct dl_audit *a)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->lock);
	a->stop = true;
	pthread_cond_signal(&a->cond);
	pthread_mutex_unlock(&a->lock);
	if (a->running)
		pthread_join(a->thread, NULL);
	if (a->fd >= 0)
		audit_close(a->fd);
	dl_dedup_free(a->dedup);
	free(a->q);
	free(a);
}

/* Reserve a queue slot; NULL (and counted) when full or unusable. */
static struct dl_audit_item *slot(struct dl_audit *a)
{
	struct dl_audit_item *it = NULL;

	pthread_mutex_lock(&a->lock);
	if (!a->running || a->tail - a->head >= DL_AUDIT_QUEUE)
		a->dropped++;
	else
		it = &a->q[a->tail % DL_AUDIT_QUEUE];
	pthread_mutex_unlock(&a->lock);
	return it;
}

static void commit_slot(struct dl_audit *a)
{
	pthread_mutex_lock(&a->lock);
	a->tail++;
	pthread_cond_signal(&a->cond);
	pthread_mutex_unlock(&a->lock);
}

static int64_t event_id(const struct dl_event *ev)
{
	return (ev->boot_key << 40) | (int64_t)(ev->rec.seq & ((UINT64_C(1) << 40) - 1));
}

/* Copy a decision into its slot (the slot is the caller's until tail moves). */
static void fill_item(struct dl_audit_item *it, const struct dl_event *ev, const char *policy_name, int64_t id,
		      bool tracked)
{
	it->id = id;
	it->tracked = tracked;
	it->type = 0;
	it->ev = *ev;
	it->has_exe = ev->exe != NULL;
	it->has_rule = ev->rule_id != NULL;
	copy_str(it->exe, sizeof(it->exe), ev->exe);
	copy_str(it->rule_id, sizeof(it->rule_id), ev->rule_id);
	copy_str(it->policy, sizeof(it->policy), policy_name);
}

void dl_audit_decision(struct dl_audit *a, const struct dl_event *ev, const char *policy_name)
{
	struct dl_audit_item *it = NULL;
	int64_t id = event_id(ev);
	bool tracked;

	pthread_mutex_lock(&a->lock);
	tracked = ev->boot_key == a->track_boot;
	if (!a->usable) {
		/* --no-audit: nothing owed; unusable audit: owed, sent by a
		 * later start that can */
		if (a->off && tracked)
			dl_audit_track_queued(&a->track, id);
		else
			lost_locked(a, tracked, id);
	} else if (!dl_dedup_check(a->dedup, ev, dl_now_ns())) {
		/* a repeat: confirmed once the op=suppressed record counting
		 * it is sent (flush_suppressed) */
		if (tracked) {
			dl_audit_track_queued(&a->track, id);
			dl_audit_track_suppressed(&a->track, id);
		}
	} else if (!a->running || a->tail - a->head >= DL_AUDIT_QUEUE) {
		a->dropped++;
		lost_locked(a, tracked, id);
	} else {
		it = &a->q[a->tail % DL_AUDIT_QUEUE];
		if (tracked)
			dl_audit_track_queued(&a->track, id);
	}
	pthread_mutex_unlock(&a->lock);
	if (!it)
		return;
	fill_item(it, ev, policy_name, id, tracked);
	pthread_mutex_lock(&a->lock);
	a->tail++;
	if (a->tail - a->head >= DL_AUDIT_QUEUE / 4)
		pthread_cond_signal(&a->cond);
	pthread_mutex_unlock(&a->lock);
}

void dl_audit_kick(struct dl_audit *a)
{
	pthread_mutex_lock(&a->lock);
	if (a->head != a->tail)
		pthread_cond_signal(&a->cond);
	pthread_mutex_unlock(&a->lock);
}

void dl_audit_text(struct dl_audit *a, int type, const char *text, int success)
{
	struct dl_audit_item *it;

	if (!a->usable)
		return;
	it = slot(a);
	if (!it)
		return;
	it->type = type;
	it->tracked = false;
	it->id = 0;
	it->success = success;
	copy_str(it->text, sizeof(it->text), text);
	commit_slot(a);
}

void dl_audit_counters(struct dl_audit *a, uint64_t *suppressed, uint64_t *dropped)
{
	pthread_mutex_lock(&a->lock);
	*suppressed = a->suppressed;
	*dropped = a->dropped;
	pthread_mutex_unlock(&a->lock);
}

int dl_audit_send_once(int type, const char *text, int success)
{
	int fd = audit_open(), err = 0;

	if (fd < 0)
		return -errno;
	if (audit_log_user_message(fd, type, text, NULL, NULL, "", success) <= 0)
		err = -errno ? -errno : -EIO;
	audit_close(fd);
	return err;
}

/* Queue a decision, waiting for room (the start-up backlog only). */
static int decision_wait(struct dl_audit *a, const struct dl_event *ev, const char *policy_name)
{
	struct dl_audit_item *it;
	bool tracked;

	pthread_mutex_lock(&a->lock);
	while (a->running && a->tail - a->head >= DL_AUDIT_QUEUE)
		pthread_cond_wait(&a->done, &a->lock);
	if (!a->running) {
		pthread_mutex_unlock(&a->lock);
		return -ENOTCONN;
	}
	tracked = ev->boot_key == a->track_boot;
	if (tracked)
		dl_audit_track_queued(&a->track, event_id(ev));
	if (!dl_dedup_check(a->dedup, ev, dl_now_ns())) {
		/* the backlog is deduplicated like any decision */
		if (tracked)
			dl_audit_track_suppressed(&a->track, event_id(ev));
		pthread_mutex_unlock(&a->lock);
		return 0;
	}
	it = &a->q[a->tail % DL_AUDIT_QUEUE];
	pthread_mutex_unlock(&a->lock);
	fill_item(it, ev, policy_name, event_id(ev), tracked);
	commit_slot(a);
	return 0;
}

int dl_audit_sync(struct dl_audit *a)
{
	uint64_t req;
	int err;

	pthread_mutex_lock(&a->lock);
	if (a->running) {
		req = ++a->sync_req;
		pthread_cond_signal(&a->cond);
		while (a->sync_done < req)
			pthread_cond_wait(&a->done, &a->lock);
	}
	err = a->lost ? -EIO : 0;
	a->lost = false;
	pthread_mutex_unlock(&a->lock);
	return err;
}

int64_t dl_audit_mark(struct dl_audit *a)
{
	int64_t qmin, m;

	pthread_mutex_lock(&a->lock);
	qmin = a->sending;
	for (size_t i = a->head; i != a->tail; i++) {
		const struct dl_audit_item *it = &a->q[i % DL_AUDIT_QUEUE];

		if (!it->type && it->tracked && it->id < qmin)
			qmin = it->id;
	}
	m = dl_audit_track_mark(&a->track, qmin);
	pthread_mutex_unlock(&a->lock);
	return m;
}

struct backlog {
	struct dl_audit *a;
	struct { int64_t boot, max; } b[64];
	size_t nb;
	bool overflow;
};

static int backlog_one(void *arg, const struct dl_event *ev, const char *policy_name)
{
	struct backlog *bl = arg;
	int64_t id = event_id(ev);
	size_t i;

	for (i = 0; i < bl->nb && bl->b[i].boot != ev->boot_key; i++)
		;
	if (i == bl->nb) {
		if (bl->nb == sizeof(bl->b) / sizeof(bl->b[0])) {
			bl->overflow = true; /* sent; that boot's mark stays */
			return decision_wait(bl->a, ev, policy_name);
		}
		bl->b[bl->nb].boot = ev->boot_key;
		bl->b[bl->nb++].max = id;
	}
	if (id > bl->b[i].max)
		bl->b[i].max = id;
	return decision_wait(bl->a, ev, policy_name);
}

int dl_audit_catch_up(struct dl_audit *a, struct dl_store *st, int64_t boot_key)
{
	struct backlog bl = { .a = a };
	uint64_t sent = 0, skipped = 0;
	int64_t mark;
	int err;

	err = dl_store_audit_mark_init(st, boot_key, &mark);
	if (err)
		return err;
	pthread_mutex_lock(&a->lock);
	a->track_boot = boot_key;
	dl_audit_track_init(&a->track, mark);
	pthread_mutex_unlock(&a->lock);
	if (!a->running)
		return 0;
	err = dl_store_audit_backlog(st, DL_AUDIT_BACKLOG_MAX, backlog_one, &bl, &sent, &skipped);
	if (err)
		return err;
	if (skipped)
		dl_log("audit: %llu older decisions in the store were never confirmed in the audit log; "
		       "only the newest %d are sent now (all are in the store)",
		       (unsigned long long)skipped, DL_AUDIT_BACKLOG_MAX);
	if (!sent && !skipped)
		return 0;
	err = dl_audit_sync(a);
	dl_log("audit: sent %llu stored decisions that the audit log had not confirmed (the collector "
	       "stopped without finishing); one already sent repeats with the same seq= and boot=%s",
	       (unsigned long long)sent, err ? "; some could not be sent and stay owed" : "");
	if (err == 0 && !bl.overflow) {
		/* The skipped ones are given up: the mark moves past them. */
		for (size_t i = 0; i < bl.nb; i++)
			if (bl.b[i].boot != boot_key && (err = dl_store_audit_mark_set(st, bl.b[i].boot, bl.b[i].max)))
				return err;
	}
	/* the current boot's mark follows from the tracking (dl_audit_mark) */
	return dl_store_audit_mark_set(st, boot_key, dl_audit_mark(a));
}

void dl_audit_batch_dups(struct dl_store *st, const struct dl_pending *batch, unsigned n,
			 uint64_t floor, bool *dup)
{
	for (unsigned i = 0; i < n; i++) {
		const struct dl_event *ev = &batch[i].ev;

		dup[i] = ev->rec.verdict != DL_VERDICT_ALLOW && ev->rec.seq <= floor &&
			 dl_store_event_exists(st, ev->boot_key, ev->rec.seq) == 1;
	}
}
