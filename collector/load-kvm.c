/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Family "kvm" in the loader: bpf/kvm.bpf.c, whose rules are one value of
 * the pinned array dl_kvm_rules (written whole, with the generation), and
 * whose owner lives in dl_kvm_owner, which a policy load never touches: the
 * process that holds the lock keeps it across reloads and collector
 * restarts. A policy without kvm rules writes an empty set (family off).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "loader-family.h"
#include "kvm.skel.h"

static int install_kvm_rules(const int *fds, const struct dl_policy *policy, __u32 gen)
{
	struct dl_diags diags = { 0 };
	struct dl_kvm_set set;
	int err = dl_kvm_compile(policy, dl_cgroup_resolve_fs, (void *)"/sys/fs/cgroup", &set, &diags);

	set.gen = gen;
	return dl_install_rule_set(fds[0], &set, err, &diags, "kvm");
}

DL_SKEL_FNS(kvm)

const struct dl_loader_family dl_loader_family_kvm = {
	DL_SKEL_INIT(kvm),
	.maps = { "dl_kvm_rules", "dl_kvm_owner", NULL },
	.install = install_kvm_rules,
};
