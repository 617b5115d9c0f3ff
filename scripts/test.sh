#!/usr/bin/env bash
# `make test`: everything CI checks. Installs what is missing, then formatting, lints, the
# SAM template, and every test (unit, integration against local services, black-box).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
# Local services only; never the instance-metadata address.
export AWS_EC2_METADATA_DISABLED=true

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== the library's import graph (no cycle; domains import no SDK, HTTP client or adapter)"
python scripts/deps.py
echo "== cfn-lint infra/template.yaml"
cfn-lint infra/template.yaml
echo "== sam validate --lint (no AWS account needed)"
SAM_CLI_TELEMETRY=0 .venv-sam/bin/sam validate --lint --template-file infra/template.yaml
echo "== checkov (offline; every skip in the template carries its reason)"
.venv-checkov/bin/checkov -f infra/template.yaml --framework cloudformation --skip-download \
  --compact --quiet
echo "== the template's dashboard and saved queries (generated from its functions and alarms)"
python scripts/observability.py --check
echo "== OpenAPI document (validated, against the router table and the template)"
python scripts/openapi.py --check
echo "== promtool: heartbeat rules"
promtool check rules infra/prometheus/heartbeat-rules.yml
promtool test rules infra/prometheus/heartbeat-rules.test.yml
echo "== cargo test"
cargo test --workspace --locked --no-fail-fast
echo "== the hostile sweep (make hostile's vectors against every route, debug builds)"
# The same sweep `make hostile` runs optimised; here in the test profile cargo test just built,
# so CI sends every vector too. It fails on a 5xx, an echo, an oversized error, an unanswered
# request or a refusal that did not happen.
cargo test --locked -p telltale-blackbox --bench hostile
