/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Policy files: parsing, validation and compilation into kernel map entries.
 *
 * Format (docs/policy-format.md is the user-facing description):
 *   - line oriented; '#' starts a comment to end of line; blank lines ignored;
 *     tokens separated by spaces/tabs; a trailing '\' joins the next line.
 *   - directives:
 *       policy <name>                 name of the policy (top file, at most once)
 *       include <path|glob>           relative to the including file's directory;
 *                                     a glob (e.g. policy.d/ *.policy without the
 *                                     space) includes matches in sorted order;
 *                                     an include that matches nothing is an error
 *                                     unless it contains a glob character
 *                                     (limits and the once-per-policy rule:
 *                                     DL_POLICY_* below, docs)
 *   - rules:  <family> <action> <id> [key=value ...]
 *       family  one of DL_FAMILIES keywords ("net"); each family's keys
 *               are described in its header (policy-<stem>.h); every
 *               family also takes mode=enforce|permissive, the rule's own
 *               mode overriding its family's (canonical text: last key)
 *       action  "allow" or "deny"
 *       id      [a-z0-9][a-z0-9._-]{0,31}, unique in the whole policy; the
 *               short stable name used in records, audit and reports
 * Errors are collected (not just the first) as file:line:column: message,
 * column 1-based, pointing at the offending token.
 */
#ifndef DRYLOCK_POLICY_H
#define DRYLOCK_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include "../bpf/drylock_abi.h"

#define DL_RULE_ID_MAX 32
#define DL_POLICY_NAME_MAX 64

/* Bounds on loading one policy (docs/policy-format.md, "Limits"). */
#define DL_POLICY_FILE_MAX (1u << 20)      /* bytes in one policy file (1 MiB) */
#define DL_POLICY_TEXT_MAX (4u << 20)      /* bytes of policy text in all, headers included (4 MiB) */
#define DL_POLICY_FILES_MAX 256            /* files read for one policy, the top file included */
#define DL_POLICY_INCLUDE_DEPTH_MAX 16     /* files in one include chain, the top file included */

/* Looks up a cgroup path: sets *id (inode of /sys/fs/cgroup<path>) and *level
 * (number of path components; "/" is 0). Returns 0 or -errno. */
typedef int (*dl_cgroup_resolver)(const char *path, __u64 *id, __u8 *level, void *ctx);

/* Each family's rule fields (struct dl_<stem>_match) and its own API. */
#include "policy-net.h"
#include "policy-kvm.h"
#include "policy-self.h"

#define DL_X_RULE_MATCH(n, v, s, stem) struct dl_##stem##_match stem;
struct dl_rule {
	char id[DL_RULE_ID_MAX + 1];
	__u16 family;            /* enum dl_family */
	__u8 action;             /* enum dl_action */
	__u8 mode;               /* enum dl_rule_mode_value: mode= (FAMILY if absent) */
	char *file;              /* where it was written */
	unsigned line;
	char *text;              /* canonical text, e.g. "net deny meta addr=169.254.169.254/32 port=80 proto=tcp op=connect" */
	union {
		DL_FAMILIES(DL_X_RULE_MATCH)
	} u;
};

struct dl_policy {
	char *name;              /* "policy" directive, else basename of top file */
	struct dl_rule *rules;   /* index in this array == rule_idx in records */
	size_t n_rules;
	char *text;              /* all files concatenated, each preceded by
				  * "# drylock-file: <name>\n" (name relative to the top
				  * file's directory); what is hashed and stored */
	size_t text_len;         /* bytes of text (never holds a NUL: refused) */
	char sha256[65];         /* hex of sha256 of the text_len bytes of text */
	__u32 families;          /* bit (1 << family) for each family used */
};

struct dl_diag {
	char *file;
	unsigned line, col;
	char *msg;
};

struct dl_diags {
	struct dl_diag *v;
	size_t n;
};

/* Parse a policy file and everything it includes. Returns 0 and sets *out when
 * there were no errors; otherwise -EINVAL (or, for the top file, -errno of
 * the I/O error, -EISDIR or -EINVAL when it is not a regular file, -EFBIG
 * when it is too large) with every problem in *diags. *diags is appended to,
 * never reset. Never blocks on a FIFO or device; bounded by DL_POLICY_*. */
int dl_policy_parse_file(const char *path, struct dl_policy **out, struct dl_diags *diags);
/* Same, from memory; 'name' is used as the file name in diagnostics and for
 * includes relative to the current directory. */
int dl_policy_parse_string(const char *name, const char *text, struct dl_policy **out,
			   struct dl_diags *diags);
/* Parse stored policy text (a dl_policy.text as the store keeps it) for
 * replay. The included files' text is already in it, so the parser never
 * follows an `include` line: it skips it, however it is spelled, and opens
 * no file. The text is kept byte for byte (no header is added), so the
 * result's sha256 is the stored one. At most DL_POLICY_TEXT_MAX bytes; a NUL
 * byte is an error. Diagnostics name the file 'name' with lines counted in
 * the whole text. Returns as dl_policy_parse_file. */
int dl_policy_parse_stored(const char *name, const char *text, size_t len, struct dl_policy **out,
			   struct dl_diags *diags);
void dl_policy_free(struct dl_policy *p);
void dl_diags_free(struct dl_diags *d);
/* Print "file:line:col: error: msg" lines to f. */
void dl_diags_print(const struct dl_diags *d, void *file /* FILE * */);

/* Default resolver: stat under root (normally "/sys/fs/cgroup"). */
int dl_cgroup_resolve_fs(const char *path, __u64 *id, __u8 *level, void *ctx /* const char *root */);

/* Every family's rules compiled (dl_policy_families[f]->compile), for
 * deciding in user space. */
struct dl_compiled {
	void *fam[DL_FAMILY_MAX];
};
/* Compile every family the policy uses; 0, or -EINVAL with the problems in
 * diags (nothing kept). Also what `drylock validate` runs: cgroups must
 * exist and each family's limits must hold. */
int dl_policy_compile(const struct dl_policy *p, dl_cgroup_resolver res, void *res_ctx,
		      struct dl_compiled *out, struct dl_diags *diags);
void dl_compiled_free(struct dl_compiled *c);
/* The kernel's decision procedure, in user space (unit tests, what-if
 * replay): the rule_idx of the deciding rule or DL_RULE_NONE (allow), and
 * *action. payload is the record's family payload for the hook;
 * ancestors[i] is the cgroup id at level i of the subject's cgroup
 * (ancestors[n_anc-1] = own). A hook of a family the policy lacks: none. */
__u32 dl_policy_decide(const struct dl_compiled *c, unsigned hook, const void *payload,
		       const __u64 *ancestors, size_t n_anc, __u8 *action);

/* The verdict a replay (what-if, ready and denials as of a version) gives
 * a decision by rule rule_idx of p with action: allow; for a deny, deny
 * when the rule has mode=enforce, else would-deny (a replay does not know
 * the family's mode at the time, so a rule without mode= is observed). */
__u8 dl_policy_rule_verdict(const struct dl_policy *p, __u32 rule_idx, __u8 action);

/* sha256 of buf as 64 lowercase hex chars + NUL. */
void dl_sha256_hex(const void *buf, size_t len, char out[65]);

#endif
