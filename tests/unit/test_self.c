/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Family self in user space: the rule grammar (self deny <id>, no keys, no
 * allow, at most one), what it compiles to for the kernel, the user-space
 * decide behind what-if, the audit fields and the op=lock record, and the
 * store object row reading back (through the query family) as the payload
 * the kernel recorded; suggest and what-if run on a stored self record
 * without proposing an exception. The kernel side (the lock, every refused
 * path, restart after kill -9) is tests/vm/guest/self.sh.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "collector/audit-family.h"
#include "collector/auditfmt.h"
#include "collector/policy-family.h"
#include "query/replay.h"
#include "query/report-family.h"
#include "store/store-family.h"
#include "store/store.h"
#include <sqlite3.h>
#include "tap.h"
#include "runbin.h"

static void expect_parse_error(const char *text, const char *needle)
{
	struct dl_policy *p = NULL;
	struct dl_diags d = { 0 };
	int r = dl_policy_parse_string("t.policy", text, &p, &d);

	TAP_OK(r == -EINVAL && d.n && strstr(d.v[0].msg, needle), "error for '%.*s': %s", (int)strcspn(text, "\n"),
	       text, d.n ? d.v[0].msg : "(none)");
	dl_policy_free(p);
	dl_diags_free(&d);
}

static void expect_compile_error(const char *text, const char *needle)
{
	struct dl_policy *p = NULL;
	struct dl_diags d = { 0 };
	struct dl_self_set set;
	int r = dl_policy_parse_string("t.policy", text, &p, &d);

	TAP_OK(r == 0 && p && dl_self_compile(p, &set, &d) == -EINVAL && d.n && strstr(d.v[d.n - 1].msg, needle),
	       "compile error for '%.*s': %s", (int)strcspn(text, "\n"), text, d.n ? d.v[d.n - 1].msg : "(none)");
	dl_policy_free(p);
	dl_diags_free(&d);
}

