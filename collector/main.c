/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * drylock: the collector daemon and its control commands.
 *
 *   drylock run       load + attach + pin the policy, then drain decisions into
 *                     SQLite and the audit log until SIGTERM (programs stay
 *                     attached afterwards: enforcement outlives the process)
 *   drylock validate  check policy files, change nothing
 *   drylock check     can BPF LSM programs run on this host?
 *   drylock mode      show or switch permissive/enforce at runtime (audited)
 *   drylock status    what is loaded, modes, counters
 *   drylock unload    detach everything (remove the pins)
 *   drylock lock      make the engine final until reboot (family self)
 *
 * Modules: loader.c (kernel side), collect.c (drain loop), ringread.c (ring
 * buffer read in place), audit.c (audit thread), policy.c / auditfmt.c (pure
 * logic), store/ (SQLite).
 * Exit codes: 0 success, 1 failure, 2 usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <syslog.h>
#include <unistd.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <libaudit.h>

#include "collector.h"
#include "auditfmt.h"
#include "escape.h"
#include "names.h"
#include "numparse.h"
#include "rulemode.h"

#ifndef DL_VERSION
#define DL_VERSION "0.1.0"
#endif

/* Used by `drylock run` without --policy when DL_POLICY_DEFAULT does not exist. */
const char dl_default_policy[] =
	"# drylock's built-in default policy: egress nobody on a server should need.\n"
	"policy drylock-default\n"
	"# Cloud instance metadata: the classic SSRF and credential-theft target.\n"
	"net deny metadata-v4 addr=169.254.169.254/32 op=connect\n"
	"net deny metadata-v6 addr=fd00:ec2::254/128 op=connect\n"
	"# Direct SMTP from arbitrary processes is how compromised hosts send spam.\n"
	"net deny smtp-out addr=any port=25 proto=tcp op=connect\n"
	"# Cleartext remote shells.\n"
	"net deny telnet-out addr=any port=23 proto=tcp op=connect\n";

/* Is stderr the journal? systemd sets JOURNAL_STREAM=<dev>:<ino> of the
 * stream it connects to stderr (and stdout); a process whose stderr was
 * redirected since (or that inherited the variable) must not match. */
static bool stderr_is_journal(void)
{
	static int cached = -1;
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (cached < 0)
		cached = e && sscanf(e, "%llu:%llu", &dev, &ino) == 2 &&
			 fstat(STDERR_FILENO, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
	return cached;
}

/* One line, written with one call (the audit thread logs too). On the
 * journal it starts with the sd-daemon(3) level prefix, "<3>" for LOG_ERR. */
void dl_log_level(int level, const char *fmt, ...)
{
	char msg[8192]; /* a message names at most a few paths */
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (stderr_is_journal())
		fprintf(stderr, "<%d>drylock: %s\n", level, msg);
	else
		fprintf(stderr, "drylock: %s\n", msg);
}

/* Errors in a policy (file:line:col lines): on the journal, at LOG_ERR. */
static void print_diags(const struct dl_diags *d)
{
	char *buf = NULL, *line, *save = NULL;
	size_t len = 0;
	FILE *f;

	if (!stderr_is_journal() || !(f = open_memstream(&buf, &len))) {
		dl_diags_print(d, stderr);
		return;
	}
	dl_diags_print(d, f);
	fclose(f);
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		fprintf(stderr, "<%d>%s\n", LOG_ERR, line);
	free(buf);
}

int64_t dl_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t dl_boot_wall_ns(void)
{
	struct timespec rt, bt;

	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_BOOTTIME, &bt);
	return ((int64_t)rt.tv_sec - bt.tv_sec) * 1000000000LL + (rt.tv_nsec - bt.tv_nsec);
}

int dl_boot_id(char out[64])
{
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");

	snprintf(out, 64, "unknown");
	if (!f)
		return -errno;
	if (fgets(out, 64, f))
		out[strcspn(out, "\n")] = 0;
	fclose(f);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: drylock [OPTIONS] COMMAND [ARGS]\n"
		"\n"
		"Commands:\n"
		"  run [--policy FILE] [--db PATH] [--enforce|--permissive] [--no-audit]\n"
		"      [--ready-file PATH] [--ringbuf-size BYTES] [--batch N] [--sync-full]\n"
		"      [--max-age 30d] [--max-db-size 2G]\n"
		"                       load the policy and collect decisions until SIGTERM\n"
		"  validate FILE...     check policy files; errors as file:line:col\n"
		"  check [--json] [--db PATH]\n"
		"                       every prerequisite of BPF LSM, yes or no and the fix\n"
		"  mode [permissive|enforce] [--family F | --rule ID]\n"
		"                       show, or switch a family or one rule at runtime (audited)\n"
		"  status [--json]      what is loaded, modes and counters\n"
		"  unload [--db PATH] [--discard-pending] [--yes]\n"
		"                       stop the collector, store pending decisions, detach\n"
		"                       every program and remove the pins\n"
		"  lock                 make the loaded engine final until reboot (needs a\n"
		"                       self rule; see `drylock lock --help`)\n"
		"  default-policy       print the built-in default policy\n"
		"  help [COMMAND]       this help, or COMMAND's (as COMMAND --help)\n"
		"\n"
		"Options (before or after the command):\n"
		"  --pin-dir DIR        bpffs directory (default %s)\n"
		"  -h, --help           this help; after a command, that command's help\n"
		"  -V, --version        version\n"
		"\n"
		"Environment:\n"
		"  BPF_LSM_POLICY_ENFORCE=1   start `run` in enforce mode (as --enforce)\n"
		"\n"
		"Defaults: policy %s if it exists, else the built-in one\n"
		"(`drylock default-policy`); database %s.\n"
		"\n"
		"Examples:\n"
		"  drylock validate /etc/drylock/drylock.policy\n"
		"  drylock run --policy /etc/drylock/drylock.policy\n"
		"  drylock mode enforce\n"
		"  drylock-query summary --since 24h\n",
		DL_PIN_DIR_DEFAULT, DL_POLICY_DEFAULT, DL_DB_DEFAULT);
}

