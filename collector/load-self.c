/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Family "self" in the loader: bpf/self.bpf.c. Its rule is one value of the
 * pinned array dl_self_rules (written whole, with the generation); its lock
 * state (dl_self_lock) is written only by `drylock lock` (collector/lock.c),
 * never by a policy load. The bpf hook has one program per arity (a
 * trailing `bool kernel` since 6.15), dl_self_bpf_a3 and dl_self_bpf_a4: the
 * loader keeps the one whose arity is that of the running kernel's
 * bpf_lsm_bpf (hookfit.h), so one build loads everywhere.
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

DL_SKEL_FNS(self)

const struct dl_loader_family dl_loader_family_self = {
	DL_SKEL_INIT(self),
	.maps = { "dl_self_rules", "dl_self_lock", NULL },
	.install = install_self_rules,
};
