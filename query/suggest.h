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

/* One group of denied operations with the same subject and object. */
struct dl_obs {
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

#endif
