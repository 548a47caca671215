#!/usr/bin/env bash
# Builds the web UI, type-checks it, and runs its end-to-end tests in
# headless Chromium against the real shoeboxd (target/debug/shoeboxd, or
# $SHOEBOX_BIN). Screenshots and server logs go to target/web-e2e/.
#
# Needs: Node.js >= 20.19 and /usr/bin/chromium (ci/install-test-deps.sh),
# the photo fixtures (ci/fetch-fixtures.sh) and a built shoeboxd.
set -euo pipefail
cd "$(dirname "$0")/.."

bin="${SHOEBOX_BIN:-target/debug/shoeboxd}"
[ -x "$bin" ] || { echo "web-test: $bin not found; run cargo build first" >&2; exit 1; }
[ -x /usr/bin/chromium ] || [ -n "${CHROMIUM_BIN:-}" ] || { echo "web-test: /usr/bin/chromium missing; run ci/install-test-deps.sh" >&2; exit 1; }
[ -d target/fixtures/photos ] || { echo "web-test: photo fixtures missing; run ci/fetch-fixtures.sh" >&2; exit 1; }
[ -f target/ml/runtime/libonnxruntime.so ] || { echo "web-test: ONNX Runtime and models missing; run ci/fetch-ml.sh" >&2; exit 1; }

web/build.sh
(cd web && npm run --silent check)

rm -rf target/web-e2e
mkdir -p target/web-e2e
node --test --test-concurrency=1 web/e2e/
echo "web-test: screenshots and logs in target/web-e2e/"
