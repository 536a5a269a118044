//! The rule catalog against the fixtures: every code has a fixture that triggers it and a
//! near-miss that does not. A fixture is a topology file (`trigger*.yaml`, `near-miss.yaml`)
//! or, for the audit codes that read collected files, a collected tree (`trigger*/`,
//! `near-miss/`: `<host>/files/…` and `<host>/facts.json`, as collect.sh writes them), whose
//! findings are those of `harbor-ha import`.

#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::disallowed_macros,
    reason = "tests set up files and run the real programs"
)]

mod common;

use std::path::{Path, PathBuf};

use std::collections::BTreeMap;

use harbor_ha_core::model::secret::{Secret, SecretResolver};
use harbor_ha_core::secrets::SiteSecrets;
use harbor_ha_core::validate::resolve_secrets;
use harbor_ha_core::{load_str, Diagnostic, RuleCode};

/// Codes that only the render-time check of the secrets can report (they need resolved secrets).
const RENDER_TIME: &[RuleCode] = &[RuleCode::SC002, RuleCode::RD007];

/// Fails for the variable `HARBOR_HA_TEST_UNSET`, resolves everything else.
struct Resolver;

impl SecretResolver for Resolver {
    fn resolve(&self, secret: &Secret) -> Result<String, String> {
        match secret {
            Secret::Env { env } if env.as_str() == "HARBOR_HA_TEST_UNSET" => {
                Err(format!("environment variable {env} is not set"))
            }
            Secret::Literal(v) => Ok(v.clone()),
            _ => Ok("Resolved-Pw1".to_string()),
        }
    }
}

/// The running topology a change fixture is planned from: `from-<name>.yaml` beside it, or
/// the directory's `from.yaml`.
fn from_of(path: &Path) -> PathBuf {
    let stem = path.file_stem().unwrap().to_string_lossy();
    let own = path.with_file_name(format!("from-{stem}.yaml"));
    if own.exists() {
        own
    } else {
        path.with_file_name("from.yaml")
    }
}

/// The change plan's refusals from the fixture's running topology to the fixture (the
/// change codes compare two topologies).
fn change_diagnostics(path: &Path) -> Vec<Diagnostic> {
    let load = |p: &Path| {
        let text = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        let doc = load_str(&text).unwrap_or_else(|d| panic!("{}: {d:?}", p.display()));
        let topo = doc.validate().topology.unwrap_or_else(|| panic!("{}: invalid", p.display()));
        (doc, topo)
    };
    let (old_doc, old) = load(&from_of(path));
    let (new_doc, new) = load(path);
    match harbor_ha_core::change::plan(
        harbor_ha_core::change::Side { doc: &old_doc, topology: &old },
        harbor_ha_core::change::Side { doc: &new_doc, topology: &new },
        harbor_ha_core::change::Options::default(),
    ) {
        Ok(p) => p.diagnostics,
        Err(d) => d,
    }
}

/// Validation diagnostics, plus render diagnostics for render-time codes; for a collected
/// tree, every finding of its import; for a change code, the change plan's refusals.
fn all_diagnostics(path: &Path, code: RuleCode) -> Vec<Diagnostic> {
    if code.owner() == "change::rules" {
        return change_diagnostics(path);
    }
    if path.is_dir() {
        let r = harbor_ha_core::audit::import(&common::handmade::read(path));
        return r.findings.into_iter().chain(r.diagnostics).collect();
    }
    let mut d = diagnostics(path);
    if RENDER_TIME.contains(&code) && !d.iter().any(Diagnostic::is_error) {
        let text = std::fs::read_to_string(path).unwrap();
        let topo = load_str(&text).unwrap().validate().topology.unwrap();
        let secrets: BTreeMap<String, SiteSecrets> = topo
            .sites
            .iter()
            .map(|s| {
                (
                    s.name.to_string(),
                    SiteSecrets::deterministic(
                        "t",
                        "-----BEGIN RSA PRIVATE KEY-----\n",
                        "-----BEGIN CERTIFICATE-----\n",
                    ),
                )
            })
            .collect();
        if let Err(r) = resolve_secrets(&topo, &Resolver, secrets) {
            d.extend(r);
        }
    }
    d
}

fn rules_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/rules")
}

