//! The load balancer's `harbor.conf` of every renderable fixture with an LB: facts computed
//! from the topology (upstream = exactly the Harbor nodes, `ip_hash` exactly when the
//! affinity says so, the settings the field's failures call for), then the real
//! `nginx -t` on it.

#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::disallowed_macros,
    reason = "tests set up files and run the real programs"
)]

mod common;

use std::path::Path;
use std::process::Command;

use harbor_ha_core::model::enums::{Affinity, Role};
use harbor_ha_core::model::resolved::{Site, Tls, ValidTopology};

/// Topologies the fixtures do not cover: plain HTTP (no TLS) with round robin on
/// CentOS 7 and Harbor 1.10, and an IPv6 site with two LBs.
const INLINE: &[(&str, &str)] = &[
    (
        "inline: plain HTTP, round robin, CentOS 7, Harbor 1.10",
        r#"
version: 1
sites:
  - name: plain
    os: centos7
    harbor:
      version: "1.10.2"
      external_url: http://registry.plain.example
      admin_password: Abcdefg-1
    network:
      subnet: 10.9.0.0/16
    hosts:
      - {name: p-store, address: 10.9.0.5, roles: [nfs, postgres, redis]}
      - {name: p-h1, address: 10.9.1.11, roles: [harbor], http_port: 8080}
      - {name: p-h2, address: 10.9.1.12, roles: [harbor], http_port: 8080}
      - {name: p-lb, address: 10.9.0.2, roles: [lb]}
    storage:
      nfs: {export: /srv/harbor, mount: /data}
    database: {version: "9.6", password: Abcdefg-1}
    redis: {password: Abcdefg-1}
    load_balancer:
      affinity: none
"#,
    ),
    ("inline: IPv6, two LBs, self-signed", common::IPV6_LB_PAIR),
];

/// Every renderable fixture and the inline topologies, with a label.
fn topologies() -> Vec<(String, ValidTopology)> {
    common::fixture_and_inline_topologies(INLINE)
}

/// One LB host's rendered config.
struct LbConf {
    fixture: String,
    site: Site,
    host: String,
    conf: String,
}

/// `harbor.conf` of every LB host of every topology of [`topologies`].
fn lb_confs() -> Vec<LbConf> {
    let mut v = Vec::new();
    for (label, t) in topologies() {
        if !t.sites.iter().any(|s| s.hosts_with(Role::Lb).next().is_some()) {
            continue;
        }
        let b = common::render_topology(&t);
        for site in &t.sites {
            for h in site.hosts_with(Role::Lb) {
                let key = format!("hosts/{}/files/etc/nginx/conf.d/harbor.conf", h.name);
                let f = b.files.get(&key).unwrap_or_else(|| panic!("{label}: {key} missing"));
                assert_eq!(f.mode, 0o644, "{key}");
                v.push(LbConf {
                    fixture: label.clone(),
                    site: site.clone(),
                    host: h.name.to_string(),
                    conf: f.content.clone(),
                });
            }
        }
    }
    v
}

/// The lines of the `upstream harbor { … }` block.
fn upstream_block(conf: &str) -> Vec<&str> {
    conf.lines()
        .map(str::trim)
        .skip_while(|l| *l != "upstream harbor {")
        .skip(1)
        .take_while(|l| *l != "}")
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .collect()
}

fn addr(a: std::net::IpAddr, port: u16) -> String {
    match a {
        std::net::IpAddr::V4(a) => format!("{a}:{port}"),
        std::net::IpAddr::V6(a) => format!("[{a}]:{port}"),
    }
}

#[test]
fn fixtures_with_lbs_exist() {
    let confs = lb_confs();
    assert!(confs.iter().any(|c| !c.fixture.starts_with("inline")), "no renderable fixture has an LB host");
    // TLS and plain HTTP, both affinities, IPv4 and IPv6 are covered.
    let lb = |c: &LbConf| c.site.lb.clone().unwrap();
    assert!(confs.iter().any(|c| lb(c).tls_enabled()));
    assert!(confs.iter().any(|c| !lb(c).tls_enabled()));
    assert!(confs.iter().any(|c| lb(c).affinity == Affinity::IpHash));
    assert!(confs.iter().any(|c| lb(c).affinity == Affinity::None));
    assert!(confs.iter().any(|c| c.site.subnet.addr().is_ipv6()));
}

