/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: policy text -> dl_policy_parse_string -> dl_net_compile
 * -> dl_net_decide, checked against a model; and the same bytes as stored
 * policy text -> dl_policy_parse_stored.
 *
 * Checks beyond "no crash, no leak, no undefined behaviour":
 *   - a policy that parses has at most DL_MAX_RULES rules, each with an id
 *     and a canonical text, and no diagnostics; one that fails has some;
 *   - re-parsing the rules' canonical texts gives the same rules (same texts
 *     and ids, in the same order);
 *   - when it compiles, dl_net_decide (the kernel's procedure in user space)
 *     picks, for a set of probe connections derived from the rules, exactly
 *     the rule the written semantics (policy.h: most specific wins, deny on a
 *     full tie) picks when every rule is tried one by one (cgroups resolved
 *     by a fake resolver, id = hash of the normalised path);
 *   - the same input as stored text (dl_policy_parse_stored, what replay
 *     uses) opens no file, refuses NUL bytes, and when it parses keeps the
 *     text byte for byte with its sha256; and a policy's own stored text
 *     parses back to the same rules (ids and texts; the order may differ)
 *     and sha256.
 *
 * Includes: a temporary directory holds two small policy files (a.policy,
 * d/b.policy) and is the working directory while the text is parsed (a
 * string's includes are relative to it), so relative includes and globs do
 * real work; the process is back in its own directory otherwise, so relative
 * paths on the command line work. (A crash in the parser with a relative
 * -artifact_prefix leaves the reproducer in that directory: run.sh gives an
 * absolute one.) Every open, fopen and glob the parser makes while parsing is
 * confined to that directory (linked with -Wl,--wrap): anything else reads as
 * missing, so the fuzzer never reads the host's files (`include /dev/...`,
 * FIFOs, huge files: bounded loading has unit tests of its own).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <glob.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collector/policy.h"

static char sandbox[PATH_MAX];
static size_t sandbox_len;
static int sandbox_fd = -1, cwd_fd = -1;
static bool confined, stored;

/* dl_policy_parse_stored must not open anything */
static void no_files(const char *what, const char *path)
{
	if (stored) {
		fprintf(stderr, "fuzz-policy: parse_stored called %s(\"%s\")\n", what, path);
		abort();
	}
}

/* Inside the sandbox: an existing path whose real path is under it, or a
 * relative path without "..". */
static bool allowed(const char *path)
{
	char real[PATH_MAX];

	if (!confined)
		return true;
	if (realpath(path, real))
		return !strncmp(real, sandbox, sandbox_len) && real[sandbox_len] == '/';
	return path[0] != '/' && !strstr(path, "..");
}

/* The parser is built with _FILE_OFFSET_BITS=64, so its calls may name the
 * *64 variants: wrap both. Only opens for reading are policed: the parser
 * never writes, and libFuzzer (linked statically, so wrapped too) writes its
 * reproducer with fopen from the crash handler, maybe mid-parse. */
#define WRAP_FOPEN(f)								\
	FILE *__real_##f(const char *path, const char *mode);			\
	FILE *__wrap_##f(const char *path, const char *mode);			\
	FILE *__wrap_##f(const char *path, const char *mode)			\
	{									\
		if (mode[0] != 'r') /* libFuzzer writing a reproducer */	\
			return __real_##f(path, mode);				\
		no_files(#f, path);						\
		if (!allowed(path)) {						\
			errno = ENOENT;						\
			return NULL;						\
		}								\
		return __real_##f(path, mode);					\
	}
#define WRAP_OPENAT(f)								\
	int __real_##f(int dirfd, const char *path, int flags, ...);		\
	int __wrap_##f(int dirfd, const char *path, int flags, ...);		\
	int __wrap_##f(int dirfd, const char *path, int flags, ...)		\
	{									\
		va_list ap;							\
		mode_t mode;							\
										\
		va_start(ap, flags);						\
		mode = (flags & (O_CREAT | O_TMPFILE)) ? va_arg(ap, mode_t) : 0; \
		va_end(ap);							\
		if ((flags & O_ACCMODE) != O_RDONLY)				\
			return __real_##f(dirfd, path, flags, mode);		\
		no_files(#f, path);						\
		if (confined && ((path[0] != '/' && dirfd != AT_FDCWD) || !allowed(path))) { \
			errno = ENOENT;						\
			return -1;						\
		}								\
		return __real_##f(dirfd, path, flags, mode);			\
	}
#define WRAP_OPEN(f)								\
	int __real_##f(const char *path, int flags, ...);			\
	int __wrap_##f(const char *path, int flags, ...);			\
	int __wrap_##f(const char *path, int flags, ...)			\
	{									\
		va_list ap;							\
		mode_t mode;							\
										\
		va_start(ap, flags);						\
		mode = (flags & (O_CREAT | O_TMPFILE)) ? va_arg(ap, mode_t) : 0; \
		va_end(ap);							\
		if ((flags & O_ACCMODE) != O_RDONLY)				\
			return __real_##f(path, flags, mode);			\
		no_files(#f, path);						\
		if (!allowed(path)) {						\
			errno = ENOENT;						\
			return -1;						\
		}								\
		return __real_##f(path, flags, mode);				\
	}
/* glob_t and glob64_t differ in name only here; the wrapper passes it on. */
#define WRAP_GLOB(f)								\
	int __real_##f(const char *pat, int flags, int (*errf)(const char *, int), void *g); \
	int __wrap_##f(const char *pat, int flags, int (*errf)(const char *, int), void *g); \
	int __wrap_##f(const char *pat, int flags, int (*errf)(const char *, int), void *g) \
	{									\
		no_files(#f, pat);						\
		if (confined && (pat[0] == '/' || strstr(pat, "..")))		\
			return GLOB_NOMATCH;					\
		return __real_##f(pat, flags, errf, g);				\
	}
WRAP_FOPEN(fopen)
WRAP_FOPEN(fopen64)
WRAP_OPEN(open)
WRAP_OPEN(open64)
WRAP_OPENAT(openat)
WRAP_OPENAT(openat64)
WRAP_GLOB(glob)
WRAP_GLOB(glob64)

/* len SIZE_MAX: a C string. */
static void write_file(const char *name, const void *data, size_t len)
{
	FILE *f = fopen(name, "wb");

	if (len == SIZE_MAX)
		len = strlen(data);
	if (!f || fwrite(data, 1, len, f) != len || fclose(f)) {
		perror(name);
		abort();
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");
	char tmpl[PATH_MAX];

	char path[PATH_MAX + 32];

	snprintf(tmpl, sizeof(tmpl), "%s/drylock-fuzz-policy.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(tmpl) || !realpath(tmpl, sandbox)) {
		perror("fuzz-policy: sandbox");
		abort();
	}
	sandbox_len = strlen(sandbox);
	snprintf(path, sizeof(path), "%s/d", sandbox);
	sandbox_fd = open(sandbox, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cwd_fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sandbox_fd < 0 || cwd_fd < 0 || mkdir(path, 0700)) {
		perror(path);
		abort();
	}
	snprintf(path, sizeof(path), "%s/a.policy", sandbox);
	write_file(path, "net deny inc-a addr=192.0.2.0/24 port=443 proto=tcp\n", SIZE_MAX);
	snprintf(path, sizeof(path), "%s/d/b.policy", sandbox);
	write_file(path, "net allow inc-b addr=2001:db8::/32 op=bind\n", SIZE_MAX);
	/* Left behind on exit (libFuzzer may leave through _exit): run.sh points
	 * TMPDIR at a scratch directory of its own. */
	return 0;
}

/* ---- fake cgroup resolver and the subject's ancestors ---- */

#define MAX_LEVEL 16

/* Components of a cgroup path, empty ones skipped; returns how many (at most max). */
static size_t split(const char *path, const char *comp[], size_t clen[], size_t max)
{
	size_t n = 0;

	for (const char *p = path; *p && n < max;) {
		size_t l;

		while (*p == '/')
			p++;
		l = strcspn(p, "/");
		if (l) {
			comp[n] = p;
			clen[n++] = l;
		}
		p += l;
	}
	return n;
}

static __u64 hash_comps(const char *comp[], const size_t clen[], size_t n)
{
	__u64 h = 14695981039346656037ull;

	for (size_t i = 0; i < n; i++) {
		h = (h ^ '/') * 1099511628211ull;
		for (size_t j = 0; j < clen[i]; j++)
			h = (h ^ (unsigned char)comp[i][j]) * 1099511628211ull;
	}
	return h ? h : 1;
}

static int fake_resolve(const char *path, __u64 *id, __u8 *level, void *ctx)
{
	const char *comp[MAX_LEVEL + 1];
	size_t clen[MAX_LEVEL + 1], n = split(path, comp, clen, MAX_LEVEL + 1);

	if (n > MAX_LEVEL)
		return -ENOENT;
	*id = hash_comps(comp, clen, n);
	*level = (__u8)n;
	return 0;
}

/* Is rule cgroup 'rule' the subject's cgroup or an ancestor of it? */
static bool cgroup_covers(const char *rule, const char *subject)
{
	const char *rc[MAX_LEVEL + 1], *sc[MAX_LEVEL + 1];
	size_t rl[MAX_LEVEL + 1], sl[MAX_LEVEL + 1];
	size_t nr = split(rule, rc, rl, MAX_LEVEL + 1), ns = split(subject, sc, sl, MAX_LEVEL + 1);

	if (nr > ns)
		return false;
	for (size_t i = 0; i < nr; i++)
		if (rl[i] != sl[i] || memcmp(rc[i], sc[i], rl[i]))
			return false;
	return true;
}

/* ---- the model: every rule tried one by one ---- */

static bool covers(const __u8 *pfx, unsigned plen, const __u8 *addr)
{
	unsigned whole = plen / 8, rest = plen % 8;

	if (memcmp(pfx, addr, whole))
		return false;
	return !rest || ((pfx[whole] ^ addr[whole]) & (0xff00 >> rest) & 0xff) == 0;
}

struct probe {
	__u8 addr[DL_ADDR_LEN];
	__u16 port;
	__u8 proto, op;
	const char *cgroup;     /* subject's cgroup path ("/": the root) */
};

static bool rule_matches(const struct dl_rule *r, const struct probe *q)
{
	const struct dl_net_match *m = &r->u.net;

	return r->family == DL_FAMILY_NET && covers(m->addr, m->prefixlen, q->addr) &&
	       (m->ops & q->op) && (!m->proto || m->proto == q->proto) &&
	       q->port >= m->port_lo && q->port <= m->port_hi &&
	       (!m->cgroup || cgroup_covers(m->cgroup, q->cgroup));
}

/* Is a more specific than b (policy.h's order)? */
static bool more_specific(const struct dl_rule *a, const struct dl_rule *b)
{
	const struct dl_net_match *ma = &a->u.net, *mb = &b->u.net;
	const char *comp[MAX_LEVEL + 1];
	size_t clen[MAX_LEVEL + 1];
	int la = ma->cgroup ? (int)split(ma->cgroup, comp, clen, MAX_LEVEL + 1) : -1;
	int lb = mb->cgroup ? (int)split(mb->cgroup, comp, clen, MAX_LEVEL + 1) : -1;
	unsigned wa = (unsigned)ma->port_hi - ma->port_lo, wb = (unsigned)mb->port_hi - mb->port_lo;

	if (ma->prefixlen != mb->prefixlen)
		return ma->prefixlen > mb->prefixlen;
	if (wa != wb)
		return wa < wb;
	if (!ma->proto != !mb->proto)
		return ma->proto != 0;
	if (la != lb)
		return la > lb;
	if (a->action != b->action)
		return a->action == DL_ACTION_DENY;
	return a < b;
}

static __u32 model_decide(const struct dl_policy *p, const struct probe *q)
{
	const struct dl_rule *best = NULL;

	for (size_t i = 0; i < p->n_rules; i++)
		if (rule_matches(&p->rules[i], q) && (!best || more_specific(&p->rules[i], best)))
			best = &p->rules[i];
	return best ? (__u32)(best - p->rules) : DL_RULE_NONE;
}

static void check_probe(const struct dl_policy *p, const struct dl_net_entry *ents, size_t n,
			const struct probe *q)
{
	const char *comp[MAX_LEVEL + 1];
	size_t clen[MAX_LEVEL + 1], n_anc = 0;
	__u64 anc[MAX_LEVEL + 1];
	__u8 action;
	__u32 got, want;

	size_t nc = split(q->cgroup, comp, clen, MAX_LEVEL + 1);

	if (nc > MAX_LEVEL)
		return;
	for (n_anc = 0; n_anc <= nc; n_anc++)
		anc[n_anc] = hash_comps(comp, clen, n_anc);
	got = dl_net_decide(ents, n, q->addr, q->port, q->proto, q->op, anc, n_anc, &action);
	want = model_decide(p, q);
	if (got != want) {
		fprintf(stderr, "fuzz-policy: dl_net_decide chose rule %d, the model rule %d "
			"(port %u proto %u op %u cgroup %s)\n", (int)got, (int)want, q->port,
			q->proto, q->op, q->cgroup);
		abort();
	}
	if (got != DL_RULE_NONE ? action != p->rules[got].action : action != DL_ACTION_ALLOW) {
		fprintf(stderr, "fuzz-policy: action %u does not match rule %d\n", action, (int)got);
		abort();
	}
}

static void check_decide(const struct dl_policy *p, const struct dl_net_entry *ents, size_t n)
{
	static const __u8 fixed[][DL_ADDR_LEN] = {
		{ 0 },
		{ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 169, 254, 169, 254 },
		{ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3 },
		{ 0x20, 0x01, 0x0d, 0xb8, [15] = 1 },
	};
	static const __u8 protos[] = { 6, 17, 1 };
	static const __u8 ops[] = { DL_NET_OP_CONNECT, DL_NET_OP_BIND };
	size_t n_rules = p->n_rules < 16 ? p->n_rules : 16;

	for (size_t a = 0; a < sizeof(fixed) / sizeof(fixed[0]) + 2 * n_rules; a++) {
		struct probe q = { 0 };
		const struct dl_rule *r = NULL;

		if (a < sizeof(fixed) / sizeof(fixed[0])) {
			memcpy(q.addr, fixed[a], DL_ADDR_LEN);
		} else {
			size_t k = a - sizeof(fixed) / sizeof(fixed[0]);

			r = &p->rules[k / 2];
			memcpy(q.addr, r->u.net.addr, DL_ADDR_LEN);
			if (k % 2)  /* the last address of the prefix */
				for (unsigned b = r->u.net.prefixlen; b < 128; b++)
					q.addr[b / 8] |= 0x80 >> (b % 8);
		}
		for (size_t o = 0; o < 2; o++)
			for (size_t pr = 0; pr < 3; pr++)
				for (int pt = 0; pt < 3; pt++) {
					q.op = ops[o];
					q.proto = protos[pr];
					q.port = r ? (pt == 0 ? r->u.net.port_lo : pt == 1 ? r->u.net.port_hi
							     : (__u16)(r->u.net.port_hi + 1)) :
						     (__u16)(pt == 0 ? 443 : pt == 1 ? 25 : 0);
					q.cgroup = "/";
					check_probe(p, ents, n, &q);
					for (size_t c = 0; c < n_rules; c++) {
						if (!p->rules[c].u.net.cgroup)
							continue;
						q.cgroup = p->rules[c].u.net.cgroup;
						check_probe(p, ents, n, &q);
					}
				}
	}
}

/* ---- canonical text ---- */

static void check_canonical(const struct dl_policy *p)
{
	struct dl_policy *again = NULL;
	struct dl_diags d = { 0 };
	size_t len = 1;
	char *text, *s;

	for (size_t i = 0; i < p->n_rules; i++)
		len += strlen(p->rules[i].text) + 1;
	s = text = malloc(len);
	if (!text)
		abort();
	for (size_t i = 0; i < p->n_rules; i++)
		s = stpcpy(stpcpy(s, p->rules[i].text), "\n");
	*s = 0;
	if (dl_policy_parse_string("canonical", text, &again, &d) != 0) {
		fprintf(stderr, "fuzz-policy: canonical text does not parse:\n%s", text);
		dl_diags_print(&d, stderr);
		abort();
	}
	if (again->n_rules != p->n_rules)
		abort();
	for (size_t i = 0; i < p->n_rules; i++)
		if (strcmp(again->rules[i].text, p->rules[i].text) ||
		    strcmp(again->rules[i].id, p->rules[i].id)) {
			fprintf(stderr, "fuzz-policy: canonical text changed: '%s' -> '%s'\n",
				p->rules[i].text, again->rules[i].text);
			abort();
		}
	dl_policy_free(again);
	dl_diags_free(&d);
	free(text);
}

/* a and b have the same rules (ids and canonical texts). Not necessarily in
 * the same order: stored text replays included rules after the top file's
 * (query/replay.c says why that is accepted). */
static bool same_rules(const struct dl_policy *a, const struct dl_policy *b)
{
	if (a->n_rules != b->n_rules)
		return false;
	for (size_t i = 0; i < a->n_rules; i++) {
		size_t j = 0;

		while (j < b->n_rules && strcmp(a->rules[i].id, b->rules[j].id))
			j++;
		if (j == b->n_rules || strcmp(a->rules[i].text, b->rules[j].text))
			return false;
	}
	return true;
}

/* Parse text as stored policy text; returns the policy or NULL. */
static struct dl_policy *parse_stored(const char *text, size_t len)
{
	struct dl_policy *p = NULL;
	struct dl_diags d = { 0 };
	char sha[65];
	int r;

	stored = true;
	r = dl_policy_parse_stored("stored", text, len, &p, &d);
	stored = false;
	if (r == 0) {
		dl_sha256_hex(text, len, sha);
		if (!p || d.n || memchr(text, 0, len) || p->text_len != len ||
		    memcmp(p->text, text, len) || strcmp(p->sha256, sha)) {
			fprintf(stderr, "fuzz-policy: parse_stored accepted %zu bytes but did not keep them\n", len);
			abort();
		}
	} else if (p || !d.n) {
		fprintf(stderr, "fuzz-policy: parse_stored failed (%d) with %zu diagnostics\n", r, d.n);
		abort();
	}
	dl_diags_free(&d);
	return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dl_policy *p = NULL;
	struct dl_net_entry *ents = NULL;
	struct dl_diags d = { 0 };
	size_t n = 0;
	char *text;
	int r;

	if (size > 256 * 1024)
		return -1;
	text = malloc(size + 1);
	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = 0;
	dl_policy_free(parse_stored(text, size));
	/* a string's includes are relative to the working directory */
	if (fchdir(sandbox_fd))
		abort();
	confined = true;
	r = dl_policy_parse_string("fuzz.policy", text, &p, &d);
	confined = false;
	if (fchdir(cwd_fd))
		abort();
	free(text);
	if (r == 0) {
		if (!p || !p->name || !p->text || strlen(p->sha256) != 64 || p->n_rules > DL_MAX_RULES || d.n)
			abort();
		for (size_t i = 0; i < p->n_rules; i++)
			if (!p->rules[i].id[0] || !p->rules[i].text)
				abort();
		check_canonical(p);
		/* what the store keeps replays to the same rules */
		struct dl_policy *again = parse_stored(p->text, p->text_len);
		if (!again || !same_rules(p, again) || strcmp(again->sha256, p->sha256)) {
			fprintf(stderr, "fuzz-policy: the policy's stored text does not replay to it\n");
			abort();
		}
		dl_policy_free(again);
		if (dl_net_compile(p, fake_resolve, NULL, &ents, &n, &d) == 0)
			check_decide(p, ents, n);
		free(ents);
		dl_policy_free(p);
	} else if (p || !d.n) {
		fprintf(stderr, "fuzz-policy: parse failed (%d) with %zu diagnostics\n", r, d.n);
		abort();
	}
	dl_diags_free(&d);
	return 0;
}
