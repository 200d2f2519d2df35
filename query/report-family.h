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

#include <stddef.h>
#include "../bpf/drylock_abi.h"

struct sqlite3;
struct dl_obs;
struct dl_replay;
struct dl_suggest_opts;
struct dl_suggestion;
struct dl_suggest_info;

struct dl_query_family {
	/* The payload of a record of hook whose object row is (addr, port,
	 * proto): 0, or -EINVAL when such a row cannot be replayed. */
	int (*payload)(unsigned hook, const char *addr, unsigned port, unsigned proto, void *payload);
	/* objects.proto as shown in reports, NULL to show the number. */
	const char *(*proto_name)(unsigned proto);
	/* The operation of a hook as the family's rules name it ("connect"). */
	const char *(*op_name)(unsigned hook);
	/* suggest: allow rules for this family's denied groups obs[0..n)
	 * (each with its stored operation in o->in, the subject, counts and
	 * the deny rule that decides today; the family may fill the rest of
	 * struct dl_obs), as dl_suggest returns them: indices in sg->obs are
	 * into obs, *info counts the events it was given. NULL: the family
	 * has nothing to propose (its groups are counted as skipped). 0 or
	 * -ENOMEM. */
	int (*suggest)(const struct dl_replay *base, const char *base_text, struct dl_obs *obs, size_t n,
		       const struct dl_suggest_opts *opts, struct dl_suggestion **sg, size_t *nsg,
		       struct dl_suggest_info *info);
};

extern const struct dl_query_family *const dl_query_families[DL_FAMILY_MAX];

/* Register the family-aware SQL functions on db: dl_proto(hook, proto),
 * hook as its id or name, is the display of an objects.proto value. */
int dl_query_sql_functions(struct sqlite3 *db);

#endif
