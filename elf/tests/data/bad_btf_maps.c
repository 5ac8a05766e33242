// SPDX-License-Identifier: GPL-2.0
/*
 * bad_btf_maps.c - BTF map definitions the parser must refuse, one per
 * CASE (built as bad_btf_maps_CASE.o by the Makefile here):
 *
 *   1  no max_entries                      -> parses: 0, as in libbpf
 *   2  a .maps variable that is an int     -> BtfMap (not a struct)
 *   3  ARRAY_OF_MAPS without __array       -> MapInMapWithoutInner
 *   4  pinning 3                           -> MapPinning
 *   5  prog-array initialiser naming a
 *      static function, not a program      -> BtfValuesTarget
 *   6  initialiser at key 5 of 4 entries   -> BtfValuesSlot
 */
#include "rxdp_helpers.h"

#if CASE == 1
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
} bad SEC(".maps");
#elif CASE == 2
int bad SEC(".maps");
#elif CASE == 3
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} bad SEC(".maps");
#elif CASE == 4
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, 3);
} bad SEC(".maps");
#elif CASE == 5
static __attribute__((noinline, section("xdp"))) int helper(struct xdp_md *ctx)
{
	return XDP_DROP;
}

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, int(struct xdp_md *));
} bad SEC(".maps") = {
	.values = { [0] = &helper },
};
#elif CASE == 6
SEC("xdp")
int target(struct xdp_md *ctx)
{
	return XDP_DROP;
}

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, int(struct xdp_md *));
} bad SEC(".maps") = {
	.values = { [5] = &target },
};
#endif

SEC("xdp")
int xdp_uses_bad(struct xdp_md *ctx)
{
#if CASE == 5
	return helper(ctx) + (bpf_map_lookup_elem(&bad, &(__u32){0}) != 0);
#else
	return bpf_map_lookup_elem(&bad, &(__u32){0}) != 0;
#endif
}

char _license[] SEC("license") = "GPL";
