//! Auditing a site: every valid fixture's rendered `hosts/` imports back to the same
//! topology and shows no drift against its own bundle; one byte changed in any rendered
//! file is drift; hand-made 1.10 and 2.11 sites (as the seed guide builds them) import
//! with the right topology; and each mutation the cross-node rules exist for is found with
//! its code, at the file and line of the node that differs.

#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::disallowed_macros,
    reason = "tests read fixtures and print what failed"
)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::handmade::{self, Options};
use harbor_ha_core::audit::classify::{class, FileClass};
use harbor_ha_core::audit::tree::{CollectedTree, HostTree};
use harbor_ha_core::audit::{drift, import, DriftKind, ImportReport};
use harbor_ha_core::bundle::Bundle;
use harbor_ha_core::model::resolved::{Database, Redis, RedisServer, Site, Storage, Topology};
use harbor_ha_core::{Diagnostic, RuleCode};

/// A bundle's `hosts/` as a collected tree (what harbor-ha-io reads from the directory).
fn hosts_tree(b: &Bundle) -> CollectedTree {
    let mut t = CollectedTree::default();
    for (rel, f) in &b.files {
        let Some(rest) = rel.strip_prefix("hosts/") else { continue };
        let Some((host, path)) = rest.split_once('/') else { continue };
        let h = t.hosts.entry(host.to_string()).or_insert_with(HostTree::default);
        if path == "facts.json" {
            h.facts = Some(f.content.clone().into_bytes());
        } else if let Some(abs) = path.strip_prefix("files") {
            h.insert(abs, f.content.clone().into_bytes(), f.mode);
        }
    }
    t
}

fn fail_report(label: &str, r: &ImportReport) -> String {
    format!(
        "{label}\n--- topology ---\n{}\n--- findings ---\n{:#?}\n--- diagnostics ---\n{:#?}",
        r.topology, r.findings, r.diagnostics
    )
}

fn storage_summary(s: &Site) -> String {
    match &s.storage {
        Storage::Local => "local".into(),
        Storage::Nfs(n) => {
            format!("nfs {} {} {} {:?}", n.export, n.mount, n.server, n.server_host.as_ref().map(ToString::to_string))
        }
        Storage::S3(x) => format!(
            "s3 {:?} {:?} {:?} {:?}",
            x.bucket.as_ref().map(|t| t.as_str()),
            x.region.as_ref().map(|t| t.as_str()),
            x.regionendpoint.as_ref().map(|t| t.as_str()),
            x.rootdirectory.as_ref().map(|t| t.as_str())
        ),
        Storage::Swift(x) => format!(
            "swift {:?} {:?} {:?}",
            x.authurl.as_ref().map(|t| t.as_str()),
            x.container.as_ref().map(|t| t.as_str()),
            x.tenant.as_ref().map(|t| t.as_str())
        ),
        Storage::Azure(x) => format!("azure {:?}", x.container.as_ref().map(|t| t.as_str())),
        Storage::Gcs(x) => {
            format!("gcs {:?} {:?}", x.bucket.as_ref().map(|t| t.as_str()), x.keyfile.as_ref().map(ToString::to_string))
        }
        Storage::Oss(x) => format!("oss {:?}", x.bucket.as_ref().map(|t| t.as_str())),
    }
}

fn database_summary(s: &Site, with_version: bool) -> String {
    match &s.database {
        Database::Internal => "internal".into(),
        Database::External(db) => {
            let kind = match (&db.installed_on, &db.cluster) {
                (_, Some(c)) => {
                    format!("cluster {:?}", c.members.iter().map(|m| m.name.to_string()).collect::<Vec<_>>())
                }
                (Some(h), None) => format!("installed on {h}"),
                (None, None) => format!("host {}", db.host),
            };
            let v = if with_version && (db.installed_on.is_some() || db.cluster.is_some()) {
                db.version.postgres_text()
            } else {
                String::new()
            };
            format!("{kind} {v} port {} user {} db {}", db.port, db.username, db.db_name)
        }
    }
}

