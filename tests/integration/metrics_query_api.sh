#!/usr/bin/env bash
# The Prometheus HTTP API of the query-frontend + querier, byte for byte:
# known samples are pushed (OTLP/HTTP JSON, so the test needs only curl),
# then every endpoint is asked under both prefixes (/api/v1 and
# /prometheus/api/v1), with GET and with POST form bodies, and the exact
# JSON bodies and status codes are checked, errors included. Grafana's
# data source health check is sent exactly as Grafana sends it. A second
# process with auth enabled checks the tenant rules (401, isolation), and
# a third pair runs query-frontend and querier as separate processes.
source "$(dirname "$0")/lib.sh"
cd "$WORK"

http=$(free_port)
rpc=$(free_port)
common=(-server.http-listen-address=127.0.0.1 -server.rpc-listen-address=127.0.0.1
        -server.otlp-http-listen-port=-1 -server.otlp-grpc-listen-port=-1)
start_trident all -target=all "${common[@]}" -server.http-listen-port="$http" \
  -server.rpc-listen-port="$rpc" -common.path-prefix="$WORK/data"
base="http://127.0.0.1:$http"
check "trident is ready" wait_ready "$base/ready" 10

# ---- known data -----------------------------------------------------------
# temperature{job="house", room="kitchen"|"living"} every 15 s from B.
B=$((($(date +%s) - 600) / 60 * 60))
points() { # ROOM VALUES...
  local room=$1 i=0 out=""
  shift
  for v in "$@"; do
    out+="${out:+,}{\"attributes\":[{\"key\":\"room\",\"value\":{\"stringValue\":\"$room\"}}],"
    out+="\"timeUnixNano\":\"$(((B + 15 * i) * 1000000000))\",\"asDouble\":$v}"
    i=$((i + 1))
  done
  echo "$out"
}
otlp_body() { # SERVICE
  echo "{\"resourceMetrics\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",
    \"value\":{\"stringValue\":\"$1\"}}]},\"scopeMetrics\":[{\"metrics\":[{\"name\":\"temperature\",
    \"description\":\"Room temperature.\",\"gauge\":{\"dataPoints\":[$(points kitchen 20 21.5 23 22),
    $(points living 18 18 18.5 19)]}}]}]}]}"
}
push() { # BASE SERVICE [curl args]
  local url=$1 svc=$2
  shift 2
  [ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
        --data "$(otlp_body "$svc")" "$@" "$url/otlp/v1/metrics")" = 200 ]
}
check "known samples are pushed" push "$base" house

