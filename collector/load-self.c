/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Family "self" in the loader: bpf/self.bpf.c. Its rule is one value of the
 * pinned array dl_self_rules (written whole, with the generation); its lock
 * state (dl_self_lock) is written only by `drylock lock` (collector/lock-self.c),
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
	int err = dl_self_compile(policy, &set, &diags);

	set.gen = gen;
	return dl_install_rule_set(fds[0], &set, err, &diags, "self");
}

DL_SKEL_FNS(self)

const struct dl_loader_family dl_loader_family_self = {
	DL_SKEL_INIT(self),
	.maps = { "dl_self_rules", "dl_self_lock", NULL },
	.install = install_self_rules,
};
