#!/usr/bin/env bash
# The ARM boards' A/B boot script (board/boot.cmd) run by a real U-Boot:
# Debian's U-Boot for QEMU's arm64 "virt" machine, under qemu-system-aarch64
# with software emulation, booting Debian's arm64 kernel from the root slots
# of a GPT disk laid out like the boards'. The U-Boot environment sits where
# that U-Boot keeps it (CFI flash, QEMU's second flash bank, a file here),
# and the test reads and writes it from the host with fw_printenv and
# fw_setenv, as RAUC does on the box. Ends with "uboot-test: N passed, N
# failed"; exits non-zero if anything failed.
#
# The script is the one the Yocto layer installs: the board's values (here
# a profile for QEMU's machine, below) followed by board/boot.cmd, made into
# boot.scr by mkimage, as recipes-bsp/shoebox-boot-script does.
#
# What it checks, one QEMU run each (a run ends once the kernel printed its
# command line; the kernel has no initramfs and goes no further):
#   first boot      no environment yet: the script sets BOOT_ORDER "A B" and
#                   three attempts each, boots slot A (its kernel starts with
#                   root=PARTUUID=<slot A> rauc.slot=A) and saves A's
#                   counter one lower
#   mark-good       fw_setenv BOOT_A_LEFT 3 (RAUC's mark-good) is read back,
#                   and U-Boot counts down from it
#   other order     BOOT_ORDER "B A" (RAUC after installing into B) boots B
#   fall-back       slot A without a kernel: U-Boot tries it until its
#                   attempts are used, restarting after each, then boots B
#                   by itself
#   none left       both counters at 0: they are reset and slot A boots
#   slot's DT       with the device tree taken from the slot (the ROCK 5B's
#                   way) rather than the one the machine hands over (the
#                   Raspberry Pis' way), the kernel gets the slot's
#
# Artifacts: target/uboot-test/run/ (serial console of each run). The
# kernel comes from Debian's linux-image-arm64 package, downloaded once
# into target/uboot-test/ with a private apt state (no change to the
# machine's apt configuration). Needs root to install packages.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
OUT=$REPO/target/uboot-test
RUN=$OUT/run
UBOOT=/usr/lib/u-boot/qemu_arm64/u-boot.bin
# Seconds one run may take until the kernel prints its command line; a
# fall-back run goes through U-Boot three times.
RUN_TIMEOUT=${SHOEBOX_UBOOT_TIMEOUT:-150}

if [[ $EUID -ne 0 ]]; then
    echo "SKIPPED: the U-Boot A/B test installs Debian packages and needs root"
    exit 0
fi

# shellcheck source=ci/lib/checks.sh
source "$REPO/ci/lib/checks.sh"
# shellcheck source=ci/lib/bookworm-backports.sh
source "$REPO/ci/lib/bookworm-backports.sh"
log() { printf '[uboot-test] %s\n' "$*"; }

