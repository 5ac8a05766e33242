// SPDX-License-Identifier: GPL-2.0
/*
 * core_kern.c - CO-RE relocations against the running kernel's types.
 *
 * Built by hand and committed with its object (the kernel tests use it;
 * `make progs` does not build it):
 *
 *   clang -O2 -g -target bpf -Wall -Werror -I../../progs/include \
 *         -I/usr/include/$(uname -m)-linux-gnu -c core_kern.c -o core_kern.o
 *
 * The program writes what clang left for the loader to fill in into
 * `results` (.bss): the loader must have written the kernel's values.
 * The local struct definitions are deliberately wrong (fields missing,
 * other order, other sizes): only the names matter to CO-RE.
 */
#include "rxdp_helpers.h"

/* Field-info kinds of __builtin_preserve_field_info (enum bpf_core_relo_kind). */
#define FIELD_BYTE_OFFSET 0
#define FIELD_BYTE_SIZE 1
#define FIELD_EXISTS 2
#define FIELD_SIGNED 3
/* __builtin_preserve_type_info / __builtin_btf_type_id / enum kinds. */
#define TYPE_EXISTS 0
#define TYPE_SIZE 1
#define TYPE_ID_TARGET 1
#define ENUMVAL_EXISTS 0
#define ENUMVAL_VALUE 1

struct sk_buff___rxdp {
	unsigned int len;
	unsigned int data_len;
	int rxdp_no_such_field;
} __attribute__((preserve_access_index));

struct net_device___rxdp {
	int ifindex;
	char name[16];
} __attribute__((preserve_access_index));

struct rxdp_no_such_struct {
	int field;
} __attribute__((preserve_access_index));

enum xdp_action___rxdp {
	XDP_REDIRECT___rxdp = 99,
};

__u64 results[12];

SEC("xdp")
int xdp_core(struct xdp_md *ctx)
{
	struct sk_buff___rxdp *skb = 0;
	struct net_device___rxdp *dev = 0;

	results[0] = __builtin_preserve_field_info(skb->len, FIELD_BYTE_OFFSET);
	results[1] = __builtin_preserve_field_info(skb->data_len, FIELD_BYTE_OFFSET);
	results[2] = __builtin_preserve_field_info(skb->len, FIELD_BYTE_SIZE);
	results[3] = __builtin_preserve_field_info(dev->ifindex, FIELD_BYTE_OFFSET);
	results[4] = __builtin_preserve_field_info(dev->name[3], FIELD_BYTE_OFFSET);
	results[5] = __builtin_preserve_field_info(dev->ifindex, FIELD_SIGNED);
	results[6] = __builtin_preserve_field_info(skb->rxdp_no_such_field, FIELD_EXISTS);
	/* Dead once relocated: the offset relocation below is poisoned. */
	if (__builtin_preserve_field_info(skb->rxdp_no_such_field, FIELD_EXISTS))
		results[7] = __builtin_preserve_field_info(skb->rxdp_no_such_field,
							   FIELD_BYTE_OFFSET);
	results[8] = __builtin_preserve_type_info(*(struct net_device___rxdp *)0, TYPE_SIZE);
	results[9] = __builtin_preserve_type_info(*(struct rxdp_no_such_struct *)0, TYPE_EXISTS);
	results[10] = __builtin_preserve_enum_value(*(enum xdp_action___rxdp *)XDP_REDIRECT___rxdp,
						    ENUMVAL_VALUE);
	results[11] = __builtin_btf_type_id(*(struct net_device___rxdp *)0, TYPE_ID_TARGET);
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
