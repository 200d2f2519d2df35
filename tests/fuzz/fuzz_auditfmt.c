/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: the audit field encoder and the USER_AVC text
 * (collector/auditfmt.c), read back by libauparse as auditd would log it.
 *
 * Input: the first sizeof(struct dl_record) bytes are the record (zero-filled
 * when short; comm is untrusted bytes in there), then one flags byte (bit i:
 * value i is NULL) and up to four values, each a length byte and that many
 * bytes, read as C strings: the policy name, the rule id, the executable and
 * the boot id. Whatever is left is also encoded on its own by
 * dl_audit_encode with a maxin and an output size taken from the flags.
 *
 * Checks:
 *   - dl_audit_encode: "value" only when every byte is safe, else upper-case
 *     hex; either decodes to the first maxin bytes; -ENOSPC exactly when the
 *     output does not fit;
 *   - dl_audit_format_avc's text, wrapped in the kernel header and libaudit's
 *     trailer exactly as they reach the log (docs/audit-records.md), parsed
 *     by auparse_init(AUSOURCE_BUFFER): the fields are exactly the expected
 *     names, each once (so no value can open a field of its own or end the
 *     msg='...' part), numbers and keywords equal the record's, and every
 *     encoded value (policy, rule, comm, cmd) decodes to the bytes it was
 *     given, truncated to DL_AUDIT_MAX_VALUE; auparse's own interpretation of
 *     comm and cmd gives the same bytes.
 * A field added to the record text must be added to expect_fields() too.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <auparse.h>

#include "collector/auditfmt.h"
#include "collector/names.h"
#include "collector/policy-self.h"

#define HEADER "type=USER_AVC msg=audit(1700000000.123:42): pid=812 uid=0 auid=4294967295 " \
	       "ses=4294967295 subj=unconfined msg='"
