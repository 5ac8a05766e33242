/* Instruction forms the progs/ objects do not use (clang 14, -mcpu=v3):
 * 32-bit ALU and jumps (w registers), byte swaps, 64-bit atomics with
 * fetch, xchg and cmpxchg. Compiled by loader/tests/disasm_llvm.rs. */
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef int s32;
#define SEC(n) __attribute__((section(n), used))

u64 counter;
u32 counter32;

SEC("xdp") int isa_v3(void *ctx)
{
	volatile u32 a = (u32)(unsigned long)ctx;
	volatile u64 wide = a;
	u32 b = a * 7;
	b /= (a | 1);
	b %= (a | 3);
	b ^= a << 3;
	b -= a >> 2;
	s32 s = (s32)b >> 5;
	if ((u32)s > 100)
		b += 3;
	if ((s32)b < -5)
		b &= 0xf0f;
	if (b != a)
		b |= 1;
	a = __builtin_bswap32(a);
	a = __builtin_bswap16((u16)a);
	wide = __builtin_bswap64(wide);
	__sync_fetch_and_add(&counter, b);
	__sync_fetch_and_add(&counter32, 1);
	__sync_fetch_and_and(&counter, 3);
	__sync_fetch_and_xor(&counter, 5);
	u64 old = __sync_fetch_and_add(&counter, 9);
	old += __sync_lock_test_and_set(&counter, 11);
	old += __sync_val_compare_and_swap(&counter, old, 12);
	return (b + old + a + wide) & 3;
}

char _license[] SEC("license") = "GPL";
