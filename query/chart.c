/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Timeline chart as one self-contained SVG (contract in chart.h).
 *
 * Design. The chart must open anywhere, offline, and from a report attached
 * to a ticket, so it is plain SVG 1.1 with no script, no external font, no
 * stylesheet link: a line chart with one polyline per series -- the
 * verdicts (allow, would-deny, deny), or the rules of timeline --by rule --
 * over every bucket of the window (empty buckets are
 * zeros, so a quiet hour shows as a dip, not a straight line to the next
 * busy one), y axis with "nice" ticks (1, 2, 5 x 10^k), x axis with at most
 * eight time labels (UTC; the date under the first label and wherever it
 * changes), light grid, and a legend with each series' total, for which
 * the image is made wide enough (the legend text is measured at a generous
 * average glyph width, as no font metrics are available offline). Series
 * differ in dash pattern as well as colour, so the chart also reads in
 * greyscale.
 * The HTML variant is a minimal page with the same SVG inline.
 *
 * All text that did not come from this file (the title) is XML-escaped, and
 * control and bidi characters and invalid UTF-8 become '?'.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "chart.h"
#include "collector/escape.h"

#define W_MIN 960
#define H 420
#define GLYPH_W 7.5 /* px per character at font-size 12, generous for sans-serif */
#define X0 80.0
#define X1 (W_MIN - 180.0)
#define Y0 50.0
#define Y1 (H - 70.0)

static const struct {
	const char *name, *color, *dash;
} series[DL_VERDICT_MAX] = {
	{ "allow", "#2e7d32", "" },
	{ "would-deny", "#e65100", "8 4" },
	{ "deny", "#b71c1c", "2 3" },
};

/* Other series (rules): colour-blind-safe palette, dashes cycling. */
static const char *const palette[DL_CHART_SERIES_MAX] = {
	"#0072b2", "#e69f00", "#009e73", "#cc79a7", "#d55e00", "#56b4e9", "#000000", "#f0e442",
	"#999999",
};
static const char *const dashes[4] = { "", "8 4", "2 3", "10 3 2 3" };

static const char *s_name(const struct dl_chart *c, size_t k)
{
	return c->names ? c->names[k] : series[k].name;
}

static const char *s_color(const struct dl_chart *c, size_t k)
{
	return c->names ? palette[k % DL_CHART_SERIES_MAX] : series[k].color;
}

static const char *s_dash(const struct dl_chart *c, size_t k)
{
	return c->names ? dashes[k % 4] : series[k].dash;
}

static uint64_t cnt(const struct dl_chart *c, size_t i, size_t k)
{
	return c->counts[i * c->n_series + k];
}

