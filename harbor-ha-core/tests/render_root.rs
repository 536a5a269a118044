//! The bundle-root files (README.md, inventory.ini, deploy.sh, verify.sh) of every
//! renderable fixture: hosts in install order with the first Harbor node marked, an
//! inventory that matches the topology, shellcheck-clean scripts without secrets, deploy.sh
//! in dry-run mode, and verify.sh run for real against a small fake Harbor.

#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::disallowed_macros,
    reason = "tests set up files and run the real programs"
)]

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use harbor_ha_core::bundle::Bundle;
use harbor_ha_core::model::enums::Role;
use harbor_ha_core::model::resolved::{Database, Redis, Site, Storage, Topology, ValidTopology};
use harbor_ha_core::model::secret::Secret;
use harbor_ha_core::render::install_order;

const ROOT_FILES: [&str; 4] = ["README.md", "inventory.ini", "deploy.sh", "verify.sh"];

fn rendered() -> Vec<(PathBuf, ValidTopology, Bundle)> {
    let v: Vec<_> = common::renderable_fixtures()
        .into_iter()
        .map(|p| {
            let t = common::topology(&p);
            let b = common::render_topology(&t);
            (p, t, b)
        })
        .collect();
    assert!(!v.is_empty(), "no renderable fixtures found");
    v
}

fn file<'b>(b: &'b Bundle, name: &str) -> &'b str {
    &b.files.get(name).unwrap_or_else(|| panic!("{name} missing from the bundle")).content
}

/// A fresh empty directory under the system temp dir.
fn temp_dir(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = std::env::temp_dir().join(format!(
        "harbor-ha-render-root-{}-{tag}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn is_first_harbor(site: &Site, name: &str) -> bool {
    site.harbor_nodes().next().is_some_and(|h| h.name.as_str() == name)
}

#[test]
fn root_files_exist_with_modes() {
    for (p, _, b) in rendered() {
        for (name, mode) in [("README.md", 0o644), ("inventory.ini", 0o644), ("deploy.sh", 0o755), ("verify.sh", 0o755)]
        {
            let f = b.files.get(name).unwrap_or_else(|| panic!("{}: {name} missing", p.display()));
            assert_eq!(f.mode, mode, "{}: mode of {name}", p.display());
            assert!(f.content.ends_with('\n'), "{}: {name} does not end with a newline", p.display());
        }
    }
}

#[test]
fn readme_lists_hosts_in_install_order_with_first_harbor_marked() {
    for (p, t, b) in rendered() {
        let readme = file(&b, "README.md");
        let ctx = p.display();
        for site in &t.sites {
            let at = readme
                .find(&format!("## Site `{}`", site.name))
                .unwrap_or_else(|| panic!("{ctx}: no section for site {}", site.name));
            let section = &readme[at..];
            let n_harbor = site.harbor_nodes().count();
            let mut last = 0;
            for (i, h) in install_order(site).into_iter().enumerate() {
                let row = format!("| {} | {} | {} |", i + 1, h.name, h.address);
                let pos = section.find(&row).unwrap_or_else(|| panic!("{ctx}: no table row `{row}`"));
                assert!(pos >= last, "{ctx}: {} is out of install order", h.name);
                last = pos;
                let line = section[pos..].lines().next().unwrap();
                let marked = line.contains("(first Harbor node)");
                assert_eq!(marked, n_harbor > 1 && is_first_harbor(site, h.name.as_str()), "{ctx}: marker on `{line}`");
                let step = format!("run `hosts/{}/install.sh` as root", h.name);
                assert!(section.contains(&step), "{ctx}: no step `{step}`");
            }
            if n_harbor > 1 {
                let first = site.harbor_nodes().next().unwrap();
                let bold = format!("**`{}` is the FIRST Harbor node: install it alone", first.name);
                assert!(section.contains(&bold), "{ctx}: no bold first-node note for {}", first.name);
            }
            if n_harbor > 0 {
                let tgz = format!("harbor-offline-installer-v{}.tgz", site.harbor.version);
                assert!(section.contains(&tgz), "{ctx}: the installer {tgz} is not named");
            }
            assert!(section.contains(&format!("- Harbor version: {}", site.harbor.version)), "{ctx}: version");
        }
        for needle in [
            "./verify.sh",
            "`secrets/<site>/`",
            "CSRF token invalid",
            "blob upload invalid",
            "413",
            "unauthorized: authentication required",
        ] {
            assert!(readme.contains(needle), "{ctx}: README does not mention {needle}");
        }
        let replicated = !t.edges.is_empty()
            || t.sites.iter().any(|s| s.mode == harbor_ha_core::model::enums::SiteMode::Replication);
        assert_eq!(readme.contains("## Replication"), replicated, "{ctx}: replication section");
    }
}

/// `[group]` → host → variables.
fn parse_ini(text: &str) -> BTreeMap<String, BTreeMap<String, BTreeMap<String, String>>> {
    let mut groups: BTreeMap<String, BTreeMap<String, BTreeMap<String, String>>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            assert!(
                name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b':'),
                "line {}: group name `{name}` is not a valid Ansible group",
                n + 1
            );
            assert!(!groups.contains_key(name), "line {}: group `{name}` repeated", n + 1);
            groups.insert(name.to_string(), BTreeMap::new());
            current = Some(name.to_string());
            continue;
        }
        let g = current.as_ref().unwrap_or_else(|| panic!("line {}: entry outside a group", n + 1));
        let group = groups.get_mut(g).unwrap();
        if g.ends_with(":vars") {
            let (k, v) = line.split_once('=').unwrap_or_else(|| panic!("line {}: `{line}` is not key=value", n + 1));
            group.entry(String::new()).or_default().insert(k.to_string(), v.to_string());
            continue;
        }
        let mut words = line.split_whitespace();
        let host = words.next().unwrap().to_string();
        let vars = words
            .map(|w| {
                let (k, v) = w.split_once('=').unwrap_or_else(|| panic!("line {}: `{w}` is not key=value", n + 1));
                (k.to_string(), v.to_string())
            })
            .collect();
        assert!(group.insert(host.clone(), vars).is_none(), "line {}: {host} twice in [{g}]", n + 1);
    }
    groups
}

