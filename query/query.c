/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * drylock-query: reports over the drylock store, for people (tables) and for
 * programs (JSON, CSV, JSON lines).
 *
 * Safety. The database is opened read-only (through dl_store_open, which
 * never creates or writes a file, not even -wal or -shm: see docs/store.md),
 * so a report can never write and, thanks to WAL, never blocks the
 * collector. Every filter value reaches SQLite as a bound
 * parameter: the SQL text is assembled only from constant fragments chosen
 * by which filters are present, never from their values. Strings in the
 * database are untrusted (a process chooses its own comm, and its exe path):
 * the table printer shows control and bidi characters and invalid UTF-8 as
 * visible escapes (\x1b, \u202e), JSON escapes them (invalid bytes as
 * \u00XX), CSV quotes per RFC 4180 and defuses formulas (' before a cell
 * that starts with =, +, -, @, tab or CR).
 *
 * Time windows. events has no index on its timestamp; the minutes table maps
 * a window to a range of event ids (see store/schema.sql), so --since/--until
 * turn into a rowid range plus an exact test on ts. The other filters become
 * IN (subquery) tests against the small interned tables (subjects, objects,
 * strings), which SQLite evaluates once per statement, so the scan of events
 * only compares integers. Address prefixes (--dest) are matched in C by
 * dl_addr_in(), registered on the connection, over the objects table only.
 *
 * Rollups. summary and top read the store's per-minute rollup tables when
 * the filters allow it and scan events otherwise, with the same output
 * (see "rollups" below and docs/reports.md).
 *
 * Commands: summary, events, top, export here; the tuning reports
 * timeline, denials, ready, suggest and what-if in reports.c (shared helpers
 * in qtool.h). Output size: every report has a default row limit (--limit,
 * --all) and says when it left rows out; a terminal on stdout gets a pager. Exit codes: 0 success, 1 error (message on stderr) or, for
 * `ready`, "not ready" and for `what-if` "something would newly be denied",
 * 2 usage (for what-if also an invalid candidate policy).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <sqlite3.h>

#include "collector/addr.h"
#include "collector/escape.h"
#include "collector/names.h"
#include "collector/numparse.h"
#include "qtool.h"
#include "store/store.h"

void die_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void die_usage(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs(PROG ": ", stderr);
	vfprintf(stderr, fmt, ap);
	fputs("\nTry '" PROG " --help'.\n", stderr);
	va_end(ap);
	exit(EXIT_USAGE);
}

void errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void errorf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs(PROG ": ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* ---- parsing --------------------------------------------------------- */

/* The latest absolute time accepted: 9999-12-31T23:59:59Z, so that every
 * time in ms, and the difference of any two, fits in an int64. */
#define TIME_MAX_S 253402300799LL
#define TIME_MIN_S (-62135596800LL) /* 0001-01-01T00:00:00Z */

/* T is unix seconds, YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS][Z] (UTC; a space may
 * replace the T), or a duration (numparse.h: Ns|Nm|Nh|Nd|Nw, N > 0) meaning
 * that long before now. -EINVAL if T is none of those, -ERANGE if out of
 * range. */
static int parse_time(const char *s, int64_t *ms)
{
	uint64_t v;
	int64_t ns;
	int r;

	if (!*s)
		return -EINVAL;
	if (strspn(s, "0123456789") == strlen(s)) {
		if ((r = dl_parse_uint(s, 0, TIME_MAX_S, &v)) < 0)
			return r;
		*ms = (int64_t)v * 1000;
		return 0;
	}
	r = dl_parse_duration_ns(s, &ns);
	if (r == 0) {
		/* |ns| < 2^63, so now - ns / 10^6 cannot overflow */
		*ms = (int64_t)time(NULL) * 1000 - ns / 1000000;
		return 0;
	}
	if (r == -ERANGE)
		return r;
	static const char *const fmts[] = { "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S",
					     "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d" };
	for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		struct tm tm = { 0 };
		const char *rest = strptime(s, fmts[i], &tm);
		if (rest && (!*rest || !strcmp(rest, "Z"))) {
			time_t t = timegm(&tm);

			if (t < TIME_MIN_S || t > TIME_MAX_S)
				return -ERANGE;
			*ms = (int64_t)t * 1000;
			return 0;
		}
	}
	return -EINVAL;
}

/* ADDR[/LEN], LEN plain decimal digits within the family's bits.
 * -EINVAL or -ERANGE (LEN too long). */
static int parse_prefix(const char *arg, uint8_t out[16], int *len)
{
	unsigned plen;
	int r = dl_prefix_parse(arg, out, &plen);

	if (r < 0)
		return r;
	*len = (int)plen;
	return 0;
}

/* A numeric option's value in [min, max], or exit 2 naming both. */
static uint64_t opt_uint(const char *opt, const char *val, uint64_t min, uint64_t max)
{
	uint64_t v;
	int r = dl_parse_uint(val, min, max, &v);

	if (r < 0)
		die_usage("%s '%s': %s (a decimal number from %" PRIu64 " to %" PRIu64 ")", opt, val,
			  dl_parse_strerror(r), min, max);
	return v;
}

/* SQL function dl_addr_in(addr_text, prefix_blob16, prefix_bits): 1 if the
 * stored display address lies in the prefix. IPv4 text is compared as its
 * v4-mapped form, so 10.0.0.0/8 and ::ffff:10.0.0.0/104 mean the same. */
static void sql_addr_in(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const char *text = (const char *)sqlite3_value_text(argv[0]);
	const uint8_t *pfx = sqlite3_value_blob(argv[1]);
	int bits = sqlite3_value_int(argv[2]);
	uint8_t a[16] = { 0 };
	if (!text || !pfx || sqlite3_value_bytes(argv[1]) != 16 || bits < 0 || bits > 128) {
		sqlite3_result_int(ctx, 0);
		return;
	}
	if (dl_addr_parse(text, a) < 0) {
		sqlite3_result_int(ctx, 0);
		return;
	}
	int whole = bits / 8, rest = bits % 8;
	int in = memcmp(a, pfx, (size_t)whole) == 0;
	if (in && rest) {
		uint8_t mask = (uint8_t)(0xff << (8 - rest));
		in = (a[whole] & mask) == (pfx[whole] & mask);
	}
	sqlite3_result_int(ctx, in);
}

/* ---- SQL assembly with bound parameters ------------------------------ */


void add(struct query *q, const char *frag)
{
	size_t n = strlen(frag);
	if (q->len + n >= sizeof(q->sql)) {
		q->overflow = true;
		return;
	}
	memcpy(q->sql + q->len, frag, n + 1);
	q->len += n;
}

/* Append a fragment whose '?' placeholders are numbered in order with the
 * values that follow; only constant fragments are ever passed here. */
void add_int(struct query *q, const char *frag, int64_t v)
{
	if (q->nb >= QMAXB) {
		q->overflow = true;
		return;
	}
	q->b[q->nb++] = (struct bind){ .type = B_INT, .i = v };
	add(q, frag);
}

void add_text(struct query *q, const char *frag, const char *s)
{
	if (q->nb >= QMAXB) {
		q->overflow = true;
		return;
	}
	q->b[q->nb++] = (struct bind){ .type = B_TEXT, .p = s, .n = -1 };
	add(q, frag);
}

static void push_blob(struct query *q, const void *p, int n)
{
	if (q->nb >= QMAXB) {
		q->overflow = true;
		return;
	}
	q->b[q->nb++] = (struct bind){ .type = B_BLOB, .p = p, .n = n };
}

static void push_int(struct query *q, int64_t v)
{
	if (q->nb >= QMAXB) {
		q->overflow = true;
		return;
	}
	q->b[q->nb++] = (struct bind){ .type = B_INT, .i = v };
}

static void push_text(struct query *q, const char *s)
{
	if (q->nb >= QMAXB) {
		q->overflow = true;
		return;
	}
	q->b[q->nb++] = (struct bind){ .type = B_TEXT, .p = s, .n = -1 };
}

