#!/bin/sh
# Make a development RAUC signing setup: a CA (its certificate is the
# keyring the box trusts, /etc/rauc/ca.cert.pem) and a signing key and
# certificate issued by it (used by shoebox-bundle to sign bundles).
#
#   yocto/scripts/make-dev-rauc-keys.sh [DIR]     (default: ./rauc-keys)
#
# kas builds look in ${TOPDIR}/../rauc-keys, i.e. rauc-keys/ next to the
# build/ directory in the kas work directory. Development keys only: a box
# flashed with them accepts any bundle signed with them. Release keys are
# made and kept on the signing machine, never in the repository.
set -eu

dir=${1:-rauc-keys}
if [ -e "$dir/ca.cert.pem" ] || [ -e "$dir/dev.key.pem" ]; then
    echo "make-dev-rauc-keys: $dir already has keys; not overwriting" >&2
    exit 0
fi
mkdir -p "$dir"
umask 077
cd "$dir"

cat > openssl.cnf <<'CNF'
[req]
distinguished_name = dn
prompt = no
[dn]
O = Shoebox development
[v3_ca]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[v3_leaf]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature
extendedKeyUsage = codeSigning
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF

openssl req -x509 -newkey rsa:4096 -nodes -sha256 -days 3650 \
    -config openssl.cnf -extensions v3_ca -subj "/O=Shoebox development/CN=Shoebox development CA" \
    -keyout ca.key.pem -out ca.cert.pem 2>/dev/null
openssl req -new -newkey rsa:4096 -nodes -sha256 \
    -config openssl.cnf -subj "/O=Shoebox development/CN=Shoebox development signing" \
    -keyout dev.key.pem -out dev.csr.pem 2>/dev/null
openssl x509 -req -in dev.csr.pem -sha256 -days 3650 \
    -CA ca.cert.pem -CAkey ca.key.pem -CAcreateserial \
    -extfile openssl.cnf -extensions v3_leaf -out dev.cert.pem 2>/dev/null
rm -f dev.csr.pem ca.cert.srl openssl.cnf
chmod 0644 ca.cert.pem dev.cert.pem
openssl verify -CAfile ca.cert.pem dev.cert.pem >/dev/null
echo "make-dev-rauc-keys: wrote $(pwd)/{ca.cert.pem,ca.key.pem,dev.key.pem,dev.cert.pem}"
