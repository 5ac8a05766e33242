// SPDX-License-Identifier: GPL-2.0
/*
 * xdp_dispatcher.c - rxdp's multi-program dispatcher, in the layout libxdp
 * (xdp-loader) reads and rebuilds: several XDP programs share one
 * interface, each replacing one slot function of this program.
 *
 * What makes it one of libxdp's dispatchers (lib/libxdp/protocol.org):
 * - the program is named xdp_dispatcher;
 * - its only map is .rodata, holding `conf` below (124 bytes, the layout
 *   of dispatcher version 2: magic 236, version, slots in use, frags,
 *   then per slot the chain-call actions, run priority and load flags);
 *   rxdp fills it before the load and the kernel freezes it, so the
 *   verifier drops the calls of slots not in use;
 * - slot N is the global function progN: an freplace program (type EXT)
 *   attached through a BPF link takes its place. Unreplaced, a slot
 *   returns CHAIN_ANYWAY, a verdict whose bit every slot's chain-call
 *   actions hold, so a missing component never stops the chain.
 *
 * After slot N returned a verdict, the next slot runs if that verdict's
 * bit is set in chain_call_actions[N]; otherwise the verdict is final.
 * When every slot in use chained on, the frame passes.
 *
 * libxdp also replaces the function xdp_dispatcher itself when one
 * component is all there is, skipping the dispatch altogether.
 */
#include "rxdp_helpers.h"

/* MAX_DISPATCHER_ACTIONS: the slots. */
#define SLOTS 10
/* XDP_DISPATCHER_RETVAL: the bit no XDP action has. */
#define CHAIN_ANYWAY 31

/* Moves the end of the frame by delta bytes. The slots call it with 0:
 * a slot that may change the packet lets components that do (adjust
 * head, tail or metadata) replace it on kernels that check. */
static long (*bpf_xdp_adjust_tail)(struct xdp_md *ctx, int delta) = (void *)65;
_Static_assert(BPF_FUNC_xdp_adjust_tail == 65, "helper id");

struct xdp_dispatcher_config {
	__u8 magic;
	__u8 dispatcher_version;
	__u8 num_progs_enabled;
	__u8 is_xdp_frags;
	__u32 chain_call_actions[SLOTS];
	__u32 run_prios[SLOTS];
	__u32 program_flags[SLOTS];
};

/* const: in .rodata, frozen at load; volatile: clang must read it, not
 * fold the zeroes written here. */
static volatile const struct xdp_dispatcher_config conf = {};

/* One slot. noinline and global: a function of its own in BTF, which an
 * freplace program can name as its target. The volatile verdict keeps
 * clang from returning a constant the verifier would prove for us. */
#define SLOT(n)								\
	__attribute__((noinline)) int prog##n(struct xdp_md *ctx)	\
	{								\
		volatile int verdict = CHAIN_ANYWAY;			\
									\
		if (!ctx)						\
			return XDP_ABORTED;				\
		bpf_xdp_adjust_tail(ctx, 0);				\
		return verdict;						\
	}

SLOT(0)
SLOT(1)
SLOT(2)
SLOT(3)
SLOT(4)
SLOT(5)
SLOT(6)
SLOT(7)
SLOT(8)
SLOT(9)

/* Run slot n if it is in use; stop on a verdict it does not chain on. */
#define RUN(n)								\
	if (conf.num_progs_enabled <= n)				\
		return XDP_PASS;					\
	verdict = prog##n(ctx);						\
	if (!((1U << (verdict & 31)) & conf.chain_call_actions[n]))	\
		return verdict;

SEC("xdp")
int xdp_dispatcher(struct xdp_md *ctx)
{
	int verdict;

	RUN(0)
	RUN(1)
	RUN(2)
	RUN(3)
	RUN(4)
	RUN(5)
	RUN(6)
	RUN(7)
	RUN(8)
	RUN(9)
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";

/* The version again, as BTF (libxdp's check when the magic byte is not
 * there): a pointer to an array of 2. */
__uint(dispatcher_version, 2) SEC("xdp_metadata");
