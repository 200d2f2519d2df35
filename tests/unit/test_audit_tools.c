/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The audit tools read drylock's records fully: records made by the real
 * formatter (auditfmt.c) are written to a file in audit log format, as the
 * kernel and auditd would (header, drylock text, libaudit trailer), and the
 * installed aureport and ausearch are run on it:
 *   - aureport --avc fills class, permission, object and result (no "(null)",
 *     no "unset" result);
 *   - ausearch -i interprets every uid/gid field of the subject as a user or
 *     group, so the same number shows the same way in each (suid, euid,
 *     sauid), and an unset login uid and session both read "unset";
 *   - ausearch -sv yes/no and -c still select the right records.
 * argv[1], argv[2]: the aureport and ausearch programs (meson finds them).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tap.h"
#include "collector/auditfmt.h"
#include "collector/names.h"

static const char *aureport, *ausearch;
static char dir[256], logpath[300];

static struct dl_event event(unsigned hook, unsigned verdict, const char *ip, unsigned port,
			     unsigned uid, unsigned loginuid, unsigned ses, const char *comm)
{
	struct dl_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.rec.version = DL_ABI_VERSION;
	ev.rec.size = sizeof(ev.rec);
	ev.rec.family = DL_FAMILY_NET;
	ev.rec.hook = hook;
	ev.rec.seq = 40 + hook;
	ev.rec.tgid = 100;
	ev.rec.pid = 101;
	ev.rec.ppid = 1;
	ev.rec.uid = uid;
	ev.rec.euid = uid;
	ev.rec.gid = uid;
	ev.rec.loginuid = loginuid;
	ev.rec.sessionid = ses;
	ev.rec.verdict = verdict;
	ev.rec.enforced = verdict == DL_VERDICT_DENY;
	memcpy(ev.rec.comm, comm, strlen(comm) < DL_COMM_LEN ? strlen(comm) : DL_COMM_LEN);
	if (strchr(ip, ':')) {
		inet_pton(AF_INET6, ip, ev.rec.u.net.addr);
		ev.rec.u.net.sa_family = AF_INET6;
	} else {
		ev.rec.u.net.addr[10] = ev.rec.u.net.addr[11] = 0xff;
		inet_pton(AF_INET, ip, ev.rec.u.net.addr + 12);
		ev.rec.u.net.sa_family = AF_INET;
	}
	ev.rec.u.net.port = port;
	ev.rec.u.net.protocol = 6;
	ev.rule_id = "r1";
	ev.exe = "/usr/bin/curl";
	return ev;
}

/* One line as auditd writes it for a user record sent by a root daemon. */
static void write_record(FILE *f, const char *type, unsigned serial, const char *text, int success)
{
	fprintf(f, "type=%s msg=audit(1718000000.%03u:%u): pid=812 uid=0 auid=4294967295 "
		"ses=4294967295 subj=unconfined msg='%s exe=\"/usr/sbin/drylock\" hostname=? "
		"addr=? terminal=? res=%s'\n", type, serial % 1000, serial, text,
		success ? "success" : "failed");
}

/* Run cmd, return its stdout (malloc'ed, NUL-terminated). */
static char *run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *run(const char *fmt, ...)
{
	char cmd[1024], *out = NULL;
	size_t len = 0, cap = 0, n;
	char buf[4096];
	va_list ap;
	FILE *p;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	p = popen(cmd, "r");
	if (!p)
		return strdup("");
	while ((n = fread(buf, 1, sizeof(buf), p)) > 0) {
		if (len + n + 1 > cap) {
			cap = (len + n + 1) * 2;
			out = realloc(out, cap);
		}
		memcpy(out + len, buf, n);
		len += n;
	}
	pclose(p);
	if (!out)
		return strdup("");
	out[len] = '\0';
	return out;
}