int prepare(sqlite3 *db, struct query *q, sqlite3_stmt **out)
{
	if (q->overflow) {
		errorf("query: internal error: query too long");
		return -E2BIG;
	}
	int rc = sqlite3_prepare_v2(db, q->sql, -1, out, NULL);
	if (rc != SQLITE_OK) {
		errorf("query: %s", sqlite3_errmsg(db));
		return -EIO;
	}
	if (sqlite3_bind_parameter_count(*out) != q->nb) {
		errorf("query: internal error: %d parameters, %d values",
		       sqlite3_bind_parameter_count(*out), q->nb);
		sqlite3_finalize(*out);
		return -EINVAL;
	}
	for (int i = 0; i < q->nb; i++) {
		struct bind *b = &q->b[i];
		if (b->type == B_INT)
			sqlite3_bind_int64(*out, i + 1, b->i);
		else if (b->type == B_TEXT)
			sqlite3_bind_text(*out, i + 1, b->p, b->n, SQLITE_STATIC);
		else
			sqlite3_bind_blob(*out, i + 1, b->p, b->n, SQLITE_STATIC);
	}
	return 0;
}

/* One integer from a one-row query with one optional integer parameter;
 * *null set when the result is NULL. */
static int scalar(sqlite3 *db, const char *sql, int64_t arg, int64_t *v, bool *null)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) {
		errorf("query: %s", sqlite3_errmsg(db));
		return -EIO;
	}
	sqlite3_bind_int64(s, 1, arg);
	int rc = sqlite3_step(s);
	*null = rc != SQLITE_ROW || sqlite3_column_type(s, 0) == SQLITE_NULL;
	*v = *null ? 0 : sqlite3_column_int64(s, 0);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		errorf("query: %s", sqlite3_errmsg(db));
		sqlite3_finalize(s);
		return -EIO;
	}
	sqlite3_finalize(s);
	return 0;
}

/* One policies row from a statement whose columns are id, name, sha256,
 * text; 1 found, 0 none, < 0 error. */
static int version_row(sqlite3 *db, sqlite3_stmt *s, struct pversion *v)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW) {
		errorf("query: %s", sqlite3_errmsg(db));
		return -EIO;
	}
	v->id = sqlite3_column_int64(s, 0);
	v->name = strdup((const char *)sqlite3_column_text(s, 1));
	v->sha256 = strdup((const char *)sqlite3_column_text(s, 2));
	v->text = strdup((const char *)sqlite3_column_text(s, 3));
	if (!v->name || !v->sha256 || !v->text) {
		errorf("out of memory");
		return -ENOMEM;
	}
	return 1;
}

static int version_query(sqlite3 *db, const char *sql, const char *arg, struct pversion *v)
{
	sqlite3_stmt *s;
	int r;

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) {
		errorf("query: %s", sqlite3_errmsg(db));
		return -EIO;
	}
	if (arg)
		sqlite3_bind_text(s, 1, arg, -1, SQLITE_STATIC);
	r = version_row(db, s, v);
	sqlite3_finalize(s);
	return r;
}

int resolve_policy(struct ctx *c, const char *spec, bool exact)
{
	/* The latest load wins; a version never loaded (stored by hand) ranks
	 * after every loaded one, newest first. */
	static const char current[] =
		"SELECT p.id, p.name, p.sha256, p.text FROM policies p"
		" ORDER BY (SELECT max(l.ts) FROM loads l WHERE l.policy = p.id) DESC NULLS LAST,"
		" p.id DESC LIMIT 1";
	static const char by_name[] =
		"SELECT p.id, p.name, p.sha256, p.text FROM policies p WHERE p.name = ?1"
		" ORDER BY (SELECT max(l.ts) FROM loads l WHERE l.policy = p.id) DESC NULLS LAST,"
		" p.id DESC LIMIT 1";
	static const char by_sha[] =
		"SELECT p.id, p.name, p.sha256, p.text FROM policies p"
		" WHERE substr(p.sha256, 1, length(?1)) = lower(?1) ORDER BY p.sha256 LIMIT 3";
	size_t n = spec ? strlen(spec) : 0;
	int r;

	if (!spec || !strcmp(spec, "current")) {
		if ((r = version_query(c->db, current, NULL, &c->ver)) < 0)
			return r;
		if (!spec)
			return 0;
		if (r == 0) {
			errorf("--policy current: no policy version is stored in this database");
			return -ENOENT;
		}
		c->f.policy = c->ver.name;
		if (exact)
			c->f.policy_id = c->ver.id;
		return 0;
	}
	c->f.policy = spec;
	if ((r = version_query(c->db, by_name, spec, &c->ver)) != 0)
		return r < 0 ? r : 0;
	if (n >= 8 && n <= 64 && strspn(spec, "0123456789abcdefABCDEF") == n) {
		struct pversion v[3] = { 0 };
		sqlite3_stmt *s;
		int k = 0;

		if (sqlite3_prepare_v2(c->db, by_sha, -1, &s, NULL) != SQLITE_OK) {
			errorf("query: %s", sqlite3_errmsg(c->db));
			return -EIO;
		}
		sqlite3_bind_text(s, 1, spec, -1, SQLITE_STATIC);
		while (k < 3 && (r = version_row(c->db, s, &v[k])) > 0)
			k++;
		sqlite3_finalize(s);
		if (r < 0)
			return r;
		if (k > 1) {
			fprintf(stderr, PROG ": --policy '%s': ambiguous sha256 prefix, %s stored versions"
				" match:", spec, k > 2 ? "3 or more" : "2");
			for (int i = 0; i < k; i++)
				fprintf(stderr, " %.16s (%s)", v[i].sha256, v[i].name);
			fputs("; give more digits\n", stderr);
			exit(EXIT_USAGE);
		}
		if (k == 1) {
			c->ver = v[0];
			c->f.policy = c->ver.name;
			if (exact)
				c->f.policy_id = c->ver.id;
		}
	}
	return 0;
}

/* Append " AND ..." conditions on events alias e for every filter. The time
 * window is narrowed to an id range through the minutes table first. */
int add_where(sqlite3 *db, struct query *q, const struct filters *f)
{
	int64_t lo = INT64_MIN, hi = INT64_MAX, v;
	bool null;
	int r;
	if (f->has_since) {
		if ((r = scalar(db, "SELECT min(first_id) FROM minutes WHERE minute >= ?1",
				f->since_ms / 60000, &v, &null)) < 0)
			return r;
		lo = null ? INT64_MAX : v;
	}
	if (f->has_until) {
		if ((r = scalar(db, "SELECT max(last_id) FROM minutes WHERE minute <= ?1",
				(f->until_ms - 1) / 60000, &v, &null)) < 0)
			return r;
		hi = null ? INT64_MIN : v;
	}
	if (f->has_since || f->has_until) {
		add_int(q, " AND e.id >= ?", lo);
		add_int(q, " AND e.id <= ?", hi);
	}
	if (f->has_since)
		add_int(q, " AND e.ts >= ?", f->since_ms);
	if (f->has_until)
		add_int(q, " AND e.ts < ?", f->until_ms);
	if (f->verdict >= 0)
		add_int(q, " AND e.verdict = ?", f->verdict);
	if (f->family >= 0)
		add_int(q, " AND e.hook IN (SELECT id FROM hook_names WHERE family = ?)", f->family);
	if (f->policy)
		add_text(q, " AND e.policy IN (SELECT id FROM policies WHERE name = ?)", f->policy);
	if (f->policy_id)
		add_int(q, " AND e.policy = ?", f->policy_id);
	if (f->rule)
		add_text(q, " AND (e.policy, e.rule) IN (SELECT policy, idx FROM rules WHERE rule_id = ?)",
			 f->rule);
	if (f->comm || f->exe || f->cgroup) {
		add(q, " AND e.subject IN (SELECT id FROM subjects WHERE 1");
		if (f->comm)
			add_text(q, " AND comm IN (SELECT id FROM strings WHERE s = ?)", f->comm);
		if (f->exe)
			add_text(q, " AND exe IN (SELECT id FROM strings WHERE s = ?)", f->exe);
		if (f->cgroup) {
			/* The path itself, or anything below it: '/a/...' sorts in
			 * ['/a/', '/a0') because '0' follows '/'. A scan of strings
			 * (no index since schema v3), which grows with
			 * distinct values, not with events. */
			add_text(q, " AND cgroup IN (SELECT id FROM strings WHERE s = ?", f->cgroup);
			add_text(q, " OR (s >= ? || '/'", f->cgroup);
			add_text(q, " AND s < ? || '0'))", f->cgroup);
		}
		add(q, ")");
	}
	if (f->has_dest || f->port >= 0) {
		add(q, " AND e.object IN (SELECT id FROM objects WHERE 1");
		if (f->has_dest) {
			push_blob(q, f->dest, 16);
			push_int(q, f->dest_len);
			add(q, " AND dl_addr_in(text, ?, ?)");
		}
		if (f->port >= 0)
			add_int(q, " AND k1 = ?", f->port);
		add(q, ")");
	}
	(void)push_text;
	return 0;
}


