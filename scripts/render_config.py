#!/usr/bin/env python3
"""Fills in a local service's configuration (infra/local/): `render_config.py FILE NAME=VALUE...`
prints FILE with every `{{NAME}}` replaced. A placeholder left without a value, or a value for
no placeholder, is an error: the file and its callers must agree."""

import re
import sys


def main() -> int:
    path, pairs = sys.argv[1], sys.argv[2:]
    values = dict(p.split("=", 1) for p in pairs)
    text = open(path, encoding="utf-8").read()
    wanted = set(re.findall(r"\{\{([A-Z_]+)\}\}", text))
    missing, unused = wanted - values.keys(), values.keys() - wanted
    if missing or unused:
        print(f"{path}: missing {sorted(missing)}, unused {sorted(unused)}", file=sys.stderr)
        return 2
    sys.stdout.write(re.sub(r"\{\{([A-Z_]+)\}\}", lambda m: values[m.group(1)], text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
