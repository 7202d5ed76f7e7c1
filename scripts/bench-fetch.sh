#!/usr/bin/env bash
# fetch-incidents draining a backlog: 10,000 incidents in the emulator, max_fetch 100, the real
# (release) binary run once per fetch as the platform runs it. Prints list requests and wall
# time per run and the size of last_run.
# Usage: scripts/bench-fetch.sh [graph]   (graph: through Microsoft Graph, pages of 50)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = graph ]; then
    export BENCH_API_BACKEND="Microsoft Graph"
fi
exec cargo test --release --locked --test integration bench_fetch_backlog -- --ignored --nocapture --test-threads=1
