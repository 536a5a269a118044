//! Field failures the bundle makes impossible (issue 12):
//! - two LBs with `tls: {self_signed: true}` get the same certificate and key (made once per
//!   site), and the runbook gives its fingerprint and the client step;
//! - Trivy on an NFS data_volume gets a node-local cache, and replication names the topology
//!   knows become `extra_hosts`, both through `docker-compose.override.yml`, which real
//!   `docker-compose config` merges with a compose file shaped like prepare's (same service
//!   names, the same bind targets, the same `version` per Harbor release).

#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::disallowed_macros,
    reason = "tests set up files and run the real programs"
)]

mod common;

use std::path::Path;
use std::process::Command;

use harbor_ha_core::model::enums::Role;

fn fixture(name: &str) -> (harbor_ha_core::ValidTopology, harbor_ha_core::bundle::Bundle) {
    let t = common::topology(&common::root().join(name));
    let b = common::render_topology(&t);
    (t, b)
}

#[test]
fn both_lbs_serve_the_sites_one_self_signed_pair() {
    let (t, b) = fixture("fixtures/valid/shared-storage-nfs-trivy-two-lbs-self-signed.yaml");
    let site = &t.sites[0];
    let lbs: Vec<_> = site.hosts_with(Role::Lb).collect();
    assert_eq!(lbs.len(), 2);
    let file = |h: &str, p: &str| b.files.get(&format!("hosts/{h}/files{p}")).unwrap_or_else(|| panic!("{h}{p}"));
    let (crt, key) = ("/etc/nginx/ssl/registry.scan.example.net.crt", "/etc/nginx/ssl/registry.scan.example.net.key");
    let stored_crt = &b.files["secrets/scan/lb_certificate.pem"];
    let stored_key = &b.files["secrets/scan/lb_private_key.pem"];
    assert_eq!(stored_key.mode, 0o600);
    for h in &lbs {
        assert_eq!(file(h.name.as_str(), crt).content, stored_crt.content, "{}: another certificate", h.name);
        assert_eq!(file(h.name.as_str(), key).content, stored_key.content, "{}: another key", h.name);
        assert_eq!(file(h.name.as_str(), key).mode, 0o600);
        let sh = &b.files[&format!("hosts/{}/install.sh", h.name)].content;
        assert!(sh.contains(&format!("put {crt} 0644")) && sh.contains(&format!("put {key} 0600")), "{sh}");
        assert!(!sh.contains("openssl req"), "{}: the LB must not make its own certificate", h.name);
    }
    let fp = harbor_ha_core::secrets::certificate_fingerprint(&stored_crt.content).unwrap();
    let readme = &b.files["README.md"].content;
    assert!(readme.contains(&fp), "the runbook lacks the fingerprint");
    assert!(readme.contains("/etc/docker/certs.d/registry.scan.example.net/ca.crt"), "{readme}");
    // A site with its own certificate files ships no pair.
    let (_, seed) = fixture("fixtures/examples/seed.yaml");
    assert!(!seed.files.keys().any(|k| k.contains("lb_certificate")));
}

/// A compose file with what prepare writes for the services the override touches, as the
/// version's template has it (`version: '2.3'` up to 2.11, none from 2.12).
fn prepare_like_compose(data_volume: &str, spec_format: bool) -> String {
    let mut s = String::new();
    if !spec_format {
        s.push_str("version: '2.3'\n");
    }
    s.push_str("services:\n");
    for svc in ["core", "jobservice"] {
        s.push_str(&format!("  {svc}:\n    image: goharbor/harbor-{svc}:test\n    networks: [harbor]\n"));
    }
    s.push_str(&format!(
        "  trivy-adapter:\n    image: goharbor/trivy-adapter-photon:test\n    networks: [harbor]\n    volumes:\n      - type: bind\n        source: {data_volume}/trivy-adapter/trivy\n        target: /home/scanner/.cache/trivy\n      - type: bind\n        source: {data_volume}/trivy-adapter/reports\n        target: /home/scanner/.cache/reports\n      - type: bind\n        source: ./common/config/shared/trust-certificates\n        target: /harbor_cust_cert\n"
    ));
    s.push_str("networks:\n  harbor:\n    external: false\n");
    s
}

