#!/usr/bin/env bash
# Metrics write validation end to end: for every rule a crafted remote-write
# request gets the expected status and message while the good series in
# the same request are written (read back through the ingester's
# SelectMetrics RPC); content types and encodings; tenant ids and auth;
# rate and series limits; OTLP JSON and protobuf pushes with partial
# success.
source "$(dirname "$0")/lib.sh"
RW_SEND=$(realpath "${TR_BUILD_DIR:-build-test}/tr-rw-send")
cd "$WORK"

http=$(free_port)
rpc=$(free_port)
otlp=$(free_port)
start_trident main -target=all -server.http-listen-address=127.0.0.1 \
  -server.rpc-listen-address=127.0.0.1 -server.http-listen-port="$http" \
  -server.rpc-listen-port="$rpc" -server.otlp-http-listen-port="$otlp" \
  -common.path-prefix="$WORK/main" \
  -limits.max-label-names-per-series=5 -limits.max-label-name-length=20 \
  -limits.max-label-value-length=30
base="http://127.0.0.1:$http"
push="$base/api/v1/push"

http2=$(free_port)
rpc2=$(free_port)
start_trident limited -target=all -server.http-listen-address=127.0.0.1 \
  -server.rpc-listen-address=127.0.0.1 -server.http-listen-port="$http2" \
  -server.rpc-listen-port="$rpc2" -server.otlp-http-listen-port=-1 \
  -common.path-prefix="$WORK/limited" -auth.enabled=true \
  -limits.ingestion-rate=10 -limits.ingestion-burst-size=100 \
  -limits.max-series-per-tenant=3
base2="http://127.0.0.1:$http2"

check "main instance ready" wait_ready "$base/ready" 10
check "limited instance ready" wait_ready "$base2/ready" 10

# metrics_has BASE TEXT: /metrics of BASE contains TEXT (fetched whole
# first: grep -q closing the pipe early would fail curl under pipefail).
metrics_has() {
  curl -s "$1/metrics" >"$WORK/metrics.txt" && grep -qF -- "$2" "$WORK/metrics.txt"
}

# rw STATUS TEXT DESCRIPTION [tool options...]: pushes DESCRIPTION (lines)
# to $URL and checks the status and that the body contains TEXT.
URL=$push
rw() {
  local want=$1 text=$2 desc=$3
  shift 3
  printf '%s\n' "$desc" | "$RW_SEND" "$@" "$URL" >"$WORK/rw.out" || true
  local got
  got=$(head -1 "$WORK/rw.out")
  if [ "$got" != "$want" ]; then
    echo "status $got, want $want: $(cat "$WORK/rw.out")" >&2
    return 1
  fi
  if [ -n "$text" ] && ! grep -qF -- "$text" "$WORK/rw.out"; then
    echo "body lacks '$text': $(cat "$WORK/rw.out")" >&2
    return 1
  fi
}

# series_count METRIC [TENANT]: "series=N samples=M" from the ingester.
series_count() {
  "$RW_SEND" -select "tcp://127.0.0.1:$rpc" "${2:-anonymous}" "$1" | tail -1
}
has() { # METRIC EXPECTED [TENANT]
  local got
  got=$(series_count "$1" "${3:-}")
  [ "$got" = "$2" ] || { echo "$1: $got, want $2" >&2; return 1; }
}

good='{__name__="good", job="a"} 1 now'
check "a valid request gets 204" rw 204 "" "$good"
check "the valid series is stored" has good "series=1 samples=1"

# One bad series per rule, each beside a good one.
n=0
bad_rule() { # DESCRIPTION-OF-RULE BAD-SERIES MESSAGE
  n=$((n + 1))
  check "$1: 400 naming it" rw 400 "$3" "{__name__=\"ok_$n\"} 1 now
$2"
  check "$1: the good series of the request is written" has "ok_$n" "series=1 samples=1"
}
bad_rule "missing metric name" '{job="x"} 1 now' "missing metric name"
bad_rule "invalid metric name" '{__name__="1abc"} 1 now' 'invalid metric name "1abc"'
bad_rule "invalid label name" '{__name__="m", "bad-name"="x"} 1 now' "invalid label name"
bad_rule "label name starting with a digit" '{__name__="m", 0x="x"} 1 now' 'invalid label name "0x"'
bad_rule "duplicate label names" '{__name__="m", a="1", a="2"} 1 now' 'duplicate label name "a"'
bad_rule "too many labels" '{__name__="m", a="1", b="1", c="1", d="1", e="1"} 1 now' \
  "6 labels, more than the limit of 5 (limits.max_label_names_per_series)"
bad_rule "label name too long" '{__name__="m", abcdefghijklmnopqrstuvwxyz="1"} 1 now' \
  "limits.max_label_name_length"
