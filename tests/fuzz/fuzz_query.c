/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: drylock-query's filter options --since, --until, --dest
 * and --port, through the real option parsing in query/query.c's main().
 *
 * query.c is compiled into this file with main renamed and exit() turned into
 * a longjmp back here, so that every path main takes (die_usage on a bad
 * value, or on to opening the store) returns to the fuzzer. The store path is
 * one that does not exist: main gets past the options, fails to open it and
 * returns 1, so an exit status of 1 means every option was accepted.
 *
 * Input: up to four lines, the values of --since, --until, --dest and --port
 * in that order; an empty line leaves that option out. Checks, beyond no
 * crash, leak or undefined behaviour (a signed overflow aborts): main ends
 * with 1 (accepted) or 2 (usage error), and an accepted --port is a decimal
 * number 0..65535 and an accepted --dest an address with an optional /LEN of
 * digits only, within the family's length.
 *
 * To re-point (e.g. at collector/numparse.c when the numeric parsers move
 * there): the options are the table 'opts' below; a parser with an entry
 * point of its own can be called next to dlq_main with the same lines.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

static jmp_buf fuzz_exit_jmp;
static int fuzz_exit_status;

static void fuzz_exit(int status) __attribute__((noreturn));
static void fuzz_exit(int status)
{
	fuzz_exit_status = status;
	longjmp(fuzz_exit_jmp, 1);
}

#define exit fuzz_exit
#define main dlq_main
#include "query/query.c"
#undef main
#undef exit

static const char *const opts[] = { "--since", "--until", "--dest", "--port" };
#define N_OPTS (sizeof(opts) / sizeof(opts[0]))

static char db_path[PATH_MAX];
static FILE *devnull;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(db_path, sizeof(db_path), "%s/drylock-fuzz-query-no-such-dir/none.db",
		 tmp && *tmp ? tmp : "/tmp");
	devnull = fopen("/dev/null", "w");
	if (!devnull)
		abort();
	return 0;
}

static void fail(const char *what, const char *v) __attribute__((noreturn));
static void fail(const char *what, const char *v)
{
	fprintf(stderr, "fuzz-query: %s '%s' was accepted\n", what, v);
	abort();
}

static void check_port(const char *v)
{
	char *end;
	long long n;

	errno = 0;
	n = strtoll(v, &end, 10);
	if (!*v || *end || errno || n < 0 || n > 65535)
		fail("--port", v);
}

static void check_dest(const char *v)
{
	char addr[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(v, '/');
	size_t alen = slash ? (size_t)(slash - v) : strlen(v);
	unsigned char buf[16];
	long max, len = -1;

	if (alen >= sizeof(addr))
		fail("--dest", v);
	memcpy(addr, v, alen);
	addr[alen] = 0;
	if (inet_pton(AF_INET, addr, buf) == 1)
		max = 32;
	else if (inet_pton(AF_INET6, addr, buf) == 1)
		max = 128;
	else
		fail("--dest", v);
	if (slash) {
		const char *d = slash + 1;

		if (!*d || strspn(d, "0123456789") != strlen(d) || strlen(d) > 3)
			fail("--dest", v);
		len = strtol(d, NULL, 10);
	}
	if (len > max)
		fail("--dest", v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text, *line[N_OPTS] = { 0 }, *argv[4 + 2 * N_OPTS + 1];
	volatile int argc = 0, status;
	FILE *saved = stderr;

	if (size > 1024)
		return -1;
	text = malloc(size + 1);
	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = 0;
	argv[argc++] = "drylock-query";
	argv[argc++] = "--db";
	argv[argc++] = db_path;
	for (size_t i = 0, at = 0; i < N_OPTS && at <= size; i++) {
		char *nl = strchr(text + at, '\n');

		if (nl)
			*nl = 0;
		if (text[at]) {
			line[i] = text + at;
			argv[argc++] = (char *)opts[i];
			argv[argc++] = line[i];
		}
		if (!nl)
			break;
		at = (size_t)(nl - text) + 1;
	}
	argv[argc++] = "summary";
	argv[argc] = NULL;

	optind = 0;     /* glibc: start getopt afresh */
	stderr = devnull;
	if (setjmp(fuzz_exit_jmp) == 0)
		status = dlq_main(argc, argv);
	else
		status = fuzz_exit_status;
	stderr = saved;

	if (status != EXIT_FAILURE && status != EXIT_USAGE) {
		fprintf(stderr, "fuzz-query: drylock-query ended with %d\n", status);
		abort();
	}
	if (status == EXIT_FAILURE) {
		if (line[2])
			check_dest(line[2]);
		if (line[3])
			check_port(line[3]);
	}
	free(text);
	return 0;
}
