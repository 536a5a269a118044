//! The secrets directory across versions: a directory written by an older harbor-ha lacks
//! the newer files (here the load balancers' self-signed pair and a string secret); the next
//! render generates only those and never replaces what exists. The generated LB certificate
//! is checked with openssl.

#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::disallowed_macros,
    reason = "tests set up files and run the real programs"
)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use common::{root, TempDir};
use harbor_ha_core::secrets::{SiteSecrets, LB_FIELDS};
use harbor_ha_io::secrets::load_or_generate;

const FIXTURE: &str = "fixtures/valid/shared-storage-nfs-trivy-two-lbs-self-signed.yaml";

fn topology() -> harbor_ha_core::ValidTopology {
    let (doc, _) = harbor_ha_io::load_file(&root().join(FIXTURE)).unwrap();
    doc.validate().topology.unwrap()
}

fn write_files(dir: &Path, files: &BTreeMap<&'static str, String>) {
    std::fs::create_dir_all(dir).unwrap();
    for (name, v) in files {
        std::fs::write(dir.join(name), v).unwrap();
    }
}

fn openssl(args: &[&str]) -> (bool, String) {
    let o = Command::new("openssl").args(args).output().expect("openssl runs");
    (o.status.success(), format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)))
}

#[test]
fn an_older_secrets_directory_gains_only_its_new_files() {
    let tmp = TempDir::new("secrets-dir");
    let topo = topology();
    let key = std::fs::read_to_string(root().join("tests/keys/test-token.key")).unwrap();
    let crt = std::fs::read_to_string(root().join("tests/keys/test-token.crt")).unwrap();
    // What an older version wrote: no LB pair, and no robot_scanner_prefix.
    let mut old = SiteSecrets::deterministic("old", &key, &crt).to_files();
    for name in LB_FIELDS.iter().chain(&["robot_scanner_prefix"]) {
        old.remove(name);
    }
    let dir = tmp.0.join("secrets");
    write_files(&dir.join("scan"), &old);

    let got = load_or_generate(&topo, Some(&dir)).unwrap();
    let files = got["scan"].to_files();
    for (name, v) in &old {
        assert_eq!(&files[name], v, "{name} was replaced");
    }
    assert_eq!(files["robot_scanner_prefix"].trim_end().len(), 8);
    let lb = got["scan"].lb_tls.clone().expect("the LB pair is generated for a self-signed site");
    assert_ne!(lb.certificate, crt, "a new certificate, not the token one");

    // The certificate: self-signed CA for the server name, matching the key (openssl).
    let cert = tmp.0.join("lb.crt");
    let pkey = tmp.0.join("lb.key");
    std::fs::write(&cert, &lb.certificate).unwrap();
    std::fs::write(&pkey, &lb.private_key).unwrap();
    let c = cert.to_str().unwrap();
    let (ok, text) = openssl(&["x509", "-in", c, "-noout", "-text"]);
    assert!(ok, "{text}");
    assert!(text.contains("CA:TRUE") && text.contains("DNS:registry.scan.example.net"), "{text}");
    assert!(text.contains("TLS Web Server Authentication"), "{text}");
    let (ok, text) = openssl(&["verify", "-CAfile", c, "-purpose", "sslserver", c]);
    assert!(ok, "openssl verify: {text}");
    let (_, from_cert) = openssl(&["x509", "-in", c, "-noout", "-pubkey"]);
    let (_, from_key) = openssl(&["pkey", "-in", pkey.to_str().unwrap(), "-pubout"]);
    assert_eq!(from_cert, from_key, "the certificate is not the key's");
    let (_, fp) = openssl(&["x509", "-in", c, "-noout", "-fingerprint", "-sha256"]);
    assert_eq!(fp.trim().rsplit('=').next(), lb.fingerprint().as_deref(), "fingerprint as openssl prints it");

    // The next render reuses everything, the new pair included.
    write_files(&dir.join("scan"), &files);
    let again = load_or_generate(&topo, Some(&dir)).unwrap();
    assert_eq!(again["scan"].to_files(), files, "a second render rotated a secret");

    // Half a pair is an error naming the file, never a silent new pair.
    std::fs::remove_file(dir.join("scan/lb_private_key.pem")).unwrap();
    let err = load_or_generate(&topo, Some(&dir)).unwrap_err().to_string();
    assert!(err.contains("lb_private_key.pem") && err.contains("missing"), "{err}");
}

