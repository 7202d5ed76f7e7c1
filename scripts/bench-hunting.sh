#!/usr/bin/env bash
# advanced-hunting with 100,000 rows, the most Microsoft returns for one query: the real
# (release) binary against the emulator, checking every row reaches the context and the table
# shows 1,000. Prints the wall time (emulator and plugin together).
# Usage: scripts/bench-hunting.sh
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo test --release --locked --test integration bench_a_hunt_of_100000_rows -- --ignored --nocapture --test-threads=1
