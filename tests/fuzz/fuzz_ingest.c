/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: arbitrary bytes as ring-buffer records through
 * dl_ingest_add and dl_ingest_commit (collector/ingest.c) into a real SQLite
 * store.
 *
 * Input: a sequence of chunks, each a little-endian u16 length and that many
 * bytes (the last one cut short by the end of the input); every chunk is one
 * ring record, whatever its length. Seeds hold well-formed 160-byte records.
 *
 * The store is a file in $TMPDIR, opened once and reused; every input gets
 * a boot of its own (so event ids, which are (boot << 40) | seq, never clash
 * across inputs) with policy generations 1 (the ingest's policy) and 2 (a
 * second stored policy). Every 512 inputs it is closed, deleted and created
 * again, which keeps it at a few megabytes.
 *
 * Checks, beyond no crash, leak or undefined behaviour:
 *   - dl_ingest_add accepts exactly the chunks of at least the record
 *     header (DL_RECORD_HDR_LEN) with a known version (DL_ABI_VERSION_MIN to
 *     DL_ABI_VERSION), a size from the header to the chunk's length and a
 *     time that fits in int64 nanoseconds, refuses the rest with -EPROTO and
 *     counts them,
 *     and returns -ENOSPC only on a full batch;
 *   - dl_ingest_commit stores the whole batch, or fails only when a record's
 *     seq is outside the store's range (>= 2^40; store.h), and then stores
 *     none of it;
 *   - every stored event has the record's hook, verdict, enforced, tgid,
 *     ppid, rule and time, and the policy of its generation; the first record
 *     of a seq wins (a repeat is a replay after a crash).
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sqlite3.h>

#include "collector/ingest.h"

#define BATCH 16
#define RESET_EVERY 512
#define SEQ_LIMIT (UINT64_C(1) << 40)
#define BOOT_WALL_NS INT64_C(1700000000000000000)

static const char policy_text[] =
	"policy fuzz-ingest\n"
	"net deny metadata-v4 addr=169.254.169.254/32 op=connect\n"
	"net deny smtp-out addr=any port=25 proto=tcp op=connect\n"
	"net allow web addr=192.0.2.0/24 port=443 proto=tcp\n"
	"net deny bind-low addr=any port=0-1023 op=bind\n";
static const char policy2_text[] = "policy other\nnet deny other-rule addr=any\n";

static char db_path[PATH_MAX];
static struct dl_store *st;
static struct dl_policy *pol, *pol2;
static int64_t pkey, pkey2;
static unsigned inputs, boots;

static void die(const char *what)
{
	fprintf(stderr, "fuzz-ingest: %s: %s\n", what, st ? dl_store_errmsg(st) : dl_store_errmsg(NULL));
	abort();
}

static struct dl_store_rule *store_rules(const struct dl_policy *p)
{
	struct dl_store_rule *r = calloc(p->n_rules, sizeof(*r));

	if (!r)
		abort();
	for (size_t i = 0; i < p->n_rules; i++)
		r[i] = (struct dl_store_rule){ .idx = (__u32)i, .id = p->rules[i].id,
					       .family = p->rules[i].family,
					       .action = p->rules[i].action, .text = p->rules[i].text };
	return r;
}

