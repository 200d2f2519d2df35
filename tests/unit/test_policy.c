/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Policy parser, diagnostics, includes, canonical text, sha256, and the net
 * compiler/decider (the user-space mirror of bpf/net.bpf.c), all without
 * privileges: include trees live in a mkdtemp directory and cgroups come
 * from a fake resolver.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>
#include "tap.h"
#include "collector/policy.h"
#include "bpf/net_pf.h"

static char tmpdir[256];

static void write_file(const char *rel, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	f = fopen(path, "w");
	if (!f) {
		perror(path);
		exit(1);
	}
	fputs(text, f);
	fclose(f);
}

static char *tpath(const char *rel)
{
	static char buf[4][512];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", tmpdir, rel);
	return buf[i];
}

static void dump(const struct dl_diags *d)
{
	for (size_t i = 0; i < d->n; i++)
		printf("#   %s:%u:%u: %s\n", d->v[i].file, d->v[i].line, d->v[i].col, d->v[i].msg);
}

/* text with newlines and tabs made visible, for one-line TAP names */
static const char *show(const char *text)
{
	static char buf[512];
	size_t o = 0;

	for (const char *p = text; *p && o + 3 < sizeof(buf); p++) {
		if (*p == '\n' || *p == '\t') {
			buf[o++] = '\\';
			buf[o++] = *p == '\n' ? 'n' : 't';
		} else {
			buf[o++] = *p;
		}
	}
	buf[o] = '\0';
	return buf;
}

/* Parse text; expect exactly one error at line:col whose message contains sub. */
static void expect_error(const char *text, unsigned line, unsigned col, const char *sub)
{
	struct dl_diags d = { 0 };
	struct dl_policy *p = (void *)1;
	int r = dl_policy_parse_string("t.policy", text, &p, &d);
	int ok = r == -EINVAL && p == NULL && d.n == 1 && !strcmp(d.v[0].file, "t.policy") &&
		 d.v[0].line == line && d.v[0].col == col && strstr(d.v[0].msg, sub);

	TAP_OK(ok, "error %u:%u '%s' for: %s", line, col, sub, show(text));
	if (!ok)
		dump(&d);
	dl_diags_free(&d);
}

static struct dl_policy *parse_ok(const char *text)
{
	struct dl_diags d = { 0 };
	struct dl_policy *p = NULL;

	if (dl_policy_parse_string("t.policy", text, &p, &d) < 0 || d.n) {
		printf("# unexpected errors for: %s\n", show(text));
		dump(&d);
	}
	dl_diags_free(&d);
	return p;
}

static void expect_canon(const char *line, const char *want)
{
	struct dl_policy *p = parse_ok(line);
	int ok = p && p->n_rules == 1 && !strcmp(p->rules[0].text, want);

	TAP_OK(ok, "canonical '%s' -> '%s'%s%s", line, want, p && p->n_rules ? " got " : "",
	       p && p->n_rules ? p->rules[0].text : "");
	dl_policy_free(p);
}

