/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* For store unit tests: qi(h, sql) is the first column of the first row as an
 * integer; -1 when there is no row, -2 when the SQL does not prepare. */
#ifndef DRYLOCK_SQLQ_H
#define DRYLOCK_SQLQ_H
#include <sqlite3.h>

static long long qi(sqlite3 *h, const char *sql)
{
	sqlite3_stmt *s;
	long long v = -1;
	if (sqlite3_prepare_v2(h, sql, -1, &s, NULL) != SQLITE_OK)
		return -2;
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

#endif
