# Radxa ROCK 5B: this board's values for the shared A/B boot script
# (board/boot.cmd, which follows them in boot.scr). Kernel and device tree
# both come from the root slot (kernel-devicetree installs the .dtb in
# /boot), so an update brings a device tree that matches its kernel. The
# console is UART2 at the boot ROM's 1.5 Mbaud. The RK3588's watchdog is a
# DesignWare one (U-Boot's CONFIG_DESIGNWARE_WATCHDOG).
shoebox_kernel=/boot/Image
shoebox_fdt=/boot/rk3588-rock-5b.dtb
shoebox_console=console=ttyS2,1500000n8
shoebox_watchdog=watchdog@feaf0000
shoebox_watchdog_ms=30000
