//! Replication bundle: every JSON body against Harbor's own OpenAPI definition of its
//! version, and apply.sh / resync.sh / check-dns.sh run for real against a small Harbor
//! stand-in (a Rust HTTP server in this file) that records requests and answers like
//! Harbor: create with Location, list by name, 409 on a duplicate, update, executions.

#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::disallowed_macros,
    reason = "tests set up files and run the real programs"
)]

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use harbor_ha_core::bundle::Bundle;
use harbor_ha_core::load_str;
use harbor_ha_core::model::resolved::{Topology, ValidTopology};
use serde_json::{json, Value as J};

// ---- Harbor's API: the compact schema (always) and the full specifications (when present) ----

mod harbor_api;
use harbor_api::{spec_for, Spec};

/// The committed compact schema says what Harbor's full specifications say. Needs
/// `../shared/harbor-api/` beside the clone; without it this layer is not run (and says so).
#[test]
fn compact_schema_is_what_the_specifications_say() {
    let Some(derived) = harbor_api::derive_compact() else {
        eprintln!(
            "NOT RUN: the full OpenAPI layer needs {} (Harbor's swagger files); the compact schema was checked alone",
            harbor_api::full_spec_dir().display()
        );
        return;
    };
    let path = harbor_api::compact_path();
    if std::env::var_os("UPDATE_HARBOR_API").is_some() {
        std::fs::write(&path, &derived).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == derived,
        "{} differs from what Harbor's specifications say; rerun with UPDATE_HARBOR_API=1 and review the diff",
        path.display()
    );
}

/// What Harbor's server code checks beyond the schema (the same in 1.10 and 2.x: one of the
/// two registries is the local Harbor; label filters are lists; a schedule has a cron).
fn server_rules(policy: &J, at: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let src = policy.get("src_registry").is_some();
    let dest = policy.get("dest_registry").is_some();
    if src == dest {
        errs.push(format!("{at}: exactly one of src_registry and dest_registry must be set"));
    }
    for f in policy["filters"].as_array().into_iter().flatten() {
        let ok = match f["type"].as_str() {
            Some("label") => f["value"].as_array().is_some_and(|a| a.iter().all(J::is_string)),
            _ => f["value"].is_string(),
        };
        if !ok {
            errs.push(format!("{at}: filter {f} has a value of the wrong type"));
        }
    }
    if policy["trigger"]["type"] == "scheduled" {
        let cron = policy["trigger"]["trigger_settings"]["cron"].as_str().unwrap_or("");
        if cron.split_whitespace().count() != 6 {
            errs.push(format!("{at}: scheduled trigger without a 6-field cron"));
        }
    } else if policy["trigger"].get("trigger_settings").is_some() {
        errs.push(format!("{at}: trigger_settings on a non-scheduled trigger"));
    }
    if policy["enabled"] != true {
        errs.push(format!("{at}: policy is not enabled"));
    }
    errs
}

// ---- topologies ------------------------------------------------------------------------------

fn load(text: &str) -> ValidTopology {
    let doc = load_str(text).unwrap_or_else(|d| panic!("{d:?}"));
    let report = doc.validate();
    report.topology.unwrap_or_else(|| panic!("{:#?}", report.diagnostics))
}

/// Whether `all_features` gives the dual master `dm` a plain-HTTP external_url (2.14+).
fn dm_plain_http(version: &str) -> bool {
    version.parse::<harbor_ha_core::model::version::Version>().is_ok_and(|v| v.at_least(2, 14))
}