/* Characters (code points) of s. */
static size_t text_len(const char *s)
{
	size_t n = 0;

	for (; s && *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* XML text: escape markup characters; replace invalid UTF-8 (one '?' per
 * byte, decoded by the one decoder in collector/escape.c, which refuses
 * overlong forms and surrogates) and control, bidi and separator characters
 * (dl_cp_unsafe) by '?'. */
static void xml_text(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = s ? strlen(s) : 0;

	while (n > 0) {
		uint32_t cp;
		int len = dl_utf8_decode(p, n, &cp);

		if (len == 0 || dl_cp_unsafe(cp))
			fputc('?', f);
		else if (cp == '&')
			fputs("&amp;", f);
		else if (cp == '<')
			fputs("&lt;", f);
		else if (cp == '>')
			fputs("&gt;", f);
		else if (cp == '"')
			fputs("&quot;", f);
		else if (cp == '\'')
			fputs("&apos;", f);
		else
			fwrite(p, 1, (size_t)len, f);
		len = len ? len : 1;
		p += len;
		n -= (size_t)len;
	}
}

static uint64_t nice_max(uint64_t m, uint64_t *step)
{
	uint64_t mag = 1;

	if (m == 0)
		m = 1;
	for (;;) {
		static const uint64_t mult[] = { 1, 2, 5 };

		for (int i = 0; i < 3; i++) {
			uint64_t s = mult[i] * mag;

			if (s * 5 >= m) {
				*step = s;
				return (m + s - 1) / s * s;
			}
		}
		mag *= 10;
	}
}

static double xpos(size_t i, size_t n)
{
	return n <= 1 ? (X0 + X1) / 2 : X0 + (X1 - X0) * (double)i / (double)(n - 1);
}

static void svg(FILE *f, const struct dl_chart *c)
{
	uint64_t max = 0, step, top, total[DL_CHART_SERIES_MAX] = { 0 };
	size_t labels, every, ns = c->n_series < DL_CHART_SERIES_MAX ? c->n_series : DL_CHART_SERIES_MAX;
	char prev_day[16] = "", num[32];
	double legend = 0;
	int W;

	for (size_t i = 0; i < c->n; i++)
		for (size_t v = 0; v < ns; v++) {
			total[v] += cnt(c, i, v);
			if (cnt(c, i, v) > max)
				max = cnt(c, i, v);
		}
	top = nice_max(max, &step);
	/* wide enough for the longest legend line: "name (total)" */
	for (size_t v = 0; v < ns; v++) {
		double w = (double)(text_len(s_name(c, v)) + (size_t)snprintf(num, sizeof(num), " (%" PRIu64 ")",
									       total[v])) * GLYPH_W;
		if (w > legend)
			legend = w;
	}
	W = (int)(X1 + 58 + legend + 16);
	if (W < W_MIN)
		W = W_MIN;

	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		   "viewBox=\"0 0 %d %d\" role=\"img\" font-family=\"sans-serif\" font-size=\"12\">\n",
		W, H, W, H);
	fputs("<title>", f);
	xml_text(f, c->title);
	fputs("</title>\n", f);
	fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n", W, H);
	fprintf(f, "<text x=\"%.1f\" y=\"28\" font-size=\"16\" font-weight=\"bold\">", X0);
	xml_text(f, c->title);
	fputs("</text>\n", f);

	/* y grid, ticks and labels */
	fputs("<g stroke=\"#e0e0e0\" stroke-width=\"1\">\n", f);
	for (uint64_t t = step; t <= top; t += step) {
		double y = Y1 - (Y1 - Y0) * (double)t / (double)top;

		fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", X0, y, X1, y);
	}
	fputs("</g>\n<g text-anchor=\"end\" fill=\"#333333\">\n", f);
	for (uint64_t t = 0; t <= top; t += step) {
		double y = Y1 - (Y1 - Y0) * (double)t / (double)top;

		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">%" PRIu64 "</text>\n", X0 - 8, y + 4, t);
	}
	fputs("</g>\n", f);

	/* axes */
	fprintf(f, "<g stroke=\"#333333\" stroke-width=\"1\">\n"
		   "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n"
		   "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n</g>\n",
		X0, Y0, X0, Y1, X0, Y1, X1, Y1);
	fprintf(f, "<text x=\"18\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#333333\" "
		   "transform=\"rotate(-90 18 %.1f)\">events per %s</text>\n",
		(Y0 + Y1) / 2, (Y0 + Y1) / 2, c->bucket_ms >= 3600000 ? "hour" : "minute");
	fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" fill=\"#333333\">time (UTC)</text>\n",
		(X0 + X1) / 2, H - 12);

	/* x labels: at most 8, on bucket boundaries */
	labels = c->n < 8 ? c->n : 8;
	every = labels > 1 ? (c->n - 1 + labels - 2) / (labels - 1) : 1;
	if (!every)
		every = 1;
	fputs("<g text-anchor=\"middle\" fill=\"#333333\">\n", f);
	for (size_t i = 0; i < c->n; i += every) {
		time_t t = (time_t)((c->t0_ms + (int64_t)i * c->bucket_ms) / 1000);
		struct tm tm;
		char hm[16], day[16];
		double x = xpos(i, c->n);

		gmtime_r(&t, &tm);
		strftime(hm, sizeof(hm), "%H:%M", &tm);
		strftime(day, sizeof(day), "%Y-%m-%d", &tm);
		fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333333\"/>\n",
			x, Y1, x, Y1 + 5);
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">%s</text>\n", x, Y1 + 19, hm);
		if (strcmp(day, prev_day)) {
			fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">%s</text>\n", x, Y1 + 34, day);
			memcpy(prev_day, day, sizeof(day));
		}
	}
	fputs("</g>\n", f);

	/* one polyline per series */
	for (size_t v = 0; v < ns; v++) {
		const char *dash = s_dash(c, v);

		fputs("<g class=\"series\" id=\"series-", f);
		xml_text(f, s_name(c, v));
		fputs("\">\n", f);
		fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s%s%s points=\"",
			s_color(c, v), *dash ? " stroke-dasharray=\"" : "", dash, *dash ? "\"" : "");
		for (size_t i = 0; i < c->n; i++)
			fprintf(f, "%s%.1f,%.1f", i ? " " : "", xpos(i, c->n),
				Y1 - (Y1 - Y0) * (double)cnt(c, i, v) / (double)top);
		fputs("\"/>\n", f);
		if (c->n <= 120)
			for (size_t i = 0; i < c->n; i++)
				if (cnt(c, i, v))
					fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n",
						xpos(i, c->n),
						Y1 - (Y1 - Y0) * (double)cnt(c, i, v) / (double)top,
						s_color(c, v));
		fputs("</g>\n", f);
	}

	/* legend */
	fprintf(f, "<g class=\"legend\" fill=\"#333333\">\n");
	for (size_t v = 0; v < ns; v++) {
		double y = Y0 + 10 + (double)v * 24;
		const char *dash = s_dash(c, v);

		fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
			   "stroke-width=\"2\"%s%s%s/>\n",
			X1 + 20, y, X1 + 50, y, s_color(c, v), *dash ? " stroke-dasharray=\"" : "", dash,
			*dash ? "\"" : "");
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">", X1 + 58, y + 4);
		xml_text(f, s_name(c, v));
		fprintf(f, " (%" PRIu64 ")</text>\n", total[v]);
	}
	fputs("</g>\n</svg>\n", f);
}

int dl_chart_write(FILE *f, const struct dl_chart *c, int html)
{
	if (html) {
		fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n<title>", f);
		xml_text(f, c->title);
		fputs("</title>\n<style>body { font-family: sans-serif; margin: 2em; }</style>\n"
		      "</head>\n<body>\n", f);
	}
	svg(f, c);
	if (html)
		fputs("</body>\n</html>\n", f);
	return fflush(f) == 0 && !ferror(f) ? 0 : -EIO;
}
