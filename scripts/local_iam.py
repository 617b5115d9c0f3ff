"""The local stack's IAM: moto enforcing it, and principals holding a function's template policy.

  local_iam.py serve [--port P] [--dir D] [--until-stopped]
      Starts moto (on P, or a free port) with IAM enforced after the first three actions,
      which make an administrator; prints one JSON line {"port", "endpoint", "admin": [key,
      secret]}, written to D/admin.json as well, and stops when stdin closes (or, with
      --until-stopped, at SIGTERM or SIGINT).
  local_iam.py policy FUNCTION_ID NAMES_JSON
      Prints the statements of the template function FUNCTION_ID's policy as they apply to the
      local stack: NAMES_JSON maps logical ids (tables, the bucket) and parameters to local
      values; the CMK's condition is false, as in a stack without KmsKeyArn.
  local_iam.py principal ENDPOINT ADMIN_KEY ADMIN_SECRET NAME  (statements on stdin)
      Creates an IAM user NAME holding exactly those statements; prints [key, secret].

The local runner (function_env.py) runs each function as its principal when the table of local
values names such a directory D (LOCAL_IAM_DIR): `function_keys` makes the principal once per
binary and policy, with the policy resolved from the table by `local_names`.

moto authorises DynamoDB, SSM and SES calls against "*" (it names no resource); here a
DynamoDB call is authorised as AWS does it, against its table's ARN (and index), a
transaction or batch item by item (Put -> dynamodb:PutItem on its table, ...), an SSM call
against its parameter's ARN and an SES send against its sender's domain identity, so a
policy's resources are checked as well as its actions.
"""
import json
import os
import re
import sys

REGION = "us-east-1"
ACCOUNT = "123456789012"


def table_arn(name):
    return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"


TRANSACT = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
            "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}


def dynamodb_checks(action, body):
    """(action, resource) pairs AWS authorises a DynamoDB request by."""
    if "TransactItems" in body:
        pairs = []
        for item in body["TransactItems"]:
            for kind, op in item.items():
                pairs.append((TRANSACT[kind], table_arn(op["TableName"])))
        return pairs
    if "RequestItems" in body:
        return [(action, table_arn(t)) for t in body["RequestItems"]]
    if "TableName" in body:
        arn = table_arn(body["TableName"])
        if body.get("IndexName"):
            arn += f"/index/{body['IndexName']}"
        return [(action, arn)]
    return [(action, "*")]


def sender_domain(sender):
    """The domain of a sender (`Name <user@domain>` or `user@domain`), or None."""
    m = re.search(r"@([^>\s]+)", sender)
    return m.group(1) if m else None


def patch_moto():
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.dynamodb.responses import DynamoHandler
    from moto.iam.access_control import IAMRequest, IAMRequestBase
    from moto.sesv2.responses import SESV2Response
    from moto.ssm.responses import SimpleSystemManagerResponse

    def with_action(action):
        def make(**kw):
            kw["action"] = action
            return IAMRequest(**kw)
        return make

    from moto.core.exceptions import AccessDeniedError, JsonRESTError

    class DynamoDbAccessDenied(JsonRESTError):
        # As DynamoDB answers it: a 400 in its JSON shape, which the SDKs do not retry.
        code = 400

    def dynamodb_auth(self, resource="*"):
        body = self.body if isinstance(self.body, dict) else json.loads(self.body or "{}")
        for action, arn in dynamodb_checks(self._get_action(), body):
            try:
                ActionAuthenticatorMixin._authenticate_and_authorize_action(
                    self, with_action(action), arn)
            except AccessDeniedError as e:
                raise DynamoDbAccessDenied(
                    "com.amazon.coral.service#AccessDeniedException",
                    f"{e.message} on resource: {arn} because no identity-based policy "
                    f"allows the dynamodb:{action} action") from e

    DynamoHandler._authenticate_and_authorize_normal_action = dynamodb_auth

    def ssm_resource(self):
        try:
            name = json.loads(self.body or "{}").get("Name", "")
        except ValueError:
            return "*"
        return f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/{name.lstrip('/')}" if name else "*"

    SimpleSystemManagerResponse._determine_resource = ssm_resource

    def ses_resource(self):
        try:
            sender = json.loads(self.body or "{}").get("FromEmailAddress", "")
        except ValueError:
            return "*"
        domain = sender_domain(sender)
        return f"arn:aws:ses:{REGION}:{ACCOUNT}:identity/{domain}" if domain else "*"

    SESV2Response._determine_resource = ses_resource

    # A request with neither body nor query string (SES's DeleteEmailIdentity) reaches moto's
    # parsed parameters as its headers, which the signature check then hashes as the payload
    # and refuses as SignatureDoesNotMatch; its payload is empty.
    create = IAMRequestBase._create_aws_request

    def signed_as_sent(self):
        if not self._body and isinstance(self._data, dict) and "Authorization" in self._data:
            self._data = {}
        return create(self)

    IAMRequestBase._create_aws_request = signed_as_sent

    # Every refusal is recorded (IAM_DENIALS names the file): who was refused which action on
    # which resource, so a test can tell which call a permission is for.
    path = os.environ.get("IAM_DENIALS")
    check = IAMRequestBase.check_action_permitted

    def recorded(self, resource):
        try:
            return check(self, resource)
        except Exception:
            if path:
                key = self._get_string_between("Credential=", "/", self._headers["Authorization"])
                with open(path, "a", encoding="utf-8") as f:
                    f.write(json.dumps({"key": key, "action": self._action,
                                        "resource": resource}) + "\n")
            raise

    IAMRequestBase.check_action_permitted = recorded


