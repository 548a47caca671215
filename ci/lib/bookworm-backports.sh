# shellcheck shell=bash
# Shared by the install scripts (install-image-deps.sh, uboot-test.sh):
# QEMU comes from bookworm-backports, because the machine's qemu-utils does
# and bookworm's own QEMU 7.2 packages conflict with it. Source it, then call
# `add_bookworm_backports SUDO...` (an empty command when already root)
# before `apt-get update`. Backports are never chosen unless asked for
# (-t bookworm-backports), so nothing else on the machine changes.
BACKPORTS_LIST=/etc/apt/sources.list.d/shoebox-bookworm-backports.sources

add_bookworm_backports() {
    grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/ && return 0
    printf 'adding bookworm-backports as %s\n' "$BACKPORTS_LIST"
    "$@" tee "$BACKPORTS_LIST" >/dev/null <<'SOURCES'
# Added by the Shoebox CI install scripts (ci/lib/bookworm-backports.sh):
# QEMU matching the machine's qemu-utils from bookworm-backports. Backports
# are never chosen unless asked for (-t bookworm-backports).
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
}
