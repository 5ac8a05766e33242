/* SPDX-License-Identifier: GPL-2.0 */
/*
 * parse.h - Ethernet / VLAN / IPv4 / IPv6 parsing shared by the packet04
 * programs (xdp_prog_kern.c, xdp_prog_kern_off.c, xdp_prog_kern_off_tail.c).
 *
 * Every read is preceded by a check against data_end: the verifier rejects
 * a program that could read past the end of the frame, and it only knows a
 * read is safe if the comparison is right there in the instructions.
 */
#ifndef RXDP_PARSE_H
#define RXDP_PARSE_H

#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include "rxdp_helpers.h"
#include "meta.h"

/* One 802.1Q/802.1ad tag, between the MAC addresses and the ethertype.
 * uapi has no struct for it (the kernel's lives in a private header). */
struct vlan_hdr {
	__be16 h_vlan_TCI;
	__be16 h_vlan_encapsulated_proto;
};

/*
 * Finds the L3 header: skips the Ethernet header and at most one VLAN tag.
 * Returns the L3 offset from `data` and stores the L3 ethertype (network
 * order) in *proto, or returns -1 when the frame is too short.
 */
static __always_inline int parse_ethernet(void *data, void *data_end,
					  __be16 *proto)
{
	struct ethhdr *eth = data;
	struct vlan_hdr *vlan;

	if ((void *)(eth + 1) > data_end)
		return -1;
	*proto = eth->h_proto;
	if (*proto != bpf_htons(ETH_P_8021Q) && *proto != bpf_htons(ETH_P_8021AD))
		return sizeof(*eth);

	vlan = (void *)(eth + 1);
	if ((void *)(vlan + 1) > data_end)
		return -1;
	*proto = vlan->h_vlan_encapsulated_proto;
	return sizeof(*eth) + sizeof(*vlan);
}

/*
 * Fills *meta for an IPv4 or IPv6 frame starting at `data`. Returns 0, or
 * -1 when the frame is not IP or its L3 header is truncated or
 * inconsistent.
 *
 * IPv4 honours the header length (ihl), so options are skipped. IPv6 takes
 * the fixed 40-byte header only: extension headers are not walked, so for
 * a frame carrying them l4_protocol is the first extension header's number
 * (e.g. 0 for hop-by-hop) and l4_header_offset points at that header. That
 * keeps the program loop-free, which offload targets and old verifiers
 * need, and it is what the tutorial's program did.
 */
static __always_inline int parse_meta(void *data, void *data_end,
				      struct meta_info *meta)
{
	__be16 proto;
	int l3_off = parse_ethernet(data, data_end, &proto);

	if (l3_off < 0)
		return -1;

	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *iph = data + l3_off;
		__u32 hdr_len, tot_len;

		if ((void *)(iph + 1) > data_end)
			return -1;
		hdr_len = iph->ihl * 4;
		tot_len = bpf_ntohs(iph->tot_len);
		/* ihl below 5 or tot_len shorter than the header: not a valid
		 * IPv4 header, and the subtraction below would wrap */
		if (hdr_len < sizeof(*iph) || tot_len < hdr_len)
			return -1;
		if ((void *)iph + hdr_len > data_end)
			return -1;
		meta->l4_header_offset = l3_off + hdr_len;
		meta->l4_protocol = iph->protocol;
		meta->l4_payload_len = tot_len - hdr_len;
		return 0;
	}

	if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6h = data + l3_off;

		if ((void *)(ip6h + 1) > data_end)
			return -1;
		meta->l4_header_offset = l3_off + sizeof(*ip6h);
		meta->l4_protocol = ip6h->nexthdr;
		meta->l4_payload_len = bpf_ntohs(ip6h->payload_len);
		return 0;
	}

	return -1;
}

#endif /* RXDP_PARSE_H */
