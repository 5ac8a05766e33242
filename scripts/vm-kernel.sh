#!/usr/bin/env bash
# Builds the guest kernel of the VM test suite, once: Debian's
# linux-source-VERSION, `make tinyconfig` plus vm/kernel.config, cached
# outside the checkout in $RXDP_VM_CACHE (default /var/cache/rxdp-vm) under
# VERSION-<Debian package version>-<hash of the fragment and this script>.
# Prints that directory (bzImage, config, build-seconds) on its last line.
#
#   scripts/vm-kernel.sh 6.1
#
# Installs what it needs from Debian's registry. Fails, naming them, when an
# option of the fragment is not in the final .config (tinyconfig drops an
# option whose dependencies are missing silently).
set -euo pipefail

version=${1:?usage: scripts/vm-kernel.sh VERSION (6.1 or 6.12)}
root=$(cd "$(dirname "$0")/.." && pwd)
fragment=$root/vm/kernel.config
cache=${RXDP_VM_CACHE:-/var/cache/rxdp-vm}

say() { echo "vm-kernel $version: $*" >&2; }

# Build tools and the source package, installed only when one is missing.
packages=(linux-source-$version build-essential flex bison bc libelf-dev libssl-dev dwarves)
need_install=0
for tool in gcc make flex bison bc pahole; do
	command -v "$tool" >/dev/null 2>&1 || need_install=1
done
[ -e /usr/include/libelf.h ] || need_install=1
[ -e "/usr/src/linux-source-$version.tar.xz" ] || need_install=1
if [ $need_install = 1 ]; then
	say "installing ${packages[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi
tarball=/usr/src/linux-source-$version.tar.xz
[ -e "$tarball" ] || { say "$tarball missing after installing linux-source-$version"; exit 1; }

package_version=$(dpkg-query -W -f='${Version}' "linux-source-$version")
hash=$(cat "$fragment" "$0" | sha256sum | cut -c1-12)
key=$version-$package_version-$hash
out=$cache/$key
mkdir -p "$cache"

# One build per key at a time: a second `make vm-test` waits for the first.
exec 9>"$cache/$key.lock"
flock 9

if [ -e "$out/bzImage" ] && [ -e "$out/build-seconds" ]; then
	echo "$out"
	exit 0
fi

work=$cache/build-$key
rm -rf "$work" "$out"
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT
start=$(date +%s)
say "cold build in $work (log: $work.log)"
tar -C "$work" -xJf "$tarball"
src=$work/linux-source-$version
{
	make -C "$src" tinyconfig
	"$src/scripts/kconfig/merge_config.sh" -m -O "$src" "$src/.config" "$fragment"
	make -C "$src" olddefconfig
} >"$work.log" 2>&1 || { tail -30 "$work.log" >&2; say "configuring failed"; exit 1; }

# Every option the fragment sets must have survived, value included.
missing=()
while IFS= read -r line; do
	grep -qxF -- "$line" "$src/.config" || missing+=("$line")
done < <(grep -E '^CONFIG_[A-Za-z0-9_]+=' "$fragment")
if [ ${#missing[@]} != 0 ]; then
	say "vm/kernel.config options missing from the final .config (a dependency is off or the option does not exist in $version):"
	for line in "${missing[@]}"; do
		name=${line%%=*}
		echo "  $line (got: $(grep -E "^$name=|^# $name is not set" "$src/.config" || echo 'absent'))" >&2
	done
	exit 1
fi

say "building bzImage (nice -n 10, -j2)"
if ! nice -n 10 make -C "$src" -j2 bzImage >>"$work.log" 2>&1; then
	tail -40 "$work.log" >&2
	say "kernel build failed; whole log: $work.log"
	exit 1
fi
# The kernel's BTF (/sys/kernel/btf/vmlinux in the guest) comes from pahole.
if ! readelf -S "$src/vmlinux" | grep -q ' \.BTF '; then
	say "vmlinux has no .BTF section (pahole did not run?); log: $work.log"
	exit 1
fi

mkdir -p "$out.tmp"
cp "$src/arch/x86/boot/bzImage" "$out.tmp/bzImage"
cp "$src/.config" "$out.tmp/config"
cp "$work.log" "$out.tmp/build.log"
echo $(($(date +%s) - start)) >"$out.tmp/build-seconds"
rm -rf "$out"
mv "$out.tmp" "$out"
rm -f "$work.log"
say "built in $(cat "$out/build-seconds") s: $out"
echo "$out"