/* ---- command line ------------------------------------------------------
 *
 * Every command parses its own options with getopt_long, as drylock-query
 * does. The options every command takes (--pin-dir DIR or --pin-dir=DIR,
 * -h/--help, -V/--version) may come before or after the command; --help
 * prints that command's usage on stdout and exits 0 without doing anything
 * else; an unknown option or a surplus argument is a usage error (exit 2,
 * message on stderr). argv[0] is "drylock COMMAND" while a command parses,
 * so getopt's own messages name it.
 */
static const char *pin_dir = DL_PIN_DIR_DEFAULT;

#define COMMON_SHORT "hV"
#define COMMON_LONG                                             \
	{ "pin-dir", required_argument, NULL, 'D' },            \
	{ "help", no_argument, NULL, 'h' },                     \
	{ "version", no_argument, NULL, 'V' }

static const struct {
	const char *name, *text;
} cmd_help[] = {
	{ "run",
	  "Usage: drylock run [OPTIONS]\n"
	  "\n"
	  "Load the policy, attach and pin its programs, and collect decisions into\n"
	  "the database and the audit log until SIGTERM or SIGINT. The programs stay\n"
	  "attached when it exits (`drylock unload` detaches them).\n"
	  "\n"
	  "Options:\n"
	  "  -p, --policy FILE        policy file (default " DL_POLICY_DEFAULT "\n"
	  "                           if it exists, else the built-in one)\n"
	  "  -d, --db PATH            database (default " DL_DB_DEFAULT ")\n"
	  "      --enforce            start in enforce mode (as BPF_LSM_POLICY_ENFORCE=1)\n"
	  "      --permissive         start in permissive mode\n"
	  "      --no-audit           write no audit records\n"
	  "      --ready-file PATH    create PATH once collecting\n"
	  "      --ringbuf-size SIZE  ring buffer: a power of two from 4096 to 2G, in\n"
	  "                           bytes or with K, M, G (default 4M)\n"
	  "      --batch N            records per transaction, 1 to 65536 (1024); up to 4x while busy\n"
	  "      --sync-full          SQLite synchronous=FULL (durable on power loss)\n"
	  "      --exit-when-idle     drain once and exit (tests, demos)\n"
	  "      --max-age DURATION   delete events older than this: 90m, 12h, 30d, 2w\n"
	  "      --max-db-size SIZE   keep the database under this: 500M, 2G\n"
	  "\n"
	  "Examples:\n"
	  "  drylock run --policy /etc/drylock/drylock.policy --max-age 30d\n"
	  "  drylock run --permissive --ringbuf-size 1M --max-db-size 2G\n" },
	{ "validate",
	  "Usage: drylock validate [OPTIONS] FILE...\n"
	  "\n"
	  "Check policy files (parse and compile), change nothing. Errors are\n"
	  "printed as file:line:col; exit 0 if every file is valid, else 1.\n" },
	{ "check",
	  "Usage: drylock check [OPTIONS]\n"
	  "\n"
	  "Can BPF LSM programs run on this host? Lists every prerequisite with\n"
	  "yes or no and, for each no, the fix: CONFIG_BPF_LSM, securityfs, bpf in\n"
	  "the active LSM list (with the lsm= line for the boot loader), bpffs,\n"
	  "BTF and the LSM hooks in it, memlock, the audit daemon, the database\n"
	  "directory, and last a real load of a program that allows everything.\n"
	  "Exit 0 when every required check says yes, else 1.\n"
	  "\n"
	  "Options:\n"
	  "      --json               one JSON object\n"
	  "      --db PATH            the database `run` will use (default " DL_DB_DEFAULT ")\n"
	  "\n"
	  "Examples:\n"
	  "  drylock check\n"
	  "  drylock check --json --db /srv/drylock/drylock.db\n" },
	{ "mode",
	  "Usage: drylock mode [OPTIONS] [permissive|enforce]\n"
	  "\n"
	  "Without an argument, print each family's mode and the rules whose own\n"
	  "mode differs from their family's; with one, switch at runtime, without\n"
	  "a reload (audited as op=setenforce, with rule=ID for one rule). A rule's\n"
	  "own mode (policy key mode=, or --rule) wins over its family's: switching\n"
	  "a family keeps it. A runtime switch of a rule lasts until the policy\n"
	  "changes: a restart with the same policy keeps it, a reload with another\n"
	  "policy takes the file's modes (and logs the switches it drops).\n"
	  "A locked engine (`drylock lock`) keeps its modes until reboot: switching\n"
	  "is refused.\n"
	  "\n"
	  "Options:\n"
	  "      --family F           only this family (net, kvm, self)\n"
	  "      --rule ID            only this rule (the id reports show); the mode\n"
	  "                           may also be `family`: follow its family again\n"
	  "\n"
	  "Examples:\n"
	  "  drylock mode\n"
	  "  drylock mode enforce --family net\n"
	  "  drylock-query ready --rule smtp-out && drylock mode enforce --rule smtp-out\n" },
	{ "status",
	  "Usage: drylock status [OPTIONS]\n"
	  "\n"
	  "What is loaded: generation, modes, the rules whose own mode differs from\n"
	  "their family's, each rule's decisions in this generation, last sequence\n"
	  "number, kernel drops, unmatched operations.\n"
	  "Exit 1 if nothing is loaded.\n"
	  "\n"
	  "Options:\n"
	  "      --json               one JSON object\n" },
	{ "lock",
	  "Usage: drylock lock [OPTIONS]\n"
	  "\n"
	  "Make the loaded engine final until reboot (family self). The policy\n"
	  "must have a self rule (`self deny <id>`). After the lock, in enforce\n"
	  "mode: the pins under the pin directory cannot be removed or renamed,\n"
	  "their bpffs cannot be unmounted, no BPF LSM program can be loaded, no\n"
	  "BPF link can be detached or updated, dl_config and the rule maps cannot\n"
	  "be opened for writing, and `mode` and `unload` refuse. In permissive\n"
	  "mode the same attempts succeed and are recorded as would-deny. The\n"
	  "collector can still be restarted: it reuses the pinned engine.\n"
	  "Audited as USER_MAC_CONFIG_CHANGE op=lock. Locking a locked engine\n"
	  "changes nothing. Exit 0 when the engine is locked, else 1.\n"
	  "\n"
	  "Examples:\n"
	  "  drylock lock\n"
	  "  drylock --pin-dir /sys/fs/bpf/drylock lock\n" },
	{ "default-policy",
	  "Usage: drylock default-policy [OPTIONS]\n"
	  "\n"
	  "Print the built-in default policy (used by `run` without --policy when\n"
	  DL_POLICY_DEFAULT " does not exist).\n" },
};

