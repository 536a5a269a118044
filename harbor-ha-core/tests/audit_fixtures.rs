//! The rule fixtures of the audit codes (AU001–AU007) are collected trees, not topology
//! files: `fixtures/rules/<CODE>/trigger*/` and `near-miss/`, each a hand-made Harbor site
//! (`tests/common/handmade.rs`) as collect.sh writes it, with one change. This test holds
//! the committed trees equal to what the change makes (`UPDATE_AUDIT_FIXTURES=1` rewrites
//! them); `tests/catalog.rs` checks that each triggers its code, and its near-miss not.

#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::disallowed_macros,
    reason = "tests write and compare fixture files"
)]

mod common;

use common::handmade::{self, Options, Site};

fn base(v2: bool) -> Site {
    handmade::trimmed(handmade::site(Options { v2, consistent: true, guide_flaws: false }))
}

fn node<'s>(s: &'s mut Site, name: &str) -> &'s mut handmade::Host {
    s.get_mut(name).unwrap()
}

const CORE_ENV: &str = "/usr/local/harbor/common/config/core/env";
const YML: &str = "/usr/local/harbor/harbor.yml";
const COMPOSE: &str = "/usr/local/harbor/docker-compose.yml";

/// (code, fixture name, what it is, the site).
fn fixtures() -> Vec<(&'static str, &'static str, &'static str, Site)> {
    let mut v = Vec::new();
    let mut add = |code, name, note, f: &dyn Fn(&mut Site), v2: bool| {
        let mut s = base(v2);
        f(&mut s);
        v.push((code, name, note, s));
    };
    add("AU001", "trigger", "AU001 trigger: the store host (PostgreSQL, Redis, NFS) was not collected: the database's version is not in the tree\n", &|s| {
        s.remove("store-1");
    }, true);
    add("AU001", "near-miss", "AU001 near-miss: every host collected: nothing is left to guess\n", &|_| {}, true);
    // The facts.json of both AU002 fixtures is written by raw_facts below.
    add(
        "AU002",
        "trigger",
        "AU002 trigger: harbor-2's facts.json was cut short (an interrupted copy)\n",
        &|_| {},
        true,
    );
    add(
        "AU002",
        "near-miss",
        "AU002 near-miss: harbor-2's facts.json has a key this release does not know (kept)\n",
        &|_| {},
        true,
    );
    add(
        "AU003",
        "trigger",
        "AU003 trigger: harbor-2 ran prepare again: its CSRF_KEY differs from harbor-1's\n",
        &|s| {
            let h = node(s, "harbor-2");
            let line = h.text(CORE_ENV).lines().find(|l| l.starts_with("CSRF_KEY=")).unwrap().to_string();
            h.edit(CORE_ENV, &line, "CSRF_KEY=Qw3rtyUi0pAsdfGhjkLzxcvBnm123456");
        },
        true,
    );
    add(
        "AU003",
        "trigger-xsrf-110",
        "AU003 trigger (Harbor 1.10): harbor-2's XSRFKey in core/app.conf differs from harbor-1's\n",
        &|s| {
            let h = node(s, "harbor-2");
            let app = "/usr/local/harbor/common/config/core/app.conf";
            let line = h.text(app).lines().find(|l| l.starts_with("XSRFKey")).unwrap().to_string();
            h.edit(app, &line, "XSRFKey = Qw3rtyUi0pAsdfGhjkLzxcvBnm1234567890abcd");
        },
        false,
    );
    add(
        "AU003",
        "near-miss",
        "AU003 near-miss: harbor-2's core/env holds the same secrets, in another order\n",
        &|s| {
            let h = node(s, "harbor-2");
            let text = h.text(CORE_ENV);
            let csrf = text.lines().find(|l| l.starts_with("CSRF_KEY=")).unwrap().to_string();
            h.edit(CORE_ENV, &format!("{csrf}\n"), "");
            h.edit(CORE_ENV, "CONFIG_PATH=", &format!("{csrf}\nCONFIG_PATH="));
        },
        true,
    );
    add(
        "AU004",
        "trigger",
        "AU004 trigger: harbor-2 still runs Harbor 2.10.3 (a half-finished upgrade)\n",
        &|s| {
            let h = node(s, "harbor-2");
            let c = h.text(COMPOSE).replace("v2.11.1", "v2.10.3");
            h.put(COMPOSE, c, 0o644);
            h.facts.harbor_version = Some("2.10.3".into());
            for i in h.facts.images.values_mut() {
                *i = i.replace("v2.11.1", "v2.10.3");
            }
        },
        true,
    );
    add(
        "AU004",
        "near-miss",
        "AU004 near-miss: harbor-2 names the same images with their registry (docker.io/goharbor/…)\n",
        &|s| {
            let h = node(s, "harbor-2");
            let c = h.text(COMPOSE).replace("image: goharbor/", "image: docker.io/goharbor/");
            h.put(COMPOSE, c, 0o644);
        },
        true,
    );
    add(
        "AU005",
        "trigger",
        "AU005 trigger: harbor-2 has the cache layer on, harbor-1 off\n",
        &|s| {
            node(s, "harbor-2").edit(
                YML,
                "  # not enabled by default\n  enabled: false",
                "  # not enabled by default\n  enabled: true",
            );
        },
        true,
    );
    add(
        "AU005",
        "trigger-external-url",
        "AU005 trigger: harbor-2's harbor.yml has no external_url behind the load balancers\n",
        &|s| {
            node(s, "harbor-2").edit(
                YML,
                "external_url: https://registry.example.org",
                "# external_url: https://reg.mydomain.com:8433",
            );
        },
        true,
    );
    add(
        "AU005",
        "near-miss",
        "AU005 near-miss: harbor-2 writes the same external_url with its default port\n",
        &|s| {
            node(s, "harbor-2").edit(
                YML,
                "external_url: https://registry.example.org",
                "external_url: https://registry.example.org:443/",
            );
        },
        true,
    );
    add(
        "AU006",
        "trigger",
        "AU006 trigger: lb-1's upstream lacks harbor-2\n",
        &|s| {
            node(s, "lb-1").edit("/etc/nginx/conf.d/harbor.conf", "    server 10.0.0.12:80;\n", "");
        },
        true,
    );
    add(
        "AU006",
        "near-miss",
        "AU006 near-miss: lb-1 lists both nodes in the other order, with passive health checks\n",
        &|s| {
            node(s, "lb-1").edit(
            "/etc/nginx/conf.d/harbor.conf",
            "    server 10.0.0.11:80;\n    server 10.0.0.12:80;\n",
            "    server 10.0.0.12:80 max_fails=3 fail_timeout=30s;\n    server 10.0.0.11:80 max_fails=3 fail_timeout=30s;\n",
        );
        },
        true,
    );
    add(
        "AU007",
        "trigger",
        "AU007 trigger: the certificate was renewed on lb-2 only\n",
        &|s| {
            node(s, "lb-2").put(
                "/etc/ssl/certs/registry.crt",
                "-----BEGIN CERTIFICATE-----\nrenewed-on-lb-2-only\n-----END CERTIFICATE-----\n",
                0o644,
            );
        },
        true,
    );
    add(
        "AU007",
        "near-miss",
        "AU007 near-miss: lb-2 serves the same certificate from another path\n",
        &|s| {
            let h = node(s, "lb-2");
            let crt = h.files.remove("/etc/ssl/certs/registry.crt").unwrap();
            h.files.insert("/etc/nginx/ssl/registry.crt".into(), crt);
            h.edit(
                "/etc/nginx/conf.d/harbor.conf",
                "ssl_certificate /etc/ssl/certs/registry.crt;",
                "ssl_certificate /etc/nginx/ssl/registry.crt;",
            );
        },
        true,
    );
    v
}

