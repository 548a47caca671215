#!/usr/bin/env bash
# shellcheck disable=SC2317 # cleanup and wait_for's conditions are called indirectly
# The appliance image test: builds the Debian test image
# (ci/build-test-image.sh, cached), boots it under qemu-system-x86_64 with
# software emulation, and checks it from outside as a person on the LAN
# would. Runs every check it can even after a failure and ends with
# "image-test: N passed, N failed"; exits non-zero if anything failed.
#
# The LAN is made of network namespaces of our own, so no packet of the
# guest ever leaves this machine:
#
#   namespace "lan":    QEMU ── tap0 ─┐
#                                     br0
#   namespace "client":  eth0 ── veth ┘      (curl, avahi-daemon, avahi-browse)
#
# The client runs its own avahi-daemon (on a private D-Bus bus, with /run
# private to it) so that avahi-browse sees the guest's announcements exactly
# as a laptop on the LAN would.
#
# What it checks (boot 1, then a clean power-off and boot 2 on the same disks):
#   mDNS       shoebox.local resolves to the box; _http._tcp on 80 and
#              _https._tcp on 443 are announced (avahi-browse from the client)
#   web UI     http://shoebox.local/ (port 80) serves the UI and its script;
#              Immich's port 2283 answers /api/server/ping
#   HTTPS      port 443 serves the web UI with a self-signed certificate
#              for shoebox.local made on the box (shoebox-firstboot), which
#              curl verifies; and answers a request as a browser makes it
#              (ALPN offering h2 and http/1.1)
#   wizard     admin sign-up, login, box name, time zone, backup target,
#              setup complete (the calls the web UI's wizard makes)
#   storaged   GET /api/shoebox/storage/disks answers 200 with the disks:
#              shoeboxd reached shoebox-storaged on the system bus
#   library    a photo uploaded with POST /api/assets gets its thumbnail
#   console    shoeboxd runs as user shoebox, not root; no unit failed
#              (reported by a test-only unit of the image on ttyS0)
#   reboot     after a clean power-off (ACPI power button) and a new boot
#              on the same disks: same login, same asset bytes, same
#              settings, same certificate
#   updates    RAUC bundles built from the image's root: one signed by a
#              stranger is refused; version 2 comes from an update source
#              (a web server on the LAN; a wrong SHA-256 in its manifest is
#              refused after the download) and runs from slot B after the
#              restart; version 3 fails its health check and version 4
#              panics before userspace, and after each the box is back on
#              version 2 by itself with the rollback reported and alerted
#
# Artifacts: target/image-test/run/ (serial console of each boot, QEMU's
# stderr, the certificate). Environment:
#   SHOEBOX_BIN_DIR        binaries for the image (target/release; ci/test
#                          passes target/debug)
#   SHOEBOX_IMAGE_DIR      image and artifact folder (target/image-test)
#   SHOEBOX_QEMU_ACCEL     QEMU accelerator (default: kvm where it boots the
#                          image's kernel, else tcg,thread=multi)
#   SHOEBOX_BOOT_TIMEOUT   seconds a boot may take until the web UI answers (480)
#   SHOEBOX_IMAGE_NO_INSTALL=1  do not run ci/install-image-deps.sh
#
# Needs root (network namespaces, tap device, mmdebstrap).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
OUT=${SHOEBOX_IMAGE_DIR:-$REPO/target/image-test}
RUN=$OUT/run
BOOT_TIMEOUT=${SHOEBOX_BOOT_TIMEOUT:-480}

# The test LAN: addresses from the benchmarking range (RFC 2544), which no
# real host uses; they exist only inside our namespaces. The guest's address
# is set in the image (ci/build-test-image.sh), as there is no DHCP here.
GUEST_IP=198.18.77.10
CLIENT_IP=198.18.77.2
GUEST_MAC=52:54:00:5b:0c:0a
BOX=shoebox.local
NS_LAN=shoebox-lan-$$
NS_CLIENT=shoebox-client-$$

ADMIN_EMAIL=admin@example.com
ADMIN_PASSWORD='correct horse battery staple'
TIME_ZONE=Europe/Paris
BACKUP_TARGET=/media/backup

if [[ $EUID -ne 0 ]]; then
    echo "image-test: SKIPPED: needs root (network namespaces, a tap device, mmdebstrap)"
    exit 0
fi

# shellcheck source=ci/lib/checks.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/checks.sh"

PHASES=() PHASE='' PHASE_START=0
phase() { # closes the running phase (if any) and starts the next
    if [[ -n $PHASE ]]; then PHASES+=("$(printf '%-30s %5ss' "$PHASE" $((SECONDS - PHASE_START)))"); fi
    PHASE=${1:-}; PHASE_START=$SECONDS
    if [[ -n $PHASE ]]; then printf '\n== %s\n' "$PHASE"; fi
}

finish() {
    phase
    printf '\nimage-test: phase durations\n'; printf '  %s\n' "${PHASES[@]}"
    printf '  %-30s %5ss\n' total $((SECONDS - START))
    printf 'artifacts: %s\n' "${RUN#"$REPO"/}"
    if ((FAILED)); then printf 'failed:\n'; printf '  - %s\n' "${FAILED_NAMES[@]}"; fi
    # Last line in the plain "N passed, N failed" form CI summaries read.
    printf 'image-test: %d passed, %d failed\n' "$PASSED" "$FAILED"
    if ((FAILED)); then exit 1; fi
    exit 0
}

