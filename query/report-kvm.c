/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Family "kvm" in reports: an object row is the lock's owner (addr = its
 * comm, port = its pid, proto = the ioctl command, see store/obj-kvm.c),
 * which replays as the payload the kernel recorded; the command is shown as
 * KVM_CREATE_VM.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "replay.h"
#include "report-family.h"

static int kvm_payload(unsigned hook, const char *addr, unsigned port, unsigned proto, void *payload)
{
	struct dl_kvm_payload *k = payload;

	if (!dl_hook_op(hook) || !port)
		return -EINVAL;
	memset(k, 0, sizeof(*k));
	k->owner_tgid = port;
	k->cmd = proto;
	if (addr) /* NUL-padded, not NUL-terminated, as the kernel's comm */
		memcpy(k->owner_comm, addr, strnlen(addr, sizeof(k->owner_comm)));
	return 0;
}

static const char *kvm_proto_name(unsigned proto)
{
	return proto == DL_KVM_CREATE_VM ? "KVM_CREATE_VM" : NULL;
}

static const char *kvm_op_name(unsigned hook)
{
	return dl_hook_op(hook) == DL_KVM_OP_CREATE_VM ? "create_vm" : "?";
}

/* An exception by the requester's cgroup; none for the root cgroup, which
 * would exempt every process and so turn the lock off. */
static int kvm_suggest_keys(unsigned hook, const char *cgroup, char *out, size_t n, const char **why)
{
	int len;

	if (!dl_hook_op(hook))
		return -EINVAL;
	if (!cgroup || cgroup[0] != '/' || !cgroup[1]) {
		*why = "the requester is in the root cgroup: an exception would exempt every process";
		return -EINVAL;
	}
	len = snprintf(out, n, " cgroup=%s", cgroup);
	return len < 0 || (size_t)len >= n ? -ENAMETOOLONG : 0;
}

const struct dl_query_family dl_query_family_kvm = {
	.suggest_keys = kvm_suggest_keys,
	.payload = kvm_payload,
	.proto_name = kvm_proto_name,
	.op_name = kvm_op_name,
};
