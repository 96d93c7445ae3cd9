# Shared helpers for Nudge's shell scripts. Source it; do not run it.
# Everything slow (Node, the Temporal CLI, the test server) is cached outside the repo,
# under $NUDGE_CACHE, so a second run starts in seconds and a clean checkout still works.

set -euo pipefail

NUDGE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NUDGE_CACHE="${NUDGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/nudge}"
mkdir -p "$NUDGE_CACHE"
export NUDGE_ROOT NUDGE_CACHE

# Pinned tool versions. The Temporal CLI tags after v1.5.1 carry a `replace` directive
# pointing at a nested module the Go proxy does not serve, so v1.5.1 is the newest that
# builds from the module proxy alone (see README "Versions").
NUDGE_NODE_MAJOR=24
NUDGE_TEMPORAL_CLI_VERSION="${NUDGE_TEMPORAL_CLI_VERSION:-v1.5.1}"
NUDGE_TEST_SERVER_VERSION="${NUDGE_TEST_SERVER_VERSION:-1.38.0}"

log() { printf '\033[36m[nudge]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[31m[nudge]\033[0m %s\n' "$*" >&2; exit 1; }

# Runs a slow command, printing a heartbeat every 15 s so nobody thinks it hung.
with_progress() {
  local label="$1"; shift
  local started=$SECONDS
  "$@" &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    if (( (SECONDS - started) % 15 == 0 )); then log "$label … $((SECONDS - started)) s"; fi
  done
  wait "$pid"
}

# Waits until a TCP port accepts connections (or fails after $3 seconds).
wait_for_port() {
  local host="$1" port="$2" timeout="${3:-60}"
  local deadline=$((SECONDS + timeout))
  until (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; do
    (( SECONDS < deadline )) || return 1
    sleep 0.2
  done
}

port_is_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
