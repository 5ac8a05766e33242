/* SPDX-License-Identifier: GPL-2.0 */
/*
 * map_defaults.c - map attributes a loader completes or reads the way
 * libbpf does:
 *
 * - `events`: a perf-event array without max_entries: one slot per
 *   possible CPU;
 * - `ring`: a ring buffer of 5000 bytes: rounded up to a power-of-2
 *   number of pages;
 * - `bloom`: a bloom filter whose map_extra (its number of hash
 *   functions) is declared with __ulong, an enum of one value;
 * - `outer`: an array of maps whose inner map is described inline by
 *   `struct inner`, a value holding a bpf_spin_lock: the template must be
 *   created with that value's BTF, or the kernel refuses to store `inner`
 *   in `outer`.
 *
 * The program takes the lock of outer[0][0] and counts one run there.
 */
#include "rxdp_helpers.h"

/* bpf_helpers.h (6.9): a 64-bit attribute as an enum of one value. */
#define __ulong(name, val) enum { ___rxdp_##name = val } name

static long (*bpf_spin_lock)(struct bpf_spin_lock *lock) = (void *)93;
static long (*bpf_spin_unlock)(struct bpf_spin_lock *lock) = (void *)94;
_Static_assert(BPF_FUNC_spin_lock == 93, "helper id");
_Static_assert(BPF_FUNC_spin_unlock == 94, "helper id");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 5000);
} ring SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_BLOOM_FILTER);
	__type(value, __u32);
	__uint(max_entries, 16);
	__ulong(map_extra, 3);
} bloom SEC(".maps");

struct locked {
	struct bpf_spin_lock lock;
	__u64 runs;
};

struct inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct locked);
	__uint(max_entries, 1);
} inner SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct inner);
} outer SEC(".maps") = {
	.values = { [0] = &inner },
};

SEC("xdp")
int xdp_map_defaults(struct xdp_md *ctx)
{
	__u32 key = 0;
	struct locked *slot;
	void *map;

	map = bpf_map_lookup_elem(&outer, &key);
	if (!map)
		return XDP_ABORTED;
	slot = bpf_map_lookup_elem(map, &key);
	if (!slot)
		return XDP_ABORTED;
	bpf_spin_lock(&slot->lock);
	slot->runs++;
	bpf_spin_unlock(&slot->lock);
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
