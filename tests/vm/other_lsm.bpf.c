// SPDX-License-Identifier: GPL-2.0-only
/*
 * Another BPF LSM program on one of drylock's hooks (not drylock's: its name
 * does not start with dl_), for the VM test that `drylock status` lists the
 * programs that share drylock's hooks. Allows everything.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("lsm/socket_connect")
int BPF_PROG(other_connect, struct socket *sock, struct sockaddr *address, int addrlen, int ret)
{
	return 0; /* ret is 0 whenever a BPF LSM program runs: the chain stops at a denial */
}
