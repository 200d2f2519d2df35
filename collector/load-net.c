/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Family "net" in the loader: bpf/net.bpf.c, whose rules live in the pinned
 * LPM trie dl_net_lpm (one entry per distinct prefix, see policy-net.c).
 * Installing a generation writes every entry with the new generation, then
 * deletes the prefixes the new policy no longer has.
 *
 * The pre-filter dl_net_pf (bpf/net_pf.h) must never say "no rule" while the
 * trie holds a rule that matches: before the trie changes it is set to the
 * union of the old and new policies' bits, and narrowed to the new policy's
 * only after. A program reading an entry while it is rewritten sees, byte by
 * byte, old or new contents, each a superset of what the trie then holds.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "loader-family.h"
#include "bpf/net_pf.h"
#include "net.skel.h"

static int cgroup_resolve(const char *path, __u64 *id, __u8 *level, void *ctx)
{
	return dl_cgroup_resolve_fs(path, id, level, ctx);
}

/* Write the pre-filter: pf, or'ed with what is there when widen is set. */
static int write_pf(int fd, struct dl_net_pf *pf, bool widen)
{
	struct dl_net_pf *cur = widen ? malloc(sizeof(*cur)) : NULL;
	int err = 0;

	if (widen && !cur)
		return -ENOMEM;
	for (__u32 k = 0; k < DL_NET_PF_OPS && !err; k++) {
		const struct dl_net_pf *v = &pf[k];

		if (widen) {
			if (bpf_map_lookup_elem(fd, &k, cur) < 0) {
				err = -errno;
				break;
			}
			for (size_t w = 0; w < sizeof(*cur) / sizeof(__u64); w++)
				((__u64 *)cur)[w] |= ((const __u64 *)&pf[k])[w];
			v = cur;
		}
		if (bpf_map_update_elem(fd, &k, v, BPF_ANY) < 0)
			err = -errno;
	}
	free(cur);
	if (err)
		dl_log("load: net pre-filter: %s", strerror(-err));
	return err;
}

/* Replace the LPM trie's content with the policy's entries for generation gen. */
static int install_net_rules(const int *fds, const struct dl_policy *policy, __u32 gen)
{
	int fd = fds[0];
	struct dl_net_pf *pf = calloc(DL_NET_PF_OPS, sizeof(*pf));
	struct dl_net_entry *e = NULL;
	struct dl_diags diags = { 0 };
	struct dl_lpm_key key, next, *stale = NULL;
	size_t n = 0, n_stale = 0;
	int err;

	if (!pf)
		return -ENOMEM;
	err = dl_net_compile(policy, cgroup_resolve, (void *)"/sys/fs/cgroup", &e, &n, &diags);
	if (err) {
		dl_diags_print(&diags, stderr);
		dl_diags_free(&diags);
		free(pf);
		return err;
	}
	dl_diags_free(&diags);
	dl_net_pf_build(policy, pf);
	err = write_pf(fds[1], pf, true);
	if (err)
		goto out;
	for (size_t i = 0; i < n; i++) {
		e[i].set.gen = gen;
		if (bpf_map_update_elem(fd, &e[i].key, &e[i].set, BPF_ANY) < 0) {
			err = -errno;
			dl_log("load: net rules: update: %s", strerror(errno));
			goto out;
		}
	}
	/* Delete prefixes the new policy no longer has (collect first: deleting
	 * while iterating would restart the walk). */
	stale = calloc(DL_NET_LPM_MAX, sizeof(*stale));
	if (!stale) {
		err = -ENOMEM;
		goto out;
	}
	for (int r = bpf_map_get_next_key(fd, NULL, &next); r == 0;
	     key = next, r = bpf_map_get_next_key(fd, &key, &next)) {
		bool keep = false;

		for (size_t i = 0; i < n && !keep; i++)
			keep = memcmp(&e[i].key, &next, sizeof(next)) == 0;
		if (!keep && n_stale < DL_NET_LPM_MAX)
			stale[n_stale++] = next;
	}
	for (size_t i = 0; i < n_stale; i++)
		bpf_map_delete_elem(fd, &stale[i]);
	err = write_pf(fds[1], pf, false);
out:
	free(pf);
	free(stale);
	free(e);
	return err;
}

DL_SKEL_FNS(net)

const struct dl_loader_family dl_loader_family_net = {
	DL_SKEL_INIT(net),
	.maps = { "dl_net_lpm", "dl_net_pf", NULL },
	.install = install_net_rules,
};
