//! `harbor-ha render` killed (SIGKILL) at random points of a changed re-render of the seed,
//! many times (three bundles, each render goes to another: the seed with one admin password,
//! with another, and the seed with a third Harbor node, which adds and removes a host's
//! directory): every state it leaves is the old bundle, the new one, or one that the next
//! render (without --force) completes, after which the directory equals a fresh render's.
//! The delays come from a seeded generator (`HARBOR_HA_CRASH_SEED` picks another seed; the
//! seed is in every failure message).

#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::disallowed_macros,
    reason = "the test runs the command on real directories and prints what the kills left"
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PENDING: &str = ".harbor-ha-pending";

/// One of the three renders: the topology file and the admin password.
#[derive(Clone, Copy)]
struct Version<'a>(&'a Path, &'a str);

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn command(out: &Path, Version(topology, password): Version, extra: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_harbor-ha"));
    c.arg("render")
        .arg(topology)
        .args(["-q", "--out"])
        .arg(out)
        .args(extra)
        .current_dir(root())
        .env("HARBOR_ADMIN_PASSWORD", password)
        .env("HARBOR_DB_PASSWORD", "db-pw")
        .env("HARBOR_REDIS_PASSWORD", "redis-pw_1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    c
}

fn render(out: &Path, v: Version, extra: &[&str]) -> Result<(), String> {
    let o = command(out, v, extra).output().unwrap();
    if o.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&o.stderr).into_owned())
    }
}

/// Every entry under `dir`: path → (is a directory, mode, content).
fn tree(dir: &Path) -> BTreeMap<String, (bool, u32, Vec<u8>)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let m = e.metadata().unwrap();
            let rel = e.path().strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            let mode = m.permissions().mode() & 0o7777;
            if m.is_dir() {
                stack.push(e.path());
                out.insert(rel, (true, mode, Vec::new()));
            } else {
                out.insert(rel, (false, mode, std::fs::read(e.path()).unwrap()));
            }
        }
    }
    out
}

/// A fresh render of `v` with the secrets of `from`: a directory holding only those secrets
/// (`--force`: it is not a bundle yet).
fn fresh(from: &Path, to: &Path, v: Version) -> BTreeMap<String, (bool, u32, Vec<u8>)> {
    let _ = std::fs::remove_dir_all(to);
    let secrets = to.join("secrets");
    std::fs::create_dir_all(&secrets).unwrap();
    let ok = Command::new("cp").arg("-a").arg(from.join("secrets/.")).arg(&secrets).status().unwrap();
    assert!(ok.success());
    render(to, v, &["--force"]).unwrap();
    tree(to)
}

/// xorshift64*: the delays, reproducible from the seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

#[test]
fn a_render_killed_at_random_points_is_old_new_or_completed_by_the_next() {
    let seed: u64 = std::env::var("HARBOR_HA_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(19);
    let base = std::env::temp_dir().join(format!("hha-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base).unwrap();
    let out = base.join("bundle");
    let seed_file = root().join("fixtures/examples/seed.yaml");
    let seed_text = std::fs::read_to_string(&seed_file).unwrap();
    let harbor_2 = "      - {name: harbor-2, address: 192.168.166.212, roles: [harbor]}\n";
    assert!(seed_text.contains(harbor_2));
    let three_nodes = base.join("three-nodes.yaml");
    let third = harbor_2.replace("harbor-2", "harbor-3").replace(".212", ".213");
    std::fs::write(&three_nodes, seed_text.replace(harbor_2, &format!("{harbor_2}{third}"))).unwrap();
    let versions = [
        Version(&seed_file, "Adm1n-Passw0rd"),
        Version(&seed_file, "Other-Passw0rd-2"),
        Version(&three_nodes, "Adm1n-Passw0rd"),
    ];
    // The first render makes the secrets (the RSA key takes a while); then the bundles as
    // fresh renders with those secrets.
    render(&out, versions[0], &[]).unwrap();
    let want: Vec<_> =
        versions.iter().enumerate().map(|(i, v)| fresh(&out, &base.join(format!("fresh-{i}")), *v)).collect();
    assert!(want[0] != want[1] && want[1] != want[2] && want[0] != want[2]);
    assert_eq!(tree(&out), want[0], "a render equals a fresh render with the same secrets");
    // How long a changed re-render takes here (the median of five); the kills land in
    // [0.3, 1.2] of it, where the end (loading, validating and rendering come first) is the
    // writing.
    let mut took = Vec::new();
    for i in 1..=6 {
        let t = Instant::now();
        render(&out, versions[i % 3], &[]).unwrap();
        took.push(t.elapsed());
    }
    took.sort();
    let took = took[2];
    let mut current = 0; // 6 renders: back to the first bundle.
    assert_eq!(tree(&out), want[current]);
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let (mut old, mut new, mut completed, mut back) = (0, 0, 0, 0);
    let iterations = 120;
    for i in 0..iterations {
        let target = (current + 1 + usize::try_from(rng.next() % 2).unwrap()) % 3;
        let ctx = format!("seed {seed}, iteration {i}");
        let micros = u64::try_from(took.as_micros()).unwrap();
        let delay = Duration::from_micros(micros * 3 / 10 + rng.next() % (micros * 9 / 10 + 1));
        let mut child = command(&out, versions[target], &[]).spawn().unwrap();
        std::thread::sleep(delay);
        let _ = child.kill();
        let status = child.wait().unwrap();
        let state = tree(&out);
        if state == want[current] {
            old += 1;
            continue;
        }
        if state == want[target] {
            new += 1;
            current = target;
            continue;
        }
        assert!(!status.success(), "{ctx}: the render finished, yet the directory is neither bundle");
        // Detected and completed by the next render, whatever it renders: the new bundle, or
        // the old one again.
        let to = if rng.next() % 2 == 0 { target } else { current };
        if let Err(e) = render(&out, versions[to], &[]) {
            panic!("{ctx}: killed after {delay:?}, the next render failed: {e}\nstate: {:?}", state.keys());
        }
        assert_eq!(tree(&out), want[to], "{ctx}: killed after {delay:?}: the next render's directory is a fresh one's");
        assert!(!out.join(PENDING).exists());
        if to == target {
            completed += 1;
        } else {
            back += 1;
        }
        current = to;
    }
    eprintln!(
        "seed {seed}: {iterations} renders killed ({took:?} each): {old} left the old bundle, {new} the new one, \
         {completed} were completed by the next render, {back} rolled back by it"
    );
    assert_eq!(old + new + completed + back, iterations);
    std::fs::remove_dir_all(&base).unwrap();
}