#[test]
fn content_follows_the_topology() {
    for c in lb_confs() {
        let at = format!("{} ({})", c.fixture, c.host);
        let lb = c.site.lb.as_ref().unwrap();
        let conf = &c.conf;
        let directives: Vec<&str> = conf.lines().map(str::trim).filter(|l| !l.starts_with('#')).collect();
        let count = |d: &str| directives.iter().filter(|l| **l == d).count();

        // Upstream: exactly the Harbor nodes, in order, each with passive checks.
        let ups = upstream_block(conf);
        let servers: Vec<String> = ups
            .iter()
            .filter(|l| l.starts_with("server "))
            .map(|l| l.split_whitespace().nth(1).unwrap().to_string())
            .collect();
        let want: Vec<String> = c.site.harbor_nodes().map(|h| addr(h.address, h.http_port)).collect();
        assert_eq!(servers, want, "{at}: upstream servers");
        for l in ups.iter().filter(|l| l.starts_with("server ")) {
            assert!(l.contains(" max_fails=3 fail_timeout=30s;"), "{at}: {l}");
        }
        assert_eq!(ups.contains(&"ip_hash;"), lb.affinity == Affinity::IpHash, "{at}: ip_hash vs affinity");
        assert_eq!(ups.last(), Some(&"keepalive 32;"), "{at}: keepalive after the servers and the method");

        // Body size, retries, buffering, timeouts, headers: on / and /v2/.
        assert_eq!(count("client_max_body_size 0;"), 1, "{at}");
        assert!(!conf.contains("non_idempotent"), "{at}: non-idempotent requests must never be retried");
        assert!(!conf.contains("http2"), "{at}: no http2 (1.14–1.25 compatibility)");
        assert_eq!(count("location /v2/ {"), 1, "{at}");
        // With TLS the port-80 server has a `location /` too (the redirect).
        assert_eq!(count("location / {"), if lb.tls_enabled() { 2 } else { 1 }, "{at}");
        // Each directive once in `location /v2/` and once in `location /`.
        for d in [
            "proxy_pass http://harbor;",
            "proxy_set_header Host $http_host;",
            "proxy_set_header X-Real-IP $remote_addr;",
            "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
            "proxy_set_header X-Forwarded-Proto $scheme;",
            "proxy_http_version 1.1;",
            "proxy_set_header Connection \"\";",
            "proxy_buffering off;",
            "proxy_request_buffering off;",
            "chunked_transfer_encoding on;",
            "proxy_connect_timeout 10s;",
            "proxy_send_timeout 900s;",
            "proxy_read_timeout 900s;",
            "proxy_next_upstream error timeout http_502 http_503 http_504;",
            "proxy_next_upstream_tries 2;",
        ] {
            assert_eq!(count(d), 2, "{at}: `{d}`");
        }
        assert!(conf.contains("log_format harbor_upstream "), "{at}");
        assert!(conf.contains("upstream=$upstream_addr"), "{at}: the access log records the node");
        assert_eq!(count("location = /harbor-ha-health {"), if lb.tls_enabled() { 2 } else { 1 }, "{at}");
        assert!(
            conf.contains(harbor_ha_core::render::harbor::ping_path(c.site.harbor.version)),
            "{at}: ping path documented"
        );

        // server_name, quoted.
        let name = match lb.server_name.as_str().parse::<std::net::IpAddr>() {
            Ok(std::net::IpAddr::V6(a)) => format!("[{a}]"),
            _ => lb.server_name.to_string(),
        };
        let sn = format!("server_name \"{name}\";");
        assert_eq!(count(&sn), if lb.tls_enabled() { 2 } else { 1 }, "{at}: {sn}");

        // TLS or not.
        match &lb.tls {
            Tls::None => {
                assert_eq!(count("listen 80;"), 1, "{at}");
                assert!(!conf.contains("ssl"), "{at}: no TLS directive without TLS");
                assert!(!conf.contains("proxy_redirect"), "{at}");
            }
            Tls::Files(f) | Tls::SelfSigned(f) => {
                let (certificate, key) = (f.certificate.path(), f.key.path());
                assert_eq!(count("listen 80;"), 1, "{at}");
                assert_eq!(count("listen 443 ssl;"), 1, "{at}");
                assert_eq!(count("return 301 https://$host$request_uri;"), 1, "{at}");
                assert_eq!(count(&format!("ssl_certificate \"{certificate}\";")), 1, "{at}");
                assert_eq!(count(&format!("ssl_certificate_key \"{key}\";")), 1, "{at}");
                assert_eq!(count("ssl_protocols TLSv1.2 TLSv1.3;"), 1, "{at}");
                assert_eq!(count("proxy_redirect http://$http_host/ $scheme://$http_host/;"), 2, "{at}");
            }
        }
    }
}

