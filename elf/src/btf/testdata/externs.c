/* Extern declarations: kfuncs and a typed ksym (.ksyms), kconfig values
 * (.kconfig), and a static variable whose offset clang fills itself.
 * Rebuild: clang -O2 -g -target bpf -c externs.c -o externs.o */
#define SEC(name) __attribute__((section(name), used))
#define __ksym __attribute__((section(".ksyms")))
#define __kconfig __attribute__((section(".kconfig")))

extern int bpf_kfunc_a(int, void *) __ksym;
extern int bpf_kfunc_b(int x) __ksym;
extern const void bpf_prog_active __ksym;
extern unsigned int LINUX_KERNEL_VERSION __kconfig;
extern unsigned long long CONFIG_HZ __kconfig;
extern _Bool CONFIG_BPF_SYSCALL __kconfig __attribute__((weak));

static int hits;

SEC("xdp") int use_externs(void *ctx)
{
	hits++;
	if (CONFIG_BPF_SYSCALL && CONFIG_HZ > 100 && LINUX_KERNEL_VERSION)
		return bpf_kfunc_a(hits, (void *)&bpf_prog_active);
	return bpf_kfunc_b(2);
}

char _license[] SEC("license") = "GPL";
