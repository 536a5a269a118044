//! `harbor-ha render`'s secrets: `--locked` generates none, `--secrets DIR` reads them from
//! elsewhere (and refuses a directory that holds none), the secrets of many sites are made in
//! parallel and the same whatever the order, and a long render shows a progress bar on a
//! terminal only.

#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::disallowed_macros,
    reason = "tests run the command and set up files"
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// A scratch directory removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let p = std::env::temp_dir().join(format!("hha-secrets-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Scratch(p)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const PASSWORDS: [(&str, &str); 4] = [
    ("HARBOR_ADMIN_PASSWORD", "Adm1n-Passw0rd"),
    ("HARBOR_DB_PASSWORD", "db-pw"),
    ("HARBOR_REDIS_PASSWORD", "redis-pw_1"),
    ("HARBOR_REPLICATION_SECRET", "repl-secret"),
];

fn render(file: &Path, out: &Path, extra: &[&str]) -> (i32, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_harbor-ha"))
        .arg("render")
        .arg(file)
        .arg("--out")
        .arg(out)
        .args(extra)
        .current_dir(root())
        .envs(PASSWORDS)
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn seed() -> PathBuf {
    root().join("fixtures/examples/seed.yaml")
}

/// The files of `dir/secrets/` by relative path.
fn secrets_of(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let base = dir.join("secrets");
    for site in std::fs::read_dir(&base).unwrap() {
        let site = site.unwrap();
        for f in std::fs::read_dir(site.path()).unwrap() {
            let f = f.unwrap();
            let rel = format!("{}/{}", site.file_name().to_string_lossy(), f.file_name().to_string_lossy());
            out.insert(rel, std::fs::read_to_string(f.path()).unwrap());
        }
    }
    out
}

#[test]
fn locked_generates_nothing_and_names_what_is_missing() {
    let tmp = Scratch::new("locked");
    let out = tmp.0.join("bundle");
    // A first render with --locked: every secret would be new.
    let (c, o, e) = render(&seed(), &out, &["--locked"]);
    assert_eq!(c, 2, "{o}{e}");
    assert!(e.contains("--locked") && e.contains("would be generated"), "{e}");
    for name in ["core_secret", "csrf_key", "token_private_key.pem", "token_certificate.pem"] {
        assert!(e.contains(&format!("secrets/prod/{name}")), "{name} not named: {e}");
    }
    assert!(!out.exists(), "a refused render wrote {}", out.display());

    // Rendered once without it, the same render with --locked needs nothing new.
    let (c, o, e) = render(&seed(), &out, &[]);
    assert_eq!(c, 0, "{o}{e}");
    let stored = secrets_of(&out);
    let (c, o, e) = render(&seed(), &out, &["--locked"]);
    assert_eq!(c, 0, "{o}{e}");
    assert!(o.contains("is up to date"), "{o}");

    // One file lost: --locked names it alone and changes nothing.
    std::fs::remove_file(out.join("secrets/prod/csrf_key")).unwrap();
    let (c, o, e) = render(&seed(), &out, &["--locked"]);
    assert_eq!(c, 2, "{o}{e}");
    assert!(e.contains("this secret is not stored") && e.contains("secrets/prod/csrf_key"), "{e}");
    assert!(!e.contains("core_secret"), "a stored secret was named: {e}");
    assert!(!out.join("secrets/prod/csrf_key").exists(), "--locked made the missing secret");
    // No secret value in what it printed.
    for v in stored.values() {
        assert!(!e.contains(v.trim_end()), "a secret value reached stderr");
    }
}

#[test]
fn secrets_dir_is_read_instead_of_the_bundles_and_must_hold_secrets() {
    let tmp = Scratch::new("dir");
    let first = tmp.0.join("first");
    let (c, o, e) = render(&seed(), &first, &[]);
    assert_eq!(c, 0, "{o}{e}");

    // A second bundle from the first one's secrets: the same secrets, none generated
    // (so --locked passes).
    let second = tmp.0.join("second");
    let given = first.join("secrets");
    let (c, o, e) = render(&seed(), &second, &["--locked", "--secrets", given.to_str().unwrap()]);
    assert_eq!(c, 0, "{o}{e}");
    assert_eq!(secrets_of(&second), secrets_of(&first), "--secrets DIR was not what the bundle carries");

    // An empty directory, a missing one and one of unrelated files are refused before
    // anything is generated or written.
    let empty = tmp.0.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let unrelated = tmp.0.join("unrelated");
    std::fs::create_dir_all(unrelated.join("prod")).unwrap();
    std::fs::write(unrelated.join("prod/notes.txt"), "not a secret\n").unwrap();
    for dir in [empty, tmp.0.join("missing"), unrelated] {
        let third = tmp.0.join("third");
        let (c, o, e) = render(&seed(), &third, &["--secrets", dir.to_str().unwrap()]);
        assert_eq!(c, 2, "{}: {o}{e}", dir.display());
        assert!(e.contains("--secrets") && e.contains("no stored secrets there"), "{e}");
        assert!(e.contains(&dir.display().to_string()), "the directory is not named: {e}");
        assert!(!third.exists(), "a refused render wrote {}", third.display());
    }
}

/// Sites of two Harbor nodes each (each site: its own token key and LB key pair).
fn many_sites(tmp: &Path, sites: usize) -> PathBuf {
    let f = tmp.join(format!("sites-{sites}.yaml"));
    std::fs::write(&f, harbor_ha_core::synthetic::topology_yaml(sites, 2)).unwrap();
    f
}

#[test]
fn the_secrets_of_many_sites_are_each_their_own_and_kept() {
    // Made on several threads: each site gets its own keys (no value shared between sites),
    // and a re-render, which reads them back on several threads too, keeps every one.
    let tmp = Scratch::new("many");
    let file = many_sites(&tmp.0, 4);
    let out = tmp.0.join("bundle");
    let (c, o, e) = render(&file, &out, &[]);
    assert_eq!(c, 0, "{o}{e}");
    let first = secrets_of(&out);
    let sites: std::collections::BTreeSet<&str> = first.keys().filter_map(|k| k.split('/').next()).collect();
    assert_eq!(sites.len(), 4, "{sites:?}");
    let mut by_value: BTreeMap<&str, &str> = BTreeMap::new();
    for (path, v) in &first {
        if let Some(other) = by_value.insert(v.as_str(), path.as_str()) {
            panic!("{path} and {other} hold the same value");
        }
    }
    let (c, o, e) = render(&file, &out, &["--locked"]);
    assert_eq!(c, 0, "{o}{e}");
    assert_eq!(secrets_of(&out), first, "a re-render changed a secret");
}

#[test]
fn the_progress_bar_shows_on_a_terminal_only() {
    // script(1) gives the command a terminal; piped, the same render draws nothing.
    if Command::new("script").arg("--version").output().is_err() {
        assert!(std::env::var_os("CI").is_none(), "script (util-linux) is needed in CI");
        eprintln!("SKIP: no script(1)");
        return;
    }
    let tmp = Scratch::new("bar");
    let file = many_sites(&tmp.0, 3);
    let out = tmp.0.join("bundle");
    let cmd = format!("{} render {} --out {}", env!("CARGO_BIN_EXE_harbor-ha"), file.display(), out.display());
    let o = Command::new("script").args(["-qefc", &cmd, "/dev/null"]).envs(PASSWORDS).output().unwrap();
    let shown = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success(), "{shown}");
    assert!(shown.contains("sites") && shown.contains("secrets (an RSA key per new site)"), "no bar: {shown}");
    assert!(shown.contains("wrote "), "{shown}");

    // Not a terminal: no bar, not even with a render as long.
    let piped = tmp.0.join("piped");
    let (c, o, e) = render(&file, &piped, &[]);
    assert_eq!(c, 0, "{o}{e}");
    assert!(!e.contains("RSA key") && !o.contains("RSA key"), "a bar on a pipe: {o}{e}");
    // --quiet: none on a terminal either.
    let quiet = tmp.0.join("quiet");
    let cmd = format!("{} render {} --out {} -q", env!("CARGO_BIN_EXE_harbor-ha"), file.display(), quiet.display());
    let o = Command::new("script").args(["-qefc", &cmd, "/dev/null"]).envs(PASSWORDS).output().unwrap();
    let shown = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success() && !shown.contains("RSA key"), "{shown}");
}
