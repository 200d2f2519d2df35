/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `drylock check`: every prerequisite of BPF LSM on this host, each yes or
 * no, and for each no the fix, instead of stopping at the first.
 *
 * The checks, in the order a person would fix them: the kernel is built
 * with CONFIG_BPF_LSM (its config from /boot, /lib/modules/<release> or
 * /proc/config.gz), securityfs
 * is mounted, "bpf" is in the active LSM list (if not: the lsm= line for the
 * boot loader, which is the active list plus bpf, and update-grub), bpffs is
 * mounted where the pins go, the kernel has BTF, each LSM hook drylock's
 * programs attach to is a bpf_lsm_<hook> function in that BTF (the hooks
 * are read from the built skeletons, never listed here), memlock (which
 * matters only before 5.11, when BPF memory was charged to RLIMIT_MEMLOCK),
 * an audit daemon registered with the kernel (optional: without one the
 * records go to the kernel log), the database directory writable, and last
 * a real load and attach of a two-instruction LSM program that allows
 * everything, detached again at once. That test needs no bpffs and no
 * securityfs, so its answer is about the kernel alone: EPERM with an empty
 * verifier log means the kernel refuses BPF trampolines (some VMs and
 * sandboxes do) and no configuration here will change that.
 *
 * Printing and the pure parts (config text, lsm= line, JSON) are in
 * doctorfmt.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <libaudit.h>
#include <zlib.h>

#include "collector.h"
#include "doctorfmt.h"
#include "names.h"

#define DL_CHECKS_MAX (12 + DL_FAMILY_MAX)

#ifndef SECURITYFS_MAGIC
#define SECURITYFS_MAGIC 0x73636673
#endif

/* Every line is cut to its field's size: a pin directory or verifier log
 * longer than that is still recognisable, so truncation is fine here. */
#pragma GCC diagnostic ignored "-Wformat-truncation"
#define SET(buf, ...) snprintf((buf), sizeof(buf), __VA_ARGS__)

struct doctor {
	struct dl_check c[DL_CHECKS_MAX];
	size_t n;
	struct utsname uts;
	char *config;            /* kernel config text, NULL if none found */
	size_t config_len;
	char config_path[PATH_MAX];
	char lsm[512];           /* active LSM list, "" if unknown */
	struct btf *btf;
	/* hooks per family, from the skeletons */
	char hooks[DL_FAMILY_MAX][256];
	char missing[DL_FAMILY_MAX][256];
	unsigned n_hooks[DL_FAMILY_MAX], n_missing[DL_FAMILY_MAX];
	char first_hook[64];     /* one hook in BTF, for the load test */
};

static struct dl_check *add(struct doctor *d, const char *name, const char *title, bool required)
{
	struct dl_check *c = &d->c[d->n++];

	memset(c, 0, sizeof(*c));
	SET(c->name, "%s", name);
	SET(c->title, "%s", title);
	c->required = required;
	return c;
}

static int libbpf_silent(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level, (void)fmt, (void)ap;
	return 0;
}

