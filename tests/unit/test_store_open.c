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
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/store.h"
#include "tap.h"

static char dir[256];

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

int main(void)
{
	if (tap_tmpdir(dir, sizeof(dir), "open") < 0)
		return EXIT_FAILURE;
	test_modes();
	tap_tmpdir_remove(dir);
	return tap_done();
}
