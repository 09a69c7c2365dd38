#!/usr/bin/env bash
# The differential test of the metrics path: a real Prometheus 2.42 scrapes
# real targets (itself and Trident's /metrics, every second) and
# remote-writes everything it scrapes into Trident (/api/v1/push). After a
# while the same PromQL queries -- instant and range, covering every
# function family -- are asked of both at the same evaluation times, plus
# the series/labels/label-values APIs, and the answers must agree: same
# status and result type, same series, same timestamps, values equal within
# 1e-9 relative (NaN equals NaN, +-Inf equal themselves).
#
# Prometheus sees a scraped sample at once, Trident only when remote write
# has delivered it, so every evaluation time is at least LAG seconds in the
# past (remote write is configured to send at least every second).
#
# Environment: PROMETHEUS_BIN (default /usr/bin/prometheus), SCRAPE_SECONDS
# (how long to collect before querying; default 60), LAG (default 15).
source "$(dirname "$0")/lib.sh"
cd "$WORK"

PROMETHEUS_BIN=${PROMETHEUS_BIN:-/usr/bin/prometheus}
SCRAPE_SECONDS=${SCRAPE_SECONDS:-60}
LAG=${LAG:-15}
if [ ! -x "$PROMETHEUS_BIN" ]; then
  echo "SKIP: no Prometheus at $PROMETHEUS_BIN" >&2
  exit 0
fi
command -v node >/dev/null || { echo "node is required" >&2; exit 1; }

http=$(free_port)
rpc=$(free_port)
prom=$(free_port)
start_trident trident -target=all -server.http-listen-address=127.0.0.1 \
  -server.rpc-listen-address=127.0.0.1 -server.http-listen-port="$http" \
  -server.rpc-listen-port="$rpc" -server.otlp-http-listen-port=-1 \
  -server.otlp-grpc-listen-port=-1 -common.path-prefix="$WORK/data" \
  -querier.default-evaluation-interval=1s # = Prometheus's evaluation_interval
check "trident is ready" wait_ready "http://127.0.0.1:$http/ready" 10

cat >prometheus.yml <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: prometheus
    static_configs: [{targets: ["127.0.0.1:$prom"]}]
  - job_name: trident
    static_configs: [{targets: ["127.0.0.1:$http"], labels: {role: all}}]
remote_write:
  - url: http://127.0.0.1:$http/api/v1/push
    queue_config: {batch_send_deadline: 1s, min_backoff: 50ms, max_backoff: 1s}
    metadata_config: {send_interval: 5s}
EOF
"$PROMETHEUS_BIN" --config.file=prometheus.yml --storage.tsdb.path="$WORK/prom" \
  --web.listen-address="127.0.0.1:$prom" --log.level=warn >prometheus.log 2>&1 &
STARTED_PIDS+=("$!")
log "started prometheus (pid $!) on port $prom"
check "prometheus is ready" wait_ready "http://127.0.0.1:$prom/-/ready" 20
begin=$(date +%s)
log "collecting for ${SCRAPE_SECONDS}s"
sleep "$SCRAPE_SECONDS"

# Evaluation times: whole seconds, LAG seconds in the past, and a range
# that starts after the first scrapes.
T=$(($(date +%s) - LAG))
RANGE_START=$((begin + 5))
log "evaluating at T=$T, ranges over [$RANGE_START, $T]"

