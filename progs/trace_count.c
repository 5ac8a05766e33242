// SPDX-License-Identifier: GPL-2.0
/*
 * trace_count.c - fentry and fexit programs counting the calls of one
 * process to a system call.
 *
 *   map_fd[0] = calls   ARRAY u32 -> u64, 3 entries: [0] entries seen by
 *                       count_entry, [1] returns seen by count_exit, [2]
 *                       the last return value
 *   map_fd[1] = .bss    target_tgid: the process counted (0: none), written
 *                       by user space after the load
 *
 *   prog_fd[0] = count_entry (fentry/__x64_sys_getpgid)
 *   prog_fd[1] = count_exit  (fexit/__x64_sys_getpgid)
 *
 * The section names the kernel function: the loader gives each program
 * BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY or BPF_TRACE_FEXIT and the
 * function's id in the kernel's BTF (attach_btf_id); BPF_LINK_CREATE
 * attaches them through the kernel's BPF trampoline. Hosts that refuse
 * trampolines (EPERM) cannot load them: tests/vm_types.rs runs them in the
 * VM kernels.
 *
 * A tracing program's context is the traced function's arguments as
 * 64-bit words, and for fexit its return value after them:
 * __x64_sys_getpgid(const struct pt_regs *regs) has one argument, so the
 * return value is ctx[1].
 */
#include "rxdp_helpers.h"

/* The current task's tgid << 32 | pid. */
static __u64 (*bpf_get_current_pid_tgid)(void) = (void *)14;
_Static_assert(BPF_FUNC_get_current_pid_tgid == 14, "helper id");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 3);
} calls SEC(".maps");

__u32 target_tgid;

enum { ENTRIES = 0, EXITS = 1, LAST_RETURN = 2 };

static __always_inline int counted(void)
{
	return target_tgid && (bpf_get_current_pid_tgid() >> 32) == target_tgid;
}

static __always_inline void add(__u32 key, __u64 n)
{
	__u64 *value = bpf_map_lookup_elem(&calls, &key);

	if (value)
		__sync_fetch_and_add(value, n);
}

SEC("fentry/__x64_sys_getpgid")
int count_entry(unsigned long long *ctx)
{
	if (counted())
		add(ENTRIES, 1);
	return 0;
}

SEC("fexit/__x64_sys_getpgid")
int count_exit(unsigned long long *ctx)
{
	__u32 key = LAST_RETURN;
	__u64 *last;

	if (!counted())
		return 0;
	add(EXITS, 1);
	last = bpf_map_lookup_elem(&calls, &key);
	if (last)
		*last = ctx[1];
	return 0;
}

char _license[] SEC("license") = "GPL";
