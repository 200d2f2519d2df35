/* SPDX-License-Identifier: (LGPL-2.1-or-later OR BSD-2-Clause) */
/*
 * drylock kernel/user ABI: the one definition shared by the BPF programs
 * (bpf/<family>.bpf.c, compiled against vmlinux.h) and user space (collector, store,
 * query, tests, compiled against <linux/types.h>).
 *
 * Rules for this file:
 *  - fixed-width __u* types only, largest first inside each struct, explicit
 *    padding, no bool/long/pointers;
 *  - every record starts with version and size, so a reader can reject or skip
 *    a record it does not understand;
 *  - every enum is one X-macro list, expanded here into the enum and (in user
 *    space) into its name table (dl_family_name() etc. in collector/names.c);
 *  - sizes and key offsets are pinned by _Static_assert below; changing a
 *    layout means bumping DL_ABI_VERSION.
 */
#ifndef DRYLOCK_ABI_H
#define DRYLOCK_ABI_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define DL_ABI_VERSION 1

#define DL_COMM_LEN 16          /* TASK_COMM_LEN */
#define DL_ADDR_LEN 16          /* IPv6 address; IPv4 stored v4-mapped */
#define DL_MAX_RULES 1024       /* rules in one loaded policy (all families) */
#define DL_NET_SET_MAX 32       /* rules that can apply to one address prefix */
#define DL_NET_LPM_MAX 4096     /* distinct address prefixes */
#define DL_RULE_NONE 0xffffffffu /* record matched no rule */
#define DL_PATH_MAX 256         /* executable path captured at exec */
#define DL_EXE_MAX 16384        /* processes whose executable is remembered */
#define DL_RINGBUF_DEFAULT (4u << 20) /* bytes; power of two, page multiple */

/*
 * Policy families: the one list every layer expands into its registry.
 * X(NAME, value, "policy-file keyword", file stem). The stem names the
 * family's file in each layer (bpf/<stem>.bpf.c, collector/policy-<stem>.c,
 * collector/load-<stem>.c, collector/audit-<stem>.c, store/obj-<stem>.c,
 * query/report-<stem>.c) and the struct each of them exports
 * (dl_<layer>_family_<stem>); docs/adding-a-family.md walks through one.
 */
#define DL_FAMILIES(X) \
	X(NET, 1, "net", net) \
	X(KVM, 2, "kvm", kvm)
/* Value 0 is never a valid family; DL_FAMILY_MAX bounds per-family arrays. */
#define DL_FAMILY_MAX 16

/* Network operations a net rule applies to (bit mask). A send with a
 * destination (sendto/sendmsg, TCP Fast Open) reaches that destination just
 * as connect does, so it is decided as connect (docs/policy-format.md). */
#define DL_NET_OP_CONNECT 0x1
#define DL_NET_OP_BIND    0x2

/* The one operation of family kvm: KVM_CREATE_VM on /dev/kvm. */
#define DL_KVM_OP_CREATE_VM 0x1
#define DL_KVM_CREATE_VM 0xAE01u                 /* _IO(KVMIO, 0x01) */
#define DL_KVM_DEV ((10u << 20) | 232u)          /* kernel dev_t of /dev/kvm (10:232) */
#define DL_KVM_RULES_MAX 16                      /* kvm rules in one policy */

/* Hooks that emit records. X(NAME, value, "name", FAMILY, operation the
 * family's rules see it as). Names are the LSM hook's, except where one
 * kernel hook carries several operations (sctp_bind_connect is split by its
 * optname into sctp_connectx and sctp_bindx). */
#define DL_HOOKS(X) \
	X(SOCKET_CONNECT, 1, "socket_connect", NET, DL_NET_OP_CONNECT) \
	X(SOCKET_BIND,    2, "socket_bind",    NET, DL_NET_OP_BIND) \
	X(SOCKET_SENDMSG, 3, "socket_sendmsg", NET, DL_NET_OP_CONNECT) \
	X(SCTP_CONNECTX,  4, "sctp_connectx",  NET, DL_NET_OP_CONNECT) \
	X(SCTP_BINDX,     5, "sctp_bindx",     NET, DL_NET_OP_BIND) \
	X(FILE_IOCTL,     6, "file_ioctl",     KVM, DL_KVM_OP_CREATE_VM) \
	X(FILE_IOCTL_COMPAT, 7, "file_ioctl_compat", KVM, DL_KVM_OP_CREATE_VM)

/* Decisions. X(NAME, value, "name") */
#define DL_VERDICTS(X) \
	X(ALLOW,      0, "allow") \
	X(WOULD_DENY, 1, "would-deny") \
	X(DENY,       2, "deny")
#define DL_VERDICT_MAX 3

/* Rule actions as written in the policy. X(NAME, value, "keyword") */
#define DL_ACTIONS(X) \
	X(ALLOW, 0, "allow") \
	X(DENY,  1, "deny")

