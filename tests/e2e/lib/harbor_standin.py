#!/usr/bin/env python3
"""harbor-ha e2e: a stand-in for the part of Harbor's API that backup.sh and restore.sh use.

It answers, on one address and port (a Harbor node's own loopback and HTTP port):
  GET  <api>/ping                      Pong (no credentials)
  GET  <api>/systeminfo                {"harbor_version": "v<version>-e2e"}
  GET  <api>/configurations            {"read_only": {"value": ..., "editable": true}}
  PUT  <api>/configurations            {"read_only": true|false}
where <api> is /api/v2.0 (or /api for Harbor 1.10). Everything but ping needs the admin's
basic credentials. Like Harbor, it keeps read_only in the `properties` table of the real
PostgreSQL database (through psql as Harbor's role, PGPASSWORD from the environment), so a
dump holds the value it had when it was taken. Every change is logged with the time in ms:
`<ms> read_only=<value>`; `<ms> ready` once it listens.
"""

import argparse
import base64
import http.server
import json
import os
import subprocess
import sys
import threading
import time


def now_ms():
    return int(time.time() * 1000)


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()

    def log(self, line):
        with self.lock, open(self.args.log, "a", encoding="utf-8") as f:
            f.write(f"{now_ms()} {line}\n")

    def psql(self, sql):
        a = self.args
        out = subprocess.run(
            [a.psql, "-X", "-w", "-tA", "-v", "ON_ERROR_STOP=1", "-h", a.db_host, "-p", a.db_port,
             "-U", a.db_user, "-d", a.db_name, "-c", sql],
            capture_output=True, text=True, timeout=20, check=False)
        if out.returncode != 0:
            raise RuntimeError(out.stderr.strip())
        return out.stdout.strip()

    def read_only(self):
        return self.psql("SELECT v FROM properties WHERE k = 'read_only'") == "true"

    def set_read_only(self, value):
        v = "true" if value else "false"
        self.psql(
            "INSERT INTO properties (k, v) VALUES ('read_only', '%s') "
            "ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v" % v)
        self.log(f"read_only={v}")


def handler(state):
    api = state.args.api

    class H(http.server.BaseHTTPRequestHandler):
        def log_message(self, fmt, *args):  # quiet
            pass

        def send(self, code, body, ctype="application/json"):
            data = body.encode() if isinstance(body, str) else body
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def authorized(self):
            want = base64.b64encode(f"{state.args.user}:{state.args.password}".encode()).decode()
            if self.headers.get("Authorization", "") == f"Basic {want}":
                return True
            self.send(401, json.dumps({"errors": [{"code": "UNAUTHORIZED", "message": "unauthorized"}]}))
            return False

        def do_GET(self):
            if self.path == f"{api}/ping":
                return self.send(200, "Pong", "text/plain")
            if not self.authorized():
                return None
            try:
                if self.path == f"{api}/systeminfo":
                    return self.send(200, json.dumps({"harbor_version": f"v{state.args.version}-e2e"}))
                if self.path == f"{api}/configurations":
                    body = {"read_only": {"value": state.read_only(), "editable": True},
                            "auth_mode": {"value": "db_auth", "editable": True}}
                    return self.send(200, json.dumps(body, indent=2))
            except Exception as e:  # the database is down or dropped: what Harbor answers then
                return self.send(500, json.dumps({"errors": [{"code": "INTERNAL", "message": str(e)}]}))
            return self.send(404, json.dumps({"errors": [{"code": "NOT_FOUND"}]}))

        def do_PUT(self):
            if self.path != f"{api}/configurations":
                return self.send(404, "{}")
            if not self.authorized():
                return None
            try:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
                if "read_only" in body:
                    state.set_read_only(bool(body["read_only"]))
                return self.send(200, "")
            except Exception as e:
                return self.send(500, json.dumps({"errors": [{"code": "INTERNAL", "message": str(e)}]}))

    return H


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--listen", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--api", default="/api/v2.0")
    p.add_argument("--version", required=True)
    p.add_argument("--user", default="admin")
    p.add_argument("--password-file", required=True)
    p.add_argument("--psql", required=True)
    p.add_argument("--db-host", required=True)
    p.add_argument("--db-port", default="5432")
    p.add_argument("--db-user", default="harbor")
    p.add_argument("--db-name", default="registry")
    p.add_argument("--log", required=True)
    args = p.parse_args()
    with open(args.password_file, encoding="utf-8") as f:
        args.password = f.read().rstrip("\n")
    if "PGPASSWORD" not in os.environ:
        sys.exit("PGPASSWORD is not set")
    state = State(args)
    server = http.server.ThreadingHTTPServer((args.listen, args.port), handler(state))
    state.log("ready")
    server.serve_forever()


if __name__ == "__main__":
    main()
