/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Deterministic generator of a realistic decision stream for the benchmarks:
 * raw struct dl_record values, as the kernel puts them on the ring buffer.
 * See gen.c for the shape of the stream.
 */
#ifndef DRYLOCK_BENCH_GEN_H
#define DRYLOCK_BENCH_GEN_H

#include <stdint.h>
#include "bpf/drylock_abi.h"

#define DL_GEN_SERVICES 64   /* long-running processes, one executable each */
#define DL_GEN_SUBJECTS 256  /* popular subjects: 4 identities per service */
#define DL_GEN_OBJECTS 4096  /* popular destinations */
#define DL_GEN_RULES 16      /* rules in the benchmark policy */

struct dl_gen_service {
	const char *name;    /* comm */
	uint32_t tgid;       /* a live process whose /proc/<tgid>/exe is exe */
	uint64_t exe_ino;
	char exe[DL_PATH_MAX];
};

struct dl_gen {
	uint64_t rng;
	uint64_t seq, ktime_ns, tail_subjects, tail_objects;
	unsigned tail_subject_pm, tail_object_pm; /* per mille of records */
	struct dl_gen_service svc[DL_GEN_SERVICES];
	uint16_t zipf_subj[65536], zipf_obj[65536]; /* uniform 16 bits -> rank */
};

/* What the bare-insert baseline needs: the ids the store would assign, known
 * here without interning. Popular ones are small, the tail counts up. */
struct dl_gen_ids {
	int64_t subject, object;
	const char *exe;     /* the executable the collector will resolve, NULL if none */
};

/* Service names, DL_GEN_SERVICES of them (the benchmark starts one process
 * per name, an executable of that name, so that exe resolution is real). */
extern const char *const dl_gen_service_names[DL_GEN_SERVICES];

/* tail_*_pm: share of records, per mille, with a never-seen-before subject
 * (an exited process: its tgid does not exist) and object. */
void dl_gen_init(struct dl_gen *g, uint64_t seed, unsigned tail_subject_pm,
		 unsigned tail_object_pm);
void dl_gen_next(struct dl_gen *g, struct dl_record *r, struct dl_gen_ids *ids);
/* The benchmark policy's text: DL_GEN_RULES rules, ids r0..r15. */
extern const char dl_gen_policy[];

#endif
