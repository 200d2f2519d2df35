// SPDX-License-Identifier: GPL-2.0-only
/*
 * Subject tracking, loaded with every policy family: remembers each process's
 * executable path at exec (lsm/bprm_check_security, where bpf_d_path is
 * allowed on every supported kernel) in the LRU hash dl_exe keyed by tgid.
 * The collector reads it when it stores a record, so a process that exited
 * before its record was drained is still named. Never denies anything.
 */
#include "common.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* key: tgid -> struct dl_exe */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, DL_EXE_MAX);
	__type(key, __u32);
	__type(value, struct dl_exe);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dl_exe SEC(".maps");

/* key 0 -> per-CPU scratch value (too large for the BPF stack with the rest). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dl_exe);
} dl_exe_tmp SEC(".maps");

SEC("lsm/bprm_check_security")
int BPF_PROG(dl_exe_exec, struct linux_binprm *bprm, int ret)
{
	__u32 zero = 0, tgid;
	struct dl_exe *e;
	struct file *file;

	if (ret)
		return dl_pass(ret);
	e = bpf_map_lookup_elem(&dl_exe_tmp, &zero);
	if (!e)
		return 0;
	file = bprm->file;
	if (!file)
		return 0;
	e->ktime_ns = bpf_ktime_get_boot_ns();
	/* f_path is const in newer kernels; bpf_d_path only reads it. */
	if (bpf_d_path((struct path *)&file->f_path, e->path, sizeof(e->path)) < 0)
		return 0;
	tgid = bpf_get_current_pid_tgid() >> 32;
	bpf_map_update_elem(&dl_exe, &tgid, e, BPF_ANY);
	return 0;
}