int main(int argc, char **argv)
{
	static const char text[] =
		"policy s\n"
		"net deny meta addr=169.254.169.254/32 op=connect\n"
		"self deny tamper\n";
	struct dl_policy *p = NULL;
	struct dl_diags d = { 0 };
	struct dl_self_set set;
	struct dl_compiled comp;
	struct dl_record rec;
	__u64 root[1] = { 1 };
	__u8 act;
	__u32 rule;

	TAP_OK(dl_policy_parse_string("t.policy", text, &p, &d) == 0, "self rule parses (%s)", d.n ? d.v[0].msg : "ok");
	if (!p)
		return tap_done();
	TAP_OK(p->n_rules == 2 && p->families == ((1u << DL_FAMILY_NET) | (1u << DL_FAMILY_SELF)),
	       "families net and self on");
	TAP_OK(p->rules[1].family == DL_FAMILY_SELF && !strcmp(p->rules[1].text, "self deny tamper"),
	       "canonical: %s", p->rules[1].text);
	expect_parse_error("self deny x cgroup=/a\n", "a self rule has no keys, got 'cgroup'");
	expect_compile_error("self allow x\n", "only 'self deny' exists");
	expect_compile_error("self deny a\nself deny b\n", "second self rule 'b': a policy has at most one");

	TAP_OK(dl_self_compile(p, &set, &d) == 0 && set.n == 1 && set.rule_idx == 1, "compiles to n=1, rule 1");
	{
		struct dl_policy *q = NULL;

		TAP_OK(dl_policy_parse_string("n.policy", "net deny x addr=10.0.0.0/8\n", &q, &d) == 0 && q &&
		       dl_self_compile(q, &set, &d) == 0 && set.n == 0, "no self rule: n=0 (family off)");
		dl_policy_free(q);
	}

	/* what the kernel records: rm of a pin whose name was cut */
	memset(&rec, 0, sizeof(rec));
	rec.family = DL_FAMILY_SELF;
	rec.hook = DL_HOOK_INODE_UNLINK;
	rec.flags = DL_REC_F_TRUNCATED;
	rec.u.self.op = DL_SELF_OP_UNLINK;
	memset(rec.u.self.name, 'n', DL_SELF_NAME_LEN - 1);
	{
		char f[256], want[256];
		int n = dl_audit_families[DL_FAMILY_SELF]->fields(f, sizeof(f), &rec);

		snprintf(want, sizeof(want), " attempt=unlink target=\"%.*s\" bpf_cmd=0 arg=0",
			 DL_SELF_NAME_LEN - 1, rec.u.self.name);
		TAP_OK(n > 0 && !strcmp(f, want), "audit fields: %s", n > 0 ? f : "?");
		TAP_OK(!strcmp(dl_audit_families[DL_FAMILY_SELF]->perm(&rec), "unlink"), "perm: unlink");
		n = dl_audit_families[DL_FAMILY_SELF]->tcontext(f, sizeof(f), &rec);
		TAP_OK(n > 0 && !strcmp(f, "drylock_pin"), "tcontext: %s", n > 0 ? f : "?");
	}
	{
		struct dl_record b = rec;
		char f[256];

		b.hook = DL_HOOK_BPF;
		b.flags = 0;
		b.u.self.op = DL_SELF_OP_PROG_LOAD;
		b.u.self.cmd = 5;   /* BPF_PROG_LOAD */
		b.u.self.arg = 29;  /* BPF_PROG_TYPE_LSM */
		memset(b.u.self.name, 0, sizeof(b.u.self.name));
		memcpy(b.u.self.name, "evil prog", 9);
		TAP_OK(dl_audit_families[DL_FAMILY_SELF]->fields(f, sizeof(f), &b) > 0 &&
		       !strcmp(f, " attempt=prog_load target=6576696C2070726F67 bpf_cmd=5 arg=29"),
		       "audit fields of a prog load, the name with a space hex-encoded: %s", f);
		TAP_OK(dl_audit_families[DL_FAMILY_SELF]->tcontext(f, sizeof(f), &b) > 0 && !strcmp(f, "bpf_lsm_prog"),
		       "tcontext: %s", f);
	}
	{
		char t[256];

		TAP_OK(dl_audit_format_lock(t, sizeof(t), 7, 1) > 0 &&
		       !strcmp(t, "op=lock lsm=drylock locked=1 old-locked=0 maps=7 enforcing=1"), "op=lock record: %s", t);
	}
	{
		struct dl_store_object o;
		struct dl_record back;
		char want[64];

		memset(&o, 0, sizeof(o));
		snprintf(want, sizeof(want), "%.*s...", DL_SELF_NAME_LEN - 1, rec.u.self.name);
		TAP_OK(dl_store_families[DL_FAMILY_SELF]->object(&rec, &o) == 1 &&
		       (dl_store_families[DL_FAMILY_SELF]->text(&rec, &o), !strcmp(o.text, want)) &&
		       o.k1 == 0 && o.k2 == DL_SELF_OP_UNLINK, "store object: a cut name ends in ... (%s)", o.text);
		memset(&back, 0, sizeof(back));
		TAP_OK(dl_store_families[DL_FAMILY_SELF]->payload(&o, &back) == 0 &&
		       !memcmp(&back.u.self, &rec.u.self, sizeof(rec.u.self)) && (back.flags & DL_REC_F_TRUNCATED),
		       "the store's inverse gives the payload and the truncated flag back");
		memset(&back, 0, sizeof(back));
		TAP_OK(dl_query_families[DL_FAMILY_SELF]->payload(DL_HOOK_INODE_UNLINK, o.text, (unsigned)o.k1,
								  (unsigned)o.k2, &back.u) == 0 &&
		       !memcmp(&back.u.self, &rec.u.self, sizeof(rec.u.self)), "the stored row reads back as the payload");
		TAP_OK(dl_query_families[DL_FAMILY_SELF]->payload(DL_HOOK_INODE_UNLINK, o.text, 0, DL_SELF_OP_UMOUNT,
								  &back.u) == -EINVAL,
		       "a row whose operation is not its hook's does not replay");
		TAP_OK(!strcmp(dl_query_families[DL_FAMILY_SELF]->proto_name(DL_SELF_OP_PROG_LOAD | 5 << 8), "prog_load") &&
		       !strcmp(dl_query_families[DL_FAMILY_SELF]->op_name(DL_HOOK_BPF), "bpf") &&
		       !strcmp(dl_query_families[DL_FAMILY_SELF]->op_name(DL_HOOK_SB_UMOUNT), "umount"),
		       "proto and operation names");
		TAP_OK(!dl_query_families[DL_FAMILY_SELF]->suggest,
		       "suggest has nothing to propose for self");
	}
	TAP_OK(dl_policy_compile(p, NULL, NULL, &comp, &d) == 0, "compiles through the registry");
	rule = dl_policy_decide(&comp, DL_HOOK_INODE_RENAME, &(struct dl_self_payload){ .op = DL_SELF_OP_RENAME },
				root, 1, &act);
	TAP_OK(rule == 1 && act == DL_ACTION_DENY, "registry decide: a rename is the self rule's");
	rule = dl_policy_decide(&comp, DL_HOOK_INODE_RENAME, &(struct dl_self_payload){ .op = DL_SELF_OP_UMOUNT },
				root, 1, &act);
	TAP_OK(rule == DL_RULE_NONE && act == DL_ACTION_ALLOW, "registry decide: an op its hook cannot carry is not");
	dl_compiled_free(&comp);

	if (argc > 1) {
		/* stored, then what-if and suggest on it */
		char path[300], cand[300];
		struct dl_store *st = NULL;
		struct dl_store_rule rules[2];
		struct dl_event ev = { .rec = rec, .ts_ns = 1700000000000000000ll };
		int64_t pk = 0;
		FILE *f;
		int rc;

		tap_tmpdir(dir, sizeof(dir), "self");
		snprintf(path, sizeof(path), "%s/db", dir);
		snprintf(cand, sizeof(cand), "%s/cand.policy", dir);
		for (size_t i = 0; i < 2; i++)
			rules[i] = (struct dl_store_rule){ (__u32)i, p->rules[i].id, p->rules[i].family, p->rules[i].action,
							   p->rules[i].text };
		ev.rec.seq = 1;
		ev.rec.rule_idx = 1;
		ev.rec.verdict = DL_VERDICT_WOULD_DENY;
		ev.rule_id = "tamper";
		ev.cgroup_path = "/";
		ev.exe = "/usr/bin/rm";
		TAP_OK(dl_store_open(path, 0, &st) == 0 &&
		       dl_store_boot(st, "0123456789abcdef0123456789abcdef", 1, &ev.boot_key) == 0 &&
		       dl_store_policy(st, p->name, p->sha256, p->text, rules, 2, &pk) == 0, "store opened");
		ev.policy_key = pk;
		TAP_OK(dl_store_policy_load(st, ev.boot_key, 1, pk, ev.ts_ns) == 0 && dl_store_event(st, &ev) == 0,
		       "self record stored (%s)", dl_store_errmsg(st));
		dl_store_close(st);
		bin = argv[1];
		rc = RUN("--db", path, "suggest");
		TAP_OK(rc >= 0 && !strstr(out, "self allow"), "suggest runs on a self row and proposes nothing for it "
		       "(exit %d):\n%s%s", rc, out, err);
		f = fopen(cand, "w");
		if (f) {
			fputs("policy cand\nnet deny meta addr=169.254.169.254/32 op=connect\n", f);
			fclose(f);
		}
		rc = RUN("--db", path, "what-if", "--candidate", cand);
		TAP_OK(rc >= 0 && rc != 2, "what-if runs on a self row (exit %d):\n%s%s", rc, out, err);
		tap_tmpdir_remove(dir);
	}
	dl_policy_free(p);
	dl_diags_free(&d);
	return tap_done();
}