# ---- helpers --------------------------------------------------------------
# expect WHAT WANT_STATUS WANT_BODY CURL_ARGS...: the exact status and body.
expect() {
  local what=$1 want_status=$2 want_body=$3
  shift 3
  local got status
  got=$(curl -s -g -w '\n%{http_code}' "$@")
  status=${got##*$'\n'}
  got=${got%$'\n'*}
  CHECKS=$((CHECKS + 1))
  if [ "$status" = "$want_status" ] && [ "$got" = "$want_body" ]; then
    echo "ok   - $what"
  else
    echo "FAIL - $what" >&2
    echo "       want $want_status $want_body" >&2
    echo "       got  $status $got" >&2
    FAILURES=$((FAILURES + 1))
  fi
}
# Both prefixes, GET and POST (form), same answer.
expect_all() { # WHAT STATUS BODY PATH PARAMS...
  local what=$1 status=$2 body=$3 path=$4 prefix
  shift 4
  for prefix in "" /prometheus; do
    local get=() p
    for p in "$@"; do get+=(--data-urlencode "$p"); done
    expect "GET $prefix$path $what" "$status" "$body" -G "${get[@]}" "$base$prefix$path"
    expect "POST $prefix$path $what" "$status" "$body" "${get[@]}" "$base$prefix$path"
  done
}
ok() { echo "{\"status\":\"success\",\"data\":$1}"; }
bad() { echo "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":$1}"; }
K='{"__name__":"temperature","job":"house","room":"kitchen"}'
L='{"__name__":"temperature","job":"house","room":"living"}'

# ---- Grafana's health check, exactly as the Prometheus data source sends it
for prefix in "" /prometheus; do
  expect "Grafana health check on $prefix/api/v1/query" 200 \
    '{"status":"success","data":{"resultType":"scalar","result":[4,"2"]}}' \
    -X POST -H 'Content-Type: application/x-www-form-urlencoded' \
    -H 'User-Agent: Grafana/11.0.0' -H 'Accept: application/json, text/plain, */*' \
    --data 'query=1%2B1&time=4' "$base$prefix/api/v1/query"
done
expect "buildinfo (Grafana asks after the health check)" 200 \
  "$(curl -s "$base/api/v1/status/buildinfo")" "$base/prometheus/api/v1/status/buildinfo"

# ---- query ------------------------------------------------------------------
expect_all "instant vector" 200 \
  "$(ok "{\"resultType\":\"vector\",\"result\":[{\"metric\":$K,\"value\":[$((B + 30)),\"23\"]},{\"metric\":$L,\"value\":[$((B + 30)),\"18.5\"]}]}")" \
  /api/v1/query query=temperature time=$((B + 30))
expect_all "millisecond time, RFC 3339 and lookback" 200 \
  "$(ok "{\"resultType\":\"vector\",\"result\":[{\"metric\":$K,\"value\":[$((B + 20)).250,\"21.5\"]}]}")" \
  /api/v1/query 'query=temperature{room="kitchen"}' time=$((B + 20)).25
rfc=$(date -u -d @$((B + 45)) +%Y-%m-%dT%H:%M:%SZ)
expect_all "RFC 3339 time" 200 \
  "$(ok "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"job\":\"house\"},\"value\":[$((B + 45)),\"41\"]}]}")" \
  /api/v1/query 'query=sum by (job) (temperature)' time="$rfc"
expect_all "lookback_delta shortens the lookback" 200 \
  "$(ok '{"resultType":"vector","result":[]}')" \
  /api/v1/query query=temperature time=$((B + 60)) lookback_delta=10s
expect_all "scalar" 200 "$(ok "{\"resultType\":\"scalar\",\"result\":[$((B + 15)),\"0.5\"]}")" \
  /api/v1/query 'query=scalar(temperature{room="kitchen"}) - 21' time=$((B + 15))
expect_all "string" 200 "$(ok '{"resultType":"string","result":[100,"hi \"there\""]}')" \
  /api/v1/query 'query="hi \"there\""' time=100
expect_all "range vector in an instant query" 200 \
  "$(ok "{\"resultType\":\"matrix\",\"result\":[{\"metric\":$K,\"values\":[[$((B + 15)),\"21.5\"],[$((B + 30)),\"23\"]]}]}")" \
  /api/v1/query 'query=temperature{room="kitchen"}[20s]' time=$((B + 30))
expect_all "NaN and Inf values" 200 \
  "$(ok "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"job\":\"house\",\"room\":\"kitchen\"},\"value\":[$B,\"+Inf\"]},{\"metric\":{\"job\":\"house\",\"room\":\"living\"},\"value\":[$B,\"NaN\"]}]}")" \
  /api/v1/query 'query=sort((temperature - 18) / (temperature - 18) * Inf)' time=$B
stats=$(curl -s --data-urlencode query=temperature --data time=$((B + 30)) --data stats=all "$base/api/v1/query")
check "stats=all adds data.stats with timings and samples" bash -c "
  grep -q '\"stats\":{\"timings\":{\"evalTotalTime\":' <<<'$stats' &&
  grep -q '\"samples\":{\"totalQueryableSamples\":' <<<'$stats'"

# ---- query_range -------------------------------------------------------------
expect_all "range query" 200 \
  "$(ok "{\"resultType\":\"matrix\",\"result\":[{\"metric\":$K,\"values\":[[$B,\"20\"],[$((B + 15)),\"21.5\"],[$((B + 30)),\"23\"],[$((B + 45)),\"22\"]]},{\"metric\":$L,\"values\":[[$B,\"18\"],[$((B + 15)),\"18\"],[$((B + 30)),\"18.5\"],[$((B + 45)),\"19\"]]}]}")" \
  /api/v1/query_range query=temperature start=$B end=$((B + 45)) step=15
