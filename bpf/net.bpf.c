// SPDX-License-Identifier: GPL-2.0-only
/*
 * Policy family "net": every way a process names a remote destination or a
 * local address, decided on what the kernel will do with it.
 *
 * Hooks and what reaches them (read from net/socket.c, net/ipv4/af_inet.c,
 * udp.c, raw.c, tcp.c, the net/ipv6 counterparts, net/sctp/socket.c and
 * io_uring/net.c):
 *   socket_connect   connect(2), io_uring IORING_OP_CONNECT (same
 *                    __sys_connect_file), SCTP connect(2)
 *   socket_bind      bind(2), io_uring IORING_OP_BIND
 *   socket_sendmsg   sendto/sendmsg/sendmmsg and io_uring SEND/SENDMSG (and
 *                    their zero-copy forms) with a destination: unconnected
 *                    UDP, raw and ping sockets, and TCP Fast Open
 *                    (MSG_FASTOPEN connects without connect(2)). Decided as
 *                    `connect`: the policy has one egress operation.
 *   sctp_bind_connect  SCTP's other ways in: sctp_connectx(3) and a
 *                    sendmsg that sets up an association (recorded as hook
 *                    sctp_connectx, operation connect), sctp_bindx(3) add
 *                    (sctp_bindx, operation bind); every packed address.
 *
 * Addresses are read the way the kernel's address-family code accepts them:
 * sockaddr_in6 of the RFC 2133 length (24 bytes, no scope id); AF_UNSPEC
 * taken as AF_INET by bind (INADDR_ANY only) and by IPv4 UDP/raw sends, and
 * as AF_INET6 by IPv6 raw sends; an unspecified destination (0.0.0.0, ::)
 * is where the kernel sends it: the socket's bound IPv4 address or loopback.
 * IPv4 is looked up as v4-mapped IPv6.
 *
 * The address is looked up in the LPM trie dl_net_lpm; the value holds every
 * rule whose prefix covers the longest matching prefix, most specific first
 * (compiled in user space by dl_net_compile), so one lookup and one bounded
 * walk decide. The first rule that matches operation, protocol, port and
 * cgroup decides:
 *   allow -> allowed, recorded as allow;
 *   deny  -> would-deny (permissive) or deny with -EPERM (enforce).
 * No matching rule: allowed, counted in dl_unmatched, not recorded.
 *
 * Before the LPM lookup, the pre-filter dl_net_pf (net_pf.h) answers "no
 * rule of this operation covers this address's first 16 bits or this port"
 * with two bit tests in one array entry: an operation on a destination the
 * policy does not name leaves without the trie walk.
 *
 * Cost: a send without a destination (connected sockets, the common case)
 * returns after one load of msg->msg_name, before any lookup.
 */
#include "common.bpf.h"
#include "net_pf.h"

char LICENSE[] SEC("license") = "GPL";

/* uapi constants vmlinux.h cannot carry (they are macros) */
#define DL_SOCK_STREAM 1
#define DL_SOCK_RAW 3
#define DL_IPPROTO_SCTP 132
#define DL_MSG_FASTOPEN 0x20000000
#define DL_SCTP_SOCKOPT_BINDX_ADD 100   /* include/uapi/linux/sctp.h */
#define DL_SCTP_SOCKOPT_CONNECTX 110
#define DL_SCTP_SENDMSG_CONNECT 126
/* Addresses of one sctp_connectx/sctp_bindx call that are decided; the
 * kernel caps the buffer at one page (about 250 addresses). */
#define DL_SCTP_ADDRS_MAX 256

/*
 * tests/vm/guest/upgrade.sh loads variants of this object as "a newer
 * build": DL_UPGRADE_TEST_MARK 1 adds a test to socket_connect that can
 * never be true (the kernel refuses a negative address length before the
 * hook), so only that program's code (its tag) differs; 2 doubles
 * dl_net_lpm, a pinned map another build cannot share. Never set otherwise.
 */
