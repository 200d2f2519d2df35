/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The audit layer's side of a family (collector/audit-<stem>.c): the fields
 * a USER_AVC record carries after the common ones, and the bytes of the
 * record's object that belong in the deduplication key. auditfmt.c expands
 * DL_FAMILIES into dl_audit_families[] and calls the record's family.
 */
#ifndef DRYLOCK_AUDIT_FAMILY_H
#define DRYLOCK_AUDIT_FAMILY_H

#include <stddef.h>
#include "../bpf/drylock_abi.h"

struct dl_audit_family {
	/* The permission asked for, as aureport --avc shows it in
	 * "avc: denied { <perm> }" (net: connect or bind; kvm: create_vm). */
	const char *(*perm)(const struct dl_record *r);
	/* The object as aureport --avc shows it (tcontext=): an audit-safe
	 * token without spaces or quotes; the length, or -ENOSPC. */
	int (*tcontext)(char *out, size_t outlen, const struct dl_record *r);
	/* Write " name=value ..." (leading space, audit-safe values: see
	 * dl_audit_encode) into out; the length, or -ENOSPC. */
	int (*fields)(char *out, size_t outlen, const struct dl_record *r);
	/* Copy the bytes that identify the record's object into key (at most
	 * DL_PAYLOAD_LEN); their count. */
	size_t (*dedup_key)(const struct dl_record *r, __u8 key[DL_PAYLOAD_LEN]);
};

extern const struct dl_audit_family *const dl_audit_families[DL_FAMILY_MAX];

#endif
