/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * drylock-query tuning reports: timeline, denials, ready, suggest, what-if.
 *
 * Design. These reports carry the tuning loop of docs/reports.md: see when
 * and how much would be denied (timeline), who would be denied what
 * (denials), get least-privilege allow rules for it (suggest), and check a
 * candidate policy against everything recorded before loading it (what-if).
 *
 * timeline is a single SQL statement built like the core commands
 * (constant fragments, every filter a bound parameter via add_where).
 * denials and ready decide as of one policy version (c->ver): the events
 * that version logged keep their verdict, the others are replayed against
 * it (see "decisions as of one policy version" below). suggest and what-if
 * need the policy decision itself, so they
 * read the matching events grouped by (hook, old verdict, old rule, comm,
 * exe, cgroup, object) -- the decision depends only on op, address, port,
 * proto and cgroup path, so a group replays as one -- and decide each group
 * with the kernel's procedure in user space (replay.c). The stored policy is
 * taken from policies.text, the exact text that was loaded.
 *
 * Output. SQL results go through print_rows (table/json/csv, untrusted text
 * sanitised), at most --limit rows, with a "showing N of M" note when rows
 * were left out. The rows of what-if, denials and ready are computed in C;
 * they are put in a private
 * in-memory SQLite table and printed with print_rows too, so the three
 * formats and the sanitising are the same code. suggest prints policy text:
 * every untrusted string it puts in a comment has control bytes and invalid
 * UTF-8 replaced (a newline in a comm must not start a policy line).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chart.h"
#include "collector/names.h"
#include "qtool.h"
#include "replay.h"
#include "suggest.h"

/* ---- timeline -------------------------------------------------------- */

static int window_bounds(struct ctx *c, int64_t *lo, int64_t *hi, bool *any)
{
	struct query q = { 0 };
	sqlite3_stmt *s;
	int r;

	add(&q, "SELECT min(e.ts), max(e.ts) FROM events e WHERE 1");
	if ((r = add_where(c->db, &q, &c->f)) < 0 || (r = prepare(c->db, &q, &s)) < 0)
		return r;
	*any = sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL;
	*lo = *any ? sqlite3_column_int64(s, 0) : 0;
	*hi = *any ? sqlite3_column_int64(s, 1) : 0;
	sqlite3_finalize(s);
	if (c->f.has_since)
		*lo = c->f.since_ms;
	if (c->f.has_until)
		*hi = c->f.until_ms - 1;
	return 0;
}

/* "SELECT ... FROM (bucketed events) g" with the filters; by_rule adds a rule
 * column. Counts per verdict as columns: allow, would_deny, deny, total. */
static int timeline_query(struct ctx *c, struct query *q, bool by_rule, bool raw)
{
	add(q, raw ? "SELECT g.b" : "SELECT " TIME_MIN("g.b") " AS bucket");
	if (by_rule)
		add(q, ", coalesce(g.rule_id, '-') AS rule");
	add(q, ", sum(g.verdict = 0) AS allow, sum(g.verdict = 1) AS would_deny,"
	       " sum(g.verdict = 2) AS deny, count(*) AS total FROM (SELECT");
	add_int(q, " (e.ts / ?", c->bucket_ms);
	add_int(q, ") * ? AS b, e.verdict AS verdict", c->bucket_ms);
	if (by_rule)
		add(q, ", r.rule_id AS rule_id FROM events e"
		       " LEFT JOIN rules r ON r.policy = e.policy AND r.idx = e.rule WHERE 1");
	else
		add(q, " FROM events e WHERE 1");
	int r = add_where(c->db, q, &c->f);
	if (r < 0)
		return r;
	add(q, by_rule ? ") g GROUP BY g.b, g.rule_id ORDER BY g.b, rule" : ") g GROUP BY g.b ORDER BY g.b");
	return 0;
}

struct chart_row {
	int64_t b;
	char *rule;
	uint64_t v[DL_VERDICT_MAX], total;
};

struct rule_total {
	char *rule;
	uint64_t n;
};

static int rt_cmp(const void *pa, const void *pb)
{
	const struct rule_total *a = pa, *b = pb;

	if (a->n != b->n)
		return a->n > b->n ? -1 : 1;
	return strcmp(a->rule, b->rule);
}

/* The chart's series: verdicts, or (--by rule) the decisions of each rule,
 * the 8 most frequent by name and the rest as "other". */