#ifndef DL_UPGRADE_TEST_MARK
#define DL_UPGRADE_TEST_MARK 0
#endif

/* key: address prefix (struct dl_lpm_key) -> struct dl_net_set */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, DL_UPGRADE_TEST_MARK == 2 ? 2 * DL_NET_LPM_MAX : DL_NET_LPM_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct dl_lpm_key);
	__type(value, struct dl_net_set);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dl_net_lpm SEC(".maps");

/* key DL_NET_PF_CONNECT / DL_NET_PF_BIND -> struct dl_net_pf (net_pf.h) */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, DL_NET_PF_OPS);
	__type(key, __u32);
	__type(value, struct dl_net_pf);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dl_net_pf SEC(".maps");

/* The first 24 bytes of a sockaddr_in / sockaddr_in6 (RFC 2133 length). */
struct net_sa {
	__u16 family;
	__u16 port;     /* network byte order */
	__u32 w;        /* sockaddr_in: the address; sockaddr_in6: flowinfo */
	__u8 a6[16];    /* sockaddr_in6: the address */
};

/* What the caller's socket is. */
struct net_sock {
	struct sock *sk;
	__u16 family;
	__u16 type;
	__u8 proto;
};

static __always_inline int net_sock_read(struct sock *sk, struct net_sock *s)
{
	if (!sk)
		return 1;
	s->sk = sk;
	s->family = sk->__sk_common.skc_family;
	if (s->family != DL_AF_INET && s->family != DL_AF_INET6)
		return 1;
	s->type = sk->sk_type;
	s->proto = (__u8)sk->sk_protocol;
	return 0;
}

static __always_inline void net_v4_mapped(__u8 addr[16], __u32 a)
{
	__builtin_memset(addr, 0, 10);
	addr[10] = 0xff;
	addr[11] = 0xff;
	__builtin_memcpy(addr + 12, &a, 4);
}

/* Where the kernel sends an IPv4 connect or send to 0.0.0.0: the socket's
 * bound address, else 127.0.0.1 (ip_route_output_key_hash_rcu). */
static __always_inline __u32 net_v4_unspecified(const struct net_sock *s)
{
	struct sock *sk = s->sk;
	__u32 a = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);

	return a ? a : bpf_htonl(0x7f000001);
}

/*
 * The first 24 bytes of the caller's sockaddr (fewer when len is shorter),
 * through bpf_probe_read_kernel: for addresses the hook passes as an untyped
 * pointer (sendmsg's msg_name, SCTP's packed list). 1 when len is shorter
 * than any address the kernel accepts.
 */
static __always_inline int net_sa_probe(const void *uaddr, int len, struct net_sa *sa)
{
	if (len >= (int)sizeof(*sa))
		return bpf_probe_read_kernel(sa, sizeof(*sa), uaddr) ? 1 : 0;
	if (len >= 16)
		return bpf_probe_read_kernel(sa, 16, uaddr) ? 1 : 0;
	return 1;
}

/*
 * The same for connect and bind, whose hooks pass the kernel's copy as a
 * typed struct sockaddr: family, port and an IPv4 address are read with
 * direct loads, one byte at a time within sa_data (the verifier allows no
 * wider load inside a char array; volatile keeps clang from merging them).
 * No helper call: bpf_probe_read_kernel was most of the program time of a
 * connect no rule matches (docs/benchmarks.md). An IPv6 address lies beyond
 * struct sockaddr's 16 bytes, which no direct load may reach: it takes the
 * helper, as before.
 */
static __always_inline int net_sa_btf(struct sockaddr *a, int len, struct net_sa *sa)
{
	__u8 *p = (__u8 *)&sa->port;

	if (len < 16)
		return 1;
	sa->family = a->sa_family;
	if (sa->family == DL_AF_INET6 && len >= (int)sizeof(*sa))
		return net_sa_probe(a, len, sa);
	p[0] = *(volatile const __u8 *)&a->sa_data[0];
	p[1] = *(volatile const __u8 *)&a->sa_data[1];
	p = (__u8 *)&sa->w;
	p[0] = *(volatile const __u8 *)&a->sa_data[2];
	p[1] = *(volatile const __u8 *)&a->sa_data[3];
	p[2] = *(volatile const __u8 *)&a->sa_data[4];
	p[3] = *(volatile const __u8 *)&a->sa_data[5];
	return 0;
}

