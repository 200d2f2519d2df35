/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Host tests of collector/ingest.c: a record names the executable that made
 * the decision, or none. The /proc/<tgid>/exe fallback is only believed when
 * its inode is the record's exe_ino: a process that exec'd something else
 * after its decision, or a pid now used by another process, must not lend
 * its executable to the record.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <sqlite3.h>

#include "collector/ingest.h"
#include "tap.h"

static char dir[256], db[300];

static struct dl_record rec(__u64 seq, __u32 tgid, __u64 exe_ino)
{
	struct dl_record r;

	memset(&r, 0, sizeof(r));
	r.version = DL_ABI_VERSION;
	r.size = sizeof(r);
	r.family = DL_FAMILY_NET;
	r.hook = DL_HOOK_SOCKET_CONNECT;
	r.seq = seq;
	r.ktime_ns = 1000;
	r.tgid = r.pid = tgid;
	r.exe_ino = exe_ino;
	r.rule_idx = DL_RULE_NONE;
	r.verdict = DL_VERDICT_WOULD_DENY;
	snprintf(r.comm, sizeof(r.comm), "t");
	r.u.net.addr[10] = r.u.net.addr[11] = 0xff;
	r.u.net.addr[12] = 127;
	r.u.net.addr[15] = 2;
	r.u.net.port = 9;
	r.u.net.protocol = 6;
	return r;
}

/* exe of the event with this seq: the path, "" for none, "ERR" */
static const char *exe_of(__u64 seq)
{
	static char out[512];
	sqlite3 *h;
	sqlite3_stmt *s;
	char sql[128];

	snprintf(out, sizeof(out), "ERR");
	snprintf(sql, sizeof(sql), "SELECT exe FROM events_v WHERE seq = %llu", (unsigned long long)seq);
	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		return out;
	if (sqlite3_prepare_v2(h, sql, -1, &s, NULL) == SQLITE_OK) {
		if (sqlite3_step(s) == SQLITE_ROW)
			snprintf(out, sizeof(out), "%s",
				 sqlite3_column_text(s, 0) ? (const char *)sqlite3_column_text(s, 0) : "");
		sqlite3_finalize(s);
	}
	sqlite3_close(h);
	return out;
}

int main(void)
{
	static const struct dl_policy none = { .name = "" };
	struct dl_ingest in;
	struct dl_store *st;
	struct dl_record r;
	struct stat self, sl;
	char self_path[512];
	int64_t boot;
	ssize_t n;
	pid_t child;
	int pfd[2];

	if (tap_tmpdir(dir, sizeof(dir), "ingest"))
		return EXIT_FAILURE;
	snprintf(db, sizeof(db), "%s/i.db", dir);
	TAP_OK(dl_store_open(db, 0, &st) == 0, "store opens");
	TAP_OK(dl_store_boot(st, "test-boot", 0, &boot) == 0, "boot row");
	TAP_OK(dl_ingest_init(&in, st, &none, boot, 0, 0, 0, -1, -1, 16) == 0, "ingest init");
	stat("/proc/self/exe", &self);
	n = readlink("/proc/self/exe", self_path, sizeof(self_path) - 1);
	self_path[n > 0 ? n : 0] = 0;

	/* 1. the running process, its own inode: named */
	r = rec(1, getpid(), self.st_ino);
	dl_ingest_add(&in, &r, sizeof(r));
	/* 2. the running process, another inode (it exec'd since): no name */
	r = rec(2, getpid(), self.st_ino + 1);
	dl_ingest_add(&in, &r, sizeof(r));

	/* 3. a child that decided as this binary, then exec'd sleep */
	if (pipe(pfd) < 0 || stat("/bin/sleep", &sl) < 0)
		return EXIT_FAILURE;
	child = fork();
	if (child == 0) {
		close(pfd[0]);
		fcntl(pfd[1], F_SETFD, FD_CLOEXEC);
		execl("/bin/sleep", "sleep", "30", (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	{ char c; while (read(pfd[0], &c, 1) > 0) ; } /* EOF: the exec happened */
	close(pfd[0]);
	r = rec(3, child, self.st_ino);
	dl_ingest_add(&in, &r, sizeof(r));
	/* 4. the same child, a record made after its exec: named sleep */
	r = rec(4, child, sl.st_ino);
	dl_ingest_add(&in, &r, sizeof(r));
	/* 5. a pid nobody has: no name */
	r = rec(5, 0x3ffffff0, self.st_ino);
	dl_ingest_add(&in, &r, sizeof(r));

	TAP_OK(dl_ingest_commit(&in) == 5, "5 records stored");
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);

	TAP_OK(strcmp(exe_of(1), self_path) == 0, "own inode: executable named (%s)", exe_of(1));
	TAP_OK(strcmp(exe_of(2), "") == 0, "exec'd since the decision: no executable, not the new one (%s)",
	       exe_of(2));
	TAP_OK(strcmp(exe_of(3), "") == 0, "child exec'd sleep after deciding: not named sleep (%s)", exe_of(3));
	TAP_OK(strstr(exe_of(4), "sleep") != NULL, "child's record after its exec: named sleep (%s)", exe_of(4));
	TAP_OK(strcmp(exe_of(5), "") == 0, "unknown pid: no executable (%s)", exe_of(5));

	dl_ingest_fini(&in);
	dl_store_close(st);
	tap_tmpdir_remove(dir);
	return tap_done();
}
