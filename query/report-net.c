/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Family "net" in reports: an object row is (address text, port, IANA
 * protocol), which replays as the connect/bind payload the kernel saw;
 * protocols 6 and 17 are shown as tcp and udp.
 */
#include <errno.h>
#include <string.h>
#include "replay.h"
#include "suggest.h"
#include "report-family.h"

static int net_payload(unsigned hook, const char *addr, unsigned port, unsigned proto, void *payload)
{
	struct dl_net_payload *n = payload;

	if (!dl_hook_op(hook) || port > 65535 || proto > 255)
		return -EINVAL;
	memset(n, 0, sizeof(*n));
	if (dl_addr_parse(addr, n->addr) < 0)
		return -EINVAL;
	n->port = (__u16)port;
	n->protocol = (__u8)proto;
	return 0;
}

static const char *net_proto_name(unsigned proto)
{
	return proto == 6 ? "tcp" : proto == 17 ? "udp" : NULL;
}

static const char *net_op_name(unsigned hook)
{
	unsigned op = dl_hook_op(hook);

	return op == DL_NET_OP_CONNECT ? "connect" : op == DL_NET_OP_BIND ? "bind" : "?";
}

/* Read each group's stored object into the fields the prefix and port
 * widening of dl_suggest (query/suggest-net.c) works on; a group whose object
 * does not read back keeps op 0, which dl_suggest leaves out (so the
 * caller counts it as skipped). */
static int net_suggest(const struct dl_replay *base, const char *base_text, struct dl_obs *obs, size_t n,
		       const struct dl_suggest_opts *opts, struct dl_suggestion **sg, size_t *nsg,
		       struct dl_suggest_info *info)
{
	for (size_t i = 0; i < n; i++) {
		struct dl_obs *o = &obs[i];

		o->op = 0;
		if (!dl_hook_op(o->in.hook) || o->in.port > 65535 || o->in.proto > 255 ||
		    dl_addr_parse(o->in.addr, o->addr) < 0)
			continue;
		o->port = (__u16)o->in.port;
		o->proto = (__u8)o->in.proto;
		o->op = (__u8)dl_hook_op(o->in.hook);
	}
	return dl_suggest(base, base_text, obs, n, opts, sg, nsg, info);
}

const struct dl_query_family dl_query_family_net = {
	.suggest = net_suggest,
	.payload = net_payload,
	.proto_name = net_proto_name,
	.op_name = net_op_name,
};