fn redis_summary(s: &Site) -> String {
    match &s.redis {
        Redis::Internal => "internal".into(),
        Redis::External(r) => {
            let kind = match &r.server {
                RedisServer::Single { host, installed_on } => format!("single {host} {installed_on:?}"),
                RedisServer::Sentinel(sn) => format!(
                    "sentinel {} {:?}",
                    sn.master_set.as_str(),
                    sn.hosts.iter().map(|h| h.as_str().to_string()).collect::<Vec<_>>()
                ),
                RedisServer::Cluster(c) => format!(
                    "cluster {:?} {}",
                    c.data.iter().map(|m| m.name.to_string()).collect::<Vec<_>>(),
                    c.master_set.as_str()
                ),
            };
            format!("{kind} port {} idx {:?}", r.port, r.db_index)
        }
    }
}

/// One line per host: address, roles, OS, and the node's port and data volume.
fn host_lines(s: &Site) -> BTreeMap<String, String> {
    s.hosts
        .iter()
        .map(|h| {
            let roles: Vec<&str> = h.roles.iter().map(|r| r.as_str()).collect();
            let node = if roles.contains(&"harbor") {
                format!(" port {} dv {}", h.http_port, h.data_volume)
            } else {
                String::new()
            };
            let iface = if roles.contains(&"lb") && s.lb.as_ref().is_some_and(|l| l.vip.is_some()) {
                format!(" if {}", h.interface)
            } else {
                String::new()
            };
            (h.name.to_string(), format!("{} {roles:?} {:?}{node}{iface}", h.address, h.os))
        })
        .collect()
}

/// The two models have the same sites (by their hosts), hosts, roles, addresses, versions
/// and storage (and the database, Redis and load balancer the site uses).
fn assert_same_model(label: &str, orig: &Topology, imp: &Topology) {
    let by_hosts = |t: &Topology| -> BTreeMap<BTreeSet<String>, usize> {
        t.sites.iter().enumerate().map(|(i, s)| (s.hosts.iter().map(|h| h.name.to_string()).collect(), i)).collect()
    };
    let (a, b) = (by_hosts(orig), by_hosts(imp));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>(), "{label}: the sites differ");
    for (hosts, &i) in &a {
        let (o, m) = (&orig.sites[i], &imp.sites[b[hosts]]);
        let l = format!("{label}: site {}", o.name);
        assert_eq!(host_lines(o), host_lines(m), "{l}: hosts");
        assert_eq!(o.harbor.version, m.harbor.version, "{l}: Harbor version");
        assert_eq!(o.harbor.external_url, m.harbor.external_url, "{l}: external_url");
        assert_eq!(o.harbor.components, m.harbor.components, "{l}: components");
        assert_eq!(o.harbor.install_dir, m.harbor.install_dir, "{l}: install_dir");
        assert_eq!(o.mode, m.mode, "{l}: mode");
        assert_eq!(o.subnet, m.subnet, "{l}: subnet");
        assert_eq!(storage_summary(o), storage_summary(m), "{l}: storage");
        assert_eq!(o.disable_redirect, m.disable_redirect, "{l}: disable_redirect");
        assert_eq!(database_summary(o, true), database_summary(m, true), "{l}: database");
        assert_eq!(redis_summary(o), redis_summary(m), "{l}: redis");
        let lb = |s: &Site| s.lb.as_ref().map(|l| (l.vip, l.affinity, l.virtual_router_id, l.server_name.to_string()));
        assert_eq!(lb(o), lb(m), "{l}: load balancer");
    }
}

#[test]
fn every_valid_fixture_imports_back_to_its_topology() {
    let fixtures = common::renderable_fixtures();
    assert!(fixtures.len() >= 15);
    for p in fixtures {
        let label = p.display().to_string();
        let t = common::topology(&p);
        let b = common::render_topology(&t);
        let r = import(&hosts_tree(&b));
        assert!(!r.has_errors(), "{}", fail_report(&label, &r));
        assert!(r.findings.is_empty(), "{}", fail_report(&label, &r));
        // Placeholders only for what the hosts' files cannot hold: an external database's version.
        for d in r.diagnostics.iter().filter(|d| d.code == RuleCode::AU001) {
            assert!(d.path.ends_with("database.version"), "{}", fail_report(&label, &r));
        }
        let imported = common::topology_str(&format!("{label} (imported)"), &r.topology);
        assert_same_model(&label, &t, &imported);
    }
}