cat >queries.txt <<'EOF'
# selectors, offset, @
up
up{job="trident"}
{__name__=~"scrape_.*", job="prometheus"}
prometheus_http_requests_total
prometheus_http_requests_total offset 10s
up @ $AT
scrape_samples_scraped @ $AT offset 5s
# rate family
rate(prometheus_http_requests_total[30s])
irate(prometheus_http_requests_total[30s])
increase(prometheus_http_requests_total[30s])
rate(tr_request_duration_seconds_count[20s] offset 5s)
delta(process_resident_memory_bytes[30s])
idelta(process_resident_memory_bytes[30s])
rate(process_cpu_seconds_total[15s])
# aggregations
sum(up)
sum by (job) (rate(prometheus_http_requests_total[30s]))
sum without (instance) (scrape_samples_scraped)
avg by (job) (scrape_duration_seconds)
min by (job) (scrape_duration_seconds)
max(scrape_series_added)
count by (job) (up)
group by (job) (up)
topk(3, prometheus_http_requests_total)
bottomk(2, scrape_samples_scraped)
topk by (job) (1, scrape_duration_seconds)
quantile(0.9, scrape_duration_seconds)
quantile by (job) (0.5, rate(prometheus_http_requests_total[30s]))
count_values("value", up)
count_values by (job) ("samples", scrape_samples_scraped)
stddev(scrape_samples_scraped)
stdvar by (job) (scrape_duration_seconds)
sum(rate(tr_request_duration_seconds_count[30s])) by (route)
# histograms
histogram_quantile(0.9, sum by (le, handler) (rate(prometheus_http_request_duration_seconds_bucket[30s])))
histogram_quantile(0.5, rate(prometheus_http_request_duration_seconds_bucket[1m]))
histogram_quantile(0.99, sum by (le) (rate(tr_request_duration_seconds_bucket[30s])))
histogram_quantile(0.5, prometheus_tsdb_compaction_chunk_range_seconds_bucket)
# *_over_time
avg_over_time(scrape_duration_seconds[30s])
min_over_time(scrape_duration_seconds[30s])
max_over_time(process_resident_memory_bytes[20s])
sum_over_time(scrape_samples_scraped[10s])
count_over_time(up[30s])
quantile_over_time(0.75, scrape_duration_seconds[30s])
stddev_over_time(process_resident_memory_bytes[30s])
stdvar_over_time(scrape_duration_seconds[30s])
last_over_time(scrape_samples_scraped[15s])
present_over_time(up[15s])
absent_over_time(nonexistent_metric[1m])
absent_over_time(up[1m])
# label functions
label_replace(up, "host", "$1", "instance", "(.*):.*")
label_replace(up, "foo", "bar", "nonexistent", "")
label_join(up, "both", "/", "job", "instance")
# trends
predict_linear(process_cpu_seconds_total[30s], 60)
deriv(process_resident_memory_bytes[30s])
holt_winters(process_resident_memory_bytes[30s], 0.5, 0.5)
changes(process_resident_memory_bytes[30s])
resets(prometheus_http_requests_total[1m])
# math and trigonometry
abs(-up)
ceil(scrape_duration_seconds * 1000)
floor(scrape_duration_seconds * 1000)
round(scrape_duration_seconds * 1000)
round(scrape_duration_seconds, 0.001)
sqrt(scrape_samples_scraped)
exp(-scrape_duration_seconds)
ln(scrape_samples_scraped)
log2(scrape_samples_scraped)
log10(process_resident_memory_bytes)
sin(scrape_samples_scraped)
cos(scrape_samples_scraped)
tan(scrape_duration_seconds)
asin(up - 0.5)
acos(up - 0.5)
atan(scrape_samples_scraped)
sinh(up)
cosh(up)
tanh(up)
asinh(up)
acosh(up + 1)
atanh(up - 0.5)
deg(up)
rad(up)
sgn(up - 1)
clamp(scrape_samples_scraped, 100, 200)
clamp_min(scrape_samples_scraped, 300)
clamp_max(scrape_samples_scraped, 300)
pi()
scrape_samples_scraped % 7
scrape_samples_scraped ^ 2
2 ^ 3 ^ 2
-up
# time functions
time()
timestamp(up)
minute(timestamp(up))
hour()
day_of_week()
day_of_month()
day_of_year()
days_in_month()
month()
year(vector(1700000000))
# comparisons and bool
up == 1
up != bool 1
scrape_duration_seconds > 0.001
scrape_samples_scraped >= bool 100
process_resident_memory_bytes < bool 1e9
1 < bool 2
# vector matching
up * on (job, instance) scrape_samples_scraped
scrape_samples_scraped / ignoring (role) up
prometheus_http_requests_total / ignoring (code) group_left sum without (code) (prometheus_http_requests_total)
sum by (job) (up) * on (job) group_right count by (job, instance) (scrape_samples_scraped)
up and on (job) (scrape_samples_scraped > 10)
up or vector(1)
up unless on (job) up{job="trident"}
scrape_samples_scraped > on (job, instance) group_left () (scrape_series_added)
atan2(up, scrape_samples_scraped)
# subqueries
max_over_time(rate(prometheus_http_requests_total[10s])[30s:5s])
avg_over_time(up[30s:])
min_over_time(sum(scrape_samples_scraped)[20s:2s] offset 5s)
rate(sum(tr_request_duration_seconds_count)[30s:1s])
# absent, scalar, vector, sort
absent(nonexistent_metric)
absent(nonexistent_metric{job="a", foo=~"b"})
absent(up)
scalar(sum(up))
vector(1)
sum(up) + scalar(count(up))
sort(scrape_samples_scraped)
sort_desc(sum by (job) (scrape_samples_scraped))
"a string"
42
EOF

