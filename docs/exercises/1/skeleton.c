// SPDX-License-Identifier: GPL-2.0
/*
 * Lesson 1, exercise: a tail call of your own.
 *
 * xdp_entry must hand every frame to the program the loader put at key 5
 * of `jumps` (xdp_drop, which drops it). When that slot is empty, it must
 * count the frame in counts[2] and let it through.
 *
 *   map_fd[0] = jumps    map_fd[1] = counts
 *   prog_fd[0] = xdp_entry_prog    prog_fd[1] = xdp_drop_prog
 *
 * Check it with
 *   rxdp run docs/exercises/1/skeleton.o --entry xdp_entry --map 0 --key 5 --prog 1 \
 *       --packet udp --show-map counts
 * which must say XDP_DROP and counts [1, 1, 0]; without --map/--key/--prog,
 * XDP_PASS and counts [1, 0, 1].
 */
#include "rxdp_helpers.h"

struct bpf_map_def SEC("maps") jumps = {
	.type = BPF_MAP_TYPE_PROG_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u32),
	.max_entries = 8,
};

/* [0] xdp_entry ran, [1] xdp_drop ran, [2] the jump failed */
struct bpf_map_def SEC("maps") counts = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u64),
	.max_entries = 3,
};

static __always_inline void count(__u32 index)
{
	__u64 *value = bpf_map_lookup_elem(&counts, &index);

	if (value)
		__sync_fetch_and_add(value, 1);
}

SEC("xdp_entry")
int xdp_entry_prog(struct xdp_md *ctx)
{
	count(0);
	/* TODO: tail-call key 5 of `jumps`; if that returns, count(2). */
	return XDP_PASS;
}

SEC("xdp_drop")
int xdp_drop_prog(struct xdp_md *ctx)
{
	count(1);
	return XDP_DROP;
}

char _license[] SEC("license") = "GPL";
