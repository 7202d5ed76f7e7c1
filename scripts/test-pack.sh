#!/usr/bin/env bash
# Runs the shim tests (tests/shim) on what an administrator installs: the code of the content
# pack's unified integration (from target/pack/<PackId>.zip, as XSOAR unpacks it) against the
# binary built the way the runtime image builds it (the Dockerfile's CARGO_FLAGS), with the
# emulator on 127.0.0.1. The image's build leaves the emulator out, so the emulator runs from the
# debug build, which has it. Covers test-module, incidents-list, fetch and a mirroring round
# trip with the custom close reason mappings, besides every failure path of the shim.
#
# Usage, from the repository root: scripts/test-pack.sh
set -euo pipefail
cd "$(dirname "$0")/.."

flags=$(sed -n 's/^ARG CARGO_FLAGS="\(.*\)"$/\1/p' Dockerfile)
if [ -z "$flags" ]; then
    echo "test-pack: no ARG CARGO_FLAGS in the Dockerfile" >&2
    exit 2
fi
echo "== the binary as the image builds it: cargo build $flags"
# shellcheck disable=SC2086 # the flags are words
cargo build $flags
echo "== the emulator: cargo build --locked"
cargo build --locked

echo "== the content pack"
bash scripts/build-pack.sh >/dev/null
pack_id=$(python3 -c 'import json; print(json.load(open("pack/pack.json"))["pack_id"])')
zip=target/pack/$pack_id.zip
work=$(mktemp -d "${TMPDIR:-/tmp}/m365d-test-pack.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The unified yml's script, read with the PyYAML that scripts/build-pack.sh installed.
# shellcheck source=scripts/python-venv.sh
. scripts/python-venv.sh
pyyaml=$(sed -n 's/^PYYAML_VERSION=//p' scripts/build-pack.sh)
python_venv "venv-pyyaml-$pyyaml" "PyYAML==$pyyaml"
"$venv/bin/python" - "$zip" "$work/shim.py" <<'PY'
import sys
import zipfile

import yaml

zip_path, out = sys.argv[1:]
with zipfile.ZipFile(zip_path) as pack:
    names = [n for n in pack.namelist() if n.startswith('Integrations/') and n.endswith('.yml')]
    if len(names) != 1:
        sys.exit(f'test-pack: expected one integration in {zip_path}, found {names}')
    integration = yaml.safe_load(pack.read(names[0]))
code = integration['script']['script']
if not code.strip() or code.strip() == '-':
    sys.exit(f'test-pack: {names[0]} carries no code: it is not unified')
with open(out, 'w', encoding='utf-8') as f:
    f.write(code)
print(f'{names[0]}: {len(code.splitlines())} lines of shim')
PY

echo "== tests/shim on the pack's code and target/release/m365-defender"
M365D_BINARY=target/release/m365-defender M365D_EMULATOR_BINARY=target/debug/m365-defender \
    M365D_SHIM_SOURCE=$work/shim.py \
    python3 -B -m unittest discover -s tests/shim
