# nooelint: oelint.file.underscores,oelint.var.mandatoryvar.HOMEPAGE
# Accepted lint findings (file level, suppressed by the line above):
#  - oelint.file.underscores: built from files of the repository the layer
#    sits in, versioned with it; there is no upstream version
#  - oelint.var.mandatoryvar.HOMEPAGE: the project has no public home page yet
SUMMARY = "A/B GRUB configuration and its first environment block"
DESCRIPTION = "board/<name>/grub.cfg of the Shoebox repository (the A/B \
               script RAUC's grub back end drives) and the environment \
               block it starts from: slot A to boot, slot B empty. The \
               image puts both into the ESP's EFI/BOOT."
SECTION = "bsp"
LICENSE = "MIT"
# nooelint: oelint.var.licenseremotefile - the configuration is the layer's own (MIT, like the layer metadata)
LIC_FILES_CHKSUM = "file://${COMMON_LICENSE_DIR}/MIT;md5=0835ade698e0bcf8506ecda2f7b4f302"

# grub-editenv writes the block in the format GRUB reads.
DEPENDS = "grub-native"
INHIBIT_DEFAULT_DEPS = "1"

# nooelint: oelint.vars.fileextrapaths,oelint.vars.outofcontext - the file is not next to the recipe
FILESEXTRAPATHS:prepend := "${SHOEBOX_BOARD_DIR}:"
SRC_URI = "file://grub.cfg"

S = "${WORKDIR}"

inherit deploy nopackages

# One configuration per board.
PACKAGE_ARCH = "${MACHINE_ARCH}"

do_configure[noexec] = "1"

# What ci/build-test-image.sh gives the test image: the image build wrote
# slot A, slot B is empty until the first update.
do_compile() {
    rm -f ${B}/grubenv
    grub-editenv ${B}/grubenv create
    grub-editenv ${B}/grubenv set ORDER="A B" A_OK=1 A_TRY=0 B_OK=0 B_TRY=0
}

# Deployed under names of their own; IMAGE_EFI_BOOT_FILES installs them
# as EFI/BOOT/grub.cfg and EFI/BOOT/grubenv.
do_deploy() {
    install -d ${DEPLOYDIR}
    install -m 0644 ${S}/grub.cfg ${DEPLOYDIR}/shoebox-grub.cfg
    install -m 0644 ${B}/grubenv ${DEPLOYDIR}/shoebox-grubenv
}
addtask deploy after do_compile before do_build
