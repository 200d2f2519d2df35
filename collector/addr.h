/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Addresses and cgroup paths as text, one parser and one formatter each for
 * every layer of both binaries (policy keys, the store's read-back, query
 * filters and replay, suggest, audit fields).
 *
 * Addresses are the 16 bytes the kernel records and the policy compiles:
 * IPv6 as is, IPv4 as IPv4-mapped IPv6 (::ffff:a.b.c.d), so one prefix
 * length (0..128) covers both and an IPv4 /N is the 16-byte /96+N. Text is
 * read with inet_pton: dotted-quad IPv4 (exactly four decimal parts, no
 * leading zeros: "010.0.0.1" is refused, not read as octal) or IPv6 (including the
 * ::ffff:a.b.c.d form, which reads as the same bytes as a.b.c.d but counts
 * as written in IPv6, so its prefix length is out of 128).
 *
 * Cgroup paths are as the policy's cgroup= key and the store hold them:
 * absolute paths under the cgroup2 mount, "/" the root.
 */
#ifndef DRYLOCK_ADDR_H
#define DRYLOCK_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include "bpf/drylock_abi.h"

/* The first 12 bytes of an IPv4-mapped IPv6 address (RFC 4291 2.5.5.2). */
extern const __u8 dl_v4mapped_prefix[12];

static inline bool dl_addr_is_v4mapped(const __u8 a[DL_ADDR_LEN])
{
	return memcmp(a, dl_v4mapped_prefix, sizeof(dl_v4mapped_prefix)) == 0;
}

/* Address text to its 16 bytes (all of out is written; zero on error).
 * Returns 4 (written as IPv4, stored v4-mapped), 6 (written as IPv6), or
 * -EINVAL (NULL or neither form; no prefix length allowed here). */
int dl_addr_parse(const char *text, __u8 out[DL_ADDR_LEN]);

/* "ADDR" or "ADDR/LEN". *plen is the 16-byte prefix length (an IPv4 /N is
 * 96 + N; no /LEN is the whole address). LEN is decimal digits only, as
 * dl_parse_uint reads them (no sign, no space, "010" is ten), at most 32
 * for IPv4 and 128 for IPv6. Host bits beyond LEN are kept: whether they
 * are an error is the caller's call. Returns 4 or 6 as dl_addr_parse,
 * -EINVAL (the address part is not an address) or -ERANGE (LEN missing
 * after '/', not decimal, or too long for the address family). */
int dl_prefix_parse(const char *text, __u8 out[DL_ADDR_LEN], unsigned *plen);

/* Display text of an address: IPv4 for v4-mapped addresses, else IPv6.
 * n >= INET6_ADDRSTRLEN. Returns true when written as IPv6. */
bool dl_addr_format(char *out, size_t n, const __u8 a[DL_ADDR_LEN]);

/* "10.0.0.0/24" or "2001:db8::/64" for a 16-byte address and prefix length
 * 0..128: v4-mapped prefixes of 96 bits or more are written as IPv4. */
void dl_prefix_format(char *out, size_t n, const __u8 a[DL_ADDR_LEN], unsigned plen);

/* Why path is not a cgroup path the policy accepts, NULL if it is one:
 * it must start with '/', not end with '/' (except "/" itself), and hold no
 * empty ("//"), "." or ".." component. */
const char *dl_cgroup_path_problem(const char *path);

/* Components of an accepted cgroup path ("/" is 0, "/a/b" is 2); -1 for
 * NULL or a path dl_cgroup_path_problem refuses. */
int dl_cgroup_path_level(const char *path);

#endif
