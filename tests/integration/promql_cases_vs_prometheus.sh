#!/usr/bin/env bash
# The PromQL case files (tests/promql/*.test) against the reference engine,
# a real Prometheus 2.42, and then against Trident.
#
# How the data reaches Prometheus: the scripts put their samples at the Unix
# epoch (t=0 is 1970-01-01T00:00:00Z), which remote write refuses as "out of
# bounds" once a head holds newer data. A Prometheus with an empty storage
# directory and no scrape jobs, however, accepts any timestamp that is not
# older than its newest sample minus 1h. So tr-promqltest-prometheus (built
# from tests/integration/promql_vs_prometheus.c) starts a fresh Prometheus
# for every group of loads (temporary storage, a free loopback port,
# --web.enable-remote-write-receiver), sends all samples of the section
# sorted by time in 30-minute batches (snappy-compressed protobuf), then runs
# each eval through /api/v1/query or /api/v1/query_range and compares the
# answer with the file using the very comparison code `trident promqltest`
# uses. Remote write was chosen over `promtool tsdb create-blocks-from
# openmetrics` because OpenMetrics text cannot carry the stale-marker NaN
# bit pattern, and it needs no restart to pick up blocks.
#
# Every file must pass on Prometheus (Prometheus is the truth). On Trident,
# evals listed in tests/promql/known_failures.txt are tolerated (they are
# engine bugs to fix); any other failure, or a listed eval that now passes,
# fails this test.
#
# Environment: PROMETHEUS_BIN (default /usr/bin/prometheus), TR_BUILD_DIR
# (the build tree holding lib/promql/tr-promqltest-prometheus), TRIDENT_BIN.
source "$(dirname "$0")/lib.sh"

PROMETHEUS_BIN=${PROMETHEUS_BIN:-/usr/bin/prometheus}
TR_BUILD_DIR=${TR_BUILD_DIR:-build-test}
CASES_DIR="$TR_SOURCE_DIR/tests/promql"
HELPER="$TR_BUILD_DIR/lib/promql/tr-promqltest-prometheus"
UNIT="$TR_BUILD_DIR/lib/promql/tr-ut-promqltest"

if [ ! -x "$PROMETHEUS_BIN" ]; then
  echo "SKIP: no Prometheus at $PROMETHEUS_BIN" >&2
  exit 0
fi
if [ ! -x "$HELPER" ]; then
  echo "missing $HELPER (build the tr-promqltest-prometheus target)" >&2
  exit 1
fi

mapfile -t FILES < <(ls "$CASES_DIR"/*.test | sort)
log "${#FILES[@]} case files, $(cat "${FILES[@]}" | grep -c '^eval') evals"

check_prometheus() {
  TMPDIR="$WORK" "$HELPER" --prometheus "$PROMETHEUS_BIN" "${FILES[@]}" \
    >"$WORK/prometheus.out" 2>&1
  local rc=$?
  grep -v ': [0-9]* evals, ' "$WORK/prometheus.out" | head -200 >&2 || true
  tail -1 "$WORK/prometheus.out"
  return "$rc"
}
check "every case file passes on Prometheus $("$PROMETHEUS_BIN" --version 2>&1 | head -1 | awk '{print $3}')" \
  check_prometheus

# Trident: `trident promqltest` when the binary has the subcommand, else the
# same entry point through the unit-test executable's case-file test.
check_trident() {
  local out="$WORK/trident.out" rc
  if [ -x "$TRIDENT_BIN" ] && "$TRIDENT_BIN" promqltest --help >/dev/null 2>&1; then
    "$TRIDENT_BIN" promqltest --known-failures "$CASES_DIR/known_failures.txt" \
      "${FILES[@]}" >"$out" 2>&1
    rc=$?
  else
    log "trident has no promqltest subcommand yet: using $UNIT"
    "$UNIT" >"$out" 2>&1
    rc=$?
  fi
  grep -E 'FAIL|FIXED|stopped' -A12 "$out" | head -300 >&2 || true
  grep '^total' "$out" || tail -3 "$out"
  return "$rc"
}
check "every case file passes on Trident (known failures aside)" check_trident

finish