#[test]
fn a_bundle_shows_no_drift_against_its_own_hosts() {
    for p in common::renderable_fixtures() {
        let b = common::render_topology(&common::topology(&p));
        let tree = hosts_tree(&b);
        let r = drift(&tree, &tree, &[]);
        assert!(r.clean, "{}: {:#?}", p.display(), r.findings);
        assert!(r.files > 0 && !r.hosts.is_empty());
    }
}

/// Flip one byte of every rendered file, one at a time, on the collected side: drift names
/// that file (and only that file).
#[test]
fn one_byte_changed_in_any_rendered_file_is_drift() {
    let mut checked = 0;
    for p in common::renderable_fixtures() {
        let b = common::render_topology(&common::topology(&p));
        let want = hosts_tree(&b);
        for (rel, f) in b.files.iter().filter(|(r, _)| r.starts_with("hosts/") && r.contains("/files/")) {
            let (host, abs) = rel["hosts/".len()..].split_once("/files").unwrap();
            let mut bytes = f.content.clone().into_bytes();
            let i = bytes.len() / 2;
            bytes[i] ^= 0x01;
            let mut got = want.clone();
            let h = got.hosts.get_mut(host).unwrap();
            h.files.retain(|k, _| k != abs && *k != format!("{abs}.sha256"));
            h.insert(abs, bytes, f.mode);
            let r = drift(&want, &got, &[]);
            let hits: Vec<_> = r.findings.iter().map(|x| (x.host.as_str(), x.path.as_str(), x.kind)).collect();
            assert_eq!(hits, vec![(host, abs, DriftKind::Changed)], "{}: {rel}", p.display());
            // A secret-bearing file's diff never shows a value (only its digest).
            if class(abs) != FileClass::Plain {
                for x in &r.findings {
                    assert!(
                        x.diff.as_deref().is_none_or(|d| !d.contains("Env-") && !d.contains("<secret")),
                        "{rel}: {d:?}",
                        d = x.diff
                    );
                }
            }
            checked += 1;
        }
    }
    assert!(checked > 400, "only {checked} files");
}

#[test]
fn drift_reports_missing_extra_mode_and_facts() {
    let p = common::root().join("fixtures/valid/shared-storage-nfs-trivy-two-lbs-self-signed.yaml");
    let b = common::render_topology(&common::topology(&p));
    let want = hosts_tree(&b);
    let mut got = want.clone();
    let lb = got.hosts.get_mut("scan-lb1").unwrap();
    lb.files.remove("/etc/keepalived/check_nginx.sh");
    lb.insert("/etc/keepalived/old-notify.sh", b"#!/bin/sh\n".to_vec(), 0o755);
    lb.files.get_mut("/etc/nginx/conf.d/harbor.conf").unwrap().mode = 0o666;
    let facts = String::from_utf8(lb.facts.clone().unwrap()).unwrap().replace("\"keepalived\",\n", "");
    lb.facts = Some(facts.into_bytes());
    got.hosts.remove("scan-h2");
    let r = drift(&want, &got, &[]);
    let kinds: Vec<(&str, &str, DriftKind)> =
        r.findings.iter().map(|f| (f.host.as_str(), f.path.as_str(), f.kind)).collect();
    assert!(kinds.contains(&("scan-lb1", "/etc/keepalived/check_nginx.sh", DriftKind::Missing)), "{kinds:?}");
    assert!(kinds.contains(&("scan-lb1", "/etc/keepalived/old-notify.sh", DriftKind::Extra)), "{kinds:?}");
    assert!(kinds.contains(&("scan-lb1", "/etc/nginx/conf.d/harbor.conf", DriftKind::Mode)), "{kinds:?}");
    assert!(
        r.findings.iter().any(|f| f.kind == DriftKind::Facts && f.message.contains("keepalived is not active")),
        "{kinds:?}"
    );
    assert!(kinds.contains(&("scan-h2", "", DriftKind::HostMissing)), "{kinds:?}");
    // Restricted to one host, only its differences.
    let only = drift(&want, &got, &["scan-store".to_string()]);
    assert!(only.clean, "{:#?}", only.findings);
}

