#!/usr/bin/env python3
"""A Harbor stand-in for the upgrade e2e (there is no Harbor here).

`serve`: the node's "core": migrates the database at start when its schema is older (as
Harbor's core does in its normal mode), refuses a dirty schema, then answers ping,
systeminfo and configurations (read_only, kept in the real PostgreSQL like Harbor's
properties table) on the node's HTTP port.
`migrate`: `harbor_core -mode=migrate`: migrates and exits.

A migration sets schema_migrations.dirty at the target version, waits, creates a table and
clears dirty; with the failure flag it stops while dirty. Every event goes to the events file
with a timestamp, so the test can show the order of stops, migrations and read-only changes.
"""
import base64
import http.server
import json
import os
import subprocess
import sys
import time

PSQL = os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin") + "/psql"


def load_env(harbor_dir):
    cfg = {}
    with open(os.path.join(harbor_dir, ".standin.env")) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("=")
            cfg[k] = v
    return cfg


def event(msg):
    with open(os.environ["E2E_UP_EVENTS"], "a") as f:
        f.write(f"{time.time():.3f} {msg}\n")


def psql(cfg, sql):
    r = subprocess.run(
        [PSQL, "-X", "-w", "-h", cfg["DB_HOST"], "-p", cfg["DB_PORT"], "-U", cfg["DB_USER"], "-d", cfg["DB_NAME"],
         "-tA", "-v", "ON_ERROR_STOP=1", "-c", sql],
        env={**os.environ, "PGPASSWORD": cfg["DB_PASSWORD"], "PGCONNECT_TIMEOUT": "5"},
        capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(r.stderr.strip())
    return r.stdout.strip()


def target_schema(version):
    with open(os.environ["E2E_UP_SCHEMAS"]) as f:
        for line in f:
            v, s = line.split()
            if v == version:
                return int(s)
    raise SystemExit(f"no schema known for {version}")


def migrate(cfg, node, how):
    target = target_schema(cfg["VERSION"])
    version, dirty = psql(cfg, "SELECT version, dirty FROM schema_migrations").split("|")
    if dirty == "t":
        event(f"refuse {node} dirty {version}")
        raise SystemExit(f"Dirty database version {version}. Fix and force version.")
    if int(version) == target:
        event(f"migrate-none {node} {target}")
        return
    if int(version) > target:
        raise SystemExit(f"the database schema {version} is newer than this release's {target}")
    ro = psql(cfg, "SELECT v FROM properties WHERE k = 'read_only'")
    event(f"migrate-begin {node} {how} {version}->{target} read_only={ro}")
    psql(cfg, f"UPDATE schema_migrations SET version = {target}, dirty = true")
    time.sleep(1)
    if os.path.exists(os.environ["E2E_UP_FAIL"]):
        event(f"migrate-failed {node} {target}")
        raise SystemExit(f"migration to {target} failed (injected)")
    psql(cfg, f"CREATE TABLE IF NOT EXISTS migrated_{target} (id int)")
    psql(cfg, "UPDATE schema_migrations SET dirty = false")
    event(f"migrate-end {node} {target}")


class Handler(http.server.BaseHTTPRequestHandler):
    cfg = {}
    node = ""

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.node, fmt % args))

    def reply(self, code, body, ctype="application/json"):
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def api(self):
        p = self.path.split("?")[0]
        for base in ("/api/v2.0/", "/api/"):
            if p.startswith(base):
                want = "/api/v2.0/" if self.cfg["VERSION"].startswith("2.") else "/api/"
                return p[len(base):] if base == want else None
        return None

    def admin(self):
        auth = self.headers.get("Authorization", "")
        want = "Basic " + base64.b64encode(("admin:" + self.cfg["ADMIN_PASSWORD"]).encode()).decode()
        return auth == want

    def do_GET(self):
        what = self.api()
        if what == "ping":
            return self.reply(200, "Pong", "text/plain")
        if what in ("systeminfo", "configurations") and not self.admin():
            return self.reply(401, '{"errors":[{"code":"UNAUTHORIZED"}]}')
        if what == "systeminfo":
            return self.reply(200, json.dumps({"harbor_version": f"v{self.cfg['VERSION']}-standin"}, separators=(",", ":")))
        if what == "configurations":
            ro = psql(self.cfg, "SELECT v FROM properties WHERE k = 'read_only'") == "true"
            return self.reply(200, json.dumps({"read_only": {"value": ro, "editable": True}}, separators=(",", ":")))
        return self.reply(404, '{"errors":[{"code":"NOT_FOUND"}]}')

    def do_PUT(self):
        if self.api() != "configurations":
            return self.reply(404, "{}")
        if not self.admin():
            return self.reply(401, "{}")
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
        if "read_only" in body:
            v = "true" if body["read_only"] else "false"
            psql(self.cfg, f"UPDATE properties SET v = '{v}' WHERE k = 'read_only'")
            event(f"read_only {v} via {self.node}")
        return self.reply(200, "")


def main():
    mode, harbor_dir, node = sys.argv[1], sys.argv[2], sys.argv[3]
    cfg = load_env(harbor_dir)
    if mode == "migrate":
        migrate(cfg, node, "migrate-mode")
        return
    migrate(cfg, node, "at-start")
    Handler.cfg, Handler.node = cfg, node
    # On every address of the node, as Harbor's nginx publishes its port.
    srv = http.server.ThreadingHTTPServer(("0.0.0.0", int(cfg["HTTP_PORT"])), Handler)
    event(f"serving {node} {cfg['VERSION']}")
    srv.serve_forever()


if __name__ == "__main__":
    main()
