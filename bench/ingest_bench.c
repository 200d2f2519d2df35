/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Ingest benchmark: the collector's real ingest path without a kernel.
 *
 * Records from bench/gen.c (raw struct dl_record bytes, as on the ring
 * buffer) go through collector/ingest.c exactly as the drain loop sends them:
 * dl_ingest_add() per record, dl_ingest_commit() per batch of 1024, into a
 * fresh store opened with the collector's pragmas. exe_fd and cgroup_root_fd
 * are -1, so exe names come from /proc/<tgid>/exe: the benchmark starts one
 * real process per service (a copy of sleep(1) named after the service) so
 * that popular subjects resolve once and then hit the (tgid, exe inode)
 * cache, as in real life; the tail's tgids do not exist and fail fast.
 *
 * The baseline is a bare loop over the same stream: the same generator, the
 * ids the store would have assigned (known to the generator), the same
 * prepared INSERT OR IGNORE into the same schema with the same pragmas and
 * batch size, nothing else. The ratio ingest/bare is what the store's
 * interning, time index and the ingest enrichment cost.
 *
 * Output: a readable report and key=value lines (parsed by bench/run.sh).
 * With --audit FILE the same decisions are also written as USER_AVC lines in
 * drylock's format (for bench/report_bench.sh); timing is then not reported.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sqlite3.h>

#include "collector/ingest.h"
#include "collector/auditfmt.h"
#include "store/store.h"
#include "gen.h"

