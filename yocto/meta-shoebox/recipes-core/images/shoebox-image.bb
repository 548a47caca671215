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
    kernel-image \
    ${CORE_IMAGE_EXTRA_INSTALL} \
"
# The kernel lives in the root slot (kernel-image puts it in /boot), so an
# update brings its own; the boot loader loads it from the slot it boots.
# U-Boot boards also take the device tree from there, and RAUC switches
# slots with fw_setenv, reading /etc/fw_env.config of u-boot-env.
IMAGE_INSTALL:append:shoebox-uboot = " kernel-devicetree libubootenv-bin u-boot-env"
IMAGE_LINGUAS = ""

inherit core-image

# Disk layout of the board this build is for: board/<name>/partitions.wks.
WKS_FILE = "partitions.wks"
WKS_SEARCH_PATH:prepend = "${SHOEBOX_BOARD_DIR}:"
# wic: the flashable disk image; ext4: the root slot image for the bundle.
IMAGE_FSTYPES = "wic wic.bmap ext4"

# The A/B boot pieces on the boot partition. U-Boot: boot.scr from
# shoebox-boot-script (the Raspberry Pis' IMAGE_BOOT_FILES list it already,
# from u-boot-default-script). GRUB: the board's grub.cfg and the first
# environment block next to it in the ESP's EFI/BOOT, replacing the
# configuration wic would write; grub.cfg loads /vmlinuz of the slot.
SHOEBOX_BOOT_DEPLOY:shoebox-uboot = "shoebox-boot-script:do_deploy"
SHOEBOX_BOOT_DEPLOY:shoebox-grub = "shoebox-grub-env:do_deploy"
do_image_wic[depends] += "${SHOEBOX_BOOT_DEPLOY}"
IMAGE_BOOT_FILES:append:rock-5b = " boot.scr"
IMAGE_EFI_BOOT_FILES:append:shoebox-grub = " shoebox-grub.cfg;EFI/BOOT/grub.cfg shoebox-grubenv;EFI/BOOT/grubenv"
ROOTFS_POSTPROCESS_COMMAND:append:shoebox-grub = " shoebox_kernel_link"
shoebox_kernel_link() {
    ln -sf boot/${KERNEL_IMAGETYPE} ${IMAGE_ROOTFS}/vmlinuz
}

# A root slot is 2 GiB (board/<name>/partitions.toml): fail the build with
# a clear message rather than in wic when the image outgrows it.
IMAGE_ROOTFS_MAXSIZE = "2097152"
