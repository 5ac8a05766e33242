// SPDX-License-Identifier: GPL-2.0
/*
 * iproute2_maps.c - iproute2's 36-byte struct bpf_elf_map, as tc and
 * `ip link set ... xdp obj` read it.
 *
 *   map_fd[0] = jmp_map      PROG_ARRAY, id 1
 *   map_fd[1] = glob_counter pinned in the global namespace
 *   map_fd[2] = obj_counter  pinned in the object namespace
 *   map_fd[3] = inner_tpl    id 2, inner_idx 0
 *   map_fd[4] = outer_ids    ARRAY_OF_MAPS, id 3, inner_id 2
 *
 *   prog_fd[0] = xdp_iproute2_entry (section "xdp")
 *   prog_fd[1] = tail_0             (section "1/0": key 0 of the map with id 1)
 *   prog_fd[2] = tail_1             (section "1/1": key 1 of the map with id 1)
 *
 * What the entry program does: it reads a jump key from inner_tpl[0]
 * (reached through outer_ids[0]; 0 when anything is missing), tail-calls
 * jmp_map at that key, and counts a fall-through in obj_counter[0].
 * By default every packet goes to tail_0 (XDP_PASS, counted in
 * glob_counter[0]); writing 1 into inner_tpl[0] sends packets to tail_1,
 * which drops them.
 */
#include "rxdp_helpers.h"

/* Tail sections are named "ID/KEY": the loader puts them at KEY of the
 * prog array whose `id` is ID. */
#define JMP_MAP_ID	1
#define INNER_TPL_ID	2
#define OUTER_IDS_ID	3

struct bpf_elf_map SEC("maps") jmp_map = {
	.type = BPF_MAP_TYPE_PROG_ARRAY,
	.size_key = sizeof(__u32),
	.size_value = sizeof(__u32),
	.max_elem = 4,
	.id = JMP_MAP_ID,
	.pinning = PIN_NONE,
};

/* Shared by every object that names a pinned global map glob_counter. */
struct bpf_elf_map SEC("maps") glob_counter = {
	.type = BPF_MAP_TYPE_ARRAY,
	.size_key = sizeof(__u32),
	.size_value = sizeof(__u64),
	.max_elem = 2,
	.pinning = PIN_GLOBAL_NS,
};

/* Shared by later loads of this same object. */
struct bpf_elf_map SEC("maps") obj_counter = {
	.type = BPF_MAP_TYPE_ARRAY,
	.size_key = sizeof(__u32),
	.size_value = sizeof(__u64),
	.max_elem = 1,
	.pinning = PIN_OBJECT_NS,
};

/* iproute2's map-in-map: the inner map carries an id and the slot it
 * takes in its outer map (inner_idx); the outer map names the inner map's
 * id in inner_id. The inner map is the template and the first member. */
struct bpf_elf_map SEC("maps") inner_tpl = {
	.type = BPF_MAP_TYPE_ARRAY,
	.size_key = sizeof(__u32),
	.size_value = sizeof(__u32),
	.max_elem = 1,
	.id = INNER_TPL_ID,
	.inner_idx = 0,
};

struct bpf_elf_map SEC("maps") outer_ids = {
	.type = BPF_MAP_TYPE_ARRAY_OF_MAPS,
	.size_key = sizeof(__u32),
	.size_value = sizeof(__u32),
	.max_elem = 1,
	.id = OUTER_IDS_ID,
	.inner_id = INNER_TPL_ID,
};

static __always_inline void count(void *map, __u32 index)
{
	__u64 *value = bpf_map_lookup_elem(map, &index);

	if (value)
		__sync_fetch_and_add(value, 1);
}

/* The jump key user space chose in inner_tpl[0], or 0. */
static __always_inline __u32 chosen_key(void)
{
	__u32 zero = 0;
	__u32 *key;
	void *inner;

	inner = bpf_map_lookup_elem(&outer_ids, &zero);
	if (!inner)
		return 0;
	key = bpf_map_lookup_elem(inner, &zero);
	return key ? *key : 0;
}

SEC("xdp")
int xdp_iproute2_entry(struct xdp_md *ctx)
{
	bpf_tail_call(ctx, &jmp_map, chosen_key());

	/* The slot was empty (or the key out of range). */
	count(&obj_counter, 0);
	return XDP_PASS;
}

SEC("1/0")
int tail_0(struct xdp_md *ctx)
{
	count(&glob_counter, 0);
	return XDP_PASS;
}

SEC("1/1")
int tail_1(struct xdp_md *ctx)
{
	return XDP_DROP;
}

char _license[] SEC("license") = "GPL";