/* The columns of events_v (store/schema.sql), in its order, over alias e. */
static const char ev_cols[] =
	"b.boot_id AS boot_id, e.id & 1099511627775 AS seq, " TIME("e.ts") " AS time,"
	" e.ts * 1000000 AS ts_ns, fn.name AS family, h.name AS hook, v.name AS verdict,"
	" e.enforced AS enforced, p.name AS policy, p.sha256 AS policy_sha256, r.rule_id AS rule,"
	" e.tgid AS tgid, coalesce(e.pid, e.tgid) AS pid, e.ppid AS ppid, s.uid AS uid,"
	" s.euid AS euid, s.gid AS gid, s.loginuid AS loginuid, s.sessionid AS sessionid,"
	" s.cgroup_id AS cgroup_id, cg.s AS cgroup, s.mnt_ns AS mnt_ns, cm.s AS comm, ex.s AS exe,"
	" o.text AS addr, o.k1 AS port,"
	" dl_proto(e.hook, o.k2) AS proto, e.flags AS flags, ";
/* ... then the object column, made from the families' fragments by the
 * store (dl_store_object_sql()), as events_v has it. */
const char ev_joins[] =
	" LEFT JOIN boots b ON b.id = e.id >> 40"
	" LEFT JOIN hook_names h ON h.id = e.hook"
	" LEFT JOIN family_names fn ON fn.id = h.family"
	" LEFT JOIN verdict_names v ON v.id = e.verdict"
	" LEFT JOIN policies p ON p.id = e.policy"
	" LEFT JOIN rules r ON r.policy = e.policy AND r.idx = e.rule"
	" LEFT JOIN subjects s ON s.id = e.subject"
	" LEFT JOIN strings cg ON cg.id = s.cgroup"
	" LEFT JOIN strings cm ON cm.id = s.comm"
	" LEFT JOIN strings ex ON ex.id = s.exe"
	" LEFT JOIN objects o ON o.id = e.object"
	" LEFT JOIN object_kind_names kn ON kn.family = o.family AND kn.id = o.k2";
/* What a person sees of an event in a table; JSON/CSV carry every column. */
static const char *const ev_table_cols[] = { "time", "verdict", "policy", "rule", "hook", "pid",
					     "uid", "comm", "exe", "cgroup", "addr", "port", "proto",
					     NULL };

/* ---- output ---------------------------------------------------------- */

/* JSON strings: the one writer in collector/escape.c. */
void json_str(FILE *o, const unsigned char *s, size_t n)
{
	dl_json_str(o, (const char *)s, n);
}

/* A CSV text cell (RFC 4180: quoted when it holds a quote, comma, CR or
 * LF, quotes doubled). A cell that starts with =, +, -, @, tab or CR gets a
 * leading ' and quotes (OWASP "CSV injection"): a spreadsheet would run it
 * as a formula. Numbers are not text cells (print_rows writes them itself),
 * so -1 stays a number. */
void csv_str(FILE *o, const unsigned char *s, size_t n)
{
	bool formula = n > 0 && s[0] && strchr("=+-@\t\r", s[0]);
	bool quote = formula;
	for (size_t i = 0; i < n && !quote; i++)
		quote = s[i] == '"' || s[i] == ',' || s[i] == '\n' || s[i] == '\r';
	if (!quote) {
		fwrite(s, 1, n, o);
		return;
	}
	fputc('"', o);
	if (formula)
		fputc('\'', o);
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"')
			fputc('"', o);
		fputc(s[i], o);
	}
	fputc('"', o);
}

/* Copy for a terminal (collector/escape.c): C0, DEL, C1 and bidi controls
 * and invalid UTF-8 as visible escapes. Returns a malloc'd string; *width
 * is its code point count. */
char *table_str(const unsigned char *s, size_t n, size_t *width)
{
	char *out = dl_term_strdup((const char *)s, n, width);
	if (!out) {
		errorf("out of memory");
		exit(EXIT_FAILURE);
	}
	return out;
}

struct table {
	int ncol;
	int *src;        /* statement column of each shown column */
	const char **name;
	size_t *w;
	char **cells;    /* rows * ncol */
	size_t *cw;
	size_t rows, cap;
};

static int cell_text(sqlite3_stmt *s, int c, char *buf, size_t n, const unsigned char **txt, size_t *len)
{
	switch (sqlite3_column_type(s, c)) {
	case SQLITE_NULL:
		return 0;
	case SQLITE_INTEGER:
		*len = (size_t)snprintf(buf, n, "%lld", (long long)sqlite3_column_int64(s, c));
		*txt = (const unsigned char *)buf;
		return 1;
	default:
		*txt = sqlite3_column_text(s, c);
		*len = (size_t)sqlite3_column_bytes(s, c);
		return *txt != NULL;
	}
}

long print_rows(sqlite3 *db, sqlite3_stmt *s, enum fmt fmt, const char *const *only)
{
	return print_rows_lim(db, s, fmt, only, -1, NULL);
}

long limit_of(const struct ctx *c, long def)
{
	return c->limit < 0 ? def : c->limit == 0 ? -1 : c->limit;
}

void note_shown(const struct ctx *c, long shown, long total, const char *what)
{
	if (shown < 0 || total <= shown)
		return;
	bool last = !strcmp(what, "events") || !strcmp(what, "buckets");

	if (c->fmt == FMT_TABLE)
		printf("showing %s%ld of %ld %s (--limit N for another number, --all for every one)\n",
		       last ? "the last " : "", shown, total, what);
	else
		fprintf(stderr, PROG ": showing %s%ld of %ld %s; --limit N or --all for more\n",
			last ? "the last " : "", shown, total, what);
}

/* Print the first `limit` rows of s (< 0: all) in fmt and step through the
 * rest to count them into *total (if not NULL). For tables, `only`
 * (NULL-terminated names) picks the columns shown. Returns the rows printed,
 * or <0 on a step error. */
