/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Compatibility header. dl_store_sqlite(), the SQLite connection behind a
 * dl_store, is declared in store/store.h, which drylock-query includes
 * directly; this file only forwards to it for code that still includes it
 * (tests/unit/test_store.c). New code: include "store/store.h".
 */
#ifndef DRYLOCK_QDB_H
#define DRYLOCK_QDB_H
#include "../store/store.h"
#endif
