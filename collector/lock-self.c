/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `drylock lock`: make the loaded engine final until reboot (family self,
 * bpf/self.bpf.c).
 *
 * Order matters: the programs decide nothing until dl_config.locked is 1,
 * and from then on they read dl_self_lock, so that is written first: the
 * pin directory's identity (the superblock's s_dev in the kernel's encoding
 * and the inode number) and the ids of the maps a writable fd must no
 * longer be had for (dl_config and every pinned map of every family: the
 * rule maps, dl_self_lock itself, the kvm owner). Then locked = 1 goes into
 * dl_config; after that even this process could not write it again.
 *
 * Refused, changing nothing, when nothing is loaded or the loaded policy
 * has no self rule (the lock would protect nothing and could not be undone).
 * Locking a locked engine changes nothing and succeeds. The lock is audited
 * as USER_MAC_CONFIG_CHANGE op=lock.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <bpf/bpf.h>
#include <libaudit.h>

#include "collector.h"
#include "auditfmt.h"
#include "names.h"

static int map_id(int fd, __u32 *id)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
		return -errno;
	*id = info.id;
	return 0;
}

/* The lock state for the engine p: its pin directory and protected maps. */
static int lock_state(const struct dl_pinned *p, struct dl_self_lock *lk)
{
	struct stat st;
	int err;

	memset(lk, 0, sizeof(*lk));
	if (stat(p->pin_dir, &st) < 0)
		return -errno;
	/* stat() gives new_encode_dev(); the kernel's s_dev is MAJOR << 20 | MINOR */
	lk->pin_dev = ((__u64)major(st.st_dev) << 20) | minor(st.st_dev);
	lk->pin_ino = st.st_ino;
	err = map_id(p->config_fd, &lk->map_id[lk->n_maps++]);
	if (!err && p->rule_mode_fd >= 0) /* per-rule modes: switched like dl_config */
		err = map_id(p->rule_mode_fd, &lk->map_id[lk->n_maps++]);
	for (unsigned f = 1; !err && f < DL_FAMILY_MAX; f++)
		for (unsigned j = 0; !err && j < DL_FAMILY_MAPS_MAX; j++) {
			if (p->fam_fd[f][j] < 0)
				continue;
			if (lk->n_maps == DL_SELF_MAP_IDS)
				return -E2BIG;
			err = map_id(p->fam_fd[f][j], &lk->map_id[lk->n_maps++]);
		}
	return err;
}

int dl_lock(const char *pin_dir, bool *already)
{
	struct dl_pinned p;
	struct dl_config cfg;
	struct dl_self_set set;
	struct dl_self_lock lk;
	char text[256];
	__u32 zero = 0;
	int err, fd;

	*already = false;
	err = dl_pinned_open(pin_dir, &p);
	if (err) {
		dl_err("lock: nothing is loaded (%s: %s); start `drylock run` with a policy that has a "
		       "self rule first", pin_dir, strerror(-err));
		return err;
	}
	err = dl_config_read(&p, &cfg);
	if (err) {
		dl_err("lock: read %s/dl_config: %s", pin_dir, strerror(-err));
		goto out;
	}
	if (cfg.locked) {
		*already = true;
		goto out;
	}
	if (!dl_family_loaded(&p, DL_FAMILY_SELF) || p.fam_fd[DL_FAMILY_SELF][1] < 0 ||
	    bpf_map_lookup_elem(p.fam_fd[DL_FAMILY_SELF][0], &zero, &set) < 0 || !set.n) {
		dl_err("lock: the loaded policy has no self rule, so nothing would guard the lock: add "
		       "`self deny <id>` to the policy, reload it (`drylock run`), then lock");
		err = -ENOENT;
		goto out;
	}
	err = lock_state(&p, &lk);
	if (err) {
		dl_err("lock: %s: %s", err == -E2BIG ? "more pinned maps than dl_self_lock holds" : pin_dir,
		       strerror(-err));
		goto out;
	}
	fd = dl_pinned_open_map(pin_dir, "dl_self_lock", true);
	if (fd < 0 || bpf_map_update_elem(fd, &zero, &lk, BPF_ANY) < 0) {
		err = fd < 0 ? fd : -errno;
		dl_err("lock: write %s/dl_self_lock: %s", pin_dir, strerror(-err));
		if (fd >= 0)
			close(fd);
		goto out;
	}
	close(fd);
	cfg.locked = 1;
	err = dl_config_write(&p, &cfg);
	if (err) {
		dl_err("lock: write %s/dl_config: %s", pin_dir, strerror(-err));
		goto out;
	}
	if (dl_audit_format_lock(text, sizeof(text), lk.n_maps, cfg.mode[DL_FAMILY_SELF] == DL_MODE_ENFORCE) > 0 &&
	    (err = dl_audit_send_once(AUDIT_USER_MAC_CONFIG_CHANGE, text, 1)))
		dl_warn("lock: the engine is locked but the lock could not be audited: %s", strerror(-err));
	err = 0;
out:
	dl_pinned_close(&p);
	return err;
}
