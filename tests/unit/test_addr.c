/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Address and cgroup path text (collector/addr.h): the one parser and
 * formatter each that replaced the copies in policy-net.c, audit-net.c,
 * obj-net.c, store.c, replay.c, query.c and suggest-net.c. The cases are the
 * union of what those copies accepted and refused; each row says which
 * copy it comes from where only one of them had it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "collector/addr.h"
#include "tap.h"

static const __u8 v4_10_0_0_1[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1 };
static const __u8 v6_db8_1[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
static const __u8 zero[16];

static const struct {
	const char *text;
	int want;               /* 4, 6 or -errno */
	const __u8 *bytes;      /* expected bytes when accepted (NULL: not checked) */
} addrs[] = {
	{ "10.0.0.1", 4, v4_10_0_0_1 },
	{ "::ffff:10.0.0.1", 6, v4_10_0_0_1 },  /* store.c read it as IPv6 first: same bytes, AF_INET6 */
	{ "2001:db8::1", 6, v6_db8_1 },
	{ "2001:DB8::1", 6, v6_db8_1 },
	{ "::", 6, zero },
	{ "0.0.0.0", 4, NULL },
	{ "255.255.255.255", 4, NULL },
	{ "", -EINVAL, NULL },
	{ "10.0.0", -EINVAL, NULL },            /* inet_aton would take it; inet_pton does not */
	{ "10.0.0.1/8", -EINVAL, NULL },        /* replay.c, store.c: no prefix on an address */
	{ " 10.0.0.1", -EINVAL, NULL },
	{ "10.0.0.1 ", -EINVAL, NULL },
	{ "256.0.0.1", -EINVAL, NULL },
	{ "0x0a.0.0.1", -EINVAL, NULL },
	{ "010.0.0.1", -EINVAL, NULL },         /* never octal */
	{ "2001:db8::1%eth0", -EINVAL, NULL },
	{ "2001:db8:::1", -EINVAL, NULL },
	{ "any", -EINVAL, NULL },               /* keywords are the policy's, not an address */
	{ "fe80::1:2:3:4:5:6:7:8", -EINVAL, NULL },
};

static const struct {
	const char *text;
	int want;
	unsigned plen;          /* 16-byte prefix length when accepted */
} prefixes[] = {
	{ "10.0.0.0/8", 4, 104 },
	{ "10.0.0.1", 4, 128 },
	{ "10.0.0.0/0", 4, 96 },
	{ "10.0.0.0/32", 4, 128 },
	{ "10.1.2.3/8", 4, 104 },               /* host bits are the caller's call (policy: an error) */
	{ "10.0.0.0/08", 4, 104 },              /* query.c's dl_parse_uint: "010" is ten */
	{ "2001:db8::/32", 6, 32 },
	{ "::/0", 6, 0 },
	{ "::ffff:10.0.0.0/104", 6, 104 },      /* written as IPv6: the length is out of 128 */
	{ "2001:db8::/128", 6, 128 },
	{ "10.0.0.0/33", -ERANGE, 0 },
	{ "2001:db8::/129", -ERANGE, 0 },
	{ "10.0.0.0/", -ERANGE, 0 },
	{ "10.0.0.0/+8", -ERANGE, 0 },
	{ "10.0.0.0/-0", -ERANGE, 0 },
	{ "10.0.0.0/ 8", -ERANGE, 0 },
	{ "10.0.0.0/8 ", -ERANGE, 0 },
	{ "10.0.0.0/8x", -ERANGE, 0 },          /* both copies refused trailing junk */
	{ "10.0.0.0/0x8", -ERANGE, 0 },
	{ "10.0.0.0/8/8", -ERANGE, 0 },
	{ "10.0.0.0/99999999999999999999", -ERANGE, 0 },
	{ "10.0.0/8", -EINVAL, 0 },
	{ "/8", -EINVAL, 0 },
	{ "", -EINVAL, 0 },
	{ "any/0", -EINVAL, 0 },
	{ "1111:2222:3333:4444:5555:6666:7777:8888:9999/64", -EINVAL, 0 }, /* longer than any address */
};

static const struct {
	const char *path;
	const char *problem;    /* NULL: accepted */
	int level;
} cgroups[] = {
	{ "/", NULL, 0 },
	{ "/a", NULL, 1 },
	{ "/system.slice/nginx.service", NULL, 2 },
	{ "/a/b/c", NULL, 3 },
	{ "/.a", NULL, 1 },
	{ "/a..", NULL, 1 },
	{ "/...", NULL, 1 },
	{ "/a b/c", NULL, 2 },                  /* bytes are the kernel's; only the shape is checked */
	{ NULL, "must start with '/'", -1 },
	{ "", "must start with '/'", -1 },
	{ "a/b", "must start with '/'", -1 },
	{ "/a/", "must not end with '/'", -1 },
	{ "//", "must not end with '/'", -1 },
	{ "/a//b", "must not contain an empty component ('//')", -1 }, /* resolve_fs counted it as one level */
	{ "/a/./b", "must not contain '.' components", -1 },
	{ "/.", "must not contain '.' components", -1 },
	{ "/a/../b", "must not contain '..'", -1 },
	{ "/..", "must not contain '..'", -1 },
};

int main(void)
{
	__u8 a[16];
	char buf[64];
	unsigned plen;

	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		int r = dl_addr_parse(addrs[i].text, a);

		TAP_OK(r == addrs[i].want && (r < 0 ? !memcmp(a, zero, 16)
						    : !addrs[i].bytes || !memcmp(a, addrs[i].bytes, 16)),
		       "address '%s': %d (got %d)", addrs[i].text, addrs[i].want, r);
	}
	TAP_OK(dl_addr_parse(NULL, a) == -EINVAL, "address NULL: -EINVAL");

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		int r;

		plen = 999;
		r = dl_prefix_parse(prefixes[i].text, a, &plen);
		TAP_OK(r == prefixes[i].want && (r < 0 ? plen == 999 && !memcmp(a, zero, 16) : plen == prefixes[i].plen),
		       "prefix '%s': %d /%u (got %d /%u)", prefixes[i].text, prefixes[i].want, prefixes[i].plen, r,
		       plen);
	}
	dl_prefix_parse("10.1.2.3/8", a, &plen);
	TAP_OK(a[12] == 10 && a[13] == 1 && a[14] == 2 && a[15] == 3 && dl_addr_is_v4mapped(a),
	       "prefix keeps the host bits and maps IPv4");

	TAP_OK(!dl_addr_format(buf, sizeof(buf), v4_10_0_0_1) && !strcmp(buf, "10.0.0.1"),
	       "format: v4-mapped as IPv4 (%s)", buf);
	TAP_OK(dl_addr_format(buf, sizeof(buf), v6_db8_1) && !strcmp(buf, "2001:db8::1"),
	       "format: IPv6 (%s)", buf);
	TAP_OK(dl_addr_format(buf, sizeof(buf), zero) && !strcmp(buf, "::"), "format: :: (%s)", buf);
	dl_prefix_format(buf, sizeof(buf), v4_10_0_0_1, 104);
	TAP_OK(!strcmp(buf, "10.0.0.1/8"), "prefix format: IPv4 /8 (%s)", buf);
	dl_prefix_format(buf, sizeof(buf), v4_10_0_0_1, 95);
	TAP_OK(!strcmp(buf, "::ffff:10.0.0.1/95"), "prefix format: shorter than /96 stays IPv6 (%s)", buf);
	dl_prefix_format(buf, sizeof(buf), zero, 0);
	TAP_OK(!strcmp(buf, "::/0"), "prefix format: ::/0 (%s)", buf);

	for (size_t i = 0; i < sizeof(cgroups) / sizeof(cgroups[0]); i++) {
		const char *p = dl_cgroup_path_problem(cgroups[i].path);
		int l = dl_cgroup_path_level(cgroups[i].path);

		TAP_OK(((!p && !cgroups[i].problem) || (p && cgroups[i].problem && !strcmp(p, cgroups[i].problem))) &&
			       l == cgroups[i].level,
		       "cgroup '%s': %s, level %d (got %s, %d)", cgroups[i].path ? cgroups[i].path : "(null)",
		       cgroups[i].problem ? cgroups[i].problem : "ok", cgroups[i].level, p ? p : "ok", l);
	}
	return tap_done();
}
