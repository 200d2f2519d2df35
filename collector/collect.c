/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The drain loop: ring buffer -> SQLite (durable) -> release -> audit.
 *
 *   epoll on the ring buffer map and a signalfd, with a drain timer (the
 *   programs wake the collector only when the ring is a quarter full, so a
 *   busy system is not woken per record); on wake-up read up to
 *   'batch' records in place (ringread.c) - up to DL_GROUP_MAX times that
 *   while the ring stays busy (group commit: a batch that filled doubles the
 *   next one's limit, one that did not resets it) - decode and enrich each (wall time,
 *   policy and rule id from the record's generation, executable from the
 *   dl_exe map or /proc, cgroup path from the cgroup id), insert them in one
 *   transaction, and only after COMMIT hand the ring space back to the kernel
 *   and queue the decisions for the audit thread (deduplicated here, as
 *   they are queued; one wake-up of the audit thread per batch). A failed commit rolls back
 *   and rewinds: the records stay in the ring (the kernel counts what it
 *   cannot fit) and the loop retries with backoff, saying what happened.
 *
 * Order of start-up matters for "nothing is lost and the policy is left as it
 * was": the database is opened before anything is loaded, so a bad --db path
 * fails without touching the kernel.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <libaudit.h>

#include "collector.h"
#include "names.h"
#include "auditfmt.h"
#include "ingest.h"
#include "upgrade.h"

/* Drain timer (the programs do not wake the collector per record). */
#define DL_DRAIN_INTERVAL_MS 50
#define DL_DRAIN_IDLE_MS 400
/* Group commit: a busy ring's transactions grow up to this many batches. */
#define DL_GROUP_MAX 4

struct collector {
	const struct dl_collect_opts *o;
	struct dl_store *st;
	struct dl_pinned pin;
	struct dl_ring ring;
	struct dl_audit *audit;
	struct dl_ingest in;
	unsigned limit;           /* records in the next transaction (group commit) */
	char boot_id[64];
	int64_t boot_wall_ns, boot_key, policy_key;
	__u32 gen;
	int cgroup_root_fd;
	__u32 mode[DL_FAMILY_MAX];
	uint64_t drops[DL_FAMILY_MAX];
	uint64_t audit_suppressed, audit_dropped;
	uint64_t stored;
	int store_failures;
	uint64_t dup_floor;       /* highest seq of this boot stored before the start */
	bool *dup;                /* per batch slot: stored before, not audited again */
	int64_t amark;            /* audit mark last written */
	uint64_t skip_said[DL_REC_SKIP_MAX]; /* ring records skipped, as last reported */
	int64_t skip_said_ns;     /* when they were last reported */
};

/* ---- the loop ---- */

/* Records of the largest group commit: DL_GROUP_MAX batches, but no more
 * than 65,536 records unless one batch is larger (about 1 KiB each). */
static unsigned group_cap(unsigned batch)
{
	unsigned cap = batch * DL_GROUP_MAX;

	if (cap > 65536)
		cap = 65536;
	return cap > batch ? cap : batch;
}

static void log_store_failure(struct collector *c, const char *what)
{
	/* Say it the first time and then every 30th retry, not on every retry. */
	if (c->store_failures++ % 30 == 0)
		dl_warn("store: %s: %s; records stay in the kernel ring buffer, retrying",
		        what, dl_store_errmsg(c->st));
}

/*
 * Ring records the ingest skipped (unknown version, short, ...): said in the
 * journal with the count per reason, at once the first time and then at most
 * once a minute (a stream of them must not flood it), and saved for
 * `drylock status`. force: say what is unsaid now (at stop).
 */
#define DL_SKIP_REPORT_NS (60 * 1000000000ll)
static void report_skipped(struct collector *c, bool force)
{
	const uint64_t *sk = c->in.skipped;
	int64_t now = dl_now_ns();
	bool news = false;

	for (unsigned i = 1; i < DL_REC_SKIP_MAX; i++)
		news |= sk[i] != c->skip_said[i];
	if (!news || (!force && c->skip_said_ns && now - c->skip_said_ns < DL_SKIP_REPORT_NS))
		return;
	for (unsigned i = 1; i < DL_REC_SKIP_MAX; i++)
		if (sk[i] != c->skip_said[i])
			dl_warn("collect: skipped %llu ring records (%llu in all): %s",
				(unsigned long long)(sk[i] - c->skip_said[i]), (unsigned long long)sk[i],
				dl_rec_skip_name(i));
	memcpy(c->skip_said, sk, sizeof(c->skip_said));
	c->skip_said_ns = now;
	dl_skipped_save(c->o->pin_dir, sk);
}

