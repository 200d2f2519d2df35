/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Family "kvm" in the store: the object of a refused (or excepted)
 * KVM_CREATE_VM is the lock's owner: objects.addr holds the owner's comm,
 * port its pid (tgid), proto the ioctl command; query/report-kvm.c reads
 * them back the same way.
 */
#include <string.h>
#include "store-family.h"

static int kvm_object(const struct dl_record *r, struct dl_store_object *o)
{
	const struct dl_kvm_payload *k = &r->u.kvm;
	size_t n = strnlen(k->owner_comm, DL_COMM_LEN);

	memcpy(o->key, k, sizeof(*k) <= DL_STORE_OBJ_KEY_MAX ? sizeof(*k) : DL_STORE_OBJ_KEY_MAX);
	memcpy(o->addr, k->owner_comm, n);
	o->addr[n] = '\0';
	o->port = k->owner_tgid;
	o->proto = k->cmd;
	return 1;
}

const struct dl_store_family dl_store_family_kvm = {
	.object = kvm_object,
};