bad_rule "label value too long" '{__name__="m", a="0123456789012345678901234567890123456789"} 1 now' \
  "limits.max_label_value_length"
bad_rule "invalid UTF-8 label value" '{__name__="m", a="\xff\xfe"} 1 now' "not valid UTF-8"
bad_rule "sample too old" '{__name__="m"} 1 now-2w' "too old"
bad_rule "sample too far in the future" '{__name__="m"} 1 now+1h' "too far in the future"

T=$(date +%s%3N)
check "out of order sample: first write" rw 204 "" "{__name__=\"ooo\"} 1 $T"
bad_rule "out of order sample" "{__name__=\"ooo\"} 2 $((T - 60000))" "out of order"
check "out of order sample: only the first sample is stored" has ooo "series=1 samples=1"
bad_rule "duplicate timestamp with another value" "{__name__=\"ooo\"} 5 $T" "duplicate"
check "same timestamp and same value is accepted (ignored)" rw 204 "" "{__name__=\"ooo\"} 1 $T"
check "the series still holds one sample" has ooo "series=1 samples=1"

check "empty label values are dropped, unsorted labels sorted" \
  rw 204 "" '{zone="eu", empty="", __name__="sorted", app="x"} 1 now'
check "the stored series has sorted labels without the empty one" bash -c \
  "'$RW_SEND' -select tcp://127.0.0.1:$rpc anonymous sorted | grep -qF '{__name__=\"sorted\", app=\"x\", zone=\"eu\"} 1'"

check "native histograms are refused with a clear message" rw 400 \
  "native histograms are not supported yet" '{__name__="hist"} 1 now
# histogram now'
check "float samples beside native histograms are written" has hist "series=1 samples=1"
check "stale markers are stored" rw 204 "" '{__name__="stale_m"} 1 now-2s stale now'
check "the stale marker is the last sample" bash -c \
  "'$RW_SEND' -select tcp://127.0.0.1:$rpc anonymous stale_m | grep -q ' 2 .* stale$'"
check "exemplars and metadata are accepted" rw 204 "" '{__name__="ex_total"} 1 now
# exemplar {trace_id="0123abcd"} 1 now
# metadata counter ex_total Requests served.'
check "an invalid exemplar is refused, its series written" rw 400 \
  "cannot accept exemplar" '{__name__="ex2_total"} 1 now
# exemplar {"bad-name"="x"} 1 now'
check "series of the invalid exemplar is stored" has ex2_total "series=1 samples=1"

# Transport rules.
check "remote write 2.0 is 415 with a clear message" rw 415 \
  "remote write 2.0" "$good" -content-type "application/x-protobuf;proto=io.prometheus.write.v2.Request"
check "other content types are 415" rw 415 "expected application/x-protobuf" "$good" \
  -content-type "application/json"
check "missing Content-Encoding is taken as snappy" rw 204 "" \
  '{__name__="noenc"} 1 now' -no-encoding-header
check "the request without Content-Encoding was written" has noenc "series=1 samples=1"
check "gzip Content-Encoding is 415" bash -c \
  "[ \$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Encoding: gzip' \
       --data-binary @/dev/null $push) = 415 ] || \
   [ \$(printf x | gzip | curl -s -o /dev/null -w '%{http_code}' \
       -H 'Content-Encoding: gzip' --data-binary @- $push) = 415 ]"
check "a body that is not snappy is 400" bash -c \
  "[ \$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Encoding: snappy' \
       --data-binary 'garbage!' $push) = 400 ]"
check "GET on the push path is 405" test "$(http_status GET "$push")" = 405
URL="$base/api/v1/write"
check "/api/v1/write is served too" rw 204 "" "$good"
URL="$base/prometheus/api/v1/push"
check "/prometheus/api/v1/push is served too" rw 204 "" "$good"
URL=$push

# Tenants.
check "a tenant header is used without auth" rw 204 "" '{__name__="tenant_m"} 1 now' \
  -H "X-Scope-OrgID: team-1"
check "the series landed in that tenant" has tenant_m "series=1 samples=1" team-1
check "an invalid tenant id is 400" rw 400 \
  "tenant ID 'a/b' contains unsupported character '/'" "$good" -H "X-Scope-OrgID: a/b"
check "several tenants are refused for writes" rw 400 "multiple org IDs present" \
  "$good" -H "X-Scope-OrgID: a|b"
check "a tenant id over 150 characters is 400" rw 400 "tenant ID is too long" \
  "$good" -H "X-Scope-OrgID: $(printf 'a%.0s' {1..151})"

