# rxdp — build, test, demo, bench.
#
#   make          BPF objects (progs/obj/*.o) and the binaries
#   make test     everything: unit tests, the mutation test, kernel tests (root)
#   make demo     the article's tail-call scenario on a veth pair it creates
#   make static   dist/rxdp-load and dist/rxdp, static musl binaries
#   make completions  shell completions and manual pages, installed under PREFIX
#   make bench    rxdp against ip, xdp-loader and Aya, side by side
#   make conformance  the kernel's BPF selftests: libbpf and rxdp side by side
#   make docs     the book (docs/, mdBook) into target/book; make docs-bless
#                 rewrites the outputs its pages show (the command checker)
#   make vm-test  the kernel tests in guest kernels 6.1 and 6.12 under QEMU
#                 (KERNEL=6.1 for one; vm/README.md), netdevsim offload included
#
# Targets that need a tool install it themselves (apt-get, rustup).

SHELL        := /bin/bash
CARGO        ?= cargo
CLANG        ?= clang
APT_PACKAGES := clang llvm bpftool xdp-tools iproute2 strace
ARCH_INCLUDE := /usr/include/$(shell uname -m)-linux-gnu
# -ffile-prefix-map: the committed objects in progs/obj must not depend on the
# checkout's path (their BTF names the source file; tests compare their bytes).
BPF_CFLAGS   := -O2 -g -target bpf -Wall -Werror -Iprogs/include -I$(ARCH_INCLUDE) \
                -ffile-prefix-map=$(CURDIR)=.

