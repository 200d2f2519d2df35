/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Escaping untrusted text for output (contract in escape.h).
 *
 * One decoder: before this file drylock-query's printer and the SVG chart
 * each had their own, and they disagreed (the chart's accepted overlong
 * forms and surrogates, which a lax reader may decode to '<' or to
 * something a terminal acts on). The terminal escaper works one sequence at
 * a time (term_one), for a stream and for a string alike.
 */
#include <stdlib.h>

#include "escape.h"

int dl_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned char c;
	uint32_t v, min;
	int len;

	if (n == 0)
		return 0;
	c = s[0];
	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if ((c & 0xe0) == 0xc0) {
		len = 2, v = c & 0x1f, min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		len = 3, v = c & 0x0f, min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		len = 4, v = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if ((size_t)len > n)
		return 0;
	for (int i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

bool dl_cp_unsafe(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || cp == 0x061c || cp == 0x200e ||
	       cp == 0x200f || (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

void dl_json_str(FILE *f, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;

	fputc('"', f);
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		int len = dl_utf8_decode(s + i, n - i, &cp);

		if (len == 0) {
			fprintf(f, "\\u%04x", s[i]); /* invalid byte: as U+00XX */
			i++;
			continue;
		}
		if (cp == '"')
			fputs("\\\"", f);
		else if (cp == '\\')
			fputs("\\\\", f);
		else if (cp == '\n')
			fputs("\\n", f);
		else if (cp == '\t')
			fputs("\\t", f);
		else if (cp == '\r')
			fputs("\\r", f);
		else if (cp < 0x20 || cp == 0x7f)
			fprintf(f, "\\u%04x", (unsigned)cp);
		else
			fwrite(s + i, 1, (size_t)len, f);
		i += (size_t)len;
	}
	fputc('"', f);
}

/* Escape the sequence at s[0..n) (n > 0) into out (room for 6 bytes): its
 * length in *used, the bytes written returned; *plain is true when it was
 * copied as is (one column) rather than escaped (one column per byte). */
static size_t term_one(char *out, const unsigned char *s, size_t n, size_t *used, bool *plain)
{
	static const char hex[] = "0123456789abcdef";
	uint32_t cp;
	int len = dl_utf8_decode(s, n, &cp);
	char *p = out;

	*plain = false;
	*used = len ? (size_t)len : 1;
	if (len == 0) {
		*p++ = '\\', *p++ = 'x', *p++ = hex[s[0] >> 4], *p++ = hex[s[0] & 15];
	} else if (cp == '\n' || cp == '\t' || cp == '\r') {
		*p++ = '\\', *p++ = cp == '\n' ? 'n' : cp == '\t' ? 't' : 'r';
	} else if (cp < 0x20 || cp == 0x7f) {
		*p++ = '\\', *p++ = 'x', *p++ = hex[cp >> 4], *p++ = hex[cp & 15];
	} else if (dl_cp_unsafe(cp)) {
		*p++ = '\\', *p++ = 'u';
		for (int k = 12; k >= 0; k -= 4)
			*p++ = hex[(cp >> k) & 15];
	} else {
		for (int k = 0; k < len; k++)
			*p++ = (char)s[k];
		*plain = true;
	}
	return (size_t)(p - out);
}

char *dl_term_strdup(const char *str, size_t n, size_t *width)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t w = 0, used, k;
	char *out, *p;
	bool plain;

	/* at most 4 output bytes per input byte ("\x1b", "\u202e" for 3) */
	if (n > (SIZE_MAX - 1) / 4 || !(out = malloc(4 * n + 1)))
		return NULL;
	p = out;
	for (size_t i = 0; i < n; i += used) {
		k = term_one(p, s + i, n - i, &used, &plain);
		p += k;
		w += plain ? 1 : k;
	}
	*p = 0;
	if (width)
		*width = w;
	return out;
}

void dl_term_str(FILE *f, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	char buf[8];
	size_t used;
	bool plain;

	for (size_t i = 0; i < n; i += used)
		fwrite(buf, 1, term_one(buf, s + i, n - i, &used, &plain), f);
}
