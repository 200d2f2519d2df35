/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Policy files: parse, validate, compile (format: policy.h, docs/policy-format.md).
 *
 * Parsing is one pass over physical lines. A physical line is cut into tokens
 * (runs of non-blank bytes) that remember their own line and 1-based byte
 * column; a trailing '\' joins the next physical line into the same logical
 * line, so a token never spans lines and every diagnostic can point at the
 * token it is about. A token starting with '#' ends the physical line (and a
 * '\' inside such a comment does not continue it).
 *
 * A logical line is a directive (policy, include) or a rule. Rules are
 * dispatched by family through dl_policy_families (see "Families" below).
 * Errors never stop the parse: each is
 * appended to the caller's dl_diags, the offending rule is dropped, and the
 * parse continues so that one run reports every problem. Rule ids are
 * registered even when the rest of their rule is bad, so a duplicate id is
 * still reported against the first definition.
 *
 * Includes are resolved against the including file's directory and globs
 * expanded in byte order (strcmp, not the locale). Loading is bounded (limits
 * in policy.h): only regular files are read, checked with fstat on the
 * descriptor that is read (opened O_NONBLOCK so a FIFO cannot block), each
 * file at most once per policy (by device and inode, which also catches
 * cycles, reported as such from the stack of files being parsed), a capped
 * number of files and bytes. Rule ids live in an open-addressing hash, so
 * the parse is linear in the number of rules, and reading rules stops at
 * DL_MAX_RULES.
 *
 * Identity. The policy text is every file's bytes, each after a line
 * "# drylock-file: NAME" where NAME is relative to the top file's directory
 * (text_name), and the sha256 is of all text_len bytes of it: the same policy
 * has the same hash however its path was typed, and a NUL byte, which would
 * make two texts look alike to C-string code, is an error.
 *
 * Families. A rule is dispatched by its family keyword to
 * dl_policy_families[] (policy-family.h), filled by expanding DL_FAMILIES:
 * each family's keys, canonical text, compile and decide live in
 * collector/policy-<stem>.c, and dl_policy_compile/decide loop over them.
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "addr.h"
#include "escape.h"
#include "names.h"
#include "policy-family.h"

#define LINE_TOKENS_MAX 64
#define CGROUP_PATH_MAX 4096

/* ------------------------------------------------------------------------ */
/* diagnostics */

static int diag_vadd(struct dl_diags *d, const char *file, unsigned line, unsigned col,
		     const char *fmt, va_list ap)
{
	struct dl_diag *v;
	char *msg = NULL, *f;

	if (vasprintf(&msg, fmt, ap) < 0)
		return -ENOMEM;
	f = strdup(file ? file : "?");
	v = realloc(d->v, (d->n + 1) * sizeof(*v));
	if (!f || !v) {
		free(msg);
		free(f);
		if (v)
			d->v = v;
		return -ENOMEM;
	}
	d->v = v;
	d->v[d->n++] = (struct dl_diag){ .file = f, .line = line, .col = col, .msg = msg };
	return 0;
}

void dl_diag_add(struct dl_diags *d, const char *file, unsigned line, unsigned col,
		     const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)diag_vadd(d, file, line, col, fmt, ap);
	va_end(ap);
}

void dl_diags_free(struct dl_diags *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].msg);
	}
	free(d->v);
	d->v = NULL;
	d->n = 0;
}

/* line 0: a problem with the file as a whole; col 0: column unknown. */
void dl_diags_print(const struct dl_diags *d, void *file)
{
	FILE *f = file;

	/* File names and messages quote policy text: escaped for the terminal
	 * (collector/escape.h), so a token cannot send control sequences. */
	for (size_t i = 0; d && i < d->n; i++) {
		const struct dl_diag *g = &d->v[i];
		const char *name = g->file ? g->file : "?", *msg = g->msg ? g->msg : "?";

		dl_term_str(f, name, strlen(name));
		if (g->line)
			fprintf(f, ":%u", g->line);
		if (g->line && g->col)
			fprintf(f, ":%u", g->col);
		fputs(": error: ", f);
		dl_term_str(f, msg, strlen(msg));
		fputc('\n', f);
	}
}

/* ------------------------------------------------------------------------ */
/* small helpers */


void dl_sb_add(struct dl_strbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *t;

		while (cap < b->len + n + 1)
			cap *= 2;
		t = realloc(b->s, cap);
		if (!t) {
			b->oom = true;
			return;
		}
		b->s = t;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void dl_sb_str(struct dl_strbuf *b, const char *s)
{
	dl_sb_add(b, s, strlen(s));
}

void dl_sb_printf(struct dl_strbuf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		b->oom = true;
		return;
	}
	dl_sb_add(b, tmp, (size_t)n);
}


static bool tok_is(const struct dl_tok *t, const char *s)
{
	return strlen(s) == t->len && memcmp(t->s, s, t->len) == 0;
}

/* Strict unsigned decimal: digits only, value <= max. */
bool dl_parse_udec(const char *s, size_t len, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;

	if (!len || len > 10)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}


/* ------------------------------------------------------------------------ */
/* parser state */

struct seen_id {
	char id[DL_RULE_ID_MAX + 1];
	char *file;
	unsigned line;
};

