// SPDX-License-Identifier: GPL-2.0
/*
 * struct_ops.c - a TCP congestion control written in BPF, twice: once in
 * SEC(".struct_ops") (registered by updating its map) and once in
 * SEC(".struct_ops.link") (registered by a link on its map).
 *
 *   maps:     rxdp_cc (struct_ops), rxdp_cc_link (struct_ops, BPF_F_LINK)
 *   programs: struct_ops/rxdp_ssthresh    -> ssthresh    (prog_fd[0])
 *             struct_ops/rxdp_undo_cwnd   -> undo_cwnd   (prog_fd[1])
 *             struct_ops/rxdp_cong_avoid  -> cong_avoid  (prog_fd[2])
 *             struct_ops/rxdp_unused      -> no variable points at it:
 *                                            not loaded unless asked
 *
 * The struct is declared here with only the members set, in another
 * order than the kernel's and without its padding: the loader lays each
 * member out again at the kernel's offset, by name, and gives each
 * program the index of its member in the kernel's struct.
 *
 * The algorithm is as small as tcp_register_congestion_control() accepts
 * (ssthresh, undo_cwnd and cong_avoid are mandatory): it halves nothing
 * and never grows the window, which is enough to carry a connection.
 */
#include "rxdp_helpers.h"

struct sock;

struct tcp_congestion_ops {
	char name[16];
	__u32 flags;
	__u32 (*ssthresh)(struct sock *sk);
	__u32 (*undo_cwnd)(struct sock *sk);
	void (*cong_avoid)(struct sock *sk, __u32 ack, __u32 acked);
};

/* A struct_ops program's context is its arguments, as 64-bit words. */
SEC("struct_ops/rxdp_ssthresh")
__u32 rxdp_ssthresh(unsigned long long *ctx)
{
	return 10;
}

SEC("struct_ops/rxdp_undo_cwnd")
__u32 rxdp_undo_cwnd(unsigned long long *ctx)
{
	return 10;
}

SEC("struct_ops/rxdp_cong_avoid")
void rxdp_cong_avoid(unsigned long long *ctx)
{
}

SEC("struct_ops/rxdp_unused")
__u32 rxdp_unused(unsigned long long *ctx)
{
	return 0;
}

SEC(".struct_ops")
struct tcp_congestion_ops rxdp_cc = {
	.name = "rxdp_cc",
	.ssthresh = (void *)rxdp_ssthresh,
	.undo_cwnd = (void *)rxdp_undo_cwnd,
	.cong_avoid = (void *)rxdp_cong_avoid,
};

SEC(".struct_ops.link")
struct tcp_congestion_ops rxdp_cc_link = {
	.name = "rxdp_cc_link",
	.ssthresh = (void *)rxdp_ssthresh,
	.undo_cwnd = (void *)rxdp_undo_cwnd,
	.cong_avoid = (void *)rxdp_cong_avoid,
};

char _license[] SEC("license") = "GPL";