cat >compare.js <<'EOF'
// Asks Prometheus and Trident the same queries and compares the answers.
'use strict';
const fs = require('fs');
const [prom, trident, T, rangeStart] = process.argv.slice(2);
const queries = fs.readFileSync('queries.txt', 'utf8').split('\n')
  .filter((l) => l.trim() !== '' && !l.startsWith('#'))
  .map((l) => l.replace(/\$AT/g, String(Number(T) - 20)));

async function ask(base, path, params) {
  const body = new URLSearchParams(params);
  const r = await fetch(base + path, {
    method: 'POST',
    headers: {'Content-Type': 'application/x-www-form-urlencoded'},
    body,
  });
  const text = await r.text();
  let json;
  try { json = JSON.parse(text); } catch (e) { json = {unparsable: text}; }
  return {status: r.status, json};
}

function key(metric) {
  return JSON.stringify(Object.keys(metric).sort().map((k) => [k, metric[k]]));
}

function sameValue(a, b) {
  if (a === b) return true;
  const x = Number(a), y = Number(b);
  if (Number.isNaN(x) || Number.isNaN(y)) return false;
  if (!Number.isFinite(x) || !Number.isFinite(y)) return false;
  const scale = Math.max(Math.abs(x), Math.abs(y));
  return Math.abs(x - y) <= 1e-9 * scale || Math.abs(x - y) < 1e-300;
}

function samePoints(a, b) {
  if (a.length !== b.length) return `${a.length} points vs ${b.length}`;
  for (let i = 0; i < a.length; i++) {
    if (a[i][0] !== b[i][0]) return `time ${a[i][0]} vs ${b[i][0]}`;
    if (!sameValue(a[i][1], b[i][1])) {
      return `at ${a[i][0]}: ${a[i][1]} vs ${b[i][1]}`;
    }
  }
  return null;
}

// Returns null when the answers agree, else a description.
function diff(p, t, ordered) {
  if (p.status !== t.status) return `status ${p.status} vs ${t.status}`;
  const pj = p.json, tj = t.json;
  if (pj.status !== tj.status) return `status ${pj.status} vs ${tj.status}`;
  if (pj.status !== 'success') {
    return pj.errorType === tj.errorType ? null
      : `errorType ${pj.errorType} vs ${tj.errorType}`;
  }
  const pd = pj.data, td = tj.data;
  if (Array.isArray(pd) && pd.every((x) => typeof x === 'string')) {
    const a = JSON.stringify(pd), b = JSON.stringify(td);
    return a === b ? null : `data ${a} vs ${b}`;
  }
  if (Array.isArray(pd)) { // series API
    const a = JSON.stringify(pd.map(key).sort());
    const b = JSON.stringify((td || []).map(key).sort());
    return a === b ? null : `series ${a} vs ${b}`;
  }
  if (pd.resultType !== td.resultType) {
    return `resultType ${pd.resultType} vs ${td.resultType}`;
  }
  if (pd.resultType === 'scalar' || pd.resultType === 'string') {
    return samePoints([pd.result], [td.result]);
  }
  const norm = (r) => r.map((s) => ({k: key(s.metric), pts: s.values || [s.value]}));
  let a = norm(pd.result), b = norm(td.result);
  if (!ordered) {
    a.sort((x, y) => (x.k < y.k ? -1 : x.k > y.k));
    b.sort((x, y) => (x.k < y.k ? -1 : x.k > y.k));
  }
  if (a.length !== b.length) {
    const only = (x, y) => x.filter((s) => !y.some((o) => o.k === s.k)).map((s) => s.k);
    return `${a.length} series vs ${b.length}; only in Prometheus: ` +
      `${only(a, b).slice(0, 5).join(' ')}; only in Trident: ${only(b, a).slice(0, 5).join(' ')}`;
  }
  for (let i = 0; i < a.length; i++) {
    if (a[i].k !== b[i].k) return `series ${i}: ${a[i].k} vs ${b[i].k}`;
    const d = samePoints(a[i].pts, b[i].pts);
    if (d) return `series ${a[i].k}: ${d}`;
  }
  return null;
}