long print_rows_lim(sqlite3 *db, sqlite3_stmt *s, enum fmt fmt, const char *const *only, long limit,
		    long *total)
{
	FILE *o = stdout;
	int n = sqlite3_column_count(s);
	long rows = 0;
	int rc;
	char num[32];
	struct table t = { 0 };

	if (fmt == FMT_TABLE) {
		t.src = calloc((size_t)n, sizeof(int));
		t.name = calloc((size_t)n, sizeof(char *));
		t.w = calloc((size_t)n, sizeof(size_t));
		for (int c = 0; c < n; c++) {
			const char *nm = sqlite3_column_name(s, c);
			bool show = !only;
			for (int k = 0; only && only[k] && !show; k++)
				show = !strcmp(only[k], nm);
			if (show) {
				t.src[t.ncol] = c;
				t.name[t.ncol] = nm;
				t.w[t.ncol] = strlen(nm);
				t.ncol++;
			}
		}
	} else if (fmt == FMT_JSON) {
		fputc('[', o);
	} else if (fmt == FMT_CSV) {
		for (int c = 0; c < n; c++) {
			const char *nm = sqlite3_column_name(s, c);
			if (c)
				fputc(',', o);
			csv_str(o, (const unsigned char *)nm, strlen(nm));
		}
		fputs("\r\n", o);
	}

	long seen = 0;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const unsigned char *txt;
		size_t len;
		if (limit >= 0 && rows >= limit) {
			if (!total)
				break;
			seen++;
			continue;
		}
		if (fmt == FMT_TABLE) {
			if (t.rows == t.cap) {
				t.cap = t.cap ? t.cap * 2 : 64;
				t.cells = realloc(t.cells, t.cap * (size_t)t.ncol * sizeof(char *));
				t.cw = realloc(t.cw, t.cap * (size_t)t.ncol * sizeof(size_t));
				if (!t.cells || !t.cw) {
					errorf("out of memory");
					exit(EXIT_FAILURE);
				}
			}
			for (int k = 0; k < t.ncol; k++) {
				size_t w;
				char *cell = cell_text(s, t.src[k], num, sizeof(num), &txt, &len)
						     ? table_str(txt, len, &w)
						     : table_str((const unsigned char *)"-", 1, &w);
				t.cells[t.rows * (size_t)t.ncol + (size_t)k] = cell;
				t.cw[t.rows * (size_t)t.ncol + (size_t)k] = w;
				if (w > t.w[k])
					t.w[k] = w;
			}
			t.rows++;
		} else if (fmt == FMT_CSV) {
			for (int c = 0; c < n; c++) {
				int type = sqlite3_column_type(s, c);
				if (c)
					fputc(',', o);
				if (type == SQLITE_INTEGER || type == SQLITE_FLOAT)
					fputs((const char *)sqlite3_column_text(s, c), o);
				else if (cell_text(s, c, num, sizeof(num), &txt, &len))
					csv_str(o, txt, len);
			}
			fputs("\r\n", o);
		} else {
			fputs(fmt == FMT_JSON ? (rows ? ",\n  {" : "\n  {") : "{", o);
			for (int c = 0; c < n; c++) {
				const char *nm = sqlite3_column_name(s, c);
				if (c)
					fputs(", ", o);
				json_str(o, (const unsigned char *)nm, strlen(nm));
				fputs(": ", o);
				int type = sqlite3_column_type(s, c);
				if (type == SQLITE_NULL)
					fputs("null", o);
				else if (type == SQLITE_INTEGER)
					fprintf(o, "%lld", (long long)sqlite3_column_int64(s, c));
				else
					json_str(o, sqlite3_column_text(s, c),
						 (size_t)sqlite3_column_bytes(s, c));
			}
			fputs(fmt == FMT_JSON ? "}" : "}\n", o);
		}
		rows++;
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		errorf("query: %s", sqlite3_errmsg(db));
		rows = -EIO;
	}
	if (total)
		*total = rows < 0 ? rows : rows + seen;

	if (fmt == FMT_JSON) {
		fputs(rows > 0 ? "\n]\n" : "]\n", o);
	} else if (fmt == FMT_TABLE) {
		/* Left-aligned columns, two spaces apart; the last is not padded. */
		for (int k = 0; k < t.ncol; k++)
			fprintf(o, "%s%-*s", k ? "  " : "", k + 1 < t.ncol ? (int)t.w[k] : 0,
				t.name[k]);
		fputc('\n', o);
		for (size_t r = 0; r < t.rows; r++) {
			for (int k = 0; k < t.ncol; k++) {
				char *cell = t.cells[r * (size_t)t.ncol + (size_t)k];
				size_t pad = t.w[k] - t.cw[r * (size_t)t.ncol + (size_t)k];
				if (k)
					fputs("  ", o);
				fputs(cell, o);
				if (k + 1 < t.ncol)
					fprintf(o, "%*s", (int)pad, "");
				free(cell);
			}
			fputc('\n', o);
		}
		free(t.cells);
		free(t.cw);
		free(t.src);
		free(t.name);
		free(t.w);
	}
	fflush(o);
	return rows;
}

/* ---- commands -------------------------------------------------------- */


/* Print q's rows, at most limit (< 0: all), then the "showing N of M"
 * note naming what the rows are. */
static int run(struct ctx *c, struct query *q, const char *const *only, long limit, const char *what)
{
	sqlite3_stmt *s;
	long total;
	int r = prepare(c->db, q, &s);
	if (r < 0)
		return r;
	long n = print_rows_lim(c->db, s, c->fmt, only, limit, &total);
	sqlite3_finalize(s);
	if (n < 0)
		return (int)n;
	note_shown(c, n, total, what);
	return 0;
}

/* ---- rollups ---------------------------------------------------------
 *
 * summary and top (by subjects or rules) read the rollup tables
 * (store/schema.sql) instead of every event when the filters allow it: only
 * --since/--until, and --policy/--family/--rule/--verdict where the rollup
 * table has those columns (rollup_rules: policy, rule, hook, verdict;
 * rollup_subjects: verdict only). The rows they aggregate are, UNION ALL:
 *   1. rollup rows of the whole minutes inside the window;
 *   2. the events after each boot's rollup mark (not rolled up yet), with
 *      the full filters;
 *   3. the rolled-up events of the partial minutes at the window's edges
 *      (a --since or --until that is not on a minute boundary), read from
 *      events through the minutes index, with the exact ts test.
 * Rollup rows carry min/max ts in ms, so counts, first_seen and last_seen
 * are exactly those of the scan. Anything else (comm, exe, cgroup, dest,
 * port, top --by objects, a window inside two minutes, a store whose boots
 * lack a mark) scans events. DRYLOCK_QUERY_NO_ROLLUPS=1 forces the scan
 * (tests compare both paths). Ties in ORDER BY are broken by the values
 * shown (subjects, objects) or by policy and rule ids in both paths, so the
 * two print the same rows in the same order, whatever ids the store gave
 * (a value may have several, store/schema.sql "Deduplication"). */

struct rwin {
	bool lo_set, hi_set;       /* bounds on rollup minutes */
	int64_t lo_min, hi_min;    /* whole minutes [lo_min, hi_min) */
	bool edge_lo, edge_hi;     /* partial minute at since / at until */
};

static bool rollups_usable(struct ctx *c, bool rules_cols, struct rwin *w)
{
	const struct filters *f = &c->f;
	const char *env = getenv("DRYLOCK_QUERY_NO_ROLLUPS");

	if (env && *env && strcmp(env, "0"))
		return false;
	if (f->comm || f->exe || f->cgroup || f->has_dest || f->port >= 0)
		return false;
	if (!rules_cols && (f->policy || f->policy_id || f->rule || f->family >= 0))
		return false;
	*w = (struct rwin){ 0 };
	if (f->has_since) {
		if (f->since_ms < 0)
			return false;
		w->lo_set = true;
		w->lo_min = (f->since_ms + 59999) / 60000;
		w->edge_lo = f->since_ms % 60000 != 0;
	}
	if (f->has_until) {
		if (f->until_ms < 0)
			return false;
		w->hi_set = true;
		w->hi_min = f->until_ms / 60000;
		w->edge_hi = f->until_ms % 60000 != 0;
	}
	/* A window without a whole minute inside: scanning it is cheap, and
	 * the edge minutes would overlap. */
	if (w->lo_set && w->hi_set && w->lo_min >= w->hi_min)
		return false;
	/* Every boot must have a mark (a v2 store always does), else its
	 * events would be in neither part. Also fails on a store without the
	 * rollup tables. */
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(c->db, "SELECT NOT EXISTS (SELECT 1 FROM boots b WHERE NOT EXISTS"
				      " (SELECT 1 FROM rollup_marks m WHERE m.boot = b.id))",
			       -1, &s, NULL) != SQLITE_OK)
		return false;
	bool ok = sqlite3_step(s) == SQLITE_ROW && sqlite3_column_int(s, 0) == 1;
	sqlite3_finalize(s);
	return ok;
}

