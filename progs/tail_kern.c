// SPDX-License-Identifier: GPL-2.0
/*
 * tail_kern.c - the XDP tail-call article's kernel program.
 *
 * Two programs in two sections, `xdp0` and `xdp1`, and two jump tables
 * declared the old way, as 20-byte struct bpf_map_def in section "maps".
 * A loader that behaves like samples/bpf's load_bpf_file() gives:
 *
 *   map_fd[0] = jmp_table1   map_fd[1] = jmp_table2   map_fd[2] = counters
 *   prog_fd[0] = xdp0        prog_fd[1] = xdp1
 *
 * User space puts prog_fd[1] at key 78 of map_fd[0] and attaches prog_fd[0]:
 *
 *   rxdp-load tail_kern.o --map 0 --key 78 --prog 1 --dev IFNAME
 *
 * Every packet then enters xdp0, which jumps to xdp1. `counters` shows what
 * happened without reading the trace pipe.
 */
#include "rxdp_helpers.h"

/* The jump table xdp0 uses. Its value is a program fd written by user
 * space; the kernel stores the program, so value_size is 4. */
struct bpf_map_def SEC("maps") jmp_table1 = {
	.type = BPF_MAP_TYPE_PROG_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u32),
	.max_entries = 100,
};

/* Declared by the article but never used: it is here so that map_fd[]
 * indexes match the article (the counters come after both tables). */
struct bpf_map_def SEC("maps") jmp_table2 = {
	.type = BPF_MAP_TYPE_PROG_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u32),
	.max_entries = 100,
};

/* Indexes into `counters`. */
#define CNT_XDP0_ENTERED	0	/* xdp0 ran */
#define CNT_XDP1_REACHED	1	/* xdp1 ran, reached through the tail call */
#define CNT_FALL_THROUGH	2	/* bpf_tail_call returned: slot 78 was empty */

struct bpf_map_def SEC("maps") counters = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u64),
	.max_entries = 4,
};

/* The key both sides agree on; user space writes prog_fd[1] there. */
#define XDP1_KEY 78

static __always_inline void count(__u32 index)
{
	__u64 *value = bpf_map_lookup_elem(&counters, &index);

	/* An ARRAY lookup inside max_entries always succeeds, but the
	 * verifier only lets us dereference after a NULL check. */
	if (value)
		__sync_fetch_and_add(value, 1);
}

SEC("xdp0")
int xdp_prog0(struct xdp_md *ctx)
{
	count(CNT_XDP0_ENTERED);
	bpf_debug("xdp0: tail-calling key %d\n", XDP1_KEY);

	/* On success this does not return: xdp1 runs in our place and its
	 * verdict is the packet's verdict. */
	bpf_tail_call(ctx, &jmp_table1, XDP1_KEY);

	/* Reached only when jmp_table1[78] is empty - for instance because
	 * the loader exited and the kernel cleared the table. */
	count(CNT_FALL_THROUGH);
	bpf_debug("xdp0: tail call failed, falling through\n");
	return XDP_PASS;
}

SEC("xdp1")
int xdp_prog1(struct xdp_md *ctx)
{
	count(CNT_XDP1_REACHED);
	bpf_debug("tail call (xdp_1) id=1\n");
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
