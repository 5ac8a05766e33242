/* SPDX-License-Identifier: GPL-2.0 */
/*
 * strong_externs.c - strong externs no kernel has: a load must refuse the
 * object, naming the extern and where rxdp looked (the kconfig one), or the
 * kernel function and its caller (the kfunc one), and leave nothing made.
 * Built with -DKCONFIG for the first, without for the second:
 *   clang -O2 -g -target bpf -I../../progs/include -I/usr/include/$(uname -m)-linux-gnu \
 *       [-DKCONFIG] -c strong_externs.c -o strong_{kconfig,kfunc}.o
 */
#include "rxdp_helpers.h"

#define __kconfig __attribute__((section(".kconfig")))
#define __ksym __attribute__((section(".ksyms")))

#ifdef KCONFIG
extern unsigned int CONFIG_RXDP_NOT_THERE __kconfig;

SEC("xdp")
int xdp_strong_kconfig(struct xdp_md *ctx)
{
	return CONFIG_RXDP_NOT_THERE ? XDP_DROP : XDP_PASS;
}
#else
extern void rxdp_not_a_kfunc(void) __ksym;

SEC("xdp")
int xdp_strong_kfunc(struct xdp_md *ctx)
{
	rxdp_not_a_kfunc();
	return XDP_PASS;
}
#endif

char _license[] SEC("license") = "GPL";