/* The filters that apply to rollup rows, on alias u. */
static void rollup_where(struct query *q, const struct filters *f, bool rules_cols)
{
	if (f->verdict >= 0)
		add_int(q, " AND u.verdict = ?", f->verdict);
	if (!rules_cols)
		return;
	if (f->family >= 0)
		add_int(q, " AND u.hook IN (SELECT id FROM hook_names WHERE family = ?)", f->family);
	if (f->policy)
		add_text(q, " AND u.policy IN (SELECT id FROM policies WHERE name = ?)", f->policy);
	if (f->policy_id)
		add_int(q, " AND u.policy = ?", f->policy_id);
	if (f->rule)
		add_text(q, " AND (u.policy, u.rule) IN (SELECT policy, idx FROM rules WHERE rule_id = ?)",
			 f->rule);
}

/* "SELECT KEYS, n, first, last FROM rollups ... UNION ALL ... events"
 * (parts 1-3 above); keys names the key columns, the same in the rollup
 * table and in events; cond is an extra condition for both (or ""). */
static int add_rollup_source(struct ctx *c, struct query *q, const struct rwin *w,
			     const char *table, const char *const *keys, bool rules_cols,
			     const char *cond_u, const char *cond_e)
{
	char ku[256] = "", ke[256] = "";
	size_t nu = 0, ne = 0;
	int r;

	for (int i = 0; keys[i]; i++) {
		nu += (size_t)snprintf(ku + nu, sizeof(ku) - nu, "u.%s AS %s, ", keys[i], keys[i]);
		ne += (size_t)snprintf(ke + ne, sizeof(ke) - ne, "%se.%s", i ? ", " : "", keys[i]);
	}
	/* 1. whole minutes from the rollups */
	add(q, "SELECT ");
	add(q, ku);
	add(q, "u.n AS n, u.first AS first, u.last AS last FROM ");
	add(q, table);
	add(q, " u WHERE 1");
	add(q, cond_u);
	if (w->lo_set)
		add_int(q, " AND u.minute >= ?", w->lo_min);
	if (w->hi_set)
		add_int(q, " AND u.minute < ?", w->hi_min);
	rollup_where(q, &c->f, rules_cols);
	/* 2. events after the marks */
	add(q, " UNION ALL SELECT ");
	add(q, ke);
	add(q, ", count(*), min(e.ts), max(e.ts) FROM rollup_marks m JOIN events e"
	       " ON e.id > m.through_id AND e.id < ((m.boot + 1) << 40) WHERE 1");
	add(q, cond_e);
	if ((r = add_where(c->db, q, &c->f)) < 0)
		return r;
	add(q, " GROUP BY ");
	add(q, ke);
	/* 3. rolled-up events of the partial edge minutes */
	for (int edge = 0; edge < 2; edge++) {
		struct filters f = c->f;
		int64_t m;

		if (edge == 0 && !w->edge_lo)
			continue;
		if (edge == 1 && !w->edge_hi)
			continue;
		m = edge == 0 ? c->f.since_ms / 60000 : c->f.until_ms / 60000;
		f.has_since = f.has_until = true;
		f.since_ms = edge == 0 ? c->f.since_ms : m * 60000;
		f.until_ms = edge == 1 ? c->f.until_ms : (m + 1) * 60000;
		if (c->f.has_since && f.since_ms < c->f.since_ms)
			f.since_ms = c->f.since_ms;
		if (c->f.has_until && f.until_ms > c->f.until_ms)
			f.until_ms = c->f.until_ms;
		add(q, " UNION ALL SELECT ");
		add(q, ke);
		add(q, ", count(*), min(e.ts), max(e.ts) FROM events e"
		       " WHERE e.id <= (SELECT through_id FROM rollup_marks WHERE boot = e.id >> 40)");
		add(q, cond_e);
		if ((r = add_where(c->db, q, &f)) < 0)
			return r;
		add(q, " GROUP BY ");
		add(q, ke);
	}
	return 0;
}

static const char summary_cols[] =
	"SELECT p.name AS policy, substr(p.sha256, 1, 12) AS version, fn.name AS family,"
	" coalesce(r.rule_id, '#' || g.rule) AS rule, v.name AS verdict,"
	" g.n AS count, " TIME("g.first") " AS first_seen, " TIME("g.last") " AS last_seen FROM (";
static const char summary_tail[] =
	" LEFT JOIN policies p ON p.id = g.policy"
	" LEFT JOIN family_names fn ON fn.id = g.fam"
	" LEFT JOIN rules r ON r.policy = g.policy AND r.idx = g.rule"
	" LEFT JOIN verdict_names v ON v.id = g.verdict"
	" ORDER BY p.name, fn.name, r.rule_id, g.verdict, g.fam, g.policy, g.rule";

static int cmd_summary(struct ctx *c)
{
	static const char *const keys[] = { "policy", "rule", "hook", "verdict", NULL };
	struct query q = { 0 };
	struct rwin w;
	int r;

	/* A rule index without a rules row (policy not stored) shows as #idx. */
	add(&q, summary_cols);
	if (rollups_usable(c, true, &w)) {
		add(&q, "SELECT u.policy AS policy, h.family AS fam, u.rule AS rule, u.verdict AS verdict,"
			" sum(u.n) AS n, min(u.first) AS first, max(u.last) AS last FROM (");
		if ((r = add_rollup_source(c, &q, &w, "rollup_rules", keys, true, "", "")) < 0)
			return r;
		add(&q, ") u LEFT JOIN hook_names h ON h.id = u.hook"
			" GROUP BY u.policy, h.family, u.rule, u.verdict) g");
	} else {
		add(&q, "SELECT e.policy AS policy, h.family AS fam, e.rule AS rule, e.verdict AS verdict,"
			" count(*) AS n, min(e.ts) AS first, max(e.ts) AS last"
			" FROM events e LEFT JOIN hook_names h ON h.id = e.hook WHERE 1");
		if ((r = add_where(c->db, &q, &c->f)) < 0)
			return r;
		add(&q, " GROUP BY e.policy, h.family, e.rule, e.verdict) g");
	}
	add(&q, summary_tail);
	return run(c, &q, NULL, limit_of(c, 100), "rows");
}

/* events: the last --limit events of the window (default 100, 0 = all),
 * oldest first. Order is id order: (boot, seq), i.e. time order. */
static int cmd_events(struct ctx *c, bool export)
{
	struct query q = { 0 };
	long limit = limit_of(c, export ? -1 : 100);
	sqlite3_stmt *s;
	long n;
	add(&q, "SELECT ");
	add(&q, ev_cols);
	add(&q, dl_store_object_sql());
	add(&q, " AS object");
	add(&q, " FROM (SELECT * FROM events e WHERE 1");
	int r = add_where(c->db, &q, &c->f);
	if (r < 0)
		return r;
	if (limit > 0)
		add_int(&q, " ORDER BY e.id DESC LIMIT ?", limit);
	add(&q, ") e");
	add(&q, ev_joins);
	add(&q, " ORDER BY e.id");
	if ((r = prepare(c->db, &q, &s)) < 0)
		return r;
	n = print_rows(c->db, s, c->fmt, ev_table_cols);
	sqlite3_finalize(s);
	if (n < 0)
		return (int)n;
	if (limit > 0 && n == limit) {
		/* Perhaps cut: say how many match. */
		struct query cq = { 0 };
		add(&cq, "SELECT count(*) FROM events e WHERE 1");
		if ((r = add_where(c->db, &cq, &c->f)) < 0 || (r = prepare(c->db, &cq, &s)) < 0)
			return r;
		if (sqlite3_step(s) == SQLITE_ROW)
			note_shown(c, n, (long)sqlite3_column_int64(s, 0), "events");
		sqlite3_finalize(s);
	}
	return 0;
}

