# nooelint: oelint.file.underscores,oelint.var.mandatoryvar.HOMEPAGE
# Accepted lint findings (file level, suppressed by the line above):
#  - oelint.file.underscores: built from files of the repository the layer
#    sits in, versioned with it; there is no upstream version
#  - oelint.var.mandatoryvar.HOMEPAGE: the project has no public home page yet
SUMMARY = "A/B boot script for U-Boot (boot.scr)"
DESCRIPTION = "The U-Boot script that picks the root slot for RAUC's U-Boot \
               back end, counts boot attempts and falls back to the other \
               slot: board/boot.cmd of the Shoebox repository after the \
               board's values (board/<name>/boot-vars.cmd), made into \
               boot.scr for the boot partition."
SECTION = "bsp"
LICENSE = "MIT"
# nooelint: oelint.var.licenseremotefile - the script is the layer's own (MIT, like the layer metadata)
LIC_FILES_CHKSUM = "file://${COMMON_LICENSE_DIR}/MIT;md5=0835ade698e0bcf8506ecda2f7b4f302"

DEPENDS = "u-boot-mkimage-native"
INHIBIT_DEFAULT_DEPS = "1"

# On the Raspberry Pis it stands in for meta-raspberrypi's rpi-u-boot-scr
# (PREFERRED_PROVIDER in the distro), whose boot.scr the boot partition
# lists in IMAGE_BOOT_FILES already.
PROVIDES += "u-boot-default-script"

# The two files are in the repository around the layer; ci/uboot-test.sh
# joins them the same way and runs the result in U-Boot under QEMU.
# nooelint: oelint.vars.fileextrapaths,oelint.vars.outofcontext - the files are not next to the recipe
FILESEXTRAPATHS:prepend := "${SHOEBOX_BOARD_DIR}:${SHOEBOX_TOPDIR}/board:"
SRC_URI = "\
    file://boot-vars.cmd \
    file://boot.cmd \
"

S = "${WORKDIR}"

inherit deploy nopackages

# One script per board.
PACKAGE_ARCH = "${MACHINE_ARCH}"

do_configure[noexec] = "1"

do_compile() {
    cat ${S}/boot-vars.cmd ${S}/boot.cmd > ${B}/shoebox-boot.cmd
    mkimage -A arm64 -T script -C none -n "Shoebox A/B boot" -d ${B}/shoebox-boot.cmd ${B}/boot.scr
}

do_deploy() {
    install -d ${DEPLOYDIR}
    install -m 0644 ${B}/boot.scr ${DEPLOYDIR}/boot.scr
}
addtask deploy after do_compile before do_build
