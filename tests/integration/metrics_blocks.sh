#!/usr/bin/env bash
# Blocks: with a 1-minute block duration and a 1-second cut interval, 35
# minutes of back-dated samples (starting an hour ago) (20 series, plus 10 that stop after 5
# minutes) are pushed in time order. Trident must cut the complete ranges
# into blocks under <tenant>/metrics/<id>/, truncate the WAL, collect the
# series that stopped, refuse samples older than what is in blocks, and
# still answer every sample exactly once through the query API (querier:
# ingester + blocks). Then: SIGKILL and restart (nothing lost, nothing
# doubled), POST /flush (a block right away, ending at the last sample + 1
# ms), /ingester/shutdown?terminate=false (/ready 503, pushes 503), plain
# /ingester/shutdown (the process exits), and the flush on SIGTERM.
#
# BLOCKS_S3=1 (metrics_blocks_s3.sh) runs the same against a real s3rver
# (node_modules/s3rver through tests/unit/s3rver_run.js).
#
# BLOCKS_RETAIN=1 (metrics_blocks_retained.sh) keeps cut data in the head
# for an hour: every sample is then in the head and in a block, and the
# ingester leaves out of its answers what the querier reads from blocks it
# names. Every sample must still answer exactly once, also after SIGKILL
# and replay; the script stops there.
source "$(dirname "$0")/lib.sh"
RW_SEND=$(realpath "${TR_BUILD_DIR:-build-test}/tr-rw-send")
cd "$WORK"

http=$(free_port)
rpc=$(free_port)
base="http://127.0.0.1:$http"
args=(-target=all -server.http-listen-address=127.0.0.1
      -server.rpc-listen-address=127.0.0.1 -server.http-listen-port="$http"
      -server.rpc-listen-port="$rpc" -server.otlp-http-listen-port=-1
      -server.otlp-grpc-listen-port=-1 -common.path-prefix="$WORK/data"
      -ingester.block-duration=1m -ingester.cut-interval=1s
      -ingester.retain-cut-data="$([ -n "${BLOCKS_RETAIN:-}" ] && echo 1h || echo 2s)"
      -querier.block-list-refresh-interval=1s)

if [ -n "${BLOCKS_S3:-}" ]; then
  if [ ! -f "$TR_SOURCE_DIR/node_modules/s3rver/package.json" ]; then
    echo "SKIP: node_modules/s3rver missing (run npm ci)" >&2
    exit 0
  fi
  mkdir -p "$WORK/s3"
  mkfifo "$WORK/s3.in"
  # s3rver_run.js exits when its stdin closes: fd 9 holds it open until
  # this script ends.
  node --openssl-legacy-provider "$TR_SOURCE_DIR/tests/unit/s3rver_run.js" \
    --dir "$WORK/s3" --bucket blocks --port 0 <"$WORK/s3.in" \
    >"$WORK/s3rver.out" 2>&1 &
  STARTED_PIDS+=("$!")
  exec 9>"$WORK/s3.in"
  for ((i = 0; i < 100; i++)); do
    grep -q '^READY' "$WORK/s3rver.out" 2>/dev/null && break
    sleep 0.1
  done
  s3port=$(awk '/^READY/ {print $2}' "$WORK/s3rver.out")
  [ -n "$s3port" ] || { cat "$WORK/s3rver.out" >&2; exit 1; }
  log "s3rver on port $s3port"
  args+=(-storage.backend=s3 -storage.s3.endpoint="127.0.0.1:$s3port"
         -storage.s3.bucket=blocks -storage.s3.access-key-id=S3RVER
         -storage.s3.secret-access-key=S3RVER -storage.s3.insecure=true)
  STORE_DIR="$WORK/s3"
else
  STORE_DIR="$WORK/data/objects"
fi

# Samples: every 10 s from START; sample k of every series has value k.
START=$(( ($(date +%s%3N) - 60 * 60000) / 60000 * 60000 ))
SERIES=20
GONE=10
GONE_K=30

