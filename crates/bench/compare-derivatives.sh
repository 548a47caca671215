#!/usr/bin/env bash
# Derivative generation, side by side on the same photographs: Shoebox
# (`shoebox-bench derivatives`), sharp at Immich's settings
# (sharp-derivatives.mjs) and libvips' vipsthumbnail (preview from the
# original, thumbnail from the preview: one full decode each, as the others).
# Fetches what it needs: libvips-tools (apt), sharp (npm, into
# target/bench-tools), and the corpus: the JPEG photographs of Debian's
# mate-backgrounds package (into target/bench-corpus). Prints one table.
#
#   crates/bench/compare-derivatives.sh [threads] [rounds]
set -euo pipefail
cd "$(dirname "$0")/../.."
threads=${1:-1}
rounds=${2:-3}
tools=target/bench-tools
corpus=target/bench-corpus
node=target/tools/bin/node
SHARP_VERSION=0.34.5

log() { printf '[compare-derivatives] %s\n' "$*" >&2; }

command -v vipsthumbnail >/dev/null || { log "installing libvips-tools"; apt-get install -y -qq --no-install-recommends libvips-tools >/dev/null; }
[ -x "$node" ] || ci/install-test-deps.sh >&2
if [ ! -d "$tools/node_modules/sharp" ]; then
    log "installing sharp $SHARP_VERSION from npm"
    mkdir -p "$tools"
    (cd "$tools" && PATH="$PWD/../tools/bin:$PATH" npm install --silent --no-save "sharp@$SHARP_VERSION" >&2)
fi
if [ ! -d "$corpus" ]; then
    log "fetching the corpus: Debian's mate-backgrounds"
    scratch=$(mktemp -d)
    (cd "$scratch" && apt-get download mate-backgrounds >/dev/null 2>&1 && dpkg-deb -x mate-backgrounds_*.deb tree)
    mkdir -p "$corpus"
    find "$scratch/tree" -iname '*.jpg' -exec cp {} "$corpus/" \;
    rm -rf "$scratch"
fi
# With the server, as every benchmark builds them: the same features, so
# neither build undoes the other's.
cargo build --release --locked -p shoebox-server -p shoebox-bench >&2

photos=("$corpus"/*.jpg)
megapixels=$(for p in "${photos[@]}"; do vipsheader -f width "$p"; vipsheader -f height "$p"; done | paste - - | awk '{ mp += $1 * $2 / 1e6 } END { printf "%.1f", mp / NR }')
log "${#photos[@]} photographs, ${megapixels} MP on average; $threads thread(s), $rounds rounds"

vips_run() {
    local out; out=$(mktemp -d)
    export VIPS_CONCURRENCY=$threads
    local start end
    vips_pass() {
        # shellcheck disable=SC2016 # the inner script expands its own arguments
        printf '%s\n' "${photos[@]}" | xargs -P "$threads" -I{} sh -c '
            f="$1"; o="$2/$(basename "$f" .jpg)"
            w=$(vipsheader -f width "$f"); h=$(vipsheader -f height "$f")
            if [ "$w" -ge "$h" ]; then s="100000x1440"; t="100000x250"; else s="1440x100000"; t="250x100000"; fi
            vipsthumbnail "$f" --size "$s" -o "$o-preview.jpeg[Q=80]"
            vipsthumbnail "$o-preview.jpeg" --size "$t" -o "$o-thumb.webp[Q=80]"' _ {} "$out"
    }
    vips_pass
    start=$(date +%s.%N)
    for _ in $(seq "$rounds"); do vips_pass; done
    end=$(date +%s.%N)
    rm -rf "$out"
    awk -v n="${#photos[@]}" -v r="$rounds" -v s="$start" -v e="$end" -v t="$threads" \
        'BEGIN { printf "vipsthumbnail\tphotos=%d\tthreads=%d\timages_per_s=%.2f\tpeak_rss_mib=-\n", n, t, n * r / (e - s) }'
}

results=$(
    target/release/shoebox-bench derivatives --corpus "$corpus" --rounds "$rounds" --threads "$threads"
    # Beside its node_modules: ES modules resolve imports from the script's folder.
    cp crates/bench/sharp-derivatives.mjs "$tools/"
    "$node" "$tools/sharp-derivatives.mjs" "$corpus" "$rounds" "$threads"
    vips_run
)
field() { sed -n "s/.*$1=\([^[:space:]]*\).*/\1/p"; }
sharp_rate=$(grep '^sharp' <<<"$results" | field images_per_s)
printf '\n| tool | photos/s (%s thread%s) | vs sharp | peak RSS MiB |\n|---|---|---|---|\n' "$threads" "$([ "$threads" = 1 ] || echo s)"
while IFS= read -r line; do
    name=${line%%$'\t'*}
    rate=$(field images_per_s <<<"$line")
    rss=$(field peak_rss_mib <<<"$line")
    printf '| %s | %s | %s× | %s |\n' "$name" "$rate" "$(awk -v a="$rate" -v b="$sharp_rate" 'BEGIN { printf "%.2f", a / b }')" "$rss"
done <<<"$results"
