/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Ingest (see ingest.h). Enrichment per record, cheapest first:
 *   - wall time: boot_wall_ns + the record's CLOCK_BOOTTIME stamp;
 *   - policy and rule id: the record's generation is the loaded one (the usual
 *     case) or is looked up once in the store's loads table and remembered;
 *   - executable: cached by (tgid, exe inode) from the record; on a miss the
 *     pinned dl_exe map (filled at exec, so exited processes are named), then
 *     /proc/<tgid>/exe for processes that exec'd before drylock started, only
 *     when its inode is the record's (else no executable, never a wrong one);
 *   - cgroup path: cached by id; on a miss the id is opened as a kernfs file
 *     handle under /sys/fs/cgroup and the fd's path read back.
 * The caches are fixed-size and direct-mapped: memory stays bounded whatever
 * the stream, and a hot subject costs no system call.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <sqlite3.h>

#include "ingest.h"

int dl_ingest_init(struct dl_ingest *in, struct dl_store *st, const struct dl_policy *policy,
		   int64_t boot_key, int64_t boot_wall_ns, int64_t policy_key, __u32 gen,
		   int exe_fd, int cgroup_root_fd, unsigned cap)
{
	memset(in, 0, sizeof(*in));
	in->st = st;
	in->policy = policy;
	in->boot_key = boot_key;
	in->boot_wall_ns = boot_wall_ns;
	in->policy_key = policy_key;
	in->gen = gen;
	in->exe_fd = exe_fd;
	in->cgroup_root_fd = cgroup_root_fd;
	in->cap = cap;
	in->batch = calloc(cap, sizeof(*in->batch));
	return in->batch ? 0 : -ENOMEM;
}

void dl_ingest_fini(struct dl_ingest *in)
{
	for (int i = 0; i < DL_EXE_CACHE; i++)
		free(in->exe[i].path);
	for (int i = 0; i < DL_CG_CACHE; i++)
		free(in->cg[i].path);
	free(in->batch);
	in->batch = NULL;
}

/*
 * /proc/<tgid>/exe, but only if it is still the executable the record was
 * made by: the process may have exec'd something else since, or exited and
 * left its pid to another. Path and inode come from one open of the link
 * (O_PATH), so they name the same file; on any mismatch the record gets no
 * executable ("") rather than a wrong one.
 */
static const char *proc_exe(const struct dl_record *r, char *buf, size_t n)
{
	char link[64];
	struct stat st;
	ssize_t l;
	int fd;

	buf[0] = 0;
	snprintf(link, sizeof(link), "/proc/%u/exe", r->tgid);
	fd = open(link, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return buf;
	if (fstat(fd, &st) == 0 && r->exe_ino && st.st_ino == r->exe_ino) {
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		l = readlink(link, buf, n - 1);
		buf[l > 0 ? l : 0] = 0;
	}
	close(fd);
	return buf;
}

static const char *exe_lookup(struct dl_ingest *in, const struct dl_record *r)
{
	unsigned h = (r->tgid * 2654435761u ^ (unsigned)r->exe_ino) % DL_EXE_CACHE;
	char buf[DL_PATH_MAX];
	struct dl_exe e;
	const char *found = NULL;

	/* A cached "" is a lookup that failed: an exited process's remaining
	 * records cost no further system calls. */
	if (in->exe[h].path && in->exe[h].tgid == r->tgid && in->exe[h].ino == r->exe_ino)
		return in->exe[h].path[0] ? in->exe[h].path : NULL;
	if (in->exe_fd >= 0 && bpf_map_lookup_elem(in->exe_fd, &r->tgid, &e) == 0 &&
	    e.ktime_ns <= r->ktime_ns) {
		e.path[DL_PATH_MAX - 1] = 0;
		found = e.path;
	} else {
		found = proc_exe(r, buf, sizeof(buf));
	}
	free(in->exe[h].path);
	in->exe[h].path = strdup(found);
	in->exe[h].tgid = r->tgid;
	in->exe[h].ino = r->exe_ino;
	return in->exe[h].path && in->exe[h].path[0] ? in->exe[h].path : NULL;
}

/* cgroup v2 ids are kernfs node ids, which cgroupfs accepts as file handles. */
static const char *cgroup_lookup(struct dl_ingest *in, __u64 id)
{
	unsigned h = id % DL_CG_CACHE;
	struct {
		struct file_handle fh;
		__u64 id;
	} hd;
	char buf[PATH_MAX], link[64], *p = buf;
	ssize_t n;
	int fd;

	if (in->cg[h].path && in->cg[h].id == id)
		return in->cg[h].path;
	if (in->cgroup_root_fd < 0)
		return NULL;
	hd.fh.handle_bytes = sizeof(__u64);
	hd.fh.handle_type = 0xfe; /* FILEID_KERNFS */
	hd.id = id;
	fd = open_by_handle_at(in->cgroup_root_fd, &hd.fh, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return NULL;
	buf[n] = 0;
	if (strncmp(p, "/sys/fs/cgroup", 14) == 0)
		p += 14;
	free(in->cg[h].path);
	in->cg[h].path = strdup(*p ? p : "/");
	in->cg[h].id = id;
	return in->cg[h].path;
}

static int64_t policy_key_for(struct dl_ingest *in, __u32 gen)
{
	if (gen == in->gen)
		return in->policy_key;
	if (gen != in->other_gen) {
		in->other_gen = gen;
		if (dl_store_policy_for_gen(in->st, in->boot_key, gen, &in->other_key))
			in->other_key = 0;
	}
	return in->other_key;
}

/* The rule id of a record decided by a generation other than the loaded
 * one (an older policy, or any policy when `unload` drains the ring): read
 * from the store's rules table, remembered per (policy, idx). */
static const char *foreign_rule_id(struct dl_ingest *in, int64_t policy_key, __u32 idx)
{
	unsigned h = ((unsigned)policy_key * 31u + idx) % DL_RULE_CACHE;
	sqlite3_stmt *q;

	if (in->rules[h].policy == policy_key && in->rules[h].idx == idx && in->rules[h].id[0])
		return in->rules[h].id;
	if (sqlite3_prepare_v2(dl_store_sqlite(in->st),
			       "SELECT rule_id FROM rules WHERE policy = ?1 AND idx = ?2", -1, &q, NULL) != SQLITE_OK)
		return NULL;
	sqlite3_bind_int64(q, 1, policy_key);
	sqlite3_bind_int64(q, 2, idx);
	in->rules[h].id[0] = 0;
	if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0)) {
		snprintf(in->rules[h].id, sizeof(in->rules[h].id), "%s", (const char *)sqlite3_column_text(q, 0));
		in->rules[h].policy = policy_key;
		in->rules[h].idx = idx;
	}
	sqlite3_finalize(q);
	return in->rules[h].id[0] ? in->rules[h].id : NULL;
}

