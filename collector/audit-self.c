/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Family "self" in audit records: what was attempted on the locked engine,
 * attempt=<op> (the perm too: "avc: denied { unlink }"), target= the name
 * the kernel recorded (encoded like comm=; the pin's name, the LSM
 * program's, the map's), bpf_cmd= and arg= for bpf() and map attempts, and
 * (auditfmt adds trunc=1 when the name was cut at DL_SELF_NAME_LEN - 1 bytes). tcontext
 * names the kind of object. The dedup key is the whole payload.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "audit-family.h"
#include "auditfmt.h"
#include "policy.h"

static int self_fields(char *out, size_t outlen, const struct dl_record *r)
{
	const struct dl_self_payload *s = &r->u.self;
	char name[2 * DL_SELF_NAME_LEN + 3];
	int len;

	if (dl_audit_encode(name, sizeof(name), s->name, strnlen(s->name, DL_SELF_NAME_LEN),
			    DL_SELF_NAME_LEN) < 0)
		return -ENOSPC;
	len = snprintf(out, outlen, " attempt=%s target=%s bpf_cmd=%u arg=%u", dl_self_op_name(s->op), name,
		       s->cmd, s->arg);
	return len < 0 || (size_t)len >= outlen ? -ENOSPC : len;
}

static const char *self_perm(const struct dl_record *r)
{
	return dl_self_op_name(r->u.self.op);
}

static int self_tcontext(char *out, size_t outlen, const struct dl_record *r)
{
	const char *kind = "drylock_pin";
	int len;

	switch (r->u.self.op) {
	case DL_SELF_OP_UMOUNT: kind = "drylock_bpffs"; break;
	case DL_SELF_OP_PROG_LOAD: kind = "bpf_lsm_prog"; break;
	case DL_SELF_OP_LINK_DETACH:
	case DL_SELF_OP_LINK_UPDATE: kind = "bpf_link"; break;
	case DL_SELF_OP_MAP_WRITE: kind = "drylock_map"; break;
	}
	len = snprintf(out, outlen, "%s", kind);
	return len < 0 || (size_t)len >= outlen ? -ENOSPC : len;
}

static size_t self_dedup_key(const struct dl_record *r, __u8 key[DL_PAYLOAD_LEN])
{
	memcpy(key, &r->u.self, sizeof(r->u.self));
	return sizeof(r->u.self);
}

const struct dl_audit_family dl_audit_family_self = {
	.perm = self_perm,
	.tcontext = self_tcontext,
	.fields = self_fields,
	.dedup_key = self_dedup_key,
};