static int write_chart(struct ctx *c, int64_t lo, int64_t hi)
{
	struct query q = { 0 };
	sqlite3_stmt *s;
	int64_t t0 = lo / c->bucket_ms * c->bucket_ms, t1 = hi / c->bucket_ms * c->bucket_ms;
	size_t n = (size_t)((t1 - t0) / c->bucket_ms) + 1, nrows = 0, cap = 0, nrt = 0, ns;
	bool by_rule = c->by != NULL;
	struct chart_row *rows = NULL;
	struct rule_total *rt = NULL;
	const char *names[DL_CHART_SERIES_MAX];
	uint64_t *counts = NULL;
	const char *dot = strrchr(c->chart, '.');
	char title[256];
	FILE *f;
	int r;

	if (t1 < t0 || n > 200000) {
		errorf("timeline: %zu buckets are too many for a chart; use --bucket hour or a shorter window",
		       n);
		return -E2BIG;
	}
	if ((r = timeline_query(c, &q, by_rule, true)) < 0 || (r = prepare(c->db, &q, &s)) < 0)
		return r;
	r = -ENOMEM;
	while (sqlite3_step(s) == SQLITE_ROW) {
		struct chart_row *row;
		int col = 1;

		if (nrows == cap) {
			struct chart_row *nr = realloc(rows, (cap = cap ? cap * 2 : 256) * sizeof(*rows));

			if (!nr)
				goto out;
			rows = nr;
		}
		row = &rows[nrows];
		*row = (struct chart_row){ .b = sqlite3_column_int64(s, 0) };
		if (by_rule) {
			const unsigned char *t = sqlite3_column_text(s, col++);

			if (!(row->rule = strdup(t ? (const char *)t : "-")))
				goto out;
		}
		for (int v = 0; v < DL_VERDICT_MAX; v++)
			row->v[v] = (uint64_t)sqlite3_column_int64(s, col + v);
		row->total = (uint64_t)sqlite3_column_int64(s, col + DL_VERDICT_MAX);
		nrows++;
	}
	sqlite3_finalize(s);
	s = NULL;
	if (by_rule) {
		/* totals per rule, largest first */
		if (!(rt = calloc(nrows ? nrows : 1, sizeof(*rt))))
			goto out;
		for (size_t i = 0; i < nrows; i++) {
			size_t k;

			for (k = 0; k < nrt && strcmp(rt[k].rule, rows[i].rule); k++)
				;
			if (k == nrt)
				rt[nrt++].rule = rows[i].rule;
			rt[k].n += rows[i].total;
		}
		qsort(rt, nrt, sizeof(*rt), rt_cmp);
		ns = nrt <= DL_CHART_SERIES_MAX ? nrt : DL_CHART_SERIES_MAX;
		for (size_t k = 0; k < ns; k++)
			names[k] = k + 1 == DL_CHART_SERIES_MAX && nrt > ns ? "other" : rt[k].rule;
		if (!ns) {
			names[0] = "-";
			ns = 1;
		}
	} else {
		ns = DL_VERDICT_MAX;
	}
	if (!(counts = calloc(n * ns, sizeof(*counts))))
		goto out;
	for (size_t i = 0; i < nrows; i++) {
		size_t bi;

		if (rows[i].b < t0 || rows[i].b > t1)
			continue;
		bi = (size_t)((rows[i].b - t0) / c->bucket_ms);
		if (!by_rule) {
			for (int v = 0; v < DL_VERDICT_MAX; v++)
				counts[bi * ns + (size_t)v] = rows[i].v[v];
			continue;
		}
		size_t k;
		for (k = 0; k + 1 < ns && strcmp(names[k], rows[i].rule); k++)
			;
		if (strcmp(names[k], rows[i].rule) && strcmp(names[k], "other"))
			continue; /* cannot happen: the last series is the rule or "other" */
		counts[bi * ns + k] += rows[i].total;
	}
	snprintf(title, sizeof(title), "drylock decisions per %s%s%s%s",
		 c->bucket_ms >= 3600000 ? "hour" : "minute", by_rule ? " and rule" : "",
		 c->f.policy ? ", policy " : "", c->f.policy ? c->f.policy : "");
	if (!(f = fopen(c->chart, "we"))) {
		r = -errno;
		errorf("timeline: cannot write %s: %s", c->chart, strerror(errno));
		goto out;
	}
	r = dl_chart_write(f, &(struct dl_chart){ .t0_ms = t0, .bucket_ms = c->bucket_ms, .n = n,
						   .n_series = ns, .names = by_rule ? names : NULL,
						   .counts = counts, .title = title },
			   strcmp(dot, ".svg") != 0);
	if (fclose(f) != 0 && r == 0)
		r = -EIO;
	if (r < 0)
		errorf("timeline: writing %s failed", c->chart);
	else
		fprintf(stderr, "wrote %s (%zu %s buckets%s)\n", c->chart, n,
			c->bucket_ms >= 3600000 ? "hour" : "minute", by_rule ? ", one series per rule" : "");
out:
	if (r == -ENOMEM)
		errorf("timeline: out of memory");
	sqlite3_finalize(s);
	for (size_t i = 0; i < nrows; i++)
		free(rows[i].rule);
	free(rows);
	free(rt);
	free(counts);
	return r;
}

int cmd_timeline(struct ctx *c)
{
	struct query q = { 0 };
	int64_t lo, hi;
	bool any;
	int r;

	if ((r = window_bounds(c, &lo, &hi, &any)) < 0)
		return r;
	if (!c->bucket_ms)
		c->bucket_ms = hi - lo > 6 * 3600000LL ? 3600000 : 60000;
	/* The last --limit rows (default 500): count them first. */
	long limit = limit_of(c, 500), total = 0;
	sqlite3_stmt *s;
	if (limit >= 0) {
		add(&q, "SELECT count(*) FROM (");
		if ((r = timeline_query(c, &q, c->by != NULL, false)) < 0)
			return r;
		add(&q, ")");
		if ((r = prepare(c->db, &q, &s)) < 0)
			return r;
		total = sqlite3_step(s) == SQLITE_ROW ? (long)sqlite3_column_int64(s, 0) : 0;
		sqlite3_finalize(s);
		q = (struct query){ 0 };
	}
	if ((r = timeline_query(c, &q, c->by != NULL, false)) < 0)
		return r;
	if (limit >= 0 && total > limit)
		add_int(&q, " LIMIT -1 OFFSET ?", total - limit);
	if ((r = prepare(c->db, &q, &s)) < 0)
		return r;
	long n = print_rows(c->db, s, c->fmt, NULL);
	sqlite3_finalize(s);
	if (n < 0)
		return (int)n;
	note_shown(c, n, total, "buckets");
	if (c->chart) {
		if (!any && !c->f.has_since && !c->f.has_until)
			lo = hi = (int64_t)time(NULL) * 1000;
		if ((r = write_chart(c, lo, hi)) < 0)
			return r;
	}
	return 0;
}

/* ---- denials --------------------------------------------------------- */

static const char *op_name(unsigned hook);

/* ---- decisions as of one policy version (ready, denials) ------------
 *
 * An event logged under the chosen version (c->ver) keeps its logged
 * verdict and rule. An event logged under any other version (or none) is
 * replayed against the chosen one, as what-if does: a denial there is a
 * would-deny of its rule, anything else an allow. Events that cannot be
 * replayed (not a net hook, no address) keep their logged decision. The
 * store is read once, grouped by (version, hook, verdict, rule, comm, exe,
 * cgroup, uid, object); the decided groups go into a private in-memory
 * table "d", which the reports group, order and print with print_rows. */

struct decided {
	sqlite3 *mem;
	uint64_t replayed;      /* events decided by replay */
	uint64_t kept;          /* logged elsewhere, could not be replayed */
	bool cand_bad;          /* the chosen version's text does not parse */
};

/* The verdicts of a group in verdict-id order, whatever the row order. */
#define D_VERDICTS "dl_verdict_set(sum(DISTINCT 1 << d.verdict))"
#define D_PROTO "dl_proto(d.op, d.proto)"

