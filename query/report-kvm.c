/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Family "kvm" in reports: an object row is the lock's owner (addr = its
 * comm, port = its pid, proto = the ioctl command, see store/obj-kvm.c),
 * which replays as the payload the kernel recorded; the command is shown as
 * KVM_CREATE_VM.
 */
#include <errno.h>
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

const struct dl_query_family dl_query_family_kvm = {
	.payload = kvm_payload,
	.proto_name = kvm_proto_name,
	.op_name = kvm_op_name,
};
