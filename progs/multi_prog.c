// SPDX-License-Identifier: GPL-2.0
/*
 * multi_prog.c - several programs per section, libbpf style, and a global
 * subprogram shared by two of them.
 *
 *   section "xdp":       xdp_first (PASS), xdp_second (DROP), xdp_third (TX)
 *   section "xdp.frags": xdp_frags_prog (PASS; may see multi-buffer frames)
 *
 * prog_fd[] follows section order, then offset within the section:
 * xdp_first, xdp_second, xdp_third, xdp_frags_prog.
 *
 * count_hit() is a global (non-static) function in .text. The verifier
 * checks a global subprogram once, on its own, against its BTF signature,
 * rather than again for every call site. The loader still appends a copy
 * of .text to each program that calls it (xdp_first, xdp_frags_prog).
 */
#include "rxdp_helpers.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} hits SEC(".maps");

#define HIT_FIRST	0
#define HIT_FRAGS	1

__attribute__((noinline)) int count_hit(__u32 slot)
{
	__u64 *value = bpf_map_lookup_elem(&hits, &slot);

	if (!value)
		return -1;
	__sync_fetch_and_add(value, 1);
	return 0;
}

SEC("xdp")
int xdp_first(struct xdp_md *ctx)
{
	count_hit(HIT_FIRST);
	return XDP_PASS;
}

SEC("xdp")
int xdp_second(struct xdp_md *ctx)
{
	return XDP_DROP;
}

SEC("xdp")
int xdp_third(struct xdp_md *ctx)
{
	return XDP_TX;
}

/* "xdp.frags" tells libbpf-era loaders to set BPF_F_XDP_HAS_FRAGS, which
 * lets the program run on frames larger than one page. */
SEC("xdp.frags")
int xdp_frags_prog(struct xdp_md *ctx)
{
	count_hit(HIT_FRAGS);
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
