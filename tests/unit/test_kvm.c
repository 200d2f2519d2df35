/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Family kvm in user space: rule grammar and canonical text, the compiled
 * set the kernel walks (deepest cgroup first, deny before allow) and the
 * user-space decide over it, the audit fields, and the store object row
 * reading back (through the query family) as the payload the kernel
 * recorded, so what-if replays a stored refusal as the kernel decided it.
 * The kernel side (owner, release, pid reuse) is tests/vm/guest/kvm.sh.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "collector/audit-family.h"
#include "collector/auditfmt.h"
#include "collector/policy-family.h"
#include "query/replay.h"
#include "query/report-family.h"
#include "query/suggest.h"
#include "store/store-family.h"
#include "store/store.h"
#include <sqlite3.h>
#include "tap.h"
#include "runbin.h"

/* /a = id 100 level 1, /a/b = id 200 level 2 */
static int res(const char *path, __u64 *id, __u8 *level, void *ctx)
{
	(void)ctx;
	if (!strcmp(path, "/a")) { *id = 100; *level = 1; return 0; }
	if (!strcmp(path, "/a/b")) { *id = 200; *level = 2; return 0; }
	return -ENOENT;
}

static void expect_error(const char *text, const char *needle)
{
	struct dl_policy *p = NULL;
	struct dl_diags d = { 0 };
	int r = dl_policy_parse_string("t.policy", text, &p, &d);

	TAP_OK(r == -EINVAL && d.n && strstr(d.v[0].msg, needle), "error for '%s': %s", text,
	       d.n ? d.v[0].msg : "(none)");
	dl_policy_free(p);
	dl_diags_free(&d);
}

