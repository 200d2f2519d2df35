/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Command-line numbers, durations and sizes (contract in numparse.h).
 *
 * Why not strtoul/strtoll: they skip leading blanks, accept a sign ("-1"
 * becomes ULONG_MAX), accept 0x and octal with base 0, report the end of
 * the number but leave the check to the caller (forgotten before: "4096junk"
 * passed), and their result was then multiplied or cast without a check
 * ("--port 4294967318" was port 22). Here one digit loop checks every step.
 */
#include <errno.h>
#include <stddef.h>

#include "numparse.h"

/* Leading decimal digits of s into *v; *end after them. -EINVAL without a
 * digit, -ERANGE if the value does not fit in 64 bits. */
static int digits(const char *s, uint64_t *v, const char **end)
{
	uint64_t x = 0;
	const char *p = s;

	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');

		if (x > (UINT64_MAX - d) / 10) {
			/* keep scanning so that "99999999999999999999x" is
			 * reported as malformed rather than as too large */
			while (*p >= '0' && *p <= '9')
				p++;
			*end = p;
			return -ERANGE;
		}
		x = x * 10 + d;
	}
	*end = p;
	if (p == s)
		return -EINVAL;
	*v = x;
	return 0;
}

int dl_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	const char *end;
	uint64_t v;
	int r;

	if (!s)
		return -EINVAL;
	r = digits(s, &v, &end);
	if (*end)
		return -EINVAL;
	if (r < 0)
		return r;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int dl_parse_duration_ns(const char *s, int64_t *ns)
{
	static const struct {
		char unit;
		uint64_t ns;
	} units[] = {
		{ 's', 1000000000ULL },
		{ 'm', 60ULL * 1000000000ULL },
		{ 'h', 3600ULL * 1000000000ULL },
		{ 'd', 86400ULL * 1000000000ULL },
		{ 'w', 604800ULL * 1000000000ULL },
	};
	const char *end;
	uint64_t v;
	int r;

	if (!s)
		return -EINVAL;
	r = digits(s, &v, &end);
	if (r == -EINVAL || !end[0] || end[1])
		return -EINVAL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (*end != units[i].unit)
			continue;
		if (r < 0)
			return r;
		if (v == 0)
			return -ERANGE;
		if (v > (uint64_t)INT64_MAX / units[i].ns)
			return -ERANGE;
		*ns = (int64_t)(v * units[i].ns);
		return 0;
	}
	return -EINVAL;
}

int dl_parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	static const char units[] = "KMGT";
	const char *end;
	uint64_t v, mult = 1;
	int r;

	if (!s)
		return -EINVAL;
	r = digits(s, &v, &end);
	if (r == -EINVAL)
		return r;
	if (*end) {
		const char *u = NULL;

		for (const char *p = units; *p; p++)
			if (*p == *end)
				u = p;
		if (!u || end[1])
			return -EINVAL;
		mult = 1ULL << (10 * (u - units + 1));
	}
	if (r < 0)
		return r;
	if (v > UINT64_MAX / mult)
		return -ERANGE;
	v *= mult;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

const char *dl_parse_strerror(int err)
{
	switch (err) {
	case -EINVAL:
		return "not a number of the accepted form";
	case -ERANGE:
		return "out of range";
	default:
		return "invalid";
	}
}