/* Print COMMAND's usage to f; -ENOENT if there is no such command. */
static int cmd_usage(const char *cmd, FILE *f)
{
	for (size_t i = 0; i < sizeof(cmd_help) / sizeof(cmd_help[0]); i++) {
		if (strcmp(cmd, cmd_help[i].name))
			continue;
		fputs(cmd_help[i].text, f);
		fprintf(f, "%s"
			"      --pin-dir DIR        bpffs directory (default %s)\n"
			"  -h, --help               this help\n"
			"  -V, --version            version\n",
			strstr(cmd_help[i].text, "\nOptions:\n") ? "\nCommon options:\n" : "\nOptions:\n",
			DL_PIN_DIR_DEFAULT);
		return 0;
	}
	return -ENOENT;
}

/* An option every command takes, or one getopt refused ('?', it said why).
 * Returns -1 to go on (--pin-dir was stored), else the exit status. */
static int common_opt(const char *cmd, int c)
{
	switch (c) {
	case 'D':
		pin_dir = optarg;
		return -1;
	case 'h':
		cmd_usage(cmd, stdout);
		return EXIT_SUCCESS;
	case 'V':
		printf("drylock %s (record ABI %d)\n", DL_VERSION, DL_ABI_VERSION);
		return EXIT_SUCCESS;
	default:
		fprintf(stderr, "Try 'drylock %s --help'.\n", cmd);
		return 2;
	}
}

/* For a command with only the common options and at most max_args
 * arguments (from argv[optind] on). Returns -1 to go on, else the exit
 * status. */
static int plain_opts(const char *cmd, int argc, char **argv, int max_args)
{
	static const struct option opts[] = { COMMON_LONG, { 0 } };
	int c, r;

	optind = 0;
	while ((c = getopt_long(argc, argv, COMMON_SHORT, opts, NULL)) != -1)
		if ((r = common_opt(cmd, c)) >= 0)
			return r;
	if (max_args >= 0 && argc - optind > max_args) {
		dl_log("%s: unexpected argument '%s'", cmd, argv[optind + max_args]);
		fprintf(stderr, "Try 'drylock %s --help'.\n", cmd);
		return 2;
	}
	return -1;
}

/* unload parses its own options (unload.c); the common ones that may
 * follow the command (--pin-dir DIR, --pin-dir=DIR, -V/--version) are taken
 * out of argv here first. Returns -1 to go on, else the exit status. */
static int unload_common_opts(int *argc, char **argv)
{
	for (int i = 1; i < *argc; i++) {
		int n = 0;

		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "-V") || !strcmp(argv[i], "--version"))
			return common_opt("unload", 'V');
		if (!strcmp(argv[i], "--pin-dir") && i + 1 < *argc)
			pin_dir = argv[i + 1], n = 2;
		else if (!strncmp(argv[i], "--pin-dir=", 10))
			pin_dir = argv[i] + 10, n = 1;
		if (n) {
			memmove(&argv[i], &argv[i + n], (size_t)(*argc - i - n + 1) * sizeof(*argv));
			*argc -= n;
			i--;
		}
	}
	return -1;
}

