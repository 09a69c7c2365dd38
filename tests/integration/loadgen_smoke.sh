#!/usr/bin/env bash
# trident-loadgen against a real Prometheus 2.42 with its remote-write
# receiver: a short real-time run and a short simulated-clock backfill
# arrive as exactly the expected series and samples; the loadgen exits
# non-zero when the endpoint refuses everything (404) or is not there; its
# OpenMetrics output is accepted by promtool's backfill.
source "$(dirname "$0")/lib.sh"
LOADGEN=$(realpath "${TR_BUILD_DIR:-$TR_SOURCE_DIR/build-test}/loadtest/trident-loadgen")
cd "$WORK"

command -v prometheus >/dev/null || { echo "prometheus not installed" >&2; exit 1; }

port=$(free_port)
printf 'global:\n  scrape_interval: 15s\n' > prom.yml
prometheus --config.file=prom.yml --storage.tsdb.path=prom-data \
  --web.listen-address="127.0.0.1:$port" --web.enable-remote-write-receiver \
  >prom.log 2>&1 &
STARTED_PIDS+=("$!")
prom="http://127.0.0.1:$port"
check "Prometheus is ready" wait_ready "$prom/-/ready" 30

# instant_value QUERY: the single value of an instant query ("" if none).
instant_value() {
  curl -s "$prom/api/v1/query" --data-urlencode "query=$1" |
    sed -n 's/.*"value":\[[0-9.]*,"\([^"]*\)"\].*/\1/p'
}

# appended: samples Prometheus's head has appended so far (its own metric).
appended() {
  curl -s "$prom/metrics" |
    awk '/^prometheus_tsdb_head_samples_appended_total/ {s += $2} END {printf "%d", s}'
}

# 1. Real clock: 700 series (3 full instances of 201 and a partial one) at
#    a 1s interval for 4 s, with a tenant header (Prometheus ignores it).
before=$(appended)
st=0
"$LOADGEN" --url "$prom/api/v1/write" --series 700 --interval 1s \
  --duration 4s --senders 2 --tenant smoke --extra-label phase=real \
  --summary-json real.json >real.out 2>real.err || st=$?
check "real-clock run exits 0" test "$st" -eq 0
check "real-clock summary says ok" grep -q '"ok":true' real.json
check "progress lines are printed every second" \
  bash -c "[ \$(grep -c '^progress ' real.err) -ge 2 ]"
check "all 700 series arrived" \
  test "$(instant_value 'count({phase="real"})')" = 700
# A run stopped by --duration may end mid-scrape: 3 or 4 samples a series.
check "every CPU series got 3 or 4 samples (1 s interval, 4 s run)" bash -c "
  [ '$(instant_value 'min(count_over_time(node_cpu_seconds_total{phase="real"}[1m]))')' -ge 3 ] &&
  [ '$(instant_value 'max(count_over_time(node_cpu_seconds_total{phase="real"}[1m]))')' -le 4 ]"
acked=$(sed -n 's/.*"samples_acked":\([0-9]*\).*/\1/p' real.json)
check "acknowledged samples ($acked) were all appended" \
  test "$(( $(appended) - before ))" = "$acked"

# 2. Simulated clock: 10 minutes of 15 s scrapes for 1000 series.
before=$(appended)
st=0
"$LOADGEN" --url "$prom/api/v1/write" --series 1000 --clock sim \
  --start now-10m --end now --extra-label phase=sim --quiet \
  --summary-json sim.json >sim.out 2>&1 || st=$?
check "backfill run exits 0" test "$st" -eq 0
check "backfill: 1000 series" test "$(instant_value 'count({phase="sim"})')" = 1000
check "backfill: 40 scrapes of 1000 series appended" \
  test "$(( $(appended) - before ))" = 40000
check "counters look like node-exporter's" \
  test -n "$(instant_value 'sum(rate(node_cpu_seconds_total{phase="sim",mode="idle"}[5m])) > 0')"
check "histogram quantile is computable" \
  test -n "$(instant_value 'histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket{phase="sim"}[5m])))')"

# 3. Refusals: a path Prometheus answers 404, and a port nobody listens on.
st=0
"$LOADGEN" --url "$prom/api/v1/nope" --series 200 --clock sim \
  --start now-1m --end now --quiet >refused.out 2>&1 || st=$?
check "all requests refused (404): exit 1" test "$st" -eq 1
check "the summary names the status" grep -q 'status="404:' refused.out
check "the first error is shown" grep -q '^first_error: HTTP 404' refused.out
st=0
"$LOADGEN" --url "http://127.0.0.1:$(free_port)/api/v1/write" --series 200 \
  --clock sim --start now-1m --end now --retries 1 --quiet \
  >down.out 2>&1 || st=$?
check "endpoint down: exit 1 after retrying" test "$st" -eq 1
check "network errors are counted" grep -q 'net_errors=[1-9]' down.out
st=0
"$LOADGEN" --series 10 >usage.out 2>&1 || st=$?
check "missing --url is a usage error (exit 2)" test "$st" -eq 2

# 4. The same data as OpenMetrics, backfilled by promtool.
"$LOADGEN" --format openmetrics --output om.txt --series 300 \
  --start now-3h --end now-1h 2>/dev/null
check "promtool accepts the OpenMetrics output" \
  bash -c "promtool tsdb create-blocks-from openmetrics om.txt om-blocks >promtool.out 2>&1"
check "promtool made blocks with all 300 series" \
  bash -c "promtool tsdb list om-blocks | awk 'NR>1 {s+=\$5} END {exit !(s == 480*300)}'"

finish