/// `docker-compose config` in `dir` without `-f`, as Harbor's install.sh runs compose.
fn compose_config(dir: &Path) -> serde_yaml::Value {
    let o = Command::new("docker-compose").arg("config").current_dir(dir).output().expect("docker-compose runs");
    assert!(o.status.success(), "docker-compose config: {}", String::from_utf8_lossy(&o.stderr));
    serde_yaml::from_slice(&o.stdout).unwrap()
}

#[test]
fn the_override_survives_prepare_and_merges() {
    if !common::require_tool("docker-compose") {
        return;
    }
    let cases = [
        ("fixtures/valid/shared-storage-nfs-trivy-two-lbs-self-signed.yaml", "scan-h1", false, true),
        ("fixtures/valid/hierarchy-three-sites.yaml", "hq-node-1", true, false),
    ];
    for (fixture_path, node, spec_format, trivy) in cases {
        let (t, b) = fixture(fixture_path);
        let site = t.sites.iter().find(|s| s.hosts.iter().any(|h| h.name.as_str() == node)).unwrap();
        let host = site.hosts.iter().find(|h| h.name.as_str() == node).unwrap();
        let over = &b.files[&format!("hosts/{node}/files/usr/local/harbor/docker-compose.override.yml")];
        assert_eq!(over.renderer(), "render::harbor::compose");
        let dir = std::env::temp_dir().join(format!("hha-compose-{}-{node}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("docker-compose.yml"), prepare_like_compose(host.data_volume.as_str(), spec_format))
            .unwrap();
        std::fs::write(dir.join("docker-compose.override.yml"), &over.content).unwrap();
        let merged = compose_config(&dir);
        let svc = &merged["services"];
        if trivy {
            let vols: Vec<(String, String)> = svc["trivy-adapter"]["volumes"]
                .as_sequence()
                .unwrap()
                .iter()
                .map(|v| (v["source"].as_str().unwrap().to_string(), v["target"].as_str().unwrap().to_string()))
                .collect();
            for sub in ["trivy", "reports"] {
                let target = format!("/home/scanner/.cache/{sub}");
                let sources: Vec<&str> = vols.iter().filter(|(_, t)| *t == target).map(|(s, _)| s.as_str()).collect();
                assert_eq!(sources, [format!("/var/lib/harbor-ha/trivy-adapter/{sub}")], "{node}: {vols:?}");
            }
            assert!(vols.iter().any(|(_, t)| t == "/harbor_cust_cert"), "prepare's other binds stay: {vols:?}");
        } else {
            for svc_name in ["core", "jobservice"] {
                let hosts = format!("{:?}", svc[svc_name]["extra_hosts"]);
                assert!(hosts.contains("eu.registry.example.com") && hosts.contains("10.101.0.2"), "{node}: {hosts}");
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn overrides_only_where_needed() {
    // Trivy on S3 (hq) or on a local disk: no local cache needed.
    for (fixture_path, node) in
        [("fixtures/examples/s3.yaml", None), ("fixtures/valid/single-node-debian12.yaml", Some("lab-harbor"))]
    {
        let (_, b) = fixture(fixture_path);
        let overrides: Vec<&String> = b.files.keys().filter(|k| k.ends_with("docker-compose.override.yml")).collect();
        assert!(overrides.is_empty(), "{fixture_path}: {overrides:?}");
        if let Some(n) = node {
            let sh = &b.files[&format!("hosts/{n}/install.sh")].content;
            assert!(sh.contains("grep -qs '^# Generated by harbor-ha' /usr/local/harbor/docker-compose.override.yml"));
        }
    }
}
