# The few commands people use. `make dev` runs the bundle locally; `make test` is what CI runs.
.PHONY: setup dev test bench bench-collectors bench-heartbeat build openapi fuzz-api fuzz soak

setup:
	bash scripts/setup.sh

dev:
	bash scripts/dev.sh

test:
	bash scripts/test.sh

# Figures, not pass/fail: the value route next to a direct Prometheus query; the collectors;
# the heartbeat routes.
bench: bench-collectors bench-heartbeat
	PATH="$(CURDIR)/.venv/bin:$$PATH" cargo bench -p telltale-blackbox --bench value_latency

# POST /heartbeat/{check} warm latency; the exposition for 1,000 checks.
bench-heartbeat:
	bash scripts/setup.sh
	PATH="$(CURDIR)/.venv/bin:$$PATH" cargo bench -p telltale-blackbox --bench heartbeat

# Line-protocol encoding, probe_pipeline over 10,000 candidates, 50,000 points to InfluxDB.
bench-collectors:
	bash scripts/setup.sh
	PATH="$(CURDIR)/.venv/bin:$$PATH" cargo bench -p telltale-blackbox --bench collectors

# Validates infra/openapi.yaml and rewrites infra/openapi.json, which metric-metadata serves.
openapi:
	bash scripts/setup.sh
	.venv/bin/python scripts/openapi.py --write

# Every parser that sees outside input, 112,000 cases each (over a million in all; the test
# command runs 2,000 each). Any panic or broken property fails the run with its minimal input.
fuzz:
	FUZZ_CASES=$${FUZZ_CASES:-112000} bash -o pipefail -c 'cargo test -p telltale --test fuzz -- --nocapture \
	  | awk "/^fuzz: /{print; n+=\$$3} /^test result/{print} END{printf \"fuzz: %d cases in total\\n\", n}"'

# Load and fault figures through cargo lambda watch (loopback only; a few minutes): N
# submissions at concurrency C, moto/Prometheus/InfluxDB stopped and hung in turn, SES refusing.
soak:
	bash scripts/setup.sh
	PATH="$(CURDIR)/.venv/bin:$$PATH" cargo bench -p telltale-blackbox --bench soak

# The OpenAPI contract run with more examples per operation (the test command runs 8);
# CONTRACT_SEED picks another reproducible run.
fuzz-api:
	bash scripts/setup.sh
	CONTRACT_MAX_EXAMPLES=$${CONTRACT_MAX_EXAMPLES:-100} PATH="$(CURDIR)/.venv/bin:$$PATH" \
	  cargo test -p telltale-blackbox --test api_contract -- --nocapture

FUNCTIONS := $(notdir $(wildcard functions/*))

# Release binaries for every function in target/lambda/<function>/bootstrap (the SAM CodeUri).
build:
	bash scripts/setup.sh
	PATH="$(CURDIR)/.venv/bin:$$PATH" cargo lambda build --release --compiler cargo $(addprefix -p ,$(FUNCTIONS))