static int load_policy(const char *path, struct dl_policy **p)
{
	struct dl_diags d = { 0 };
	int err;

	if (path)
		err = dl_policy_parse_file(path, p, &d);
	else if (access(DL_POLICY_DEFAULT, F_OK) == 0)
		err = dl_policy_parse_file(DL_POLICY_DEFAULT, p, &d);
	else
		err = dl_policy_parse_string("<built-in default policy>", dl_default_policy, p, &d);
	if (err) {
		print_diags(&d);
		if (!d.n)
			dl_err("policy %s: %s", path ? path : DL_POLICY_DEFAULT, strerror(-err));
	}
	dl_diags_free(&d);
	return err;
}

static int cmd_validate(int argc, char **argv)
{
	int bad = 0, r;

	if ((r = plain_opts("validate", argc, argv, -1)) >= 0)
		return r;
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		dl_log("validate: a policy file is required");
		return 2;
	}
	for (int i = 0; i < argc; i++) {
		struct dl_policy *p = NULL;
		struct dl_diags d = { 0 };
		int err = dl_policy_parse_file(argv[i], &p, &d);

		if (!err) {
			struct dl_compiled cp;

			/* Also compile: cgroups must exist and each family's limits hold. */
			err = dl_policy_compile(p, dl_cgroup_resolve_fs, (void *)"/sys/fs/cgroup", &cp, &d);
			if (!err)
				dl_compiled_free(&cp);
		}
		if (err) {
			dl_diags_print(&d, stderr);
			if (!d.n) {
				dl_term_str(stderr, argv[i], strlen(argv[i]));
				fprintf(stderr, ": error: %s\n", strerror(-err));
			}
			bad = 1;
		} else {
			dl_term_str(stdout, argv[i], strlen(argv[i]));
			fputs(": ok: policy ", stdout);
			dl_term_str(stdout, p->name, strlen(p->name));
			printf(", %zu rules, sha256 %s\n", p->n_rules, p->sha256);
		}
		dl_diags_free(&d);
		dl_policy_free(p);
	}
	return bad ? EXIT_FAILURE : EXIT_SUCCESS;
}

static int cmd_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "db", required_argument, NULL, 'd' },
		COMMON_LONG,
		{ 0 }
	};
	const char *db = DL_DB_DEFAULT;
	bool json = false;
	int c, r;

	optind = 0;
	while ((c = getopt_long(argc, argv, COMMON_SHORT, opts, NULL)) != -1) {
		if (c == 'j')
			json = true;
		else if (c == 'd')
			db = optarg;
		else if ((r = common_opt("check", c)) >= 0)
			return r;
	}
	if (optind < argc) {
		dl_log("check: unexpected argument '%s'", argv[optind]);
		fprintf(stderr, "Try 'drylock check --help'.\n");
		return 2;
	}
	return dl_doctor(pin_dir, db, json);
}

/* Print the rules of the deciding generation whose own mode differs from
 * their family's (`drylock mode`, `drylock status`): one line each, or
 * (json) a JSON array. Nothing to list (or no dl_rule_mode): nothing
 * printed, or "[]". */
static void print_rule_modes(const struct dl_pinned *pin, const struct dl_config *cfg, bool json)
{
	struct dl_rule_mode *half = calloc(DL_MAX_RULES, sizeof(*half));
	bool first = true;

	if (json)
		fputs("[", stdout);
	if (half && dl_rule_modes_read(pin, cfg->policy_gen, half) == 0) {
		for (size_t i = 0; i < DL_MAX_RULES; i++) {
			const struct dl_rule_mode *m = &half[i];
			__u32 fm = m->family < DL_FAMILY_MAX ? cfg->mode[m->family] : 0;
			size_t idlen = strnlen(m->id, sizeof(m->id));

			if (m->gen != cfg->policy_gen || !dl_rule_mode_differs(m, fm))
				continue;
			if (json) {
				printf("%s{\"rule\":", first ? "" : ",");
				dl_json_str(stdout, m->id, idlen);
				printf(",\"family\":\"%s\",\"mode\":\"%s\",\"family_mode\":\"%s\","
				       "\"file_mode\":\"%s\"}", dl_family_name(m->family), dl_rule_mode_name(m->mode),
				       dl_mode_name(fm), dl_rule_mode_name(m->file_mode));
			} else {
				fputs("rule ", stdout);
				dl_term_str(stdout, m->id, idlen);
				printf(" (%s) %s, its family %s%s\n", dl_family_name(m->family), dl_rule_mode_name(m->mode),
				       dl_mode_name(fm), m->mode != m->file_mode ? " (switched at runtime)" : "");
			}
			first = false;
		}
	}
	if (json)
		fputs("]", stdout);
	free(half);
}

/* The per-rule counters of the deciding generation (`drylock status`):
 * text, one line per rule that decided something; json, an array of every
 * rule of the generation. Rules are named through dl_rule_mode. */
