#!/usr/bin/env bash
# Installs what the local stack and the tests need, only what is missing.
# Safe to run again: every step checks before it acts.
set -euo pipefail
cd "$(dirname "$0")/.."

MOTO_VERSION=5.2.5
CARGO_LAMBDA_VERSION=1.9.2
CFN_LINT_VERSION=1.58.0
OPENAPI_SPEC_VALIDATOR_VERSION=0.9.0
SCHEMATHESIS_VERSION=4.32.5
# healthchecks.io's own Python client, for the ping API's documented examples.
HEALTHCHECKS_IO_VERSION=0.4.4
# The template's scanners, each in a virtualenv of its own: their pins (boto3, botocore,
# jsonschema, ...) would clash with moto's and schemathesis'.
CHECKOV_VERSION=3.3.30
SAM_CLI_VERSION=1.170.0
# The Monasca double's checks (monasca-api's schemas and expression parser).
MONASCA_API_VERSION=11.0.0
MONASCA_COMMON_VERSION=3.8.0
MONASCA_CHECK_DEPS="voluptuous==0.16.0 pyparsing==3.3.3 six==1.17.0 falcon==4.4.0 oslo.log==8.3.2 simplejson==4.3.0"
VENV=${TELLTALE_VENV:-.venv}

need_apt=()
command -v prometheus >/dev/null || need_apt+=(prometheus)
command -v promtool >/dev/null || need_apt+=(prometheus)
command -v openssl >/dev/null || need_apt+=(openssl)
command -v influxd >/dev/null || need_apt+=(influxdb)
# make bench-collectors: the jq command line as the floor, and /usr/bin/time for peak memory.
command -v jq >/dev/null || need_apt+=(jq)
[ -x /usr/bin/time ] || need_apt+=(time)
command -v prometheus-pushgateway >/dev/null || need_apt+=(prometheus-pushgateway)
command -v prometheus-alertmanager >/dev/null || need_apt+=(prometheus-alertmanager)
# The team page's browser test: Debian's Chromium, its WebDriver, and a font to draw text with.
command -v chromium >/dev/null || need_apt+=(chromium)
command -v chromedriver >/dev/null || need_apt+=(chromium-driver)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need_apt+=(fonts-dejavu-core)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing ${need_apt[*]} with apt-get (minutes the first time; Chromium is large)" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -q
  # The packages' own service units are not wanted: the scripts start what they need on loopback.
  # apt's own progress (one line per package fetched and set up) stays on the console.
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${need_apt[@]}"
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating virtualenv $VENV" >&2
  python3 -m venv "$VENV"
fi
want="moto==$MOTO_VERSION cargo-lambda==$CARGO_LAMBDA_VERSION cfn-lint==$CFN_LINT_VERSION openapi-spec-validator==$OPENAPI_SPEC_VALIDATOR_VERSION schemathesis==$SCHEMATHESIS_VERSION healthchecks_io==$HEALTHCHECKS_IO_VERSION"
have=$("$VENV/bin/pip" freeze 2>/dev/null | tr '\n' ' ')
missing=0
for pkg in $want; do
  case " $have " in *" $pkg "*) ;; *) missing=1 ;; esac
done
if [ "$missing" = 1 ]; then
  echo "setup: installing $want" >&2
  "$VENV/bin/pip" install -q --disable-pip-version-check \
    "moto[server]==$MOTO_VERSION" "cargo-lambda==$CARGO_LAMBDA_VERSION" "cfn-lint==$CFN_LINT_VERSION" \
    "openapi-spec-validator==$OPENAPI_SPEC_VALIDATOR_VERSION" "schemathesis==$SCHEMATHESIS_VERSION" \
    "healthchecks_io==$HEALTHCHECKS_IO_VERSION"
fi

# A virtualenv holding exactly one pinned package (and its dependencies).
tool_venv() {
  local dir=$1 pkg=$2
  if [ ! -x "$dir/bin/python" ]; then
    echo "setup: creating virtualenv $dir" >&2
    python3 -m venv "$dir"
  fi
  case " $("$dir/bin/pip" freeze 2>/dev/null | tr '\n' ' ') " in
    *" $pkg "*) ;;
    *)
      echo "setup: installing $pkg into $dir" >&2
      "$dir/bin/pip" install -q --disable-pip-version-check "$pkg"
      ;;
  esac
}
tool_venv .venv-checkov "checkov==$CHECKOV_VERSION"
tool_venv .venv-sam "aws-sam-cli==$SAM_CLI_VERSION"

# Monasca's own request checks for the tests' Monasca double: monasca-api's schemas and
# expression parser, monasca-common's metric validator. Without their dependencies (a whole
# OpenStack service), with only what those modules import.
if [ ! -x .venv-monasca/bin/python ]; then
  echo "setup: creating virtualenv .venv-monasca" >&2
  python3 -m venv .venv-monasca
fi
case " $(.venv-monasca/bin/pip freeze 2>/dev/null | tr '\n' ' ') " in
  *" monasca-api==$MONASCA_API_VERSION "*) ;;
  *)
    echo "setup: installing monasca-api==$MONASCA_API_VERSION's checks into .venv-monasca" >&2
    .venv-monasca/bin/pip install -q --disable-pip-version-check --no-warn-conflicts --no-deps \
      "monasca-api==$MONASCA_API_VERSION" "monasca-common==$MONASCA_COMMON_VERSION"
    .venv-monasca/bin/pip install -q --disable-pip-version-check $MONASCA_CHECK_DEPS
    ;;
esac

rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt >/dev/null 2>&1 || true
echo "setup: ok" >&2
