#!/usr/bin/env python3
"""Demo series for `make dev` and the tests. Values follow simple rules so the numbers a
developer sees can be checked by hand (t counts from START):

- telltale_demo_submissions_total: +1 every hour (a counter).
- telltale_demo_deployed_probes{stage=...}: production 12, devel 3.
- telltale_demo_users_total: +5 every minute; telltale_demo_period_stamp: the period
  number, which changes every 12 hours (for sumPeriods).
- telltale_demo_up: 1, except 0 for the first 10 minutes of every 6th hour.

Every series carries job="demo".

  demo_series.py HOURS [--start UNIX]
      OpenMetrics for `promtool tsdb create-blocks-from openmetrics`: HOURS of history, one
      sample a minute, ending a minute ago (START defaults to HOURS before that).
  demo_series.py --live PUSHGATEWAY_URL --start UNIX [--every SECONDS]
      Keeps the same series going: pushes their current values to the Pushgateway (group
      job="demo") every SECONDS, so the demo values never go stale while `make dev` runs.
"""
import argparse
import sys
import time
import urllib.request

STEP = 60


def values(t, start):
    """(name, labels, value) of every series at unix time t."""
    k = t - start
    return [
        ("telltale_demo_submissions_total", "", k // 3600),
        ("telltale_demo_deployed_probes", 'stage="production"', 12),
        ("telltale_demo_deployed_probes", 'stage="devel"', 3),
        ("telltale_demo_users_total", "", 5 * (k // 60)),
        ("telltale_demo_period_stamp", "", k // 43200),
        ("telltale_demo_up", "", 0 if (k // 3600) % 6 == 0 and k % 3600 < 600 else 1),
    ]


def with_job(labels):
    return "{" + ",".join(x for x in (labels, 'job="demo"') if x) + "}"


def backfill(hours, start):
    end = int(time.time()) // STEP * STEP - STEP
    if start is None:
        start = end - hours * 3600
    by_name = {}
    for t in range(max(start, end - hours * 3600), end + 1, STEP):
        for name, labels, v in values(t, start):
            by_name.setdefault(name, []).append(f"{name}{with_job(labels)} {v} {t}")
    for name, lines in by_name.items():
        print(f"# TYPE {name} gauge")
        print("\n".join(lines))
    print("# EOF")


def live(url, start, every):
    group = f"{url.rstrip('/')}/metrics/job/demo"
    while True:
        lines, typed = [], set()
        for name, labels, v in values(int(time.time()), start):
            if name not in typed:
                lines.append(f"# TYPE {name} gauge")
                typed.add(name)
            lines.append(f"{name}{{{labels}}} {v}" if labels else f"{name} {v}")
        body = ("\n".join(lines) + "\n").encode()
        try:
            urllib.request.urlopen(urllib.request.Request(group, data=body, method="PUT"), timeout=5).read()
        except OSError as e:
            print(f"demo series: push to {group} failed: {e}", file=sys.stderr, flush=True)
        time.sleep(every)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("hours", nargs="?", type=int, default=48)
    p.add_argument("--start", type=int)
    p.add_argument("--live", metavar="PUSHGATEWAY_URL")
    p.add_argument("--every", type=float, default=15)
    a = p.parse_args()
    if a.live:
        if a.start is None:
            p.error("--live needs the --start the history was written with")
        live(a.live, a.start, a.every)
    else:
        backfill(a.hours, a.start)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