static void print_rule_counts(const struct dl_pinned *pin, const struct dl_config *cfg, bool json)
{
	struct dl_rule_mode *half = calloc(DL_MAX_RULES, sizeof(*half));
	bool first = true;

	if (json)
		fputs("[", stdout);
	if (half && dl_rule_modes_read(pin, cfg->policy_gen, half) == 0) {
		for (__u32 i = 0; i < DL_MAX_RULES; i++) {
			uint64_t n[DL_VERDICT_MAX];
			size_t idlen = strnlen(half[i].id, sizeof(half[i].id));

			if (half[i].gen != cfg->policy_gen || dl_rule_counts_read(pin, cfg->policy_gen, i, n))
				continue;
			if (json) {
				printf("%s{\"rule\":", first ? "" : ",");
				dl_json_str(stdout, half[i].id, idlen);
				printf(",\"family\":\"%s\"", dl_family_name(half[i].family));
				for (int v = 0; v < DL_VERDICT_MAX; v++)
					printf(",\"%s\":%llu", dl_verdict_name(v), (unsigned long long)n[v]);
				fputs("}", stdout);
			} else if (n[DL_VERDICT_ALLOW] || n[DL_VERDICT_WOULD_DENY] || n[DL_VERDICT_DENY]) {
				fputs("decisions of rule ", stdout);
				dl_term_str(stdout, half[i].id, idlen);
				printf(" (%s):", dl_family_name(half[i].family));
				for (int v = 0; v < DL_VERDICT_MAX; v++)
					printf(" %s %llu", dl_verdict_name(v), (unsigned long long)n[v]);
				fputs("\n", stdout);
			}
			first = false;
		}
	}
	if (json)
		fputs("]", stdout);
	free(half);
}

/* `drylock mode MODE --rule ID`: switch one rule of the deciding
 * generation (MODE may also be "family": follow the family again). */
static int mode_rule(const struct dl_pinned *pin, const struct dl_config *cfg, const char *id, int rmode)
{
	struct dl_rule_mode *half = calloc(DL_MAX_RULES, sizeof(*half));
	struct dl_rule_mode m;
	char text[256];
	int idx, err, was, now;
	__u32 fm;

	if (!half)
		return EXIT_FAILURE;
	err = dl_rule_modes_read(pin, cfg->policy_gen, half);
	if (err) {
		dl_err("mode: read the rule modes (dl_rule_mode in %s): %s", pin_dir, strerror(-err));
		free(half);
		return EXIT_FAILURE;
	}
	idx = dl_rule_mode_find(half, DL_MAX_RULES, cfg->policy_gen, id);
	if (idx < 0) {
		dl_err("mode: no rule '%s' in the loaded policy (generation %u)", id, cfg->policy_gen);
		free(half);
		return EXIT_FAILURE;
	}
	m = half[idx];
	free(half);
	fm = m.family < DL_FAMILY_MAX ? cfg->mode[m.family] : 0;
	was = dl_rule_mode_enforcing(&m, fm);
	m.mode = (__u8)rmode;
	now = dl_rule_mode_enforcing(&m, fm);
	err = dl_rule_mode_write(pin, (__u32)idx, &m);
	if (err) {
		dl_err("mode: write the mode of rule %s: %s", id, strerror(-err));
		return EXIT_FAILURE;
	}
	printf("rule %s (%s) %s (was %s)\n", id, dl_family_name(m.family),
	       rmode == DL_RULE_MODE_FAMILY ? "follows its family" : dl_rule_mode_name(rmode),
	       was ? "enforce" : "permissive");
	dl_audit_format_setenforce(text, sizeof(text), m.family, id, now, was);
	err = dl_audit_send_once(AUDIT_USER_MAC_STATUS, text, 1);
	if (err)
		dl_log("mode: the switch is done but could not be audited: %s", strerror(-err));
	return EXIT_SUCCESS;
}

