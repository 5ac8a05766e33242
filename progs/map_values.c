// SPDX-License-Identifier: GPL-2.0
/*
 * map_values.c - maps whose keys and values have shape: what `rxdp map`
 * reads and writes through BTF.
 *
 *   map_fd[0] = stats      ARRAY u32 -> struct stats, 4 entries, one per
 *                          enum seen_kind (counters, the last kind seen as
 *                          an enum, bitfields, a signed field, a string,
 *                          an array)
 *   map_fd[1] = cpu_stats  PERCPU_ARRAY u32 -> struct cpu_stats, 1 entry:
 *                          per CPU, summed by `rxdp map dump`
 *   map_fd[2] = flows      HASH struct flow_key -> __u64, 16 entries: a
 *                          struct key
 *   map_fd[3] = kinds      HASH enum seen_kind -> __u64, 4 entries: an
 *                          enum key
 *
 *   prog_fd[0] = xdp_map_values: for every frame, by its EtherType.
 *
 * The maps are in the order the code first uses them (clang 14 emits
 * .maps variables without initialisers that way).
 */
#include <linux/if_ether.h>
#include "rxdp_helpers.h"

enum seen_kind {
	SEEN_NONE = 0,
	SEEN_IPV4 = 1,
	SEEN_IPV6 = 2,
	SEEN_OTHER = 3,
};

struct stats {
	__u64 packets;
	__u64 bytes;
	enum seen_kind last;
	__u32 parity : 1;	/* packets, modulo 2 */
	__u32 frames : 7;	/* packets, modulo 128 */
	__u32 len : 12;		/* the last frame's length */
	__s32 credit;		/* -1 per frame */
	char tag[8];		/* "ipv4", "ipv6", "other" */
	__u16 lens[4];		/* lengths, by packets modulo 4 */
};

struct cpu_stats {
	__u64 packets;
	__u64 bytes;
	enum seen_kind last;
};

struct flow_key {
	__u16 proto;		/* EtherType, host order */
	__u16 pad;
	__u32 ifindex;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, struct stats);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cpu_stats);
} cpu_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, struct flow_key);
	__type(value, __u64);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4);
	__type(key, enum seen_kind);
	__type(value, __u64);
} kinds SEC(".maps");

static __always_inline void count(void *map, const void *key)
{
	__u64 one = 1;
	__u64 *value = bpf_map_lookup_elem(map, key);

	if (value)
		__sync_fetch_and_add(value, 1);
	else
		bpf_map_update_elem(map, key, &one, BPF_NOEXIST);
}

SEC("xdp")
int xdp_map_values(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u64 len = data_end - data;
	enum seen_kind kind;
	struct flow_key flow = {};
	struct cpu_stats *cpu;
	struct stats *s;
	__u32 index, zero = 0;

	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	flow.proto = bpf_ntohs(eth->h_proto);
	flow.ifindex = ctx->ingress_ifindex;
	if (flow.proto == ETH_P_IP)
		kind = SEEN_IPV4;
	else if (flow.proto == ETH_P_IPV6)
		kind = SEEN_IPV6;
	else
		kind = SEEN_OTHER;

	index = kind;
	s = bpf_map_lookup_elem(&stats, &index);
	if (s) {
		__u64 packets = __sync_fetch_and_add(&s->packets, 1) + 1;

		__sync_fetch_and_add(&s->bytes, len);
		s->last = kind;
		s->parity = packets & 1;
		s->frames = packets & 127;
		s->len = len & 0xfff;
		s->credit -= 1;
		if (kind == SEEN_IPV4)
			__builtin_memcpy(s->tag, "ipv4\0\0\0", 8);
		else if (kind == SEEN_IPV6)
			__builtin_memcpy(s->tag, "ipv6\0\0\0", 8);
		else
			__builtin_memcpy(s->tag, "other\0\0", 8);
		s->lens[packets & 3] = len;
	}

	cpu = bpf_map_lookup_elem(&cpu_stats, &zero);
	if (cpu) {
		cpu->packets += 1;
		cpu->bytes += len;
		cpu->last = kind;
	}

	count(&flows, &flow);
	count(&kinds, &kind);
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
