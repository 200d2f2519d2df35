/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Family "kvm" in audit records: the thread group that holds the VM-creation
 * lock (owner_pid=, owner_comm= encoded like comm=) and the ioctl command
 * (ioctlcmd=0xae01). The requester is the record's subject (spid=, comm=,
 * cmd=). The dedup key is the owner and the command.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "audit-family.h"
#include "auditfmt.h"

static int kvm_fields(char *out, size_t outlen, const struct dl_record *r)
{
	const struct dl_kvm_payload *k = &r->u.kvm;
	char comm[2 * DL_COMM_LEN + 3];
	int len;

	if (dl_audit_encode(comm, sizeof(comm), k->owner_comm, strnlen(k->owner_comm, DL_COMM_LEN),
			    DL_COMM_LEN) < 0)
		return -ENOSPC;
	len = snprintf(out, outlen, " owner_pid=%u owner_comm=%s ioctlcmd=0x%x", k->owner_tgid, comm, k->cmd);
	return len < 0 || (size_t)len >= outlen ? -ENOSPC : len;
}

static const char *kvm_perm(const struct dl_record *r)
{
	return "create_vm";
}

/* The device the ioctl was made on. */
static int kvm_tcontext(char *out, size_t outlen, const struct dl_record *r)
{
	int len = snprintf(out, outlen, "/dev/kvm");

	return len < 0 || (size_t)len >= outlen ? -ENOSPC : len;
}

static size_t kvm_dedup_key(const struct dl_record *r, __u8 key[DL_PAYLOAD_LEN])
{
	memcpy(key, &r->u.kvm, sizeof(r->u.kvm));
	return sizeof(r->u.kvm);
}

const struct dl_audit_family dl_audit_family_kvm = {
	.perm = kvm_perm,
	.tcontext = kvm_tcontext,
	.fields = kvm_fields,
	.dedup_key = kvm_dedup_key,
};
