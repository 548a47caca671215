SUMMARY = "Shoebox photo library appliance image"
DESCRIPTION = "Everything the box runs: shoeboxd and shoebox-storaged with \
               their units, mDNS, RAUC for A/B updates, btrfs and disk \
               tools, ffmpeg. The setup wizard is in the web UI at \
               http://shoebox.local; no login console is needed."
LICENSE = "MIT"

IMAGE_INSTALL = "\
    packagegroup-core-boot \
    shoebox \
    shoebox-storaged \
    shoebox-system \
    avahi-daemon \
    rauc \
    btrfs-progs \
    e2fsprogs-resize2fs \
    mdadm \
    smartmontools \
    ca-certificates \
    tzdata \
    ${CORE_IMAGE_EXTRA_INSTALL} \
"
IMAGE_LINGUAS = ""

inherit core-image

# Disk layout of the board this build is for: board/<name>/partitions.wks.
WKS_FILE = "partitions.wks"
WKS_SEARCH_PATH:prepend = "${SHOEBOX_BOARD_DIR}:"
# wic: the flashable disk image; ext4: the root slot image for the bundle.
IMAGE_FSTYPES = "wic wic.bmap ext4"

# A root slot is 2 GiB (board/<name>/partitions.toml): fail the build with
# a clear message rather than in wic when the image outgrows it.
IMAGE_ROOTFS_MAXSIZE = "2097152"
