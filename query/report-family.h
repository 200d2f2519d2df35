/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The query layer's side of a family (query/report-<stem>.c). Reports read
 * the family-neutral columns of the objects table (schema v2: addr as
 * display text, port and proto as integers) and ask the record's family
 * what they mean: how a stored object turns back into the record payload
 * that what-if replay decides (through dl_policy_decide, the same code the
 * family's kernel rules are compiled from), and how proto is shown. Generic
 * report code loops over dl_query_families[] (expanded from DL_FAMILIES)
 * and never names a family.
 */
#ifndef DRYLOCK_QUERY_REPORT_FAMILY_H
#define DRYLOCK_QUERY_REPORT_FAMILY_H

#include "../bpf/drylock_abi.h"

struct sqlite3;
struct dl_obs;

struct dl_query_family {
	/* The payload of a record of hook whose object row is (addr, port,
	 * proto): 0, or -EINVAL when such a row cannot be replayed. */
	int (*payload)(unsigned hook, const char *addr, unsigned port, unsigned proto, void *payload);
	/* objects.proto as shown in reports, NULL to show the number. */
	const char *(*proto_name)(unsigned proto);
	/* The operation of a hook as the family's rules name it ("connect"). */
	const char *(*op_name)(unsigned hook);
	/* suggest: the object part of an observation (query/suggest.h) for a
	 * denied group of hook, 0 or -EINVAL. NULL: suggest has nothing to
	 * propose for this family yet (its groups are counted as skipped). */
	int (*suggest_obs)(unsigned hook, const char *addr, unsigned port, unsigned proto, struct dl_obs *o);
	/* suggest, for families whose exception is one rule per requester:
	 * the keys of an allow rule (" key=value...") that would let a denied
	 * requester in cgroup (stored path, may be NULL) through; 0, or
	 * -EINVAL with *why set when no narrow exception exists. */
	int (*suggest_keys)(unsigned hook, const char *cgroup, char *out, size_t n, const char **why);
};

extern const struct dl_query_family *const dl_query_families[DL_FAMILY_MAX];

/* Register the family-aware SQL functions on db: dl_proto(hook, proto),
 * hook as its id or name, is the display of an objects.proto value. */
int dl_query_sql_functions(struct sqlite3 *db);

#endif
