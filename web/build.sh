#!/usr/bin/env bash
# Builds the browser UI into web/dist (served by shoeboxd at "/").
# Idempotent: installs packages only when node_modules is missing or older
# than package-lock.json, then runs the Vite build. Needs Node.js >= 20.19.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

command -v npm >/dev/null || { echo "web/build.sh: npm not found; install Node.js 20.19 or newer" >&2; exit 1; }

# npm records what it installed in node_modules/.package-lock.json.
stamp=node_modules/.package-lock.json
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
    npm ci --no-audit --no-fund --no-update-notifier --loglevel=error
    touch "$stamp"
fi

# Build beside dist/ and swap it in: a running debug shoeboxd reads dist/
# from disk, and must not see it half-written (Vite empties its output
# folder first). Two builds at once (cargo's build script and a person)
# each use their own folder.
tmp="dist.tmp.$$"
old="dist.old.$$"
trap 'rm -rf "$tmp" "$old"' EXIT
npm run --silent build -- --logLevel warn --outDir "$tmp" --emptyOutDir
if [ -d dist ]; then mv -T dist "$old"; fi
# -T: never move the new build *into* a dist/ that another build put back.
mv -T "$tmp" dist 2>/dev/null || echo "web/build.sh: another build replaced web/dist meanwhile; keeping that one" >&2
