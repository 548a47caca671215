#!/usr/bin/env bash
# Build the Debian-based test image of the appliance (amd64) from this
# repository's rootfs/ and systemd/ trees and the already built binaries.
# ci/image-test.sh boots it under QEMU; no Yocto here.
#
#   ci/build-test-image.sh      build (or reuse) and print the image folder
#
# Output: target/image-test/image-<hash>/{disk.img,root.img,vmlinuz}, and
# the link target/image-test/image pointing at it. disk.img is the boot
# disk (/dev/vda) of board/qemu-x86-64/partitions.toml without its data
# partition: GPT with the ESP (GRUB for UEFI, its A/B script
# board/qemu-x86-64/grub.cfg and environment block), root slot A holding
# root.img (ext4) and an empty slot B for the first update. The image
# carries RAUC with the board's rauc-system.conf and the keyring of the
# development keys in target/image-test/rauc-keys (made here with
# yocto/scripts/make-dev-rauc-keys.sh), which ci/image-test.sh signs its
# update bundles with. The data disk (btrfs, label shoebox-data) is made
# per test run by ci/image-test.sh, not here: the units find it by its
# label, and the first-boot script sees that /data is not a partition of
# the boot disk and leaves it as it is. vmlinuz is for probing KVM.
#
# Two caches, each keyed on a hash of its inputs, so a rerun rebuilds
# nothing and new binaries cost seconds, not a new debootstrap:
#   base-<hash>.tar.zst   Debian bookworm from mmdebstrap (packages below)
#   image-<hash>/         the base + rootfs/ + systemd/ + binaries
#
# Environment:
#   SHOEBOX_BIN_DIR      where shoeboxd and shoebox-storaged are (target/release;
#                        ci/test passes target/debug, which it has just built)
#   SHOEBOX_IMAGE_DIR    output folder (target/image-test)
#   SHOEBOX_IMAGE_MIRROR Debian mirror (http://deb.debian.org/debian)
#
# Needs root (mmdebstrap in root mode, file ownership in the image).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
SELF="$REPO/ci/build-test-image.sh"
BIN_DIR=${SHOEBOX_BIN_DIR:-$REPO/target/release}
OUT=${SHOEBOX_IMAGE_DIR:-$REPO/target/image-test}
MIRROR=${SHOEBOX_IMAGE_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm

# What the appliance needs at run time: systemd with udev (for
# /dev/disk/by-label), the system bus, Avahi with mDNS name lookup, the
# tools shoebox-firstboot and shoebox-storaged call (openssl, util-linux's
# lsblk/findmnt/partx, fdisk's sfdisk, btrfs-progs), ps for the report unit,
# and a kernel with its initramfs.
# RAUC installs updates (rauc-service is its D-Bus service, grub-common's
# grub-editenv writes the boot loader environment it switches slots with;
# dosfstools checks the ESP); ca-certificates for HTTPS clients (alert
# webhooks, and the HTTP client the health check shares with them).
PACKAGES=(systemd systemd-sysv udev dbus avahi-daemon libnss-mdns btrfs-progs e2fsprogs
    util-linux fdisk openssl procps iproute2 kmod linux-image-amd64 initramfs-tools zstd
    rauc rauc-service grub-common dosfstools ca-certificates)
ROOT_SIZE=2G   # the size of a root slot in board/qemu-x86-64/partitions.toml
ESP_MIB=64     # the ESP only holds GRUB here (no kernels), so smaller than the board's
BOARD=$REPO/board/qemu-x86-64
KEYS=$OUT/rauc-keys

log() { printf '[build-test-image] %s\n' "$*" >&2; }
die() { printf '[build-test-image] error: %s\n' "$*" >&2; exit 1; }

[[ $EUID -eq 0 ]] || die "needs root (mmdebstrap, file ownership in the image)"
for bin in shoeboxd shoebox-storaged; do
    [[ -x $BIN_DIR/$bin ]] || die "$BIN_DIR/$bin is missing: build it first (cargo build --release), or set SHOEBOX_BIN_DIR"
done
mkdir -p "$OUT"
"$REPO/yocto/scripts/make-dev-rauc-keys.sh" "$KEYS" >&2

# --------------------------------------------------------------- base tree
# Keyed on what mmdebstrap is asked for; bump BASE_RECIPE when changing how.
BASE_RECIPE="1 $SUITE $MIRROR ${PACKAGES[*]}"
base_key=$(printf '%s' "$BASE_RECIPE" | sha256sum | cut -c1-16)
base=$OUT/base-$base_key.tar.zst

if [[ -s $base ]]; then
    log "base tree cached: ${base#"$REPO"/}"
else
    log "mmdebstrap $SUITE (${#PACKAGES[@]} packages) -> ${base#"$REPO"/}"
    start=$SECONDS
    rm -f "$OUT"/base-*.tar.zst
    # Documentation, manuals and translations are never read on the box;
    # leaving them out makes the image smaller and faster to write.
    mmdebstrap --quiet --variant=minbase --mode=root --format=tar \
        --include="$(IFS=,; echo "${PACKAGES[*]}")" \
        --dpkgopt='path-exclude=/usr/share/doc/*' \
        --dpkgopt='path-exclude=/usr/share/man/*' \
        --dpkgopt='path-exclude=/usr/share/locale/*' \
        --dpkgopt='path-include=/usr/share/locale/locale.alias' \
        "$SUITE" "$base.tmp" "deb $MIRROR $SUITE main" >&2
    # mmdebstrap picks the compressor from the file name; compress here so
    # the .tmp name can mark an unfinished file.
    zstd -q -T0 --rm "$base.tmp" -o "$base.zst.tmp"
    mv "$base.zst.tmp" "$base"
    log "base tree built in $((SECONDS - start))s"
fi

# ------------------------------------------------------------------ disk
# The boot disk: GPT, ESP with GRUB, slot A from root.img, slot B empty.
make_disk() { # <image folder>
    local dir=$1 work root_mib
    work=$(mktemp -d)
    # GRUB for UEFI with what the A/B script needs; its prefix is the ESP's
    # EFI/BOOT, where grub.cfg and grubenv sit.
    grub-mkimage -O x86_64-efi -o "$work/BOOTX64.EFI" -p '(hd0,gpt1)/EFI/BOOT' \
        part_gpt fat ext2 normal linux configfile loadenv test echo serial terminal
    grub-editenv "$work/grubenv" create
    grub-editenv "$work/grubenv" set ORDER="A B" A_OK=1 A_TRY=0 B_OK=0 B_TRY=0
    mkfs.vfat -n BOOT -C "$work/esp.img" $((ESP_MIB * 1024)) >/dev/null
    mmd -i "$work/esp.img" ::/EFI ::/EFI/BOOT
    mcopy -i "$work/esp.img" "$work/BOOTX64.EFI" "$BOARD/grub.cfg" "$work/grubenv" ::/EFI/BOOT/
    root_mib=$(($(stat -c %s "$dir/root.img") / 1048576))
    rm -f "$dir/disk.img"
    truncate -s $((1 + ESP_MIB + 2 * root_mib + 1))M "$dir/disk.img"
    sfdisk -q "$dir/disk.img" <<EOF
label: gpt
start=1MiB, size=${ESP_MIB}MiB, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="shoebox-boot"
size=${root_mib}MiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="shoebox-root-a"
size=${root_mib}MiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="shoebox-root-b"
EOF
    dd if="$work/esp.img" of="$dir/disk.img" bs=1M seek=1 conv=notrunc status=none
    dd if="$dir/root.img" of="$dir/disk.img" bs=1M seek=$((1 + ESP_MIB)) conv=notrunc,sparse status=none
    rm -rf "$work"
}

# ------------------------------------------------------------------ image
# A debug build of shoeboxd without the embed-web feature (ci/test builds
# with it) reads the web UI from web/dist on disk, at the absolute path it
# was built from. For such a binary the image carries web/dist at that path,
# which the hardened unit can only read outside /tmp and /home.
web_dist=
if grep -qaF "$REPO/web/dist" "$BIN_DIR/shoeboxd"; then
    [[ -f $REPO/web/dist/index.html ]] || die "$BIN_DIR/shoeboxd is a debug build that reads $REPO/web/dist, which has no index.html"
    web_dist=$REPO/web/dist
fi

tree_hash() { # files under the given paths: names, modes and contents
    (cd "$REPO" && find "$@" -type f -printf '%p %m\n' | LC_ALL=C sort &&
        find "$@" -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
}
image_key=$( {
    echo "$base_key"
    sha256sum "$SELF" "$BIN_DIR/shoeboxd" "$BIN_DIR/shoebox-storaged" | cut -d' ' -f1
    tree_hash rootfs systemd
    sha256sum "$BOARD/rauc-system.conf" "$BOARD/grub.cfg" "$KEYS/ca.cert.pem" | cut -d' ' -f1
    if [[ -n $web_dist ]]; then echo "$web_dist"; tree_hash web/dist; fi
} | sha256sum | cut -c1-16)
image=$OUT/image-$image_key

if [[ -f $image/complete ]]; then
    log "image cached: ${image#"$REPO"/}"
else
    log "assembling ${image#"$REPO"/}"
    start=$SECONDS
    rm -rf "$OUT"/image-* "$OUT/tree"
    tree=$OUT/tree
    mkdir -p "$tree" "$image"
    tar --zstd -xpf "$base" -C "$tree" --numeric-owner

    # The appliance's files: rootfs/ over /, units, binaries. Owned by
    # root whoever checked the repository out; modes as in git.
    tar -C "$REPO/rootfs" --exclude=./README.md --owner=0 --group=0 --numeric-owner -cf - . |
        tar -C "$tree" -xpf - --no-overwrite-dir
    mapfile -t units < <(find "$REPO/systemd" -maxdepth 1 -type f \( -name '*.service' -o -name '*.timer' \
        -o -name '*.mount' -o -name '*.socket' -o -name '*.path' -o -name '*.target' \) | LC_ALL=C sort)
    install -m 0644 -o root -g root "${units[@]}" "$tree/usr/lib/systemd/system/"
    install -m 0755 -o root -g root "$BIN_DIR/shoeboxd" "$BIN_DIR/shoebox-storaged" "$tree/usr/bin/"
    if [[ -n $web_dist ]]; then
        # rust-embed resolves <crate>/../../web/dist, so the crate folder must exist too.
        mkdir -p "$tree$REPO/crates/server" "$tree$REPO/web"
        cp -r "$web_dist" "$tree$REPO/web/dist"
        log "debug build of shoeboxd: web UI copied to $REPO/web/dist in the image"
    fi

    # --- test-image only: what a flashed box gets from its image builder ---
    # Root is the slot GRUB booted (the kernel's command line names it);
    # the ESP, whose grubenv RAUC switches slots with, is /boot.
    printf 'PARTLABEL=shoebox-boot /boot vfat umask=0077 0 2\n' >"$tree/etc/fstab"
    install -D -m 0644 "$BOARD/rauc-system.conf" "$tree/etc/rauc/system.conf"
    install -D -m 0644 "$KEYS/ca.cert.pem" "$tree/etc/rauc/ca.cert.pem"
    # The Yocto image's os-release names the distribution and its version
    # (ID=shoebox, VERSION_ID=DISTRO_VERSION): shoeboxd compares an update
    # source's release with the version the box was flashed with.
    rm -f "$tree/etc/os-release"
    printf '%s\n' 'ID=shoebox' 'ID_LIKE=debian' 'NAME="Shoebox"' 'VERSION_ID=1' 'PRETTY_NAME="Shoebox 1 (test image)"' >"$tree/etc/os-release"
    printf '127.0.0.1\tlocalhost\n127.0.1.1\tshoebox\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$tree/etc/hosts"
    # A machine id of its own, so that no boot is a "first boot", where
    # systemd-firstboot would ask its questions on the console.
    printf '%s\n' "$(printf 'shoebox-image-test %s' "$image_key" | md5sum | cut -c1-32)" >"$tree/etc/machine-id"
    # The test LAN has no DHCP server: a fixed address on it (ci/image-test.sh
    # puts its client on the same /24).
    mkdir -p "$tree/etc/systemd/network"
    cat >"$tree/etc/systemd/network/50-image-test.network" <<'EOF'
# Test image only: the LAN of ci/image-test.sh has no DHCP server.
[Match]
Type=ether

[Network]
Address=198.18.77.10/24
LinkLocalAddressing=no
IPv6AcceptRA=no
EOF
    # Reports on the serial console what cannot be seen from the LAN: the
    # user shoeboxd runs as, and whether any unit failed during boot.
    mkdir -p "$tree/usr/libexec/shoebox-image-test"
    cat >"$tree/usr/libexec/shoebox-image-test/report" <<'EOF'
#!/bin/sh
# Test image only (ci/image-test.sh reads these lines from the console log).
# Wait for the boot to settle: `running` or `degraded` (a unit failed).
state=$(systemctl is-system-running --wait)
echo "IMAGE-TEST system-state=$state"
echo "IMAGE-TEST failed-units=$(systemctl --failed --plain --no-legend | awk '{print $1}' | tr '\n' ' ')"
echo "IMAGE-TEST shoeboxd-user=$(ps -o user= -C shoeboxd | tr '\n' ' ')"
# The kernel keeps 15 characters of a process name: shoebox-storage(d).
echo "IMAGE-TEST storaged-user=$(ps -o user= -C shoebox-storage | tr '\n' ' ')"
echo "IMAGE-TEST data-mount=$(findmnt -n -o SOURCE,FSTYPE /data) state-mount=$(findmnt -n -o SOURCE /var/lib/shoebox)"
# What the A/B health check said this boot, whatever its outcome.
journalctl -b -u shoebox-update-health.service --no-pager -o cat | sed 's/^/IMAGE-TEST update-health: /'
echo "IMAGE-TEST slot=$(sed -n 's/.*rauc\.slot=\([A-Z]\).*/\1/p' /proc/cmdline)"
EOF
    chmod 0755 "$tree/usr/libexec/shoebox-image-test/report"
    cat >"$tree/usr/lib/systemd/system/shoebox-image-test-report.service" <<'EOF'
# Test image only: see /usr/libexec/shoebox-image-test/report.
[Unit]
Description=Image test report on the serial console
After=shoeboxd.service shoebox-storaged.service shoebox-update-health.service

[Service]
# exec, not oneshot: the script waits for the boot to finish, and a oneshot
# would itself hold the boot unfinished.
Type=exec
ExecStart=/usr/libexec/shoebox-image-test/report
StandardOutput=journal+console

[Install]
WantedBy=multi-user.target
EOF

    # Enable every unit that has an [Install] section, as that section says
    # (the others are started by timers or dependencies), plus the network
    # and the report.
    mapfile -t enable < <(grep -l '^\[Install\]' "${units[@]}" | xargs -n1 basename)
    chroot "$tree" systemctl enable --quiet "${enable[@]}" systemd-networkd.service shoebox-image-test-report.service
    log "enabled: ${enable[*]}"
    # The shoebox user and its folders are not made here: sysusers.d and
    # tmpfiles.d do that at boot, which is part of what the test checks.

    cp -L "$tree/vmlinuz" "$image/vmlinuz"
    rm -f "$image/root.img"
    truncate -s "$ROOT_SIZE" "$image/root.img"
    mkfs.ext4 -q -L shoebox-root -d "$tree" "$image/root.img"
    rm -rf "$tree"
    make_disk "$image"
    touch "$image/complete"
    log "image assembled in $((SECONDS - start))s"
fi

ln -sfn "$(basename "$image")" "$OUT/image"
echo "$image"