(async () => {
  const checks = [];
  for (const q of queries) {
    const ordered = /^sort/.test(q);
    for (const at of [T, String(Number(T) - 7.5)]) {
      checks.push({what: `instant @${at}: ${q}`, path: '/api/v1/query',
                   params: {query: q, time: at}, ordered});
    }
    checks.push({what: `range step 3s: ${q}`, path: '/api/v1/query_range',
                 params: {query: q, start: rangeStart, end: T, step: '3'}, ordered});
    checks.push({what: `range step 1s: ${q}`, path: '/api/v1/query_range',
                 params: {query: q, start: String(Number(T) - 20), end: T, step: '1s'}, ordered});
  }
  const window = {start: rangeStart, end: T};
  for (const [path, params] of [
    ['/api/v1/series', {'match[]': 'up', ...window}],
    ['/api/v1/series', {'match[]': '{__name__=~"scrape_.*"}', ...window}],
    ['/api/v1/labels', {'match[]': 'up', ...window}],
    ['/api/v1/labels', {'match[]': '{__name__=~"scrape_.*", job="trident"}', ...window}],
    ['/api/v1/label/job/values', {'match[]': 'up', ...window}],
    ['/api/v1/label/__name__/values', {'match[]': '{__name__=~"scrape_.*"}', ...window}],
    ['/api/v1/label/instance/values', {'match[]': 'scrape_samples_scraped', ...window}],
  ]) {
    const get = path.startsWith('/api/v1/label/');
    checks.push({what: `${path} ${JSON.stringify(params)}`, path, params, get});
  }
  // Errors must have the same status and errorType.
  for (const params of [{query: 'up{', time: T}, {query: 'rate(up)', time: T},
                        {query: 'up', time: 'abc'},
                        {query: 'sum(up) by (job) > on() group_left (x) up', time: T}]) {
    checks.push({what: `error ${JSON.stringify(params)}`, path: '/api/v1/query', params});
  }
  checks.push({what: 'error: range query of a range vector', path: '/api/v1/query_range',
               params: {query: 'up[1m]', start: rangeStart, end: T, step: '5'}});
  checks.push({what: 'error: too many points', path: '/api/v1/query_range',
               params: {query: 'up', start: '0', end: T, step: '1'}});

  let failed = 0, nonEmpty = 0;
  for (const c of checks) {
    let p, t;
    if (c.get) {
      const qs = '?' + new URLSearchParams(c.params);
      const g = async (base) => {
        const r = await fetch(base + c.path + qs);
        return {status: r.status, json: JSON.parse(await r.text())};
      };
      [p, t] = await Promise.all([g(prom), g(trident)]);
    } else {
      [p, t] = await Promise.all([ask(prom, c.path, c.params), ask(trident, c.path, c.params)]);
    }
    const d = diff(p, t, c.ordered);
    const r = p.json.data && p.json.data.result;
    if (p.json.status === 'success' && (!Array.isArray(r) || r.length > 0)) nonEmpty++;
    if (d) {
      failed++;
      console.log(`FAIL ${c.what}\n     ${d}`);
      if (process.env.VERBOSE) {
        console.log('     prometheus: ' + JSON.stringify(p.json).slice(0, 2000));
        console.log('     trident:    ' + JSON.stringify(t.json).slice(0, 2000));
      }
    }
  }
  console.log(`${checks.length - failed}/${checks.length} answers agree ` +
              `(${nonEmpty} non-empty on Prometheus); ${queries.length} queries`);
  // Agreement on empty answers proves little: most must hold data.
  if (nonEmpty < 0.8 * checks.length) {
    console.log('too few non-empty answers: did the scrapes reach both?');
    process.exit(1);
  }
  process.exit(failed === 0 ? 0 : 1);
})().catch((e) => { console.error(e); process.exit(2); });
EOF

check "Trident received Prometheus's samples (up has both targets)" bash -c "
  curl -s 'http://127.0.0.1:$http/api/v1/query?query=count(up)&time=$T' |
    grep -q '\"value\":\[$T,\"2\"\]'"
check "same answers as Prometheus 2.42 for every query" \
  node compare.js "http://127.0.0.1:$prom" "http://127.0.0.1:$http" "$T" "$RANGE_START"
finish
