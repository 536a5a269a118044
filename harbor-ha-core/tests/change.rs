//! Change plans (`plan --from`, `render --from`): the order of the steps for each kind of
//! change, the files a change adds to the bundle (one snapshot per change fixture), shellcheck
//! on every script they hold, and no secret in any plan output.

#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::disallowed_macros,
    reason = "tests set up files and run the real programs"
)]

mod common;

use std::path::{Path, PathBuf};

use harbor_ha_core::bundle::Bundle;
use harbor_ha_core::change::{self, Kind, Options, Plan, Side};
use harbor_ha_core::validate::resolve_secrets;
use harbor_ha_core::{load_str, Document, ValidTopology};

fn load(p: &Path) -> (Document, ValidTopology) {
    load_text(&p.display().to_string(), &std::fs::read_to_string(p).unwrap())
}

fn load_text(label: &str, text: &str) -> (Document, ValidTopology) {
    let doc = load_str(text).unwrap_or_else(|d| panic!("{label}: {d:?}"));
    let r = doc.validate();
    let t = r.topology.unwrap_or_else(|| panic!("{label}: {:#?}", r.diagnostics));
    (doc, t)
}

fn plan_of(old: &(Document, ValidTopology), new: &(Document, ValidTopology), options: Options) -> Plan {
    change::plan(Side { doc: &old.0, topology: &old.1 }, Side { doc: &new.0, topology: &new.1 }, options)
        .unwrap_or_else(|d| panic!("refused: {d:#?}"))
}

/// Every change scenario: `fixtures/change/<name>/` with `from.yaml` and `to.yaml`.
fn scenarios() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(common::root().join("fixtures/change"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("from.yaml").exists())
        .collect();
    v.sort();
    v
}

fn scenario(name: &str) -> Plan {
    let d = common::root().join("fixtures/change").join(name);
    plan_of(&load(&d.join("from.yaml")), &load(&d.join("to.yaml")), Options::default())
}

/// `kind hosts` of each step, e.g. `backend store-1`.
fn outline(p: &Plan) -> Vec<String> {
    p.steps.iter().map(|s| format!("{} {}", s.kind.as_str(), s.hosts.join(",")).trim_end().to_string()).collect()
}

#[test]
fn scale_out_admits_first_then_the_node_then_the_load_balancer() {
    let p = scenario("scale-out");
    assert_eq!(outline(&p), ["backend store-1", "node-add harbor-3", "lb lb-1", "verify"]);
    assert_eq!(
        p.steps[0].changes,
        ["postgres", "nfs", "firewall"],
        "PostgreSQL (max_connections, pg_hba), NFS export, firewall"
    );
    assert!(!p.downtime && p.steps.iter().all(|s| s.serving));
    let files: Vec<&str> = p.steps[0].files.iter().map(|f| f.path.as_str()).collect();
    assert!(files.contains(&"hosts/store-1/files/etc/exports.d/harbor.exports"), "{files:?}");
    let nginx = p.steps[2].files.iter().find(|f| f.path.ends_with("conf.d/harbor.conf")).unwrap();
    assert!(nginx.new.as_deref().unwrap().contains("192.168.166.213:80"));
    assert!(p.procedures.is_empty());
}

#[test]
fn scale_in_lets_the_load_balancer_go_first_and_revokes_last() {
    let p = scenario("scale-in");
    assert_eq!(outline(&p), ["lb lb-1", "node-remove harbor-3", "backend-revoke store-1", "verify"]);
    assert!(p.steps[1].run.contains("change/nodes.sh retire harbor-3"));
}

#[test]
fn a_replaced_node_serves_before_the_old_one_stops() {
    let p = scenario("replace-node");
    assert_eq!(
        outline(&p),
        [
            "backend store-1",
            "node-add harbor-4",
            "lb lb-1",
            "lb lb-1",
            "node-remove harbor-2",
            "backend-revoke store-1",
            "verify"
        ]
    );
}

#[test]
fn node_configuration_rolls_one_node_at_a_time_unless_the_nodes_must_agree() {
    let p = scenario("config-rolling");
    assert_eq!(outline(&p), ["backend store-1", "node-rolling harbor-1", "node-rolling harbor-2", "verify"]);
    assert!(p.steps[1].run.contains("nodes.sh drain harbor-1") && p.steps[1].run.contains("undrain harbor-1"));
    assert!(!p.downtime);
    let p = scenario("components-all-nodes");
    assert_eq!(outline(&p), ["node-restart-all harbor-1,harbor-2", "verify"]);
    assert!(p.downtime);
}

