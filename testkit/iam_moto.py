"""moto with IAM enforced, and principals holding a function's template policy.

  iam_moto.py serve
      Starts moto on a free port with IAM enforced after the first three actions, which create
      an administrator; prints one JSON line {"port", "admin": [key, secret]}, and stops when
      stdin closes.
  iam_moto.py policy FUNCTION_ID NAMES_JSON
      Prints the statements of the template function FUNCTION_ID's policy as they apply to the
      local stack: NAMES_JSON maps logical ids (tables, the bucket) and parameters to local
      values; the CMK's condition is false, as in a stack without KmsKeyArn.
  iam_moto.py principal ENDPOINT ADMIN_KEY ADMIN_SECRET NAME  (statements on stdin)
      Creates an IAM user NAME holding exactly those statements; prints [key, secret].

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


def patch_moto():
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.dynamodb.responses import DynamoHandler
    from moto.iam.access_control import IAMRequest
    from moto.sesv2.responses import SESV2Response
    from moto.ssm.responses import SimpleSystemManagerResponse

    def with_action(action):
        def make(**kw):
            kw["action"] = action
            return IAMRequest(**kw)
        return make

    def dynamodb_auth(self, resource="*"):
        body = self.body if isinstance(self.body, dict) else json.loads(self.body or "{}")
        for action, arn in dynamodb_checks(self._get_action(), body):
            ActionAuthenticatorMixin._authenticate_and_authorize_action(
                self, with_action(action), arn)

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
        m = re.search(r"@([^>\s]+)", sender)
        return f"arn:aws:ses:{REGION}:{ACCOUNT}:identity/{m.group(1)}" if m else "*"

    SESV2Response._determine_resource = ses_resource

    # Every refusal is recorded (IAM_DENIALS names the file): who was refused which action on
    # which resource, so a test can tell which call a permission is for.
    from moto.iam.access_control import IAMRequestBase
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


def serve():
    os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = "3"
    from moto import settings
    settings.INITIAL_NO_AUTH_ACTION_COUNT = 3
    patch_moto()
    import threading
    from moto.dynamodb.responses import DynamoHandler
    # DynamoDB applies each request atomically; moto does when they come one at a time.
    lock = threading.Lock()
    dispatch = DynamoHandler.call_action

    def atomic(self):
        with lock:
            return dispatch(self)

    DynamoHandler.call_action = atomic
    from moto.server import ThreadedMotoServer
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    port = server.get_host_and_port()[1]
    import boto3
    iam = boto3.client("iam", endpoint_url=f"http://127.0.0.1:{port}", region_name=REGION,
                       aws_access_key_id="setup", aws_secret_access_key="setup")
    iam.create_user(UserName="admin")
    iam.put_user_policy(UserName="admin", PolicyName="all", PolicyDocument=json.dumps(
        {"Version": "2012-10-17",
         "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    key = iam.create_access_key(UserName="admin")["AccessKey"]
    print(json.dumps({"port": port, "admin": [key["AccessKeyId"], key["SecretAccessKey"]]}),
          flush=True)
    sys.stdin.read()
    server.stop()


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
        raise SystemExit(f"iam_moto: no local value for {ref}")
    return names[ref]


def arn_of(logical_id, names):
    name = pseudo(logical_id, names)
    if logical_id.endswith("Bucket"):
        return f"arn:aws:s3:::{name}"
    return table_arn(name)


def policy(function_id, names):
    from cfnlint.decode import decode
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    template, problems = decode(os.path.join(root, "infra", "template.yaml"))
    assert not problems, problems
    # A parameter the local stack does not name keeps its default, as a deployed stack does.
    defaults = {k: str(v["Default"]) for k, v in template.get("Parameters", {}).items()
                if "Default" in v}
    names = {**defaults, **names}
    statements = []
    for entry in template["Resources"][function_id]["Properties"].get("Policies", []):
        if not (isinstance(entry, dict) and "Statement" in entry):
            raise SystemExit(f"iam_moto: {function_id} uses a policy template: {entry}")
        for statement in entry["Statement"]:
            resolved = resolve(statement, names)
            if resolved:
                statements.append(resolved)
    return statements


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


def main(argv):
    if argv[1] == "serve":
        serve()
    elif argv[1] == "policy":
        print(json.dumps(policy(argv[2], json.loads(argv[3]))))
    elif argv[1] == "principal":
        print(json.dumps(principal(argv[2], argv[3], argv[4], argv[5], json.load(sys.stdin))))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
