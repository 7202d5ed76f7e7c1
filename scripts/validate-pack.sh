#!/usr/bin/env bash
# Builds the content pack (scripts/build-pack.sh) and validates it with `demisto-sdk validate`,
# the checks Cortex XSOAR's content repository runs on every pack, offline.
#
# demisto-sdk expects a content repository: the pack is copied into a throw-away git
# repository as Packs/<PackId>, added on a branch over an empty "origin/master", and validated
# in git mode, so the checks for new files run too. Every check this demisto-sdk knows is
# selected except those in SKIPPED below, each with its reason (the README lists them).
# Where the system allows it (`unshare -rn`), validation runs without any network, so no check
# can reach the Internet.
#
# Usage, from anywhere: scripts/validate-pack.sh
# Exits 0 when the pack is clean, non-zero on any error. Needs python3, git, and PyPI on the
# first run; demisto-sdk is cached under ${TMPDIR:-/tmp}/m365-defender-validate (override with
# M365D_VALIDATE_CACHE), so re-runs are offline.
set -euo pipefail
cd "$(dirname "$0")/.."

DEMISTO_SDK_VERSION=1.39.13

# Checks not run, by reason. Keep the README's list ("The content pack") in step.
# DO101 (the image's name starts with demisto/) runs: XSOAR runs no other images, so the local
# build is named demisto/m365-defender (see "The runtime image" in the README).
SKIPPED=(
    # Ask Docker Hub (the image exists, its tag is the newest) or GitHub (demisto/dockerfiles'
    # list of deprecated images).
    DO103 DO105 DO106
    # Need the content graph (a neo4j database of the whole content repository): dependencies,
    # duplicate ids and names across all packs, usage of other content, marketplaces.
    GR100 GR101 GR102 GR103 GR104 GR105 GR106 GR107 GR108 GR109 GR110 GR111 GR112 GR113
    GR114 GR115 GR116 GR117 GR118 AG116 IF117 PA124 PA133 PB131 PB133 SC109 SC110
    # Read lists kept in the content repository's Config/ folder (approved categories, use
    # cases, tags, compliant policies, Agentix categories), fetched from GitHub outside it.
    AG102 BA112 BA129 IN104 PA103 PA119 PA120
    # Compare with the pack as last released in the content repository's git history
    # (version bumps, release note entries per changed item, backward compatibility); the
    # throw-away repository has no earlier release.
    PA114 PA135 RN107 BA114 BC100 BC101 BC102 BC103 BC104 BC105 BC106 BC108 BC110 BC111
    BC112 BC113 BC114 BC115 BC116 IF111 IN124 IN164 PA102 PA121 RN105 RN111 RN113 RN114
    RN115 RN116
)

# shellcheck source=scripts/python-venv.sh
. scripts/python-venv.sh
python_venv "venv-demisto-sdk-$DEMISTO_SDK_VERSION" "demisto-sdk==$DEMISTO_SDK_VERSION"

bash scripts/build-pack.sh
pack_id=$(python3 -c 'import json; print(json.load(open("pack/pack.json"))["pack_id"])')

work=$(mktemp -d "${TMPDIR:-/tmp}/m365-defender-validate-pack.XXXXXX")
trap 'rm -rf "$work"' EXIT
repo=$work/content
git_=(git -C "$repo" -c user.name=validate-pack -c user.email=validate-pack@localhost -c commit.gpgsign=false)

# A content repository whose origin/master has no pack; the pack arrives on a branch.
mkdir -p "$repo"
git -C "$repo" init -q
"${git_[@]}" checkout -q -b master
"${git_[@]}" commit -q --allow-empty -m "empty content repository"
git clone -q --bare "$repo" "$work/origin.git"
"${git_[@]}" remote add origin "$work/origin.git"
"${git_[@]}" fetch -q origin
"${git_[@]}" checkout -q -b "$pack_id"
mkdir -p "$repo/Packs"
cp -R "target/pack/$pack_id" "$repo/Packs/"
"${git_[@]}" add -A
"${git_[@]}" commit -q -m "$pack_id"

export DEMISTO_SDK_CONTENT_PATH=$repo
export DEMISTO_SDK_IGNORE_CONTENT_WARNING=true
export DEMISTO_SDK_LOG_NO_COLORS=true
export DEMISTO_DEFAULT_BRANCH=master
unset DEMISTO_SDK_OFFLINE_ENV  # validate refuses to run with it set

offline=()
if unshare -rn true 2>/dev/null; then
    offline=(unshare -rn)
else
    echo "validate-pack: unshare -rn is not available here; validating with the network reachable" >&2
fi

# The validation config: every check this demisto-sdk knows, minus SKIPPED. Importing the
# validators needs the content repository (cwd) in place.
(cd "$repo" && "${offline[@]}" "$venv/bin/python" - "$work/validation.toml" "${SKIPPED[@]}" >/dev/null) <<'PY'
import sys

from demisto_sdk.commands.validate.validators.base_validator import BaseValidator
import demisto_sdk.commands.validate.validators  # noqa: F401  (imports every validator)

config, skipped = sys.argv[1], set(sys.argv[2:])


def subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from subclasses(sub)


known = {c.error_code for c in subclasses(BaseValidator) if isinstance(getattr(c, "error_code", None), str)}
unknown = sorted(skipped - known)
if unknown:
    sys.exit(f"validate-pack: SKIPPED names checks this demisto-sdk does not know: {' '.join(unknown)}")
selected = sorted(known - skipped)
lines = "".join(f'    "{code}",\n' for code in selected)
section = f"select = [\n{lines}]\nwarning = []\n"
with open(config, "w") as out:
    out.write(f"ignorable_errors = []\n\n[use_git]\n{section}\n[path_based_validations]\n{section}")
print(f"validate-pack: {len(selected)} checks selected, {len(skipped)} skipped", file=sys.stderr)
PY

cd "$repo"
"${offline[@]}" "$venv/bin/demisto-sdk" validate -g --prev-ver origin/master \
    --config-path "$work/validation.toml" --log-file-path "$work/logs"
