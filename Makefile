# The few commands people use. `make dev` runs the bundle locally; `make test` is what CI runs.
.PHONY: setup dev test test-fast bench bench-cold bench-scale bench-collectors bench-heartbeat build openapi observability fuzz-api fuzz soak hostile

setup:
	bash scripts/setup.sh

dev:
	bash scripts/dev.sh

test:
	bash scripts/test.sh

# The tests that need no service, no network and no setup step: the library's rules on the
# in-memory ports, its unit tests and the CLI's (passes under `unshare -n` after a first build).
test-fast:
	cargo test --locked -p telltale -p telltale-cli --lib --test fast

# Figures, not pass/fail: every function's size, cold start and memory next to the floors;
# the value route next to a direct Prometheus query; the collectors; the heartbeat routes.
bench: bench-cold bench-scale bench-collectors bench-heartbeat
	PATH="$(CURDIR)/.venv/bin:$$PATH" cargo bench -p telltale-blackbox --bench value_latency

# A mapping pair of 100,000 metrics (load, memory, lookups); an accounting push of 10,000
# metrics against the EOSC double answering after 20 ms (wall time against the ideal).
bench-scale:
	bash scripts/setup.sh
	PATH="$(CURDIR)/.venv/bin:$$PATH" cargo bench -p telltale-blackbox --bench scale

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

# Regenerates the template's dashboard and saved Logs Insights queries (infra/insights/*.query)
# from its functions and alarms; `make test` fails when they are stale.
observability:
	bash scripts/setup.sh
	.venv/bin/python scripts/observability.py --write

# Every parser that sees outside input, 112,000 cases each (over a million in all; the test
# command runs 2,000 each). Any panic or broken property fails the run with its minimal input.
fuzz:
	FUZZ_CASES=$${FUZZ_CASES:-112000} bash -o pipefail -c 'cargo test -p telltale --test fast fuzz:: -- --nocapture \
	  | awk "/^fuzz: /{print; n+=\$$3} /^fuzz-property: /{print} /^test result/{print} END{printf \"fuzz: %d cases in total\\n\", n}"'

# Load and fault figures through cargo lambda watch (loopback only; a few minutes): N
# submissions at concurrency C, moto/Prometheus/InfluxDB stopped and hung in turn, SES refusing.
soak:
	bash scripts/setup.sh
	PATH="$(CURDIR)/.venv/bin:$$PATH" cargo bench -p telltale-blackbox --bench soak

# A hostile caller's vectors against every HTTP route through cargo lambda watch (loopback
# only; a few thousand requests): prints requests, 5xx, error answers over 4 KB, inputs echoed
# over 100 characters, requests with no answer, and fails unless all but the first are 0.
hostile:
	bash scripts/setup.sh
	PATH="$(CURDIR)/.venv/bin:$$PATH" cargo bench -p telltale-blackbox --bench hostile

# The OpenAPI contract run with more examples per operation (the test command runs 8);
# CONTRACT_SEED picks another reproducible run.
fuzz-api:
	bash scripts/setup.sh
	CONTRACT_MAX_EXAMPLES=$${CONTRACT_MAX_EXAMPLES:-100} PATH="$(CURDIR)/.venv/bin:$$PATH" \
	  cargo test -p telltale-blackbox --test api_contract -- --nocapture

FUNCTIONS := $(notdir $(wildcard functions/*))
# Empty functions built with the same profile, for comparison only; never deployed.
FLOORS := $(notdir $(wildcard floors/*))

# Release zips of every function and both floors, then sizes, cold starts (30 spawns each on a
# loopback Runtime API) and peak memory, with ratios to the floors.
# The arm64 zips are cross-compiled (zig, from the cargo-lambda wheel) for their sizes only.
bench-cold:
	bash scripts/setup.sh
	PATH="$(CURDIR)/.venv/bin:$$PATH" cargo lambda build --release --compiler cargo --output-format zip $(addprefix -p ,$(FUNCTIONS) $(FLOORS))
	rustup target add aarch64-unknown-linux-gnu
	PATH="$(CURDIR)/.venv/bin:$$PATH" cargo lambda build --release --arm64 --output-format zip --lambda-dir target/lambda-arm64 $(addprefix -p ,$(FUNCTIONS) $(FLOORS))
	PATH="$(CURDIR)/.venv/bin:$$PATH" cargo bench -p telltale-blackbox --bench cold_start

# Release binaries for every function in target/lambda/<function>/bootstrap (the SAM CodeUri),
# for the template's default architecture (arm64, cross-compiled); `make build ARCH=x86_64`
# for x86_64 stacks and local runs.
ARCH ?= arm64
build:
	bash scripts/setup.sh
ifeq ($(ARCH),arm64)
	rustup target add aarch64-unknown-linux-gnu
	PATH="$(CURDIR)/.venv/bin:$$PATH" cargo lambda build --release --arm64 $(addprefix -p ,$(FUNCTIONS))
else
	PATH="$(CURDIR)/.venv/bin:$$PATH" cargo lambda build --release --compiler cargo $(addprefix -p ,$(FUNCTIONS))
endif
