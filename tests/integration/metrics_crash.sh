#!/usr/bin/env bash
# Durability: batches of 2000 samples are pushed continuously from two
# threads and each acknowledged batch is recorded; Trident is killed with
# SIGKILL mid-stream, restarted on the same data directory, and every
# acknowledged sample must be back (read through the ingester's
# SelectMetrics RPC) after the WAL replay. Then pushes go on.
source "$(dirname "$0")/lib.sh"
RW_SEND=$(realpath "${TR_BUILD_DIR:-build-test}/tr-rw-send")
cd "$WORK"

http=$(free_port)
rpc=$(free_port)
args=(-target=all -server.http-listen-address=127.0.0.1
      -server.rpc-listen-address=127.0.0.1 -server.http-listen-port="$http"
      -server.rpc-listen-port="$rpc" -server.otlp-http-listen-port=-1
      -common.path-prefix="$WORK/data")
base="http://127.0.0.1:$http"
SERIES=100
SAMPLES=20
THREADS=2
START=$(( $(date +%s%3N) - 3600000 ))

start_trident first "${args[@]}"
first_pid=$LAST_PID
check "ready" wait_ready "$base/ready" 10

"$RW_SEND" -stream 1000000 "$SERIES" "$SAMPLES" -threads "$THREADS" \
  -ack "$WORK/acks" -metric crash -start "$START" "$base/api/v1/push" \
  >"$WORK/stream.out" 2>"$WORK/stream.err" &
stream_pid=$!
sleep 4
kill -9 "$first_pid"
wait "$first_pid" 2>/dev/null || true
log "killed trident (pid $first_pid) with SIGKILL"
wait "$stream_pid" || true
acked=$(wc -l <"$WORK/acks")
log "acknowledged batches before the kill: $acked ($(cat "$WORK/stream.out"))"
check "batches were acknowledged before the kill" test "$acked" -gt 10

start_trident second "${args[@]}"
check "ready again after the WAL replay" wait_ready "$base/ready" 60
check "the replay is reported" grep -q 'msg="WAL replayed"' "$WORK/second.log"

# verify_thread T: every series of thread T holds every sample of every
# acknowledged batch of that thread.
verify_thread() {
  local t=$1 n max
  n=$(awk -v t="$t" -v k="$THREADS" '$1 % k == t' "$WORK/acks" | wc -l)
  max=$(awk -v t="$t" -v k="$THREADS" '$1 % k == t {print int($1 / k)}' "$WORK/acks" | sort -n | tail -1)
  "$RW_SEND" -select "tcp://127.0.0.1:$rpc" anonymous "crash_t$t" >"$WORK/sel_$t"
  local series
  series=$(grep -c '^{' "$WORK/sel_$t" || true)
  if [ "$series" != "$SERIES" ]; then
    echo "thread $t: $series series, want $SERIES" >&2
    return 1
  fi
  # Batches of a thread are consecutive: acked seqs 0..max, each adding
  # SAMPLES samples per series with timestamps START + seq*SAMPLES + k.
  local want_last=$((START + (max + 1) * SAMPLES - 1))
  awk -v n="$n" -v s="$SAMPLES" -v last="$want_last" -v start="$START" '
    /^\{/ { count = $(NF-3); first = $(NF-2); l = $(NF-1)
            if (count < n * s || l < last || first != start) {
              print "series " $0 " lacks acknowledged samples (want >= " n*s \
                    " samples up to " last ")" > "/dev/stderr"; bad = 1 } }
    END { exit bad }' "$WORK/sel_$t"
}
for ((t = 0; t < THREADS; t++)); do
  check "thread $t: every acknowledged sample survived SIGKILL" verify_thread "$t"
done

check "pushes are accepted after the restart" bash -c "
  printf '{__name__=\"after_restart\"} 1 now\n' | '$RW_SEND' $base/api/v1/push | head -1 | grep -qx 204"
check "replayed records are counted" bash -c \
  "curl -s $base/metrics | grep -E '^tr_ingester_wal_replayed_records_total [1-9]'"
finish
