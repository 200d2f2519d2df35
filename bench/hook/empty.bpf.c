// SPDX-License-Identifier: GPL-2.0-only
/*
 * The floor of the hook benchmark: empty LSM programs on the hooks drylock's
 * net family uses (they pass an earlier verdict on and decide nothing).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("lsm/socket_connect")
int BPF_PROG(empty_connect, struct socket *sock, struct sockaddr *address, int addrlen, int ret)
{
	return 0; /* ret is 0 whenever a BPF LSM program runs: the chain stops at a denial */
}

SEC("lsm/socket_sendmsg")
int BPF_PROG(empty_sendmsg, struct socket *sock, struct msghdr *msg, int size, int ret)
{
	return 0; /* ret is 0 whenever a BPF LSM program runs: the chain stops at a denial */
}
