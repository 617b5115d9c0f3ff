#!/usr/bin/env python3
"""Checks infra/openapi.yaml and keeps infra/openapi.json (what `GET /-/openapi.json` serves,
compiled into metric-metadata) equal to it.

  openapi.py --check   validate (openapi-spec-validator), compare with the router table in
                       Cargo.toml and the API events in infra/template.yaml, and fail if
                       infra/openapi.json is stale
  openapi.py --write   the same checks, then rewrite infra/openapi.json
"""

import argparse
import json
import sys
import tomllib
from pathlib import Path

import yaml
from cfnlint.decode import decode
from openapi_spec_validator import validate

ROOT = Path(__file__).resolve().parent.parent
METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}
# Paths that exist in the document but not as their own route: the heartbeat function serves
# /heartbeat/metrics under its /heartbeat/{check} route.
SERVED_BY_PARENT = {"/heartbeat/metrics": "/heartbeat/{check}"}


def load_document():
    with open(ROOT / "infra/openapi.yaml") as f:
        return yaml.safe_load(f)


def documented(doc):
    """path -> set of upper-case methods."""
    return {
        path: {m.upper() for m in item if m in METHODS}
        for path, item in doc["paths"].items()
    }


def router_paths():
    with open(ROOT / "Cargo.toml", "rb") as f:
        cargo = tomllib.load(f)
    return set(cargo["workspace"]["metadata"]["lambda"]["watch"]["router"])


def template_routes():
    """path -> set of methods (ANY kept as is)."""
    template, problems = decode(str(ROOT / "infra/template.yaml"))
    if problems:
        sys.exit(f"openapi: infra/template.yaml does not parse: {problems}")
    routes = {}
    for resource in template["Resources"].values():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        for event in resource.get("Properties", {}).get("Events", {}).values():
            if event.get("Type") != "Api":
                continue
            props = event["Properties"]
            routes.setdefault(props["Path"], set()).add(props["Method"].upper())
    return routes


def check(doc):
    problems = []
    try:
        validate(doc)
    except Exception as e:  # the validator's own error says where
        problems.append(f"not a valid OpenAPI 3.1 document: {e}")
    docs = documented(doc)
    routed = {p for p in docs if p not in SERVED_BY_PARENT}
    router = router_paths()
    template = template_routes()
    for path in sorted(routed - router):
        problems.append(f"{path}: documented but not in Cargo.toml's router table")
    for path in sorted(router - routed):
        problems.append(f"{path}: in the router table but not documented")
    for path in sorted(routed - set(template)):
        problems.append(f"{path}: documented but no API event in infra/template.yaml")
    for path, methods in sorted(template.items()):
        if path not in docs:
            problems.append(f"{path}: an API event in the template but not documented")
        elif "ANY" not in methods and methods != docs[path]:
            problems.append(
                f"{path}: the template routes {sorted(methods)}, the document {sorted(docs[path])}"
            )
    for path, methods in docs.items():
        for method in methods:
            responses = doc["paths"][path][method.lower()]["responses"]
            if not any(code[0] in "23" for code in responses):
                problems.append(f"{method} {path}: no success (2xx) or redirect (3xx) response documented")
    return problems


def rendered(doc):
    return json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true")
    mode.add_argument("--write", action="store_true")
    args = parser.parse_args()
    doc = load_document()
    problems = check(doc)
    if problems:
        for p in problems:
            print(f"openapi: {p}", file=sys.stderr)
        sys.exit(1)
    target = ROOT / "infra/openapi.json"
    text = rendered(doc)
    if args.write:
        target.write_text(text)
        print(f"openapi: wrote {target.relative_to(ROOT)}")
    elif not target.exists() or target.read_text() != text:
        sys.exit("openapi: infra/openapi.json is stale: run `make openapi`")
    else:
        paths = documented(doc)
        print(
            f"openapi: ok, {len(paths)} paths, {sum(map(len, paths.values()))} operations, "
            "matching the router table and the template"
        )


if __name__ == "__main__":
    main()