# push FROM TO: samples k in [FROM, TO) of the blk series (and of the gone
# series while k < GONE_K); prints the HTTP status.
push() {
  awk -v s="$START" -v from="$1" -v to="$2" -v n="$SERIES" -v g="$GONE" \
      -v gk="$GONE_K" 'BEGIN {
    for (i = 0; i < n + g; i++) {
      name = i < n ? "blk" : "gone"
      lim = i < n ? to : (to < gk ? to : gk)
      if (from >= lim) continue
      printf "{__name__=\"%s\", i=\"%d\"}", name, i
      for (k = from; k < lim; k++) printf " %d %.0f", k, s + k * 10000
      print ""
    } }' | "$RW_SEND" "$base/api/v1/push" | head -1
}

metric() { # NAME_WITH_LABELS: prints its value (0 when absent)
  curl -s "$base/metrics" | awk -v m="$1" '$1 == m {print $2; f=1} END {if (!f) print 0}'
}

metric_ge() { test "$(metric "$1")" -ge "$2"; }
metric_eq() { test "$(metric "$1")" = "$2"; }

blocks() { # number of complete blocks in the store
  find "$STORE_DIR" -path '*anonymous/metrics/*' -name 'meta.json*' \
    ! -name '*metadata*' | wc -l
}

# verify K: the query API returns samples 0..K-1 of every blk series and
# 0..GONE_K-1 of every gone series, each exactly once.
verify() {
  local k=$1
  curl -s "$base/prometheus/api/v1/query" \
    --data-urlencode 'query={__name__=~"blk|gone"}[3h]' \
    --data-urlencode "time=$((START / 1000 + 7200))" >"$WORK/query.json"
  jq -e --argjson start $((START / 1000)) --argjson k "$k" \
     --argjson n "$SERIES" --argjson g "$GONE" --argjson gk "$GONE_K" '
    .status == "success" and
    ([.data.result[] | select(.metric.__name__ == "blk")] | length) == $n and
    ([.data.result[] | select(.metric.__name__ == "gone")] | length) == $g and
    all(.data.result[];
        (if .metric.__name__ == "blk" then $k else $gk end) as $want |
        (.values | length) == $want and
        (.values | to_entries |
         all(.value[0] == $start + .key * 10 and
             (.value[1] | tonumber) == .key)))' "$WORK/query.json" >/dev/null \
  || { echo "query answer differs (see $WORK/query.json):" >&2
       jq -c '[.data.result[] | {m: .metric, n: (.values | length)}]' \
         "$WORK/query.json" | head -c 2000 >&2; echo >&2; return 1; }
}