/// Every feature at once for one Harbor version: a dual-master site `dm` that also pushes to
/// `down` (no credentials: down's admin account), a single node `up` that pushes to `dm` with
/// every filter and a scheduled twin, and `down` that pulls from `up` (manual, deletion,
/// credentials from a file; its admin password from a file too).
fn all_features(version: &str, secret_file: &Path) -> String {
    let os = if version.starts_with("1.") { "centos7" } else { "debian12" };
    let f = secret_file.display();
    // From 2.14 a dual master needs an http external_url (RP010: the token realm takes
    // external_url's scheme and the peer's plain-HTTP address).
    let (dm_scheme, dm_tls) =
        if dm_plain_http(version) { ("http", "") } else { ("https", "tls: {self_signed: true}, ") };
    format!(
        r#"version: 1
sites:
  - name: dm
    mode: replication
    os: {os}
    harbor: {{version: "{version}", external_url: {dm_scheme}://dm.example.com, admin_password: {{env: DM_ADMIN_PASSWORD}}}}
    network: {{subnet: 10.9.0.0/24}}
    hosts:
      - {{name: dm-a, address: 10.9.0.11, roles: [harbor]}}
      - {{name: dm-b, address: 10.9.0.12, roles: [harbor], http_port: 8080}}
      - {{name: dm-lb, address: 10.9.0.2, roles: [lb]}}
    load_balancer: {{{dm_tls}affinity: ip_hash}}
  - name: up
    os: {os}
    harbor: {{version: "{version}", external_url: http://10.8.0.11, admin_password: {{env: UP_ADMIN_PASSWORD}}}}
    network: {{subnet: 10.8.0.0/24}}
    hosts:
      - {{name: up-node, address: 10.8.0.11, roles: [harbor]}}
  - name: down
    os: {os}
    harbor: {{version: "{version}", external_url: http://down.example.com, admin_password: {{file: "{f}"}}}}
    network: {{subnet: 10.7.0.0/24}}
    hosts:
      - {{name: down-node, address: 10.7.0.11, roles: [harbor]}}
replication:
  - {{from: up, to: dm, trigger: event_based, filters: {{repository: "library/**", tag: "v*", label: prod}}, username: "robot$dm", credentials: {{env: DM_ROBOT_SECRET}}}}
  - {{from: up, to: dm, trigger: {{cron: "0 0 * * * *"}}, filters: {{repository: "library/**", tag: "v*", label: prod}}, username: "robot$dm", credentials: {{env: DM_ROBOT_SECRET}}}}
  - {{from: up, to: down, mode: pull, trigger: manual, deletion: true, username: puller, credentials: {{file: "{f}"}}}}
  - {{from: dm, to: down, trigger: {{cron: "0 30 * * * *"}}, filters: {{repository: "apps/**"}}}}
"#
    )
}

const VERSIONS: &[&str] = &["1.10.2", "2.1.0", "2.8.4", "2.11.1", "2.13.1", "2.15.2"];

fn minor(t: &Topology, site: &str) -> (u32, u32) {
    t.sites.iter().find(|s| s.name.as_str() == site).unwrap().harbor.version.minor_key()
}

fn temp_dir(tag: &str) -> PathBuf {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let d = std::env::temp_dir().join(format!("hha-repl-{}-{tag}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

// ---- static bodies ---------------------------------------------------------------------------

/// The API call a bundle file is the body of.
fn call_of(rel: &str) -> (&'static str, &'static str) {
    if rel.contains("/registries/") && rel.ends_with(".update.json") {
        ("PUT", "/registries/1")
    } else if rel.contains("/registries/") {
        ("POST", "/registries")
    } else if rel.contains("/policies/") {
        ("POST", "/replication/policies")
    } else {
        panic!("unexpected JSON file {rel}")
    }
}

fn check_bundle_bodies(t: &Topology, b: &Bundle, what: &str) -> usize {
    let mut n = 0;
    for (rel, f) in &b.files {
        if !(rel.starts_with("replication/") && rel.ends_with(".json")) {
            continue;
        }
        let site = rel.split('/').nth(1).unwrap();
        let spec = spec_for(minor(t, site));
        assert!(f.content.ends_with("}\n"), "{what}: {rel} must be pretty JSON with a trailing newline");
        let body: J = serde_json::from_str(&f.content).unwrap_or_else(|e| panic!("{what}: {rel}: {e}"));
        let (method, path) = call_of(rel);
        let mut errs = spec.violations(method, path, &body);
        if path == "/replication/policies" {
            errs.extend(spec.violations("PUT", "/replication/policies/1", &body));
            errs.extend(server_rules(&body, rel));
        }
        assert!(errs.is_empty(), "{what}: {rel} does not match {} {method} {path}:\n{}", spec.file, errs.join("\n"));
        for k in ["access_key", "access_secret"] {
            assert!(!f.content.contains(k), "{what}: {rel}: credentials are added at apply time, not written");
        }
        assert_eq!(f.mode, 0o644, "{rel}");
        n += 1;
    }
    n
}

#[test]
fn every_generated_body_matches_the_api_definition_of_its_version() {
    let dir = temp_dir("static");
    let secret = dir.join("secret");
    std::fs::write(&secret, "F1le-Secret\n").unwrap();
    let mut total = 0;
    for v in VERSIONS {
        let t = load(&all_features(v, &secret));
        let b = common::render_topology(&t);
        let n = check_bundle_bodies(&t, &b, v);
        // dm: 2 nodes × (peer endpoint + its update + 2 policies + down endpoint + update + 1 policy);
        // up: endpoint + update + 2 policies; down: endpoint + update + 1 policy.
        assert_eq!(n, 2 * 7 + 4 + 3, "{v}: {:#?}", b.files.keys().filter(|k| k.ends_with(".json")).collect::<Vec<_>>());
        total += n;
    }
    for p in common::renderable_fixtures() {
        let t = common::topology(&p);
        total += check_bundle_bodies(&t, &common::render_topology(&t), &p.display().to_string());
    }
    assert!(total > 100);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_validator_rejects_wrong_bodies() {
    for version in [(1, 10), (2, 8), (2, 11), (2, 15)] {
        let spec = spec_for(version);
        let good = json!({"name": "r", "type": "harbor", "url": "http://x", "insecure": false,
                          "credential": {"type": "basic", "access_key": "a", "access_secret": "s"}});
        assert_eq!(spec.violations("POST", "/registries", &good), Vec::<String>::new(), "{}", spec.file);
        let mut unknown = good.clone();
        unknown["credentials"] = json!({"type": "basic"});
        assert!(!spec.violations("POST", "/registries", &unknown).is_empty(), "{}: unknown key passed", spec.file);
        let mut nested = good.clone();
        nested["credential"]["password"] = json!("x");
        assert!(
            !spec.violations("POST", "/registries", &nested).is_empty(),
            "{}: nested unknown key passed",
            spec.file
        );
        let mut wrong_type = good.clone();
        wrong_type["insecure"] = json!("false");
        assert!(!spec.violations("POST", "/registries", &wrong_type).is_empty(), "{}: wrong type passed", spec.file);
        let policy = json!({"name": "p", "dest_registry": {"id": 1}, "trigger": {"type": "event_based"},
                            "filters": [{"type": "label", "value": ["a"]}], "deletion": true, "enabled": true});
        assert_eq!(spec.violations("POST", "/replication/policies", &policy), Vec::<String>::new(), "{}", spec.file);
        let mut bad_enum = policy.clone();
        bad_enum["trigger"]["type"] = json!("event");
        assert!(
            !spec.violations("POST", "/replication/policies", &bad_enum).is_empty(),
            "{}: bad enum passed",
            spec.file
        );
        let mut bad_filter = policy.clone();
        bad_filter["filters"][0]["value"] = json!({"a": 1});
        assert!(!spec.violations("POST", "/replication/policies", &bad_filter).is_empty(), "{}", spec.file);
        let mut bad_id = policy.clone();
        bad_id["dest_registry"]["id"] = json!("1");
        assert!(!spec.violations("POST", "/replication/policies", &bad_id).is_empty(), "{}", spec.file);
        assert!(!spec.violations("POST", "/replication/executions", &json!({"policy": 1})).is_empty(), "{}", spec.file);
        assert!(
            spec.violations("POST", "/replication/executions", &json!({"policy_id": 1})).is_empty(),
            "{}",
            spec.file
        );
        assert!(!server_rules(&json!({"src_registry": {"id": 1}, "dest_registry": {"id": 2}, "trigger": {"type": "manual"}, "enabled": true}), "x").is_empty());
    }
}

// ---- a Harbor stand-in ------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Req {
    method: String,
    path: String,
    query: String,
    body: String,
}

#[derive(Default)]
struct State {
    prefix: String,
    auth: String,
    next_id: i64,
    registries: Vec<J>,
    policies: Vec<J>,
    executions: Vec<(J, u32)>,
    requests: Vec<Req>,
    /// (method, path suffix, status): answer matching requests with this error.
    fail: Option<(String, String, u16)>,
    /// The final status of executions.
    exec_status: String,
}

struct Harbor {
    url: String,
    state: Arc<Mutex<State>>,
}

fn b64(data: &[u8]) -> String {
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for c in data.chunks(3) {
        let n =
            (u32::from(c[0]) << 16) | (u32::from(*c.get(1).unwrap_or(&0)) << 8) | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                s.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

fn pct_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(if b[i] == b'+' { b' ' } else { b[i] });
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

fn query_params(q: &str) -> BTreeMap<String, String> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (pct_decode(k), pct_decode(v))
        })
        .collect()
}

impl Harbor {
    fn start(version: (u32, u32), user: &str, password: &str) -> Harbor {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State {
            prefix: if version.0 == 1 { "/api".into() } else { "/api/v2.0".into() },
            auth: format!("Basic {}", b64(format!("{user}:{password}").as_bytes())),
            next_id: 1,
            exec_status: "Succeed".into(),
            ..State::default()
        }));
        let st = state.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let _ = serve(conn, &st);
            }
        });
        Harbor { url, state }
    }

    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.state.lock().unwrap())
    }

    fn requests(&self) -> Vec<Req> {
        self.with(|s| s.requests.clone())
    }

    fn names(&self, kind: &str) -> Vec<String> {
        self.with(|s| {
            let v = if kind == "registries" { &s.registries } else { &s.policies };
            v.iter().map(|o| o["name"].as_str().unwrap().to_string()).collect()
        })
    }
}

fn serve(mut conn: TcpStream, st: &Mutex<State>) -> std::io::Result<()> {
    let mut r = BufReader::new(conn.try_clone()?);
    let mut line = String::new();
    r.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default().to_string();
    let mut headers = BTreeMap::new();
    loop {
        let mut h = String::new();
        r.read_line(&mut h)?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_lowercase(), v.trim().to_string());
        }
    }
    if headers.get("expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue")) {
        conn.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
    }
    let len: usize = headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut body = vec![0; len];
    r.read_exact(&mut body)?;
    let body = String::from_utf8_lossy(&body).to_string();
    let (status, extra, resp) = handle(st, &method, &target, &headers, &body);
    let reason = match status {
        200 => "OK",
        201 => "Created",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        409 => "Conflict",
        _ => "Error",
    };
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        resp.len()
    );
    for (k, v) in extra {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(&resp);
    conn.write_all(out.as_bytes())?;
    conn.flush()
}

