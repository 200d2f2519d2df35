/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Lifecycle state that must outlive one collector, and `drylock unload`.
 *
 * The run directory (/run/drylock, a tmpfs: it lives exactly one boot)
 * holds two small files per pin directory:
 *   <pin>.lock     flock()ed by the running collector, with its pid inside:
 *                  one collector per engine, and `unload` can find and stop it.
 *   <pin>.seq      "<boot_id> <seq>": the last sequence number the engine
 *                  handed out before `unload` removed its maps. A fresh load
 *                  on the same boot starts after max(this, the highest seq
 *                  the store has for the boot), so (boot, seq) never names
 *                  two decisions, in SQLite or in the audit log.
 *   <pin>.skipped  "<reason> <count>" lines: ring records the running (or
 *                  last) collector skipped, by reason (collector.h
 *                  DL_REC_SKIPS), for `drylock status`.
 *
 * `drylock unload` in order, so that nothing is lost and nothing is left
 * half-done: refuse when nothing is loaded (exit 1); open the store first
 * (if it cannot be opened and decisions are pending, refuse and change
 * nothing, unless --discard-pending); stop a running collector (SIGTERM,
 * which drains and stores, then wait for its lock); detach the programs
 * (remove the link pins; new decisions stop); drain what is still in the
 * ring buffer into the store and the audit log; save the sequence number;
 * remove the remaining pins; confirm in the kernel's link list that no
 * drylock program is attached; write USER_MAC_STATUS op=unload with the
 * counts stored and lost.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <libaudit.h>
#include <sqlite3.h>

#include "collector.h"
#include "auditfmt.h"
#include "ingest.h"
#include "names.h"

static const char *run_dir(void)
{
	const char *d = getenv("DRYLOCK_RUN_DIR");

	return d && *d ? d : DL_RUN_DIR_DEFAULT;
}

/* <run dir>/<pin dir with '/' as '_'><suffix> */
static void state_path(char *out, size_t n, const char *pin_dir, const char *suffix)
{
	size_t l = (size_t)snprintf(out, n, "%s/", run_dir());

	for (const char *p = pin_dir; *p && l + 1 < n; p++)
		out[l++] = *p == '/' ? '_' : *p;
	out[l < n ? l : n - 1] = 0;
	strncat(out, suffix, n - strlen(out) - 1);
}

static int ensure_run_dir(void)
{
	if (mkdir(run_dir(), 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int dl_collector_lock(const char *pin_dir, pid_t *holder)
{
	char path[PATH_MAX], buf[32];
	int fd, err;
	ssize_t n;

	*holder = 0;
	err = ensure_run_dir();
	if (err)
		return err;
	state_path(path, sizeof(path), pin_dir, ".lock");
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		err = -errno;
		n = pread(fd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = 0;
		*holder = (pid_t)atoi(buf);
		close(fd);
		return err == -EWOULDBLOCK ? -EBUSY : err;
	}
	n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, n, 0) != n) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* pid of the collector holding pin_dir's lock, 0 if none. */
static pid_t collector_running(const char *pin_dir)
{
	pid_t holder;
	int fd = dl_collector_lock(pin_dir, &holder);

	if (fd >= 0) {
		close(fd);
		return 0;
	}
	return fd == -EBUSY ? (holder > 0 ? holder : -1) : 0;
}

int dl_seq_saved(const char *pin_dir, const char *boot_id, uint64_t *seq)
{
	char path[PATH_MAX], id[64];
	unsigned long long v;
	FILE *f;
	int ok;

	*seq = 0;
	state_path(path, sizeof(path), pin_dir, ".seq");
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	ok = fscanf(f, "%63s %llu", id, &v) == 2;
	fclose(f);
	if (ok && strcmp(id, boot_id) == 0)
		*seq = v;
	return 0;
}

/* Replace the state file <pin><suffix> with text, atomically (a temporary
 * file renamed over it): a reader sees the old content or the new. */
static int state_write(const char *pin_dir, const char *suffix, const char *text)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	FILE *f;
	int err = ensure_run_dir();

	if (err)
		return err;
	state_path(path, sizeof(path), pin_dir, suffix);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "we");
	if (!f)
		return -errno;
	fputs(text, f);
	if (fclose(f) != 0 || rename(tmp, path) < 0) {
		err = -errno;
		unlink(tmp);
		return err;
	}
	return 0;
}