#[test]
fn locked_lists_every_file_a_render_would_make_and_generates_none() {
    use harbor_ha_io::secrets::{load_sites, Generation, SecretsDirError};
    let tmp = TempDir::new("secrets-locked");
    let topo = topology();
    let dir = tmp.0.join("secrets");
    let err = load_sites(&topo, Some(&dir), Generation::Never, &|_, _| {}).unwrap_err();
    let SecretsDirError::Locked { missing } = &err else { panic!("not Locked: {err}") };
    // Everything the bundle of the self-signed site carries: the string secrets, the token
    // pair and the LB pair (no cluster: the fixture has one PostgreSQL host).
    let mut want: Vec<String> = harbor_ha_core::secrets::FIELDS
        .iter()
        .map(|(n, _)| *n)
        .chain(LB_FIELDS)
        .map(|n| format!("{}/scan/{n}", dir.display()))
        .collect();
    want.sort();
    let mut got = missing.clone();
    got.sort();
    assert_eq!(got, want);
    assert!(!dir.exists(), "--locked wrote something");

    // Stored in full: read back, nothing new.
    let key = std::fs::read_to_string(root().join("tests/keys/test-token.key")).unwrap();
    let crt = std::fs::read_to_string(root().join("tests/keys/test-token.crt")).unwrap();
    let files = SiteSecrets::deterministic("locked", &key, &crt).to_files();
    write_files(&dir.join("scan"), &files);
    let got = load_sites(&topo, Some(&dir), Generation::Never, &|_, _| {}).unwrap();
    assert_eq!(got["scan"].to_files(), files);
    // The same directory less one file: that file alone.
    std::fs::remove_file(dir.join("scan/xsrf_key")).unwrap();
    let err = load_sites(&topo, Some(&dir), Generation::Never, &|_, _| {}).unwrap_err().to_string();
    assert!(err.contains("scan/xsrf_key") && !err.contains("csrf_key,") && !err.contains("core_secret"), "{err}");
}

#[test]
fn every_site_is_reported_once_to_the_progress_callback_and_kept_in_order() {
    use harbor_ha_io::secrets::{load_sites, Generation};
    let tmp = TempDir::new("secrets-progress");
    let text = harbor_ha_core::synthetic::topology_yaml(5, 2);
    let doc = harbor_ha_core::load_str(&text).unwrap();
    let topo = doc.validate().topology.unwrap();
    let key = std::fs::read_to_string(root().join("tests/keys/test-token.key")).unwrap();
    let crt = std::fs::read_to_string(root().join("tests/keys/test-token.crt")).unwrap();
    let dir = tmp.0.join("secrets");
    // Stored secrets (no key generation): each site its own, so that a mix-up between the
    // threads' results would show.
    for site in &topo.sites {
        write_files(
            &dir.join(site.name.as_str()),
            &SiteSecrets::deterministic(site.name.as_str(), &key, &crt).to_files(),
        );
    }
    let calls = std::sync::Mutex::new(Vec::new());
    let got =
        load_sites(&topo, Some(&dir), Generation::Never, &|done, sites| calls.lock().unwrap().push((done, sites)))
            .unwrap();
    let mut calls = calls.into_inner().unwrap();
    calls.sort_unstable();
    assert_eq!(calls, (1..=5).map(|d| (d, 5)).collect::<Vec<_>>());
    assert_eq!(got.len(), 5);
    for site in &topo.sites {
        let want = SiteSecrets::deterministic(site.name.as_str(), &key, &crt);
        assert_eq!(got[site.name.as_str()].csrf_key, want.csrf_key, "{} got another site's secrets", site.name);
    }
}