static const char *copy_into(char *dst, size_t n, const char *src)
{
	size_t l;

	if (!src)
		return NULL;
	l = strnlen(src, n - 1);
	memcpy(dst, src, l);
	dst[l] = 0;
	return dst;
}

const char *dl_rec_skip_key(unsigned reason)
{
#define DL_X_REC_SKIP_KEY(n, k, s) [DL_REC_##n] = k,
	static const char *const keys[DL_REC_SKIP_MAX] = { DL_REC_SKIPS(DL_X_REC_SKIP_KEY) };

	return reason < DL_REC_SKIP_MAX && keys[reason] ? keys[reason] : "?";
}

const char *dl_rec_skip_name(unsigned reason)
{
#define DL_X_REC_SKIP_NAME(n, k, s) [DL_REC_##n] = s,
	static const char *const names[DL_REC_SKIP_MAX] = { DL_REC_SKIPS(DL_X_REC_SKIP_NAME) };

	return reason < DL_REC_SKIP_MAX && names[reason] ? names[reason] : "?";
}

int dl_record_read(const void *data, __u32 len, struct dl_record *out)
{
	struct { __u16 version, size; } h;

	if (len < DL_RECORD_HDR_LEN)
		return DL_REC_SHORT;
	memcpy(&h, data, sizeof(h));
	if (h.version < DL_ABI_VERSION_MIN || h.version > DL_ABI_VERSION)
		return DL_REC_VERSION;
	if (h.size < DL_RECORD_HDR_LEN || h.size > len)
		return DL_REC_SIZE;
	memset(out, 0, sizeof(*out));
	memcpy(out, data, h.size < sizeof(*out) ? h.size : sizeof(*out));
	return DL_REC_OK;
}

int dl_ingest_add(struct dl_ingest *in, const void *data, __u32 len)
{
	const struct dl_record *r;
	struct dl_pending *p;
	int64_t ts_ns;
	int why;

	if (in->n >= in->cap)
		return -ENOSPC;
	p = &in->batch[in->n];
	r = &p->ev.rec;
	why = dl_record_read(data, len, &p->ev.rec);
	/* A time int64 nanoseconds cannot hold (after 2262) is no real record's. */
	if (why == DL_REC_OK && (r->ktime_ns > (__u64)INT64_MAX ||
				 __builtin_add_overflow(in->boot_wall_ns, (int64_t)r->ktime_ns, &ts_ns)))
		why = DL_REC_TIME;
	if (why != DL_REC_OK) {
		in->bad++;
		in->skipped[why]++;
		return -EPROTO;
	}
	in->n++;
	p->ev.ts_ns = ts_ns;
	p->ev.boot_key = in->boot_key;
	p->ev.policy_key = policy_key_for(in, r->policy_gen);
	p->ev.rule_id = NULL;
	if (r->rule_idx != DL_RULE_NONE && p->ev.policy_key == in->policy_key &&
	    r->rule_idx < in->policy->n_rules) {
		memcpy(p->rule_id, in->policy->rules[r->rule_idx].id, sizeof(p->rule_id));
		p->ev.rule_id = p->rule_id;
	} else if (r->rule_idx != DL_RULE_NONE && p->ev.policy_key) {
		p->ev.rule_id = copy_into(p->rule_id, sizeof(p->rule_id),
					  foreign_rule_id(in, p->ev.policy_key, r->rule_idx));
	}
	p->ev.exe = copy_into(p->exe, sizeof(p->exe), exe_lookup(in, r));
	p->ev.cgroup_path = copy_into(p->cgroup, sizeof(p->cgroup), cgroup_lookup(in, r->cgroup_id));
	return 0;
}

int dl_ingest_commit(struct dl_ingest *in)
{
	int err;

	if (in->n == 0)
		return 0;
	err = dl_store_begin(in->st);
	for (unsigned i = 0; !err && i < in->n; i++)
		err = dl_store_event(in->st, &in->batch[i].ev);
	if (!err)
		err = dl_store_commit(in->st);
	if (err) {
		dl_store_rollback(in->st);
		return err;
	}
	return (int)in->n;
}

void dl_ingest_reset(struct dl_ingest *in)
{
	in->n = 0;
}