#[test]
fn a_certificate_rotation_reloads_each_load_balancer_in_turn() {
    let p = scenario("lb-certificate");
    assert_eq!(outline(&p), ["lb deb-lb-1", "lb deb-lb-2", "verify"]);
    assert!(p.steps[0].title.contains("certificate rotation"), "{}", p.steps[0].title);
    assert!(!p.downtime);
}

#[test]
fn the_upgrade_from_1_10_with_postgres_9_6() {
    let p = scenario("upgrade-1.10-to-2.15");
    let hops: Vec<String> = p.procedures.iter().map(|x| x.hop.unwrap().to.to_string()).collect();
    assert_eq!(hops, ["2.4.3", "2.6.4", "2.8.6", "2.10.3", "2.12.4", "2.15.2"]);
    let pg: Vec<usize> = p.procedures.iter().filter(|x| x.postgres.is_some()).map(|x| x.number).collect();
    assert_eq!(pg, [2], "PostgreSQL is upgraded in the first hop that needs 10 or later (to 2.6)");
    assert_eq!(
        outline(&p)[..3],
        ["upgrade harbor-1,harbor-2", "postgres-upgrade store-1", "upgrade harbor-1,harbor-2"]
    );
    assert!(p.downtime);
    assert_eq!(p.steps.iter().filter(|s| s.kind == Kind::Upgrade).count(), 6);
    // Each procedure's topology runs the hop's release, and after the PostgreSQL step 15.
    for x in &p.procedures {
        assert_eq!(x.after.sites[0].harbor.version, x.hop.unwrap().to);
    }
}

#[test]
fn a_patch_release_with_a_migration_is_a_procedure_not_a_rolling_restart() {
    let p = scenario("patch-with-migration");
    assert_eq!(p.procedures.len(), 1);
    let h = p.procedures[0].hop.unwrap();
    assert!(h.migrates() && (h.schema_from, h.schema_to) == (170, 171));
    assert_eq!(p.steps[0].kind, Kind::Upgrade);
    assert!(!p.steps[0].serving);
}

#[test]
fn no_change_no_step() {
    let seed = load(&common::root().join("fixtures/examples/seed.yaml"));
    let p = plan_of(&seed, &seed, Options::default());
    assert!(p.steps.is_empty() && p.procedures.is_empty() && !p.downtime);
    assert!(change::text(&p, "a", "b", false).contains("nothing to change"));
}

#[test]
fn allow_destructive_plans_the_change_with_a_warning() {
    let dir = common::root().join("fixtures/rules/CH003");
    let (old, new) = (load(&dir.join("from.yaml")), load(&dir.join("trigger.yaml")));
    let refused = change::plan(
        Side { doc: &old.0, topology: &old.1 },
        Side { doc: &new.0, topology: &new.1 },
        Options::default(),
    );
    assert!(refused.is_err());
    let p = plan_of(&old, &new, Options { allow_destructive: true });
    assert_eq!(p.diagnostics.len(), 1);
    assert_eq!(p.diagnostics[0].code.as_str(), "CH003");
    assert!(!p.diagnostics[0].is_error());
    assert!(
        p.steps.iter().any(|s| s.kind == Kind::NodeRestartAll),
        "the nodes change storage together: {:?}",
        outline(&p)
    );
}

/// A secret changed in the topology shows as a changed stand-in, never as its value, in the
/// text, the diff and the JSON.
#[test]
fn plans_never_show_a_secret() {
    let seed = std::fs::read_to_string(common::root().join("fixtures/examples/seed.yaml")).unwrap();
    let old_text = seed.replace("{env: HARBOR_DB_PASSWORD}", "\"Old-Db-Secret-1\"");
    let new_text = seed.replace("{env: HARBOR_DB_PASSWORD}", "\"New-Db-Secret-2\"");
    let (old, new) = (load_text("old", &old_text), load_text("new", &new_text));
    let p = plan_of(&old, &new, Options::default());
    let outputs = [change::text(&p, "a", "b", true), change::json(&p, true), change::markdown(&p, "a", "b")];
    for o in &outputs {
        assert!(!o.contains("Old-Db-Secret-1") && !o.contains("New-Db-Secret-2"), "{o}");
    }
    let diff = &outputs[0];
    assert!(diff.contains("harbor.yml") && diff.contains("Secret-") && diff.contains("Placeholder"), "{diff}");
}

