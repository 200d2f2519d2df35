/* SPDX-License-Identifier: (LGPL-2.1-or-later OR BSD-2-Clause) */
/*
 * The net family's pre-filter: "can any rule match this operation?",
 * answered before the LPM walk (bpf/net.bpf.c) from bitmaps compiled with the
 * rules (collector/policy-net.c: dl_net_pf_build) into the pinned array
 * dl_net_pf, one entry per operation (DL_NET_PF_CONNECT, DL_NET_PF_BIND).
 *
 * Each entry is three 65,536-bit bitmaps: the top 16 bits of the address
 * (of the IPv4 address for v4-mapped addresses, of the IPv6 address
 * otherwise) and the port. A bit is set when some rule of that operation
 * covers a value with those bits. A rule that matches an operation covers
 * its address and port, so a clear bit proves that no rule matches: the
 * filter may answer "maybe" for an operation no rule matches (the LPM walk
 * then decides, as without the filter), never "no" for one a rule matches.
 * Protocol and cgroup are left to the walk.
 *
 * dl_net_pf_maybe (with dl_net_pf_maybe_v4, the program's shortcut for a
 * sockaddr_in) is the one predicate: the BPF program and the user-space
 * tests compile the same functions.
 */
#ifndef DRYLOCK_NET_PF_H
#define DRYLOCK_NET_PF_H

#include "drylock_abi.h"

#define DL_NET_PF_BITS 65536
#define DL_NET_PF_WORDS (DL_NET_PF_BITS / 64)
#define DL_NET_PF_CONNECT 0     /* key of dl_net_pf for DL_NET_OP_CONNECT */
#define DL_NET_PF_BIND 1        /* key for DL_NET_OP_BIND */
#define DL_NET_PF_OPS 2         /* entries of dl_net_pf */

/* Value of "dl_net_pf" (array, key DL_NET_PF_*): 24 KiB. */
struct dl_net_pf {
	__u64 v4[DL_NET_PF_WORDS];   /* bit a>>16 of an IPv4 (v4-mapped) address a */
	__u64 v6[DL_NET_PF_WORDS];   /* bit of the first 16 bits of other IPv6 addresses */
	__u64 port[DL_NET_PF_WORDS]; /* bit per port */
};

#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
_Static_assert(sizeof(struct dl_net_pf) == 3 * 8 * DL_NET_PF_WORDS, "dl_net_pf size");
#endif

static inline int dl_net_pf_bit(const __u64 *bits, __u32 i)
{
	__u64 w = (i >> 6) & (DL_NET_PF_WORDS - 1);

#ifdef __bpf__
	/* The 6.1 verifier loses the bound clang's folded shift-and-mask
	 * leaves on the word index ("R0 unbounded memory access"): mask it
	 * again in a register, right before the load. */
	asm volatile("%[w] &= %[m]" : [w] "+r"(w) : [m] "i"(DL_NET_PF_WORDS - 1));
#endif
	return (bits[w] >> (i & 63)) & 1;
}

/* Is addr (16 bytes, IPv4 v4-mapped, as the LPM key) a v4-mapped address? */
static inline int dl_net_pf_is_v4(const __u8 addr[DL_ADDR_LEN])
{
	__u64 hi;

	__builtin_memcpy(&hi, addr, 8);
	/* ::ffff:0:0/96: ten zero bytes, then ff ff */
	return hi == 0 && addr[8] == 0 && addr[9] == 0 && addr[10] == 0xff && addr[11] == 0xff;
}

/* 0: no rule of this entry's operation can match the IPv4 address a
 * (network byte order, as sockaddr_in carries it) and port; 1: maybe. */
static inline int dl_net_pf_maybe_v4(const struct dl_net_pf *pf, __u32 a, __u16 port)
{
	const __u8 *b = (const __u8 *)&a;

	if (!dl_net_pf_bit(pf->port, port))
		return 0;
	return dl_net_pf_bit(pf->v4, ((__u32)b[0] << 8) | b[1]);
}

/* 0: no rule of this entry's operation can match (addr, port); 1: maybe. */
static inline int dl_net_pf_maybe(const struct dl_net_pf *pf, const __u8 addr[DL_ADDR_LEN], __u16 port)
{
	if (dl_net_pf_is_v4(addr)) {
		__u32 a;

		__builtin_memcpy(&a, addr + 12, 4);
		return dl_net_pf_maybe_v4(pf, a, port);
	}
	if (!dl_net_pf_bit(pf->port, port))
		return 0;
	return dl_net_pf_bit(pf->v6, ((__u32)addr[0] << 8) | addr[1]);
}

#endif