static int decided_load(struct ctx *c, struct decided *dd)
{
	struct query q = { 0 };
	struct filters f = c->f;
	struct dl_replay cand = { 0 };
	bool cand_ready = false;
	sqlite3_stmt *s = NULL, *ins = NULL;
	int r, rc, want = c->f.verdict;

	*dd = (struct decided){ 0 };
	if (sqlite3_open_v2(":memory:", &dd->mem, SQLITE_OPEN_READWRITE | SQLITE_OPEN_MEMORY, NULL) != SQLITE_OK ||
	    dl_query_sql_functions(dd->mem) < 0 ||
	    sqlite3_exec(dd->mem, "CREATE TABLE d (verdict INTEGER, op TEXT, comm TEXT, exe TEXT,"
				  " cgroup TEXT, uid INTEGER, addr TEXT, port INTEGER, proto INTEGER,"
				  " policy TEXT, version TEXT, rule TEXT, n INTEGER, first INTEGER,"
				  " last INTEGER, replayed INTEGER)", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(dd->mem, "INSERT INTO d VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"
				      " ?10, ?11, ?12, ?13, ?14, ?15, ?16)", -1, &ins, NULL) != SQLITE_OK) {
		errorf("query: %s", dd->mem ? sqlite3_errmsg(dd->mem) : "out of memory");
		return -EIO;
	}
	add(&q, "SELECT e.policy, e.hook, e.verdict, coalesce(r.rule_id, '#' || e.rule), cm.s, ex.s,"
		" cg.s, s.uid, o.text, o.k1, o.k2, p.name, substr(p.sha256, 1, 12), count(*),"
		" min(e.ts), max(e.ts), h.name FROM events e");
	add(&q, ev_joins);
	/* The logged verdict only decides for the chosen version's events. */
	add(&q, want >= 0 ? " WHERE (e.verdict = ?" : " WHERE (e.verdict IN " DENIES);
	if (want >= 0)
		q.b[q.nb++] = (struct bind){ .type = B_INT, .i = want };
	if (c->ver.id)
		add_int(&q, " OR e.policy IS NOT ?)", c->ver.id);
	else
		add(&q, ")");
	f.verdict = -1;
	if ((r = add_where(c->db, &q, &f)) < 0)
		goto out;
	/* By value: a subject, object or string may have several ids. */
	add(&q, " GROUP BY e.policy, e.hook, e.verdict, e.rule, cm.s, ex.s, cg.s, s.uid, o.family, o.text,"
		" o.k1, o.k2");
	if ((r = prepare(c->db, &q, &s)) < 0)
		goto out;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t pol = sqlite3_column_int64(s, 0);
		unsigned hook = (unsigned)sqlite3_column_int(s, 1);
		int verdict = sqlite3_column_int(s, 2);
		uint64_t n = (uint64_t)sqlite3_column_int64(s, 13);
		bool replay = c->ver.id && (sqlite3_column_type(s, 0) == SQLITE_NULL || pol != c->ver.id);
		const char *rule = NULL;
		char ver[16];

		sqlite3_reset(ins);
		sqlite3_clear_bindings(ins);
		if (replay && !cand_ready && !dd->cand_bad) {
			struct dl_diags dg = { 0 };

			if (dl_replay_init(&cand, c->ver.name, c->ver.text, &dg) < 0)
				dd->cand_bad = true;
			else
				cand_ready = true;
			dl_diags_free(&dg);
		}
		if (replay && cand_ready) {
			struct dl_replay_in in = {
				.hook = hook, .addr = (const char *)sqlite3_column_text(s, 8),
				.port = (unsigned)sqlite3_column_int(s, 9),
				.proto = (unsigned)sqlite3_column_int(s, 10),
				.cgroup = (const char *)sqlite3_column_text(s, 6) };
			__u8 act;
			__u32 ri;
			bool unk;

			if (dl_replay_decide(&cand, &in, &act, &ri, &unk) == 0) {
				verdict = dl_policy_rule_verdict(cand.policy, ri, act);
				rule = ri < cand.policy->n_rules ? cand.policy->rules[ri].id : NULL;
				dd->replayed += n;
			} else {
				replay = false;
				dd->kept += n;
			}
		} else if (replay) {
			replay = false;
			dd->kept += n;
		}
		if (want >= 0 ? verdict != want : verdict != DL_VERDICT_WOULD_DENY && verdict != DL_VERDICT_DENY)
			continue;
		sqlite3_bind_int(ins, 1, verdict);
		if (dl_hook_op(hook))
			sqlite3_bind_text(ins, 2, op_name(hook), -1, SQLITE_STATIC);
		else
			sqlite3_bind_value(ins, 2, sqlite3_column_value(s, 16));
		for (int k = 0; k < 7; k++) /* comm, exe, cgroup, uid, addr, port, proto */
			sqlite3_bind_value(ins, 3 + k, sqlite3_column_value(s, 4 + k));
		if (replay) {
			sqlite3_bind_text(ins, 10, c->ver.name, -1, SQLITE_STATIC);
			snprintf(ver, sizeof(ver), "%.12s", c->ver.sha256);
			sqlite3_bind_text(ins, 11, ver, -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(ins, 12, rule, -1, SQLITE_STATIC);
		} else {
			sqlite3_bind_value(ins, 10, sqlite3_column_value(s, 11));
			sqlite3_bind_value(ins, 11, sqlite3_column_value(s, 12));
			sqlite3_bind_value(ins, 12, sqlite3_column_value(s, 3));
		}
		sqlite3_bind_int64(ins, 13, (sqlite3_int64)n);
		sqlite3_bind_value(ins, 14, sqlite3_column_value(s, 14));
		sqlite3_bind_value(ins, 15, sqlite3_column_value(s, 15));
		sqlite3_bind_int64(ins, 16, replay ? (sqlite3_int64)n : 0);
		if (sqlite3_step(ins) != SQLITE_DONE) {
			errorf("query: %s", sqlite3_errmsg(dd->mem));
			r = -EIO;
			goto out;
		}
	}
	if (rc != SQLITE_DONE) {
		errorf("query: %s", sqlite3_errmsg(c->db));
		r = -EIO;
		goto out;
	}
	r = 0;
out:
	sqlite3_finalize(s);
	sqlite3_finalize(ins);
	if (cand_ready)
		dl_replay_free(&cand);
	return r;
}

static void decided_free(struct decided *dd)
{
	sqlite3_close(dd->mem);
	dd->mem = NULL;
}

/* What the table reader needs to know about how rows were decided. */
static void decided_notes(struct ctx *c, const struct decided *dd)
{
	FILE *o = c->fmt == FMT_TABLE ? stdout : stderr;

	if (dd->cand_bad)
		fprintf(o, "%s%s: the stored text of policy version %.12s does not parse: events logged"
			   " under other versions are shown as logged\n",
			c->fmt == FMT_TABLE ? "" : PROG ": ", c->ver.name, c->ver.sha256);
	if (c->fmt != FMT_TABLE)
		return;
	if (dd->replayed)
		printf("decided as of policy %s version %.12s: %" PRIu64 " event(s) logged under other"
		       " versions were replayed against it\n", c->ver.name, c->ver.sha256, dd->replayed);
	if (dd->kept)
		printf("%" PRIu64 " event(s) logged under other versions could not be replayed (unknown"
		       " hook or an object its family cannot read back) and are shown as logged\n", dd->kept);
}

static int decided_print(struct ctx *c, struct decided *dd, const char *sql, long *rows, long *total)
{
	sqlite3_stmt *s;
	int r;

	if (sqlite3_prepare_v2(dd->mem, sql, -1, &s, NULL) != SQLITE_OK) {
		errorf("query: %s", sqlite3_errmsg(dd->mem));
		return -EIO;
	}
	*rows = print_rows_lim(dd->mem, s, c->fmt, NULL, limit_of(c, 50), total);
	r = *rows < 0 ? (int)*rows : 0;
	sqlite3_finalize(s);
	return r;
}

int cmd_denials(struct ctx *c)
{
	static const char sql[] =
		 "SELECT sum(d.n) AS count, " D_VERDICTS " AS verdict, d.op AS op, d.comm AS comm, d.exe AS exe,"
		 " d.cgroup AS cgroup, d.uid AS uid, d.addr AS addr, d.port AS port, " D_PROTO " AS proto,"
		 " d.policy AS policy, d.version AS version, d.rule AS rule, "
		 TIME("min(d.first)") " AS first_seen, " TIME("max(d.last)") " AS last_seen,"
		 " sum(d.replayed) AS replayed FROM d GROUP BY d.op, d.comm, d.exe, d.cgroup, d.uid,"
		 " d.addr, d.port, d.proto, d.policy, d.version, d.rule"
		 " ORDER BY count DESC, max(d.last) DESC, d.op, d.comm, d.exe, d.cgroup, d.uid, d.addr,"
		 " d.port, d.proto, d.policy, d.version, d.rule";
	struct decided dd;
	long n, total;
	int r;

	if ((r = decided_load(c, &dd)) < 0)
		goto out;
	if ((r = decided_print(c, &dd, sql, &n, &total)) < 0)
		goto out;
	note_shown(c, n, total, "groups");
	decided_notes(c, &dd);
out:
	decided_free(&dd);
	return r;
}

int cmd_ready(struct ctx *c)
{
	struct decided dd;
	sqlite3_stmt *s;
	bool any;
	long n, total;
	int r;

	if ((r = decided_load(c, &dd)) < 0)
		goto out;
	if (sqlite3_prepare_v2(dd.mem, "SELECT 1 FROM d LIMIT 1", -1, &s, NULL) != SQLITE_OK) {
		r = -EIO;
		goto out;
	}
	any = sqlite3_step(s) == SQLITE_ROW;
	sqlite3_finalize(s);
	if (!any) {
		/* "ready" prints no empty table */
		if (c->fmt == FMT_JSON)
			puts("[]");
		else if (c->fmt == FMT_TABLE)
			printf("ready: no would-deny or deny decisions match%s%s%s%.12s%s\n",
			       c->ver.id ? " (as of policy " : "", c->ver.id ? c->ver.name : "",
			       c->ver.id ? " version " : "", c->ver.id ? c->ver.sha256 : "",
			       c->ver.id ? ")" : "");
		decided_notes(c, &dd);
		r = 0;
		goto out;
	}
	static const char sql[] =
		 "SELECT d.policy AS policy, d.version AS version, d.rule AS rule, " D_VERDICTS " AS verdict,"
		 " d.comm AS comm, d.exe AS exe, d.cgroup AS cgroup, d.addr AS addr, d.port AS port,"
		 " sum(d.n) AS count, " TIME("min(d.first)") " AS first_seen, " TIME("max(d.last)")
		 " AS last_seen FROM d GROUP BY d.policy, d.version, d.rule, d.comm, d.exe, d.cgroup,"
		 " d.op, d.addr, d.port, d.proto ORDER BY count DESC, max(d.last) DESC, d.policy,"
		 " d.version, d.rule, d.comm, d.exe, d.cgroup, d.op, d.addr, d.port, d.proto";
	if ((r = decided_print(c, &dd, sql, &n, &total)) < 0)
		goto out;
	note_shown(c, n, total, "groups");
	decided_notes(c, &dd);
	if (c->fmt == FMT_TABLE)
		printf("not ready: %ld group(s) of decisions would be denied\n", total);
	r = 1;
out:
	decided_free(&dd);
	return r;
}

/* ---- event groups for replay ----------------------------------------- */

struct grp {
	unsigned hook, verdict, port, proto;
	char *rule, *comm, *exe, *cgroup, *addr; /* NULL when unknown */
	uint64_t n;
	int64_t first, last;
};

static char *col_dup(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	return t ? strndup((const char *)t, (size_t)sqlite3_column_bytes(s, i)) : NULL;
}

static void grps_free(struct grp *g, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(g[i].rule);
		free(g[i].comm);
		free(g[i].exe);
		free(g[i].cgroup);
		free(g[i].addr);
	}
	free(g);
}