fn err(status: u16, msg: &str) -> (u16, Vec<(String, String)>, String) {
    (status, vec![], json!({"errors": [{"code": status.to_string(), "message": msg}]}).to_string())
}

fn handle(
    st: &Mutex<State>,
    method: &str,
    target: &str,
    headers: &BTreeMap<String, String>,
    body: &str,
) -> (u16, Vec<(String, String)>, String) {
    let mut s = st.lock().unwrap();
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    s.requests.push(Req { method: method.into(), path: path.into(), query: query.into(), body: body.into() });
    if headers.get("authorization") != Some(&s.auth) {
        return err(401, "unauthorized: invalid username or password");
    }
    if let Some((m, suffix, code)) = &s.fail {
        if m == method && path.ends_with(suffix.as_str()) {
            return err(*code, "something broke inside Harbor");
        }
    }
    let Some(rest) = path.strip_prefix(s.prefix.as_str()) else { return err(404, "no such API") };
    let seg: Vec<&str> = rest.trim_matches('/').split('/').collect();
    let params = query_params(query);
    let list = |v: &Vec<J>| -> String {
        let keep = |o: &&J| {
            let n = o["name"].as_str().unwrap_or("");
            if let Some(q) = params.get("q") {
                q.strip_prefix("name=").is_some_and(|want| n == want)
            } else if let Some(sub) = params.get("name") {
                n.contains(sub.as_str())
            } else {
                true
            }
        };
        J::Array(v.iter().filter(keep).cloned().collect()).to_string()
    };
    let parsed: Option<J> = serde_json::from_str(body).ok();
    let prefix = s.prefix.clone();
    match (method, seg.as_slice()) {
        ("GET", ["registries"]) => (200, vec![], list(&s.registries)),
        ("GET", ["replication", "policies"]) => (200, vec![], list(&s.policies)),
        ("POST", ["registries"]) | ("POST", ["replication", "policies"]) => {
            let Some(mut obj) = parsed else { return err(400, "invalid JSON") };
            let is_reg = seg[0] == "registries";
            let name = obj["name"].as_str().unwrap_or("").to_string();
            let exists = if is_reg { &s.registries } else { &s.policies }.iter().any(|o| o["name"] == name.as_str());
            if exists {
                return err(409, &format!("{name} already exists"));
            }
            if !is_reg {
                let ids: Vec<i64> = ["src_registry", "dest_registry"]
                    .iter()
                    .filter_map(|k| obj.get(*k).and_then(|r| r["id"].as_i64()))
                    .filter(|id| *id > 0)
                    .collect();
                if ids.len() != 1 || !s.registries.iter().any(|r| r["id"] == ids[0]) {
                    return err(400, "either src_registry or dest_registry should be an existing registry");
                }
            }
            let id = s.next_id;
            s.next_id += 1;
            obj["id"] = json!(id);
            if is_reg {
                s.registries.push(obj);
            } else {
                s.policies.push(obj);
            }
            (201, vec![("Location".into(), format!("{prefix}{rest}/{id}"))], String::new())
        }
        ("PUT", ["registries", id]) => {
            let id: i64 = id.parse().unwrap_or(-1);
            let Some(upd) = parsed else { return err(400, "invalid JSON") };
            let Some(reg) = s.registries.iter_mut().find(|r| r["id"] == id) else { return err(404, "no registry") };
            for k in ["name", "description", "url", "insecure"] {
                if let Some(v) = upd.get(k) {
                    reg[k] = v.clone();
                }
            }
            for (k, to) in
                [("credential_type", "type"), ("access_key", "access_key"), ("access_secret", "access_secret")]
            {
                if let Some(v) = upd.get(k) {
                    reg["credential"][to] = v.clone();
                }
            }
            (200, vec![], String::new())
        }
        ("PUT", ["replication", "policies", id]) => {
            let id: i64 = id.parse().unwrap_or(-1);
            let Some(mut upd) = parsed else { return err(400, "invalid JSON") };
            let Some(p) = s.policies.iter_mut().find(|r| r["id"] == id) else { return err(404, "no policy") };
            upd["id"] = json!(id);
            *p = upd;
            (200, vec![], String::new())
        }
        ("POST", ["replication", "executions"]) => {
            let pid = parsed.as_ref().and_then(|b| b["policy_id"].as_i64()).unwrap_or(0);
            if !s.policies.iter().any(|p| p["id"] == pid) {
                return err(404, "policy not found");
            }
            let id = s.next_id;
            s.next_id += 1;
            s.executions.push((json!({"id": id, "policy_id": pid, "trigger": "manual"}), 0));
            (201, vec![("Location".into(), format!("{prefix}{rest}/{id}"))], String::new())
        }
        ("GET", ["replication", "executions", id]) => {
            let id: i64 = id.parse().unwrap_or(-1);
            let fin = s.exec_status.clone();
            let Some((e, polls)) = s.executions.iter_mut().find(|(e, _)| e["id"] == id) else {
                return err(404, "no execution");
            };
            *polls += 1;
            let status = if *polls >= 2 { fin.as_str() } else { "InProgress" };
            let failed = i64::from(status == "Failed");
            let mut out = e.clone();
            out["status"] = json!(status);
            out["total"] = json!(1);
            out["failed"] = json!(failed);
            out["succeed"] = json!(1 - failed);
            out["status_text"] = json!(if failed == 1 { "1 task failed" } else { "" });
            (200, vec![], out.to_string())
        }
        _ => err(404, &format!("not handled: {method} {path}")),
    }
}