/* top from the rollups: subjects from rollup_subjects, rules from
 * rollup_rules; same columns, order and limit as the scan below. */
static int top_rollups(struct ctx *c, int k, const struct rwin *w, long limit)
{
	static const char *const subj_keys[] = { "subject", NULL };
	static const char *const rule_keys[] = { "policy", "rule", NULL };
	const char *cu = c->f.verdict < 0 ? " AND u.verdict IN " DENIES : "";
	const char *ce = c->f.verdict < 0 ? " AND e.verdict IN " DENIES : "";
	struct query q = { 0 };
	int r;

	if (k == 0) {
		/* Grouped by string ids first (one GROUP BY over the joined
		 * rows: a third faster than summing per subject first), then
		 * by value: a value may have several ids (store/schema.sql,
		 * "Deduplication"); ties go by value too, so the order does
		 * not depend on which ids a window's rows carry. */
		add(&q, "SELECT cm.s AS comm, ex.s AS exe, cg.s AS cgroup, sum(t.n) AS count, "
			TIME("min(t.first)") " AS first_seen, " TIME("max(t.last)") " AS last_seen FROM ("
			"SELECT s.comm AS comm, s.exe AS exe, s.cgroup AS cgroup, sum(x.n) AS n,"
			" min(x.first) AS first, max(x.last) AS last FROM (");
		if ((r = add_rollup_source(c, &q, w, "rollup_subjects", subj_keys, false, cu, ce)) < 0)
			return r;
		add(&q, ") x LEFT JOIN subjects s ON s.id = x.subject"
			" GROUP BY s.comm, s.exe, s.cgroup) t");
		add(&q, " LEFT JOIN strings cm ON cm.id = t.comm LEFT JOIN strings ex ON ex.id = t.exe"
			" LEFT JOIN strings cg ON cg.id = t.cgroup GROUP BY cm.s, ex.s, cg.s"
			" ORDER BY count DESC, cm.s, ex.s, cg.s");
	} else {
		add(&q, "SELECT p.name AS policy, coalesce(r.rule_id, '#' || t.rule) AS rule, t.n AS count, "
			TIME("t.first") " AS first_seen, " TIME("t.last") " AS last_seen FROM ("
			"SELECT x.policy AS policy, x.rule AS rule, sum(x.n) AS n, min(x.first) AS first,"
			" max(x.last) AS last FROM (");
		if ((r = add_rollup_source(c, &q, w, "rollup_rules", rule_keys, true, cu, ce)) < 0)
			return r;
		add(&q, ") x GROUP BY x.policy, x.rule ORDER BY n DESC, x.policy, x.rule) t");
		add(&q, " LEFT JOIN policies p ON p.id = t.policy"
			" LEFT JOIN rules r ON r.policy = t.policy AND r.idx = t.rule"
			" ORDER BY t.n DESC, t.policy, t.rule");
	}
	return run(c, &q, NULL, limit, "rows");
}

/* Would-deny/deny grouped by subject, object or rule, largest first (ties
 * by value; rules by policy and rule index). The verdict filter defaults to would-deny and deny.
 * subjects and rules read the rollups when the filters allow it. */
static int cmd_top(struct ctx *c)
{
	static const struct {
		const char *by, *cols, *group, *order;
	} kinds[] = {
		/* By value, ties by value (store/schema.sql, "Deduplication"). */
		{ "subjects", "cm.s AS comm, ex.s AS exe, cg.s AS cgroup",
		  "cm.s, ex.s, cg.s", "cm.s, ex.s, cg.s" },
		{ "rules", "p.name AS policy, coalesce(r.rule_id, '#' || e.rule) AS rule",
		  "e.policy, e.rule", "e.policy, e.rule" },
		{ "objects",
		  "o.text AS addr, o.k1 AS port,"
		  " dl_proto(min(e.hook), o.k2) AS proto",
		  "o.family, o.text, o.k1, o.k2", "o.text, o.k1, o.k2, o.family" },
	};
	int k = -1;
	for (int i = 0; i < 3; i++)
		if (!strcmp(c->by ? c->by : "subjects", kinds[i].by))
			k = i;
	if (k < 0)
		die_usage("top --by must be subjects, objects or rules");
	long limit = limit_of(c, 20);
	struct rwin w;
	if (k < 2 && rollups_usable(c, k == 1, &w))
		return top_rollups(c, k, &w, limit);
	struct query q = { 0 };
	add(&q, "SELECT ");
	add(&q, kinds[k].cols);
	add(&q, ", count(*) AS count, " TIME("min(e.ts)") " AS first_seen, " TIME("max(e.ts)")
		" AS last_seen FROM events e");
	add(&q, ev_joins);
	add(&q, " WHERE 1");
	if (c->f.verdict < 0)
		add(&q, " AND e.verdict IN " DENIES);
	int r = add_where(c->db, &q, &c->f);
	if (r < 0)
		return r;
	add(&q, " GROUP BY ");
	add(&q, kinds[k].group);
	add(&q, " ORDER BY count DESC, ");
	add(&q, kinds[k].order);
	return run(c, &q, NULL, limit, "rows");
}

/* ---- pager -----------------------------------------------------------
 *
 * Like git and systemctl: when stdout is a terminal (and not --no-pager),
 * the output goes through $DRYLOCK_PAGER, else $PAGER, else "less", run with
 * /bin/sh -c; LESS=FRX unless LESS is set (quit when it fits one screen,
 * keep escapes raw, do not clear the screen). An empty value or "cat" means
 * no pager. Never when stdout is not a terminal, so pipes, files and
 * scripts get the plain output. Errors stay on stderr, unpaged. */

static pid_t pager_pid;

static bool in_path(const char *name)
{
	const char *path = getenv("PATH");
	char buf[4096];

	for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
		size_t n = strcspn(p, ":");

		if (n > 0 && snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, p, name) < (int)sizeof(buf) &&
		    access(buf, X_OK) == 0)
			return true;
		p += n + (p[n] == ':');
	}
	return false;
}

static void pager_start(void)
{
	const char *p = getenv("DRYLOCK_PAGER");
	int fd[2];
	pid_t pid;

	if (!p)
		p = getenv("PAGER");
	if (!p) {
		/* The default only if it is there: a missing pager would eat
		 * the output. */
		p = "less";
		if (!in_path(p))
			return;
	}
	if (!*p || !strcmp(p, "cat") || pipe2(fd, O_CLOEXEC) < 0)
		return;
	fflush(stdout);
	if ((pid = fork()) < 0) {
		close(fd[0]);
		close(fd[1]);
		return;
	}
	if (pid == 0) {
		dup2(fd[0], STDIN_FILENO);
		setenv("LESS", "FRX", 0);
		setenv("LV", "-c", 0);
		execl("/bin/sh", "sh", "-c", p, (char *)NULL);
		_exit(127);
	}
	close(fd[0]);
	if (dup2(fd[1], STDOUT_FILENO) < 0) {
		close(fd[1]);
		return;
	}
	close(fd[1]);
	pager_pid = pid;
}

/* Close our end and wait for the reader to quit. */
static void pager_wait(void)
{
	if (!pager_pid)
		return;
	fflush(stdout);
	close(STDOUT_FILENO);
	while (waitpid(pager_pid, NULL, 0) < 0 && errno == EINTR)
		;
	pager_pid = 0;
}

/* ---- main ------------------------------------------------------------ */