/* A file being parsed (the include stack) or already read (the once list). */
struct file_ref {
	dev_t dev;
	ino_t ino;
	char *path;              /* as opened (stack), or where it was included (once list) */
	unsigned line, col;      /* of that include; 0 for the top file */
};

struct pctx {
	struct dl_diags *diags;
	size_t nerr;
	int io_err;                 /* top file unreadable */
	struct dl_rule *rules;
	size_t n_rules, cap_rules;
	bool too_many_rules;
	struct seen_id *ids;
	size_t n_ids, cap_ids;
	__u32 *id_tab;              /* open addressing: index + 1 into ids, 0 empty */
	size_t id_tab_cap;          /* power of two, at least twice n_ids */
	struct file_ref stack[DL_POLICY_INCLUDE_DEPTH_MAX + 1]; /* files being parsed */
	int depth;
	struct file_ref files[DL_POLICY_FILES_MAX]; /* every file read, top first */
	size_t n_files;
	bool too_many_files;
	struct dl_strbuf text;
	bool string_top;            /* top file came from dl_policy_parse_string */
	bool stored;                /* stored text: includes are inline, never followed */
	char *top_dir;              /* realpath of the top file's directory (names in text) */
	char *name;
	char *name_file;
	unsigned name_line;
};

static void perr(struct pctx *c, const char *file, unsigned line, unsigned col, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static void perr(struct pctx *c, const char *file, unsigned line, unsigned col, const char *fmt, ...)
{
	va_list ap;

	c->nerr++;
	va_start(ap, fmt);
	(void)diag_vadd(c->diags, file, line, col, fmt, ap);
	va_end(ap);
}

#define TERR(c, file, t, ...) perr(c, file, (t)->line, (t)->col, __VA_ARGS__)

void dl_key_err(struct dl_key_ctx *k, const char *fmt, ...)
{
	va_list ap;

	k->c->nerr++;
	va_start(ap, fmt);
	(void)diag_vadd(k->c->diags, k->file, k->t->line, k->t->col, fmt, ap);
	va_end(ap);
}

int dl_key_cgroup(struct dl_key_ctx *k, char **out)
{
	const char *why = dl_cgroup_path_problem(k->val);

	if (why) {
		dl_key_err(k, "invalid cgroup '%s': %s", k->val, why);
		return -EINVAL;
	}
	free(*out);
	*out = strdup(k->val);
	return *out ? 0 : -ENOMEM;
}

/* ------------------------------------------------------------------------ */
/* family registry */

#define KEYS_MAX 16

#define DL_X_POLICY_DECL(n, v, s, stem) extern const struct dl_policy_family dl_policy_family_##stem;
DL_FAMILIES(DL_X_POLICY_DECL)
#define DL_X_POLICY_ROW(n, v, s, stem) [DL_FAMILY_##n] = &dl_policy_family_##stem,
const struct dl_policy_family *const dl_policy_families[DL_FAMILY_MAX] = { DL_FAMILIES(DL_X_POLICY_ROW) };

static const struct dl_policy_family *family_def(unsigned family)
{
	return family < DL_FAMILY_MAX ? dl_policy_families[family] : NULL;
}

static void rule_free(struct dl_rule *r)
{
	const struct dl_policy_family *f = family_def(r->family);

	if (f && f->free)
		f->free(r);
	free(r->file);
	free(r->text);
}

/* ------------------------------------------------------------------------ */
/* directives and rules */

static bool valid_id(const struct dl_tok *t)
{
	if (t->len < 1 || t->len > DL_RULE_ID_MAX)
		return false;
	for (size_t i = 0; i < t->len; i++) {
		char ch = t->s[i];
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
			  (i > 0 && (ch == '.' || ch == '_' || ch == '-'));

		if (!ok)
			return false;
	}
	return true;
}

static size_t id_hash(const char *s, size_t n)
{
	__u64 h = 0xcbf29ce484222325ull; /* FNV-1a */

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ull;
	}
	return (size_t)(h ^ (h >> 32));
}

/* Slot of id (s, n) in c->id_tab: where it is, or the empty slot where it
 * would go. The table is never full (load at most 1/2). */
static size_t id_slot(const struct pctx *c, const char *s, size_t n)
{
	size_t mask = c->id_tab_cap - 1, i = id_hash(s, n) & mask;

	while (c->id_tab[i]) {
		const char *id = c->ids[c->id_tab[i] - 1].id;

		if (strlen(id) == n && !memcmp(id, s, n))
			break;
		i = (i + 1) & mask;
	}
	return i;
}

/* Double the id table; 0 or -ENOMEM (the old table stays usable). */
static int id_tab_grow(struct pctx *c)
{
	size_t cap = c->id_tab_cap ? c->id_tab_cap * 2 : 128;
	__u32 *old = c->id_tab;
	size_t old_cap = c->id_tab_cap;

	c->id_tab = calloc(cap, sizeof(*c->id_tab));
	if (!c->id_tab) {
		c->id_tab = old;
		return -ENOMEM;
	}
	c->id_tab_cap = cap;
	for (size_t i = 0; i < old_cap; i++) {
		if (old[i]) {
			const char *id = c->ids[old[i] - 1].id;

			c->id_tab[id_slot(c, id, strlen(id))] = old[i];
		}
	}
	free(old);
	return 0;
}

