//! The whole bundle of every renderable fixture: one snapshot per fixture (every file with
//! its mode, secrets redacted), determinism, shared secrets identical across nodes, and
//! shellcheck on every generated script.

#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::disallowed_macros,
    reason = "tests set up files and run the real programs"
)]

mod common;

use std::collections::BTreeMap;

use harbor_ha_core::bundle::Bundle;
use harbor_ha_core::model::resolved::Topology;

/// Replace every secret value by a label, so that snapshots hold no secret (not even the
/// fake ones the tests use) and stay readable.
fn redacted_listing(t: &Topology, b: &Bundle) -> String {
    let mut listing = b.listing();
    let mut values: Vec<(String, String)> = Vec::new();
    for site in &t.sites {
        let s = common::test_secrets(site.name.as_str());
        for (name, v) in s.to_files().into_iter().chain(s.cluster.to_files()) {
            let v = v.trim_end().to_string();
            if name.ends_with(".pem") {
                for line in v.lines().filter(|l| !l.starts_with("-----")) {
                    values.push((line.to_string(), String::new()));
                }
            } else {
                values.push((v, format!("<secret:{}/{name}>", site.name)));
            }
        }
    }
    // Longest first, so that no value is replaced inside another.
    values.sort_by_key(|(v, _)| std::cmp::Reverse(v.len()));
    for (v, label) in values {
        if label.is_empty() {
            listing = listing.replace(&format!("{v}\n"), "");
        } else {
            listing = listing.replace(&v, &label);
        }
    }
    // Values resolved from {env: X} by the test resolver.
    let re_env = |s: &str| -> String {
        let mut out = String::new();
        let mut rest = s;
        while let Some(i) = rest.find("Env-") {
            out.push_str(&rest[..i]);
            let tail = &rest[i + 4..];
            match tail.find("-Pw1") {
                Some(j) if tail[..j].bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_') => {
                    out.push_str(&format!("<env:{}>", &tail[..j]));
                    rest = &tail[j + 4..];
                }
                _ => {
                    out.push_str("Env-");
                    rest = tail;
                }
            }
        }
        out.push_str(rest);
        out
    };
    re_env(&listing)
}

#[test]
fn every_fixture_bundle_snapshot() {
    let fixtures = common::renderable_fixtures();
    assert!(fixtures.len() >= 4, "no fixtures found");
    for p in fixtures {
        let t = common::topology(&p);
        let b = common::render_topology(&t);
        let name =
            p.strip_prefix(common::root()).unwrap().to_string_lossy().trim_end_matches(".yaml").replace('/', "__");
        insta::with_settings!({snapshot_path => common::root().join("tests/snapshots/bundle"), prepend_module_to_snapshot => false, omit_expression => true}, {
            insta::assert_snapshot!(name, redacted_listing(&t, &b));
        });
    }
}

#[test]
fn rendering_is_deterministic() {
    for p in common::renderable_fixtures() {
        let t = common::topology(&p);
        assert_eq!(common::render_topology(&t), common::render_topology(&t), "{}", p.display());
    }
}

