/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What dl_store_open() does with the file system: the modes of the files it
 * creates (database, -wal, -shm: 0600 whatever the umask), what it refuses
 * to open (FIFOs and other non-regular files, without blocking; dangling
 * symlinks; empty files), and the read-only open used by drylock-query,
 * which must work on a read-only copy, for a user without write access and
 * on a database whose collector is not running, and leave no file behind.
 * See docs/store.md ("Files and permissions").
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store/store.h"
#include "tap.h"

static char dir[256];
static const char *bin; /* drylock-query */

static int mode_of(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0 ? (int)(sb.st_mode & 07777) : -1;
}

/* A writer with one committed transaction: -wal and -shm exist. */
static struct dl_store *writer(const char *db)
{
	struct dl_store *st;
	int64_t b;
	if (dl_store_open(db, 0, &st) < 0) {
		printf("# open %s: %s\n", db, dl_store_errmsg(NULL));
		return NULL;
	}
	if (dl_store_boot(st, "boot-open", 0, &b) < 0)
		printf("# boot: %s\n", dl_store_errmsg(st));
	return st;
}

static void test_modes(void)
{
	static const mode_t masks[] = { 0, 022, 077 };
	for (size_t i = 0; i < sizeof(masks) / sizeof(masks[0]); i++) {
		char db[300], wal[310], shm[310];
		snprintf(db, sizeof(db), "%s/mode%03o.db", dir, (unsigned)masks[i]);
		snprintf(wal, sizeof(wal), "%s-wal", db);
		snprintf(shm, sizeof(shm), "%s-shm", db);
		mode_t old = umask(masks[i]);
		struct dl_store *st = writer(db);
		umask(old);
		TAP_OK(st, "umask %03o: writer opens a new database", (unsigned)masks[i]);
		int m = mode_of(db), mw = mode_of(wal), ms = mode_of(shm);
		TAP_OK(m == 0600, "umask %03o: database is 0600 (got %03o)", (unsigned)masks[i], m);
		TAP_OK(mw == 0600, "umask %03o: -wal is 0600 (got %03o)", (unsigned)masks[i], mw);
		TAP_OK(ms == 0600, "umask %03o: -shm is 0600 (got %03o)", (unsigned)masks[i], ms);
		dl_store_close(st);
	}
}

/* dl_store_open(path, flags) in a child with a 5 s alarm: 0 if it failed
 * with a message containing want, 1 if it succeeded or said something else,
 * 2 if it hung. The message goes to msg. */
static int open_in_child(const char *path, int flags, const char *want, char *msg, size_t len)
{
	int p[2];
	msg[0] = 0;
	if (pipe(p) < 0)
		return 1;
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		alarm(5);
		struct dl_store *st;
		int r = dl_store_open(path, flags, &st);
		const char *m = dl_store_errmsg(NULL);
		if (write(p[1], m, strlen(m)) < 0)
			_exit(3);
		_exit(r < 0 && strstr(m, want) ? 0 : 1);
	}
	close(p[1]);
	ssize_t n = read(p[0], msg, len - 1);
	msg[n > 0 ? n : 0] = 0;
	close(p[0]);
	int status;
	waitpid(pid, &status, 0);
	if (WIFSIGNALED(status))
		return 2;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

/* Run argv (argv[0] the binary) with a 5 s alarm (kept across exec),
 * stdout and stderr into the file errf. Exit status, or -1 if it was
 * killed (it hung). */
static int run_timed(char *const *argv, const char *errf, uid_t uid)
{
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open(errf, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 1);
		dup2(fd, 2);
		if (uid && (setgroups(0, NULL) < 0 || setresgid(uid, uid, uid) < 0 ||
			    setresuid(uid, uid, uid) < 0))
			_exit(126);
		alarm(5);
		execv(argv[0], argv);
		_exit(127);
	}
	int status;
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static const char *slurp(const char *path)
{
	static char buf[4096];
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	buf[n] = 0;
	if (f)
		fclose(f);
	return buf;
}

