/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The family registry: every row of DL_FAMILIES has an entry in each
 * user-space layer's registry (policy, audit, store, query; the loader's is
 * in the drylock binary and checked by the VM tests), every hook belongs to
 * a listed family, and deciding through the registry (dl_policy_decide,
 * what what-if replay uses) gives the family's own decision.
 */
#include <stdio.h>
#include <string.h>

#include "collector/audit-family.h"
#include "collector/names.h"
#include "collector/policy-family.h"
#include "query/replay.h"
#include "query/report-family.h"
#include "store/store-family.h"
#include "tap.h"

int main(void)
{
	static const char text[] =
		"policy t\n"
		"net deny c addr=10.0.0.0/8 op=connect\n"
		"net allow a addr=10.1.0.0/16 port=443 proto=tcp\n";
	struct dl_policy *p = NULL;
	struct dl_diags d = { 0 };
	struct dl_compiled comp;
	struct dl_record rec;
	__u64 anc[1] = { 1 };
	__u8 act = 0xff;
	__u32 rule;
	unsigned n_fam = 0;

#define X_FAM(n, v, s, stem)                                                                      \
	n_fam++;                                                                                  \
	TAP_OK(dl_policy_families[v] && dl_policy_families[v]->compile && dl_policy_families[v]->decide, \
	       "policy registry has family %s", s);                                                \
	TAP_OK(dl_audit_families[v] && dl_audit_families[v]->fields, "audit registry has family %s", s); \
	TAP_OK(dl_store_families[v] && dl_store_families[v]->object, "store registry has family %s", s); \
	TAP_OK(dl_query_families[v] && dl_query_families[v]->payload, "query registry has family %s", s);
	DL_FAMILIES(X_FAM)
#undef X_FAM
	for (unsigned f = 0; f < DL_FAMILY_MAX; f++) {
		bool listed = strcmp(dl_family_name(f), "?") != 0;

		if (!listed)
			TAP_OK(!dl_policy_families[f] && !dl_audit_families[f] && !dl_store_families[f] &&
			       !dl_query_families[f], "no registry entry for unlisted family %u", f);
	}
	TAP_OK(n_fam > 0 && n_fam < DL_FAMILY_MAX, "%u families fit DL_FAMILY_MAX", n_fam);
#define X_HOOK(n, v, s, fam, op) \
	TAP_OK(dl_hook_family(v) == DL_FAMILY_##fam && dl_policy_families[DL_FAMILY_##fam], \
	       "hook %s belongs to a registered family", s);
	DL_HOOKS(X_HOOK)
#undef X_HOOK

	TAP_OK(dl_policy_parse_string("t", text, &p, &d) == 0, "policy parses");
	TAP_OK(dl_policy_compile(p, dl_cg_synth_resolve, NULL, &comp, &d) == 0, "compiles through the registry");
	memset(&rec, 0, sizeof(rec));
	rec.u.net.addr[10] = rec.u.net.addr[11] = 0xff;
	rec.u.net.addr[12] = 10;
	rec.u.net.addr[13] = 1;
	rec.u.net.port = 443;
	rec.u.net.protocol = 6;
	rule = dl_policy_decide(&comp, DL_HOOK_SOCKET_CONNECT, &rec.u, anc, 1, &act);
	TAP_OK(rule == 1 && act == DL_ACTION_ALLOW, "the more specific allow decides (rule %u action %u)", rule, act);
	rec.u.net.port = 80;
	rule = dl_policy_decide(&comp, DL_HOOK_SOCKET_CONNECT, &rec.u, anc, 1, &act);
	TAP_OK(rule == 0 && act == DL_ACTION_DENY, "port 80 is denied (rule %u action %u)", rule, act);
	rule = dl_policy_decide(&comp, DL_HOOK_SOCKET_BIND, &rec.u, anc, 1, &act);
	TAP_OK(rule == DL_RULE_NONE && act == DL_ACTION_ALLOW, "a bind matches no connect rule");
	dl_compiled_free(&comp);
	dl_policy_free(p);
	dl_diags_free(&d);
	return tap_done();
}
