#!/usr/bin/env bash
# End-to-end test with the official Immich CLI against a running Shoebox.
#
#   SHOEBOX_URL=http://127.0.0.1:PORT SHOEBOX_API_KEY=... tests/immich-cli/cli_test.sh
#
# Needs: ci/install-test-deps.sh (target/tools/bin/immich, Node 22) and
# ci/fetch-fixtures.sh (target/fixtures/cli-upload). The server must start
# from an empty library: the first upload has to find every file new.
#
# What it checks:
#   1. `immich login URL KEY` succeeds and writes auth.yml in a temp config dir.
#   2. `immich upload --recursive --album DIR` uploads every file whose
#      extension the server lists in /api/server/media-types, with no
#      failure, and creates one album per parent-folder name.
#   3. The same upload again finds every file a duplicate, uploads nothing,
#      creates no album, and leaves the albums' asset counts unchanged.
#   4. GET /api/albums has exactly one album per expected name with the
#      expected assetCount.
#
# Optional environment:
#   IMMICH_CLI          CLI to run (default: target/tools/bin/immich)
#   CLI_UPLOAD_DIR      folder to upload (default: target/fixtures/cli-upload)
#   CLI_CONCURRENCY     --concurrency for the upload (default: 4)
#   KEEP_TMP=1          keep the temp dir with the CLI's output
set -euo pipefail

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$script_dir/../.." && pwd)"

fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
step() { printf '\n== %s\n' "$*"; }
ok() { printf 'ok: %s\n' "$*"; }

: "${SHOEBOX_URL:?set SHOEBOX_URL, e.g. http://127.0.0.1:2283}"
: "${SHOEBOX_API_KEY:?set SHOEBOX_API_KEY to an API key of the test user}"
SHOEBOX_URL="${SHOEBOX_URL%/}"
immich="${IMMICH_CLI:-$repo_root/target/tools/bin/immich}"
upload_dir="${CLI_UPLOAD_DIR:-$repo_root/target/fixtures/cli-upload}"
concurrency="${CLI_CONCURRENCY:-4}"