static int load_groups(struct ctx *c, bool denied_only, struct grp **out, size_t *n_out)
{
	struct query q = { 0 };
	struct grp *v = NULL;
	size_t n = 0, cap = 0;
	sqlite3_stmt *s;
	int r, rc;

	add(&q, "SELECT e.hook, e.verdict, r.rule_id, cm.s, ex.s, cg.s, o.text, o.k1, o.k2,"
		" count(*), min(e.ts), max(e.ts) FROM events e"
		" LEFT JOIN rules r ON r.policy = e.policy AND r.idx = e.rule"
		" LEFT JOIN subjects s ON s.id = e.subject"
		" LEFT JOIN strings cg ON cg.id = s.cgroup"
		" LEFT JOIN strings cm ON cm.id = s.comm"
		" LEFT JOIN strings ex ON ex.id = s.exe"
		" LEFT JOIN objects o ON o.id = e.object WHERE 1");
	/* Denied as logged; what another version decided is replayed by
	 * the caller, whatever its logged verdict. */
	if (denied_only && c->f.verdict < 0)
		add(&q, " AND (e.verdict IN " DENIES);
	if (denied_only && c->f.verdict < 0 && c->ver.id)
		add_int(&q, " OR e.policy IS NOT ?", c->ver.id);
	if (denied_only && c->f.verdict < 0)
		add(&q, ")");
	if ((r = add_where(c->db, &q, &c->f)) < 0)
		return r;
	add(&q, " GROUP BY e.hook, e.verdict, r.rule_id, cm.s, ex.s, cg.s, o.family, o.text, o.k1, o.k2"
		" ORDER BY min(e.ts), min(e.id)"); /* total: a group's first decision */
	if ((r = prepare(c->db, &q, &s)) < 0)
		return r;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (n == cap) {
			struct grp *nv = realloc(v, (cap = cap ? cap * 2 : 64) * sizeof(*v));

			if (!nv) {
				rc = SQLITE_NOMEM;
				break;
			}
			v = nv;
		}
		v[n++] = (struct grp){
			.hook = (unsigned)sqlite3_column_int(s, 0),
			.verdict = (unsigned)sqlite3_column_int(s, 1),
			.rule = col_dup(s, 2), .comm = col_dup(s, 3), .exe = col_dup(s, 4),
			.cgroup = col_dup(s, 5), .addr = col_dup(s, 6),
			.port = (unsigned)sqlite3_column_int(s, 7),
			.proto = (unsigned)sqlite3_column_int(s, 8),
			.n = (uint64_t)sqlite3_column_int64(s, 9),
			.first = sqlite3_column_int64(s, 10), .last = sqlite3_column_int64(s, 11),
		};
	}
	if (rc != SQLITE_DONE) {
		errorf("query: %s", rc == SQLITE_NOMEM ? "out of memory" : sqlite3_errmsg(c->db));
		sqlite3_finalize(s);
		grps_free(v, n);
		return -EIO;
	}
	sqlite3_finalize(s);
	*out = v;
	*n_out = n;
	return 0;
}