static int seq_save(const char *pin_dir, const char *boot_id, uint64_t seq)
{
	char text[128];

	snprintf(text, sizeof(text), "%s %llu\n", boot_id, (unsigned long long)seq);
	return state_write(pin_dir, ".seq", text);
}

int dl_skipped_save(const char *pin_dir, const uint64_t skipped[DL_REC_SKIP_MAX])
{
	char text[64 * DL_REC_SKIP_MAX] = "";
	size_t l = 0;

	for (unsigned i = 1; i < DL_REC_SKIP_MAX; i++)
		l += (size_t)snprintf(text + l, sizeof(text) - l, "%s %llu\n", dl_rec_skip_key(i),
				      (unsigned long long)skipped[i]);
	return state_write(pin_dir, ".skipped", text);
}

int dl_skipped_read(const char *pin_dir, uint64_t skipped[DL_REC_SKIP_MAX])
{
	char path[PATH_MAX], key[32];
	unsigned long long v;
	FILE *f;

	memset(skipped, 0, DL_REC_SKIP_MAX * sizeof(*skipped));
	state_path(path, sizeof(path), pin_dir, ".skipped");
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while (fscanf(f, "%31s %llu", key, &v) == 2)
		for (unsigned i = 1; i < DL_REC_SKIP_MAX; i++)
			if (!strcmp(key, dl_rec_skip_key(i)))
				skipped[i] = v;
	fclose(f);
	return 0;
}

/* Is any of drylock's programs attached through an LSM link? 1 yes, 0 no. */
static int drylock_links_attached(void)
{
	struct dl_lsm_link *l;
	size_t n;
	int found = 0;

	if (dl_lsm_links(&l, &n) < 0)
		return 0;
	for (size_t i = 0; i < n && !found; i++)
		found = dl_lsm_link_is_ours(&l[i]);
	free(l);
	return found;
}

static void unload_usage(FILE *f)
{
	fprintf(f,
		"Usage: drylock unload [--db PATH] [--discard-pending] [--yes]\n"
		"\n"
		"Detach every drylock program and remove the pins. A running collector is\n"
		"stopped first (it stores what it has read); decisions still in the ring\n"
		"buffer are then stored in the database and sent to the audit log.\n"
		"\n"
		"  --db PATH           where pending decisions are stored (default %s)\n"
		"  --discard-pending   unload even if pending decisions cannot be stored\n"
		"                      (their number goes into the op=unload audit record)\n"
		"  -y, --yes           do not ask when a family is enforcing\n"
		"  -h, --help          this help\n"
		"\n"
		"Exit: 0 unloaded, 1 nothing was loaded or something failed, 2 usage.\n",
		DL_DB_DEFAULT);
}

static int wait_for_stop(const char *pin_dir, pid_t pid, int seconds)
{
	for (int i = 0; i < seconds * 10; i++) {
		if (collector_running(pin_dir) == 0)
			return 0;
		if (kill(pid, 0) < 0 && errno == ESRCH && collector_running(pin_dir) == 0)
			return 0;
		usleep(100000);
	}
	return -ETIMEDOUT;
}

/* The policy's name for the audit record. The drained records nearly all
 * come from one policy: the caller keeps buf and its key, and only a new key
 * is looked up. */
static const char *policy_name_of(struct dl_store *st, int64_t policy_key, char *buf, size_t n,
				  int64_t *cached_key)
{
	sqlite3_stmt *q;

	if (*cached_key == policy_key && buf[0])
		return buf;
	*cached_key = policy_key;
	snprintf(buf, n, "?");
	if (!policy_key || sqlite3_prepare_v2(dl_store_sqlite(st), "SELECT name FROM policies WHERE id = ?1",
					      -1, &q, NULL) != SQLITE_OK)
		return buf;
	sqlite3_bind_int64(q, 1, policy_key);
	if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0))
		snprintf(buf, n, "%s", (const char *)sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
	return buf;
}

