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

# shellcheck source=scripts/python-venv.sh
. scripts/python-venv.sh
python_venv "venv-pyyaml-$PYYAML_VERSION" "PyYAML==$PYYAML_VERSION"

exec "$venv/bin/python" scripts/build_pack.py "$@"
