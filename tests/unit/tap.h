/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Minimal TAP producer for host unit tests (meson protocol: 'tap'). */
#ifndef DRYLOCK_TAP_H
#define DRYLOCK_TAP_H
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static int tap_n, tap_failed;

/* The description on one line: a newline in a formatted value (a report's
 * output, say) would start a line that is not TAP. */
__attribute__((format(printf, 1, 2)))
static inline void tap_desc_(const char *fmt, ...)
{
	char buf[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	for (char *p = buf; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	printf("%s\n", buf);
}

#define TAP_OK(cond, ...) do {                                              \
	int c_ = !!(cond);                                                  \
	tap_n++;                                                            \
	if (!c_) tap_failed++;                                              \
	printf("%s %d - ", c_ ? "ok" : "not ok", tap_n);                    \
	tap_desc_(__VA_ARGS__);                                             \
	if (!c_) printf("# failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
	fflush(stdout);                                                     \
} while (0)

/* A fresh directory for a test's files: TMPDIR (or /tmp)/dl-test-NAME-XXXXXX.
 * Returns 0, or -1 after printing why. */
static inline int tap_tmpdir(char *dir, size_t len, const char *name)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, len, "%s/dl-test-%s-XXXXXX", tmp ? tmp : "/tmp", name);
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return -1;
	}
	return 0;
}

/* Remove it again, unless DL_KEEP is set (to look at what a test left). */
static inline void tap_tmpdir_remove(const char *dir)
{
	char cmd[400];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (!getenv("DL_KEEP") && system(cmd) != 0)
		printf("# could not remove %s\n", dir);
}

static inline int tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
#endif
