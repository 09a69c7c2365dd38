#!/usr/bin/env bash
# One trident process with every role (-target=all), as `make run` starts
# it: readiness, operations endpoints, self-metrics, the config round trip
# through -print-config, refusal of bad configuration, clean shutdown.
source "$(dirname "$0")/lib.sh"
cd "$WORK"

http=$(free_port)
rpc=$(free_port)
otlp=$(free_port)
common=(-server.http-listen-address=127.0.0.1 -server.rpc-listen-address=127.0.0.1
        -server.http-listen-port="$http" -server.rpc-listen-port="$rpc"
        -server.otlp-http-listen-port="$otlp" -common.path-prefix="$WORK/data")
base="http://127.0.0.1:$http"

start=$(date +%s%N)
start_trident all -target=all "${common[@]}"
pid=$LAST_PID
check "/ready answers 200 within 5 s" wait_ready "$base/ready" 5
log "ready after $(( ($(date +%s%N) - start) / 1000000 )) ms"

check "/ready body is 'ready'" body_contains "$base/ready" ready
check "/metrics has request durations" \
  body_contains "$base/metrics" 'tr_request_duration_seconds_bucket{method="GET",route="/ready",status_code="200"'
check "/metrics has process metrics" body_contains "$base/metrics" process_resident_memory_bytes
check "/metrics has tr_mem_bytes" body_contains "$base/metrics" tr_mem_bytes
check "/services lists every role Running" bash -c "
  s=\$(curl -s $base/services)
  for r in server storage distributor ingester querier query-frontend compactor; do
    grep -qx \"\$r: Running\" <<<\"\$s\" || exit 1
  done"
check "/config is YAML of the effective config" body_contains "$base/config" "http_listen_port: $http"
check "/config masks secrets" body_contains "$base/config" 'secret_access_key: "********"'
check "/config?mode=defaults shows defaults" body_contains "$base/config?mode=defaults" "http_listen_port: 3100"
check "Prometheus-style buildinfo" body_contains "$base/api/v1/status/buildinfo" '"status":"success","data":{"version":'
check "Loki-style buildinfo is the bare object" body_contains "$base/loki/api/v1/status/buildinfo" '{"version":'
check "OTLP/HTTP port answers /ready" wait_ready "http://127.0.0.1:$otlp/ready" 2
check "the distributor sees the in-process ingester" \
  bash -c "curl -s -H 'Accept: application/json' $base/ring | grep -q '\"state\":\"ACTIVE\"'"
check "unknown path is 404" test "$(http_status GET "$base/nope")" = 404
check "wrong method is 405" test "$(http_status DELETE "$base/ready")" = 405
check "an API not built yet is 501 and names itself" bash -c "
  [ \"\$(curl -s -o body -w '%{http_code}' $base/loki/api/v1/query_range)\" = 501 ] &&
  grep -q 'Loki query API is not implemented yet' body"

for path in /loki/api/v1/push /otlp/v1/logs /otlp/v1/traces; do
  check "POST $path is 501 naming itself" bash -c "
    [ \"\$(curl -s -o body -w '%{http_code}' -X POST $base$path)\" = 501 ] &&
    grep -q 'is not implemented yet' body && ! grep -q 'query API' body"
done
check "OTLP/HTTP /v1/traces is 501" test "$(http_status POST "http://127.0.0.1:$otlp/v1/traces")" = 501

# -print-config output read back by -config.file gives the same config.
"$TRIDENT_BIN" -print-config "${common[@]}" > printed.yaml
check "-print-config output is accepted by -config.file unchanged" bash -c "
  '$TRIDENT_BIN' -config.file=printed.yaml -print-config > reprinted.yaml &&
  cmp -s printed.yaml reprinted.yaml"

stops_cleanly() { # PID LOG
  local st=0
  kill -TERM "$1"
  wait "$1" || st=$?
  [ "$st" -eq 0 ] && grep -q 'trident stopped' "$2"
}
check "SIGTERM stops every role and exits 0" stops_cleanly "$pid" "$WORK/all.log"

# The printed file starts trident the same way.
start_trident from-file -config.file=printed.yaml -target=all
check "trident -config.file=<printed> starts the same" wait_ready "$base/ready" 5
check "...with the same configuration" bash -c "
  curl -s $base/config > served.yaml && grep -q 'http_listen_port: $http' served.yaml &&
  grep -q 'path_prefix: \"$WORK/data\"' served.yaml"
kill -TERM "$LAST_PID"
wait "$LAST_PID" || true

# Bad configuration stops startup with a message naming the key.
refuses() { # EXPECTED-TEXT ARGS...
  local want=$1
  shift
  local out
  if out=$("$TRIDENT_BIN" "$@" 2>&1); then
    echo "accepted: $*" >&2
    return 1
  fi
  grep -qF -- "$want" <<<"$out" || { echo "got: $out" >&2; return 1; }
}
printf 'server:\n  http_listen_prot: 1\n' > typo.yaml
check "unknown YAML key is refused, naming it" \
  refuses "unknown key server.http_listen_prot" -config.file=typo.yaml
check "unknown flag is refused, naming it" refuses "unknown flag -server.nope" -server.nope=1
check "bad value is refused, naming the key" \
  refuses 'invalid value "abc" for server.http_listen_port' -server.http-listen-port=abc
check "bad choice is refused" refuses "must be one of debug|info|warn|error" -server.log-level=loud
check "unknown target is refused" refuses 'unknown target "nope"' -target=nope
check "s3 without a bucket is refused" refuses "storage.s3.bucket is empty" -storage.backend=s3
check "-version prints the version" bash -c "'$TRIDENT_BIN' -version | grep -q '^trident, version '"
check "-help lists every option with its default" bash -c "
  '$TRIDENT_BIN' -help > help.txt &&
  grep -q -- '-server.http-listen-port int' help.txt && grep -q '(default 3100)' help.txt &&
  [ \$(grep -c '^  -' help.txt) -ge \$('$TRIDENT_BIN' -print-config-reference | grep -c '^| \`') ]"

finish
