// SPDX-License-Identifier: GPL-2.0
/*
 * many_progs_fail.c - 24 programs, of which prog_fd[8] (mf_bad) is
 * refused by the verifier, and only after it walked a long loop: while it
 * is being verified, other jobs load the programs after it. The load must
 * fail on mf_bad as a load one by one would, and leave none of the
 * programs loaded.
 *
 *   prog_fd[0..7]  = mf_0 ... mf_7
 *   prog_fd[8]     = mf_bad: reads a packet byte it never bounds-checked
 *   prog_fd[9..23] = mf_9 ... mf_23
 */
#include "rxdp_helpers.h"

#define PROG(n)								\
SEC("xdp")								\
int mf_##n(struct xdp_md *ctx)						\
{									\
	unsigned char *data = (void *)(long)ctx->data;			\
	unsigned char *end = (void *)(long)ctx->data_end;		\
	__u32 sum = n;							\
									\
	for (int i = 0; i < 200; i++) {					\
		if (data + i + 1 > end)					\
			break;						\
		sum += data[i] ^ (n + 1);				\
	}								\
	return sum & 1 ? XDP_PASS : XDP_DROP;				\
}

PROG(0) PROG(1) PROG(2) PROG(3) PROG(4) PROG(5) PROG(6) PROG(7)

SEC("xdp")
int mf_bad(struct xdp_md *ctx)
{
	unsigned char *data = (void *)(long)ctx->data;
	unsigned char *end = (void *)(long)ctx->data_end;
	__u32 sum = 0;

	for (int i = 0; i < 3000; i++) {
		if (data + i + 1 > end)
			break;
		if (data[i] & 1)
			sum += data[i];
		else
			sum ^= sum << 1;
	}
	/* No check against data_end: the verifier refuses the read. */
	return data[sum & 0xff] ? XDP_PASS : XDP_DROP;
}

PROG(9) PROG(10) PROG(11) PROG(12) PROG(13) PROG(14) PROG(15)
PROG(16) PROG(17) PROG(18) PROG(19) PROG(20) PROG(21) PROG(22) PROG(23)

char _license[] SEC("license") = "GPL";
