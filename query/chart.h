/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Self-contained SVG/HTML timeline charts (drylock-query timeline --chart).
 */
#ifndef DRYLOCK_QUERY_CHART_H
#define DRYLOCK_QUERY_CHART_H

#include <stdint.h>
#include <stdio.h>
#include "bpf/drylock_abi.h"

/* counts[i][v]: events of verdict v in bucket i, which starts at
 * t0_ms + i * bucket_ms. Every bucket is present (zeros included). */
struct dl_chart {
	int64_t t0_ms, bucket_ms;
	size_t n;
	const uint64_t (*counts)[DL_VERDICT_MAX];
	const char *title;       /* untrusted: escaped */
};

/* Write an SVG document (html = 0) or an HTML page embedding it (html = 1)
 * to f. Returns 0, or -EIO if writing failed. */
int dl_chart_write(FILE *f, const struct dl_chart *c, int html);

#endif