# ------------------------------------------------------------- clean-up
QEMU_PID='' AVAHI_PID='' DBUS_PID='' SITE_PID=''
stop_pid() {
    if [[ -n $1 ]]; then kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; fi
}
cleanup() {
    set +e
    stop_pid "$QEMU_PID"; stop_pid "$AVAHI_PID"; stop_pid "$DBUS_PID"; stop_pid "$SITE_PID"
    ip netns del "$NS_LAN" 2>/dev/null || true
    ip netns del "$NS_CLIENT" 2>/dev/null || true
    # The disks are scratch; the logs stay as artifacts.
    rm -f "$RUN"/*.img "$RUN"/*.qcow2 "$RUN"/*.sock
}
trap cleanup EXIT
trap 'exit 130' INT TERM

in_client() { ip netns exec "$NS_CLIENT" "$@"; }

# ------------------------------------------------------------- waiting
# Polls a condition until a deadline; no fixed sleeps stand in for it.
# Gives up early when QEMU has exited.
wait_for() { # <seconds> <command...>
    local deadline=$((SECONDS + $1)); shift
    until "$@"; do
        if [[ -n $QEMU_PID ]] && ! kill -0 "$QEMU_PID" 2>/dev/null; then return 2; fi
        ((SECONDS < deadline)) || return 1
        sleep 1
    done
}

console_tail() { # the end of the console log, for a failure message
    printf 'last lines of %s:\n' "${CONSOLE#"$REPO"/}"
    tail -n 40 "$CONSOLE" 2>/dev/null | tr -d '\r'
}

# ------------------------------------------------------------- network
setup_network() {
    ip netns add "$NS_LAN"
    ip netns add "$NS_CLIENT"
    ip -n "$NS_LAN" link set lo up
    ip -n "$NS_CLIENT" link set lo up
    ip -n "$NS_LAN" link add br0 type bridge
    ip -n "$NS_LAN" link set br0 up
    ip -n "$NS_LAN" tuntap add dev tap0 mode tap
    ip -n "$NS_LAN" link set tap0 master br0 up
    ip -n "$NS_LAN" link add client0 type veth peer name eth0 netns "$NS_CLIENT"
    ip -n "$NS_LAN" link set client0 master br0 up
    ip -n "$NS_CLIENT" addr add "$CLIENT_IP/24" dev eth0
    ip -n "$NS_CLIENT" link set eth0 up
}

# A second avahi-daemon for the client. It must not touch the host's bus or
# /run: its bus is a private dbus-daemon (libdbus takes the "system" bus
# from DBUS_SYSTEM_BUS_ADDRESS), and /run is a private tmpfs for its pid
# file and socket.
start_client_avahi() {
    export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$RUN/client-bus.sock"
    cat >"$RUN/client-bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <listen>unix:path=$RUN/client-bus.sock</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
EOF
    cat >"$RUN/client-avahi.conf" <<'EOF'
[server]
host-name=lan-client
use-ipv4=yes
use-ipv6=no
allow-interfaces=eth0
enable-dbus=yes
[wide-area]
enable-wide-area=no
[publish]
disable-publishing=yes
EOF
    # Started by `ip netns exec` itself (not through a shell function), so
    # that $! is the daemon's own process id, which clean-up stops.
    ip netns exec "$NS_CLIENT" dbus-daemon --nofork --nopidfile --config-file="$RUN/client-bus.conf" >"$RUN/client-bus.log" 2>&1 &
    DBUS_PID=$!
    wait_for 10 test -S "$RUN/client-bus.sock" || { fail "client D-Bus for avahi starts"; return 1; }
    # shellcheck disable=SC2016 # $1 belongs to the inner shell
    ip netns exec "$NS_CLIENT" unshare --mount sh -c 'mount -t tmpfs tmpfs /run && exec avahi-daemon --no-chroot --no-drop-root -f "$1"' \
        sh "$RUN/client-avahi.conf" >"$RUN/client-avahi.log" 2>&1 &
    AVAHI_PID=$!
}

# ------------------------------------------------------------- the VM
IMAGE='' CONSOLE=''
OVMF_CODE=/usr/share/OVMF/OVMF_CODE_4M.fd
make_disks() {
    qemu-img create -q -f qcow2 -F raw -b "$IMAGE/disk.img" "$RUN/root.qcow2"
    # The firmware's variables, kept across boots like a board's NVRAM.
    cp /usr/share/OVMF/OVMF_VARS_4M.fd "$RUN/ovmf-vars.fd"
    # The boot disk's data partition, by label (systemd/data.mount).
    truncate -s 1G "$RUN/data.img"
    mkfs.btrfs -q -L shoebox-data "$RUN/data.img" >"$RUN/mkfs-data.log"
    # A disk with nothing on it, which storaged should offer as blank.
    truncate -s 256M "$RUN/blank.img"
}

# /dev/kvm can open and KVM still fail at the first vCPU (seen here: QEMU
# aborts on an MSR the host refuses), so KVM counts as working only if it
# boots the image's kernel to the panic of a missing root file system
# (QEMU then exits 0, as -no-reboot makes it).
kvm_works() {
    [[ -r /dev/kvm && -w /dev/kvm ]] || return 1
    timeout 60 qemu-system-x86_64 -machine q35 -accel kvm -cpu max -m 256 -nodefaults -display none -no-reboot \
        -kernel "$IMAGE/vmlinuz" -append "panic=-1 root=/dev/nonexistent rootwait=0" >/dev/null 2>&1
}

boot() { # <boot number>
    CONSOLE=$RUN/console-boot$1.log
    : >"$CONSOLE"
    # -no-reboot: a guest reboot or kernel panic ends QEMU, which the
    # waits notice at once instead of running into their deadline.
    ip netns exec "$NS_LAN" qemu-system-x86_64 -name shoebox-image-test \
        -machine q35 -accel "$ACCEL" -cpu max -smp 2 -m 2048 \
        -nodefaults -display none -no-reboot \
        -drive "if=pflash,format=raw,readonly=on,file=$OVMF_CODE" \
        -drive "if=pflash,format=raw,file=$RUN/ovmf-vars.fd" \
        -drive "file=$RUN/root.qcow2,if=virtio,format=qcow2" \
        -drive "file=$RUN/data.img,if=virtio,format=raw" \
        -drive "file=$RUN/blank.img,if=virtio,format=raw" \
        -netdev tap,id=lan,ifname=tap0,script=no,downscript=no \
        -device "virtio-net-pci,netdev=lan,mac=$GUEST_MAC,romfile=" \
        -device virtio-rng-pci \
        -serial "file:$CONSOLE" \
        -monitor "unix:$RUN/monitor.sock,server=on,wait=off" \
        2>"$RUN/qemu-boot$1.stderr" &
    QEMU_PID=$!
}

# Waits until the web UI answers on port 80; false (with the console's
# tail) on a timeout or when QEMU exited.
wait_for_web() { # <boot number>
    local t0=$SECONDS rc=0
    wait_for "$BOOT_TIMEOUT" in_client curl -fs -o /dev/null --max-time 5 "http://$GUEST_IP/api/server/ping" || rc=$?
    if ((rc == 0)); then
        pass "boot $1: the web UI answers on port 80 after $((SECONDS - t0))s"
        return 0
    fi
    if ((rc == 2)); then
        fail "boot $1: QEMU exited before the web UI answered" "$(cat "$RUN/qemu-boot$1.stderr"; console_tail)"
    else
        fail "boot $1: the web UI did not answer on port 80 within ${BOOT_TIMEOUT}s" "$(console_tail)"
    fi
    return 1
}

# A clean power-off: the ACPI power button, as a person would press it;
# systemd stops every service and unmounts /data before the VM turns off.
power_off() {
    local t0=$SECONDS rc=0
    echo system_powerdown | socat - "UNIX-CONNECT:$RUN/monitor.sock" >/dev/null
    local deadline=$((SECONDS + 180))
    while kill -0 "$QEMU_PID" 2>/dev/null && ((SECONDS < deadline)); do sleep 1; done
    if kill -0 "$QEMU_PID" 2>/dev/null; then
        fail "clean power-off within 180s" "$(console_tail)"
        stop_pid "$QEMU_PID"; QEMU_PID=''
        return 1
    fi
    wait "$QEMU_PID" || rc=$?
    QEMU_PID=''
    if ((rc == 0)) && grep -q 'reboot: Power down' "$CONSOLE"; then
        pass "clean power-off in $((SECONDS - t0))s (the kernel reached 'Power down')"
    else
        fail "clean power-off (QEMU exit status $rc)" "$(console_tail)"
        return 1
    fi
}

# ------------------------------------------------------------- HTTP
BOX_ADDR=$GUEST_IP   # replaced by the address mDNS gives for shoebox.local
TOKEN=''
# curl against the box by name, as a browser on the LAN would use it.
box_curl() { in_client curl -sS --max-time 150 --resolve "$BOX:80:$BOX_ADDR" --resolve "$BOX:443:$BOX_ADDR" --resolve "$BOX:2283:$BOX_ADDR" "$@"; }
# api <method> <path> [json body] -> prints "<status> <body>"
api() {
    local args=(-X "$1" -w '\n%{http_code}' "http://$BOX/api$2")
    [[ -n $TOKEN ]] && args+=(-H "Authorization: Bearer $TOKEN")
    [[ -n ${3:-} ]] && args+=(-H 'Content-Type: application/json' --data "$3")
    local out
    out=$(box_curl "${args[@]}") || { echo "000 curl failed"; return 0; }
    printf '%s %s\n' "${out##*$'\n'}" "${out%$'\n'*}"
}
status_of() { echo "${1%% *}"; }
body_of() { echo "${1#* }"; }
expect_status() { # <name> <wanted status> <api output>
    if [[ $(status_of "$3") == "$2" ]]; then pass "$1"; return 0; fi
    fail "$1" "status $(status_of "$3"), wanted $2: $(body_of "$3" | head -c 600)"
    return 1
}

login() {
    local r
    TOKEN=''
    r=$(api POST /auth/login "$(jq -nc --arg e "$ADMIN_EMAIL" --arg p "$ADMIN_PASSWORD" '{email: $e, password: $p}')")
    expect_status "$1" 201 "$r" || return 1
    TOKEN=$(body_of "$r" | jq -r .accessToken)
}

# ------------------------------------------------------------- checks
check_mdns() {
    local out line rc=0
    # The browser's cache fills within a second or two of the announcements;
    # poll until both services are seen with their host, address and port.
    browse() {
        out=$(in_client timeout 20 avahi-browse --resolve --terminate --parsable --no-db-lookup "$1" 2>&1) || return 1
        line=$(awk -F';' -v box="$BOX" -v port="$2" '$1 == "=" && $3 == "IPv4" && $7 == box && $9 == port' <<<"$out" | head -n1) || true
        [[ -n $line ]]
    }
    if wait_for 90 browse _http._tcp 80; then
        BOX_ADDR=$(cut -d';' -f8 <<<"$line")
        pass "mDNS: _http._tcp '$(cut -d';' -f4 <<<"$line" | sed 's/\\032/ /g')' on $BOX:80 ($BOX_ADDR) $(cut -d';' -f10 <<<"$line")"
    else
        fail "mDNS: _http._tcp on $BOX port 80 is announced" "avahi-browse said:"$'\n'"$out"$'\n'"client avahi-daemon:"$'\n'"$(tail -5 "$RUN/client-avahi.log")"
    fi
    if wait_for 30 browse _https._tcp 443; then
        pass "mDNS: _https._tcp on $BOX:443 $(cut -d';' -f10 <<<"$line")"
    else
        fail "mDNS: _https._tcp on $BOX port 443 is announced" "$out"
    fi
    out=$(in_client timeout 20 avahi-resolve --name "$BOX" -4 2>&1) || rc=$?
    if ((rc == 0)) && [[ $(awk '{print $2}' <<<"$out") == "$GUEST_IP" ]]; then
        pass "mDNS: $BOX resolves to $GUEST_IP"
    else
        fail "mDNS: $BOX resolves to $GUEST_IP" "$out"
    fi
}

check_web_ui() {
    local page script headers
    page=$(box_curl -f "http://$BOX/" 2>&1) || true
    script=$(grep -o 'src="/assets/[^"]*\.js"' <<<"$page" | head -n1 | sed 's/^src="//; s/"$//') || true
    if [[ $page == *'<title>Shoebox</title>'* && -n $script ]]; then
        pass "web UI: http://$BOX/ serves the page"
    else
        fail "web UI: http://$BOX/ serves the page" "$(head -c 600 <<<"$page")"
        return
    fi
    headers=$(box_curl -f -o /dev/null -D - "http://$BOX$script" 2>&1) || true
    if grep -qi '^content-type: .*javascript' <<<"$headers"; then
        pass "web UI: its script $script is served"
    else
        fail "web UI: its script $script is served" "$headers"
    fi
    local r
    r=$(box_curl "http://$BOX:2283/api/server/ping" 2>&1) || true
    if [[ $(jq -r .res <<<"$r" 2>/dev/null) == pong ]]; then pass "Immich port 2283 answers /api/server/ping"
    else fail "Immich port 2283 answers /api/server/ping" "$r"; fi
}

CERT_FINGERPRINT=''
check_https() { # <label>
    local cert=$RUN/cert-$1.pem out fp
    in_client openssl s_client -connect "$BOX_ADDR:443" -servername "$BOX" </dev/null 2>/dev/null |
        openssl x509 -out "$cert" 2>/dev/null || true
    if [[ ! -s $cert ]]; then
        fail "HTTPS: port 443 presents a certificate" "$(in_client openssl s_client -connect "$BOX_ADDR:443" </dev/null 2>&1 | tail -5)"
        return
    fi
    # Self-signed for shoebox.local: with the box's own certificate as the
    # only trust anchor, curl verifies the chain and the host name.
    out=$(box_curl --http1.1 --cacert "$cert" "https://$BOX/" 2>&1) || true
    if [[ $out == *'<title>Shoebox</title>'* ]]; then
        pass "HTTPS: https://$BOX/ serves the web UI over HTTP/1.1, verified against the box's own certificate ($(openssl x509 -in "$cert" -noout -subject))"
    else
        fail "HTTPS: https://$BOX/ serves the web UI over HTTP/1.1, verified against the box's own certificate" \
            "$(head -c 600 <<<"$out")"$'\n'"$(openssl x509 -in "$cert" -noout -subject -issuer -ext subjectAltName 2>&1)"
    fi
    # Browsers offer HTTP/2 by ALPN and speak whatever the server accepts.
    if out=$(box_curl -f --cacert "$cert" -o /dev/null -w '%{http_version}' "https://$BOX/api/server/ping" 2>&1); then
        pass "HTTPS: answers a request as browsers make it (ALPN h2, http/1.1; HTTP/$out used)"
    else
        fail "HTTPS: answers a request as browsers make it (ALPN h2, http/1.1)" \
            "$out"$'\n'"$(box_curl -v --cacert "$cert" -o /dev/null "https://$BOX/api/server/ping" 2>&1 | grep -i 'alpn')"$'\n'"(if the server accepted h2: shoeboxd offers h2 by ALPN but its HTTP server speaks HTTP/1.1 only)"
    fi
    fp=$(openssl x509 -in "$cert" -noout -fingerprint -sha256 | cut -d= -f2)
    if [[ -z $CERT_FINGERPRINT ]]; then
        CERT_FINGERPRINT=$fp
    elif [[ $fp == "$CERT_FINGERPRINT" ]]; then
        pass "HTTPS: the certificate survived the reboot (/var/lib/shoebox on the data disk)"
    else
        fail "HTTPS: the certificate survived the reboot" "before $CERT_FINGERPRINT, after $fp"
    fi
}

check_wizard() {
    local r
    r=$(api GET /shoebox/setup)
    if [[ $(status_of "$r") == 200 ]] &&
        [[ $(body_of "$r" | jq -c '[.complete, .adminCreated, .appliance]') == '[false,false,true]' ]]; then
        pass "wizard: a new box shows the setup wizard (appliance, no admin yet)"
    else
        fail "wizard: a new box shows the setup wizard (appliance, no admin yet)" "$r"
    fi
    r=$(api POST /auth/admin-sign-up "$(jq -nc --arg e "$ADMIN_EMAIL" --arg p "$ADMIN_PASSWORD" '{email: $e, password: $p, name: "Admin"}')")
    expect_status "wizard: admin sign-up" 201 "$r" || return 1
    login "wizard: the admin logs in" || return 1
    # One call per wizard step, as the web UI makes them.
    expect_status "wizard: box name" 200 "$(api PUT /shoebox/setup '{"hostname": "shoebox"}')" || return 1
    expect_status "wizard: time zone $TIME_ZONE" 200 "$(api PUT /shoebox/setup "{\"timeZone\": \"$TIME_ZONE\"}")" || return 1
    expect_status "wizard: backup target $BACKUP_TARGET" 200 "$(api PUT /shoebox/setup "{\"backupTarget\": \"$BACKUP_TARGET\"}")" || return 1
    r=$(api PUT /shoebox/setup '{"complete": true}')
    if [[ $(status_of "$r") == 200 && $(body_of "$r" | jq .complete) == true ]]; then
        pass "wizard: setup marked complete"
    else
        fail "wizard: setup marked complete" "$r"
    fi
}

check_storage() {
    local r disks
    r=$(api GET /shoebox/storage/disks)
    if ! expect_status "storaged: GET /api/shoebox/storage/disks (shoeboxd -> D-Bus -> shoebox-storaged)" 200 "$r"; then return; fi
    disks=$(body_of "$r")
    if [[ $(jq -c '[.[] | select(.path == "/dev/vda") | .system]' <<<"$disks") == '[true]' &&
        $(jq -c '[.[] | select(.path == "/dev/vdc") | .blank, .system]' <<<"$disks") == '[true,false]' ]]; then
        pass "storaged: lists the system disk (vda, marked) and the blank disk (vdc, offered)"
    else
        fail "storaged: lists the system disk (vda, marked) and the blank disk (vdc, offered)" "$disks"
    fi
}

PHOTO=$RUN/photo.jpg ASSET_ID='' PHOTO_SHA1=''
check_upload() {
    # A real JPEG (each run starts with an empty data disk).
    ffmpeg -loglevel error -y -f lavfi -i "testsrc=size=640x480:rate=1" -frames:v 1 "$PHOTO"
    PHOTO_SHA1=$(openssl dgst -sha1 -binary "$PHOTO" | base64)
    local out status body
    out=$(box_curl -w '\n%{http_code}' -H "Authorization: Bearer $TOKEN" \
        -F deviceAssetId=image-test-photo -F deviceId=image-test \
        -F fileCreatedAt=2001-02-03T04:05:06.000Z -F fileModifiedAt=2001-02-03T04:05:06.000Z \
        -F "assetData=@$PHOTO;filename=photo.jpg;type=image/jpeg" "http://$BOX/api/assets" 2>&1) || true
    status=${out##*$'\n'} body=${out%$'\n'*}
    if [[ $status == 201 && $(jq -r .status <<<"$body" 2>/dev/null) == created ]]; then
        ASSET_ID=$(jq -r .id <<<"$body")
        pass "library: a photo uploaded with POST /api/assets (asset $ASSET_ID)"
    else
        fail "library: a photo uploaded with POST /api/assets" "status $status: $body"
        return
    fi
    local r
    r=$(api GET "/shoebox/jobs/wait-idle?timeoutSeconds=120")
    if [[ $(status_of "$r") == 200 && $(body_of "$r" | jq .idle) == true ]]; then
        local headers
        headers=$(box_curl -o /dev/null -D - -H "Authorization: Bearer $TOKEN" "http://$BOX/api/assets/$ASSET_ID/thumbnail" 2>&1) || true
        # The placeholder for a missing thumbnail is marked no-store.
        if grep -q '^HTTP/[0-9.]* 200' <<<"$headers" && grep -qi '^content-type: image/' <<<"$headers" &&
            ! grep -qi 'no-store' <<<"$headers"; then
            pass "library: the box made the photo's thumbnail"
        else
            fail "library: the box made the photo's thumbnail" "$headers"
        fi
    else
        fail "library: background jobs finish" "$r"
    fi
}

check_console() { # <boot number>: the report of the test-only unit
    local line
    console_has() { grep -q 'IMAGE-TEST storaged-user=' "$CONSOLE"; }
    if ! wait_for 120 console_has; then
        fail "boot $1: console report of the test unit" "$(console_tail)"
        return
    fi
    grep -a 'IMAGE-TEST' "$CONSOLE" | tr -d '\r' | sed 's/^/        /'
    line=$(grep -a 'IMAGE-TEST shoeboxd-user=' "$CONSOLE" | tr -d '\r' | sed 's/.*shoeboxd-user=//; s/ *$//') || true
    if [[ $line == shoebox ]]; then pass "boot $1: shoeboxd runs as user shoebox, not root"
    else fail "boot $1: shoeboxd runs as user shoebox, not root" "ps says: '$line'"; fi
    line=$(grep -a 'IMAGE-TEST storaged-user=' "$CONSOLE" | tr -d '\r' | sed 's/.*storaged-user=//; s/ *$//') || true
    if [[ $line == root ]]; then pass "boot $1: shoebox-storaged runs (as root)"
    else fail "boot $1: shoebox-storaged runs (as root)" "ps says: '$line'"; fi
    line=$(grep -a 'IMAGE-TEST failed-units=' "$CONSOLE" | tr -d '\r' | sed 's/.*failed-units=//; s/ *$//') || true
    if [[ -z $line ]]; then pass "boot $1: no unit failed"
    else fail "boot $1: no unit failed" "failed: $line"$'\n'"$(grep -a 'FAILED\|Failed' "$CONSOLE" | tr -d '\r' | head -20)"; fi
}

check_after_reboot() { # [label]
    local label=${1:-after reboot}
    login "$label: the admin logs in with the same password" || return
    local r
    r=$(api GET "/assets/$ASSET_ID")
    if [[ $(status_of "$r") == 200 && $(body_of "$r" | jq -r .checksum) == "$PHOTO_SHA1" ]]; then
        pass "$label: the asset is in the library with its checksum"
    else
        fail "$label: the asset is in the library with its checksum" "$r"
    fi
    local got
    got=$(box_curl -f -H "Authorization: Bearer $TOKEN" "http://$BOX/api/assets/$ASSET_ID/original" | openssl dgst -sha1 -binary | base64) || true
    if [[ $got == "$PHOTO_SHA1" ]]; then pass "$label: the original's bytes are unchanged"
    else fail "$label: the original's bytes are unchanged" "sha1 $got, uploaded $PHOTO_SHA1"; fi
    r=$(api GET /shoebox/setup)
    if [[ $(body_of "$r" | jq -c '[.complete, .adminCreated, .hostname, .timeZone, .backupTarget]' 2>/dev/null) == \
        "[true,true,\"shoebox\",\"$TIME_ZONE\",\"$BACKUP_TARGET\"]" ]]; then
        pass "$label: setup complete, name, time zone and backup target kept"
    else
        fail "$label: setup complete, name, time zone and backup target kept" "$r"
    fi
}

# ------------------------------------------------------------- updates
# Update bundles as the Yocto build makes them (verity format, signed by
# the development keys whose CA the image trusts), each carrying a root
# image derived from the test image's own: version 2 as it is; version 3
# with a shoeboxd that cannot start; and version 2 signed by a CA the box
# does not know.
BUNDLES=$RUN/bundles
KEYS=$OUT/rauc-keys

slot_image() { # <folder> [debugfs commands]: root.img edited, shrunk to its contents plus room to run
    local img=$1/rootfs.ext4 used_mib
    mkdir -p "$1"
    cp --sparse=always "$IMAGE/root.img" "$img"
    if [[ -n ${2:-} ]]; then debugfs -w -f - "$img" <<<"$2" >"$1/debugfs.log" 2>&1; fi
    e2fsck -fy "$img" >/dev/null 2>&1 || true
    resize2fs -M "$img" >/dev/null 2>&1
    used_mib=$(($(stat -c %s "$img") / 1048576))
    resize2fs "$img" $((used_mib + 256))M >/dev/null 2>&1
}

make_bundle() { # <folder> <version> <keys folder> <output>
    cat >"$1/manifest.raucm" <<EOF
[update]
compatible=shoebox-qemu-x86-64
version=$2

[bundle]
format=verity

[image.rootfs]
filename=rootfs.ext4
EOF
    rm -f "$4"
    rauc bundle --cert="$3/dev.cert.pem" --key="$3/dev.key.pem" --mksquashfs-args="-comp lz4" "$1" "$4" >"$4.log" 2>&1
}

build_bundles() {
    mkdir -p "$BUNDLES"
    printf '#!/bin/sh\necho "this shoeboxd is broken on purpose" >&2\nexit 1\n' >"$BUNDLES/broken-shoeboxd"
    slot_image "$BUNDLES/v2" &&
        make_bundle "$BUNDLES/v2" 2 "$KEYS" "$BUNDLES/v2.raucb" &&
        slot_image "$BUNDLES/v3" "cd /usr/bin"$'\n'"rm shoeboxd"$'\n'"write $BUNDLES/broken-shoeboxd shoeboxd"$'\n'"sif shoeboxd mode 0100755" &&
        make_bundle "$BUNDLES/v3" 3 "$KEYS" "$BUNDLES/v3-broken.raucb" &&
        printf 'not an initramfs\n%.0s' {1..4096} >"$BUNDLES/garbage" &&
        slot_image "$BUNDLES/v4" "rm initrd.img"$'\n'"write $BUNDLES/garbage initrd.img" &&
        make_bundle "$BUNDLES/v4" 4 "$KEYS" "$BUNDLES/v4-unbootable.raucb" &&
        "$REPO/yocto/scripts/make-dev-rauc-keys.sh" "$BUNDLES/stranger-keys" >/dev/null 2>&1 &&
        make_bundle "$BUNDLES/v2" 2 "$BUNDLES/stranger-keys" "$BUNDLES/v2-stranger.raucb"
}

# POST a bundle to the web UI's update route -> prints "<status> <body>".
upload_bundle() { # <bundle>
    local out
    out=$(box_curl -X POST -T "$1" -w '\n%{http_code}' -H "Authorization: Bearer $TOKEN" \
        -H 'Content-Type: application/octet-stream' "http://$BOX/api/shoebox/update/bundle") || { echo "000 curl failed"; return 0; }
    printf '%s %s\n' "${out##*$'\n'}" "${out%$'\n'*}"
}

UPDATE=''
update_status() { UPDATE=$(body_of "$(api GET /shoebox/update)"); }
slot_version() { jq -r --arg b "$1" '.slots[] | select(.bootname == $b) | .version' <<<"$UPDATE"; }

# After something refused: the slots are as they were in <status before>.
check_slots_unchanged() { # <name> <status before>
    update_status
    if [[ $(jq -c .slots <<<"$UPDATE") == "$(jq -c .slots <<<"$2")" ]]; then
        pass "$1"
    else
        fail "$1" "before $2, after $UPDATE"
    fi
}

# Waits until RAUC is idle again with <slot> holding <version>, or with an error.
wait_installed() { # <version> <slot it goes to>
    local version=$1 slot=$2
    installed() {
        update_status
        [[ $(jq -r .operation <<<"$UPDATE") == idle && ($(slot_version "$slot") == "$version" || -n $(jq -r .lastError <<<"$UPDATE")) ]]
    }
    if wait_for 900 installed && [[ $(slot_version "$slot") == "$version" ]]; then
        pass "update: version $version installed into slot $slot"
    else
        fail "update: version $version installed into slot $slot" "$UPDATE"
        return 1
    fi
}

# Installs a bundle into the other slot through the API's upload.
install_update() { # <bundle> <version> <slot it goes to>
    expect_status "update: version $2 is uploaded and taken for installing" 202 "$(upload_bundle "$1")" || return 1
    wait_installed "$2" "$3"
}

# The update source: a web server on the client's side of the LAN that
# publishes releases as a vendor's server would, a manifest and bundles.
SITE=$RUN/update-site
SITE_PORT=8080
SOURCE_URL=http://$CLIENT_IP:$SITE_PORT/latest.json
SOURCE=''

publish() { # <version> <bundle> [sha256]: the manifest offers <bundle> as <version> to this board
    mkdir -p "$SITE"
    ln -sf "$2" "$SITE/$(basename "$2")"
    jq -n --arg v "$1" --arg url "$(basename "$2")" --arg sha "${3:-$(sha256sum "$2" | cut -d' ' -f1)}" \
        --argjson size "$(stat -c %s "$2")" \
        '{version: $v, bundles: {"shoebox-qemu-x86-64": {url: $url, sha256: $sha, size: $size},
                                 "shoebox-rock5b": {url: "elsewhere.raucb", sha256: $sha}}}' >"$SITE/latest.json"
}

start_update_site() {
    mkdir -p "$SITE"
    in_client python3 -m http.server --bind "$CLIENT_IP" --directory "$SITE" "$SITE_PORT" >"$RUN/update-site.log" 2>&1 &
    SITE_PID=$!
    wait_for 30 in_client curl -fs -o /dev/null "http://$CLIENT_IP:$SITE_PORT/"
}

source_status() { SOURCE=$(body_of "$(api GET /shoebox/update/source)"); }

# Downloads what the source offers; done when the download is no longer running.
download_offered() { # <name>
    expect_status "$1" 202 "$(api POST /shoebox/update/source/install)" || return 1
    downloaded() { source_status; [[ $(jq -r .download.state <<<"$SOURCE") != downloading ]]; }
    wait_for 600 downloaded
}

# Version 2 from the update source: first with a manifest whose checksum
# is not the bundle's (refused after the download, nothing installed),
# then with the right one.
check_update_source() {
    local r before
    if start_update_site; then
        pass "update source: a web server on the LAN publishes releases at $SOURCE_URL"
    else
        fail "update source: a web server on the LAN publishes releases" "$(cat "$RUN/update-site.log")"; return 1
    fi
    publish 2 "$BUNDLES/v2.raucb" "$(printf '0%.0s' {1..64})"
    expect_status "update source: the admin sets it" 200 "$(api PUT /shoebox/update/source "{\"url\":\"$SOURCE_URL\"}")" || return 1
    r=$(api POST /shoebox/update/source/check)
    if [[ $(body_of "$r" | jq -c '[.available, .check.offered.version, .check.error]') == '[true,"2",""]' ]]; then
        pass "update source: version 2 is offered to a box running version 1"
    else
        fail "update source: version 2 is offered to a box running version 1" "$r"
    fi
    r=$(api POST /shoebox/alerts/check)
    if [[ $(body_of "$r" | jq -r '.[] | select(.key == "update:available:2") | .title') == "An update is available" ]]; then
        pass "update source: the offer is an alert"
    else
        fail "update source: the offer is an alert" "$r"
    fi
    update_status
    before=$UPDATE
    download_offered "update source: a download starts" || return 1
    if [[ $(jq -r .download.state <<<"$SOURCE") == failed && $(jq -r .download.error <<<"$SOURCE") == *"not the one the manifest describes"* ]]; then
        pass "update source: a bundle that does not match the manifest's SHA-256 is refused"
    else
        fail "update source: a bundle that does not match the manifest's SHA-256 is refused" "$SOURCE"
    fi
    check_slots_unchanged "update source: the refused download changed no slot" "$before"
    publish 2 "$BUNDLES/v2.raucb"
    expect_status "update source: checked again" 200 "$(api POST /shoebox/update/source/check)" || return 1
    download_offered "update source: version 2 is downloaded" || return 1
    wait_installed 2 B
}

# After the update: the source offers nothing new, and its alert is gone.
check_source_after_update() { # <boot number>
    local r
    r=$(api POST /shoebox/update/source/check)
    if [[ $(body_of "$r" | jq -c '[.available, .check.offered.version]') == '[false,"2"]' ]]; then
        pass "boot $1: the update source offers nothing newer than the running version 2"
    else
        fail "boot $1: the update source offers nothing newer than the running version 2" "$r"
    fi
    r=$(api POST /shoebox/alerts/check)
    if [[ $(status_of "$r") == 200 && -z $(body_of "$r" | jq -r '.[] | select(.key | startswith("update:available")) | .key') ]]; then
        pass "boot $1: the update-available alert is cleared"
    else
        fail "boot $1: the update-available alert is cleared" "$r"
    fi
}

# The box restarts itself; with -no-reboot that ends QEMU.
wait_for_exit() { # <what> <seconds>
    local deadline=$((SECONDS + $2))
    while kill -0 "$QEMU_PID" 2>/dev/null && ((SECONDS < deadline)); do sleep 1; done
    if kill -0 "$QEMU_PID" 2>/dev/null; then
        fail "$1 within $2s" "$(console_tail)"
        stop_pid "$QEMU_PID"; QEMU_PID=''
        return 1
    fi
    wait "$QEMU_PID" || true
    QEMU_PID=''
    pass "$1"
}

restart_box() { # the API's restart, after an update
    expect_status "update: the box restarts on request" 202 "$(api POST /shoebox/update/restart)" || return 1
    wait_for_exit "update: the box went down to restart" 180
}

check_refused_bundle() {
    local r
    update_status
    local before=$UPDATE
    r=$(upload_bundle "$BUNDLES/v2-stranger.raucb")
    if [[ $(status_of "$r") == 400 && $(body_of "$r" | jq -r .message) == *"refused"* ]]; then
        pass "update: a bundle signed by an unknown key is refused ($(body_of "$r" | jq -r .message | head -c 160)…)"
    else
        fail "update: a bundle signed by an unknown key is refused" "$r"
    fi
    check_slots_unchanged "update: the refused bundle changed no slot" "$before"
}

check_running() { # <boot number> <slot> <version>
    update_status
    if [[ $(jq -r .booted <<<"$UPDATE") == "$2" && $(slot_version "$2") == "$3" ]]; then
        pass "boot $1: running version $3 from slot $2"
    else
        fail "boot $1: running version $3 from slot $2" "$UPDATE"
    fi
}

# After a rollback: the status names the update undone, and so does an alert.
check_rolled_back() { # <boot number> <slot> <version>
    local r
    if [[ $(jq -c '.rolledBack | [.bootname, .version]' <<<"$UPDATE") == "[\"$2\",\"$3\"]" ]]; then
        pass "boot $1: the status says version $3 in slot $2 was rolled back"
    else
        fail "boot $1: the status says version $3 in slot $2 was rolled back" "$UPDATE"
    fi
    r=$(api POST /shoebox/alerts/check)
    if [[ $(body_of "$r" | jq -r '.[] | select(.key | startswith("update:rolled-back:")) | .message') == "Version $3, "* ]]; then
        pass "boot $1: the rollback of version $3 is an alert"
    else
        fail "boot $1: the rollback of version $3 is an alert" "$r"
    fi
}

# ------------------------------------------------------------- main
rm -rf "$RUN"
mkdir -p "$RUN"

if [[ -z ${SHOEBOX_IMAGE_NO_INSTALL:-} ]]; then
    phase "install image test dependencies"
    "$REPO/ci/install-image-deps.sh" || { fail "ci/install-image-deps.sh"; finish; }
fi

phase "image build"
if IMAGE=$("$REPO/ci/build-test-image.sh"); then
    pass "test image ${IMAGE#"$REPO"/}"
else
    fail "ci/build-test-image.sh"; finish
fi

phase "network namespaces"
setup_network
start_client_avahi || finish
make_disks
pass "LAN: namespaces $NS_LAN (QEMU, tap0, br0) and $NS_CLIENT ($CLIENT_IP)"

phase "boot 1"
ACCEL=${SHOEBOX_QEMU_ACCEL:-$(if kvm_works; then echo kvm; else echo tcg,thread=multi; fi)}
boot 1
echo "  QEMU ($ACCEL), console: ${CONSOLE#"$REPO"/}"
wait_for_web 1 || finish

phase "checks, boot 1"
check_mdns
check_web_ui
check_https boot1
check_wizard
check_storage
check_upload
check_console 1

phase "clean power-off, boot 2"
power_off || finish
boot 2
wait_for_web 2 || finish

phase "checks, boot 2"
if [[ -n $TOKEN && -n $ASSET_ID ]]; then
    check_after_reboot
else
    fail "after reboot: library and settings (nothing was stored on boot 1)"
fi
check_https boot2
check_console 2

phase "update bundles"
if build_bundles; then
    pass "update: bundles v2, v3 (broken shoeboxd), v4 (an initramfs that is not one) and v2 signed by a stranger ($(du -sh "$BUNDLES/v2.raucb" | cut -f1) each)"
else
    fail "update: building the bundles" "$(tail -n 20 "$BUNDLES"/*.log 2>/dev/null)"; finish
fi

phase "update to version 2 from the update source"
check_refused_bundle
check_update_source || finish
restart_box || finish
boot 3
wait_for_web 3 || finish
check_after_reboot "after the update"
check_running 3 B 2
check_source_after_update 3
check_console 3

phase "a broken update rolls back"
install_update "$BUNDLES/v3-broken.raucb" 3 A || finish
restart_box || finish
boot 4
wait_for_exit "boot 4: the broken slot A fails its health check and restarts the box by itself" "$BOOT_TIMEOUT" || finish
if grep -aq 'not healthy on its first boot' "$CONSOLE"; then
    pass "boot 4: the console says slot A was not healthy and is rolled back"
else
    fail "boot 4: the console says slot A was not healthy and is rolled back" "$(console_tail)"
fi
boot 5
wait_for_web 5 || finish
check_after_reboot "after the rollback"
check_running 5 B 2
check_rolled_back 5 A 3
check_console 5

phase "an update that cannot boot falls back"
install_update "$BUNDLES/v4-unbootable.raucb" 4 A || finish
restart_box || finish
boot 6
wait_for_exit "boot 6: slot A's kernel finds no system to start and the box restarts by itself" "$BOOT_TIMEOUT" || finish
# The kernel says "Run /init as init process" when userspace starts.
if grep -aq 'Kernel panic' "$CONSOLE" && ! grep -aq 'as init process' "$CONSOLE"; then
    pass "boot 6: the kernel of slot A panicked before any of its userspace ran"
else
    fail "boot 6: the kernel of slot A panicked before any of its userspace ran" "$(console_tail)"
fi
boot 7
wait_for_web 7 || finish
check_after_reboot "after the failed boot"
check_running 7 B 2
check_rolled_back 7 A 4
check_console 7
finish