/// Facts the AU002 fixtures need written as they are, not from the struct.
fn raw_facts(code: &str, name: &str, dir: &std::path::Path) {
    let p = dir.join("harbor-2/facts.json");
    match (code, name) {
        ("AU002", "trigger") => {
            std::fs::write(p, "{\n  \"hostname\": \"harbor-2\",\n  \"addresses\": [\n    \"10.0.0.12/24\",\n").unwrap()
        }
        ("AU002", "near-miss") => {
            let f = std::fs::read_to_string(&p).unwrap().replacen(
                "{\n",
                "{\n  \"collected_at\": \"2026-12-01T10:00:00Z\",\n",
                1,
            );
            std::fs::write(p, f).unwrap();
        }
        _ => {}
    }
}

fn listing(dir: &std::path::Path) -> Vec<(String, Vec<u8>, u32)> {
    use std::os::unix::fs::PermissionsExt;
    fn walk(base: &std::path::Path, d: &std::path::Path, out: &mut Vec<(String, Vec<u8>, u32)>) {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                // Git keeps only the executable bit: a clone has 0644 where the tree was 0600.
                let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o111;
                out.push((p.strip_prefix(base).unwrap().display().to_string(), std::fs::read(&p).unwrap(), mode));
            }
        }
    }
    let mut v = Vec::new();
    if dir.is_dir() {
        walk(dir, dir, &mut v);
    }
    v.sort();
    v
}

#[test]
fn audit_rule_fixtures_are_current() {
    let update = std::env::var("UPDATE_AUDIT_FIXTURES").is_ok_and(|v| v == "1");
    let scratch = common::TempDir::new("audit-fixtures");
    for (code, name, note, site) in fixtures() {
        let committed = common::root().join("fixtures/rules").join(code).join(name);
        let fresh = scratch.0.join(code).join(name);
        handmade::write(&site, &fresh, note);
        raw_facts(code, name, &fresh);
        if update {
            handmade::write(&site, &committed, note);
            raw_facts(code, name, &committed);
        }
        assert!(
            listing(&committed) == listing(&fresh),
            "fixtures/rules/{code}/{name} is not what tests/audit_fixtures.rs makes: run UPDATE_AUDIT_FIXTURES=1 cargo test -p harbor-ha-core --test audit_fixtures"
        );
    }
}
