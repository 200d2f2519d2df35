/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Loader: from a parsed policy to programs attached in the kernel.
 *
 * Steps, each its own function (prepare / is it supported? / attach):
 *   1. dl_bpf_lsm_check(): "bpf" in the active LSM list and kernel BTF present.
 *   2. For every BPF object the policy needs (the exe tracker always, then
 *      one object per family used), open its skeleton with the pin root set,
 *      so maps declared LIBBPF_PIN_BY_NAME are created once and shared by all
 *      objects and by later collector runs. Programs whose hook the running
 *      kernel lacks (looked up as bpf_lsm_<hook> in its BTF, never by version)
 *      or whose hook has another arity than theirs (name ending in _a<N>,
 *      hookfit.h) are skipped with a message.
 *   3. Check that the maps already pinned have the layout this build
 *      declares (else nothing changes: `drylock unload` is needed). Load;
 *      attach each program whose link is not pinned yet and pin the link
 *      under <pin>/links/<prog>. A pinned link keeps enforcing after the
 *      collector exits; a restarted collector reuses it instead of attaching a
 *      second copy, and replaces its program when this build's differs
 *      (upgrade.c), unless the engine is locked (then nothing is loaded).
 *   4. Publish the new generation (rulemode.c: dl_gen_publish): zero the
 *      per-rule counters of its half of dl_counts and write its rule modes
 *      into its half of dl_rule_mode, both before any of its rules is
 *      installed; then compile and install the rules (LPM entries carry the
 *      new generation, stale entries are deleted afterwards), then publish
 *      the generation and mode in dl_config. The previous generation keeps
 *      deciding and counting in the other half meanwhile (drylock_abi.h,
 *      DL_GEN_SLOT), so no count is lost or mixed and no rule reads another
 *      generation's mode.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <dirent.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "collector.h"
#include "names.h"
#include "exe.skel.h"
#include "loader-family.h"
#include "hookfit.h"
#include "upgrade.h"
#include "rulemode.h"

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* Warnings and the verifier log matter when a load fails; debug chatter does not. */
	if (level == LIBBPF_DEBUG && !getenv("DRYLOCK_DEBUG_BPF"))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

