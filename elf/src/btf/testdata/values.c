/*
 * values.c - every kind of BTF type a map value can have, with a sample
 * in .data whose bytes clang lays out: the tests of btf/value format them
 * and encode them back, byte for byte.
 *
 *   clang -O2 -g -target bpf -c values.c -o values.o
 */
typedef unsigned int u32;
typedef unsigned long long u64;
typedef _Bool bool;

enum proto { PROTO_NONE = 0, PROTO_TCP = 6, PROTO_UDP = 17, PROTO_BAD = -1 };

/* Bitfields: clang sets kind_flag on the struct and gives each member
 * its width in the member's offset word. */
struct flags {
	u32 low : 3;
	u32 mid : 5;
	int neg : 4;
	enum proto proto : 8;
	bool on : 1;
};

union addr {
	u32 v4;
	unsigned char bytes[16];
};

struct inner {
	short s;
	signed char sc;
	char ch;
};

struct value {
	u64 packets;
	long long delta;
	const volatile u32 cv;
	enum proto proto;
	struct flags flags;
	union addr addr;
	struct inner inner[2];
	char name[8];
	unsigned char mac[6];
	void *ptr;
	float f;
	double d;
	bool ok;
	struct {
		int anon_a;
		int anon_b;
	};
	__int128 wide;
	unsigned __int128 uwide;
};

struct value sample = {
	.packets = 1234567890123ULL,
	.delta = -42,
	.cv = 7,
	.proto = PROTO_UDP,
	.flags = { .low = 5, .mid = 17, .neg = -3, .proto = PROTO_TCP, .on = 1 },
	.addr = { .v4 = 0x0100007f },
	.inner = { { -2, -1, 'x' }, { 300, 5, 'y' } },
	.name = "eth0",
	.mac = { 0x02, 0, 0, 0, 0, 0x01 },
	.ptr = (void *)0,
	.f = 1.5f,
	.d = -0.25,
	.ok = 1,
	.anon_a = 10,
	.anon_b = -20,
	.wide = -((__int128)1 << 100),
	.uwide = ((unsigned __int128)1 << 127) | 1,
};

/* A value that is just an enum, and an array of counters. */
enum proto last_proto = PROTO_BAD;
u64 counters[4] = { 1, 2, 3, 4 };