def serve(port, directory):
    """moto on `port` (0: one the OS picks) with IAM enforced after the administrator is made;
    the administrator's keys and the endpoint go to `directory`/admin.json and stdout."""
    os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = "3"
    from moto import settings
    settings.INITIAL_NO_AUTH_ACTION_COUNT = 3
    patch_moto()
    import threading
    from moto.dynamodb.responses import DynamoHandler
    # moto answers each request on its own thread and its DynamoDB changes items in place
    # without a lock, so two concurrent ADDs could lose one; DynamoDB applies each request
    # atomically, which moto does when they come one at a time.
    lock = threading.Lock()
    dispatch = DynamoHandler.call_action

    def atomic(self):
        with lock:
            return dispatch(self)

    DynamoHandler.call_action = atomic
    from moto.server import ThreadedMotoServer
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    port = server.get_host_and_port()[1]
    endpoint = f"http://127.0.0.1:{port}"
    import boto3
    iam = boto3.client("iam", endpoint_url=endpoint, region_name=REGION,
                       aws_access_key_id="setup", aws_secret_access_key="setup")
    iam.create_user(UserName="admin")
    iam.put_user_policy(UserName="admin", PolicyName="all", PolicyDocument=json.dumps(
        {"Version": "2012-10-17",
         "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    key = iam.create_access_key(UserName="admin")["AccessKey"]
    info = {"port": port, "endpoint": endpoint,
            "admin": [key["AccessKeyId"], key["SecretAccessKey"]]}
    if directory:
        os.makedirs(directory, exist_ok=True)
        partial = os.path.join(directory, f"admin.json.{os.getpid()}")
        with open(partial, "w", encoding="utf-8") as f:
            json.dump(info, f)
        os.replace(partial, os.path.join(directory, "admin.json"))
    print(json.dumps(info), flush=True)
    return server


def resolve(value, names):
    """A policy value with the template's intrinsics resolved for the local stack; None for
    AWS::NoValue."""
    if isinstance(value, list):
        out = [resolve(v, names) for v in value]
        return [v for v in out if v is not None]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Ref"}:
        ref = value["Ref"]
        if ref == "AWS::NoValue":
            return None
        return pseudo(ref, names)
    if set(value) == {"Fn::GetAtt"}:
        target, attribute = value["Fn::GetAtt"]
        assert attribute == "Arn", value
        return arn_of(target, names)
    if set(value) == {"Fn::Sub"}:
        text = value["Fn::Sub"]
        extra = {}
        if isinstance(text, list):
            text, extra = text[0], {k: resolve(v, names) for k, v in text[1].items()}

        def fill(m):
            ref = m.group(1)
            if ref in extra:
                return str(extra[ref])
            if ref.endswith(".Arn"):
                return arn_of(ref[: -len(".Arn")], names)
            return str(pseudo(ref, names))
        return re.sub(r"\$\{([^}]+)\}", fill, text)
    if set(value) == {"Fn::If"}:
        condition, yes, no = value["Fn::If"]
        # Locally no customer-managed key, no optional secret: every condition is false.
        return resolve(no, names)
    return {k: resolve(v, names) for k, v in value.items()}


def pseudo(ref, names):
    fixed = {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT,
             "AWS::StackName": "telltale"}
    if ref in fixed:
        return fixed[ref]
    if ref not in names:
        raise Unnamed(ref)
    return names[ref]


def arn_of(logical_id, names):
    name = pseudo(logical_id, names)
    if logical_id.endswith("Bucket"):
        return f"arn:aws:s3:::{name}"
    return table_arn(name)


def binary_of(properties):
    """The binary a template function runs: the last part of its CodeUri (../target/lambda/X/)."""
    return str(properties.get("CodeUri", "")).rstrip("/").split("/")[-1]


def functions(template):
    """(logical id, properties) of each function of the template."""
    return [(fid, r["Properties"]) for fid, r in template["Resources"].items()
            if r.get("Type") == "AWS::Serverless::Function"]


def statements_of(function_id, properties):
    """The statements of a function's policies as the template writes them."""
    out = []
    for entry in properties.get("Policies", []):
        if not (isinstance(entry, dict) and "Statement" in entry):
            raise SystemExit(f"local_iam: {function_id} uses a policy template: {entry}")
        out.extend(entry["Statement"])
    return out


def binary_policies(template):
    """binary -> its functions' statements, each once (the collectors share one binary, so
    locally it holds what each collector's role holds)."""
    out = {}
    for fid, props in functions(template):
        held = out.setdefault(binary_of(props), [])
        for statement in statements_of(fid, props):
            if statement not in held:
                held.append(statement)
    return out


def naming(template):
    """What names the local stack's tables, bucket and parameters: the parameters' defaults,
    and for each variable a function sets to `!Ref X`, the logical id X it stands for."""
    defaults = {k: str(v["Default"]) for k, v in template.get("Parameters", {}).items()
                if "Default" in v}
    refs = {}
    for _, props in functions(template):
        for name, value in props.get("Environment", {}).get("Variables", {}).items():
            if isinstance(value, dict) and set(value) == {"Ref"}:
                refs[name] = value["Ref"]
    return {"defaults": defaults, "refs": refs}


def local_names(naming_, table):
    """Logical id -> local value, from the table of local values: a table or bucket is named by
    the variable that Refs it, a parameter likewise or by its default, and SesIdentity is the
    domain of EMAIL_FROM (a stack's sender must belong to its verified identity)."""
    names = dict(naming_["defaults"])
    for variable, logical_id in naming_["refs"].items():
        if variable in table:
            names[logical_id] = table[variable]
    domain = sender_domain(table.get("EMAIL_FROM", ""))
    if domain:
        names["SesIdentity"] = domain
    return names


class Unnamed(Exception):
    """A logical id the local stack gives no value for."""


def resolved(statements, names, skip_unnamed=False):
    """The statements with the template's intrinsics resolved to the local stack's values.
    With `skip_unnamed`, a statement on a resource the stack does not name is left out: it
    grants nothing a function given no such store could use."""
    out = []
    for statement in statements:
        try:
            r = resolve(statement, names)
        except Unnamed as e:
            if not skip_unnamed:
                raise SystemExit(f"local_iam: no local value for {e}")
            continue
        if r:
            out.append(r)
    return out


def template_path():
    """infra/template.yaml, or the template TELLTALE_TEMPLATE names (the tests' edited copy)."""
    return os.environ.get("TELLTALE_TEMPLATE") or os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "infra", "template.yaml")


def decoded(path):
    """The template at `path` as CloudFormation reads it (cfn-lint's decoder)."""
    from cfnlint.decode import decode
    template, problems = decode(path)
    if problems:
        raise SystemExit(f"{path} does not decode: {problems}")
    return template


def policy(function_id, names):
    """The statements of FUNCTION_ID's policy for the local stack `names` describes (parameters
    it does not name keep their defaults, as in a stack deployed with defaults)."""
    template = decoded(template_path())
    names = {**naming(template)["defaults"], **names}
    props = template["Resources"][function_id]["Properties"]
    return resolved(statements_of(function_id, props), names)


def principal(endpoint, key, secret, name, statements):
    import boto3
    iam = boto3.client("iam", endpoint_url=endpoint, region_name=REGION,
                       aws_access_key_id=key, aws_secret_access_key=secret)
    iam.create_user(UserName=name)
    if statements:
        iam.put_user_policy(UserName=name, PolicyName="template", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": statements}))
    made = iam.create_access_key(UserName=name)["AccessKey"]
    return [made["AccessKeyId"], made["SecretAccessKey"]]


def function_keys(directory, binary, statements):
    """The keys of the principal holding exactly `statements` for `binary`, made once per
    policy by the administrator of `directory`/admin.json; concurrent starts wait for the one
    making it."""
    import fcntl
    import hashlib
    digest = hashlib.sha256(json.dumps(statements, sort_keys=True).encode()).hexdigest()[:16]
    name = f"{binary}-{digest}"
    path = os.path.join(directory, f"{name}.json")
    with open(os.path.join(directory, "lock"), "a", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            with open(path, encoding="utf-8") as f:
                return json.load(f)
        except (OSError, ValueError):
            pass
        with open(os.path.join(directory, "admin.json"), encoding="utf-8") as f:
            admin = json.load(f)
        keys = principal(admin["endpoint"], *admin["admin"], name, statements)
        with open(path, "w", encoding="utf-8") as f:
            json.dump(keys, f)
        return keys


def main(argv):
    import argparse
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--port", type=int, default=0)
    s.add_argument("--dir", default="")
    s.add_argument("--until-stopped", action="store_true",
                   help="run until a signal, not until stdin closes")
    p = sub.add_parser("policy")
    p.add_argument("function_id")
    p.add_argument("names")
    q = sub.add_parser("principal")
    for arg in ("endpoint", "key", "secret", "name"):
        q.add_argument(arg)
    args = parser.parse_args(argv[1:])
    if args.command == "serve":
        server = serve(args.port, args.dir)
        if args.until_stopped:
            import signal
            stop = {signal.SIGTERM, signal.SIGINT}
            signal.pthread_sigmask(signal.SIG_BLOCK, stop)
            signal.sigwait(stop)
        else:
            sys.stdin.read()
        server.stop()
    elif args.command == "policy":
        print(json.dumps(policy(args.function_id, json.loads(args.names))))
    else:
        print(json.dumps(principal(args.endpoint, args.key, args.secret, args.name,
                                   json.load(sys.stdin))))


if __name__ == "__main__":
    main(sys.argv)