static void test_not_regular(void)
{
	char fifo[300], msg[600], errf[300];
	snprintf(fifo, sizeof(fifo), "%s/fifo.db", dir);
	snprintf(errf, sizeof(errf), "%s/query.out", dir);
	if (mkfifo(fifo, 0600) < 0)
		perror("mkfifo");
	static const struct { const char *path; const char *what; } cases[] = {
		{ NULL, "FIFO" },
		{ "/dev/null", "character device" },
	};
	for (size_t i = 0; i < 2; i++) {
		const char *p = cases[i].path ? cases[i].path : fifo;
		char want[400];
		snprintf(want, sizeof(want), "%s is not a regular file (a %s)", p, cases[i].what);
		int r = open_in_child(p, DL_STORE_RDONLY, want, msg, sizeof(msg));
		TAP_OK(r == 0, "read-only open of a %s is refused, not blocked (%s)", cases[i].what,
		       r == 2 ? "hung" : msg);
		r = open_in_child(p, 0, want, msg, sizeof(msg));
		TAP_OK(r == 0, "writer open of a %s is refused, not blocked (%s)", cases[i].what,
		       r == 2 ? "hung" : msg);
	}
	char *argv[] = { (char *)bin, "--db", fifo, "summary", NULL };
	int r = run_timed(argv, errf, 0);
	const char *o = slurp(errf);
	TAP_OK(r == 1 && strstr(o, "is not a regular file (a FIFO)") && strstr(o, fifo),
	       "drylock-query --db FIFO exits 1 naming it (exit %d: %s)", r, o);
}

/* ---- read-only readers ------------------------------------------------ */

#define NOBODY 65534
#define N_EV 5

static int store_events(struct dl_store *st, int64_t boot, uint64_t seq0)
{
	char exe[64];
	if (dl_store_begin(st) < 0)
		return -1;
	for (uint64_t i = 0; i < N_EV; i++) {
		struct dl_event e = { 0 };
		e.rec.version = DL_ABI_VERSION;
		e.rec.size = sizeof(e.rec);
		e.rec.family = DL_FAMILY_NET;
		e.rec.hook = DL_HOOK_SOCKET_CONNECT;
		e.rec.seq = seq0 + i;
		e.rec.tgid = e.rec.pid = 100;
		e.rec.rule_idx = DL_RULE_NONE;
		e.rec.verdict = DL_VERDICT_WOULD_DENY;
		memcpy(e.rec.comm, "job", 3);
		e.rec.u.net.addr[10] = e.rec.u.net.addr[11] = 0xff;
		e.rec.u.net.addr[12] = 10;
		e.rec.u.net.addr[15] = (uint8_t)(seq0 + i);
		e.rec.u.net.port = 443;
		e.rec.u.net.protocol = 6;
		e.ts_ns = INT64_C(1795000000000000000) + (int64_t)(seq0 + i) * 1000000;
		e.boot_key = boot;
		snprintf(exe, sizeof(exe), "/opt/unique/%llu/tool", (unsigned long long)(seq0 + i));
		e.exe = exe;
		if (dl_store_event(st, &e) < 0) {
			printf("# event: %s\n", dl_store_errmsg(st));
			dl_store_rollback(st);
			return -1;
		}
	}
	return dl_store_commit(st);
}

/* A database with N_EV events; the writer stays open when keep (then the
 * events are in the -wal, not yet in the database file). */
static struct dl_store *make_db(const char *db, mode_t mode, int keep)
{
	struct dl_store *st = writer(db);
	if (!st)
		return NULL;
	if (mode != 0600) { /* -wal/-shm take the mode the database has when made */
		dl_store_close(st);
		chmod(db, mode);
		if (!(st = writer(db)))
			return NULL;
	}
	int64_t b;
	if (dl_store_boot(st, "boot-open", 0, &b) < 0 || store_events(st, b, 1) < 0)
		printf("# store: %s\n", dl_store_errmsg(st));
	if (!keep) {
		dl_store_close(st);
		return NULL;
	}
	return st;
}

/* The names in d, sorted, space-separated. */
static const char *listing(const char *d)
{ /* two buffers: two listings may be printed together */
	static char bufs[2][1024];
	static int k;
	char *buf = bufs[k++ & 1];
	struct dirent **ents;
	int n = scandir(d, &ents, NULL, alphasort);
	buf[0] = 0;
	for (int i = 0; i < n; i++) {
		if (strcmp(ents[i]->d_name, ".") && strcmp(ents[i]->d_name, "..")) {
			if (buf[0])
				strncat(buf, " ", 1024 - strlen(buf) - 1);
			strncat(buf, ents[i]->d_name, 1024 - strlen(buf) - 1);
		}
		free(ents[i]);
	}
	if (n >= 0)
		free(ents);
	return buf;
}

/* Through the store API (in a child running as uid, when uid != 0): the
 * read-only open succeeds and sees n events. 0 if so; else 1 (message in
 * msg), or 2 if it could not switch user. */
