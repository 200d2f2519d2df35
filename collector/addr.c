/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Address and cgroup path text (contract in addr.h). Before this file the
 * same rules lived in five copies of the v4-mapped prefix, four inet_pton
 * parsers and three cgroup path checks, which had drifted in small ways
 * (which prefix-length digits were accepted, whether "//" counted as a
 * component); everything now calls these.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "addr.h"
#include "numparse.h"

const __u8 dl_v4mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

int dl_addr_parse(const char *text, __u8 out[DL_ADDR_LEN])
{
	memset(out, 0, DL_ADDR_LEN);
	if (!text)
		return -EINVAL;
	if (inet_pton(AF_INET, text, out + 12) == 1) {
		memcpy(out, dl_v4mapped_prefix, sizeof(dl_v4mapped_prefix));
		return 4;
	}
	if (inet_pton(AF_INET6, text, out) == 1)
		return 6;
	memset(out, 0, DL_ADDR_LEN);
	return -EINVAL;
}

int dl_prefix_parse(const char *text, __u8 out[DL_ADDR_LEN], unsigned *plen)
{
	char buf[INET6_ADDRSTRLEN + 1];
	const char *slash;
	size_t n;
	uint64_t len;
	int v;

	memset(out, 0, DL_ADDR_LEN);
	if (!text)
		return -EINVAL;
	slash = strchr(text, '/');
	n = slash ? (size_t)(slash - text) : strlen(text);
	if (n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, text, n);
	buf[n] = 0;
	if ((v = dl_addr_parse(buf, out)) < 0)
		return v;
	len = v == 4 ? 32 : 128;
	if (slash && dl_parse_uint(slash + 1, 0, v == 4 ? 32 : 128, &len) < 0) {
		memset(out, 0, DL_ADDR_LEN);
		return -ERANGE;
	}
	*plen = (v == 4 ? 96u : 0u) + (unsigned)len;
	return v;
}

bool dl_addr_format(char *out, size_t n, const __u8 a[DL_ADDR_LEN])
{
	bool v6 = !dl_addr_is_v4mapped(a);

	if (!inet_ntop(v6 ? AF_INET6 : AF_INET, v6 ? a : a + 12, out, (socklen_t)n) && n)
		out[0] = 0;
	return v6;
}

void dl_prefix_format(char *out, size_t n, const __u8 a[DL_ADDR_LEN], unsigned plen)
{
	char buf[INET6_ADDRSTRLEN];

	if (plen >= 96 && dl_addr_is_v4mapped(a)) {
		inet_ntop(AF_INET, a + 12, buf, sizeof(buf));
		snprintf(out, n, "%s/%u", buf, plen - 96);
	} else {
		inet_ntop(AF_INET6, a, buf, sizeof(buf));
		snprintf(out, n, "%s/%u", buf, plen);
	}
}

const char *dl_cgroup_path_problem(const char *path)
{
	size_t len;

	if (!path || path[0] != '/')
		return "must start with '/'";
	len = strlen(path);
	if (len == 1)
		return NULL;
	if (path[len - 1] == '/')
		return "must not end with '/'";
	for (const char *p = path; *p;) {
		size_t c;

		p++; /* past '/' */
		c = strcspn(p, "/");
		if (c == 0)
			return "must not contain an empty component ('//')";
		if (c == 2 && p[0] == '.' && p[1] == '.')
			return "must not contain '..'";
		if (c == 1 && p[0] == '.')
			return "must not contain '.' components";
		p += c;
	}
	return NULL;
}

int dl_cgroup_path_level(const char *path)
{
	int n = 0;

	if (dl_cgroup_path_problem(path))
		return -1;
	for (const char *p = path + 1; *p; p++)
		n += *p == '/';
	return path[1] ? n + 1 : 0;
}
