/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * For unit tests that run a built binary (drylock-query): the binary's path,
 * the test's temp directory, and runv()/RUN() capturing stdout and stderr.
 * Included by one .c file per test executable.
 */
#ifndef DRYLOCK_RUNBIN_H
#define DRYLOCK_RUNBIN_H
#include <fcntl.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *bin;
static char dir[256];
static char out[1 << 20], err[8192];
static size_t out_len;

/* Run the binary with the given arguments (NULL-terminated); stdout into
 * out/out_len, stderr into err. Returns the exit status, or -1. */
static int runv(char *const *args)
{
	char of[300], ef[300];
	snprintf(of, sizeof(of), "%s/stdout", dir);
	snprintf(ef, sizeof(ef), "%s/stderr", dir);
	pid_t pid = fork();
	if (pid == 0) {
		int o = open(of, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int e = open(ef, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(o, 1);
		dup2(e, 2);
		char *argv[64] = { (char *)bin };
		for (int i = 0; args[i] && i < 62; i++)
			argv[i + 1] = args[i];
		execv(bin, argv);
		_exit(127);
	}
	int status;
	waitpid(pid, &status, 0);
	FILE *f = fopen(of, "rb");
	out_len = f ? fread(out, 1, sizeof(out) - 1, f) : 0;
	out[out_len] = 0;
	if (f)
		fclose(f);
	f = fopen(ef, "rb");
	size_t n = f ? fread(err, 1, sizeof(err) - 1, f) : 0;
	err[n] = 0;
	if (f)
		fclose(f);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

#define RUN(...) runv((char *const[]){ __VA_ARGS__, NULL })

#endif
