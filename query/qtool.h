/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the drylock-query commands share: options, filters, SQL assembly with
 * bound parameters (add_where: every filter), and the output functions
 * (print_rows: table/json/csv of a statement; the *_str escapers). The core
 * commands live in query.c, the tuning reports (timeline, denials, suggest,
 * what-if) in reports.c.
 */
#ifndef DRYLOCK_QUERY_QTOOL_H
#define DRYLOCK_QUERY_QTOOL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sqlite3.h>

#define PROG "drylock-query"
#define DB_DEFAULT "/var/lib/drylock/drylock.db"
#define EXIT_USAGE 2

enum fmt { FMT_TABLE, FMT_JSON, FMT_CSV, FMT_JSONL };

struct filters {
	bool has_since, has_until, has_dest;
	int64_t since_ms, until_ms; /* [since, until) */
	const char *policy, *rule, *comm, *exe;
	char *cgroup;               /* trailing '/' removed */
	int family, verdict, port;  /* -1: any */
	uint8_t dest[16];           /* v4 as ::ffff:a.b.c.d */
	int dest_len;               /* bits, 0..128 */
};

struct bind {
	enum { B_INT, B_TEXT, B_BLOB } type;
	int64_t i;
	const void *p;
	int n;
};

struct query {
	char sql[8192];
	size_t len;
	struct bind b[64];
	int nb;
	bool overflow;
};

struct ctx {
	sqlite3 *db;
	struct filters f;
	enum fmt fmt;
	long limit;     /* -1: command default */
	const char *by; /* top; timeline: "rule" */
	int64_t bucket_ms;      /* timeline: 0 = from the window */
	const char *chart;      /* timeline: FILE.svg or FILE.html */
	unsigned max_ports;     /* suggest */
	const char *candidate;  /* what-if */
};

#define QMAXB ((int)(sizeof(((struct query *)0)->b) / sizeof(struct bind)))

#define TIME(x) "strftime('%Y-%m-%dT%H:%M:%fZ', " x " / 1000.0, 'unixepoch')"
#define TIME_MIN(x) "strftime('%Y-%m-%dT%H:%MZ', " x " / 1000.0, 'unixepoch')"

extern const char ev_joins[];

void die_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void add(struct query *q, const char *frag);
void add_int(struct query *q, const char *frag, int64_t v);
void add_text(struct query *q, const char *frag, const char *s);
int prepare(sqlite3 *db, struct query *q, sqlite3_stmt **out);
/* Append " AND ..." on events alias e for every filter in f. */
int add_where(sqlite3 *db, struct query *q, const struct filters *f);
void json_str(FILE *o, const unsigned char *s, size_t n);
/* CSV text cell: quoted as RFC 4180 needs, formulas defused with a '. */
void csv_str(FILE *o, const unsigned char *s, size_t n);
/* Terminal-safe malloc'd copy: control and bidi characters and invalid
 * UTF-8 as visible escapes (dl_term_strdup). */
char *table_str(const unsigned char *s, size_t n, size_t *width);
/* Every row of s in fmt; returns the row count or < 0. */
long print_rows(sqlite3 *db, sqlite3_stmt *s, enum fmt fmt, const char *const *only);

int cmd_timeline(struct ctx *c);
int cmd_denials(struct ctx *c);
int cmd_suggest(struct ctx *c);
/* Returns 0 (nothing newly denied), 1 (something would be), < 0 error,
 * or EXIT_USAGE via die_usage for a bad candidate. */
int cmd_whatif(struct ctx *c);

#endif
