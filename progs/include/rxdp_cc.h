/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rxdp_cc.h - a TCP congestion control written in BPF, for struct_ops.c and
 * struct_ops_link.c: the struct, declared with only the members set, in
 * another order than the kernel's and without its padding (the loader lays
 * each member out again at the kernel's offset, by name, and gives each
 * program the index of its member in the kernel's struct), and the three
 * programs tcp_register_congestion_control() requires (ssthresh, undo_cwnd,
 * cong_avoid). The algorithm never grows the window: enough to carry a
 * connection.
 */
#ifndef RXDP_CC_H
#define RXDP_CC_H

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

#define RXDP_CC(variable, cc_name)				\
	struct tcp_congestion_ops variable = {			\
		.name = cc_name,				\
		.ssthresh = (void *)rxdp_ssthresh,		\
		.undo_cwnd = (void *)rxdp_undo_cwnd,		\
		.cong_avoid = (void *)rxdp_cong_avoid,		\
	}

char _license[] SEC("license") = "GPL";

#endif