#[test]
fn shared_secrets_are_identical_on_every_harbor_node() {
    for p in common::renderable_fixtures() {
        let t = common::topology(&p);
        let b = common::render_topology(&t);
        for site in &t.sites {
            let mut seen: BTreeMap<String, &str> = BTreeMap::new();
            let nodes: Vec<_> = site.harbor_nodes().collect();
            for h in &nodes {
                let dv = h.data_volume.as_str().trim_end_matches('/');
                for rel in [
                    "/etc/harbor-ha/shared-secrets.env".to_string(),
                    format!("{dv}/secret/keys/secretkey"),
                    format!("{dv}/secret/core/private_key.pem"),
                    format!("{dv}/secret/registry/root.crt"),
                ] {
                    let key = format!("hosts/{}/files{rel}", h.name);
                    let f = b.files.get(&key).unwrap_or_else(|| panic!("{}: missing {key}", p.display()));
                    assert_eq!(f.mode, 0o600, "{key} must be 0600");
                    let label = rel.replace(dv, "<dv>");
                    if let Some(prev) = seen.insert(label.clone(), &f.content) {
                        assert_eq!(prev, f.content, "{}: {label} differs between nodes", p.display());
                    }
                }
            }
            let key = format!(
                "hosts/{}/files{}/secret/keys/secretkey",
                nodes[0].name,
                nodes[0].data_volume.as_str().trim_end_matches('/')
            );
            assert_eq!(b.files[&key].content.len(), 16, "secretkey must be exactly 16 characters");
            let env = &b.files[&format!("hosts/{}/files/etc/harbor-ha/shared-secrets.env", nodes[0].name)].content;
            let csrf = env.lines().find_map(|l| l.strip_prefix("CSRF_KEY=")).unwrap();
            assert_eq!(csrf.len(), 32, "CSRF_KEY must be exactly 32 characters");
        }
    }
}

#[test]
fn files_holding_secrets_are_private() {
    for p in common::renderable_fixtures() {
        let t = common::topology(&p);
        let b = common::render_topology(&t);
        for (path, f) in &b.files {
            let holds_secret = path.starts_with("secrets/")
                || path.ends_with("harbor.yml")
                || path.ends_with(".sql")
                || path.contains("/secret/")
                || f.content.contains("-Pw1");
            if holds_secret {
                assert_eq!(f.mode & 0o077, 0, "{}: {path} holds a secret but has mode {:o}", p.display(), f.mode);
            }
        }
    }
}

#[test]
fn every_script_passes_shellcheck() {
    if !common::require_tool("shellcheck") {
        return;
    }
    let dir = std::env::temp_dir().join(format!("hha-shellcheck-{}", std::process::id()));
    for p in common::renderable_fixtures() {
        let t = common::topology(&p);
        let b = common::render_topology(&t);
        let _ = std::fs::remove_dir_all(&dir);
        common::write_tree(&b, &dir);
        let scripts: Vec<&String> =
            b.files.iter().filter(|(k, f)| k.ends_with(".sh") || f.content.starts_with("#!")).map(|(k, _)| k).collect();
        assert!(!scripts.is_empty());
        for s in scripts {
            let path = dir.join(s);
            let out = std::process::Command::new("bash").arg("-n").arg(&path).output().unwrap();
            assert!(out.status.success(), "{}: bash -n {s}: {}", p.display(), String::from_utf8_lossy(&out.stderr));
            let out = std::process::Command::new("shellcheck").args(["-f", "gcc"]).arg(&path).output().unwrap();
            assert!(out.status.success(), "{}: shellcheck {s}:\n{}", p.display(), String::from_utf8_lossy(&out.stdout));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The script templates (`src/render/scripts/*.sh`, filled by the renderers) pass
/// shellcheck as they are: each is a whole script with its holes as comments and words, and
/// a header (after the shebang, ending with `# ---`) for what the generated parts define.
#[test]
fn every_script_template_passes_shellcheck() {
    let dir = common::root().join("harbor-ha-core/src/render/scripts");
    let mut templates: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "sh"))
        .collect();
    templates.sort();
    assert!(!templates.is_empty(), "no templates in {}", dir.display());
    for t in &templates {
        let text = std::fs::read_to_string(t).unwrap();
        assert!(text.starts_with("#!/"), "{}: a template starts with its shebang", t.display());
        assert!(text.contains("\n# ---\n"), "{}: a template has a header ending with `# ---`", t.display());
    }
    if !common::require_tool("shellcheck") {
        return;
    }
    let out = std::process::Command::new("shellcheck").args(["-f", "gcc"]).args(&templates).output().unwrap();
    assert!(out.status.success(), "shellcheck on the templates:\n{}", String::from_utf8_lossy(&out.stdout));
}
