#!/usr/bin/env python3
"""Runs the schedules of infra/template.yaml against `cargo lambda watch`, so the local stack
behaves like the deployed one: every function with a Schedule or ScheduleV2 event is invoked
at its rate, with the event EventBridge would send (a ScheduleV2's Input as is; a classic
rule's Input, or else its Scheduled Event envelope).

A function is skipped when a variable it takes from a template parameter without a default is
not set in the env file (e.g. accounting-push and token-refresh until TOKEN_URL points at a
real AAI): it could only fail.

  local_scheduler.py --template infra/template.yaml --env-file .local/dev.env \
      --invoke-url http://127.0.0.1:9000 [--speedup 60] [--list | --once]

--speedup N divides every rate by N (LOCAL_SCHEDULE_SPEEDUP in make dev). Each schedule first
fires once right away (EventBridge would wait one period), so data shows up at once.
"""
import argparse
import datetime
import json
import re
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid

from cfnlint.decode import decode

UNITS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}


def read_env_file(path):
    env = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            key, value = line.split("=", 1)
            env[key.strip()] = value.strip().strip('"')
    return env


def resolve(value, parameters):
    """A literal, or a Ref to a parameter (its default)."""
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return parameters.get(value["Ref"], {}).get("Default")
    return value


def rate_seconds(expression):
    m = re.fullmatch(r"rate\((\d+) (minutes?|hours?|days?)\)", (expression or "").strip())
    if not m:
        raise ValueError(f"{expression!r} is not a rate() expression (cron is not run locally)")
    value, unit = int(m.group(1)), m.group(2)
    if (value == 1) != (not unit.endswith("s")):
        raise ValueError(f"{expression!r}: EventBridge wants '1 {unit.rstrip('s')}' or 'N {unit.rstrip('s')}s'")
    return value * UNITS[unit]


def schedules(template_path, env):
    template, problems = decode(template_path)
    if problems:
        raise SystemExit(f"{template_path} does not parse: {problems}")
    parameters = template.get("Parameters", {})
    found = []
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        props = resource.get("Properties", {})
        function = str(props.get("CodeUri", "")).rstrip("/").split("/")[-1]
        variables = props.get("Environment", {}).get("Variables", {})
        missing = [
            name
            for name, value in variables.items()
            if isinstance(value, dict)
            and set(value) == {"Ref"}
            and value["Ref"] in parameters
            and "Default" not in parameters[value["Ref"]]
            and not env.get(name)
        ]
        for event_name, event in props.get("Events", {}).items():
            kind = event.get("Type")
            if kind not in ("Schedule", "ScheduleV2"):
                continue
            eprops = event.get("Properties", {})
            expression = resolve(eprops.get("Schedule" if kind == "Schedule" else "ScheduleExpression"), parameters)
            raw_input = eprops.get("Input")
            found.append({
                "id": f"{logical_id}.{event_name}",
                "function": function,
                "kind": kind,
                "every": rate_seconds(expression),
                "expression": expression,
                "input": json.loads(raw_input) if raw_input else None,
                "skip": f"{', '.join(sorted(missing))} not set" if missing else None,
            })
    return sorted(found, key=lambda s: s["id"])


# EventBridge Scheduler's context attribute, replaced in the input by the scheduled instant.
SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"


def with_scheduled_time(value, now):
    if isinstance(value, dict):
        return {k: with_scheduled_time(v, now) for k, v in value.items()}
    if isinstance(value, list):
        return [with_scheduled_time(v, now) for v in value]
    return now if value == SCHEDULED_TIME else value


def shown_input(schedule):
    """The input as the template writes it, without the scheduled instant (None when empty)."""
    shown = {k: v for k, v in (schedule["input"] or {}).items() if v != SCHEDULED_TIME}
    return shown or None


def event_for(schedule):
    if schedule["input"] is not None:
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return with_scheduled_time(schedule["input"], now)
    if schedule["kind"] == "ScheduleV2":
        return {}
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event",
        "source": "aws.events", "account": "000000000000", "time": now, "region": "us-east-1",
        "resources": [f"arn:aws:events:us-east-1:000000000000:rule/{schedule['id']}"], "detail": {},
    }


def say(text):
    stamp = datetime.datetime.now().strftime("%H:%M:%S")
    print(f"[scheduler {stamp}] {text}", flush=True)


def invoke(base_url, schedule):
    url = f"{base_url}/2015-03-31/functions/{schedule['function']}/invocations"
    body = json.dumps(event_for(schedule)).encode()
    request = urllib.request.Request(url, data=body, method="POST", headers={"content-type": "application/json"})
    shown = shown_input(schedule)
    label = f"{schedule['function']} {json.dumps(shown) if shown else schedule['kind']}"
    try:
        # The first invocation compiles the function.
        with urllib.request.urlopen(request, timeout=600) as resp:
            answer = resp.read().decode("utf-8", "replace")
            failed = resp.headers.get("X-Amz-Function-Error")
    except urllib.error.HTTPError as e:
        answer, failed = e.read().decode("utf-8", "replace"), f"HTTP {e.code}"
    except OSError as e:
        answer, failed = str(e), "unreachable"
    say(f"{label} -> {'FAILED (' + failed + ')' if failed else 'ok'} {answer[:300]}")
    return not failed


def wait_for(base_url, deadline):
    host, port = base_url.split("//", 1)[1].rsplit(":", 1)
    while time.time() < deadline:
        try:
            socket.create_connection((host, int(port)), timeout=1).close()
            return True
        except OSError:
            time.sleep(1)
    return False


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--template", default="infra/template.yaml")
    parser.add_argument("--env-file", required=True)
    parser.add_argument("--invoke-url", default="http://127.0.0.1:9000")
    parser.add_argument("--speedup", type=float, default=1.0)
    parser.add_argument("--list", action="store_true", help="print the schedules and exit")
    parser.add_argument("--once", action="store_true", help="fire every schedule once and exit")
    args = parser.parse_args()
    if args.speedup <= 0:
        raise SystemExit("--speedup must be positive")
    all_schedules = schedules(args.template, read_env_file(args.env_file))
    if args.list:
        for s in all_schedules:
            status = f"skipped: {s['skip']}" if s["skip"] else "runs"
            print(f"{s['function']}\t{s['every']}\t{json.dumps(shown_input(s))}\t{status}")
        return 0
    active = [s for s in all_schedules if not s["skip"]]
    for s in all_schedules:
        if s["skip"]:
            say(f"{s['function']} ({s['expression']}) not run locally: {s['skip']}")
    if not wait_for(args.invoke_url, time.time() + 300):
        raise SystemExit(f"nothing answers at {args.invoke_url}")
    if args.once:
        results = [invoke(args.invoke_url, s) for s in active]
        return 0 if all(results) else 1
    for s in active:
        say(f"{s['function']} {json.dumps(shown_input(s)) if shown_input(s) else ''} every {s['every'] / args.speedup:g} s ({s['expression']})")
    next_run = {s["id"]: time.time() for s in active}
    running = {}
    while True:
        now = time.time()
        for s in active:
            if now < next_run[s["id"]]:
                continue
            next_run[s["id"]] = now + s["every"] / args.speedup
            # One run of a schedule at a time, so a slow first build does not pile them up.
            if running.get(s["id"]) and running[s["id"]].is_alive():
                continue
            running[s["id"]] = threading.Thread(target=invoke, args=(args.invoke_url, s), daemon=True)
            running[s["id"]].start()
        time.sleep(0.2)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
