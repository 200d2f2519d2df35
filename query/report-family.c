/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The query layer's family registry (report-family.h) and its SQL functions. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <sqlite3.h>
#include "collector/names.h"
#include "report-family.h"

#define DL_X_QUERY_DECL(n, v, s, stem) extern const struct dl_query_family dl_query_family_##stem;
DL_FAMILIES(DL_X_QUERY_DECL)
#define DL_X_QUERY_ROW(n, v, s, stem) [DL_FAMILY_##n] = &dl_query_family_##stem,
const struct dl_query_family *const dl_query_families[DL_FAMILY_MAX] = { DL_FAMILIES(DL_X_QUERY_ROW) };

/* dl_proto(hook, proto): the family's name for proto, else proto itself. */
static void sql_proto(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const struct dl_query_family *qf = NULL;
	int hook = -1;
	unsigned f;

	(void)argc;
	if (sqlite3_value_type(argv[0]) == SQLITE_INTEGER)
		hook = sqlite3_value_int(argv[0]);
	else if (sqlite3_value_type(argv[0]) == SQLITE_TEXT)
		hook = dl_hook_by_name((const char *)sqlite3_value_text(argv[0]));
	f = hook > 0 ? dl_hook_family((unsigned)hook) : 0;
	if (f && f < DL_FAMILY_MAX)
		qf = dl_query_families[f];
	if (qf && qf->proto_name && sqlite3_value_type(argv[1]) == SQLITE_INTEGER) {
		sqlite3_int64 v = sqlite3_value_int64(argv[1]);
		const char *name = v >= 0 && v <= 0xffffffffll ? qf->proto_name((unsigned)v) : NULL;

		if (name) {
			sqlite3_result_text(ctx, name, -1, SQLITE_STATIC);
			return;
		}
	}
	sqlite3_result_value(ctx, argv[1]);
}

/* dl_verdict_set(mask): the names of the verdicts whose bit is set in mask
 * (bit v for verdict v), in verdict order, comma-separated: from the
 * X-macro list, so no SQL spells verdict numbers. */
static void sql_verdict_set(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	sqlite3_int64 mask = sqlite3_value_int64(argv[0]);
	char out[128];
	size_t n = 0;

	(void)argc;
	out[0] = '\0';
	for (unsigned v = 0; v < DL_VERDICT_MAX && v < 63; v++) {
		if (!(mask & (1ll << v)))
			continue;
		int w = snprintf(out + n, sizeof(out) - n, "%s%s", n ? "," : "", dl_verdict_name(v));
		if (w < 0 || (size_t)w >= sizeof(out) - n)
			break;
		n += (size_t)w;
	}
	sqlite3_result_text(ctx, out, (int)n, SQLITE_TRANSIENT);
}

int dl_query_sql_functions(struct sqlite3 *db)
{
	if (sqlite3_create_function_v2(db, "dl_verdict_set", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
				       sql_verdict_set, NULL, NULL, NULL) != SQLITE_OK)
		return -EIO;
	return sqlite3_create_function_v2(db, "dl_proto", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, sql_proto,
					  NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
}
