# shellcheck shell=bash
# Shared helpers for kafkar's shell scripts (scripts/kafka, scripts/test, .ci/run).
#
# Source it; it defines functions only and changes no shell options. Messages go to stderr so that a
# script's stdout stays reserved for its answer (e.g. `scripts/kafka start` prints only the bootstrap).
#
# The caller sets KAFKAR_LOG_PREFIX to its own name (e.g. "kafka", "test", "ci").

# kafkar_log MESSAGE... : one line to stderr, prefixed with the script's name.
kafkar_log() {
    printf '%s: %s\n' "${KAFKAR_LOG_PREFIX:-kafkar}" "$*" >&2
}

# kafkar_die MESSAGE... : log an error and exit 1.
kafkar_die() {
    kafkar_log "error: $*"
    exit 1
}

# kafkar_now_us : wall-clock time in microseconds (bash 5's EPOCHREALTIME, no fork).
kafkar_now_us() {
    local t=${EPOCHREALTIME/[.,]/}
    printf '%s\n' "$t"
}

# kafkar_elapsed START_US : seconds since START_US (from kafkar_now_us), one decimal, e.g. "12.3s".
kafkar_elapsed() {
    local start=$1 now delta
    now=$(kafkar_now_us)
    delta=$(((now - start) / 100000))
    printf '%d.%ds\n' $((delta / 10)) $((delta % 10))
}

# kafkar_repo_root : absolute path of the repository (the parent of scripts/).
kafkar_repo_root() {
    cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd
}
