//! Shared by the render tests: deterministic secrets and a resolver that never reads the
//! environment, so that every bundle is reproducible.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use harbor_ha_core::bundle::Bundle;
use harbor_ha_core::model::secret::Secret;
use harbor_ha_core::render::{render, RenderInputs, SecretResolver};
use harbor_ha_core::secrets::SiteSecrets;
use harbor_ha_core::{load_str, Topology};

/// Workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// `{env: X}` → `Env-X-Pw1`, `{file: P}` → `File-Pw1`, literals as written.
pub struct TestResolver;

impl SecretResolver for TestResolver {
    fn resolve(&self, secret: &Secret) -> Result<String, String> {
        Ok(match secret {
            Secret::Env { env } => format!("Env-{env}-Pw1"),
            Secret::File { .. } => "File-Pw1".to_string(),
            Secret::Literal(v) => v.clone(),
        })
    }
}

/// Deterministic shared secrets for a site (the committed test key pair).
pub fn test_secrets(site: &str) -> SiteSecrets {
    let key = std::fs::read_to_string(root().join("tests/keys/test-token.key")).unwrap();
    let crt = std::fs::read_to_string(root().join("tests/keys/test-token.crt")).unwrap();
    SiteSecrets::deterministic(site, &key, &crt)
}

/// Load and validate a fixture; panics with the diagnostics when it has errors.
pub fn topology(path: &Path) -> Topology {
    let text = std::fs::read_to_string(path).unwrap();
    let doc = load_str(&text).unwrap_or_else(|d| panic!("{}: {d:?}", path.display()));
    let report = doc.validate();
    report.topology.unwrap_or_else(|| panic!("{}: {:#?}", path.display(), report.diagnostics))
}

/// Render a topology with test secrets.
pub fn render_topology(t: &Topology) -> Bundle {
    let secrets: BTreeMap<String, SiteSecrets> =
        t.sites.iter().map(|s| (s.name.to_string(), test_secrets(s.name.as_str()))).collect();
    render(t, &RenderInputs { secrets: &secrets, resolver: &TestResolver })
        .unwrap_or_else(|d| panic!("render failed: {d:#?}"))
}

/// Every renderable fixture: the valid topologies and the examples.
pub fn renderable_fixtures() -> Vec<PathBuf> {
    let mut v = Vec::new();
    for dir in ["fixtures/valid", "fixtures/examples"] {
        let Ok(rd) = std::fs::read_dir(root().join(dir)) else { continue };
        for e in rd {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "yaml") {
                v.push(p);
            }
        }
    }
    v.sort();
    v
}

/// Whether a tool is present; in CI (`CI=true`) a missing tool fails the test instead.
pub fn require_tool(name: &str) -> bool {
    let found = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {name}"))
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{name} is required in CI (make test installs it)");
        }
        eprintln!("SKIP: {name} not installed (run `make test` to install it)");
    }
    found
}
