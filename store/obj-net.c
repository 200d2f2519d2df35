/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Family "net" in the store: the object of a connect, send or bind is the
 * (address, port, protocol) it reached: objects.text is the address as
 * display text (IPv4 for v4-mapped addresses), k1 the port, k2 the IANA
 * protocol; query/report-net.c reads them back.
 */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include "collector/addr.h"
#include "store-family.h"

static int net_object(const struct dl_record *r, struct dl_store_object *o)
{
	const struct dl_net_payload *n = &r->u.net;

	memcpy(o->key, n->addr, DL_ADDR_LEN);
	memcpy(o->key + DL_ADDR_LEN, &n->port, 2);
	o->key[DL_ADDR_LEN + 2] = n->protocol;
	o->k1 = n->port;
	o->k2 = n->protocol;
	return 1;
}

static void net_text(const struct dl_record *r, struct dl_store_object *o)
{
	const struct dl_net_payload *n = &r->u.net;

	dl_addr_format(o->text, sizeof(o->text), n->addr);
}

static int net_payload(const struct dl_store_object *o, struct dl_record *r)
{
	struct dl_net_payload *n = &r->u.net;

	if (o->k1 < 0 || o->k1 > 65535 || o->k2 < 0 || o->k2 > 255)
		return -EINVAL;
	switch (dl_addr_parse(o->text, n->addr)) {
	case 4: n->sa_family = AF_INET; break;
	case 6: n->sa_family = AF_INET6; break;
	default: return -EINVAL;
	}
	n->port = (__u16)o->k1;
	n->protocol = (__u8)o->k2;
	return 0;
}

static const struct dl_store_kind net_kinds[] = {
	{ IPPROTO_TCP, "tcp" },
	{ IPPROTO_UDP, "udp" },
	{ IPPROTO_SCTP, "sctp" },
	{ 0, NULL },
};

const struct dl_store_family dl_store_family_net = {
	.object = net_object,
	.text = net_text,
	.payload = net_payload,
	/* 10.0.0.1:443/tcp, [2001:db8::1]:53/udp */
	.view_object = "CASE WHEN instr(o.text, ':') THEN '[' || o.text || ']' ELSE o.text END"
		       " || ':' || o.k1 || '/' || coalesce(kn.name, o.k2)",
	.kinds = net_kinds,
};
