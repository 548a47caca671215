# U-Boot boards: the board's configuration fragment (environment where
# RAUC can reach it, setexpr and the watchdog for the boot script) and
# fw_env.config, which OE-Core's u-boot recipe installs as
# /etc/fw_env.config in u-boot-env for libubootenv (fw_printenv and
# fw_setenv, run by RAUC). Both from board/<name>/; the board's file comes
# before any fw_env.config of the BSP layer.
FILESEXTRAPATHS:prepend:shoebox-uboot := "${SHOEBOX_BOARD_DIR}:"
SRC_URI:append:shoebox-uboot = " \
    file://u-boot.cfg \
    file://fw_env.config \
"
