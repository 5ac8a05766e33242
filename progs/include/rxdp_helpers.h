/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rxdp_helpers.h - the little a BPF C program needs, written out in full.
 *
 * The rxdp test programs do not use libbpf's headers: every definition a
 * program relies on is here, small enough to read in one sitting. Nothing
 * in this file generates code by itself; it only tells clang how to lay
 * things out so that a loader (rxdp, bpf_load.c, iproute2 or libbpf) can
 * find them in the ELF object.
 */
#ifndef RXDP_HELPERS_H
#define RXDP_HELPERS_H

#include <linux/types.h>
#include <linux/bpf.h>

/*
 * SEC() puts a function or variable into a named ELF section. The section
 * name is how loaders learn what a program is ("xdp", "socket/0") and where
 * maps, the license and the kernel version live ("maps", ".maps",
 * "license", "version"). `used` keeps clang from dropping a variable that
 * no code references (a license string, a map only user space touches).
 */
#define SEC(name) __attribute__((section(name), used))

/*
 * Small helpers must be inlined: a packet pointer passed into a real BPF
 * function call loses the bounds the verifier proved in the caller, and
 * old loaders (bpf_load.c, iproute2) cannot link .text subprograms at all.
 */
#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

#ifndef NULL
#define NULL ((void *)0)
#endif

/* ------------------------------------------------------------------------
 * Kernel helpers.
 *
 * A BPF program calls a kernel helper with `call IMM`, where IMM is the
 * helper's number in the uapi enum bpf_func_id. Declaring each helper as a
 * function pointer whose value is that number makes clang emit exactly
 * that instruction: the "address" of the helper is its id. The numbers are
 * kernel ABI and never change; the _Static_asserts check them against
 * <linux/bpf.h> so a typo cannot slip through.
 * ------------------------------------------------------------------------ */

/* Returns a pointer to the value stored at *key, or NULL. */
static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
/* flags: BPF_ANY, BPF_NOEXIST or BPF_EXIST. Returns 0 or a negative errno. */
static long (*bpf_map_update_elem)(void *map, const void *key,
				   const void *value, __u64 flags) = (void *)2;
static long (*bpf_map_delete_elem)(void *map, const void *key) = (void *)3;
/* Writes to /sys/kernel/tracing/trace_pipe; at most three arguments. */
static long (*bpf_trace_printk)(const char *fmt, __u32 fmt_size, ...) = (void *)6;
static __u32 (*bpf_get_smp_processor_id)(void) = (void *)8;
/*
 * Jumps to the program stored at `index` of a BPF_MAP_TYPE_PROG_ARRAY and
 * never returns. It does return (and the caller carries on) when that slot
 * is empty or the tail-call limit is reached.
 */
static long (*bpf_tail_call)(void *ctx, void *prog_array, __u32 index) = (void *)12;
/* Moves xdp_md->data by delta bytes: negative grows the frame at the front. */
static long (*bpf_xdp_adjust_head)(struct xdp_md *ctx, int delta) = (void *)44;
/* Moves xdp_md->data_meta by delta bytes: negative reserves metadata room. */
static long (*bpf_xdp_adjust_meta)(struct xdp_md *ctx, int delta) = (void *)54;

_Static_assert(BPF_FUNC_map_lookup_elem == 1, "helper id");
_Static_assert(BPF_FUNC_map_update_elem == 2, "helper id");
_Static_assert(BPF_FUNC_map_delete_elem == 3, "helper id");
_Static_assert(BPF_FUNC_trace_printk == 6, "helper id");
_Static_assert(BPF_FUNC_get_smp_processor_id == 8, "helper id");
_Static_assert(BPF_FUNC_tail_call == 12, "helper id");
_Static_assert(BPF_FUNC_xdp_adjust_head == 44, "helper id");
_Static_assert(BPF_FUNC_xdp_adjust_meta == 54, "helper id");

/*
 * bpf_debug() - the macro from the XDP tail-call article.
 *
 * The format string is copied into a stack array, so the program needs no
 * read-only data section: clang turns the copy into immediate stores. That
 * is what made it work with loaders that knew nothing of .rodata.
 */
