// SPDX-License-Identifier: GPL-2.0
/*
 * map_in_map.c - samples/bpf's 28-byte map definitions and a map of maps.
 *
 * To create a BPF_MAP_TYPE_ARRAY_OF_MAPS the kernel wants a template: an
 * existing map (inner_map_fd) whose type, key and value sizes every inner
 * map must match. struct bpf_load_map_def names that template by its
 * index in map_fd[] (inner_map_idx), so the loader must create the inner
 * map first - which the order here also gives:
 *
 *   map_fd[0] = inner_counters   map_fd[1] = outer (inner_map_idx = 0)
 *   prog_fd[0] = xdp_map_in_map
 *
 * Creating `outer` does not fill it: user space must put a map fd (e.g.
 * map_fd[0]) at outer[0]. Until it does, the program counts nothing.
 */
#include "rxdp_helpers.h"

struct bpf_load_map_def SEC("maps") inner_counters = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u64),
	.max_entries = 4,
};

struct bpf_load_map_def SEC("maps") outer = {
	.type = BPF_MAP_TYPE_ARRAY_OF_MAPS,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u32),	/* user space writes an inner map fd */
	.max_entries = 2,
	.inner_map_idx = 0,		/* inner_counters is the template */
};

SEC("xdp")
int xdp_map_in_map(struct xdp_md *ctx)
{
	__u32 outer_key = 0, inner_key = 0;
	__u64 *packets;
	void *inner;

	/* A lookup in an *_OF_MAPS map yields the inner map itself, which can
	 * be passed straight to the next lookup. */
	inner = bpf_map_lookup_elem(&outer, &outer_key);
	if (!inner)
		return XDP_PASS;	/* outer[0] not filled yet */

	packets = bpf_map_lookup_elem(inner, &inner_key);
	if (packets)
		__sync_fetch_and_add(packets, 1);
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