#[test]
fn inventory_matches_the_topology() {
    for (p, t, b) in rendered() {
        let ctx = p.display();
        let groups = parse_ini(file(&b, "inventory.ini"));
        let roles = [
            (Role::Harbor, "harbor"),
            (Role::Lb, "lb"),
            (Role::Nfs, "nfs"),
            (Role::Postgres, "postgres"),
            (Role::Redis, "redis"),
            (Role::Etcd, "etcd"),
            (Role::Sentinel, "sentinel"),
        ];
        for site in &t.sites {
            let site_group = format!("site_{}", site.name.as_str().replace('-', "_"));
            for (i, h) in install_order(site).into_iter().enumerate() {
                let name = h.name.as_str();
                let mut expected: Vec<String> =
                    roles.iter().filter(|(r, _)| h.has(*r)).map(|(_, g)| (*g).to_string()).collect();
                expected.push(site_group.clone());
                if is_first_harbor(site, name) {
                    expected.push("harbor_first".into());
                }
                for g in &expected {
                    let vars =
                        groups.get(g).and_then(|m| m.get(name)).unwrap_or_else(|| panic!("{ctx}: {name} not in [{g}]"));
                    assert_eq!(
                        vars.get("ansible_host").map(String::as_str),
                        Some(h.address.to_string().as_str()),
                        "{ctx}: {name} in [{g}]"
                    );
                    assert_eq!(vars.get("harbor_ha_order"), Some(&(i + 1).to_string()), "{ctx}: {name} order in [{g}]");
                }
                for (g, hosts) in &groups {
                    if hosts.contains_key(name) {
                        assert!(expected.contains(g), "{ctx}: {name} is in [{g}] without the role");
                    }
                }
            }
            let vars = groups
                .get(&format!("{site_group}:vars"))
                .and_then(|m| m.get(""))
                .unwrap_or_else(|| panic!("{ctx}: no [{site_group}:vars]"));
            assert_eq!(vars.get("harbor_ha_site").map(String::as_str), Some(site.name.as_str()));
        }
    }
}