/* Per-family modes, switched at runtime. X(NAME, value, "name") */
#define DL_MODES(X) \
	X(PERMISSIVE, 0, "permissive") \
	X(ENFORCE,    1, "enforce")

#define DL_X_ENUM_FAMILY(n, v, s, stem) DL_FAMILY_##n = v,
#define DL_X_ENUM_HOOK(n, v, s, f, op) DL_HOOK_##n = v,
#define DL_X_ENUM_VERDICT(n, v, s) DL_VERDICT_##n = v,
#define DL_X_ENUM_ACTION(n, v, s) DL_ACTION_##n = v,
#define DL_X_ENUM_MODE(n, v, s) DL_MODE_##n = v,
enum dl_family { DL_FAMILIES(DL_X_ENUM_FAMILY) };
enum dl_hook { DL_HOOKS(DL_X_ENUM_HOOK) };
enum dl_verdict { DL_VERDICTS(DL_X_ENUM_VERDICT) };
enum dl_action { DL_ACTIONS(DL_X_ENUM_ACTION) };
enum dl_mode { DL_MODES(DL_X_ENUM_MODE) };

/* Payload of DL_FAMILY_NET records. */
struct dl_net_payload {
	__u8  addr[DL_ADDR_LEN]; /* connect: destination; bind: local address.
				  * Network byte order; IPv4 as ::ffff:a.b.c.d */
	__u16 port;              /* host byte order */
	__u16 sa_family;         /* AF_INET or AF_INET6 as passed by the caller */
	__u16 sock_type;         /* SOCK_STREAM, SOCK_DGRAM, ... */
	__u8  protocol;          /* IPPROTO_TCP, IPPROTO_UDP, ... (sk_protocol) */
	__u8  pad0;
	__u8  pad1[8];
};

/* Payload of DL_FAMILY_KVM records: the VM creator that holds the lock. */
struct dl_kvm_payload {
	__u32 owner_tgid;        /* thread group that owns KVM_CREATE_VM */
	__u32 cmd;               /* the ioctl command (DL_KVM_CREATE_VM) */
	char  owner_comm[DL_COMM_LEN]; /* the owner's comm when it took the lock */
	__u8  pad[8];
};

#define DL_PAYLOAD_LEN 48

#define DL_REC_F_TRUNCATED 0x1  /* a string in the payload was cut at its documented limit */

/*
 * One decision, as emitted on the ring buffer. 160 bytes.
 * seq is allocated before the ring-buffer reservation: a seq that never
 * arrives is a record the kernel dropped (also counted in dl_drops).
 */
struct dl_record {
	__u16 version;          /* DL_ABI_VERSION */
	__u16 size;             /* sizeof(struct dl_record) */
	__u16 family;           /* enum dl_family */
	__u16 hook;             /* enum dl_hook */
	__u64 seq;              /* per boot, starts at 1, shared by all programs */
	__u64 ktime_ns;         /* bpf_ktime_get_boot_ns(): CLOCK_BOOTTIME */
	__u64 cgroup_id;        /* cgroup v2 id (inode of the cgroup directory) */
	__u64 mnt_ns;           /* mount namespace inode number, 0 if unknown */
	__u64 exe_ino;          /* inode of the executable (mm->exe_file), 0 if
				 * none: the collector caches paths by (tgid, exe_ino) */
	__u32 policy_gen;       /* generation of the policy whose rule decided */
	__u32 rule_idx;         /* index into that policy's rules, DL_RULE_NONE */
	__u32 tgid;
	__u32 pid;              /* thread id */
	__u32 ppid;             /* real parent's tgid */
	__u32 uid;
	__u32 euid;
	__u32 gid;
	__u32 loginuid;         /* audit login uid (AUDIT_UID_UNSET = 4294967295) */
	__u32 sessionid;        /* audit session id */
	__u8  verdict;          /* enum dl_verdict */
	__u8  enforced;         /* 1 if the family was in enforce mode */
	__u8  flags;  /* DL_REC_F_* */
	__u8  pad[5];
	char  comm[DL_COMM_LEN]; /* untrusted bytes, NUL-padded */
	union {
		struct dl_net_payload net;
		struct dl_kvm_payload kvm;
		__u8 raw[DL_PAYLOAD_LEN];
	} u;
};

/* Single-entry array map "dl_config": facts the loader sets, switched at runtime. */
struct dl_config {
	__u64 init_mnt_ns;            /* /proc/1/ns/mnt inode, read by the loader */
	__u32 policy_gen;             /* bumped on every policy (re)load */
	__u32 mode[DL_FAMILY_MAX];    /* enum dl_mode per family */
	__u32 pad;
};