/// A file install.sh puts with another mode than its bundle copy's (redis.conf: private in the
/// bundle, group-readable for redis on the host) is compared with the installed mode; the
/// samples packages put in a directory the bundle owns, and files no service reads there,
/// are not drift (Debian's keepalived ships /etc/keepalived/keepalived.conf.sample).
#[test]
fn drift_compares_installed_modes_and_skips_what_no_service_reads() {
    use harbor_ha_core::audit::facts::Facts;
    let p = common::root().join("fixtures/valid/shared-storage-nfs-trivy-two-lbs-self-signed.yaml");
    let b = common::render_topology(&common::topology(&p));
    let want = hosts_tree(&b);
    let store = &want.hosts["scan-store"];
    let wf = Facts::parse(store.facts.as_deref().unwrap()).unwrap();
    assert_eq!(wf.modes.get("/etc/redis/redis.conf").map(String::as_str), Some("0640"), "{:?}", wf.modes);
    assert_eq!(store.digest("/etc/redis/redis.conf").unwrap().mode & 0o7777, 0o600);
    // As collected from the host: the file's real mode, facts without `modes`.
    let as_collected = |mode: u32| {
        let mut got = want.clone();
        let h = got.hosts.get_mut("scan-store").unwrap();
        h.files.get_mut("/etc/redis/redis.conf.sha256").unwrap().mode = mode;
        h.facts = Some(Facts { modes: BTreeMap::new(), ..wf.clone() }.to_json().into_bytes());
        got
    };
    let r = drift(&want, &as_collected(0o640), &[]);
    assert!(r.clean, "{:#?}", r.findings);
    let r = drift(&want, &as_collected(0o600), &[]);
    let kinds: Vec<_> = r.findings.iter().map(|f| (f.path.as_str(), f.kind, f.message.as_str())).collect();
    assert_eq!(
        kinds,
        vec![("/etc/redis/redis.conf", DriftKind::Mode, "/etc/redis/redis.conf has mode 0600, the bundle 0640")]
    );
    let mut got = want.clone();
    let lb = got.hosts.get_mut("scan-lb1").unwrap();
    lb.insert("/etc/keepalived/keepalived.conf.sample", b"! sample\n".to_vec(), 0o644);
    lb.insert("/etc/keepalived/keepalived.conf.dpkg-old", b"! old\n".to_vec(), 0o644);
    lb.insert("/etc/nginx/conf.d/harbor.conf.bak", b"# old\n".to_vec(), 0o644);
    lb.insert("/etc/nginx/conf.d/default.conf", b"server {}\n".to_vec(), 0o644);
    lb.insert("/etc/keepalived/notify.sh", b"#!/bin/sh\n".to_vec(), 0o755);
    let r = drift(&want, &got, &[]);
    let extra: Vec<_> = r.findings.iter().map(|f| (f.path.as_str(), f.kind)).collect();
    assert_eq!(
        extra,
        vec![("/etc/keepalived/notify.sh", DriftKind::Extra), ("/etc/nginx/conf.d/default.conf", DriftKind::Extra)]
    );
}

fn codes_at(r: &ImportReport, code: RuleCode) -> Vec<&Diagnostic> {
    r.findings.iter().filter(|d| d.code == code).collect()
}