/* Drain one batch. Returns records stored (>= 0), or <0 on store failure. */
static int drain_batch(struct collector *c)
{
	struct dl_ingest *in = &c->in;
	const void *data;
	__u32 len;
	int n;

	dl_ingest_reset(in);
	while (in->n < c->limit && dl_ring_next(&c->ring, &data, &len) == 1)
		dl_ingest_add(in, data, len);
	report_skipped(c, false);
	if (in->n == 0) {
		dl_ring_release(&c->ring); /* discarded or unknown records only */
		return 0;
	}
	/* A batch re-read after a crash was stored (and audited, or sent by
	 * dl_audit_catch_up) before: do not audit it again. */
	memset(c->dup, 0, in->n * sizeof(*c->dup));
	if (c->dup_floor)
		dl_audit_batch_dups(c->st, in->batch, in->n, c->dup_floor, c->dup);
	n = dl_ingest_commit(in);
	if (n < 0) {
		log_store_failure(c, "write");
		dl_ring_rewind(&c->ring);
		return n;
	}
	if (c->store_failures) {
		dl_log("store: writing again after %d failed attempts", c->store_failures);
		c->store_failures = 0;
	}
	dl_ring_release(&c->ring);
	c->stored += n;
	for (unsigned i = 0; i < in->n; i++)
		if (in->batch[i].ev.rec.verdict != DL_VERDICT_ALLOW && !c->dup[i])
			dl_audit_decision(c->audit, &in->batch[i].ev, c->o->policy->name);
	dl_audit_kick(c->audit);
	/* group commit: the ring had more than this transaction took */
	c->limit = in->n >= c->limit ? (c->limit * 2 < in->cap ? c->limit * 2 : in->cap) : c->o->batch;
	return n;
}

/* Write how far the audit log is confirmed (audit.c, store audit_marks). */
static void write_audit_mark(struct collector *c)
{
	int64_t m = dl_audit_mark(c->audit);

	if (m == c->amark)
		return;
	if (dl_store_audit_mark_set(c->st, c->boot_key, m) == 0)
		c->amark = m;
	else
		log_store_failure(c, "audit mark");
}

/* Mode switches made by `drylock mode` (which audits them itself) are
 * recorded in the store, so every event's mode can be read back. */
static void poll_state(struct collector *c)
{
	struct dl_config cfg;
	uint64_t sup, drop;
	int64_t now = dl_now_ns();

	if (dl_config_read(&c->pin, &cfg) == 0) {
		for (int f = 1; f < DL_FAMILY_MAX; f++) {
			if (!(c->o->policy->families & (1u << f)) || cfg.mode[f] == c->mode[f])
				continue;
			dl_log("mode: %s is now %s", dl_family_name(f), dl_mode_name(cfg.mode[f]));
			c->mode[f] = cfg.mode[f];
			if (dl_store_mode(c->st, c->boot_key, f, cfg.mode[f], now))
				log_store_failure(c, "mode");
		}
	}
	for (int f = 1; f < DL_FAMILY_MAX; f++) {
		uint64_t d;

		if (!(c->o->policy->families & (1u << f)) || dl_read_drops(&c->pin, f, &d) || d == c->drops[f])
			continue;
		if (dl_store_counter(c->st, c->boot_key, f, "kernel_drops", d, now) == 0) {
			dl_warn("collect: the kernel dropped %llu %s records so far (ring buffer full)",
			        (unsigned long long)d, dl_family_name(f));
			c->drops[f] = d;
		} else {
			log_store_failure(c, "counter");
		}
	}
	write_audit_mark(c);
	dl_audit_counters(c->audit, &sup, &drop);
	if (sup != c->audit_suppressed &&
	    dl_store_counter(c->st, c->boot_key, 0, "audit_suppressed", sup, now) == 0)
		c->audit_suppressed = sup;
	if (drop != c->audit_dropped &&
	    dl_store_counter(c->st, c->boot_key, 0, "audit_dropped", drop, now) == 0)
		c->audit_dropped = drop;
}

