/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Untrusted text on its way out: one UTF-8 decoder, one JSON string writer
 * and one terminal escaper for every output of both binaries.
 *
 * Text that reaches drylock's output is often chosen by someone else: a
 * process picks its own comm and executable path, a policy file may come
 * from anywhere, a pin directory is an argument. JSON output is exact (the
 * text, with only the escapes JSON defines); output meant for people
 * (tables, diagnostics, status) shows every character that could act on a
 * terminal or reorder what the reader sees as a visible escape instead.
 */
#ifndef DRYLOCK_ESCAPE_H
#define DRYLOCK_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Length (1-4) of the valid UTF-8 sequence at s (n bytes available) and its
 * code point in *cp, or 0 if the bytes there are not valid UTF-8: a stray
 * continuation byte, a truncated sequence, an overlong form, a surrogate
 * (U+D800-U+DFFF) or a value above U+10FFFF. */
int dl_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);

/* Code points a person's terminal must not receive raw: C0 controls, DEL,
 * C1 controls, the Unicode bidirectional controls (U+061C, U+200E, U+200F,
 * U+202A-U+202E, U+2066-U+2069) and the line/paragraph separators
 * U+2028/U+2029. */
bool dl_cp_unsafe(uint32_t cp);

/* s[0..n) as a JSON string literal, quotes included: ", \ and control
 * characters escaped (\n, \t, \r, else \u00XX, DEL too), valid UTF-8 copied
 * as is, and each byte of invalid UTF-8 written as \u00XX (so the output is
 * always valid JSON). */
void dl_json_str(FILE *f, const char *s, size_t n);

/* s[0..n) for a terminal: \n, \t, \r for those, \xNN for the other C0
 * controls, DEL and each byte of invalid UTF-8, \uNNNN for C1, bidi and
 * separator code points; everything else as is. A backslash is not doubled
 * (cgroup paths carry systemd's \x2d escapes, which must stay copyable), so
 * an escape is for the eye only. */
void dl_term_str(FILE *f, const char *s, size_t n);

/* The same into a malloc'd NUL-terminated string (NULL on ENOMEM); *width,
 * if not NULL, is its length in code points (what a column needs). */
char *dl_term_strdup(const char *s, size_t n, size_t *width);

#endif