static int cmd_mode(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "family", required_argument, NULL, 'f' },
		{ "rule", required_argument, NULL, 'r' },
		COMMON_LONG,
		{ 0 }
	};
	struct dl_pinned pin;
	struct dl_config cfg;
	const char *want = NULL, *fam_name = NULL, *rule = NULL;
	int family = -1, mode = -1, rmode = -1, err, c;

	optind = 0;
	while ((c = getopt_long(argc, argv, COMMON_SHORT, opts, NULL)) != -1) {
		if (c == 'f')
			fam_name = optarg;
		else if (c == 'r')
			rule = optarg;
		else if ((err = common_opt("mode", c)) >= 0)
			return err;
	}
	if (optind < argc)
		want = argv[optind++];
	if (optind < argc) {
		dl_log("mode: unexpected argument '%s'", argv[optind]);
		return 2;
	}
	if (fam_name && rule) {
		dl_log("mode: --family and --rule exclude each other");
		return 2;
	}
	if (rule && !want) {
		dl_log("mode: --rule needs a mode (enforce, permissive or family)");
		return 2;
	}
	if (fam_name && (family = dl_family_by_name(fam_name)) < 0) {
		dl_log("mode: unknown family '%s'", fam_name);
		return 2;
	}
	if (rule && (rmode = dl_rule_mode_by_name(want)) < 0) {
		dl_log("mode: unknown mode '%s' for a rule (enforce, permissive, or family to follow its family)", want);
		return 2;
	}
	if (!rule && want && (mode = dl_mode_by_name(want)) < 0) {
		dl_log("mode: unknown mode '%s' (permissive or enforce)", want);
		return 2;
	}
	err = dl_pinned_open(pin_dir, &pin);
	if (err) {
		dl_err("mode: nothing is loaded (%s: %s); start `drylock run` first", pin_dir, strerror(-err));
		return EXIT_FAILURE;
	}
	err = dl_config_read(&pin, &cfg);
	if (err) {
		dl_log("mode: read config: %s", strerror(-err));
		dl_pinned_close(&pin);
		return EXIT_FAILURE;
	}
	if ((mode >= 0 || rule) && cfg.locked) {
		dl_err("mode: the engine in %s is locked until reboot (`drylock lock`): modes cannot be "
		       "switched", pin_dir);
		dl_pinned_close(&pin);
		return EXIT_FAILURE;
	}
	if (rule) {
		err = mode_rule(&pin, &cfg, rule, rmode);
		dl_pinned_close(&pin);
		return err;
	}
	if (mode < 0) {
#define X(n, v, s, stem) printf("%s %s\n", s, dl_mode_name(cfg.mode[v]));
		DL_FAMILIES(X)
#undef X
		print_rule_modes(&pin, &cfg, false);
		dl_pinned_close(&pin);
		return EXIT_SUCCESS;
	}
	for (int f = 1; f < DL_FAMILY_MAX; f++) {
		char text[256];
		__u32 old = cfg.mode[f];

		if (family > 0 && f != family)
			continue;
		if (!strcmp(dl_family_name(f), "?"))
			continue;
		cfg.mode[f] = mode;
		err = dl_config_write(&pin, &cfg);
		if (err) {
			dl_log("mode: write config: %s", strerror(-err));
			dl_pinned_close(&pin);
			return EXIT_FAILURE;
		}
		printf("%s %s (was %s)\n", dl_family_name(f), dl_mode_name(mode), dl_mode_name(old));
		dl_audit_format_setenforce(text, sizeof(text), f, NULL, mode == DL_MODE_ENFORCE, old == DL_MODE_ENFORCE);
		err = dl_audit_send_once(AUDIT_USER_MAC_STATUS, text, 1);
		if (err)
			dl_log("mode: the switch is done but could not be audited: %s", strerror(-err));
	}
	dl_pinned_close(&pin);
	return EXIT_SUCCESS;
}