/* The operation as the hook's family names it in its rules ("connect"). */
static const char *op_name(unsigned hook)
{
	unsigned f = dl_hook_family(hook);
	const struct dl_query_family *qf = f && f < DL_FAMILY_MAX ? dl_query_families[f] : NULL;

	return qf && qf->op_name ? qf->op_name(hook) : "?";
}

/* ---- suggest --------------------------------------------------------- */

static void fmt_min(char *out, size_t n, int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, n, "%Y-%m-%dT%H:%MZ", &tm);
}

/* Untrusted text for a policy comment: one line, no control bytes. */
static void put_safe(FILE *o, const char *s)
{
	size_t w;
	char *t = table_str((const unsigned char *)(s ? s : "?"), strlen(s ? s : "?"), &w);

	fputs(t, o);
	free(t);
}

static const char *verdict_words(unsigned bits)
{
	bool wd = bits & (1u << DL_VERDICT_WOULD_DENY), d = bits & (1u << DL_VERDICT_DENY);

	return wd && d ? "would-deny/deny" : d ? "deny" : "would-deny";
}

/* Distinct values of one string field over a suggestion's groups. */
static size_t distinct(const struct dl_suggestion *sg, const struct dl_obs *obs, bool exe,
		       const char **out)
{
	size_t n = 0;

	for (size_t i = 0; i < sg->n_obs; i++) {
		const char *v = exe ? obs[sg->obs[i]].exe : obs[sg->obs[i]].comm;
		size_t k;

		if (!v)
			v = "?";
		for (k = 0; k < n && strcmp(out[k], v); k++)
			;
		if (k == n)
			out[n++] = v;
	}
	return n;
}

static void json_list(FILE *o, const char *const *v, size_t n)
{
	fputc('[', o);
	for (size_t i = 0; i < n; i++) {
		if (i)
			fputs(", ", o);
		json_str(o, (const unsigned char *)v[i], strlen(v[i]));
	}
	fputc(']', o);
}

static void print_suggestion_text(FILE *o, const struct dl_suggestion *sg, const struct dl_obs *obs,
				  const struct dl_policy *base)
{
	char first[32], last[32];
	size_t shown = 0;

	fmt_min(first, sizeof(first), sg->first_ms);
	fmt_min(last, sizeof(last), sg->last_ms);
	fprintf(o, "\n# %" PRIu64 " %s by ", sg->count, verdict_words(sg->verdicts));
	/* comm (exe) pairs, at most three shown */
	for (size_t i = 0; i < sg->n_obs; i++) {
		const struct dl_obs *ob = &obs[sg->obs[i]];
		size_t k;

		for (k = 0; k < i; k++) {
			const struct dl_obs *p = &obs[sg->obs[k]];
			if (!strcmp(p->comm ? p->comm : "?", ob->comm ? ob->comm : "?") &&
			    !strcmp(p->exe ? p->exe : "?", ob->exe ? ob->exe : "?"))
				break;
		}
		if (k < i)
			continue;
		if (shown++ >= 3)
			continue;
		fputs(shown > 1 ? ", " : "", o);
		put_safe(o, ob->comm);
		fputs(" (", o);
		put_safe(o, ob->exe);
		fputc(')', o);
	}
	if (shown > 3)
		fprintf(o, " and %zu more", shown - 3);
	fprintf(o, " %s .. %s, overrides ", first, last);
	for (size_t i = 0; i < sg->n_overrides; i++)
		fprintf(o, "%s%s", i ? "," : "", base->rules[sg->overrides[i]].id);
	if (!sg->n_overrides)
		fputs("-", o);
	fputc('\n', o);
	if (sg->note) {
		fputs("# ", o);
		put_safe(o, sg->note);
		fputc('\n', o);
	}
	if (sg->verified) {
		fprintf(o, "%s\n", sg->text);
	} else {
		fputs("# NOT VERIFIED: ", o);
		put_safe(o, sg->problem ? sg->problem : "replay could not confirm it");
		fputs("\n# ", o);
		put_safe(o, sg->text);
		fputc('\n', o);
	}
}

