/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The store's side of a family (store/obj-<stem>.c): what a record of the
 * family acted on, as the identity the store's caches key on and as the row
 * of the objects table (schema v2 columns: a display text in addr, two
 * integers in port and proto, whose meaning the family's query file gives).
 * store.c expands DL_FAMILIES into dl_store_families[] and interns the
 * object of every record through it; a family without objects returns 0.
 */
#ifndef DRYLOCK_STORE_FAMILY_H
#define DRYLOCK_STORE_FAMILY_H

#include <stdint.h>
#include "../bpf/drylock_abi.h"

#define DL_STORE_OBJ_KEY_MAX 32 /* identity bytes of one object */
#define DL_STORE_OBJ_TEXT_MAX 64

struct dl_store_object {
	uint8_t key[DL_STORE_OBJ_KEY_MAX]; /* identity, zero padded */
	char addr[DL_STORE_OBJ_TEXT_MAX];  /* objects.addr: display text */
	int64_t port, proto;               /* objects.port, objects.proto */
};

struct dl_store_family {
	/* Fill *o for r (o is zeroed by the caller): 1, or 0 when the record
	 * has no object (objects id NULL). */
	int (*object)(const struct dl_record *r, struct dl_store_object *o);
};

extern const struct dl_store_family *const dl_store_families[DL_FAMILY_MAX];

#endif
