/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Family "self" in the store: the object of an attempt on the locked engine
 * is what it named: objects.text holds the target name the kernel recorded
 * (a pin, an LSM program, a map; at most DL_SELF_NAME_LEN - 1 bytes, cut
 * names end in "..."), k1 the payload's arg (prog type, map id, umount
 * flags), k2 the operation (DL_SELF_OP_*) with the bpf() command in bits
 * 8-15; query/report-self.c reads them back the same way. Identity: the
 * operation, command and arg, the truncated flag, a 64-bit FNV-1a hash of
 * the whole name and its first 8 bytes.
 */
#include <errno.h>
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
	o->k1 = s->arg;
	o->k2 = (int64_t)(s->op & 0xff) | (int64_t)(s->cmd & 0xff) << 8;
	return 1;
}

static void self_text(const struct dl_record *r, struct dl_store_object *o)
{
	const struct dl_self_payload *s = &r->u.self;
	size_t n = strnlen(s->name, DL_SELF_NAME_LEN);

	_Static_assert(DL_SELF_NAME_LEN + 3 < DL_STORE_OBJ_TEXT_MAX, "self name and ... fit");
	memcpy(o->text, s->name, n);
	o->text[n] = '\0';
	if (r->flags & DL_REC_F_TRUNCATED)
		memcpy(o->text + n, "...", 4);
}

static int self_payload(const struct dl_store_object *o, struct dl_record *r)
{
	struct dl_self_payload *s = &r->u.self;
	size_t n;

	if (o->k1 < 0 || o->k1 > UINT32_MAX || o->k2 <= 0 || o->k2 > 0xffff)
		return -EINVAL;
	s->op = o->k2 & 0xff;
	s->cmd = (o->k2 >> 8) & 0xff;
	s->arg = (__u32)o->k1;
	/* a cut name is always DL_SELF_NAME_LEN - 1 bytes and then the marker */
	n = strlen(o->text);
	if (n == DL_SELF_NAME_LEN - 1 + 3 && !strcmp(o->text + n - 3, "...")) {
		n -= 3;
		r->flags |= DL_REC_F_TRUNCATED;
	} else if (n > DL_SELF_NAME_LEN - 1) {
		return -EINVAL;
	}
	memcpy(s->name, o->text, n);
	return 0;
}

/* bpf() commands (enum bpf_cmd, include/uapi/linux/bpf.h) in k2 bits 8-15 */
#define SELF_K2(op, cmd) ((op) | (cmd) << 8)
static const struct dl_store_kind self_kinds[] = {
	{ DL_SELF_OP_UNLINK, "unlink" },
	{ DL_SELF_OP_RENAME, "rename" },
	{ DL_SELF_OP_RMDIR, "rmdir" },
	{ DL_SELF_OP_UMOUNT, "umount" },
	{ SELF_K2(DL_SELF_OP_PROG_LOAD, 5), "prog_load" },     /* BPF_PROG_LOAD */
	{ SELF_K2(DL_SELF_OP_LINK_UPDATE, 29), "link_update" }, /* BPF_LINK_UPDATE */
	{ SELF_K2(DL_SELF_OP_LINK_DETACH, 34), "link_detach" }, /* BPF_LINK_DETACH */
	{ DL_SELF_OP_MAP_WRITE, "map_write" },
	{ 0, NULL },
};

const struct dl_store_family dl_store_family_self = {
	.object = self_object,
	.text = self_text,
	.payload = self_payload,
	/* prog_load other_lsm */
	.view_object = "coalesce(kn.name, 'op ' || o.k2) || ' ' || o.text",
	.kinds = self_kinds,
};