static int cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		COMMON_LONG,
		{ 0 }
	};
	struct dl_pinned pin;
	struct dl_config cfg;
	uint64_t drops[DL_FAMILY_MAX] = { 0 }, unmatched[DL_FAMILY_MAX] = { 0 };
	uint64_t drops_all = 0, unmatched_all = 0, seq = 0, skipped[DL_REC_SKIP_MAX];
	struct dl_lsm_link *links = NULL;
	size_t n_links = 0;
	int c, err;
	__u32 zero = 0;
	bool json = false;

	optind = 0;
	while ((c = getopt_long(argc, argv, COMMON_SHORT, opts, NULL)) != -1) {
		if (c == 'j')
			json = true;
		else if ((err = common_opt("status", c)) >= 0)
			return err;
	}
	if (optind < argc) {
		dl_log("status: unexpected argument '%s'", argv[optind]);
		return 2;
	}
	err = dl_pinned_open(pin_dir, &pin);
	if (err) {
		if (json) {
			fputs("{\"loaded\":false,\"pin_dir\":", stdout);
			dl_json_str(stdout, pin_dir, strlen(pin_dir));
			fputs("}\n", stdout);
		} else {
			fputs("not loaded (", stdout);
			dl_term_str(stdout, pin_dir, strlen(pin_dir));
			fputs(")\n", stdout);
		}
		return EXIT_FAILURE;
	}
	err = dl_config_read(&pin, &cfg);
	if (err) {
		dl_log("status: read config: %s", strerror(-err));
		dl_pinned_close(&pin);
		return EXIT_FAILURE;
	}
	bpf_map_lookup_elem(pin.seq_fd, &zero, &seq);
	dl_skipped_read(pin_dir, skipped);
	for (unsigned f = 1; f < DL_FAMILY_MAX; f++) {
		if (!dl_family_loaded(&pin, f))
			continue;
		dl_read_drops(&pin, f, &drops[f]);
		dl_read_unmatched(&pin, f, &unmatched[f]);
		drops_all += drops[f];
		unmatched_all += unmatched[f];
	}
	/* Other BPF LSM programs on the hooks drylock uses: they run before
	 * drylock's (newest first) and can refuse what drylock allows. */
	if (dl_lsm_links(&links, &n_links) < 0)
		n_links = 0;
	for (size_t i = 0; i < n_links; i++)
		for (size_t j = 0; j < n_links && dl_lsm_link_is_ours(&links[i]); j++)
			if (!dl_lsm_link_is_ours(&links[j]) && !strcmp(links[i].hook, links[j].hook))
				links[j].link_id |= 0x80000000u; /* mark: shares a drylock hook */
	if (json) {
		bool first = true;

		fputs("{\"loaded\":true,\"pin_dir\":", stdout);
		dl_json_str(stdout, pin_dir, strlen(pin_dir));
		printf(",\"generation\":%u,\"locked\":%s", cfg.policy_gen, cfg.locked ? "true" : "false");
		/* <family>_mode: kept for scripts written when there was one family */
		for (unsigned f = 1; f < DL_FAMILY_MAX; f++)
			if (dl_family_loaded(&pin, f))
				printf(",\"%s_mode\":\"%s\"", dl_family_name(f), dl_mode_name(cfg.mode[f]));
		fputs(",\"families\":[", stdout);
		for (unsigned f = 1; f < DL_FAMILY_MAX; f++) {
			if (!dl_family_loaded(&pin, f))
				continue;
			printf("%s{\"family\":\"%s\",\"mode\":\"%s\",\"kernel_drops\":%llu,\"unmatched\":%llu}",
			       first ? "" : ",", dl_family_name(f), dl_mode_name(cfg.mode[f]),
			       (unsigned long long)drops[f], (unsigned long long)unmatched[f]);
			first = false;
		}
		fputs("],\"rule_modes\":", stdout);
		print_rule_modes(&pin, &cfg, true);
		fputs(",\"rule_counts\":", stdout);
		print_rule_counts(&pin, &cfg, true);
		first = true;
		printf(",\"last_seq\":%llu,\"kernel_drops\":%llu,\"unmatched\":%llu,\"records_skipped\":{",
		       (unsigned long long)seq, (unsigned long long)drops_all, (unsigned long long)unmatched_all);
		for (unsigned i = 1; i < DL_REC_SKIP_MAX; i++) {
			dl_json_str(stdout, dl_rec_skip_key(i), strlen(dl_rec_skip_key(i)));
			printf(":%llu%s", (unsigned long long)skipped[i], i + 1 < DL_REC_SKIP_MAX ? "," : "");
		}
		fputs("},\"other_lsm_programs\":[", stdout);
		for (size_t i = 0; i < n_links; i++) {
			if (!(links[i].link_id & 0x80000000u))
				continue;
			printf("%s{\"hook\":", first ? "" : ",");
			dl_json_str(stdout, links[i].hook, strlen(links[i].hook));
			printf(",\"prog_id\":%u,\"prog_name\":", links[i].prog_id);
			dl_json_str(stdout, links[i].prog_name, strnlen(links[i].prog_name, sizeof(links[i].prog_name)));
			fputs("}", stdout);
			first = false;
		}
		fputs("]}\n", stdout);
	} else {
		fputs("loaded: ", stdout);
		dl_term_str(stdout, pin_dir, strlen(pin_dir));
		printf("\ngeneration: %u\nlocked: %s\n", cfg.policy_gen,
		       cfg.locked ? "yes, until reboot (`drylock lock`)" : "no");
		for (unsigned f = 1; f < DL_FAMILY_MAX; f++)
			if (dl_family_loaded(&pin, f))
				printf("%s: %s (records dropped by the kernel: %llu, unmatched operations allowed: %llu)\n",
				       dl_family_name(f), dl_mode_name(cfg.mode[f]), (unsigned long long)drops[f],
				       (unsigned long long)unmatched[f]);
		print_rule_modes(&pin, &cfg, false);
		print_rule_counts(&pin, &cfg, false);
		printf("last sequence number: %llu\n"
		       "records dropped by the kernel: %llu\nunmatched operations (allowed): %llu\n",
		       (unsigned long long)seq, (unsigned long long)drops_all, (unsigned long long)unmatched_all);
		for (unsigned i = 1; i < DL_REC_SKIP_MAX; i++)
			if (skipped[i])
				printf("records skipped by the collector: %llu (%s)\n", (unsigned long long)skipped[i],
				       dl_rec_skip_name(i));
		for (size_t i = 0; i < n_links; i++) {
			if (!(links[i].link_id & 0x80000000u))
				continue;
			printf("other LSM program on hook %s: id %u, name ", links[i].hook, links[i].prog_id);
			dl_term_str(stdout, links[i].prog_name, strnlen(links[i].prog_name, sizeof(links[i].prog_name)));
			fputs(" (runs before drylock's and can deny what drylock allows)\n", stdout);
		}
	}
	free(links);
	dl_pinned_close(&pin);
	return EXIT_SUCCESS;
}

static int bad_number(const char *cmd, const char *opt, const char *val, int err, const char *want)
{
	dl_err("%s: %s '%s': %s (%s)", cmd, opt, val, dl_parse_strerror(err), want);
	return 2;
}