/* Registers the id; false (and reported) if it was seen before. Expected
 * constant time (a hash of the ids), so parsing stays linear in the number
 * of rules. */
static bool register_id(struct pctx *c, const char *file, const struct dl_tok *t)
{
	struct seen_id *e;
	size_t slot;

	if (c->id_tab_cap) {
		slot = id_slot(c, t->s, t->len);
		if (c->id_tab[slot]) {
			e = &c->ids[c->id_tab[slot] - 1];
			TERR(c, file, t, "duplicate rule id '%s' (first defined at %s:%u)", e->id, e->file,
			     e->line);
			return false;
		}
	}
	if ((c->n_ids + 1) * 2 > c->id_tab_cap && id_tab_grow(c) < 0)
		goto oom;
	if (c->n_ids == c->cap_ids) {
		size_t cap = c->cap_ids ? c->cap_ids * 2 : 64;
		struct seen_id *v = realloc(c->ids, cap * sizeof(*v));

		if (!v)
			goto oom;
		c->ids = v;
		c->cap_ids = cap;
	}
	e = &c->ids[c->n_ids];
	memcpy(e->id, t->s, t->len);
	e->id[t->len] = '\0';
	e->file = strdup(file);
	e->line = t->line;
	if (!e->file)
		goto oom;
	c->id_tab[id_slot(c, t->s, t->len)] = (__u32)++c->n_ids;
	return true;
oom:
	TERR(c, file, t, "out of memory");
	return false;
}

/* The key every family takes: mode=enforce|permissive, the rule's own mode
 * (DL_RULE_MODES), which overrides its family's in the kernel and at
 * runtime can be switched with `drylock mode --rule ID`. *seen is the
 * column of an earlier mode= in the rule (0: none). 0 or -EINVAL (reported
 * at the token). */
static int parse_mode_key(struct pctx *c, const char *file, const struct dl_tok *t, unsigned *seen,
			  struct dl_rule *r)
{
	const char *v = t->s + 5;
	size_t vlen = t->len - 5;
	char val[16];
	int m = -1;

	if (*seen) {
		TERR(c, file, t, "duplicate key 'mode' (first at column %u)", *seen);
		return -EINVAL;
	}
	*seen = t->col;
	if (dl_tok_copy(val, sizeof(val), v, vlen))
		m = dl_rule_mode_by_name(val);
	if (m != DL_RULE_MODE_ENFORCE && m != DL_RULE_MODE_PERMISSIVE) {
		TERR(c, file, t, "invalid mode '%.*s' (expected enforce or permissive)", (int)(vlen > 64 ? 64 : vlen), v);
		return -EINVAL;
	}
	r->mode = (__u8)m;
	return 0;
}