/// Each mutation of a rendered tree is found with its code, at the node that differs.
#[test]
fn mutations_of_a_rendered_site_are_found_with_their_code() {
    let p = common::root().join("fixtures/valid/shared-storage-nfs-trivy-two-lbs-self-signed.yaml");
    let b = common::render_topology(&common::topology(&p));
    let clean = hosts_tree(&b);
    assert!(import(&clean).findings.is_empty());
    type Mutation = (&'static str, RuleCode, &'static str, fn(&mut CollectedTree));
    let mutations: Vec<Mutation> = vec![
        ("CSRF key", RuleCode::AU003, "scan-h2/files/etc/harbor-ha/shared-secrets.env", |t| {
            let h = t.hosts.get_mut("scan-h2").unwrap();
            let text = h.text("/etc/harbor-ha/shared-secrets.env").unwrap().to_string();
            let line = text.lines().find(|l| l.starts_with("CSRF_KEY=")).unwrap().to_string();
            let changed = text.replace(&line, "CSRF_KEY=AnotherKeyOf32CharactersXxxxxxxx");
            h.files.remove("/etc/harbor-ha/shared-secrets.env");
            h.insert("/etc/harbor-ha/shared-secrets.env", changed.into_bytes(), 0o600);
        }),
        ("secretkey", RuleCode::AU003, "scan-h2/files/data/secret/keys/secretkey.sha256", |t| {
            let h = t.hosts.get_mut("scan-h2").unwrap();
            h.files.remove("/data/secret/keys/secretkey.sha256");
            h.insert("/data/secret/keys/secretkey", b"0123456789abcdef".to_vec(), 0o600);
        }),
        ("token key", RuleCode::AU003, "scan-h2/files/data/secret/core/private_key.pem.sha256", |t| {
            let h = t.hosts.get_mut("scan-h2").unwrap();
            h.files.remove("/data/secret/core/private_key.pem.sha256");
            h.insert("/data/secret/core/private_key.pem", b"-----BEGIN RSA PRIVATE KEY-----\nother\n".to_vec(), 0o600);
        }),
        ("Harbor version", RuleCode::AU004, "scan-h2/facts.json", |t| {
            let h = t.hosts.get_mut("scan-h2").unwrap();
            let f = String::from_utf8(h.facts.clone().unwrap())
                .unwrap()
                .replace("\"harbor_version\": \"2.11.1\"", "\"harbor_version\": \"2.10.3\"");
            h.facts = Some(f.into_bytes());
        }),
        ("upstream", RuleCode::AU006, "scan-lb2/files/etc/nginx/conf.d/harbor.conf", |t| {
            let h = t.hosts.get_mut("scan-lb2").unwrap();
            let text = h.text("/etc/nginx/conf.d/harbor.conf").unwrap().to_string();
            let line = text.lines().find(|l| l.contains("server 10.40.0.12:80")).unwrap().to_string();
            h.insert("/etc/nginx/conf.d/harbor.conf", text.replace(&format!("{line}\n"), "").into_bytes(), 0o644);
        }),
        ("LB certificate", RuleCode::AU007, "scan-lb2/files/etc/nginx/conf.d/harbor.conf", |t| {
            let h = t.hosts.get_mut("scan-lb2").unwrap();
            let crt = "/etc/nginx/ssl/registry.scan.example.net.crt";
            h.files.remove(&format!("{crt}.sha256"));
            h.insert(crt, b"-----BEGIN CERTIFICATE-----\nanother\n-----END CERTIFICATE-----\n".to_vec(), 0o644);
        }),
    ];
    for (what, code, file, mutate) in mutations {
        let mut t = clean.clone();
        mutate(&mut t);
        let r = import(&t);
        let found = codes_at(&r, code);
        assert!(!found.is_empty(), "{what}: {code} not found: {}", fail_report(what, &r));
        assert!(found.iter().all(|d| d.path == file && d.line.is_some()), "{what}: {found:#?}");
        let others: Vec<_> = r.findings.iter().filter(|d| d.code != code).collect();
        assert!(others.is_empty(), "{what}: other findings {others:#?}");
    }
}

fn handmade(v2: bool, consistent: bool, guide_flaws: bool) -> handmade::Site {
    handmade::site(Options { v2, consistent, guide_flaws })
}

