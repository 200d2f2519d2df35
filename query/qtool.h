/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the drylock-query commands share: options, filters, SQL assembly with
 * bound parameters (add_where: every filter), and the output functions
 * (print_rows: table/json/csv of a statement; the *_str escapers), the row
 * limits and the policy version a report decides as of. The core commands
 * live in query.c, the tuning reports (timeline, denials, ready, suggest,
 * what-if) in reports.c.
 */
#ifndef DRYLOCK_QUERY_QTOOL_H
#define DRYLOCK_QUERY_QTOOL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sqlite3.h>
#include "report-family.h"

#define PROG "drylock-query"
#define DB_DEFAULT "/var/lib/drylock/drylock.db"
#define EXIT_USAGE 2

enum fmt { FMT_TABLE, FMT_JSON, FMT_CSV, FMT_JSONL };

struct filters {
	bool has_since, has_until, has_dest;
	int64_t since_ms, until_ms; /* [since, until) */
	const char *policy, *rule, *comm, *exe; /* policy: a name (every version of it) */
	int64_t policy_id;          /* one version (policies.id); 0: any */
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

/* A stored policy version (policies row). */
struct pversion {
	int64_t id;                 /* 0: none */
	char *name, *sha256, *text;
};

struct ctx {
	sqlite3 *db;
	/* The version ready, denials and suggest decide as of: --policy, else
	 * the currently loaded one (latest load). Events logged under another
	 * version are replayed against it. */
	struct pversion ver;
	struct filters f;
	enum fmt fmt;
	long limit;     /* -1: command default, 0: all (--all) */
	const char *by; /* top; timeline: "rule" */
	int64_t bucket_ms;      /* timeline: 0 = from the window */
	const char *chart;      /* timeline: FILE.svg or FILE.html */
	unsigned max_ports;     /* suggest */
	unsigned max_rules;     /* suggest: budget, 0 = none (--all) */
	const char *candidate;  /* what-if */
};

#define QMAXB ((int)(sizeof(((struct query *)0)->b) / sizeof(struct bind)))

#define TIME(x) "strftime('%Y-%m-%dT%H:%M:%fZ', " x " / 1000.0, 'unixepoch')"
/* The verdicts that deny (would-deny, deny), from the name table the store
 * fills from DL_VERDICTS: for "e.verdict IN " DENIES. */
#define DENIES "(SELECT id FROM verdict_names WHERE denies)"
#define TIME_MIN(x) "strftime('%Y-%m-%dT%H:%MZ', " x " / 1000.0, 'unixepoch')"

extern const char ev_joins[];

void die_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* --policy SPEC (NULL: none) to c->ver and the filters: "current" (the
 * version of the latest load), a policy name (its latest loaded version;
 * events of every version of the name), or a sha256 prefix of at least 8
 * hex digits (that version; an ambiguous prefix is a usage error). With
 * exact, a sha256 prefix or "current" also restricts events to that version
 * (f.policy_id); without (tuning reports) events of the whole name are kept
 * and replayed. 0, or < 0 after a message. */
int resolve_policy(struct ctx *c, const char *spec, bool exact);
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
/* The first limit rows (< 0: all), the count of all into *total. */
long print_rows_lim(sqlite3 *db, sqlite3_stmt *s, enum fmt fmt, const char *const *only, long limit,
		    long *total);
/* The row limit: --limit N, --all (-1: no limit), else def. */
long limit_of(const struct ctx *c, long def);
/* "showing N of M WHAT" when rows were left out: a line after a table, a
 * line on stderr for JSON and CSV (whose output stays exact). */
void note_shown(const struct ctx *c, long shown, long total, const char *what);

/* ready: 0 when nothing would be denied as of c->ver, else lists it and
 * returns 1. */
int cmd_ready(struct ctx *c);
int cmd_timeline(struct ctx *c);
int cmd_denials(struct ctx *c);
int cmd_suggest(struct ctx *c);
/* Returns 0 (nothing newly denied), 1 (something would be), < 0 error,
 * or EXIT_USAGE via die_usage for a bad candidate. */
int cmd_whatif(struct ctx *c);

#endif
