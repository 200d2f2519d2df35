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
#include "suggest.h"
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
static int kvm_requester_keys(const struct dl_obs *o, char *out, size_t n, const char **why)
{
	const char *cg = o->cgroup;
	int len;

	if (!cg || cg[0] != '/' || !cg[1]) {
		*why = "the requester is in the root cgroup: an exception would exempt every process";
		return -EINVAL;
	}
	len = snprintf(out, n, " cgroup=%s", cg);
	return len < 0 || (size_t)len >= n ? -ENAMETOOLONG : 0;
}

static int kvm_suggest(const struct dl_replay *base, const char *base_text, struct dl_obs *obs, size_t n,
		       const struct dl_suggest_opts *opts, struct dl_suggestion **sg, size_t *nsg,
		       struct dl_suggest_info *info)
{
	(void)opts; /* one rule per requester: nothing to widen */
	return dl_suggest_per_requester(base, base_text, obs, n, kvm_requester_keys, sg, nsg, info);
}

const struct dl_query_family dl_query_family_kvm = {
	.suggest = kvm_suggest,
	.payload = kvm_payload,
	.proto_name = kvm_proto_name,
	.op_name = kvm_op_name,
};