#define TRAILER " exe=\"/usr/sbin/drylock\" hostname=? addr=? terminal=? res=success'\n"

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char *fmt, ...)
{
	va_list ap;

	fputs("fuzz-auditfmt: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

static bool safe_byte(unsigned char ch)
{
	return ch >= 0x21 && ch <= 0x7e && !strchr("\"'=\\", ch);
}

static int unhex(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Decode an encoded field value into out (malloc'd, *n bytes); false if it is
 * neither "..." with safe bytes nor upper-case hex. */
static bool decode(const char *v, unsigned char **out, size_t *n)
{
	size_t l = strlen(v);

	*out = malloc(l + 1);
	if (!*out)
		abort();
	if (l >= 2 && v[0] == '"' && v[l - 1] == '"') {
		for (size_t i = 1; i + 1 < l; i++)
			if (!safe_byte((unsigned char)v[i]))
				return false;
		*n = l - 2;
		memcpy(*out, v + 1, *n);
		return true;
	}
	if (l % 2)
		return false;
	for (size_t i = 0; i < l; i += 2) {
		int hi = unhex(v[i]), lo = unhex(v[i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		(*out)[i / 2] = (unsigned char)(hi << 4 | lo);
	}
	*n = l / 2;
	/* hex is only for values that are not all safe bytes (or are empty) */
	for (size_t i = 0; i < *n; i++)
		if (!safe_byte((*out)[i]))
			return true;
	return false;
}

static void check_encode(const uint8_t *v, size_t len, size_t maxin, size_t outlen)
{
	size_t n = len < maxin ? len : maxin, need, got_n;
	bool all_safe = true;
	unsigned char *got;
	char *out = malloc(outlen ? outlen : 1);
	int r;

	if (!out)
		abort();
	for (size_t i = 0; i < n; i++)
		all_safe &= safe_byte(v[i]);
	need = all_safe ? n + 3 : 2 * n + 1;
	r = dl_audit_encode(outlen ? out : NULL, outlen, v, len, maxin);
	if (outlen < need) {
		if (r != -ENOSPC)
			fail("encode of %zu bytes into %zu returned %d, not -ENOSPC", n, outlen, r);
	} else if (r != (int)need - 1 || strlen(out) != need - 1) {
		fail("encode of %zu bytes returned %d, wanted %zu", n, r, need - 1);
	} else if (!decode(out, &got, &got_n) || got_n != n || memcmp(got, v, n)) {
		fail("encode of %zu bytes gave '%s', which does not decode to them", n, out);
	} else {
		free(got);
	}
	free(out);
}

struct field {
	const char *name;
	char value[2 * DL_AUDIT_MAX_VALUE + 3];  /* as printed; encoded ones: NULL in raw */
	const unsigned char *raw;                /* encoded: the bytes it must decode to */
	size_t raw_len;
	bool encoded, plain_ok, seen;
};

struct expect {
	struct field f[48];
	size_t n;
};

static struct field *add(struct expect *e, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static struct field *add(struct expect *e, const char *name, const char *fmt, ...)
{
	struct field *f = &e->f[e->n++];
	va_list ap;

	memset(f, 0, sizeof(*f));
	f->name = name;
	va_start(ap, fmt);
	vsnprintf(f->value, sizeof(f->value), fmt, ap);
	va_end(ap);
	return f;
}

static void add_enc(struct expect *e, const char *name, const void *raw, size_t len, bool plain_ok)
{
	struct field *f = add(e, name, "?");

	if (!raw)
		return;
	f->encoded = true;
	f->raw = raw;
	f->raw_len = len < DL_AUDIT_MAX_VALUE ? len : DL_AUDIT_MAX_VALUE;
	f->plain_ok = plain_ok;
}

static bool plain_id(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 32)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		      (i && strchr("._-", s[i]))))
			return false;
	return true;
}

/* Every field of the logged line, in the documented order. */
/* The address as docs/audit-records.md says it is written: IPv4-mapped as
 * IPv4, IPv6 ending in "::" with a final 0. True for IPv6. */
static bool format_expected_ip(char *ip, size_t n, const __u8 a[DL_ADDR_LEN])
{
	static const __u8 v4m[12] = { [10] = 0xff, [11] = 0xff };

	if (!memcmp(a, v4m, sizeof(v4m))) {
		inet_ntop(AF_INET, a + 12, ip, (socklen_t)n);
		return false;
	}
	if (inet_ntop(AF_INET6, a, ip, (socklen_t)n) && ip[strlen(ip) - 1] == ':')
		strcat(ip, "0");
	return true;
}

static void expect_fields(struct expect *e, const struct dl_event *ev, const char *policy,
			  const char *boot_id)
{
	const struct dl_record *r = &ev->rec;
	const char *z = memchr(r->comm, 0, DL_COMM_LEN);
	char boot[9] = "?";

	add(e, "type", "USER_AVC");
	add(e, "pid", "812");
	add(e, "uid", "0");
	add(e, "auid", "4294967295");
	add(e, "ses", "4294967295");
	add(e, "subj", "unconfined");
	add(e, "op", "%s", dl_hook_name(r->hook));
	add(e, "lsm", "drylock");
	if (r->family == DL_FAMILY_NET) {
		char ip[INET6_ADDRSTRLEN + 1];
		bool v6 = format_expected_ip(ip, sizeof(ip), r->u.net.addr);

		add(e, "tcontext", v6 ? "[%s]:%u" : "%s:%u", ip, r->u.net.port);
	} else if (r->family == DL_FAMILY_KVM) {
		add(e, "tcontext", "/dev/kvm");
	} else if (r->family == DL_FAMILY_SELF) {
		/* the kind of object attempted on (docs/audit-records.md) */
		switch (r->u.self.op) {
		case DL_SELF_OP_UMOUNT: add(e, "tcontext", "drylock_bpffs"); break;
		case DL_SELF_OP_PROG_LOAD: add(e, "tcontext", "bpf_lsm_prog"); break;
		case DL_SELF_OP_LINK_DETACH:
		case DL_SELF_OP_LINK_UPDATE: add(e, "tcontext", "bpf_link"); break;
		case DL_SELF_OP_MAP_WRITE: add(e, "tcontext", "drylock_map"); break;
		default: add(e, "tcontext", "drylock_pin"); break;
		}
	} else {
		add(e, "tcontext", "?");
	}
	add(e, "tclass", "%s", dl_family_name(r->family));
	add(e, "decision", "%s", dl_verdict_name(r->verdict));
	add(e, "enforcing", "%u", r->enforced ? 1 : 0);
	add_enc(e, "policy", policy, policy ? strlen(policy) : 0, false);
	add_enc(e, "rule", ev->rule_id, ev->rule_id ? strlen(ev->rule_id) : 0,
		ev->rule_id && plain_id(ev->rule_id));
	add(e, "seq", "%llu", (unsigned long long)r->seq);
	if (boot_id && strlen(boot_id) >= 8 && strspn(boot_id, "0123456789abcdefABCDEF") >= 8)
		snprintf(boot, sizeof(boot), "%.8s", boot_id);
	add(e, "boot", "%s", boot);
	add(e, "spid", "%u", r->tgid);
	add(e, "stid", "%u", r->pid);
	add(e, "sppid", "%u", r->ppid);
	add(e, "suid", "%u", r->uid);
	add(e, "euid", "%u", r->euid);
	add(e, "sgid", "%u", r->gid);
	add(e, "sauid", "%u", r->loginuid);
	if (r->sessionid == 4294967295u)
		add(e, "sses", "unset");
	else
		add(e, "sses", "%u", r->sessionid);
	add(e, "scgroup", "%llu", (unsigned long long)r->cgroup_id);
	add_enc(e, "comm", r->comm, z ? (size_t)(z - r->comm) : DL_COMM_LEN, false);
	add_enc(e, "cmd", ev->exe, ev->exe ? strlen(ev->exe) : 0, false);
	if (r->family == DL_FAMILY_NET) {
		bool bind = dl_hook_op(r->hook) == DL_NET_OP_BIND;
		char ip[INET6_ADDRSTRLEN + 1];

		format_expected_ip(ip, sizeof(ip), r->u.net.addr);
		add(e, bind ? "laddr" : "daddr", "%s", ip);
		add(e, bind ? "lport" : "dport", "%u", r->u.net.port);
		add(e, "proto", "%u", r->u.net.protocol);
	}
	if (r->family == DL_FAMILY_KVM) {
		add(e, "owner_pid", "%u", r->u.kvm.owner_tgid);
		add_enc(e, "owner_comm", r->u.kvm.owner_comm, strnlen(r->u.kvm.owner_comm, DL_COMM_LEN), false);
		add(e, "ioctlcmd", "0x%x", r->u.kvm.cmd);
	}
	if (r->family == DL_FAMILY_SELF) {
		add(e, "attempt", "%s", dl_self_op_name(r->u.self.op));
		add_enc(e, "target", r->u.self.name, strnlen(r->u.self.name, DL_SELF_NAME_LEN), false);
		add(e, "bpf_cmd", "%u", r->u.self.cmd);
		add(e, "arg", "%u", r->u.self.arg);
	}
	if (r->flags & DL_REC_F_TRUNCATED)
		add(e, "trunc", "1");
	add(e, "exe", "\"/usr/sbin/drylock\"");
	add(e, "hostname", "?");
	add(e, "addr", "?");
	add(e, "terminal", "?");
	add(e, "res", "success");
}

static void check_field(struct field *f, auparse_state_t *au, const char *text)
{
	const char *v = auparse_get_field_str(au);
	unsigned char *got;
	size_t n;

	if (f->seen)
		fail("field %s twice in: %s", f->name, text);
	f->seen = true;
	if (!v)
		fail("field %s has no value in: %s", f->name, text);
	if (!f->encoded) {
		if (strcmp(v, f->value))
			fail("field %s is '%s', wanted '%s', in: %s", f->name, v, f->value, text);
		return;
	}
	if (f->plain_ok && strlen(v) == f->raw_len && !memcmp(v, f->raw, f->raw_len))
		return;
	if (!decode(v, &got, &n) || n != f->raw_len || memcmp(got, f->raw, n))
		fail("field %s='%s' does not decode to the %zu bytes given, in: %s", f->name, v,
		     f->raw_len, text);
	free(got);
	/* auparse knows comm and cmd as encoded fields: its reading must agree */
	if (!strcmp(f->name, "comm") || !strcmp(f->name, "cmd")) {
		const char *i = auparse_interpret_field(au);

		/* auparse stops a hex value at a NUL byte (C strings) */
		if (!i || strlen(i) != strnlen((const char *)f->raw, f->raw_len) ||
		    memcmp(i, f->raw, strlen(i)))
			fail("auparse reads %s='%s' as '%s'", f->name, v, i ? i : "(null)");
	}
}

static void check_avc(const struct dl_event *ev, const char *policy, const char *boot_id)
{
	static char text[DL_AUDIT_MAX_TEXT + 1], line[sizeof(HEADER) + sizeof(text) + sizeof(TRAILER)];
	struct expect e = { .n = 0 };
	auparse_state_t *au;
	int n;

	n = dl_audit_format_avc(text, sizeof(text), ev, policy, boot_id);
	if (n == -ENOSPC) {
		if (text[0])
			fail("-ENOSPC left text behind");
		return;
	}
	if (n < 0 || (size_t)n != strlen(text) || n > DL_AUDIT_MAX_TEXT)
		fail("format returned %d for %zu bytes of text", n, strlen(text));
	snprintf(line, sizeof(line), HEADER "%s" TRAILER, text);
	expect_fields(&e, ev, policy, boot_id);

	au = auparse_init(AUSOURCE_BUFFER, line);
	if (!au)
		abort();
	auparse_set_escape_mode(au, AUPARSE_ESC_RAW);
	if (auparse_next_event(au) != 1 || auparse_get_num_records(au) != 1 ||
	    auparse_first_record(au) != 1)
		fail("auparse found no single record in: %s", line);
	do {
		const char *name = auparse_get_field_name(au);
		struct field *f = NULL;

		for (size_t i = 0; name && i < e.n; i++)
			if (!strcmp(e.f[i].name, name))
				f = &e.f[i];
		if (!f)
			fail("unexpected field '%s' in: %s", name ? name : "(null)", text);
		check_field(f, au, text);
	} while (auparse_next_field(au) > 0);
	for (size_t i = 0; i < e.n; i++)
		if (!e.f[i].seen)
			fail("field %s missing in: %s", e.f[i].name, text);
	auparse_destroy(au);
}

/* Next length-prefixed value as a malloc'd C string (cut at a NUL). */
static char *take(const uint8_t **data, size_t *size)
{
	size_t len = *size ? (*data)[0] : 0;
	char *s;

	if (*size) {
		(*data)++;
		(*size)--;
	}
	len = len < *size ? len : *size;
	s = strndup((const char *)*data, len);
	if (!s)
		abort();
	*data += len;
	*size -= len;
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dl_event ev = { 0 };
	char *policy, *rule, *exe, *boot;
	size_t n = size < sizeof(ev.rec) ? size : sizeof(ev.rec);
	unsigned flags;

	if (size > 4096)
		return -1;
	memcpy(&ev.rec, data, n);
	data += n;
	size -= n;
	flags = size ? data[0] : 0;
	if (size) {
		data++;
		size--;
	}
	policy = take(&data, &size);
	rule = take(&data, &size);
	exe = take(&data, &size);
	boot = take(&data, &size);
	ev.rule_id = flags & 2 ? NULL : rule;
	ev.exe = flags & 4 ? NULL : exe;
	check_avc(&ev, flags & 1 ? NULL : policy, flags & 8 ? NULL : boot);
	/* the rest on its own: maxin and output size from the flags */
	check_encode(data, size, flags & 0x10 ? size / 2 : DL_AUDIT_MAX_VALUE,
		     flags & 0x20 ? (size_t)(flags >> 6) * size / 2 : 2 * DL_AUDIT_MAX_VALUE + 3);
	free(policy);
	free(rule);
	free(exe);
	free(boot);
	return 0;
}