# ---------------------------------------------------------------- install
# u-boot-qemu: U-Boot for QEMU's virt machine; u-boot-tools: mkimage;
# libubootenv-tool: fw_printenv/fw_setenv (what RAUC calls); the disk tools
# for the test disk. qemu-system-arm comes from bookworm-backports to match
# the machine's qemu-utils (ci/lib/bookworm-backports.sh).
install_deps() {
    local apt_pkgs=(u-boot-qemu u-boot-tools libubootenv-tool fdisk dosfstools mtools e2fsprogs)
    local missing=() pkg
    for pkg in "${apt_pkgs[@]}" qemu-system-arm; do
        [[ $(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null) == installed ]] || missing+=("$pkg")
    done
    ((${#missing[@]})) || return 0
    log "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # shellcheck disable=SC2119 # root already: no sudo to pass
    add_bookworm_backports
    apt-get update -qq || log "warning: apt-get update reported errors, trying the install anyway"
    apt-get install -y -qq --no-install-recommends "${apt_pkgs[@]}" >/dev/null
    apt-get install -y -qq --no-install-recommends -t bookworm-backports qemu-system-arm >/dev/null
}

# Debian's arm64 kernel (an uncompressed Image that booti starts), taken
# from the package without installing it: a private apt state for arm64
# reading only Debian's archive, so the machine's sources, lists and
# architectures stay as they are.
fetch_kernel() {
    local kernel
    kernel=$(find "$OUT" -maxdepth 1 -name 'vmlinuz-*-arm64' | sort | tail -n 1)
    if [[ -n $kernel ]]; then KERNEL=$kernel; return 0; fi
    local apt=$OUT/apt
    mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/deb"
    printf '%s\n' 'deb http://deb.debian.org/debian bookworm main' \
        'deb http://deb.debian.org/debian-security bookworm-security main' >"$apt/sources.list"
    : >"$apt/status"
    local opts=(-q -o APT::Architecture=arm64 -o APT::Architectures::=arm64
        -o Dir::State::Lists="$apt/lists" -o Dir::State::status="$apt/status"
        -o Dir::Cache="$apt/cache" -o Dir::Etc::SourceList="$apt/sources.list"
        -o Dir::Etc::SourceParts=/nonexistent -o APT::Sandbox::User=root)
    apt-get "${opts[@]}" update >/dev/null
    local pkg
    pkg=$(apt-cache "${opts[@]}" depends linux-image-arm64 | awk '/Depends: linux-image-/ {print $2; exit}')
    [[ -n $pkg ]] || { echo "uboot-test: no arm64 kernel package found" >&2; return 1; }
    log "downloading $pkg (arm64) from Debian's archive"
    (cd "$apt/deb" && apt-get "${opts[@]}" download "$pkg" >/dev/null)
    dpkg-deb --fsys-tarfile "$apt/deb/${pkg}_"*.deb | tar -x -C "$apt/deb" --wildcards './boot/vmlinuz-*'
    kernel=$(find "$apt/deb/boot" -name 'vmlinuz-*' | head -n 1)
    mv "$kernel" "$OUT/"
    rm -rf "$apt"
    KERNEL=$OUT/$(basename "$kernel")
}

mkdir -p "$OUT"
install_deps
fetch_kernel
log "$(qemu-system-aarch64 --version | head -n 1); $(strings "$UBOOT" | grep -m 1 '^U-Boot 20'); kernel $(basename "$KERNEL")"

# ------------------------------------------------------------- the disk
# GPT like the boards' (board/*/partitions.toml): the FAT boot partition with
# boot.scr (marked bootable, which U-Boot's boot scan looks for), then root
# slots A and B named as on the boards, each an ext4 file system holding
# the kernel where the board profile says (/boot/Image).
rm -rf "$RUN"
mkdir -p "$RUN"
DISK=$RUN/disk.img
FLASH=$RUN/env-flash.img
FW_ENV=$RUN/fw_env.config

# The machine: QEMU's arm64 virt board, the disk on virtio, the environment
# in the second flash bank. No network.
MACHINE=(-machine virt -cpu cortex-a72 -smp 2 -m 1024 -accel "tcg,thread=multi"
    -nodefaults -display none -nic none -bios "$UBOOT"
    -drive "if=pflash,unit=1,format=raw,file=$FLASH"
    -drive "if=none,id=disk,format=raw,file=$DISK" -device "virtio-blk-device,drive=disk")

# The board profile for QEMU's virt machine, in the form of
# board/<name>/boot-vars.cmd: the kernel from the slot, QEMU's own device
# tree (as the Raspberry Pis use their firmware's), its PL011 console, and
# no watchdog (this U-Boot has no watchdog driver).
cat >"$RUN/boot-vars.cmd" <<'EOF'
shoebox_kernel=/boot/Image
shoebox_fdt=
shoebox_console=console=ttyAMA0
shoebox_watchdog=
shoebox_watchdog_ms=0
EOF
# The same with the device tree from the slot, as on the ROCK 5B: the one
# QEMU makes for this machine, dumped into the slots as /boot/virt.dtb.
# The boards' U-Boot defines fdt_addr_r, where it is loaded; QEMU's does
# not, so the profile names a free spot in RAM.
sed -e 's|^shoebox_fdt=.*|shoebox_fdt=/boot/virt.dtb|' -e '$a fdt_addr_r=0x48000000' \
    "$RUN/boot-vars.cmd" >"$RUN/boot-vars-slot-fdt.cmd"

truncate -s 128M "$DISK"
sfdisk --quiet "$DISK" <<'EOF'
label: gpt
size=16MiB, type=uefi, name=shoebox-boot, attrs=LegacyBIOSBootable
size=48MiB, type=linux, name=shoebox-root-a
size=48MiB, type=linux, name=shoebox-root-b
EOF
part_start() { sfdisk --json "$DISK" | python3 -c "import json,sys; print(json.load(sys.stdin)['partitiontable']['partitions'][$1 - 1]['start'])"; }
write_part() { # <partition number> <image file>
    dd if="$2" of="$DISK" bs=512 seek="$(part_start "$1")" conv=notrunc,sparse status=none
}
# The boot partition: boot.scr made from a profile and board/boot.cmd, as
# the recipe makes it.
boot_partition() { # <profile>
    cat "$1" "$REPO/board/boot.cmd" >"$RUN/boot.cmd"
    mkimage -A arm64 -T script -C none -n "Shoebox A/B boot" -d "$RUN/boot.cmd" "$RUN/boot.scr" >/dev/null
    rm -f "$RUN/boot.img"
    mkfs.vfat -n BOOT -C "$RUN/boot.img" $((16 * 1024)) >/dev/null
    mcopy -i "$RUN/boot.img" "$RUN/boot.scr" ::/boot.scr
    write_part 1 "$RUN/boot.img"
    rm -f "$RUN/boot.img"
}
# A root slot: ext4 with /boot/Image (unless "none") and /boot/virt.dtb.
slot_fs() { # <partition number> <kernel file | none>
    local tree=$RUN/tree-$1
    rm -rf "$tree"; mkdir -p "$tree/boot"
    [[ $2 == none ]] || cp "$2" "$tree/boot/Image"
    cp "$RUN/virt.dtb" "$tree/boot/virt.dtb"
    rm -f "$RUN/slot.img"
    truncate -s 48M "$RUN/slot.img"
    mkfs.ext4 -q -F -L shoebox-root -d "$tree" "$RUN/slot.img"
    write_part "$1" "$RUN/slot.img"
    rm -rf "$tree" "$RUN/slot.img"
}

# The environment: qemu_arm64's U-Boot keeps it in CFI flash at 0x4000000,
# the start of the virt machine's second 64 MiB flash bank, 256 KiB
# (CONFIG_ENV_ADDR, CONFIG_ENV_SIZE, CONFIG_ENV_SECT_SIZE). Erased flash
# reads 0xff: U-Boot starts with its built-in environment, and the boot
# script's saveenv writes the first one, as on a freshly flashed board.
head -c $((64 * 1024 * 1024)) /dev/zero | tr '\0' '\377' >"$FLASH"
printf '%s 0x0 0x40000 0x40000\n' "$FLASH" >"$FW_ENV"
env_get() { fw_printenv -c "$FW_ENV" -n "$1" 2>/dev/null; }
env_set() { fw_setenv -c "$FW_ENV" "$@"; }

qemu-system-aarch64 "${MACHINE[@]}" -machine dumpdtb="$RUN/virt.dtb" 2>/dev/null
boot_partition "$RUN/boot-vars.cmd"
slot_fs 2 "$KERNEL"
slot_fs 3 "$KERNEL"
UUID_A=$(sfdisk --part-uuid "$DISK" 2 | tr 'A-F' 'a-f')
UUID_B=$(sfdisk --part-uuid "$DISK" 3 | tr 'A-F' 'a-f')

# ------------------------------------------------------------------ runs
QEMU_PID=
stop_qemu() {
    if [[ -n $QEMU_PID ]] && kill -0 "$QEMU_PID" 2>/dev/null; then
        kill "$QEMU_PID"
        wait "$QEMU_PID" 2>/dev/null || true
    fi
    QEMU_PID=
}
trap stop_qemu EXIT

# Starts QEMU on the disk and the environment flash; its serial console
# goes to $CONSOLE. A reset (U-Boot's `reset`, or a kernel's restart) boots
# again in the same process, as a board would.
boot() { # <name>
    CONSOLE=$RUN/console-$1.log
    : >"$CONSOLE"
    qemu-system-aarch64 "${MACHINE[@]}" -serial "file:$CONSOLE" 2>"$RUN/qemu-$1.stderr" &
    QEMU_PID=$!
}

# Waits, at most <seconds>, until the console has a line matching <regex>
# (grep -E), reading it as QEMU writes it. Fails when QEMU exits first.
wait_console() { # <seconds> <regex>
    timeout "$1" grep -qaE -m 1 -- "$2" < <(tail -n +1 -f --pid="$QEMU_PID" "$CONSOLE" 2>/dev/null)
}
console_tail() { tail -n 30 "$CONSOLE" | tr -d '\r'; }

# One run: boot, wait for the kernel of <slot> to print its command line,
# stop, and check the command line is the one the script builds for the
# slot and what it counted.
run_expect() { # <name> <slot> <what it shows>
    local name=$1 slot=$2 what=$3 uuid start=$SECONDS
    [[ $slot == A ]] && uuid=$UUID_A || uuid=$UUID_B
    boot "$name"
    if wait_console "$RUN_TIMEOUT" '^\[ *[0-9.]+\] Kernel command line: '; then
        local cmdline
        cmdline=$(grep -a -m 1 'Kernel command line:' "$CONSOLE" | tr -d '\r')
        if grep -qa "Shoebox: booting slot $slot " "$CONSOLE" &&
            [[ $cmdline == *" root=PARTUUID=$uuid "* && $cmdline == *" rauc.slot=$slot" &&
                $cmdline == *" watchdog.open_timeout=120 "* ]]; then
            pass "$name: $what (kernel of slot $slot started, root=PARTUUID of shoebox-root-${slot,}, $((SECONDS - start))s)"
        else
            fail "$name: $what" "$cmdline"$'\n'"$(grep -a 'Shoebox:' "$CONSOLE")"
        fi
    else
        fail "$name: $what: no kernel started within ${RUN_TIMEOUT}s" "$(console_tail; cat "$RUN/qemu-$name.stderr")"
    fi
    stop_qemu
}

expect_env() { # <what> <name=value>...
    local kv got=() bad=0
    for kv in "${@:2}"; do
        got+=("${kv%%=*}=$(env_get "${kv%%=*}")")
        [[ ${got[-1]} == "$kv" ]] || bad=1
    done
    if ((bad)); then fail "$1" "expected: ${*:2}"$'\n'"read:     ${got[*]}"
    else pass "$1: ${got[*]}"; fi
}

echo "uboot-test: board/boot.cmd in $(strings "$UBOOT" | grep -m 1 -oE '^U-Boot 20[0-9.]+') on QEMU's virt machine (arm64, TCG)"

# 1. A new board: no environment yet.
if env_get BOOT_ORDER >/dev/null; then fail "the environment flash starts blank" "$(fw_printenv -c "$FW_ENV")"
else pass "the environment flash starts blank: fw_printenv finds no BOOT_ORDER"; fi
run_expect first-boot A "first boot with no environment boots slot A"
expect_env "first boot: RAUC's variables saved, slot A's attempt counted" \
    "BOOT_ORDER=A B" BOOT_A_LEFT=2 BOOT_B_LEFT=3

# 2. RAUC's mark-good, then a boot that counts from it.
env_set BOOT_A_LEFT 3
expect_env "mark-good: fw_setenv BOOT_A_LEFT 3 is read back" BOOT_A_LEFT=3
run_expect mark-good A "after mark-good slot A boots"
expect_env "after mark-good: U-Boot counted from RAUC's value" BOOT_A_LEFT=2 BOOT_B_LEFT=3

# 3. The order RAUC writes when it installs into slot B.
env_set BOOT_ORDER "B A"
run_expect order-b B 'BOOT_ORDER "B A" boots slot B'
expect_env "BOOT_ORDER \"B A\": slot B's attempt counted" BOOT_A_LEFT=2 BOOT_B_LEFT=2

# 4. Slot A cannot start (RAUC installed into it and set it first with full
#    attempts, but its kernel is missing): each attempt fails and restarts
#    the machine, until A has none left and B boots by itself.
slot_fs 2 none
env_set BOOT_ORDER "A B"
env_set BOOT_A_LEFT 3
env_set BOOT_B_LEFT 3
run_expect fall-back B "slot A without a kernel is passed over after its attempts, slot B boots"
tries=$(grep -ac 'Shoebox: slot A did not start, restarting' "$CONSOLE" || true)
if [[ $tries == 3 ]]; then pass "fall-back: slot A was tried 3 times, each ending in a restart"
else fail "fall-back: slot A was tried 3 times" "$(grep -a 'Shoebox:' "$CONSOLE")"; fi
expect_env "fall-back: A has no attempts left, B's attempt counted" BOOT_A_LEFT=0 BOOT_B_LEFT=2

# 5. No slot has attempts left: the counters start again and the first slot
#    boots rather than none.
slot_fs 2 "$KERNEL"
env_set BOOT_A_LEFT 0
env_set BOOT_B_LEFT 0
run_expect none-left A "no attempts left anywhere: slot A boots"
if grep -aq 'Shoebox: no slot has boot attempts left, resetting the counters' "$CONSOLE"; then
    pass "none left: the script said it reset the counters"
else fail "none left: the script said it reset the counters" "$(grep -a 'Shoebox:' "$CONSOLE")"; fi
expect_env "none left: counters reset, then A's attempt counted" BOOT_A_LEFT=2 BOOT_B_LEFT=3

# 6. The device tree from the slot, as the ROCK 5B boots.
boot_partition "$RUN/boot-vars-slot-fdt.cmd"
run_expect slot-fdt A "device tree from the slot: slot A boots"
if grep -aq 'Booting using the fdt blob at 0x48000000' "$CONSOLE"; then
    pass "device tree from the slot: the kernel got /boot/virt.dtb of slot A, loaded at fdt_addr_r"
else fail "device tree from the slot: the kernel got /boot/virt.dtb of slot A" "$(console_tail)"; fi

# The boards' own values: every U-Boot board sets each variable the script
# reads, and its script compiles as the recipe makes it.
needed=$(grep -oE '\{shoebox_[a-z_]+\}' "$REPO/board/boot.cmd" | tr -d '{}' | sort -u | xargs)
for vars in "$REPO"/board/*/boot-vars.cmd; do
    b=$(basename "$(dirname "$vars")")
    set_here=$(sed -nE 's/^(shoebox_[a-z_]+)=.*/\1/p' "$vars" | sort -u | xargs)
    if [[ $set_here == "$needed" ]] &&
        cat "$vars" "$REPO/board/boot.cmd" >"$RUN/boot-$b.cmd" &&
        mkimage -A arm64 -T script -C none -n "Shoebox A/B boot" -d "$RUN/boot-$b.cmd" "$RUN/boot-$b.scr" >/dev/null; then
        pass "board/$b/boot-vars.cmd sets $needed and its boot.scr compiles"
    else
        fail "board/$b/boot-vars.cmd sets exactly the script's variables" "needs: $needed"$'\n'"sets:  $set_here"
    fi
done

printf '\nuboot-test: finished in %ds\n' "$((SECONDS - START))"
if ((FAILED)); then printf 'failed:\n'; printf '  - %s\n' "${FAILED_NAMES[@]}"; fi
printf 'uboot-test: %d passed, %d failed\n' "$PASSED" "$FAILED"
((FAILED == 0))