/// The files `render --from` adds, for a snapshot: CHANGE.md, the upgrade and change scripts,
/// and the runbook's two sections (the procedures' host files are ordinary bundle files).
fn change_listing(b: &Bundle) -> String {
    let mut out = Bundle::default();
    for (p, f) in &b.files {
        let hop_host_file = p.starts_with("upgrade/") && p.contains("/hosts/");
        if p == "CHANGE.md" || (p.starts_with("upgrade/") && !hop_host_file) || p.starts_with("change/") {
            out.insert(p.clone(), f.clone());
        }
    }
    let readme = &b.files["README.md"].content;
    let sections = readme
        .find("## Upgrading")
        .map(|a| &readme[a..readme.find("## Verification").unwrap_or(readme.len())])
        .unwrap_or_default();
    format!("{}=== README.md: Upgrading and Changing the site ===\n{sections}", out.listing())
}

fn render_change(dir: &Path) -> Bundle {
    let (old, new) = (load(&dir.join("from.yaml")), load(&dir.join("to.yaml")));
    let plan = plan_of(&old, &new, Options::default());
    let input = resolve_secrets(&new.1, &common::TestResolver, common::all_test_secrets(&new.1)).unwrap();
    let procs: Vec<_> = plan
        .procedures
        .iter()
        .map(|p| resolve_secrets(&p.after, &common::TestResolver, common::all_test_secrets(&p.after)).unwrap())
        .collect();
    harbor_ha_core::render::render_change(&input, &plan, &procs, ("from.yaml", "to.yaml"))
}

#[test]
fn every_change_bundle_snapshot() {
    for d in scenarios() {
        let b = render_change(&d);
        assert_eq!(b, render_change(&d), "{}: rendering a change is deterministic", d.display());
        let name = d.file_name().unwrap().to_string_lossy().into_owned();
        insta::with_settings!({snapshot_path => common::root().join("tests/snapshots/change-bundle"), prepend_module_to_snapshot => false, omit_expression => true}, {
            insta::assert_snapshot!(name, change_listing(&b));
        });
    }
}

#[test]
fn every_change_script_passes_shellcheck() {
    if !common::require_tool("shellcheck") {
        return;
    }
    let dir = std::env::temp_dir().join(format!("hha-change-shellcheck-{}", std::process::id()));
    for d in scenarios() {
        let b = render_change(&d);
        let _ = std::fs::remove_dir_all(&dir);
        common::write_tree(&b, &dir);
        let scripts: Vec<&String> = b
            .files
            .keys()
            .filter(|k| k.ends_with(".sh") && (k.starts_with("upgrade/") || k.starts_with("change/")))
            .filter(|k| !k.contains("/hosts/"))
            .collect();
        for s in scripts {
            let path = dir.join(s);
            let out = std::process::Command::new("bash").arg("-n").arg(&path).output().unwrap();
            assert!(out.status.success(), "{}: bash -n {s}", d.display());
            let out = std::process::Command::new("shellcheck").args(["-f", "gcc"]).arg(&path).output().unwrap();
            assert!(out.status.success(), "{}: shellcheck {s}:\n{}", d.display(), String::from_utf8_lossy(&out.stdout));
            // The dry run prints the commands and changes nothing.
            let own_db = d.ends_with("dual-master-upgrade");
            let out = std::process::Command::new("bash")
                .arg(&path)
                .arg("--dry-run")
                .args(["--state-dir", dir.join("state").to_str().unwrap()])
                .args(if own_db { &["--node", "master-a"][..] } else { &[][..] })
                .env("HARBOR_ADMIN_PASSWORD", "Dry-Run-Pw1")
                .env("HARBOR_HA_ADMIN_PASSWORD", "Dry-Run-Pw1")
                .output()
                .unwrap();
            if s.starts_with("upgrade/") {
                assert!(
                    out.status.success(),
                    "{}: {s} --dry-run:\n{}{}",
                    d.display(),
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
                let stderr = String::from_utf8_lossy(&out.stderr);
                assert!(stderr.contains("+ ssh root@"), "{s}: {stderr}");
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
