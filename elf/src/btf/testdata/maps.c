/* BTF map definitions in every shape rxdp-elf's BTF module reads.
 * Rebuild: clang -O2 -g -target bpf -c maps.c -o maps.o */
#define SEC(name) __attribute__((section(name), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name
#define __array(name, val) typeof(val) *name[]

typedef unsigned int __u32;
typedef unsigned long long __u64;

struct flow_key {
	__u32 saddr;
	__u32 daddr;
	unsigned short sport;
	unsigned short dport;
};

struct flow_stats {
	__u64 packets;
	__u64 bytes;
};

/* HASH with key and value types, flags and pinning. */
struct {
	__uint(type, 1 /* BPF_MAP_TYPE_HASH */);
	__uint(max_entries, 1024);
	__type(key, struct flow_key);
	__type(value, struct flow_stats);
	__uint(map_flags, 1 /* BPF_F_NO_PREALLOC */);
	__uint(pinning, 1 /* LIBBPF_PIN_BY_NAME */);
} flows SEC(".maps");

/* Sizes only, no types. */
struct {
	__uint(type, 2 /* BPF_MAP_TYPE_ARRAY */);
	__uint(key_size, 4);
	__uint(value_size, 8);
	__uint(max_entries, 16);
} sized SEC(".maps");

/* The inner map template of the map-in-map below. */
struct inner_map {
	__uint(type, 2 /* BPF_MAP_TYPE_ARRAY */);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
};

struct inner_map inner_a SEC(".maps");

/* ARRAY_OF_MAPS with an inner definition, its slot 1 initialised. */
struct {
	__uint(type, 12 /* BPF_MAP_TYPE_ARRAY_OF_MAPS */);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, struct inner_map);
} outer SEC(".maps") = {
	.values = { [1] = &inner_a },
};

int prog_a(void *ctx);

/* PROG_ARRAY whose slot 2 holds prog_a. */
struct {
	__uint(type, 3 /* BPF_MAP_TYPE_PROG_ARRAY */);
	__uint(max_entries, 8);
	__uint(key_size, 4);
	__array(values, int (void *));
} jumps SEC(".maps") = {
	.values = { [2] = (void *)&prog_a },
};

SEC("xdp") int prog_a(void *ctx)
{
	return 2;
}

char _license[] SEC("license") = "GPL";