[ -x "$immich" ] || fail "Immich CLI not found at $immich (run ci/install-test-deps.sh)"
[ -d "$upload_dir" ] || fail "fixture folder $upload_dir missing (run ci/fetch-fixtures.sh)"
command -v curl >/dev/null || fail "curl is required"
command -v python3 >/dev/null || fail "python3 is required"
upload_dir="$(cd "$upload_dir" && pwd)"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/shoebox-cli-test.XXXXXX")"
cleanup() {
    if [ "${KEEP_TMP:-0}" = 1 ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

# The CLI reads many IMMICH_* variables (album, concurrency, dry run, ...):
# start from none of them so the caller's environment cannot change the run.
while IFS= read -r var; do unset "$var"; done < <(compgen -e | grep '^IMMICH_' || true)
export IMMICH_CONFIG_DIR="$tmp/config"
export HOME="$tmp/home"
mkdir -p "$HOME"

api_get() { # <path below /api> -> body on stdout; fails on a non-2xx answer
    curl -sS --fail-with-body --max-time 30 -H "x-api-key: $SHOEBOX_API_KEY" \
        -H 'Accept: application/json' "$SHOEBOX_URL/api$1" ||
        fail "GET /api$1 failed"
}

run_cli() { # <name> <args...>: runs the CLI, output in $tmp/<name>.out, echoed
    local name="$1"
    shift
    local rc=0
    printf '$ immich %s\n' "$*"
    "$immich" "$@" >"$tmp/$name.out" 2>&1 </dev/null || rc=$?
    sed 's/^/  | /' "$tmp/$name.out"
    [ "$rc" -eq 0 ] || fail "immich $1 exited with status $rc"
}

expect_line() { # <name> <extended regex> <message>
    grep -Eq -- "$2" "$tmp/$1.out" || fail "$3 (no line matching /$2/ in the output of '$1')"
}

expect_no_line() { # <name> <extended regex> <message>
    if grep -Eq -- "$2" "$tmp/$1.out"; then
        fail "$3: $(grep -E -- "$2" "$tmp/$1.out" | head -n1)"
    fi
}

# --- what the CLI should pick up ----------------------------------------------

step "expected files and albums"
api_get /server/media-types >"$tmp/media-types.json"
# The CLI globs <dir>/**/*.{ext,...} over the image and video extensions of
# /api/server/media-types, case-insensitively, skipping hidden files and
# folders; it names each album after the file's parent folder.
python3 - "$tmp/media-types.json" "$upload_dir" "$tmp/expected.json" <<'EOF'
import json, os, sys
from collections import Counter

types = json.load(open(sys.argv[1]))
exts = {e.lower() for e in types["image"] + types["video"]}
root = sys.argv[2]
picked, skipped = [], []
for dirpath, dirnames, filenames in os.walk(root):
    dirnames[:] = [d for d in dirnames if not d.startswith(".")]
    for f in filenames:
        if f.startswith("."):
            continue
        path = os.path.join(dirpath, f)
        (picked if os.path.splitext(f)[1].lower() in exts else skipped).append(path)
albums = Counter(os.path.basename(os.path.dirname(p)) for p in picked)
json.dump({"files": len(picked), "albums": albums}, open(sys.argv[3], "w"))
for p in sorted(picked):
    print(f"  {os.path.relpath(p, root)} -> album {os.path.basename(os.path.dirname(p))!r}")
for p in sorted(skipped):
    print(f"  {os.path.relpath(p, root)} (extension not in /api/server/media-types: not uploaded)")
EOF
expected_files="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["files"])' "$tmp/expected.json")"
expected_albums="$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["albums"]))' "$tmp/expected.json")"
[ "$expected_files" -gt 0 ] || fail "no file in $upload_dir has an extension the server supports"
echo "$expected_files files, $expected_albums albums expected"

# A library that already has these albums would make the counts below wrong.
api_get /albums >"$tmp/albums-before.json"
existing="$(python3 - "$tmp/albums-before.json" "$tmp/expected.json" <<'EOF'
import json, sys
names = {a["albumName"] for a in json.load(open(sys.argv[1]))}
print(" ".join(sorted(names & set(json.load(open(sys.argv[2]))["albums"]))))
EOF
)"
[ -z "$existing" ] || fail "the server already has albums named: $existing (start from an empty library)"

# --- login --------------------------------------------------------------------

step "login"
run_cli login login "$SHOEBOX_URL" "$SHOEBOX_API_KEY"
expect_line login '^Logged in as ' "login did not report the user"
expect_line login "^Wrote auth info to " "login did not write its auth file"
[ -s "$IMMICH_CONFIG_DIR/auth.yml" ] || fail "no auth.yml in $IMMICH_CONFIG_DIR"
ok "logged in, auth file at \$IMMICH_CONFIG_DIR/auth.yml"

# --- first upload: everything is new ----------------------------------------------

upload_args=(upload --recursive --album --no-progress --concurrency "$concurrency" "$upload_dir")
n="$expected_files"
a="$expected_albums"

step "first upload"
run_cli upload1 "${upload_args[@]}"
expect_no_line upload1 '^(Failed to|Missing required permission|No auth file)' "the CLI reported a failure"
expect_no_line upload1 '^No files found' "the CLI found no files"
# Wording is the CLI's: "files" stays plural in these two lines.
expect_line upload1 "^Received $n files \(" "the CLI did not pick up the $n expected files"
if ! grep -Eq "^Found $n new files and 0 duplicates\$" "$tmp/upload1.out"; then
    dup="$(sed -nE 's/^Found [0-9]+ new files and ([0-9]+) duplicates?$/\1/p' "$tmp/upload1.out")"
    [ -z "$dup" ] || [ "$dup" = 0 ] || fail "the server already had $dup of the files (start from an empty library)"
    fail "bulk-upload-check did not accept all $n files"
fi
expect_line upload1 "^Successfully uploaded $n new assets? \(" "not all $n files were uploaded as new assets"
expect_no_line upload1 '^Skipped [0-9]+ duplicate' "the server answered 'duplicate' to a new upload"
expect_line upload1 "^Successfully created $a new albums?\$" "the CLI did not create $a albums"
expect_line upload1 "^Successfully updated $n assets?\$" "the CLI did not add $n assets to albums"
ok "$n assets uploaded, $a albums created"

check_albums() { # <label>
    api_get /albums >"$tmp/albums-$1.json"
    python3 - "$tmp/albums-$1.json" "$tmp/expected.json" <<'EOF' || fail "albums on the server do not match the folders ($1)"
import json, sys
from collections import Counter
albums = json.load(open(sys.argv[1]))
expected = json.load(open(sys.argv[2]))["albums"]
by_name = Counter(a["albumName"] for a in albums)
bad = False
for name, count in sorted(expected.items()):
    found = [a for a in albums if a["albumName"] == name]
    if by_name[name] != 1:
        print(f"  album {name!r}: {by_name[name]} albums with that name, expected 1")
        bad = True
    elif found[0].get("assetCount") != count:
        print(f"  album {name!r}: assetCount {found[0].get('assetCount')!r}, expected {count}")
        bad = True
    else:
        print(f"  album {name!r}: {count} assets")
sys.exit(1 if bad else 0)
EOF
}

step "albums after the first upload"
check_albums first
ok "one album per folder name, asset counts match"

# --- second upload: everything is a duplicate ---------------------------------

step "second upload of the same folder"
run_cli upload2 "${upload_args[@]}"
expect_no_line upload2 '^(Failed to|Missing required permission|No auth file)' "the CLI reported a failure"
expect_line upload2 "^Found 0 new files and $n duplicates?\$" "bulk-upload-check did not report all $n files as duplicates"
expect_line upload2 '^All assets were already uploaded, nothing to do\.$' "the CLI did not report everything as already uploaded"
expect_no_line upload2 '^(Uploading|Successfully uploaded) ' "the CLI uploaded files again"
expect_line upload2 '^Successfully created 0 new albums$' "the CLI created albums again"
expect_line upload2 "^Successfully updated $n assets?\$" "the CLI did not re-add the $n duplicates to their albums"
ok "all $n files reported as duplicates, nothing uploaded"

step "albums after the second upload"
check_albums second
ok "album asset counts unchanged"

step "asset statistics"
api_get /assets/statistics >"$tmp/stats.json"
python3 - "$tmp/stats.json" "$n" <<'EOF' || fail "asset statistics do not count the uploaded files"
import json, sys
s = json.load(open(sys.argv[1]))
n = int(sys.argv[2])
total = s.get("total")
print(f"  images={s.get('images')} videos={s.get('videos')} total={total}")
sys.exit(0 if isinstance(total, int) and total >= n else 1)
EOF

printf '\nimmich-cli: 1 passed, 0 failed\n'