int main(int argc, char **argv)
{
	static const char text[] =
		"policy k\n"
		"kvm deny single-owner\n"
		"kvm allow ci cgroup=/a\n"
		"kvm deny ci-b cgroup=/a/b\n";
	struct dl_policy *p = NULL;
	struct dl_diags d = { 0 };
	struct dl_kvm_set set;
	struct dl_compiled comp;
	struct dl_record rec;
	__u64 root[1] = { 1 }, in_a[2] = { 1, 100 }, in_ab[3] = { 1, 100, 200 };
	__u8 act;
	__u32 rule;

	TAP_OK(dl_policy_parse_string("t.policy", text, &p, &d) == 0, "kvm rules parse (%s)", d.n ? d.v[0].msg : "ok");
	if (!p)
		return tap_done();
	TAP_OK(p->n_rules == 3 && p->families == (1u << DL_FAMILY_KVM), "three kvm rules, family kvm on");
	TAP_OK(!strcmp(p->rules[0].text, "kvm deny single-owner"), "canonical: %s", p->rules[0].text);
	TAP_OK(!strcmp(p->rules[1].text, "kvm allow ci cgroup=/a"), "canonical: %s", p->rules[1].text);
	expect_error("kvm deny x addr=1.2.3.4\n", "unknown key 'addr' for a kvm rule (expected cgroup, mode)");
	expect_error("kvm deny x cgroup=a\n", "invalid cgroup 'a'");

	TAP_OK(dl_kvm_compile(p, res, NULL, &set, &d) == 0 && set.n == 3, "compiles to 3 kernel rules");
	TAP_OK(set.r[0].rule_idx == 2 && set.r[1].rule_idx == 1 && set.r[2].rule_idx == 0,
	       "deepest cgroup first, the global rule last (%u %u %u)", set.r[0].rule_idx, set.r[1].rule_idx,
	       set.r[2].rule_idx);
	rule = dl_kvm_decide(&set, 0, root, 1, &act);
	TAP_OK(rule == DL_RULE_NONE && act == DL_ACTION_ALLOW, "no owner: no rule applies");
	rule = dl_kvm_decide(&set, 42, root, 1, &act);
	TAP_OK(rule == 0 && act == DL_ACTION_DENY, "another owner: single-owner denies");
	rule = dl_kvm_decide(&set, 42, in_a, 2, &act);
	TAP_OK(rule == 1 && act == DL_ACTION_ALLOW, "requester in /a: the exception allows");
	rule = dl_kvm_decide(&set, 42, in_ab, 3, &act);
	TAP_OK(rule == 2 && act == DL_ACTION_DENY, "requester in /a/b: the deeper deny wins");

	/* what the kernel records, through every layer */
	memset(&rec, 0, sizeof(rec));
	rec.family = DL_FAMILY_KVM;
	rec.hook = DL_HOOK_FILE_IOCTL;
	rec.u.kvm.owner_tgid = 4242;
	rec.u.kvm.cmd = DL_KVM_CREATE_VM;
	memcpy(rec.u.kvm.owner_comm, "qemu-system-x86", 15);
	{
		char f[256];
		int n = dl_audit_families[DL_FAMILY_KVM]->fields(f, sizeof(f), &rec);

		TAP_OK(n > 0 && !strcmp(f, " owner_pid=4242 owner_comm=\"qemu-system-x86\" ioctlcmd=0xae01"),
		       "audit fields: %s", n > 0 ? f : "?");
	}
	{
		struct dl_store_object o;
		struct dl_record back;

		memset(&o, 0, sizeof(o));
		TAP_OK(dl_store_families[DL_FAMILY_KVM]->object(&rec, &o) == 1 &&
		       (dl_store_families[DL_FAMILY_KVM]->text(&rec, &o), !strcmp(o.text, "qemu-system-x86")) &&
		       o.k1 == 4242 && o.k2 == DL_KVM_CREATE_VM, "store object: owner comm, pid, command");
		memset(&back, 0, sizeof(back));
		TAP_OK(dl_store_families[DL_FAMILY_KVM]->payload(&o, &back) == 0 &&
		       !memcmp(&back.u.kvm, &rec.u.kvm, sizeof(rec.u.kvm)),
		       "the store's own inverse rebuilds the payload (audit catch-up)");
		memset(&back, 0, sizeof(back));
		TAP_OK(dl_query_families[DL_FAMILY_KVM]->payload(DL_HOOK_FILE_IOCTL, o.text, (unsigned)o.k1,
								 (unsigned)o.k2, &back.u) == 0 &&
		       !memcmp(&back.u.kvm, &rec.u.kvm, sizeof(rec.u.kvm)), "the stored row reads back as the payload");
		TAP_OK(!strcmp(dl_query_families[DL_FAMILY_KVM]->proto_name(DL_KVM_CREATE_VM), "KVM_CREATE_VM"),
		       "proto shown as KVM_CREATE_VM");
	}
	TAP_OK(dl_policy_compile(p, res, NULL, &comp, &d) == 0, "compiles through the registry");
	rule = dl_policy_decide(&comp, DL_HOOK_FILE_IOCTL_COMPAT, &rec.u, root, 1, &act);
	TAP_OK(rule == 0 && act == DL_ACTION_DENY, "registry decide: the compat hook is decided alike");
	dl_compiled_free(&comp);

	{
		struct dl_policy *q = NULL;
		char big[2048] = "policy many\n";

		for (int i = 0; i <= DL_KVM_RULES_MAX; i++)
			snprintf(big + strlen(big), sizeof(big) - strlen(big), "kvm deny r%d\n", i);
		TAP_OK(dl_policy_parse_string("m.policy", big, &q, &d) == 0, "17 kvm rules parse");
		TAP_OK(q && dl_kvm_compile(q, res, NULL, &set, &d) == -EINVAL && d.n &&
		       strstr(d.v[d.n - 1].msg, "too many kvm rules"), "more than DL_KVM_RULES_MAX: %s",
		       d.n ? d.v[d.n - 1].msg : "?");
		dl_policy_free(q);
	}
	{
		/* stored, then replayed as what-if does: the kernel's decision */
		char path[300];
		struct dl_store *st = NULL;
		struct dl_store_rule rules[3];
		struct dl_event ev = { .rec = rec, .ts_ns = 1700000000000000000ll };
		struct dl_replay rp;
		sqlite3_stmt *q = NULL;
		int64_t pk = 0;
		bool unk;

		tap_tmpdir(dir, sizeof(dir), "kvm");
		snprintf(path, sizeof(path), "%s/db", dir);
		for (size_t i = 0; i < 3; i++)
			rules[i] = (struct dl_store_rule){ (__u32)i, p->rules[i].id, DL_FAMILY_KVM, p->rules[i].action,
							   p->rules[i].text };
		ev.rec.seq = 1;
		ev.rec.rule_idx = 0;
		ev.rec.verdict = DL_VERDICT_WOULD_DENY;
		TAP_OK(dl_store_open(path, 0, &st) == 0 && dl_store_boot(st, "0123456789abcdef0123456789abcdef", 1, &ev.boot_key) == 0 &&
		       dl_store_policy(st, p->name, p->sha256, p->text, rules, 3, &pk) == 0, "store opened");
		ev.policy_key = pk;
		ev.rule_id = "single-owner";
		ev.cgroup_path = "/other";
		ev.exe = "/usr/bin/qemu-b";
		TAP_OK(dl_store_policy_load(st, ev.boot_key, 1, pk, ev.ts_ns) == 0 && dl_store_event(st, &ev) == 0,
		       "kvm record stored (%s)", dl_store_errmsg(st));
		TAP_OK(sqlite3_prepare_v2(dl_store_sqlite(st), "SELECT o.text, o.k1, o.k2 FROM events e"
					  " JOIN objects o ON o.id = e.object", -1, &q, NULL) == SQLITE_OK &&
		       sqlite3_step(q) == SQLITE_ROW && !strcmp((const char *)sqlite3_column_text(q, 0), "qemu-system-x86") &&
		       sqlite3_column_int(q, 1) == 4242 && sqlite3_column_int(q, 2) == DL_KVM_CREATE_VM,
		       "objects row: owner comm, pid, command");
		if (q) {
			struct dl_replay_in in = { .hook = DL_HOOK_FILE_IOCTL, .port = 4242, .proto = DL_KVM_CREATE_VM,
						   .cgroup = "/other" };
			char addr[32];

			snprintf(addr, sizeof(addr), "%s", (const char *)sqlite3_column_text(q, 0));
			in.addr = addr;
			TAP_OK(dl_replay_init(&rp, "k", p->text, &d) == 0 &&
			       dl_replay_decide(&rp, &in, &act, &rule, &unk) == 0 && rule == 0 && act == DL_ACTION_DENY,
			       "what-if replays the stored record: single-owner denies (rule %u)", rule);
			in.cgroup = "/a/c";
			TAP_OK(dl_replay_decide(&rp, &in, &act, &rule, &unk) == 0 && rule == 1 && act == DL_ACTION_ALLOW,
			       "what-if: a requester under /a is the exception (rule %u)", rule);
			dl_replay_free(&rp);
		}
		sqlite3_finalize(q);
		ev.rec.seq = 2;
		ev.cgroup_path = "/";
		ev.exe = "/usr/bin/qemu-c";
		TAP_OK(dl_store_event(st, &ev) == 0, "a record from the root cgroup stored");
		dl_store_close(st);
		if (argc > 1) {
			/* suggest proposes an exception for the would-denied requester */
			bin = argv[1];
			int rc = RUN("--db", path, "suggest");
			TAP_OK(rc == 0 && strstr(out, "kvm allow sug-") && strstr(out, " cgroup=/other\n"),
			       "suggest proposes kvm allow cgroup=/other (exit %d):\n%s%s", rc, out, err);
			TAP_OK(strstr(out, "root cgroup: an exception would exempt every process"),
			       "suggest says why no exception fits a requester in the root cgroup");
			TAP_OK(strstr(out, "\n# covers 1 of 2 event(s) to allow with 2 rule(s)") &&
				       strstr(out, "; 1 event(s) in unverified rules\n"),
			       "suggest counts the kvm events in its coverage line like net's");
			rc = RUN("--db", path, "-o", "json", "suggest");
			TAP_OK(rc == 0 && strstr(out, "\"verified\": true, \"note\": null, \"problem\": null"), "the cgroup exception is verified by replay: %s", out);
		}
		tap_tmpdir_remove(dir);
	}
	/* suggest through the registry: two would-denied groups of one
	 * requester cgroup make one exception, its text exact, its id the
	 * sha256 of the text without it, verified by replay. */
	{
		static const char base_txt[] = "kvm deny single-owner\n";
		struct dl_replay rp;
		struct dl_diags dg = { 0 };
		struct dl_obs o[2] = { 0 };
		struct dl_suggestion *sg = NULL;
		struct dl_suggest_info info;
		size_t nsg = 0;
		char hash[65], want[128];
		int r = dl_replay_init(&rp, "k", base_txt, &dg);

		for (int i = 0; i < 2; i++)
			o[i] = (struct dl_obs){ .in = { .hook = DL_HOOK_FILE_IOCTL, .addr = "qemu-a",
						       .port = 100u + (unsigned)i, .proto = DL_KVM_CREATE_VM,
						       .cgroup = "/m.slice/vm.service" },
						.cgroup = "/m.slice/vm.service", .count = 3, .deny_rule = 0,
						.verdicts = 1u << DL_VERDICT_WOULD_DENY };
		r = r ? r : dl_query_families[DL_FAMILY_KVM]->suggest(&rp, base_txt, o, 2,
								      &(struct dl_suggest_opts){ .max_ports = 8 },
								      &sg, &nsg, &info);
		dl_sha256_hex("kvm allow cgroup=/m.slice/vm.service", strlen("kvm allow cgroup=/m.slice/vm.service"),
			      hash);
		snprintf(want, sizeof(want), "kvm allow sug-%.8s cgroup=/m.slice/vm.service", hash);
		TAP_OK(r == 0 && nsg == 1 && !strcmp(sg[0].text, want) && sg[0].n_obs == 2 && sg[0].count == 6 &&
			       sg[0].verified && info.events == 6 && info.covered == 6,
		       "kvm's suggest (registry): one verified exception for one requester cgroup (%s)",
		       nsg ? sg[0].text : "-");
		dl_suggestions_free(sg, nsg);
		if (r == 0)
			dl_replay_free(&rp);
		dl_diags_free(&dg);
	}
	dl_policy_free(p);
	dl_diags_free(&d);
	return tap_done();
}
