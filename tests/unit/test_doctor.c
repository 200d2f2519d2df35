/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `drylock check`: the pure parts (kernel config text, the lsm= line, the
 * kernel version, the report in text and JSON), then the binary (path in
 * argv[1]) on this host, which is its own negative case: whatever the host
 * is, a database directory that does not exist and a pin directory that is
 * not on bpffs are each a "no" with their fix, the exit status agrees with
 * the last line, the JSON parses, and where the load test is refused with
 * EPERM and an empty verifier log (this build host, many sandboxes) the fix
 * names the throwaway VM.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tap.h"
#include "runbin.h"
#include "collector/doctorfmt.h"

static const char config[] =
	"#\n# Automatically generated file; DO NOT EDIT.\n"
	"CONFIG_BPF_LSMX=m\n"
	"CONFIG_BPF_LSM=y\n"
	"# CONFIG_SECURITY_SELINUX is not set\n"
	"CONFIG_LSM=\"landlock,lockdown,yama,integrity,apparmor\"\n"
	"CONFIG_LAST=y"; /* no final newline */

/* Multi-line text as TAP comments. */
static void diag(const char *s)
{
	while (*s) {
		size_t len = strcspn(s, "\n");

		printf("# %.*s\n", (int)len, s);
		s += len;
		if (*s)
			s++;
	}
}

/* Does python3 accept s as JSON? -1 when python3 is not there. */
static int json_ok(const char *s)
{
	char path[300];
	FILE *f;
	int r;

	snprintf(path, sizeof(path), "%s/j.json", dir);
	f = fopen(path, "w");
	if (!f)
		return 0;
	fputs(s, f);
	fclose(f);
	if (system("command -v python3 >/dev/null 2>&1") != 0)
		return -1;
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "python3 -m json.tool '%s' >/dev/null", path);
	r = system(cmd);
	return r == 0;
}

