// SPDX-License-Identifier: GPL-2.0
/*
 * global_data.c - global variables, which a loader turns into maps.
 *
 * The kernel has no "data segment" for BPF programs. A loader creates one
 * single-entry ARRAY map per data section, copies the section's bytes in
 * as the value, and rewrites each ld_imm64 that names a global into
 * BPF_PSEUDO_MAP_VALUE (map fd + offset in the value). This object has
 * all four kinds of data section clang emits:
 *
 *   .data           initialised globals            (packets_seen_start)
 *   .rodata         const globals                  (cfg_verdict, weights)
 *   .bss            zero-initialised globals       (bump_calls; no file bytes)
 *   .rodata.str1.1  string literals                (the bump() trace format)
 *
 * .rodata must be frozen (BPF_MAP_FREEZE) before the program loads: only
 * then does the verifier treat its bytes as constants, e.g. prune the
 * branch that cfg_verdict rules out.
 *
 * bump() is a .text subprogram (a real BPF-to-BPF call) that itself uses a
 * BTF map and a .bss variable: the loader appends .text to the program and
 * relocates it too.
 */
#include "rxdp_helpers.h"

/* .data: an initialised, writable global. */
int packets_seen_start = 1000;

/* .rodata: `const volatile` keeps the value out of constant folding, so
 * user space may change it in the object before loading. */
const volatile __u32 cfg_verdict = XDP_PASS;

/* .rodata: a constant table, indexed at run time so it stays in memory. */
const __u32 weights[4] = { 1, 2, 4, 8 };

/* .bss: zero-initialised, takes no bytes in the file. */
__u64 bump_calls;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} weighted SEC(".maps");

/* noinline: stays a separate function in .text, reached by a BPF-to-BPF
 * call (src_reg BPF_PSEUDO_CALL) that needs an R_BPF_64_32 relocation. */
static __attribute__((noinline)) int bump(__u32 slot)
{
	/* The mask keeps the weights[] index in bounds. `key` is a separate
	 * variable because its address goes to the helper: the verifier
	 * forgets the bounds of a value reloaded from such a stack slot,
	 * while `index` stays in a register and keeps them. */
	__u32 index = slot & 3;
	__u32 key = index;
	__u64 *value;

	__sync_fetch_and_add(&bump_calls, 1);
	value = bpf_map_lookup_elem(&weighted, &key);
	if (value)
		__sync_fetch_and_add(value, weights[index] + packets_seen_start);

	/* A literal (not the bpf_debug stack copy) lands in .rodata.str1.1. */
	bpf_trace_printk("bump slot %u\n", sizeof("bump slot %u\n"), index);
	return 0;
}

SEC("xdp")
int xdp_global(struct xdp_md *ctx)
{
	bump(ctx->rx_queue_index);
	return cfg_verdict;
}

char _license[] SEC("license") = "GPL";
