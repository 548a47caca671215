#!/usr/bin/env bash
# Install what the appliance image test (ci/build-test-image.sh,
# ci/image-test.sh) needs on the host:
#
#   mmdebstrap           builds the Debian root file system of the test image
#   qemu-system-x86      boots it; from bookworm-backports, because the
#                        machine's qemu-utils comes from there and bookworm's
#                        own qemu-system-x86 7.2 conflicts with it
#   e2fsprogs, btrfs-progs, zstd
#                        root file system image, data disk, cached base tree
#   avahi-utils          avahi-browse/avahi-resolve (and avahi-daemon, which
#                        the test starts only inside its own network namespace)
#   dbus-daemon, socat, curl, jq, openssl, iproute2, ffmpeg
#                        private bus for that avahi-daemon, QEMU monitor, HTTP
#                        checks, a test photo
#   ovmf, grub-efi-amd64-bin, dosfstools, mtools, fdisk
#                        UEFI firmware for the VM; GRUB and the ESP of the
#                        test image's A/B boot disk
#   rauc, squashfs-tools the update bundles the test installs
#
# Idempotent and non-interactive, like ci/install-test-deps.sh: a rerun with
# everything in place only checks dpkg and exits; `apt-get update` runs only
# when something is missing.
set -euo pipefail

# shellcheck source=ci/lib/bookworm-backports.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/bookworm-backports.sh"

APT_PACKAGES=(mmdebstrap e2fsprogs btrfs-progs zstd avahi-utils avahi-daemon
    dbus-daemon socat curl jq openssl iproute2 ffmpeg
    ovmf grub-efi-amd64-bin dosfstools mtools fdisk rauc squashfs-tools)
BACKPORTS_PACKAGES=(qemu-system-x86)

log() { printf '[install-image-deps] %s\n' "$*"; }
die() { printf '[install-image-deps] error: %s\n' "$*" >&2; exit 1; }

pkg_installed() {
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" = "installed" ]
}

missing=() missing_bpo=()
for pkg in "${APT_PACKAGES[@]}"; do pkg_installed "$pkg" || missing+=("$pkg"); done
for pkg in "${BACKPORTS_PACKAGES[@]}"; do pkg_installed "$pkg" || missing_bpo+=("$pkg"); done

if [ $((${#missing[@]} + ${#missing_bpo[@]})) -eq 0 ]; then
    log "apt packages present: ${APT_PACKAGES[*]} ${BACKPORTS_PACKAGES[*]} (backports)"
    exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "need root (or sudo) to install: ${missing[*]} ${missing_bpo[*]}"
    sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive

if [ "${#missing_bpo[@]}" -gt 0 ]; then
    add_bookworm_backports "${sudo[@]}"
fi

# Installing avahi-daemon must not start it on this machine: it would
# announce the host on the real network. Where no policy-rc.d forbids
# starting services already, one does for the length of the install.
policy=/usr/sbin/policy-rc.d
own_policy=false
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# temporary, ci/install-image-deps.sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
    "${sudo[@]}" chmod 0755 "$policy"
    own_policy=true
fi
drop_policy() { if $own_policy; then "${sudo[@]}" rm -f "$policy"; fi; }
trap drop_policy EXIT

log "installing: ${missing[*]} ${missing_bpo[*]}"
# A failing third-party source must not stop us: the install decides.
"${sudo[@]}" apt-get update -qq || log "warning: apt-get update reported errors, trying the install anyway"
if [ "${#missing[@]}" -gt 0 ]; then
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [ "${#missing_bpo[@]}" -gt 0 ]; then
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends -t bookworm-backports "${missing_bpo[@]}" >/dev/null
fi
for pkg in "${missing[@]}" "${missing_bpo[@]}"; do
    pkg_installed "$pkg" || die "apt package $pkg did not install"
done

for tool in mmdebstrap qemu-system-x86_64 qemu-img mkfs.ext4 mkfs.btrfs zstd avahi-browse avahi-daemon dbus-daemon socat curl jq openssl ip ffmpeg; do
    command -v "$tool" >/dev/null || die "$tool not on PATH after install"
done
log "ok: $(qemu-system-x86_64 --version | head -n1), mmdebstrap $(mmdebstrap --version | awk '{print $2}')"
