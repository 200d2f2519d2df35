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
	tap_tmpdir_remove(dir);
	return tap_done();
}