int dl_bpf_lsm_check(char *why, size_t whylen)
{
	char buf[512] = "";
	FILE *f;
	struct btf *btf;

	f = fopen("/sys/kernel/security/lsm", "re");
	if (!f) {
		snprintf(why, whylen, "cannot read /sys/kernel/security/lsm (%s): securityfs not mounted or no LSM support",
			 strerror(errno));
		return -ENOENT;
	}
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	buf[strcspn(buf, "\n")] = 0;
	{
		char *save = NULL, *tok;
		bool found = false;
		char tmp[512];

		snprintf(tmp, sizeof(tmp), "%s", buf);
		for (tok = strtok_r(tmp, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
			if (strcmp(tok, "bpf") == 0)
				found = true;
		if (!found) {
			snprintf(why, whylen, "BPF LSM is not active (lsm list: %s); boot with lsm=%s,bpf",
				 buf, buf[0] ? buf : "...");
			return -EOPNOTSUPP;
		}
	}
	btf = btf__load_vmlinux_btf();
	if (!btf) {
		snprintf(why, whylen, "kernel BTF not available (/sys/kernel/btf/vmlinux): CONFIG_DEBUG_INFO_BTF is needed");
		return -ENOENT;
	}
	btf__free(btf);
	return 0;
}

DL_SKEL_FNS(exe)

#define DL_X_LOADER_DECL(n, v, s, stem) extern const struct dl_loader_family dl_loader_family_##stem;
DL_FAMILIES(DL_X_LOADER_DECL)
#define DL_X_LOADER_ROW(n, v, s, stem) [DL_FAMILY_##n] = &dl_loader_family_##stem,
const struct dl_loader_family *const dl_loader_families[DL_FAMILY_MAX] = { DL_FAMILIES(DL_X_LOADER_ROW) };

/* The exe tracker (always loaded, family 0) and one object per family. */
static const struct dl_loader_family exe_object = { DL_SKEL_INIT(exe) };

static const struct dl_loader_family *object_def(unsigned i)
{
	return i == 0 ? &exe_object : dl_loader_families[i];
}

int dl_lsm_hooks(int (*cb)(int family, const char *hook, void *ctx), void *ctx)
{
	for (unsigned i = 0; i < DL_FAMILY_MAX; i++) {
		const struct dl_loader_family *d = object_def(i);
		struct bpf_program *prog;
		void *skel;
		int err = 0;

		if (!d)
			continue;
		skel = d->open(NULL);
		if (!skel)
			return -errno;
		bpf_object__for_each_program(prog, d->obj(skel)) {
			const char *sec = bpf_program__section_name(prog);

			if (sec && !strncmp(sec, "lsm/", 4) && (err = cb((int)i, sec + 4, ctx)))
				break;
		}
		d->destroy(skel);
		if (err)
			return err;
	}
	return 0;
}

static int mkdir_p(const char *path)
{
	char tmp[PATH_MAX];

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int check_bpffs(const char *pin_dir)
{
	char parent[PATH_MAX];
	struct statfs sf;
	char *slash;

	snprintf(parent, sizeof(parent), "%s", pin_dir);
	slash = strrchr(parent, '/');
	if (slash && slash != parent)
		*slash = 0;
	if (statfs(parent, &sf) < 0) {
		dl_log("load: %s: %s (is bpffs mounted? mount -t bpf bpf /sys/fs/bpf)", parent, strerror(errno));
		return -errno;
	}
	if (sf.f_type != BPF_FS_MAGIC) {
		dl_log("load: %s is not a bpffs mount (mount -t bpf bpf %s)", parent, parent);
		return -ENOTDIR;
	}
	return 0;
}

static int pin_fd(const char *pin_dir, const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", pin_dir, name);
	return bpf_obj_get(path);
}

/* A read-only fd on a pinned map: what everything but a policy load needs
 * of dl_config and the families' maps, and what a locked engine still
 * grants (family self refuses writable fds on them after `drylock lock`). */
static int pin_fd_ro(const char *pin_dir, const char *name)
{
	LIBBPF_OPTS(bpf_obj_get_opts, o, .file_flags = BPF_F_RDONLY);
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", pin_dir, name);
	return bpf_obj_get_opts(path, &o);
}

int dl_pinned_open_map(const char *pin_dir, const char *name, bool writable)
{
	int fd = writable ? pin_fd(pin_dir, name) : pin_fd_ro(pin_dir, name);

	return fd < 0 ? -errno : fd;
}

/* rw: writable fds on dl_config and the families' maps (a policy load). */
static int pinned_open(const char *pin_dir, struct dl_pinned *p, bool rw)
{
	int (*cfg_open)(const char *, const char *) = rw ? pin_fd : pin_fd_ro;
	struct { const char *name; int *fd; bool required; int (*open)(const char *, const char *); } m[] = {
		{ "dl_config", &p->config_fd, true, cfg_open },
		{ "dl_seq", &p->seq_fd, true, pin_fd },
		{ "dl_drops", &p->drops_fd, true, pin_fd },
		{ "dl_counts", &p->counts_fd, true, pin_fd },
		{ "dl_unmatched", &p->unmatched_fd, true, pin_fd },
		{ "dl_events", &p->events_fd, true, pin_fd },
		{ "dl_exe", &p->exe_fd, false, pin_fd },
		{ "dl_rule_mode", &p->rule_mode_fd, false, cfg_open },
	};

	memset(p, 0, sizeof(*p));
	snprintf(p->pin_dir, sizeof(p->pin_dir), "%s", pin_dir);
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		*m[i].fd = -1;
	for (unsigned f = 0; f < DL_FAMILY_MAX; f++)
		for (unsigned j = 0; j < DL_FAMILY_MAPS_MAX; j++)
			p->fam_fd[f][j] = -1;
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		*m[i].fd = m[i].open(pin_dir, m[i].name);
		if (*m[i].fd < 0 && m[i].required) {
			int err = -errno;

			dl_pinned_close(p);
			return err ? err : -ENOENT;
		}
	}
	for (unsigned f = 1; f < DL_FAMILY_MAX; f++)
		for (unsigned j = 0; dl_loader_families[f] && j < DL_FAMILY_MAPS_MAX && dl_loader_families[f]->maps[j]; j++)
			p->fam_fd[f][j] = (rw ? pin_fd : pin_fd_ro)(pin_dir, dl_loader_families[f]->maps[j]);
	return 0;
}

int dl_pinned_open(const char *pin_dir, struct dl_pinned *p)
{
	return pinned_open(pin_dir, p, false);
}

bool dl_family_loaded(const struct dl_pinned *p, unsigned f)
{
	return f > 0 && f < DL_FAMILY_MAX && p->fam_fd[f][0] >= 0;
}

void dl_pinned_close(struct dl_pinned *p)
{
	int *fds[] = { &p->config_fd, &p->seq_fd, &p->drops_fd, &p->counts_fd,
		       &p->unmatched_fd, &p->events_fd, &p->exe_fd, &p->rule_mode_fd };

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
	for (unsigned f = 0; f < DL_FAMILY_MAX; f++)
		for (unsigned j = 0; j < DL_FAMILY_MAPS_MAX; j++) {
			if (p->fam_fd[f][j] >= 0)
				close(p->fam_fd[f][j]);
			p->fam_fd[f][j] = -1;
		}
}

int dl_config_read(const struct dl_pinned *p, struct dl_config *c)
{
	__u32 zero = 0;

	if (bpf_map_lookup_elem(p->config_fd, &zero, c) < 0)
		return -errno;
	return 0;
}

int dl_engine_locked(const struct dl_pinned *p)
{
	struct dl_config c;
	int err = dl_config_read(p, &c);

	return err ? err : c.locked == 1;
}

int dl_config_write(const struct dl_pinned *p, const struct dl_config *c)
{
	__u32 zero = 0;
	int fd = dl_pinned_open_map(p->pin_dir, "dl_config", true), err = 0;

	if (fd < 0)
		return fd;
	if (bpf_map_update_elem(fd, &zero, c, BPF_ANY) < 0)
		err = -errno;
	close(fd);
	return err;
}

int dl_read_drops(const struct dl_pinned *p, __u32 family, uint64_t *out)
{
	__u64 v = 0;

	if (bpf_map_lookup_elem(p->drops_fd, &family, &v) < 0)
		return -errno;
	*out = v;
	return 0;
}

int dl_read_unmatched(const struct dl_pinned *p, __u32 family, uint64_t *out)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *pc;
	uint64_t sum = 0;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	pc = calloc((size_t)ncpu, sizeof(*pc));
	if (!pc)
		return -ENOMEM;
	if (bpf_map_lookup_elem(p->unmatched_fd, &family, pc) < 0) {
		int err = -errno;

		free(pc);
		return err;
	}
	for (int i = 0; i < ncpu; i++)
		sum += pc[i];
	free(pc);
	*out = sum;
	return 0;
}

int dl_rule_modes_read(const struct dl_pinned *p, __u32 gen, struct dl_rule_mode *half)
{
	memset(half, 0, DL_MAX_RULES * sizeof(*half));
	if (p->rule_mode_fd < 0)
		return -ENOENT;
	for (__u32 i = 0; i < DL_MAX_RULES; i++) {
		__u32 slot = DL_GEN_SLOT(gen, i);

		if (bpf_map_lookup_elem(p->rule_mode_fd, &slot, &half[i]) < 0)
			return -errno;
	}
	return 0;
}

int dl_rule_counts_read(const struct dl_pinned *p, __u32 gen, __u32 rule_idx, uint64_t out[DL_VERDICT_MAX])
{
	int ncpu = libbpf_num_possible_cpus();
	__u32 slot = DL_GEN_SLOT(gen, rule_idx);
	struct dl_count *pc;

	memset(out, 0, DL_VERDICT_MAX * sizeof(*out));
	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	pc = calloc((size_t)ncpu, sizeof(*pc));
	if (!pc)
		return -ENOMEM;
	if (bpf_map_lookup_elem(p->counts_fd, &slot, pc) < 0) {
		int err = -errno;

		free(pc);
		return err;
	}
	for (int i = 0; i < ncpu; i++)
		for (int v = 0; v < DL_VERDICT_MAX; v++)
			out[v] += pc[i].n[v];
	free(pc);
	return 0;
}

int dl_rule_mode_write(const struct dl_pinned *p, __u32 rule_idx, const struct dl_rule_mode *m)
{
	__u32 slot = DL_GEN_SLOT(m->gen, rule_idx);
	int fd, err = 0;

	if (p->rule_mode_fd < 0)
		return -ENOENT;
	if (rule_idx >= DL_MAX_RULES)
		return -EINVAL;
	/* p's fd is read-only outside a policy load (a locked engine grants
	 * no writable fd on it: family self) */
	fd = dl_pinned_open_map(p->pin_dir, "dl_rule_mode", true);
	if (fd < 0)
		return fd;
	if (bpf_map_update_elem(fd, &slot, m, BPF_ANY) < 0)
		err = -errno;
	close(fd);
	return err;
}

int dl_install_rule_set(int fd, const void *set, int compile_err, struct dl_diags *diags, const char *family)
{
	__u32 zero = 0;
	int err;

	if (compile_err) {
		dl_diags_print(diags, stderr);
		dl_diags_free(diags);
		return compile_err;
	}
	dl_diags_free(diags);
	if (bpf_map_update_elem(fd, &zero, set, BPF_ANY) < 0) {
		err = -errno;
		dl_log("load: %s rules: update: %s", family, strerror(errno));
		return err;
	}
	return 0;
}

/* What dl_gen_publish's steps act on (rulemode.h). */
struct gen_ctx {
	struct dl_pinned *p;
	const struct dl_policy *policy;
	struct dl_config *cfg;
};

static int gen_zero_counts(void *ctx, __u32 gen)
{
	struct gen_ctx *g = ctx;
	int ncpu = libbpf_num_possible_cpus();
	struct dl_count *zero;
	int err = 0;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	zero = calloc(ncpu, sizeof(*zero));
	if (!zero)
		return -ENOMEM;
	for (__u32 i = 0; i < DL_MAX_RULES && !err; i++) {
		__u32 slot = DL_GEN_SLOT(gen, i);

		if (bpf_map_update_elem(g->p->counts_fd, &slot, zero, BPF_ANY) < 0)
			err = -errno;
	}
	free(zero);
	if (err)
		dl_log("load: zero the counters of generation %u: %s", gen, strerror(-err));
	return err;
}

/* Every slot of gen's half: the policy's n rules, then empty entries, so
 * no entry of generation gen - 2 stays behind in it. */
static int gen_write_modes(void *ctx, __u32 gen, const struct dl_rule_mode *m, size_t n)
{
	struct gen_ctx *g = ctx;
	struct dl_rule_mode empty = { 0 };

	for (__u32 i = 0; i < DL_MAX_RULES; i++) {
		__u32 slot = DL_GEN_SLOT(gen, i);

		if (bpf_map_update_elem(g->p->rule_mode_fd, &slot, i < n ? &m[i] : &empty, BPF_ANY) < 0) {
			int err = -errno;

			dl_log("load: write the rule modes of generation %u: %s", gen, strerror(errno));
			return err;
		}
	}
	return 0;
}

static int gen_install_rules(void *ctx, __u32 gen)
{
	struct gen_ctx *g = ctx;
	int err;

	for (unsigned f = 1; f < DL_FAMILY_MAX; f++) {
		const struct dl_loader_family *d = dl_loader_families[f];
		struct dl_policy empty = { 0 };

		if (!d)
			continue;
		if (g->policy->families & (1u << f)) {
			for (unsigned j = 0; j < DL_FAMILY_MAPS_MAX && d->maps[j]; j++) {
				if (g->p->fam_fd[f][j] < 0) {
					dl_log("load: %s: map %s is not pinned", dl_family_name(f), d->maps[j]);
					return -ENOENT;
				}
			}
			err = d->install(g->p->fam_fd[f], g->policy, gen);
			if (err)
				return err;
		} else if (dl_family_loaded(g->p, f)) {
			/* The family is no longer in the policy: it decides nothing. */
			d->install(g->p->fam_fd[f], &empty, gen);
		}
	}
	return 0;
}

static int gen_publish(void *ctx, __u32 gen)
{
	struct gen_ctx *g = ctx;
	int err;

	g->cfg->policy_gen = gen;
	err = dl_config_write(g->p, g->cfg);
	if (err)
		dl_log("load: write config: %s", strerror(-err));
	return err;
}

static void log_dropped_switch(const struct dl_rule_mode *old, const struct dl_rule *now, void *ctx)
{
	(void)ctx;
	dl_log("load: rule %.*s: its runtime mode %s is dropped: a reload takes the policy file's modes "
	       "(%s)", (int)strnlen(old->id, sizeof(old->id)), old->id, dl_rule_mode_name(old->mode),
	       now ? (now->mode == DL_RULE_MODE_FAMILY ? "it follows its family" :
		      now->mode == DL_RULE_MODE_ENFORCE ? "mode=enforce" : "mode=permissive")
		   : "the new policy has no such rule");
}

static bool pinned_exists(const char *pin_dir, const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", pin_dir, name);
	return access(path, F_OK) == 0;
}

/* A pinned ring buffer keeps its size (and its unread records): every object
 * must declare that size for libbpf to reuse it. */
static __u32 ring_size(const char *pin_dir, __u32 wanted)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	static bool said;
	int fd = pin_fd(pin_dir, "dl_events");

	if (fd < 0)
		return wanted;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0) {
		close(fd);
		return wanted;
	}
	close(fd);
	if (info.max_entries != wanted && !said) {
		said = true;
		dl_log("load: the pinned ring buffer keeps its size of %u bytes (asked for %u; "
		       "`drylock unload` first to change it)", info.max_entries, wanted);
	}
	return info.max_entries;
}

