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

static int net_suggest_obs(unsigned hook, const char *addr, unsigned port, unsigned proto, struct dl_obs *o)
{
	if (!dl_hook_op(hook) || port > 65535 || proto > 255 || dl_addr_parse(addr, o->addr) < 0)
		return -EINVAL;
	o->port = (__u16)port;
	o->proto = (__u8)proto;
	o->op = (__u8)dl_hook_op(hook);
	return 0;
}

const struct dl_query_family dl_query_family_net = {
	.suggest_obs = net_suggest_obs,
	.payload = net_payload,
	.proto_name = net_proto_name,
	.op_name = net_op_name,
};
