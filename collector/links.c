/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The kernel's list of BPF LSM links, read the way `bpftool link` does:
 * every link of type TRACING attached as BPF_LSM_MAC, with its program's
 * name and the LSM hook it is attached to (the program's attach BTF id
 * names bpf_lsm_<hook> in vmlinux BTF).
 *
 * Used by `status` (which other LSM programs share drylock's hooks: BPF LSM
 * programs on one hook run newest first and the first denial wins, so a
 * program attached after drylock can refuse what drylock recorded as
 * allowed) and by `unload` (is anything of drylock still attached?).
 * drylock's own programs are the ones named dl_*.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>

#include "collector.h"

int dl_lsm_links(struct dl_lsm_link **out, size_t *n_out)
{
	struct dl_lsm_link *v = NULL;
	struct btf *btf = btf__load_vmlinux_btf();
	size_t n = 0, cap = 0;
	__u32 id = 0;

	*out = NULL;
	*n_out = 0;
	while (bpf_link_get_next_id(id, &id) == 0) {
		struct bpf_link_info li;
		struct bpf_prog_info pi;
		struct dl_lsm_link *l;
		__u32 len = sizeof(li);
		int lfd = bpf_link_get_fd_by_id(id), pfd;

		if (lfd < 0)
			continue; /* gone meanwhile */
		memset(&li, 0, sizeof(li));
		if (bpf_obj_get_info_by_fd(lfd, &li, &len) < 0 || li.type != BPF_LINK_TYPE_TRACING ||
		    li.tracing.attach_type != BPF_LSM_MAC) {
			close(lfd);
			continue;
		}
		close(lfd);
		if (n == cap) {
			struct dl_lsm_link *nv = realloc(v, (cap = cap ? 2 * cap : 16) * sizeof(*v));

			if (!nv) {
				free(v);
				btf__free(btf);
				return -ENOMEM;
			}
			v = nv;
		}
		l = &v[n++];
		memset(l, 0, sizeof(*l));
		l->link_id = id;
		l->prog_id = li.prog_id;
		snprintf(l->hook, sizeof(l->hook), "?");
		pfd = bpf_prog_get_fd_by_id(li.prog_id);
		if (pfd < 0)
			continue;
		memset(&pi, 0, sizeof(pi));
		len = sizeof(pi);
		if (bpf_obj_get_info_by_fd(pfd, &pi, &len) == 0) {
			const struct btf_type *t = btf && pi.attach_btf_id ? btf__type_by_id(btf, pi.attach_btf_id) : NULL;
			const char *fn = t ? btf__name_by_offset(btf, t->name_off) : NULL;

			snprintf(l->prog_name, sizeof(l->prog_name), "%s", pi.name);
			if (fn && strncmp(fn, "bpf_lsm_", 8) == 0)
				snprintf(l->hook, sizeof(l->hook), "%s", fn + 8);
		}
		close(pfd);
	}
	btf__free(btf);
	*out = v;
	*n_out = n;
	return 0;
}

bool dl_lsm_link_is_ours(const struct dl_lsm_link *l)
{
	return strncmp(l->prog_name, "dl_", 3) == 0;
}
