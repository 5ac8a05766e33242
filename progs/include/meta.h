/* SPDX-License-Identifier: GPL-2.0 */
/*
 * meta.h - what the packet04 entry programs tell the programs after them.
 *
 * xdp_entry (native) stores it in the XDP metadata area just in front of
 * the frame; xdp_entry_off (offloaded) prepends it to the frame itself,
 * because an offloading NIC hands the host the bytes, not its metadata.
 * Either way the reader finds these 8 bytes and trusts nothing it has not
 * bounds-checked.
 */
#ifndef RXDP_META_H
#define RXDP_META_H

#include <linux/types.h>

struct meta_info {
	/* offset of the L4 header from the first byte of the Ethernet frame */
	__u16 l4_header_offset;
	/* IPv4 protocol / IPv6 next header: 1 ICMP, 6 TCP, 17 UDP, 58 ICMPv6 */
	__u16 l4_protocol;
	/* bytes after the L3 header: IPv4 tot_len - ihl*4, IPv6 payload_len */
	__u16 l4_payload_len;
	/* keeps the size a multiple of 4, which adjust_meta requires */
	__u16 pad;
};

_Static_assert(sizeof(struct meta_info) == 8, "meta_info is 8 bytes");

/* Key and value of the `seen` hash map: one entry per (L3, L4) pair seen. */
struct seen_key {
	__u16 h_proto;		/* L3 ethertype (inside a VLAN tag if there is
				 * one), network order as in the frame */
	__u8 l4_protocol;
	__u8 pad;		/* always 0: hash keys compare every byte */
};

struct seen_val {
	struct meta_info meta;	/* the metadata of the latest such packet */
	__u64 count;		/* packets seen */
};

_Static_assert(sizeof(struct seen_key) == 4, "seen_key is 4 bytes");
_Static_assert(sizeof(struct seen_val) == 16, "seen_val is 16 bytes");

#endif /* RXDP_META_H */
