/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Numbers, durations and sizes from the command line: one parser each for
 * both binaries (drylock and drylock-query), so that every numeric option
 * accepts the same forms and none can wrap.
 *
 * Rules shared by all three: the whole string is the number (no leading or
 * trailing space, no junk after it), decimal digits only (no sign, no 0x,
 * no octal: "010" is ten), every multiplication is overflow-checked, and the
 * result is range-checked before it is stored anywhere narrower.
 *
 * Returns 0, -EINVAL (not of the accepted form) or -ERANGE (well formed but
 * outside the allowed range or not representable); dl_parse_strerror()
 * turns either into words for a message that also names the option and
 * the value.
 */
#ifndef DRYLOCK_NUMPARSE_H
#define DRYLOCK_NUMPARSE_H

#include <stdint.h>

/* Decimal unsigned integer in [min, max]. */
int dl_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* Duration: decimal N then exactly one unit, s (seconds), m (minutes),
 * h (hours), d (days) or w (weeks). Result in nanoseconds, > 0 and
 * <= INT64_MAX (about 292 years). */
int dl_parse_duration_ns(const char *s, int64_t *ns);

/* Size: decimal N bytes, optionally followed by K, M, G or T (binary:
 * 2^10, 2^20, 2^30, 2^40). Result in [min, max]. */
int dl_parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* "not a number ...", "out of range": for messages about a parse error. */
const char *dl_parse_strerror(int err);

#endif