expect_all "range query with duration step and RFC 3339 bounds" 200 \
  "$(ok "{\"resultType\":\"matrix\",\"result\":[{\"metric\":{},\"values\":[[$((B + 45)),\"41\"]]}]}")" \
  /api/v1/query_range 'query=sum(temperature)' start="$rfc" end="$rfc" step=1m
expect_all "scalar range query" 200 \
  "$(ok '{"resultType":"matrix","result":[{"metric":{},"values":[[0,"1"],[0.500,"1"],[1,"1"]]}]}')" \
  /api/v1/query_range query=1 start=0 end=1 step=0.5

# ---- query errors ------------------------------------------------------------
expect_all "parse error" 400 \
  "$(bad '"invalid parameter \"query\": 1:13: parse error: unexpected end of input inside braces"')" \
  /api/v1/query 'query=temperature{' time=1
expect_all "no query" 400 \
  "$(bad '"invalid parameter \"query\": 1:1: parse error: no expression found in input"')" \
  /api/v1/query time=1
expect_all "bad time" 400 \
  "$(bad '"invalid parameter \"time\": Invalid time value for '"'time'"': cannot parse \"abc\" to a valid timestamp"')" \
  /api/v1/query query=1 time=abc
expect_all "bad timeout" 400 \
  "$(bad '"invalid parameter \"timeout\": cannot parse \"soon\" to a valid duration"')" \
  /api/v1/query query=1 timeout=soon
expect_all "missing start" 400 \
  "$(bad '"invalid parameter \"start\": cannot parse \"\" to a valid timestamp"')" \
  /api/v1/query_range query=1 end=10 step=1
expect_all "end before start" 400 "$(bad '"end timestamp must not be before start time"')" \
  /api/v1/query_range query=1 start=10 end=5 step=1
expect_all "bad step" 400 \
  "$(bad '"invalid parameter \"step\": cannot parse \"fast\" to a valid duration"')" \
  /api/v1/query_range query=1 start=1 end=5 step=fast
for step in 0 -5; do
  expect_all "step $step" 400 \
    "$(bad '"zero or negative query resolution step widths are not accepted. Try a positive integer"')" \
    /api/v1/query_range query=1 start=1 end=5 step=$step
done
expect_all "11,000 points" 400 \
  "$(bad '"exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"')" \
  /api/v1/query_range query=1 start=0 end=11001 step=1
expect_all "11,000 points exactly is fine" 200 \
  "$(curl -s "$base/api/v1/query_range?query=1&start=0&end=11000&step=1")" \
  /api/v1/query_range query=1 start=0 end=11000 step=1
expect_all "range vector in a range query" 400 \
  "$(bad '"invalid parameter \"query\": invalid expression type \"range vector\" for range query, must be Scalar or instant Vector"')" \
  /api/v1/query_range 'query=temperature[1m]' start=1 end=5 step=1
expect_all "execution error is 422" 422 \
  '{"status":"error","errorType":"execution","error":"vector cannot contain metrics with the same labelset"}' \
  /api/v1/query 'query=label_replace(temperature, "room", "x", "", "")' time=$((B + 30))
expect_all "timeout is 503" 503 \
  '{"status":"error","errorType":"timeout","error":"query timed out in query execution"}' \
  /api/v1/query 'query=sum_over_time(count_over_time(temperature[10m:1ms])[10m:1ms])' \
  time=$((B + 30)) timeout=0.05

# ---- series, labels, label values --------------------------------------------
expect_all "series" 200 "$(ok "[$K,$L]")" /api/v1/series 'match[]=temperature'
expect_all "series with two match[] and a range" 200 "$(ok "[$K,$L]")" \
  /api/v1/series 'match[]=temperature{room="kitchen"}' 'match[]={room=~"liv.*"}' \
  start=$B end=$((B + 60))
expect_all "series outside the data" 200 "$(ok '[]')" /api/v1/series 'match[]=temperature' \
  start=$((B - 7200)) end=$((B - 3600))
expect_all "series limit" 200 "$(ok "[$K]")" /api/v1/series 'match[]=temperature' limit=1
expect_all "series without match[]" 400 "$(bad '"no match[] parameter provided"')" /api/v1/series
expect_all "series with an empty matcher" 400 \
  "$(bad '"invalid parameter \"match[]\": match[] must contain at least one non-empty matcher"')" \
  /api/v1/series 'match[]={room=~".*"}'
expect_all "series with a bad selector" 400 \
  "$(bad '"invalid parameter \"match[]\": 1:4: parse error: unexpected \u003cop:+\u003e"')" \
  /api/v1/series 'match[]=up + 1'
expect_all "labels" 200 "$(ok '["__name__","job","room"]')" /api/v1/labels
expect_all "labels with match[]" 200 "$(ok '["__name__","job","room"]')" /api/v1/labels \
  'match[]={room="kitchen"}' start=$B end=$((B + 45))
expect_all "labels of nothing" 200 "$(ok '[]')" /api/v1/labels 'match[]=nothing_here'
expect_all "bad start" 400 \
  "$(bad '"invalid parameter \"start\": Invalid time value for '"'start'"': cannot parse \"x\" to a valid timestamp"')" \
  /api/v1/labels start=x
for prefix in "" /prometheus; do
  expect "GET $prefix label values" 200 "$(ok '["kitchen","living"]')" \
    "$base$prefix/api/v1/label/room/values"
  expect "GET $prefix metric names (autocomplete)" 200 "$(ok '["temperature"]')" \
    "$base$prefix/api/v1/label/__name__/values"
  expect "GET $prefix label values with match[] and a range" 200 "$(ok '["kitchen"]')" \
    "$base$prefix/api/v1/label/room/values?match[]=%7Broom%3D%22kitchen%22%7D&start=$B&end=$((B + 45))"
  expect "GET $prefix U__ escaped name" 200 "$(ok '["kitchen","living"]')" \
    "$base$prefix/api/v1/label/U__r_6f_om/values"
  expect "GET $prefix unknown label" 200 "$(ok '[]')" "$base$prefix/api/v1/label/U__a_2e_b/values"
  expect "GET $prefix invalid label name" 400 "$(bad '"invalid label name: \"\\xff\""')" \
    "$base$prefix/api/v1/label/%FF/values"
done

# ---- metadata, exemplars ----------------------------------------------------
for prefix in "" /prometheus; do
  expect "GET $prefix metadata" 200 \
    "$(ok '{"temperature":[{"type":"gauge","help":"Room temperature.","unit":""}]}')" \
    "$base$prefix/api/v1/metadata"
  expect "GET $prefix metadata of one metric" 200 "$(ok '{}')" \
    "$base$prefix/api/v1/metadata?metric=nothing_here"
  expect "GET $prefix metadata limit=0" 200 "$(ok '{}')" "$base$prefix/api/v1/metadata?limit=0"
  expect "GET $prefix metadata bad limit" 400 "$(bad '"limit must be a number"')" \
    "$base$prefix/api/v1/metadata?limit=ten"
done
# Grafana probes exemplars with millisecond times and query=test.
expect_all "exemplars probe" 200 "$(ok '[]')" /api/v1/query_exemplars \
  query=test start=1700000000000 end=1700003600000
expect_all "exemplars without a selector: 204, no body" 204 '' \
  /api/v1/query_exemplars query=1
expect_all "exemplars parse error" 400 \
  "$(bad '"1:5: parse error: unclosed left parenthesis"')" /api/v1/query_exemplars 'query=sum('
expect_all "exemplars end before start" 400 \
  "$(bad '"end timestamp must not be before start timestamp"')" \
  /api/v1/query_exemplars query=up start=10 end=5

# ---- answered by the frontend ------------------------------------------------
expect_all "format_query" 200 "$(ok '"sum by (job) (rate(x[5m]))"')" \
  /api/v1/format_query 'query=sum(rate(x[5m]))by(job)'
expect_all "format_query error" 400 \
  "$(bad '"invalid parameter \"query\": 1:5: parse error: unclosed left parenthesis"')" \
  /api/v1/format_query 'query=sum('
for prefix in "" /prometheus; do
  expect "GET $prefix rules" 200 "$(ok '{"groups":[]}')" "$base$prefix/api/v1/rules"
  expect "GET $prefix alerts" 200 "$(ok '{"alerts":[]}')" "$base$prefix/api/v1/alerts"
  expect "GET $prefix status/config" 200 "$(ok '{"yaml":""}')" "$base$prefix/api/v1/status/config"
  expect "GET $prefix status/flags" 200 "$(ok '{}')" "$base$prefix/api/v1/status/flags"
done
check "label values is GET only (405 for POST)" test \
  "$(http_status POST "$base/api/v1/label/room/values")" = 405
check "Loki API still answers 501" test "$(http_status GET "$base/loki/api/v1/labels")" = 501

# ---- tenants ---------------------------------------------------------------
http2=$(free_port)
start_trident auth -target=all "${common[@]}" -server.http-listen-port="$http2" \
  -server.rpc-listen-port=0 -common.path-prefix="$WORK/data2" -auth.enabled=true
auth="http://127.0.0.1:$http2"
check "auth trident is ready" wait_ready "$auth/ready" 10
check "tenant a pushes" push "$auth" house -H 'X-Scope-OrgID: a'
expect "no X-Scope-OrgID is 401" 401 $'no org id\n' "$auth/api/v1/query?query=1"
expect "bad tenant is 400" 400 $'tenant ID \'a/b\' contains unsupported character \'/\'\n' \
  -H 'X-Scope-OrgID: a/b' "$auth/api/v1/labels"
expect "tenant a sees its data" 200 "$(ok '["kitchen","living"]')" \
  -H 'X-Scope-OrgID: a' "$auth/prometheus/api/v1/label/room/values"
expect "tenant b does not" 200 "$(ok '[]')" -H 'X-Scope-OrgID: b' \
  "$auth/prometheus/api/v1/label/room/values"
expect "tenant b's query is empty" 200 "$(ok '{"resultType":"vector","result":[]}')" \
  -H 'X-Scope-OrgID: b' "$auth/api/v1/query?query=temperature&time=$((B + 30))"

# With auth disabled a header still names the tenant: what is pushed with
# one is queried with the same one, and no header means the no-auth tenant.
check "auth off: tenant team-x pushes with its header" push "$base" garden \
  -H 'X-Scope-OrgID: team-x'
expect "auth off: team-x sees its data" 200 "$(ok '["garden"]')" \
  -H 'X-Scope-OrgID: team-x' "$base/api/v1/label/job/values"
expect "auth off: no header does not see team-x's data" 200 "$(ok '["house"]')" \
  "$base/api/v1/label/job/values"

# ---- query-frontend and querier as separate processes --------------------
qrpc=$(free_port)
qhttp=$(free_port)
fhttp=$(free_port)
start_trident querier -target=querier "${common[@]}" -server.http-listen-port="$qhttp" \
  -server.rpc-listen-port="$qrpc" -common.path-prefix="$WORK/data" \
  -ingester-client.addresses="tcp://127.0.0.1:$rpc"
start_trident frontend -target=query-frontend "${common[@]}" \
  -server.http-listen-port="$fhttp" -server.rpc-listen-port=0 \
  -common.path-prefix="$WORK/data3" -query-frontend.querier-addresses="tcp://127.0.0.1:$qrpc"
check "separate frontend is ready" wait_ready "http://127.0.0.1:$fhttp/ready" 10
check "separate querier is ready" wait_ready "http://127.0.0.1:$qhttp/ready" 10
expect "frontend -> querier -> ingester over tcp" 200 \
  "$(ok "{\"resultType\":\"vector\",\"result\":[{\"metric\":$K,\"value\":[$((B + 30)),\"23\"]},{\"metric\":$L,\"value\":[$((B + 30)),\"18.5\"]}]}")" \
  "http://127.0.0.1:$fhttp/prometheus/api/v1/query?query=temperature&time=$((B + 30))"
expect "series over tcp" 200 "$(ok "[$K,$L]")" \
  "http://127.0.0.1:$fhttp/api/v1/series?match[]=temperature"
kill -TERM "$LAST_PID"
wait "$LAST_PID" || true
finish
