/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The command-line number, duration and size parsers (collector/numparse.h),
 * with the hostile values of the security review: each either parses to the
 * exact value or is refused, never wrapped.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "collector/numparse.h"
#include "tap.h"

static void uint_case(const char *s, uint64_t min, uint64_t max, int want, uint64_t want_v)
{
	uint64_t v = 12345;
	int r = dl_parse_uint(s, min, max, &v);

	if (want == 0)
		TAP_OK(r == 0 && v == want_v, "uint '%s' in [%llu, %llu] = %llu (got %d, %llu)", s,
		       (unsigned long long)min, (unsigned long long)max, (unsigned long long)want_v, r,
		       (unsigned long long)v);
	else
		TAP_OK(r == want && v == 12345, "uint '%s' in [%llu, %llu] refused with %d (got %d)", s,
		       (unsigned long long)min, (unsigned long long)max, want, r);
}

static void dur_case(const char *s, int want, int64_t want_ns)
{
	int64_t ns = 777;
	int r = dl_parse_duration_ns(s, &ns);

	if (want == 0)
		TAP_OK(r == 0 && ns == want_ns, "duration '%s' = %lld ns (got %d, %lld)", s,
		       (long long)want_ns, r, (long long)ns);
	else
		TAP_OK(r == want && ns == 777, "duration '%s' refused with %d (got %d)", s, want, r);
}

static void size_case(const char *s, uint64_t min, uint64_t max, int want, uint64_t want_v)
{
	uint64_t v = 99;
	int r = dl_parse_size(s, min, max, &v);

	if (want == 0)
		TAP_OK(r == 0 && v == want_v, "size '%s' = %llu (got %d, %llu)", s,
		       (unsigned long long)want_v, r, (unsigned long long)v);
	else
		TAP_OK(r == want && v == 99, "size '%s' in [%llu, %llu] refused with %d (got %d)", s,
		       (unsigned long long)min, (unsigned long long)max, want, r);
}