/// `Tls::None` or not, for the assertions above.
trait TlsEnabled {
    fn tls_enabled(&self) -> bool;
}

impl TlsEnabled for harbor_ha_core::model::resolved::LoadBalancer {
    fn tls_enabled(&self) -> bool {
        !matches!(self.tls, Tls::None)
    }
}

/// Run `nginx -t` on `conf` included inside `http {}` of a minimal main config under a
/// temporary prefix. The access log path (/var/log/nginx/…) is opened by the test, so it
/// runs in a private mount namespace with a tmpfs over /var/log/nginx: nothing is written
/// to the real directory. Returns (success, messages).
fn nginx_test(conf: &str) -> (bool, String) {
    let dir = common::TempDir::new("lb-nginx");
    let p = &dir.0;
    common::nginx_prefix(p, conf);
    let pd = p.display();
    let err = p.join("error.log");
    let nginx = format!("nginx -t -p {pd}/ -c conf/nginx.conf -e {}", err.display());
    let script = if Path::new("/var/log/nginx").is_dir() {
        format!("mount -t tmpfs hha-nginx-logs /var/log/nginx && exec {nginx}")
    } else {
        format!("exec {nginx}")
    };
    let root = Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    let mut cmd = Command::new("unshare");
    if !root {
        cmd.arg("-r");
    }
    let out = cmd.args(["-m", "sh", "-c", &script]).output().expect("unshare");
    let mut msg = String::from_utf8_lossy(&out.stderr).to_string();
    msg.push_str(&std::fs::read_to_string(&err).unwrap_or_default());
    (out.status.success(), msg)
}

#[test]
fn real_nginx_accepts_every_lb_config() {
    if !common::require_tool("nginx") || !common::require_tool("unshare") {
        return;
    }
    let confs = lb_confs();
    for c in &confs {
        let (ok, msg) = nginx_test(&c.conf);
        assert!(ok, "{} ({}): nginx -t failed:\n{msg}\n--- config ---\n{}", c.fixture, c.host, c.conf);
        // Warnings count as failures too (deprecated or conflicting directives).
        assert!(!msg.contains("[warn]"), "{} ({}): nginx -t warns:\n{msg}", c.fixture, c.host);
    }
}

#[test]
fn real_nginx_rejects_a_broken_config() {
    // The harness itself must be able to fail: a directive nginx does not know.
    if !common::require_tool("nginx") || !common::require_tool("unshare") {
        return;
    }
    let c = lb_confs().into_iter().next().unwrap();
    let broken = c.conf.replace("client_max_body_size 0;", "client_max_body_size 0;\n    no_such_directive on;");
    let (ok, msg) = nginx_test(&broken);
    assert!(!ok, "nginx -t accepted an unknown directive:\n{msg}");
    assert!(msg.contains("no_such_directive"), "{msg}");
}
