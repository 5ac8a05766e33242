// SPDX-License-Identifier: GPL-2.0
/*
 * xdp_prog_kern_off.c - packet04's entry program for hardware offload.
 *
 * An offloaded program runs on the NIC, which has no XDP metadata area to
 * share with the host and none of the host's tracing or tail-call helpers.
 * So this program parses like xdp_entry, then *prepends* the metadata to
 * the frame with bpf_xdp_adjust_head() and passes it up. xdp_tail
 * (xdp_prog_kern_off_tail.c), attached in driver mode on the same device,
 * reads those 8 bytes and strips them.
 *
 * Every frame gets the 8 bytes, IP or not: the host half cannot tell a
 * prepended header from the first bytes of a frame, so it strips 8 bytes
 * from each one. A non-IP frame (ARP, say) gets an all-zero header, and
 * l4_header_offset 0 tells xdp_tail there was nothing to report.
 *
 * It uses one helper, bpf_xdp_adjust_head, which offload targets (the nfp
 * driver, netdevsim) implement; no maps, no bpf_trace_printk, no tail
 * call. Attach with --mode hw: on a device without offload support (veth)
 * the kernel refuses it, and the loader must say why.
 */
#include "rxdp_helpers.h"
#include "meta.h"
#include "parse.h"

/* Named unlike its section: clang 14 cannot emit a function symbol with
 * the same name as the section holding it. */
SEC("xdp_entry_off")
int xdp_entry_off_prog(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct meta_info found = {};
	struct meta_info *meta;

	if (parse_meta(data, data_end, &found) < 0)
		found = (struct meta_info){ 0 };	/* not IP: all zero */

	/* Grow the frame at the front by sizeof(meta): the new bytes become
	 * the first bytes the host sees. Pointers taken before are stale. */
	if (bpf_xdp_adjust_head(ctx, -(int)sizeof(struct meta_info)) < 0)
		return XDP_PASS;	/* less than 8 bytes of headroom: rare */

	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	meta = data;
	if ((void *)(meta + 1) > data_end)
		return XDP_PASS;
	*meta = found;

	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
