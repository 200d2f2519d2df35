/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The policy layer's side of a family: what a family's file
 * (collector/policy-<stem>.c) exports and what the generic parser
 * (collector/policy.c) offers it. Only family files and policy.c include
 * this; everything else uses policy.h.
 *
 * A family exports one `const struct dl_policy_family dl_policy_family_<stem>`
 * (the stem is DL_FAMILIES' fourth column); policy.c expands DL_FAMILIES into
 * dl_policy_families[], indexed by family id. The parser owns the grammar
 * around the keys (family action id key=value...), the ids, duplicate and
 * missing keys and the error positions; the family owns the meaning of its
 * keys, its canonical text, how its rules compile for the kernel and the
 * user-space decide that what-if replay uses.
 */
#ifndef DRYLOCK_POLICY_FAMILY_H
#define DRYLOCK_POLICY_FAMILY_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include "policy.h"

#define DL_CGROUP_ROOT_DEFAULT "/sys/fs/cgroup"

/* Growable NUL-terminated text; oom set (and further adds ignored) on failure. */
struct dl_strbuf {
	char *s;
	size_t len, cap;
	bool oom;
};
void dl_sb_add(struct dl_strbuf *b, const char *s, size_t n);
void dl_sb_str(struct dl_strbuf *b, const char *s);
void dl_sb_printf(struct dl_strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One token of a policy line, with its position (1-based). */
struct dl_tok {
	const char *s;
	size_t len;
	unsigned line, col;
};

/* Copy len bytes into a bounded NUL-terminated buffer; false if too long. */
static inline bool dl_tok_copy(char *dst, size_t dstlen, const char *s, size_t len)
{
	if (len >= dstlen)
		return false;
	memcpy(dst, s, len);
	dst[len] = '\0';
	return true;
}

/* Strict unsigned decimal: digits only, at most 10 of them, value <= max. */
bool dl_parse_udec(const char *s, size_t len, unsigned long max, unsigned long *out);

/* Append "file:line:col: msg" to d (col 0: no column). */
void dl_diag_add(struct dl_diags *d, const char *file, unsigned line, unsigned col,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

struct pctx;
/* What a key handler gets: the value of one key=value token of rule r. */
struct dl_key_ctx {
	struct pctx *c;
	const char *file;
	const struct dl_tok *t;  /* the whole key=value token (errors point here) */
	const char *val;         /* NUL-terminated copy of the value */
	size_t vlen;
	struct dl_rule *r;
};
/* Report a problem with the key at its token's position. */
void dl_key_err(struct dl_key_ctx *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The cgroup= key every family may offer: a path under /sys/fs/cgroup,
 * starting with '/', no empty, '.' or '..' components. Sets *out (malloc'd,
 * an earlier value freed). 0, -EINVAL (reported) or -ENOMEM. */
int dl_key_cgroup(struct dl_key_ctx *k, char **out);

struct dl_key_def {
	const char *name;
	bool required;
	int (*parse)(struct dl_key_ctx *k);
};

struct dl_policy_family {
	const struct dl_key_def *keys; /* key=value grammar, in canonical order */
	size_t n_keys;
	void (*init)(struct dl_rule *r);                               /* defaults */
	void (*canon)(const struct dl_rule *r, struct dl_strbuf *b);   /* " key=value..." */
	void (*free)(struct dl_rule *r);                               /* may be NULL */
	/* Compile the policy's rules of this family (the policy may hold none:
	 * then an empty result that decides nothing). Problems go to diags
	 * with the rule's file:line and make it return -EINVAL. */
	int (*compile)(const struct dl_policy *p, dl_cgroup_resolver res, void *res_ctx, void **out,
		       struct dl_diags *diags);
	/* The kernel's decision for one operation (hook, record payload,
	 * ancestors as in dl_policy_decide). */
	__u32 (*decide)(const void *compiled, unsigned hook, const void *payload, const __u64 *anc,
			size_t n_anc, __u8 *action);
	void (*free_compiled)(void *compiled);
};

extern const struct dl_policy_family *const dl_policy_families[DL_FAMILY_MAX];

#endif