// ---- running the scripts ----------------------------------------------------------------------

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Wrappers for every external command the scripts run, logging each command line, so
/// that a test can prove that no secret is ever an argument (visible in `ps`).
fn spy_path(dir: &Path) -> (PathBuf, PathBuf) {
    let bin = dir.join("spy-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = dir.join("argv.log");
    for tool in ["curl", "jq", "base64", "cat", "sed", "tr", "cut", "tail", "mktemp", "rm", "dirname", "sleep"] {
        let real = Command::new("sh").arg("-c").arg(format!("command -v {tool}")).output().unwrap();
        let real = String::from_utf8(real.stdout).unwrap().trim().to_string();
        assert!(!real.is_empty(), "{tool} not found");
        let w = bin.join(tool);
        std::fs::write(
            &w,
            format!("#!/bin/sh\nprintf '%s\\n' \"{tool} $*\" >>\"$HHA_ARGV_LOG\"\nexec {real} \"$@\"\n"),
        )
        .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&w, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    }
    (bin, log)
}

fn run(dir: &Path, script: &Path, args: &[&str], env: &[(String, String)]) -> Out {
    let (bin, log) = spy_path(dir);
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let out = Command::new("bash")
        .arg(script)
        .args(args)
        .env_clear()
        .env("PATH", path)
        .env("HOME", dir)
        .env("TMPDIR", dir)
        .env("HHA_ARGV_LOG", &log)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .unwrap();
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into(),
        stderr: String::from_utf8_lossy(&out.stderr).into(),
    }
}