static void parse_rule(struct pctx *c, const char *file, const struct dl_tok *tv, size_t nt, int family)
{
	const struct dl_policy_family *f = family_def((unsigned)family);
	const struct dl_tok *end = &tv[nt - 1];
	unsigned end_col = end->col + (unsigned)end->len;
	unsigned seen_col[KEYS_MAX] = { 0 };
	struct dl_rule r;
	struct dl_strbuf b = { 0 };
	char val[CGROUP_PATH_MAX + 1];
	unsigned mode_col = 0;
	bool ok = true;
	int action;

	if (!f) {
		TERR(c, file, &tv[0], "family '%.*s' is not supported by this build",
		     (int)tv[0].len, tv[0].s);
		return;
	}
	/* The limit ends the reading of rules: one error, and the rest is not
	 * looked at (nor its ids registered). */
	if (c->n_rules >= DL_MAX_RULES) {
		if (!c->too_many_rules)
			TERR(c, file, &tv[0], "too many rules (at most %d in one policy); the rules from here on are not read",
			     DL_MAX_RULES);
		c->too_many_rules = true;
		return;
	}
	memset(&r, 0, sizeof(r));
	r.family = (__u16)family;
	f->init(&r);

	if (nt < 2) {
		perr(c, file, end->line, end_col, "expected 'allow' or 'deny' after '%.*s'",
		     (int)tv[0].len, tv[0].s);
		goto out;
	}
	if (!dl_tok_copy(val, sizeof(val), tv[1].s, tv[1].len) || (action = dl_action_by_name(val)) < 0) {
		TERR(c, file, &tv[1], "invalid action '%.*s' (expected allow or deny)",
		     (int)tv[1].len, tv[1].s);
		ok = false;
	} else {
		r.action = (__u8)action;
	}
	if (nt < 3) {
		perr(c, file, end->line, end_col, "expected a rule id after '%.*s'",
		     (int)tv[1].len, tv[1].s);
		goto out;
	}
	if (!valid_id(&tv[2])) {
		TERR(c, file, &tv[2], "invalid rule id '%.*s' (expected [a-z0-9][a-z0-9._-]{0,31})",
		     (int)tv[2].len, tv[2].s);
		ok = false;
	} else {
		if (!register_id(c, file, &tv[2]))
			ok = false;
		memcpy(r.id, tv[2].s, tv[2].len);
		r.id[tv[2].len] = '\0';
	}

	for (size_t i = 3; i < nt; i++) {
		const struct dl_tok *t = &tv[i];
		const char *eq = memchr(t->s, '=', t->len);
		size_t klen = eq ? (size_t)(eq - t->s) : 0, j;
		struct dl_key_ctx k;

		if (!eq || !klen) {
			TERR(c, file, t, "expected key=value, got '%.*s'", (int)t->len, t->s);
			ok = false;
			continue;
		}
		if (klen == 4 && !memcmp(t->s, "mode", 4)) {
			if (parse_mode_key(c, file, t, &mode_col, &r) < 0)
				ok = false;
			continue;
		}
		for (j = 0; j < f->n_keys; j++)
			if (strlen(f->keys[j].name) == klen && !memcmp(f->keys[j].name, t->s, klen))
				break;
		if (j == f->n_keys && !f->n_keys) {
			TERR(c, file, t, "a %s rule has no keys, got '%.*s'", dl_family_name((unsigned)family),
			     (int)klen, t->s);
			ok = false;
			continue;
		}
		if (j == f->n_keys) {
			struct dl_strbuf names = { 0 };

			for (size_t q = 0; q < f->n_keys; q++) {
				dl_sb_str(&names, q ? ", " : "");
				dl_sb_str(&names, f->keys[q].name);
			}
			TERR(c, file, t, "unknown key '%.*s' for a %s rule (expected %s, mode)", (int)klen,
			     t->s, dl_family_name((unsigned)family), names.s ? names.s : "?");
			free(names.s);
			ok = false;
			continue;
		}
		if (seen_col[j]) {
			TERR(c, file, t, "duplicate key '%s' (first at column %u)", f->keys[j].name,
			     seen_col[j]);
			ok = false;
			continue;
		}
		seen_col[j] = t->col;
		k = (struct dl_key_ctx){ .c = c, .file = file, .t = t, .val = val,
				       .vlen = t->len - klen - 1, .r = &r };
		if (!dl_tok_copy(val, sizeof(val), eq + 1, k.vlen)) {
			TERR(c, file, t, "value of '%s' is too long", f->keys[j].name);
			ok = false;
			continue;
		}
		if (f->keys[j].parse(&k) < 0)
			ok = false;
	}
	for (size_t j = 0; j < f->n_keys; j++) {
		if (f->keys[j].required && !seen_col[j]) {
			TERR(c, file, &tv[0], "%s rule '%s' is missing the required key %s=",
			     dl_family_name((unsigned)family), r.id[0] ? r.id : "?", f->keys[j].name);
			ok = false;
		}
	}
	if (!ok)
		goto out;

	dl_sb_printf(&b, "%s %s %s", dl_family_name((unsigned)family), dl_action_name(r.action), r.id);
	f->canon(&r, &b);
	if (r.mode != DL_RULE_MODE_FAMILY)
		dl_sb_printf(&b, " mode=%s", dl_rule_mode_name(r.mode));
	r.file = strdup(file);
	r.line = tv[0].line;
	if (b.oom || !r.file || !b.s)
		goto oom;
	r.text = b.s;
	b.s = NULL;
	if (c->n_rules == c->cap_rules) {
		size_t cap = c->cap_rules ? c->cap_rules * 2 : 32;
		struct dl_rule *v = realloc(c->rules, cap * sizeof(*v));

		if (!v)
			goto oom;
		c->rules = v;
		c->cap_rules = cap;
	}
	c->rules[c->n_rules++] = r;
	return;
oom:
	TERR(c, file, &tv[0], "out of memory");
out:
	free(b.s);
	rule_free(&r);
}

static void parse_file(struct pctx *c, const char *path, const struct dl_tok *from, const char *from_file);

static bool has_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void do_include(struct pctx *c, const char *file, const struct dl_tok *tv, size_t nt)
{
	const struct dl_tok *arg = &tv[1];
	char rel[PATH_MAX], *dir = NULL, *slash;
	struct dl_strbuf path = { 0 };

	if (nt != 2) {
		if (nt < 2)
			perr(c, file, tv[0].line, tv[0].col + (unsigned)tv[0].len,
			     "expected a path after 'include'");
		else
			TERR(c, file, &tv[2], "unexpected '%.*s' after include path",
			     (int)tv[2].len, tv[2].s);
		return;
	}
	if (c->depth >= DL_POLICY_INCLUDE_DEPTH_MAX) {
		TERR(c, file, arg, "includes nested more than %d deep", DL_POLICY_INCLUDE_DEPTH_MAX);
		return;
	}
	if (!dl_tok_copy(rel, sizeof(rel), arg->s, arg->len)) {
		TERR(c, file, arg, "include path too long");
		return;
	}

	/* Relative to the including file's directory (escaped: it is part of
	 * what glob() will read as a pattern). */
	if (rel[0] != '/' && !(c->string_top && c->depth == 1)) {
		dir = strdup(file);
		if (!dir)
			return;
		slash = strrchr(dir, '/');
		if (slash) {
			slash[1] = '\0';
			for (const char *p = dir; *p; p++) {
				if (strchr("*?[\\", *p) && has_glob(rel))
					dl_sb_add(&path, "\\", 1);
				dl_sb_add(&path, p, 1);
			}
		}
		free(dir);
	}
	dl_sb_str(&path, rel);
	if (path.oom) {
		free(path.s);
		return;
	}

	if (!has_glob(rel)) {
		parse_file(c, path.s, arg, file);
	} else {
		glob_t g;
		int rc = glob(path.s, GLOB_NOSORT, NULL, &g);

		if (rc == 0) {
			qsort(g.gl_pathv, g.gl_pathc, sizeof(char *), cmp_str);
			for (size_t i = 0; i < g.gl_pathc; i++)
				parse_file(c, g.gl_pathv[i], arg, file);
			globfree(&g);
		} else if (rc != GLOB_NOMATCH) {
			TERR(c, file, arg, "cannot expand include '%s'", rel);
		}
	}
	free(path.s);
}

