// SPDX-License-Identifier: GPL-2.0
/*
 * many_progs.c - enough programs of some verifier cost for the program-load
 * stage to run several at once (--jobs), and everything a load must get
 * the same whatever the number of jobs: program types (xdp, socket, tc),
 * names, prog_fd[] and map_fd[] order, jump tables (an __array initialiser
 * and explicit --map/--key/--prog entries), pins.
 *
 *   map_fd[0] = mp_jumps  PROG_ARRAY, 8 entries, [0] = mp_tail_0, [1] = mp_tail_1
 *   map_fd[1] = mp_hits   ARRAY u32 -> u64, 32 entries
 *
 *   prog_fd[0..1]  = mp_tail_0, mp_tail_1   (xdp, section xdp)
 *   prog_fd[2..25] = mp_0 ... mp_23         (xdp, section xdp)
 *   prog_fd[26]    = mp_sock                (socket filter, section socket)
 *   prog_fd[27]    = mp_tc                  (sched_cls, section tc)
 *
 * Each mp_N walks the first 300 packet bytes (a few ms of verification),
 * counts itself in mp_hits[N] and tail-calls mp_jumps[N % 8].
 */
#include "rxdp_helpers.h"

SEC("xdp")
int mp_tail_0(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("xdp")
int mp_tail_1(struct xdp_md *ctx)
{
	return XDP_DROP;
}

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__array(values, int(struct xdp_md *));
} mp_jumps SEC(".maps") = {
	.values = {
		[0] = &mp_tail_0,
		[1] = &mp_tail_1,
	},
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 32);
	__type(key, __u32);
	__type(value, __u64);
} mp_hits SEC(".maps");

#define PROG(n)								\
SEC("xdp")								\
int mp_##n(struct xdp_md *ctx)						\
{									\
	unsigned char *data = (void *)(long)ctx->data;			\
	unsigned char *end = (void *)(long)ctx->data_end;		\
	__u32 key = n, sum = n;						\
	__u64 *hits;							\
									\
	for (int i = 0; i < 300; i++) {					\
		if (data + i + 1 > end)					\
			break;						\
		if (data[i] & 1)					\
			sum += data[i] ^ (n + 1);			\
		else							\
			sum ^= sum << 1;				\
	}								\
	hits = bpf_map_lookup_elem(&mp_hits, &key);			\
	if (hits)							\
		__sync_fetch_and_add(hits, 1);				\
	bpf_tail_call(ctx, &mp_jumps, n % 8);				\
	return sum & 1 ? XDP_PASS : XDP_DROP;				\
}

PROG(0) PROG(1) PROG(2) PROG(3) PROG(4) PROG(5) PROG(6) PROG(7)
PROG(8) PROG(9) PROG(10) PROG(11) PROG(12) PROG(13) PROG(14) PROG(15)
PROG(16) PROG(17) PROG(18) PROG(19) PROG(20) PROG(21) PROG(22) PROG(23)

SEC("socket")
int mp_sock(struct __sk_buff *skb)
{
	return skb->len;
}

SEC("tc")
int mp_tc(struct __sk_buff *skb)
{
	return 0;
}

char _license[] SEC("license") = "GPL";
