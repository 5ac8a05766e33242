// SPDX-License-Identifier: GPL-2.0
/*
 * calls.c - call shapes the parser must resolve:
 *
 *  - a callback whose address is taken (bpf_loop): an ld_imm64 with an
 *    R_BPF_64_64 relocation against .text, later BPF_PSEUDO_FUNC;
 *  - a static function placed in the program's own section, called without
 *    any relocation (the assembler resolves the offset);
 *  - a kernel function declared `extern ... __ksym` (a kfunc): R_BPF_64_32
 *    against an undefined symbol that .BTF lists in the .ksyms DATASEC;
 *  - a CO-RE field access (preserve_access_index) in a .text function,
 *    which gives a .BTF.ext core_relo record.
 */
#include "rxdp_helpers.h"

static long (*bpf_loop)(__u32 nr_loops, void *callback_fn, void *callback_ctx,
			__u64 flags) = (void *)181;

/* libbpf's __ksym. */
extern int bpf_xdp_metadata_rx_timestamp(const struct xdp_md *ctx, __u64 *timestamp)
	__attribute__((section(".ksyms")));

static int add_one(__u32 index, void *ctx)
{
	__u32 *total = ctx;

	*total += index;
	return 0;
}

static __attribute__((noinline, section("xdp"))) int twice(int v)
{
	return v * 2;
}

struct pair {
	__u32 first;
	__u32 second;
} __attribute__((preserve_access_index));

static __attribute__((noinline)) __u32 second_of(struct pair *p)
{
	return p->second;
}

SEC("xdp")
int xdp_calls(struct xdp_md *ctx)
{
	__u32 total = 0;
	__u64 stamp = 0;
	struct pair pair = { .first = 1, .second = 2 };

	bpf_loop(4, add_one, &total, 0);
	total += bpf_xdp_metadata_rx_timestamp(ctx, &stamp);
	total += second_of(&pair);
	return twice(total) & 3;
}

char _license[] SEC("license") = "GPL";
