# rxdp — build, test, demo, bench.
#
#   make          BPF objects (progs/obj/*.o) and the binaries
#   make test     everything: unit tests, the mutation test, kernel tests (root)
#   make demo     the article's tail-call scenario on a veth pair it creates
#   make static   dist/rxdp-load and dist/rxdp, static musl binaries
#   make bench    rxdp against ip, xdp-loader and Aya, side by side
#   make vm-test  the kernel tests in guest kernels 6.1 and 6.12 under QEMU
#                 (KERNEL=6.1 for one; vm/README.md), netdevsim offload included
#
# Targets that need a tool install it themselves (apt-get, rustup).

SHELL        := /bin/bash
CARGO        ?= cargo
CLANG        ?= clang
APT_PACKAGES := clang llvm bpftool xdp-tools iproute2
ARCH_INCLUDE := /usr/include/$(shell uname -m)-linux-gnu
BPF_CFLAGS   := -O2 -g -target bpf -Wall -Werror -Iprogs/include -I$(ARCH_INCLUDE)

PROG_SRCS := $(wildcard progs/*.c)
PROG_OBJS := $(patsubst progs/%.c,progs/obj/%.o,$(PROG_SRCS))

.PHONY: all deps mounts progs build test unit kernel-test lint clean static bench demo vm-test

all: progs build

# Tools from Debian's registry, installed only when one is missing.
deps:
	@missing=0; for t in clang llvm-objdump bpftool xdp-loader ip; do \
		command -v $$t >/dev/null 2>&1 || missing=1; done; \
	if [ $$missing = 1 ]; then \
		echo "installing $(APT_PACKAGES)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES) >/dev/null; \
	fi

# bpffs and tracefs, mounted when absent (kernel tests and the demo need them).
mounts:
	@mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
	@mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing

progs: deps $(PROG_OBJS)

progs/obj/%.o: progs/%.c $(wildcard progs/include/*.h)
	@mkdir -p progs/obj
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

build:
	$(CARGO) build --release --workspace --bins

unit: progs
	$(CARGO) test --workspace --exclude rxdp-kernel-tests

kernel-test: progs mounts
	$(CARGO) build --workspace --bins
	$(CARGO) test -p rxdp-kernel-tests

test: unit kernel-test

# The article's command on a veth pair it creates; see scripts/demo.sh.
demo: progs build mounts
	scripts/demo.sh

lint:
	@for c in clippy rustfmt; do rustup component list --installed 2>/dev/null | grep -q "^$$c" || \
		rustup component add $$c; done
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) clippy -p rxdp-kernel-tests --all-targets --features vm -- -D warnings

# Static musl binaries of at most 512 KiB each. Stable Rust cannot get there:
# with its prebuilt std, rxdp-load is ~860 KiB even with opt-level z, LTO and
# panic=abort. Nightly rebuilds std for size (-Z build-std), and:
#   -Cpanic=immediate-abort   no panic machinery: a panic is an abort
#   -Cforce-unwind-tables=no  no .eh_frame (~75 KiB): nothing unwinds
#   -Crelocation-model=static a plain static executable, not a static PIE
#   rust-lld with --icf=all   identical functions folded into one
#   -z noseparate-code        no page padding between code and data
#   machine outliner          repeated instruction sequences made calls
STATIC_TRIPLE := $(shell uname -m)-unknown-linux-musl
STATIC_DIR    := target-static
STATIC_BINS   := rxdp-load rxdp
STATIC_MAX    := 524288
STATIC_RUSTFLAGS := -Zunstable-options -Cpanic=immediate-abort -Cforce-unwind-tables=no \
	-Crelocation-model=static -Clink-self-contained=+linker -Clinker-flavor=gnu-lld-cc \
	-Clink-arg=-Wl,--icf=all -Clink-arg=-Wl,-z,noseparate-code \
	-Cllvm-args=-enable-machine-outliner=always

static:
	@rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
	@rustup target list --toolchain nightly --installed | grep -qx '$(STATIC_TRIPLE)' || \
		rustup target add $(STATIC_TRIPLE) --toolchain nightly
	@rustup component list --toolchain nightly --installed | grep -qx 'rust-src' || \
		rustup component add rust-src --toolchain nightly
	RUSTFLAGS="$(STATIC_RUSTFLAGS)" \
		$(CARGO) +nightly build -p rxdp --bins --profile static --target $(STATIC_TRIPLE) \
		-Z build-std=std,panic_abort -Z build-std-features=optimize_for_size \
		--target-dir $(STATIC_DIR)
	@mkdir -p dist
	@for b in $(STATIC_BINS); do \
		cp $(STATIC_DIR)/$(STATIC_TRIPLE)/static/$$b dist/$$b || exit 1; \
		file dist/$$b | grep -q 'statically linked' || { echo "dist/$$b is not statically linked"; exit 1; }; \
	done
	dist/rxdp-load --help >/dev/null
	dist/rxdp inspect progs/obj/tail_kern.o >/dev/null
	$(CARGO) build -q -p rxdp --no-default-features
	@over=0; for b in $(STATIC_BINS); do \
		size=$$(stat -c %s dist/$$b); \
		if [ $$size -le $(STATIC_MAX) ]; then verdict=ok; else verdict="OVER the $(STATIC_MAX)-byte budget"; over=1; fi; \
		echo "dist/$$b: $$size bytes ($$((size / 1024)) KiB), statically linked, $$verdict"; \
	done; exit $$over

# rxdp against ip, xdp-loader and a minimal Aya loader (bench/aya-loader), side
# by side; scripts/bench.sh installs what it needs. Root: it makes a veth pair.
bench: progs mounts
	scripts/bench.sh

# The kernel test suite (VM-only binaries included) inside Debian's 6.1 and
# 6.12 kernels, built once into $(RXDP_VM_CACHE) (default /var/cache/rxdp-vm)
# and booted under qemu-system-x86_64 on the host's root over virtio-9p.
# Root. See vm/README.md and scripts/vm-test.sh.
KERNEL ?= 6.1 6.12
vm-test: progs
	scripts/vm-test.sh $(KERNEL)

clean:
	$(CARGO) clean
	rm -rf dist $(STATIC_DIR) bench/target