/* Store (and audit) everything in the ring. Returns stored, or <0. */
static int64_t drain_ring(struct dl_ring *ring, struct dl_store *st, int64_t boot_key, int exe_fd,
			  struct dl_audit *audit)
{
	static const struct dl_policy none = { .name = "" };
	struct dl_ingest in;
	int64_t total = 0;
	uint64_t floor = 0;
	bool dup[1024];
	char name[DL_POLICY_NAME_MAX + 1] = "";
	int64_t name_key = -1;
	int cg = open("/sys/fs/cgroup", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int err = dl_ingest_init(&in, st, &none, boot_key, dl_boot_wall_ns(), 0, 0, exe_fd, cg, 1024);

	/* what is stored already was audited, or sent by dl_audit_catch_up */
	if (!err && audit)
		err = dl_store_max_seq(st, boot_key, &floor);
	if (err) {
		if (cg >= 0)
			close(cg);
		return err;
	}
	for (;;) {
		const void *data;
		__u32 len;
		int n;

		dl_ingest_reset(&in);
		while (in.n < in.cap && dl_ring_next(ring, &data, &len) == 1)
			dl_ingest_add(&in, data, len);
		if (in.n == 0) {
			dl_ring_release(ring);
			break;
		}
		memset(dup, 0, sizeof(dup));
		if (floor)
			dl_audit_batch_dups(st, in.batch, in.n, floor, dup);
		n = dl_ingest_commit(&in);
		if (n < 0) {
			dl_ring_rewind(ring);
			total = n;
			break;
		}
		dl_ring_release(ring);
		total += n;
		for (unsigned i = 0; i < in.n; i++) {
			if (in.batch[i].ev.rec.verdict == DL_VERDICT_ALLOW || dup[i])
				continue;
			dl_audit_decision(audit, &in.batch[i].ev,
					  policy_name_of(st, in.batch[i].ev.policy_key, name, sizeof(name), &name_key));
		}
	}
	for (unsigned i = 1; i < DL_REC_SKIP_MAX; i++)
		if (in.skipped[i])
			dl_warn("unload: skipped %llu ring records: %s", (unsigned long long)in.skipped[i],
				dl_rec_skip_name(i));
	dl_ingest_fini(&in);
	if (cg >= 0)
		close(cg);
	return total;
}

/* Records in the ring, without consuming them. */
static uint64_t ring_pending(struct dl_ring *ring)
{
	const void *data;
	__u32 len;
	uint64_t n = 0;

	while (dl_ring_next(ring, &data, &len) == 1)
		n++;
	dl_ring_rewind(ring);
	return n;
}

static int remove_links(const char *pin_dir)
{
	char links[PATH_MAX];

	snprintf(links, sizeof(links), "%s/links", pin_dir);
	return dl_rm_pins(links);
}

int dl_cmd_unload(const char *pin_dir, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "discard-pending", no_argument, NULL, 'D' },
		{ "yes", no_argument, NULL, 'y' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *db_path = DL_DB_DEFAULT;
	bool discard = false, yes = false, enforcing = false;
	struct dl_pinned pin;
	struct dl_config cfg;
	struct dl_store *st = NULL;
	struct dl_audit *audit = NULL;
	struct dl_ring ring = { .fd = -1 };
	char boot_id[64], text[512];
	uint64_t pending = 0, lost = 0, seq = 0;
	int64_t stored = 0, boot_key = 0;
	pid_t pid;
	int c, err, rc = EXIT_FAILURE;

	optind = 1;
	while ((c = getopt_long(argc, argv, "hy", opts, NULL)) != -1) {
		switch (c) {
		case 'd': db_path = optarg; break;
		case 'D': discard = true; break;
		case 'y': yes = true; break;
		case 'h': unload_usage(stdout); return EXIT_SUCCESS;
		default: unload_usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		dl_log("unload: unexpected argument '%s'", argv[optind]);
		return 2;
	}

	err = dl_pinned_open(pin_dir, &pin);
	if (err == -ENOENT) {
		dl_log("unload: nothing loaded (%s has no drylock engine)", pin_dir);
		return EXIT_FAILURE;
	}
	if (err) {
		dl_log("unload: %s: %s", pin_dir, strerror(-err));
		return EXIT_FAILURE;
	}
	if (dl_engine_locked(&pin) == 1) {
		dl_err("unload: the engine in %s is locked until reboot (`drylock lock`): it cannot be "
		       "unloaded; nothing was changed", pin_dir);
		goto out;
	}
	dl_boot_id(boot_id);
	if (dl_config_read(&pin, &cfg) == 0)
		for (int f = 1; f < DL_FAMILY_MAX; f++)
			enforcing |= cfg.mode[f] == DL_MODE_ENFORCE;
	if (enforcing && !yes && isatty(STDIN_FILENO)) {
		dl_log("unload: a policy family is enforcing; unloading stops enforcement. "
		       "Run `drylock unload --yes` to go ahead.");
		rc = 2;
		goto out;
	}

	/* 1. The store first: if pending decisions cannot be kept, change nothing. */
	err = dl_ring_open(&ring, pin.events_fd);
	if (err) {
		dl_log("unload: map the ring buffer: %s", strerror(-err));
		goto out;
	}
	err = dl_store_open(db_path, 0, &st);
	if (!err)
		err = dl_store_boot(st, boot_id, dl_boot_wall_ns(), &boot_key);
	if (err) {
		pending = ring_pending(&ring);
		if (!discard && (pending || collector_running(pin_dir))) {
			dl_log("unload: cannot open the database %s (%s): %llu decision(s) are pending and "
			       "would be lost; nothing was changed. Fix --db, or pass --discard-pending.",
			       db_path, dl_store_errmsg(st), (unsigned long long)pending);
			goto out;
		}
		dl_store_close(st);
		st = NULL;
	}

	/* 2. A running collector drains and stores on SIGTERM. */
	pid = collector_running(pin_dir);
	if (pid) {
		if (pid < 0 || kill(pid, SIGTERM) < 0) {
			dl_log("unload: a collector is running for %s and cannot be stopped (%s); stop it first",
			       pin_dir, pid < 0 ? "its pid is unknown" : strerror(errno));
			goto out;
		}
		dl_log("unload: stopping the collector (pid %d)", (int)pid);
		if (wait_for_stop(pin_dir, pid, 30)) {
			dl_log("unload: the collector (pid %d) did not stop within 30 s; nothing was detached", (int)pid);
			goto out;
		}
	}

	/* 3. Detach: from here on no new decision is made. */
	err = remove_links(pin_dir);
	if (err) {
		dl_log("unload: remove %s/links: %s", pin_dir, strerror(-err));
		goto out;
	}

	/* 4. What the kernel decided but nobody stored yet. */
	audit = dl_audit_start(true, boot_id);
	if (st && audit && dl_audit_catch_up(audit, st, boot_key))
		dl_log("unload: sending stored decisions the audit log may not have: %s", dl_store_errmsg(st));
	if (st) {
		stored = drain_ring(&ring, st, boot_key, pin.exe_fd, audit);
		if (stored < 0) {
			dl_log("unload: storing pending decisions: %s", dl_store_errmsg(st));
			stored = 0;
		}
		if (audit) {
			dl_audit_sync(audit);
			if (dl_store_audit_mark_set(st, boot_key, dl_audit_mark(audit)))
				dl_log("unload: %s", dl_store_errmsg(st));
		}
	}
	lost = ring_pending(&ring);
	if (lost)
		dl_log("unload: %llu pending decision(s) could not be stored and are discarded",
		       (unsigned long long)lost);

	/* 5. The sequence continues after this on the same boot. */
	{
		__u32 zero = 0;
		__u64 v = 0;

		if (bpf_map_lookup_elem(pin.seq_fd, &zero, &v) == 0)
			seq = v;
		err = seq_save(pin_dir, boot_id, seq);
		if (err)
			dl_log("unload: cannot save the sequence number in %s: %s (a later load on this boot "
			       "continues after the database's highest one)", run_dir(), strerror(-err));
	}

	/* 6. The maps. */
	dl_ring_close(&ring);
	dl_pinned_close(&pin);
	err = dl_unload(pin_dir);
	if (err) {
		dl_log("unload: remove %s: %s", pin_dir, strerror(-err));
		goto audit;
	}
	/* Link release is asynchronous (RCU): give it a moment before saying so. */
	for (int i = 0; i < 50 && drylock_links_attached(); i++)
		usleep(100000);
	if (drylock_links_attached()) {
		dl_log("unload: %s removed, but the kernel still lists drylock programs as attached "
		       "(another process holds their links: see `bpftool link`)", pin_dir);
		goto audit;
	}
	printf("unloaded: programs detached, %s removed; %lld pending decision(s) stored%s\n", pin_dir,
	       (long long)stored, lost ? ", some discarded (see above)" : "");
	rc = EXIT_SUCCESS;
audit:
	if (dl_audit_format_unload(text, sizeof(text), stored, lost, seq) > 0)
		dl_audit_text(audit, AUDIT_USER_MAC_STATUS, text, rc == EXIT_SUCCESS);
out:
	if (audit)
		dl_audit_stop(audit);
	dl_ring_close(&ring);
	dl_pinned_close(&pin);
	dl_store_close(st);
	return rc;
}