static int api_read(const char *db, uid_t uid, int n, char *msg, size_t len)
{
	int p[2];
	msg[0] = 0;
	if (pipe(p) < 0)
		return 1;
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		if (uid && (setgroups(0, NULL) < 0 || setresgid(uid, uid, uid) < 0 ||
			    setresuid(uid, uid, uid) < 0))
			_exit(2);
		alarm(5);
		struct dl_store *st;
		char m[600] = "";
		int ok = 0;
		if (dl_store_open(db, DL_STORE_RDONLY, &st) < 0) {
			snprintf(m, sizeof(m), "%s", dl_store_errmsg(NULL));
		} else {
			sqlite3_stmt *q;
			int c = -1;
			if (sqlite3_prepare_v2(dl_store_sqlite(st), "SELECT count(*) FROM events", -1,
					       &q, NULL) == SQLITE_OK &&
			    sqlite3_step(q) == SQLITE_ROW)
				c = sqlite3_column_int(q, 0);
			else
				snprintf(m, sizeof(m), "%s", sqlite3_errmsg(dl_store_sqlite(st)));
			sqlite3_finalize(q);
			if (c == n && dl_store_check_snapshot(st) == 0)
				ok = 1;
			else if (!m[0])
				snprintf(m, sizeof(m), "%d events (%s)", c, dl_store_errmsg(st));
			dl_store_close(st);
		}
		if (write(p[1], m, strlen(m)) < 0)
			_exit(3);
		_exit(ok ? 0 : 1);
	}
	close(p[1]);
	ssize_t r = read(p[0], msg, len - 1);
	msg[r > 0 ? r : 0] = 0;
	close(p[0]);
	int status;
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

/* Through drylock-query as uid: `summary` exits 0 and `export --format csv`
 * lists n events. 0 if so, else 1 with the output in msg. */
static int bin_read(const char *db, uid_t uid, int n, char *msg, size_t len)
{
	char outf[300];
	snprintf(outf, sizeof(outf), "%s/query.out", dir);
	char *sum[] = { (char *)bin, "--db", (char *)db, "summary", NULL };
	char *exp[] = { (char *)bin, "--db", (char *)db, "export", "--format", "csv", NULL };
	int r = run_timed(sum, outf, uid);
	snprintf(msg, len, "summary exit %d: %s", r, slurp(outf));
	if (r != 0)
		return 1;
	r = run_timed(exp, outf, uid);
	const char *o = slurp(outf);
	int c = 0;
	for (const char *q = o; (q = strstr(q, "/opt/unique/")); q++)
		c++;
	snprintf(msg, len, "export exit %d, %d events: %.300s", r, c, o);
	return r == 0 && c == n ? 0 : 1;
}

/* Remove what a failed case left in d, so that the next starts clean. */
static void tidy(const char *d, const char *files)
{
	char keep[1024], path[600];
	snprintf(keep, sizeof(keep), " %s ", files);
	struct dirent **ents;
	int n = scandir(d, &ents, NULL, alphasort);
	for (int i = 0; i < n; i++) {
		char word[300];
		snprintf(word, sizeof(word), " %s ", ents[i]->d_name);
		if (strcmp(ents[i]->d_name, ".") && strcmp(ents[i]->d_name, "..") &&
		    !strstr(keep, word)) {
			snprintf(path, sizeof(path), "%s/%s", d, ents[i]->d_name);
			unlink(path);
		}
		free(ents[i]);
	}
	if (n >= 0)
		free(ents);
}

static void readers(const char *what, const char *d, const char *db, int n, const char *files)
{
	char msg[1200];
	/* uid 0: this process's user (root in CI, which also switches to nobody) */
	static const uid_t uids[] = { 0, NOBODY };
	for (int i = 0; i < (geteuid() == 0 ? 2 : 1); i++) {
		const char *who = uids[i] ? "nobody" : "self";
		int r = api_read(db, uids[i], n, msg, sizeof(msg));
		TAP_OK(r == 0, "%s, %s: read-only open reads %d events (%s)", what, who, n, msg);
		TAP_OK(!strcmp(listing(d), files), "%s, %s: no file left by the open (%s)", what, who,
		       listing(d));
		tidy(d, files);
		r = bin_read(db, uids[i], n, msg, sizeof(msg));
		TAP_OK(r == 0, "%s, %s: drylock-query summary and export work (%s)", what, who, msg);
		TAP_OK(!strcmp(listing(d), files), "%s, %s: no file left by drylock-query (%s)", what,
		       who, listing(d));
		tidy(d, files);
	}
}

static void copy(const char *from, const char *to, mode_t mode)
{
	char cmd[1400];
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s' && chmod %o '%s'", from, to, (unsigned)mode, to);
	if (system(cmd) != 0)
		printf("# %s failed\n", cmd);
}

