# Raspberry Pi 4: this board's values for the shared A/B boot script
# (board/boot.cmd, which follows them in boot.scr). The kernel comes from
# the root slot; the device tree is the one the firmware loaded from the
# boot partition with config.txt's overlays, and its command line
# (cmdline.txt) is kept. The BCM2711's PM watchdog (U-Boot's
# CONFIG_WDT_BCM2835) counts at most just under 16 s.
shoebox_kernel=/boot/Image
shoebox_fdt=
shoebox_console=console=ttyS0,115200
shoebox_watchdog=watchdog@7e100000
shoebox_watchdog_ms=15000
