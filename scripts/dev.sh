#!/usr/bin/env bash
# `make dev`: the whole bundle on this machine. Installs what is missing, starts the local
# services on loopback, creates the table and bucket, uploads the demo mappings, prints a demo
# API key, runs the template's schedules locally (scripts/local_scheduler.py; faster with
# LOCAL_SCHEDULE_SPEEDUP) and runs `cargo lambda watch` with its router on
# localhost:$INVOKE_PORT. Ctrl-C stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"

INVOKE_PORT=${INVOKE_PORT:-9000}
MOTO_PORT=${MOTO_PORT:-5000}
PROMETHEUS_PORT=${PROMETHEUS_PORT:-9090}
INFLUXDB_PORT=${INFLUXDB_PORT:-8086}
PUSHGATEWAY_PORT=${PUSHGATEWAY_PORT:-9091}
ALERTMANAGER_PORT=${ALERTMANAGER_PORT:-9093}
FIXTURES_PORT=${FIXTURES_PORT:-9094}
EOSC_PORT=${EOSC_PORT:-9095}
# Where logs, data and keys go (relative to the repository); the doc-example test uses its own.
STATE_DIR=${TELLTALE_STATE_DIR:-.local}
export STATE_DIR
mkdir -p "$STATE_DIR"

source scripts/services.sh
trap stop_services EXIT
trap 'exit 130' INT TERM

start_moto "$MOTO_PORT"
start_pushgateway "$PUSHGATEWAY_PORT"
start_influxdb "$INFLUXDB_PORT"
start_fixtures "$FIXTURES_PORT"
start_eosc "$EOSC_PORT"

admin_key() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["admin"][int(sys.argv[2])])' "$(absolute "$STATE_DIR")/iam/admin.json" "$1"; }

# The table of local values (infra/local/functions.env): each function takes from it what its
# template entry declares (scripts/function_env.py); the command line reads all of it
# (`set -a; . .local/dev.env`).
python3 scripts/render_config.py infra/local/functions.env MOTO_PORT="$MOTO_PORT" \
  INVOKE_PORT="$INVOKE_PORT" PROMETHEUS_PORT="$PROMETHEUS_PORT" INFLUXDB_PORT="$INFLUXDB_PORT" \
  PUSHGATEWAY_PORT="$PUSHGATEWAY_PORT" ALERTMANAGER_PORT="$ALERTMANAGER_PORT" EOSC_PORT="$EOSC_PORT" \
  CURSOR_KEY="$(od -An -tx1 -N16 /dev/urandom | tr -d " \n")" IAM_DIR="$(absolute "$STATE_DIR")/iam" \
  ADMIN_KEY="$(admin_key 0)" ADMIN_SECRET="$(admin_key 1)" \
  COLLECTORS_FILE="$(absolute "$STATE_DIR")/collectors.yaml" >"$STATE_DIR/dev.env"
set -a; source "$STATE_DIR/dev.env"; set +a

