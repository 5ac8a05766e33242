// SPDX-License-Identifier: GPL-2.0
/*
 * offload_maps.c - an XDP program for hardware offload with maps of its
 * own: with --mode hw both maps are created on the device (map_ifindex)
 * and user space reads and writes them through the kernel, which asks the
 * driver. Offload supports ARRAY and HASH maps only, without BTF key and
 * value types (the kernel answers ENOTSUPP to those; a loader drops them),
 * and netdevsim, the kernel's simulated offload NIC, holds at most two
 * entries per map: hence max_entries 2.
 *
 *   map_fd[0] = by_ifindex  HASH  u32 -> u64, 2 entries: frames per ingress ifindex
 *   map_fd[1] = counters    ARRAY u32 -> u64, 2 entries: [0] frames, [1] IPv4 frames
 *   prog_fd[0] = xdp_offload_maps
 *
 * (The object's order, not the source's: clang 14 lays the maps out this
 * way; tests find them by name.)
 *
 * It uses only the map helpers, which offload targets implement.
 */
#include <linux/if_ether.h>
#include "rxdp_helpers.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} by_ifindex SEC(".maps");

static void count(__u32 key)
{
	__u64 *value = bpf_map_lookup_elem(&counters, &key);

	if (value)
		*value += 1;
}

SEC("xdp")
int xdp_offload_maps(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u32 ifindex = ctx->ingress_ifindex;
	__u64 one = 1, *frames;

	count(0);
	if ((void *)(eth + 1) <= data_end && eth->h_proto == bpf_htons(ETH_P_IP))
		count(1);

	frames = bpf_map_lookup_elem(&by_ifindex, &ifindex);
	if (frames)
		*frames += 1;
	else
		bpf_map_update_elem(&by_ifindex, &ifindex, &one, BPF_NOEXIST);
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