/* Value of field name in line (up to a space or quote), or "" */
static const char *fieldv(const char *line, const char *name, char *out, size_t outlen)
{
	size_t n = strlen(name);

	out[0] = '\0';
	for (const char *p = line; (p = strstr(p, name)); p++) {
		if ((p == line || p[-1] == ' ' || p[-1] == '\'') && p[n] == '=') {
			size_t l = strcspn(p + n + 1, " '");

			if (l >= outlen)
				l = outlen - 1;
			memcpy(out, p + n + 1, l);
			out[l] = '\0';
			break;
		}
	}
	return out;
}

/* The line of text that contains needle (copied into out), or NULL. */
static const char *line_with(const char *text, const char *needle, char *out, size_t outlen)
{
	const char *p = strstr(text, needle), *b, *e;

	if (!p)
		return NULL;
	for (b = p; b > text && b[-1] != '\n'; b--)
		;
	e = strchr(p, '\n');
	if (!e)
		e = p + strlen(p);
	if ((size_t)(e - b) >= outlen)
		return NULL;
	memcpy(out, b, (size_t)(e - b));
	out[e - b] = '\0';
	return out;
}

static int all_digits(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return 0;
	return 1;
}

struct avc_case {
	struct dl_event ev;
	const char *perm, *obj;
};

static void test_avc(void)
{
	struct avc_case cases[] = {
		{ event(DL_HOOK_SOCKET_CONNECT, DL_VERDICT_WOULD_DENY, "169.254.169.254", 80, 0,
			4294967295u, 4294967295u, "curl"), "connect", "169.254.169.254:80" },
		{ event(DL_HOOK_SOCKET_BIND, DL_VERDICT_DENY, "2001:db8::1", 8080, 54321, 54321, 3,
			"srv"), "bind", "[2001:db8::1]:8080" },
		{ event(DL_HOOK_SOCKET_SENDMSG, DL_VERDICT_WOULD_DENY, "10.0.0.1", 53, 0, 0, 1,
			"a b"), "connect", "10.0.0.1:53" },
	};
	size_t ncases = sizeof(cases) / sizeof(cases[0]);
	char text[DL_AUDIT_MAX_TEXT], line[8192], v[256], w[256];
	char *rep, *srch;
	FILE *f = fopen(logpath, "w");

	if (!f) {
		TAP_OK(0, "open %s", logpath);
		return;
	}
	for (size_t i = 0; i < ncases; i++) {
		int n = dl_audit_format_avc(text, sizeof(text), &cases[i].ev, "pol", "0123abcd");

		TAP_OK(n > 0, "case %zu formatted", i);
		write_record(f, "USER_AVC", 100 + (unsigned)i, text, dl_audit_result(&cases[i].ev.rec));
	}
	fclose(f);

	rep = run("'%s' --avc --input '%s' 2>&1", aureport, logpath);
	TAP_OK(!strstr(rep, "(null)"), "aureport --avc: no (null) column");
	for (size_t i = 0; i < ncases; i++) {
		char serial[16];

		snprintf(serial, sizeof(serial), " %zu\n", 100 + i);
		/* "# date time comm subj syscall class permission obj result event" */
		if (!line_with(rep, serial, line, sizeof(line))) {
			TAP_OK(0, "aureport --avc lists event %zu", 100 + i);
			continue;
		}
		snprintf(v, sizeof(v), " net %s %s denied %zu", cases[i].perm, cases[i].obj, 100 + i);
		TAP_OK(strstr(line, v) != NULL, "aureport --avc event %zu: class net, permission %s, "
		       "object %s, result denied: %s", 100 + i, cases[i].perm, cases[i].obj, line);
	}
	TAP_OK(strstr(rep, " curl unconfined ") && strstr(rep, " srv unconfined "),
	       "aureport --avc shows the subject's comm");
	free(rep);

	srch = run("'%s' -i --input '%s' 2>&1", ausearch, logpath);
	/* case 0: uid 0, login uid and session unset */
	if (line_with(srch, ":100)", line, sizeof(line))) {
		const char *uidf[] = { "suid", "euid", "sauid" };
		int ok = 1;

		for (size_t k = 0; k < 3; k++)
			ok &= !strcmp(fieldv(line, uidf[k], v, sizeof(v)), k < 2 ? "root" : "unset");
		ok &= !strcmp(fieldv(line, "sgid", v, sizeof(v)), "root");
		TAP_OK(ok, "ausearch -i: suid, euid, sgid read root, sauid unset: %s", line);
		TAP_OK(!strcmp(fieldv(line, "sauid", v, sizeof(v)), fieldv(line, "sses", w, sizeof(w))),
		       "ausearch -i: unset login uid and unset session read the same (%s, %s)", v, w);
		TAP_OK(!strstr(line, "4294967295"), "ausearch -i: no raw 4294967295 left");
	} else {
		TAP_OK(0, "ausearch -i shows event 100");
	}
	/* case 1: uid 54321 (no such user): every uid field shows it alike */
	if (line_with(srch, ":101)", line, sizeof(line))) {
		const char *uidf[] = { "suid", "euid", "sauid" };
		int ok = 1;

		fieldv(line, "suid", w, sizeof(w));
		for (size_t k = 0; k < 3; k++)
			ok &= !strcmp(fieldv(line, uidf[k], v, sizeof(v)), w);
		TAP_OK(ok && !all_digits(w), "ausearch -i: suid, euid, sauid of uid 54321 interpreted "
		       "alike (%s): %s", w, line);
		TAP_OK(!strcmp(fieldv(line, "sses", v, sizeof(v)), "3"), "ausearch -i: session 3 stays 3");
	} else {
		TAP_OK(0, "ausearch -i shows event 101");
	}
	/* case 2: an encoded comm is decoded for display */
	TAP_OK(line_with(srch, ":102)", line, sizeof(line)) &&
	       !strcmp(fieldv(line, "cmd", v, sizeof(v)), "/usr/bin/curl") && strstr(line, " comm=a b "),
	       "ausearch -i decodes comm and cmd");
	free(srch);

	srch = run("'%s' --input '%s' -m USER_AVC -sv yes --raw 2>/dev/null | grep -c 'lsm=drylock'",
		   ausearch, logpath);
	TAP_OK(atoi(srch) == 2, "ausearch -sv yes: the 2 would-denies (%d)", atoi(srch));
	free(srch);
	srch = run("'%s' --input '%s' -m USER_AVC -sv no --raw 2>/dev/null", ausearch, logpath);
	TAP_OK(strstr(srch, "decision=deny ") && !strstr(srch, "would-deny"),
	       "ausearch -sv no: only the deny");
	free(srch);
	srch = run("'%s' --input '%s' -c curl --raw 2>/dev/null | grep -c 'lsm=drylock'", ausearch, logpath);
	TAP_OK(atoi(srch) == 1, "ausearch -c curl: one record");
	free(srch);
}

