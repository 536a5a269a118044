//! The built `harbor-ha` binary: exit codes and output, with one snapshot per fixture
//! holding the text and the JSON diagnostics.

#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::disallowed_macros,
    reason = "tests run the command and set up files"
)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn run(args: &[&str]) -> (i32, String, String) {
    // Colour is decided by the environment too: keep the caller's out of the snapshots.
    let out = Command::new(env!("CARGO_BIN_EXE_harbor-ha"))
        .args(args)
        .current_dir(root())
        .env_remove("CLICOLOR_FORCE")
        .output()
        .expect("run harbor-ha");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Whether `p` is a collected tree (an audit rule fixture: `trigger*/`, `near-miss/`).
fn is_tree(p: &Path) -> bool {
    p.is_dir()
        && p.join("README").is_file()
        && p.parent().is_some_and(|d| d.parent().is_some_and(|r| r.ends_with("rules")))
}

/// Every `*.yaml` under `fixtures/` (collected trees left out), as paths relative to the
/// workspace root.
fn fixtures() -> Vec<String> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if is_tree(&p) {
                continue;
            }
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "yaml") {
                out.push(p);
            }
        }
    }
    let mut v = Vec::new();
    walk(&root().join("fixtures"), &mut v);
    let mut v: Vec<String> =
        v.into_iter().map(|p| p.strip_prefix(root()).unwrap().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

#[test]
fn every_fixture_text_and_json() {
    let files = fixtures();
    assert!(files.len() > 50, "expected the fixture tree, found {}", files.len());
    for f in files {
        let (code_t, text, err_t) = run(&["validate", &f]);
        let (code_j, json, err_j) = run(&["validate", &f, "--format", "json"]);
        assert_eq!(code_t, code_j, "{f}: exit codes differ between formats");
        assert!(err_t.is_empty() && err_j.is_empty(), "{f}: unexpected stderr {err_t} {err_j}");
        let parsed: serde_json::Value = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{f}: bad JSON: {e}"));
        let arr = parsed.as_array().expect("a JSON array");
        for d in arr {
            let keys: Vec<&str> = d.as_object().unwrap().keys().map(String::as_str).collect();
            // An allowed warning has `suppressed` more, a finding with secondary places
            // `related`; every entry has the contract's keys (code … column) and the file,
            // the span's end and the explain line.
            if d.get("suppressed") == Some(&serde_json::Value::Bool(true)) {
                assert_eq!(d["severity"], "warning", "{f}: only warnings are suppressed");
            }
            let keys: Vec<&str> = keys.into_iter().filter(|k| !matches!(*k, "suppressed" | "related")).collect();
            assert_eq!(
                keys,
                [
                    "code",
                    "column",
                    "end_column",
                    "end_line",
                    "explain",
                    "file",
                    "hint",
                    "line",
                    "message",
                    "path",
                    "severity"
                ],
                "{f}"
            );
            assert_eq!(d["file"], f.as_str(), "{f}");
            assert_eq!(d["explain"], format!("harbor-ha explain {}", d["code"].as_str().unwrap()), "{f}");
            if let (Some(l), Some(el)) = (d["line"].as_u64(), d["end_line"].as_u64()) {
                assert!(el > l || (el == l && d["end_column"].as_u64() >= d["column"].as_u64()), "{f}: {d}");
            }
        }
        let has_error = arr.iter().any(|d| d["severity"] == "error");
        let is_parse = arr.iter().any(|d| d["code"] == "HA001");
        let in_force = arr.iter().filter(|d| d.get("suppressed").is_none()).count();
        if !is_parse && in_force == 0 {
            assert_eq!(run(&["validate", &f, "--strict"]).0, 0, "{f}: --strict counts only the findings in force");
        }
        let want = if is_parse {
            2
        } else if has_error {
            1
        } else {
            0
        };
        assert_eq!(code_t, want, "{f}: exit code");
        let name = f.trim_end_matches(".yaml").replace('/', "__");
        insta::with_settings!({snapshot_path => root().join("tests/snapshots/validate"), prepend_module_to_snapshot => false, omit_expression => true}, {
            insta::assert_snapshot!(name, format!("exit: {code_t}\n--- text ---\n{text}--- json ---\n{json}"));
        });
    }
}

#[test]
fn strict_fails_on_warnings() {
    let (code, _, _) = run(&["validate", "fixtures/examples/seed.yaml"]);
    assert_eq!(code, 0);
    let (code, _, _) = run(&["validate", "fixtures/examples/seed.yaml", "--strict"]);
    assert_eq!(code, 1);
}

#[test]
fn usage_and_io_errors_exit_2() {
    assert_eq!(run(&["validate"]).0, 2);
    assert_eq!(run(&["bogus"]).0, 2);
    assert_eq!(run(&["validate", "fixtures/examples/seed.yaml", "--format", "xml"]).0, 2);
    let (code, _, err) = run(&["validate", "no/such/file.yaml"]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot read no/such/file.yaml"), "{err}");
    let (code, _, err) = run(&["validate", "fixtures"]);
    assert_eq!(code, 2);
    assert!(err.contains("is a directory"), "{err}");
    let (code, _, err) = run(&["explain", "XX999"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown rule code"), "{err}");
}

#[test]
fn hostile_files_never_panic() {
    let dir = std::env::temp_dir().join(format!("harbor-ha-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let big = format!("version: 1\nsites: []\n#{}\n", "x".repeat(10 * 1024 * 1024));
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("binary", (0u8..=255).cycle().take(4096).collect()),
        ("ten-mb", big.into_bytes()),
        ("deep", format!("version: 1\nsites: {}{}", "[".repeat(200_000), "]".repeat(200_000)).into_bytes()),
        ("deep-map", format!("version: 1\nsites:\n{}", (0..5000).map(|i| format!("{}a:\n", " ".repeat(i))).collect::<String>()).into_bytes()),
        ("wrong-types", b"version: one\nsites: {name: 3, hosts: yes}\nreplication: 7\n".to_vec()),
        ("billion-laughs", b"a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d]\nf: [*e,*e,*e,*e,*e,*e,*e,*e]\n".to_vec()),
        ("two-docs", b"version: 1\nsites: []\n---\nversion: 1\n".to_vec()),
    ];
    for (name, bytes) in cases {
        let p = dir.join(format!("{name}.yaml"));
        std::fs::write(&p, &bytes).unwrap();
        for fmt in ["text", "json"] {
            let (code, out, err) = run(&["validate", p.to_str().unwrap(), "--format", fmt]);
            assert!(!err.contains("panicked"), "{name}: {err}");
            if name == "ten-mb" {
                // Parses (a long comment), then fails validation: no site.
                assert_eq!(code, 1, "{name}/{fmt}: {out}{err}");
                assert!(out.contains("HA004"), "{name}/{fmt}: {out}");
                continue;
            }
            assert_eq!(code, 2, "{name}/{fmt}: {out}{err}");
            if name != "binary" {
                assert!(out.contains("HA001"), "{name}/{fmt}: {out}{err}");
            } else {
                assert!(err.contains("not UTF-8"), "{name}: {err}");
            }
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn explain_prints_every_rule_doc() {
    for code in harbor_ha_core::RuleCode::ALL {
        let (c, out, _) = run(&["explain", code.as_str()]);
        assert_eq!(c, 0);
        assert!(out.starts_with(&format!("# {code}")), "{code}");
        assert!(out.contains("## Fix"), "{code}");
    }
    // Names work too.
    let (c, out, _) = run(&["explain", "host-outside-subnet"]);
    assert_eq!(c, 0);
    assert!(out.starts_with("# HA003"));
}

#[test]
fn init_examples_are_the_committed_fixtures() {
    for name in harbor_ha_core::examples::NAMES {
        let (c, out, _) = run(&["init", "--example", name]);
        assert_eq!(c, 0);
        let fixture = std::fs::read_to_string(root().join(format!("fixtures/examples/{name}.yaml"))).unwrap();
        assert_eq!(out, fixture, "fixtures/examples/{name}.yaml differs from `init --example {name}`");
    }
    assert_eq!(run(&["init"]).1, run(&["init", "--example", "seed"]).1);
}

#[test]
fn schema_file_is_current() {
    let (c, out, _) = run(&["schema"]);
    assert_eq!(c, 0);
    let path = root().join("schema/topology.schema.json");
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &out).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(committed == out, "schema/topology.schema.json is stale: run `UPDATE_SCHEMA=1 cargo test -p harbor-ha-cli schema_file_is_current`");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(v["properties"]["sites"].is_object());
}

#[test]
fn secrets_never_reach_the_output() {
    let dir = std::env::temp_dir().join(format!("harbor-ha-secret-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let seed = std::fs::read_to_string(root().join("fixtures/examples/seed.yaml")).unwrap();
    let secret = "Sup3r-S3cret-Value";
    let text = seed
        .replace("{env: HARBOR_ADMIN_PASSWORD}", &format!("\"{secret}\""))
        .replace("{env: HARBOR_DB_PASSWORD}", &format!("\"{secret}\""))
        .replace("port: 6379", "port: 6379\n      username: x")
        .replace("{env: HARBOR_REDIS_PASSWORD}", &format!("{secret}x"));
    let p = dir.join("t.yaml");
    std::fs::write(&p, text).unwrap();
    for fmt in ["text", "json"] {
        let (_, out, err) = run(&["validate", p.to_str().unwrap(), "--format", fmt]);
        assert!(out.contains("SC001"), "{out}");
        assert!(!out.contains(secret) && !err.contains(secret), "secret leaked:\n{out}{err}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `render` with the seed example's secrets in the environment.
fn render_cmd(out: &Path, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec!["render", "fixtures/examples/seed.yaml", "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    let o = Command::new(env!("CARGO_BIN_EXE_harbor-ha"))
        .args(&args)
        .current_dir(root())
        .env("HARBOR_ADMIN_PASSWORD", "Adm1n-Passw0rd")
        .env("HARBOR_DB_PASSWORD", "db'pw\"$x")
        // Harbor 1.10 (the seed) writes the Redis password unescaped into URLs (RD007).
        .env("HARBOR_REDIS_PASSWORD", "redis-pw_1")
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn render_writes_a_bundle_and_keeps_its_secrets() {
    let base = std::env::temp_dir().join(format!("hha-render-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base).unwrap();
    let out = base.join("bundle");
    let (c, o, e) = render_cmd(&out, &[]);
    assert_eq!(c, 0, "{o}{e}");
    assert!(o.starts_with("wrote ") && o.contains(" files to "), "{o}");
    assert!(out.join("README.md").is_file() && out.join(".harbor-ha-bundle").is_file());
    let key = std::fs::read_to_string(out.join("secrets/prod/token_private_key.pem")).unwrap();
    let csrf = std::fs::read_to_string(out.join("secrets/prod/csrf_key")).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(out.join("secrets/prod/csrf_key")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let before: Vec<(String, Vec<u8>)> = walk_files(&out);
    // Rendering again into the same directory: same bytes, same secrets.
    let (c, o, e) = render_cmd(&out, &[]);
    assert_eq!(c, 0, "{o}{e}");
    assert_eq!(std::fs::read_to_string(out.join("secrets/prod/token_private_key.pem")).unwrap(), key);
    assert_eq!(std::fs::read_to_string(out.join("secrets/prod/csrf_key")).unwrap(), csrf);
    assert_eq!(walk_files(&out), before, "a second render changed the bundle");
    assert!(o.contains(" is up to date (") && o.contains(" files unchanged)"), "{o}");
    // A hand edit in the bundle is refused, named, and kept; --force undoes it and says so.
    std::fs::write(out.join("README.md"), "edited by hand\n").unwrap();
    let (c, o, e) = render_cmd(&out, &[]);
    assert_eq!(c, 2, "{o}{e}");
    assert!(e.contains("README.md") && e.contains("MANIFEST.sha256") && e.contains("--force"), "{e}");
    assert_eq!(std::fs::read_to_string(out.join("README.md")).unwrap(), "edited by hand\n");
    let (c, o, e) = render_cmd(&out, &["--force"]);
    assert_eq!(c, 0, "{o}{e}");
    assert!(o.starts_with("wrote "), "{o}");
    assert_eq!(walk_files(&out), before, "the render did not restore the bundle");
    // No secret in what the command printed.
    assert!(!o.contains("Adm1n-Passw0rd") && !e.contains("Adm1n-Passw0rd"));
    std::fs::remove_dir_all(&base).unwrap();
}

#[test]
fn render_refuses_to_replace_a_foreign_directory() {
    let base = std::env::temp_dir().join(format!("hha-foreign-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(base.join("precious")).unwrap();
    std::fs::write(base.join("precious/notes.txt"), "keep me").unwrap();
    let (c, _, e) = render_cmd(&base.join("precious"), &[]);
    assert_eq!(c, 2);
    assert!(e.contains("is not a harbor-ha bundle"), "{e}");
    assert_eq!(std::fs::read_to_string(base.join("precious/notes.txt")).unwrap(), "keep me");
    // A file given as --out.
    std::fs::write(base.join("file"), "x").unwrap();
    let (c, _, e) = render_cmd(&base.join("file"), &[]);
    assert_eq!(c, 2, "{e}");
    // --force replaces it.
    let (c, o, e) = render_cmd(&base.join("precious"), &["--force"]);
    assert_eq!(c, 0, "{o}{e}");
    assert!(!base.join("precious/notes.txt").exists());
    // An unwritable parent: exit 2 with a message, nothing half-written.
    let (c, _, e) = render_cmd(Path::new("/proc/harbor-ha-cannot-write-here"), &[]);
    assert_eq!(c, 2);
    assert!(e.contains("cannot write"), "{e}");
    std::fs::remove_dir_all(&base).unwrap();
}

#[test]
fn render_refuses_a_topology_with_errors_like_validate() {
    let (c, out, _) = run(&["render", "fixtures/rules/HA003/trigger.yaml", "--out", "/tmp/hha-never-written"]);
    let (_, validate_out, _) = run(&["validate", "fixtures/rules/HA003/trigger.yaml"]);
    assert_eq!(c, 1);
    assert_eq!(out, validate_out, "render must print the diagnostics exactly as validate does");
    assert!(!Path::new("/tmp/hha-never-written").exists());
}

#[test]
fn plan_lists_hosts_in_install_order() {
    let (c, out, _) = run(&["plan", "fixtures/examples/seed.yaml"]);
    assert_eq!(c, 0);
    insta::with_settings!({snapshot_path => root().join("tests/snapshots/plan"), prepend_module_to_snapshot => false, omit_expression => true}, {
        insta::assert_snapshot!("seed", out);
    });
    let order: Vec<&str> = ["store-1", "harbor-1", "harbor-2", "lb-1"].to_vec();
    let pos: Vec<usize> = order.iter().map(|h| out.find(&format!(" {h} ")).unwrap()).collect();
    assert!(pos.windows(2).all(|w| w[0] < w[1]), "{out}");
}

/// `plan --format json` is the text plan's data: the same hosts in the same order, each with
/// its install script and files, and the text's site line; errors are printed as JSON.
#[test]
fn plan_json_is_the_text_plan_as_data() {
    let (c, text, _) = run(&["plan", "fixtures/examples/seed.yaml"]);
    let (cj, json, _) = run(&["plan", "fixtures/examples/seed.yaml", "--format", "json"]);
    assert_eq!((c, cj), (0, 0));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let mut lines = Vec::new();
    for site in v["sites"].as_array().unwrap() {
        let mode = site["mode"].as_str().unwrap();
        let mode = if mode == "replication" { "replication (dual master)" } else { mode };
        lines.push(format!(
            "site {} ({mode}, Harbor {})",
            site["site"].as_str().unwrap(),
            site["harbor_version"].as_str().unwrap()
        ));
        for h in site["hosts"].as_array().unwrap() {
            let roles: Vec<&str> = h["roles"].as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
            let note =
                if h["installs_alone"] == true { "  (installs alone, before the other Harbor nodes)" } else { "" };
            lines.push(format!(
                "  {}. {} {} [{}]{note}",
                h["step"],
                h["name"].as_str().unwrap(),
                h["address"].as_str().unwrap(),
                roles.join(", ")
            ));
            lines.push(format!("     {}", h["install_script"].as_str().unwrap()));
            lines.extend(h["files"].as_array().unwrap().iter().map(|f| format!("     {}", f.as_str().unwrap())));
        }
    }
    assert_eq!(lines.join("\n") + "\n", text);
    let (c, out, _) = run(&["plan", "fixtures/rules/HA003/trigger.yaml", "--format", "json"]);
    assert_eq!(c, 1);
    let diags: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(diags.as_array().unwrap().iter().any(|d| d["code"] == "HA003"), "{out}");
}

fn walk_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    fn go(base: &Path, d: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                go(base, &p, out);
            } else {
                out.push((p.strip_prefix(base).unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()));
            }
        }
    }
    let mut v = Vec::new();
    go(dir, dir, &mut v);
    v.sort();
    v
}

/// The render-time rules (they need the resolved secrets, so `validate` cannot report them):
/// `render` of each trigger fixture exits 1 with the rule's code, names the secret's source
/// and never its value; one snapshot per fixture of what it prints.
#[test]
fn render_time_rules_refuse_with_their_code() {
    for code in ["SC002", "RD007"] {
        let dir = root().join("fixtures/rules").join(code);
        let mut triggers: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("trigger"))
            .collect();
        triggers.sort();
        for t in triggers {
            let rel = t.strip_prefix(root()).unwrap().to_string_lossy().into_owned();
            let out_dir = std::env::temp_dir().join(format!("hha-render-time-{}", std::process::id()));
            let o = Command::new(env!("CARGO_BIN_EXE_harbor-ha"))
                .args(["render", &rel, "--out", out_dir.to_str().unwrap()])
                .current_dir(root())
                .env("HARBOR_ADMIN_PASSWORD", "Adm1n-Passw0rd")
                .env("HARBOR_DB_PASSWORD", "Db-Passw0rd")
                .env("HARBOR_REDIS_PASSWORD", "Redis-Passw0rd")
                .env_remove("HARBOR_HA_TEST_UNSET")
                .output()
                .unwrap();
            let out = String::from_utf8_lossy(&o.stdout).into_owned();
            assert_eq!(o.status.code(), Some(1), "{rel}: {out}");
            assert!(out.contains(&format!("error[{code}]")), "{rel}: {out}");
            for secret in ["p@ss,word/1", "#Redis-Pw1", "Adm1n-Passw0rd"] {
                assert!(!out.contains(secret), "{rel}: a secret value was printed:\n{out}");
            }
            assert!(!out_dir.exists(), "{rel}: a bundle was written");
            let name = rel.trim_end_matches(".yaml").replace('/', "__");
            insta::with_settings!({snapshot_path => root().join("tests/snapshots/render"), prepend_module_to_snapshot => false, omit_expression => true}, {
                insta::assert_snapshot!(name, out);
            });
        }
    }
}

/// A secrets directory written before clusters existed lacks the cluster's files: a render
/// generates only those, and keeps every secret that exists (never rotates one).
#[test]
fn render_generates_only_missing_cluster_secrets() {
    let base = std::env::temp_dir().join(format!("hha-render-cluster-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base).unwrap();
    let out = base.join("bundle");
    let render = || {
        let o = Command::new(env!("CARGO_BIN_EXE_harbor-ha"))
            .args(["render", "fixtures/valid/ha-data-1.10-two-lbs.yaml", "--out", out.to_str().unwrap()])
            .current_dir(root())
            .env("HARBOR_ADMIN_PASSWORD", "Adm1n-Passw0rd")
            .env("HARBOR_DB_PASSWORD", "db-pw")
            .env("HARBOR_REDIS_PASSWORD", "redis-pw_1")
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    render();
    let dir = out.join("secrets/legacy");
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
    let (csrf, superuser, replication) =
        (read("csrf_key"), read("pg_superuser_password"), read("pg_replication_password"));
    let rewind = read("pg_rewind_password");
    // As an older version left it: these two files are missing.
    std::fs::remove_file(dir.join("pg_rewind_password")).unwrap();
    std::fs::remove_file(dir.join("patroni_rest_password")).unwrap();
    render();
    assert_eq!(read("csrf_key"), csrf);
    assert_eq!(read("pg_superuser_password"), superuser, "an existing cluster secret was rotated");
    assert_eq!(read("pg_replication_password"), replication, "an existing cluster secret was rotated");
    for name in ["pg_rewind_password", "patroni_rest_password"] {
        let v = read(name);
        assert_eq!(v.trim_end().len(), 32, "{name} regenerated as 32 characters");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(dir.join(name)).unwrap().permissions().mode() & 0o777, 0o600);
    }
    assert_ne!(read("pg_rewind_password"), rewind, "a missing secret is generated afresh");
    let patroni = std::fs::read_to_string(out.join("hosts/lg-data-1/files/etc/patroni/config.yml")).unwrap();
    assert!(patroni.contains(superuser.trim_end()), "Patroni uses the kept superuser password");
    std::fs::remove_dir_all(&base).unwrap();
}

/// The collected trees of the audit rules (`fixtures/rules/AU*/trigger*/`, `near-miss/`).
fn tree_fixtures() -> Vec<String> {
    let mut v = Vec::new();
    for code in std::fs::read_dir(root().join("fixtures/rules")).unwrap() {
        let code = code.unwrap().path();
        for e in std::fs::read_dir(&code).unwrap() {
            let p = e.unwrap().path();
            if is_tree(&p) {
                v.push(p.strip_prefix(root()).unwrap().display().to_string());
            }
        }
    }
    v.sort();
    v
}

/// `harbor-ha import` of every tree fixture: the topology on stdout, the findings on
/// stderr (each at DIR/<host>/files/…:line), JSON with the same data; one snapshot each.
#[test]
fn import_every_tree_fixture_text_and_json() {
    let trees = tree_fixtures();
    assert!(trees.len() >= 14, "{trees:?}");
    for dir in trees {
        let (code_t, topo, err) = run(&["import", &dir]);
        let (code_j, json, err_j) = run(&["import", &dir, "--format", "json"]);
        assert_eq!(code_t, code_j, "{dir}");
        assert!(err_j.is_empty(), "{dir}: {err_j}");
        let v: serde_json::Value = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{dir}: {e}"));
        assert_eq!(v["topology"].as_str(), Some(topo.as_str()), "{dir}");
        let has_error = ["findings", "diagnostics"]
            .iter()
            .any(|k| v[k].as_array().unwrap().iter().any(|d| d["severity"] == "error"));
        assert_eq!(code_t, i32::from(has_error), "{dir}: {err}");
        for f in v["findings"].as_array().unwrap() {
            let at = format!("{dir}/{}:{}", f["path"].as_str().unwrap(), f["line"]);
            assert!(err.contains(&at), "{dir}: stderr lacks {at}:\n{err}");
        }
        let name = dir.trim_start_matches("fixtures/").replace('/', "__");
        insta::with_settings!({snapshot_path => root().join("tests/snapshots/import"), prepend_module_to_snapshot => false, omit_expression => true}, {
            insta::assert_snapshot!(name, format!("exit: {code_t}\n--- stdout (topology) ---\n{topo}--- stderr ---\n{err}"));
        });
    }
}

#[test]
fn import_writes_the_topology_with_out() {
    let dir = std::env::temp_dir().join(format!("harbor-ha-import-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("topology.yaml");
    let (code, stdout, err) = run(&["import", "fixtures/rules/AU001/near-miss", "--out", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(stdout.is_empty(), "{stdout}");
    let text = std::fs::read_to_string(&out).unwrap();
    let (vcode, vout, _) = run(&["validate", out.to_str().unwrap()]);
    assert_eq!(vcode, 0, "{vout}");
    assert!(text.contains("external_url: \"https://registry.example.org\""), "{text}");
    assert!(err.contains(&format!("topology ({})", out.display())), "{err}");
    // I/O errors exit 2.
    assert_eq!(run(&["import", "no/such/dir"]).0, 2);
    assert_eq!(run(&["import", "fixtures/examples"]).0, 2);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn collect_script_is_the_bundles_collect_sh() {
    let (code, script, _) = run(&["collect-script"]);
    assert_eq!(code, 0);
    let head = format!("#!/usr/bin/env bash\n# Generated by harbor-ha {}: collects", env!("CARGO_PKG_VERSION"));
    assert!(script.starts_with(&head), "{script}");
    let base = std::env::temp_dir().join(format!("hha-collect-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let (c, o, e) = render_cmd(&base.join("bundle"), &[]);
    assert_eq!(c, 0, "{o}{e}");
    assert_eq!(std::fs::read_to_string(base.join("bundle/collect.sh")).unwrap(), script);
    std::fs::remove_dir_all(&base).unwrap();
}

/// `drift` of a bundle against its own hosts/ is clean (exit 0); a hand edit afterwards is
/// drift (exit 1) with a unified diff; a secret-bearing file's change shows no value.
#[test]
fn drift_exit_codes_and_output() {
    let base = std::env::temp_dir().join(format!("hha-drift-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let bundle = base.join("bundle");
    let (c, o, e) = render_cmd(&bundle, &[]);
    assert_eq!(c, 0, "{o}{e}");
    let b = bundle.to_str().unwrap();
    let tree = base.join("tree");
    copy_dir(&bundle.join("hosts"), &tree);
    let t = tree.to_str().unwrap();
    let (code, out, _) = run(&["drift", b, t]);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("no drift: "), "{out}");
    let conf = tree.join("lb-1/files/etc/nginx/conf.d/harbor.conf");
    let text = std::fs::read_to_string(&conf).unwrap().replace("proxy_read_timeout 900s;", "proxy_read_timeout 60s;");
    std::fs::write(&conf, text).unwrap();
    let yml = tree.join("harbor-1/files/usr/local/harbor/harbor.yml");
    let text = std::fs::read_to_string(&yml).unwrap().replace("Adm1n-Passw0rd", "Other-Passw0rd");
    std::fs::write(&yml, text).unwrap();
    let (code, out, _) = run(&["drift", b, t]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("lb-1: /etc/nginx/conf.d/harbor.conf differs\n--- bundle: hosts/lb-1/files/etc/nginx/conf.d/harbor.conf\n+++ collected: lb-1/files/etc/nginx/conf.d/harbor.conf"), "{out}");
    assert!(out.contains("-        proxy_read_timeout 900s;\n+        proxy_read_timeout 60s;"), "{out}");
    assert!(out.contains("harbor-1: /usr/local/harbor/harbor.yml differs (secret values shown as digests)"), "{out}");
    assert!(!out.contains("Passw0rd"), "a secret reached the output:\n{out}");
    let (code, json, _) = run(&["drift", b, t, "--format", "json"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["clean"], false);
    assert_eq!(v["findings"].as_array().unwrap().len(), 2, "{json}");
    let (code, out, _) = run(&["drift", b, t, "--host", "store-1"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(run(&["drift", t, t]).0, 2, "a tree is not a bundle");
    std::fs::remove_dir_all(&base).unwrap();
}

fn copy_dir(from: &Path, to: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let q = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &q);
        } else {
            std::fs::copy(&p, &q).unwrap();
            let mode = std::fs::metadata(&p).unwrap().permissions().mode();
            std::fs::set_permissions(&q, std::fs::Permissions::from_mode(mode)).unwrap();
        }
    }
}

/// Every change fixture as `(running, wanted)`: the scenarios of `fixtures/change/<name>/`
/// (`from.yaml`, `to.yaml`) and the change rules' triggers and near misses (planned from
/// `from-<name>.yaml` beside them, or the directory's `from.yaml`).
fn change_pairs() -> Vec<(String, String)> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(root().join("fixtures/change")).unwrap() {
        let d = e.unwrap().path();
        let rel = d.strip_prefix(root()).unwrap().to_string_lossy().into_owned();
        v.push((format!("{rel}/from.yaml"), format!("{rel}/to.yaml")));
    }
    for code in harbor_ha_core::RuleCode::ALL.iter().filter(|c| c.owner() == "change::rules") {
        let dir = root().join("fixtures/rules").join(code.as_str());
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if !(name.starts_with("trigger") || name == "near-miss.yaml") {
                continue;
            }
            let own = dir.join(format!("from-{name}"));
            let from = if own.exists() { own } else { dir.join("from.yaml") };
            let rel = |p: &Path| p.strip_prefix(root()).unwrap().to_string_lossy().into_owned();
            v.push((rel(&from), rel(&p)));
        }
    }
    v.sort();
    v
}

/// `plan --from` of every change fixture: exit code, text and JSON in one snapshot; the JSON
/// has the contract's shape, and a refusal's JSON is the diagnostics array.
#[test]
fn every_change_plan_text_and_json() {
    let pairs = change_pairs();
    assert!(pairs.len() >= 15, "{pairs:?}");
    for (from, to) in pairs {
        let (code_t, text, err_t) = run(&["plan", "--from", &from, &to]);
        let (code_j, json, err_j) = run(&["plan", "--from", &from, &to, "--format", "json"]);
        assert_eq!(code_t, code_j, "{to}: exit codes differ between formats");
        assert!(err_t.is_empty() && err_j.is_empty(), "{to}: {err_t}{err_j}");
        let v: serde_json::Value = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{to}: {e}"));
        if code_t == 0 {
            let top: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
            assert_eq!(top, ["diagnostics", "downtime", "hops", "steps"], "{to}");
            for s in v["steps"].as_array().unwrap() {
                let keys: Vec<&str> = s.as_object().unwrap().keys().map(String::as_str).collect();
                assert_eq!(
                    keys,
                    ["changes", "files", "hosts", "id", "kind", "run", "serving", "site", "title", "verify"],
                    "{to}"
                );
            }
            let serving_all = v["steps"].as_array().unwrap().iter().all(|s| s["serving"] == true);
            assert_eq!(v["downtime"], !serving_all, "{to}");
        } else {
            assert_eq!(code_t, 1, "{to}: {text}");
            assert!(v.as_array().unwrap().iter().any(|d| d["code"].as_str().unwrap().starts_with("CH")), "{to}");
        }
        let name = to.trim_end_matches(".yaml").replace('/', "__");
        insta::with_settings!({snapshot_path => root().join("tests/snapshots/change"), prepend_module_to_snapshot => false, omit_expression => true}, {
            insta::assert_snapshot!(name, format!("$ harbor-ha plan --from {from} {to}\nexit: {code_t}\n--- text ---\n{text}--- json ---\n{json}"));
        });
    }
}

#[test]
fn plan_diff_shows_the_changed_lines() {
    let (c, out, _) =
        run(&["plan", "--from", "fixtures/change/scale-out/from.yaml", "fixtures/change/scale-out/to.yaml", "--diff"]);
    assert_eq!(c, 0);
    assert!(out.contains("+    server 192.168.166.213:80 max_fails=3 fail_timeout=30s;  # harbor-3"), "{out}");
    assert!(out.contains("-max_connections = 450") && out.contains("+max_connections = 650"), "{out}");
    let (_, plain, _) =
        run(&["plan", "--from", "fixtures/change/scale-out/from.yaml", "fixtures/change/scale-out/to.yaml"]);
    assert!(!plain.contains("+max_connections"));
    // The flags of a change plan need --from; `plan FILE` keeps its output.
    assert_eq!(run(&["plan", "fixtures/examples/seed.yaml", "--diff"]).0, 2);
    let (c, out, _) = run(&["plan", "fixtures/examples/seed.yaml"]);
    assert_eq!(c, 0);
    assert!(out.starts_with("site prod (shared-storage, Harbor 1.10.2)"));
}

#[test]
fn plan_allow_destructive_turns_the_refusal_into_a_warning() {
    let (from, to) = ("fixtures/rules/CH003/from.yaml", "fixtures/rules/CH003/trigger.yaml");
    let (c, out, _) = run(&["plan", "--from", from, to]);
    assert_eq!(c, 1, "{out}");
    assert!(out.contains("error[CH003]"));
    let (c, out, _) = run(&["plan", "--from", from, to, "--allow-destructive", "--format", "json"]);
    assert_eq!(c, 0, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["diagnostics"][0]["code"], "CH003");
    assert_eq!(v["diagnostics"][0]["severity"], "warning");
    // An invalid running topology is reported like validate does, in its own file.
    let (c, out, _) = run(&["plan", "--from", "fixtures/rules/HA003/trigger.yaml", "fixtures/examples/seed.yaml"]);
    assert_eq!(c, 1);
    assert!(out.contains("fixtures/rules/HA003/trigger.yaml") && out.contains("HA003"), "{out}");
}

/// `render NEW --from OLD` into the running bundle's directory: the new bundle, CHANGE.md,
/// upgrade/ with one script per hop, the runbook's two sections, the same secrets.
#[test]
fn render_from_writes_the_change() {
    let base = std::env::temp_dir().join(format!("hha-render-from-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base).unwrap();
    let out = base.join("bundle");
    let (c, o, e) = render_cmd(&out, &[]);
    assert_eq!(c, 0, "{o}{e}");
    let key = std::fs::read_to_string(out.join("secrets/prod/secret_key")).unwrap();
    let render_from = |from: &str, to: &str| {
        let args = vec!["render", to, "--from", from, "--out", out.to_str().unwrap()];
        let o = Command::new(env!("CARGO_BIN_EXE_harbor-ha"))
            .args(&args)
            .current_dir(root())
            .env("HARBOR_ADMIN_PASSWORD", "Adm1n-Passw0rd")
            .env("HARBOR_DB_PASSWORD", "db-pw")
            .env("HARBOR_REDIS_PASSWORD", "redis-pw_1")
            .output()
            .unwrap();
        (o.status.code().unwrap_or(-1), String::from_utf8_lossy(&o.stdout).into_owned())
    };
    let (c, o) =
        render_from("fixtures/change/upgrade-1.10-to-2.15/from.yaml", "fixtures/change/upgrade-1.10-to-2.15/to.yaml");
    assert_eq!(c, 0, "{o}");
    assert_eq!(std::fs::read_to_string(out.join("secrets/prod/secret_key")).unwrap(), key, "secrets reused");
    let change = std::fs::read_to_string(out.join("CHANGE.md")).unwrap();
    assert!(change.contains("upgrade/prod/06-2.12.4-to-2.15.2.sh"), "{change}");
    let scripts: Vec<String> = std::fs::read_dir(out.join("upgrade/prod"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sh"))
        .collect();
    assert_eq!(scripts.len(), 6, "{scripts:?}");
    let hop2 = std::fs::read_to_string(out.join("upgrade/prod/02-2.4.3-to-2.6.4.sh")).unwrap();
    assert!(hop2.contains("PG_UPGRADE=1") && hop2.contains("PG_TO=15"));
    let yml = std::fs::read_to_string(
        out.join("upgrade/prod/02-2.4.3-to-2.6.4/hosts/harbor-1/files/usr/local/harbor/harbor.yml"),
    )
    .unwrap();
    assert!(yml.contains("_version: 2.6.0"), "the hop's harbor.yml is the 2.6 template's");
    let readme = std::fs::read_to_string(out.join("README.md")).unwrap();
    assert!(readme.contains("## Upgrading") && readme.contains("## Changing the site"));
    // A refused change writes nothing and exits 1 with the code, placed in the new file.
    let before = walk_files(&out);
    let (c, o) = render_from("fixtures/rules/CH001/from.yaml", "fixtures/rules/CH001/trigger.yaml");
    assert_eq!(c, 1, "{o}");
    assert!(o.contains("error[CH001]") && o.contains("fixtures/rules/CH001/trigger.yaml:"), "{o}");
    assert_eq!(walk_files(&out), before);
    std::fs::remove_dir_all(&base).unwrap();
}

/// `harbor-ha ARGS` with `input` on standard input.
fn run_stdin(args: &[&str], input: &[u8], env: &[(&str, &str)]) -> (i32, String, String) {
    use std::io::Write as _;
    let mut child = Command::new(env!("CARGO_BIN_EXE_harbor-ha"))
        .args(args)
        .current_dir(root())
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run harbor-ha");
    // A refused command may exit before reading: a broken pipe here is its answer.
    let _ = child.stdin.take().unwrap().write_all(input);
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn completions_are_valid_bash_and_name_the_subcommands() {
    let (c, script, e) = run(&["completions", "bash"]);
    assert_eq!(c, 0, "{e}");
    let path = std::env::temp_dir().join(format!("hha-completion-{}.bash", std::process::id()));
    std::fs::write(&path, &script).unwrap();
    let check = Command::new("bash").arg("-n").arg(&path).output().expect("bash");
    std::fs::remove_file(&path).unwrap();
    assert!(check.status.success(), "bash -n: {}", String::from_utf8_lossy(&check.stderr));
    for sub in ["validate", "render", "plan", "explain", "completions", "man", "collect-script"] {
        assert!(script.contains(sub), "the bash completion does not name `{sub}`");
    }
    assert!(script.contains("complete ") && script.contains("harbor-ha"), "not a bash completion");
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let (c, s, e) = run(&["completions", shell]);
        assert_eq!(c, 0, "{shell}: {e}");
        assert!(s.contains("validate") && s.contains("render"), "{shell}: {s}");
    }
    assert_eq!(run(&["completions", "tcsh"]).0, 2);
}

#[test]
fn man_page_renders() {
    let (c, page, e) = run(&["man"]);
    assert_eq!(c, 0, "{e}");
    // roff structure: the title line and the sections man(7) expects.
    assert!(page.starts_with(".ie") || page.contains(".TH harbor-ha 1"), "{page}");
    for section in [".SH NAME", ".SH SYNOPSIS", ".SH DESCRIPTION", ".SH SUBCOMMANDS"] {
        assert!(page.contains(section), "the man page lacks {section}");
    }
    // Rendered by the formatter this machine has (groff, which man -l uses too).
    let path = std::env::temp_dir().join(format!("hha-man-{}.1", std::process::id()));
    std::fs::write(&path, &page).unwrap();
    let rendered = Command::new("groff").args(["-man", "-Tutf8", "-ww", "-z"]).arg(&path).output();
    let text = Command::new("groff").args(["-man", "-Tutf8", "-P-cbu"]).arg(&path).output();
    std::fs::remove_file(&path).unwrap();
    match (rendered, text) {
        (Ok(check), Ok(text)) => {
            assert!(check.status.success(), "groff: {}", String::from_utf8_lossy(&check.stderr));
            assert!(check.stderr.is_empty(), "groff warns: {}", String::from_utf8_lossy(&check.stderr));
            let text = String::from_utf8_lossy(&text.stdout);
            assert!(text.contains("harbor-ha-validate(1)") && text.contains("SYNOPSIS\n       harbor-ha ["), "{text}");
        }
        // No groff (CI installs it with man-db): the structure above is the check.
        (Err(e), _) | (_, Err(e)) => assert_eq!(e.kind(), std::io::ErrorKind::NotFound, "groff: {e}"),
    }
    // The pages it refers to: harbor-ha-validate(1) documents --strict and `-`.
    let (c, page, e) = run(&["man", "validate"]);
    assert_eq!(c, 0, "{e}");
    assert!(page.contains(".TH harbor-ha-validate 1") && page.contains("strict"), "{page}");
    let (c, _, e) = run(&["man", "bogus"]);
    assert_eq!(c, 2);
    assert!(e.contains("the subcommands are: init, validate"), "{e}");
}

#[test]
fn a_dash_reads_the_topology_from_stdin() {
    let seed = std::fs::read("fixtures/examples/seed.yaml")
        .or_else(|_| std::fs::read(root().join("fixtures/examples/seed.yaml")))
        .unwrap();
    let (c_file, out_file, _) = run(&["validate", "fixtures/examples/seed.yaml"]);
    let (c, out, e) = run_stdin(&["validate", "-"], &seed, &[]);
    assert_eq!((c, c_file), (0, 0), "{e}");
    assert_eq!(out, out_file.replace("fixtures/examples/seed.yaml", "<stdin>"));
    assert!(out.contains("<stdin>:") && !out.contains(" -:"), "{out}");
    // JSON, an error and a parse failure name no file but exit as for a file.
    let (c, json, _) = run_stdin(&["validate", "-", "--format", "json"], &seed, &[]);
    assert_eq!(c, 0);
    assert!(serde_json::from_str::<serde_json::Value>(&json).unwrap().is_array());
    let bad = std::fs::read(root().join("fixtures/rules/HA003/trigger.yaml")).unwrap();
    let (c, out, _) = run_stdin(&["validate", "-"], &bad, &[]);
    assert_eq!(c, 1);
    assert!(out.contains("error[HA003]") && out.contains("--> <stdin>:"), "{out}");
    let (c, out, _) = run_stdin(&["validate", "-"], b"sites: [\n", &[]);
    assert_eq!(c, 2);
    assert!(out.contains("error[HA001]") && out.contains("<stdin>"), "{out}");
    let (c, _, e) = run_stdin(&["validate", "-"], b"\xff\xfe", &[]);
    assert_eq!(c, 2);
    assert!(e.contains("<stdin> is not UTF-8"), "{e}");
    // plan and render read it too.
    let (c, out, _) = run_stdin(&["plan", "-"], &seed, &[]);
    assert_eq!((c, out), (0, run(&["plan", "fixtures/examples/seed.yaml"]).1));
    let base = std::env::temp_dir().join(format!("hha-stdin-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let env = [
        ("HARBOR_ADMIN_PASSWORD", "Adm1n-Passw0rd"),
        ("HARBOR_DB_PASSWORD", "db-pw"),
        ("HARBOR_REDIS_PASSWORD", "redis-pw_1"),
    ];
    let (c, out, e) = run_stdin(&["render", "-", "--out", base.join("b").to_str().unwrap()], &seed, &env);
    assert_eq!(c, 0, "{out}{e}");
    assert!(base.join("b/README.md").is_file());
    // --from with a file and the wanted topology on stdin; `-` twice is a usage error.
    let (c, out, e) = run_stdin(&["plan", "--from", "fixtures/examples/seed.yaml", "-"], &seed, &[]);
    assert_eq!(c, 0, "{out}{e}");
    assert!(out.contains("<stdin>"), "{out}");
    let (c, _, e) = run_stdin(&["plan", "--from", "-", "-"], &seed, &[]);
    assert_eq!(c, 2);
    assert!(e.contains("more than once"), "{e}");
    let (c, _, e) = run_stdin(&["render", "-", "--from", "-", "--out", base.join("c").to_str().unwrap()], &seed, &env);
    assert_eq!(c, 2);
    assert!(e.contains("more than once"), "{e}");
    std::fs::remove_dir_all(&base).unwrap();
}

#[test]
fn render_prints_warnings_and_what_changed() {
    let base = std::env::temp_dir().join(format!("hha-changes-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base).unwrap();
    let out = base.join("bundle");
    let d = out.to_str().unwrap();
    // The seed has warnings: render prints them to stderr exactly as validate prints them.
    let (_, validate_out, _) = run(&["validate", "fixtures/examples/seed.yaml"]);
    assert!(validate_out.contains("warning["), "{validate_out}");
    let (c, o, e) = render_cmd(&out, &["-v"]);
    assert_eq!(c, 0, "{o}{e}");
    assert_eq!(e, validate_out, "render's warnings differ from validate's");
    let files = walk_files(&out).len() - 2; // the marker and the manifest are not bundle files
    let first_line = o.lines().next().unwrap();
    assert_eq!(
        first_line,
        format!("wrote {files} files to {d} ({files} created, 0 changed, 0 removed); start with {d}/README.md")
    );
    // -v lists every path; the listing of a fresh directory is stable: a snapshot.
    let listed: Vec<&str> = o.lines().skip(1).collect();
    assert_eq!(listed.len(), files, "{o}");
    assert!(listed.iter().all(|l| l.starts_with("  created  ")), "{o}");
    insta::with_settings!({snapshot_path => root().join("tests/snapshots/render"), prepend_module_to_snapshot => false, omit_expression => true}, {
        insta::assert_snapshot!("seed-verbose-fresh", o.replace(d, "<out>"));
    });
    // Unchanged: up to date, warnings still printed.
    let (c, o, e) = render_cmd(&out, &[]);
    assert_eq!((c, e.as_str()), (0, validate_out.as_str()));
    assert_eq!(o, format!("{d} is up to date ({files} files unchanged); start with {d}/README.md\n"));
    // A hand edit and a stray file (overwritten with --force): one changed, one removed; -v
    // names them.
    std::fs::write(out.join("README.md"), "edited by hand\n").unwrap();
    std::fs::write(out.join("hosts/stray.txt"), "x").unwrap();
    let (c, o, _) = render_cmd(&out, &["--verbose", "--force"]);
    assert_eq!(c, 0);
    assert_eq!(
        o,
        format!(
            "wrote {files} files to {d} (0 created, 1 changed, 1 removed); start with {d}/README.md\n  changed  README.md\n  removed  hosts/stray.txt\n"
        )
    );
    // Without -v: the counts alone.
    std::fs::write(out.join("README.md"), "edited again\n").unwrap();
    let (_, o, _) = render_cmd(&out, &["--force"]);
    assert!(o.contains("(0 created, 1 changed, 0 removed)") && o.lines().count() == 1, "{o}");
    // -q: nothing at all on success, on either stream; errors still print.
    std::fs::write(out.join("README.md"), "edited again\n").unwrap();
    let (c, o, e) = render_cmd(&out, &["-q", "--force"]);
    assert_eq!((c, o.as_str(), e.as_str()), (0, "", ""));
    assert_eq!(
        std::fs::read_to_string(out.join("README.md")).unwrap().lines().next(),
        Some("# Harbor HA deployment: prod")
    );
    let (c, o, _) = run(&["render", "fixtures/rules/HA003/trigger.yaml", "--out", d, "-q"]);
    assert_eq!(c, 1);
    assert!(o.contains("error[HA003]"), "{o}");
    assert_eq!(run(&["render", "fixtures/examples/seed.yaml", "--out", d, "-q", "-v"]).0, 2);
    std::fs::remove_dir_all(&base).unwrap();
}

#[test]
fn allowed_warnings_are_hidden_counted_and_listed_as_suppressed() {
    let seed = "fixtures/examples/seed.yaml";
    // The seed: BK002 and four HA007 warnings.
    let (c, text, _) = run(&["validate", seed, "--allow", "HA007", "--allow", "no-backup", "--strict"]);
    assert_eq!(c, 0, "{text}");
    assert_eq!(text, format!("{seed}: 0 errors, 0 warnings (5 warnings suppressed by allow)\n"));
    let (c, text, _) = run(&["validate", seed, "--allow", "ha007", "--strict"]);
    assert_eq!(c, 1);
    assert!(text.contains("warning[BK002]") && !text.contains("warning[HA007]"), "{text}");
    assert!(text.ends_with("0 errors, 1 warning (4 warnings suppressed by allow)\n"), "{text}");
    let (_, json, _) = run(&["validate", seed, "--allow", "HA007", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let s: Vec<(&str, bool)> =
        v.as_array().unwrap().iter().map(|d| (d["code"].as_str().unwrap(), d.get("suppressed").is_some())).collect();
    assert_eq!(s, [("BK002", false), ("HA007", true), ("HA007", true), ("HA007", true), ("HA007", true)]);
    // Unknown codes and errors are refused on the command line (usage, exit 2).
    let (c, _, e) = run(&["validate", seed, "--allow", "HA07"]);
    assert_eq!(c, 2);
    assert!(e.contains("`HA07` is not a rule code") && e.contains("did you mean `HA007`"), "{e}");
    let (c, _, e) = run(&["validate", seed, "--allow", "HA003"]);
    assert_eq!(c, 2);
    assert!(e.contains("HA003 (host-outside-subnet) is an error: errors cannot be allowed"), "{e}");
    // An allowed error code never hides an error: HA003's trigger still fails.
    let (c, _, _) = run(&["validate", "fixtures/rules/HA003/trigger.yaml", "--allow", "HA007"]);
    assert_eq!(c, 1);
    // plan takes it too; render hides the allowed warnings and counts them.
    assert_eq!(run(&["plan", seed, "--allow", "HA007"]).0, 0);
    assert_eq!(run(&["plan", seed, "--allow", "HA03"]).0, 2);
    let base = std::env::temp_dir().join(format!("hha-allow-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let (c, o, e) = render_cmd(&base.join("b"), &["--allow", "HA007"]);
    assert_eq!(c, 0, "{o}{e}");
    assert!(e.contains("warning[BK002]") && !e.contains("warning[HA007]"), "{e}");
    assert!(e.ends_with("0 errors, 1 warning (4 warnings suppressed by allow)\n"), "{e}");
    std::fs::remove_dir_all(&base).unwrap();
    // The topology's own keys: the AL001 near-miss allows everything the seed warns about.
    let (c, text, _) = run(&["validate", "fixtures/rules/AL001/near-miss.yaml", "--strict"]);
    assert_eq!(c, 0, "{text}");
    assert!(text.ends_with("0 errors, 0 warnings (5 warnings suppressed by allow)\n"), "{text}");
}

/// A fixture with an error and a warning, and one with a "first used here" label.
const ERR_AND_WARN: &str = "fixtures/rules/HA002/trigger.yaml";

#[test]
fn colour_only_on_request_or_a_terminal() {
    let esc = "\u{1b}[";
    // Piped (as here): plain.
    let (_, out, _) = run_stdin(&["validate", ERR_AND_WARN], b"", &[]);
    assert!(out.contains("error[HA002]") && !out.contains(esc), "{out}");
    let (_, out, _) = run_stdin(&["validate", ERR_AND_WARN], b"", &[("CLICOLOR_FORCE", "1")]);
    assert!(out.contains(esc), "CLICOLOR_FORCE=1 colours a pipe: {out}");
    let (_, out, _) = run_stdin(&["validate", ERR_AND_WARN], b"", &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]);
    assert!(!out.contains(esc), "NO_COLOR wins: {out}");
    let (_, out, _) = run_stdin(&["validate", ERR_AND_WARN], b"", &[("CLICOLOR_FORCE", "0")]);
    assert!(!out.contains(esc), "{out}");
    let (_, out, _) = run_stdin(&["validate", ERR_AND_WARN, "--color", "always"], b"", &[("NO_COLOR", "1")]);
    assert!(out.contains(esc), "--color always: {out}");
    let (_, out, _) = run_stdin(&["validate", ERR_AND_WARN, "--color", "never"], b"", &[("CLICOLOR_FORCE", "1")]);
    assert!(!out.contains(esc), "--color never: {out}");
    // Machine formats are never coloured.
    let (_, out, _) = run_stdin(&["validate", ERR_AND_WARN, "--format", "json"], b"", &[("CLICOLOR_FORCE", "1")]);
    assert!(!out.contains(esc), "{out}");
    // render's warnings (standard error) too.
    let dir = std::env::temp_dir().join(format!("harbor-ha-colour-{}", std::process::id()));
    let (code, _, err) = run_stdin(
        &["render", "fixtures/examples/seed.yaml", "--out", dir.to_str().unwrap()],
        b"",
        &[
            ("CLICOLOR_FORCE", "1"),
            ("HARBOR_ADMIN_PASSWORD", "Adm1n-Passw0rd"),
            ("HARBOR_DB_PASSWORD", "db-Passw0rd"),
            ("HARBOR_REDIS_PASSWORD", "redis-pw_1"),
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("warning") && err.contains(esc), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A topology with two hosts of one name: the second's error labels the first.
fn duplicate_host_file(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(root().join(ERR_AND_WARN))
        .unwrap()
        .replace("name: harbor_2", "name: harbor-1")
        .replace("192.168.1.12", "192.168.1.11");
    let p = dir.join("dup.yaml");
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn duplicates_point_at_the_first_use() {
    let dir = std::env::temp_dir().join(format!("harbor-ha-dup-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = duplicate_host_file(&dir);
    let f = p.to_str().unwrap();
    let (code, out, _) = run(&["validate", f]);
    assert_eq!(code, 1);
    // The excerpt shows both lines: the first use labelled, the duplicate underlined whole.
    let block = out.split("\n\n").find(|b| b.contains("host name `harbor-1` is already used")).expect(&out);
    assert!(block.contains("14 |       - {name: harbor-1,"), "{block}");
    assert!(block.contains("-------- first used here"), "{block}");
    assert!(block.contains("15 |       - {name: harbor-1,"), "{block}");
    assert!(block.contains("^^^^^^^^\n"), "{block}");
    let (_, json, _) = run(&["validate", f, "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let d = v.as_array().unwrap().iter().find(|d| d["path"] == "sites[0].hosts[2].name").unwrap();
    assert_eq!(
        (d["line"].as_u64(), d["column"].as_u64(), d["end_line"].as_u64(), d["end_column"].as_u64()),
        (Some(15), Some(16), Some(15), Some(24))
    );
    let r = &d["related"][0];
    assert_eq!(r["path"], "sites[0].hosts[1].name");
    assert_eq!(r["message"], "first used here");
    assert_eq!((r["line"].as_u64(), r["column"].as_u64(), r["end_column"].as_u64()), (Some(14), Some(16), Some(24)));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The official SARIF 2.1.0 schema (tests/data/README.md says where it comes from).
fn sarif_validator() -> (boon::Schemas, boon::SchemaIndex) {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("harbor-ha-cli/tests/data/sarif-schema-2.1.0.json")).unwrap(),
    )
    .unwrap();
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.enable_format_assertions();
    compiler.add_resource("https://example.invalid/sarif-schema-2.1.0.json", schema).unwrap();
    let idx = compiler.compile("https://example.invalid/sarif-schema-2.1.0.json", &mut schemas).unwrap();
    (schemas, idx)
}

#[test]
fn sarif_output_is_valid_sarif_2_1_0() {
    let (schemas, idx) = sarif_validator();
    let dir = std::env::temp_dir().join(format!("harbor-ha-sarif-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let dup = duplicate_host_file(&dir);
    // Errors, warnings, a related place, allowed warnings, a parse error, a clean file.
    let cases: Vec<Vec<String>> = vec![
        vec![ERR_AND_WARN.into()],
        vec![dup.to_str().unwrap().into(), "--allow".into(), "HA007".into()],
        vec!["fixtures/rules/AL001/near-miss.yaml".into()],
        vec!["fixtures/rules/HA001/trigger.yaml".into()],
        vec!["fixtures/rules/HA005/near-miss.yaml".into()],
    ];
    let mut seen_related = false;
    let mut seen_suppressed = false;
    for args in cases {
        let mut a = vec!["validate".to_string()];
        a.extend(args.clone());
        a.extend(["--format".into(), "sarif".into()]);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let (_, out, err) = run(&a);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}\n{out}{err}"));
        if let Err(e) = schemas.validate(&v, idx) {
            panic!("{args:?}: not valid SARIF 2.1.0: {e:#}\n{out}");
        }
        let run0 = &v["runs"][0];
        let rules = run0["tool"]["driver"]["rules"].as_array().unwrap();
        assert!(rules.len() > 40);
        for r in run0["results"].as_array().unwrap() {
            let i = r["ruleIndex"].as_u64().unwrap() as usize;
            assert_eq!(rules[i]["id"], r["ruleId"], "{args:?}");
            let loc = &r["locations"][0]["physicalLocation"];
            assert_eq!(loc["artifactLocation"]["uri"], args[0].as_str());
            assert!(r["message"]["text"].as_str().unwrap().contains("hint: "));
            seen_related |= r.get("relatedLocations").is_some();
            seen_suppressed |= r.get("suppressions").is_some();
        }
    }
    assert!(seen_related && seen_suppressed, "the cases cover related places and suppressions");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn github_format_is_one_escaped_workflow_command_per_finding() {
    let dir = std::env::temp_dir().join(format!("harbor-ha-gh-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // A hostile file name: a comma, a colon, a percent sign and a newline.
    let name = "we,ird:na%me\nx.yaml";
    let p = dir.join(name);
    std::fs::copy(root().join(ERR_AND_WARN), &p).unwrap();
    let f = p.to_str().unwrap();
    let (code, out, _) = run(&["validate", f, "--format", "github"]);
    assert_eq!(code, 1);
    let (_, json, _) = run(&["validate", f, "--format", "json"]);
    let diags: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), diags.len(), "{out}");
    let escaped = dir.to_str().unwrap().replace('%', "%25").replace(':', "%3A").replace(',', "%2C")
        + "/we%2Cird%3Ana%25me%0Ax.yaml";
    for (l, d) in lines.iter().zip(&diags) {
        let kind = if d["severity"] == "error" { "::error " } else { "::warning " };
        assert!(l.starts_with(kind), "{l}");
        let (props, msg) = l[kind.len()..].split_once("::").expect(l);
        assert!(props.starts_with(&format!("file={escaped},")), "{props}");
        assert!(props.contains(&format!(",line={},col={}", d["line"], d["column"])), "{props}");
        assert!(props.ends_with(&format!(",title={}", d["code"].as_str().unwrap())), "{props}");
        // Property values hold no raw `,` or `:`; the message no raw line break.
        assert_eq!(props.split(',').count(), 6, "{props}");
        assert!(!props.contains(':'), "{props}");
        assert!(
            msg.contains(d["message"].as_str().unwrap())
                && msg.ends_with(&format!("({})", d["hint"].as_str().unwrap())),
            "{msg}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn excerpts_mask_secret_values_by_the_schema() {
    let dir = std::env::temp_dir().join(format!("harbor-ha-mask-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // An IN001 on the TLS key's path: the path is what the user must fix, so it is shown
    // (a key named `key` is not a secret: the schema says it is a path).
    let tls = std::fs::read_to_string(root().join("fixtures/rules/IN001/near-miss.yaml"))
        .unwrap()
        .replace("key: /etc/nginx/ssl/harbor.key}", "key: \"/etc/nginx/ssl/harbor key;x\"}");
    let p = dir.join("tls.yaml");
    std::fs::write(&p, tls).unwrap();
    let (code, out, _) = run(&["validate", p.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    let block = out.split("\n\n").find(|b| b.contains("error[IN001]")).expect(&out);
    assert!(block.contains("key: \"/etc/nginx/ssl/harbor key;x\"}"), "{block}");
    assert!(!block.contains("****"), "{block}");

    // Literal secrets with `:`, `#` and quotes, in unusual layouts, on lines that excerpts
    // show (each is an SC001 warning's own line; one shares its line with an unknown key).
    let seed = std::fs::read_to_string(root().join("fixtures/examples/seed.yaml")).unwrap();
    let secrets = ["pa:ss#1,x", "s3cr3t: 'two'", "multi-line-secret-part"];
    let text = seed
        // A folded block over two lines.
        .replace(
            "admin_password: {env: HARBOR_ADMIN_PASSWORD}",
            &format!("admin_password: >-\n        {}\n        also", secrets[2]),
        )
        // In a flow mapping with its neighbours on the line.
        .replace(
            "    database:\n      version: \"9.6\"\n      port: 5432\n      username: harbor\n      password: {env: HARBOR_DB_PASSWORD}",
            &format!("    database: {{version: \"9.6\", port: 5432, password: \"{}\", username: harbor}}", secrets[0]),
        )
        // On the line after its key, single-quoted with a quote, a colon and a hash.
        .replace("password: {env: HARBOR_REDIS_PASSWORD}", &format!("password:\n        '{}'", secrets[1].replace('\'', "''")));
    let p = dir.join("secrets.yaml");
    std::fs::write(&p, &text).unwrap();
    let f = p.to_str().unwrap();
    let (_, out, _) = run(&["validate", f]);
    assert!(out.matches("warning[SC001]").count() >= 2, "{text}\n{out}");
    assert!(out.contains("****"), "{out}");
    for fmt in ["text", "json", "sarif", "github"] {
        let (_, out, err) = run(&["validate", f, "--format", fmt]);
        for s in secrets {
            assert!(!out.contains(s) && !err.contains(s), "{fmt}: secret {s:?} leaked:\n{out}{err}");
        }
        assert!(!out.contains("pa:ss") && !out.contains("s3cr3t") && !out.contains("multi-line"), "{fmt}: {out}");
    }
    // A secret on the line of a parse error is masked too.
    let broken = seed.replace("password: {env: HARBOR_DB_PASSWORD}", "{password: \"pa:ss#1,x\", bogus_key: 1}");
    let p = dir.join("broken.yaml");
    std::fs::write(&p, &broken).unwrap();
    for fmt in ["text", "json", "sarif", "github"] {
        let (code, out, err) = run(&["validate", p.to_str().unwrap(), "--format", fmt]);
        assert_eq!(code, 2, "{out}{err}");
        assert!(!out.contains("pa:ss") && !err.contains("pa:ss"), "{fmt}: {out}{err}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn render_prints_its_diagnostics_in_the_machine_formats() {
    let dir = std::env::temp_dir().join(format!("harbor-ha-render-fmt-{}", std::process::id()));
    // Refused (errors): the diagnostics in the format asked for, on standard output.
    for fmt in ["json", "sarif", "github"] {
        let (code, out, _) = run(&["render", ERR_AND_WARN, "--out", dir.to_str().unwrap(), "--format", fmt]);
        assert_eq!(code, 1, "{fmt}: {out}");
        assert!(out.contains("HA002"), "{fmt}: {out}");
        if fmt != "github" {
            serde_json::from_str::<serde_json::Value>(&out).unwrap_or_else(|e| panic!("{fmt}: {e}: {out}"));
        } else {
            assert!(out.lines().all(|l| l.starts_with("::")), "{out}");
        }
    }
    assert!(!dir.exists());
}

#[test]
fn a_vip_on_a_hosts_address_labels_that_address() {
    let dir = std::env::temp_dir().join(format!("harbor-ha-vip-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let near = std::fs::read_to_string(root().join("fixtures/rules/LB003/near-miss.yaml")).unwrap();
    let lb = near.lines().find(|l| l.contains("roles: [lb]")).expect("an LB host").to_string();
    let addr = lb.split("address: ").nth(1).unwrap().split(',').next().unwrap().to_string();
    let p = dir.join("vip.yaml");
    std::fs::write(&p, near.replace("vip: 192.168.1.100", &format!("vip: {addr}"))).unwrap();
    let (code, json, _) = run(&["validate", p.to_str().unwrap(), "--format", "json"]);
    assert_eq!(code, 1, "{json}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let d = v.as_array().unwrap().iter().find(|d| d["code"] == "LB003").expect(&json);
    let r = &d["related"][0];
    assert!(r["path"].as_str().unwrap().ends_with(".address"), "{d}");
    let line = near.lines().position(|l| l == lb).unwrap() + 1;
    assert_eq!(r["line"].as_u64(), Some(line as u64), "{d}");
    let (_, text, _) = run(&["validate", p.to_str().unwrap()]);
    assert!(text.contains("the address of `"), "{text}");
    std::fs::remove_dir_all(&dir).unwrap();
}
