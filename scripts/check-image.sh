#!/usr/bin/env bash
# Checks the runtime image recipe (Dockerfile):
#  1. the release binary is a dynamically linked glibc (not musl) program that needs no newer
#     glibc than the runtime image's Debian release ships (built first if missing, else used as
#     it is);
#  2. where docker, podman or buildah has the base images, builds the image under the name
#     `dockerimage:` in integration.yml gives it, and runs one command in it without a network
#     (auth-reset: the image's build has no emulator for --sandbox). Where none has them, says
#     so and skips only this step.
# Usage, from the repository root: scripts/check-image.sh [--pull]
# Only with --pull may an engine download missing base images from their registry (Docker Hub);
# without it (as in CI) nothing leaves the machine.
set -euo pipefail
cd "$(dirname "$0")/.."

pull=0
case ${1:-} in
    --pull) pull=1 ;;
    "") ;;
    *) echo "usage: scripts/check-image.sh [--pull]" >&2; exit 2 ;;
esac

binary=target/release/m365-defender
arg() { sed -n "s/^ARG $1=//p" Dockerfile; }
release=$(arg DEBIAN_RELEASE)
# The glibc version each Debian release ships (its libc6 package).
case $release in
    bullseye) image_glibc=2.31 ;;
    bookworm) image_glibc=2.36 ;;
    trixie) image_glibc=2.41 ;;
    *) echo "check-image: Dockerfile's DEBIAN_RELEASE '$release' is unknown here; add its glibc version" >&2; exit 1 ;;
esac
image=$(sed -n 's/^  dockerimage: *//p' integration.yml)

for tool in readelf objdump python3; do
    command -v "$tool" >/dev/null || { echo "check-image: needs $tool (readelf and objdump are in binutils)" >&2; exit 1; }
done
if [ ! -x "$binary" ]; then
    flags=$(sed -n 's/^ARG CARGO_FLAGS="\(.*\)"$/\1/p' Dockerfile)
    echo "== $binary is missing: cargo build $flags"
    # shellcheck disable=SC2086 # the flags are words
    cargo build $flags
fi

echo "== $binary against Debian $release (glibc $image_glibc)"
machine=$(readelf -h "$binary" | sed -n 's/^ *Machine: *//p')
interpreter=$(readelf -l "$binary" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
echo "architecture: $machine; interpreter: ${interpreter:-none}"
case $interpreter in
    */ld-linux*) ;;
    "") echo "check-image: $binary is statically linked; the image expects a glibc (dynamically linked) build" >&2; exit 1 ;;
    *) echo "check-image: $binary uses $interpreter, not glibc's loader (a musl build cannot start the glibc way)" >&2; exit 1 ;;
esac
needed=$(objdump -T "$binary" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -n1)
[ -n "$needed" ] || { echo "check-image: $binary has no GLIBC_ symbol versions; is it a glibc build?" >&2; exit 1; }
echo "highest glibc symbol version needed: GLIBC_$needed"
if [ "$(printf '%s\n%s\n' "$needed" "$image_glibc" | sort -V | tail -n1)" != "$image_glibc" ]; then
    echo "check-image: $binary needs glibc $needed, but Debian $release has $image_glibc: build it on $release or older (as the Dockerfile does)" >&2
    exit 1
fi
echo "ok: glibc $needed <= $image_glibc"

# The base images, with the Dockerfile's ARG defaults filled in.
bases=$(sed -n 's/^FROM \([^ ]*\).*/\1/p' Dockerfile |
    sed "s/\${DEBIAN_RELEASE}/$release/; s/\${RUST_VERSION}/$(arg RUST_VERSION)/")
has() { # engine image
    if [ "$1" = buildah ]; then buildah inspect --type image "$2"; else "$1" image inspect "$2"; fi
}
reaches() { # engine: true when it has (or, with --pull, can pull) every base image
    local base
    for base in $bases; do
        { has "$1" "$base" || { [ "$pull" = 1 ] && timeout 300 "$1" pull -q "$base"; }; } \
            >/dev/null 2>&1 || { echo "$1: does not have $base"; return 1; }
    done
}
engine=
for candidate in docker podman buildah; do
    command -v "$candidate" >/dev/null || continue
    if reaches "$candidate"; then engine=$candidate; break; fi
done
if [ -z "$engine" ]; then
    if [ "$pull" = 1 ]; then
        echo "no OCI builder could reach the base images; skipped building and running the image"
    else
        echo "no OCI builder has the base images (scripts/check-image.sh --pull may download them); skipped building and running the image"
    fi
    exit 0
fi

echo "== $engine: building $image"
run() { # command... inside the image, stdin passed on, no network
    if [ "$engine" = buildah ]; then
        local ctr status=0
        ctr=$(buildah from -q "$image")
        buildah run --network none "$ctr" -- "$@" || status=$?
        buildah rm "$ctr" >/dev/null
        return "$status"
    fi
    "$engine" run --rm -i --network none "$image" "$@"
}
if [ "$engine" = buildah ]; then buildah bud -t "$image" .; else "$engine" build -t "$image" .; fi

uid=$(run id -u </dev/null) || { echo "check-image: cannot run a command in $image" >&2; exit 1; }
[ "$uid" != 0 ] || { echo "check-image: $image runs as root; it should run as the demisto user" >&2; exit 1; }
out=$(echo '{"command":"microsoft-365-defender-auth-reset","integration_context":{"access_token":"x"}}' |
    run m365-defender) || { echo "check-image: the auth-reset command failed in $image" >&2; exit 1; }
python3 -c 'import json, sys; json.loads(sys.stdin.read())' <<<"$out" 2>/dev/null || {
    echo "check-image: the auth-reset command in $image did not print one JSON document:" >&2
    head -c 500 <<<"$out" >&2
    exit 1
}
echo "ok: $image runs as uid $uid; m365-defender (auth-reset) exited 0 with one JSON document"