static void help(void)
{
	printf(
"Usage: " PROG " [OPTIONS] COMMAND [FILTERS]\n"
"\n"
"Reports over the drylock decision store (opened read-only).\n"
"\n"
"Commands:\n"
"  summary                 decisions counted by policy, family, rule, verdict\n"
"  events                  the decisions themselves, newest last (--limit N)\n"
"  top [--by subjects|objects|rules]\n"
"                          most would-deny/deny decisions first (--limit N, default 20)\n"
"  export [--format jsonl|csv]\n"
"                          every matching event, all columns, for log shippers\n"
"  ready                   exit 0 if nothing would be denied, else list it and exit 1\n"
"  timeline [--bucket minute|hour] [--by rule] [--chart FILE.svg|FILE.html]\n"
"                          decisions per time bucket and verdict; optional chart\n"
"  denials                 would-deny/deny grouped by subject and object, most first\n"
"  suggest [--max-ports N] [--max-rules N]\n"
"                          allow rules (policy syntax) that would admit the denials,\n"
"                          widened to fit --max-rules (default 64),\n"
"                          verified by replay against the policy (--policy NAME,\n"
"                          default the latest loaded)\n"
"  what-if --candidate FILE\n"
"                          replay decisions against a candidate policy; exit 1 if\n"
"                          something would newly be denied\n"
"\n"
"Options:\n"
"  --db PATH               database (default $DRYLOCK_DB, else " DB_DEFAULT ")\n"
"  -o, --output FMT        table (default), json or csv\n"
"      --json              same as -o json\n"
"      --limit N           rows to show (defaults: summary 100, events 100 newest,\n"
"                          top 20, denials 50, ready 50, timeline 500 newest,\n"
"                          what-if 50; export all); 0 = all. When rows are left\n"
"                          out, a \"showing N of M\" line follows the table (on\n"
"                          stderr for json/csv). suggest: same as --max-rules\n"
"      --all               every row (suggest: no rule budget)\n"
"      --no-pager          never page; otherwise a terminal on stdout gets\n"
"                          $DRYLOCK_PAGER, $PAGER or less (LESS=FRX)\n"
"      --bucket B          timeline: minute or hour (default: hour if the window\n"
"                          is longer than 6 hours)\n"
"      --by rule           timeline: one row per bucket and rule\n"
"      --chart FILE        timeline: also write an SVG (.svg) or HTML (.html) chart\n"
"      --max-ports N       suggest: exact ports up to N per address, else a range (8)\n"
"      --max-rules N       suggest: at most N rules (1-1024, default 64); wider\n"
"                          prefixes, then port ranges, then the least frequent\n"
"                          groups left out, with the coverage stated\n"
"      --candidate FILE    what-if: the policy file to replay against\n"
"  -h, --help              this text\n"
"      --version           print the version\n"
"\n"
"Filters (every command):\n"
"  --since T, --until T    window [since, until); T is unix seconds, YYYY-MM-DD,\n"
"                          YYYY-MM-DDTHH:MM[:SS] (UTC), or 30s, 15m, 2h, 7d, 2w ago\n"
"  --policy P              policy NAME (every version of it), `current` (the\n"
"                          loaded version) or a sha256 prefix (8+ hex digits: that\n"
"                          version). ready, denials and suggest decide as of that\n"
"                          version (default: the loaded one), replaying events\n"
"                          logged under other versions\n"
"  --family F              policy family (net, kvm, self)\n"
"  --rule ID               rule id from the policy file\n"
"  --verdict V             allow, would-deny or deny\n"
"  --comm S                process name (exact)\n"
"  --exe PATH              executable (exact)\n"
"  --cgroup PATH           cgroup and everything below it\n"
"  --dest ADDR[/LEN]       destination or bind address in this prefix (IPv4 or IPv6)\n"
"  --port N                destination or bind port\n"
"\n"
"Examples:\n"
"  " PROG " summary --since 24h\n"
"  " PROG " events --verdict would-deny --cgroup /system.slice/nginx.service --limit 20\n"
"  " PROG " top --by objects --since 7d\n"
"  " PROG " --json events --dest 10.0.0.0/8 --port 443\n"
"  " PROG " export --format jsonl --since 2026-11-01 > decisions.jsonl\n"
"  " PROG " ready --policy base --since 3d && drylock mode enforce\n"
"  " PROG " timeline --since 24h --chart /tmp/timeline.html\n"
"  " PROG " denials --since 7d --limit 20\n"
"  " PROG " suggest --since 7d > /etc/drylock/policy.d/50-suggested.policy\n"
"  " PROG " what-if --candidate /etc/drylock/drylock.policy --since 7d\n"
"\n"
"Environment: DRYLOCK_DB (see --db); DRYLOCK_PAGER, PAGER (see --no-pager);\n"
"DRYLOCK_QUERY_NO_ROLLUPS=1 makes summary\n"
"and top scan every event instead of reading the rollups (same output).\n"
"\n"
"Exit status: 0 success, 1 error (or `ready`/`what-if`: would deny), 2 usage\n"
"error (or `what-if`: the candidate policy is invalid).\n");
}

