// SPDX-License-Identifier: GPL-2.0
/*
 * unknown_section.c - a program in a section no loader's table knows.
 *
 *   section "encap_gre" -> encap_gre_prog (returns 0)
 *
 * The name says nothing about the program's type: rxdp refuses to guess
 * (before issue 12 it loaded such programs as XDP) and names the nearest
 * known sections; `--type sched_cls` loads it as a classifier. The kernel's
 * selftests have such names (test_lwt_ip_encap's `encap_gre`).
 */
#include "rxdp_helpers.h"

SEC("encap_gre")
int encap_gre_prog(struct __sk_buff *skb)
{
	return 0;
}

char _license[] SEC("license") = "GPL";
