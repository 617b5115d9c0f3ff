"""`make dev`'s stand-ins for the EOSC Accounting Service and its OIDC token endpoint, which
cannot run here, so the accounting push and the token refresh run locally with their real
wiring. Standard library only; loopback only.

- POST /token: the refresh-token grant with HTTP Basic client credentials; answers a new
  access token and a rotated refresh token, and refuses a refresh token it did not issue last
  (as providers with reuse detection do).
- POST /accounting-system/installations/{id}/metrics: with a current access token, records the
  metric (one JSON line in the log) and answers 201 as the service does.
"""

import argparse
import base64
import json
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

CLIENT_ID = "telltale-local"
CLIENT_SECRET = "local-client-secret"
FIRST_REFRESH = "local-refresh-0"

state = {"refresh": FIRST_REFRESH, "grants": 0, "access": set(), "pushed": 0}
lock = threading.Lock()
METRICS = re.compile(r"^/accounting-system/installations/([^/]+)/metrics$")


class Handler(BaseHTTPRequestHandler):
    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length)
        if self.path == "/token":
            return self.grant(body)
        match = METRICS.match(self.path)
        if match:
            return self.record(match.group(1), body)
        self.answer(404, {"error": "not found"})

    def grant(self, body):
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        if self.headers.get("authorization") != expected:
            return self.answer(401, {"error": "invalid_client"})
        with lock:
            if form.get("grant_type") != "refresh_token" or form.get("refresh_token") != state["refresh"]:
                return self.answer(400, {"error": "invalid_grant"})
            state["grants"] += 1
            n = state["grants"]
            access = f"local-access-{n}"
            state["access"].add(access)
            state["refresh"] = f"local-refresh-{n}"
        self.answer(200, {"access_token": access, "token_type": "Bearer", "expires_in": 3600,
                          "refresh_token": state["refresh"]})

    def record(self, installation, body):
        token = (self.headers.get("authorization") or "").removeprefix("Bearer ")
        with lock:
            known = token in state["access"]
        if not known:
            return self.answer(401, {"error": "invalid_token"})
        try:
            metric = json.loads(body)
        except ValueError:
            return self.answer(400, {"message": "not JSON"})
        with lock:
            state["pushed"] += 1
            n = state["pushed"]
        print(json.dumps({"installation": installation, "metric": metric}), flush=True)
        self.answer(201, {"metric_id": f"local-metric-{n}", **metric})

    def log_message(self, *args):
        pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"eosc double on 127.0.0.1:{args.port}", file=sys.stderr, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
