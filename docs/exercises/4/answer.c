// SPDX-License-Identifier: GPL-2.0
/*
 * Lesson 4, exercise: make the verifier accept it. The answer.
 *
 * The program drops IPv4 frames and passes everything else, but the
 * verifier refuses it: `rxdp run docs/exercises/4/answer.o --entry xdp
 * --packet udp` names the instruction and the source line. Fix it without
 * changing what it does to frames: --packet udp must give XDP_DROP,
 * --packet udp6 XDP_PASS.
 */
#include <linux/if_ether.h>
#include "rxdp_helpers.h"

SEC("xdp")
int xdp_drop_ipv4(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	/* The proof the verifier needs: the whole Ethernet header lies
	 * before data_end. A frame shorter than that is not IPv4. */
	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	if (eth->h_proto == bpf_htons(ETH_P_IP))
		return XDP_DROP;
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
