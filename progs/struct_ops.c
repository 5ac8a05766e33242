// SPDX-License-Identifier: GPL-2.0
/*
 * struct_ops.c - the TCP congestion control of rxdp_cc.h in SEC(".struct_ops"):
 * registered by updating its map (`rxdp-load --register rxdp_cc`).
 *
 *   maps:     rxdp_cc (struct_ops)
 *   programs: struct_ops/rxdp_ssthresh    -> ssthresh    (prog_fd[0])
 *             struct_ops/rxdp_undo_cwnd   -> undo_cwnd   (prog_fd[1])
 *             struct_ops/rxdp_cong_avoid  -> cong_avoid  (prog_fd[2])
 *             struct_ops/rxdp_unused      -> no variable points at it:
 *                                            not loaded unless asked
 */
#include "rxdp_cc.h"

SEC("struct_ops/rxdp_unused")
__u32 rxdp_unused(unsigned long long *ctx)
{
	return 0;
}

SEC(".struct_ops")
RXDP_CC(rxdp_cc, "rxdp_cc");