static void print_suggestion_row(FILE *o, enum fmt fmt, const struct dl_suggestion *sg,
				 const struct dl_obs *obs, const struct dl_policy *base,
				 const char **tmp, bool first_row)
{
	char first[40], last[40];
	const char *ov[DL_NET_SET_MAX * 4];
	size_t nov = 0, n;

	fmt_min(first, sizeof(first), sg->first_ms);
	fmt_min(last, sizeof(last), sg->last_ms);
	for (size_t i = 0; i < sg->n_overrides && nov < sizeof(ov) / sizeof(ov[0]); i++)
		ov[nov++] = base->rules[sg->overrides[i]].id;
	if (fmt == FMT_JSON) {
		fputs(first_row ? "\n  {\"rule\": " : ",\n  {\"rule\": ", o);
		json_str(o, (const unsigned char *)sg->text, strlen(sg->text));
		fprintf(o, ", \"id\": \"%s\", \"count\": %" PRIu64 ", \"first_seen\": \"%s\","
			   " \"last_seen\": \"%s\", \"comms\": ", sg->id, sg->count, first, last);
		n = distinct(sg, obs, false, tmp);
		json_list(o, tmp, n);
		fputs(", \"exes\": ", o);
		n = distinct(sg, obs, true, tmp);
		json_list(o, tmp, n);
		fputs(", \"overrides\": ", o);
		json_list(o, ov, nov);
		fprintf(o, ", \"verified\": %s, \"note\": ", sg->verified ? "true" : "false");
		if (sg->note)
			json_str(o, (const unsigned char *)sg->note, strlen(sg->note));
		else
			fputs("null", o);
		fputs(", \"problem\": ", o);
		if (sg->problem)
			json_str(o, (const unsigned char *)sg->problem, strlen(sg->problem));
		else
			fputs("null", o);
		fputc('}', o);
		return;
	}
	/* CSV: lists joined with '|' inside one quoted field where needed. */
	csv_str(o, (const unsigned char *)sg->text, strlen(sg->text));
	fprintf(o, ",%s,%" PRIu64 ",%s,%s,", sg->id, sg->count, first, last);
	for (int e = 0; e < 3; e++) {
		struct { char *s; size_t len; } b = { 0 };
		FILE *m = open_memstream(&b.s, &b.len);
		const char **v = tmp;

		n = e == 2 ? nov : distinct(sg, obs, e == 1, tmp);
		if (e == 2)
			v = ov;
		for (size_t i = 0; m && i < n; i++)
			fprintf(m, "%s%s", i ? "|" : "", v[i]);
		if (m)
			fclose(m);
		if (b.s)
			csv_str(o, (const unsigned char *)b.s, b.len);
		free(b.s);
		fputc(',', o);
	}
	fputs(sg->verified ? "true," : "false,", o);
	if (sg->note)
		csv_str(o, (const unsigned char *)sg->note, strlen(sg->note));
	fputc(',', o);
	if (sg->problem)
		csv_str(o, (const unsigned char *)sg->problem, strlen(sg->problem));
	fputs("\r\n", o);
}

/* Append family f's suggestions (obs indices relative to its first group,
 * fo) to *sg, adding fo to each index; sum *fi into *info. */
static int append_suggestions(struct dl_suggestion **sg, size_t *nsg, struct dl_suggestion *fs, size_t nfs,
			      size_t fo, struct dl_suggest_info *info, const struct dl_suggest_info *fi)
{
	struct dl_suggestion *v = nfs ? realloc(*sg, (*nsg + nfs) * sizeof(*v)) : *sg;

	if (!v) {
		dl_suggestions_free(fs, nfs);
		return -ENOMEM;
	}
	for (size_t i = 0; i < nfs; i++) {
		for (size_t j = 0; j < fs[i].n_obs; j++)
			fs[i].obs[j] += fo;
		v[*nsg + i] = fs[i];
	}
	free(fs);
	*sg = v;
	*nsg += nfs;
	info->widened |= fi->widened;
	info->events += fi->events;
	info->covered += fi->covered;
	info->dropped_events += fi->dropped_events;
	info->dropped_groups += fi->dropped_groups;
	if (fi->how[0]) {
		size_t k = strlen(info->how);

		if (k + 2 < sizeof(info->how)) /* cut, never overrun, when several families widened */
			snprintf(info->how + k, sizeof(info->how) - k, "%s%.*s", k ? "; " : "",
				 (int)(sizeof(info->how) - k - 3), fi->how);
	}
	return 0;
}

