#!/usr/bin/env python3
"""What `make dev` shows of `cargo lambda watch`'s output (all of it stays in watch.log): the
functions' own JSON lines as one short line each (time, level, function, message, fields; an
invocation's line with its method, path, status and duration; the request and trace ids are in
the log), watch's warnings and errors, and nothing of its routine (spawning,
file-lock waits, cargo's Compiling/Finished/Running lines, per-spawn feature warnings)."""
import json
import re
import sys

ROUTINE = re.compile(
    r"^\s*(INFO |DEBUG )|waiting for file lock|Blocking waiting|concurrency-tokio|"
    r"^\s*(Compiling|Finished|Running|Fresh|Checking) |^\s*$"
)


def short(record):
    """One line: time, level, the function, then what happened. An invocation's own line
    (`answered`, `run finished`, `run failed`) reads as a sentence with its duration."""
    time = str(record.pop("timestamp", ""))[11:19]
    level = record.pop("level", "")
    message = record.pop("message", "")
    record.pop("span", None)
    function = record.pop("function", "")
    took = record.pop("duration_ms", None) if message in INVOCATION else None
    if message == "answered":
        error = record.pop("error", "")
        message = f"{record.pop('method', '')} {record.pop('path', '')} {record.pop('status', '')} in {took} ms"
        if error:
            message += f": {error}"
    elif message == "run finished":
        message = f"finished in {took} ms: {record.pop('result', '')}"
    elif message == "run failed":
        message = f"failed in {took} ms: {record.pop('error', '')}"
    fields = " ".join(f"{k}={v}" for k, v in record.items())
    head = f"{time} {level:<5} {function:<16} " if function else f"{time} {level:<5} "
    return f"{head}{message} {fields}".rstrip()


INVOCATION = {"answered", "run finished", "run failed"}


for line in sys.stdin:
    text = line.rstrip("\n")
    if text.startswith("{"):
        try:
            record = json.loads(text)
        except ValueError:
            record = None
        if isinstance(record, dict):
            # The runtime's warning at every spawn under watch (Lambda never sets the variable).
            if "concurrency-tokio" not in str(record.get("message", "")):
                print(short(record), flush=True)
            continue
    if not ROUTINE.search(text):
        print(text, flush=True)
