/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Log levels for the journal: drylock's stderr is a pipe standing in for
 * journald's stream; with JOURNAL_STREAM naming that pipe (its st_dev:st_ino,
 * as systemd sets it) error lines start with "<3>", without it, or when it
 * names another file (stderr redirected since), the lines are plain text.
 * Only commands that fail before touching the kernel are run: an unloaded
 * pin directory, an invalid policy, an invalid option value.
 *   test_journal DRYLOCK
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "tap.h"

static const char *bin;
static char err[8192];

enum stream { PLAIN, JOURNAL, OTHER };

/* Run drylock with args, stderr into err; JOURNAL_STREAM per how. Exit status. */
static int run(enum stream how, char *const *args)
{
	struct stat st, other;
	char env[64];
	int p[2], status;
	size_t n = 0;
	ssize_t r;
	pid_t pid;

	if (pipe(p) < 0 || fstat(p[1], &st) < 0 || stat("/", &other) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		char *argv[16] = { (char *)bin };

		for (int i = 0; args[i] && i < 14; i++)
			argv[i + 1] = args[i];
		unsetenv("JOURNAL_STREAM");
		if (how == JOURNAL)
			snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
				 (unsigned long long)st.st_ino);
		else
			snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)other.st_dev,
				 (unsigned long long)other.st_ino);
		if (how != PLAIN)
			setenv("JOURNAL_STREAM", env, 1);
		dup2(p[1], 2);
		close(p[0]);
		close(p[1]);
		execv(bin, argv);
		_exit(127);
	}
	close(p[1]);
	while (n < sizeof(err) - 1 && (r = read(p[0], err + n, sizeof(err) - 1 - n)) > 0)
		n += (size_t)r;
	err[n] = 0;
	close(p[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

#define RUN(how, ...) run(how, (char *const[]){ __VA_ARGS__, NULL })

/* Does every line of err start with prefix? */
static int every_line(const char *prefix)
{
	const char *l = err;

	if (!*l)
		return 0;
	for (; *l; l = strchr(l, '\n') + 1) {
		if (strncmp(l, prefix, strlen(prefix)))
			return 0;
		if (!strchr(l, '\n'))
			break;
	}
	return 1;
}

int main(int argc, char **argv)
{
	char dir[256], policy[300], pins[300];
	FILE *f;
	int rc;

	if (argc < 2)
		return fprintf(stderr, "usage: test_journal DRYLOCK\n"), 2;
	bin = argv[1];
	if (tap_tmpdir(dir, sizeof(dir), "journal"))
		return EXIT_FAILURE;
	snprintf(pins, sizeof(pins), "%s/no-pins", dir);
	snprintf(policy, sizeof(policy), "%s/bad.policy", dir);
	f = fopen(policy, "w");
	fputs("policy bad\nnet block x addr=10.0.0.1\nnet deny y addr=10.0.0.1/8\n", f);
	fclose(f);

	rc = RUN(JOURNAL, "mode", "enforce", "--pin-dir", pins);
	TAP_OK(rc == 1 && !strncmp(err, "<3>drylock: mode: nothing is loaded", 35),
	       "journal: an error starts with <3> (rc %d, '%.60s')", rc, err);
	rc = RUN(PLAIN, "mode", "enforce", "--pin-dir", pins);
	TAP_OK(rc == 1 && !strncmp(err, "drylock: mode: nothing is loaded", 32),
	       "no JOURNAL_STREAM: plain text (rc %d, '%.60s')", rc, err);
	rc = RUN(OTHER, "mode", "enforce", "--pin-dir", pins);
	TAP_OK(rc == 1 && !strncmp(err, "drylock: mode: nothing is loaded", 32),
	       "JOURNAL_STREAM of another file (stderr redirected): plain text ('%.60s')", err);

	rc = RUN(JOURNAL, "run", "--policy", policy, "--pin-dir", pins, "--db", "/nonexistent/x.db");
	TAP_OK(rc == 1 && every_line("<3>") && strstr(err, "bad.policy:2:5: error: invalid action"),
	       "journal: every policy error line of run starts with <3> (rc %d)", rc);
	if (!every_line("<3>"))
		printf("# stderr: %s\n", err);
	rc = RUN(PLAIN, "run", "--policy", policy, "--pin-dir", pins, "--db", "/nonexistent/x.db");
	TAP_OK(rc == 1 && !strchr(err, '<') && !strncmp(err, policy, strlen(policy)) &&
	       strstr(err, "bad.policy:3:"), "plain: the same lines without a prefix");

	rc = RUN(JOURNAL, "run", "--batch", "0", "--pin-dir", pins);
	TAP_OK(rc == 2 && !strncmp(err, "<3>drylock: run: --batch '0'", 28),
	       "journal: an invalid option value is an error, <3> (rc %d, '%.60s')", rc, err);

	tap_tmpdir_remove(dir);
	return tap_done();
}
