#!/usr/bin/env bash
# -target=ingester and -target=distributor as separate processes: each
# starts alone, the distributor reaches the ingester over tcp RPC, notices
# when it dies (kill -9) and when it comes back on the same address.
source "$(dirname "$0")/lib.sh"
cd "$WORK"

ing_http=$(free_port)
ing_rpc=$(free_port)
dist_http=$(free_port)
dist_rpc=$(free_port)
ingester_args=(-target=ingester -server.http-listen-address=127.0.0.1
  -server.rpc-listen-address=127.0.0.1 -server.http-listen-port="$ing_http"
  -server.rpc-listen-port="$ing_rpc" -server.otlp-http-listen-port=-1
  -common.path-prefix="$WORK/ingester" -ingester.instance-id=ingester-1)

ring_state() { # prints the first ingester's state as the distributor sees it
  curl -s -H 'Accept: application/json' "http://127.0.0.1:$dist_http/ring" |
    grep -o '"state":"[A-Z]*"' | head -1 | cut -d'"' -f4
}
wait_state() { # STATE SECONDS
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    [ "$(ring_state)" = "$1" ] && return 0
    sleep 0.1
  done
  echo "state is $(ring_state), wanted $1" >&2
  return 1
}

check "a distributor with no ingesters to reach refuses to start" bash -c "
  ! '$TRIDENT_BIN' -target=distributor -server.http-listen-port=0 \
      -server.rpc-listen-port=0 -server.otlp-http-listen-port=-1 \
      -common.path-prefix='$WORK/x' 2>err.txt &&
  grep -q 'no ingesters to write to' err.txt"

start_trident ingester "${ingester_args[@]}"
ing_pid=$LAST_PID
check "the ingester starts alone" wait_ready "http://127.0.0.1:$ing_http/ready" 5
check "...running only the ingester and what it needs" bash -c "
  curl -s http://127.0.0.1:$ing_http/services | tr '\n' ' ' |
  grep -qx 'server: Running storage: Running ingester: Running '"

start_trident distributor -target=distributor -server.http-listen-address=127.0.0.1 \
  -server.rpc-listen-address=127.0.0.1 -server.http-listen-port="$dist_http" \
  -server.rpc-listen-port="$dist_rpc" -server.otlp-http-listen-port=-1 \
  -common.path-prefix="$WORK/distributor" \
  -ingester_client.addresses="tcp://127.0.0.1:$ing_rpc" \
  -ingester_client.health-check-interval=200ms -ingester_client.timeout=500ms
check "the distributor starts alone" wait_ready "http://127.0.0.1:$dist_http/ready" 5
check "the distributor reaches the ingester over tcp RPC" wait_state ACTIVE 5
check "...and knows its instance id" bash -c "
  curl -s -H 'Accept: application/json' http://127.0.0.1:$dist_http/ring |
  grep -q '\"instance_id\":\"ingester-1\"'"
check "the ring page renders for people too" \
  body_contains "http://127.0.0.1:$dist_http/ring" "<td>tcp://127.0.0.1:$ing_rpc</td>"

kill -KILL "$ing_pid"
wait "$ing_pid" 2>/dev/null || true
check "a killed ingester turns UNHEALTHY" wait_state UNHEALTHY 5
check "...with an error that says what happened" bash -c "
  curl -s -H 'Accept: application/json' http://127.0.0.1:$dist_http/ring |
  grep -q 'cannot call ingester.Status on tcp://127.0.0.1:$ing_rpc'"

start_trident ingester-again "${ingester_args[@]}"
check "the restarted ingester is ready (its WAL reopened)" \
  wait_ready "http://127.0.0.1:$ing_http/ready" 5
check "the distributor sees it ACTIVE again" wait_state ACTIVE 5

finish
