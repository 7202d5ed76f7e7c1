#!/usr/bin/env bash
# Incidents and hunting as the platform runs them, against the emulator (both release builds):
#   1. incidents-list with limit 100 as a whole process, the token already cached in the
#      integration context as the platform hands it back: median wall time and max RSS;
#   2. advanced hunting returning 100,000 rows, through the legacy API and through Microsoft
#      Graph: wall time and max RSS of the plugin, the size of the API's answer, and the time the
#      same request takes on its own (the transfer).
# Usage: scripts/bench-incidents.sh [runs]   (default 20)
# Needs GNU time (/usr/bin/time; Debian package `time`) for the RSS figures: a child forked from
# Python would report Python's own pages as its peak.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-20}"
cargo build --release --locked -q
exec python3 - "$runs" <<'PY'
import json, os, socket, statistics, subprocess, sys, time, urllib.request

runs = int(sys.argv[1])
plugin = os.path.join("target", "release", "m365-defender")

with socket.socket() as probe:
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
base = f"http://127.0.0.1:{port}"
emulator = subprocess.Popen([plugin, "emulator", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    for _ in range(200):
        try:
            urllib.request.urlopen(f"{base}/_emulator", timeout=1).read()
            break
        except OSError:
            time.sleep(0.05)
    else:
        sys.exit("the emulator did not start")

    params = {
        "base_url": base, "azure_ad_endpoint": base, "client_credentials": True,
        "creds_client_id": {"password": "11111111-2222-3333-4444-555555555555"},
        "creds_tenant_id": {"password": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"},
        "credentials": {"password": "client-secret-value"},
    }

    def envelope(command, args, context):
        return json.dumps({"command": command, "args": args, "params": params,
                           "integration_context": context}).encode()

    def run(stdin):
        """Wall seconds of one run, and its output document."""
        start = time.perf_counter()
        done = subprocess.run([plugin], input=stdin, stdout=subprocess.PIPE)
        wall = time.perf_counter() - start
        if done.returncode != 0:
            sys.exit(f"the command failed with status {done.returncode}: {done.stdout[:500]!r}")
        return wall, done.stdout

    def max_rss_kib(stdin):
        measured = subprocess.run(["/usr/bin/time", "-f", "%M", plugin], input=stdin,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        return int(measured.stderr.decode().strip().splitlines()[-1])

    # Sign in once; every measured run reuses the cached token, as on the platform.
    _, output = run(envelope("microsoft-365-defender-incidents-list", {"limit": "1"}, {}))
    context = json.loads(output)["integration_context"]

    listing = envelope("microsoft-365-defender-incidents-list", {"limit": "100"}, context)
    run(listing)
    walls, rss, size = [], [], 0
    for _ in range(runs):
        wall, output = run(listing)
        walls.append(wall)
        size = len(output)
        rss.append(max_rss_kib(listing))
    print(f"incidents-list limit 100 ({runs} runs, {size / 1024:.0f} KiB of output):")
    print(f"  median wall {statistics.median(walls) * 1000:.1f} ms "
          f"(min {min(walls) * 1000:.1f}, max {max(walls) * 1000:.1f})")
    print(f"  max RSS {max(rss) / 1024:.1f} MiB (median {statistics.median(rss) / 1024:.1f})")

    def bench_hunting(label, path, body, context):
        """The 100,000-row hunt through one API: the plugin against the request alone."""
        query = "DeviceProcessEvents"
        hunting = envelope("microsoft-365-defender-advanced-hunting",
                           {"query": query, "limit": "100000", "timeout": "180"}, context)
        request = urllib.request.Request(
            f"{base}{path}",
            data=json.dumps({**body, "Query": f"{query}\n| limit 100000"}).encode(),
            headers={"Authorization": f"Bearer {context['access_token']}",
                     "Content-Type": "application/json"})
        run(hunting)  # the emulator builds its hunting tables on the first query
        transfers, answer = [], b""
        walls, rss = [], []
        for _ in range(3):
            start = time.perf_counter()
            answer = urllib.request.urlopen(request, timeout=180).read()
            transfers.append(time.perf_counter() - start)
            wall, output = run(hunting)
            walls.append(wall)
            rows = len(json.loads(output)["results"][0]["Contents"]["results"])
            rss.append(max_rss_kib(hunting))
        mib = len(answer) / 1024 / 1024
        print(f"advanced hunting through {label}, {rows} rows, API answer {mib:.1f} MiB, "
              f"output {len(output) / 1024 / 1024:.1f} MiB (3 runs):")
        print(f"  the request alone (emulator query + transfer): median {statistics.median(transfers):.2f} s")
        print(f"  plugin wall: median {statistics.median(walls):.2f} s")
        print(f"  plugin max RSS: {max(rss) / 1024:.1f} MiB = {max(rss) / 1024 / mib:.2f} x the answer")

    bench_hunting("the legacy API", "/api/advancedhunting/run", {}, context)
    params["api_backend"] = "Microsoft Graph"
    _, output = run(envelope("microsoft-365-defender-incidents-list", {"limit": "1"}, {}))
    graph_context = json.loads(output)["integration_context"]
    bench_hunting("Microsoft Graph", "/v1.0/security/runHuntingQuery", {}, graph_context)
finally:
    emulator.terminate()
    emulator.wait()
PY
