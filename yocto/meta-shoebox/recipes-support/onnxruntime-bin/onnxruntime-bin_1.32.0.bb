SUMMARY = "ONNX Runtime shared library for shoeboxd's machine learning"
DESCRIPTION = "libonnxruntime.so (CPU execution provider) taken from the \
               onnxruntime wheel Microsoft publishes on PyPI, installed as \
               /usr/lib/shoebox/libonnxruntime.so, where shoeboxd loads it \
               at run time. The library does not use Python."
HOMEPAGE = "https://onnxruntime.ai"
SECTION = "libs"
# ONNX Runtime itself is MIT. The library also carries third-party code
# whose notices ThirdPartyNotices.txt reproduces: protobuf and re2
# (BSD-3-Clause), abseil, onnx, flatbuffers and KleidiAI (Apache-2.0),
# pytorch/cpuinfo (BSD-2-Clause), Eigen (MPL-2.0), Boost.Mp11 (BSL-1.0).
# That file covers every ONNX Runtime build, so it names more than this
# library holds; it goes into the image's licence manifest as it is.
LICENSE = "MIT & Apache-2.0 & BSD-2-Clause & BSD-3-Clause & MPL-2.0 & BSL-1.0"
LIC_FILES_CHKSUM = "\
    file://onnxruntime/LICENSE;md5=0f7e3b1308cb5c00b372a6e78835732d \
    file://onnxruntime/ThirdPartyNotices.txt;md5=0273f4458ab21c4f04b2bf7b9c891f6c \
"

# Building ONNX Runtime from source takes hours and fetches its own
# dependencies at configure time. The released wheel holds the library
# Microsoft builds for manylinux_2_28: it needs glibc 2.28 and a libstdc++
# with GLIBCXX_3.4.22, far below scarthgap's glibc 2.39 and GCC 13. The
# library links no Python, so the wheel's Python tag does not matter. The
# URLs are the files' permanent addresses on PyPI; the checksums are PyPI's.
#
# A wheel is a zip file: the .zip download name makes do_unpack extract it.
SRC_URI:aarch64 = "https://files.pythonhosted.org/packages/b7/30/103820b32e9dc1d1fcfc5b519fd2de5bd699d25a25895caf5d726350d1b5/onnxruntime-${PV}-cp311-cp311-manylinux_2_28_aarch64.whl;downloadfilename=onnxruntime-${PV}-cp311-cp311-manylinux_2_28_aarch64.zip;subdir=${BP};name=aarch64"
SRC_URI[aarch64.sha256sum] = "2303372a85299b6757b0e11e1cbf13e410ddf7e10c37f4b37e99d1c90e7daf7c"
SRC_URI:x86-64 = "https://files.pythonhosted.org/packages/1d/46/e6f356c9539d2eed44126de3421a81e217da2ad91b22dc11b379cb1e384f/onnxruntime-${PV}-cp311-cp311-manylinux_2_28_x86_64.whl;downloadfilename=onnxruntime-${PV}-cp311-cp311-manylinux_2_28_x86_64.zip;subdir=${BP};name=x86-64"
SRC_URI[x86-64.sha256sum] = "5a34fc4dfeb5a7b4a74c95dcba1e773d722abda720b474edf1b0c419dc6d163d"

# Microsoft publishes Linux wheels for these two architectures only, and
# manylinux wheels need glibc (no musl).
COMPATIBLE_HOST = "(aarch64|x86_64).*-linux$"

# unzip is not a host tool: declared here rather than left to base.bbclass
# spotting the .zip download name behind a URL that ends in .whl.
do_unpack[depends] += "unzip-native:do_populate_sysroot"

do_configure[noexec] = "1"
do_compile[noexec] = "1"

# Only the library: the wheel's Python modules, its pybind11 extension and
# libonnxruntime_providers_shared.so (the glue for execution providers
# built as separate libraries, such as CUDA's, none of which this wheel
# has) stay out of the image.
do_install() {
    install -d ${D}${nonarch_libdir}/shoebox
    install -m 0755 ${S}/onnxruntime/capi/libonnxruntime.so.${PV} \
        ${D}${nonarch_libdir}/shoebox/libonnxruntime.so
}

# shoeboxd looks for /usr/lib/shoebox/libonnxruntime.so by that name on
# every layout, multilib or not, hence nonarch_libdir and the unversioned
# name (a regular file, not a development symlink). shoeboxd opens it with
# dlopen, so nothing links against it.
FILES:${PN} += "${nonarch_libdir}/shoebox/libonnxruntime.so"
# The library sits outside the linker's search path: it must not be
# offered to other packages as the system's libonnxruntime.so.1.
# nooelint: oelint.vars.mispell.unknown - PRIVATE_LIBS is OE-Core's, missing from oelint-adv's list
PRIVATE_LIBS = "libonnxruntime.so.1"

# Microsoft ships the library stripped: there is nothing to strip or split
# off, and stripping again would only raise the already-stripped warning.
INHIBIT_PACKAGE_STRIP = "1"
INHIBIT_PACKAGE_DEBUG_SPLIT = "1"
INHIBIT_SYSROOT_STRIP = "1"
