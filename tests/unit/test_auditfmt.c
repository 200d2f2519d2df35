/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Audit text: encoding of untrusted values (hostile comm/exe must not forge
 * fields), the USER_AVC layout, res= semantics, and deduplication with
 * injected time.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include "tap.h"
#include "collector/auditfmt.h"
#include "collector/names.h"

/* Occurrences of " name=" (or "name=" at the start) as a field. */
static int count_field(const char *text, const char *name)
{
	size_t n = strlen(name);
	int c = 0;

	for (const char *p = text; (p = strstr(p, name)); p++)
		if ((p == text || p[-1] == ' ') && p[n] == '=')
			c++;
	return c;
}

/* Value of field name (up to the next space), copied into out. */
static const char *field(const char *text, const char *name, char *out, size_t outlen)
{
	size_t n = strlen(name);

	for (const char *p = text; (p = strstr(p, name)); p++) {
		if ((p == text || p[-1] == ' ') && p[n] == '=') {
			size_t l = strcspn(p + n + 1, " ");

			if (l >= outlen)
				return NULL;
			memcpy(out, p + n + 1, l);
			out[l] = '\0';
			return out;
		}
	}
	return NULL;
}

static int unhex(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Decode an encoded value back into bytes; returns length or -1. */
static int decode(const char *enc, unsigned char *out, size_t outlen)
{
	size_t n = strlen(enc);

	if (n >= 2 && enc[0] == '"' && enc[n - 1] == '"') {
		if (n - 2 > outlen)
			return -1;
		memcpy(out, enc + 1, n - 2);
		return (int)(n - 2);
	}
	if (n % 2 || n / 2 > outlen)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = unhex(enc[2 * i]), lo = unhex(enc[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return (int)(n / 2);
}

static struct dl_event base_event(void)
{
	struct dl_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.rec.version = DL_ABI_VERSION;
	ev.rec.size = sizeof(ev.rec);
	ev.rec.family = DL_FAMILY_NET;
	ev.rec.hook = DL_HOOK_SOCKET_CONNECT;
	ev.rec.seq = 42;
	ev.rec.cgroup_id = 7777;
	ev.rec.rule_idx = 0;
	ev.rec.tgid = 100;
	ev.rec.pid = 101;
	ev.rec.ppid = 1;
	ev.rec.uid = 1000;
	ev.rec.euid = 1000;
	ev.rec.gid = 1000;
	ev.rec.loginuid = 4294967295u;
	ev.rec.sessionid = 3;
	ev.rec.verdict = DL_VERDICT_WOULD_DENY;
	ev.rec.enforced = 0;
	memcpy(ev.rec.comm, "curl", 4);
	ev.rec.u.net.addr[10] = 0xff;
	ev.rec.u.net.addr[11] = 0xff;
	inet_pton(AF_INET, "169.254.169.254", ev.rec.u.net.addr + 12);
	ev.rec.u.net.port = 80;
	ev.rec.u.net.sa_family = AF_INET;
	ev.rec.u.net.protocol = 6;
	ev.rule_id = "meta";
	ev.exe = "/usr/bin/curl";
	return ev;
}

static const char *const all_fields[] = {
	"op", "lsm", "tcontext", "tclass", "decision", "enforcing", "policy", "rule", "seq", "boot",
	"spid", "stid", "sppid", "suid", "euid", "sgid", "sauid", "sses", "scgroup", "comm", "cmd",
	"daddr", "dport", "proto",
};
/* Header/trailer names (kernel and libaudit add these) and names auparse
 * reinterprets: none may appear as a field of ours. */
static const char *const forbidden[] = {
	"pid", "uid", "auid", "ses", "subj", "exe", "hostname", "addr", "terminal", "res",
	"mode", "flags", "id", "action", "data", "code", "list", "sig", "exit", "saddr", "key",
	"class", "seuid", "scontext",
};

static void test_encode(void)
{
	char out[64];
	unsigned char back[64];
	int n;

	n = dl_audit_encode(out, sizeof(out), "curl", 4, 256);
	TAP_OK(n == 6 && !strcmp(out, "\"curl\""), "plain value quoted: %s", out);
	n = dl_audit_encode(out, sizeof(out), "", 0, 256);
	TAP_OK(n == 2 && !strcmp(out, "\"\""), "empty value is \"\"");
	n = dl_audit_encode(out, sizeof(out), "a b", 3, 256);
	TAP_OK(!strcmp(out, "612062"), "space forces hex: %s", out);
	n = dl_audit_encode(out, sizeof(out), "a'res=success'", 14, 256);
	TAP_OK(!strcmp(out, "61277265733D7375636365737327"), "quote/equals force upper-case hex: %s", out);
	dl_audit_encode(out, sizeof(out), "a=b", 3, 256);
	TAP_OK(!strcmp(out, "613D62"), "'=' alone forces hex");
	dl_audit_encode(out, sizeof(out), "a\\b", 3, 256);
	TAP_OK(!strcmp(out, "615C62"), "backslash forces hex");
	dl_audit_encode(out, sizeof(out), "x\"y", 3, 256);
	TAP_OK(!strcmp(out, "782279"), "double quote forces hex");
	dl_audit_encode(out, sizeof(out), "\xff\x7f", 2, 256);
	TAP_OK(!strcmp(out, "FF7F"), "0xff and DEL force hex");
	dl_audit_encode(out, sizeof(out), "a\0b", 3, 256);
	TAP_OK(!strcmp(out, "610062"), "embedded NUL kept and hex-encoded");
	n = dl_audit_encode(out, sizeof(out), "abcdefgh", 8, 3);
	TAP_OK(n == 5 && !strcmp(out, "\"abc\""), "truncated to maxin before encoding");
	n = dl_audit_encode(out, sizeof(out), "a b cdefgh", 10, 3);
	TAP_OK(!strcmp(out, "612062"), "truncation happens before hex (6 chars for 3 bytes)");
	n = dl_audit_encode(out, 4, "abcd", 4, 256);
	TAP_OK(n == -ENOSPC, "too small output: -ENOSPC");
	n = dl_audit_encode(out, 7, "a b", 3, 256);
	TAP_OK(n == 6, "exact fit for hex");
	n = dl_audit_encode(out, 6, "a b", 3, 256);
	TAP_OK(n == -ENOSPC, "one byte short for hex: -ENOSPC");

	/* every byte value: safe set exactly 0x21..0x7e minus " ' = \ */
	{
		int bad = 0;

		for (int b = 0; b < 256; b++) {
			unsigned char c = (unsigned char)b;
			int quoted = dl_audit_encode(out, sizeof(out), &c, 1, 256) == 3;
			int want = b >= 0x21 && b <= 0x7e && b != '"' && b != '\'' && b != '=' && b != '\\';

			if (quoted != want)
				bad++;
			if (decode(out, back, sizeof(back)) != 1 || back[0] != c)
				bad++;
		}
		TAP_OK(bad == 0, "all 256 single bytes: safe set exact and reversible (%d bad)", bad);
	}
}

static void test_hostile(void)
{
	static const char *const comms[] = {
		"a'res=success'", "x\" res=failed", "a b c", "new\nline", "\xff\xfe\xff", "k=v",
		"comm=evil", "o'k", "0123456789abcdef", /* 16 bytes: no NUL in the record */
	};
	static const char *const exes[] = {
		"/tmp/a'res=success'", "/tmp/x\" res=failed comm=\"x\"", "/tmp/with space",
		"/tmp/new\nline uid=0", "/tmp/\xff\xff", "/tmp/a=b", NULL,
	};
	char text[DL_AUDIT_MAX_TEXT], val[1024];
	unsigned char back[1024];

	for (size_t i = 0; i < sizeof(comms) / sizeof(comms[0]); i++) {
		for (size_t j = 0; j < sizeof(exes) / sizeof(exes[0]); j++) {
			struct dl_event ev = base_event();
			size_t cl = strlen(comms[i]) < DL_COMM_LEN ? strlen(comms[i]) : DL_COMM_LEN;
			int n, ok = 1, dl;

			memset(ev.rec.comm, 0, DL_COMM_LEN);
			memcpy(ev.rec.comm, comms[i], cl);
			ev.exe = exes[j];
			n = dl_audit_format_avc(text, sizeof(text), &ev, "pol", "0123abcd-ffff");
			ok &= n > 0 && (size_t)n == strlen(text) && n < DL_AUDIT_MAX_TEXT;
			ok &= !strchr(text, '\n') && !strchr(text, '\'');
			for (size_t f = 0; f < sizeof(all_fields) / sizeof(all_fields[0]); f++)
				ok &= count_field(text, all_fields[f]) == 1;
			for (size_t f = 0; f < sizeof(forbidden) / sizeof(forbidden[0]); f++)
				ok &= count_field(text, forbidden[f]) == 0;
			/* reversible: comm decodes to the record's bytes up to NUL */
			ok &= field(text, "comm", val, sizeof(val)) != NULL;
			dl = decode(val, back, sizeof(back));
			ok &= dl == (int)cl && !memcmp(back, comms[i], cl);
			ok &= field(text, "cmd", val, sizeof(val)) != NULL;
			if (exes[j]) {
				dl = decode(val, back, sizeof(back));
				ok &= dl == (int)strlen(exes[j]) && !memcmp(back, exes[j], (size_t)dl);
			} else {
				ok &= !strcmp(val, "?");
			}
			TAP_OK(ok, "hostile comm #%zu exe #%zu: one of each field, none forged, reversible",
			       i, j);
			if (!ok)
				printf("# text: %s\n", text);
		}
	}

	/* a long exe is truncated to DL_AUDIT_MAX_VALUE before encoding */
	{
		char exe[4096];
		struct dl_event ev = base_event();
		int n, dl;

		memset(exe, 'x', sizeof(exe) - 1);
		exe[sizeof(exe) - 1] = '\0';
		exe[0] = ' '; /* force hex: the worst case */
		ev.exe = exe;
		n = dl_audit_format_avc(text, sizeof(text), &ev, exe, "0123abcd");
		field(text, "cmd", val, sizeof(val));
		dl = decode(val, back, sizeof(back));
		TAP_OK(n > 0 && n < DL_AUDIT_MAX_TEXT && dl == DL_AUDIT_MAX_VALUE &&
		       !memcmp(back, exe, DL_AUDIT_MAX_VALUE),
		       "4 KiB exe and policy name: truncated to %d bytes, text %d < %d", DL_AUDIT_MAX_VALUE,
		       n, DL_AUDIT_MAX_TEXT);
		TAP_OK(count_field(text, "res") == 0 && count_field(text, "cmd") == 1, "still one cmd, no res");
	}
}

static void test_format(void)
{
	char text[DL_AUDIT_MAX_TEXT], v[256];
	struct dl_event ev = base_event();
	int n;

	n = dl_audit_format_avc(text, sizeof(text), &ev, "cloud", "0123abcd-4567-89ab-cdef-0123456789ab");
	TAP_OK(n > 0, "format ok");
	TAP_OK(!strcmp(text,
		       "avc:  denied  { connect } for op=socket_connect lsm=drylock "
		       "tcontext=169.254.169.254:80 tclass=net decision=would-deny enforcing=0 "
		       "policy=\"cloud\" rule=meta seq=42 boot=0123abcd spid=100 stid=101 sppid=1 "
		       "suid=1000 euid=1000 sgid=1000 sauid=4294967295 sses=3 scgroup=7777 "
		       "comm=\"curl\" cmd=\"/usr/bin/curl\" daddr=169.254.169.254 dport=80 proto=6"),
	       "exact USER_AVC text: %s", text);
	TAP_OK(!strstr(text, "trunc"), "no trunc= field when nothing was cut");
	ev.rec.flags = DL_REC_F_TRUNCATED;
	n = dl_audit_format_avc(text, sizeof(text), &ev, "cloud", "0123abcd-4567-89ab-cdef-0123456789ab");
	TAP_OK(n > 0 && strlen(text) > 8 && !strcmp(text + strlen(text) - 8, " trunc=1"),
	       "a record flagged truncated ends in trunc=1: %s", text);
	ev.rec.flags = 0;

	ev.rec.hook = DL_HOOK_SOCKET_BIND;
	ev.rec.verdict = DL_VERDICT_DENY;
	ev.rec.enforced = 1;
	memset(ev.rec.u.net.addr, 0, 16);
	inet_pton(AF_INET6, "2001:db8::1", ev.rec.u.net.addr);
	ev.rec.u.net.protocol = 17;
	ev.rule_id = NULL;
	ev.exe = NULL;
	n = dl_audit_format_avc(text, sizeof(text), &ev, NULL, NULL);
	TAP_OK(n > 0 && strstr(text, "avc:  denied  { bind } for op=socket_bind ") &&
	       strstr(text, " tcontext=[2001:db8::1]:80 tclass=net ") &&
	       strstr(text, " decision=deny enforcing=1 ") &&
	       strstr(text, " policy=? rule=? ") && strstr(text, " boot=? ") &&
	       strstr(text, " cmd=? laddr=2001:db8::1 lport=80 proto=17") && !strstr(text, "daddr"),
	       "bind, IPv6, unknowns as ?: %s", text);

	/* auparse (ausearch) drops one trailing ':' from every value: an address
	 * that inet_ntop ends in "::" is written with a final 0 ("::0"), which
	 * is still the same address (found by tests/fuzz/fuzz_auditfmt.c). */
	{
		static const char *const ends[][2] = { { "::", "::0" }, { "2001:db8::", "2001:db8::0" },
						       { "fe80::1:0:0", "fe80::1:0:0" } };

		for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
			__u8 back[16];

			inet_pton(AF_INET6, ends[i][0], ev.rec.u.net.addr);
			dl_audit_format_avc(text, sizeof(text), &ev, NULL, NULL);
			TAP_OK(field(text, "laddr", v, sizeof(v)) && !strcmp(v, ends[i][1]) &&
			       inet_pton(AF_INET6, v, back) == 1 && !memcmp(back, ev.rec.u.net.addr, 16),
			       "%s is written laddr=%s (no trailing ':'): %s", ends[i][0], ends[i][1], v);
		}
	}

	ev.rec.u.net.protocol = 132;
	dl_audit_format_avc(text, sizeof(text), &ev, NULL, NULL);
	TAP_OK(field(text, "proto", v, sizeof(v)) && !strcmp(v, "132"), "other proto printed as number");

	ev.rule_id = "Bad Id";
	dl_audit_format_avc(text, sizeof(text), &ev, NULL, NULL);
	TAP_OK(field(text, "rule", v, sizeof(v)) && !strcmp(v, "426164204964"),
	       "rule id outside the id syntax is hex-encoded: %s", v);

	ev.rec.verdict = DL_VERDICT_ALLOW;
	ev.rec.enforced = 1;
	dl_audit_format_avc(text, sizeof(text), &ev, NULL, NULL);
	TAP_OK(strstr(text, " decision=allow enforcing=1 ") != NULL && !strncmp(text, "avc:  granted  {", 16),
	       "allow decision named, avc granted");

	ev.rec.loginuid = DL_AUDIT_UNSET;
	ev.rec.sessionid = DL_AUDIT_UNSET;
	dl_audit_format_avc(text, sizeof(text), &ev, NULL, NULL);
	TAP_OK(field(text, "sses", v, sizeof(v)) && !strcmp(v, "unset") &&
	       field(text, "sauid", v, sizeof(v)) && !strcmp(v, "4294967295"),
	       "unset session written as unset, unset login uid as the number auparse reads as unset");

	n = dl_audit_format_avc(text, 40, &ev, NULL, NULL);
	TAP_OK(n == -ENOSPC && text[0] == '\0', "small buffer: -ENOSPC, empty text");

	/* res= */
	ev = base_event();
	ev.rec.verdict = DL_VERDICT_WOULD_DENY;
	ev.rec.enforced = 0;
	TAP_OK(dl_audit_result(&ev.rec) == 1, "would-deny (permissive) is res=success");
	ev.rec.verdict = DL_VERDICT_ALLOW;
	ev.rec.enforced = 1;
	TAP_OK(dl_audit_result(&ev.rec) == 1, "allow in enforce is res=success");
	ev.rec.verdict = DL_VERDICT_DENY;
	TAP_OK(dl_audit_result(&ev.rec) == 0, "enforced deny is res=failed");
}

#define SEC 1000000000ull

static void test_dedup(void)
{
	struct dl_dedup *d = dl_dedup_new(64, 10 * SEC, 100);
	struct dl_event a = base_event(), b = base_event();
	unsigned logged = 0;

	TAP_OK(d != NULL, "dedup created");
	TAP_OK(dl_dedup_new(0, SEC, 1) == NULL, "0 slots refused");

	for (int i = 0; i < 1000; i++)
		logged += (unsigned)dl_dedup_check(d, &a, 5 * SEC + (uint64_t)i * (SEC / 1000));
	TAP_OK(logged == 1, "1000 identical events in 1 s: %u logged", logged);
	TAP_OK(dl_dedup_take_suppressed(d) == 999, "... and 999 suppressed");
	TAP_OK(dl_dedup_take_suppressed(d) == 0, "suppressed count resets when taken");

	b.rec.rule_idx = 1;
	b.rule_id = "other";
	TAP_OK(dl_dedup_check(d, &b, 6 * SEC) == 1, "a different rule is logged");
	TAP_OK(dl_dedup_check(d, &b, 6 * SEC + 1) == 0, "... once");
	b = base_event();
	memcpy(b.rec.comm, "wget", 4);
	TAP_OK(dl_dedup_check(d, &b, 6 * SEC) == 1, "a different comm is logged");
	b = base_event();
	b.exe = "/usr/bin/wget"; /* same length as /usr/bin/curl */
	TAP_OK(dl_dedup_check(d, &b, 6 * SEC) == 1, "a different exe is logged");
	b = base_event();
	b.rec.u.net.port = 443;
	TAP_OK(dl_dedup_check(d, &b, 6 * SEC) == 1, "a different port is logged");
	b = base_event();
	b.rec.verdict = DL_VERDICT_DENY;
	b.rec.enforced = 1;
	TAP_OK(dl_dedup_check(d, &b, 6 * SEC) == 1, "the same decision once enforcing is logged");
	b = base_event();
	b.rec.seq = 999;
	b.rec.tgid = 4242;
	TAP_OK(dl_dedup_check(d, &b, 6 * SEC) == 0, "another seq/pid of the same key is suppressed");

	TAP_OK(dl_dedup_check(d, &a, 5 * SEC + 10 * SEC - 1) == 0, "still suppressed just inside the window");
	TAP_OK(dl_dedup_check(d, &a, 5 * SEC + 10 * SEC) == 1, "logged again once the window expired");
	TAP_OK(dl_dedup_check(d, &a, 5 * SEC + 10 * SEC + 1) == 0, "... and the window restarts");
	dl_dedup_free(d);

	/* burst: many distinct keys */
	d = dl_dedup_new(4096, 10 * SEC, 10);
	logged = 0;
	for (int i = 0; i < 100; i++) {
		struct dl_event e = base_event();

		e.rec.u.net.port = (__u16)(1000 + i);
		logged += (unsigned)dl_dedup_check(d, &e, 100 * SEC);
	}
	TAP_OK(logged == 10, "100 distinct keys at once with burst 10: %u logged", logged);
	TAP_OK(dl_dedup_take_suppressed(d) == 90, "... 90 suppressed");
	logged = 0;
	for (int i = 0; i < 100; i++) {
		struct dl_event e = base_event();

		e.rec.u.net.port = (__u16)(1000 + i);
		logged += (unsigned)dl_dedup_check(d, &e, 100 * SEC + SEC / 2);
	}
	TAP_OK(logged == 5, "half a second later: 5 more tokens (%u logged)", logged);
	logged = 0;
	for (int i = 0; i < 20; i++) {
		struct dl_event e = base_event();

		e.rec.u.net.port = (__u16)(5000 + i);
		logged += (unsigned)dl_dedup_check(d, &e, 200 * SEC);
	}
	TAP_OK(logged == 10, "after a long pause the bucket holds burst, not more (%u)", logged);
	dl_dedup_free(d);

	/* fixed memory: more keys than slots evicts, never grows or crashes */
	d = dl_dedup_new(4, 10 * SEC, 0);
	logged = 0;
	for (int i = 0; i < 50; i++) {
		struct dl_event e = base_event();

		e.rec.u.net.port = (__u16)i;
		logged += (unsigned)dl_dedup_check(d, &e, SEC + (uint64_t)i);
	}
	TAP_OK(logged == 50, "burst 0 = unlimited; 50 keys through 4 slots all logged");
	{
		struct dl_event e = base_event();

		e.rec.u.net.port = 49;
		TAP_OK(dl_dedup_check(d, &e, 2 * SEC) == 0, "most recent key still remembered in a tiny table");
		e.rec.u.net.port = 0;
		TAP_OK(dl_dedup_check(d, &e, 2 * SEC) == 1, "oldest key was evicted, logged again");
	}
	dl_dedup_free(d);
}

/* op=setenforce for a family and for one rule (drylock mode --rule ID). */
static void test_setenforce(void)
{
	char text[256];

	dl_audit_format_setenforce(text, sizeof(text), DL_FAMILY_NET, NULL, 1, 0);
	TAP_OK(!strcmp(text, "op=setenforce lsm=drylock class=net enforcing=1 old_enforcing=0"),
	       "setenforce for a family: %s", text);
	dl_audit_format_setenforce(text, sizeof(text), DL_FAMILY_NET, "smtp-out", 1, 0);
	TAP_OK(!strcmp(text, "op=setenforce lsm=drylock class=net rule=smtp-out enforcing=1 old_enforcing=0"),
	       "setenforce for one rule: %s", text);
	dl_audit_format_setenforce(text, sizeof(text), DL_FAMILY_KVM, "one", 0, 1);
	TAP_OK(!strcmp(text, "op=setenforce lsm=drylock class=kvm rule=one enforcing=0 old_enforcing=1"),
	       "setenforce for a kvm rule, back to permissive: %s", text);
	dl_audit_format_setenforce(text, sizeof(text), DL_FAMILY_NET, "a b=c", 1, 1);
	TAP_OK(!strcmp(text, "op=setenforce lsm=drylock class=net rule=6120623D63 enforcing=1 old_enforcing=1"),
	       "a rule id that is not a plain id is hex-encoded: %s", text);
}

int main(void)
{
	test_encode();
	test_hostile();
	test_format();
	test_setenforce();
	test_dedup();
	return tap_done();
}
