/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Family "kvm" in the store: the object of a refused (or excepted)
 * KVM_CREATE_VM is the lock's owner: objects.text holds the owner's comm,
 * k1 its pid (tgid), k2 the ioctl command; query/report-kvm.c reads them
 * back the same way.
 */
#include <errno.h>
#include <string.h>
#include "store-family.h"

static int kvm_object(const struct dl_record *r, struct dl_store_object *o)
{
	const struct dl_kvm_payload *k = &r->u.kvm;

	memcpy(o->key, k, sizeof(*k) <= DL_STORE_OBJ_KEY_MAX ? sizeof(*k) : DL_STORE_OBJ_KEY_MAX);
	o->k1 = k->owner_tgid;
	o->k2 = k->cmd;
	return 1;
}

static void kvm_text(const struct dl_record *r, struct dl_store_object *o)
{
	size_t n = strnlen(r->u.kvm.owner_comm, DL_COMM_LEN);

	memcpy(o->text, r->u.kvm.owner_comm, n);
	o->text[n] = '\0';
}

static int kvm_payload(const struct dl_store_object *o, struct dl_record *r)
{
	struct dl_kvm_payload *k = &r->u.kvm;

	if (o->k1 <= 0 || o->k1 > UINT32_MAX || o->k2 < 0 || o->k2 > UINT32_MAX)
		return -EINVAL;
	k->owner_tgid = (__u32)o->k1;
	k->cmd = (__u32)o->k2;
	/* NUL-padded, not NUL-terminated, as the kernel's comm */
	memcpy(k->owner_comm, o->text, strnlen(o->text, sizeof(k->owner_comm)));
	return 0;
}

static const struct dl_store_kind kvm_kinds[] = {
	{ DL_KVM_CREATE_VM, "KVM_CREATE_VM" },
	{ 0, NULL },
};

const struct dl_store_family dl_store_family_kvm = {
	.object = kvm_object,
	.text = kvm_text,
	.payload = kvm_payload,
	/* owner qemu-system-x86 (pid 4242) */
	.view_object = "'owner ' || o.text || ' (pid ' || o.k1 || ')'",
	.kinds = kvm_kinds,
};