enum {
	O_DB = 256, O_JSON, O_LIMIT, O_VERSION, O_SINCE, O_UNTIL, O_POLICY, O_FAMILY, O_RULE,
	O_VERDICT, O_COMM, O_EXE, O_CGROUP, O_DEST, O_PORT, O_BY, O_FORMAT, O_BUCKET, O_CHART,
	O_MAX_PORTS, O_CANDIDATE, O_ALL, O_NO_PAGER, O_MAX_RULES,
};

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, O_DB },
		{ "output", required_argument, NULL, 'o' },
		{ "json", no_argument, NULL, O_JSON },
		{ "limit", required_argument, NULL, O_LIMIT },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, O_VERSION },
		{ "since", required_argument, NULL, O_SINCE },
		{ "until", required_argument, NULL, O_UNTIL },
		{ "policy", required_argument, NULL, O_POLICY },
		{ "family", required_argument, NULL, O_FAMILY },
		{ "rule", required_argument, NULL, O_RULE },
		{ "verdict", required_argument, NULL, O_VERDICT },
		{ "comm", required_argument, NULL, O_COMM },
		{ "exe", required_argument, NULL, O_EXE },
		{ "cgroup", required_argument, NULL, O_CGROUP },
		{ "dest", required_argument, NULL, O_DEST },
		{ "port", required_argument, NULL, O_PORT },
		{ "by", required_argument, NULL, O_BY },
		{ "format", required_argument, NULL, O_FORMAT },
		{ "bucket", required_argument, NULL, O_BUCKET },
		{ "chart", required_argument, NULL, O_CHART },
		{ "max-ports", required_argument, NULL, O_MAX_PORTS },
		{ "candidate", required_argument, NULL, O_CANDIDATE },
		{ "all", no_argument, NULL, O_ALL },
		{ "no-pager", no_argument, NULL, O_NO_PAGER },
		{ "max-rules", required_argument, NULL, O_MAX_RULES },
		{ 0 },
	};
	struct ctx c = { .fmt = FMT_TABLE, .limit = -1, .max_ports = 8 };
	bool max_ports_set = false, no_pager = false, limit_set = false;
	c.f.family = c.f.verdict = c.f.port = -1;
	const char *db = getenv("DRYLOCK_DB");
	const char *format = NULL, *policy_spec = NULL;
	int opt;

	if (!db || !*db)
		db = DB_DEFAULT;
	while ((opt = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (opt) {
		case O_DB: db = optarg; break;
		case 'o':
			if (!strcmp(optarg, "table")) c.fmt = FMT_TABLE;
			else if (!strcmp(optarg, "json")) c.fmt = FMT_JSON;
			else if (!strcmp(optarg, "csv")) c.fmt = FMT_CSV;
			else die_usage("unknown output format '%s' (table, json, csv)", optarg);
			break;
		case O_JSON: c.fmt = FMT_JSON; break;
		case O_LIMIT:
			if (limit_set && c.limit == 0)
				die_usage("--limit and --all exclude each other");
			c.limit = (long)opt_uint("--limit", optarg, 0, LONG_MAX);
			limit_set = true;
			break;
		case O_ALL:
			if (limit_set && c.limit != 0)
				die_usage("--limit and --all exclude each other");
			c.limit = 0;
			limit_set = true;
			break;
		case O_NO_PAGER: no_pager = true; break;
		case O_MAX_RULES:
			c.max_rules = (unsigned)opt_uint("--max-rules", optarg, 1, DL_MAX_RULES);
			break;
		case 'h': help(); return EXIT_SUCCESS;
		case O_VERSION: printf(PROG " %s\n", DRYLOCK_VERSION); return EXIT_SUCCESS;
		case O_SINCE:
		case O_UNTIL: {
			int r = parse_time(optarg, opt == O_SINCE ? &c.f.since_ms : &c.f.until_ms);

			if (r < 0)
				die_usage("%s '%s': %s (unix seconds, YYYY-MM-DD[THH:MM[:SS]] up to year 9999,"
					  " or a duration ago: 30s, 15m, 2h, 7d, 2w, at most 15250w)",
					  opt == O_SINCE ? "--since" : "--until", optarg,
					  r == -ERANGE ? "out of range" : "not a time");
			*(opt == O_SINCE ? &c.f.has_since : &c.f.has_until) = true;
			break;
		}
		case O_POLICY: policy_spec = optarg; break;
		case O_FAMILY:
			if ((c.f.family = dl_family_by_name(optarg)) < 0)
				die_usage("unknown family '%s'", optarg);
			break;
		case O_RULE: c.f.rule = optarg; break;
		case O_VERDICT:
			if ((c.f.verdict = dl_verdict_by_name(optarg)) < 0)
				die_usage("unknown verdict '%s' (allow, would-deny, deny)", optarg);
			break;
		case O_COMM: c.f.comm = optarg; break;
		case O_EXE: c.f.exe = optarg; break;
		case O_CGROUP: {
			size_t n = strlen(optarg);
			while (n > 0 && optarg[n - 1] == '/')
				n--;
			c.f.cgroup = strndup(optarg, n);
			break;
		}
		case O_DEST: {
			int r = parse_prefix(optarg, c.f.dest, &c.f.dest_len);

			if (r < 0)
				die_usage("--dest '%s': %s (an address with an optional prefix length in"
					  " decimal, e.g. 10.0.0.0/8, 2001:db8::/32)", optarg,
					  r == -ERANGE ? "prefix length out of range" : "not an address prefix");
			c.f.has_dest = true;
			break;
		}
		case O_PORT:
			c.f.port = (int)opt_uint("--port", optarg, 0, 65535);
			break;
		case O_BY: c.by = optarg; break;
		case O_FORMAT: format = optarg; break;
		case O_BUCKET:
			if (!strcmp(optarg, "minute")) c.bucket_ms = 60000;
			else if (!strcmp(optarg, "hour")) c.bucket_ms = 3600000;
			else die_usage("--bucket must be minute or hour, not '%s'", optarg);
			break;
		case O_CHART: c.chart = optarg; break;
		case O_MAX_PORTS:
			c.max_ports = (unsigned)opt_uint("--max-ports", optarg, 1, 65536);
			max_ports_set = true;
			break;
		case O_CANDIDATE: c.candidate = optarg; break;
		default: fputs("Try '" PROG " --help'.\n", stderr); return EXIT_USAGE;
		}
	}
	if (optind >= argc)
		die_usage("no command (summary, events, top, export, ready, timeline, denials, suggest, what-if)");
	const char *cmd = argv[optind];
	if (optind + 1 < argc)
		die_usage("unexpected argument '%s'", argv[optind + 1]);
	enum { C_SUMMARY, C_EVENTS, C_TOP, C_EXPORT, C_READY, C_TIMELINE, C_DENIALS, C_SUGGEST,
	       C_WHATIF } which;
	if (!strcmp(cmd, "summary")) which = C_SUMMARY;
	else if (!strcmp(cmd, "events")) which = C_EVENTS;
	else if (!strcmp(cmd, "top")) which = C_TOP;
	else if (!strcmp(cmd, "export")) which = C_EXPORT;
	else if (!strcmp(cmd, "ready")) which = C_READY;
	else if (!strcmp(cmd, "timeline")) which = C_TIMELINE;
	else if (!strcmp(cmd, "denials")) which = C_DENIALS;
	else if (!strcmp(cmd, "suggest")) which = C_SUGGEST;
	else if (!strcmp(cmd, "what-if")) which = C_WHATIF;
	else die_usage("unknown command '%s'", cmd);
	if (c.by && which != C_TOP && which != C_TIMELINE)
		die_usage("--by only applies to top and timeline");
	if (c.by && which == C_TIMELINE && strcmp(c.by, "rule"))
		die_usage("timeline --by must be rule");
	if ((c.bucket_ms || c.chart) && which != C_TIMELINE)
		die_usage("--bucket and --chart only apply to timeline");
	if (max_ports_set && which != C_SUGGEST)
		die_usage("--max-ports only applies to suggest");
	if (c.max_rules && which != C_SUGGEST)
		die_usage("--max-rules only applies to suggest");
	if (which == C_SUGGEST && !c.max_rules)
		c.max_rules = c.limit < 0 ? 64 : c.limit > DL_MAX_RULES ? DL_MAX_RULES : (unsigned)c.limit;
	if (c.candidate && which != C_WHATIF)
		die_usage("--candidate only applies to what-if");
	if (which == C_WHATIF && !c.candidate)
		die_usage("what-if needs --candidate FILE");
	if (c.chart) {
		const char *dot = strrchr(c.chart, '.');
		if (!dot || (strcmp(dot, ".svg") && strcmp(dot, ".html") && strcmp(dot, ".htm")))
			die_usage("--chart FILE must end in .svg or .html");
	}
	if (format && which != C_EXPORT)
		die_usage("--format only applies to export");
	if (which == C_EXPORT) {
		if (!format || !strcmp(format, "jsonl")) c.fmt = FMT_JSONL;
		else if (!strcmp(format, "csv")) c.fmt = FMT_CSV;
		else die_usage("export --format must be jsonl or csv");
	}

	struct dl_store *st;
	if (dl_store_open(db, DL_STORE_RDONLY, &st) < 0) {
		errorf("%s", dl_store_errmsg(NULL));
		return EXIT_FAILURE;
	}
	c.db = dl_store_sqlite(st);
	sqlite3_create_function_v2(c.db, "dl_addr_in", 3, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
				   sql_addr_in, NULL, NULL, NULL);
	dl_query_sql_functions(c.db);
	int r = resolve_policy(&c, policy_spec, which != C_READY && which != C_DENIALS &&
						       which != C_SUGGEST);
	if (r < 0)
		goto done;
	if (!no_pager && isatty(STDOUT_FILENO))
		pager_start();
	switch (which) {
	case C_SUMMARY: r = cmd_summary(&c); break;
	case C_EVENTS: r = cmd_events(&c, false); break;
	case C_EXPORT: r = cmd_events(&c, true); break;
	case C_TOP: r = cmd_top(&c); break;
	case C_TIMELINE: r = cmd_timeline(&c); break;
	case C_DENIALS: r = cmd_denials(&c); break;
	case C_SUGGEST: r = cmd_suggest(&c); break;
	case C_WHATIF: r = cmd_whatif(&c); break;
	default: r = cmd_ready(&c); break;
	}
done:
	if (dl_store_check_snapshot(st) < 0) { /* a collector wrote under a snapshot read */
		errorf("%s", dl_store_errmsg(st));
		r = 1;
	}
	dl_store_close(st);
	free(c.f.cgroup);
	free(c.ver.name);
	free(c.ver.sha256);
	free(c.ver.text);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		errorf("write error on standard output");
		pager_wait();
		return EXIT_FAILURE;
	}
	pager_wait();
	if (which == C_WHATIF && r == EXIT_USAGE)
		return EXIT_USAGE;
	return r == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
