// SPDX-License-Identifier: GPL-2.0
/*
 * multiprog_count.c - XDP programs made to share an interface through a
 * libxdp dispatcher (rxdp-load --multiprog, xdp-loader), each with its
 * run configuration in libxdp's XDP_RUN_CONFIG form.
 *
 *   map_fd[0] = runs  ARRAY u32 -> u64, 2 entries: [0] frames
 *                     xdp_count saw, [1] frames xdp_count_drop saw
 *
 *   prog_fd[0] = xdp_count: counts the frame, passes it; priority 10,
 *                chain on XDP_PASS and XDP_DROP
 *   prog_fd[1] = xdp_count_drop: counts the frame, drops it; priority
 *                60, no chain-call action (XDP_PASS turned off)
 */
#include "rxdp_helpers.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} runs SEC(".maps");

static __always_inline void count(__u32 key)
{
	__u64 *seen = bpf_map_lookup_elem(&runs, &key);

	if (seen)
		__sync_fetch_and_add(seen, 1);
}

SEC("xdp")
int xdp_count(struct xdp_md *ctx)
{
	count(0);
	return XDP_PASS;
}

SEC("xdp")
int xdp_count_drop(struct xdp_md *ctx)
{
	count(1);
	return XDP_DROP;
}

/* xdp-tools' XDP_RUN_CONFIG(func): a variable `_func` in .xdp_run_config
 * whose members are numbers carried by BTF, as __uint carries them. */
struct {
	__uint(priority, 10);
	__uint(XDP_PASS, 1);
	__uint(XDP_DROP, 1);
} _xdp_count SEC(".xdp_run_config");

struct {
	__uint(priority, 60);
	__uint(XDP_PASS, 0);
} _xdp_count_drop SEC(".xdp_run_config");

char _license[] SEC("license") = "GPL";
