/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Family "self" in reports: an object row is what an attempt on the locked
 * engine named (addr = the target name, a trailing "..." when cut; port =
 * the payload's arg; proto = the operation, with the bpf() command in bits
 * 8-15, see store/obj-self.c), which replays as the payload the kernel
 * recorded; proto is shown as the operation's name (prog_load, unlink...).
 * suggest proposes nothing for this family: an exception to self-protection
 * would be a way around it (docs/policy-format.md), so its groups are
 * counted as skipped.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "replay.h"
#include "report-family.h"

static int self_payload(unsigned hook, const char *addr, unsigned port, unsigned proto, void *payload)
{
	struct dl_self_payload *s = payload;

	if (!(dl_hook_op(hook) & (proto & 0xff)))
		return -EINVAL;
	memset(s, 0, sizeof(*s));
	s->op = proto & 0xff;
	s->cmd = (proto >> 8) & 0xff;
	s->arg = port;
	if (addr)
		memcpy(s->name, addr, strnlen(addr, sizeof(s->name) - 1));
	return 0;
}

static const char *self_proto_name(unsigned proto)
{
	const char *n = dl_self_op_name(proto & 0xff);

	return strcmp(n, "?") ? n : NULL;
}

static const char *self_op_name(unsigned hook)
{
	__u32 op = dl_hook_op(hook);

	return op == DL_SELF_OP_BPF ? "bpf" : dl_self_op_name(op);
}

const struct dl_query_family dl_query_family_self = {
	.payload = self_payload,
	.proto_name = self_proto_name,
	.op_name = self_op_name,
};
