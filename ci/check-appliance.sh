#!/usr/bin/env bash
# Checks of the appliance files that need no image build: systemd/, rootfs/,
# board/ and yocto/. Installs the tools it needs (Debian packages, and a
# Python venv under target/), runs every check even after a failure, prints
# what it checked and exits non-zero if anything failed.
#
#   ci/check-appliance.sh              run the checks
#   ci/check-appliance.sh --self-test  also prove they bite: plant one
#                                      typo at a time in a copy of the tree
#                                      and expect each to be caught
#
# Environment:
#   SHOEBOX_CHECK_NO_INSTALL=1   do not install anything (tools must exist)
#   SHOEBOX_CHECK_REPO=DIR       check this tree instead of the script's own
#
# Run it as root (CI does): the tmpfiles check chowns inside its scratch
# root, and missing Debian packages are installed with apt-get.
#
# What it checks:
#   units      systemd-analyze verify of every unit in systemd/, in a scratch
#              root holding the host's units, the rootfs/ overlay and stub
#              binaries; any message fails (an unknown or misspelt directive
#              is only a warning to systemd). Every unit a unit names must
#              exist. Exposure scores (systemd-analyze security) stay under
#              per-unit ceilings.
#   rootfs     sysusers.d and tmpfiles.d applied to a scratch root; the D-Bus
#              policy loaded by a real dbus-daemon; Avahi and D-Bus XML well
#              formed and saying the right things; config.toml parses and
#              agrees with the units, the Avahi ports and the first-boot
#              paths; sysctl keys exist; journald keys are known; the
#              first-boot script really makes a key and certificate, is
#              idempotent and renews a certificate about to expire.
#   shell      shellcheck on the shell scripts.
#   boards     every board/ folder has the same files, plus its boot
#              loader's A/B pieces; board.toml has the
#              required keys and known values (video interfaces, where each
#              model part runs, the NPU's target platform); partitions.toml,
#              partitions.wks and rauc-system.conf agree; kas files pass
#              kas's own schema and pick the boot loader glue board.toml
#              names; each rauc-system.conf is loaded by a real
#              rauc, which verifies a bundle signed with keys made by
#              yocto/scripts/make-dev-rauc-keys.sh.
#   yocto      oelint-adv on every .bb/.bbappend/.inc/.conf of meta-shoebox;
#              the crate list matches Cargo.lock and the npm shrinkwrap
#              matches web/package-lock.json; every unit in systemd/ is
#              packaged by the shoebox recipe.
set -euo pipefail

SELF=$(readlink -f "${BASH_SOURCE[0]}")
OWN_REPO=$(cd "$(dirname "$SELF")/.." && pwd)
REPO=$(cd "${SHOEBOX_CHECK_REPO:-$OWN_REPO}" && pwd)
VENV=${SHOEBOX_CHECK_VENV:-$OWN_REPO/target/venv-appliance-check}
PY_PKGS=(oelint-adv==9.11.2 oelint-parser==8.13.2 oelint-data==1.5.26 kas==5.5)
BOARD_FILES=(README.md board.toml kas.yml partitions.toml partitions.wks rauc-system.conf)
# Project binaries that do not exist before cargo has built them.
PROJECT_BINARIES=(/usr/bin/shoeboxd /usr/bin/shoebox-storaged)
# Exposure ceilings for `systemd-analyze security` (its scale x10).
declare -A EXPOSURE_MAX=(
    [shoeboxd.service]=25
    [shoebox-storaged.service]=55
    [shoebox-firstboot.service]=35
    [shoebox-snapshot.service]=15
    [shoebox-backup.service]=15
    # Root: it marks slots through RAUC and restarts the box over D-Bus.
    [shoebox-update-health.service]=30
)

SELF_TEST=0
for arg in "$@"; do
    case $arg in
        --self-test) SELF_TEST=1 ;;
        -h|--help) sed -n '2,/^set /{/^#/p}' "$SELF"; exit 0 ;;
        *) echo "check-appliance: unknown argument $arg" >&2; exit 2 ;;
    esac
done

# shellcheck source=ci/lib/checks.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/checks.sh"
section() { printf '\n== %s\n' "$1"; }

as_root() {
    if [[ $EUID -eq 0 ]]; then "$@"
    elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo "$@"
    else echo "check-appliance: need root to run: $*" >&2; return 1
    fi
}

