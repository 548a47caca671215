# nooelint: oelint.file.underscores,oelint.var.mandatoryvar.SRC_URI,oelint.var.mandatoryvar.HOMEPAGE
# Accepted lint findings (file level, suppressed by the line above):
#  - oelint.file.underscores: a bundle is versioned by RAUC_BUNDLE_VERSION
#    (the distro version), not by its file name
#  - oelint.var.mandatoryvar.SRC_URI: a bundle has no sources of its own;
#    bundle.bbclass packs the image named in RAUC_SLOT_rootfs
#  - oelint.var.mandatoryvar.HOMEPAGE: the project has no public home page yet
SUMMARY = "Shoebox signed update bundle"
DESCRIPTION = "RAUC bundle carrying the root file system of shoebox-image \
               for one board. It installs into the inactive A/B slot; the \
               box boots the new slot and falls back to the old one by \
               itself if it does not come up healthy."
SECTION = "base"
LICENSE = "MIT"

inherit bundle

# Matches [system] compatible= in board/<name>/rauc-system.conf, so a
# bundle for one board is refused by every other.
RAUC_BUNDLE_COMPATIBLE = "shoebox-${SHOEBOX_BOARD}"
RAUC_BUNDLE_VERSION = "${DISTRO_VERSION}"
RAUC_BUNDLE_DESCRIPTION = "Shoebox ${DISTRO_VERSION} for ${SHOEBOX_BOARD}"
RAUC_BUNDLE_FORMAT = "verity"

RAUC_BUNDLE_SLOTS = "rootfs"
RAUC_SLOT_rootfs = "shoebox-image"
RAUC_SLOT_rootfs[fstype] = "ext4"

# Signing key and certificate (see yocto/README.md).
RAUC_KEY_FILE = "${SHOEBOX_RAUC_KEY_DIR}/dev.key.pem"
RAUC_CERT_FILE = "${SHOEBOX_RAUC_KEY_DIR}/dev.cert.pem"