fn tools_present() -> bool {
    ["curl", "jq", "bash"].iter().all(|t| common::require_tool(t))
}

const ADMIN_DM: &str = r#"Adm1n "pa$$'\w0rd"#;
const ADMIN_UP: &str = "Up-Adm1n-Passw0rd";
const ROBOT: &str = r#"r0b0t "s3c'r$t\ x"#;
const FILE_SECRET: &str = "F1le-Secret 'with' \"quotes\"";

/// The all-features topology for `version`, its bundle on disk, and one Harbor stand-in per
/// instance, with the environment that points the scripts at them.
struct World {
    dir: PathBuf,
    out: PathBuf,
    topo: ValidTopology,
    harbors: BTreeMap<&'static str, Harbor>,
    env: Vec<(String, String)>,
}

impl World {
    fn new(version: &str) -> World {
        let dir = temp_dir(version);
        let secret_file = dir.join("down-secret");
        std::fs::write(&secret_file, format!("{FILE_SECRET}\n")).unwrap();
        let topo = load(&all_features(version, &secret_file));
        let b = common::render_topology(&topo);
        let out = dir.join("bundle");
        common::write_tree(&b, &out);
        let v = minor(&topo, "dm");
        let mut harbors = BTreeMap::new();
        harbors.insert("dm-a", Harbor::start(v, "admin", ADMIN_DM));
        harbors.insert("dm-b", Harbor::start(v, "admin", ADMIN_DM));
        harbors.insert("up", Harbor::start(v, "admin", ADMIN_UP));
        harbors.insert("down", Harbor::start(v, "admin", FILE_SECRET));
        let env = vec![
            ("HHA_DM_DM_A_URL".to_string(), harbors["dm-a"].url.clone()),
            ("HHA_DM_DM_B_URL".to_string(), harbors["dm-b"].url.clone()),
            ("HHA_UP_URL".to_string(), harbors["up"].url.clone()),
            ("HHA_DOWN_URL".to_string(), harbors["down"].url.clone()),
            ("DM_ADMIN_PASSWORD".to_string(), ADMIN_DM.to_string()),
            ("UP_ADMIN_PASSWORD".to_string(), ADMIN_UP.to_string()),
            ("DM_ROBOT_SECRET".to_string(), ROBOT.to_string()),
            ("HHA_RESYNC_INTERVAL".to_string(), "1".to_string()),
        ];
        World { dir, out, topo, harbors, env }
    }

    fn apply(&self, site: &str) -> Out {
        run(&self.dir, &self.out.join(format!("replication/{site}/apply.sh")), &[], &self.env)
    }

    fn env_with(&self, k: &str, v: &str) -> Vec<(String, String)> {
        let mut e: Vec<(String, String)> = self.env.iter().filter(|(x, _)| x != k).cloned().collect();
        e.push((k.to_string(), v.to_string()));
        e
    }

    fn spec(&self) -> &'static Spec {
        spec_for(minor(&self.topo, "dm"))
    }

    fn argv_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("argv.log")).unwrap_or_default()
    }
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn assert_no_secret(what: &str, text: &str) {
    for s in [ADMIN_DM, ADMIN_UP, ROBOT, FILE_SECRET] {
        assert!(!text.contains(s), "{what} shows a secret:\n{text}");
    }
    // Nor the Authorization header's base64 form.
    for s in [ADMIN_DM, ADMIN_UP, FILE_SECRET] {
        assert!(!text.contains(&b64(format!("admin:{s}").as_bytes())), "{what} shows the encoded credentials");
    }
}

/// Every POST/PUT the stand-in received matches the specification of the version.
fn assert_requests_match_spec(w: &World, h: &Harbor) {
    let spec = w.spec();
    let base = spec.base_path().to_string();
    for r in h.requests() {
        if r.method == "GET" {
            continue;
        }
        let rel =
            r.path.strip_prefix(base.as_str()).unwrap_or_else(|| panic!("{} {} outside {base}", r.method, r.path));
        let body: J =
            serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{} {}: {e}: {}", r.method, r.path, r.body));
        let mut errs = spec.violations(&r.method, rel, &body);
        if rel.starts_with("/replication/policies") {
            errs.extend(server_rules(&body, rel));
        }
        assert!(errs.is_empty(), "{} {} ({}): {}", r.method, r.path, spec.file, errs.join("\n"));
    }
}

