#!/usr/bin/env bash
# Validates integration.yml the way Cortex XSOAR's tooling does: against the integration schema
# shipped in demisto-sdk (the one `demisto-sdk validate` applies with pykwalify). Then checks what
# that schema cannot express but the m365-defender binary relies on when it reads the argument
# declarations: argument types, predefined values, numeric defaults, unique names.
#
# Usage, from the repository root: scripts/validate-integration.sh [path/to/integration.yml]
# Needs python3 and access to PyPI on the first run. The tools and the schema are cached under
# ${TMPDIR:-/tmp}/m365-defender-validate (override with M365D_VALIDATE_CACHE), so re-runs are
# offline and take about a second.
set -euo pipefail

PYKWALIFY_VERSION=1.8.0
# demisto-sdk itself pins ruamel.yaml to >=0.17.21,<0.18; pykwalify alone would take any version.
RUAMEL_YAML_VERSION=0.17.40
DEMISTO_SDK_VERSION=1.39.13

file=${1:-integration.yml}
if [ ! -f "$file" ]; then
    echo "validate-integration: $file not found; run this from the repository root" >&2
    exit 2
fi

# shellcheck source=scripts/python-venv.sh
. "$(dirname "$0")/python-venv.sh"
python_venv "venv-pykwalify-$PYKWALIFY_VERSION-ruamel-$RUAMEL_YAML_VERSION" \
    "pykwalify==$PYKWALIFY_VERSION" "ruamel.yaml==$RUAMEL_YAML_VERSION"
schema=$cache/demisto-sdk-$DEMISTO_SDK_VERSION-integration-schema.yml
python=$venv/bin/python

# The schema lives inside the demisto-sdk wheel; fetch the wheel alone (not its ~100
# dependencies) and keep only that one file.
if [ ! -s "$schema" ]; then
    download=$(mktemp -d "$cache/download.XXXXXX")
    trap 'rm -rf "$download"' EXIT
    python3 -m pip download --quiet --disable-pip-version-check --no-deps \
        "demisto-sdk==$DEMISTO_SDK_VERSION" -d "$download"
    "$python" - "$download" "$schema" <<'PY'
import glob
import os
import sys
import zipfile

download, schema = sys.argv[1:]
wheels = glob.glob(os.path.join(download, "demisto_sdk-*.whl"))
if len(wheels) != 1:
    sys.exit(f"validate-integration: expected one demisto-sdk wheel in {download}, found {wheels}")
with zipfile.ZipFile(wheels[0]) as wheel:
    text = wheel.read("demisto_sdk/commands/common/schemas/integration.yml")
with open(schema + ".part", "wb") as out:
    out.write(text)
os.replace(schema + ".part", schema)
PY
fi

"$python" - "$file" "$schema" <<'PY'
import ast
import json
import logging
import sys

from pykwalify.core import Core
from ruamel.yaml import YAML

path, schema = sys.argv[1:]
# pykwalify logs every error as well as returning it; report each once.
logging.disable(logging.CRITICAL)

try:
    with open(path, encoding="utf-8") as source:
        doc = YAML(typ="safe").load(source)
except Exception as err:  # ruamel's parser and scanner errors share no useful base class
    sys.exit(f"{path}: not valid YAML: {err}")
if doc is None:
    sys.exit(f"{path}: empty document")

core = Core(source_data=doc, schema_files=[schema])
core.validate(raise_exception=False)
errors = [f"schema: {e}" for e in core.validation_errors]
if not isinstance(doc, dict):
    doc = {}

# The binary reads `type` on arguments; plain strings leave it out.
ARG_TYPES = {"number", "boolean", "json"}
# XSOAR provides these itself; declaring them makes XSOAR show them as ordinary commands.
BUILT_IN = {"test-module", "fetch-incidents"}


def check_default(where, arg):
    kind, default = arg.get("type"), arg.get("defaultValue")
    if default is None:
        return
    if not isinstance(default, str):
        errors.append(f"{where}: defaultValue must be a quoted string, got {default!r}")
        return
    if kind == "number":
        try:
            int(default)
        except ValueError:
            errors.append(f"{where}: number default {default!r} is not an integer")
    elif kind == "boolean" and default not in ("true", "false"):
        errors.append(f"{where}: boolean default {default!r} is not true or false")
    elif kind == "json":
        try:
            json.loads(default)
        except ValueError:
            errors.append(f"{where}: json default {default!r} is not valid JSON")
    if "predefined" in arg and default not in arg["predefined"]:
        errors.append(f"{where}: default {default!r} is not one of its predefined values")


params = [p.get("name") for p in doc.get("configuration") or []]
for name in sorted({n for n in params if params.count(n) > 1}):
    errors.append(f"configuration: parameter {name!r} is declared more than once")

script = doc.get("script") or {}
try:
    ast.parse(script.get("script") or "")
except SyntaxError as err:
    errors.append(f"script.script: the Python shim does not parse: {err}")

commands = script.get("commands") or []
names = [c.get("name") for c in commands]
for name in sorted({n for n in names if names.count(n) > 1}):
    errors.append(f"command {name!r} is declared more than once")
for command in commands:
    cname = command.get("name")
    if cname in BUILT_IN:
        errors.append(f"command {cname!r} is built into XSOAR and must not be declared")
    if not (command.get("description") or "").strip():
        errors.append(f"command {cname!r} has no description")
    args = command.get("arguments") or []
    arg_names = [a.get("name") for a in args]
    for name in sorted({n for n in arg_names if arg_names.count(n) > 1}):
        errors.append(f"{cname}: argument {name!r} is declared more than once")
    for arg in args:
        where = f"{cname}.{arg.get('name')}"
        if not (arg.get("description") or "").strip():
            errors.append(f"{where}: no description")
        if "type" in arg and arg["type"] not in ARG_TYPES:
            errors.append(f"{where}: type {arg['type']!r} is not one of {sorted(ARG_TYPES)} (leave it out for strings)")
        if "predefined" in arg and arg.get("auto") != "PREDEFINED":
            errors.append(f"{where}: has predefined values but not auto: PREDEFINED")
        if arg.get("auto") == "PREDEFINED" and not arg.get("predefined"):
            errors.append(f"{where}: auto: PREDEFINED without predefined values")
        check_default(where, arg)

if errors:
    print(f"{path}: {len(errors)} problem(s)", file=sys.stderr)
    for error in errors:
        print(f"  {error}", file=sys.stderr)
    sys.exit(1)
print(f"{path}: OK (XSOAR integration schema of demisto-sdk, {len(commands)} commands, {len(params)} parameters)")
PY
