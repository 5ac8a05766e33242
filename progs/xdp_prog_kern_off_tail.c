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

/* Packets per verdict, every frame this program returns (IP or not): key
 * is the XDP action (XDP_ABORTED 0 .. XDP_REDIRECT 4). */
struct bpf_map_def SEC("maps") stats = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u64),
	.max_entries = XDP_REDIRECT + 1,
};

/* What arrived, per (ethertype, L4 protocol), as in xdp_prog_kern.c. */
struct bpf_map_def SEC("maps") seen = {
	.type = BPF_MAP_TYPE_HASH,
	.key_size = sizeof(struct seen_key),
	.value_size = sizeof(struct seen_val),
	.max_entries = 64,
};

static __always_inline void count_action(__u32 action)
{
	__u64 *packets = bpf_map_lookup_elem(&stats, &action);

	if (packets)
		__sync_fetch_and_add(packets, 1);
}

static __always_inline void remember(void *frame, void *data_end,
				     struct meta_info *meta)
{
	struct seen_key key = {};
	struct seen_val fresh = {};
	struct seen_val *val;
	__be16 proto;

	if (parse_ethernet(frame, data_end, &proto) < 0)
		return;
	key.h_proto = proto;
	key.l4_protocol = meta->l4_protocol;

	val = bpf_map_lookup_elem(&seen, &key);
	if (val) {
		val->meta = *meta;
		__sync_fetch_and_add(&val->count, 1);
		return;
	}
	fresh.meta = *meta;
	fresh.count = 1;
	bpf_map_update_elem(&seen, &key, &fresh, BPF_NOEXIST);
}

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
