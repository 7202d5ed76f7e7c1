#!/usr/bin/env bash
# Start-up cost of the plugin as a whole process: median wall time and max RSS of one command,
# over many runs. Usage: scripts/bench-startup.sh [runs] [envelope-json] [plugin flags...]
# Needs GNU time (/usr/bin/time; Debian package `time`) for the RSS figure: a child forked from
# Python would report Python's own pages as its peak.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-50}"
envelope="${2:-{\"command\":\"get-mapping-fields\"\}}"
shift 2 2>/dev/null || shift $#
cargo build --release --locked -q
exec python3 - "$runs" "$envelope" "$@" <<'PY'
import os, statistics, subprocess, sys, time

runs, envelope, flags = int(sys.argv[1]), sys.argv[2].encode(), sys.argv[3:]
command = [os.path.join("target", "release", "m365-defender"), *flags]
walls, rss = [], []
for _ in range(runs):
    start = time.perf_counter()
    done = subprocess.run(command, input=envelope, stdout=subprocess.DEVNULL)
    walls.append(time.perf_counter() - start)
    if done.returncode != 0:
        sys.exit(f"the command failed with status {done.returncode}")
    measured = subprocess.run(["/usr/bin/time", "-f", "%M", *command], input=envelope,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    rss.append(int(measured.stderr.decode().strip().splitlines()[-1]))  # KiB
print(f"command: {' '.join(command)} <<< {envelope.decode()}")
print(f"runs: {runs}")
print(f"median wall: {statistics.median(walls) * 1000:.2f} ms (min {min(walls) * 1000:.2f}, max {max(walls) * 1000:.2f})")
print(f"max RSS: {max(rss) / 1024:.1f} MiB (median {statistics.median(rss) / 1024:.1f})")
PY