static void do_policy(struct pctx *c, const char *file, const struct dl_tok *tv, size_t nt)
{
	if (nt != 2) {
		if (nt < 2)
			perr(c, file, tv[0].line, tv[0].col + (unsigned)tv[0].len,
			     "expected a name after 'policy'");
		else
			TERR(c, file, &tv[2], "unexpected '%.*s' after policy name",
			     (int)tv[2].len, tv[2].s);
		return;
	}
	if (c->depth > 1) {
		TERR(c, file, &tv[0], "'policy' is only allowed in the top file");
		return;
	}
	if (c->name) {
		TERR(c, file, &tv[0], "duplicate 'policy' directive (first at %s:%u)", c->name_file,
		     c->name_line);
		return;
	}
	if (tv[1].len > DL_POLICY_NAME_MAX) {
		TERR(c, file, &tv[1], "policy name longer than %d bytes", DL_POLICY_NAME_MAX);
		return;
	}
	c->name = strndup(tv[1].s, tv[1].len);
	c->name_file = strdup(file);
	c->name_line = tv[0].line;
}

static void parse_line(struct pctx *c, const char *file, const struct dl_tok *tv, size_t nt)
{
	char kw[32];
	int fam;

	if (tok_is(&tv[0], "policy")) {
		do_policy(c, file, tv, nt);
		return;
	}
	if (tok_is(&tv[0], "include")) {
		/* In stored text the included files' text follows inline, so an
		 * include line is only a record of what was included: the parser
		 * skips it, however it is spelled (it is one token here, after
		 * continuation lines, CRs and tabs were taken apart). */
		if (!c->stored)
			do_include(c, file, tv, nt);
		return;
	}
	if (dl_tok_copy(kw, sizeof(kw), tv[0].s, tv[0].len) && (fam = dl_family_by_name(kw)) > 0) {
		parse_rule(c, file, tv, nt, fam);
		return;
	}
	struct dl_strbuf fams = { 0 };

	for (unsigned f = 1; f < DL_FAMILY_MAX; f++) {
		if (!dl_policy_families[f])
			continue;
		dl_sb_str(&fams, fams.s ? ", " : "");
		dl_sb_str(&fams, dl_family_name(f));
	}
	TERR(c, file, &tv[0], "unknown directive '%.*s' (expected policy, include or a family: %s)",
	     (int)tv[0].len, tv[0].s, fams.s ? fams.s : "?");
	free(fams.s);
}

/* Tokenize buf into logical lines and parse each. */
static void parse_buf(struct pctx *c, const char *file, const char *buf, size_t len)
{
	struct dl_tok tv[LINE_TOKENS_MAX];
	size_t nt = 0;
	bool overflow = false;
	unsigned line = 0;
	const char *p = buf, *end = buf + len;
	const char *nul = memchr(buf, '\0', len);

	/* The hash covers every byte, and a NUL would let two texts that
	 * differ only after it look alike to anything reading C strings: no
	 * policy contains one. Reported once per file, where it is. */
	if (nul) {
		const char *bol = buf;

		line = 1;
		for (const char *q = buf; q < nul; q++)
			if (*q == '\n') {
				line++;
				bol = q + 1;
			}
		perr(c, file, line, (unsigned)(nul - bol) + 1,
		     "NUL byte in policy text (a policy file is text; NUL bytes are not allowed)");
		line = 0;
	}
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *le, *q;
		bool cont = false;

		line++;
		if (!eol)
			eol = end;
		le = eol;
		if (le > p && le[-1] == '\r')
			le--;
		if (le > p && le[-1] == '\\') {
			cont = true;
			le--;
		}
		for (q = p; q < le;) {
			const char *s;

			if (*q == ' ' || *q == '\t' || *q == '\0' || *q == '\r') {
				q++;
				continue;
			}
			if (*q == '#') {
				cont = false;
				break;
			}
			s = q;
			while (q < le && *q != ' ' && *q != '\t' && *q != '\0' && *q != '\r')
				q++;
			if (nt == LINE_TOKENS_MAX) {
				if (!overflow)
					perr(c, file, line, (unsigned)(s - p) + 1,
					     "too many tokens on one line (at most %d)", LINE_TOKENS_MAX);
				overflow = true;
				continue;
			}
			tv[nt++] = (struct dl_tok){ .s = s, .len = (size_t)(q - s), .line = line,
						 .col = (unsigned)(s - p) + 1 };
		}
		p = eol < end ? eol + 1 : end;
		if (cont && p < end)
			continue;
		if (nt && !overflow)
			parse_line(c, file, tv, nt);
		nt = 0;
		overflow = false;
	}
}

static const char *file_type(mode_t m)
{
	return S_ISDIR(m) ? "a directory" : S_ISFIFO(m) ? "a FIFO" : S_ISCHR(m) ? "a character device"
	       : S_ISBLK(m) ? "a block device" : S_ISSOCK(m) ? "a socket" : "not a plain file";
}

