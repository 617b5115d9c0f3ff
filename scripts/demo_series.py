#!/usr/bin/env python3
"""Writes OpenMetrics demo series covering the last HOURS hours, for
`promtool tsdb create-blocks-from openmetrics`. Values follow simple rules so the
numbers a developer sees can be checked by hand:

- telltale_demo_submissions_total: +1 every hour (a counter).
- telltale_demo_deployed_probes{stage=...}: production 12, devel 3.
- telltale_demo_users_total: +5 every minute; telltale_demo_period_stamp: the period
  number, which changes every 12 hours (for sumPeriods).
- telltale_demo_up: 1, except 0 for the first 10 minutes of every 6th hour.
"""
import sys
import time

HOURS = int(sys.argv[1]) if len(sys.argv) > 1 else 48
STEP = 60
end = int(time.time()) // STEP * STEP - STEP
start = end - HOURS * 3600


def family(name, samples):
    print(f"# TYPE {name} gauge")
    for labels, t, v in samples:
        print(f"{name}{labels} {v} {t}")


steps = range(start, end + 1, STEP)
family("telltale_demo_submissions_total", (("", t, (t - start) // 3600) for t in steps))
family(
    "telltale_demo_deployed_probes",
    [('{stage="production"}', t, 12) for t in steps] + [('{stage="devel"}', t, 3) for t in steps],
)
family("telltale_demo_users_total", (("", t, 5 * ((t - start) // 60)) for t in steps))
family("telltale_demo_period_stamp", (("", t, (t - start) // 43200) for t in steps))
family(
    "telltale_demo_up",
    (("", t, 0 if ((t - start) // 3600) % 6 == 0 and (t - start) % 3600 < 600 else 1) for t in steps),
)
print("# EOF")