install_tools() {
    local need=()
    command -v systemd-analyze >/dev/null || need+=(systemd)
    command -v dbus-daemon >/dev/null || need+=(dbus-daemon)
    command -v rauc >/dev/null || need+=(rauc)
    # rauc.service, which shoebox-update-health.service is ordered after.
    [[ -e /lib/systemd/system/rauc.service ]] || need+=(rauc-service)
    command -v mksquashfs >/dev/null || need+=(squashfs-tools)
    command -v shellcheck >/dev/null || need+=(shellcheck)
    command -v openssl >/dev/null || need+=(openssl)
    command -v mkfs.ext4 >/dev/null || need+=(e2fsprogs)
    /usr/bin/python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
    if ((${#need[@]})); then
        echo "check-appliance: installing ${need[*]}"
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    fi
    local want
    want=$(printf '%s\n' "${PY_PKGS[@]}")
    if [[ ! -x $VENV/bin/python || "$(cat "$VENV/.installed" 2>/dev/null)" != "$want" ]]; then
        echo "check-appliance: setting up $VENV"
        /usr/bin/python3 -m venv "$VENV"
        "$VENV/bin/pip" install -q --disable-pip-version-check "${PY_PKGS[@]}"
        printf '%s\n' "$want" > "$VENV/.installed"
    fi
}

unit_files() {
    find "$REPO/systemd" -maxdepth 1 -type f \
        \( -name '*.service' -o -name '*.timer' -o -name '*.mount' -o -name '*.socket' \
           -o -name '*.path' -o -name '*.target' \) -printf '%f\n' | sort
}

# ---------------------------------------------------------------- units
check_units() {
    section "systemd units (systemd-analyze $(systemd-analyze --version | awk 'NR==1 {print $2}'))"
    local root=$WORK/unitroot units=() u
    mapfile -t units < <(unit_files)
    if ((${#units[@]} == 0)); then fail "systemd/ has no units"; return; fi

    mkdir -p "$root/usr/lib/systemd/system" "$root/etc/systemd/system"
    # The host's units, so that targets and sockets our units name resolve.
    cp -a /usr/lib/systemd/system/. "$root/usr/lib/systemd/system/"
    if [[ -d /lib/systemd/system && ! /lib -ef /usr/lib ]]; then
        cp -a /lib/systemd/system/. "$root/usr/lib/systemd/system/"
    fi
    cp -a "$REPO/rootfs/." "$root/"
    for u in "${units[@]}"; do cp "$REPO/systemd/$u" "$root/usr/lib/systemd/system/$u"; done

    # Every executable a unit starts must exist in the scratch root: the
    # overlay's own scripts are there already; project binaries get stubs;
    # other tools must be real programs on this machine.
    local exe missing=()
    while read -r exe; do
        [[ -e $root$exe ]] && continue
        if printf '%s\n' "${PROJECT_BINARIES[@]}" | grep -qx -- "$exe"; then
            mkdir -p "$(dirname "$root$exe")"; printf '#!/bin/sh\nexit 0\n' > "$root$exe"; chmod 0755 "$root$exe"
        elif [[ -x $exe ]]; then
            mkdir -p "$(dirname "$root$exe")"; cp "$exe" "$root$exe"
        else
            missing+=("$exe")
        fi
    done < <(sed -nE 's/^Exec[A-Za-z]*=[-@:+!]*([^ ]+).*/\1/p' "${units[@]/#/$REPO/systemd/}" | sort -u)
    if ((${#missing[@]})); then
        fail "executables named by units exist" "not found: ${missing[*]}"
    else
        pass "executables named by units exist (stubs for ${PROJECT_BINARIES[*]})"
    fi

    local out
    for u in "${units[@]}"; do
        out=$(cd "$root" && systemd-analyze verify --man=no --generators=no --root="$root" "$u" 2>&1) || true
        if [[ -n $out ]]; then fail "verify $u" "$out"; else pass "verify $u"; fi
    done

    # Wants=/After=/WantedBy=... on a misspelt unit name is legal to systemd
    # and silently does nothing: every name must be a unit that exists.
    local refs=() name bad=()
    mapfile -t refs < <(sed -nE 's/^(Wants|Requires|Requisite|BindsTo|PartOf|Upholds|After|Before|Conflicts|OnFailure|OnSuccess|WantedBy|RequiredBy|Also|Unit)=(.*)/\2/p' \
        "${units[@]/#/$REPO/systemd/}" | tr ' ' '\n' | sed '/^$/d' | sort -u)
    for name in "${refs[@]}"; do
        [[ -e $root/usr/lib/systemd/system/$name ]] && continue
        # Alias= names of our own units
        grep -qx "Alias=$name" "${units[@]/#/$REPO/systemd/}" 2>/dev/null && continue
        bad+=("$name")
    done
    if ((${#bad[@]})); then fail "every unit named in dependencies exists" "unknown: ${bad[*]}"
    else pass "every unit named in dependencies exists (${#refs[@]} names)"; fi

    if systemd-analyze security --help 2>/dev/null | grep -q -- '--threshold'; then
        local max score
        for u in "${!EXPOSURE_MAX[@]}"; do
            [[ -e $REPO/systemd/$u ]] || { fail "security $u" "unit missing"; continue; }
            max=${EXPOSURE_MAX[$u]}
            out=$(cd "$root" && systemd-analyze security --offline=yes --root="$root" --threshold="$max" "$u" 2>&1) && ok=1 || ok=0
            score=$(printf '%s\n' "$out" | sed -nE 's/.*Overall exposure level for [^:]+: ([0-9.]+).*/\1/p')
            if ((ok)); then pass "security $u: exposure ${score:-?} <= $((max / 10)).$((max % 10))"
            else fail "security $u: exposure ${score:-?} > $((max / 10)).$((max % 10))" "$(printf '%s\n' "$out" | grep '✗' | head -20)"; fi
        done
    else
        echo "  (systemd-analyze security --offline needs systemd >= 250; skipped)"
    fi
}

# ------------------------------------------------------- sysusers/tmpfiles
check_users_and_dirs() {
    section "sysusers.d and tmpfiles.d (applied to a scratch root)"
    local root=$WORK/sysroot out rc
    mkdir -p "$root/etc" "$root/usr/lib"
    cp -a "$REPO/rootfs/usr/lib/sysusers.d" "$REPO/rootfs/usr/lib/tmpfiles.d" "$root/usr/lib/"
    out=$(systemd-sysusers --root="$root" 2>&1) && rc=0 || rc=$?
    if ((rc)) || grep -qiE 'warn|invalid|fail|ignor|unknown' <<<"$out"; then fail "systemd-sysusers" "$out"
    else pass "systemd-sysusers creates: $(grep -oE "user '[^']+'|group '[^']+'" <<<"$out" | tr '\n' ' ')"; fi
    out=$(systemd-tmpfiles --root="$root" --create 2>&1) && rc=0 || rc=$?
    if ((rc)) || [[ -n $out ]]; then fail "systemd-tmpfiles --create" "$out"
    else pass "systemd-tmpfiles --create"; fi
    local uid d
    uid=$(awk -F: '$1 == "shoebox" {print $3}' "$root/etc/passwd" 2>/dev/null)
    for d in /data/shoebox /data/shoebox/db /data/shoebox/library /data/shoebox/cache /data/.state/shoebox /var/lib/shoebox; do
        if [[ -d $root$d && -n $uid && $(stat -c %u "$root$d") == "$uid" && $(stat -c %a "$root$d") == 750 ]]; then
            :
        else
            fail "tmpfiles: $d owned by shoebox, mode 0750" "$(ls -ldn "$root$d" 2>&1)"; return
        fi
    done
    pass "tmpfiles: data, db, library, cache, state dirs owned by shoebox, mode 0750"
}

# ----------------------------------------------------------- first boot
check_firstboot() {
    section "first-boot script (run against a scratch state directory)"
    local script=$REPO/rootfs/usr/libexec/shoebox/shoebox-firstboot
    local state=$WORK/firstboot/state out
    mkdir -p "$state" "$WORK/firstboot/data"
    export SHOEBOX_STATE_DIR=$state SHOEBOX_DATA_MOUNT=$WORK/firstboot/data
    if ! out=$(sh "$script" 2>&1); then
        fail "first run" "$out"; unset SHOEBOX_STATE_DIR SHOEBOX_DATA_MOUNT; return
    fi
    pass "first run: $(tr '\n' ' ' <<<"$out" | sed 's/shoebox-firstboot: //g')"
    local key=$state/tls/key.pem cert=$state/tls/cert.pem
    local text
    text=$(openssl x509 -in "$cert" -noout -text 2>&1 || true)
    if grep -q 'DNS:shoebox.local' <<<"$text" && grep -q 'TLS Web Server Authentication' <<<"$text" \
        && grep -q 'CA:FALSE' <<<"$text" && grep -q 'prime256v1' <<<"$text" \
        && [[ $(openssl pkey -in "$key" -pubout 2>/dev/null) == "$(openssl x509 -in "$cert" -noout -pubkey 2>/dev/null)" ]] \
        && [[ $(stat -c %a "$key") == 600 ]]; then
        pass "TLS: P-256 key (0600) matches a server certificate for shoebox.local"
    else fail "TLS: P-256 key (0600) matches a server certificate for shoebox.local" "$(head -c 1500 <<<"$text")"; fi
    local before after
    before=$(cat "$cert" "$key" | sha256sum)
    sh "$script" >/dev/null 2>&1 || true
    after=$(cat "$cert" "$key" | sha256sum)
    if [[ $before == "$after" ]]; then pass "second run changes nothing"
    else fail "second run changes nothing"; fi
    # A certificate that expires tomorrow must be replaced.
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
        -subj /CN=old -keyout "$key" -out "$cert" 2>/dev/null
    sh "$script" >/dev/null 2>&1 || true
    if openssl x509 -in "$cert" -noout -checkend $((30 * 24 * 3600)) >/dev/null 2>&1; then
        pass "a certificate about to expire is renewed"
    else fail "a certificate about to expire is renewed"; fi
    unset SHOEBOX_STATE_DIR SHOEBOX_DATA_MOUNT
}

# ------------------------------------------------------------ dbus policy
check_dbus_daemon() {
    section "D-Bus policy (loaded by dbus-daemon $(dbus-daemon --version | awk 'NR==1 {print $NF}'))"
    local conf=$WORK/dbus/bus.conf dir=$WORK/dbus/system.d out pid
    mkdir -p "$dir"
    cp "$REPO/rootfs/usr/share/dbus-1/system.d/"*.conf "$dir/"
    cat > "$conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$WORK/dbus/socket</listen>
  <auth>EXTERNAL</auth>
  <policy context="default"><allow user="*"/></policy>
  <includedir>$dir</includedir>
</busconfig>
EOF
    # dbus-daemon refuses a configuration it cannot parse (unknown element or
    # attribute, bad XML) at start-up; a clean start with our file included
    # is the check. It runs in the foreground and is stopped at once.
    out=$WORK/dbus/out
    dbus-daemon --config-file="$conf" --nofork --nosyslog --print-address=1 >"$out" 2>&1 &
    pid=$!
    local _
    for _ in $(seq 50); do
        grep -q 'unix:' "$out" 2>/dev/null && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    # Expected noise: this machine has no "shoebox" user (the daemon then
    # ignores that <policy>, which is what it does before sysusers ran), and
    # an unprivileged container may refuse to raise the fd limit.
    local noise
    noise=$(grep -vE '^unix:|Unknown username "shoebox" in message bus configuration|Failed to set fd limit' "$out" || true)
    if grep -q '^unix:' "$out" && kill -0 "$pid" 2>/dev/null && [[ -z $noise ]]; then
        pass "dbus-daemon loads $(cd "$dir" && echo *.conf)"
    else
        fail "dbus-daemon loads the policy" "$(cat "$out")"
    fi
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# ------------------------------------------------------------------ shell
check_shell() {
    section "shell scripts (shellcheck $(shellcheck --version | awk '/^version:/ {print $2}'))"
    local f out
    for f in "$REPO/rootfs/usr/libexec/shoebox/shoebox-firstboot" "$REPO"/yocto/scripts/*.sh "$REPO"/crates/bench/*.sh "$REPO/ci/check-appliance.sh" \
        "$REPO/ci/uboot-test.sh" "$REPO/ci/install-image-deps.sh"; do
        [[ -e $f ]] || continue
        if out=$(shellcheck -x "$f" 2>&1); then pass "shellcheck ${f#"$REPO"/}"
        else fail "shellcheck ${f#"$REPO"/}" "$out"; fi
    done
}

# --------------------------------------------- structure (python, one pass)
check_structure() {
    section "rootfs files, boards, kas files and the layer's packaging"
    local rc=0
    "$VENV/bin/python" - "$REPO" "${BOARD_FILES[@]}" <<'PY' || rc=$?
import configparser, glob, os, re, shlex, sys, tomllib
import xml.etree.ElementTree as ET

repo = sys.argv[1]
board_files = sorted(sys.argv[2:])
failures = 0

def ok(msg): print(f"  ok    {msg}")
def bad(msg, detail=""):
    global failures
    failures += 1
    print(f"  FAIL  {msg}")
    for line in str(detail).splitlines():
        print(f"        {line}")
def rel(p): return os.path.relpath(p, repo)
def check(cond, msg, detail=""):
    (ok if cond else bad)(msg, *( [] if cond else [detail] ))
    return cond

def load_toml(path):
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as e:
        bad(f"{rel(path)} parses as TOML", e)
        return None

def load_xml(path):
    try:
        return ET.parse(path).getroot()
    except (OSError, ET.ParseError) as e:
        bad(f"{rel(path)} is well-formed XML", e)
        return None

def unit_keys(path):
    """[(section, key, value)] of a unit file, in order."""
    out, section = [], None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("["):
                section = line.strip("[]")
                continue
            k, _, v = line.partition("=")
            out.append((section, k.strip(), v.strip()))
    return out

def unit_get(path, key):
    return [v for _, k, v in unit_keys(path) if k == key]

# ---- rootfs: config.toml, Avahi, D-Bus, hostname, sysctl, journald
cfg_path = os.path.join(repo, "rootfs/etc/shoebox/config.toml")
cfg = load_toml(cfg_path)
if cfg is not None:
    missing = [k for k in ("data_dir", "port", "listen", "http_port", "https_port",
                           "tls_cert", "tls_key", "appliance") if k not in cfg]
    lvl = cfg.get("logging", {}).get("level")
    check(not missing and lvl in ("error", "warn", "info", "debug", "trace"),
          "config.toml has data_dir, port, listen, http(s)_port, TLS paths, appliance, logging.level",
          f"missing: {missing}, logging.level={lvl!r}")
    check(cfg.get("data_dir") == "/data/shoebox", "config.toml data_dir is /data/shoebox", cfg.get("data_dir"))
    fb = open(os.path.join(repo, "rootfs/usr/libexec/shoebox/shoebox-firstboot")).read()
    state = re.search(r'STATE_DIR=\$\{SHOEBOX_STATE_DIR:-([^}]+)\}', fb)
    state = state.group(1) if state else "?"
    want = {"tls_cert": f"{state}/tls/cert.pem", "tls_key": f"{state}/tls/key.pem"}
    diff = {k: (cfg.get(k), v) for k, v in want.items() if cfg.get(k) != v}
    check(not diff, f"config.toml TLS paths are where shoebox-firstboot writes them ({state})", diff)
    unit = os.path.join(repo, "systemd/shoeboxd.service")
    if os.path.exists(unit):
        rw = " ".join(unit_get(unit, "ReadWritePaths")).split()
        need = [cfg.get("data_dir"), state]
        check(all(p in rw for p in need), "shoeboxd.service may write data_dir and the state dir",
              f"ReadWritePaths={rw}, need {need}")
        ports = [cfg.get("http_port"), cfg.get("https_port")]
        caps = " ".join(unit_get(unit, "AmbientCapabilities"))
        if any(isinstance(p, int) and 0 < p < 1024 for p in ports):
            check("CAP_NET_BIND_SERVICE" in caps, "shoeboxd.service may bind ports below 1024", caps)
        check(unit_get(unit, "User") == ["shoebox"], "shoeboxd.service runs as user shoebox", unit_get(unit, "User"))

avahi = os.path.join(repo, "rootfs/etc/avahi/services/shoebox.service")
root = load_xml(avahi)
if root is not None:
    services = {s.findtext("type"): s.findtext("port") for s in root.findall("service")}
    name = root.find("name")
    check(root.tag == "service-group" and name is not None and "%h" in (name.text or "")
          and name.get("replace-wildcards") == "yes",
          "avahi service: a service-group named after the host (%h)", ET.tostring(root)[:200])
    if cfg is not None:
        want = {"_http._tcp": str(cfg.get("http_port")), "_https._tcp": str(cfg.get("https_port"))}
        check(services == want, f"avahi service announces {want} (the ports in config.toml)", services)

policy = os.path.join(repo, "rootfs/usr/share/dbus-1/system.d/org.shoebox.Storage1.conf")
root = load_xml(policy)
storaged = os.path.join(repo, "systemd/shoebox-storaged.service")
bus_name = (unit_get(storaged, "BusName") or ["?"])[0] if os.path.exists(storaged) else "?"
if root is not None:
    owners, senders, default_denies = set(), set(), set()
    for p in root.findall("policy"):
        who = p.get("user") or p.get("group") or p.get("context")
        for a in p.findall("allow"):
            if a.get("own") == bus_name: owners.add(who)
            if a.get("send_destination") == bus_name: senders.add(who)
            if a.get("own_prefix") or a.get("send_destination") in ("*",) : senders.add(f"{who}:wildcard")
        if p.get("context") == "default":
            for dn in p.findall("deny"):
                default_denies.update(v for k, v in dn.attrib.items() if k in ("own", "send_destination"))
    check(root.tag == "busconfig", "D-Bus policy is a busconfig", root.tag)
    check(owners == {"root"}, f"D-Bus policy: only root may own {bus_name}", owners)
    check(senders == {"root", "shoebox"}, f"D-Bus policy: only root and shoebox may call {bus_name}", senders)
    check(default_denies >= {bus_name}, "D-Bus policy: everyone else is denied", default_denies)
act = os.path.join(repo, "rootfs/usr/share/dbus-1/system-services/org.shoebox.Storage1.service")
if os.path.exists(act):
    cp = configparser.ConfigParser(interpolation=None)
    cp.optionxform = str
    cp.read(act)
    s = cp["D-BUS Service"] if cp.has_section("D-BUS Service") else {}
    aliases = unit_get(storaged, "Alias") if os.path.exists(storaged) else []
    check(s.get("Name") == bus_name and s.get("SystemdService") in aliases + ["shoebox-storaged.service"],
          "D-Bus activation file names the bus name and the storaged unit", dict(s))

hostname = open(os.path.join(repo, "rootfs/etc/hostname")).read().strip()
check(hostname == "shoebox", "host name is shoebox (shoebox.local)", hostname)

for f in sorted(glob.glob(os.path.join(repo, "rootfs/usr/lib/sysctl.d/*.conf"))):
    keys = [l.split("=")[0].strip() for l in open(f) if "=" in l and not l.lstrip().startswith(("#", ";"))]
    unknown = [k for k in keys if not os.path.exists("/proc/sys/" + k.lstrip("-").replace(".", "/"))]
    check(not unknown, f"{rel(f)}: {len(keys)} sysctl keys exist in this kernel", f"unknown: {unknown}")

known_journald = set()
if os.path.exists("/etc/systemd/journald.conf"):
    known_journald = {m.group(1) for m in re.finditer(r"^#?([A-Za-z]+)=", open("/etc/systemd/journald.conf").read(), re.M)}
for f in sorted(glob.glob(os.path.join(repo, "rootfs/usr/lib/systemd/journald.conf.d/*.conf"))):
    cp = configparser.ConfigParser(interpolation=None)
    cp.optionxform = str
    try:
        cp.read(f)
        keys = list(cp["Journal"]) if cp.has_section("Journal") else []
        unknown = [k for k in keys if known_journald and k not in known_journald]
        check(cp.sections() == ["Journal"] and keys and not unknown,
              f"{rel(f)}: [Journal] with {len(keys)} known keys", f"sections={cp.sections()} unknown={unknown}")
    except configparser.Error as e:
        bad(f"{rel(f)} parses", e)

# ---- boards
INTERFACES = {"v4l2m2m", "v4l2-request", "rkmpp", "vaapi", "software"}
# Model parts of board.toml's [ml] table and where each may run.
ML_PARTS = ("clip_visual", "clip_textual", "face_detection", "face_recognition", "ocr_detection", "ocr_recognition")
ML_BACKENDS = {"cpu", "npu"}
# rknn-toolkit2 target platforms with converted models in Immich's layout.
RKNN_PLATFORMS = {"rk3566", "rk3568", "rk3576", "rk3588"}
ARCHES = {"aarch64", "x86_64", "armv7"}
BOOTLOADERS = {"u-boot": "uboot", "grub": "grub", "efi": "efi"}
boards = sorted(d for d in os.listdir(os.path.join(repo, "board"))
                if os.path.isdir(os.path.join(repo, "board", d)))
check(len(boards) >= 4, f"{len(boards)} boards: {', '.join(boards)}")
# The boot loader's A/B pieces: GRUB's script (grub.cfg); for U-Boot the
# board's values for the shared board/boot.cmd, where libubootenv finds the
# environment, and the U-Boot configuration fragment.
BOOT_FILES = {"grub": ["grub.cfg"], "u-boot": ["boot-vars.cmd", "fw_env.config", "u-boot.cfg"]}
for b in boards:
    d = os.path.join(repo, "board", b)
    files = sorted(f for f in os.listdir(d) if not f.startswith("."))
    loader = (load_toml(os.path.join(d, "board.toml")) or {}).get("bootloader") if os.path.exists(os.path.join(d, "board.toml")) else None
    wanted = sorted(board_files + BOOT_FILES.get(loader, []))
    check(files == wanted, f"board/{b} has exactly {', '.join(wanted)}",
          f"missing: {sorted(set(wanted) - set(files))}, extra: {sorted(set(files) - set(wanted))}")

def require(t, path, typ, where, problems):
    cur = t
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            problems.append(f"missing {path}")
            return None
        cur = cur[part]
    if not isinstance(cur, typ) or isinstance(cur, bool) and typ is int:
        problems.append(f"{path} should be {typ.__name__}, is {type(cur).__name__}")
        return None
    return cur

for b in boards:
    d = os.path.join(repo, "board", b)
    bt = load_toml(os.path.join(d, "board.toml")) if os.path.exists(os.path.join(d, "board.toml")) else None
    if bt is None:
        continue
    p = []
    require(bt, "schema", int, b, p)
    if require(bt, "name", str, b, p) not in (None, b): p.append(f"name is {bt['name']!r}, folder is {b!r}")
    for k in ("title", "soc", "cpu", "kas_machine"):
        require(bt, k, str, b, p)
    arch = require(bt, "arch", str, b, p)
    if arch is not None and arch not in ARCHES: p.append(f"arch {arch!r} not in {sorted(ARCHES)}")
    require(bt, "cores", int, b, p)
    if require(bt, "kas_overlay", str, b, p) not in (None, f"board/{b}/kas.yml"): p.append("kas_overlay is not this folder's kas.yml")
    bl = require(bt, "bootloader", str, b, p)
    if bl is not None and bl not in BOOTLOADERS: p.append(f"bootloader {bl!r} not in {sorted(BOOTLOADERS)}")
    if require(bt, "rauc_compatible", str, b, p) not in (None, f"shoebox-{b}"): p.append("rauc_compatible is not shoebox-<name>")
    lo, hi = require(bt, "ram.min_gb", int, b, p), require(bt, "ram.max_gb", int, b, p)
    sup, rec = require(bt, "ram.supported_min_gb", int, b, p), require(bt, "ram.recommended_gb", int, b, p)
    if None not in (lo, hi, sup, rec) and not (lo <= sup <= rec <= hi): p.append("RAM: need min <= supported_min <= recommended <= max")
    for path in ("video.decode.h264", "video.decode.hevc", "video.encode.h264", "video.encode.hevc", "video.scale"):
        iface = require(bt, path + ".interface", str, b, p)
        if iface is not None and iface not in INTERFACES: p.append(f"{path}.interface {iface!r} not in {sorted(INTERFACES)}")
        probe = bt.get("video", {}).get(path.split(".")[1], {})
        probe = probe.get(path.split(".")[2], {}) if path.count(".") == 2 else probe
        for x in probe.get("probe", []) if isinstance(probe, dict) else []:
            if x not in INTERFACES: p.append(f"{path}.probe {x!r} not in {sorted(INTERFACES)}")
    npu = require(bt, "npu.present", bool, b, p)
    if npu:
        for k, t in (("runtime", str), ("library", str), ("tops", int), ("cores", int)):
            require(bt, f"npu.{k}", t, b, p)
        if bt["npu"].get("runtime") == "rknpu2":
            tp = require(bt, "npu.target_platform", str, b, p)
            if tp is not None and tp not in RKNN_PLATFORMS: p.append(f"npu.target_platform {tp!r} not in {sorted(RKNN_PLATFORMS)}")
    on_npu = []
    for part in ML_PARTS:
        where = require(bt, f"ml.{part}", str, b, p)
        if where is not None and where not in ML_BACKENDS: p.append(f"ml.{part} {where!r} not in {sorted(ML_BACKENDS)}")
        if where == "npu": on_npu.append(part)
    unknown = sorted(set(bt.get("ml", {})) - set(ML_PARTS)) if isinstance(bt.get("ml"), dict) else []
    if unknown: p.append(f"ml: unknown model parts {unknown}, known: {list(ML_PARTS)}")
    if on_npu and not npu: p.append(f"ml: {on_npu} on the NPU, but npu.present is not true")
    for k in ("disks.interfaces", "disks.boot_media"):
        v = require(bt, k, list, b, p)
        if v is not None and (not v or not all(isinstance(x, str) for x in v)): p.append(f"{k} must be a non-empty list of strings")
    check(not p, f"board/{b}/board.toml: required keys and known values", "\n".join(p))

    # partitions.toml
    pt = load_toml(os.path.join(d, "partitions.toml")) if os.path.exists(os.path.join(d, "partitions.toml")) else None
    if pt is None:
        continue
    parts = pt.get("partition", [])
    p = []
    if pt.get("table") != "gpt": p.append(f"table is {pt.get('table')!r}, not gpt")
    roles = [x.get("role") for x in parts]
    core = [r for r in roles if r != "firmware"]
    if core != ["boot", "rootfs-a", "rootfs-b", "data"]: p.append(f"roles after firmware areas must be boot, rootfs-a, rootfs-b, data; got {core}")
    if roles and roles[-1] != "data": p.append("data must be the last partition")
    if roles[:len(roles) - len(core)] != ["firmware"] * (len(roles) - len(core)): p.append("firmware areas must come first")
    names = [x.get("part_name") for x in parts]
    if len(set(names)) != len(names) or None in names: p.append(f"part_name missing or repeated: {names}")
    byrole = {x.get("role"): x for x in parts if x.get("role") != "firmware"}
    a, bb_ = byrole.get("rootfs-a", {}), byrole.get("rootfs-b", {})
    if (a.get("size_mib"), a.get("fstype")) != (bb_.get("size_mib"), bb_.get("fstype")): p.append("rootfs-a and rootfs-b differ in size or fstype")
    if not byrole.get("data", {}).get("grow"): p.append("data partition must have grow = true")
    if byrole.get("data", {}).get("mountpoint") != "/data": p.append("data partition must be mounted on /data")
    for x in parts:
        if x.get("role") != "firmware" and not isinstance(x.get("size_mib"), int): p.append(f"{x.get('part_name')}: size_mib must be an integer")
        if x.get("role") == "firmware" and not isinstance(x.get("size_kib"), int): p.append(f"{x.get('part_name')}: size_kib must be an integer")
    check(not p, f"board/{b}/partitions.toml: firmware*, boot, rootfs-a, rootfs-b, data (grows)", "\n".join(p))

    # partitions.wks must say the same thing
    p = []
    wks_parts, ptable = [], None
    for line in open(os.path.join(d, "partitions.wks")):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        words = shlex.split(line, posix=True)
        if words[0] == "bootloader":
            for i, w in enumerate(words):
                if w == "--ptable": ptable = words[i + 1]
                elif w.startswith("--ptable="): ptable = w.split("=", 1)[1]
            continue
        if words[0] != "part":
            p.append(f"unexpected line: {line}")
            continue
        opts, pos, i = {}, [], 1
        while i < len(words):
            w = words[i]
            if w.startswith("--"):
                if "=" in w:
                    k, v = w[2:].split("=", 1)
                elif i + 1 < len(words) and not words[i + 1].startswith("--") and w not in ("--active", "--use-uuid", "--no-table", "--no-fstab-update", "--exclude-path"):
                    k, v = w[2:], words[i + 1]; i += 1
                else:
                    k, v = w[2:], True
                opts[k] = v
            else:
                pos.append(w)
            i += 1
        wks_parts.append((opts, pos[0] if pos else None))
    if ptable != pt.get("table"): p.append(f"bootloader --ptable {ptable!r} but partitions.toml table {pt.get('table')!r}")
    if len(wks_parts) != len(parts):
        p.append(f"{len(wks_parts)} part lines for {len(parts)} partitions")
    for (opts, mnt), x in zip(wks_parts, parts):
        n = x.get("part_name")
        if opts.get("part-name") != n: p.append(f"--part-name {opts.get('part-name')!r}, partitions.toml says {n!r}")
        if opts.get("fstype") != x.get("fstype"): p.append(f"{n}: --fstype {opts.get('fstype')!r} vs {x.get('fstype')!r}")
        if x.get("fs_label") and opts.get("label") != x.get("fs_label"): p.append(f"{n}: --label {opts.get('label')!r} vs {x.get('fs_label')!r}")
        size = f"{x['size_mib']}M" if "size_mib" in x else f"{x.get('size_kib')}K"
        if opts.get("fixed-size") != size: p.append(f"{n}: --fixed-size {opts.get('fixed-size')!r} vs {size}")
        if "offset_sectors" in x and opts.get("offset") != f"{x['offset_sectors']}s": p.append(f"{n}: --offset {opts.get('offset')!r} vs {x['offset_sectors']}s")
        want_mnt = x.get("mountpoint") if x.get("mountpoint") in ("/", "/boot") else None
        if mnt != want_mnt: p.append(f"{n}: wks mount point {mnt!r}, expected {want_mnt!r} (/data is mounted by data.mount)")
    check(not p, f"board/{b}/partitions.wks matches partitions.toml", "\n".join(p))

    # rauc-system.conf must match both
    cp = configparser.ConfigParser(interpolation=None, strict=True)
    try:
        cp.read(os.path.join(d, "rauc-system.conf"))
        p = []
        if cp.get("system", "compatible", fallback=None) != f"shoebox-{b}": p.append(f"compatible {cp.get('system', 'compatible', fallback=None)!r}, expected shoebox-{b}")
        if cp.get("system", "bootloader", fallback=None) != BOOTLOADERS.get(bt.get("bootloader")): p.append(f"bootloader {cp.get('system', 'bootloader', fallback=None)!r} but board.toml says {bt.get('bootloader')!r}")
        if cp.get("keyring", "path", fallback=None) != "/etc/rauc/ca.cert.pem": p.append("keyring path must be /etc/rauc/ca.cert.pem")
        for slot, role, bootname in (("slot.rootfs.0", "rootfs-a", "A"), ("slot.rootfs.1", "rootfs-b", "B")):
            x = byrole.get(role, {})
            want = f"/dev/disk/by-partlabel/{x.get('part_name')}"
            if cp.get(slot, "device", fallback=None) != want: p.append(f"{slot}: device {cp.get(slot, 'device', fallback=None)!r}, expected {want}")
            if cp.get(slot, "type", fallback=None) != x.get("fstype"): p.append(f"{slot}: type {cp.get(slot, 'type', fallback=None)!r}, expected {x.get('fstype')}")
            if cp.get(slot, "bootname", fallback=None) != bootname: p.append(f"{slot}: bootname must be {bootname}")
        check(not p, f"board/{b}/rauc-system.conf matches board.toml and partitions.toml", "\n".join(p))
    except configparser.Error as e:
        bad(f"board/{b}/rauc-system.conf parses", e)

    text = open(os.path.join(d, "README.md")).read()
    check(len(text.strip()) > 200 and text.lstrip().startswith("# "), f"board/{b}/README.md is a real document")

# ---- kas files: kas's own schema, includes, machine and board glue
try:
    from kas.includehandler import ConfigFile
    import logging
    logging.disable(logging.CRITICAL)
except ImportError as e:
    ConfigFile = None
    bad("kas is importable from the check venv", e)

def kas_load(path):
    try:
        return ConfigFile.load(path).config
    except Exception as e:  # kas raises its own exception types
        bad(f"{rel(path)} passes kas's schema", e)
        return None

if ConfigFile is not None:
    base_path = os.path.join(repo, "yocto/kas/shoebox.yml")
    base = kas_load(base_path)
    if base is not None:
        p = []
        if base.get("distro") != "shoebox": p.append(f"distro {base.get('distro')!r}")
        layers = [os.path.join(repo, l) for r in base.get("repos", {}).values() if r and "url" not in r
                  for l in (r.get("layers") or {})]
        if not any(os.path.exists(os.path.join(l, "conf/layer.conf")) for l in layers): p.append(f"local layer not found: {layers}")
        if not os.path.exists(os.path.join(repo, "yocto/meta-shoebox/conf/distro/shoebox.conf")): p.append("distro conf missing")
        for name in ("poky", "meta-openembedded", "meta-rauc"):
            if name not in base.get("repos", {}): p.append(f"repo {name} missing")
        check(not p, "yocto/kas/shoebox.yml: kas schema, distro shoebox, local layer, poky/meta-oe/meta-rauc", "\n".join(p))
    for b in boards:
        path = os.path.join(repo, "board", b, "kas.yml")
        k = kas_load(path)
        if k is None:
            continue
        bt = load_toml(os.path.join(repo, "board", b, "board.toml")) or {}
        p = []
        incs = (k.get("header") or {}).get("includes") or []
        for inc in incs:
            if isinstance(inc, str) and not os.path.exists(os.path.join(repo, inc)):
                p.append(f"include {inc} does not exist (includes are relative to the repository root)")
        if "yocto/kas/shoebox.yml" not in incs: p.append("does not include yocto/kas/shoebox.yml")
        if k.get("machine") != bt.get("kas_machine"): p.append(f"machine {k.get('machine')!r}, board.toml kas_machine {bt.get('kas_machine')!r}")
        conf = "\n".join((k.get("local_conf_header") or {}).values())
        if not re.search(rf'^SHOEBOX_BOARD = "{re.escape(b)}"$', conf, re.M): p.append(f'local_conf_header does not set SHOEBOX_BOARD = "{b}"')
        loader = BOOTLOADERS.get(bt.get("bootloader"))
        if not re.search(rf'^SHOEBOX_BOOTLOADER = "{loader}"$', conf, re.M): p.append(f'local_conf_header does not set SHOEBOX_BOOTLOADER = "{loader}" (board.toml bootloader {bt.get("bootloader")!r})')
        check(not p, f"board/{b}/kas.yml: kas schema, includes the base, machine {k.get('machine')}", "\n".join(p))

# ---- the shoebox recipe packages every unit in systemd/
recipe = os.path.join(repo, "yocto/meta-shoebox/recipes-shoebox/shoebox/shoebox_git.bb")
if os.path.exists(recipe):
    text = open(recipe).read()
    units = sorted(f for f in os.listdir(os.path.join(repo, "systemd"))
                   if f.rsplit(".", 1)[-1] in ("service", "timer", "mount", "socket", "path", "target"))
    unpackaged = [u for u in units if u not in text]
    check(not unpackaged, f"shoebox recipe packages all {len(units)} units of systemd/", f"not in {rel(recipe)}: {unpackaged}")
bundle = glob.glob(os.path.join(repo, "yocto/meta-shoebox/recipes-core/rauc/shoebox-bundle*.bb"))
if bundle:
    check('RAUC_BUNDLE_COMPATIBLE = "shoebox-${SHOEBOX_BOARD}"' in open(bundle[0]).read(),
          "bundle compatible is shoebox-${SHOEBOX_BOARD}, as every rauc-system.conf expects")

sys.exit(1 if failures else 0)
PY
    if ((rc)); then FAILED=$((FAILED + 1)); FAILED_NAMES+=("structure checks (see FAIL lines above)"); else PASSED=$((PASSED + 1)); fi
}

# ------------------------------------------------------------------ rauc
check_rauc() {
    section "RAUC system.conf of each board (rauc $(rauc --version | awk '{print $2}'))"
    local keys=$WORK/rauc/keys content=$WORK/rauc/content bundle=$WORK/rauc/test.raucb out b
    mkdir -p "$content"
    if ! out=$(sh "$REPO/yocto/scripts/make-dev-rauc-keys.sh" "$keys" 2>&1); then
        fail "make-dev-rauc-keys.sh makes a CA and a signing certificate" "$out"; return
    fi
    pass "make-dev-rauc-keys.sh makes a CA and a signing certificate"
    truncate -s 8M "$content/rootfs.ext4"
    mkfs.ext4 -q -F "$content/rootfs.ext4"
    head -c 65536 /dev/urandom > "$content/padding"
    printf '[update]\ncompatible=shoebox-check\nversion=0.0.0\n\n[bundle]\nformat=verity\n\n[image.rootfs]\nfilename=rootfs.ext4\n' \
        > "$content/manifest.raucm"
    if ! out=$(rauc --cert="$keys/dev.cert.pem" --key="$keys/dev.key.pem" bundle "$content" "$bundle" 2>&1); then
        fail "rauc signs a test bundle with the development key" "$out"; return
    fi
    for b in "$REPO"/board/*/; do
        b=$(basename "$b")
        [[ -f $REPO/board/$b/rauc-system.conf ]] || continue
        sed "s#^path=/etc/rauc/ca.cert.pem#path=$keys/ca.cert.pem#" "$REPO/board/$b/rauc-system.conf" > "$WORK/rauc/$b.conf"
        if out=$(rauc --conf="$WORK/rauc/$b.conf" info "$bundle" 2>&1) && grep -q 'Verified inline signature' <<<"$out"; then
            pass "rauc loads board/$b/rauc-system.conf and verifies a signed bundle with its keyring"
        else
            fail "rauc loads board/$b/rauc-system.conf and verifies a signed bundle" "$(grep -v '^rauc-Message' <<<"$out" | head -5)"
        fi
    done
}

# ----------------------------------------------------------------- yocto
check_yocto() {
    section "Yocto layer ($("$VENV/bin/oelint-adv" --version 2>/dev/null), release scarthgap)"
    local files=() out rc
    mapfile -t files < <(find "$REPO/yocto/meta-shoebox" -type f \( -name '*.bb' -o -name '*.bbappend' -o -name '*.inc' -o -name '*.conf' \) | sort)
    # Infos (BUGTRACKER, CVE_PRODUCT, BBCLASSEXTEND suggestions) are hidden;
    # errors and warnings fail, and the ones accepted on purpose carry a
    # "# nooelint:" comment saying why. homepageping needs the internet.
    out=$(cd "$REPO" && "$VENV/bin/oelint-adv" --quiet --relpaths --mode all --hide info \
        --release scarthgap --jobs 2 \
        --suppress oelint.vars.homepageping \
        --constantmods "+yocto/oelint-constants.json" \
        --extra-layer rauc openembedded-layer networking-layer filesystems-layer \
        -- "${files[@]#"$REPO"/}" 2>&1) && rc=0 || rc=$?
    if ((rc)) || [[ -n $out ]]; then fail "oelint-adv on ${#files[@]} files of meta-shoebox" "$out"
    else pass "oelint-adv on ${#files[@]} files: $(printf '%s\n' "${files[@]#"$REPO"/yocto/meta-shoebox/}" | tr '\n' ' ')"; fi

    if [[ -f $REPO/Cargo.lock ]]; then
        if out=$(cd "$REPO" && "$VENV/bin/python" yocto/scripts/gen-crates-inc.py --lock "$REPO/Cargo.lock" \
                --output "$REPO/yocto/meta-shoebox/recipes-shoebox/shoebox/shoebox-crates.inc" --check 2>&1); then
            pass "shoebox-crates.inc is current: ${out#gen-crates-inc: }"
        else fail "shoebox-crates.inc is current with Cargo.lock" "$out"; fi
    else
        echo "  (no Cargo.lock yet: crate list not compared)"
    fi
    if out=$(cd "$REPO" && "$VENV/bin/python" yocto/scripts/gen-npm-shrinkwrap.py --check 2>&1); then
        pass "npm shrinkwrap is current: ${out#gen-npm-shrinkwrap: }"
    else fail "npm shrinkwrap is current with web/package-lock.json" "$out"; fi
}

# ------------------------------------------------------------- self-test
self_test() {
    section "self-test: each planted mistake must be caught by the check meant for it"
    # file | sed expression (or DELETE) | what it breaks | the FAIL line expected
    # shellcheck disable=SC2016 # the $ in these sed expressions is literal
    local mutations=(
        "systemd/shoeboxd.service|s/^NoNewPrivileges=yes/NoNewPrivilege=yes/|misspelt unit directive|verify shoeboxd.service"
        "systemd/shoebox-backup.timer|s/^OnCalendar=.*/OnCalendar=*-*-* 25:30:00/|impossible calendar time|verify shoebox-backup.timer"
        "systemd/shoeboxd.service|s/^Wants=network-online.target/Wants=network-onlin.target/|misspelt unit dependency|every unit named in dependencies exists"
        "systemd/shoeboxd.service|/^ProtectSystem=/d;/^SystemCallFilter=/d|weakened hardening|security shoeboxd.service"
        "systemd/shoebox-snapshot.service|s#^ExecStart=/usr/bin/busctl#ExecStart=/usr/bin/bussctl#|misspelt executable path|executables named by units exist"
        "rootfs/usr/share/dbus-1/system.d/org.shoebox.Storage1.conf|s#</busconfig>##|broken D-Bus policy XML|dbus-daemon loads the policy"
        "rootfs/usr/share/dbus-1/system.d/org.shoebox.Storage1.conf|s#<deny own=#<deny owner=#|D-Bus policy attribute dbus-daemon rejects|dbus-daemon loads the policy"
        'rootfs/usr/share/dbus-1/system.d/org.shoebox.Storage1.conf|s#<policy user="shoebox">#<policy context="default">#|D-Bus policy opened to everyone|only root and shoebox may call'
        "rootfs/etc/avahi/services/shoebox.service|s#<port>443</port>#<port>8443</port>#|mDNS port differs from config.toml|avahi service announces"
        "rootfs/usr/lib/sysctl.d/50-shoebox.conf|s/^vm.swappiness/vm.swapiness/|misspelt sysctl key|sysctl keys exist"
        "rootfs/usr/lib/tmpfiles.d/shoebox.conf|s#0750 shoebox shoebox -   -#0750 shoebx shoebox -   -#|unknown user in tmpfiles|systemd-tmpfiles --create"
        "rootfs/usr/libexec/shoebox/shoebox-firstboot|s/-checkend/-checkedn/|broken certificate renewal|second run changes nothing"
        'rootfs/usr/libexec/shoebox/shoebox-firstboot|s/mkdir -p "$dir"/mkdir -p $dir/|unquoted variable in the first-boot script|shellcheck rootfs/usr/libexec/shoebox/shoebox-firstboot'
        'board/rpi5/board.toml|s/^interface = "v4l2-request"/interface = "v4l2-requests"/|unknown video interface|board/rpi5/board.toml: required keys'
        'board/rpi4/board.toml|s/^clip_visual = "cpu"/clip_visual = "npu"/|model on an NPU the board lacks|board/rpi4/board.toml: required keys'
        'board/rock5b/board.toml|s/^ocr_detection = /ocr_detect = /|misspelt model part|board/rock5b/board.toml: required keys'
        "board/rock5b/partitions.wks|s/--part-name shoebox-root-b/--part-name shoebox-rootb/|wks disagrees with partitions.toml|board/rock5b/partitions.wks matches"
        "board/qemu-x86-64/rauc-system.conf|s/^bootname=B/botname=B/|misspelt RAUC key|rauc loads board/qemu-x86-64/rauc-system.conf"
        "board/rpi4/rauc-system.conf|s/shoebox-root-b/shoebox-root-a/|both RAUC slots on one partition|board/rpi4/rauc-system.conf matches"
        "board/rpi4/README.md|DELETE|board folder missing a file|board/rpi4 has exactly"
        "board/rpi4/kas.yml|s/^machine:/machin:/|kas schema violation|board/rpi4/kas.yml passes kas's schema"
        'board/rpi4/kas.yml|s/SHOEBOX_BOOTLOADER = "uboot"/SHOEBOX_BOOTLOADER = "grub"/|boot loader glue other than board.toml says|board/rpi4/kas.yml: kas schema'
        "board/rock5b/fw_env.config|DELETE|U-Boot board without its environment location|board/rock5b has exactly"
        "yocto/meta-shoebox/recipes-shoebox/shoebox/shoebox_git.bb|s/^SYSTEMD_AUTO_ENABLE/SYSTEMD_AUTO_ENABEL/|misspelt bitbake variable|oelint-adv on"
        'yocto/meta-shoebox/recipes-shoebox/shoebox/shoebox_git.bb|s/ shoebox-backup.timer"/"/|unit left out of the package|shoebox recipe packages all'
        "yocto/meta-shoebox/recipes-shoebox/shoebox/shoebox-crates.inc|1,12{/^    crate:/d}|crate list out of date|shoebox-crates.inc is current"
    )
    local m file expr what expect copy out n=0 caught=0
    make_copy() {
        mkdir -p "$1"
        (cd "$REPO" && cp -a systemd rootfs board yocto ci "$1/")
        if [[ -f $REPO/Cargo.lock ]]; then
            cp "$REPO/Cargo.lock" "$1/"
            # Cargo.lock may be moving under active development: compare the
            # copy's crate list with the copy's lock, not with the tree's.
            "$VENV/bin/python" "$1/yocto/scripts/gen-crates-inc.py" >/dev/null
        fi
        if [[ -d $REPO/web ]]; then cp -a "$REPO/web" "$1/"; rm -rf "$1/web/node_modules"; fi
    }
    run_copy() { SHOEBOX_CHECK_REPO=$1 SHOEBOX_CHECK_NO_INSTALL=1 SHOEBOX_CHECK_VENV=$VENV bash "$SELF" 2>&1; }

    copy=$WORK/selftest/baseline
    make_copy "$copy"
    if out=$(run_copy "$copy"); then pass "self-test baseline: an unmodified copy passes"
    else fail "self-test baseline: an unmodified copy passes" "$(grep -A3 '^  FAIL' <<<"$out" | head -20)"; return; fi
    rm -rf "$copy"

    for m in "${mutations[@]}"; do
        IFS='|' read -r file expr what expect <<<"$m"
        n=$((n + 1))
        copy=$WORK/selftest/$n
        make_copy "$copy"
        if [[ $expr == DELETE ]]; then
            rm -f "$copy/$file"
        else
            cp "$copy/$file" "$copy/$file.orig"
            sed -i -e "$expr" "$copy/$file"
            if cmp -s "$copy/$file" "$copy/$file.orig"; then
                fail "self-test $n ($what): the mutation did not change $file"; rm -rf "$copy"; continue
            fi
            rm -f "$copy/$file.orig"
        fi
        if out=$(run_copy "$copy"); then
            fail "self-test $n: $what ($file) was NOT caught"
        elif grep -E '^  FAIL ' <<<"$out" | grep -qF -- "$expect"; then
            caught=$((caught + 1))
            pass "self-test $n: $what ($file) -> FAIL $expect"
        else
            fail "self-test $n: $what ($file) failed, but not in \"$expect\"" "$(grep -E '^  FAIL ' <<<"$out" | head -5)"
        fi
        rm -rf "$copy"
    done
    echo "  self-test: $caught of $n planted mistakes caught by the check meant for them"
}

# ------------------------------------------------------------------ main
if [[ -z ${SHOEBOX_CHECK_NO_INSTALL:-} ]]; then install_tools; fi
WORK=$(mktemp -d "${TMPDIR:-/tmp}/check-appliance.XXXXXX")
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT

echo "check-appliance: checking $REPO"
check_units
check_users_and_dirs
check_firstboot
check_dbus_daemon
check_shell
check_structure
check_rauc
check_yocto
if ((SELF_TEST)); then self_test; fi

printf '\ncheck-appliance: finished in %ds\n' "$((SECONDS - START))"
if ((FAILED)); then printf 'failed:\n'; printf '  - %s\n' "${FAILED_NAMES[@]}"; fi
# Last line in the plain "N passed, N failed" form CI summaries read.
printf 'check-appliance: %d passed, %d failed\n' "$PASSED" "$FAILED"
((FAILED == 0))