static void store_open(void)
{
	static const char *const sfx[] = { "", "-wal", "-shm", "-journal" };
	struct dl_store_rule *r1, *r2;
	char path[PATH_MAX + 16];

	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", db_path, sfx[i]);
		unlink(path);
	}
	if (dl_store_open(db_path, 0, &st) < 0)
		die("open");
	/* speed, not durability: the store is thrown away */
	if (sqlite3_exec(dl_store_sqlite(st), "PRAGMA synchronous=OFF", NULL, NULL, NULL) != SQLITE_OK)
		die("pragma");
	r1 = store_rules(pol);
	r2 = store_rules(pol2);
	if (dl_store_policy(st, pol->name, pol->sha256, pol->text, r1, pol->n_rules, &pkey) < 0 ||
	    dl_store_policy(st, pol2->name, pol2->sha256, pol2->text, r2, pol2->n_rules, &pkey2) < 0)
		die("policy");
	free(r1);
	free(r2);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");
	struct dl_diags d = { 0 };

	snprintf(db_path, sizeof(db_path), "%s/drylock-fuzz-ingest-%d.db",
		 tmp && *tmp ? tmp : "/tmp", (int)getpid());
	if (dl_policy_parse_string("fuzz-ingest", policy_text, &pol, &d) ||
	    dl_policy_parse_string("fuzz-ingest-2", policy2_text, &pol2, &d)) {
		dl_diags_print(&d, stderr);
		abort();
	}
	store_open();
	return 0;
}

/* What one accepted record should have become. */
struct want {
	struct dl_record rec;
	bool dup;               /* an earlier record of this input had its seq */
};

static int64_t event_id(int64_t boot, uint64_t seq)
{
	return (boot << 40) | (int64_t)seq;
}

static void check_stored(sqlite3 *db, int64_t boot, const struct want *w, size_t n, bool stored)
{
	sqlite3_stmt *s;

	if (sqlite3_prepare_v2(db, "SELECT ts, hook, verdict, enforced, policy, rule, tgid, pid, ppid "
			       "FROM events WHERE id = ?", -1, &s, NULL) != SQLITE_OK)
		die("prepare");
	for (size_t i = 0; i < n; i++) {
		const struct dl_record *r = &w[i].rec;
		int rc;

		if (w[i].dup || r->seq >= SEQ_LIMIT)
			continue;
		sqlite3_bind_int64(s, 1, event_id(boot, r->seq));
		rc = sqlite3_step(s);
		if (!stored) {
			if (rc != SQLITE_DONE) {
				fprintf(stderr, "fuzz-ingest: seq %llu stored by a failed commit\n",
					(unsigned long long)r->seq);
				abort();
			}
			sqlite3_reset(s);
			continue;
		}
		if (rc != SQLITE_ROW) {
			fprintf(stderr, "fuzz-ingest: seq %llu not stored\n", (unsigned long long)r->seq);
			abort();
		}
		int64_t ts = (BOOT_WALL_NS + (int64_t)r->ktime_ns) / 1000000;
		int64_t policy = r->policy_gen == 1 ? pkey : r->policy_gen == 2 ? pkey2 : 0;
		if (sqlite3_column_int64(s, 0) != ts || sqlite3_column_int64(s, 1) != r->hook ||
		    sqlite3_column_int64(s, 2) != r->verdict ||
		    sqlite3_column_int64(s, 3) != r->enforced ||
		    (policy ? sqlite3_column_int64(s, 4) != policy
			    : sqlite3_column_type(s, 4) != SQLITE_NULL) ||
		    (r->rule_idx == DL_RULE_NONE ? sqlite3_column_type(s, 5) != SQLITE_NULL
						 : sqlite3_column_int64(s, 5) != r->rule_idx) ||
		    sqlite3_column_int64(s, 6) != r->tgid ||
		    (r->pid == r->tgid ? sqlite3_column_type(s, 7) != SQLITE_NULL
				       : sqlite3_column_int64(s, 7) != r->pid) ||
		    sqlite3_column_int64(s, 8) != r->ppid) {
			fprintf(stderr, "fuzz-ingest: seq %llu stored with other values\n",
				(unsigned long long)r->seq);
			abort();
		}
		sqlite3_reset(s);
	}
	sqlite3_finalize(s);
}