static void test_readonly(void)
{
	char d[300], db[320], d2[300], db2[320], d3[300], db3[320], d4[300], db4[320], msg[1200];
	char f[400], t[400];
	chmod(dir, 0755); /* nobody must reach the subdirectories */

	/* The collector stopped (no -wal, no -shm): a read-only copy in a
	 * read-only directory. */
	snprintf(d, sizeof(d), "%s/stopped", dir);
	snprintf(db, sizeof(db), "%s/a.db", d);
	mkdir(d, 0755);
	make_db(db, 0600, 0);
	chmod(db, 0444);
	chmod(d, 0555);
	readers("stopped, 0444 file in 0555 dir", d, db, N_EV, "a.db");

	/* The collector running: its events are in the -wal. The database is
	 * 0644 here (a reader group would be 0640) so that nobody may read. */
	snprintf(d2, sizeof(d2), "%s/live", dir);
	snprintf(db2, sizeof(db2), "%s/b.db", d2);
	mkdir(d2, 0755);
	struct dl_store *w = make_db(db2, 0644, 1);
	readers("collector running", d2, db2, N_EV, "b.db b.db-shm b.db-wal");

	/* A read-only copy of a running database's three files. */
	snprintf(d3, sizeof(d3), "%s/copy3", dir);
	snprintf(db3, sizeof(db3), "%s/c.db", d3);
	mkdir(d3, 0755);
	static const char *sfx[] = { "", "-wal", "-shm" };
	for (int i = 0; i < 3; i++) {
		snprintf(f, sizeof(f), "%s%s", db2, sfx[i]);
		snprintf(t, sizeof(t), "%s%s", db3, sfx[i]);
		copy(f, t, 0444);
	}
	chmod(d3, 0555);
	readers("copy of a live database's three files, 0555 dir", d3, db3, N_EV,
		"c.db c.db-shm c.db-wal");

	/* The database and its -wal without -shm: the -wal's transactions
	 * cannot be read without making a -shm, which a reader never does. */
	snprintf(d4, sizeof(d4), "%s/copy2", dir);
	snprintf(db4, sizeof(db4), "%s/d.db", d4);
	mkdir(d4, 0755);
	for (int i = 0; i < 2; i++) {
		snprintf(f, sizeof(f), "%s%s", db2, sfx[i]);
		snprintf(t, sizeof(t), "%s%s", db4, sfx[i]);
		copy(f, t, 0444);
	}
	chmod(d4, 0555);
	dl_store_close(w);
	for (int i = 0; i < (geteuid() == 0 ? 2 : 1); i++) {
		uid_t uid = i ? NOBODY : 0;
		int r = api_read(db4, uid, N_EV, msg, sizeof(msg));
		snprintf(f, sizeof(f), "%s-shm does not exist", db4);
		TAP_OK(r == 1 && strstr(msg, f) && strstr(msg, "-wal"),
		       "-wal without -shm, %s: refused, naming what is missing (%s)",
		       uid ? "nobody" : "self", msg);
		TAP_OK(!strcmp(listing(d4), "d.db d.db-wal"), "-wal without -shm, %s: no file made (%s)",
		       uid ? "nobody" : "self", listing(d4));
		tidy(d4, "d.db d.db-wal");
	}

	/* A snapshot read (no -wal when opened) while a collector starts and
	 * checkpoints: the reader is told its view may be inconsistent. */
	chmod(d, 0755);
	chmod(db, 0644);
	struct dl_store *rd, *rd2;
	int r = dl_store_open(db, DL_STORE_RDONLY, &rd);
	int r2 = dl_store_open(db, DL_STORE_RDONLY, &rd2);
	TAP_OK(r == 0 && r2 == 0, "snapshot read-only opens (%s)", dl_store_errmsg(NULL));
	TAP_OK(r == 0 && dl_store_check_snapshot(rd) == 0, "unchanged snapshot: check passes (%s)",
	       r == 0 ? dl_store_errmsg(rd) : "");
	if (r2 == 0)
		dl_store_close(rd2);
	w = writer(db);
	int64_t b;
	if (w && (dl_store_boot(w, "boot-open", 0, &b) < 0 || store_events(w, b, 100) < 0 ||
		  sqlite3_exec(dl_store_sqlite(w), "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL,
			       NULL) != SQLITE_OK))
		printf("# writer: %s\n", dl_store_errmsg(w));
	int c = r == 0 ? dl_store_check_snapshot(rd) : 0;
	TAP_OK(c == -ESTALE && strstr(dl_store_errmsg(rd), "changed while it was read") &&
		       strstr(dl_store_errmsg(rd), db),
	       "snapshot overwritten by a checkpoint: -ESTALE naming the file (%d: %s)", c,
	       r == 0 ? dl_store_errmsg(rd) : "");
	if (r == 0)
		dl_store_close(rd);
	dl_store_close(w);
}

