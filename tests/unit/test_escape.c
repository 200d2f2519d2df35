/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Untrusted text on its way out (collector/escape.h): the one UTF-8
 * decoder, the terminal escaper, the JSON string writer, and the SVG
 * chart's title, which now uses the same decoder.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector/escape.h"
#include "query/chart.h"
#include "tap.h"

static void dec(const char *what, const char *s, size_t n, int want_len, uint32_t want_cp)
{
	uint32_t cp = 0xffffffff;
	int len = dl_utf8_decode((const unsigned char *)s, n, &cp);

	TAP_OK(len == want_len && (want_len == 0 || cp == want_cp), "utf8 %s: length %d (got %d, U+%04X)", what,
	       want_len, len, (unsigned)cp);
}

static void term(const char *in, size_t n, const char *want, size_t want_w)
{
	size_t w = 0;
	char *got = dl_term_strdup(in, n, &w);
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	dl_term_str(m, in, n);
	fclose(m);
	TAP_OK(got && !strcmp(got, want) && w == want_w && buf && !strcmp(buf, want),
	       "term '%s' (width %zu): got '%s' (%zu), stream '%s'", want, want_w, got ? got : "(null)", w,
	       buf ? buf : "(null)");
	free(got);
	free(buf);
}

static void json(const char *in, size_t n, const char *want)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	dl_json_str(m, in, n);
	fclose(m);
	TAP_OK(buf && !strcmp(buf, want), "json %s: got %s", want, buf ? buf : "(null)");
	free(buf);
}

int main(void)
{
	/* the decoder */
	dec("ASCII", "A", 1, 1, 'A');
	dec("2-byte", "\xc3\xa9", 2, 2, 0xe9);
	dec("3-byte U+202E", "\xe2\x80\xae", 3, 3, 0x202e);
	dec("4-byte U+1F600", "\xf0\x9f\x98\x80", 4, 4, 0x1f600);
	dec("U+10FFFF", "\xf4\x8f\xbf\xbf", 4, 4, 0x10ffff);
	dec("overlong 2-byte '/'", "\xc0\xaf", 2, 0, 0);
	dec("overlong 2-byte '<'", "\xc0\xbc", 2, 0, 0);
	dec("overlong 3-byte '/'", "\xe0\x80\xaf", 3, 0, 0);
	dec("overlong 3-byte U+07FF", "\xe0\x9f\xbf", 3, 0, 0);
	dec("overlong 4-byte", "\xf0\x80\x80\xaf", 4, 0, 0);
	dec("surrogate U+D800", "\xed\xa0\x80", 3, 0, 0);
	dec("surrogate U+DFFF", "\xed\xbf\xbf", 3, 0, 0);
	dec("above U+10FFFF", "\xf4\x90\x80\x80", 4, 0, 0);
	dec("F5 lead", "\xf5\x80\x80\x80", 4, 0, 0);
	dec("stray continuation", "\x80", 1, 0, 0);
	dec("truncated", "\xe2\x80", 2, 0, 0);
	dec("bad continuation", "\xe2\x28\xa1", 3, 0, 0);
	dec("empty", "", 0, 0, 0);

	/* the terminal: controls, DEL, C1, bidi, invalid bytes as visible escapes */
	term("plain /usr/bin/x", 16, "plain /usr/bin/x", 16);
	term("caf\xc3\xa9", 5, "caf\xc3\xa9", 4);
	term("a\x1b[2Jb", 6, "a\\x1b[2Jb", 9);
	term("\n\t\r\x01\x7f", 5, "\\n\\t\\r\\x01\\x7f", 14);
	term("\xc2\x9b" "c", 3, "\\u009bc", 7);
	term("x\xe2\x80\xaey", 5, "x\\u202ey", 8);
	{
		static const struct {
			const char *utf8, *esc;
		} bidi[] = {
			{ "\xd8\x9c", "\\u061c" },     { "\xe2\x80\x8e", "\\u200e" }, { "\xe2\x80\x8f", "\\u200f" },
			{ "\xe2\x80\xaa", "\\u202a" }, { "\xe2\x80\xab", "\\u202b" }, { "\xe2\x80\xac", "\\u202c" },
			{ "\xe2\x80\xad", "\\u202d" }, { "\xe2\x80\xae", "\\u202e" }, { "\xe2\x81\xa6", "\\u2066" },
			{ "\xe2\x81\xa7", "\\u2067" }, { "\xe2\x81\xa8", "\\u2068" }, { "\xe2\x81\xa9", "\\u2069" },
			{ "\xe2\x80\xa8", "\\u2028" }, { "\xe2\x80\xa9", "\\u2029" },
		};
		for (size_t i = 0; i < sizeof(bidi) / sizeof(bidi[0]); i++)
			term(bidi[i].utf8, strlen(bidi[i].utf8), bidi[i].esc, 6);
	}
	term("\xff\xc0\xaf", 3, "\\xff\\xc0\\xaf", 12);
	term("\xed\xa0\x80", 3, "\\xed\\xa0\\x80", 12);
	term("a\0b", 3, "a\\x00b", 6);
	term("\\x2d", 4, "\\x2d", 4); /* a backslash stays (systemd unit escapes) */
	term("\xe2\x80\x8b", 3, "\xe2\x80\x8b", 1); /* zero-width space is not a control */

	/* JSON: exact text, JSON escapes only */
	json("a\"b\\c", 5, "\"a\\\"b\\\\c\"");
	json("\x1b\n\t\r\x7f", 5, "\"\\u001b\\n\\t\\r\\u007f\"");
	json("x\xe2\x80\xaey", 5, "\"x\xe2\x80\xaey\"");
	json("\xff", 1, "\"\\u00ff\"");
	json("\xc0\xaf", 2, "\"\\u00c0\\u00af\"");
	json("/sys/fs/bpf/drylock", 19, "\"/sys/fs/bpf/drylock\"");

	/* the chart's title goes through the same decoder: overlong forms,
	 * surrogates and bidi controls become '?', markup is escaped */
	{
		uint64_t counts[1][DL_VERDICT_MAX] = { { 1, 2, 3 } };
		char *buf = NULL;
		size_t len = 0;
		FILE *m = open_memstream(&buf, &len);
		struct dl_chart c = {
			.t0_ms = 0, .bucket_ms = 60000, .n = 1,
			.n_series = DL_VERDICT_MAX, .counts = &counts[0][0],
			.title = "T\xe0\x80\xbc" "a\xed\xa0\x80" "b\xf4\x90\x80\x80" "c\xe2\x80\xae" "d<e>&\xc3\xa9",
		};

		TAP_OK(dl_chart_write(m, &c, 0) == 0, "chart written");
		fclose(m);
		TAP_OK(buf && strstr(buf, "<title>T???a???b????c?d&lt;e&gt;&amp;\xc3\xa9</title>"),
		       "chart title: overlong, surrogate, > U+10FFFF and bidi as '?'");
		TAP_OK(buf && !strstr(buf, "\xe0\x80\xbc") && !strstr(buf, "\xed\xa0\x80") &&
			       !strstr(buf, "\xe2\x80\xae"),
		       "chart: none of those bytes written raw");
		free(buf);
	}
	return tap_done();
}
