"""Monasca's own request checks, for the test kit's Monasca double.

Usage: monasca_rules.py KIND < body.json, where KIND is metrics, notification (a POST),
notification-whole (a PUT or a PATCH merged with what is stored: every field required),
definition (a POST or a PATCH) or definition-whole (a PUT). Exit 0 when monasca-api (or, for
metrics, monasca-common) accepts the body; else exit 1 with its reason on standard output.
"""

import json
import sys

from monasca_api.expression_parser.alarm_expr_parser import AlarmExprParser
from monasca_api.v2.common.schemas import alarm_definition_request_body_schema as definitions
from monasca_api.v2.common.schemas import notifications_request_body_schema as notifications
from monasca_common.validation import metrics

# monasca-api's default `valid_notification_periods`.
VALID_PERIODS = [0, 60]


def check(kind, body):
    if kind == "metrics":
        metrics.validate(body if isinstance(body, list) else [body])
    elif kind in ("notification", "notification-whole"):
        notifications.parse_and_validate(body, VALID_PERIODS, require_all=kind.endswith("-whole"))
    elif kind in ("definition", "definition-whole"):
        definitions.validate(body, require_all=kind.endswith("-whole"))
        if "expression" in body:
            # As the API does before it stores one: the whole expression must parse.
            AlarmExprParser(body["expression"]).sub_expr_list
    else:
        raise SystemExit("unknown kind " + kind)


def main():
    try:
        check(sys.argv[1], json.load(sys.stdin))
    except Exception as e:  # every refusal, whatever its class, is the API's 422
        print(f"{type(e).__name__}: {e}")
        sys.exit(1)


if __name__ == "__main__":
    main()
