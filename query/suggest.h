/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Least-privilege allow rules for observed denials (drylock-query suggest).
 * Pure logic over a base policy (struct dl_replay) and groups of denied
 * operations; the caller loads the groups from the store and prints the
 * result. Nothing here prints.
 */
#ifndef DRYLOCK_QUERY_SUGGEST_H
#define DRYLOCK_QUERY_SUGGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "replay.h"

/* One group of denied operations with the same subject and object. The
 * caller fills in (the stored operation), the subject, counts and
 * deny_rule; a family's suggest may fill the fields after it (net: addr,
 * port, proto, op, from in). */
struct dl_obs {
	struct dl_replay_in in;  /* hook and stored object, as replay decides it */
	__u8 addr[DL_ADDR_LEN];  /* v4-mapped for IPv4 */
	__u16 port;
	__u8 proto;              /* IPPROTO_*; tcp/udp become proto=, others any */
	__u8 op;                 /* DL_NET_OP_CONNECT or DL_NET_OP_BIND */
	const char *cgroup;      /* stored path; NULL or malformed: root */
	const char *comm, *exe;  /* for the caller's comments; untrusted */
	uint64_t count;
	int64_t first_ms, last_ms;
	unsigned verdicts;       /* bit (1 << verdict) seen */
	__u32 deny_rule;         /* index in base->policy of the rule that denies it now */
};

struct dl_suggestion {
	char *text;              /* "net allow sug-xxxxxxxx addr=... op=... [cgroup=...]" */
	char id[16];             /* "sug-" + 8 hex of sha256(text without the id) */
	size_t keys_off;         /* text + keys_off: what follows the id (the keys), as built */
	uint64_t count;
	int64_t first_ms, last_ms;
	unsigned verdicts;
	size_t *obs, n_obs;      /* indices into the caller's obs array */
	__u32 *overrides;        /* distinct base rule indices it outranks */
	size_t n_overrides;
	char *note;              /* aggregation, port range or cgroup=/ remark; NULL */
	bool verified;           /* replay with base + suggestions allows every obs */
	char *problem;           /* why not verified; NULL when verified */
};

struct dl_suggest_opts {
	unsigned max_ports;      /* exact ports up to this many per address, then a range */
	unsigned max_rules;      /* budget: at most this many suggestions; 0 = none */
};

/* What fitting the budget cost (dl_suggest's info, may be NULL). */
struct dl_suggest_info {
	bool widened;            /* the least-privilege suggestions did not fit */
	unsigned v4_plen, v6_plen; /* widest prefix used (32 / 128: none) */
	bool ports_merged;       /* ports of one address merged into a range */
	uint64_t events;         /* events in the input groups */
	uint64_t covered;        /* events the verified suggestions allow */
	uint64_t dropped_events; /* events left without a suggestion to fit */
	size_t dropped_groups;
	char how[160];           /* what was widened, in words ("" if nothing) */
};

/* Build, check and verify suggestions. base_text is the text base was
 * compiled from (stored text, see dl_replay_init). 0 or -ENOMEM. Suggestions
 * come in a stable order (by cgroup, op, proto, address, port). With
 * opts->max_rules, at most that many: widened (wider prefixes, then port
 * ranges) as little as fits, the least frequent groups left out if nothing
 * fits; *info (if not NULL) says what that cost. */
int dl_suggest(const struct dl_replay *base, const char *base_text, const struct dl_obs *obs,
	       size_t n_obs, const struct dl_suggest_opts *opts, struct dl_suggestion **out,
	       size_t *n_out, struct dl_suggest_info *info);
void dl_suggestions_free(struct dl_suggestion *s, size_t n);

/* The keys (" key=value...") of an allow rule that would let the requester
 * of group o through; 0, or -EINVAL with *why set when no narrow exception
 * exists (the rule is then proposed with a problem, never verified). */
typedef int (*dl_requester_keys_fn)(const struct dl_obs *o, char *out, size_t n, const char **why);

/* Suggestions for a family whose exception is one allow rule per requester
 * (query/suggest-requester.c; kvm): one rule per distinct key text, named
 * "<family> allow sug-xxxxxxxx<keys>", covering the groups obs[0..n) of that
 * family (o->in set; o->in.hook gives the family), verified like
 * dl_suggest: the base text plus every rule without a problem, replayed,
 * must allow each group. Same output and ownership as dl_suggest (info
 * counts events; nothing is widened). 0 or -ENOMEM. */
int dl_suggest_per_requester(const struct dl_replay *base, const char *base_text, const struct dl_obs *obs,
			     size_t n, dl_requester_keys_fn keys, struct dl_suggestion **out, size_t *n_out,
			     struct dl_suggest_info *info);

#endif
