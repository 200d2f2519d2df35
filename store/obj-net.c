/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Family "net" in the store: the object of a connect, send or bind is the
 * (address, port, protocol) it reached; the address is stored as display
 * text (IPv4 for v4-mapped addresses), which query/report-net.c reads back.
 */
#include <string.h>
#include "collector/addr.h"
#include "store-family.h"

static int net_object(const struct dl_record *r, struct dl_store_object *o)
{
	const struct dl_net_payload *n = &r->u.net;

	memcpy(o->key, n->addr, DL_ADDR_LEN);
	memcpy(o->key + DL_ADDR_LEN, &n->port, 2);
	o->key[DL_ADDR_LEN + 2] = n->protocol;
	dl_addr_format(o->addr, sizeof(o->addr), n->addr);
	o->port = n->port;
	o->proto = n->protocol;
	return 1;
}

const struct dl_store_family dl_store_family_net = {
	.object = net_object,
};
