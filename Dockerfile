# The runtime image for Cortex XSOAR: XSOAR's Debian-based Python image (it runs the shim in
# integration.yml) with the m365-defender binary at /usr/local/bin/m365-defender.
# Build it from the repository root, tagged exactly as `dockerimage:` in integration.yml names it:
#   docker build -t demisto/m365-defender:0.1.0.1 .
# scripts/check-image.sh checks the binary against this image's glibc and, where an OCI builder
# can reach the base images, builds the image and runs one command in it.

# Both stages must be on the same Debian release, so that the binary needs no newer glibc than
# the runtime image has. scripts/check-image.sh reads DEBIAN_RELEASE from this line.
ARG DEBIAN_RELEASE=bookworm
# The Rust toolchain the project is developed with.
ARG RUST_VERSION=1.95.0
# Image names are fully qualified so that podman and buildah need no short-name lookup.

FROM docker.io/library/rust:${RUST_VERSION}-slim-${DEBIAN_RELEASE} AS build
# The production build leaves out the emulator (the default feature `emulator`, behind
# --sandbox and `m365-defender emulator`). The binary must land in target/release/:
# scripts/test-pack.sh reads these flags and tests that binary.
ARG CARGO_FLAGS="--release --locked --no-default-features"
WORKDIR /src
# Only what the build reads (see .dockerignore): build.rs embeds integration.yml; crates/ holds
# the workspace's emulator crate, whose manifest cargo reads even when the feature is off. A
# build with the emulator (CARGO_FLAGS="--release --locked") also embeds the demo certificate
# and key from test_data/certs.
COPY Cargo.toml Cargo.lock build.rs integration.yml ./
COPY src ./src
COPY crates ./crates
COPY test_data/certs ./test_data/certs
RUN cargo build $CARGO_FLAGS

# demisto/python3-deb is XSOAR's Debian (glibc) Python image; the stock demisto/python3 is
# Alpine (musl), where this glibc binary cannot start. Tag 3.12.13.12042988 is built FROM
# python:3.12.13-slim-bookworm (demisto/dockerfiles: docker/python3-deb/Dockerfile), that is
# Debian 12 "bookworm" with glibc 2.36. When changing this tag, set DEBIAN_RELEASE above to the
# release in that Dockerfile's FROM line.
FROM docker.io/demisto/python3-deb:3.12.13.12042988
COPY --from=build /src/target/release/m365-defender /usr/local/bin/m365-defender
# The unprivileged user (uid 4000, gid 4000) that the base image creates.
USER demisto
