/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The one thing the query tool needs from the store beyond store/store.h:
 * the SQLite connection behind a read-only dl_store, to run its SELECTs and
 * register its SQL functions. Implemented in store/store.c. Kept out of
 * store.h because that header is the fixed collector/store interface.
 */
#ifndef DRYLOCK_QDB_H
#define DRYLOCK_QDB_H
#include "../store/store.h"

struct sqlite3;
struct sqlite3 *dl_store_sqlite(struct dl_store *st);
#endif