int main(void)
{
	/* integers */
	uint_case("0", 0, 10, 0, 0);
	uint_case("010", 0, 100, 0, 10); /* decimal, not octal */
	uint_case("65535", 0, 65535, 0, 65535);
	uint_case("65536", 0, 65535, -ERANGE, 0);
	uint_case("4294967318", 0, 65535, -ERANGE, 0); /* was port 22 */
	uint_case("4294967296", 0, UINT32_MAX, -ERANGE, 0);
	uint_case("18446744073709551615", 0, UINT64_MAX, 0, UINT64_MAX);
	uint_case("18446744073709551616", 0, UINT64_MAX, -ERANGE, 0);
	uint_case("99999999999999999999999", 0, UINT64_MAX, -ERANGE, 0);
	uint_case("9223372036854775807", 0, INT64_MAX, 0, INT64_MAX);
	uint_case("9223372036854775808", 0, INT64_MAX, -ERANGE, 0);
	uint_case("0", 1, 65536, -ERANGE, 0);
	uint_case("", 0, 10, -EINVAL, 0);
	uint_case("-0", 0, 10, -EINVAL, 0);
	uint_case("-1", 0, UINT64_MAX, -EINVAL, 0);
	uint_case("+8", 0, 128, -EINVAL, 0);
	uint_case(" 8", 0, 128, -EINVAL, 0);
	uint_case("8 ", 0, 128, -EINVAL, 0);
	uint_case("10x", 1, 65536, -EINVAL, 0);
	uint_case("4096junk", 0, UINT64_MAX, -EINVAL, 0);
	uint_case("0x100000000", 0, UINT64_MAX, -EINVAL, 0);
	uint_case("0x10", 0, UINT64_MAX, -EINVAL, 0);
	uint_case("99999999999999999999999x", 0, UINT64_MAX, -EINVAL, 0);
	uint_case("1e3", 0, UINT64_MAX, -EINVAL, 0);
	{
		uint64_t v;
		TAP_OK(dl_parse_uint(NULL, 0, 1, &v) == -EINVAL, "uint NULL refused");
	}

	/* durations */
	dur_case("1s", 0, 1000000000LL);
	dur_case("90m", 0, 90LL * 60 * 1000000000LL);
	dur_case("12h", 0, 12LL * 3600 * 1000000000LL);
	dur_case("30d", 0, 30LL * 86400 * 1000000000LL);
	dur_case("2w", 0, 2LL * 604800 * 1000000000LL);
	dur_case("1w", 0, 604800LL * 1000000000LL);
	dur_case("9223372036s", 0, 9223372036LL * 1000000000LL);
	dur_case("9223372037s", -ERANGE, 0);
	dur_case("18446744074s", -ERANGE, 0); /* wrapped to 0.29 s before */
	dur_case("106751991166d", -ERANGE, 0);
	dur_case("106751d", 0, 106751LL * 86400 * 1000000000LL);
	dur_case("106752d", -ERANGE, 0);
	dur_case("99999999999999w", -ERANGE, 0);
	dur_case("9223372036854775807s", -ERANGE, 0);
	dur_case("99999999999999999999999s", -ERANGE, 0);
	dur_case("0s", -ERANGE, 0);
	dur_case("0d", -ERANGE, 0);
	dur_case("10", -EINVAL, 0);
	dur_case("", -EINVAL, 0);
	dur_case("d", -EINVAL, 0);
	dur_case("-1d", -EINVAL, 0);
	dur_case("+1d", -EINVAL, 0);
	dur_case(" 1d", -EINVAL, 0);
	dur_case("1d ", -EINVAL, 0);
	dur_case("1dd", -EINVAL, 0);
	dur_case("1y", -EINVAL, 0);
	dur_case("1D", -EINVAL, 0);
	dur_case("10x", -EINVAL, 0);
	dur_case("0x10s", -EINVAL, 0);
	dur_case("1h30m", -EINVAL, 0);

	/* sizes */
	size_case("4096", 0, UINT64_MAX, 0, 4096);
	size_case("1K", 0, UINT64_MAX, 0, 1024);
	size_case("1M", 0, UINT64_MAX, 0, 1 << 20);
	size_case("2G", 0, UINT64_MAX, 0, 2ULL << 30);
	size_case("3T", 0, UINT64_MAX, 0, 3ULL << 40);
	size_case("2147483648", 4096, UINT32_MAX, 0, 2147483648ULL);
	size_case("4294967295", 0, UINT32_MAX, 0, UINT32_MAX);
	size_case("4294967296", 0, UINT32_MAX, -ERANGE, 0);
	size_case("4G", 0, UINT32_MAX, -ERANGE, 0);
	size_case("0x100000000", 0, UINT32_MAX, -EINVAL, 0);
	size_case("4096junk", 0, UINT32_MAX, -EINVAL, 0);
	size_case("99999999999T", 1, INT64_MAX, -ERANGE, 0);
	size_case("16777215T", 1, UINT64_MAX, 0, 16777215ULL << 40);
	size_case("16777216T", 1, UINT64_MAX, -ERANGE, 0);
	size_case("8388607T", 1, INT64_MAX, 0, 8388607ULL << 40);
	size_case("8388608T", 1, INT64_MAX, -ERANGE, 0);
	size_case("99999999999999999999999K", 0, UINT64_MAX, -ERANGE, 0);
	size_case("0", 1, UINT64_MAX, -ERANGE, 0);
	size_case("0M", 1, UINT64_MAX, -ERANGE, 0);
	size_case("", 0, UINT64_MAX, -EINVAL, 0);
	size_case("M", 0, UINT64_MAX, -EINVAL, 0);
	size_case("-1M", 0, UINT64_MAX, -EINVAL, 0);
	size_case("+1M", 0, UINT64_MAX, -EINVAL, 0);
	size_case("1MB", 0, UINT64_MAX, -EINVAL, 0);
	size_case("1m", 0, UINT64_MAX, -EINVAL, 0);
	size_case("1 M", 0, UINT64_MAX, -EINVAL, 0);
	size_case("10x", 0, UINT64_MAX, -EINVAL, 0);

	TAP_OK(strstr(dl_parse_strerror(-ERANGE), "range") != NULL, "strerror names a range error");
	TAP_OK(strstr(dl_parse_strerror(-EINVAL), "number") != NULL, "strerror names a form error");
	return tap_done();
}