/* LPM trie key of "dl_net_lpm". prefixlen counts bits of addr (0..128). */
struct dl_lpm_key {
	__u32 prefixlen;
	__u8  addr[DL_ADDR_LEN];
};

/* One net rule as the kernel evaluates it. */
struct dl_net_rule {
	__u64 cgroup_id;        /* 0: any cgroup; else this cgroup and descendants */
	__u32 rule_idx;         /* index into the policy's rule table */
	__u16 port_lo;          /* inclusive; 0-65535 means any port */
	__u16 port_hi;
	__u8  proto;            /* 0: any; IPPROTO_TCP; IPPROTO_UDP */
	__u8  ops;              /* DL_NET_OP_* mask */
	__u8  action;           /* enum dl_action */
	__u8  cgroup_level;     /* depth of cgroup_id below the root (root = 0) */
	__u8  pad[4];
};

/*
 * Value of "dl_net_lpm": every rule whose prefix covers this entry's prefix,
 * most specific first (see collector/policy.c: dl_net_compile). The kernel
 * walks it in order and the first rule that matches decides.
 */
struct dl_net_set {
	__u32 n;                /* used slots */
	__u32 gen;              /* policy generation these rules belong to: the
				 * record's policy_gen, exact even mid-reload */
	struct dl_net_rule r[DL_NET_SET_MAX];
};

/* One kvm rule as the kernel evaluates it. */
struct dl_kvm_rule {
	__u64 cgroup_id;        /* 0: any cgroup; else this cgroup and descendants */
	__u32 rule_idx;
	__u8  action;           /* enum dl_action */
	__u8  cgroup_level;
	__u8  pad[2];
};

/* Value of "dl_kvm_rules" (key 0): the policy's kvm rules, deepest cgroup
 * first, deny last on a tie (collector/policy-kvm.c). n == 0: family off. */
struct dl_kvm_set {
	__u32 n;
	__u32 gen;              /* policy generation of these rules */
	struct dl_kvm_rule r[DL_KVM_RULES_MAX];
};

/* Value of "dl_kvm_owner" (key 0): who holds the VM-creation lock. A thread
 * group is named by its tgid AND its leader's start time, so a process that
 * later gets the same pid is a different owner. tgid 0: nobody. */
struct dl_kvm_owner {
	__u64 start_ns;         /* group_leader->start_time (CLOCK_MONOTONIC) */
	__u64 tgid;             /* 64 bits: taken with a 64-bit compare-and-swap */
	char  comm[DL_COMM_LEN];
};

/* Value of "dl_exe" (LRU hash keyed by tgid): the executable of the last
 * exec by that process, captured in bprm_check_security where bpf_d_path is
 * allowed, so the collector can name short-lived processes after they exit. */
struct dl_exe {
	__u64 ktime_ns;          /* CLOCK_BOOTTIME of the exec */
	char  path[DL_PATH_MAX]; /* NUL-terminated, untrusted bytes */
};

/* Per-rule counters ("dl_counts", per-CPU array indexed by rule_idx). */
struct dl_count {
	__u64 n[DL_VERDICT_MAX]; /* by enum dl_verdict */
};

#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
_Static_assert(sizeof(struct dl_net_payload) == 32, "dl_net_payload size");
_Static_assert(sizeof(struct dl_kvm_payload) == 32, "dl_kvm_payload size");
_Static_assert(sizeof(struct dl_kvm_payload) <= DL_PAYLOAD_LEN, "dl_kvm_payload fits");
_Static_assert(sizeof(struct dl_kvm_rule) == 16, "dl_kvm_rule size");
_Static_assert(sizeof(struct dl_kvm_set) == 8 + 16 * DL_KVM_RULES_MAX, "dl_kvm_set size");
_Static_assert(sizeof(struct dl_kvm_owner) == 32, "dl_kvm_owner size");
_Static_assert(sizeof(struct dl_record) == 160, "dl_record size");
_Static_assert(__builtin_offsetof(struct dl_record, seq) == 8, "seq offset");
_Static_assert(__builtin_offsetof(struct dl_record, verdict) == 88, "verdict offset");
_Static_assert(__builtin_offsetof(struct dl_record, comm) == 96, "comm offset");
_Static_assert(__builtin_offsetof(struct dl_record, u) == 112, "payload offset");
_Static_assert(sizeof(struct dl_lpm_key) == 20, "lpm key size");
_Static_assert(sizeof(struct dl_net_rule) == 24, "dl_net_rule size");
_Static_assert(sizeof(struct dl_net_set) == 8 + 24 * DL_NET_SET_MAX, "dl_net_set size");
_Static_assert(sizeof(struct dl_config) == 16 + 4 * DL_FAMILY_MAX, "dl_config size");
_Static_assert(sizeof(struct dl_exe) == 8 + DL_PATH_MAX, "dl_exe size");
#endif

#endif /* DRYLOCK_ABI_H */