/* Read a whole file, gzip-compressed or not (zlib reads both). */
static char *read_all(const char *path, size_t *len)
{
	gzFile g = gzopen(path, "rb");
	size_t cap = 1 << 16, n = 0;
	char *buf;
	int r;

	if (!g)
		return NULL;
	buf = malloc(cap);
	while (buf && (r = gzread(g, buf + n, (unsigned)(cap - n - 1))) > 0) {
		n += (size_t)r;
		if (cap - n < 4096) {
			char *nb = realloc(buf, cap * 2);

			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
	}
	gzclose(g);
	if (buf) {
		buf[n] = 0;
		*len = n;
	}
	return buf;
}

static void check_config(struct doctor *d)
{
	struct dl_check *c = add(d, "config_bpf_lsm", "kernel built with CONFIG_BPF_LSM", true);
	char val[64];
	int r;

	/* where distributions put it: /boot (Debian 12, Fedora, Ubuntu), the
	 * modules directory (Debian 13 and later, Arch), or in the kernel */
	const char *const where[] = { "/boot/config-%s", "/lib/modules/%s/config", "/proc/config.gz" };

	for (size_t i = 0; i < sizeof(where) / sizeof(where[0]) && !d->config; i++) {
		SET(d->config_path, where[i], d->uts.release);
		d->config = read_all(d->config_path, &d->config_len);
	}
	if (!d->config) {
		/* unknown, not wrong: the load test below decides */
		c->required = false;
		c->skipped = true;
		SET(c->detail, "cannot tell: no /boot/config-%s, /lib/modules/%s/config or /proc/config.gz "
		    "(the load test below decides)", d->uts.release, d->uts.release);
		return;
	}
	r = dl_kconfig_get(d->config, d->config_len, "CONFIG_BPF_LSM", val, sizeof(val));
	c->ok = r == 1 && !strcmp(val, "y");
	if (c->ok)
		SET(c->detail, "CONFIG_BPF_LSM=y in %s", d->config_path);
	else
		SET(c->detail, "%s says %s", d->config_path,
		    r == 1 ? "CONFIG_BPF_LSM is not y" : r == 0 ? "CONFIG_BPF_LSM is not set" :
		    "nothing about CONFIG_BPF_LSM (kernel older than 5.7?)");
	SET(c->fix, "a kernel built with CONFIG_BPF_LSM=y (Debian 12, Ubuntu 22.04 and Fedora kernels have it)");
}

static bool on_fs(const char *path, long magic)
{
	struct statfs sf;

	return statfs(path, &sf) == 0 && sf.f_type == magic;
}

static void check_securityfs(struct doctor *d)
{
	struct dl_check *c = add(d, "securityfs", "securityfs mounted on /sys/kernel/security", true);

	c->ok = on_fs("/sys/kernel/security", SECURITYFS_MAGIC);
	SET(c->detail, "%s", c->ok ? "mounted" : "not mounted: the active LSM list cannot be read");
	SET(c->fix, "mount -t securityfs securityfs /sys/kernel/security");
}

/* The lsm= argument of the running kernel's command line, if any. */
static void cmdline_lsm(char *out, size_t n)
{
	char buf[4096];
	size_t len;
	FILE *f = fopen("/proc/cmdline", "re");

	out[0] = 0;
	if (!f)
		return;
	len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[len] = 0;
	for (char *tok = strtok(buf, " \n"); tok; tok = strtok(NULL, " \n"))
		if (!strncmp(tok, "lsm=", 4))
			snprintf(out, n, "%s", tok);
}

static void check_lsm_active(struct doctor *d)
{
	struct dl_check *c = add(d, "bpf_lsm_active", "bpf in the active LSM list (/sys/kernel/security/lsm)", true);
	char line[600], cmd[512], cfg[512] = "";
	const char *from = d->lsm;
	FILE *f = fopen("/sys/kernel/security/lsm", "re");
	int open_err = errno;

	if (f) {
		if (!fgets(d->lsm, sizeof(d->lsm), f))
			d->lsm[0] = 0;
		fclose(f);
		d->lsm[strcspn(d->lsm, "\n")] = 0;
	}
	if (d->config)
		dl_kconfig_get(d->config, d->config_len, "CONFIG_LSM", cfg, sizeof(cfg));
	cmdline_lsm(cmd, sizeof(cmd));
	if (!f) {
		c->skipped = true;
		SET(c->detail, "not known: %s", strerror(open_err));
		if (!cfg[0])
			return;
		SET(c->detail, "not known (securityfs); the kernel's default CONFIG_LSM=%s %s%s%s", cfg,
		    dl_lsm_has_bpf(cfg) ? "has bpf" : "has no bpf",
		    cmd[0] ? " but the kernel command line has " : "", cmd);
		/* the compiled-in default order is the next best base for the line */
		from = cfg;
	} else {
		c->ok = dl_lsm_has_bpf(d->lsm);
		SET(c->detail, "%s%s%s%s", d->lsm[0] ? d->lsm : "(empty)", c->ok ? "" : " (no bpf)",
		    cmd[0] ? "; the kernel command line has " : "", cmd);
		if (c->ok)
			return;
	}
	if (dl_lsm_line(from, line, sizeof(line)))
		SET(line, "lsm=<the LSMs you use>,bpf");
	SET(c->fix,
	    "add %s to GRUB_CMDLINE_LINUX in /etc/default/grub%s\n"
	    "(%s, plus bpf), then run update-grub and reboot",
	    line, cmd[0] ? ", replacing the lsm= there" : "",
	    from == cfg ? "the kernel's default order from CONFIG_LSM" : "the active order");
}

static void check_bpffs(struct doctor *d, const char *pin_dir)
{
	struct dl_check *c = add(d, "bpffs", "bpffs mounted where the pins go", true);
	char parent[PATH_MAX];
	char *slash;

	SET(parent, "%s", pin_dir);
	slash = strrchr(parent, '/');
	if (slash && slash != parent)
		*slash = 0;
	c->ok = on_fs(parent, BPF_FS_MAGIC);
	SET(c->detail, "%s %s (pin directory %s)", parent, c->ok ? "is bpffs" : "is not a bpffs mount", pin_dir);
	SET(c->fix, "mount -t bpf bpf %s", parent);
}

static int hook_cb(int family, const char *hook, void *ctx)
{
	struct doctor *d = ctx;
	char fn[128];
	size_t o;

	if (family < 0 || family >= DL_FAMILY_MAX)
		return 0;
	d->n_hooks[family]++;
	o = strlen(d->hooks[family]);
	snprintf(d->hooks[family] + o, sizeof(d->hooks[family]) - o, "%s%s", o ? ", " : "", hook);
	snprintf(fn, sizeof(fn), "bpf_lsm_%s", hook);
	if (btf__find_by_name_kind(d->btf, fn, BTF_KIND_FUNC) > 0) {
		if (!d->first_hook[0])
			SET(d->first_hook, "%s", hook);
		return 0;
	}
	d->n_missing[family]++;
	o = strlen(d->missing[family]);
	snprintf(d->missing[family] + o, sizeof(d->missing[family]) - o, "%s%s", o ? ", " : "", fn);
	return 0;
}

static void check_btf(struct doctor *d)
{
	struct dl_check *c = add(d, "btf", "kernel BTF (/sys/kernel/btf/vmlinux)", true);
	int err;

	d->btf = btf__load_vmlinux_btf();
	err = d->btf ? 0 : -errno;
	c->ok = d->btf != NULL;
	SET(c->detail, "%s", c->ok ? "present" : strerror(-err));
	SET(c->fix, "a kernel built with CONFIG_DEBUG_INFO_BTF=y");
	if (!d->btf)
		return;
	err = dl_lsm_hooks(hook_cb, d);
	for (int fam = 0; fam < DL_FAMILY_MAX; fam++) {
		char name[40], title[160];
		struct dl_check *h;

		if (!d->n_hooks[fam])
			continue;
		SET(name, "hooks_%s", fam ? dl_family_name((unsigned)fam) : "exe");
		SET(title, "LSM hooks of %s in BTF",
		    fam ? dl_family_name((unsigned)fam) : "the executable tracker");
		/* a missing hook is skipped by the loader (its operation goes
		 * unchecked); only a family with none of its hooks cannot work */
		h = add(d, name, title, !d->n_missing[fam] || d->n_missing[fam] == d->n_hooks[fam]);
		h->ok = !d->n_missing[fam];
		if (h->ok)
			SET(h->detail, "%s", d->hooks[fam]);
		else
			SET(h->detail, "missing %s (drylock skips those programs)", d->missing[fam]);
		SET(h->fix, "a newer kernel (these hooks are in Linux 6.1 and later)");
	}
	if (err) {
		struct dl_check *h = add(d, "hooks", "LSM hooks of the built BPF objects", true);

		SET(h->detail, "cannot open the built BPF objects: %s", strerror(-err));
		SET(h->fix, "rebuild drylock (meson compile -C build)");
	}
}

static void check_memlock(struct doctor *d)
{
	struct dl_check *c = add(d, "memlock", "memlock limit for BPF maps", false);
	struct rlimit rl;
	int major = 0, minor = 0;
	char cur[32];

	getrlimit(RLIMIT_MEMLOCK, &rl);
	if (rl.rlim_cur == RLIM_INFINITY)
		SET(cur, "unlimited");
	else
		SET(cur, "%llu KiB", (unsigned long long)rl.rlim_cur / 1024);
	dl_kernel_version(d->uts.release, &major, &minor);
	if (major > 5 || (major == 5 && minor >= 11)) {
		c->ok = true;
		SET(c->detail, "does not matter: kernel %d.%d charges BPF memory to the memory cgroup (RLIMIT_MEMLOCK %s)",
		    major, minor, cur);
		return;
	}
	c->required = true;
	/* libbpf raises the soft limit when the hard one allows */
	c->ok = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= (64u << 20);
	SET(c->detail, "kernel %d.%d charges BPF maps to RLIMIT_MEMLOCK: %s, hard limit %s", major, minor, cur,
	    rl.rlim_max == RLIM_INFINITY ? "unlimited" : "low");
	SET(c->fix, "ulimit -l unlimited before drylock run (LimitMEMLOCK=infinity in a systemd unit)");
}

static void check_audit(struct doctor *d)
{
	struct dl_check *c = add(d, "auditd", "audit daemon running and reachable", false);
	struct audit_reply rep;
	int fd = audit_open(), got = -1;

	if (fd < 0) {
		SET(c->detail, "no audit netlink socket (%s): decisions are stored in SQLite only", strerror(errno));
		SET(c->fix, "a kernel with CONFIG_AUDIT, and drylock check as root");
		return;
	}
	if (audit_request_status(fd) > 0) {
		for (int i = 0; i < 5 && got < 0; i++) {
			if (audit_get_reply(fd, &rep, GET_REPLY_BLOCKING, 0) <= 0)
				break;
			if (rep.type == AUDIT_GET) {
				const char *on = rep.status->enabled ? "enabled" : "disabled";

				c->ok = rep.status->enabled && rep.status->pid;
				if (rep.status->pid)
					SET(c->detail, "audit %s, auditd pid %u", on, rep.status->pid);
				else
					SET(c->detail, "audit %s, no audit daemon: records go to the kernel log (dmesg)", on);
				got = 1;
			} else if (rep.type == NLMSG_ERROR) {
				errno = -rep.error->error;
				break;
			}
		}
	}
	if (got < 0) {
		SET(c->detail, "the kernel did not answer AUDIT_GET (%s)", strerror(errno));
		SET(c->fix, "run drylock check as root (CAP_AUDIT_CONTROL)");
	} else if (!c->ok) {
		SET(c->fix, "%s%s", rep.status->enabled ? "" : "auditctl -e 1\n",
		    "systemctl start auditd (apt-get install auditd)");
	}
	audit_close(fd);
}

static void check_db(struct doctor *d, const char *db_path)
{
	struct dl_check *c = add(d, "db_dir", "database directory writable", true);
	char copy[PATH_MAX], probe[PATH_MAX + 32];
	const char *dir;
	struct stat st;
	int fd;

	SET(copy, "%s", db_path);
	dir = dirname(copy);
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		int e = errno;

		SET(c->detail, "%s: %s (database %s)", dir,
		    stat(dir, &st) < 0 ? strerror(e) : strerror(ENOTDIR), db_path);
		SET(c->fix, "mkdir -p -m 0700 %s (or --db PATH elsewhere)", dir);
		return;
	}
	/* access() says yes to root on a read-only mount: create a file */
	snprintf(probe, sizeof(probe), "%s/.drylock-check-XXXXXX", dir);
	fd = mkstemp(probe);
	if (fd < 0) {
		SET(c->detail, "%s: %s (database %s)", dir, strerror(errno), db_path);
		SET(c->fix, "make %s writable by the user that runs drylock, or --db PATH on a writable file system", dir);
		return;
	}
	close(fd);
	unlink(probe);
	c->ok = true;
	SET(c->detail, "%s (database %s)", dir, db_path);
}