#define BATCH 1024
#define BOOT_ID "0f4c2a9e-6b1d-4e57-9a3c-5d2e8b7f1a60"

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static long maxrss_kb(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static pid_t children[DL_GEN_SERVICES];

static void stop_services(void)
{
	for (int i = 0; i < DL_GEN_SERVICES; i++)
		if (children[i] > 0) {
			kill(children[i], SIGKILL);
			waitpid(children[i], NULL, 0);
			children[i] = 0;
		}
}

static int copy_file(const char *from, const char *to)
{
	char buf[65536];
	ssize_t n;
	int in = open(from, O_RDONLY | O_CLOEXEC), out;
	if (in < 0)
		return -errno;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	if (out < 0) {
		close(in);
		return -errno;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n) {
			n = -1;
			break;
		}
	close(in);
	close(out);
	return n < 0 ? -EIO : 0;
}

/* One live process per service, executing <dir>/bin/<name>; waits until each
 * has exec'd so that /proc/<tgid>/exe names the service, not us. */
static int start_services(struct dl_gen *g, const char *dir)
{
	char bindir[DL_PATH_MAX - 32], path[DL_PATH_MAX], got[DL_PATH_MAX], link[64];
	snprintf(bindir, sizeof(bindir), "%.200s/bin", dir);
	if (mkdir(bindir, 0755) < 0 && errno != EEXIST)
		return -errno;
	for (int i = 0; i < DL_GEN_SERVICES; i++) {
		struct dl_gen_service *sv = &g->svc[i];
		struct stat sb;
		snprintf(path, sizeof(path), "%s/%.24s", bindir, sv->name);
		int r = copy_file("/bin/sleep", path);
		if (r < 0)
			return r;
		stat(path, &sb);
		pid_t pid = fork();
		if (pid < 0)
			return -errno;
		if (pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			execl(path, sv->name, "infinity", (char *)NULL);
			_exit(127);
		}
		children[i] = pid;
		sv->tgid = (uint32_t)pid;
		sv->exe_ino = sb.st_ino;
		snprintf(sv->exe, sizeof(sv->exe), "%s", path);
		snprintf(link, sizeof(link), "/proc/%d/exe", pid);
		for (int tries = 0;; tries++) {
			ssize_t n = readlink(link, got, sizeof(got) - 1);
			if (n > 0) {
				got[n] = 0;
				if (!strcmp(got, path))
					break;
			}
			if (tries > 5000)
				return -ETIMEDOUT;
			usleep(200);
		}
	}
	return 0;
}

struct opts {
	uint64_t n, seed;
	unsigned tail_subj_pm, tail_obj_pm;
	const char *db, *audit, *dir;
	int bare, keep, ingest;
};

static int die_store(const char *what, struct dl_store *st)
{
	fprintf(stderr, "ingest_bench: %s: %s\n", what, dl_store_errmsg(st));
	return -1;
}

/* The collector's ingest path. Returns events/s, or <0. */
static double run_ingest(const struct opts *o, struct dl_gen *g, const char *db, double *cpu)
{
	struct dl_store *st;
	struct dl_policy *pol = NULL;
	struct dl_diags diags = { 0 };
	FILE *audit = NULL;
	static char text[DL_AUDIT_MAX_TEXT];
	if (dl_policy_parse_string("bench.policy", dl_gen_policy, &pol, &diags) < 0) {
		dl_diags_print(&diags, stderr);
		return -1;
	}
	if (dl_store_open(db, 0, &st) < 0)
		return die_store("open", NULL);
	struct dl_store_rule rules[DL_GEN_RULES];
	for (size_t i = 0; i < pol->n_rules && i < DL_GEN_RULES; i++)
		rules[i] = (struct dl_store_rule){ (__u32)i, pol->rules[i].id, pol->rules[i].family,
						   pol->rules[i].action, pol->rules[i].text };
	int64_t boot, pkey;
	int64_t boot_wall = INT64_C(1795000000) * 1000000000; /* 2026-11-18 */
	if (dl_store_boot(st, BOOT_ID, boot_wall, &boot) < 0 ||
	    dl_store_policy(st, pol->name, pol->sha256, pol->text, rules, pol->n_rules, &pkey) < 0 ||
	    dl_store_policy_load(st, boot, 1, pkey, boot_wall + 1000000000000) < 0 ||
	    dl_store_mode(st, boot, DL_FAMILY_NET, DL_MODE_PERMISSIVE, boot_wall + 1000000000000) < 0)
		return die_store("setup", st);
	struct dl_ingest *in = calloc(1, sizeof(*in));
	if (!in || dl_ingest_init(in, st, pol, boot, boot_wall, pkey, 1, -1, -1, BATCH) < 0) {
		fprintf(stderr, "ingest_bench: out of memory\n");
		return -1;
	}
	if (o->audit && !(audit = fopen(o->audit, "w"))) {
		fprintf(stderr, "ingest_bench: %s: %s\n", o->audit, strerror(errno));
		return -1;
	}
	uint64_t serial = 1000;
	struct dl_record rec;
	struct dl_gen_ids ids;
	double c0 = cpu_s(), t0 = now_s();
	for (uint64_t i = 0; i < o->n; i++) {
		dl_gen_next(g, &rec, &ids);
		int r = dl_ingest_add(in, &rec, sizeof(rec));
		if (r < 0) {
			fprintf(stderr, "ingest_bench: dl_ingest_add: %s\n", strerror(-r));
			return -1;
		}
		if (in->n == BATCH || i + 1 == o->n) {
			for (unsigned k = 0; audit && k < in->n; k++) {
				const struct dl_event *ev = &in->batch[k].ev;
				if (dl_audit_format_avc(text, sizeof(text), ev, pol->name, BOOT_ID) < 0)
					continue;
				fprintf(audit,
					"type=USER_AVC msg=audit(%lld.%03lld:%llu): pid=1 uid=0 auid=4294967295"
					" ses=4294967295 subj=unconfined msg='%s exe=\"/usr/sbin/drylock\""
					" hostname=? addr=? terminal=? res=%s'\n",
					(long long)(ev->ts_ns / 1000000000),
					(long long)(ev->ts_ns / 1000000 % 1000), (unsigned long long)serial++,
					text, dl_audit_result(&ev->rec) ? "success" : "failed");
			}
			r = dl_ingest_commit(in);
			if (r < 0)
				return die_store("commit", st);
			dl_ingest_reset(in);
		}
	}
	double secs = now_s() - t0;
	*cpu = cpu_s() - c0;
	if (audit && fclose(audit) != 0) {
		fprintf(stderr, "ingest_bench: %s: write failed\n", o->audit);
		return -1;
	}
	sqlite3_exec(dl_store_sqlite(st), "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
	dl_ingest_fini(in);
	free(in);
	dl_store_close(st);
	dl_policy_free(pol);
	return (double)o->n / secs;
}

/* The baseline: same stream, ids known, one prepared INSERT, same batches. */
static double run_bare(const struct opts *o, struct dl_gen *g, const char *db, double *cpu)
{
	struct dl_store *st;
	if (dl_store_open(db, 0, &st) < 0)
		return die_store("open bare", NULL);
	sqlite3 *h = dl_store_sqlite(st);
	sqlite3_stmt *ins, *begin, *commit;
	if (sqlite3_prepare_v3(h,
			       "INSERT OR IGNORE INTO events(id, ts, hook, verdict, enforced, policy, rule,"
			       " subject, object, tgid, pid, ppid)"
			       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
			       -1, SQLITE_PREPARE_PERSISTENT, &ins, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(h, "BEGIN IMMEDIATE", -1, &begin, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(h, "COMMIT", -1, &commit, NULL) != SQLITE_OK) {
		fprintf(stderr, "ingest_bench: prepare: %s\n", sqlite3_errmsg(h));
		return -1;
	}
	int64_t boot = 1, boot_wall = INT64_C(1795000000) * 1000000000;
	struct dl_record r;
	struct dl_gen_ids ids;
	double c0 = cpu_s(), t0 = now_s();
	for (uint64_t i = 0; i < o->n;) {
		sqlite3_step(begin);
		sqlite3_reset(begin);
		for (unsigned k = 0; k < BATCH && i < o->n; k++, i++) {
			dl_gen_next(g, &r, &ids);
			sqlite3_bind_int64(ins, 1, boot << 40 | (int64_t)r.seq);
			sqlite3_bind_int64(ins, 2, (boot_wall + (int64_t)r.ktime_ns) / 1000000);
			sqlite3_bind_int64(ins, 3, r.hook);
			sqlite3_bind_int64(ins, 4, r.verdict);
			sqlite3_bind_int64(ins, 5, r.enforced);
			sqlite3_bind_int64(ins, 6, 1);
			if (r.rule_idx != DL_RULE_NONE)
				sqlite3_bind_int64(ins, 7, r.rule_idx);
			else
				sqlite3_bind_null(ins, 7);
			sqlite3_bind_int64(ins, 8, ids.subject);
			sqlite3_bind_int64(ins, 9, ids.object);
			sqlite3_bind_int64(ins, 10, r.tgid);
			if (r.pid != r.tgid)
				sqlite3_bind_int64(ins, 11, r.pid);
			else
				sqlite3_bind_null(ins, 11);
			sqlite3_bind_int64(ins, 12, r.ppid);
			if (sqlite3_step(ins) != SQLITE_DONE) {
				fprintf(stderr, "ingest_bench: bare insert: %s\n", sqlite3_errmsg(h));
				return -1;
			}
			sqlite3_reset(ins);
		}
		if (sqlite3_step(commit) != SQLITE_DONE) {
			fprintf(stderr, "ingest_bench: bare commit: %s\n", sqlite3_errmsg(h));
			return -1;
		}
		sqlite3_reset(commit);
	}
	double secs = now_s() - t0;
	*cpu = cpu_s() - c0;
	sqlite3_finalize(ins);
	sqlite3_finalize(begin);
	sqlite3_finalize(commit);
	sqlite3_exec(h, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
	dl_store_close(st);
	return (double)o->n / secs;
}

static long long file_size(const char *p)
{
	struct stat sb;
	return stat(p, &sb) == 0 ? (long long)sb.st_size : -1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: ingest_bench [-n N] [--seed S] [--db PATH] [--audit FILE] [--no-bare] [--keep]\n"
		"                    [--tail-subjects PERMILLE] [--tail-objects PERMILLE] [--dir DIR]\n"
		"Replays N generated decisions (default 1000000) through the collector's ingest\n"
		"path into a fresh store, then the same stream through a bare INSERT loop, and\n"
		"prints events/s, the ratio, bytes/event and peak RSS.\n"
		"  --db PATH        where the ingest database goes (default DIR/ingest.db; replaced)\n"
		"  --audit FILE     also write the decisions as USER_AVC lines (implies --no-bare)\n"
		"  --keep           keep the databases\n"
		"  --bare-only      only the baseline (for profiling it)\n"
		"  --tail-subjects  share of never-seen subjects, per mille (default 10)\n"
		"  --tail-objects   share of never-seen destinations, per mille (default 50)\n"
		"Example: ingest_bench -n 10000000\n");
}

int main(int argc, char **argv)
{
	struct opts o = { .n = 1000000, .seed = 42, .tail_subj_pm = 10, .tail_obj_pm = 50, .bare = 1, .ingest = 1 };
	static const struct option lo[] = {
		{ "seed", required_argument, NULL, 's' }, { "db", required_argument, NULL, 'd' },
		{ "audit", required_argument, NULL, 'a' }, { "no-bare", no_argument, NULL, 'B' },
		{ "keep", no_argument, NULL, 'k' }, { "tail-subjects", required_argument, NULL, 'S' },
		{ "tail-objects", required_argument, NULL, 'O' }, { "dir", required_argument, NULL, 'D' },
		{ "bare-only", no_argument, NULL, 'b' }, { "help", no_argument, NULL, 'h' }, { 0 } };
	int c;
	while ((c = getopt_long(argc, argv, "n:h", lo, NULL)) != -1) {
		switch (c) {
		case 'n': o.n = strtoull(optarg, NULL, 0); break;
		case 's': o.seed = strtoull(optarg, NULL, 0); break;
		case 'd': o.db = optarg; break;
		case 'a': o.audit = optarg; o.bare = 0; break;
		case 'B': o.bare = 0; break;
		case 'k': o.keep = 1; break;
		case 'b': o.ingest = 0; break;
		case 'S': o.tail_subj_pm = (unsigned)atoi(optarg); break;
		case 'O': o.tail_obj_pm = (unsigned)atoi(optarg); break;
		case 'D': o.dir = optarg; break;
		case 'h': usage(stdout); return EXIT_SUCCESS;
		default: usage(stderr); return 2;
		}
	}
	if (o.n == 0) {
		usage(stderr);
		return 2;
	}
	char tmpl[256], dbi[512], dbb[512];
	if (!o.dir) {
		snprintf(tmpl, sizeof(tmpl), "%s/dl-bench-XXXXXX", getenv("TMPDIR") ?: "/tmp");
		if (!mkdtemp(tmpl)) {
			perror("ingest_bench: mkdtemp");
			return EXIT_FAILURE;
		}
		o.dir = tmpl;
	}
	snprintf(dbi, sizeof(dbi), "%s", o.db ? o.db : "");
	if (!o.db)
		snprintf(dbi, sizeof(dbi), "%s/ingest.db", o.dir);
	snprintf(dbb, sizeof(dbb), "%s/bare.db", o.dir);
	for (const char *sfx = ""; ; sfx = sfx[0] ? NULL : "-wal") {
		char p[600];
		if (!sfx)
			break;
		snprintf(p, sizeof(p), "%s%s", dbi, sfx), unlink(p);
		snprintf(p, sizeof(p), "%s%s", dbb, sfx), unlink(p);
	}

	static struct dl_gen g;
	dl_gen_init(&g, o.seed, o.tail_subj_pm, o.tail_obj_pm);
	int r = start_services(&g, o.dir);
	if (r < 0) {
		fprintf(stderr, "ingest_bench: starting service processes: %s\n", strerror(-r));
		stop_services();
		return EXIT_FAILURE;
	}

	/* The generator alone, for reference (it is inside both loops). */
	static struct dl_gen g0;
	g0 = g;
	struct dl_record rec;
	struct dl_gen_ids ids;
	uint64_t ng = o.n < 2000000 ? o.n : 2000000;
	double t0 = now_s();
	for (uint64_t i = 0; i < ng; i++)
		dl_gen_next(&g0, &rec, &ids);
	double gen_eps = (double)ng / (now_s() - t0);

	static struct dl_gen g1;
	g1 = g;
	double cpu_i = 0, cpu_b = 0;
	double ingest_eps = o.ingest ? run_ingest(&o, &g1, dbi, &cpu_i) : 1;
	long rss_ingest = maxrss_kb();
	if (ingest_eps < 0) {
		stop_services();
		return EXIT_FAILURE;
	}
	long long sz_i = file_size(dbi);
	double bare_eps = 0;
	long long sz_b = 0;
	if (o.bare) {
		g1 = g;
		bare_eps = run_bare(&o, &g1, dbb, &cpu_b);
		if (bare_eps < 0) {
			stop_services();
			return EXIT_FAILURE;
		}
		sz_b = file_size(dbb);
	}
	stop_services();

	printf("ingest benchmark: %llu decisions, seed %llu, batches of %d, tail %u/1000 subjects,"
	       " %u/1000 objects\n",
	       (unsigned long long)o.n, (unsigned long long)o.seed, BATCH, o.tail_subj_pm, o.tail_obj_pm);
	printf("  generator alone        %12.0f events/s  (included in both loops below)\n", gen_eps);
	if (!o.audit && o.ingest)
		printf("  ingest path            %12.0f events/s  (%.2f s wall, %.2f s CPU)\n", ingest_eps,
		       (double)o.n / ingest_eps, cpu_i);
	if (o.bare)
		printf("  bare INSERT loop       %12.0f events/s  (%.2f s wall, %.2f s CPU)\n", bare_eps,
		       (double)o.n / bare_eps, cpu_b);
	if (o.bare && o.ingest)
		printf("  ratio ingest/bare      %12.2f  (CPU-time ratio %.2f)\n", ingest_eps / bare_eps,
		       cpu_b / cpu_i);
	if (o.ingest)
		printf("  bytes/event (ingest)   %12.1f  (file %lld bytes after checkpoint)\n",
		       (double)sz_i / (double)o.n, sz_i);
	if (o.bare)
		printf("  bytes/event (bare)     %12.1f  (events table only)\n", (double)sz_b / (double)o.n);
	printf("  peak RSS after ingest  %12ld KiB\n", rss_ingest);
	printf("n=%llu\n", (unsigned long long)o.n);
	if (!o.audit && o.ingest)
		printf("ingest_eps=%.0f\ningest_cpu_eps=%.0f\n", ingest_eps, (double)o.n / cpu_i);
	if (o.bare && o.ingest)
		printf("bare_eps=%.0f\nratio=%.3f\ncpu_ratio=%.3f\n", bare_eps, ingest_eps / bare_eps,
		       cpu_b / cpu_i);
	if (o.ingest)
		printf("bytes_per_event=%.2f\n", (double)sz_i / (double)o.n);
	printf("maxrss_kb=%ld\n", rss_ingest);

	if (!o.keep) {
		unlink(dbb);
		if (!o.db)
			unlink(dbi);
	}
	char p[600];
	for (int i = 0; i < DL_GEN_SERVICES; i++) {
		snprintf(p, sizeof(p), "%s/bin/%s", o.dir, g.svc[i].name);
		unlink(p);
	}
	snprintf(p, sizeof(p), "%s/bin", o.dir);
	rmdir(p);
	if (o.dir == tmpl && !o.keep)
		rmdir(tmpl);
	return EXIT_SUCCESS;
}
