/* Global data, a static variable, func_info/line_info and a CO-RE access.
 * Rebuild: clang -O2 -g -target bpf -c globals.c -o globals.o */
#define SEC(name) __attribute__((section(name), used))

typedef unsigned int __u32;
typedef unsigned long long __u64;

struct packet_view {
	__u32 len;
	__u32 mark;
	__u64 stamp;
} __attribute__((preserve_access_index));

int seen = 7;                     /* .data at 0 */
int also_seen = 9;                /* .data at 4 */
__u64 counter;                    /* .bss at 0 */
__u64 other_counter;              /* .bss at 8 */
const volatile __u32 limit = 100; /* .rodata at 0 */
const volatile __u32 ratio = 3;   /* .rodata at 4 */

extern int bpf_kfunc_example(int x) __attribute__((section(".ksyms")));

static __attribute__((noinline)) int bump(int by)
{
	static int calls;
	calls += by;
	counter += calls;
	return calls;
}

SEC("xdp") int reader(struct packet_view *v)
{
	other_counter += seen + also_seen;
	if (v->mark > limit * ratio)
		return bump(v->mark);
	return bump(1);
}

SEC("xdp") int caller(void *ctx)
{
	return bpf_kfunc_example(seen);
}

char _license[] SEC("license") = "GPL";
