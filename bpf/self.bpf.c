// SPDX-License-Identifier: GPL-2.0-only
/*
 * Policy family "self": self-protection after `drylock lock` (seed 000,
 * restrict.bpf.c).
 *
 * Nothing is decided until the engine is locked (dl_config.locked == 1, set
 * by `drylock lock` after it has written dl_self_lock) and the policy has a
 * self rule (dl_self_rules, n == 1). From then on, until reboot, these are
 * would-deny (permissive) or -EPERM (enforce), each recorded:
 *   inode_unlink, path_unlink   an entry at or below the pin directory
 *   inode_rename                either side at or below the pin directory
 *   inode_rmdir                 the pin directory or a directory below it
 *   sb_umount                   the bpffs that holds the pin directory (an
 *                               unmount drops every pin: same objects,
 *                               another path)
 *   bpf                         BPF_PROG_LOAD of a BPF_PROG_TYPE_LSM program,
 *                               by anyone; BPF_LINK_DETACH and
 *                               BPF_LINK_UPDATE of any link (the hook sees a
 *                               link fd, not the link: see
 *                               docs/policy-format.md)
 *   bpf_map                     a writable fd on a map whose id is in
 *                               dl_self_lock (dl_config and the families'
 *                               rule maps), so a map update cannot switch
 *                               enforcement off
 * "At or below the pin directory" walks up to DL_SELF_DEPTH parents of the
 * dentry and compares each with the pin directory's (s_dev, i_ino); the
 * collector keeps its layout two levels deep (<pin>/links/<prog>).
 *
 * The bpf hook gained a trailing `bool kernel` in 6.15: BPF_PROG's ret is
 * the slot after the declared arguments, so there are two programs, one per
 * arity, named _a3 and _a4: the loader keeps the one whose arity is that of
 * bpf_lsm_bpf in the running kernel's BTF (collector/hookfit.h). Calls from inside the kernel (a
 * BPF_PROG_TYPE_SYSCALL program's bpf_sys_bpf) are decided too: they are a
 * way to load an LSM program.
 */
#include "common.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define DL_SELF_DEPTH 8
#define DL_FMODE_WRITE 0x2   /* include/linux/fs.h: FMODE_WRITE */

/* key 0 -> struct dl_self_set: the policy's self rule (n == 0: family off). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dl_self_set);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dl_self_rules SEC(".maps");

/* key 0 -> struct dl_self_lock: the pin directory and the protected map
 * ids, written by `drylock lock` before it sets dl_config.locked. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dl_self_lock);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dl_self_lock SEC(".maps");

/* The lock state if the engine is locked, else NULL (nothing to decide). */
static __always_inline struct dl_self_lock *self_locked(void)
{
	struct dl_config *cfg = dl_get_config();
	__u32 zero = 0;

	if (!cfg || !cfg->locked)
		return NULL;
	return bpf_map_lookup_elem(&dl_self_lock, &zero);
}

/* Is d the pin directory or below it (within DL_SELF_DEPTH levels)? */
static __always_inline bool under_pin(const struct dl_self_lock *lk, struct dentry *d)
{
	for (int i = 0; i < DL_SELF_DEPTH && d; i++) {
		struct dentry *parent;
		struct inode *inode = d->d_inode;

		if (inode && inode->i_ino == lk->pin_ino && d->d_sb->s_dev == lk->pin_dev)
			return true;
		parent = d->d_parent;
		if (parent == d)
			break;
		d = parent;
	}
	return false;
}

/*
 * Decide one attempt on the locked engine: the self rule's verdict for the
 * family's mode, counted and recorded. name is a kernel string (may be
 * NULL); name_len its length when known (0: unknown, not flagged).
 */
static __always_inline int self_decide(__u16 hook, __u32 op, __u32 cmd, __u32 arg, const char *name,
				       __u32 name_len)
{
	struct dl_self_payload pl;
	struct dl_self_set *set;
	__u32 zero = 0;

	set = bpf_map_lookup_elem(&dl_self_rules, &zero);
	if (!set || !set->n)
		return 0;
	__builtin_memset(&pl, 0, sizeof(pl));
	pl.op = op;
	pl.cmd = cmd;
	pl.arg = arg;
	if (name)
		bpf_probe_read_kernel_str(pl.name, sizeof(pl.name), name);
	/* the one self rule is a deny (policy-self.c) */
	return dl_decide(DL_FAMILY_SELF, hook, set->gen, set->rule_idx, DL_ACTION_DENY, &pl, sizeof(pl),
			 name_len >= DL_SELF_NAME_LEN ? DL_REC_F_TRUNCATED : 0);
}

static __always_inline int self_dentry(__u16 hook, __u32 op, struct dentry *d)
{
	struct dl_self_lock *lk = self_locked();

	if (!lk || !under_pin(lk, d))
		return 0;
	return self_decide(hook, op, 0, 0, (const char *)d->d_name.name, d->d_name.len);
}