/* Every lifecycle record: aureport --mac lists each with its type and
 * success, ausearch -i prints each with nothing left as (null), and none is
 * taken for an access decision by aureport --avc. */
static void test_lifecycle(void)
{
	struct {
		const char *type;
		char text[512];
		int n;
	} r[7];
	char line[8192], *rep, *srch;
	FILE *f;

	r[0].type = "USER_MAC_POLICY_LOAD";
	r[0].n = dl_audit_format_policy_load(r[0].text, sizeof(r[0].text), "my policy",
					     "9f43aa0000000000000000000000000000000000000000000000000000004318", 3, 2);
	r[1].type = "USER_MAC_STATUS";
	r[1].n = dl_audit_format_start(r[1].text, sizeof(r[1].text), 0, 0);
	r[2].type = "USER_MAC_STATUS";
	r[2].n = dl_audit_format_stop(r[2].text, sizeof(r[2].text), 1);
	r[3].type = "USER_MAC_STATUS";
	r[3].n = dl_audit_format_setenforce(r[3].text, sizeof(r[3].text), DL_FAMILY_NET, NULL, 1, 0);
	r[4].type = "USER_MAC_STATUS";
	r[4].n = dl_audit_format_suppressed(r[4].text, sizeof(r[4].text), 999);
	r[5].type = "USER_MAC_STATUS";
	r[5].n = dl_audit_format_unload(r[5].text, sizeof(r[5].text), 3, 0, 44);
	r[6].type = "USER_MAC_CONFIG_CHANGE";
	r[6].n = dl_audit_format_upgrade(r[6].text, sizeof(r[6].text), "socket_connect", "dl_net_connect",
					 "0123456789abcdef", "fedcba9876543210", "relink");
	TAP_OK(!strcmp(r[0].text, "op=load_policy lsm=drylock policy=6D7920706F6C696379 sha256="
		       "9f43aa0000000000000000000000000000000000000000000000000000004318 rules=3 gen=2"),
	       "load_policy text: %s", r[0].text);
	TAP_OK(!strcmp(r[1].text, "op=start lsm=drylock enabled=1 old-enabled=0 enforcing=0"),
	       "start text: %s", r[1].text);
	TAP_OK(!strcmp(r[2].text, "op=stop lsm=drylock enabled=1 enforcing=1"), "stop text: %s", r[2].text);
	TAP_OK(!strcmp(r[3].text, "op=setenforce lsm=drylock class=net enforcing=1 old_enforcing=0"),
	       "setenforce text: %s", r[3].text);
	TAP_OK(!strcmp(r[4].text, "op=suppressed lsm=drylock suppressed=999"), "suppressed text: %s",
	       r[4].text);
	TAP_OK(!strcmp(r[5].text, "op=unload lsm=drylock enabled=0 old-enabled=1 stored=3 lost=0 seq=44"),
	       "unload text: %s", r[5].text);
	TAP_OK(!strcmp(r[6].text, "op=upgrade lsm=drylock hook=socket_connect prog=dl_net_connect "
		       "old_tag=0123456789abcdef new_tag=fedcba9876543210 how=relink"),
	       "upgrade text: %s", r[6].text);

	f = fopen(logpath, "w");
	if (!f) {
		TAP_OK(0, "open %s", logpath);
		return;
	}
	for (unsigned i = 0; i < 7; i++)
		write_record(f, r[i].type, 200 + i, r[i].text, 1);
	fclose(f);

	rep = run("'%s' --mac --input '%s' 2>&1", aureport, logpath);
	for (unsigned i = 0; i < 7; i++) {
		char want[64];

		snprintf(want, sizeof(want), " %s yes %u\n", r[i].type, 200 + i);
		TAP_OK(r[i].n > 0 && strstr(rep, want), "aureport --mac lists event %u as %s, success yes",
		       200 + i, r[i].type);
	}
	TAP_OK(!strstr(rep, "(null)"), "aureport --mac: no (null)");
	free(rep);
	rep = run("'%s' --avc --input '%s' 2>&1", aureport, logpath);
	TAP_OK(strstr(rep, "<no events of interest were found>") != NULL,
	       "aureport --avc: lifecycle records are not access decisions");
	free(rep);
	srch = run("'%s' -i --input '%s' 2>&1", ausearch, logpath);
	TAP_OK(!strstr(srch, "(null)"), "ausearch -i: no (null) in lifecycle records");
	for (unsigned i = 0; i < 7; i++) {
		char serial[16], op[32];

		snprintf(serial, sizeof(serial), ":%u)", 200 + i);
		snprintf(op, sizeof(op), "%.*s", (int)strcspn(r[i].text, " "), r[i].text);
		TAP_OK(line_with(srch, serial, line, sizeof(line)) && strstr(line, op) &&
		       strstr(line, " lsm=drylock ") && strstr(line, "res=success"),
		       "ausearch -i shows event %u (%s)", 200 + i, op);
	}
	free(srch);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s AUREPORT AUSEARCH\n", argv[0]);
		return 2;
	}
	aureport = argv[1];
	ausearch = argv[2];
	if (tap_tmpdir(dir, sizeof(dir), "audit-tools"))
		return 1;
	snprintf(logpath, sizeof(logpath), "%s/audit.log", dir);
	test_avc();
	test_lifecycle();
	tap_tmpdir_remove(dir);
	return tap_done();
}