/* ---- symlinks and empty files ------------------------------------------ */

static void test_links(void)
{
	char d[300], link[320], target[320], empty[320], msg[1200], want[700];
	snprintf(d, sizeof(d), "%s/links", dir);
	mkdir(d, 0755);
	snprintf(link, sizeof(link), "%s/dangling.db", d);
	snprintf(target, sizeof(target), "%s/elsewhere.db", d);
	if (symlink(target, link) < 0)
		perror("symlink");
	snprintf(want, sizeof(want), "database %s is a dangling symbolic link to %s", link, target);
	int r = open_in_child(link, 0, want, msg, sizeof(msg));
	TAP_OK(r == 0, "writer through a dangling symlink: refused (%s)", msg);
	TAP_OK(!strcmp(listing(d), "dangling.db"), "... and nothing created (%s)", listing(d));
	r = open_in_child(link, DL_STORE_RDONLY, want, msg, sizeof(msg));
	TAP_OK(r == 0, "reader through a dangling symlink: refused (%s)", msg);
	unlink(link);

	snprintf(empty, sizeof(empty), "%s/empty.db", d);
	close(open(empty, O_WRONLY | O_CREAT, 0600));
	snprintf(want, sizeof(want), "database %s is an empty file", empty);
	r = open_in_child(empty, 0, want, msg, sizeof(msg));
	TAP_OK(r == 0, "writer on an empty file: refused (%s)", msg);
	struct stat sb;
	TAP_OK(stat(empty, &sb) == 0 && sb.st_size == 0 && !strcmp(listing(d), "empty.db"),
	       "... and it is left as it was (%s)", listing(d));
	r = open_in_child(empty, DL_STORE_RDONLY, want, msg, sizeof(msg));
	TAP_OK(r == 0, "reader on an empty file: refused (%s)", msg);
	snprintf(link, sizeof(link), "%s/to-empty.db", d);
	if (symlink(empty, link) < 0)
		perror("symlink");
	snprintf(want, sizeof(want), "database %s is an empty file", link);
	r = open_in_child(link, 0, want, msg, sizeof(msg));
	TAP_OK(r == 0, "writer through a symlink to an empty file: refused (%s)", msg);
	unlink(link);
	unlink(empty);

	/* A symlink to an existing database, in another directory: SQLite's
	 * -wal and -shm are next to the target, and that is where the reader
	 * must look for them (else it would read a snapshot without the -wal). */
	char d2[300], real[320];
	snprintf(d2, sizeof(d2), "%s/links-target", dir);
	mkdir(d2, 0755);
	snprintf(real, sizeof(real), "%s/real.db", d2);
	snprintf(link, sizeof(link), "%s/link.db", d);
	make_db(real, 0600, 0);
	if (symlink(real, link) < 0)
		perror("symlink");
	struct dl_store *w = writer(link);
	int64_t b;
	TAP_OK(w && dl_store_boot(w, "boot-open", 0, &b) == 0 && store_events(w, b, 100) == 0,
	       "writer through a symlink to an existing database: opens and stores (%s)",
	       w ? dl_store_errmsg(w) : dl_store_errmsg(NULL));
	TAP_OK(!strcmp(listing(d2), "real.db real.db-shm real.db-wal") && !strcmp(listing(d), "link.db"),
	       "... with -wal and -shm next to the target (%s | %s)", listing(d2), listing(d));
	r = api_read(link, 0, 2 * N_EV, msg, sizeof(msg));
	TAP_OK(r == 0, "reader through the symlink sees the events in the target's -wal (%s)", msg);
	r = bin_read(link, 0, 2 * N_EV, msg, sizeof(msg));
	TAP_OK(r == 0, "drylock-query through the symlink too (%s)", msg);
	if (w)
		dl_store_close(w);
	TAP_OK(!strcmp(listing(d2), "real.db") && !strcmp(listing(d), "link.db"),
	       "nothing left after the writer closes (%s | %s)", listing(d2), listing(d));
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s DRYLOCK-QUERY\n", argv[0]);
		return EXIT_FAILURE;
	}
	bin = argv[1];
	if (tap_tmpdir(dir, sizeof(dir), "open") < 0)
		return EXIT_FAILURE;
	test_modes();
	test_not_regular();
	test_readonly(); /* as root, also as nobody */
	test_links();
	tap_tmpdir_remove(dir);
	return tap_done();
}
