/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Every net hook replays as the operation the kernel decided it as (the
 * hooks' X-macro column): a send with a destination (socket_sendmsg) and an
 * SCTP connectx are `connect`, an SCTP bindx is `bind`. So suggest, what-if
 * and ready judge a recorded send by the policy's connect rules, exactly as
 * the kernel did.
 */
#include <stdio.h>
#include <string.h>

#include "query/replay.h"
#include "tap.h"

int main(void)
{
	static const char text[] =
		"policy t\n"
		"net deny c addr=10.0.0.0/8 op=connect\n"
		"net deny b addr=0.0.0.0/32 port=4444 op=bind\n";
	struct dl_diags d = { 0 };
	struct dl_replay rp = { 0 };
	struct { unsigned hook; const char *addr; unsigned port; const char *rule; } cases[] = {
		{ DL_HOOK_SOCKET_CONNECT, "10.1.2.3", 80, "c" },
		{ DL_HOOK_SOCKET_SENDMSG, "10.1.2.3", 53, "c" },
		{ DL_HOOK_SCTP_CONNECTX, "10.1.2.3", 9, "c" },
		{ DL_HOOK_SOCKET_BIND, "0.0.0.0", 4444, "b" },
		{ DL_HOOK_SCTP_BINDX, "0.0.0.0", 4444, "b" },
		{ DL_HOOK_SOCKET_BIND, "10.1.2.3", 80, NULL },   /* a connect rule is not a bind rule */
		{ DL_HOOK_SOCKET_SENDMSG, "0.0.0.0", 4444, NULL }, /* nor the other way round */
	};

	TAP_OK(dl_replay_init(&rp, "t", text, &d) == 0, "policy compiles for replay");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dl_replay_in in = { .hook = cases[i].hook, .addr = cases[i].addr,
					   .port = cases[i].port, .proto = 17, .cgroup = "/" };
		__u8 action = 0xff;
		__u32 rule = 0;
		bool unk = false;
		int r = dl_replay_decide(&rp, &in, &action, &rule, &unk);
		const char *got = r == 0 && rule != DL_RULE_NONE ? rp.policy->rules[rule].id : NULL;

		TAP_OK(r == 0 && (cases[i].rule ? got && !strcmp(got, cases[i].rule) : got == NULL),
		       "%s %s:%u replays as %s: rule %s", dl_hook_name(cases[i].hook), cases[i].addr,
		       cases[i].port, dl_hook_op(cases[i].hook) == DL_NET_OP_BIND ? "bind" : "connect",
		       got ? got : "none");
	}
	TAP_OK(dl_hook_op(DL_HOOK_SOCKET_SENDMSG) == DL_NET_OP_CONNECT &&
	       dl_hook_family(DL_HOOK_SCTP_BINDX) == DL_FAMILY_NET && dl_hook_op(999) == 0,
	       "hook -> operation and family come from the X-macro; unknown hook is 0");
	dl_replay_free(&rp);
	dl_diags_free(&d);
	return tap_done();
}