#[test]
fn apply_creates_then_updates_without_duplicates() {
    if !tools_present() {
        return;
    }
    for version in VERSIONS {
        let w = World::new(version);
        for site in ["dm", "up", "down"] {
            let o = w.apply(site);
            assert_eq!(o.code, 0, "{version} {site}: first run failed:\n{}\n{}", o.stdout, o.stderr);
            assert_no_secret(&format!("{version} {site} output"), &format!("{}{}", o.stdout, o.stderr));
        }
        let expect_names = |h: &str, regs: &[&str], pols: &[&str]| {
            let mut r = w.harbors[h].names("registries");
            let mut p = w.harbors[h].names("policies");
            r.sort();
            p.sort();
            assert_eq!(r, regs, "{version} {h} registries");
            assert_eq!(p, pols, "{version} {h} policies");
        };
        let check_all = || {
            expect_names(
                "dm-a",
                &["hha-dm-b", "hha-down"],
                &["hha-dm-a-to-dm-b-event", "hha-dm-a-to-dm-b-scheduled", "hha-dm-to-down-scheduled"],
            );
            expect_names(
                "dm-b",
                &["hha-dm-a", "hha-down"],
                &["hha-dm-b-to-dm-a-event", "hha-dm-b-to-dm-a-scheduled", "hha-dm-to-down-scheduled"],
            );
            expect_names("up", &["hha-dm"], &["hha-up-to-dm-event", "hha-up-to-dm-scheduled"]);
            expect_names("down", &["hha-up"], &["hha-up-to-down-manual"]);
        };
        check_all();
        let first: BTreeMap<&str, usize> = w.harbors.iter().map(|(k, h)| (*k, h.requests().len())).collect();

        // Endpoints: the peer node's own address (not the LB), credentials from the right place.
        let reg = |h: &str, name: &str| -> J {
            w.harbors[h].with(|s| s.registries.iter().find(|r| r["name"] == name).cloned().unwrap())
        };
        assert_eq!(reg("dm-a", "hha-dm-b")["url"], "http://10.9.0.12:8080");
        assert_eq!(reg("dm-b", "hha-dm-a")["url"], "http://10.9.0.11:80");
        assert_eq!(
            reg("dm-a", "hha-dm-b")["credential"],
            json!({"type": "basic", "access_key": "admin", "access_secret": ADMIN_DM})
        );
        assert_eq!(
            reg("dm-a", "hha-down")["credential"],
            json!({"type": "basic", "access_key": "admin", "access_secret": FILE_SECRET})
        );
        assert_eq!(reg("dm-a", "hha-down")["url"], "http://down.example.com");
        assert_eq!(
            reg("up", "hha-dm")["credential"],
            json!({"type": "basic", "access_key": "robot$dm", "access_secret": ROBOT})
        );
        if dm_plain_http(version) {
            assert_eq!(reg("up", "hha-dm")["url"], "http://dm.example.com");
            assert_eq!(reg("up", "hha-dm")["insecure"], false, "dm serves plain HTTP");
        } else {
            assert_eq!(reg("up", "hha-dm")["url"], "https://dm.example.com");
            assert_eq!(reg("up", "hha-dm")["insecure"], true, "dm's certificate is self-signed");
        }
        assert_eq!(
            reg("down", "hha-up")["credential"],
            json!({"type": "basic", "access_key": "puller", "access_secret": FILE_SECRET})
        );
        // Policies point at the right endpoint ids, in the right direction.
        let pol = |h: &str, name: &str| -> J {
            w.harbors[h].with(|s| s.policies.iter().find(|r| r["name"] == name).cloned().unwrap())
        };
        assert_eq!(pol("down", "hha-up-to-down-manual")["src_registry"]["id"], reg("down", "hha-up")["id"]);
        assert!(pol("down", "hha-up-to-down-manual").get("dest_registry").is_none());
        assert_eq!(pol("up", "hha-up-to-dm-event")["dest_registry"]["id"], reg("up", "hha-dm")["id"]);
        assert_eq!(
            pol("up", "hha-up-to-dm-event")["filters"],
            json!([{"type": "name", "value": "library/**"}, {"type": "tag", "value": "v*"}, {"type": "label", "value": ["prod"]}])
        );
        assert_eq!(
            pol("dm-a", "hha-dm-a-to-dm-b-scheduled")["trigger"],
            json!({"type": "scheduled", "trigger_settings": {"cron": "0 0 * * * *"}})
        );
        assert_eq!(pol("dm-a", "hha-dm-a-to-dm-b-event")["deletion"], true);

        // Second run: the same objects, updated in place.
        for site in ["dm", "up", "down"] {
            let o = w.apply(site);
            assert_eq!(o.code, 0, "{version} {site}: second run failed:\n{}\n{}", o.stdout, o.stderr);
            assert!(o.stdout.contains("updated"), "{}", o.stdout);
            assert!(!o.stdout.contains("created"), "{}", o.stdout);
        }
        check_all();
        for (k, h) in &w.harbors {
            let second: Vec<Req> = h.requests().into_iter().skip(first[k]).collect();
            let posts = second.iter().filter(|r| r.method == "POST").count();
            let puts = second.iter().filter(|r| r.method == "PUT").count();
            assert_eq!(posts, 0, "{version} {k}: the second run created objects");
            assert_eq!(
                puts,
                h.names("registries").len() + h.names("policies").len(),
                "{version} {k}: one PUT per object"
            );
            // The secret reaches Harbor in the update too.
            for r in second.iter().filter(|r| r.method == "PUT" && r.path.contains("/registries/")) {
                let b: J = serde_json::from_str(&r.body).unwrap();
                assert!(
                    b["access_secret"].as_str().is_some_and(|s| [ADMIN_DM, FILE_SECRET, ROBOT].contains(&s)),
                    "{}",
                    r.body
                );
            }
            // Lookups by name use the flavour of the version.
            let q = &second.iter().find(|r| r.method == "GET").unwrap().query;
            if version.starts_with("1.") || version.starts_with("2.1.") {
                assert!(q.starts_with("name="), "{version}: {q}");
            } else {
                assert!(q.starts_with("q=name%3D"), "{version}: {q}");
            }
            assert_requests_match_spec(&w, h);
        }
        assert_no_secret(&format!("{version}: command lines of every program the scripts ran"), &w.argv_log());
        assert!(w.argv_log().contains("curl "), "the spies saw nothing");
    }
}

