# With the shoebox distro: /etc/rauc/system.conf for the board being built
# (board/<name>/rauc-system.conf, checked against the board's
# partitions.toml by ci/check-appliance.sh) and the keyring that verifies
# update bundles (SHOEBOX_RAUC_KEY_DIR, see yocto/README.md).
FILESEXTRAPATHS:prepend:shoebox := "${SHOEBOX_BOARD_DIR}:${SHOEBOX_RAUC_KEY_DIR}:"

SRC_URI:remove:shoebox = "file://system.conf"
SRC_URI:append:shoebox = " file://rauc-system.conf"

RAUC_KEYRING_FILE:shoebox = "ca.cert.pem"

do_install:shoebox() {
    install -d ${D}${sysconfdir}/rauc
    install -m 0644 ${WORKDIR}/rauc-system.conf ${D}${sysconfdir}/rauc/system.conf
    install -m 0644 ${WORKDIR}/${RAUC_KEYRING_FILE} ${D}${sysconfdir}/rauc/${RAUC_KEYRING_FILE}
}
