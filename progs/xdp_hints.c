// SPDX-License-Identifier: GPL-2.0
/*
 * xdp_hints.c - XDP hints: the receive hash the driver computed, read
 * with the bpf_xdp_metadata_rx_hash kfunc (kernel 6.3).
 *
 * A program calling the metadata kfuncs must be loaded bound to the
 * device it will run on (BPF_F_XDP_DEV_BOUND_ONLY with prog_ifindex): the
 * verifier replaces each call with the driver's own implementation. veth
 * implements rx_hash (the hash of the skb it carries), in native mode.
 *
 * hints[0]: the last hash, hints[1]: the kfunc's last return value
 * (0, or -ENODATA / -EOPNOTSUPP as a u64), hints[2]: frames seen,
 * hints[3]: frames whose hash was read (return 0).
 */
#include "rxdp_helpers.h"

/* Kernel functions are declared extern in section .ksyms; the loader
 * finds their BTF ids in the kernel's BTF by name. */
#define __ksym __attribute__((section(".ksyms")))

/* The kernel's declaration (6.5 on), which the loader checks the call
 * against: the last argument points to an enum, not to an integer. Only
 * the kind matters to the check, as to libbpf's; the values are the
 * kernel's (include/net/xdp.h). */
enum xdp_rss_hash_type {
	XDP_RSS_TYPE_NONE = 0,
};

extern int bpf_xdp_metadata_rx_hash(const struct xdp_md *ctx, __u32 *hash,
				    enum xdp_rss_hash_type *rss_type) __ksym;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} hints SEC(".maps");

static __always_inline void set(__u32 index, __u64 value)
{
	__u64 *slot = bpf_map_lookup_elem(&hints, &index);

	if (slot)
		*slot = value;
}

static __always_inline void add(__u32 index)
{
	__u64 *slot = bpf_map_lookup_elem(&hints, &index);

	if (slot)
		__sync_fetch_and_add(slot, 1);
}

SEC("xdp")
int xdp_rx_hash(struct xdp_md *ctx)
{
	__u32 hash = 0;
	enum xdp_rss_hash_type type = XDP_RSS_TYPE_NONE;
	int ret = bpf_xdp_metadata_rx_hash(ctx, &hash, &type);

	add(2);
	set(1, (__u64)(__s64)ret);
	if (ret == 0) {
		set(0, hash);
		add(3);
	}
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