wait_for() { # SECONDS COMMAND...: retries the command until it succeeds
  local limit=$1 i
  shift
  for ((i = 0; i < limit * 10; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  "$@"
}

start_trident first "${args[@]}"
pid=$LAST_PID
check "ready" wait_ready "$base/ready" 20

ok=1
for ((b = 0; b < 7; b++)); do
  [ "$(push $((b * 30)) $((b * 30 + 30)))" = 204 ] || ok=0
done
check "35 minutes of samples pushed in time order (7 requests)" test "$ok" = 1
K=210

# 35 minutes in 1-minute ranges, the last 1.5 minutes staying in the head.
check "blocks are cut for the complete ranges" \
  wait_for 20 metric_ge 'tr_ingester_blocks_cut_total{tenant="anonymous"}' 34
blocks_ge() { test "$(blocks)" -ge "$1"; }
check "blocks land under anonymous/metrics/<id>/meta.json" wait_for 5 blocks_ge 34
check "the WAL is truncated" \
  wait_for 10 metric_ge tr_ingester_wal_truncations_total 1
check "the WAL's first position advances" \
  metric_ge tr_ingester_wal_first_position 2
if [ -n "${BLOCKS_RETAIN:-}" ]; then
  check "every sample answers exactly once (blocks + the head holding them too)" \
    verify "$K"
  # Once the querier's block list (refreshed every second) has every
  # block, its selects name them and the ingester narrows its answers.
  narrowed_query() { verify "$K" && metric_ge tr_ingester_selects_narrowed_total 1; }
  check "the ingester left out what the querier read from blocks" \
    wait_for 10 narrowed_query
  kill -9 "$pid"
  wait "$pid" 2>/dev/null || true
  start_trident retained "${args[@]}"
  check "ready after SIGKILL" wait_ready "$base/ready" 30
  check "after SIGKILL and replay: every sample once, none doubled" \
    wait_for 5 verify "$K"
  finish
  exit
fi
check "series that stopped are collected from the head (30 -> 20)" \
  wait_for 10 metric_eq 'tr_ingester_memory_series{tenant="anonymous"}' "$SERIES"
check "the head's min valid time is exported" \
  bash -c "curl -s $base/metrics | grep -E '^tr_ingester_head_min_valid_time_seconds\{tenant=\"anonymous\"\} 1\.[0-9]'"
check "no upload failed" metric_eq tr_ingester_block_upload_failures_total 0
check "every sample answers exactly once (blocks + head)" verify "$K"
check "a sample older than what is in blocks is refused as too old" bash -c "
  printf '{__name__=\"blk\", i=\"0\"} 1 $START\n' | '$RW_SEND' $base/api/v1/push |
  tr '\n' ' ' | grep -E '^400 .*too old'"
blocks_before=$(blocks)

kill -9 "$pid"
wait "$pid" 2>/dev/null || true
log "killed trident with SIGKILL"
start_trident second "${args[@]}"
pid=$LAST_PID
check "ready after the restart" wait_ready "$base/ready" 30
check "after SIGKILL and replay: every sample once, none doubled" \
  wait_for 5 verify "$K"

check "pushes go on after the restart" test "$(push 210 240)" = 204
K=240
check "POST /flush answers 204" test "$(http_status POST "$base/flush")" = 204
last_ms=$((START + (K - 1) * 10000))
check "the flush cut a block ending at the last sample + 1 ms" bash -c "
  find '$STORE_DIR' -path '*anonymous/metrics/*' -name 'meta.json*' \
    ! -name '*metadata*' -exec cat {} + | grep -F '\"maxt\":$((last_ms + 1))' >/dev/null"
check "more blocks after the flush" test "$(blocks)" -gt "$blocks_before"
check "after the flush: every sample once" wait_for 5 verify "$K"
check "GET /ingester/flush answers 204" \
  test "$(http_status GET "$base/ingester/flush")" = 204
check "newer samples are accepted after a flush" test "$(push 240 250)" = 204
K=250
check "after the newer push: every sample once" verify "$K"

check "/ingester/shutdown?terminate=false answers 204" \
  test "$(http_status POST "$base/ingester/shutdown?terminate=false")" = 204
check "/ready is 503 after the shutdown" \
  test "$(http_status GET "$base/ready")" = 503
check "pushes get 503 after the shutdown" test "$(push 250 251)" = 503
check "reads still work after the shutdown" verify "$K"
check "GET /ingester/shutdown answers 204" \
  test "$(http_status GET "$base/ingester/shutdown")" = 204
exited() { ! kill -0 "$pid" 2>/dev/null; }
check "the process stops after /ingester/shutdown" wait_for 20 exited
rc=0
wait "$pid" || rc=$?
check "and exits cleanly (status 0)" test "$rc" = 0

start_trident third "${args[@]}"
pid=$LAST_PID
check "ready after the shutdown" wait_ready "$base/ready" 30
check "after the shutdown and restart: every sample once" wait_for 5 verify "$K"
check "pushes are accepted again" test "$(push 250 260)" = 204
K=260
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
check "SIGTERM stops cleanly" test "$rc" = 0
check "SIGTERM flushed the head to blocks" \
  grep -q 'msg="flushed heads to blocks at shutdown"' "$WORK/third.log"
check "the SIGTERM flush wrote the block ending at the last sample + 1 ms" bash -c "
  find '$STORE_DIR' -path '*anonymous/metrics/*' -name 'meta.json*' \
    ! -name '*metadata*' -exec cat {} + |
  grep -F '\"maxt\":$((START + (K - 1) * 10000 + 1))' >/dev/null"
start_trident fourth "${args[@]}"
pid=$LAST_PID
check "ready after SIGTERM" wait_ready "$base/ready" 30
check "after SIGTERM and restart: every sample once" wait_for 5 verify "$K"
finish
