// SPDX-License-Identifier: GPL-2.0-only
/*
 * The naive pipeline of the hook benchmark: every call of the hooks reserves
 * and submits one record of drylock's record size on a ring buffer, with no
 * decision at all (bench/hook/emitdrain.c drains it with libbpf's
 * ring_buffer__poll and only counts). What "record everything" costs
 * without drylock's filtering, batching and storing.
 *
 * Built twice. emit.bpf.o fills four fields of the header (time, tgid,
 * comm). emitfull.bpf.o (-DEMIT_FULL) fills the whole header the way drylock
 * fills it, with the same function (bpf/record.bpf.h: ids, credentials,
 * executable, cgroup, mount namespace): the naive pipeline for drylock's own
 * record, so that what the record's content costs can be told apart from
 * what deciding and storing it costs.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "drylock_abi.h"
#ifdef EMIT_FULL
#include "record.bpf.h"
#endif

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, DL_RINGBUF_DEFAULT);
} emit_events SEC(".maps");

static __always_inline int emit(void)
{
	struct dl_record *r = bpf_ringbuf_reserve(&emit_events, sizeof(*r), 0);

	if (r) {
#ifdef EMIT_FULL
		dl_record_fill(r, sizeof(*r), DL_FAMILY_NET, 0, 0, 0, 0, 0, 0);
#else
		r->version = DL_ABI_VERSION;
		r->size = sizeof(*r);
		r->ktime_ns = bpf_ktime_get_boot_ns();
		r->tgid = bpf_get_current_pid_tgid() >> 32;
		bpf_get_current_comm(r->comm, sizeof(r->comm));
#endif
		bpf_ringbuf_submit(r, 0);
	}
	return 0;
}

SEC("lsm/socket_connect")
int BPF_PROG(emit_connect, struct socket *sock, struct sockaddr *address, int addrlen, int ret)
{
	return emit();
}

SEC("lsm/socket_sendmsg")
int BPF_PROG(emit_sendmsg, struct socket *sock, struct msghdr *msg, int size, int ret)
{
	return emit();
}
