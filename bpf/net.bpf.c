// SPDX-License-Identifier: GPL-2.0-only
/*
 * Policy family "net": connect and bind destinations.
 *
 * Hooks: lsm/socket_connect and lsm/socket_bind, for AF_INET/AF_INET6 sockets.
 * The address (IPv4 as v4-mapped IPv6) is looked up in the LPM trie
 * dl_net_lpm; the value holds every rule whose prefix covers the longest
 * matching prefix, most specific first (compiled in user space by
 * dl_net_compile), so one lookup and one bounded walk decide. The first rule
 * that matches operation, protocol, port and cgroup decides:
 *   allow -> allowed, recorded as allow;
 *   deny  -> would-deny (permissive) or deny with -EPERM (enforce).
 * No matching rule: allowed, counted in dl_unmatched, not recorded.
 */
#include "common.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* key: address prefix (struct dl_lpm_key) -> struct dl_net_set */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, DL_NET_LPM_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct dl_lpm_key);
	__type(value, struct dl_net_set);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dl_net_lpm SEC(".maps");

/* Read the caller's sockaddr into a v4-mapped/IPv6 address and port.
 * Returns 0, or 1 when the address is not one this family decides on. */
static __always_inline int net_read_addr(struct sockaddr *address, int addrlen, __u8 addr[16],
					 __u16 *port, __u16 *sa_family)
{
	__u16 fam = BPF_CORE_READ(address, sa_family);

	*sa_family = fam;
	if (fam == DL_AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)address;
		__u32 a;

		if (addrlen < (int)sizeof(struct sockaddr_in))
			return 1;
		a = BPF_CORE_READ(sin, sin_addr.s_addr);
		__builtin_memset(addr, 0, 10);
		addr[10] = 0xff;
		addr[11] = 0xff;
		__builtin_memcpy(addr + 12, &a, 4);
		*port = bpf_ntohs(BPF_CORE_READ(sin, sin_port));
		return 0;
	}
	if (fam == DL_AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)address;

		if (addrlen < (int)sizeof(struct sockaddr_in6))
			return 1;
		if (bpf_core_read(addr, 16, &sin6->sin6_addr))
			return 1;
		*port = bpf_ntohs(BPF_CORE_READ(sin6, sin6_port));
		return 0;
	}
	/* AF_UNSPEC (UDP disconnect) and anything else: not ours to decide. */
	return 1;
}

static __always_inline int net_decide(struct socket *sock, struct sockaddr *address, int addrlen,
				      __u8 op, __u16 hook)
{
	struct dl_lpm_key key = { .prefixlen = 128 };
	struct dl_net_set *set;
	struct dl_config *cfg;
	struct dl_record *rec;
	struct sock *sk;
	__u16 port = 0, sa_family = 0, sk_family, sk_type;
	__u8 proto, verdict, enforced = 0;
	__u32 rule_idx = DL_RULE_NONE, gen = 0, i;
	int action = -1;

	sk = BPF_CORE_READ(sock, sk);
	if (!sk)
		return 0;
	sk_family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (sk_family != DL_AF_INET && sk_family != DL_AF_INET6)
		return 0;
	if (net_read_addr(address, addrlen, key.addr, &port, &sa_family))
		return 0;
	proto = (__u8)BPF_CORE_READ(sk, sk_protocol);
	sk_type = BPF_CORE_READ(sk, sk_type);

	set = bpf_map_lookup_elem(&dl_net_lpm, &key);
	if (!set) {
		dl_count_unmatched(DL_FAMILY_NET);
		return 0;
	}

	for (i = 0; i < DL_NET_SET_MAX; i++) {
		struct dl_net_rule *r;

		if (i >= set->n)
			break;
		r = &set->r[i];
		if (!(r->ops & op))
			continue;
		if (r->proto && r->proto != proto)
			continue;
		if (port < r->port_lo || port > r->port_hi)
			continue;
		if (r->cgroup_id && bpf_get_current_ancestor_cgroup_id(r->cgroup_level) != r->cgroup_id)
			continue;
		rule_idx = r->rule_idx;
		action = r->action;
		break;
	}
	if (action < 0) {
		dl_count_unmatched(DL_FAMILY_NET);
		return 0;
	}

	gen = set->gen;
	cfg = dl_get_config();
	if (cfg)
		enforced = cfg->mode[DL_FAMILY_NET] == DL_MODE_ENFORCE;
	if (action == DL_ACTION_ALLOW)
		verdict = DL_VERDICT_ALLOW;
	else
		verdict = enforced ? DL_VERDICT_DENY : DL_VERDICT_WOULD_DENY;
	dl_count(rule_idx, verdict);

	rec = dl_record_start(DL_FAMILY_NET, hook, rule_idx, verdict, enforced, gen);
	if (rec) {
		__builtin_memcpy(rec->u.net.addr, key.addr, 16);
		rec->u.net.port = port;
		rec->u.net.sa_family = sa_family;
		rec->u.net.sock_type = sk_type;
		rec->u.net.protocol = proto;
		bpf_ringbuf_submit(rec, 0);
	}
	return dl_verdict_ret(verdict);
}

SEC("lsm/socket_connect")
int BPF_PROG(dl_net_connect, struct socket *sock, struct sockaddr *address, int addrlen, int ret)
{
	if (ret)
		return dl_pass(ret);
	return net_decide(sock, address, addrlen, DL_NET_OP_CONNECT, DL_HOOK_SOCKET_CONNECT);
}

SEC("lsm/socket_bind")
int BPF_PROG(dl_net_bind, struct socket *sock, struct sockaddr *address, int addrlen, int ret)
{
	if (ret)
		return dl_pass(ret);
	return net_decide(sock, address, addrlen, DL_NET_OP_BIND, DL_HOOK_SOCKET_BIND);
}