static void test_sha256(void)
{
	static const struct { const char *in; const char *hex; } v[] = {
		{ "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
		{ "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
		{ "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopq"
		  "klmnopqrlmnopqrsmnopqrstnopqrstu",
		  "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1" },
	};
	/* padding boundaries: 55 (one block), 56 and 63 (two blocks), 64, 119 */
	static const struct { size_t n; const char *hex; } a[] = {
		{ 55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318" },
		{ 56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a" },
		{ 63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34" },
		{ 64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb" },
		{ 119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb" },
		{ 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0" },
	};
	char out[65];
	char *buf = malloc(1000000);

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		dl_sha256_hex(v[i].in, strlen(v[i].in), out);
		TAP_OK(!strcmp(out, v[i].hex), "sha256 vector %zu (%zu bytes)", i, strlen(v[i].in));
	}
	memset(buf, 'a', 1000000);
	for (size_t i = 0; i < sizeof(a) / sizeof(a[0]); i++) {
		dl_sha256_hex(buf, a[i].n, out);
		TAP_OK(!strcmp(out, a[i].hex), "sha256 of %zu x 'a'", a[i].n);
	}
	free(buf);
}

static void test_valid(void)
{
	struct dl_policy *p;
	char want[65];
	const char *text =
		"# cloud metadata\n"
		"policy cloud-meta\n"
		"\n"
		"net deny meta addr=169.254.169.254 port=80 proto=tcp   # IMDS\n"
		"net allow dns addr=10.0.0.0/8 port=53 proto=udp op=connect,bind cgroup=/web.slice\n"
		"net deny v6 \\\n"
		"    addr=2001:db8::/32 port=1000-2000\n"
		"\tnet deny all addr=any\n";

	p = parse_ok(text);
	TAP_OK(p != NULL, "valid policy parses");
	if (!p)
		return;
	TAP_OK(p->n_rules == 4, "4 rules (%zu)", p->n_rules);
	TAP_OK(!strcmp(p->name, "cloud-meta"), "policy name from directive");
	TAP_OK(p->families == 1u << DL_FAMILY_NET, "families bitmask");
	{
		const struct dl_rule *r = &p->rules[0];
		__u8 a[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 169, 254, 169, 254 };

		TAP_OK(!strcmp(r->id, "meta") && r->family == DL_FAMILY_NET && r->action == DL_ACTION_DENY &&
		       !strcmp(r->file, "t.policy") && r->line == 4, "rule 0 id/family/action/file/line");
		TAP_OK(!memcmp(r->u.net.addr, a, 16) && r->u.net.prefixlen == 128,
		       "IPv4 host stored v4-mapped /128");
		TAP_OK(r->u.net.port_lo == 80 && r->u.net.port_hi == 80 && r->u.net.proto == 6 &&
		       r->u.net.ops == DL_NET_OP_CONNECT && r->u.net.cgroup == NULL,
		       "rule 0 port/proto/default op/no cgroup");
	}
	{
		const struct dl_rule *r = &p->rules[1];

		TAP_OK(r->action == DL_ACTION_ALLOW && r->u.net.prefixlen == 104 && r->u.net.addr[12] == 10 &&
		       r->u.net.proto == 17 && r->u.net.ops == (DL_NET_OP_CONNECT | DL_NET_OP_BIND) &&
		       r->u.net.cgroup && !strcmp(r->u.net.cgroup, "/web.slice"),
		       "rule 1: 10/8 as /104, udp, connect+bind, cgroup");
	}
	{
		const struct dl_rule *r = &p->rules[2];

		TAP_OK(r->line == 6 && r->u.net.prefixlen == 32 && r->u.net.addr[0] == 0x20 &&
		       r->u.net.addr[1] == 0x01 && r->u.net.port_lo == 1000 && r->u.net.port_hi == 2000,
		       "rule 2: continued line, IPv6 /32, port range, line of the first physical line");
	}
	TAP_OK(p->rules[3].u.net.prefixlen == 0 && p->rules[3].u.net.port_lo == 0 &&
	       p->rules[3].u.net.port_hi == 65535 && p->rules[3].u.net.proto == 0,
	       "rule 3: any, any port, any proto");
	TAP_OK(!strncmp(p->text, "# drylock-file: t.policy\n# cloud metadata\n", 42) &&
	       strstr(p->text, "net deny all addr=any\n"), "policy text: header + file content");
	dl_sha256_hex(p->text, strlen(p->text), want);
	TAP_OK(!strcmp(p->sha256, want) && strlen(p->sha256) == 64, "sha256 is of the text");
	{
		struct dl_policy *q = parse_ok(text);
		char *t2 = strdup(text);
		struct dl_policy *r;

		t2[2] = 'C'; /* "# cloud" -> "# Cloud": only a comment changes */
		r = parse_ok(t2);
		TAP_OK(q && !strcmp(q->sha256, p->sha256), "sha256 stable across parses");
		TAP_OK(r && strcmp(r->sha256, p->sha256) != 0, "sha256 changes when the text changes");
		dl_policy_free(q);
		dl_policy_free(r);
		free(t2);
	}
	dl_policy_free(p);

	p = parse_ok("net deny x addr=any\n");
	TAP_OK(p && !strcmp(p->name, "t.policy"), "no policy directive: name is the file's basename");
	dl_policy_free(p);
	p = parse_ok("");
	TAP_OK(p && p->n_rules == 0 && p->families == 0, "empty policy is valid");
	dl_policy_free(p);
	p = parse_ok("net deny a0._- addr=any\nnet deny 0123456789abcdefghijklmnopqrstuv addr=any");
	TAP_OK(p && p->n_rules == 2, "id charset and 32-char id accepted; no trailing newline needed");
	dl_policy_free(p);
	p = parse_ok("net deny x addr=any # port=bad ' \\\nnet deny y addr=any cgroup=/");
	TAP_OK(p && p->n_rules == 2 && p->rules[1].u.net.cgroup && !strcmp(p->rules[1].u.net.cgroup, "/"),
	       "comment ends the line (its backslash does not continue); cgroup=/ allowed");
	dl_policy_free(p);
}

static void test_canonical(void)
{
	expect_canon("net deny meta addr=169.254.169.254 port=80 proto=tcp",
		     "net deny meta addr=169.254.169.254/32 port=80 proto=tcp op=connect");
	expect_canon("net allow x cgroup=/a/b op=bind proto=udp port=1-2 addr=::1",
		     "net allow x addr=::1/128 port=1-2 proto=udp op=bind cgroup=/a/b");
	expect_canon("net deny x addr=10.0.0.0/8 port=0-65535 proto=any op=bind,connect",
		     "net deny x addr=10.0.0.0/8 op=connect,bind");
	expect_canon("net deny x addr=any4", "net deny x addr=any4 op=connect");
	expect_canon("net deny x addr=0.0.0.0/0", "net deny x addr=any4 op=connect");
	expect_canon("net deny x addr=any6", "net deny x addr=any op=connect");
	expect_canon("net deny x addr=::/0", "net deny x addr=any op=connect");
	expect_canon("net deny x addr=::ffff:10.0.0.0/104", "net deny x addr=10.0.0.0/8 op=connect");
	expect_canon("net deny x addr=2001:DB8:0:0::/32 port=443", "net deny x addr=2001:db8::/32 port=443 op=connect");
	expect_canon("net deny x addr=1.2.3.4 port=0", "net deny x addr=1.2.3.4/32 port=0 op=connect");
	/* mode= (every family): last in the canonical text, only when given */
	expect_canon("net deny x mode=enforce addr=10.0.0.0/8 port=25",
		     "net deny x addr=10.0.0.0/8 port=25 op=connect mode=enforce");
	expect_canon("net allow x addr=::1 mode=permissive cgroup=/a",
		     "net allow x addr=::1/128 op=connect cgroup=/a mode=permissive");
	expect_canon("kvm deny one mode=enforce", "kvm deny one mode=enforce");
	expect_canon("kvm allow ci cgroup=/ci mode=permissive", "kvm allow ci cgroup=/ci mode=permissive");
}

/* mode= changes the rule's text and so the policy's identity. */
static void test_mode_identity(void)
{
	struct dl_diags d = { 0 };
	struct dl_policy *a = NULL, *b = NULL;

	dl_policy_parse_string("t.policy", "net deny x addr=1.2.3.4\n", &a, &d);
	dl_policy_parse_string("t.policy", "net deny x addr=1.2.3.4 mode=enforce\n", &b, &d);
	TAP_OK(a && b && strcmp(a->sha256, b->sha256) && strcmp(a->rules[0].text, b->rules[0].text),
	       "mode=enforce changes the rule's canonical text and the policy's sha256");
	dl_policy_free(a);
	dl_policy_free(b);
	dl_diags_free(&d);
}

static void test_errors(void)
{
	expect_error("net deny a addr=1.2.3.4 bogus=1", 1, 25, "unknown key 'bogus'");
	expect_error("net deny a addr=1.2.3.4 port=1 port=2", 1, 32, "duplicate key 'port' (first at column 25)");
	expect_error("net deny a port=80", 1, 1, "missing the required key addr=");
	expect_error("net deny a addr=1.2.3.4 mode=strict", 1, 25, "invalid mode 'strict' (expected enforce or permissive)");
	expect_error("net deny a addr=1.2.3.4 mode=", 1, 25, "invalid mode '' (expected enforce or permissive)");
	expect_error("net deny a addr=1.2.3.4 mode=family", 1, 25, "invalid mode 'family'");
	expect_error("net deny a addr=1.2.3.4 mode=Enforce", 1, 25, "invalid mode 'Enforce'");
	expect_error("net deny a mode=enforce addr=1.2.3.4 mode=permissive", 1, 38,
		     "duplicate key 'mode' (first at column 12)");
	expect_error("kvm deny k\\\n  mode=enforcing", 2, 3, "invalid mode 'enforcing'");
	expect_error("net deny a addr=1.2.3.4 bogus=1", 1, 25, "(expected addr, port, proto, op, cgroup, mode)");
	expect_error("net deny a addr=10.0.0.1/8", 1, 12, "host bits set, did you mean 10.0.0.0/8?");
	expect_error("net deny a addr=2001:db8::1/32", 1, 12, "host bits set, did you mean 2001:db8::/32?");
	expect_error("net deny a addr=300.1.1.1", 1, 12, "invalid address '300.1.1.1'");
	expect_error("net deny a addr=1.2.3", 1, 12, "invalid address");
	expect_error("net deny a addr=", 1, 12, "invalid address ''");
	expect_error("net deny a addr=1.2.3.4/33", 1, 12, "invalid prefix length '/33'");
	expect_error("net deny a addr=1.2.3.4/", 1, 12, "invalid prefix length");
	expect_error("net deny a addr=::1/129", 1, 12, "invalid prefix length '/129'");
	expect_error("net deny a addr=any port=90-80", 1, 21, "invalid port range '90-80'");
	expect_error("net deny a addr=any port=65536", 1, 21, "invalid port '65536'");
	expect_error("net deny a addr=any port=-1", 1, 21, "invalid port '-1'");
	expect_error("net deny a addr=any port=1-", 1, 21, "invalid port");
	expect_error("net deny a addr=any port=http", 1, 21, "invalid port");
	expect_error("net deny a addr=any proto=icmp", 1, 21, "invalid proto 'icmp'");
	expect_error("net deny a addr=any op=listen", 1, 21, "invalid op 'listen'");
	expect_error("net deny a addr=any op=connect,connect", 1, 21, "invalid op");
	expect_error("net deny a addr=any op=", 1, 21, "invalid op");
	expect_error("net deny a addr=any cgroup=web", 1, 21, "must start with '/'");
	expect_error("net deny a addr=any cgroup=/a/../b", 1, 21, "must not contain '..'");
	expect_error("net deny a addr=any cgroup=/..", 1, 21, "must not contain '..'");
	expect_error("net deny a addr=any cgroup=/a/", 1, 21, "must not end with '/'");
	expect_error("net deny a addr=any cgroup=/a//b", 1, 21, "empty component");
	expect_error("net block a addr=any", 1, 5, "invalid action 'block'");
	expect_error("net deny A addr=any", 1, 10, "invalid rule id 'A'");
	expect_error("net deny -a addr=any", 1, 10, "invalid rule id '-a'");
	expect_error("net deny 0123456789abcdefghijklmnopqrstuvw addr=any", 1, 10, "invalid rule id");
	expect_error("net deny", 1, 9, "expected a rule id after 'deny'");
	expect_error("net", 1, 4, "expected 'allow' or 'deny'");
	expect_error("tcp deny a addr=any", 1, 1, "unknown directive 'tcp'");
	expect_error("net deny a addr=any port", 1, 21, "expected key=value, got 'port'");
	expect_error("net deny a =x addr=any", 1, 12, "expected key=value");
	expect_error("net deny a addr=any\nnet allow a addr=any", 2, 11,
		     "duplicate rule id 'a' (first defined at t.policy:1)");
	expect_error("policy x\npolicy y", 2, 1, "duplicate 'policy' directive (first at t.policy:1)");
	expect_error("policy", 1, 7, "expected a name after 'policy'");
	expect_error("policy a b", 1, 10, "unexpected 'b'");
	expect_error("include", 1, 8, "expected a path after 'include'");
	expect_error("net deny a \\\n   addr=1.2.3.4/8", 2, 4, "host bits set, did you mean 1.0.0.0/8?");
	expect_error("\t net deny a addr=any x", 1, 23, "expected key=value");
	expect_error("net deny a addr=any#x", 1, 12, "invalid address 'any#x'");
	expect_error("\n\n  # c\n  net deny a addr=any proto=sctp\n", 4, 23, "invalid proto");

	/* several errors in one file: all reported, in order, with positions */
	{
		struct dl_diags d = { 0 };
		struct dl_policy *p = NULL;
		int r = dl_policy_parse_string("m.policy",
					       "net deny ok addr=any\n"
					       "net deny b1 addr=1.2.3.4/40 port=x\n"
					       "net allow ok addr=any\n"
					       "include\n"
					       "net deny fine addr=::1\n"
					       "bogus\n", &p, &d);
		int ok = r == -EINVAL && p == NULL && d.n == 5;

		ok = ok && d.v[0].line == 2 && d.v[0].col == 13 && strstr(d.v[0].msg, "prefix length");
		ok = ok && d.v[1].line == 2 && d.v[1].col == 29 && strstr(d.v[1].msg, "invalid port");
		ok = ok && d.v[2].line == 3 && d.v[2].col == 11 && strstr(d.v[2].msg, "duplicate rule id");
		ok = ok && d.v[3].line == 4 && d.v[3].col == 8;
		ok = ok && d.v[4].line == 6 && d.v[4].col == 1 && strstr(d.v[4].msg, "unknown directive");
		TAP_OK(ok, "five errors in one file, all reported with line:col");
		if (!ok)
			dump(&d);

		/* dl_diags_print format */
		{
			char *buf = NULL;
			size_t len = 0;
			FILE *f = open_memstream(&buf, &len);

			dl_diags_print(&d, f);
			fclose(f);
			TAP_OK(buf && !strncmp(buf, "m.policy:2:13: error: invalid prefix length", 43) &&
			       strstr(buf, "\nm.policy:6:1: error: unknown directive"),
			       "dl_diags_print: file:line:col: error: msg");
			free(buf);
		}
		/* appended to, never reset */
		r = dl_policy_parse_string("n.policy", "x", &p, &d);
		TAP_OK(r == -EINVAL && d.n == 6 && !strcmp(d.v[5].file, "n.policy"), "diags are appended to");
		dl_diags_free(&d);
		TAP_OK(d.n == 0 && d.v == NULL, "dl_diags_free resets");
	}
}

static void test_includes(void)
{
	struct dl_diags d = { 0 };
	struct dl_policy *p = NULL;
	char sub[512];
	int r;

	snprintf(sub, sizeof(sub), "%s/sub", tmpdir);
	mkdir(sub, 0700);
	snprintf(sub, sizeof(sub), "%s/conf.d", tmpdir);
	mkdir(sub, 0700);
	snprintf(sub, sizeof(sub), "%s/empty.d", tmpdir);
	mkdir(sub, 0700);

	write_file("top.policy", "policy top\ninclude sub/a.policy\ninclude conf.d/*.policy\n"
				 "include empty.d/*.policy\nnet deny t addr=5.5.5.5\n");
	write_file("sub/a.policy", "net deny a addr=1.1.1.1\ninclude ../b.policy\n");
	write_file("b.policy", "net deny b addr=2.2.2.2");
	write_file("conf.d/20-y.policy", "net deny y addr=4.4.4.4\n");
	write_file("conf.d/10-x.policy", "net deny x addr=3.3.3.3\n");
	write_file("conf.d/README", "this is not a policy\n");

	r = dl_policy_parse_file(tpath("top.policy"), &p, &d);
	TAP_OK(r == 0 && p && d.n == 0, "include tree parses");
	if (!p) {
		dump(&d);
	} else {
		int order = p->n_rules == 5 && !strcmp(p->rules[0].id, "a") && !strcmp(p->rules[1].id, "b") &&
			    !strcmp(p->rules[2].id, "x") && !strcmp(p->rules[3].id, "y") &&
			    !strcmp(p->rules[4].id, "t");

		TAP_OK(order, "rules in include order; glob sorted (10-x before 20-y); empty glob ok");
		TAP_OK(!strcmp(p->rules[1].file, tpath("sub/../b.policy")) && p->rules[1].line == 1,
		       "include relative to the including file's directory (%s)", p->rules[1].file);
		TAP_OK(!strcmp(p->name, "top"), "policy name");
		TAP_OK(strstr(p->text, "# drylock-file: ") == p->text &&
		       strstr(p->text, "\nnet deny b addr=2.2.2.2\n# drylock-file: ") &&
		       strstr(p->text, "\n# drylock-file: conf.d/10-x.policy\nnet deny x"),
		       "text concatenates every file with headers");
	}
	dl_policy_free(p);
	p = NULL;

	/* missing include: error at the path token; missing glob is fine */
	write_file("miss.policy", "net deny m addr=any\ninclude nothere.policy\ninclude nothere.d/*.policy\n");
	r = dl_policy_parse_file(tpath("miss.policy"), &p, &d);
	TAP_OK(r == -EINVAL && d.n == 1 && !strcmp(d.v[0].file, tpath("miss.policy")) && d.v[0].line == 2 &&
	       d.v[0].col == 9 && strstr(d.v[0].msg, "cannot read include") &&
	       strstr(d.v[0].msg, "No such file"), "missing include: file:2:9");
	dump(&d);
	dl_diags_free(&d);

	/* cycle a -> b -> a, and a file including itself */
	write_file("c1.policy", "net deny c1 addr=any\ninclude c2.policy\n");
	write_file("c2.policy", "\ninclude c1.policy\n");
	r = dl_policy_parse_file(tpath("c1.policy"), &p, &d);
	TAP_OK(r == -EINVAL && d.n == 1 && !strcmp(d.v[0].file, tpath("c2.policy")) && d.v[0].line == 2 &&
	       d.v[0].col == 9 && strstr(d.v[0].msg, "include cycle"), "include cycle detected at c2:2:9");
	dump(&d);
	dl_diags_free(&d);
	write_file("self.policy", "include ./self.policy\n");
	r = dl_policy_parse_file(tpath("self.policy"), &p, &d);
	TAP_OK(r == -EINVAL && d.n == 1 && strstr(d.v[0].msg, "include cycle"), "self include detected");
	dl_diags_free(&d);

	/* duplicate id across files names where the first was */
	write_file("d1.policy", "net deny dup addr=any\ninclude d2.policy\n");
	write_file("d2.policy", "# x\nnet allow dup addr=::1\n");
	r = dl_policy_parse_file(tpath("d1.policy"), &p, &d);
	{
		char want[600];

		snprintf(want, sizeof(want), "duplicate rule id 'dup' (first defined at %s:1)", tpath("d1.policy"));
		TAP_OK(r == -EINVAL && d.n == 1 && !strcmp(d.v[0].file, tpath("d2.policy")) &&
		       d.v[0].line == 2 && d.v[0].col == 11 && !strcmp(d.v[0].msg, want),
		       "duplicate id across files: d2:2:11 names d1:1");
		dump(&d);
	}
	dl_diags_free(&d);

	/* policy directive only in the top file */
	write_file("p1.policy", "include p2.policy\n");
	write_file("p2.policy", "policy inner\n");
	r = dl_policy_parse_file(tpath("p1.policy"), &p, &d);
	TAP_OK(r == -EINVAL && d.n == 1 && d.v[0].line == 1 && d.v[0].col == 1 &&
	       strstr(d.v[0].msg, "only allowed in the top file"), "policy directive in an include rejected");
	dl_diags_free(&d);

	/* errors inside an included file carry that file's name */
	write_file("e1.policy", "include e2.policy\n");
	write_file("e2.policy", "net deny e addr=any port=x\n");
	r = dl_policy_parse_file(tpath("e1.policy"), &p, &d);
	TAP_OK(r == -EINVAL && d.n == 1 && !strcmp(d.v[0].file, tpath("e2.policy")) && d.v[0].line == 1 &&
	       d.v[0].col == 21, "error in an included file reported at that file's line:col");
	dl_diags_free(&d);

	/* top file missing: -errno plus a diagnostic */
	r = dl_policy_parse_file(tpath("absent.policy"), &p, &d);
	TAP_OK(r == -ENOENT && p == NULL && d.n == 1 && d.v[0].line == 0, "missing top file: -ENOENT");
	dl_diags_free(&d);
}

/* ---------------------------------------------------------------------- */
/* compile + decide */

#define CG_WEB 5001
#define CG_APP 5002
#define CG_OTHER 5003
#define CG_ROOT 1

static int resolver_calls;

static int fake_resolve(const char *path, __u64 *id, __u8 *level, void *ctx)
{
	static const struct { const char *p; __u64 id; __u8 level; } t[] = {
		{ "/", CG_ROOT, 0 },
		{ "/web.slice", CG_WEB, 1 },
		{ "/web.slice/app.service", CG_APP, 2 },
		{ "/other.slice", CG_OTHER, 1 },
	};

	resolver_calls++;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (!strcmp(t[i].p, path)) {
			*id = t[i].id;
			*level = t[i].level;
			return 0;
		}
	}
	return -ENOENT;
}

static const char *decide_policy =
	"net deny meta addr=169.254.169.254 proto=tcp\n"                    /* 0 */
	"net allow meta-dns addr=169.254.169.254 port=53\n"                 /* 1 */
	"net deny lan addr=10.0.0.0/8\n"                                    /* 2 */
	"net allow lan-web addr=10.1.0.0/16 port=80-443 proto=tcp\n"        /* 3 */
	"net deny lan-web-x addr=10.1.0.0/16 port=443 proto=tcp\n"          /* 4 */
	"net allow web-cg addr=10.0.0.0/8 cgroup=/web.slice\n"              /* 5 */
	"net deny v6doc addr=2001:db8::/32 op=connect,bind\n"               /* 6 */
	"net allow v6host addr=2001:db8::1\n"                               /* 7 */
	"net deny all4-smtp addr=any4 port=25\n"                            /* 8 */
	"net allow tie-a addr=192.0.2.0/24 port=22\n"                       /* 9 */
	"net deny tie-d addr=192.0.2.0/24 port=22\n"                        /* 10 */
	"net allow bindonly addr=127.0.0.1 op=bind\n"                       /* 11 */
	"net deny udp53 addr=any proto=udp port=53\n"                       /* 12 */
	"net deny deep addr=10.0.0.0/8 cgroup=/web.slice/app.service\n"     /* 13 */
	"net deny web-telnet addr=192.0.2.0/24 port=23 cgroup=/web.slice\n" /* 14 */
	"net allow tcp-any addr=198.51.100.0/24 proto=tcp\n"                /* 15 */
	"net deny port-any addr=198.51.100.0/24 port=8000-8100\n";          /* 16 */

static void addr_of(const char *s, __u8 a[16])
{
	memset(a, 0, 16);
	if (inet_pton(AF_INET, s, a + 12) == 1) {
		a[10] = a[11] = 0xff;
		return;
	}
	if (inet_pton(AF_INET6, s, a) != 1) {
		printf("# bad test address %s\n", s);
		exit(1);
	}
}

static int rule_of(const struct dl_policy *p, const char *id)
{
	if (!id)
		return -1;
	for (size_t i = 0; i < p->n_rules; i++)
		if (!strcmp(p->rules[i].id, id))
			return (int)i;
	return -2;
}

static void test_compile(void)
{
	static const __u64 anc_none[] = { CG_ROOT };
	static const __u64 anc_web[] = { CG_ROOT, CG_WEB };
	static const __u64 anc_app[] = { CG_ROOT, CG_WEB, CG_APP };
	static const __u64 anc_other[] = { CG_ROOT, CG_OTHER };
	static const struct {
		const char *addr;
		__u16 port;
		__u8 proto, op;
		const __u64 *anc;
		size_t n_anc;
		const char *want;   /* rule id, NULL: no rule */
		__u8 action;
	} cases[] = {
#define A(x) x, sizeof(x) / sizeof(x[0])
		{ "169.254.169.254", 80, 6, DL_NET_OP_CONNECT, A(anc_none), "meta", DL_ACTION_DENY },
		{ "169.254.169.254", 80, 17, DL_NET_OP_CONNECT, A(anc_none), NULL, DL_ACTION_ALLOW },
		{ "169.254.169.254", 53, 6, DL_NET_OP_CONNECT, A(anc_none), "meta-dns", DL_ACTION_ALLOW },
		{ "::ffff:169.254.169.254", 80, 6, DL_NET_OP_CONNECT, A(anc_none), "meta", DL_ACTION_DENY },
		{ "169.254.169.254", 80, 6, DL_NET_OP_BIND, A(anc_none), NULL, DL_ACTION_ALLOW },
		{ "10.2.3.4", 80, 6, DL_NET_OP_CONNECT, A(anc_none), "lan", DL_ACTION_DENY },
		{ "10.1.2.3", 80, 6, DL_NET_OP_CONNECT, A(anc_none), "lan-web", DL_ACTION_ALLOW },
		{ "10.1.2.3", 443, 6, DL_NET_OP_CONNECT, A(anc_none), "lan-web-x", DL_ACTION_DENY },
		{ "10.1.2.3", 80, 17, DL_NET_OP_CONNECT, A(anc_none), "lan", DL_ACTION_DENY },
		{ "10.1.2.3", 8080, 6, DL_NET_OP_CONNECT, A(anc_none), "lan", DL_ACTION_DENY },
		{ "10.2.3.4", 80, 6, DL_NET_OP_CONNECT, A(anc_web), "web-cg", DL_ACTION_ALLOW },
		{ "10.2.3.4", 80, 6, DL_NET_OP_CONNECT, A(anc_app), "deep", DL_ACTION_DENY },
		{ "10.2.3.4", 80, 6, DL_NET_OP_CONNECT, A(anc_other), "lan", DL_ACTION_DENY },
		{ "10.1.2.3", 8080, 6, DL_NET_OP_CONNECT, A(anc_web), "web-cg", DL_ACTION_ALLOW },
		{ "10.1.2.3", 80, 6, DL_NET_OP_CONNECT, A(anc_web), "lan-web", DL_ACTION_ALLOW },
		{ "10.2.3.4", 80, 6, DL_NET_OP_CONNECT, NULL, 0, "lan", DL_ACTION_DENY },
		{ "2001:db8::5", 1, 6, DL_NET_OP_BIND, A(anc_none), "v6doc", DL_ACTION_DENY },
		{ "2001:db8::1", 1, 6, DL_NET_OP_CONNECT, A(anc_none), "v6host", DL_ACTION_ALLOW },
		{ "2001:db8::1", 53, 17, DL_NET_OP_CONNECT, A(anc_none), "v6host", DL_ACTION_ALLOW },
		{ "2001:db9::1", 53, 6, DL_NET_OP_CONNECT, A(anc_none), NULL, DL_ACTION_ALLOW },
		{ "2001:db9::1", 53, 17, DL_NET_OP_CONNECT, A(anc_none), "udp53", DL_ACTION_DENY },
		{ "8.8.8.8", 25, 6, DL_NET_OP_CONNECT, A(anc_none), "all4-smtp", DL_ACTION_DENY },
		{ "::ffff:8.8.8.8", 25, 6, DL_NET_OP_CONNECT, A(anc_none), "all4-smtp", DL_ACTION_DENY },
		{ "::8.8.8.8", 25, 6, DL_NET_OP_CONNECT, A(anc_none), NULL, DL_ACTION_ALLOW },
		{ "8.8.8.8", 26, 6, DL_NET_OP_CONNECT, A(anc_none), NULL, DL_ACTION_ALLOW },
		{ "8.8.8.8", 53, 17, DL_NET_OP_CONNECT, A(anc_none), "udp53", DL_ACTION_DENY },
		{ "192.0.2.7", 22, 6, DL_NET_OP_CONNECT, A(anc_none), "tie-d", DL_ACTION_DENY },
		{ "192.0.2.7", 23, 6, DL_NET_OP_CONNECT, A(anc_web), "web-telnet", DL_ACTION_DENY },
		{ "192.0.2.7", 23, 6, DL_NET_OP_CONNECT, A(anc_app), "web-telnet", DL_ACTION_DENY },
		{ "192.0.2.7", 23, 6, DL_NET_OP_CONNECT, A(anc_none), NULL, DL_ACTION_ALLOW },
		{ "127.0.0.1", 0, 6, DL_NET_OP_BIND, A(anc_none), "bindonly", DL_ACTION_ALLOW },
		{ "127.0.0.1", 0, 6, DL_NET_OP_CONNECT, A(anc_none), NULL, DL_ACTION_ALLOW },
		{ "198.51.100.9", 8050, 6, DL_NET_OP_CONNECT, A(anc_none), "port-any", DL_ACTION_DENY },
		{ "198.51.100.9", 8000, 6, DL_NET_OP_CONNECT, A(anc_none), "port-any", DL_ACTION_DENY },
		{ "198.51.100.9", 8100, 6, DL_NET_OP_CONNECT, A(anc_none), "port-any", DL_ACTION_DENY },
		{ "198.51.100.9", 8101, 6, DL_NET_OP_CONNECT, A(anc_none), "tcp-any", DL_ACTION_ALLOW },
		{ "198.51.100.9", 7999, 17, DL_NET_OP_CONNECT, A(anc_none), NULL, DL_ACTION_ALLOW },
#undef A
	};
	struct dl_policy *p = parse_ok(decide_policy);
	struct dl_net_entry *e = NULL;
	struct dl_diags d = { 0 };
	size_t n = 0;
	int r;

	TAP_OK(p && p->n_rules == 17, "decide policy parses");
	if (!p)
		return;
	resolver_calls = 0;
	r = dl_net_compile(p, fake_resolve, NULL, &e, &n, &d);
	TAP_OK(r == 0 && d.n == 0, "compiles");
	TAP_OK(resolver_calls == 2, "each distinct cgroup path resolved once (%d calls)", resolver_calls);
	TAP_OK(n == 10, "one entry per distinct prefix (%zu)", n);

	/* the 10.1.0.0/16 entry: every covering rule, most specific first */
	{
		static const char *const want[] = { "lan-web-x", "lan-web", "deep", "web-cg", "lan",
						     "all4-smtp", "udp53" };
		const struct dl_net_entry *ent = NULL;
		__u8 a[16];
		int ok;

		addr_of("10.1.0.0", a);
		for (size_t i = 0; i < n; i++)
			if (e[i].key.prefixlen == 112 && !memcmp(e[i].key.addr, a, 16))
				ent = &e[i];
		ok = ent && ent->set.n == 7;
		for (size_t i = 0; ok && i < 7; i++)
			ok = ent->set.r[i].rule_idx == (__u32)rule_of(p, want[i]);
		TAP_OK(ok, "10.1.0.0/16 set: prefix, port width, proto, cgroup depth, then the rest");
		if (ent)
			TAP_OK(ent->set.r[2].cgroup_id == CG_APP && ent->set.r[2].cgroup_level == 2 &&
			       ent->set.r[3].cgroup_id == CG_WEB && ent->set.r[3].cgroup_level == 1 &&
			       ent->set.r[4].cgroup_id == 0 && ent->set.r[0].proto == 6 &&
			       ent->set.r[0].port_lo == 443 && ent->set.r[0].port_hi == 443 &&
			       ent->set.r[0].action == DL_ACTION_DENY &&
			       ent->set.r[0].ops == DL_NET_OP_CONNECT && ent->set.gen == 0,
			       "kernel rule fields: cgroup id/level, proto, ports, action, ops");
		else
			TAP_OK(0, "10.1.0.0/16 entry present");
	}
	/* the tie: deny first though written second */
	{
		__u8 a[16];
		int ok = 0;

		addr_of("192.0.2.0", a);
		for (size_t i = 0; i < n; i++)
			if (e[i].key.prefixlen == 120 && !memcmp(e[i].key.addr, a, 16))
				ok = e[i].set.r[1].rule_idx == 10 && e[i].set.r[2].rule_idx == 9 &&
				     e[i].set.r[0].rule_idx == 14;
		TAP_OK(ok, "full tie: deny before allow; scoped telnet first (narrower port)");
	}

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		__u8 a[16], act = 99;
		__u32 got;
		int want = cases[i].want ? rule_of(p, cases[i].want) : -1;

		addr_of(cases[i].addr, a);
		got = dl_net_decide(e, n, a, cases[i].port, cases[i].proto, cases[i].op, cases[i].anc,
				    cases[i].n_anc, &act);
		TAP_OK((want < 0 ? got == DL_RULE_NONE : got == (__u32)want) && act == cases[i].action,
		       "decide %s port %u proto %u op %u n_anc %zu -> %s (got %s)", cases[i].addr, cases[i].port,
		       cases[i].proto, cases[i].op, cases[i].n_anc, cases[i].want ? cases[i].want : "none",
		       got == DL_RULE_NONE ? "none" : got < p->n_rules ? p->rules[got].id : "?");
	}
	free(e);
	dl_diags_free(&d);

	/* no entries at all */
	{
		__u8 a[16], act = 7;

		addr_of("1.2.3.4", a);
		TAP_OK(dl_net_decide(NULL, 0, a, 1, 6, DL_NET_OP_CONNECT, NULL, 0, &act) == DL_RULE_NONE &&
		       act == DL_ACTION_ALLOW, "empty table: DL_RULE_NONE, allow");
	}
	dl_policy_free(p);

	/* unknown cgroup: error with the rule's file:line */
	p = parse_ok("net deny a addr=any\n\nnet deny b addr=any cgroup=/nope.slice\n"
		     "net deny c addr=::1 cgroup=/nope.slice\n");
	e = NULL;
	resolver_calls = 0;
	r = dl_net_compile(p, fake_resolve, NULL, &e, &n, &d);
	TAP_OK(r == -EINVAL && e == NULL && d.n == 2 && d.v[0].line == 3 && !strcmp(d.v[0].file, "t.policy") &&
	       !strcmp(d.v[0].msg, "cgroup /nope.slice not found under /sys/fs/cgroup") && d.v[1].line == 4,
	       "missing cgroup reported per rule with file:line");
	TAP_OK(resolver_calls == 1, "failing path also resolved only once");
	dump(&d);
	dl_diags_free(&d);
	dl_policy_free(p);

	/* too many rules for one prefix */
	{
		char *buf = malloc(64 * 80);
		size_t off = 0;

		for (int i = 0; i < DL_NET_SET_MAX; i++)
			off += (size_t)sprintf(buf + off, "net deny r%d addr=10.0.0.0/8 port=%d\n", i, i);
		strcpy(buf + off, "net deny host addr=10.9.9.9\n");
		p = parse_ok(buf);
		r = dl_net_compile(p, fake_resolve, NULL, &e, &n, &d);
		TAP_OK(r == -EINVAL && d.n == 1 && d.v[0].line == DL_NET_SET_MAX + 1 &&
		       strstr(d.v[0].msg, "33 rules apply to prefix 10.9.9.9/32"),
		       "33 rules covering one prefix: error names prefix and its rule's line");
		dump(&d);
		dl_diags_free(&d);
		dl_policy_free(p);
		buf[off] = '\0';
		p = parse_ok(buf);
		r = dl_net_compile(p, fake_resolve, NULL, &e, &n, &d);
		TAP_OK(r == 0 && n == 1 && e[0].set.n == DL_NET_SET_MAX, "exactly DL_NET_SET_MAX fits");
		free(e);
		dl_policy_free(p);
		free(buf);
	}

	/* the filesystem resolver: a fake cgroup root in the temp dir */
	{
		char root[512], path[600];
		struct stat st;
		__u64 id = 0;
		__u8 level = 9;

		snprintf(root, sizeof(root), "%s/cgroot", tmpdir);
		mkdir(root, 0700);
		snprintf(path, sizeof(path), "%s/a.slice", root);
		mkdir(path, 0700);
		snprintf(path, sizeof(path), "%s/a.slice/b.service", root);
		mkdir(path, 0700);
		stat(path, &st);
		r = dl_cgroup_resolve_fs("/a.slice/b.service", &id, &level, root);
		TAP_OK(r == 0 && id == st.st_ino && level == 2, "fs resolver: inode and level 2");
		stat(root, &st);
		r = dl_cgroup_resolve_fs("/", &id, &level, root);
		TAP_OK(r == 0 && id == st.st_ino && level == 0, "fs resolver: / is level 0");
		r = dl_cgroup_resolve_fs("/nope", &id, &level, root);
		TAP_OK(r == -ENOENT, "fs resolver: missing -> -ENOENT");
		/* the path rules of cgroup= (collector/addr.c): a path the policy
		 * refuses is refused here too, even when the directory exists */
		r = dl_cgroup_resolve_fs("/a.slice/../a.slice", &id, &level, root);
		TAP_OK(r == -EINVAL, "fs resolver: '..' refused like cgroup= refuses it (%d)", r);
		r = dl_cgroup_resolve_fs("/a.slice//b.service", &id, &level, root);
		TAP_OK(r == -EINVAL, "fs resolver: '//' refused like cgroup= refuses it (%d)", r);

		p = parse_ok("net deny a addr=any cgroup=/a.slice\nnet deny b addr=any cgroup=/zz\n");
		r = dl_net_compile(p, dl_cgroup_resolve_fs, root, &e, &n, &d);
		snprintf(path, sizeof(path), "cgroup /zz not found under %s", root);
		TAP_OK(r == -EINVAL && d.n == 1 && d.v[0].line == 2 && !strcmp(d.v[0].msg, path),
		       "fs resolver through dl_net_compile names the root");
		dl_diags_free(&d);
		dl_policy_free(p);
	}
}

/* ---------------------------------------------------------------------- */
/* bounded loading: only regular files, size caps, include limits, rule limit */

/* Parse tpath(top); true if it failed with every diagnostic at the top file's
 * line:col (col 0: any) and the first containing sub. */
static bool fails_at(const char *top, unsigned line, unsigned col, const char *sub, size_t *n)
{
	struct dl_diags d = { 0 };
	struct dl_policy *p = NULL;
	int r = dl_policy_parse_file(tpath(top), &p, &d);
	bool ok = r < 0 && p == NULL && d.n >= 1 && strstr(d.v[0].msg, sub);

	for (size_t i = 0; ok && i < d.n; i++)
		ok = !strcmp(d.v[i].file, tpath(top)) && d.v[i].line == line && (!col || d.v[i].col == col);
	if (n)
		*n = d.n;
	if (!ok)
		dump(&d);
	dl_diags_free(&d);
	dl_policy_free(p);
	return ok;
}

static void write_big(const char *rel, size_t size, char fill)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	f = fopen(path, "w");
	if (!f) {
		perror(path);
		exit(1);
	}
	/* comment lines of 64 bytes */
	for (size_t i = 0; i < size; i++)
		fputc(i % 64 == 0 ? '#' : i % 64 == 63 ? '\n' : fill, f);
	fclose(f);
}

static void test_bounds(void)
{
	struct dl_diags d = { 0 };
	struct dl_policy *p = NULL;
	char buf[512], *big;
	size_t n, off;
	int r;

	/* size caps: one file, and the text in all */
	write_big("huge.policy", DL_POLICY_FILE_MAX + 1, 'x');
	write_file("bs1.policy", "include huge.policy\n");
	TAP_OK(fails_at("bs1.policy", 1, 9, "larger than 1048576 bytes", &n) && n == 1,
	       "a file over 1 MiB is refused at the include");
	r = dl_policy_parse_file(tpath("huge.policy"), &p, &d);
	TAP_OK(r < 0 && !p && d.n == 1 && strstr(d.v[0].msg, "larger than 1048576 bytes"), "and as the top file");
	dl_diags_free(&d);
	write_big("max.policy", DL_POLICY_FILE_MAX, 'y');
	write_file("bs2.policy", "include max.policy\n");
	r = dl_policy_parse_file(tpath("bs2.policy"), &p, &d);
	TAP_OK(r == 0 && p && d.n == 0, "a file of exactly 1 MiB is fine");
	dl_policy_free(p);
	p = NULL;
	dl_diags_free(&d);
	for (int i = 0; i < 5; i++) {
		snprintf(buf, sizeof(buf), "m%d.policy", i);
		write_big(buf, DL_POLICY_FILE_MAX - 4096, (char)('a' + i));
	}
	write_file("bs3.policy", "include m0.policy\ninclude m1.policy\ninclude m2.policy\n"
				 "include m3.policy\ninclude m4.policy\n");
	TAP_OK(fails_at("bs3.policy", 5, 9, "more than 4194304 bytes of policy text", &n) && n == 1,
	       "the fifth file of nearly 1 MiB passes 4 MiB in all: error at its include");
	big = malloc(DL_POLICY_FILE_MAX + 2);
	memset(big, '#', DL_POLICY_FILE_MAX + 1);
	big[DL_POLICY_FILE_MAX + 1] = '\0';
	r = dl_policy_parse_string("s.policy", big, &p, &d);
	TAP_OK(r < 0 && !p && d.n == 1 && strstr(d.v[0].msg, "larger than 1048576 bytes"),
	       "in-memory text over 1 MiB refused");
	dl_diags_free(&d);
	free(big);

	/* the same file under another name (hard link) is the same file */
	write_file("once.policy", "net deny once addr=any\n");
	if (link(tpath("once.policy"), tpath("hard.policy")) < 0)
		perror("link");
	write_file("bo.policy", "include once.policy\ninclude hard.policy\n");
	TAP_OK(fails_at("bo.policy", 2, 9, "already included", &n) && n == 1,
	       "a hard link to an included file is the same file");
	/* depth */
	for (int i = 0; i < 20; i++) {
		char name[32];

		snprintf(name, sizeof(name), "n%d.policy", i);
		snprintf(buf, sizeof(buf), "include n%d.policy\n", i + 1);
		write_file(name, buf);
	}
	write_file("n20.policy", "\n");
	r = dl_policy_parse_file(tpath("n0.policy"), &p, &d);
	TAP_OK(r == -EINVAL && d.n == 1 && strstr(d.v[0].msg, "nested more than 16 deep") &&
	       !strcmp(d.v[0].file, tpath("n15.policy")), "include depth bounded at 16");
	dump(&d);
	dl_diags_free(&d);
	/* number of files */
	mkdir(tpath("many"), 0700);
	for (int i = 0; i < DL_POLICY_FILES_MAX + 20; i++) {
		snprintf(buf, sizeof(buf), "many/%03d.policy", i);
		write_file(buf, "# nothing\n");
	}
	write_file("bm.policy", "include many/*.policy\n");
	snprintf(buf, sizeof(buf), "too many policy files (at most %d", DL_POLICY_FILES_MAX);
	TAP_OK(fails_at("bm.policy", 1, 9, buf, &n) && n == 1, "at most %d files, one error", DL_POLICY_FILES_MAX);

	/* 100,000 rules in four files, ids repeating after 50,000: stops at the
	 * 1,025th rule with one error, does not keep registering ids */
	big = malloc(32 * 25000 + 1);
	for (int f = 0; f < 4; f++) {
		off = 0;
		for (int i = 0; i < 25000; i++)
			off += (size_t)sprintf(big + off, "net deny r%d addr=any\n", (f * 25000 + i) % 50000);
		snprintf(buf, sizeof(buf), "r%d.policy", f);
		write_file(buf, big);
	}
	free(big);
	write_file("br.policy", "include r0.policy\ninclude r1.policy\ninclude r2.policy\ninclude r3.policy\n");
	r = dl_policy_parse_file(tpath("br.policy"), &p, &d);
	TAP_OK(r == -EINVAL && !p && d.n == 1 && !strcmp(d.v[0].file, tpath("r0.policy")) &&
	       d.v[0].line == 1025 && d.v[0].col == 1 && strstr(d.v[0].msg, "too many rules (at most 1024"),
	       "100,000 rules: one error at the 1,025th (%zu diagnostics)", d.n);
	if (d.n > 1)
		printf("#   second: %s:%u: %s\n", d.v[1].file, d.v[1].line, d.v[1].msg);
	dl_diags_free(&d);

	/* 16 files each including the next three times: 3^15 parses before */
	for (int i = 0; i < 16; i++) {
		char name[32];

		snprintf(name, sizeof(name), "x%d.policy", i);
		if (i == 15)
			snprintf(buf, sizeof(buf), "# last\n");
		else
			snprintf(buf, sizeof(buf), "include x%d.policy\ninclude x%d.policy\ninclude ./x%d.policy\n",
				 i + 1, i + 1, i + 1);
		write_file(name, buf);
	}
	r = dl_policy_parse_file(tpath("x0.policy"), &p, &d);
	snprintf(buf, sizeof(buf), "is already included (at %s:1:9)", tpath("x0.policy"));
	TAP_OK(r == -EINVAL && !p && d.n == 30 && !strcmp(d.v[d.n - 1].file, tpath("x0.policy")) &&
	       d.v[d.n - 1].line == 3 && d.v[d.n - 1].col == 9 && strstr(d.v[d.n - 1].msg, buf),
	       "3^15 include blow-up: each file once, 30 'already included' errors (%zu)", d.n);
	if (d.n)
		printf("#   last: %s:%u:%u: %s\n", d.v[d.n - 1].file, d.v[d.n - 1].line, d.v[d.n - 1].col,
		       d.v[d.n - 1].msg);
	dl_diags_free(&d);
	/* FIFOs, devices, directories: refused without blocking */
	if (mkfifo(tpath("fifo"), 0600) < 0)
		perror("mkfifo");
	write_file("bf1.policy", "net deny a addr=any\ninclude fifo\n");
	TAP_OK(fails_at("bf1.policy", 2, 9, "not a regular file (a FIFO)", &n) && n == 1,
	       "include of a FIFO: file:2:9, no block");
	r = dl_policy_parse_file(tpath("fifo"), &p, &d);
	TAP_OK(r < 0 && !p && d.n == 1 && d.v[0].line == 0 && strstr(d.v[0].msg, "not a regular file"),
	       "a FIFO as the top file is refused");
	dump(&d);
	dl_diags_free(&d);
	write_file("bf2.policy", "include /dev/zero\n");
	TAP_OK(fails_at("bf2.policy", 1, 9, "not a regular file (a character device)", &n) && n == 1,
	       "include /dev/zero refused at 1:9");
	r = dl_policy_parse_file("/dev/zero", &p, &d);
	TAP_OK(r < 0 && !p && d.n == 1 && strstr(d.v[0].msg, "not a regular file"), "/dev/zero as top refused");
	dl_diags_free(&d);
	/* (a regular file may be there too: /dev/stdout redirected to one) */
	write_file("bf3.policy", "include /dev/*\n");
	r = dl_policy_parse_file(tpath("bf3.policy"), &p, &d);
	n = 0;
	for (size_t i = 0; i < d.n; i++)
		n += !strcmp(d.v[i].file, tpath("bf3.policy")) && d.v[i].line == 1 && d.v[i].col == 9 &&
		     strstr(d.v[i].msg, "not a regular file");
	TAP_OK(r < 0 && !p && n >= 1, "include /dev/* ends: %zu device(s) refused at 1:9", n);
	dl_diags_free(&d);
	mkdir(tpath("g"), 0700);
	mkdir(tpath("g/dir"), 0700);
	if (mkfifo(tpath("g/fifo"), 0600) < 0)
		perror("mkfifo");
	write_file("g/a.policy", "net deny ga addr=any\n");
	write_file("bf4.policy", "include g/*\n");
	r = dl_policy_parse_file(tpath("bf4.policy"), &p, &d);
	TAP_OK(r == -EINVAL && d.n == 2 && d.v[0].line == 1 && d.v[0].col == 9 &&
	       strstr(d.v[0].msg, "g/dir") && strstr(d.v[0].msg, "not a regular file (a directory)") &&
	       d.v[1].line == 1 && d.v[1].col == 9 && strstr(d.v[1].msg, "g/fifo") &&
	       strstr(d.v[1].msg, "(a FIFO)"), "glob matching a directory and a FIFO: one error each at 1:9");
	dump(&d);
	dl_diags_free(&d);
}

/* ---------------------------------------------------------------------- */
/* identity: every byte counts, and not how the path was typed */

static char *sha_of(const char *path)
{
	static char out[4][65];
	static int k;
	struct dl_diags d = { 0 };
	struct dl_policy *p = NULL;

	k = (k + 1) % 4;
	snprintf(out[k], sizeof(out[k]), "(failed)");
	if (dl_policy_parse_file(path, &p, &d) == 0)
		snprintf(out[k], sizeof(out[k]), "%s", p->sha256);
	else
		dump(&d);
	dl_policy_free(p);
	dl_diags_free(&d);
	return out[k];
}

static void write_bytes(const char *rel, const char *b, size_t n)
{
	FILE *f = fopen(tpath(rel), "w");

	if (!f || fwrite(b, 1, n, f) != n) {
		perror(rel);
		exit(1);
	}
	fclose(f);
}

static void test_identity(void)
{
	static const char a[] = "net deny lan addr=10.0.0.0/8\n";
	static const char b[] = "net deny lan addr=10.0.0.0/8\n\0net allow all addr=any\n";
	static const char t[] = "net deny lan addr=10.0.0.0/8 #\0 x\n";
	struct dl_diags d = { 0 };
	struct dl_policy *p = NULL;
	char sha_a[65], cwd[1024], want[65];
	int r;

	/* a NUL byte is refused where it is, also inside a comment */
	write_bytes("nul.policy", a, sizeof(a) - 1);
	snprintf(sha_a, sizeof(sha_a), "%s", sha_of(tpath("nul.policy")));
	write_bytes("nul.policy", b, sizeof(b) - 1);
	r = dl_policy_parse_file(tpath("nul.policy"), &p, &d);
	TAP_OK(r == -EINVAL && !p && d.n == 1 && d.v[0].line == 2 && d.v[0].col == 1 &&
	       strstr(d.v[0].msg, "NUL byte"),
	       "text differing after a NUL: refused at 2:1, not validated with the same sha256");
	dump(&d);
	dl_diags_free(&d);
	write_bytes("nul.policy", t, sizeof(t) - 1);
	r = dl_policy_parse_file(tpath("nul.policy"), &p, &d);
	TAP_OK(r == -EINVAL && d.n == 1 && d.v[0].line == 1 && d.v[0].col == 31 && strstr(d.v[0].msg, "NUL byte"),
	       "a NUL inside a comment is refused at 1:31");
	dl_diags_free(&d);
	write_file("inc-nul.policy", "include nul.policy\n");
	r = dl_policy_parse_file(tpath("inc-nul.policy"), &p, &d);
	TAP_OK(r == -EINVAL && d.n == 1 && !strcmp(d.v[0].file, tpath("nul.policy")), "also in an included file");
	dl_diags_free(&d);

	/* the hash covers text_len bytes, which is all of the text */
	write_bytes("nul.policy", a, sizeof(a) - 1);
	r = dl_policy_parse_file(tpath("nul.policy"), &p, &d);
	if (p)
		dl_sha256_hex(p->text, p->text_len, want);
	TAP_OK(r == 0 && p && p->text_len == strlen(p->text) && !strcmp(p->sha256, want) &&
	       !strcmp(p->sha256, sha_a), "sha256 of text_len bytes of text");
	dl_policy_free(p);
	p = NULL;

	/* the same tree, however the top file is named and wherever it lies */
	mkdir(tpath("id"), 0700);
	mkdir(tpath("id/sub"), 0700);
	mkdir(tpath("id/conf.d"), 0700);
	write_file("id/top.policy", "policy idt\ninclude sub/a.policy\ninclude conf.d/*.policy\n");
	write_file("id/sub/a.policy", "net deny a addr=1.1.1.1\ninclude ../b.policy\n");
	write_file("id/b.policy", "net deny b addr=2.2.2.2\n");
	write_file("id/conf.d/1.policy", "net deny c addr=3.3.3.3\n");
	if (system("cp -a \"$DL_T/id\" \"$DL_T/copy\"") != 0)
		printf("# cp failed\n");
	{
		char s1[65], s2[65], s3[65], s4[65], s5[65], s6[65];

		snprintf(s1, sizeof(s1), "%s", sha_of(tpath("id/top.policy")));
		snprintf(s2, sizeof(s2), "%s", sha_of(tpath("id/sub/../top.policy")));
		snprintf(s6, sizeof(s6), "%s", sha_of(tpath("copy/top.policy")));
		if (!getcwd(cwd, sizeof(cwd)) || chdir(tpath("id")) < 0)
			perror("chdir");
		snprintf(s3, sizeof(s3), "%s", sha_of("top.policy"));
		snprintf(s4, sizeof(s4), "%s", sha_of("./top.policy"));
		if (chdir("sub") < 0)
			perror("chdir");
		snprintf(s5, sizeof(s5), "%s", sha_of("../top.policy"));
		if (chdir(cwd) < 0)
			perror("chdir");
		printf("# %s %s %s %s %s %s\n", s1, s2, s3, s4, s5, s6);
		TAP_OK(strlen(s1) == 64 && !strcmp(s1, s2) && !strcmp(s1, s3) && !strcmp(s1, s4) &&
		       !strcmp(s1, s5) && !strcmp(s1, s6),
		       "same sha256 for /abs/top, sub/../top, top, ./top, ../top and a copy elsewhere");
	}
	r = dl_policy_parse_file(tpath("id/top.policy"), &p, &d);
	TAP_OK(r == 0 && p && !strncmp(p->text, "# drylock-file: top.policy\npolicy idt\n", 38) &&
	       strstr(p->text, "\n# drylock-file: sub/a.policy\nnet deny a") &&
	       strstr(p->text, "\n# drylock-file: b.policy\nnet deny b") &&
	       strstr(p->text, "\n# drylock-file: conf.d/1.policy\nnet deny c"),
	       "policy text names files relative to the top file's directory");
	TAP_OK(p && !strcmp(p->rules[1].file, tpath("id/sub/../b.policy")),
	       "diagnostics and rules keep the path as it was opened");
	dl_policy_free(p);
	p = NULL;
	{
		char *real = realpath(tmpdir, NULL), want_h[700];

		write_file("ext.policy", "net deny ext addr=5.5.5.5\n");
		write_file("id/out.policy", "include ../ext.policy\n");
		r = dl_policy_parse_file(tpath("id/out.policy"), &p, &d);
		snprintf(want_h, sizeof(want_h), "\n# drylock-file: %s/ext.policy\nnet deny ext", real);
		TAP_OK(r == 0 && p && strstr(p->text, want_h), "a file outside the top directory: absolute name");
		dl_policy_free(p);
		p = NULL;
		free(real);
	}
	write_file("id/conf.d/2.policy", "net deny d addr=4.4.4.4\n");
	TAP_OK(strcmp(sha_of(tpath("id/top.policy")), sha_of(tpath("copy/top.policy"))) != 0,
	       "a changed included file changes the sha256");
}

/* ---------------------------------------------------------------------- */
/* stored text: replayed without following any include */

static void test_stored(void)
{
	/* each of these was an include when stored text was "flattened" by
	 * rewriting it; the parser must not follow any */
	static const char text[] =
		"# drylock-file: top.policy\n"
		"policy stored\n"
		"\\\n"
		"include evil.policy\n"
		"include\revil.policy\n"
		"include\r\n"
		"include \\\n  evil.policy\n"
		"\t include\tevil.policy\r\n"
		"include *\n"
		"include ./evil.policy\n"
		"net deny a addr=any\n"
		"# drylock-file: b.policy\n"
		"net deny b addr=10.0.0.0/8\n";
	struct dl_diags d = { 0 };
	struct dl_policy *p = NULL;
	char dir[512], cwd[1024], want[65], ev[4096];
	int in, wd, r;
	ssize_t n;

	snprintf(dir, sizeof(dir), "%s/cwd", tmpdir);
	mkdir(dir, 0700);
	write_file("cwd/evil.policy", "net allow evil addr=any\n");
	if (!getcwd(cwd, sizeof(cwd)) || chdir(dir) < 0)
		perror("chdir");
	in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	wd = in >= 0 ? inotify_add_watch(in, ".", IN_OPEN) : -1;
	r = dl_policy_parse_stored("stored", text, sizeof(text) - 1, &p, &d);
	n = wd >= 0 ? read(in, ev, sizeof(ev)) : 0;
	TAP_OK(wd >= 0 && n < 0 && errno == EAGAIN, "stored text: no file in the current directory is opened (%zd)", n);
	if (in >= 0)
		close(in);
	if (chdir(cwd) < 0)
		perror("chdir");
	TAP_OK(r == 0 && p && d.n == 0 && p->n_rules == 2 && !strcmp(p->rules[0].id, "a") &&
	       !strcmp(p->rules[1].id, "b") && !strcmp(p->name, "stored"),
	       "stored text parses: include lines (\\\\ continuation, CR, tab, glob) ignored, rules kept");
	dump(&d);
	dl_diags_free(&d);
	dl_sha256_hex(text, sizeof(text) - 1, want);
	TAP_OK(p && p->text_len == sizeof(text) - 1 && !memcmp(p->text, text, p->text_len) && !strcmp(p->sha256, want),
	       "stored text kept as is: its sha256 is the stored one");
	dl_policy_free(p);
	p = NULL;

	/* a file's stored text parses back to the same rules and sha256 */
	mkdir(tpath("st"), 0700);
	write_file("st/top.policy", "policy st\ninclude sub/*.policy\nnet deny t addr=1.1.1.1\n");
	mkdir(tpath("st/sub"), 0700);
	write_file("st/sub/a.policy", "net allow a addr=1.1.1.1 port=53\n");
	r = dl_policy_parse_file(tpath("st/top.policy"), &p, &d);
	if (r == 0) {
		struct dl_policy *q = NULL;

		r = dl_policy_parse_stored("x", p->text, p->text_len, &q, &d);
		TAP_OK(r == 0 && q && q->n_rules == 2 && !strcmp(q->sha256, p->sha256) && !strcmp(q->name, "st"),
		       "a loaded policy's text reparses as stored text with the same sha256 and rules");
		dl_policy_free(q);
	} else {
		TAP_OK(0, "st/top.policy parses");
	}
	dl_policy_free(p);
	dl_diags_free(&d);

	r = dl_policy_parse_stored("s", "net deny a addr=any\n\0net allow b addr=any\n", 42, &p, &d);
	TAP_OK(r == -EINVAL && !p && d.n == 1 && d.v[0].line == 2 && strstr(d.v[0].msg, "NUL byte"),
	       "stored text with a NUL is refused");
	dl_diags_free(&d);
}

/* ---------------------------------------------------------------------- */
/* the pre-filter (bpf/net_pf.h) compiled by dl_net_pf_build */

static unsigned pf_rand(void)
{
	static unsigned long long x = 88172645463325252ull;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return (unsigned)(x >> 11);
}

/* A random address inside prefix (a, plen). */
static void addr_in(const __u8 a[16], unsigned plen, __u8 out[16])
{
	for (unsigned i = 0; i < 16; i++) {
		unsigned keep = plen >= (i + 1) * 8 ? 8 : plen > i * 8 ? plen - i * 8 : 0;
		__u8 m = keep ? (__u8)(0xff << (8 - keep)) : 0;

		out[i] = (__u8)((a[i] & m) | (pf_rand() & ~m));
	}
}

static const __u8 pf_ops[DL_NET_PF_OPS] = { [DL_NET_PF_CONNECT] = DL_NET_OP_CONNECT,
					    [DL_NET_PF_BIND] = DL_NET_OP_BIND };

/* Every rule's whole port range, and its prefix's first, last and random
 * addresses, pass the filter of each of its operations. */
static int pf_covers_rules(const struct dl_policy *p, const struct dl_net_pf *pf)
{
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct dl_net_match *m = &p->rules[i].u.net;

		for (unsigned k = 0; k < DL_NET_PF_OPS; k++) {
			__u8 lo[16], hi[16], x[16];

			if (!(m->ops & pf_ops[k]))
				continue;
			memcpy(lo, m->addr, 16);
			memcpy(hi, m->addr, 16);
			for (unsigned b = m->prefixlen; b < 128; b++)
				hi[b / 8] |= (__u8)(0x80 >> (b % 8));
			for (unsigned port = m->port_lo; port <= m->port_hi; port++)
				if (!dl_net_pf_maybe(&pf[k], lo, (__u16)port) || !dl_net_pf_maybe(&pf[k], hi, (__u16)port)) {
					printf("# rule %s op %u port %u not covered\n", p->rules[i].id, k, port);
					return 0;
				}
			for (int t = 0; t < 2000; t++) {
				addr_in(m->addr, m->prefixlen, x);
				if (!dl_net_pf_maybe(&pf[k], x, (__u16)(m->port_lo + pf_rand() % (m->port_hi - m->port_lo + 1u)))) {
					printf("# rule %s op %u: an address of its prefix not covered\n", p->rules[i].id, k);
					return 0;
				}
			}
		}
	}
	return 1;
}

static void test_prefilter(void)
{
	static const __u64 ancs[][3] = { { CG_ROOT }, { CG_ROOT, CG_WEB }, { CG_ROOT, CG_WEB, CG_APP },
					 { CG_ROOT, CG_OTHER } };
	static const size_t n_ancs[] = { 1, 2, 3, 2 };
	struct dl_net_pf *pf = calloc(DL_NET_PF_OPS, sizeof(*pf));
	struct dl_policy *p = parse_ok(decide_policy);
	struct dl_net_entry *e = NULL;
	struct dl_diags d = { 0 };
	size_t n = 0, decided = 0, filtered = 0;
	int bad = 0;

	if (!pf || !p || dl_net_compile(p, fake_resolve, NULL, &e, &n, &d)) {
		TAP_OK(0, "pre-filter: decide policy compiles");
		return;
	}
	dl_net_pf_build(p, pf);
	TAP_OK(pf_covers_rules(p, pf), "pre-filter: every rule's ports and addresses pass for each of its ops");
	/* Against the decider: whatever a rule decides, the filter lets through.
	 * Addresses from the rules' prefixes (and random ones), every op,
	 * proto, cgroup. */
	for (int t = 0; t < 200000; t++) {
		const struct dl_net_match *m = &p->rules[pf_rand() % p->n_rules].u.net;
		unsigned k = pf_rand() % DL_NET_PF_OPS, c = pf_rand() % 4;
		__u16 port = pf_rand() % 4 ? (__u16)(m->port_lo + pf_rand() % (m->port_hi - m->port_lo + 1u))
					   : (__u16)pf_rand();
		__u8 a[16], act;
		__u32 got;

		addr_in(m->addr, pf_rand() % 8 ? m->prefixlen : pf_rand() % 129, a);
		got = dl_net_decide(e, n, a, port, pf_rand() % 2 ? 6 : 17, pf_ops[k], ancs[c], n_ancs[c], &act);
		if (got != DL_RULE_NONE) {
			decided++;
			if (!dl_net_pf_maybe(&pf[k], a, port))
				bad++;
		} else if (!dl_net_pf_maybe(&pf[k], a, port)) {
			filtered++;
		}
	}
	TAP_OK(bad == 0 && decided > 1000 && filtered > 1000,
	       "pre-filter: never 'no rule' where the decider finds one (%zu decided, %zu filtered, %d wrong)",
	       decided, filtered, bad);
	free(e);
	dl_diags_free(&d);
	dl_policy_free(p);

	/* What it filters: the benchmark's policy, per operation and family. */
	p = parse_ok("net deny elsewhere addr=192.0.2.0/24 op=connect\n"
		     "net deny ssh6 addr=any6 port=22 op=bind\n"
		     "net deny v6net addr=2001:db8::/32 port=443-444\n");
	if (!p) {
		TAP_OK(0, "pre-filter policy parses");
		free(pf);
		return;
	}
	dl_net_pf_build(p, pf);
	TAP_OK(pf_covers_rules(p, pf), "pre-filter: small policy covered");
	{
		static const struct { const char *addr; __u16 port; unsigned k; int want; } c[] = {
			{ "127.0.0.1", 9, DL_NET_PF_CONNECT, 0 },
			{ "192.0.2.5", 9, DL_NET_PF_CONNECT, 1 },
			{ "192.0.77.5", 9, DL_NET_PF_CONNECT, 1 }, /* same /16: maybe */
			{ "192.1.2.5", 9, DL_NET_PF_CONNECT, 0 },
			{ "192.0.2.5", 9, DL_NET_PF_BIND, 0 },
			{ "192.0.2.5", 22, DL_NET_PF_BIND, 1 },    /* any6 covers v4-mapped */
			{ "::1", 22, DL_NET_PF_BIND, 1 },
			{ "::1", 23, DL_NET_PF_BIND, 0 },
			{ "2001:db8::1", 443, DL_NET_PF_CONNECT, 1 },
			/* per bitmap, not per rule: elsewhere covers every connect port */
			{ "2001:db8::1", 445, DL_NET_PF_CONNECT, 1 },
			{ "2001:db9::1", 443, DL_NET_PF_CONNECT, 1 }, /* same first 16 bits */
			{ "2002:db8::1", 443, DL_NET_PF_CONNECT, 0 },
			{ "::ffff:192.0.2.1", 80, DL_NET_PF_CONNECT, 1 },
			{ "::192.0.2.1", 80, DL_NET_PF_CONNECT, 0 }, /* IPv4-compatible is not v4-mapped */
		};

		for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
			__u8 a[16];

			addr_of(c[i].addr, a);
			TAP_OK(dl_net_pf_maybe(&pf[c[i].k], a, c[i].port) == c[i].want,
			       "pre-filter %s port %u %s: %s", c[i].addr, c[i].port,
			       c[i].k == DL_NET_PF_BIND ? "bind" : "connect", c[i].want ? "maybe" : "no rule");
		}
	}
	dl_policy_free(p);

	/* any: every address and port of both families for its op */
	p = parse_ok("net allow all addr=any op=connect\n");
	if (p) {
		int all = 1;

		dl_net_pf_build(p, pf);
		for (unsigned w = 0; w < DL_NET_PF_WORDS; w++)
			all &= pf[0].v4[w] == ~0ull && pf[0].v6[w] == ~0ull && pf[0].port[w] == ~0ull &&
			       !pf[1].v4[w] && !pf[1].v6[w] && !pf[1].port[w];
		TAP_OK(all, "pre-filter: addr=any op=connect sets every connect bit and no bind bit");
		dl_policy_free(p);
	}
	free(pf);
}

int main(void)
{
	char tmpl[] = "/tmp/drylock-test-policy-XXXXXX";
	char cmd[600];

	if (!mkdtemp(tmpl)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(tmpdir, sizeof(tmpdir), "%s", tmpl);
	setenv("DL_T", tmpdir, 1);

	test_sha256();
	test_valid();
	test_canonical();
	test_mode_identity();
	test_errors();
	test_includes();
	test_bounds();
	test_identity();
	test_stored();
	test_compile();
	test_prefilter();

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", tmpdir);
	return tap_done();
}
