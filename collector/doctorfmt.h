/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `drylock check`, the pure half: reading a kernel config text, building
 * the lsm= line for the boot loader, and printing the list of checks for
 * people or as JSON. doctor.c does the probing (files, BTF, audit, a load
 * test); everything here is unit-tested on the host.
 */
#ifndef DRYLOCK_DOCTORFMT_H
#define DRYLOCK_DOCTORFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* One prerequisite. detail says what was seen; fix (only when !ok) says what
 * to do, as commands where there are any. A check that is not required is
 * reported but does not make `drylock check` fail. */
struct dl_check {
	char name[40];       /* stable identifier, e.g. "bpf_lsm_active" */
	char title[160];     /* what is checked, for people */
	bool ok;
	bool required;
	bool skipped;        /* not tried (an earlier check failed) */
	char detail[512];
	char fix[768];
};

/* Look sym (e.g. "CONFIG_BPF_LSM") up in the text of a kernel .config:
 * 1 with its value in val ("y", "\"a,b\"" as written), 0 if the text says
 * "# sym is not set", -ENOENT if it does not name sym at all. */
int dl_kconfig_get(const char *text, size_t n, const char *sym, char *val, size_t vallen);

/* The kernel command line argument that makes BPF LSM active: "lsm=" and
 * the given active list (as /sys/kernel/security/lsm or CONFIG_LSM gives
 * it; quotes, spaces and a newline are dropped) with ",bpf" appended unless
 * it is there already. -EINVAL for an empty list, -ENOSPC if out is short. */
int dl_lsm_line(const char *active, char *out, size_t n);

/* Is "bpf" an element of the comma-separated list? */
bool dl_lsm_has_bpf(const char *list);

/* "6.12.3-amd64" -> 6, 12. -EINVAL if it does not start with N.N. */
int dl_kernel_version(const char *release, int *major, int *minor);

/* Does everything required pass (skipped counts as not passing)? */
bool dl_checks_ok(const struct dl_check *c, size_t n);

/* For people: "  yes  TITLE: DETAIL" or "  no   TITLE: DETAIL" and an
 * indented "fix: ..." line per failure, then a last line "yes: ..." or
 * "no: ..." naming the failed required checks. Text is terminal-escaped. */
void dl_checks_print(FILE *f, const struct dl_check *c, size_t n, const char *kernel);
/* One JSON object: {"ok":B,"kernel":S,"checks":[{"name","title","ok",
 * "required","skipped","detail","fix"}...]}, and a newline. */
void dl_checks_json(FILE *f, const struct dl_check *c, size_t n, const char *kernel);

#endif
