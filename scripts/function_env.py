#!/usr/bin/env python3
"""Each function's environment as infra/template.yaml declares it, for local runs.

`cargo lambda watch` gives every function one environment (its --env-file). Under `make dev`
and the black-box tests it starts each function through this script instead (as cargo's
runner, CARGO_TARGET_<host>_RUNNER), which keeps only what the function's template entry
declares:

  - the variables of its `Environment.Variables` and of `Globals.Function`: a literal as the
    template writes it; anything the template computes (Ref, GetAtt, Sub, Select, If) from the
    table of local values, which is the environment watch passes in (.local/dev.env under
    make dev); a Ref to a parameter the table does not give takes the parameter's default, as
    a stack deployed with defaults does; anything else the table lacks is left unset;
  - for a template variable `X_PARAMETER` (an SSM parameter's name), the plain `X` when the
    table gives that and not `X_PARAMETER`: locally a secret is a plain variable;
  - what Lambda itself gives a function (AWS_LAMBDA_*, the region and credentials, PATH, LANG,
    TZ), and the local stack's own variables: AWS_ENDPOINT_URL (the emulator),
    AWS_EC2_METADATA_DISABLED, LOCAL_LINKS and LOCAL_EMAILS_URL (the team page's local links)
    and COLLECTORS_FILE (the declared collectors' local copies).

When the table names an emulator enforcing IAM (LOCAL_IAM_DIR, a directory local_iam.py serve
wrote its administrator to), the function runs with the keys of a principal holding exactly its
template policy, resolved to the table's names (local_iam.py), instead of the table's keys.

Nothing else reaches the function, so a variable its configuration needs and its template
entry forgot fails locally as it would deployed. The binary's template entry is the function
whose CodeUri is ../target/lambda/<binary>/; the collectors share one binary, which gets the
union of their entries.

  function_env.py exec BINARY [ARGS...]   run BINARY with its environment (the runner)
  function_env.py show NAME               print NAME's environment as KEY=VALUE lines
  function_env.py names                   list the binaries the template declares

TELLTALE_TEMPLATE names another template (the tests' edited copy).
"""
import json
import os
import sys

import local_iam  # beside this script; its moto and boto3 imports wait until they are used

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAMBDA_GIVES = ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                "AWS_SESSION_TOKEN", "PATH", "LANG", "TZ")
# What the cache holds changes with this script: a new FORMAT makes it decode the template again.
FORMAT = 2
LOCAL_ONLY = ("AWS_ENDPOINT_URL", "AWS_EC2_METADATA_DISABLED", "LOCAL_LINKS", "LOCAL_EMAILS_URL",
              "COLLECTORS_FILE")


def declared(path):
    """What the runner needs of the template: each binary's variables ({variable: ("literal",
    text) | ("default", text) | ("computed", None)}), its policy's statements, and how the
    local stack's values name the template's resources."""
    template = local_iam.decoded(path)
    parameters = template.get("Parameters", {})

    def kind(value):
        if isinstance(value, (str, int, float, bool)):
            return ("literal", str(value).lower() if isinstance(value, bool) else str(value))
        if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in parameters:
            default = parameters[value["Ref"]].get("Default")
            if default is not None:
                return ("default", str(default))
        return ("computed", None)

    globals_ = template.get("Globals", {}).get("Function", {})
    common = globals_.get("Environment", {}).get("Variables", {})
    binaries = {}
    for _, props in local_iam.functions(template):
        variables = dict(common)
        variables.update(props.get("Environment", {}).get("Variables", {}))
        entry = binaries.setdefault(local_iam.binary_of(props), {})
        for name, value in variables.items():
            entry[name] = kind(value)
    return {"binaries": binaries, "policies": local_iam.binary_policies(template),
            "naming": local_iam.naming(template)}


def cached(path):
    """`declared`, cached beside the build output by the template's size and time: a function
    starts without decoding the template again unless it changed."""
    stat = os.stat(path)
    key = f"{FORMAT}:{os.path.abspath(path)}:{stat.st_size}:{stat.st_mtime_ns}"
    cache = os.path.join(ROOT, "target", "function-env.json")
    try:
        with open(cache, encoding="utf-8") as f:
            stored = json.load(f)
        if stored.get("key") == key:
            return stored["template"]
    except (OSError, ValueError, KeyError):
        pass
    template = declared(path)
    try:
        os.makedirs(os.path.dirname(cache), exist_ok=True)
        partial = f"{cache}.{os.getpid()}"
        with open(partial, "w", encoding="utf-8") as f:
            json.dump({"key": key, "template": template}, f)
        os.replace(partial, cache)
    except OSError:
        pass
    return template


def environment(binary, table, binaries):
    """The environment `binary` runs with, given the table of local values."""
    if binary not in binaries:
        known = ", ".join(sorted(binaries))
        raise SystemExit(f"function_env: the template declares no function for {binary!r} ({known})")
    env = {k: v for k, v in table.items()
           if k.startswith("AWS_LAMBDA_") or k in LAMBDA_GIVES or k in LOCAL_ONLY}
    for name, (how, value) in binaries[binary].items():
        if how == "literal":
            env[name] = value
        elif name in table:
            env[name] = table[name]
        elif name.endswith("_PARAMETER") and name[: -len("_PARAMETER")] in table:
            plain = name[: -len("_PARAMETER")]
            env[plain] = table[plain]
        elif how == "default":
            env[name] = value
    return env


def principal(binary, table, template):
    """The keys `binary` runs with: when the table names an enforcing emulator's directory
    (LOCAL_IAM_DIR), those of a principal holding exactly its template policy; else none."""
    directory = table.get("LOCAL_IAM_DIR")
    if not directory:  # unset or empty: an emulator that does not enforce IAM
        return {}
    names = local_iam.local_names(template["naming"], table)
    statements = local_iam.resolved(template["policies"].get(binary, []), names,
                                    skip_unnamed=True)
    key, secret = local_iam.function_keys(directory, binary, statements)
    return {"AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret}


def main(argv):
    if len(argv) < 2 or argv[1] not in ("exec", "show", "names"):
        raise SystemExit(__doc__)
    template = cached(local_iam.template_path())
    binaries = {b: {n: tuple(k) for n, k in v.items()} for b, v in template["binaries"].items()}
    if argv[1] == "names":
        print("\n".join(sorted(binaries)))
        return
    if len(argv) < 3:
        raise SystemExit(__doc__)
    name = os.path.basename(argv[2])
    env = environment(name, dict(os.environ), binaries)
    if argv[1] == "exec":
        env.update(principal(name, dict(os.environ), template))
    if argv[1] == "show":
        for key in sorted(env):
            print(f"{key}={env[key]}")
        return
    os.execve(argv[2], argv[2:], env)


if __name__ == "__main__":
    main(sys.argv)