static int read_init_mnt_ns(__u64 *ino)
{
	struct stat st;

	if (stat("/proc/1/ns/mnt", &st) < 0)
		return -errno;
	*ino = st.st_ino;
	return 0;
}

/*
 * A BPF object being loaded: the skeleton's embedded object, or, for tests
 * (tests/vm/guest/upgrade.sh), <$DRYLOCK_BPF_OBJ_DIR>/<stem>.bpf.o when that
 * variable is set and the file exists: the way a test plays a newer build.
 */
struct dl_obj {
	const struct dl_loader_family *d;
	void *skel;
	struct bpf_object *file;
};

static struct bpf_object *obj_of(const struct dl_obj *o)
{
	return o->file ? o->file : o->d->obj(o->skel);
}

static int obj_open(struct dl_obj *o, const struct dl_loader_family *d, const char *stem,
		    const struct bpf_object_open_opts *oo)
{
	const char *dir = getenv("DRYLOCK_BPF_OBJ_DIR");
	char path[PATH_MAX];

	o->d = d;
	if (dir && *dir) {
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s.bpf.o", dir, stem);
		if (stat(path, &st) == 0) {
			/* code for the kernel: only from a file only root can change */
			if (st.st_uid != 0 || (st.st_mode & 022) || !S_ISREG(st.st_mode)) {
				dl_err("load: %s: not a regular file owned by root and writable only by it; "
				       "not loaded (DRYLOCK_BPF_OBJ_DIR)", path);
				return -EPERM;
			}
			dl_log("load: %s from %s (DRYLOCK_BPF_OBJ_DIR)", stem, path);
			o->file = bpf_object__open_file(path, oo);
			return o->file ? 0 : -errno;
		}
	}
	o->skel = d->open(oo);
	return o->skel ? 0 : -errno;
}

