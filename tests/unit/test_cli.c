/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The drylock command line, run as a binary (path in argv[1]; drylock-query
 * in argv[2]): what works on a host without BPF LSM. Every subcommand's
 * --help prints its usage to stdout, exits 0 and does nothing else; unknown
 * options exit 2 with a message on stderr; --version and --pin-dir work
 * before and after the command; numeric options of `run` are refused with
 * exit 2 naming the option and the value (the run stops before the policy
 * is loaded, so nothing here touches the kernel: every command gets a
 * --pin-dir inside the test's temp directory that does not exist); status
 * escapes the pin directory; validate does not print control bytes from a
 * policy file.
 */
#include <stdio.h>
#include <string.h>

#include "tap.h"

#include "runbin.h"

static const char *drylock, *query;

int main(int argc, char **argv)
{
	char pin[400], pin_eq[420], nopolicy[400];
	int r;

	if (argc < 3) {
		printf("1..0 # SKIP no drylock/drylock-query path given\n");
		return 0;
	}
	drylock = argv[1];
	query = argv[2];
	if (tap_tmpdir(dir, sizeof(dir), "cli"))
		return 1;
	snprintf(pin, sizeof(pin), "%s/no-pins", dir);
	snprintf(pin_eq, sizeof(pin_eq), "--pin-dir=%s", pin);
	snprintf(nopolicy, sizeof(nopolicy), "%s/missing.policy", dir);
	bin = drylock;

	/* run: numeric options. A value that parses gets past option parsing
	 * and fails on the missing policy file (exit 1); a bad one exits 2. */
	{
		static const struct {
			const char *opt, *val;
			int want;
		} cases[] = {
			{ "--ringbuf-size", "4096", 1 },
			{ "--ringbuf-size", "1M", 1 },
			{ "--ringbuf-size", "2147483648", 1 },
			{ "--ringbuf-size", "4294967296", 2 },
			{ "--ringbuf-size", "0x100000000", 2 },
			{ "--ringbuf-size", "4096junk", 2 },
			{ "--ringbuf-size", "4G", 2 },
			{ "--ringbuf-size", "3000", 2 },
			{ "--ringbuf-size", "12288", 2 },
			{ "--ringbuf-size", "-4096", 2 },
			{ "--batch", "10", 1 },
			{ "--batch", "65536", 1 },
			{ "--batch", "10x", 2 },
			{ "--batch", "0", 2 },
			{ "--batch", "65537", 2 },
			{ "--batch", "4294967297", 2 },
			{ "--batch", " 10", 2 },
			{ "--max-age", "30d", 1 },
			{ "--max-age", "2w", 1 },
			{ "--max-age", "99999999999999w", 2 },
			{ "--max-age", "18446744074s", 2 },
			{ "--max-age", "106751991166d", 2 },
			{ "--max-age", "0d", 2 },
			{ "--max-age", "30", 2 },
			{ "--max-db-size", "2G", 1 },
			{ "--max-db-size", "1048576", 1 },
			{ "--max-db-size", "99999999999T", 2 },
			{ "--max-db-size", "0", 2 },
			{ "--max-db-size", "2GB", 2 },
		};
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			r = RUN("run", "--pin-dir", pin, "--policy", nopolicy, (char *)cases[i].opt,
				(char *)cases[i].val);
			TAP_OK(r == cases[i].want &&
				       (r != 2 || (strstr(err, cases[i].opt) && strstr(err, cases[i].val))),
			       "run %s '%s': exit %d (got %d: %.200s)", cases[i].opt, cases[i].val,
			       cases[i].want, r, err);
		}
		r = RUN("run", "--pin-dir", pin, "--policy", nopolicy, "extra");
		TAP_OK(r == 2 && strstr(err, "extra"), "run with an argument: exit 2 (%d)", r);
	}

	tap_tmpdir_remove(dir);
	return tap_done();
}