static void pure(void)
{
	char v[128], line[64];
	int maj, min;

	TAP_OK(dl_kconfig_get(config, strlen(config), "CONFIG_BPF_LSM", v, sizeof(v)) == 1 && !strcmp(v, "y"),
	       "kconfig: CONFIG_BPF_LSM=y, not the longer CONFIG_BPF_LSMX (%s)", v);
	TAP_OK(dl_kconfig_get(config, strlen(config), "CONFIG_SECURITY_SELINUX", v, sizeof(v)) == 0,
	       "kconfig: '# X is not set' is 0");
	TAP_OK(dl_kconfig_get(config, strlen(config), "CONFIG_NOPE", v, sizeof(v)) == -ENOENT,
	       "kconfig: absent is -ENOENT");
	TAP_OK(dl_kconfig_get(config, strlen(config), "CONFIG_LAST", v, sizeof(v)) == 1 && !strcmp(v, "y"),
	       "kconfig: the last line without a newline");
	TAP_OK(dl_kconfig_get(config, strlen(config), "CONFIG_LSM", v, sizeof(v)) == 1 &&
	       !strcmp(v, "\"landlock,lockdown,yama,integrity,apparmor\""), "kconfig: CONFIG_LSM as written (%s)", v);
	TAP_OK(dl_kconfig_get(config, strlen(config), "CONFIG_BPF", v, sizeof(v)) == -ENOENT,
	       "kconfig: a prefix of a name is not the name");

	TAP_OK(dl_lsm_line("lockdown,capability,landlock,yama,apparmor\n", line, sizeof(line)) == 0 &&
	       !strcmp(line, "lsm=lockdown,capability,landlock,yama,apparmor,bpf"),
	       "lsm= line: the active order plus bpf (%s)", line);
	TAP_OK(dl_lsm_line(v, line, sizeof(line)) == 0 &&
	       !strcmp(line, "lsm=landlock,lockdown,yama,integrity,apparmor,bpf"),
	       "lsm= line from CONFIG_LSM: quotes dropped (%s)", line);
	TAP_OK(dl_lsm_line("capability,bpf,landlock", line, sizeof(line)) == 0 &&
	       !strcmp(line, "lsm=capability,bpf,landlock"), "lsm= line: bpf already there, not added twice (%s)", line);
	TAP_OK(dl_lsm_line("capability,bpfx", line, sizeof(line)) == 0 &&
	       !strcmp(line, "lsm=capability,bpfx,bpf"), "lsm= line: bpfx is not bpf (%s)", line);
	TAP_OK(dl_lsm_line("\n", line, sizeof(line)) == -EINVAL, "lsm= line: empty list is -EINVAL");
	TAP_OK(dl_lsm_line("lockdown,capability,landlock,yama,apparmor", line, 20) == -ENOSPC,
	       "lsm= line: short buffer is -ENOSPC");
	TAP_OK(dl_lsm_has_bpf("lockdown,bpf") && !dl_lsm_has_bpf("lockdown,ebpf,bpfilter") && !dl_lsm_has_bpf(""),
	       "dl_lsm_has_bpf matches whole elements");

	TAP_OK(dl_kernel_version("6.12.9-amd64", &maj, &min) == 0 && maj == 6 && min == 12, "kernel 6.12.9-amd64");
	TAP_OK(dl_kernel_version("5.10.0-28-cloud-amd64", &maj, &min) == 0 && maj == 5 && min == 10, "kernel 5.10");
	TAP_OK(dl_kernel_version("x6.1", &maj, &min) == -EINVAL && dl_kernel_version("6", &maj, &min) == -EINVAL,
	       "kernel version: garbage is -EINVAL");

	/* the report */
	struct dl_check c[3] = {
		{ .name = "a", .title = "first", .ok = true, .required = true, .detail = "fine" },
		{ .name = "b", .title = "second\x1b[2J", .ok = false, .required = true, .detail = "bad \"q\"",
		  .fix = "do this\nthen that" },
		{ .name = "c", .title = "third", .ok = false, .required = false, .detail = "meh", .fix = "maybe" },
	};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	dl_checks_print(f, c, 3, "6.12.0");
	fclose(f);
	TAP_OK(strstr(buf, "  yes  first: fine\n") && strstr(buf, "  no   second\\x1b[2J: bad \"q\"\n") &&
	       strstr(buf, "       fix: do this\n            then that\n") &&
	       strstr(buf, "  no   third (optional): meh\n       fix: maybe\n") && !strchr(buf, '\x1b'),
	       "text: yes/no lines, a fix per no, several fix lines indented, escaped");
	diag(buf);
	TAP_OK(strstr(buf, "\nno: second\\x1b[2J (") && !strstr(buf, "no: second\\x1b[2J; third"),
	       "text: the last line names the required failures only");
	TAP_OK(!dl_checks_ok(c, 3), "a required no fails the whole");
	free(buf);
	c[1].ok = true;
	TAP_OK(dl_checks_ok(c, 3), "an optional no does not");
	c[0].skipped = true;
	TAP_OK(!dl_checks_ok(c, 3), "a required check not tried does");
	c[0].skipped = false;
	buf = NULL;
	f = open_memstream(&buf, &len);
	dl_checks_print(f, c, 3, "6.12.0");
	fclose(f);
	TAP_OK(strstr(buf, "\nyes: BPF LSM programs load and attach on this kernel\n") != NULL,
	       "text: all required yes ends with yes:");
	free(buf);
	c[1].ok = false;
	buf = NULL;
	f = open_memstream(&buf, &len);
	dl_checks_json(f, c, 3, "6.12.0");
	fclose(f);
	TAP_OK(strstr(buf, "{\"ok\":false,\"kernel\":\"6.12.0\",\"checks\":[{\"name\":\"a\"") &&
	       strstr(buf, "\"title\":\"second\\u001b[2J\",\"ok\":false,\"required\":true,\"skipped\":false,"
		       "\"detail\":\"bad \\\"q\\\"\",\"fix\":\"do this\\nthen that\"}"),
	       "json: fields and escapes");
	diag(buf);
	TAP_OK(json_ok(buf) != 0, "json: python3 parses it");
	free(buf);
}

