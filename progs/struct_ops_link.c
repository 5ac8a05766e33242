// SPDX-License-Identifier: GPL-2.0
/*
 * struct_ops_link.c - the TCP congestion control of rxdp_cc.h in
 * SEC(".struct_ops.link"): its map is created with BPF_F_LINK (kernel 6.4
 * and later), made ready by its update, and registered only while a link
 * (BPF_LINK_CREATE, attach type BPF_STRUCT_OPS) on it lives.
 *
 *   maps:     rxdp_cc_link (struct_ops, BPF_F_LINK)
 *   programs: struct_ops/rxdp_ssthresh, rxdp_undo_cwnd, rxdp_cong_avoid
 */
#include "rxdp_cc.h"

SEC(".struct_ops.link")
RXDP_CC(rxdp_cc_link, "rxdp_cc_link");