static int obj_load(struct dl_obj *o)
{
	return o->file ? bpf_object__load(o->file) : o->d->load(o->skel);
}

static void obj_close(struct dl_obj *o)
{
	if (o->file)
		bpf_object__close(o->file);
	else if (o->skel)
		o->d->destroy(o->skel);
	memset(o, 0, sizeof(*o));
}

/* Attach prog and pin its link at lpath, or, when a link is pinned there
 * already, keep it or replace its program by this one (upgrade.c). */
static int attach_or_upgrade(struct bpf_program *prog, const char *lpath, struct dl_upgrades *upg)
{
	const char *sec = bpf_program__section_name(prog);
	struct bpf_link *link;
	struct dl_upgrade u;
	int err;

	if (access(lpath, F_OK) == 0) {
		err = dl_upgrade_link(lpath, prog, sec && !strncmp(sec, "lsm/", 4) ? sec + 4 : "?", &u);
		if (err <= 0)
			return err;
		dl_log("load: upgraded %s (hook %s): program tag %s -> %s, %s (link id %u -> %u)", u.prog, u.hook,
		       u.old_tag, u.new_tag, u.how, u.old_link_id, u.new_link_id);
		if (upg && upg->n < DL_UPGRADES_MAX)
			upg->u[upg->n++] = u;
		return 0;
	}
	link = bpf_program__attach_lsm(prog);
	if (!link) {
		err = -errno;
		dl_log("load: attach %s: %s", bpf_program__name(prog), strerror(errno));
		return err;
	}
	err = bpf_link__pin(link, lpath);
	bpf_link__destroy(link); /* the pin holds it now */
	if (err)
		dl_log("load: pin %s: %s", lpath, strerror(-err));
	return err;
}

