#!/usr/bin/env bash
# A real Prometheus 2.42 scrapes itself and Trident every second and
# remote-writes everything to Trident's /api/v1/push for about 20 s.
# Trident must take every sample without an error (both sides' counters
# say so), and the data must be there: `up` of both jobs read back through
# the ingester's SelectMetrics RPC, and through the query API when the
# read path is present.
source "$(dirname "$0")/lib.sh"
RW_SEND=$(realpath "${TR_BUILD_DIR:-build-test}/tr-rw-send")
PROMETHEUS=${PROMETHEUS:-/usr/bin/prometheus}
cd "$WORK"

http=$(free_port)
rpc=$(free_port)
prom=$(free_port)
start_trident trident -target=all -server.http-listen-address=127.0.0.1 \
  -server.rpc-listen-address=127.0.0.1 -server.http-listen-port="$http" \
  -server.rpc-listen-port="$rpc" -server.otlp-http-listen-port=-1 \
  -common.path-prefix="$WORK/data"
base="http://127.0.0.1:$http"
check "trident ready" wait_ready "$base/ready" 10

cat >prometheus.yml <<YAML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: prometheus
    static_configs: [{targets: ['127.0.0.1:$prom']}]
  - job_name: trident
    static_configs: [{targets: ['127.0.0.1:$http']}]
remote_write:
  - url: $base/api/v1/push
    metadata_config: {send_interval: 2s}
    queue_config: {batch_send_deadline: 1s, min_backoff: 30ms, max_backoff: 1s}
YAML
"$PROMETHEUS" --config.file=prometheus.yml --storage.tsdb.path="$WORK/prom" \
  --web.listen-address="127.0.0.1:$prom" >"$WORK/prometheus.log" 2>&1 &
STARTED_PIDS+=("$!")
log "started prometheus (pid $!) on port $prom"
check "prometheus ready" wait_ready "http://127.0.0.1:$prom/-/ready" 20
sleep 20

# metric FILE NAME: sum of the samples of NAME (any labels) in FILE.
metric_sum() {
  awk -v n="$2" '$1 == n || index($1, n "{") == 1 { s += $NF } END { printf "%.0f\n", s }' "$1"
}
curl -s "http://127.0.0.1:$prom/metrics" >prom.metrics
curl -s "$base/metrics" >trident.metrics
sent=$(metric_sum prom.metrics prometheus_remote_storage_samples_total)
failed=$(metric_sum prom.metrics prometheus_remote_storage_samples_failed_total)
dropped=$(metric_sum prom.metrics prometheus_remote_storage_samples_dropped_total)
received=$(metric_sum trident.metrics tr_distributor_received_samples_total)
discarded=$(metric_sum trident.metrics tr_discarded_samples_total)
appended=$(metric_sum trident.metrics tr_ingester_appended_samples_total)
series=$(metric_sum trident.metrics tr_ingester_memory_series)
log "prometheus sent=$sent failed=$failed dropped=$dropped; trident received=$received appended=$appended discarded=$discarded series=$series"
check "prometheus sent samples" test "$sent" -gt 1000
check "prometheus saw no failed samples" test "$failed" = 0
check "prometheus dropped no samples" test "$dropped" = 0
check "trident received samples" test "$received" -gt 1000
check "trident discarded nothing" test "$discarded" = 0
check "every received sample was appended" test "$appended" -ge "$received"
check "trident holds hundreds of series" test "$series" -gt 200
check "every remote-write request was answered 204" bash -c "
  grep '^tr_distributor_requests_total{protocol=\"prometheus\"' trident.metrics |
    awk '{ if (\$0 !~ /status=\"204\"/) bad = 1; n += \$NF } END { exit bad || n == 0 }'"
check "metadata arrived" bash -c "grep -E '^tr_distributor_received_metadata_total.* [1-9]' trident.metrics"

"$RW_SEND" -select "tcp://127.0.0.1:$rpc" anonymous up >up.txt
check "up of both jobs is stored, several samples each" bash -c "
  grep -q 'job=\"prometheus\"' up.txt && grep -q 'job=\"trident\"' up.txt &&
  awk '/^\{/ { if (\$(NF-3) < 5 || \$NF != 1) bad = 1 } END { exit bad }' up.txt &&
  tail -1 up.txt | grep -q '^series=2 '"

status=$(curl -s -o query.json -w '%{http_code}' "$base/prometheus/api/v1/query?query=up")
if [ "$status" = 200 ]; then
  check "the query API returns up for both jobs" bash -c "
    grep -q '\"job\":\"prometheus\"' query.json && grep -q '\"job\":\"trident\"' query.json"
else
  log "query API answered $status: verified through SelectMetrics only"
fi
finish
