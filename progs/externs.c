/* SPDX-License-Identifier: GPL-2.0 */
/*
 * externs.c - what a program leaves to the loader: `__kconfig` values and
 * `__ksym` kernel symbols, strong and weak, present and absent.
 *
 * One XDP program copies every extern's value into `results` (.bss): a
 * test run, then a read of .bss, shows what the loader gave each one.
 *
 * - .kconfig: rxdp's own LINUX_* values, CONFIG_* values of each type
 *   (bool, int, tristate, char array) from the kernel configuration, a
 *   weak CONFIG_ and a weak LINUX_ the kernel does not have (0);
 * - .ksyms: an untyped kernel symbol (`schedule`: its address, from
 *   /proc/kallsyms), a weak untyped and a weak typed one that do not
 *   exist (0), a weak kfunc that exists (`bpf_task_acquire`) and one that
 *   does not, tested the way bpf_ksym_exists() tests them; the absent one
 *   is called behind that test, a call the verifier must drop.
 */
#include "rxdp_helpers.h"

#define __kconfig __attribute__((section(".kconfig")))
#define __ksym __attribute__((section(".ksyms")))
#define __weak __attribute__((weak))

/* libbpf's type for y/m/n options. */
enum libbpf_tristate { TRI_NO = 0, TRI_YES = 1, TRI_MODULE = 2 };

extern unsigned int LINUX_KERNEL_VERSION __kconfig;
extern _Bool LINUX_HAS_BPF_COOKIE __kconfig;
extern _Bool LINUX_HAS_SYSCALL_WRAPPER __kconfig;
extern int LINUX_RXDP_UNKNOWN __kconfig __weak;
extern _Bool CONFIG_BPF_SYSCALL __kconfig;
extern int CONFIG_HZ __kconfig __weak;
extern enum libbpf_tristate CONFIG_BPF_JIT __kconfig __weak;
extern char CONFIG_DEFAULT_HOSTNAME[16] __kconfig __weak;
extern unsigned long long CONFIG_RXDP_NO_SUCH_OPTION __kconfig __weak;

/* A kfunc's prototype must be compatible with the kernel's: a struct,
 * not a forward declaration (its members do not matter). */
struct task_struct {
	int pid;
};

extern const void schedule __ksym;
extern const void rxdp_no_such_symbol __ksym __weak;
extern const int rxdp_no_such_variable __ksym __weak;
extern struct task_struct *bpf_task_acquire(struct task_struct *p) __ksym __weak;
extern void rxdp_no_such_kfunc(void) __ksym __weak;

struct results {
	__u64 kernel_version;
	__u64 has_bpf_cookie;
	__u64 has_syscall_wrapper;
	__u64 linux_unknown;
	__u64 bpf_syscall;
	__u64 hz;
	__u64 bpf_jit;
	__u64 no_such_option;
	char hostname[16];
	__u64 schedule;
	__u64 no_such_symbol;
	__u64 no_such_variable;
	__u64 task_acquire_exists;
	__u64 no_such_kfunc_exists;
	__u64 no_such_kfunc_called;
};

struct results results;

SEC("xdp")
int xdp_externs(struct xdp_md *ctx)
{
	int i;

	results.kernel_version = LINUX_KERNEL_VERSION;
	results.has_bpf_cookie = LINUX_HAS_BPF_COOKIE;
	results.has_syscall_wrapper = LINUX_HAS_SYSCALL_WRAPPER;
	results.linux_unknown = LINUX_RXDP_UNKNOWN;
	results.bpf_syscall = CONFIG_BPF_SYSCALL;
	results.hz = CONFIG_HZ;
	results.bpf_jit = CONFIG_BPF_JIT;
	results.no_such_option = CONFIG_RXDP_NO_SUCH_OPTION;
	for (i = 0; i < sizeof(CONFIG_DEFAULT_HOSTNAME); i++)
		results.hostname[i] = CONFIG_DEFAULT_HOSTNAME[i];
	results.schedule = (__u64)&schedule;
	results.no_such_symbol = (__u64)&rxdp_no_such_symbol;
	results.no_such_variable = (__u64)&rxdp_no_such_variable;
	results.task_acquire_exists = !!bpf_task_acquire;
	results.no_such_kfunc_exists = !!rxdp_no_such_kfunc;
	if (rxdp_no_such_kfunc) {
		/* Dead code: the loader makes this call unknown#2002000000+N,
		 * which the verifier drops since the test above is false. */
		rxdp_no_such_kfunc();
		results.no_such_kfunc_called = 1;
	}
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
