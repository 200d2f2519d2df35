/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Family "self" in the loader: bpf/self.bpf.c. Its rule is one value of the
 * pinned array dl_self_rules (written whole, with the generation); its lock
 * state (dl_self_lock) is written only by `drylock lock` (collector/lock.c),
 * never by a policy load. The bpf hook has one program per arity (a
 * trailing `bool kernel` since 6.15): prepare keeps the one whose arity is
 * that of the running kernel's bpf_lsm_bpf, so one build loads everywhere.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "loader-family.h"
#include "self.skel.h"

static int install_self_rules(const int *fds, const struct dl_policy *policy, __u32 gen)
{
	struct dl_diags diags = { 0 };
	struct dl_self_set set;
	__u32 zero = 0;
	int err;

	err = dl_self_compile(policy, &set, &diags);
	if (err) {
		dl_diags_print(&diags, stderr);
		dl_diags_free(&diags);
		return err;
	}
	dl_diags_free(&diags);
	set.gen = gen;
	if (bpf_map_update_elem(fds[0], &zero, &set, BPF_ANY) < 0) {
		err = -errno;
		dl_log("load: self rules: update: %s", strerror(errno));
		return err;
	}
	return 0;
}

static int prepare_self(void *skel, const struct btf *btf)
{
	struct self_bpf *s = skel;
	int n = dl_btf_hook_nargs(btf, "bpf");

	if (n == -ENOENT) {
		n = 0; /* no bpf hook: the loader skips both already */
	} else if (n != 3 && n != 4) {
		dl_log("load: self: the kernel's bpf LSM hook has %d arguments (known: 3, 4); "
		       "bpf() is not guarded", n);
		n = 0;
	}
	bpf_program__set_autoload(s->progs.dl_self_bpf3, n == 3);
	bpf_program__set_autoload(s->progs.dl_self_bpf4, n == 4);
	return 0;
}

DL_SKEL_FNS(self)

const struct dl_loader_family dl_loader_family_self = {
	DL_SKEL_INIT(self),
	.maps = { "dl_self_rules", "dl_self_lock", NULL },
	.install = install_self_rules,
	.prepare = prepare_self,
};