/* Load and attach a program that allows everything, then drop it. */
static void check_load(struct doctor *d)
{
	struct dl_check *c = add(d, "load_test", "a BPF LSM program loads and attaches", true);
	static char log[4096];
	/* r0 = 0; exit */
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	char fn[96];
	int id, prog, link, err;
	const char *step = "load";

	if (!d->btf || !d->first_hook[0]) {
		c->skipped = true;
		SET(c->detail, "not tried: it needs kernel BTF with the LSM hooks");
		return;
	}
	SET(fn, "bpf_lsm_%s", d->first_hook);
	id = btf__find_by_name_kind(d->btf, fn, BTF_KIND_FUNC);
	{
		LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_LSM_MAC,
			    .attach_btf_id = (__u32)id, .log_buf = log, .log_size = sizeof(log), .log_level = 1);

		log[0] = 0;
		prog = bpf_prog_load(BPF_PROG_TYPE_LSM, "dl_check", "GPL", insns, 2, &opts);
	}
	err = prog < 0 ? -errno : 0;
	if (prog >= 0) {
		step = "attach";
		link = bpf_raw_tracepoint_open(NULL, prog);
		err = link < 0 ? -errno : 0;
		if (link >= 0)
			close(link);
		close(prog);
	}
	if (!err) {
		c->ok = true;
		SET(c->detail, "a program that allows everything loaded and attached on %s (and was detached)", fn);
		return;
	}
	log[strcspn(log, "\n")] = 0;
	if (err == -EPERM && geteuid() != 0) {
		SET(c->detail, "%s on %s: %s", step, fn, strerror(-err));
		SET(c->fix, "run drylock check as root (CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN are needed)");
	} else if (err == -EPERM && !log[0]) {
		SET(c->detail, "the kernel refused to %s it on %s (EPERM, empty verifier log): "
		    "this host cannot run BPF LSM programs (it refuses BPF trampolines, as some VMs and sandboxes do)",
		    step, fn);
		SET(c->fix, "nothing to configure here; try drylock in the throwaway VM: ./quickstart.sh\n"
		    "(it boots Debian's 6.12 kernel under QEMU and runs the demo there)");
	} else {
		SET(c->detail, "%s on %s: %s%s%s", step, fn, strerror(-err), log[0] ? "; verifier: " : "", log);
		SET(c->fix, "fix the no lines above first; if they are all yes, report this with the kernel version");
	}
}

int dl_doctor(const char *pin_dir, const char *db_path, bool json)
{
	struct doctor *d = calloc(1, sizeof(*d));
	libbpf_print_fn_t old;
	bool ok;

	if (!d) {
		dl_log("check: %s", strerror(ENOMEM));
		return EXIT_FAILURE;
	}
	uname(&d->uts);
	old = libbpf_set_print(libbpf_silent);
	check_config(d);
	check_securityfs(d);
	check_lsm_active(d);
	check_bpffs(d, pin_dir);
	check_btf(d);
	check_memlock(d);
	check_audit(d);
	check_db(d, db_path);
	check_load(d);
	libbpf_set_print(old);
	if (json)
		dl_checks_json(stdout, d->c, d->n, d->uts.release);
	else
		dl_checks_print(stdout, d->c, d->n, d->uts.release);
	ok = dl_checks_ok(d->c, d->n);
	btf__free(d->btf);
	free(d->config);
	free(d);
	return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
