// SPDX-License-Identifier: GPL-2.0
/*
 * xdp_prog_kern_off_tail.c - the host half of packet04's offload pair.
 *
 * xdp_entry_off, offloaded to the NIC, prepends struct meta_info to every
 * IP frame. This program, attached in driver mode on the same device,
 * reads it, reports it like prog/0 does, and strips it with
 * bpf_xdp_adjust_head() so the stack sees the original frame.
 *
 *   map_fd[0] = stats   map_fd[1] = seen   prog_fd[0] = xdp_tail_prog
 *
 * Caution: the program cannot tell a prepended header from a frame that
 * arrived without one, so it strips 8 bytes from every frame. It trusts
 * the pairing: xdp_entry_off prepends to every frame (all zero for non-IP
 * frames). Attached alone, it would cut the start off every frame.
 */
#include "rxdp_helpers.h"
#include "meta.h"
#include "parse.h"

/* The `stats` and `seen` maps (map_fd[0] and map_fd[1]) and count_action()
 * and remember(), which fill them; shared with prog/0 of xdp_prog_kern.c. */
#include "report.h"

/* Named unlike its section: clang 14 cannot emit a function symbol with
 * the same name as the section holding it. */
SEC("xdp_tail")
int xdp_tail_prog(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct meta_info *prepended = data;
	struct meta_info meta;
	__u32 action = XDP_PASS;

	if ((void *)(prepended + 1) > data_end)
		return XDP_PASS;
	/* Copy it out: the bytes are about to be cut off the frame. */
	meta = *prepended;

	/* Give the stack the frame as it was on the wire. Afterwards the old
	 * packet pointers are stale: read them again from ctx. */
	if (bpf_xdp_adjust_head(ctx, (int)sizeof(meta)) < 0)
		return XDP_ABORTED;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;

	/* l4_header_offset 0: not an IP frame, nothing to report. */
	if (meta.l4_header_offset == 0) {
		count_action(action);
		return action;
	}

	bpf_debug("meta is OK l4_header_offset=%d protocol=%d payload_len=%d\n",
		  meta.l4_header_offset, meta.l4_protocol, meta.l4_payload_len);

	if (meta.l4_protocol == IPPROTO_UDP)
		bpf_debug("this is a UDP packet\n");
	else if (meta.l4_protocol == IPPROTO_TCP)
		bpf_debug("this is a TCP packet\n");

	remember(data, data_end, &meta);

	bpf_debug("returning %d\n", action);
	count_action(action);
	return action;
}

char _license[] SEC("license") = "GPL";
