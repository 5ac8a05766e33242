// SPDX-License-Identifier: GPL-2.0
/*
 * btf_maps.c - libbpf-style map definitions in section ".maps".
 *
 * Here the map's attributes are not bytes in the section but BTF types
 * (see __uint/__type/__array in rxdp_helpers.h); a loader reads them from
 * the .maps DATASEC of .BTF.
 *
 * Map order is the object's, not the source's: clang (14) lays out the
 * variables with an initialiser first (jmp; inner_a, which outer's
 * initialiser names, before outer), then the others in the order the code
 * first uses them. The .maps symbol offsets and the DATASEC agree:
 *
 *   map_fd[0] = jmp             PROG_ARRAY, 4 entries, [0] = tail_a, [3] = tail_b
 *   map_fd[1] = inner_a         ARRAY      u32 -> u64, 1 entry
 *   map_fd[2] = outer           ARRAY_OF_MAPS, 2 entries, [0] = inner_a
 *   map_fd[3] = counts          ARRAY      u32 -> u64, 2 entries
 *   map_fd[4] = pinned_counter  ARRAY      u32 -> u64, 1 entry, pinned by name
 *   map_fd[5] = flows           HASH       u32 -> u64, 16 entries
 *
 * Several programs share one section "xdp", as libbpf allows; each global
 * function is a program, in offset order:
 *
 *   prog_fd[0] = tail_a  prog_fd[1] = tail_b  prog_fd[2] = xdp_btf_entry
 *
 * so a loader must be told which one to attach (xdp_btf_entry).
 *
 * The initialisers of jmp and outer are relocations in .rel.maps: the
 * loader fills the prog array and the outer map after creating them.
 */
#include "rxdp_helpers.h"

/* Packets per ingress ifindex. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} flows SEC(".maps");

#define COUNT_ENTRY		0	/* xdp_btf_entry ran */
#define COUNT_FALL_THROUGH	1	/* jmp[0] was empty */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

/* The tail programs come first: jmp's initialiser must name them. (A
 * forward declaration would do too, but clang then emits them first in the
 * section anyway, so the source order would not be the object's order.) */
SEC("xdp")
int tail_a(struct xdp_md *ctx)
{
	return XDP_DROP;
}

SEC("xdp")
int tail_b(struct xdp_md *ctx)
{
	return XDP_TX;
}

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	/* The key's BTF type is recorded, as many objects do, but the kernel
	 * refuses BTF key/value ids for a prog array (map_check_no_btf:
	 * EINVAL): the loader must create this map without them. */
	__type(key, __u32);
	/* value_size 4 is implied for a prog array; __array records which
	 * programs go where, for the loader to install. */
	__array(values, int(struct xdp_md *));
} jmp SEC(".maps") = {
	.values = {
		[0] = &tail_a,
		[3] = &tail_b,
	},
};

/* A named struct type: the outer map's __array refers to it, and the
 * loader uses inner_a (its first member) as the template. */
struct inner_map {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} inner_a SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, struct inner_map);
} outer SEC(".maps") = {
	.values = {
		[0] = &inner_a,
	},
};

/* Pinned as <pin root>/pinned_counter, and reused from there by the next
 * load when the existing pin has the same definition. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pinned_counter SEC(".maps");

static __always_inline void count(void *map, __u32 index)
{
	__u64 *value = bpf_map_lookup_elem(map, &index);

	if (value)
		__sync_fetch_and_add(value, 1);
}

static __always_inline void count_flow(__u32 ifindex)
{
	__u64 one = 1;
	__u64 *packets = bpf_map_lookup_elem(&flows, &ifindex);

	if (packets)
		__sync_fetch_and_add(packets, 1);
	else
		bpf_map_update_elem(&flows, &ifindex, &one, BPF_NOEXIST);
}

SEC("xdp")
int xdp_btf_entry(struct xdp_md *ctx)
{
	__u32 zero = 0;
	void *inner;

	count(&counts, COUNT_ENTRY);
	count(&pinned_counter, 0);
	count_flow(ctx->ingress_ifindex);

	inner = bpf_map_lookup_elem(&outer, &zero);
	if (inner)
		count(inner, 0);

	bpf_tail_call(ctx, &jmp, 0);

	count(&counts, COUNT_FALL_THROUGH);
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