static int register_policy(struct collector *c)
{
	const struct dl_policy *p = c->o->policy;
	struct dl_store_rule *rules = calloc(p->n_rules ? p->n_rules : 1, sizeof(*rules));
	int err;

	if (!rules)
		return -ENOMEM;
	for (size_t i = 0; i < p->n_rules; i++) {
		rules[i].idx = i;
		rules[i].id = p->rules[i].id;
		rules[i].family = p->rules[i].family;
		rules[i].action = p->rules[i].action;
		rules[i].text = p->rules[i].text;
	}
	err = dl_store_policy(c->st, p->name, p->sha256, p->text, rules, p->n_rules, &c->policy_key);
	free(rules);
	if (!err)
		err = dl_store_policy_load(c->st, c->boot_key, c->gen, c->policy_key, dl_now_ns());
	return err;
}

static int setup_signals(void)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -errno;
	return signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
}

int dl_collect(const struct dl_collect_opts *o)
{
	struct collector c = { .o = o, .cgroup_root_fd = -1 };
	struct dl_upgrades upg;
	struct epoll_event ev = { .events = EPOLLIN };
	char text[512];
	bool fresh = false, stop = false;
	int err, sfd = -1, ep = -1, lock_fd = -1, rc = EXIT_FAILURE;
	uint64_t seq_floor = 0;
	int64_t last_poll = 0, last_retain = 0;
	int interval = DL_DRAIN_INTERVAL_MS;
	int retain_more = 0;

	/* Block the stop signals before any thread exists (the audit thread
	 * inherits the mask): otherwise a SIGTERM can land on a thread that does
	 * not block it and kill the process before the final drain. */
	sfd = setup_signals();
	if (sfd < 0) {
		dl_err("collect: signalfd: %s", strerror(errno));
		return EXIT_FAILURE;
	}
	memset(&c.pin, 0xff, sizeof(c.pin)); /* all fds -1 */
	c.pin.pin_dir[0] = 0;
	dl_boot_id(c.boot_id);
	c.boot_wall_ns = dl_boot_wall_ns();

	/* 1. The store first: failing here leaves the kernel as it was. */
	err = dl_store_open(o->db_path, o->sync_full ? DL_STORE_SYNC_FULL : 0, &c.st);
	if (err) {
		dl_err("store: cannot open database %s: %s; nothing was loaded or changed",
		       o->db_path, dl_store_errmsg(c.st));
		close(sfd);
		return EXIT_FAILURE;
	}
	err = dl_store_boot(c.st, c.boot_id, c.boot_wall_ns, &c.boot_key);
	if (err) {
		dl_err("store: %s: %s; nothing was loaded or changed", o->db_path, dl_store_errmsg(c.st));
		goto out;
	}

	/* One collector per engine: a second would race the first for the ring. */
	{
		pid_t holder = 0;

		lock_fd = dl_collector_lock(o->pin_dir, &holder);
		if (lock_fd == -EBUSY) {
			dl_err("run: another collector (pid %d) is running for %s; stop it first "
			       "(nothing was loaded or changed)", (int)holder, o->pin_dir);
			goto out;
		}
		if (lock_fd < 0)
			dl_warn("run: cannot take the collector lock in %s: %s (continuing without it)",
			        getenv("DRYLOCK_RUN_DIR") ? getenv("DRYLOCK_RUN_DIR") : DL_RUN_DIR_DEFAULT,
			        strerror(-lock_fd));
	}
	/* On a fresh load the sequence continues after everything this boot
	 * already numbered: what the store holds, and what `unload` saved. */
	{
		uint64_t saved = 0;

		if (dl_store_max_seq(c.st, c.boot_key, &seq_floor))
			dl_err("store: %s", dl_store_errmsg(c.st));
		c.dup_floor = seq_floor;
		dl_seq_saved(o->pin_dir, c.boot_id, &saved);
		if (saved > seq_floor)
			seq_floor = saved;
	}

	/* 2. Load and attach; a locked engine is kept as it is (it would refuse
	 * any program load or rule update): reuse its pins and collect. */
	if (dl_pinned_open(o->pin_dir, &c.pin) == 0 && dl_engine_locked(&c.pin) == 1) {
		struct dl_config cfg;

		err = dl_config_read(&c.pin, &cfg);
		if (err)
			goto out;
		c.gen = cfg.policy_gen;
		fresh = false;
		memset(&upg, 0, sizeof(upg));
		upg.locked = true;
		dl_upgrade_locked_note(o->pin_dir);
		dl_log("load: the engine in %s is locked until reboot (`drylock lock`): its programs, rules "
		       "and modes (generation %u) are kept; %s is not loaded again and must be the policy "
		       "that was locked", o->pin_dir, c.gen, o->policy->name);
	} else {
		dl_pinned_close(&c.pin);
		err = dl_load(o->pin_dir, o->policy, o->mode, o->ringbuf_size, seq_floor, &c.pin, &c.gen, &fresh, &upg);
		if (err)
			goto out;
	}
	{
		struct dl_config cfg;

		if (dl_config_read(&c.pin, &cfg) == 0)
			memcpy(c.mode, cfg.mode, sizeof(c.mode));
	}
	dl_log("load: policy %s (%zu rules, sha256 %.12s) generation %u, %s%s%s, %s", o->policy->name,
	       o->policy->n_rules, o->policy->sha256, c.gen, fresh ? "programs attached" : "programs were already attached",
	       upg.n ? " (some replaced by this build's: upgraded)" : "", upg.locked ? " (locked: kept as they are)" : "",
	       dl_any_enforcing(c.mode, o->policy->families) ? "enforcing" : "permissive");

	/* 3. Record what was loaded, in the store and in the audit log. */
	c.audit = dl_audit_start(o->audit, c.boot_id);
	if (!c.audit)
		goto out;
	err = register_policy(&c);
	if (err)
		dl_err("store: recording policy: %s", dl_store_errmsg(c.st));
	for (int f = 1; f < DL_FAMILY_MAX; f++)
		if (o->policy->families & (1u << f))
			dl_store_mode(c.st, c.boot_key, f, c.mode[f], dl_now_ns());
	if (dl_audit_format_policy_load(text, sizeof(text), o->policy->name, o->policy->sha256,
					o->policy->n_rules, c.gen) > 0)
		dl_audit_text(c.audit, AUDIT_USER_MAC_POLICY_LOAD, text, 1);
	if (dl_audit_format_start(text, sizeof(text), !fresh, dl_any_enforcing(c.mode, o->policy->families)) > 0)
		dl_audit_text(c.audit, AUDIT_USER_MAC_STATUS, text, 1);
	for (unsigned i = 0; i < upg.n; i++)
		if (dl_audit_format_upgrade(text, sizeof(text), upg.u[i].hook, upg.u[i].prog, upg.u[i].old_tag,
					    upg.u[i].new_tag, upg.u[i].how) > 0)
			dl_audit_text(c.audit, AUDIT_USER_MAC_CONFIG_CHANGE, text, 1);
	/* What a collector that was killed stored but did not get into the
	 * audit log, before anything new. */
	if (dl_audit_catch_up(c.audit, c.st, c.boot_key))
		dl_log("audit: sending what the store holds but the audit log may not: %s",
		       dl_store_errmsg(c.st));
	c.amark = INT64_MIN;

	/* 4. Drain. */
	err = dl_ring_open(&c.ring, c.pin.events_fd);
	if (err) {
		dl_err("collect: map the ring buffer: %s", strerror(-err));
		goto out;
	}
	c.cgroup_root_fd = open("/sys/fs/cgroup", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	c.limit = o->batch;
	err = dl_ingest_init(&c.in, c.st, o->policy, c.boot_key, c.boot_wall_ns, c.policy_key, c.gen,
			     c.pin.exe_fd, c.cgroup_root_fd, group_cap(o->batch));
	if (err)
		goto out;
	dl_skipped_save(o->pin_dir, c.in.skipped); /* this run's counts, from zero */
	c.dup = calloc(c.in.cap ? c.in.cap : 1, sizeof(*c.dup));
	if (!c.dup) {
		dl_log("collect: out of memory");
		goto out;
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0) {
		dl_err("collect: epoll/signalfd: %s", strerror(errno));
		goto out;
	}
	ev.data.fd = c.pin.events_fd;
	epoll_ctl(ep, EPOLL_CTL_ADD, c.pin.events_fd, &ev);
	ev.data.fd = sfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
	if (o->ready_file) {
		FILE *f = fopen(o->ready_file, "we");

		if (f) {
			fprintf(f, "%d\n", getpid());
			fclose(f);
		} else {
			dl_warn("collect: cannot write ready file %s: %s", o->ready_file, strerror(errno));
		}
	}
	if (dl_sd_notify("READY=1") < 0)
		dl_warn("collect: cannot tell systemd we are ready ($NOTIFY_SOCKET): %s", strerror(errno));
	dl_log("collect: draining into %s", o->db_path);

	while (!stop) {
		struct epoll_event evs[4];
		int n, got, timeout;
		bool drained = false;

		/* Drain everything that is there before sleeping. */
		do {
			got = drain_batch(&c);
			drained |= got > 0;
		} while (got > 0);
		/* The programs wake us only when the ring is a quarter full
		 * (common.bpf.h: dl_record_submit), so drain on a timer: every
		 * DL_DRAIN_INTERVAL_MS while records come, backing off to
		 * DL_DRAIN_IDLE_MS when they stop. */
		interval = drained ? DL_DRAIN_INTERVAL_MS : interval * 2 > DL_DRAIN_IDLE_MS ? DL_DRAIN_IDLE_MS : interval * 2;
		timeout = interval;
		if (got < 0)
			timeout = 1000; /* store failing: retry after a pause */
		if (dl_now_ns() - last_poll >= 1000000000LL) {
			poll_state(&c);
			last_poll = dl_now_ns();
		}
		/* Retention between batches, in short transactions: once a minute,
		 * or right away while an earlier pass stopped at its time budget. */
		if ((o->max_age_ns || o->max_bytes) && got >= 0 &&
		    (retain_more > 0 || dl_now_ns() - last_retain >= 60000000000LL)) {
			uint64_t deleted = 0;

			retain_more = dl_store_retain(c.st, o->max_age_ns, o->max_bytes, dl_now_ns(), &deleted);
			if (retain_more < 0)
				log_store_failure(&c, "retention");
			else if (deleted)
				dl_log("store: retention deleted %llu events", (unsigned long long)deleted);
			last_retain = dl_now_ns();
			if (retain_more > 0)
				timeout = 0;
		}
		if (o->exit_when_idle && got == 0)
			break;
		n = epoll_wait(ep, evs, 4, got < 0 ? 1000 : timeout);
		for (int i = 0; i < n; i++) {
			if (evs[i].data.fd == sfd) {
				struct signalfd_siginfo si;

				while (read(sfd, &si, sizeof(si)) == sizeof(si))
					if (si.ssi_signo != SIGHUP)
						stop = true;
			}
		}
		/* A ring with unreleased records stays readable: avoid spinning. */
		if (got < 0)
			sleep(1);
	}
	/* Final drain so that a clean stop leaves nothing behind. */
	while (drain_batch(&c) > 0)
		;
	report_skipped(&c, true);
	poll_state(&c);
	dl_log("collect: stopping; %llu records stored this run; programs stay attached (drylock unload detaches)",
	       (unsigned long long)c.stored);
	if (dl_audit_format_stop(text, sizeof(text), dl_any_enforcing(c.mode, o->policy->families)) > 0)
		dl_audit_text(c.audit, AUDIT_USER_MAC_STATUS, text, 1);
	dl_audit_sync(c.audit);
	write_audit_mark(&c);
	rc = EXIT_SUCCESS;
out:
	if (c.audit)
		dl_audit_stop(c.audit);
	if (ep >= 0)
		close(ep);
	if (sfd >= 0)
		close(sfd);
	if (c.cgroup_root_fd >= 0)
		close(c.cgroup_root_fd);
	dl_ring_close(&c.ring);
	dl_pinned_close(&c.pin);
	dl_ingest_fini(&c.in);
	free(c.dup);
	dl_store_close(c.st);
	if (lock_fd >= 0)
		close(lock_fd); /* last: `unload` waits for it as "stopped" */
	return rc;
}
