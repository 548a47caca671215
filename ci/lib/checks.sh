# Shared by the check scripts (check-appliance.sh, image-test.sh): a
# counter of named checks that passed and failed. Source it, call
# `pass NAME` or `fail NAME [DETAILS]`, and read PASSED, FAILED and
# FAILED_NAMES at the end.

START=$SECONDS
PASSED=0
FAILED=0
FAILED_NAMES=()

pass() { PASSED=$((PASSED + 1)); printf '  ok    %s\n' "$1"; }
fail() {
    FAILED=$((FAILED + 1)); FAILED_NAMES+=("$1")
    printf '  FAIL  %s\n' "$1"
    if [[ -n ${2:-} ]]; then printf '%s\n' "$2" | sed 's/^/        /'; fi
}