int cmd_suggest(struct ctx *c)
{
	const struct pversion *sp = &c->ver;
	struct dl_replay base = { 0 };
	struct dl_diags dg = { 0 };
	struct grp *g = NULL;
	struct dl_obs *obs = NULL;
	struct dl_suggestion *sg = NULL;
	const char **tmp = NULL;
	size_t ng = 0, nobs = 0, nsg = 0, verified = 0;
	uint64_t denied = 0, allowed_now = 0, skipped = 0;
	struct dl_suggest_info info;
	unsigned *fam_of = NULL; /* family of obs[i] */
	char cov[512];
	int r;

	if (!sp->id) {
		errorf(c->f.policy ? "suggest: no stored policy named '%s'" : "suggest: no policy stored%s",
		       c->f.policy ? c->f.policy : "");
		r = -ENOENT;
		goto out;
	}
	if ((r = dl_replay_init(&base, sp->name, sp->text, &dg)) < 0) {
		errorf("suggest: the stored text of policy '%s' (%.12s) does not parse: %s:%u: %s", sp->name,
		       sp->sha256, dg.n ? dg.v[0].file : "?", dg.n ? dg.v[0].line : 0,
		       dg.n ? dg.v[0].msg : strerror(-r));
		goto out;
	}
	if ((r = load_groups(c, true, &g, &ng)) < 0)
		goto out;
	obs = calloc(ng ? ng : 1, sizeof(*obs));
	tmp = calloc(ng ? ng : 1, sizeof(*tmp));
	fam_of = calloc(ng ? ng : 1, sizeof(*fam_of));
	if (!obs || !tmp || !fam_of) {
		r = -ENOMEM;
		goto out;
	}
	/* The groups the policy denies today, one family after another (each
	 * family's suggest sees its own groups, contiguous in obs). */
	for (unsigned f = 1; f < DL_FAMILY_MAX; f++)
		for (size_t i = 0; i < ng; i++) {
			struct dl_replay_in in = { .hook = g[i].hook, .addr = g[i].addr, .port = g[i].port,
						   .proto = g[i].proto, .cgroup = g[i].cgroup };
			__u8 act;
			__u32 rule;
			bool unk;

			if (dl_hook_family(g[i].hook) != f)
				continue;
			denied += g[i].n;
			if (dl_replay_decide(&base, &in, &act, &rule, &unk) < 0) {
				skipped += g[i].n;
				continue;
			}
			if (act == DL_ACTION_ALLOW) {
				allowed_now += g[i].n;
				continue;
			}
			fam_of[nobs] = f;
			obs[nobs++] = (struct dl_obs){ .in = in, .cgroup = g[i].cgroup, .comm = g[i].comm,
						       .exe = g[i].exe, .count = g[i].n, .first_ms = g[i].first,
						       .last_ms = g[i].last,
						       .verdicts = 1u << (g[i].verdict < 32 ? g[i].verdict : 0),
						       .deny_rule = rule };
		}
	for (size_t i = 0; i < ng; i++) {
		unsigned f = dl_hook_family(g[i].hook);

		if (!f || f >= DL_FAMILY_MAX) /* a hook of no family: not replayable */
			denied += g[i].n, skipped += g[i].n;
	}
	info = (struct dl_suggest_info){ .v4_plen = 32, .v6_plen = 128 };
	for (size_t i = 0, j; i < nobs; i = j) {
		const struct dl_query_family *qf = dl_query_families[fam_of[i]];
		struct dl_suggestion *fs = NULL;
		struct dl_suggest_info fi = { 0 };
		size_t nfs = 0;
		uint64_t events = 0;

		for (j = i; j < nobs && fam_of[j] == fam_of[i]; j++)
			events += obs[j].count;
		if (!qf || !qf->suggest) {
			skipped += events;
			continue;
		}
		if ((r = qf->suggest(&base, sp->text, obs + i, j - i,
				     &(struct dl_suggest_opts){ .max_ports = c->max_ports,
								.max_rules = c->max_rules },
				     &fs, &nfs, &fi)) < 0 ||
		    (r = append_suggestions(&sg, &nsg, fs, nfs, i, &info, &fi)) < 0) {
			errorf("suggest: %s: %s", dl_family_name(fam_of[i]), strerror(-r));
			goto out;
		}
		skipped += events - fi.events; /* groups the family could not read back */
	}
	for (size_t i = 0; i < nsg; i++)
		verified += sg[i].verified;
	/* What the budget cost, in one line: in the table's header, on stderr
	 * for JSON and CSV (which stay exact). */
	cov[0] = 0;
	if (info.widened || info.covered < info.events) {
		size_t n = 0;

		n += (size_t)snprintf(cov + n, sizeof(cov) - n, "covers %" PRIu64 " of %" PRIu64
				      " event(s) to allow with %zu rule(s)", info.covered, info.events, nsg);
		if (c->max_rules)
			n += (size_t)snprintf(cov + n, sizeof(cov) - n, " (--max-rules %u)", c->max_rules);
		if (info.widened && info.how[0])
			n += (size_t)snprintf(cov + n, sizeof(cov) - n, "; %s", info.how);
		if (info.dropped_events)
			n += (size_t)snprintf(cov + n, sizeof(cov) - n, "; gave up %" PRIu64 " event(s) in %zu"
					      " least frequent group(s)", info.dropped_events, info.dropped_groups);
		if (info.covered + info.dropped_events < info.events)
			snprintf(cov + n, sizeof(cov) - n, "; %" PRIu64 " event(s) in unverified rules",
				 info.events - info.covered - info.dropped_events);
		if (c->fmt != FMT_TABLE)
			fprintf(stderr, PROG ": suggest: %s\n", cov);
	}

	if (c->fmt == FMT_TABLE) {
		printf("# drylock-query suggest: policy ");
		put_safe(stdout, sp->name);
		printf(" (sha256 %.12s), %" PRIu64 " denied event(s); %zu rule(s), %zu verified by replay\n",
		       sp->sha256, denied, nsg, verified);
		if (allowed_now)
			printf("# %" PRIu64 " of those event(s) are already allowed by this policy version\n",
			       allowed_now);
		if (skipped)
			printf("# %" PRIu64 " event(s) could not be replayed or have no suggestion (unknown hook, an object its family cannot read back, or a family suggest has no rules for)\n",
			       skipped);
		if (cov[0])
			printf("# %s\n", cov);
		for (size_t i = 0; i < nsg; i++)
			print_suggestion_text(stdout, &sg[i], obs, base.policy);
	} else if (c->fmt == FMT_JSON) {
		fputc('[', stdout);
		for (size_t i = 0; i < nsg; i++)
			print_suggestion_row(stdout, FMT_JSON, &sg[i], obs, base.policy, tmp, i == 0);
		fputs(nsg ? "\n]\n" : "]\n", stdout);
	} else {
		fputs("rule,id,count,first_seen,last_seen,comms,exes,overrides,verified,note,problem\r\n",
		      stdout);
		for (size_t i = 0; i < nsg; i++)
			print_suggestion_row(stdout, FMT_CSV, &sg[i], obs, base.policy, tmp, i == 0);
	}
	r = 0;
out:
	dl_suggestions_free(sg, nsg);
	free(obs);
	free(tmp);
	free(fam_of);
	grps_free(g, ng);
	dl_replay_free(&base);
	dl_diags_free(&dg);
	return r;
}

/* ---- what-if --------------------------------------------------------- */