/* The line of the check whose title starts with t, or NULL. */
static const char *line_of(const char *t)
{
	const char *p = out;

	while ((p = strstr(p, t)))
		if (p > out && p[-1] == ' ')
			return p;
		else
			p++;
	return NULL;
}

static void host(const char *drylock)
{
	char db[400], pin[400], want[500], last[600];
	const char *l, *nl;
	int r;

	bin = drylock;
	snprintf(db, sizeof(db), "%s/no-such-dir/drylock.db", dir);
	snprintf(pin, sizeof(pin), "%s/pins", dir);
	r = RUN("check", "--db", db, "--pin-dir", pin);
	TAP_OK(r == 1, "check on this host with a missing db directory: exit 1 (%d)", r);
	diag(out);
	TAP_OK(strstr(out, "drylock check: BPF LSM prerequisites on kernel ") == out, "check: a heading first");
	snprintf(want, sizeof(want), "fix: mkdir -p -m 0700 %s/no-such-dir", dir);
	l = line_of("database directory writable");
	TAP_OK(l && !strncmp(l - 5, "no   ", 5) && strstr(l, want), "check: db directory: no, and the mkdir fix");
	snprintf(want, sizeof(want), "%s is not a bpffs mount", dir);
	l = line_of("bpffs mounted");
	TAP_OK(l && !strncmp(l - 5, "no   ", 5) && strstr(l, want), "check --pin-dir: the pin directory's parent is checked");
	snprintf(want, sizeof(want), "fix: mount -t bpf bpf %s\n", dir);
	TAP_OK(strstr(out, want) != NULL, "check: the bpffs mount command for that directory");
	/* every check line is yes, no or -- */
	{
		int bad = 0, n = 0;

		for (const char *p = strchr(out, '\n') + 1; *p; p = strchr(p, '\n') + 1) {
			if (!strncmp(p, "  yes  ", 7) || !strncmp(p, "  no   ", 7) || !strncmp(p, "  --   ", 7))
				n++;
			else if (strncmp(p, "       ", 7) && strncmp(p, "no: ", 4) && strncmp(p, "yes: ", 5))
				bad++;
			if (!strchr(p, '\n'))
				break;
		}
		TAP_OK(!bad && n >= 9, "check: %d check lines, each yes, no or -- (%d other)", n, bad);
	}
	nl = out + out_len - 1;
	while (nl > out && nl[-1] != '\n')
		nl--;
	snprintf(last, sizeof(last), "%.599s", nl);
	TAP_OK(!strncmp(last, "no: ", 4) && strstr(last, "database directory writable"),
	       "check: the last line names what is missing");
	l = line_of("a BPF LSM program loads and attaches");
	TAP_OK(l != NULL, "check: the load test is reported");
	if (l && strstr(l, "EPERM, empty verifier log")) {
		nl = strchr(l, '\n');
		TAP_OK(nl && !strncmp(nl + 1, "       fix: ", 12) && strstr(nl, "throwaway VM: ./quickstart.sh"),
		       "check: a host that refuses trampolines is sent to the VM");
	} else {
		printf("ok %d - # SKIP the load test was not refused with EPERM here\n", ++tap_n);
	}
	TAP_OK(!strstr(out, "see `drylock check`") && !err[0], "check: nothing circular, nothing on stderr");

	r = RUN("check", "--json", "--db", db, "--pin-dir", pin);
	TAP_OK(r == 1 && !strncmp(out, "{\"ok\":false,", 12) && strstr(out, "\"name\":\"db_dir\",") &&
	       strstr(out, "\"name\":\"load_test\","), "check --json: exit 1, ok false, every check");
	diag(out);
	TAP_OK(json_ok(out) != 0, "check --json parses");
	r = RUN("check", "--db");
	TAP_OK(r == 2 && strstr(err, "db"), "check --db without a path: exit 2 (%d)", r);
}

int main(int argc, char **argv)
{
	if (tap_tmpdir(dir, sizeof(dir), "doctor"))
		return 1;
	pure();
	if (argc > 1)
		host(argv[1]);
	tap_tmpdir_remove(dir);
	return tap_done();
}