#[test]
fn scripts_pass_bash_n_and_shellcheck() {
    let shellcheck = common::require_tool("shellcheck");
    for (p, _, b) in rendered() {
        let dir = temp_dir("sc");
        for name in ["deploy.sh", "verify.sh"] {
            let path = dir.join(name);
            let content = file(&b, name);
            assert!(content.starts_with("#!/usr/bin/env bash\n"), "{}: {name} shebang", p.display());
            assert!(content.contains("set -euo pipefail"), "{}: {name} lacks set -euo pipefail", p.display());
            std::fs::write(&path, content).unwrap();
            let out = Command::new("bash").arg("-n").arg(&path).output().unwrap();
            assert!(out.status.success(), "{}: bash -n {name}: {}", p.display(), String::from_utf8_lossy(&out.stderr));
            if shellcheck {
                let out = Command::new("shellcheck").args(["-s", "bash"]).arg(&path).output().unwrap();
                assert!(
                    out.status.success(),
                    "{}: shellcheck {name}:\n{}{}",
                    p.display(),
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// Every literal secret of the topology (the test resolver gives `{env}`/`{file}` values
/// that are checked by pattern).
fn literal_secrets(t: &Topology) -> Vec<String> {
    let mut v = Vec::new();
    let mut add = |s: Option<&Secret>| {
        if let Some(Secret::Literal(x)) = s {
            v.push(x.clone());
        }
    };
    for site in &t.sites {
        add(Some(&site.harbor.admin_password));
        if let Database::External(db) = &site.database {
            add(Some(&db.password));
        }
        if let Redis::External(r) = &site.redis {
            add(r.password.as_ref());
        }
        match &site.storage {
            Storage::S3(x) => {
                add(x.accesskey.as_ref());
                add(x.secretkey.as_ref());
            }
            Storage::Swift(x) => add(x.password.as_ref()),
            Storage::Azure(x) => add(x.accountkey.as_ref()),
            Storage::Oss(x) => {
                add(x.accesskeyid.as_ref());
                add(x.accesskeysecret.as_ref());
            }
            Storage::Local | Storage::Nfs(_) | Storage::Gcs(_) => {}
        }
    }
    for e in &t.edges {
        add(e.credentials.as_ref());
    }
    v
}

#[test]
fn root_files_hold_no_secret() {
    for (p, t, b) in rendered() {
        let mut secrets: Vec<(String, String)> = Vec::new();
        for site in &t.sites {
            for (name, value) in common::test_secrets(site.name.as_str()).to_files() {
                if name.ends_with(".pem") {
                    for line in value.lines().filter(|l| !l.starts_with("-----") && l.len() >= 16) {
                        secrets.push((format!("{}/{name}", site.name), line.to_string()));
                    }
                } else {
                    secrets.push((format!("{}/{name}", site.name), value.trim_end().to_string()));
                }
            }
        }
        for lit in literal_secrets(&t) {
            secrets.push(("literal secret".into(), lit));
        }
        for name in ROOT_FILES {
            let content = file(&b, name);
            for (what, value) in &secrets {
                assert!(!content.contains(value.as_str()), "{}: {name} contains the value of {what}", p.display());
            }
            assert!(!content.contains("-Pw1"), "{}: {name} contains a value from the test resolver", p.display());
            assert!(!content.contains("PRIVATE KEY"), "{}: {name} contains a private key", p.display());
        }
    }
}

#[test]
fn deploy_dry_run_follows_install_order() {
    for (p, t, b) in rendered() {
        let ctx = p.display();
        let dir = temp_dir("deploy");
        let out_dir = dir.join("bundle");
        common::write_tree(&b, &out_dir);
        let out =
            Command::new("bash").arg(out_dir.join("deploy.sh")).args(["--dry-run", "--user", "ops"]).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{ctx}: deploy.sh --dry-run failed:\n{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let order: Vec<String> =
            t.sites.iter().flat_map(|s| install_order(s).into_iter().map(|h| h.name.to_string())).collect();
        let seen: Vec<String> = stdout
            .lines()
            .filter_map(|l| l.strip_prefix("==> "))
            .map(|l| l.split_whitespace().next().unwrap().to_string())
            .collect();
        assert_eq!(seen, order, "{ctx}: hosts in the wrong order");
        for name in &order {
            assert!(stdout.contains(&format!("scp -rpq hosts/{name} ops@")), "{ctx}: no scp for {name}:\n{stdout}");
            assert!(
                stdout.contains(&format!("'cd harbor-ha/{name} && sudo ./install.sh'")),
                "{ctx}: no install for {name}:\n{stdout}"
            );
        }
        // One host only.
        let last = order.last().unwrap();
        let out = Command::new("bash").arg(out_dir.join("deploy.sh")).args(["--dry-run", last]).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success());
        assert_eq!(stdout.matches("==> ").count(), 1, "{ctx}: {stdout}");
        assert!(stdout.contains("'cd /root/harbor-ha/"), "{ctx}: default user is root:\n{stdout}");
        assert!(!stdout.contains("sudo"), "{ctx}: root needs no sudo:\n{stdout}");
        // Unknown host or option: usage error, nothing run.
        for args in [
            &["--dry-run", "no-such-host"][..],
            &["--bogus"][..],
            &["--remote-dir", "a b", "--dry-run"][..],
            &["--user", "-oProxyCommand=x", "--dry-run"][..],
        ] {
            let out = Command::new("bash").arg(out_dir.join("deploy.sh")).args(args).output().unwrap();
            assert_eq!(out.status.code(), Some(2), "{ctx}: deploy.sh {args:?}");
            assert!(!String::from_utf8_lossy(&out.stdout).contains("==> "), "{ctx}: deploy.sh {args:?} ran something");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

// ---- verify.sh against a fake Harbor ------------------------------------------------------

/// A Harbor stand-in: per address and port it answers the ping path, `/v2/` (401 with a
/// realm) and `/service/token` (a token whose header carries `kid`).
const FAKE_HARBOR: &str = r#"
import base64, json, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

def handler(c):
    class H(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def reply(self, code, body, headers=()):
            data = body.encode()
            self.send_response(code)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            path = self.path.split("?")[0]
            if path == c["ping"]:
                self.reply(200, '"Pong"')
            elif path == "/v2/":
                realm = 'Bearer realm="%s",service="harbor-registry"' % c["realm"]
                self.reply(401, '{"errors":[]}', [("Www-Authenticate", realm)])
            elif path == "/service/token":
                hdr = b64(json.dumps({"typ": "JWT", "alg": "RS256", "kid": c["kid"]}).encode())
                self.reply(200, json.dumps({"token": hdr + ".e30.c2ln", "expires_in": 1800}))
            else:
                self.reply(404, "not found")
    return H

for c in json.loads(sys.argv[1]):
    s = ThreadingHTTPServer((c["addr"], c["port"]), handler(c))
    threading.Thread(target=s.serve_forever, daemon=True).start()
print("ready", flush=True)
sys.stdin.read()
"#;

struct Fake(std::process::Child);

impl Fake {
    fn start(config: &str) -> Fake {
        let mut child = Command::new("python3")
            .args(["-c", FAKE_HARBOR, config])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "ready", "the fake Harbor did not start");
        Fake(child)
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        drop(self.0.stdin.take());
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

fn free_port(addr: &str) -> u16 {
    std::net::TcpListener::bind((addr, 0)).unwrap().local_addr().unwrap().port()
}

fn run_verify(dir: &Path) -> (Option<i32>, String) {
    let out = Command::new("bash")
        .arg(dir.join("verify.sh"))
        .args(["--timeout", "5"])
        .env_remove("http_proxy")
        .env_remove("HTTP_PROXY")
        .output()
        .unwrap();
    (out.status.code(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// `text` with `from` replaced by `to`, which must occur.
fn swap(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "verify.sh has no `{from}`");
    text.replace(from, to)
}

#[test]
fn verify_sh_against_a_fake_harbor() {
    if !common::require_tool("python3") || !common::require_tool("curl") {
        return;
    }
    if std::net::TcpListener::bind(("127.0.0.2", 0)).is_err() {
        eprintln!("SKIP: cannot bind 127.0.0.2");
        return;
    }
    // A valid topology on a site network; verify.sh's targets are then pointed at loopback
    // addresses and free ports where the fake Harbor listens (validation rightly refuses
    // loopback addresses and an LB port other than 80/443).
    let yaml = r#"version: 1
sites:
  - name: local
    os: debian12
    harbor:
      version: "2.11.1"
      external_url: http://harbor.test
      admin_password: {env: ADMIN}
    network:
      subnet: 10.250.0.0/24
    hosts:
      - {name: node-a, address: 10.250.0.2, roles: [harbor]}
      - {name: node-b, address: 10.250.0.3, roles: [harbor]}
      - {name: lb-a, address: 10.250.0.4, roles: [lb]}
    storage:
      s3: {bucket: harbor, region: us-east-1, accesskey: {env: S3A}, secretkey: {env: S3B}}
    database:
      host: 10.250.0.9
      version: "15"
      password: {env: DB}
    redis:
      host: 10.250.0.9
      password: {env: REDIS}
    load_balancer:
      affinity: none
"#;
    let dir = temp_dir("verify");
    let topo_file = dir.join("topology.yaml");
    std::fs::write(&topo_file, yaml).unwrap();
    let t = common::topology(&topo_file);
    let b = common::render_topology(&t);
    let bundle_dir = dir.join("bundle");
    common::write_tree(&b, &bundle_dir);

    let (pa, pb, plb) = (free_port("127.0.0.2"), free_port("127.0.0.3"), free_port("127.0.0.4"));
    let mut script = file(&b, "verify.sh").to_string();
    script = swap(&script, "http://10.250.0.2:80/", &format!("http://127.0.0.2:{pa}/"));
    script = swap(&script, "http://10.250.0.3:80/", &format!("http://127.0.0.3:{pb}/"));
    script = swap(&script, "http://harbor.test/api/", &format!("http://harbor.test:{plb}/api/"));
    script = swap(&script, "http://harbor.test/v2/", &format!("http://harbor.test:{plb}/v2/"));
    script = swap(&script, "harbor.test:80:10.250.0.4", &format!("harbor.test:{plb}:127.0.0.4"));
    std::fs::write(bundle_dir.join("verify.sh"), script).unwrap();

    let crt = file(&b, "secrets/local/token_certificate.pem");
    let kid = harbor_ha_core::render::runbook::token_key_id(crt).unwrap();
    let realm = "http://harbor.test/service/token";
    let entry = |addr: &str, port: u16, kid: &str, realm: &str| serde_json::json!({"addr": addr, "port": port, "kid": kid, "realm": realm, "ping": "/api/v2.0/ping"});

    // A healthy cluster: every check passes.
    {
        let cfg = serde_json::json!([
            entry("127.0.0.2", pa, &kid, realm),
            entry("127.0.0.3", pb, &kid, realm),
            entry("127.0.0.4", plb, "", realm),
        ]);
        let _fake = Fake::start(&cfg.to_string());
        let (code, out) = run_verify(&bundle_dir);
        assert_eq!(code, Some(0), "verify.sh failed on a healthy fake cluster:\n{out}");
        assert!(out.contains("\n8 passed, 0 failed\n"), "{out}");
        assert!(!out.contains("FAIL"), "{out}");
    }

    // node-b signs with another key and lacks external_url; the load balancer is down.
    {
        let cfg = serde_json::json!([
            entry("127.0.0.2", pa, &kid, realm),
            entry("127.0.0.3", pb, "AAAA:BBBB", "http://10.250.0.3/service/token"),
        ]);
        let _fake = Fake::start(&cfg.to_string());
        let (code, out) = run_verify(&bundle_dir);
        assert_eq!(code, Some(1), "verify.sh passed a broken cluster:\n{out}");
        for line in [
            "PASS  local: node-a (10.250.0.2) signs tokens with the site's key",
            "FAIL  local: node-b (10.250.0.3) signs tokens with the site's key: key id AAAA:BBBB",
            "FAIL  local: node-b (10.250.0.3) token realm: realm is http://10.250.0.3/service/token",
            "FAIL  local: load balancer lb-a (10.250.0.4) health via external_url",
            "\n4 passed, 4 failed\n",
        ] {
            assert!(out.contains(line), "no `{line}` in:\n{out}");
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The seed's bundle, written with its manifest.
fn seed_on_disk(tag: &str) -> (PathBuf, Vec<String>) {
    let p = common::root().join("fixtures/examples/seed.yaml");
    let t = common::topology(&p);
    let b = common::render_topology(&t);
    let dir = temp_dir(tag).join("bundle");
    common::write_tree(&b, &dir);
    let order = t.sites.iter().flat_map(|s| install_order(s).into_iter().map(|h| h.name.to_string())).collect();
    (dir, order)
}

fn run_bash(script: &Path, args: &[&str], env: &[(&str, &Path)]) -> (bool, String, String) {
    let mut c = Command::new("bash");
    c.arg(script).args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c.output().unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn deploy_refuses_files_that_differ_from_the_manifest_naming_them() {
    let (dir, order) = seed_on_disk("deploy-manifest");
    let deploy = dir.join("deploy.sh");
    let (first, last) = (&order[0], order.last().unwrap());
    let (ok, out, err) = run_bash(&deploy, &["--dry-run"], &[]);
    assert!(ok, "the bundle as written deploys:\n{out}{err}");
    // A file of the first host edited: refused before any host, naming it.
    let conf = format!("hosts/{first}/install.sh");
    std::fs::write(dir.join(&conf), "#!/bin/sh\necho edited\n").unwrap();
    let (ok, out, err) = run_bash(&deploy, &["--dry-run"], &[]);
    assert!(!ok && !out.contains("==> "), "{out}{err}");
    assert!(err.contains("differ from MANIFEST.sha256") && err.contains(&conf), "{err}");
    // Only the files it copies count: another host still deploys.
    let (ok, out, err) = run_bash(&deploy, &["--dry-run", last], &[]);
    assert!(ok && out.contains(&format!("==> {last} ")), "{out}{err}");
    // A render that did not finish, or no manifest at all: refused.
    std::fs::write(dir.join(".harbor-ha-pending"), "").unwrap();
    let (ok, _, err) = run_bash(&deploy, &["--dry-run", last], &[]);
    assert!(!ok && err.contains("did not finish"), "{err}");
    std::fs::remove_file(dir.join(".harbor-ha-pending")).unwrap();
    std::fs::remove_file(dir.join("MANIFEST.sha256")).unwrap();
    let (ok, _, err) = run_bash(&deploy, &["--dry-run", last], &[]);
    assert!(!ok && err.contains("MANIFEST.sha256 is missing"), "{err}");
}

#[test]
fn install_refuses_files_that_differ_from_the_host_manifest_naming_them() {
    let (dir, order) = seed_on_disk("install-manifest");
    let here = dir.join("hosts").join(&order[0]);
    let install = std::fs::read_to_string(here.join("install.sh")).unwrap();
    // The check as install.sh has it (the rest of the script changes the machine).
    let lines: Vec<&str> = install.lines().collect();
    let from = lines.iter().position(|l| l.starts_with("log() {")).unwrap();
    let to = lines.iter().position(|l| l.starts_with("[ \"$(id -u)\" -eq 0 ]")).unwrap();
    let check_from = lines.iter().position(|l| l.starts_with("# This host's files as rendered")).unwrap();
    let check_to = check_from + lines[check_from..].iter().position(|l| *l == "fi").unwrap();
    let script = format!(
        "set -euo pipefail\n{}\n{}\necho checked\n",
        lines[from..to].join("\n"),
        lines[check_from..=check_to].join("\n")
    );
    let path = dir.join("check.sh");
    std::fs::write(&path, script).unwrap();
    let (ok, out, err) = run_bash(&path, &[], &[("HERE", &here)]);
    assert!(ok && out.contains("checked"), "the host's files as rendered pass:\n{out}{err}");
    // A file the host's manifest lists, edited.
    let manifest = std::fs::read_to_string(here.join("MANIFEST.sha256")).unwrap();
    let rel = manifest.lines().find_map(|l| l.split_once("  ").map(|(_, p)| p).filter(|p| p.starts_with("files/")));
    let rel = rel.expect("the host's manifest lists its files").to_string();
    std::fs::write(here.join(&rel), "edited\n").unwrap();
    let (ok, out, err) = run_bash(&path, &[], &[("HERE", &here)]);
    assert!(!ok && !out.contains("checked"), "{out}{err}");
    assert!(err.contains("differ from") && err.contains(&rel), "{rel}: {err}");
    std::fs::remove_file(here.join("MANIFEST.sha256")).unwrap();
    let (ok, _, err) = run_bash(&path, &[], &[("HERE", &here)]);
    assert!(!ok && err.contains("MANIFEST.sha256 is missing"), "{err}");
}