#define bpf_debug(fmt, ...)						\
	({								\
		char ____fmt[] = fmt;					\
		bpf_trace_printk(____fmt, sizeof(____fmt), ##__VA_ARGS__); \
	})

/* ------------------------------------------------------------------------
 * Byte order. Packet headers are big-endian ("network order"); BPF runs in
 * the host's order. The constant forms fold at compile time, so a
 * comparison like `eth->h_proto == bpf_htons(ETH_P_IP)` costs nothing.
 * ------------------------------------------------------------------------ */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define bpf_htons(x) ((__be16)__builtin_bswap16((__u16)(x)))
#define bpf_ntohs(x) ((__u16)__builtin_bswap16((__u16)(x)))
#define bpf_htonl(x) ((__be32)__builtin_bswap32((__u32)(x)))
#define bpf_ntohl(x) ((__u32)__builtin_bswap32((__u32)(x)))
#elif __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define bpf_htons(x) ((__be16)(x))
#define bpf_ntohs(x) ((__u16)(x))
#define bpf_htonl(x) ((__be32)(x))
#define bpf_ntohl(x) ((__u32)(x))
#else
#error "unknown byte order"
#endif

/* ------------------------------------------------------------------------
 * Legacy map definitions: structs placed in the ELF section "maps".
 *
 * The loader reads the bytes of each struct and creates one map per
 * symbol, in the order of the symbols' offsets (map_fd[0], map_fd[1], ...).
 * Three layouts were in use. They agree on the first 20 bytes and differ
 * after that, so a loader tells them apart by size: section size divided
 * by the number of map symbols. All fields are host-order u32.
 * ------------------------------------------------------------------------ */

/* 20 bytes: libbpf's old struct bpf_map_def, used by the XDP tutorials. */
struct bpf_map_def {
	__u32 type;		/* enum bpf_map_type */
	__u32 key_size;
	__u32 value_size;
	__u32 max_entries;
	__u32 map_flags;	/* BPF_F_NO_PREALLOC, ... */
};

/* 28 bytes: samples/bpf's struct bpf_load_map_def (bpf_load.c). */
struct bpf_load_map_def {
	__u32 type;
	__u32 key_size;
	__u32 value_size;
	__u32 max_entries;
	__u32 map_flags;
	__u32 inner_map_idx;	/* for *_OF_MAPS: index of the template inner map */
	__u32 numa_node;	/* only used with BPF_F_NUMA_NODE in map_flags */
};

/* 36 bytes: iproute2's struct bpf_elf_map (tc and `ip link ... xdp obj`). */
struct bpf_elf_map {
	__u32 type;
	__u32 size_key;
	__u32 size_value;
	__u32 max_elem;
	__u32 flags;
	__u32 id;		/* names the map for tail sections "ID/KEY" and inner_id */
	__u32 pinning;		/* PIN_NONE, PIN_OBJECT_NS or PIN_GLOBAL_NS */
	__u32 inner_id;		/* for *_OF_MAPS: id of the template inner map */
	__u32 inner_idx;	/* on an inner map: slot it takes in its outer map */
};

_Static_assert(sizeof(struct bpf_map_def) == 20, "legacy map def is 20 bytes");
_Static_assert(sizeof(struct bpf_load_map_def) == 28, "bpf_load map def is 28 bytes");
_Static_assert(sizeof(struct bpf_elf_map) == 36, "iproute2 map def is 36 bytes");

/* iproute2 pinning: the map is shared through a pin in bpffs. */
#define PIN_NONE	0
#define PIN_OBJECT_NS	1	/* shared by loads of the same object */
#define PIN_GLOBAL_NS	2	/* shared by every object naming it (globals/) */

/* ------------------------------------------------------------------------
 * BTF-defined maps (libbpf style): a variable in section ".maps" whose
 * *type* carries the definition; its value is never read.
 *
 * __uint(name, N) declares a pointer to an array of N ints. The BTF of that
 * member records the array length, which is how the number N reaches the
 * loader without occupying any bytes it has to interpret.
 * __type(name, T) records the type T itself (key and value sizes come from
 * it, and the kernel gets the BTF ids for pretty printing).
 * __array(name, T) is a flexible array of pointers to T: for a PROG_ARRAY
 * or *_OF_MAPS it can be initialised, and each initialiser becomes a
 * relocation against the program or inner-map symbol.
 * ------------------------------------------------------------------------ */
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name
#define __array(name, val) typeof(val) *name[]

/* Values for __uint(pinning, ...): pin as <pin root>/<map name>. */
#define LIBBPF_PIN_NONE		0
#define LIBBPF_PIN_BY_NAME	1

#endif /* RXDP_HELPERS_H */
