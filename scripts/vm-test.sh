#!/usr/bin/env bash
# The kernel test suite inside guest kernels (make vm-test; vm/README.md):
# builds each kernel once (scripts/vm-kernel.sh, cached), boots it under
# qemu-system-x86_64 on the host's root filesystem shared read-only over
# virtio-9p, runs every test binary of tests/ there (vm/guest-init), and
# reports per kernel. A guest that panics, hangs, fails to boot or skips a
# test is a failed run, its console shown.
#
#   scripts/vm-test.sh [VERSION...]      default: 6.1 6.12
#
# Environment: RXDP_VM_CACHE (kernel cache, default /var/cache/rxdp-vm),
# RXDP_VM_TIMEOUT (seconds for one whole guest, default 2400),
# RXDP_VM_TEST_TIMEOUT (seconds for one test binary, default 900),
# RXDP_VM_ACCEL (tcg, default, or kvm), RXDP_VM_KEEP=1 keeps each run's
# directory (console.log, per-binary logs) for a look afterwards,
# RXDP_VM_ONLY="NAME..." runs only those test binaries (while working on
# them: such a run is reported FAILED, as the others did not run).
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
versions=("$@")
[ ${#versions[@]} != 0 ] || versions=(6.1 6.12)
guest_timeout=${RXDP_VM_TIMEOUT:-2400}
test_timeout=${RXDP_VM_TEST_TIMEOUT:-900}
accel=${RXDP_VM_ACCEL:-tcg}
cargo=${CARGO:-cargo}

say() { echo "vm-test: $*" >&2; }

if [ "$(id -u)" != 0 ]; then
	say "must run as root (the guest shares the host's root filesystem, kernel builds install packages)"
	exit 1
fi
if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
	say "installing qemu-system-x86"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-system-x86 >/dev/null || exit 1
fi

# The binaries the tests run (target/PROFILE/rxdp-load, rxdp) and the test
# binaries themselves, with the VM-only ones (feature `vm`), built on the
# host: the guest runs these very files. Release by default: under TCG
# every instruction is emulated, and the suite spawns rxdp-load and rxdp
# thousands of times (leaks.rs alone 1000): on 6.1, leaks took 267 s with
# debug builds, 118 s with release ones; races 62 s and 23 s.
# RXDP_VM_PROFILE=dev for debug builds.
profile=${RXDP_VM_PROFILE:-release}
$cargo build --profile "$profile" --workspace --bins --examples || exit 1
json=$(mktemp /tmp/rxdp-vm-build.XXXXXX)
trap 'rm -f "$json"' EXIT
$cargo test --profile "$profile" -p rxdp-kernel-tests --features vm --no-run --message-format=json >"$json" || exit 1
# NAME<TAB>EXECUTABLE for every test executable of the tests/ package: the
# harness's own unit tests (named after the library) and each [[test]].
plan=$(grep -F "\"manifest_path\":\"$root/tests/Cargo.toml\"" "$json" |
	grep -F '"executable":"' |
	sed -E 's/.*"target":\{"kind":\[[^]]*\],"crate_types":\[[^]]*\],"name":"([^"]+)".*"executable":"([^"]+)".*/\1\t\2/' |
	sort)
if [ -z "$plan" ]; then
	say "cargo listed no test executable for tests/ (see $json)"
	exit 1
fi
full_plan=$plan
if [ -n "${RXDP_VM_ONLY:-}" ]; then
	plan=$(grep -E "^($(tr ' ' '|' <<<"$RXDP_VM_ONLY"))"$'\t' <<<"$full_plan")
fi
# Every [[test]] of tests/Cargo.toml must be in the plan, VM-only ones too.
for name in $(scripts/test-binaries.sh vm); do
	if ! cut -f1 <<<"$full_plan" | grep -qx "$name"; then
		say "[[test]] $name of tests/Cargo.toml was not built (cargo test --features vm --no-run)"
		exit 1
	fi
done

# Runs one kernel; prints its report; returns non-zero on any failure.
run_kernel() {
	local version=$1 kernel out status verdict=PASSED
	kernel=$("$root/scripts/vm-kernel.sh" "$version" | tail -1) || {
		say "$version: kernel build failed"
		return 1
	}
	out=$(mktemp -d /tmp/rxdp-vm-"$version".XXXXXX)
	printf '%s\n' "$plan" >"$out/plan"
	# The kernel's .config, for the guest's /boot/config-RELEASE (guest-init).
	cp "$kernel/config" "$out/kernel-config"
	{
		echo "RXDP_VM_ROOT='$root'"
		echo "RXDP_VM_TEST_TIMEOUT=$test_timeout"
	} >"$out/env"

	local tsc_khz
	tsc_khz=$(awk '/^cpu MHz/ { printf "%d", $4 * 1000; exit }' /proc/cpuinfo)
	local accel_args=(-accel "tcg,thread=multi")
	[ "$accel" = kvm ] && accel_args=(-accel kvm -cpu host)
	say "$version: booting $kernel/bzImage ($accel), run directory $out"
	local start=$SECONDS
	# The host's root read-only as the guest's root (virtme-ng's way): the
	# test binaries, ip, bpftool, progs/obj and target/ are where the host
	# has them. `multidevs=remap` keeps inode numbers unique across the
	# host's mounts. The run directory is the one writable share. The root
	# tag has no /dev/ in front: 6.1 strips it from root= before using the
	# rest as the 9p tag, 6.12 does not, and a bare name is the same on both.
	# tsc=reliable tsc_early_khz=<the host's>: under TCG the guest's TSC is
	# the host's, but on a busy host the kernel fails to calibrate it against
	# the PIT or its watchdog finds it skewed against jiffies, and falls back
	# to 4 ms jiffies: every duration the tests measure then reads 0.
	# rcupdate.rcu_expedited=1: every XDP attach and detach waits for an RCU
	# grace period; expedited ones are shorter under emulation (leaks.rs:
	# 299 -> 267 s in debug builds), and change nothing the tests see.
	timeout -k 10 "$guest_timeout" qemu-system-x86_64 \
		"${accel_args[@]}" -smp 2 -m 2048 \
		-display none -monitor none -serial stdio -no-reboot -nic none \
		-kernel "$kernel/bzImage" \
		-append "console=ttyS0 loglevel=5 panic=-1 rcupdate.rcu_expedited=1 tsc=reliable${tsc_khz:+ tsc_early_khz=$tsc_khz} lsm=bpf root=rxdproot rootfstype=9p rootflags=trans=virtio,version=9p2000.L,msize=262144,cache=loose ro init=$root/vm/guest-init" \
		-fsdev local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap \
		-device virtio-9p-pci,fsdev=hostroot,mount_tag=rxdproot \
		-fsdev local,id=out,path="$out",security_model=none,multidevs=remap \
		-device virtio-9p-pci,fsdev=out,mount_tag=rxdp-out \
		-device virtio-rng-pci \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
		</dev/null 2>&1 | tee "$out/console.log"
	status=${PIPESTATUS[0]}
	local wall=$((SECONDS - start))

	# The guest's own end (vm/guest-init) is isa-debug-exit's 3, or 0 from
	# its reboot(2) under -no-reboot; a panic (panic=-1) also reboots, and
	# says so on the console. timeout's 124 is a hang.
	local problems=()
	case $status in
	3 | 0) ;;
	124 | 137) problems+=("the guest did not finish within $guest_timeout s (RXDP_VM_TIMEOUT)") ;;
	*) problems+=("QEMU ended with status $status") ;;
	esac
	# The kernel's own alarms fail the run too, whatever the tests said.
	local alarms
	alarms=$(grep -E 'Kernel panic|BUG:|Oops|WARNING:|Call Trace:|hung_task|RCU stall|soft lockup' "$out/console.log" | head -5)
	[ -z "$alarms" ] || problems+=("the kernel complained on the console: ${alarms//$'\n'/ | }")
	[ -e "$out/booted" ] || problems+=("the guest never reached vm/guest-init")
	[ -e "$out/done" ] || problems+=("the guest did not reach the end of the plan")

	local report passed_total=0 failed_total=0 name exe
	report=$(printf '%-28s %7s %7s %8s  %s\n' binary passed failed seconds result)
	while IFS=$'\t' read -r name exe; do
		local rc="" seconds="" passed=0 failed=0 result=ok
		if [ -e "$out/$name.rc" ]; then
			read -r rc seconds <"$out/$name.rc"
			passed=$(sed -nE 's/^test result: .* ([0-9]+) passed; .*/\1/p' "$out/$name.log" | awk '{s += $1} END {print s + 0}')
			failed=$(sed -nE 's/^test result: .* ([0-9]+) failed; .*/\1/p' "$out/$name.log" | awk '{s += $1} END {print s + 0}')
			if [ "$rc" != 0 ]; then
				result="FAILED (exit $rc$([ "$rc" = 124 ] && echo ", timed out after $test_timeout s"))"
			fi
			if grep -q 'RXDP-SKIPPED' "$out/$name.log"; then
				result="FAILED (skipped: $(grep -m1 'RXDP-SKIPPED' "$out/$name.log"))"
			fi
			if grep -Eq '^test result: .* [1-9][0-9]* ignored' "$out/$name.log"; then
				result="FAILED (tests #[ignore]d)"
			fi
			grep -q '^test result: ' "$out/$name.log" || result="FAILED (no test result line)"
		else
			result="FAILED (did not run)"
		fi
		[ "$result" = ok ] || problems+=("$name: $result")
		# Each failed test's panic, so that the summary (the tail a CI log
		# keeps) says why without the guest's whole output.
		if [ -e "$out/$name.log" ]; then
			local panic
			while IFS= read -r panic; do
				problems+=("$name: $panic")
			done < <(awk '/^---- .* stdout ----$/ { test = $2; next }
				test != "" && /panicked at/ { getline message; print test ": " $0 " " message; test = "" }' "$out/$name.log" | head -5)
		fi
		passed_total=$((passed_total + passed))
		failed_total=$((failed_total + failed))
		report+=$'\n'$(printf '%-28s %7s %7s %8s  %s' "$name" "$passed" "$failed" "${seconds:--}" "$result")
	done <"$out/plan"

	[ -z "${RXDP_VM_ONLY:-}" ] || problems+=("only $RXDP_VM_ONLY ran (RXDP_VM_ONLY)")
	[ ${#problems[@]} = 0 ] || verdict=FAILED
	{
		echo
		echo "==== vm-test $version: $verdict ($passed_total passed, $failed_total failed; kernel $(basename "$kernel"), built in $(cat "$kernel/build-seconds") s; init reached at $(cat "$out/booted" 2>/dev/null || echo -) s of uptime, suite done at $(cat "$out/done" 2>/dev/null || echo -) s; QEMU wall $wall s)"
		echo "$report"
		for problem in "${problems[@]}"; do echo "  problem: $problem"; done
	} | tee -a "$summary"
	if [ $verdict != PASSED ] && [ ! -e "$out/done" ]; then
		echo "---- last 80 lines of the console of $version ($out/console.log):"
		tail -80 "$out/console.log"
	fi
	if [ "${RXDP_VM_KEEP:-0}" = 1 ] || [ $verdict != PASSED ]; then
		say "$version: run directory kept: $out"
	else
		rm -rf "$out"
	fi
	[ $verdict = PASSED ]
}

summary=$(mktemp /tmp/rxdp-vm-summary.XXXXXX)
trap 'rm -f "$json" "$summary"' EXIT
fail=0
for version in "${versions[@]}"; do
	run_kernel "$version" || fail=1
done
echo
echo "======== vm-test summary"
cat "$summary"
exit $fail
