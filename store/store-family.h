/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The store's side of a family (store/obj-<stem>.c): what a record of the
 * family acted on, as the identity the store's caches key on and as the row
 * of the objects table (schema v3: family, a display text, two typed
 * integer keys k1 and k2, whose meaning the family's file gives), and back:
 * the payload a stored object stands for (the audit catch-up rebuilds
 * records from the store). store.c expands DL_FAMILIES into
 * dl_store_families[] and goes through it for every family-specific step;
 * it names no family. A family without objects returns 0 from object().
 */
#ifndef DRYLOCK_STORE_FAMILY_H
#define DRYLOCK_STORE_FAMILY_H

#include <stdint.h>
#include "../bpf/drylock_abi.h"

#define DL_STORE_OBJ_KEY_MAX 32 /* identity bytes of one object */
#define DL_STORE_OBJ_TEXT_MAX 64

struct dl_store_object {
	uint8_t key[DL_STORE_OBJ_KEY_MAX]; /* identity, zero padded */
	char text[DL_STORE_OBJ_TEXT_MAX];  /* objects.text: display text */
	int64_t k1, k2;                    /* objects.k1, objects.k2 */
};

/* A name for a value of objects.k2 (object_kind_names). */
struct dl_store_kind {
	int64_t k2;
	const char *name;
};

struct dl_store_family {
	/* Fill o->key, o->k1, o->k2 for r (o is zeroed by the caller): 1, or
	 * 0 when the record has no object (objects id NULL). Called for every
	 * record: cheap copies only. */
	int (*object)(const struct dl_record *r, struct dl_store_object *o);
	/* Fill o->text for r: only when the object is not in the caches
	 * (formatting an address for every record was 17% of the ingest
	 * path's instructions). */
	void (*text)(const struct dl_record *r, struct dl_store_object *o);
	/* The inverse: fill r's payload (zeroed by the caller) from a stored
	 * object (text may be NULL). 0, or -EINVAL for a row this family
	 * cannot have written. */
	int (*payload)(const struct dl_store_object *o, struct dl_record *r);
	/* SQL expression over alias o (objects) and kn (object_kind_names)
	 * for events_v.object: how a person reads one object of the family. */
	const char *view_object;
	const struct dl_store_kind *kinds; /* names of k2 values; name NULL ends */
};

extern const struct dl_store_family *const dl_store_families[DL_FAMILY_MAX];

#endif
