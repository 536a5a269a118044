//! A Harbor node's install.sh never replaces a `secretkey` or token key that differs from
//! the bundle's (Harbor encrypts stored credentials with it) unless the operator sets
//! `HARBOR_HA_REPLACE_KEYS=1`: the generated helpers and the shared-keys step, run with bash
//! against a data volume in a temporary directory.

#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::disallowed_macros,
    reason = "tests set up files and run the real programs"
)]

mod common;

use std::path::Path;
use std::process::Command;

/// The script to run: install.sh's helpers and its shared-keys step (without the
/// `/etc/harbor-ha` file, which stays off this machine).
fn keys_script(install_sh: &str, here: &Path) -> String {
    let lines: Vec<&str> = install_sh.lines().collect();
    let from = lines.iter().position(|l| l.starts_with("log() {")).unwrap();
    let to = lines.iter().position(|l| l.starts_with("[ \"$(id -u)\" -eq 0 ]")).unwrap();
    let step = lines.iter().position(|l| l.starts_with("step 'shared keys:")).unwrap();
    let body: Vec<&str> = lines[step + 1..].iter().take_while(|l| !l.starts_with("put /etc/")).copied().collect();
    format!(
        "set -euo pipefail\nFILES={}/files\nCHANGED=0\nPUT_CHANGED=0\n{}\n{}\n",
        here.display(),
        lines[from..to].join("\n"),
        body.join("\n")
    )
}

fn run(script: &str, replace: bool) -> (bool, String) {
    let mut c = Command::new("bash");
    c.arg("-c").arg(script).env_remove("HARBOR_HA_REPLACE_KEYS");
    if replace {
        c.env("HARBOR_HA_REPLACE_KEYS", "1");
    }
    let o = c.output().expect("bash runs");
    (o.status.success(), format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)))
}

#[test]
fn install_sh_refuses_to_replace_a_different_key() {
    if !common::require_tool("bash") {
        return;
    }
    let base = std::env::temp_dir().join(format!("hha-keys-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let data = base.join("data");
    let yaml = format!(
        "version: 1\nsites:\n  - name: lab\n    os: debian12\n    harbor: {{version: \"2.11.1\", external_url: http://10.1.0.5, admin_password: Abcdefg-1}}\n    network: {{subnet: 10.1.0.0/24}}\n    hosts:\n      - {{name: node, address: 10.1.0.5, roles: [harbor], data_volume: {}}}\n",
        data.display()
    );
    let t = common::topology_str("keys", &yaml);
    let b = common::render_topology(&t);
    let tree = base.join("bundle");
    common::write_tree(&b, &tree);
    let here = tree.join("hosts/node");
    let script = keys_script(&std::fs::read_to_string(here.join("install.sh")).unwrap(), &here);
    let key_path = data.join("secret/keys/secretkey");
    let bundled = |p: &Path| here.join(format!("files{}", p.display()));

    // First install: the bundle's keys are put in place; a second run changes nothing.
    let (ok, out) = run(&script, false);
    assert!(ok, "{out}");
    let first = std::fs::read_to_string(&key_path).unwrap();
    assert_eq!(first, std::fs::read_to_string(bundled(&key_path)).unwrap());
    let (ok, out) = run(&script, false);
    assert!(ok && !out.contains("updated"), "{out}");

    // A bundle rendered with other secrets (a render into a new directory): refused, with why.
    std::fs::write(bundled(&key_path), "ZZZZZZZZZZZZZZZZ").unwrap();
    let (ok, out) = run(&script, false);
    assert!(!ok, "a different secretkey was replaced:\n{out}");
    assert!(out.contains("already exists and differs") && out.contains("can no longer be decrypted"), "{out}");
    assert!(out.contains("secrets/lab/secret_key") && out.contains("HARBOR_HA_REPLACE_KEYS=1"), "{out}");
    assert_eq!(std::fs::read_to_string(&key_path).unwrap(), first, "the node's key changed");

    // The same for the token key.
    std::fs::write(bundled(&key_path), &first).unwrap();
    let token = data.join("secret/core/private_key.pem");
    std::fs::write(bundled(&token), "-----BEGIN RSA PRIVATE KEY-----\nother\n").unwrap();
    let (ok, out) = run(&script, false);
    assert!(!ok && out.contains("private_key.pem already exists") && out.contains("token_private_key.pem"), "{out}");

    // Knowingly: replaced.
    std::fs::write(bundled(&key_path), "ZZZZZZZZZZZZZZZZ").unwrap();
    let (ok, out) = run(&script, true);
    assert!(ok, "{out}");
    assert_eq!(std::fs::read_to_string(&key_path).unwrap(), "ZZZZZZZZZZZZZZZZ");
    let _ = std::fs::remove_dir_all(&base);
}
