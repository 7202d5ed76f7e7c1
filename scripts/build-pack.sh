#!/usr/bin/env bash
# Builds the Cortex XSOAR content pack from integration.yml, README.md, Cargo.toml and pack/:
#
#   target/pack/<PackId>/     the pack in the content repository's layout (what
#                             scripts/validate-pack.sh checks with demisto-sdk)
#   target/pack/<PackId>.zip  the pack to upload in Cortex XSOAR (Marketplace → Upload
#                             content pack / "upload custom content")
#
# The pack id is in pack/pack.json, the version is Cargo.toml's. The same sources give the same
# zip, byte for byte. Usage, from anywhere: scripts/build-pack.sh [--out DIR]
# Needs python3 and, on the first run, PyPI for PyYAML, which is kept in a venv under
# ${TMPDIR:-/tmp}/m365-defender-validate (override with M365D_VALIDATE_CACHE).
set -euo pipefail
cd "$(dirname "$0")/.."

PYYAML_VERSION=6.0.2

cache=${M365D_VALIDATE_CACHE:-${TMPDIR:-/tmp}/m365-defender-validate}
venv=$cache/venv-pyyaml-$PYYAML_VERSION
mkdir -p "$cache"

# The venv counts as ready only once its install finished (marker file), so an interrupted
# install is redone instead of leaving a half-built venv behind.
if [ ! -f "$venv/.ready" ]; then
    rm -rf "$venv"
    if python3 -m venv "$venv" >/dev/null 2>&1; then
        pip=("$venv/bin/python" -m pip)
    else
        # Some distributions ship python3 without ensurepip: make a bare venv and drive it with
        # the system pip instead.
        rm -rf "$venv"
        python3 -m venv --without-pip "$venv"
        pip=(python3 -m pip --python "$venv/bin/python")
    fi
    "${pip[@]}" install --quiet --disable-pip-version-check "PyYAML==$PYYAML_VERSION"
    touch "$venv/.ready"
fi

exec "$venv/bin/python" scripts/build_pack.py "$@"