URL="$base2/api/v1/push"
check "auth enabled and no header: 401 no org id" rw 401 "no org id" "$good"
check "auth enabled with a header: written" rw 204 "" "$good" -H "X-Scope-OrgID: t1"
check "over the series limit: 429 for the new series" rw 429 \
  "limits.max_series_per_tenant" '{__name__="s1"} 1 now
{__name__="s2"} 1 now
{__name__="s3"} 1 now' -H "X-Scope-OrgID: t1"
big=$(for i in $(seq 1 120); do echo "{__name__=\"rate_$((i % 2))\"} $i now-$((200 - i))s"; done)
check "a request above the burst is refused with 429" rw 429 \
  "ingestion rate limit exceeded" "$big" -H "X-Scope-OrgID: t2"
fifty=$(for i in $(seq 1 60); do echo "{__name__=\"r\"} $i now-$((100 - i))s"; done)
check "within the burst: written" rw 204 "" "$fifty" -H "X-Scope-OrgID: t3"
check "the burst used up: 429" rw 429 "ingestion rate limit exceeded" "$fifty" \
  -H "X-Scope-OrgID: t3"
check "rate-limited samples are counted as discarded" \
  metrics_has "$base2" 'tr_discarded_samples_total{tenant="t3",reason="rate_limited"} 60'

# OTLP.
now_ns=$(date +%s%N)
otlp_json='{"resourceMetrics":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"shop"}}]},
 "scopeMetrics":[{"metrics":[
  {"name":"queue.depth","gauge":{"dataPoints":[{"asDouble":7,"timeUnixNano":"'$now_ns'"}]}},
  {"name":"latency","exponentialHistogram":{"aggregationTemporality":2,"dataPoints":[{"count":"2","scale":1,"timeUnixNano":"'$now_ns'"}]}}]}]}]}'
otlp_post() { # URL CONTENT-TYPE BODY -> status line then body in $WORK/otlp.out
  curl -s -o "$WORK/otlp.out" -w '%{http_code}' -H "Content-Type: $2" --data-binary "$3" "$1"
}
check "OTLP JSON on /otlp/v1/metrics: 200 with partial success for the exponential histogram" bash -c "
  [ \"\$(curl -s -o $WORK/o1 -w '%{http_code}' -H 'Content-Type: application/json' \
        --data-binary '$otlp_json' $base/otlp/v1/metrics)\" = 200 ] &&
  grep -q '\"rejectedDataPoints\":\"1\"' $WORK/o1 && grep -q 'exponential histograms' $WORK/o1"
check "the OTLP gauge is stored with its job" bash -c \
  "'$RW_SEND' -select tcp://127.0.0.1:$rpc anonymous queue_depth | grep -qF 'job=\"shop\"'"
check "OTLP JSON on the OTLP port's /v1/metrics" test \
  "$(otlp_post "http://127.0.0.1:$otlp/v1/metrics" application/json "$otlp_json")" = 200
check "OTLP JSON on /api/v1/otlp/v1/metrics" test \
  "$(otlp_post "$base/api/v1/otlp/v1/metrics" application/json "$otlp_json")" = 200
check "OTLP protobuf (empty request) is 200 with an empty protobuf answer" bash -c "
  [ \"\$(curl -s -o $WORK/o2 -w '%{http_code} %{content_type}' -H 'Content-Type: application/x-protobuf' \
        --data-binary @/dev/null $base/otlp/v1/metrics)\" = '200 application/x-protobuf' ] &&
  [ ! -s $WORK/o2 ]"
check "OTLP gzip JSON body is accepted" bash -c "
  printf '%s' '$otlp_json' | gzip | curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
    -H 'Content-Encoding: gzip' --data-binary @- $base/otlp/v1/metrics | grep -qx 200"
check "OTLP bad JSON is 400 with a google.rpc.Status body" bash -c "
  [ \"\$(otlp_post() { :; }; curl -s -o $WORK/o3 -w '%{http_code}' -H 'Content-Type: application/json' \
        --data-binary '{\"resourceMetrics\":[{\"scopeMetrics\":7}]}' $base/otlp/v1/metrics)\" = 400 ] &&
  grep -q '\"code\":3' $WORK/o3 && grep -q 'cannot decode OTLP' $WORK/o3"
check "OTLP with another content type is 415" test \
  "$(otlp_post "$base/otlp/v1/metrics" text/plain "x")" = 415
check "OTLP with auth and no tenant is 401" bash -c "
  [ \"\$(curl -s -o $WORK/o4 -w '%{http_code}' -H 'Content-Type: application/json' \
        --data-binary '{}' $base2/otlp/v1/metrics)\" = 401 ] && grep -q 'no org id' $WORK/o4"

check "requests are counted by protocol and status" \
  metrics_has "$base" 'tr_distributor_requests_total{protocol="prometheus",status="400"}'
check "invalid samples are counted by reason" \
  metrics_has "$base" 'tr_discarded_samples_total{tenant="anonymous",reason="missing_metric_name"} 1'
check "head rejections are counted by reason" \
  metrics_has "$base" 'tr_discarded_samples_total{tenant="anonymous",reason="sample_out_of_order"} 1'
finish