#[test]
fn apply_finds_the_exact_name_among_substring_matches() {
    if !tools_present() {
        return;
    }
    // 1.10 lists by substring (`?name=`): a decoy whose name contains ours must not be taken.
    let w = World::new("1.10.2");
    w.harbors["up"].with(|s| {
        s.registries.push(json!({"id": 90, "name": "hha-dm-old", "url": "http://old"}));
        s.registries.push(json!({"id": 91, "name": "old-hha-dm", "url": "http://old"}));
    });
    let o = w.apply("up");
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
    let names = w.harbors["up"].names("registries");
    assert_eq!(names, ["hha-dm-old", "old-hha-dm", "hha-dm"]);
    assert!(w.harbors["up"].requests().iter().all(|r| !(r.method == "PUT" && r.path.ends_with("/90"))));
}

#[test]
fn apply_stops_with_a_readable_error() {
    if !tools_present() {
        return;
    }
    let w = World::new("2.11.1");
    // Harbor answers 500 when the endpoint is created: stop, say so, create nothing after it.
    w.harbors["up"].with(|s| s.fail = Some(("POST".into(), "/registries".into(), 500)));
    let o = w.apply("up");
    assert_ne!(o.code, 0);
    assert!(o.stderr.contains("HTTP 500") && o.stderr.contains("something broke inside Harbor"), "{}", o.stderr);
    assert!(o.stderr.contains("create registry endpoint hha-dm"), "{}", o.stderr);
    assert_eq!(w.harbors["up"].names("policies").len(), 0);
    assert_no_secret("500 output", &format!("{}{}", o.stdout, o.stderr));

    // A wrong admin password: 401, with a hint that names the variables, without the password.
    let wrong = "Wr0ng-Passw0rd-Value";
    let o = run(&w.dir, &w.out.join("replication/dm/apply.sh"), &[], &w.env_with("DM_ADMIN_PASSWORD", wrong));
    assert_ne!(o.code, 0);
    assert!(o.stderr.contains("HTTP 401") && o.stderr.contains("HHA_DM_ADMIN_PASSWORD"), "{}", o.stderr);
    assert!(!o.stderr.contains(wrong) && !o.stdout.contains(wrong), "{}", o.stderr);
    assert_no_secret("401 output", &format!("{}{}", o.stdout, o.stderr));

    // The override variable wins over the topology's source.
    let o = run(
        &w.dir,
        &w.out.join("replication/dm/apply.sh"),
        &[],
        &[w.env_with("DM_ADMIN_PASSWORD", wrong), vec![("HHA_DM_ADMIN_PASSWORD".into(), ADMIN_DM.into())]].concat(),
    );
    assert_eq!(o.code, 0, "{}", o.stderr);

    // Nothing listening: curl's error and a hint.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let o = run(
        &w.dir,
        &w.out.join("replication/up/apply.sh"),
        &[],
        &w.env_with("HHA_UP_URL", &format!("http://{closed}")),
    );
    assert_ne!(o.code, 0);
    assert!(o.stderr.contains("connection refused"), "{}", o.stderr);

    // A missing secret is named before any call.
    let before = w.harbors["up"].requests().len();
    let env: Vec<(String, String)> = w.env.iter().filter(|(k, _)| k != "DM_ROBOT_SECRET").cloned().collect();
    let o = run(&w.dir, &w.out.join("replication/up/apply.sh"), &[], &env);
    assert_ne!(o.code, 0);
    assert!(o.stderr.contains("export DM_ROBOT_SECRET"), "{}", o.stderr);
    assert_eq!(w.harbors["up"].requests().len(), before);

    // A policy whose endpoint Harbor rejects: 400 from the policy call is reported too.
    w.harbors["down"].with(|s| s.fail = Some(("POST".into(), "/replication/policies".into(), 400)));
    let o = w.apply("down");
    assert_ne!(o.code, 0);
    assert!(o.stderr.contains("create replication policy hha-up-to-down-manual: HTTP 400"), "{}", o.stderr);
    assert_no_secret("400 output", &format!("{}{}", o.stdout, o.stderr));
}

