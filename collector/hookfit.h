/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Which programs of a BPF object fit the running kernel: the loader's rule,
 * shared with the VM tests' bpfattach so both skip the same programs.
 *
 *   - an LSM program (section lsm/<hook>) needs bpf_lsm_<hook> as a FUNC in
 *     the kernel's BTF (stable backports add hooks: never go by version);
 *   - a program whose name ends in _a<N> (one digit) is for kernels where the
 *     hook has N arguments. A hook whose arity changed (bpf gained `bool
 *     kernel` in 6.15) gets one program per arity, because BPF_PROG's `ret`
 *     is the slot after the declared arguments; the one that matches the
 *     hook's prototype in the BTF is loaded, the others are skipped.
 */
#ifndef DRYLOCK_HOOKFIT_H
#define DRYLOCK_HOOKFIT_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

/* true if prog fits; else false with the reason in why. */
static inline bool dl_prog_fits(const struct btf *btf, const struct bpf_program *prog, char *why, size_t n)
{
	const char *sec = bpf_program__section_name(prog), *name = bpf_program__name(prog);
	size_t len = strlen(name);
	const struct btf_type *t;
	char fn[128];
	int id;

	if (!sec || strncmp(sec, "lsm/", 4) != 0)
		return true;
	snprintf(fn, sizeof(fn), "bpf_lsm_%s", sec + 4);
	id = btf__find_by_name_kind(btf, fn, BTF_KIND_FUNC);
	if (id <= 0) {
		snprintf(why, n, "hook %s is not in this kernel", sec + 4);
		return false;
	}
	if (len < 3 || name[len - 3] != '_' || name[len - 2] != 'a' || name[len - 1] < '0' || name[len - 1] > '9')
		return true;
	t = btf__type_by_id(btf, btf__type_by_id(btf, id)->type);
	if (t && btf_is_func_proto(t) && btf_vlen(t) == (unsigned)(name[len - 1] - '0'))
		return true;
	snprintf(why, n, "it is for a %s hook of %c arguments, this kernel's has %d", sec + 4, name[len - 1],
		 t && btf_is_func_proto(t) ? (int)btf_vlen(t) : -1);
	return false;
}

#endif
