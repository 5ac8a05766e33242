// SPDX-License-Identifier: GPL-2.0
/*
 * undefined_call.c - a program calling a function that exists nowhere.
 *
 * clang accepts the call and leaves a `call` instruction with an
 * R_BPF_64_32 relocation against the undefined symbol
 * not_defined_anywhere. It is neither a helper (those are called by
 * number) nor a subprogram in .text, so a loader must stop with an error
 * naming the symbol instead of loading a program that jumps nowhere.
 */
#include "rxdp_helpers.h"

extern int not_defined_anywhere(int value);

SEC("xdp")
int xdp_undefined_call(struct xdp_md *ctx)
{
	return not_defined_anywhere(XDP_PASS);
}

char _license[] SEC("license") = "GPL";
