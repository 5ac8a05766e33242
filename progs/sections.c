// SPDX-License-Identifier: GPL-2.0
/*
 * sections.c - the section names samples/bpf's bpf_load.c understood, in
 * one object, for the parser's tests. The object is parsed, not loaded.
 *
 *   socket/0, socket/1         socket filters; bpf_load.c put each at key N
 *                              of the object's (last) prog array
 *   kprobe/sys_write           kprobe on sys_write
 *   kretprobe/sys_write        its return probe
 *   tracepoint/syscalls/sys_enter_write
 *   xdp_1, xdp/0               XDP: any section starting with "xdp"
 *   version                    the kernel version, which kprobe programs
 *                              had to pass to BPF_PROG_LOAD (kern_version)
 *
 *   map_fd[0] = prog_array
 *   prog_fd[] in section order: socket/0, socket/1, kprobe/sys_write,
 *   kretprobe/sys_write, tracepoint/..., xdp_1, xdp/0
 */
#include "rxdp_helpers.h"

struct bpf_map_def SEC("maps") prog_array = {
	.type = BPF_MAP_TYPE_PROG_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u32),
	.max_entries = 4,
};

/* A socket filter returns how many bytes of the packet to keep. */
SEC("socket/0")
int socket_0(struct __sk_buff *skb)
{
	/* Hands the packet to socket/1 (key 1), as bpf_load.c wired it. */
	bpf_tail_call(skb, &prog_array, 1);
	return 0;
}

SEC("socket/1")
int socket_1(struct __sk_buff *skb)
{
	return skb->len;
}

/* Probe contexts are struct pt_regs / tracepoint records; these programs
 * read nothing from them, so a plain pointer will do. */
SEC("kprobe/sys_write")
int kprobe_sys_write(void *ctx)
{
	return 0;
}

SEC("kretprobe/sys_write")
int kretprobe_sys_write(void *ctx)
{
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_write")
int tp_sys_enter_write(void *ctx)
{
	return 0;
}

/* Named unlike the section: clang 14 cannot emit a function symbol with
 * the same name as its section. */
SEC("xdp_1")
int xdp_one(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("xdp/0")
int xdp_zero(struct xdp_md *ctx)
{
	return XDP_DROP;
}

/* LINUX_VERSION_CODE of 6.18.0: (6 << 16) | (18 << 8) | 0. */
__u32 _version SEC("version") = 0x061200;

char _license[] SEC("license") = "GPL";
