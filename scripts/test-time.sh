#!/usr/bin/env bash
# The wall time of the whole test suite after a build: builds the tests first, then times
# `cargo test --workspace --locked` RUNS times (default 3) and prints each run, the best and the
# median. The load average is printed too: on a busy machine the figures mean little.
#
#   scripts/test-time.sh        # 3 runs
#   RUNS=5 scripts/test-time.sh
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${RUNS:-3}
cargo test --workspace --locked --no-run >/dev/null 2>&1 ||
    cargo test --workspace --locked --no-run

times=()
for run in $(seq 1 "$runs"); do
    load=$(cut -d' ' -f1 /proc/loadavg)
    start=$(date +%s.%N)
    if ! cargo test --workspace --locked >/dev/null 2>&1; then
        echo "run $run: the suite failed; run \`cargo test --workspace --locked\` to see why" >&2
        exit 1
    fi
    end=$(date +%s.%N)
    seconds=$(echo "$end - $start" | bc)
    times+=("$seconds")
    printf 'run %d: %.1f s (load average %s before)\n' "$run" "$seconds" "$load"
done

sorted=$(printf '%s\n' "${times[@]}" | sort -n)
best=$(echo "$sorted" | head -1)
median=$(echo "$sorted" | sed -n "$(((runs + 1) / 2))p")
printf 'cargo test --workspace --locked: best %.1f s, median %.1f s of %d runs on %d cores\n' \
    "$best" "$median" "$runs" "$(nproc)"