PROG_SRCS := $(wildcard progs/*.c)
PROG_OBJS := $(patsubst progs/%.c,progs/obj/%.o,$(PROG_SRCS))

.PHONY: all deps mounts progs build test unit kernel-test lint clean static bench demo completions conformance corpus vm-test docs docs-bless

all: progs build

# Tools from Debian's registry, installed only when one is missing.
deps:
	@missing=0; for t in clang llvm-objdump bpftool xdp-loader ip strace; do \
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

# The exercises' objects, for `rxdp run` in the lessons:
# make docs/exercises/1/skeleton.o
docs/exercises/%.o: docs/exercises/%.c $(wildcard progs/include/*.h)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

build:
	$(CARGO) build --release --workspace --bins

unit: progs
	$(CARGO) test --workspace --exclude rxdp-kernel-tests

# The kernel selftest objects of conformance/subset.tsv, one per feature of
# issue 12, compiled from Debian's linux-source packages (installed when
# missing) into target/corpus/<tree>/<name>.o for the kernel tests.
CORPUS_STAMP := target/corpus/.done
corpus: $(CORPUS_STAMP)
$(CORPUS_STAMP): conformance/subset.tsv conformance/conformance.py conformance/run.sh
	conformance/run.sh subset target/corpus
	@touch $@

kernel-test: progs mounts corpus
	$(CARGO) build --workspace --bins --examples
	$(CARGO) test -p rxdp-kernel-tests

test: unit kernel-test

# The article's command on a veth pair it creates; see scripts/demo.sh.
demo: progs build mounts
	scripts/demo.sh

# The book: docs/SUMMARY.md's pages, built by mdBook (installed from
# crates.io when missing or of another version; no server or watcher, only
# search) into target/book. Offline: open target/book/index.html.
MDBOOK_VERSION := 0.5.4
MDBOOK         ?= $(or $(CARGO_HOME),$(HOME)/.cargo)/bin/mdbook
BOOK_LINKED_DIRS := progs loader elf syscalls cli scripts tests
docs:
	@$(MDBOOK) --version 2>/dev/null | grep -qx 'mdbook v$(MDBOOK_VERSION)' || \
		$(CARGO) install mdbook --locked --version $(MDBOOK_VERSION) --no-default-features --features search
	$(MDBOOK) build
	@# The pages link to the sources as ../progs/... (reference) and
	@# ../../progs/... (lessons): beside target/book, those are target/progs...
	@for d in $(BOOK_LINKED_DIRS); do ln -sfn ../$$d target/$$d; done
	@echo "the book: target/book/index.html"

# Runs every console block of docs/ (tests/docs_commands.rs) and writes the
# outputs produced into the pages: after a change of rxdp's output text.
docs-bless: progs mounts
	$(CARGO) build --workspace --bins --examples
	RXDP_DOCS_BLESS=1 $(CARGO) test -p rxdp-kernel-tests --test docs_commands

lint:
	@for c in clippy rustfmt; do rustup component list --installed 2>/dev/null | grep -q "^$$c" || \
		rustup component add $$c; done
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --workspace --no-deps
	$(CARGO) clippy -p rxdp-kernel-tests --all-targets --features vm -- -D warnings

# Static musl binaries: rxdp-load at most 512 KiB, rxdp (every subcommand)
# at most 640 KiB. Stable Rust cannot get there:
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
# The budget of each binary, in bytes: 800 and 992 KiB since issue 15's libxdp components (53 KiB),
# 768 and 960 before (README, "Size budgets, revised": what each feature costs, what the others weigh).
STATIC_MAX_rxdp-load := 819200
STATIC_MAX_rxdp      := 1015808
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
		$(CARGO) +nightly build -p rxdp-cli --bins --profile static --target $(STATIC_TRIPLE) \
		-Z build-std=std,panic_abort -Z build-std-features=optimize_for_size \
		--target-dir $(STATIC_DIR)
	@mkdir -p dist
	@for b in $(STATIC_BINS); do \
		cp $(STATIC_DIR)/$(STATIC_TRIPLE)/static/$$b dist/$$b || exit 1; \
		file dist/$$b | grep -q 'statically linked' || { echo "dist/$$b is not statically linked"; exit 1; }; \
	done
	dist/rxdp-load --help >/dev/null
	dist/rxdp inspect progs/obj/tail_kern.o >/dev/null
	$(CARGO) build -q -p rxdp
	@over=0; for b in $(STATIC_BINS); do \
		case $$b in rxdp-load) max=$(STATIC_MAX_rxdp-load);; *) max=$(STATIC_MAX_rxdp);; esac; \
		size=$$(stat -c %s dist/$$b); \
		if [ $$size -le $$max ]; then verdict="ok (budget $$((max / 1024)) KiB)"; else verdict="OVER the $$max-byte budget"; over=1; fi; \
		echo "dist/$$b: $$size bytes ($$((size / 1024)) KiB), statically linked, $$verdict"; \
	done; exit $$over

# Shell completions (bash, zsh, fish) and manual pages, written from the
# clap definitions by cli/gen (not part of the programs) into
# target/completions/ and installed under $(DESTDIR)$(PREFIX).
PREFIX  ?= /usr/local
GEN_DIR := target/completions

completions:
	$(CARGO) run -q -p rxdp-cli-gen -- $(GEN_DIR) >/dev/null
	install -d $(DESTDIR)$(PREFIX)/share/bash-completion/completions \
		$(DESTDIR)$(PREFIX)/share/zsh/site-functions \
		$(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d \
		$(DESTDIR)$(PREFIX)/share/man/man1
	@for p in rxdp rxdp-load; do \
		install -m 644 $(GEN_DIR)/completions/$$p.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/$$p && \
		install -m 644 $(GEN_DIR)/completions/_$$p $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_$$p && \
		install -m 644 $(GEN_DIR)/completions/$$p.fish $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/$$p.fish || exit 1; \
	done
	install -m 644 $(GEN_DIR)/man/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	@echo "completions and manual pages installed under $(DESTDIR)$(PREFIX)/share"

# rxdp against ip, xdp-loader and a minimal Aya loader (bench/aya-loader), side
# by side; scripts/bench.sh installs what it needs. Root: it makes a veth pair.
bench: progs mounts
	scripts/bench.sh

# The kernel's own BPF programs (tools/testing/selftests/bpf/progs of
# linux-source-6.1 and 6.12) loaded by bpftool prog loadall and by rxdp-load
# side by side, one table per cause (conformance/README.md). Minutes; not part
# of `make test`. Root. CONFORMANCE_TREES="6.1" for one tree.
conformance: build
	conformance/run.sh

# The kernel test suite (VM-only binaries included) inside Debian's 6.1 and
# 6.12 kernels, built once into $(RXDP_VM_CACHE) (default /var/cache/rxdp-vm)
# and booted under qemu-system-x86_64 on the host's root over virtio-9p.
# Root. See vm/README.md and scripts/vm-test.sh.
KERNEL ?= 6.1 6.12
vm-test: progs corpus
	scripts/vm-test.sh $(KERNEL)

clean:
	$(CARGO) clean
	rm -rf dist $(STATIC_DIR) bench/target
