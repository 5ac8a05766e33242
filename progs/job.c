// SPDX-License-Identifier: GPL-2.0
/*
 * job.c - the job of issue 15 in one object: count packets per protocol,
 * in a second stage the entry tail-calls.
 *
 * xdp_job_entry parses Ethernet and IPv4/IPv6 (parse.h), puts the L4
 * protocol in the per-CPU scratch map and tail-calls jmp[0];
 * xdp_job_count adds the frame to proto_stats[protocol] (a struct of
 * packets and bytes, with BTF: `rxdp map dump` prints its members and the
 * key's enumerator). A
 * frame the entry cannot parse counts as OTHER in the entry itself; if
 * jmp[0] is empty, the fall-through is counted in falls.
 */
#include "parse.h"

enum proto {
	OTHER = 0,
	ICMP = 1,
	TCP = 2,
	UDP = 3,
	ICMPV6 = 4,
	PROTO_MAX = 5,
};

struct proto_stats {
	__u64 packets;
	__u64 bytes;
};

/* A hash, not an array: an array's key must be a plain u32 in BTF, and
 * the enum is what makes `rxdp map dump` print UDP rather than 3. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PROTO_MAX);
	__type(key, enum proto);
	__type(value, struct proto_stats);
} proto_stats SEC(".maps");

/* What the entry found, for the second stage: one slot per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} falls SEC(".maps");

static __always_inline void count(enum proto proto, __u64 bytes)
{
	struct proto_stats *stats = bpf_map_lookup_elem(&proto_stats, &proto);
	struct proto_stats first = { .packets = 1, .bytes = bytes };

	if (stats) {
		__sync_fetch_and_add(&stats->packets, 1);
		__sync_fetch_and_add(&stats->bytes, bytes);
	} else {
		bpf_map_update_elem(&proto_stats, &proto, &first, BPF_NOEXIST);
	}
}

/* The second stage, defined below: jmp[0] holds it from the start. */
int xdp_job_count(struct xdp_md *ctx);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, int(struct xdp_md *));
} jmp SEC(".maps") = {
	.values = {
		[0] = &xdp_job_count,
	},
};

SEC("xdp")
int xdp_job_entry(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct meta_info meta = {};
	__u32 zero = 0;
	__u32 *protocol;
	__u64 *fall;

	if (parse_meta(data, data_end, &meta) < 0) {
		count(OTHER, data_end - data);
		return XDP_PASS;
	}
	protocol = bpf_map_lookup_elem(&scratch, &zero);
	if (protocol)
		*protocol = meta.l4_protocol;
	bpf_tail_call(ctx, &jmp, 0);
	fall = bpf_map_lookup_elem(&falls, &zero);
	if (fall)
		__sync_fetch_and_add(fall, 1);
	return XDP_PASS;
}

SEC("xdp")
int xdp_job_count(struct xdp_md *ctx)
{
	__u32 zero = 0;
	__u32 *protocol = bpf_map_lookup_elem(&scratch, &zero);
	enum proto proto = OTHER;

	if (!protocol)
		return XDP_PASS;
	switch (*protocol) {
	case IPPROTO_ICMP:
		proto = ICMP;
		break;
	case IPPROTO_TCP:
		proto = TCP;
		break;
	case IPPROTO_UDP:
		proto = UDP;
		break;
	case IPPROTO_ICMPV6:
		proto = ICMPV6;
		break;
	}
	count(proto, ctx->data_end - ctx->data);
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