#[test]
fn resync_runs_each_policy_once_and_reports() {
    if !tools_present() {
        return;
    }
    for version in ["1.10.2", "2.15.2"] {
        let w = World::new(version);
        for site in ["dm", "up", "down"] {
            assert_eq!(w.apply(site).code, 0);
        }
        let resync = w.out.join("replication/resync.sh");
        let o = run(&w.dir, &resync, &[], &w.env);
        assert_eq!(o.code, 0, "{version}:\n{}\n{}", o.stdout, o.stderr);
        assert_no_secret("resync output", &format!("{}{}", o.stdout, o.stderr));
        // Upstream first: up before dm before down.
        let pos = |s: &str| o.stdout.find(&format!("site {s}:")).unwrap_or_else(|| panic!("{}", o.stdout));
        assert!(pos("up") < pos("dm") && pos("dm") < pos("down"), "{}", o.stdout);
        let started = |h: &str| -> Vec<String> {
            let hb = &w.harbors[h];
            let execs =
                hb.with(|s| s.executions.iter().map(|(e, _)| e["policy_id"].as_i64().unwrap()).collect::<Vec<_>>());
            let mut names: Vec<String> = hb.with(|s| {
                execs
                    .iter()
                    .map(|id| s.policies.iter().find(|p| p["id"] == *id).unwrap()["name"].as_str().unwrap().to_string())
                    .collect()
            });
            names.sort();
            names
        };
        // Of the event-based and scheduled twins, only the scheduled one runs.
        assert_eq!(started("dm-a"), ["hha-dm-a-to-dm-b-scheduled", "hha-dm-to-down-scheduled"]);
        assert_eq!(started("dm-b"), ["hha-dm-b-to-dm-a-scheduled", "hha-dm-to-down-scheduled"]);
        assert_eq!(started("up"), ["hha-up-to-dm-scheduled"]);
        assert_eq!(started("down"), ["hha-up-to-down-manual"]);
        assert_eq!(o.stdout.matches(": Succeed (").count(), 6, "{}", o.stdout);
        for h in w.harbors.values() {
            assert_requests_match_spec(&w, h);
        }

        // --site limits it; an unknown site is refused.
        let n = w.harbors["up"].with(|s| s.executions.len());
        let o = run(&w.dir, &resync, &["--site", "down"], &w.env);
        assert_eq!(o.code, 0, "{}", o.stderr);
        assert_eq!(w.harbors["up"].with(|s| s.executions.len()), n);
        assert_eq!(w.harbors["down"].with(|s| s.executions.len()), 2);
        let o = run(&w.dir, &resync, &["--site", "nowhere"], &w.env);
        assert_ne!(o.code, 0);
        assert!(o.stderr.contains("unknown site nowhere"), "{}", o.stderr);

        // A failed execution makes it fail, with Harbor's status text.
        w.harbors["down"].with(|s| s.exec_status = "Failed".into());
        let o = run(&w.dir, &resync, &["--site=down"], &w.env);
        assert_ne!(o.code, 0);
        assert!(
            o.stderr.contains("hha-up-to-down-manual")
                && o.stderr.contains("Failed")
                && o.stderr.contains("1 task failed"),
            "{}",
            o.stderr
        );
        assert!(o.stderr.contains("did not succeed"), "{}", o.stderr);

        // Before apply.sh: a clear message.
        w.harbors["up"].with(|s| s.policies.clear());
        let o = run(&w.dir, &resync, &["--site", "up"], &w.env);
        assert_ne!(o.code, 0);
        assert!(o.stderr.contains("run apply.sh of this site first"), "{}", o.stderr);
        assert_no_secret("resync argv", &w.argv_log());
    }
}

#[test]
fn check_dns_reports_names_the_containers_cannot_resolve() {
    if !common::require_tool("bash") {
        return;
    }
    let w = World::new("2.11.1");
    let bin = w.dir.join("fake-docker");
    std::fs::create_dir_all(&bin).unwrap();
    let docker = bin.join("docker");
    // A Docker whose containers run, resolve every IP, and do not know dm.example.com.
    std::fs::write(
        &docker,
        "#!/bin/sh\ncase $1 in\n  inspect) echo true ;;\n  exec) for a; do last=$a; done; case $last in *dm.example.com*) exit 6 ;; esac; exit 0 ;;\nesac\n",
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&docker, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let run_check = |site: &str| {
        Command::new("bash")
            .arg(w.out.join(format!("replication/{site}/check-dns.sh")))
            .env("PATH", &path)
            .output()
            .unwrap()
    };
    // dm's nodes must resolve their own external_url (the peer's token service).
    let o = run_check("dm");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(!o.status.success(), "{out}");
    assert!(out.contains("FAIL harbor-core cannot resolve dm.example.com") && out.contains("extra_hosts"), "{out}");
    assert!(out.contains("PASS harbor-jobservice reaches http://10.9.0.12:8080/api/v2.0/ping"), "{out}");
    // down pulls from up, reached by IP: all pass.
    let o = run_check("down");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
}

#[test]
fn replication_files_hold_no_secret_and_scripts_are_executable() {
    let dir = temp_dir("nosecret");
    let secret = dir.join("s");
    std::fs::write(&secret, "x\n").unwrap();
    let t = load(&all_features("2.15.2", &secret));
    let b = common::render_topology(&t);
    let repl: Vec<_> = b.files.iter().filter(|(k, _)| k.starts_with("replication/")).collect();
    for (k, f) in &repl {
        // The test resolver turns {env: X} into Env-X-Pw1 and {file} into File-Pw1.
        assert!(!f.content.contains("-Pw1"), "{k} holds a resolved secret");
        let exec = k.ends_with(".sh");
        assert_eq!(f.mode, if exec { 0o755 } else { 0o644 }, "{k}");
        if exec {
            assert!(f.content.starts_with("#!/usr/bin/env bash\n"), "{k}");
            assert!(!f.content.contains("set -x"), "{k}");
        }
    }
    for k in [
        "replication/resync.sh",
        "replication/README.md",
        "replication/dm/apply.sh",
        "replication/dm/check-dns.sh",
        "replication/up/apply.sh",
        "replication/down/apply.sh",
    ] {
        assert!(b.files.contains_key(k), "missing {k}");
    }
    // A topology without replication gets no replication directory.
    let seed = common::topology(&common::root().join("fixtures/examples/seed.yaml"));
    assert!(!common::render_topology(&seed).files.keys().any(|k| k.starts_with("replication/")));
    let _ = std::fs::remove_dir_all(&dir);
}