/* Commit the batch and check what it stored. */
static void commit(struct dl_ingest *in, int64_t boot, struct want *w, size_t n)
{
	bool out_of_range = false;
	int r;

	for (size_t i = 0; i < n; i++)
		out_of_range |= w[i].rec.seq >= SEQ_LIMIT;
	r = dl_ingest_commit(in);
	if (r < 0 && !(r == -ERANGE && out_of_range)) {
		fprintf(stderr, "fuzz-ingest: commit of %zu records failed (%d)\n", n, r);
		die("commit");
	}
	if (r >= 0 && (out_of_range || (size_t)r != n)) {
		fprintf(stderr, "fuzz-ingest: commit returned %d for %zu records%s\n", r, n,
			out_of_range ? ", one with seq out of range" : "");
		abort();
	}
	check_stored(dl_store_sqlite(st), boot, w, n, r >= 0);
	dl_ingest_reset(in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct want w[BATCH];
	struct dl_ingest in;
	uint64_t seen[256];
	size_t n_seen = 0, nw = 0;
	uint64_t bad = 0;
	char boot_id[64];
	int64_t boot;

	if (size > 64 * 1024)
		return -1;
	if (++inputs % RESET_EVERY == 0) {
		dl_store_close(st);
		store_open();
	}
	snprintf(boot_id, sizeof(boot_id), "fuzz-%08x-%u", (unsigned)getpid(), ++boots);
	if (dl_store_boot(st, boot_id, BOOT_WALL_NS, &boot) < 0 ||
	    dl_store_policy_load(st, boot, 1, pkey, BOOT_WALL_NS) < 0 ||
	    dl_store_policy_load(st, boot, 2, pkey2, BOOT_WALL_NS) < 0)
		die("boot");
	if (dl_ingest_init(&in, st, pol, boot, BOOT_WALL_NS, pkey, 1, -1, -1, BATCH) < 0)
		abort();

	while (size >= 2) {
		size_t len = data[0] | (size_t)data[1] << 8;
		const struct dl_record *rec;
		struct dl_record dec;
		bool valid;
		uint8_t *copy;
		int r;

		data += 2;
		size -= 2;
		len = len < size ? len : size;
		/* a copy of exactly len bytes, so that ASan sees any read past it */
		copy = malloc(len ? len : 1);
		if (!copy)
			abort();
		memcpy(copy, data, len);
		data += len;
		size -= len;
		rec = (const struct dl_record *)copy;
		valid = len >= DL_RECORD_HDR_LEN && rec->version >= DL_ABI_VERSION_MIN &&
			rec->version <= DL_ABI_VERSION && rec->size >= DL_RECORD_HDR_LEN && rec->size <= len &&
			rec->ktime_ns <= (uint64_t)(INT64_MAX - BOOT_WALL_NS);
		if (valid) {
			/* what the reader keeps: the record's bytes, zeros after */
			memset(&dec, 0, sizeof(dec));
			memcpy(&dec, copy, rec->size < sizeof(dec) ? rec->size : sizeof(dec));
		}
		r = dl_ingest_add(&in, copy, (__u32)len);
		if (r == -ENOSPC && nw == BATCH) {
			commit(&in, boot, w, nw);
			nw = 0;
			r = dl_ingest_add(&in, copy, (__u32)len);
		}
		if (valid ? r != 0 : r != -EPROTO) {
			fprintf(stderr, "fuzz-ingest: add of %zu bytes returned %d\n", len, r);
			abort();
		}
		if (valid) {
			w[nw].rec = dec;
			w[nw].dup = false;
			for (size_t i = 0; i < n_seen; i++)
				w[nw].dup |= seen[i] == dec.seq;
			if (n_seen < sizeof(seen) / sizeof(seen[0]))
				seen[n_seen++] = dec.seq;
			else
				w[nw].dup = true; /* not tracked: not checked */
			nw++;
		} else {
			bad++;
		}
		free(copy);
	}
	if (in.bad != bad) {
		fprintf(stderr, "fuzz-ingest: %llu bad records counted, %llu sent\n",
			(unsigned long long)in.bad, (unsigned long long)bad);
		abort();
	}
	commit(&in, boot, w, nw);
	dl_ingest_fini(&in);
	return 0;
}
