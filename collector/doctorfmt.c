/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `drylock check`, the pure half (see doctorfmt.h). */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "doctorfmt.h"
#include "escape.h"

int dl_kconfig_get(const char *text, size_t n, const char *sym, char *val, size_t vallen)
{
	size_t sl = strlen(sym);
	const char *p = text, *end = text + n;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t len;

		if (!eol)
			eol = end;
		len = (size_t)(eol - p);
		if (len > sl && !memcmp(p, sym, sl) && p[sl] == '=') {
			size_t vl = len - sl - 1;

			if (vallen) {
				if (vl >= vallen)
					vl = vallen - 1;
				memcpy(val, p + sl + 1, vl);
				val[vl] = 0;
			}
			return 1;
		}
		/* "# CONFIG_X is not set" */
		if (len == sl + 13 && !memcmp(p, "# ", 2) && !memcmp(p + 2, sym, sl) &&
		    !memcmp(p + 2 + sl, " is not set", 11))
			return 0;
		p = eol + 1;
	}
	return -ENOENT;
}

bool dl_lsm_has_bpf(const char *list)
{
	const char *p = list;

	while (*p) {
		size_t len = strcspn(p, ",\n\" ");

		if (len == 3 && !memcmp(p, "bpf", 3))
			return true;
		p += len;
		if (*p)
			p++;
	}
	return false;
}

int dl_lsm_line(const char *active, char *out, size_t n)
{
	size_t o = 0;
	bool any = false;
	int w;

	if (n < 5)
		return -ENOSPC;
	memcpy(out, "lsm=", 4);
	o = 4;
	for (const char *p = active; *p;) {
		size_t len;

		p += strspn(p, ",\n\" \t");
		len = strcspn(p, ",\n\" \t");
		if (!len)
			continue;
		if (o + len + 2 > n)
			return -ENOSPC;
		if (any)
			out[o++] = ',';
		memcpy(out + o, p, len);
		o += len;
		any = true;
		p += len;
	}
	out[o] = 0;
	if (!any)
		return -EINVAL;
	if (!dl_lsm_has_bpf(out + 4)) {
		w = snprintf(out + o, n - o, ",bpf");
		if (w < 0 || (size_t)w >= n - o)
			return -ENOSPC;
	}
	return 0;
}

int dl_kernel_version(const char *release, int *major, int *minor)
{
	char *end;
	long a, b;

	if (!isdigit((unsigned char)release[0]))
		return -EINVAL;
	a = strtol(release, &end, 10);
	if (*end != '.' || !isdigit((unsigned char)end[1]))
		return -EINVAL;
	b = strtol(end + 1, &end, 10);
	*major = (int)a;
	*minor = (int)b;
	return 0;
}

bool dl_checks_ok(const struct dl_check *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (c[i].required && (!c[i].ok || c[i].skipped))
			return false;
	return true;
}

static void term(FILE *f, const char *s)
{
	dl_term_str(f, s, strlen(s));
}

void dl_checks_print(FILE *f, const struct dl_check *c, size_t n, const char *kernel)
{
	size_t failed = 0;

	fputs("drylock check: BPF LSM prerequisites on kernel ", f);
	term(f, kernel);
	fputc('\n', f);
	for (size_t i = 0; i < n; i++) {
		const char *mark = c[i].skipped ? "--" : c[i].ok ? "yes" : "no";

		fprintf(f, "  %-4s ", mark);
		term(f, c[i].title);
		if (!c[i].required)
			fputs(" (optional)", f);
		if (c[i].detail[0]) {
			fputs(": ", f);
			term(f, c[i].detail);
		}
		fputc('\n', f);
		if (c[i].ok || c[i].skipped || !c[i].fix[0])
			continue;
		/* a fix may be several lines: each its own, indented */
		for (const char *p = c[i].fix; *p;) {
			size_t len = strcspn(p, "\n");

			fputs(p == c[i].fix ? "       fix: " : "            ", f);
			dl_term_str(f, p, len);
			fputc('\n', f);
			p += len;
			if (*p)
				p++;
		}
	}
	if (dl_checks_ok(c, n)) {
		fputs("yes: BPF LSM programs load and attach on this kernel\n", f);
		return;
	}
	fputs("no: ", f);
	for (size_t i = 0; i < n; i++) {
		if (!c[i].required || (c[i].ok && !c[i].skipped))
			continue;
		if (failed++)
			fputs("; ", f);
		term(f, c[i].title);
		if (c[i].skipped)
			fputs(" (not known)", f);
	}
	fputs(" (the fix lines above say what to do)\n", f);
}

static void json_kv(FILE *f, const char *k, const char *v, bool comma)
{
	fprintf(f, "%s\"%s\":", comma ? "," : "", k);
	dl_json_str(f, v, strlen(v));
}

void dl_checks_json(FILE *f, const struct dl_check *c, size_t n, const char *kernel)
{
	fprintf(f, "{\"ok\":%s", dl_checks_ok(c, n) ? "true" : "false");
	json_kv(f, "kernel", kernel, true);
	fputs(",\"checks\":[", f);
	for (size_t i = 0; i < n; i++) {
		fputs(i ? ",{" : "{", f);
		json_kv(f, "name", c[i].name, false);
		json_kv(f, "title", c[i].title, true);
		fprintf(f, ",\"ok\":%s,\"required\":%s,\"skipped\":%s", c[i].ok ? "true" : "false",
			c[i].required ? "true" : "false", c[i].skipped ? "true" : "false");
		json_kv(f, "detail", c[i].detail, true);
		json_kv(f, "fix", c[i].ok ? "" : c[i].fix, true);
		fputc('}', f);
	}
	fputs("]}\n", f);
}
