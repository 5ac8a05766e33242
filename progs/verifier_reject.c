// SPDX-License-Identifier: GPL-2.0
/*
 * verifier_reject.c - a program the verifier must refuse.
 *
 * It reads the ethertype without first checking that the Ethernet header
 * lies before data_end. The verifier tracks packet pointers and refuses
 * any access it cannot prove in bounds ("invalid access to packet").
 * Built with -g, the .BTF.ext line info lets the verifier log quote the
 * offending source line. Loaders use this object to test how they report
 * a rejection and that they clean up after it.
 */
#include <linux/if_ether.h>
#include "rxdp_helpers.h"

SEC("xdp")
int xdp_reject(struct xdp_md *ctx)
{
	struct ethhdr *eth = (void *)(long)ctx->data;

	/* The next line is the one the verifier names: nothing checked
	 * `(void *)(eth + 1) <= data_end` before it reads eth->h_proto. */
	if (eth->h_proto == bpf_htons(ETH_P_IP)) /* REJECTED: no bounds check */
		return XDP_DROP;
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
