# Functions to start the local services on loopback; sourced by dev.sh.
# Each start_* runs the service in the background, records its pid in PIDS and waits until it answers.

STATE_DIR=${STATE_DIR:-.local}
PIDS=()
TEMP_DIRS=()

# A path as the services' configuration needs it: absolute, whether STATE_DIR is or not.
absolute() { case "$1" in /*) printf '%s' "$1" ;; *) printf '%s' "$PWD/$1" ;; esac; }

wait_http() { # url name
  for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.2
  done
  echo "$2 did not come up at $1; its log is in $STATE_DIR/$2.log" >&2
  return 1
}

start_moto() { # port; enforcing IAM (scripts/local_iam.py): its administrator is in $STATE_DIR/iam
  local dir
  dir="$(absolute "$STATE_DIR")/iam"
  # A new server has new keys: the principals made for the last one's functions go.
  rm -rf "$dir" && mkdir -p "$dir"
  IAM_DENIALS="$dir/denials" python3 scripts/local_iam.py serve --port "$1" --dir "$dir" \
    --until-stopped >/dev/null 2>"$STATE_DIR/moto.log" &
  PIDS+=($!)
  wait_http "http://127.0.0.1:$1/moto-api/" moto
  for _ in $(seq 1 100); do [ -f "$dir/admin.json" ] && return 0; sleep 0.2; done
  echo "moto made no administrator; its log is in $STATE_DIR/moto.log" >&2
  return 1
}

start_prometheus() { # port; needs DEMO_START, PUSHGATEWAY_PORT, ALERTMANAGER_PORT, INVOKE_PORT
  local dir="$STATE_DIR/prometheus"
  rm -rf "$dir" && mkdir -p "$dir"
  # The blocks live outside the repository: compaction removes block directories, and watch
  # sees the removal of a directory it was watching as a change without a path, which no
  # ignore rule can match, so every function would restart a minute after the start.
  local data
  data=$(mktemp -d "${TMPDIR:-/tmp}/telltale-prometheus.XXXXXX")
  TEMP_DIRS+=("$data")
  printf '%s\n' "$data" >"$dir/tsdb-path"
  python3 scripts/demo_series.py 48 --start "$DEMO_START" >"$dir/demo.om"
  promtool tsdb create-blocks-from openmetrics "$dir/demo.om" "$data" >/dev/null
  python3 scripts/render_config.py infra/local/prometheus.yml SCRAPE_INTERVAL=15s \
    RULES="$PWD/infra/prometheus/heartbeat-rules.yml" ALERTMANAGER="127.0.0.1:$ALERTMANAGER_PORT" \
    PUSHGATEWAY="127.0.0.1:$PUSHGATEWAY_PORT" TELLTALE="127.0.0.1:$INVOKE_PORT" \
    HEARTBEAT_KEY_FILE="$(absolute "$STATE_DIR")/heartbeat.key" >"$dir/prometheus.yml"
  prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$data" \
    --web.listen-address="127.0.0.1:$1" >"$STATE_DIR/prometheus.log" 2>&1 &
  PIDS+=($!)
  wait_http "http://127.0.0.1:$1/-/ready" prometheus
}

start_demo_series() { # pushgateway port; keeps the demo series live
  python3 scripts/demo_series.py --live "http://127.0.0.1:$1" --start "$DEMO_START" \
    >"$STATE_DIR/demo-series.log" 2>&1 &
  PIDS+=($!)
}

start_influxdb() { # http port
  local dir="$STATE_DIR/influxdb"
  mkdir -p "$dir"
  python3 scripts/render_config.py infra/local/influxdb.conf DIR="$(absolute "$dir")" \
    RPC_ADDRESS="127.0.0.1:$(( $1 + 2 ))" HTTP_ADDRESS="127.0.0.1:$1" AUTH=false TLS= \
    >"$dir/influxdb.conf"
  influxd -config "$dir/influxdb.conf" >"$STATE_DIR/influxdb.log" 2>&1 &
  PIDS+=($!)
  wait_http "http://127.0.0.1:$1/ping" influxdb
}

start_pushgateway() { # port
  # Debian's build persists groups in /var/lib by default; keep them in memory only.
  prometheus-pushgateway --web.listen-address="127.0.0.1:$1" --persistence.file= >"$STATE_DIR/pushgateway.log" 2>&1 &
  PIDS+=($!)
  wait_http "http://127.0.0.1:$1/-/ready" pushgateway
}

start_alertmanager() { # port; needs INVOKE_PORT and the heartbeat key
  local dir="$STATE_DIR/alertmanager"
  mkdir -p "$dir"
  python3 scripts/render_config.py infra/local/alertmanager.yml GROUP_WAIT=5s GROUP_INTERVAL=10s \
    TELLTALE_URL="http://127.0.0.1:$INVOKE_PORT" HEARTBEAT_KEY_FILE="$(absolute "$STATE_DIR")/heartbeat.key" \
    >"$dir/alertmanager.yml"
  prometheus-alertmanager --config.file="$dir/alertmanager.yml" --storage.path="$dir/data" \
    --web.listen-address="127.0.0.1:$1" --cluster.listen-address= >"$STATE_DIR/alertmanager.log" 2>&1 &
  PIDS+=($!)
  wait_http "http://127.0.0.1:$1/-/ready" alertmanager
}

start_fixtures() { # port; the declared collectors' documents, local copies laid out by host
  python3 -m http.server "$1" --bind 127.0.0.1 --directory tests/fixtures/collectors >"$STATE_DIR/fixtures.log" 2>&1 &
  PIDS+=($!)
  wait_http "http://127.0.0.1:$1/autopkgtest.ubuntu.com/queues.json" fixtures
}

start_eosc() { # port; the EOSC Accounting Service and its token endpoint, as local doubles
  python3 scripts/eosc_double.py --port "$1" >"$STATE_DIR/eosc.log" 2>&1 &
  PIDS+=($!)
  # Any answer (a 404 for GET /) says it is listening.
  for _ in $(seq 1 50); do
    curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0
    sleep 0.1
  done
  echo "dev: the EOSC double did not start; see $STATE_DIR/eosc.log" >&2
  return 1
}

stop_services() {
  # Under `set -e` a failing last command of an `&&` list ends the script, and a child the
  # signal already stopped makes both `kill` and `wait` fail: neither may end the clean-up.
  if [ ${#PIDS[@]} -gt 0 ]; then kill "${PIDS[@]}" 2>/dev/null || true; fi
  wait 2>/dev/null || true
  if [ ${#TEMP_DIRS[@]} -gt 0 ]; then rm -rf "${TEMP_DIRS[@]}"; fi
  return 0
}
