# rxdp — build, test, demo, bench.
#
#   make          BPF objects (progs/obj/*.o) and the binaries
#   make test     everything: unit tests, the mutation test, kernel tests (root)
#   make demo     the article's tail-call scenario on a veth pair it creates
#   make static   dist/rxdp-load and dist/rxdp, static musl binaries
#   make bench    rxdp against ip, xdp-loader and Aya, side by side
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

.PHONY: all deps mounts progs build test unit kernel-test lint clean

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

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

clean:
	$(CARGO) clean
	rm -rf dist