#[test]
fn a_handmade_110_site_imports_as_the_seed_guide_built_it() {
    let site = handmade(false, true, false);
    let r = import(&handmade::tree(&site));
    assert!(!r.has_errors(), "{}", fail_report("1.10", &r));
    let t = common::topology_str("imported 1.10", &r.topology);
    assert_eq!(t.sites.len(), 1);
    let s = &t.sites[0];
    assert_eq!(s.harbor.version.to_string(), "1.10.2");
    assert_eq!(s.harbor.external_url.as_str(), "https://harbor.example.com/");
    assert!(s.harbor.components.is_empty());
    assert_eq!(s.subnet.to_string(), "192.168.166.0/24");
    let hosts = host_lines(s);
    assert_eq!(hosts["store-1"], "192.168.166.122 [\"nfs\", \"postgres\", \"redis\"] Centos7");
    assert_eq!(hosts["harbor-1"], "192.168.166.81 [\"harbor\"] Centos7 port 80 dv /data");
    assert_eq!(hosts["harbor-2"], "192.168.166.212 [\"harbor\"] Centos7 port 80 dv /data");
    assert_eq!(hosts["lb-1"], "192.168.166.10 [\"lb\"] Centos7");
    assert_eq!(storage_summary(s), "nfs /data/harbor_data /data 192.168.166.122 Some(\"store-1\")");
    assert_eq!(database_summary(s, true), "installed on store-1 9.6 port 5432 user harbor db registry");
    assert!(
        redis_summary(s).starts_with("single 192.168.166.122 Some(HostName(\"store-1\")) port 6379"),
        "{}",
        redis_summary(s)
    );
    let lb = s.lb.as_ref().unwrap();
    assert_eq!((lb.server_name.as_str(), lb.vip), ("harbor.example.com", None));
}

#[test]
fn a_handmade_211_site_imports_with_its_two_load_balancers() {
    let site = handmade(true, true, false);
    let r = import(&handmade::tree(&site));
    assert!(!r.has_errors(), "{}", fail_report("2.11", &r));
    assert!(r.findings.is_empty(), "{}", fail_report("2.11", &r));
    let t = common::topology_str("imported 2.11", &r.topology);
    let s = &t.sites[0];
    assert_eq!(s.harbor.version.to_string(), "2.11.1");
    assert_eq!(s.harbor.external_url.as_str(), "https://registry.example.org/");
    assert_eq!(s.harbor.components.iter().map(|c| format!("{c:?}")).collect::<Vec<_>>(), ["Trivy"]);
    let hosts = host_lines(s);
    assert_eq!(hosts["lb-1"], "10.0.0.2 [\"lb\"] Debian12 if eth0");
    assert_eq!(hosts["lb-2"], "10.0.0.3 [\"lb\"] Debian12 if eth0");
    assert_eq!(hosts["store-1"], "10.0.0.20 [\"nfs\", \"postgres\", \"redis\"] Debian12");
    assert_eq!(storage_summary(s), "nfs /srv/nfs/harbor /data 10.0.0.20 Some(\"store-1\")");
    assert_eq!(database_summary(s, true), "installed on store-1 15 port 5432 user harbor db registry");
    let lb = s.lb.as_ref().unwrap();
    assert_eq!(lb.vip.map(|v| v.to_string()).as_deref(), Some("10.0.0.100"));
    assert!(
        r.topology
            .contains("tls: {certificate: \"/etc/ssl/certs/registry.crt\", key: \"/etc/ssl/private/registry.key\"}"),
        "{}",
        r.topology
    );
}