int dl_load(const char *pin_dir, const struct dl_policy *policy, int mode, __u32 ringbuf_size,
	    uint64_t seq_floor, struct dl_pinned *p, __u32 *gen, bool *fresh, struct dl_upgrades *upg)
{
#define DL_X_STEM(n, v, s, stem) [DL_FAMILY_##n] = #stem,
	static const char *const stems[DL_FAMILY_MAX] = { [0] = "exe", DL_FAMILIES(DL_X_STEM) };
	struct dl_obj objs[DL_FAMILY_MAX];
	char links_dir[PATH_MAX];
	struct dl_config cfg;
	struct dl_rule_mode *old = NULL, *modes = NULL;
	size_t n_old = 0, carried;
	struct btf *btf = NULL;
	bool locked;
	int err;

	memset(objs, 0, sizeof(objs));
	if (upg)
		memset(upg, 0, sizeof(*upg));
	libbpf_set_print(libbpf_quiet);
	err = check_bpffs(pin_dir);
	if (err)
		return err;
	snprintf(links_dir, sizeof(links_dir), "%s/links", pin_dir);
	err = mkdir_p(links_dir);
	if (err) {
		dl_log("load: mkdir %s: %s", links_dir, strerror(-err));
		return err;
	}
	*fresh = !pinned_exists(pin_dir, "dl_config");
	if (!*fresh) {
		struct dl_pinned cur;

		if (dl_pinned_open(pin_dir, &cur) == 0) {
			err = dl_engine_locked(&cur) == 1 ? -EPERM : 0;
			dl_pinned_close(&cur);
			if (err) {
				dl_log("load: the engine in %s is locked until reboot (`drylock lock`): "
				       "no program or rule can be loaded or replaced", pin_dir);
				return err;
			}
		}
	}
	locked = false; /* a locked engine was refused above (collect.c reuses it) */
	if (upg)
		upg->locked = false;

	btf = btf__load_vmlinux_btf();
	if (!btf) {
		dl_log("load: kernel BTF: %s", strerror(errno));
		return -errno ? -errno : -ENOENT;
	}

	/* Open every object and check its pinned maps before loading any: a
	 * build that cannot share them changes nothing. */
	for (unsigned i = 0; i < DL_FAMILY_MAX && !locked; i++) {
		const struct dl_loader_family *d = object_def(i);
		const char *name = i ? dl_family_name(i) : "exe";
		LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = pin_dir);
		struct bpf_program *prog;
		struct bpf_map *map;

		if (!d || (i && !(policy->families & (1u << i))))
			continue;
		err = obj_open(&objs[i], d, stems[i] ? stems[i] : name, &oo);
		if (err) {
			dl_log("load: open %s: %s", name, strerror(-err));
			goto out;
		}
		bpf_object__for_each_map(map, obj_of(&objs[i]))
			if (strcmp(bpf_map__name(map), "dl_events") == 0)
				bpf_map__set_max_entries(map, ring_size(pin_dir, ringbuf_size));
		bpf_object__for_each_program(prog, obj_of(&objs[i])) {
			char why[160];

			if (!dl_prog_fits(btf, prog, why, sizeof(why))) {
				dl_log("load: %s: program %s skipped: %s", name, bpf_program__name(prog), why);
				bpf_program__set_autoload(prog, false);
			}
		}
		err = dl_upgrade_check_maps(obj_of(&objs[i]));
		if (err)
			goto out;
	}
	for (unsigned i = 0; i < DL_FAMILY_MAX; i++) {
		const char *name = i ? dl_family_name(i) : "exe";
		struct bpf_program *prog;

		if (!objs[i].d)
			continue;
		err = obj_load(&objs[i]);
		if (err) {
			dl_log("load: %s: %s%s", name, strerror(-err),
			       err == -EPERM ? " (the kernel refused the BPF LSM program: see `drylock check`)" : "");
			goto out;
		}
		bpf_object__for_each_program(prog, obj_of(&objs[i])) {
			char lpath[PATH_MAX + 64];

			if (!bpf_program__autoload(prog))
				continue;
			snprintf(lpath, sizeof(lpath), "%s/%s", links_dir, bpf_program__name(prog));
			err = attach_or_upgrade(prog, lpath, upg);
			if (err)
				goto out;
		}
	}

	err = pinned_open(pin_dir, p, true);
	if (err) {
		dl_log("load: open pinned maps in %s: %s", pin_dir, strerror(-err));
		goto out;
	}
	err = dl_config_read(p, &cfg);
	if (err)
		goto out;
	if (*fresh) {
		__u32 zero = 0;
		__u64 seq = seq_floor;

		memset(&cfg, 0, sizeof(cfg));
		/* (boot, seq) must stay unique across unload and load */
		if (bpf_map_update_elem(p->seq_fd, &zero, &seq, BPF_ANY) < 0) {
			err = -errno;
			dl_log("load: set the sequence counter: %s", strerror(errno));
			goto out;
		}
	}
	read_init_mnt_ns(&cfg.init_mnt_ns);
	if (mode >= 0)
		for (int f = 0; f < DL_FAMILY_MAX; f++)
			cfg.mode[f] = mode;
	if (p->rule_mode_fd < 0) {
		err = -ENOENT;
		dl_log("load: map dl_rule_mode is not pinned in %s (an engine of an older build: "
		       "`drylock unload` first)", pin_dir);
		goto out;
	}
	old = calloc(DL_MAX_RULES, sizeof(*old));
	modes = calloc(DL_MAX_RULES, sizeof(*modes));
	if (!old || !modes) {
		err = -ENOMEM;
		goto out;
	}
	/* Runtime switches of the previous generation: kept for the same
	 * policy (a restart), dropped and logged for another (a reload). */
	if (!*fresh && cfg.policy_gen && dl_rule_modes_read(p, cfg.policy_gen, old) == 0)
		n_old = DL_MAX_RULES;
	carried = dl_rule_modes_build(policy, cfg.policy_gen + 1, n_old ? old : NULL, n_old, cfg.policy_gen,
				      modes, log_dropped_switch, NULL);
	if (carried)
		dl_log("load: the same policy again: %zu rule mode%s switched at runtime kept", carried,
		       carried == 1 ? "" : "s");
	{
		static const struct dl_gen_ops ops = {
			.zero_counts = gen_zero_counts,
			.write_modes = gen_write_modes,
			.install_rules = gen_install_rules,
			.publish = gen_publish,
		};
		struct gen_ctx g = { .p = p, .policy = policy, .cfg = &cfg };

		err = dl_gen_publish(&ops, &g, cfg.policy_gen + 1, modes, policy->n_rules);
		if (err)
			goto out;
	}
	*gen = cfg.policy_gen;
out:
	free(old);
	free(modes);
	/* Our program and map fds go; pinned links and maps stay. */
	for (unsigned i = 0; i < DL_FAMILY_MAX; i++)
		obj_close(&objs[i]);
	btf__free(btf);
	if (err)
		dl_pinned_close(p);
	return err;
}

int dl_rm_pins(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int err = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		char path[PATH_MAX];
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
			int e = dl_rm_pins(path);

			if (e && !err)
				err = e;
			continue;
		}
		if (unlink(path) < 0 && !err)
			err = -errno;
	}
	closedir(d);
	if (rmdir(dir) < 0 && !err)
		err = -errno;
	return err;
}

int dl_unload(const char *pin_dir)
{
	char links[PATH_MAX];
	int err;

	/* Links first, so nothing decides with half-removed maps. */
	snprintf(links, sizeof(links), "%s/links", pin_dir);
	err = dl_rm_pins(links);
	if (err)
		return err;
	return dl_rm_pins(pin_dir);
}
