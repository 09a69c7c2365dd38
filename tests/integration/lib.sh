# Shared helpers for integration scenarios (sourced, not run).
#
# Each scenario starts the real processes it needs on 127.0.0.1, in a fresh
# temporary directory, on ports nobody else is using, and everything it
# started is stopped when it exits, pass or fail.
set -euo pipefail

TRIDENT_BIN=$(realpath -m "${TRIDENT_BIN:-build-test/trident}")
TR_SOURCE_DIR=${TR_SOURCE_DIR:-$(pwd)}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/trident-it.XXXXXX")
declare -a STARTED_PIDS=()
FAILURES=0
CHECKS=0

cleanup() {
  local pid
  for pid in "${STARTED_PIDS[@]+"${STARTED_PIDS[@]}"}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${STARTED_PIDS[@]+"${STARTED_PIDS[@]}"}"; do
    wait "$pid" 2>/dev/null || true
  done
  if [ "$FAILURES" -eq 0 ] && [ -z "${KEEP_WORK:-}" ]; then
    rm -rf "$WORK"
  else
    echo "work directory kept: $WORK" >&2
  fi
}
trap cleanup EXIT

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

# free_port: a TCP port on 127.0.0.1 that no socket uses now. Ports are
# drawn at random below the kernel's ephemeral range (where outgoing
# connections take their local ports, so a port there can be taken at any
# moment), so parallel scenarios rarely collide, and checked against every
# socket, listening or connected.
free_port() {
  local low high port
  read -r low _ < /proc/sys/net/ipv4/ip_local_port_range
  high=$(( low - 1 ))
  low=10000
  while :; do
    port=$(( low + (RANDOM * 32768 + RANDOM) % (high - low) ))
    if ! ss -Htan "sport = :$port" | grep -q .; then
      echo "$port"
      return
    fi
  done
}

# start_trident NAME ARGS...: starts trident in the background with its
# log in $WORK/NAME.log; sets the global variable LAST_PID.
start_trident() {
  local name=$1
  shift
  "$TRIDENT_BIN" "$@" >"$WORK/$name.log" 2>&1 &
  LAST_PID=$!
  STARTED_PIDS+=("$LAST_PID")
  log "started $name (pid $LAST_PID): $*"
}

# wait_ready URL [SECONDS]: polls URL until it answers 200.
wait_ready() {
  local url=$1 limit=${2:-10} i
  for ((i = 0; i < limit * 10; i++)); do
    if [ "$(curl -s -o /dev/null -w '%{http_code}' "$url")" = 200 ]; then
      return 0
    fi
    sleep 0.1
  done
  echo "not ready within ${limit}s: $url" >&2
  return 1
}

# check DESCRIPTION COMMAND...: runs the command, records pass or fail.
check() {
  local what=$1
  shift
  CHECKS=$((CHECKS + 1))
  if "$@"; then
    echo "ok   - $what"
  else
    echo "FAIL - $what" >&2
    FAILURES=$((FAILURES + 1))
  fi
}

# http_status METHOD URL [curl args...]: prints the status code.
http_status() {
  local method=$1 url=$2
  shift 2
  curl -s -o /dev/null -w '%{http_code}' -X "$method" "$url" "$@"
}

body_contains() { # URL TEXT
  # Read the whole body first: with pipefail, grep -q leaving early would
  # fail curl on a broken pipe whenever the body is large.
  local body
  body=$(curl -s "$1")
  grep -qF -- "$2" <<<"$body"
}

# finish: prints the closing line and exits non-zero on any failure.
finish() {
  echo "$((CHECKS - FAILURES)) passed, $FAILURES failed"
  [ "$FAILURES" -eq 0 ]
}