int cmd_whatif(struct ctx *c)
{
	struct dl_replay cand = { 0 };
	struct dl_diags dg = { 0 };
	struct grp *g = NULL;
	size_t ng = 0;
	sqlite3 *mem = NULL;
	sqlite3_stmt *ins = NULL, *sel = NULL;
	uint64_t total = 0, newly_denied = 0, newly_allowed = 0, rule_changes = 0, unknown_cg = 0,
		 skipped = 0;
	int r;

	if (dl_replay_init_file(&cand, c->candidate, &dg) < 0) {
		errorf("what-if: candidate policy %s is not valid:", c->candidate);
		dl_diags_print(&dg, stderr);
		dl_diags_free(&dg);
		return EXIT_USAGE;
	}
	dl_diags_free(&dg);
	if ((r = load_groups(c, false, &g, &ng)) < 0)
		goto out;
	if (sqlite3_open_v2(":memory:", &mem, SQLITE_OPEN_READWRITE | SQLITE_OPEN_MEMORY, NULL) != SQLITE_OK ||
	    sqlite3_exec(mem, "CREATE TABLE w (change TEXT, newly_denied INTEGER, count INTEGER,"
			      " first_seen TEXT, last_seen TEXT, old_verdict TEXT, old_rule TEXT,"
			      " new_verdict TEXT, new_rule TEXT, op TEXT, comm TEXT, exe TEXT, cgroup TEXT,"
			      " addr TEXT, port INTEGER, proto TEXT)", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(mem, "INSERT INTO w VALUES (?1, ?2, ?3,"
			       " strftime('%Y-%m-%dT%H:%M:%fZ', ?4 / 1000.0, 'unixepoch'),"
			       " strftime('%Y-%m-%dT%H:%M:%fZ', ?5 / 1000.0, 'unixepoch'),"
			       " ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)", -1, &ins, NULL) != SQLITE_OK) {
		errorf("what-if: %s", mem ? sqlite3_errmsg(mem) : "out of memory");
		r = -EIO;
		goto out;
	}
	for (size_t i = 0; i < ng; i++) {
		struct dl_replay_in in = { .hook = g[i].hook, .addr = g[i].addr, .port = g[i].port,
					   .proto = g[i].proto, .cgroup = g[i].cgroup };
		const char *change = NULL, *new_rule;
		bool unk, old_denied = g[i].verdict != DL_VERDICT_ALLOW, new_denied;
		__u8 act, new_verdict;
		__u32 rule;
		char proto[8];

		total += g[i].n;
		if (dl_replay_decide(&cand, &in, &act, &rule, &unk) < 0) {
			skipped += g[i].n;
			continue;
		}
		if (unk)
			unknown_cg += g[i].n;
		new_denied = act == DL_ACTION_DENY;
		new_verdict = dl_policy_rule_verdict(cand.policy, rule, act);
		new_rule = rule < cand.policy->n_rules ? cand.policy->rules[rule].id : NULL;
		if (!old_denied && new_denied) {
			/* a rule with mode=enforce refuses from the start */
			change = new_verdict == DL_VERDICT_DENY ? "allow -> deny" : "allow -> would-deny";
			newly_denied += g[i].n;
		} else if (old_denied && !new_denied) {
			change = g[i].verdict == DL_VERDICT_DENY ? "deny -> allow" : "would-deny -> allow";
			newly_allowed += g[i].n;
		} else if (!g[i].rule != !new_rule || (new_rule && strcmp(g[i].rule, new_rule))) {
			change = "rule change";
			rule_changes += g[i].n;
		}
		if (!change)
			continue;
		const struct dl_query_family *qf = dl_hook_family(g[i].hook) < DL_FAMILY_MAX ?
			dl_query_families[dl_hook_family(g[i].hook)] : NULL;
		const char *pname = qf && qf->proto_name ? qf->proto_name(g[i].proto) : NULL;

		snprintf(proto, sizeof(proto), "%s", pname ? pname : "");
		if (!pname)
			snprintf(proto, sizeof(proto), "%u", g[i].proto);
		sqlite3_reset(ins);
		sqlite3_bind_text(ins, 1, change, -1, SQLITE_STATIC);
		sqlite3_bind_int(ins, 2, !old_denied && new_denied);
		sqlite3_bind_int64(ins, 3, (sqlite3_int64)g[i].n);
		sqlite3_bind_int64(ins, 4, g[i].first);
		sqlite3_bind_int64(ins, 5, g[i].last);
		sqlite3_bind_text(ins, 6, dl_verdict_name(g[i].verdict), -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 7, g[i].rule, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 8, dl_verdict_name(new_verdict), -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 9, new_rule, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 10, op_name(g[i].hook), -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 11, g[i].comm, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 12, g[i].exe, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 13, g[i].cgroup, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 14, g[i].addr, -1, SQLITE_STATIC);
		sqlite3_bind_int(ins, 15, (int)g[i].port);
		sqlite3_bind_text(ins, 16, proto, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(ins) != SQLITE_DONE) {
			errorf("what-if: %s", sqlite3_errmsg(mem));
			r = -EIO;
			goto out;
		}
	}
	/* Newly denied first, then by count. */
	if (sqlite3_prepare_v2(mem, "SELECT change, count, first_seen, last_seen, old_verdict, old_rule,"
			       " new_verdict, new_rule, op, comm, exe, cgroup, addr, port, proto FROM w"
			       " ORDER BY newly_denied DESC, count DESC, first_seen", -1, &sel, NULL) != SQLITE_OK) {
		errorf("what-if: %s", sqlite3_errmsg(mem));
		r = -EIO;
		goto out;
	}
	if (c->fmt == FMT_JSON)
		fputs("{\"changes\": ", stdout);
	if (c->fmt == FMT_TABLE && newly_denied + newly_allowed + rule_changes == 0)
		puts("what-if: no decision would change");
	else {
		long total, n = print_rows_lim(mem, sel, c->fmt, NULL, limit_of(c, 50), &total);

		if (n < 0) {
			r = -EIO;
			goto out;
		}
		note_shown(c, n, total, "changes");
	}
	if (c->fmt == FMT_JSON) {
		printf(", \"totals\": {\"events\": %" PRIu64 ", \"unchanged\": %" PRIu64
		       ", \"newly_denied\": %" PRIu64 ", \"newly_allowed\": %" PRIu64
		       ", \"rule_changes\": %" PRIu64 ", \"unknown_cgroup\": %" PRIu64
		       ", \"not_replayed\": %" PRIu64 "}}\n",
		       total, total - skipped - newly_denied - newly_allowed - rule_changes, newly_denied,
		       newly_allowed, rule_changes, unknown_cg, skipped);
	} else if (c->fmt == FMT_TABLE) {
		printf("\nwhat-if: %" PRIu64 " event(s) replayed: %" PRIu64 " newly denied, %" PRIu64
		       " newly allowed, %" PRIu64 " with another rule, %" PRIu64 " unchanged\n",
		       total - skipped, newly_denied, newly_allowed, rule_changes,
		       total - skipped - newly_denied - newly_allowed - rule_changes);
		if (unknown_cg)
			printf("what-if: %" PRIu64 " event(s) had an unknown cgroup path and were replayed "
			       "as the root cgroup\n", unknown_cg);
		if (skipped)
			printf("what-if: %" PRIu64 " event(s) could not be replayed (unknown hook or an "
			       "object its family cannot read back)\n", skipped);
	}
	r = newly_denied ? 1 : 0;
out:
	sqlite3_finalize(ins);
	sqlite3_finalize(sel);
	sqlite3_close(mem);
	grps_free(g, ng);
	dl_replay_free(&cand);
	return r;
}