/*
 * Take the caller's address (sa, len bytes long) as the kernel will use it
 * for operation op (DL_NET_OP_*; send is connect with is_send set). Returns
 * 0 with addr (16 bytes, IPv4 v4-mapped), port and sa_family set, or 1 when
 * the call names no address this family decides on (AF_UNSPEC connect is a
 * disconnect; a length or family every address-family handler rejects).
 */
static __always_inline int net_read_addr(const struct net_sa *sap, int len, const struct net_sock *s, __u8 op,
					 bool is_send, __u8 addr[16], __u16 *port, __u16 *sa_family)
{
	struct net_sa sa = *sap;
	bool v4;

	*sa_family = sa.family;
	if (sa.family == DL_AF_INET) {
		v4 = true;
	} else if (sa.family == DL_AF_INET6) {
		v4 = false;
	} else if (sa.family == DL_AF_UNSPEC) {
		if (op == DL_NET_OP_CONNECT && !is_send)
			return 1; /* connect(AF_UNSPEC) dissolves an association */
		if (s->family == DL_AF_INET) {
			/* inet_bind: AF_UNSPEC is AF_INET when the address is
			 * INADDR_ANY; udp_sendmsg, raw_sendmsg take it as AF_INET. */
			if (op == DL_NET_OP_BIND && sa.w != 0)
				return 1;
			v4 = true;
		} else if (is_send && s->type == DL_SOCK_RAW) {
			v4 = false; /* rawv6_sendmsg accepts family 0 */
		} else {
			return 1; /* udpv6: AF_UNSPEC means "no address" */
		}
	} else {
		return 1;
	}
	if (v4) {
		__u32 a = sa.w;

		if (a == 0 && op == DL_NET_OP_CONNECT)
			a = net_v4_unspecified(s);
		net_v4_mapped(addr, a);
	} else {
		if (len < 24)
			return 1; /* SIN6_LEN_RFC2133 */
		__builtin_memcpy(addr, sa.a6, 16);
		if (op == DL_NET_OP_CONNECT) {
			__u64 hi, lo;

			__builtin_memcpy(&hi, addr, 8);
			__builtin_memcpy(&lo, addr + 8, 8);
			if (hi == 0 && lo == 0)
				addr[15] = 1; /* tcp_v6_connect, ip6_datagram: :: is ::1 */
			else if (hi == 0 && lo == bpf_cpu_to_be64(0x0000ffff00000000ULL))
				net_v4_mapped(addr, net_v4_unspecified(s)); /* ::ffff:0.0.0.0 */
		}
	}
	*port = bpf_ntohs(sa.port);
	return 0;
}

static __always_inline struct dl_net_pf *net_pf(__u8 op)
{
	__u32 k = op == DL_NET_OP_BIND ? DL_NET_PF_BIND : DL_NET_PF_CONNECT;

	return bpf_map_lookup_elem(&dl_net_pf, &k);
}

/* Decide one address for operation op (the hook's), emit the record.
 * pf_done: the caller has already asked the pre-filter (and it said maybe). */
