/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Ingest: raw ring-buffer records -> enriched events -> one SQLite transaction.
 * The collector's drain loop and the ingest benchmark (bench/) both go through
 * exactly this code; only where the bytes come from differs.
 */
#ifndef DRYLOCK_INGEST_H
#define DRYLOCK_INGEST_H

#include <limits.h>
#include "collector.h"

struct dl_pending {
	struct dl_event ev;
	char rule_id[DL_RULE_ID_MAX + 1];
	/* Copies: a cache slot may be evicted later in the same batch. */
	char exe[DL_PATH_MAX];
	char cgroup[512];
};

#define DL_EXE_CACHE 4096
#define DL_CG_CACHE 256
#define DL_RULE_CACHE 64

struct dl_ingest {
	struct dl_store *st;
	const struct dl_policy *policy;
	int64_t boot_wall_ns, boot_key, policy_key;
	__u32 gen;
	int exe_fd;             /* pinned dl_exe map, -1 if none */
	int cgroup_root_fd;     /* /sys/fs/cgroup, -1 if none */
	struct dl_pending *batch;
	unsigned cap, n;
	uint64_t bad;           /* records skipped, all reasons */
	uint64_t skipped[DL_REC_SKIP_MAX]; /* records skipped, by enum dl_rec_skip */
	__u32 other_gen;        /* last foreign generation looked up */
	int64_t other_key;
	struct { __u32 tgid; __u64 ino; char *path; } exe[DL_EXE_CACHE];
	struct { __u64 id; char *path; } cg[DL_CG_CACHE];
	struct { int64_t policy; __u32 idx; char id[DL_RULE_ID_MAX + 1]; } rules[DL_RULE_CACHE];
};

/* Set up with a store and the policy currently loaded as generation gen.
 * exe_fd and cgroup_root_fd may be -1 (then /proc and nothing are used). */
int dl_ingest_init(struct dl_ingest *in, struct dl_store *st, const struct dl_policy *policy,
		   int64_t boot_key, int64_t boot_wall_ns, int64_t policy_key, __u32 gen,
		   int exe_fd, int cgroup_root_fd, unsigned cap);
void dl_ingest_fini(struct dl_ingest *in);
/* Decode one record into the batch. 0, -ENOSPC when the batch is full, or
 * -EPROTO for a record dl_record_read() skips, or whose wall time would not
 * fit in int64 nanoseconds (counted in bad and skipped[reason], skipped). */
int dl_ingest_add(struct dl_ingest *in, const void *data, __u32 len);
/* Store the batch in one transaction. Returns the number stored, or <0 after
 * a rollback (the batch is kept; call dl_ingest_reset to drop it). */
int dl_ingest_commit(struct dl_ingest *in);
void dl_ingest_reset(struct dl_ingest *in);

#endif