fn diagnostics(path: &Path) -> Vec<Diagnostic> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    match load_str(&text) {
        Ok(doc) => doc.validate().diagnostics,
        Err(d) => d,
    }
}

#[test]
fn every_code_has_a_trigger_and_a_near_miss() {
    for code in RuleCode::ALL {
        let dir = rules_dir().join(code.as_str());
        let mut triggers = 0;
        for e in std::fs::read_dir(&dir).unwrap_or_else(|_| panic!("missing fixtures/rules/{code}/")) {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with("trigger") {
                triggers += 1;
                let d = all_diagnostics(&p, *code);
                assert!(d.iter().any(|d| d.code == *code), "{}: does not trigger {code}: {d:#?}", p.display());
                for x in d.iter().filter(|d| d.code == *code) {
                    let positioned = x.line.is_some() && x.column.is_some();
                    assert!(positioned || RENDER_TIME.contains(code), "{}: {code} without a position", p.display());
                    assert!(!x.hint.is_empty() && !x.message.is_empty());
                }
            }
        }
        assert!(triggers > 0, "no trigger fixture for {code}");
        let near = if dir.join("near-miss").is_dir() { dir.join("near-miss") } else { dir.join("near-miss.yaml") };
        let d = all_diagnostics(&near, *code);
        assert!(!d.iter().any(|d| d.code == *code), "{}: near-miss triggers {code}", near.display());
        assert!(!d.iter().any(Diagnostic::is_error), "{}: near-miss has errors: {d:#?}", near.display());
    }
}

/// A rule that reports a warning can be named in `allow` (`RuleCode::can_warn`): every
/// warning of every fixture is of such a rule, so that no warning is impossible to accept.
#[test]
fn every_warning_can_be_allowed() {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "yaml") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(&rules_dir().join(".."), &mut files);
    assert!(files.len() > 50);
    for f in files {
        let Ok(text) = std::fs::read_to_string(&f) else { continue };
        let Ok(doc) = load_str(&text) else { continue };
        let report = doc.validate();
        for d in report.diagnostics.iter().chain(&report.suppressed).filter(|d| !d.is_error()) {
            assert!(d.code.can_warn(), "{}: {} warns but cannot be allowed", f.display(), d.code);
        }
    }
}

#[test]
fn validation_collects_every_finding() {
    // One file, many independent mistakes: all are reported, not only the first.
    let text = std::fs::read_to_string(rules_dir().join("../examples/seed.yaml"))
        .unwrap()
        .replace("192.168.166.212", "10.9.9.9")
        .replace("name: harbor-1", "name: Harbor_1")
        .replace("version: \"9.6\"", "version: \"9.4\"")
        .replace("affinity: ip_hash", "affinity: ip_hash\n      vip: 192.168.166.10");
    let d = load_str(&text).unwrap().validate().diagnostics;
    let codes: Vec<&str> = d.iter().map(|d| d.code.as_str()).collect();
    for want in ["HA002", "HA003", "DB002", "LB003"] {
        assert!(codes.contains(&want), "{want} missing from {codes:?}");
    }
}

/// Every `.rs` file under `dir`, recursively, as (path relative to `src/`, text).
fn sources(dir: &Path, src: &Path, out: &mut Vec<(String, String)>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            sources(&p, src, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            let rel = p.strip_prefix(src).unwrap().to_string_lossy().into_owned();
            out.push((rel, std::fs::read_to_string(&p).unwrap()));
        }
    }
}

/// Each rule code has one owner: the module its catalog entry names is the only source file
/// that mentions the code (`RuleCode::XX000`), so that a rule is never reported from two
/// places with two wordings. The catalog itself (diag/codes.rs) does not count.
#[test]
fn every_code_has_exactly_one_owner() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &src, &mut files);
    for code in RuleCode::ALL {
        let token = format!("RuleCode::{}", code.as_str());
        let found: Vec<&str> = files
            .iter()
            .filter(|(rel, text)| rel != "diag/codes.rs" && text.contains(&token))
            .map(|(rel, _)| rel.as_str())
            .collect();
        let owner = code.owner().replace("::", "/");
        let expected = [format!("{owner}.rs"), format!("{owner}/mod.rs")];
        assert!(
            found.len() == 1 && expected.contains(&found[0].to_string()),
            "{code}: the catalog names {} as its owner, but `{token}` appears in {found:?}",
            code.owner()
        );
    }
}