static int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "db", required_argument, NULL, 'd' },
		{ "enforce", no_argument, NULL, 'e' },
		{ "permissive", no_argument, NULL, 'P' },
		{ "no-audit", no_argument, NULL, 'A' },
		{ "ready-file", required_argument, NULL, 'r' },
		{ "ringbuf-size", required_argument, NULL, 'R' },
		{ "batch", required_argument, NULL, 'b' },
		{ "sync-full", no_argument, NULL, 'S' },
		{ "exit-when-idle", no_argument, NULL, 'I' },
		{ "max-age", required_argument, NULL, 'M' },
		{ "max-db-size", required_argument, NULL, 'Z' },
		COMMON_LONG,
		{ 0 }
	};
	struct dl_collect_opts o = {
		.db_path = DL_DB_DEFAULT, .audit = true, .mode = -1,
		.ringbuf_size = DL_RINGBUF_DEFAULT, .batch = 1024,
	};
	const char *policy_path = NULL, *env = getenv("BPF_LSM_POLICY_ENFORCE");
	struct dl_policy *p = NULL;
	char why[256];
	int c, r, rc;

	if (env && strcmp(env, "1") == 0)
		o.mode = DL_MODE_ENFORCE;
	optind = 0;
	while ((c = getopt_long(argc, argv, "p:d:" COMMON_SHORT, opts, NULL)) != -1) {
		switch (c) {
		case 'p': policy_path = optarg; break;
		case 'd': o.db_path = optarg; break;
		case 'e': o.mode = DL_MODE_ENFORCE; break;
		case 'P': o.mode = DL_MODE_PERMISSIVE; break;
		case 'A': o.audit = false; break;
		case 'r': o.ready_file = optarg; break;
		case 'S': o.sync_full = true; break;
		case 'I': o.exit_when_idle = true; break;
		case 'R': {
			uint64_t v;

			/* the kernel wants a power of two of at least a page, in a __u32 */
			r = dl_parse_size(optarg, 4096, UINT32_MAX, &v);
			if (!r && (v & (v - 1)))
				r = -ERANGE;
			if (r)
				return bad_number("run", "--ringbuf-size", optarg, r,
						  "a power of two from 4096 to 2G, in bytes or with K, M, G");
			o.ringbuf_size = (__u32)v;
			break;
		}
		case 'M':
			if ((r = dl_parse_duration_ns(optarg, &o.max_age_ns)))
				return bad_number("run", "--max-age", optarg, r,
						  "a duration like 90m, 12h, 30d or 2w, at most 15250w");
			break;
		case 'Z': {
			uint64_t v;

			if ((r = dl_parse_size(optarg, 1, INT64_MAX, &v)))
				return bad_number("run", "--max-db-size", optarg, r,
						  "a size like 500M or 2G, or bytes");
			o.max_bytes = (int64_t)v;
			break;
		}
		case 'b': {
			uint64_t v;

			if ((r = dl_parse_uint(optarg, 1, 65536, &v)))
				return bad_number("run", "--batch", optarg, r, "a number from 1 to 65536");
			o.batch = (unsigned)v;
			break;
		}
		default:
			if ((r = common_opt("run", c)) >= 0)
				return r;
			break;
		}
	}
	o.pin_dir = pin_dir;
	if (optind < argc) {
		dl_err("run: unexpected argument '%s'", argv[optind]);
		return 2;
	}
	if (load_policy(policy_path, &p))
		return EXIT_FAILURE;
	if (dl_bpf_lsm_check(why, sizeof(why))) {
		dl_err("run: %s", why);
		dl_policy_free(p);
		return EXIT_FAILURE;
	}
	o.policy = p;
	rc = dl_collect(&o);
	dl_policy_free(p);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = { COMMON_LONG, { 0 } };
	const char *cmd;
	char prog[64];
	int c;

	/* Options before the command; the command parses its own (and the
	 * common ones again, so they may follow it). */
	while ((c = getopt_long(argc, argv, "+" COMMON_SHORT, opts, NULL)) != -1) {
		switch (c) {
		case 'D': pin_dir = optarg; break;
		case 'h': usage(stdout); return EXIT_SUCCESS;
		case 'V': printf("drylock %s (record ABI %d)\n", DL_VERSION, DL_ABI_VERSION); return EXIT_SUCCESS;
		default: fputs("Try 'drylock --help'.\n", stderr); return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	cmd = argv[optind];
	argc -= optind;
	argv += optind;
	snprintf(prog, sizeof(prog), "drylock %s", cmd);
	argv[0] = prog;
	if (!strcmp(cmd, "run"))
		return cmd_run(argc, argv);
	if (!strcmp(cmd, "validate"))
		return cmd_validate(argc, argv);
	if (!strcmp(cmd, "check"))
		return cmd_check(argc, argv);
	if (!strcmp(cmd, "mode"))
		return cmd_mode(argc, argv);
	if (!strcmp(cmd, "status"))
		return cmd_status(argc, argv);
	if (!strcmp(cmd, "lock")) {
		int r = plain_opts("lock", argc, argv, 0);
		bool already;

		if (r >= 0)
			return r;
		if (dl_lock(pin_dir, &already))
			return EXIT_FAILURE;
		printf(already ? "%s: already locked until reboot; nothing changed\n"
			       : "%s: locked until reboot\n", pin_dir);
		return EXIT_SUCCESS;
	}
	if (!strcmp(cmd, "unload")) {
		int r = unload_common_opts(&argc, argv);

		if (r >= 0)
			return r;
		return dl_cmd_unload(pin_dir, argc, argv);
	}
	if (!strcmp(cmd, "default-policy")) {
		int r = plain_opts("default-policy", argc, argv, 0);

		if (r >= 0)
			return r;
		fputs(dl_default_policy, stdout);
		return EXIT_SUCCESS;
	}
	if (!strcmp(cmd, "help")) {
		/* `drylock help COMMAND` is `drylock COMMAND --help` */
		if (argc > 1 && !strcmp(argv[1], "unload"))
			return dl_cmd_unload(pin_dir, 2, (char *[]){ argv[0], "--help", NULL });
		if (argc > 1 && cmd_usage(argv[1], stdout) == 0)
			return EXIT_SUCCESS;
		if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")))
			argc = 1; /* `drylock help --help` is help too */
		usage(argc > 1 ? stderr : stdout);
		return argc > 1 ? 2 : EXIT_SUCCESS;
	}
	dl_log("unknown command '%s' (see drylock --help)", cmd);
	return 2;
}
