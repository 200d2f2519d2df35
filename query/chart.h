/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Self-contained SVG/HTML timeline charts (drylock-query timeline --chart).
 */
#ifndef DRYLOCK_QUERY_CHART_H
#define DRYLOCK_QUERY_CHART_H

#include <stdint.h>
#include <stdio.h>
#include "bpf/drylock_abi.h"

#define DL_CHART_SERIES_MAX 9

/* counts[i * n_series + k]: events of series k in bucket i, which starts at
 * t0_ms + i * bucket_ms. Every bucket is present (zeros included). With
 * names NULL the series are the verdicts (n_series = DL_VERDICT_MAX, fixed
 * colours); else names[k] names series k (a rule id; untrusted: escaped),
 * at most DL_CHART_SERIES_MAX. */
struct dl_chart {
	int64_t t0_ms, bucket_ms;
	size_t n;
	size_t n_series;
	const char *const *names;
	const uint64_t *counts;
	const char *title;       /* untrusted: escaped */
};

/* Write an SVG document (html = 0) or an HTML page embedding it (html = 1)
 * to f. Returns 0, or -EIO if writing failed. */
int dl_chart_write(FILE *f, const struct dl_chart *c, int html);

#endif
