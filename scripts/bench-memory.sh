#!/usr/bin/env bash
# Memory of a large incidents-list, through the legacy API and through Microsoft Graph: the
# plugin (release build) as a whole process against `m365-defender emulator --incidents N`, the
# token already cached in the integration context, listing all N incidents (`limit` = N).
# Prints, for each backend, the output size, the max RSS (GNU time) and its ratio to the output,
# and the wall time. The goal: max RSS within about 2 x the output on both backends.
# Usage: scripts/bench-memory.sh [incidents] [runs]   (defaults 10000 and 3)
# Needs GNU time (/usr/bin/time; Debian package `time`): a child forked from Python would
# report Python's own pages as its peak.
set -euo pipefail
cd "$(dirname "$0")/.."
incidents="${1:-10000}"
runs="${2:-3}"
cargo build --release --locked -q
exec python3 - "$incidents" "$runs" <<'PY'
import json, os, socket, statistics, subprocess, sys, time, urllib.request

incidents, runs = int(sys.argv[1]), int(sys.argv[2])
plugin = os.path.join("target", "release", "m365-defender")

with socket.socket() as probe:
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
base = f"http://127.0.0.1:{port}"
emulator = subprocess.Popen([plugin, "emulator", "--port", str(port), "--incidents", str(incidents)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    for _ in range(600):
        try:
            urllib.request.urlopen(f"{base}/_emulator", timeout=1).read()
            break
        except OSError:
            time.sleep(0.05)
    else:
        sys.exit("the emulator did not start")

    def bench(label, backend):
        params = {
            "base_url": base, "azure_ad_endpoint": base, "client_credentials": True,
            "creds_client_id": {"password": "11111111-2222-3333-4444-555555555555"},
            "creds_tenant_id": {"password": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"},
            "credentials": {"password": "client-secret-value"},
            "api_backend": backend,
        }

        def envelope(args, context):
            return json.dumps({"command": "microsoft-365-defender-incidents-list", "args": args,
                               "params": params, "integration_context": context}).encode()

        # Sign in once; every measured run reuses the cached token, as on the platform.
        signed_in = subprocess.run([plugin], input=envelope({"limit": "1"}, {}),
                                   stdout=subprocess.PIPE, check=True)
        context = json.loads(signed_in.stdout)["integration_context"]
        listing = envelope({"limit": str(incidents), "timeout": "600"}, context)
        walls, rss, size, listed = [], [], 0, 0
        for _ in range(runs):
            start = time.perf_counter()
            done = subprocess.run(["/usr/bin/time", "-f", "%M", plugin], input=listing,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            walls.append(time.perf_counter() - start)
            if done.returncode != 0:
                sys.exit(f"{label}: the command failed with status {done.returncode}: "
                         f"{done.stdout[:500]!r}")
            rss.append(int(done.stderr.decode().strip().splitlines()[-1]))
            size = len(done.stdout)
            listed = len(json.loads(done.stdout)["results"][0]["Contents"])
        out_mib = size / 1024 / 1024
        peak = max(rss) / 1024
        print(f"incidents-list of {listed} incidents through {label} "
              f"({runs} runs, output {out_mib:.1f} MiB):")
        print(f"  max RSS {peak:.0f} MiB (median {statistics.median(rss) / 1024:.0f}) "
              f"= {peak / out_mib:.2f} x the output")
        print(f"  wall median {statistics.median(walls):.2f} s")

    bench("the legacy API", "Legacy Defender API")
    bench("Microsoft Graph", "Microsoft Graph")
finally:
    emulator.terminate()
    emulator.wait()
PY
