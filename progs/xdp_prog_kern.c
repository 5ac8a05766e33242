// SPDX-License-Identifier: GPL-2.0
/*
 * xdp_prog_kern.c - the XDP tutorial's packet04 lesson: one entry program
 * parses the packet once and hands its findings to the programs it
 * tail-calls, through the XDP metadata area in front of the frame.
 *
 *   map_fd[0] = jmp_table   map_fd[1] = stats   map_fd[2] = seen
 *   prog_fd[0] = xdp_entry_prog (section "xdp_entry", attach this one)
 *   prog_fd[1] = xdp_prog0      (section "prog/0": the loader puts it at key 0)
 *
 * Sections named prog/N carry no program type; the loader is told (XDP).
 * For a UDP datagram with 4 data bytes over IPv4 the trace pipe shows:
 *
 *   meta is OK l4_header_offset=34 protocol=17 payload_len=12
 *   this is a UDP packet
 *   returning 2
 */
#include "rxdp_helpers.h"
#include "meta.h"
#include "parse.h"

/* Slot N holds the program from section prog/N. */
struct bpf_map_def SEC("maps") jmp_table = {
	.type = BPF_MAP_TYPE_PROG_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u32),
	.max_entries = 8,
};

/* The `stats` and `seen` maps (map_fd[1] and map_fd[2], after jmp_table)
 * and count_action() and remember(), with which prog/0 fills them; shared
 * with xdp_prog_kern_off_tail.c. */
#include "report.h"

/*
 * The function is not called xdp_entry like its section: clang 14's
 * assembler cannot emit a function symbol with the same name as the
 * section holding it ("symbol 'xdp_entry' is already defined").
 */
SEC("xdp_entry")
int xdp_entry_prog(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct meta_info found = {};
	struct meta_info *meta;

	/* Not IPv4/IPv6, or truncated: nothing to tell prog/0. */
	if (parse_meta(data, data_end, &found) < 0)
		return XDP_PASS;

	/* Reserve room for the metadata in front of the frame. The helper
	 * moves ctx->data_meta, so every packet pointer taken before it is
	 * invalid afterwards and must be read again from ctx. */
	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(struct meta_info)) < 0)
		return XDP_PASS;

	data = (void *)(long)ctx->data;
	meta = (void *)(long)ctx->data_meta;
	/* The metadata area ends where the frame begins. */
	if ((void *)(meta + 1) > data)
		return XDP_PASS;
	*meta = found;

	bpf_tail_call(ctx, &jmp_table, 0);

	/* jmp_table[0] is empty: let the packet through untouched. */
	return XDP_PASS;
}

SEC("prog/0")
int xdp_prog0(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct meta_info *meta = (void *)(long)ctx->data_meta;
	__u32 action = XDP_PASS;

	/* Never trust that the entry program ran or reserved the room: a
	 * frame without metadata has data_meta == data. */
	if ((void *)(meta + 1) > data)
		return XDP_PASS;

	bpf_debug("meta is OK l4_header_offset=%d protocol=%d payload_len=%d\n",
		  meta->l4_header_offset, meta->l4_protocol,
		  meta->l4_payload_len);

	if (meta->l4_protocol == IPPROTO_UDP)
		bpf_debug("this is a UDP packet\n");
	else if (meta->l4_protocol == IPPROTO_TCP)
		bpf_debug("this is a TCP packet\n");

	remember(data, data_end, meta);

	bpf_debug("returning %d\n", action);
	count_action(action);
	return action;
}

char _license[] SEC("license") = "GPL";