static __always_inline int net_decide_addr(const struct net_sock *s, const __u8 addr[16], __u16 port,
					   __u16 sa_family, __u8 op, __u16 hook, bool pf_done)
{
	struct dl_lpm_key key = { .prefixlen = 128 };
	struct dl_net_payload pl = {};
	struct dl_net_set *set;
	struct dl_net_pf *pf;
	__u32 rule_idx = DL_RULE_NONE, i;
	int action = -1;

	/* No rule can match: no trie walk (a missing entry cannot happen for
	 * an array; it would mean "ask the trie"). */
	if (!pf_done) {
		pf = net_pf(op);
		if (pf && !dl_net_pf_maybe(pf, addr, port))
			return dl_decide(DL_FAMILY_NET, hook, 0, DL_RULE_NONE, -1, &pl, sizeof(pl), 0);
	}
	__builtin_memcpy(key.addr, addr, 16);
	set = bpf_map_lookup_elem(&dl_net_lpm, &key);
	if (!set)
		return dl_decide(DL_FAMILY_NET, hook, 0, DL_RULE_NONE, -1, &pl, sizeof(pl), 0);

	for (i = 0; i < DL_NET_SET_MAX; i++) {
		struct dl_net_rule *r;

		if (i >= set->n)
			break;
		r = &set->r[i];
		if (!(r->ops & op))
			continue;
		if (r->proto && r->proto != s->proto)
			continue;
		if (port < r->port_lo || port > r->port_hi)
			continue;
		if (r->cgroup_id && bpf_get_current_ancestor_cgroup_id(r->cgroup_level) != r->cgroup_id)
			continue;
		rule_idx = r->rule_idx;
		action = r->action;
		break;
	}
	/* no rule matched: counted, nothing recorded, so no payload to fill */
	if (action < 0)
		return dl_decide(DL_FAMILY_NET, hook, 0, DL_RULE_NONE, -1, &pl, sizeof(pl), 0);
	__builtin_memcpy(pl.addr, key.addr, 16);
	pl.port = port;
	pl.sa_family = sa_family;
	pl.sock_type = s->type;
	pl.protocol = s->proto;
	return dl_decide(DL_FAMILY_NET, hook, set->gen, rule_idx, action, &pl, sizeof(pl), 0);
}

static __always_inline int net_decide(struct sock *sk, const struct net_sa *sa, int addrlen, __u8 op,
				      bool is_send, __u16 hook)
{
	struct net_sock s;
	__u8 addr[16];
	__u16 port = 0, sa_family = 0;
	bool pf_done = false;

	if (net_sock_read(sk, &s))
		return 0;
	/* The common case, a sockaddr_in naming an address other than
	 * 0.0.0.0, meets the pre-filter before the address is converted: an
	 * operation no rule can match leaves here. */
	if (sa->family == DL_AF_INET && sa->w) {
		struct dl_net_pf *pf = net_pf(op);

		if (pf) {
			if (!dl_net_pf_maybe_v4(pf, sa->w, bpf_ntohs(sa->port)))
				return dl_decide(DL_FAMILY_NET, hook, 0, DL_RULE_NONE, -1, NULL, 0, 0);
			pf_done = true;
		}
	}
	if (net_read_addr(sa, addrlen, &s, op, is_send, addr, &port, &sa_family))
		return 0;
	return net_decide_addr(&s, addr, port, sa_family, op, hook, pf_done);
}

SEC("lsm/socket_connect")
int BPF_PROG(dl_net_connect, struct socket *sock, struct sockaddr *address, int addrlen, int ret)
{
	struct net_sa sa = {};

	if (ret)
		return dl_pass(ret);
	if (DL_UPGRADE_TEST_MARK == 1 && addrlen < 0)
		return 0;
	if (net_sa_btf(address, addrlen, &sa))
		return 0;
	return net_decide(sock->sk, &sa, addrlen, DL_NET_OP_CONNECT, false, DL_HOOK_SOCKET_CONNECT);
}

SEC("lsm/socket_bind")
int BPF_PROG(dl_net_bind, struct socket *sock, struct sockaddr *address, int addrlen, int ret)
{
	struct net_sa sa = {};

	if (ret)
		return dl_pass(ret);
	if (net_sa_btf(address, addrlen, &sa))
		return 0;
	return net_decide(sock->sk, &sa, addrlen, DL_NET_OP_BIND, false, DL_HOOK_SOCKET_BIND);
}

