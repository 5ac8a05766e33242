/* SPDX-License-Identifier: GPL-2.0 */
/*
 * report.h - what the packet04 programs that read the metadata report:
 * prog/0 (xdp_prog_kern.c) and xdp_tail (xdp_prog_kern_off_tail.c).
 *
 * It holds the `stats` and `seen` maps and the two functions that fill
 * them, count_action() and remember(). The maps are defined here, not just
 * declared: a legacy loader numbers the maps of section "maps" in the
 * order they are laid out, so they take the map_fd[] slots after the maps
 * a program defines before its #include of this header.
 *
 * The trace lines (bpf_debug) stay in the programs. In a function here,
 * clang would emit their format strings after the `license` variable,
 * which would swap the .rodata.str1.1 and license sections in the object.
 */
#ifndef RXDP_REPORT_H
#define RXDP_REPORT_H

#include <linux/in.h>
#include "rxdp_helpers.h"
#include "meta.h"
#include "parse.h"

/* Packets per verdict, every frame the program returns (IP or not): key
 * is the XDP action (XDP_ABORTED 0 .. XDP_REDIRECT 4). */
struct bpf_map_def SEC("maps") stats = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u64),
	.max_entries = XDP_REDIRECT + 1,
};

/* What the program received, per (ethertype, L4 protocol): lets a test
 * check the metadata's fields without parsing the trace pipe. */
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

/* Records *meta in `seen` under the frame's (ethertype, L4 protocol). */
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
	/* Another CPU may have inserted the key meanwhile; NOEXIST keeps its
	 * entry, and losing one count in that race is acceptable here. */
	bpf_map_update_elem(&seen, &key, &fresh, BPF_NOEXIST);
}

#endif /* RXDP_REPORT_H */
