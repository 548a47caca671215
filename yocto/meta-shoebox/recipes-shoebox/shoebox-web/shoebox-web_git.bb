# nooelint: oelint.var.mandatoryvar.HOMEPAGE - the project has no public home page yet
SUMMARY = "Shoebox web UI"
DESCRIPTION = "The browser UI from web/, built with npm into static files. \
               shoeboxd embeds them at build time (SHOEBOX_WEB_DIST); they \
               are also installed under /usr/share/shoebox/web."
SECTION = "net"
# See shoebox_git.bb about the licence file.
LICENSE = "AGPL-3.0-or-later"
# nooelint: oelint.var.licenseremotefile - no licence file in the source tree yet (see shoebox_git.bb)
LIC_FILES_CHKSUM = "file://${COMMON_LICENSE_DIR}/AGPL-3.0-or-later;md5=a4af3f9f0c0fc9de318e4df46665906e"

DEPENDS = "nodejs-native"

require recipes-shoebox/shoebox-common.inc

# npm dependencies pinned from web/package-lock.json. The copy in this
# layer is refreshed by `python3 yocto/scripts/gen-npm-shrinkwrap.py`
# (ci/check-appliance.sh fails when it is stale); bitbake fetches every
# package it lists, devDependencies included (the bundler is one), so the
# build itself never reaches the network.
SRC_URI += "npmsw://${THISDIR}/files/npm-shrinkwrap.json;dev=1;destsuffix=git/web"

inherit allarch

B = "${S}/web"

do_configure[noexec] = "1"

do_compile() {
    cd ${B}
    export HOME=${WORKDIR}
    export npm_config_cache=${WORKDIR}/npm-cache
    npm run build --offline --no-audit --no-fund --no-update-notifier
}

do_install() {
    install -d ${D}${datadir}/shoebox/web
    cp -R --no-dereference --preserve=mode,links ${B}/dist/. ${D}${datadir}/shoebox/web/
    chown -R root:root ${D}${datadir}/shoebox/web
}

# shoebox embeds the files at build time through the sysroot.
SYSROOT_DIRS += "${datadir}/shoebox"

FILES:${PN} += "${datadir}/shoebox/web"
