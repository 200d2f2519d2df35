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
 * decimal digits only (leading zeros allowed), within the family's length.
 *
 * Each line is also given to the shared parsers of collector/numparse.c
 * (dl_parse_uint, dl_parse_duration_ns, dl_parse_size, which drylock's
 * --max-age, --max-db-size, --ringbuf-size and the query options use), and
 * the result is compared with a model of numparse.h's contract, both ways:
 * the same verdict (0, -EINVAL for the form, -ERANGE for the value) and the
 * same number.
 *
 * To re-point: the options are the table 'opts' below; the numeric parsers
 * are check_numparse().
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
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

#include "collector/numparse.h"

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

/* ---- model of numparse.h ---- */

/* Leading decimal digits: how many, and their value (saturated: *big is set
 * when it does not fit in 64 bits). */
static size_t model_digits(const char *s, uint64_t *v, bool *big)
{
	size_t n = 0;

	*v = 0;
	*big = false;
	for (; s[n] >= '0' && s[n] <= '9'; n++) {
		unsigned __int128 x = (unsigned __int128)*v * 10 + (unsigned)(s[n] - '0');

		if (x > UINT64_MAX)
			*big = true;
		else
			*v = (uint64_t)x;
	}
	return n;
}

static int model_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v;
	bool big;
	size_t n = model_digits(s, &v, &big);

	if (!n || s[n])
		return -EINVAL;
	if (big || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

static int model_duration(const char *s, int64_t *ns)
{
	static const char units[] = "smhdw";
	static const uint64_t secs[] = { 1, 60, 3600, 86400, 604800 };
	uint64_t v;
	bool big;
	size_t n = model_digits(s, &v, &big);
	const char *u;
	unsigned __int128 x;

	if (!n || !s[n] || s[n + 1] || !(u = strchr(units, s[n])))
		return -EINVAL;
	x = (unsigned __int128)v * secs[u - units] * 1000000000u;
	if (big || v == 0 || x > INT64_MAX)
		return -ERANGE;
	*ns = (int64_t)x;
	return 0;
}

static int model_size(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	static const char units[] = "KMGT";
	uint64_t v;
	bool big;
	size_t n = model_digits(s, &v, &big);
	unsigned __int128 x = 0;
	const char *u = NULL;

	if (!n || (s[n] && (s[n + 1] || !(u = strchr(units, s[n])))))
		return -EINVAL;
	x = (unsigned __int128)v << (u ? 10 * (u - units + 1) : 0);
	if (big || x > UINT64_MAX || x < min || x > max)
		return -ERANGE;
	*out = (uint64_t)x;
	return 0;
}

static void numparse_differs(const char *fn, const char *s, int got, int want)
{
	fprintf(stderr, "fuzz-query: %s(\"%s\") returned %d, the contract says %d\n", fn, s, got, want);
	abort();
}

static void check_numparse(const char *s)
{
	static const uint64_t ranges[][2] = { { 0, UINT64_MAX }, { 1, 65535 }, { 4096, UINT64_C(1) << 32 } };
	uint64_t got, want;
	int64_t gns, wns;
	int r, m;

	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		got = want = 0;
		r = dl_parse_uint(s, ranges[i][0], ranges[i][1], &got);
		m = model_uint(s, ranges[i][0], ranges[i][1], &want);
		if (r != m || (!r && got != want))
			numparse_differs("dl_parse_uint", s, r, m);
		got = want = 0;
		r = dl_parse_size(s, ranges[i][0], ranges[i][1], &got);
		m = model_size(s, ranges[i][0], ranges[i][1], &want);
		if (r != m || (!r && got != want))
			numparse_differs("dl_parse_size", s, r, m);
	}
	gns = wns = 0;
	r = dl_parse_duration_ns(s, &gns);
	m = model_duration(s, &wns);
	if (r != m || (!r && gns != wns))
		numparse_differs("dl_parse_duration_ns", s, r, m);
}

static void fail(const char *what, const char *v) __attribute__((noreturn));
static void fail(const char *what, const char *v)
{
	fprintf(stderr, "fuzz-query: %s '%s' was accepted\n", what, v);
	abort();
}

static void check_port(const char *v)
{
	uint64_t port;

	if (model_uint(v, 0, 65535, &port) < 0)
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

		uint64_t l;

		/* digits only; leading zeros are decimal (numparse.h) */
		if (model_uint(d, 0, (uint64_t)max, &l) < 0)
			fail("--dest", v);
		len = (long)l;
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
	for (size_t i = 0; i < N_OPTS; i++)
		if (line[i])
			check_numparse(line[i]);
	if (status == EXIT_FAILURE) {
		if (line[2])
			check_dest(line[2]);
		if (line[3])
			check_port(line[3]);
	}
	free(text);
	return 0;
}