SEC("lsm/inode_unlink")
int BPF_PROG(dl_self_unlink, struct inode *dir, struct dentry *dentry, int ret)
{
	if (ret)
		return dl_pass(ret);
	return self_dentry(DL_HOOK_INODE_UNLINK, DL_SELF_OP_UNLINK, dentry);
}

SEC("lsm/path_unlink")
int BPF_PROG(dl_self_punlink, const struct path *dir, struct dentry *dentry, int ret)
{
	if (ret)
		return dl_pass(ret);
	return self_dentry(DL_HOOK_PATH_UNLINK, DL_SELF_OP_UNLINK, dentry);
}

SEC("lsm/inode_rmdir")
int BPF_PROG(dl_self_rmdir, struct inode *dir, struct dentry *dentry, int ret)
{
	if (ret)
		return dl_pass(ret);
	return self_dentry(DL_HOOK_INODE_RMDIR, DL_SELF_OP_RMDIR, dentry);
}

/* Either side: moving a pin out, or something over a pin (which unlinks it). */
SEC("lsm/inode_rename")
int BPF_PROG(dl_self_rename, struct inode *old_dir, struct dentry *old_dentry, struct inode *new_dir,
	     struct dentry *new_dentry, int ret)
{
	struct dl_self_lock *lk;

	if (ret)
		return dl_pass(ret);
	lk = self_locked();
	if (!lk)
		return 0;
	if (under_pin(lk, old_dentry))
		return self_decide(DL_HOOK_INODE_RENAME, DL_SELF_OP_RENAME, 0, 0,
				   (const char *)old_dentry->d_name.name, old_dentry->d_name.len);
	if (under_pin(lk, new_dentry))
		return self_decide(DL_HOOK_INODE_RENAME, DL_SELF_OP_RENAME, 0, 0,
				   (const char *)new_dentry->d_name.name, new_dentry->d_name.len);
	return 0;
}

SEC("lsm/sb_umount")
int BPF_PROG(dl_self_umount, struct vfsmount *mnt, int flags, int ret)
{
	struct dl_self_lock *lk;
	struct super_block *sb;

	if (ret)
		return dl_pass(ret);
	lk = self_locked();
	if (!lk)
		return 0;
	sb = mnt->mnt_sb;
	if (!sb || sb->s_dev != lk->pin_dev)
		return 0;
	return self_decide(DL_HOOK_SB_UMOUNT, DL_SELF_OP_UMOUNT, 0, (__u32)flags, sb->s_type->name, 0);
}

static __always_inline int self_bpf(int cmd, union bpf_attr *attr)
{
	__u32 op;

	if (cmd == BPF_PROG_LOAD) {
		if (attr->prog_type != BPF_PROG_TYPE_LSM)
			return 0;
		op = DL_SELF_OP_PROG_LOAD;
	} else if (cmd == BPF_LINK_DETACH) {
		op = DL_SELF_OP_LINK_DETACH;
	} else if (cmd == BPF_LINK_UPDATE) {
		op = DL_SELF_OP_LINK_UPDATE;
	} else {
		return 0;
	}
	if (!self_locked())
		return 0;
	if (op == DL_SELF_OP_PROG_LOAD)
		return self_decide(DL_HOOK_BPF, op, (__u32)cmd, attr->prog_type, attr->prog_name, 0);
	return self_decide(DL_HOOK_BPF, op, (__u32)cmd, 0, NULL, 0);
}

/* Kernels before 6.15: bpf(cmd, attr, size). */
SEC("lsm/bpf")
int BPF_PROG(dl_self_bpf_a3, int cmd, union bpf_attr *attr, unsigned int size, int ret)
{
	if (ret)
		return dl_pass(ret);
	return self_bpf(cmd, attr);
}

/* 6.15 and later: bpf(cmd, attr, size, kernel). */
SEC("lsm/bpf")
int BPF_PROG(dl_self_bpf_a4, int cmd, union bpf_attr *attr, unsigned int size, bool kernel, int ret)
{
	if (ret)
		return dl_pass(ret);
	return self_bpf(cmd, attr);
}

SEC("lsm/bpf_map")
int BPF_PROG(dl_self_map, struct bpf_map *map, fmode_t fmode, int ret)
{
	struct dl_self_lock *lk;
	__u32 id;

	if (ret)
		return dl_pass(ret);
	if (!(fmode & DL_FMODE_WRITE))
		return 0;
	lk = self_locked();
	if (!lk)
		return 0;
	id = map->id;
	for (__u32 i = 0; i < DL_SELF_MAP_IDS; i++) {
		if (i >= lk->n_maps)
			break;
		if (lk->map_id[i] == id)
			return self_decide(DL_HOOK_BPF_MAP, DL_SELF_OP_MAP_WRITE, 0, id, map->name, 0);
	}
	return 0;
}
