/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Minimal TAP producer for host unit tests (meson protocol: 'tap'). */
#ifndef DRYLOCK_TAP_H
#define DRYLOCK_TAP_H
#include <stdio.h>
#include <stdlib.h>

static int tap_n, tap_failed;

#define TAP_OK(cond, ...) do {                                              \
	int c_ = !!(cond);                                                  \
	tap_n++;                                                            \
	if (!c_) tap_failed++;                                              \
	printf("%s %d - ", c_ ? "ok" : "not ok", tap_n);                    \
	printf(__VA_ARGS__);                                                \
	printf("\n");                                                       \
	if (!c_) printf("# failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
	fflush(stdout);                                                     \
} while (0)

static inline int tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
#endif
