/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Family "self" in the store: the object of an attempt on the locked engine
 * is what it named: objects.addr holds the target name the kernel recorded
 * (a pin, an LSM program, a map; at most DL_SELF_NAME_LEN - 1 bytes, cut
 * names end in "..."), port the payload's arg (prog type, map id, umount
 * flags), proto the operation (DL_SELF_OP_*) with the bpf() command in bits
 * 8-15; query/report-self.c reads them back the same way. Identity: the
 * operation, command and arg, a 64-bit FNV-1a hash of the whole name and its
 * first 16 bytes.
 */
#include <string.h>
#include "store-family.h"

static int self_object(const struct dl_record *r, struct dl_store_object *o)
{
	const struct dl_self_payload *s = &r->u.self;
	size_t n = strnlen(s->name, DL_SELF_NAME_LEN);
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s->name[i]) * 1099511628211ULL;
	memcpy(o->key, &s->op, 4);
	memcpy(o->key + 4, &s->cmd, 4);
	memcpy(o->key + 8, &s->arg, 4);
	o->key[12] = r->flags & DL_REC_F_TRUNCATED;
	memcpy(o->key + 16, &h, 8);
	memcpy(o->key + 24, s->name, n < 8 ? n : 8);
	memcpy(o->addr, s->name, n);
	o->addr[n] = '\0';
	if (r->flags & DL_REC_F_TRUNCATED && n + 3 < sizeof(o->addr))
		memcpy(o->addr + n, "...", 4);
	o->port = s->arg;
	o->proto = (int64_t)(s->op & 0xff) | (int64_t)(s->cmd & 0xff) << 8;
	return 1;
}

const struct dl_store_family dl_store_family_self = {
	.object = self_object,
};
