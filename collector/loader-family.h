/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The loader's side of a family (collector/load-<stem>.c): its BPF object
 * (skeleton entry points), the pinned maps its rules live in, and how a
 * policy's rules are installed for one generation. loader.c expands
 * DL_FAMILIES into dl_loader_families[] and loops over it: it loads the
 * object of every family the policy uses, and calls install() for every
 * family whose maps are pinned, with an empty policy when the policy no
 * longer has the family (so it decides nothing).
 */
#ifndef DRYLOCK_LOADER_FAMILY_H
#define DRYLOCK_LOADER_FAMILY_H

#include "collector.h"

struct bpf_object;
struct bpf_object_open_opts;

struct dl_loader_family {
	void *(*open)(const struct bpf_object_open_opts *o);
	int (*load)(void *skel);
	void (*destroy)(void *skel);
	struct bpf_object *(*obj)(void *skel);
	/* Pinned maps of this family, NULL-terminated; the first one being
	 * pinned is what "the family is loaded" means (status). Opened into
	 * dl_pinned.fam_fd[family][i]. */
	const char *maps[DL_FAMILY_MAPS_MAX + 1];
	/* Replace the family's rules with the policy's for generation gen.
	 * fds are fam_fd[family]; 0 or -errno (logged). */
	int (*install)(const int *fds, const struct dl_policy *policy, __u32 gen);
};

extern const struct dl_loader_family *const dl_loader_families[DL_FAMILY_MAX];

struct dl_diags;
/* The end of install() for a family whose rules are one array value (key
 * 0): compile_err is what the family's compile returned; on error its
 * diagnostics are printed; either way they are freed; then set is written.
 * 0 or -errno (logged, naming family). */
int dl_install_rule_set(int fd, const void *set, int compile_err, struct dl_diags *diags, const char *family);

/* The skeleton's entry points as the struct wants them (stem_bpf__*). */
#define DL_SKEL_FNS(n)                                                                  \
	static void *open_##n(const struct bpf_object_open_opts *o) { return n##_bpf__open_opts(o); } \
	static int load_##n(void *s) { return n##_bpf__load(s); }                       \
	static void destroy_##n(void *s) { n##_bpf__destroy(s); }                      \
	static struct bpf_object *obj_##n(void *s) { return ((struct n##_bpf *)s)->obj; }
#define DL_SKEL_INIT(n) .open = open_##n, .load = load_##n, .destroy = destroy_##n, .obj = obj_##n

#endif
