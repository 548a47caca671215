# nooelint: oelint.var.mandatoryvar.HOMEPAGE - the project has no public home page yet
SUMMARY = "Shoebox photo library server and storage service"
DESCRIPTION = "shoeboxd (web UI, Immich-compatible API, job workers) and \
               shoebox-storaged (privileged D-Bus service for disks, pool, \
               snapshots, off-site backup and restore), with their systemd \
               units and the appliance's root file system files."
SECTION = "net"
# The project is AGPL-3.0-or-later (Cargo.toml). The repository does not
# carry the licence text yet; once it does as LICENSE, use
#   file://LICENSE;md5=eb1e647870add0502f8f010b19de32af
LICENSE = "AGPL-3.0-or-later"
# nooelint: oelint.var.licenseremotefile - no licence file in the source tree yet (see above)
LIC_FILES_CHKSUM = "file://${COMMON_LICENSE_DIR}/AGPL-3.0-or-later;md5=a4af3f9f0c0fc9de318e4df46665906e"

# The built web UI is embedded into shoeboxd: its build script takes the
# files from SHOEBOX_WEB_DIST instead of running npm.
DEPENDS = "shoebox-web"
# libjpeg-turbo (the mozjpeg crate) takes its x86-64 SIMD from nasm; ARM's
# NEON code is C and needs nothing more.
DEPENDS:append:x86-64 = " nasm-native"

require recipes-shoebox/shoebox-common.inc

# Crate sources pinned from Cargo.lock, one crate:// line and checksum per
# crate. Generated, never edited by hand:
#   python3 yocto/scripts/gen-crates-inc.py
# (the same list `bitbake -c update_crates shoebox` writes inside a build).
# ci/check-appliance.sh fails when it is out of date.
require shoebox-crates.inc

inherit cargo cargo-update-recipe-crates systemd useradd

export SHOEBOX_WEB_DIST = "${STAGING_DATADIR}/shoebox/web"

# Workspace packages that carry the two binaries, and the binaries.
SHOEBOX_CARGO_PACKAGES ?= "shoebox-server shoebox-storaged"
SHOEBOX_BINARIES ?= "shoeboxd shoebox-storaged"

CARGO_SRC_DIR = ""

do_compile() {
    oe_cargo_build ${@' '.join('-p ' + p for p in d.getVar('SHOEBOX_CARGO_PACKAGES').split())}
}

do_install() {
    install -d ${D}${bindir}
    for bin in ${SHOEBOX_BINARIES}; do
        install -m 0755 ${B}/target/${CARGO_TARGET_SUBDIR}/$bin ${D}${bindir}/$bin
    done

    # systemd units, timers and mounts from systemd/
    install -d ${D}${systemd_system_unitdir}
    for unit in ${S}/systemd/*.service ${S}/systemd/*.timer ${S}/systemd/*.mount; do
        install -m 0644 $unit ${D}${systemd_system_unitdir}/
    done

    # Root file system overlay from rootfs/, except /etc/hostname, which
    # base-files owns (the distro sets it to "shoebox").
    cp -R --no-dereference --preserve=mode,links ${S}/rootfs/. ${D}/
    rm -f ${D}${sysconfdir}/hostname
    chown -R root:root ${D}
    chmod 0755 ${D}${libexecdir}/shoebox/shoebox-firstboot ${D}${libexecdir}/shoebox/shoebox-update-health

    install -d ${D}${docdir}/shoebox
    install -m 0644 ${S}/README.md ${D}${docdir}/shoebox/README.md
}

# The unprivileged user shoeboxd runs as (usr/lib/sysusers.d/shoebox.conf
# says the same for systems that create users at boot).
USERADD_PACKAGES = "${PN}"
GROUPADD_PARAM:${PN} = "--system render"
USERADD_PARAM:${PN} = "--system --user-group --home-dir /data/shoebox --no-create-home \
                       --shell /sbin/nologin --groups video,render \
                       --comment 'Shoebox photo library' shoebox"

SYSTEMD_PACKAGES = "${PN} ${PN}-storaged"
SYSTEMD_SERVICE:${PN} = "shoeboxd.service shoebox-firstboot.service shoebox-update-health.service data.mount var-lib-shoebox.mount"
SYSTEMD_SERVICE:${PN}-storaged = "shoebox-storaged.service shoebox-snapshot.timer shoebox-backup.timer"
SYSTEMD_AUTO_ENABLE = "enable"

# shoebox: the server, its configuration (/etc via the default FILES) and
# per-box setup. shoebox-storaged: the privileged D-Bus service, its bus
# policy and the snapshot/backup timers. shoebox-system: journald and
# sysctl settings for small boards on flash, and systemd feeding the
# board's watchdog.
PACKAGE_BEFORE_PN = "${PN}-storaged ${PN}-system"

FILES:${PN} += "\
    ${nonarch_libdir}/sysusers.d/shoebox.conf \
    ${nonarch_libdir}/tmpfiles.d/shoebox.conf \
"
FILES:${PN}-storaged += "\
    ${bindir}/shoebox-storaged \
    ${datadir}/dbus-1/system.d/org.shoebox.Storage1.conf \
    ${datadir}/dbus-1/system-services/org.shoebox.Storage1.service \
    ${systemd_system_unitdir}/shoebox-snapshot.service \
    ${systemd_system_unitdir}/shoebox-backup.service \
"
FILES:${PN}-system += "\
    ${nonarch_libdir}/systemd/journald.conf.d/50-shoebox.conf \
    ${nonarch_libdir}/systemd/system.conf.d/50-shoebox-watchdog.conf \
    ${nonarch_libdir}/sysctl.d/50-shoebox.conf \
"
CONFFILES:${PN} = "${sysconfdir}/shoebox/config.toml"

# util-linux-setpriv and rauc: shoebox-update-health asks shoeboxd as
# user shoebox whether it is healthy, then marks the A/B slot through RAUC.
# onnxruntime-bin: shoeboxd opens /usr/lib/shoebox/libonnxruntime.so at
# run time for machine learning, so no link-time dependency brings it in.
RDEPENDS:${PN} = "\
    ${PN}-system \
    ffmpeg \
    onnxruntime-bin \
    openssl-bin \
    rauc \
    util-linux-blockdev \
    util-linux-findmnt \
    util-linux-lsblk \
    util-linux-mountpoint \
    util-linux-partx \
    util-linux-setpriv \
    util-linux-sfdisk \
"
RDEPENDS:${PN}-storaged = "btrfs-progs dbus systemd"
RRECOMMENDS:${PN} = "avahi-daemon ${PN}-storaged"
RRECOMMENDS:${PN}-storaged = "mdadm smartmontools"
