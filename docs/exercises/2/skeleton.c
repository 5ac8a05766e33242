// SPDX-License-Identifier: GPL-2.0
/*
 * Lesson 2, exercise: a second program after the entry, chosen by the
 * metadata.
 *
 * xdp_entry parses the frame once and leaves what it found (struct
 * meta_info, progs/include/meta.h) in the metadata area, then tail-calls
 * key 0 of `jmp_table`, where the loader puts the program of section
 * prog/0. Add a program in section prog/1 that reads the metadata and
 * drops ICMP (protocol 1), and make xdp_entry jump to key 1 for ICMP.
 * Every other frame must still reach prog/0 and pass.
 *
 * Check it with
 *   rxdp run docs/exercises/2/skeleton.o --entry xdp_entry --packet icmp
 * (XDP_DROP, the jump to prog/1 shown) and --packet udp (XDP_PASS).
 */
#include "rxdp_helpers.h"
#include "meta.h"
#include "parse.h"

struct bpf_map_def SEC("maps") jmp_table = {
	.type = BPF_MAP_TYPE_PROG_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u32),
	.max_entries = 4,
};

SEC("xdp_entry")
int xdp_entry_prog(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct meta_info found = {};
	struct meta_info *meta;
	__u32 key = 0;

	if (parse_meta(data, data_end, &found) < 0)
		return XDP_PASS;
	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(struct meta_info)) < 0)
		return XDP_PASS;
	data = (void *)(long)ctx->data;
	meta = (void *)(long)ctx->data_meta;
	if ((void *)(meta + 1) > data)
		return XDP_PASS;
	*meta = found;

	/* TODO: key 1 for ICMP */
	bpf_tail_call(ctx, &jmp_table, key);
	return XDP_PASS;
}

SEC("prog/0")
int xdp_pass_prog(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	struct meta_info *meta = (void *)(long)ctx->data_meta;

	/* The entry may not have run: check the room before reading. */
	if ((void *)(meta + 1) > data)
		return XDP_ABORTED;
	return XDP_PASS;
}

/* TODO: SEC("prog/1"), reading meta->l4_protocol */

char _license[] SEC("license") = "GPL";