/// The mutations of the issue on hand-made sites of both releases: each is found with its
/// code, pointing at the node's file and line.
#[test]
fn mutations_of_handmade_sites_are_found_with_their_code() {
    // (what, code, where the finding must point, the mutation for 1.10 / 2.11)
    type Case = (&'static str, RuleCode, &'static str, fn(&mut handmade::Site, bool));
    let cases: Vec<Case> = vec![
        (
            "CSRF/XSRF key of one node",
            RuleCode::AU003,
            "harbor-2/files/usr/local/harbor/common/config/core/",
            |s, v2| {
                let h = s.get_mut("harbor-2").unwrap();
                if v2 {
                    let env = "/usr/local/harbor/common/config/core/env";
                    let line = h.text(env).lines().find(|l| l.starts_with("CSRF_KEY=")).unwrap().to_string();
                    h.edit(env, &line, "CSRF_KEY=Zz0123456789abcdefghijklmnopqrst");
                } else {
                    let app = "/usr/local/harbor/common/config/core/app.conf";
                    let line = h.text(app).lines().find(|l| l.starts_with("XSRFKey")).unwrap().to_string();
                    h.edit(app, &line, "XSRFKey = Zz0123456789abcdefghijklmnopqrstuvwxyzAB");
                }
            },
        ),
        ("secretkey of one node", RuleCode::AU003, "harbor-2/files/data/secret/keys/secretkey.sha256", |s, _| {
            s.get_mut("harbor-2").unwrap().put("/data/secret/keys/secretkey", "fedcba9876543210", 0o600);
        }),
        ("token key of one node", RuleCode::AU003, "harbor-2/files/data/secret/core/private_key.pem.sha256", |s, _| {
            s.get_mut("harbor-2").unwrap().edit("/data/secret/core/private_key.pem", "-----END", "x\n-----END");
        }),
        ("a node on another Harbor version", RuleCode::AU004, "harbor-2/", |s, v2| {
            let h = s.get_mut("harbor-2").unwrap();
            let (from, to) = if v2 { ("v2.11.1", "v2.10.3") } else { ("v1.10.2", "v1.10.1") };
            let compose = h.text("/usr/local/harbor/docker-compose.yml").replace(from, to);
            h.put("/usr/local/harbor/docker-compose.yml", compose, 0o644);
            h.facts.harbor_version = Some(to.trim_start_matches('v').to_string());
            for img in h.facts.images.values_mut() {
                *img = img.replace(from, to);
            }
        }),
        ("an nginx upstream missing", RuleCode::AU006, "lb-1/files/etc/nginx/conf.d/", |s, v2| {
            let h = s.get_mut("lb-1").unwrap();
            let conf = if v2 { "/etc/nginx/conf.d/harbor.conf" } else { "/etc/nginx/conf.d/harbor.example.com.conf" };
            let addr = if v2 { "10.0.0.12" } else { "192.168.166.212" };
            h.edit(conf, &format!("    server {addr}:80;\n"), "");
        }),
    ];
    for v2 in [false, true] {
        let base = handmade(v2, true, false);
        assert!(import(&handmade::tree(&base)).findings.is_empty(), "v2={v2}: the consistent site has findings");
        for (what, code, at, mutate) in &cases {
            let mut s = base.clone();
            mutate(&mut s, v2);
            let r = import(&handmade::tree(&s));
            let found = codes_at(&r, *code);
            assert!(!found.is_empty(), "v2={v2} {what}: {}", fail_report(what, &r));
            assert!(
                found.iter().all(|d| d.path.starts_with(at) && d.line.is_some_and(|l| l >= 1)),
                "v2={v2} {what}: {found:#?}"
            );
            let others: Vec<_> = r.findings.iter().filter(|d| d.code != *code).collect();
            assert!(others.is_empty(), "v2={v2} {what}: {others:#?}");
        }
    }
    // Different LB certificates (the 2.11 site has two load balancers).
    let mut s = handmade(true, true, false);
    s.get_mut("lb-2").unwrap().put(
        "/etc/ssl/certs/registry.crt",
        "-----BEGIN CERTIFICATE-----\nrenewed on lb-2 only\n",
        0o644,
    );
    let r = import(&handmade::tree(&s));
    let found = codes_at(&r, RuleCode::AU007);
    assert_eq!(found.len(), 1, "{}", fail_report("certificates", &r));
    assert_eq!((found[0].path.as_str(), found[0].line), ("lb-2/files/etc/nginx/conf.d/harbor.conf", Some(14)));
}

