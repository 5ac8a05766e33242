// SPDX-License-Identifier: GPL-2.0
/*
 * struct_ops_flavours.c - one set of programs serving two struct_ops
 * variables whose types are flavours of one kernel struct:
 * `tcp_congestion_ops` (rxdp_cc.h's) and `tcp_congestion_ops___rxdp`, the
 * same members under a name with a `___flavour` suffix. The kernel knows
 * only `tcp_congestion_ops`; the loader (as libbpf) cuts the suffix, so
 * both maps are laid out on it and the programs may serve both.
 *
 *   maps:     rxdp_cc_a (struct tcp_congestion_ops)
 *             rxdp_cc_b (struct tcp_congestion_ops___rxdp)
 *   programs: those of rxdp_cc.h, at the same members of both
 */
#include "rxdp_cc.h"

struct tcp_congestion_ops___rxdp {
	char name[16];
	__u32 flags;
	__u32 (*ssthresh)(struct sock *sk);
	__u32 (*undo_cwnd)(struct sock *sk);
	void (*cong_avoid)(struct sock *sk, __u32 ack, __u32 acked);
};

SEC(".struct_ops")
RXDP_CC(rxdp_cc_a, "rxdp_cc_a");

SEC(".struct_ops")
struct tcp_congestion_ops___rxdp rxdp_cc_b = {
	.name = "rxdp_cc_b",
	.ssthresh = (void *)rxdp_ssthresh,
	.undo_cwnd = (void *)rxdp_undo_cwnd,
	.cong_avoid = (void *)rxdp_cong_avoid,
};
