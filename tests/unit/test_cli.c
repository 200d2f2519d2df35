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
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "tap.h"

#include "runbin.h"

static const char *drylock, *query;

static bool has_ctl(const char *s)
{
	for (; *s; s++)
		if (((unsigned char)*s < 0x20 && *s != '\n') || *s == 0x7f)
			return true;
	return false;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

int main(int argc, char **argv)
{
	static const char *const subs[] = { "run", "validate", "check", "mode", "status",
					    "unload", "default-policy" };
	static const char *const qsubs[] = { "summary", "events", "top", "export", "ready",
					     "timeline", "denials", "suggest", "what-if" };
	char pin[400], pin_eq[420], policy[400], nopolicy[400], usage[64];
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

	/* --help on every subcommand: usage on stdout, exit 0, nothing else. */
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		snprintf(usage, sizeof(usage), "Usage: drylock %s", subs[i]);
		r = RUN("--pin-dir", pin, (char *)subs[i], "--help");
		TAP_OK(r == 0 && strstr(out, usage) && !err[0], "drylock %s --help: exit 0, usage (exit %d, %.200s%.200s)",
		       subs[i], r, out, err);
		r = RUN("--pin-dir", pin, (char *)subs[i], "-h");
		TAP_OK(r == 0 && strstr(out, usage), "drylock %s -h: exit 0 (%d)", subs[i], r);
		r = RUN("--pin-dir", pin, (char *)subs[i], "--bogus-option");
		TAP_OK(r == 2 && !out[0] && strstr(err, "bogus-option"),
		       "drylock %s --bogus-option: exit 2, message on stderr (exit %d, %.200s)", subs[i], r, err);
		r = RUN("--pin-dir", pin, (char *)subs[i], "--version");
		TAP_OK(r == 0 && strstr(out, "drylock ") && strstr(out, "ABI"),
		       "drylock %s --version: exit 0 (%d)", subs[i], r);
	}
	TAP_OK(access(pin, F_OK) != 0, "no pin directory was created by --help");
	TAP_OK(RUN("--help") == 0 && strstr(out, "Usage: drylock") && strstr(out, "Commands"), "drylock --help");
	TAP_OK(RUN("--version") == 0 && strstr(out, "drylock "), "drylock --version");
	TAP_OK(RUN("help") == 0 && strstr(out, "Commands"), "drylock help");
	TAP_OK(RUN("help", "status") == 0 && strstr(out, "Usage: drylock status"), "drylock help status");
	TAP_OK(RUN("help", "--help") == 0 && strstr(out, "Commands") && !err[0], "drylock help --help: usage, exit 0");
	TAP_OK(RUN("--bogus") == 2 && !out[0] && err[0], "drylock --bogus: exit 2");
	TAP_OK(RUN("frobnicate") == 2 && strstr(err, "frobnicate"), "unknown command: exit 2");
	TAP_OK(runv((char *const[]){ NULL }) == 2 && err[0], "no command: exit 2, usage on stderr");

	/* status: unknown options, --pin-dir in every position. */
	r = RUN("status", "--jsn", "--pin-dir", pin);
	TAP_OK(r == 2 && strstr(err, "jsn") && !out[0], "status --jsn: exit 2 (%d, %s)", r, err);
	r = RUN("status", "extra", "--pin-dir", pin);
	TAP_OK(r == 2, "status with an argument: exit 2 (%d)", r);
	r = RUN("--pin-dir", pin, "status");
	TAP_OK(r == 1 && strstr(out, "not loaded") && strstr(out, pin), "--pin-dir DIR status (%d, %s)", r, out);
	r = RUN(pin_eq, "status");
	TAP_OK(r == 1 && strstr(out, pin), "--pin-dir=DIR status (%d, %s)", r, out);
	r = RUN("status", "--pin-dir", pin);
	TAP_OK(r == 1 && strstr(out, pin), "status --pin-dir DIR (%d, %s)", r, out);
	r = RUN("status", pin_eq);
	TAP_OK(r == 1 && strstr(out, pin), "status --pin-dir=DIR (%d, %s)", r, out);
	r = RUN("status", "--json", pin_eq);
	TAP_OK(r == 1 && strstr(out, "\"loaded\":false"), "status --json --pin-dir=DIR (%d, %s)", r, out);
	{
		char odd[500], odd_eq[520];

		snprintf(odd, sizeof(odd), "%s/q\"b\\s\x1b[2J\xe2\x80\xae", dir);
		snprintf(odd_eq, sizeof(odd_eq), "--pin-dir=%s", odd);
		r = RUN("status", "--json", odd_eq);
		TAP_OK(r == 1 && strstr(out, "q\\\"b\\\\s\\u001b[2J\xe2\x80\xae\"") && !has_ctl(out),
		       "status --json escapes the pin directory (%s)", out);
		r = RUN("status", odd_eq);
		TAP_OK(r == 1 && strstr(out, "\\x1b[2J\\u202e") && !has_ctl(out) && !strstr(out, "\xe2\x80\xae"),
		       "status escapes control and bidi characters of the pin directory (%s)", out);
	}
	r = RUN("mode", "--pin-dir", pin);
	TAP_OK(r == 1 && strstr(err, pin), "mode --pin-dir DIR after the command (%d, %s)", r, err);
	r = RUN("mode", pin_eq, "enforce", "--family", "net");
	TAP_OK(r == 1 && strstr(err, pin), "mode --pin-dir=DIR enforce --family net (%d, %s)", r, err);
	r = RUN("mode", pin_eq, "enforce", "--family=nope");
	TAP_OK(r == 2 && strstr(err, "nope"), "mode --family=nope: exit 2 (%d, %s)", r, err);
	r = RUN("mode", pin_eq, "sideways");
	TAP_OK(r == 2 && strstr(err, "sideways"), "mode sideways: exit 2 (%d)", r);
	r = RUN("mode", pin_eq, "enforce", "permissive");
	TAP_OK(r == 2, "mode with two modes: exit 2 (%d)", r);
	r = RUN("check", "extra");
	TAP_OK(r == 2, "check with an argument: exit 2 (%d)", r);
	r = RUN("default-policy");
	TAP_OK(r == 0 && strstr(out, "policy drylock-default"), "default-policy prints the policy");
	r = RUN("validate");
	TAP_OK(r == 2 && strstr(err, "policy file"), "validate without a file: exit 2 (%d)", r);

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
		snprintf(policy, sizeof(policy), "--ringbuf-size=%s", "4294967296");
		r = RUN("run", pin_eq, "--policy", nopolicy, policy);
		TAP_OK(r == 2 && strstr(err, "--ringbuf-size"), "run --ringbuf-size=4294967296: exit 2 (%d)", r);
		r = RUN("run", "--pin-dir", pin, "--policy", nopolicy, "extra");
		TAP_OK(r == 2 && strstr(err, "extra"), "run with an argument: exit 2 (%d)", r);
	}

	/* validate prints no control bytes from a policy file. */
	snprintf(policy, sizeof(policy), "%s/evil\x1b[1m.policy", dir);
	write_file(policy, "policy ev\x1b[2Jil\n"
			   "net deny r1 addr=1.2.3.4\x1b]0;pwned\x07 op=connect\n"
			   "net deny r2\xe2\x80\xae addr=1.2.3.5 op=connect\n"
			   "net deny r3 addr=1.2.3.6 op=conn\xc2\x9b" "ect\n");
	r = RUN("validate", policy);
	TAP_OK(r == 1 && err[0] && !has_ctl(err) && !strstr(err, "\xe2\x80\xae") && !strstr(err, "\xc2\x9b"),
	       "validate: no raw control, C1 or bidi characters in diagnostics (%d)", r);
	TAP_OK(strstr(err, "\\x1b") != NULL, "validate: ESC shown as \\x1b");
	for (char *l = strtok(err, "\n"); l; l = strtok(NULL, "\n"))
		printf("# %s\n", l); /* each diagnostic line as a TAP comment */
	snprintf(policy, sizeof(policy), "%s/ok.policy", dir);
	write_file(policy, "policy ok\nnet deny r1 addr=1.2.3.4 op=connect\n");
	r = RUN("validate", policy);
	TAP_OK(r == 0 && strstr(out, "ok: policy ok"), "validate of a good policy: exit 0 (%d, %s%s)", r, out, err);
	r = RUN("validate", "--", policy);
	TAP_OK(r == 0 && strstr(out, "ok: policy ok"), "validate -- FILE (%d)", r);

	/* drylock-query: every subcommand's --help exits 0 without opening a
	 * database; unknown options exit 2. */
	bin = query;
	for (size_t i = 0; i < sizeof(qsubs) / sizeof(qsubs[0]); i++) {
		r = RUN("--db", nopolicy, (char *)qsubs[i], "--help");
		TAP_OK(r == 0 && strstr(out, "Usage: drylock-query") && !err[0],
		       "drylock-query %s --help: exit 0 (%d, %.200s)", qsubs[i], r, err);
		r = RUN("--db", nopolicy, (char *)qsubs[i], "--bogus-option");
		TAP_OK(r == 2 && !out[0] && strstr(err, "bogus-option"),
		       "drylock-query %s --bogus-option: exit 2 (%d, %.200s)", qsubs[i], r, err);
	}
	TAP_OK(access(nopolicy, F_OK) != 0, "no database was created by --help");

	tap_tmpdir_remove(dir);
	return tap_done();
}