# Everything is built before anything is served, with cargo's own progress on the console:
# the first build takes minutes, and then no first request waits for a compiler.
functions=()
for dir in functions/*/; do functions+=(-p "$(basename "$dir")"); done
echo "dev: building the command line and ${#functions[@]} functions' packages (minutes the first time)" >&2
cargo build -p telltale-cli --bin telltale "${functions[@]}"
./target/debug/telltale local setup --mappings-dir demo
# The declared collectors (infra/collectors.yaml) read local copies of their documents.
./target/debug/telltale collect localize --fixtures "http://127.0.0.1:$FIXTURES_PORT" >"$COLLECTORS_FILE"
key=$(./target/debug/telltale keys create --name demo --role monitoring 2>/dev/null)
heartbeat_key=$(./target/debug/telltale keys create --name local-alertmanager --role heartbeat 2>/dev/null)
( umask 077; printf '%s' "$heartbeat_key" >"$STATE_DIR/heartbeat.key"; printf '%s' "$key" >"$STATE_DIR/demo.key" )
curl -fsS -o /dev/null -XPOST "$INFLUXDB_URL/query" --data-urlencode "q=CREATE DATABASE $INFLUXDB_DATABASE"

# Demo series: 48 hours of history, then kept live through the Pushgateway.
DEMO_START=$(( $(date +%s) / 60 * 60 - 60 - 48 * 3600 ))
start_prometheus "$PROMETHEUS_PORT"
start_alertmanager "$ALERTMANAGER_PORT"
start_demo_series "$PUSHGATEWAY_PORT"

# The template's schedules (collectors, email-retry, ...) fire through cargo lambda watch.
python scripts/local_scheduler.py --env-file "$STATE_DIR/dev.env" \
  --invoke-url "http://127.0.0.1:$INVOKE_PORT" --speedup "${LOCAL_SCHEDULE_SPEEDUP:-1}" \
  >"$STATE_DIR/scheduler.log" 2>&1 &
PIDS+=($!)

# --disable-cors: the team page is same-origin, so no other origin (a web page the developer
# visits) may read the local API. (Not --timeout: watch then answers an idle function's wait
# for work with no invocation, and the function dies; each route ends within 30 s by itself.)
# Its whole output goes to watch.log; the console keeps what a person reads (no file-lock
# waits, no per-spawn warnings, no environment dumps).
# Each function runs with only what its template entry declares (scripts/function_env.py, as
# cargo's runner), dev.env being the table of local values it is resolved from.
host=$(rustc -vV | sed -n 's/^host: //p')
runner_var="CARGO_TARGET_$(printf '%s' "$host" | tr 'a-z.-' 'A-Z__')_RUNNER"
env "$runner_var=$PWD/.venv/bin/python $PWD/scripts/function_env.py exec" \
  cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$INVOKE_PORT" --env-file "$STATE_DIR/dev.env" \
  --disable-cors >"$STATE_DIR/watch.log" 2>&1 &
WATCH_PID=$!
PIDS+=($WATCH_PID)
tail -n +1 -F "$STATE_DIR/watch.log" 2>/dev/null | python3 -u scripts/dev_console.py &
PIDS+=($!)

# One request per HTTP function, so each is running before the banner says so.
echo "dev: starting the functions" >&2
base="http://127.0.0.1:$INVOKE_PORT"
warming=()
for path in / /-/info /metrics/argo-monitoring/deployed-probes/value /api/v2/probes/ \
    /api/v2/probes/00000000-0000-0000-0000-000000000000 /team/ /heartbeat/metrics; do
  curl -s -o /dev/null -m 900 --retry 60 --retry-connrefused --retry-delay 1 \
    -H "x-api-key: $key" "$base$path" &
  warming+=($!)
done
failed=0
for pid in "${warming[@]}"; do wait "$pid" || failed=1; done
[ "$failed" = 0 ] || echo "dev: a function did not answer; see $STATE_DIR/watch.log" >&2
# The console prints the warm-up's lines as it reads them; let it catch up so the banner is last.
sleep 1

cat <<MSG

  telltale is ready on http://localhost:$INVOKE_PORT
        (links to the team page, the API reference, health, the local services and the emails)
  demo API key (monitoring role), for the examples:
        export KEY=$key
  try:  curl localhost:$INVOKE_PORT/ids/resources
        curl localhost:$INVOKE_PORT/metrics/argo-monitoring/probe-submissions
        curl -H "x-api-key: \$KEY" localhost:$INVOKE_PORT/api/v2/probes/
  team page:  http://localhost:$INVOKE_PORT/team/ (paste the key)
  team CLI:  TELLTALE_API_KEY=\$KEY ./target/debug/telltale probes list
  emails SES accepted:  http://localhost:$INVOKE_PORT/team/emails.html
        or (set -a; . $STATE_DIR/dev.env; ./target/debug/telltale local emails)
  schedules (collectors, email-retry, heartbeat-source, ...): tail -f $STATE_DIR/scheduler.log
  heartbeat loop: source -> Pushgateway -> Prometheus rule -> Alertmanager -> /heartbeat;
        alerts: http://127.0.0.1:$PROMETHEUS_PORT/alerts   key (role heartbeat): $STATE_DIR/heartbeat.key
        curl -H "Authorization: Bearer \$(cat $STATE_DIR/heartbeat.key)" localhost:$INVOKE_PORT/heartbeat/metrics
  KPIs in InfluxDB:
        curl -G http://127.0.0.1:$INFLUXDB_PORT/query --data-urlencode db=telltale --data-urlencode 'q=SELECT * FROM probe_pipeline ORDER BY time DESC LIMIT 5'
  services: moto :$MOTO_PORT, Prometheus :$PROMETHEUS_PORT, InfluxDB :$INFLUXDB_PORT,
            Pushgateway :$PUSHGATEWAY_PORT, Alertmanager :$ALERTMANAGER_PORT (logs in $STATE_DIR/)
  function logs: below, one short line each (request ids, watch's routine: $STATE_DIR/watch.log)
  Ctrl-C stops everything.

MSG
wait "$WATCH_PID"
