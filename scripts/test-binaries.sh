#!/usr/bin/env bash
# The kernel test binaries ([[test]] of tests/Cargo.toml) one side must run,
# one name a line, for the "every test binary ran" checks of .ci/run (host)
# and scripts/vm-test.sh (each guest kernel):
#
#   scripts/test-binaries.sh host   those without required-features = ["vm"]
#   scripts/test-binaries.sh vm     all of them
#
# A [[test]] with `required-features = ["vm"]` needs what only the guest
# kernels have (netdevsim, fentry, BPF LSM...): `cargo test` on the host does
# not build it, so it is never listed there, neither run nor skipped.
set -euo pipefail
side=${1:?usage: scripts/test-binaries.sh host|vm}
manifest=$(dirname "$0")/../tests/Cargo.toml
awk -v side="$side" '
	function flush() { if (name != "" && (side == "vm" || !vm_only)) print name; name = ""; vm_only = 0 }
	/^\[\[test\]\]/ { flush(); in_test = 1; next }
	/^\[/ { flush(); in_test = 0; next }
	in_test && /^name *=/ { split($0, q, "\""); name = q[2] }
	in_test && /^required-features *=/ && /"vm"/ { vm_only = 1 }
	END { flush() }
' "$manifest"
