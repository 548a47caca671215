# A/B boot for RAUC's U-Boot back end, shared by the U-Boot boards (rpi4,
# rpi5, rock5b). The image build prepends the board's boot-vars.cmd, which
# sets (as hush variables, kept out of the saved environment):
#   shoebox_kernel    the kernel inside the root slot (booti image)
#   shoebox_fdt       the device tree inside the root slot, or empty to boot
#                     with the one the firmware handed to U-Boot (${fdt_addr},
#                     whose /chosen bootargs are kept)
#   shoebox_console   console= for the kernel
#   shoebox_watchdog  U-Boot's watchdog device, or empty where U-Boot has none
#   shoebox_watchdog_ms  its timeout
#
# The environment holds RAUC's state: BOOT_ORDER lists the slots most
# preferred first, BOOT_<slot>_LEFT the boot attempts a slot has left. Every
# boot takes the first slot in BOOT_ORDER with attempts left and counts one
# off before booting it; RAUC sets the counter back (fw_setenv) when the
# slot is marked good (shoebox-update-health, once shoeboxd answers) and
# when it installs a slot. A slot that fails to boot, panics or never
# becomes healthy runs out of attempts and is passed over, so the box falls
# back to the other slot by itself.
#
# The kernel and device tree come from the slot itself, so an update brings
# its own kernel. The slot is found by its GPT name on the disk this script
# was loaded from (devtype and devnum, set by U-Boot's boot scan), and the
# kernel is given the partition's UUID, which it resolves without an
# initramfs.

test -n "${BOOT_ORDER}" || setenv BOOT_ORDER "A B"
test -n "${BOOT_A_LEFT}" || setenv BOOT_A_LEFT 3
test -n "${BOOT_B_LEFT}" || setenv BOOT_B_LEFT 3

slot=
for round in counted reset; do
    if test -z "${slot}" && test "${round}" = reset; then
        # Every slot used its attempts. Rather than no boot at all (the
        # box has no other way back), start counting again and boot the
        # first slot, as RAUC's reference script does.
        echo "Shoebox: no slot has boot attempts left, resetting the counters"
        setenv BOOT_A_LEFT 3
        setenv BOOT_B_LEFT 3
    fi
    for s in ${BOOT_ORDER}; do
        if test -n "${slot}"; then
            # a slot is chosen; the rest of BOOT_ORDER is not needed
        elif test "${s}" = A && test ${BOOT_A_LEFT} -gt 0; then
            setexpr BOOT_A_LEFT ${BOOT_A_LEFT} - 1
            slot=A
            label=shoebox-root-a
        elif test "${s}" = B && test ${BOOT_B_LEFT} -gt 0; then
            setexpr BOOT_B_LEFT ${BOOT_B_LEFT} - 1
            slot=B
            label=shoebox-root-b
        fi
    done
done
# A BOOT_ORDER that names neither slot: slot A rather than no boot.
if test -z "${slot}"; then
    slot=A
    label=shoebox-root-a
fi
# The attempt is counted before anything of the slot runs.
saveenv
echo "Shoebox: booting slot ${slot} (attempts left: A ${BOOT_A_LEFT}, B ${BOOT_B_LEFT})"

part number ${devtype} ${devnum} ${label} slot_part
part uuid ${devtype} ${devnum}:${slot_part} slot_uuid
load ${devtype} ${devnum}:${slot_part} ${kernel_addr_r} ${shoebox_kernel}

setenv bootargs
if test -n "${shoebox_fdt}"; then
    load ${devtype} ${devnum}:${slot_part} ${fdt_addr_r} ${shoebox_fdt}
    fdt_boot=${fdt_addr_r}
else
    fdt addr ${fdt_addr}
    fdt get value bootargs /chosen bootargs
    fdt_boot=${fdt_addr}
fi
# No initramfs; panic=10: a kernel that cannot start its system restarts
# instead of waiting for ever, and the next boot counts another attempt.
# The kernel feeds the watchdog armed below only until userspace takes it
# over (systemd's RuntimeWatchdogSec) and for two minutes at most, so a
# kernel that waits for ever for its root device is reset too.
setenv bootargs "${bootargs} ${shoebox_console} root=PARTUUID=${slot_uuid} rootwait rw panic=10 watchdog.open_timeout=120 rauc.slot=${slot}"

# A kernel that hangs instead of panicking is reset by the watchdog, armed
# last so that U-Boot's own work is not timed. The kernel's driver finds it
# running and feeds it until systemd does (RuntimeWatchdogSec, in rootfs/)
# or watchdog.open_timeout runs out.
if test -n "${shoebox_watchdog}" && wdt dev ${shoebox_watchdog} && wdt start ${shoebox_watchdog_ms}; then
    echo "Shoebox: watchdog ${shoebox_watchdog} armed (${shoebox_watchdog_ms} ms)"
else
    echo "Shoebox: no watchdog armed"
fi
booti ${kernel_addr_r} - ${fdt_boot}
# booti returns only when the kernel could not be started: try again, one
# attempt fewer.
echo "Shoebox: slot ${slot} did not start, restarting"
reset
