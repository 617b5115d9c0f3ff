#!/usr/bin/env python3
"""What `make dev` shows of `cargo lambda watch`'s output (all of it stays in watch.log): the
functions' own JSON lines as one short line each (time, level, message, fields; the request and
trace ids are in the log), watch's warnings and errors, and nothing of its routine (spawning,
file-lock waits, cargo's Compiling/Finished/Running lines, per-spawn feature warnings)."""
import json
import re
import sys

ROUTINE = re.compile(
    r"^\s*(INFO |DEBUG )|waiting for file lock|Blocking waiting|concurrency-tokio|"
    r"^\s*(Compiling|Finished|Running|Fresh|Checking) |^\s*$"
)


def short(record):
    time = str(record.pop("timestamp", ""))[11:19]
    level = record.pop("level", "")
    message = record.pop("message", "")
    record.pop("span", None)
    fields = " ".join(f"{k}={v}" for k, v in record.items())
    return f"{time} {level:<5} {message} {fields}".rstrip()


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
