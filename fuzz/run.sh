#!/bin/sh
# Runs every fuzz target in turn for SECONDS seconds each (default 660),
# one at a time (the machine has 2 cores), after seeding the corpora.
# Each run's output goes to logs/TARGET.log; the last lines hold libFuzzer's
# final figures (`Done N runs in S second(s)`, `stat::number_of_executed_units`,
# the final `cov:`/`ft:` line), which RESULTS.md records.
#
#   ./run.sh                 # all five targets, 11 minutes each
#   ./run.sh 60 relocate     # one target, one minute
set -u
cd "$(dirname "$0")"
seconds=${1:-660}
shift 2>/dev/null || :
targets=${*:-parse_object parse_btf parse_btf_ext relocate btf_values}
./seed-corpus.sh
cargo +nightly fuzz build || exit 1
mkdir -p logs
for target in $targets; do
	echo "$(date -u +%FT%TZ) $target: ${seconds}s"
	cargo +nightly fuzz run "$target" -- -max_total_time="$seconds" -timeout=10 \
		-print_final_stats=1 >"logs/$target.log" 2>&1
	echo "$(date -u +%FT%TZ) $target: exit $?; $(grep -E '^#[0-9]+.*(DONE|cov:)' "logs/$target.log" | tail -1)"
done