/// The seed guide's own site, prepare run on each node: the per-run secrets differ, the
/// nodes have no external_url, and the topology shows the guide's other flaws.
#[test]
fn the_seed_guides_site_shows_its_inconsistent_nodes() {
    let site = handmade(false, false, true);
    let r = import(&handmade::tree(&site));
    let f: BTreeSet<(RuleCode, String, usize)> =
        r.findings.iter().map(|d| (d.code, d.path.clone(), d.line.unwrap_or(0))).collect();
    let core = "harbor-2/files/usr/local/harbor/common/config/core";
    let want = [
        (RuleCode::AU003, format!("{core}/app.conf"), 8),
        (RuleCode::AU003, format!("{core}/env"), 25),
        (RuleCode::AU003, format!("{core}/env"), 26),
        (RuleCode::AU005, "harbor-1/files/usr/local/harbor/harbor.yml".to_string(), 5),
        (RuleCode::AU005, "harbor-2/files/usr/local/harbor/harbor.yml".to_string(), 5),
    ];
    for w in &want {
        assert!(f.contains(w), "missing {w:?} in {f:#?}");
    }
    assert_eq!(f.len(), want.len(), "{f:#?}");
    // The shared keys are on the NFS volume: one file, no finding.
    assert!(!r.findings.iter().any(|d| d.message.contains("secretkey")
        || d.message.contains("token signing")
        || d.message.contains("root.crt")));
    let codes: BTreeSet<RuleCode> = r.diagnostics.iter().map(|d| d.code).collect();
    for c in [RuleCode::DB003, RuleCode::RD003, RuleCode::DB005] {
        assert!(codes.contains(&c), "{c} missing: {}", fail_report("seed", &r));
    }
}

/// No value of a secret-bearing file ever reaches the report, JSON included.
#[test]
fn secrets_never_reach_the_report() {
    for (v2, consistent, flaws) in [(false, false, true), (true, false, false), (true, true, false)] {
        let site = handmade(v2, consistent, flaws);
        let r = import(&handmade::tree(&site));
        let json = serde_json::to_string(&r).unwrap();
        let mut secrets = Vec::new();
        for h in site.values() {
            for (p, (c, _)) in &h.files {
                let text = String::from_utf8_lossy(c);
                match class(p) {
                    FileClass::Opaque => secrets
                        .extend(text.lines().filter(|l| l.len() >= 8 && !l.starts_with("-----")).map(str::to_string)),
                    FileClass::Redacted => {
                        for l in text.lines() {
                            for key in [
                                "CSRF_KEY=",
                                "CORE_SECRET=",
                                "JOBSERVICE_SECRET=",
                                "POSTGRESQL_PASSWORD=",
                                "XSRFKey = ",
                                "password: ",
                                "auth_pass ",
                            ] {
                                if let Some(v) = l.trim_start().strip_prefix(key).filter(|v| v.len() >= 8) {
                                    secrets.push(v.to_string());
                                }
                            }
                        }
                    }
                    FileClass::Plain => {}
                }
            }
        }
        assert!(secrets.len() >= 8, "{secrets:?}");
        for s in secrets {
            assert!(!json.contains(&s), "a secret reached the report: {s}");
        }
    }
}

/// Broken, hostile and empty trees: findings, never a panic.
#[test]
fn broken_trees_never_panic() {
    let mut t = CollectedTree::default();
    let h = t.hosts.entry("Weird host: \"x\"\n- y".into()).or_default();
    h.insert("/usr/local/harbor/harbor.yml", b"hostname: [unclosed\n".to_vec(), 0o600);
    h.facts = Some(b"{not json".to_vec());
    let g = t.hosts.entry("g".into()).or_default();
    g.insert("/opt/harbor/harbor.yml", format!("a: {}1{}\n", "[".repeat(5000), "]".repeat(5000)).into_bytes(), 0o600);
    g.insert("/etc/nginx/conf.d/x.conf", vec![0xff, 0xfe, b'{', b'}'], 0o644);
    g.insert(
        "/etc/keepalived/keepalived.conf",
        "vrrp_instance { virtual_ipaddress { 999.1.1.1 }".as_bytes().to_vec(),
        0o644,
    );
    g.facts = Some(b"[]".to_vec());
    let r = import(&t);
    let au002: Vec<_> = r.findings.iter().filter(|d| d.code == RuleCode::AU002).collect();
    assert!(au002.len() >= 2, "{r:#?}");
    assert!(!r.topology.is_empty());
    // A host name that would break YAML is quoted: the text still parses (or fails only on
    // the placeholder), never on the name.
    let _ = harbor_ha_core::load_str(&r.topology);
    let empty = import(&CollectedTree::default());
    assert!(empty.diagnostics.iter().any(|d| d.code == RuleCode::AU001), "{empty:#?}");
}
