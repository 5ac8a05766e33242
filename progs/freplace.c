// SPDX-License-Identifier: GPL-2.0
/*
 * freplace.c - a program and a replacement for one of its functions.
 *
 *   section "freplace/verdict" -> replacement (returns 42)          prog_fd[0]
 *   section "tc"               -> cls_redirect (returns verdict())  prog_fd[1]
 *   .text: global verdict() (returns 1)
 *
 * A global function is verified on its own, against its BTF signature, and
 * can be replaced by a BPF_PROG_TYPE_EXT program loaded for it
 * (attach_prog_fd = the program, attach_btf_id = FUNC verdict in that
 * program's BTF) and attached with BPF_LINK_CREATE: cls_redirect then
 * returns 42. The replacement comes first in prog_fd[] but needs
 * cls_redirect loaded before it: `rxdp-load freplace.o --attach-prog
 * cls_redirect` loads them in that order.
 *
 * cls_redirect is named after the function the kernel selftests'
 * freplace_cls_redirect.o replaces (in their test_cls_redirect.o): a
 * program can replace a whole program's function too.
 */
#include "rxdp_helpers.h"

SEC("freplace/verdict")
int replacement(struct __sk_buff *skb)
{
	return 42;
}

__attribute__((noinline)) int verdict(struct __sk_buff *skb)
{
	/* Something the compiler cannot fold into the caller. */
	return skb->len > 0 ? 1 : 2;
}

SEC("tc")
int cls_redirect(struct __sk_buff *skb)
{
	return verdict(skb);
}

char _license[] SEC("license") = "GPL";
