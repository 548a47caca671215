# Raspberry Pi 5: this board's values for the shared A/B boot script
# (board/boot.cmd, which follows them in boot.scr). The kernel comes from
# the root slot; the device tree is the one the firmware loaded from the
# boot partition with config.txt's overlays, and its command line
# (cmdline.txt) is kept. The console is the debug UART connector. The
# BCM2712's PM watchdog is the BCM2835 design (at most just under 16 s).
shoebox_kernel=/boot/Image
shoebox_fdt=
shoebox_console=console=ttyAMA10,115200
shoebox_watchdog=watchdog@7d200000
shoebox_watchdog_ms=15000