SEC("lsm/socket_sendmsg")
int BPF_PROG(dl_net_sendmsg, struct socket *sock, struct msghdr *msg, int size, int ret)
{
	struct net_sa sa = {};
	struct sock *sk;
	void *name;
	int namelen;

	if (ret)
		return dl_pass(ret);
	/* The fast path: no destination (a connected socket), nothing to decide. */
	name = msg->msg_name;
	if (!name)
		return 0;
	sk = sock->sk;
	if (!sk)
		return 0;
	/* TCP and MPTCP use the address only to open a connection (Fast Open);
	 * SCTP sets up associations through sctp_bind_connect (below). */
	if (sk->sk_type == DL_SOCK_STREAM && !(msg->msg_flags & DL_MSG_FASTOPEN))
		return 0;
	if ((__u8)sk->sk_protocol == DL_IPPROTO_SCTP)
		return 0;
	namelen = msg->msg_namelen;
	if (net_sa_probe(name, namelen, &sa))
		return 0;
	return net_decide(sk, &sa, namelen, DL_NET_OP_CONNECT, true, DL_HOOK_SOCKET_SENDMSG);
}

/* sctp_bind_connect: a packed list of sockaddr_in / sockaddr_in6, each of
 * its family's full size (net/sctp/socket.c walks it the same way). */
struct sctp_walk {
	struct net_sock s;
	__u64 base;     /* the address list, as a plain number (see below) */
	int len, off, ret;
	__u8 op;
	__u16 hook;
};

static long sctp_walk_one(__u64 i, void *ctx)
{
	struct sctp_walk *w = ctx;
	struct net_sa sa = {};
	__u16 fam = 0, port = 0, sa_family = 0;
	__u8 addr[16];
	int alen;

	if (w->off < 0 || w->off + 2 > w->len || w->off > 4096)
		return 1;
	if (bpf_probe_read_kernel(&fam, sizeof(fam), (const void *)(w->base + w->off)))
		return 1;
	alen = fam == DL_AF_INET ? 16 : fam == DL_AF_INET6 ? 28 : 0;
	if (!alen || w->off + alen > w->len)
		return 1; /* the kernel rejects the whole call (EINVAL) */
	if (net_sa_probe((const void *)(w->base + w->off), alen, &sa) == 0 &&
	    net_read_addr(&sa, alen, &w->s, w->op, false, addr, &port, &sa_family) == 0) {
		int r = net_decide_addr(&w->s, addr, port, sa_family, w->op, w->hook, false);

		if (r) {
			w->ret = r;
			return 1; /* one refused address refuses the call */
		}
	}
	w->off += alen;
	return 0;
}

SEC("lsm/sctp_bind_connect")
int BPF_PROG(dl_net_sctp, struct sock *sk, int optname, struct sockaddr *address, int addrlen, int ret)
{
	struct sctp_walk w = { .len = addrlen };

	if (ret)
		return dl_pass(ret);
	/* The verifier allows no variable offset on a kernel pointer: take the
	 * argument as a number and read through bpf_probe_read_kernel. */
	if (bpf_get_func_arg(ctx, 2, &w.base))
		return 0;
	if (optname == DL_SCTP_SOCKOPT_CONNECTX || optname == DL_SCTP_SENDMSG_CONNECT) {
		w.op = DL_NET_OP_CONNECT;
		w.hook = DL_HOOK_SCTP_CONNECTX;
	} else if (optname == DL_SCTP_SOCKOPT_BINDX_ADD) {
		w.op = DL_NET_OP_BIND;
		w.hook = DL_HOOK_SCTP_BINDX;
	} else {
		/* SCTP_PRIMARY_ADDR, SCTP_SET_PEER_PRIMARY_ADDR choose among
		 * addresses already decided; SCTP_PARAM_* come from the peer. */
		return 0;
	}
	if (net_sock_read(sk, &w.s))
		return 0;
	bpf_loop(DL_SCTP_ADDRS_MAX, sctp_walk_one, &w, 0);
	return dl_verdict_ret(w.ret ? DL_VERDICT_DENY : DL_VERDICT_ALLOW);
}