/* Open path for reading if it is a regular file. Returns an fd, -errno, or
 * -EFTYPE-like 'not regular' as -ENOTSUP with *st describing what it is.
 *
 * The fstat of the opened descriptor decides: what is read is what was
 * checked, whatever happens to the name meanwhile. O_NONBLOCK keeps open()
 * itself from waiting for a FIFO's writer (or a device), O_NOCTTY from
 * acquiring a terminal. The stat() before it only spares devices and FIFOs
 * the open (opening some devices has effects: a watchdog arms, a tape
 * rewinds); it proves nothing by itself. */
static int open_regular(const char *path, struct stat *st)
{
	int fd;

	if (stat(path, st) < 0)
		return -errno;
	if (!S_ISREG(st->st_mode))
		return -ENOTSUP;
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, st) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	if (!S_ISREG(st->st_mode)) {
		close(fd);
		return -ENOTSUP;
	}
	return fd;
}

/* Read a regular file's fd to its end, at most max bytes: -EFBIG past that
 * (the file may have grown since fstat), -ENOMEM if memory runs out. On
 * success *out is malloc'd and NUL-terminated (for the caller's
 * convenience; the length is what counts). */
static int read_fd(int fd, size_t max, char **out, size_t *len)
{
	size_t cap = 16384, n = 0;
	char *buf = malloc(cap + 1);

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t r;

		if (n == cap) {
			char *t;

			if (cap > max) {
				free(buf);
				return -EFBIG;
			}
			cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			t = realloc(buf, cap + 1);
			if (!t) {
				free(buf);
				return -ENOMEM;
			}
			buf = t;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int err = -errno;

			free(buf);
			return err;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max) {
			free(buf);
			return -EFBIG;
		}
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

/* Append "# drylock-file: NAME\n" and the file's text to the policy text.
 * The name is escaped (a control byte as \xNN, '\' as \\) so that a file
 * name cannot end the comment line and put text of its own in the stored
 * policy. False if the text would pass DL_POLICY_TEXT_MAX or memory ran out. */
static bool append_text(struct pctx *c, const char *name, const char *buf, size_t len)
{
	struct dl_strbuf h = { 0 };
	bool nl = len && buf[len - 1] != '\n';

	dl_sb_str(&h, "# drylock-file: ");
	for (const unsigned char *q = (const unsigned char *)name; *q; q++) {
		if (*q < 0x20 || *q == 0x7f)
			dl_sb_printf(&h, "\\x%02x", *q);
		else if (*q == '\\')
			dl_sb_str(&h, "\\\\");
		else
			dl_sb_add(&h, (const char *)q, 1);
	}
	dl_sb_str(&h, "\n");
	if (h.oom || c->text.len + h.len + len + nl > DL_POLICY_TEXT_MAX) {
		free(h.s);
		return false;
	}
	dl_sb_add(&c->text, h.s, h.len);
	dl_sb_add(&c->text, buf, len);
	if (nl)
		dl_sb_str(&c->text, "\n");
	free(h.s);
	return true;
}

/* The name a file has in the policy text: relative to the top file's
 * directory when it lies below it, else absolute; the directory resolved
 * (realpath) and the last component as written, so the name, and with it
 * the sha256, does not depend on how a path was typed ("a.policy",
 * "./a.policy", "/etc/drylock/a.policy") nor on where the tree lies.
 * malloc'd; NULL when out of memory. */
static char *text_name(const struct pctx *c, const char *path)
{
	const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path, *rel;
	char *dir, *rd, *out = NULL;
	size_t n;

	dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
	if (!dir)
		return NULL;
	rd = realpath(dir, NULL);
	free(dir);
	if (!rd || !c->top_dir) {
		free(rd);
		return strdup(path);
	}
	n = strlen(c->top_dir);
	if (!strcmp(rd, c->top_dir))
		rel = "";                         /* in the top file's directory */
	else if (n == 1)
		rel = rd + 1;                     /* top dir is "/" */
	else if (!strncmp(rd, c->top_dir, n) && rd[n] == '/')
		rel = rd + n + 1;                 /* below it */
	else
		rel = rd;                         /* elsewhere: absolute */
	if (asprintf(&out, "%s%s%s", rel, *rel && strcmp(rel, "/") ? "/" : "", base) < 0)
		out = NULL;
	free(rd);
	return out;
}

/* Report a problem with a file: at the include statement that named it, or
 * (top file) against the file itself, remembering err as the parse result. */
static void file_err(struct pctx *c, const char *path, const struct dl_tok *from, const char *from_file,
		     int err, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void file_err(struct pctx *c, const char *path, const struct dl_tok *from, const char *from_file,
		     int err, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (from) {
		TERR(c, from_file, from, "cannot include '%s': %s", path, msg ? msg : "?");
	} else {
		perr(c, path, 0, 0, "%s", msg ? msg : "?");
		c->io_err = err;
	}
	free(msg);
}

/* Parse one file; 'from' is the include token that named it (NULL: top).
 * Bounded: only regular files, each at most once per policy (identified by
 * device and inode, so another name or a hard link is the same file), at
 * most DL_POLICY_FILES_MAX of them, DL_POLICY_FILE_MAX bytes each and
 * DL_POLICY_TEXT_MAX in all. */
static void parse_file(struct pctx *c, const char *path, const struct dl_tok *from, const char *from_file)
{
	struct file_ref *f;
	char *buf = NULL, *name = NULL;
	size_t len = 0;
	struct stat st;
	int fd, r;

	if (c->n_files >= DL_POLICY_FILES_MAX) {
		if (!c->too_many_files)
			TERR(c, from_file, from, "too many policy files (at most %d in one policy, the top file included)",
			     DL_POLICY_FILES_MAX);
		c->too_many_files = true;
		return;
	}
	fd = open_regular(path, &st);
	if (fd == -ENOTSUP) {
		file_err(c, path, from, from_file, S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL,
			 "not a regular file (%s); a policy file must be a regular file", file_type(st.st_mode));
		return;
	}
	if (fd < 0) {
		if (from)
			TERR(c, from_file, from, "cannot read include '%s': %s", path, strerror(-fd));
		else
			file_err(c, path, NULL, NULL, fd, "cannot read: %s", strerror(-fd));
		return;
	}
	for (int i = 0; i < c->depth; i++) {
		if (c->stack[i].dev == st.st_dev && c->stack[i].ino == st.st_ino) {
			struct dl_strbuf chain = { 0 };

			for (int j = i; j < c->depth; j++) {
				dl_sb_str(&chain, c->stack[j].path);
				dl_sb_str(&chain, " -> ");
			}
			dl_sb_str(&chain, path);
			TERR(c, from_file, from, "include cycle: %s", chain.s ? chain.s : "?");
			free(chain.s);
			goto out;
		}
	}
	/* (The top file is on the stack for the whole parse: a cycle above.) */
	for (size_t i = 1; i < c->n_files; i++) {
		f = &c->files[i];
		if (f->dev == st.st_dev && f->ino == st.st_ino) {
			TERR(c, from_file, from, "'%s' is already included (at %s:%u:%u); a file is included at most once per policy",
			     path, f->path, f->line, f->col);
			goto out;
		}
	}
	if (st.st_size > (off_t)DL_POLICY_FILE_MAX)
		r = -EFBIG;
	else
		r = read_fd(fd, DL_POLICY_FILE_MAX, &buf, &len);
	if (r == -EFBIG) {
		file_err(c, path, from, from_file, r, "larger than %u bytes, the limit for one policy file",
			 DL_POLICY_FILE_MAX);
		goto out;
	}
	if (r < 0) {
		file_err(c, path, from, from_file, r, "cannot read: %s", strerror(-r));
		goto out;
	}
	f = &c->files[c->n_files];
	*f = (struct file_ref){ .dev = st.st_dev, .ino = st.st_ino,
				.path = strdup(from ? from_file : path),
				.line = from ? from->line : 0, .col = from ? from->col : 0 };
	if (!f->path) {
		file_err(c, path, from, from_file, -ENOMEM, "out of memory");
		goto out;
	}
	c->n_files++;
	name = text_name(c, path);
	if (!name) {
		file_err(c, path, from, from_file, -ENOMEM, "out of memory");
		goto out;
	}
	if (!append_text(c, name, buf, len)) {
		file_err(c, path, from, from_file, -EFBIG, "more than %u bytes of policy text in all (the limit)",
			 DL_POLICY_TEXT_MAX);
		goto out;
	}
	c->stack[c->depth++] = (struct file_ref){ .dev = st.st_dev, .ino = st.st_ino, .path = (char *)path };
	parse_buf(c, path, buf, len);
	c->depth--;
out:
	close(fd);
	free(buf);
	free(name);
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/* Shared tail of the two entry points. */
static int finish(struct pctx *c, const char *top, struct dl_policy **out)
{
	struct dl_policy *p = NULL;
	int ret;

	if (c->text.oom)
		perr(c, top, 0, 0, "out of memory");
	if (c->nerr) {
		ret = c->io_err ? c->io_err : -EINVAL;
		goto fail;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		ret = -ENOMEM;
		goto fail;
	}
	p->name = c->name ? c->name : strdup(base_name(top));
	c->name = NULL;
	p->rules = c->rules;
	p->n_rules = c->n_rules;
	c->rules = NULL;
	c->n_rules = 0;
	p->text = c->text.s ? c->text.s : strdup("");
	p->text_len = c->text.len;
	c->text.s = NULL;
	if (!p->name || !p->text) {
		dl_policy_free(p);
		p = NULL;
		ret = -ENOMEM;
		goto fail;
	}
	dl_sha256_hex(p->text, p->text_len, p->sha256);
	for (size_t i = 0; i < p->n_rules; i++)
		p->families |= 1u << p->rules[i].family;
	ret = 0;
fail:
	for (size_t i = 0; i < c->n_rules; i++)
		rule_free(&c->rules[i]);
	free(c->rules);
	for (size_t i = 0; i < c->n_ids; i++)
		free(c->ids[i].file);
	free(c->ids);
	free(c->id_tab);
	free(c->top_dir);
	for (size_t i = 0; i < c->n_files; i++)
		free(c->files[i].path);
	free(c->text.s);
	free(c->name);
	free(c->name_file);
	*out = p;
	return ret;
}

int dl_policy_parse_file(const char *path, struct dl_policy **out, struct dl_diags *diags)
{
	struct pctx c = { .diags = diags };
	const char *slash = strrchr(path, '/');
	char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");

	*out = NULL;
	/* NULL when the directory does not resolve: the file will not open
	 * either, or text_name() falls back to the path as given. */
	c.top_dir = dir ? realpath(dir, NULL) : NULL;
	free(dir);
	parse_file(&c, path, NULL, NULL);
	return finish(&c, path, out);
}

int dl_policy_parse_string(const char *name, const char *text, struct dl_policy **out,
			   struct dl_diags *diags)
{
	struct pctx c = { .diags = diags };
	size_t len = strlen(text);

	*out = NULL;
	/* The in-memory text is the top "file": bounded like one, it has no
	 * inode to detect a cycle with (0 matches no file), and its includes
	 * are relative to the current directory. */
	if (len > DL_POLICY_FILE_MAX)
		perr(&c, name, 0, 0, "larger than %u bytes, the limit for one policy file", DL_POLICY_FILE_MAX);
	else if (!append_text(&c, name, text, len))
		perr(&c, name, 0, 0, "out of memory");
	if (c.nerr)
		return finish(&c, name, out);
	c.string_top = true;
	c.top_dir = realpath(".", NULL);
	c.stack[c.depth++] = (struct file_ref){ .path = (char *)name };
	parse_buf(&c, name, text, len);
	c.depth--;
	return finish(&c, name, out);
}

int dl_policy_parse_stored(const char *name, const char *text, size_t len, struct dl_policy **out,
			   struct dl_diags *diags)
{
	struct pctx c = { .diags = diags, .stored = true };

	*out = NULL;
	if (len > DL_POLICY_TEXT_MAX) {
		perr(&c, name, 0, 0, "larger than %u bytes, the limit for the policy text in all",
		     DL_POLICY_TEXT_MAX);
		return finish(&c, name, out);
	}
	/* Kept as is (no header of its own): same bytes, same sha256. */
	dl_sb_add(&c.text, text, len);
	c.stack[c.depth++] = (struct file_ref){ .path = (char *)name };
	parse_buf(&c, name, text, len);
	c.depth--;
	return finish(&c, name, out);
}

void dl_policy_free(struct dl_policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_rules; i++)
		rule_free(&p->rules[i]);
	free(p->rules);
	free(p->name);
	free(p->text);
	free(p);
}

/* ------------------------------------------------------------------------ */
/* cgroups */

int dl_cgroup_resolve_fs(const char *path, __u64 *id, __u8 *level, void *ctx)
{
	const char *root = ctx ? ctx : DL_CGROUP_ROOT_DEFAULT;
	char full[PATH_MAX];
	struct stat st;
	int n = dl_cgroup_path_level(path);

	if (n < 0)
		return -EINVAL;
	if (snprintf(full, sizeof(full), "%s%s", root, strcmp(path, "/") ? path : "") >= (int)sizeof(full))
		return -ENAMETOOLONG;
	/* On cgroup2 (64-bit) the cgroup id is the kernfs node id, which is the
	 * directory's inode number: what bpf_get_current_cgroup_id() returns. */
	if (stat(full, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (n > 255)
		return -ELOOP;
	*id = st.st_ino;
	*level = (__u8)n;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* compile and decide, through the registry */

int dl_policy_compile(const struct dl_policy *p, dl_cgroup_resolver res, void *res_ctx,
		      struct dl_compiled *out, struct dl_diags *diags)
{
	int err = 0;

	*out = (struct dl_compiled){ 0 };
	for (unsigned f = 1; f < DL_FAMILY_MAX; f++) {
		const struct dl_policy_family *pf = dl_policy_families[f];
		int e;

		if (!pf || !(p->families & (1u << f)))
			continue;
		e = pf->compile(p, res, res_ctx, &out->fam[f], diags);
		if (e && !err)
			err = e;
	}
	if (err)
		dl_compiled_free(out);
	return err;
}

void dl_compiled_free(struct dl_compiled *c)
{
	for (unsigned f = 1; f < DL_FAMILY_MAX; f++) {
		if (c->fam[f] && dl_policy_families[f])
			dl_policy_families[f]->free_compiled(c->fam[f]);
		c->fam[f] = NULL;
	}
}

__u32 dl_policy_decide(const struct dl_compiled *c, unsigned hook, const void *payload,
		       const __u64 *ancestors, size_t n_anc, __u8 *action)
{
	unsigned f = dl_hook_family(hook);

	if (action)
		*action = DL_ACTION_ALLOW;
	if (!f || f >= DL_FAMILY_MAX || !c->fam[f] || !dl_policy_families[f])
		return DL_RULE_NONE;
	return dl_policy_families[f]->decide(c->fam[f], hook, payload, ancestors, n_anc, action);
}

__u8 dl_policy_rule_verdict(const struct dl_policy *p, __u32 rule_idx, __u8 action)
{
	if (action != DL_ACTION_DENY)
		return DL_VERDICT_ALLOW;
	if (p && rule_idx < p->n_rules && p->rules[rule_idx].mode == DL_RULE_MODE_ENFORCE)
		return DL_VERDICT_DENY;
	return DL_VERDICT_WOULD_DENY;
}
