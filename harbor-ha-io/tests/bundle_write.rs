//! `write_bundle`: an unchanged bundle is left alone, a change replaces only the files that
//! differ (the others keep their mtimes), the manifest lists every file, a hand edit is not
//! overwritten without force, files get their final mode, and no path can leave the output
//! directory.

#![allow(clippy::disallowed_methods, clippy::disallowed_types, reason = "tests write and read real directories")]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, SystemTime};

use common::TempDir;
use harbor_ha_core::bundle::{sha256_hex, Bundle, Manifest, MANIFEST, MARKER, PENDING};
use harbor_ha_io::{write_bundle, Changes, WriteError, WriteOutcome};

fn sample() -> Bundle {
    let mut b = Bundle::default();
    b.add("README.md", "# bundle\n", 0o644);
    b.add("hosts/lb-1/install.sh", "#!/bin/sh\necho lb\n", 0o755);
    b.add("hosts/lb-1/files/etc/nginx/conf.d/harbor.conf", "events {}\n", 0o644);
    b.add("secrets/prod/core_secret", "s3cr3t\n", 0o600);
    b
}

/// Every file under `dir` (relative path → content, mode, mtime), the marker included.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>, u32, SystemTime)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let m = e.metadata().unwrap();
            if m.is_dir() {
                stack.push(e.path());
            } else {
                let rel = e.path().strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.push((
                    rel,
                    std::fs::read(e.path()).unwrap(),
                    m.permissions().mode() & 0o7777,
                    m.modified().unwrap(),
                ));
            }
        }
    }
    out.sort();
    out
}

fn age(dir: &Path) {
    // Move every mtime an hour back, so that a rewrite is visible even on coarse clocks.
    let old = SystemTime::now() - Duration::from_secs(3600);
    for (rel, ..) in snapshot(dir) {
        let f = std::fs::File::options().write(true).open(dir.join(rel)).unwrap();
        f.set_modified(old).unwrap();
    }
}

#[test]
fn first_write_then_unchanged_rewrite_touches_nothing() {
    let t = TempDir::new("bw-same");
    let out = t.0.join("out");
    let b = sample();
    assert_eq!(write_bundle(&b, &out, false).unwrap().outcome, WriteOutcome::Written);
    let before = snapshot(&out);
    assert_eq!(before.len(), b.files.len() + 2, "the files, the marker and the manifest");
    for (rel, content, mode, _) in &before {
        if rel == MARKER || rel == MANIFEST {
            continue;
        }
        let f = &b.files[rel];
        assert_eq!((content.as_slice(), *mode), (f.content.as_bytes(), f.mode), "{rel}");
    }
    age(&out);
    let aged = snapshot(&out);
    assert_eq!(write_bundle(&b, &out, false).unwrap().outcome, WriteOutcome::Unchanged);
    assert_eq!(snapshot(&out), aged, "an unchanged bundle keeps its files and their mtimes");
}

#[test]
fn a_change_replaces_only_the_files_that_differ_and_writes_the_manifest_last() {
    let t = TempDir::new("bw-partial");
    let out = t.0.join("out");
    let b = sample();
    write_bundle(&b, &out, false).unwrap();
    age(&out);
    let aged = snapshot(&out);
    let mut next = b.clone();
    next.add("README.md", "# bundle v2\n", 0o644);
    next.files.remove("hosts/lb-1/files/etc/nginx/conf.d/harbor.conf");
    next.add("hosts/lb-2/install.sh", "#!/bin/sh\n", 0o755);
    let s = write_bundle(&next, &out, false).unwrap();
    assert_eq!(s.outcome, WriteOutcome::Written);
    let after = snapshot(&out);
    let mtime =
        |snap: &[(String, Vec<u8>, u32, SystemTime)], rel: &str| snap.iter().find(|(r, ..)| r == rel).map(|(.., t)| *t);
    for rel in ["hosts/lb-1/install.sh", "secrets/prod/core_secret", MARKER] {
        assert_eq!(mtime(&after, rel), mtime(&aged, rel), "{rel}: unchanged, not rewritten");
    }
    assert_ne!(mtime(&after, "README.md"), mtime(&aged, "README.md"));
    assert!(!out.join("hosts/lb-1/files").exists(), "directories left empty are removed");
    assert!(!out.join(PENDING).exists(), "the journal is gone once the manifest is written");
    // The manifest: every file with its SHA-256 and mode, as sha256sum reads it.
    let m = Manifest::parse(&std::fs::read_to_string(out.join(MANIFEST)).unwrap()).unwrap();
    assert_eq!(m.files.keys().collect::<Vec<_>>(), next.files.keys().collect::<Vec<_>>());
    for (rel, e) in &m.files {
        assert_eq!(e.sha256, sha256_hex(&std::fs::read(out.join(rel)).unwrap()), "{rel}");
        assert_eq!(e.mode, next.files[rel].mode, "{rel}");
    }
    let check = std::process::Command::new("sha256sum")
        .args(["--strict", "--quiet", "-c", MANIFEST])
        .current_dir(&out)
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
}

#[test]
fn a_hand_edit_is_refused_naming_the_file_and_force_restores_the_bundle() {
    type Mutate = fn(&Path);
    // (what, mutation, the files refused without --force: empty when nothing is lost)
    let cases: [(&str, Mutate, &[&str]); 8] = [
        ("content", |o| std::fs::write(o.join("README.md"), "# edited\n").unwrap(), &["README.md"]),
        ("same length", |o| std::fs::write(o.join("README.md"), "# bundlE\n").unwrap(), &["README.md"]),
        (
            "mode",
            |o| {
                std::fs::set_permissions(o.join("secrets/prod/core_secret"), std::fs::Permissions::from_mode(0o644))
                    .unwrap();
            },
            &[],
        ),
        (
            "secrets directory opened",
            |o| {
                std::fs::set_permissions(o.join("secrets/prod"), std::fs::Permissions::from_mode(0o755)).unwrap();
            },
            &[],
        ),
        ("extra file", |o| std::fs::write(o.join("hosts/lb-1/stray.txt"), "x").unwrap(), &["hosts/lb-1/stray.txt"]),
        ("extra dir", |o| std::fs::create_dir(o.join("hosts/old-host")).unwrap(), &[]),
        ("missing file", |o| std::fs::remove_file(o.join("hosts/lb-1/install.sh")).unwrap(), &[]),
        (
            "symlink instead of file",
            |o| {
                std::fs::remove_file(o.join("README.md")).unwrap();
                std::os::unix::fs::symlink("/etc/hostname", o.join("README.md")).unwrap();
            },
            &["README.md"],
        ),
    ];
    let b = sample();
    for (what, mutate, refused) in cases {
        let t = TempDir::new("bw-diff");
        let out = t.0.join("out");
        write_bundle(&b, &out, false).unwrap();
        let expected: Vec<_> = snapshot(&out).into_iter().map(|(r, c, m, _)| (r, c, m)).collect();
        mutate(&out);
        let first = write_bundle(&b, &out, false);
        if refused.is_empty() {
            assert_eq!(first.unwrap().outcome, WriteOutcome::Written, "{what}: nothing lost, fixed");
        } else {
            match first {
                Err(e @ WriteError::Modified { .. }) => {
                    let WriteError::Modified { paths, .. } = &e else { unreachable!() };
                    assert_eq!(paths, refused, "{what}");
                    assert!(e.to_string().contains(refused[0]) && e.to_string().contains("--force"), "{e}");
                }
                other => panic!("{what}: expected Modified, got {other:?}"),
            }
            assert_eq!(write_bundle(&b, &out, true).unwrap().outcome, WriteOutcome::Written, "{what}");
        }
        let got: Vec<_> = snapshot(&out).into_iter().map(|(r, c, m, _)| (r, c, m)).collect();
        assert_eq!(got, expected, "{what}: the directory holds exactly the bundle again");
        let secrets_mode = std::fs::metadata(out.join("secrets/prod")).unwrap().permissions().mode() & 0o7777;
        assert_eq!(secrets_mode, 0o700, "{what}");
        let leftovers: Vec<_> = std::fs::read_dir(&t.0).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(leftovers, vec![std::ffi::OsString::from("out")], "{what}: nothing written beside it");
    }
}

#[test]
fn a_hand_edit_the_bundle_agrees_with_is_kept_and_a_stored_secret_is_not_replaced() {
    let t = TempDir::new("bw-secret");
    let out = t.0.join("out");
    write_bundle(&sample(), &out, false).unwrap();
    // A secret set by hand, then reused by the render (as render does from <out>/secrets):
    // nothing is lost, so nothing is refused.
    std::fs::write(out.join("secrets/prod/core_secret"), "rotated\n").unwrap();
    let mut reused = sample();
    reused.add("secrets/prod/core_secret", "rotated\n", 0o600);
    let s = write_bundle(&reused, &out, false).unwrap();
    assert_eq!((s.outcome, s.changes.is_empty()), (WriteOutcome::Written, true), "only the manifest is written");
    // A bundle with another value for a stored secret is refused; --force replaces it.
    match write_bundle(&sample(), &out, false) {
        Err(WriteError::SecretChanged { paths, .. }) => assert_eq!(paths, ["secrets/prod/core_secret"]),
        other => panic!("expected SecretChanged, got {other:?}"),
    }
    assert_eq!(std::fs::read_to_string(out.join("secrets/prod/core_secret")).unwrap(), "rotated\n");
    write_bundle(&sample(), &out, true).unwrap();
    assert_eq!(std::fs::read_to_string(out.join("secrets/prod/core_secret")).unwrap(), "s3cr3t\n");
}

#[test]
fn a_file_where_a_directory_belongs_is_a_difference() {
    let t = TempDir::new("bw-shape");
    let out = t.0.join("out");
    let b = sample();
    write_bundle(&b, &out, false).unwrap();
    std::fs::remove_file(out.join("README.md")).unwrap();
    std::fs::create_dir(out.join("README.md")).unwrap();
    assert_eq!(write_bundle(&b, &out, false).unwrap().outcome, WriteOutcome::Written);
    assert!(out.join("README.md").is_file());
}

#[test]
fn files_get_exactly_their_mode() {
    // The mode is given at creation and then set exactly on the open file: a 0755 script
    // stays 0755 whatever the umask, and a 0600 secret is never created wider.
    let t = TempDir::new("bw-mode");
    let out = t.0.join("out");
    write_bundle(&sample(), &out, false).unwrap();
    let mode = |rel: &str| std::fs::metadata(out.join(rel)).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode("hosts/lb-1/install.sh"), 0o755);
    assert_eq!(mode("secrets/prod/core_secret"), 0o600);
    assert_eq!(mode("README.md"), 0o644);
    // The directories holding the shared secrets are private too; the others are not.
    assert_eq!(mode("secrets"), 0o700);
    assert_eq!(mode("secrets/prod"), 0o700);
    assert_eq!(mode("hosts/lb-1/files"), 0o755);
}

#[test]
fn paths_that_could_leave_the_output_directory_are_refused() {
    for bad in [
        "../escape",
        "/etc/passwd",
        "hosts/../../x",
        "a//b",
        "./a",
        "a/.",
        "",
        MARKER,
        MANIFEST,
        PENDING,
        "hosts/x/",
        "a/.harbor-ha-tmp.b",
    ] {
        let t = TempDir::new("bw-unsafe");
        let out = t.0.join("out");
        let mut b = sample();
        b.add(bad, "x", 0o644);
        match write_bundle(&b, &out, false) {
            Err(WriteError::UnsafePath(p)) => assert_eq!(p, bad),
            other => panic!("{bad:?}: expected UnsafePath, got {other:?}"),
        }
        assert!(!out.exists(), "{bad:?}: nothing written");
        assert!(!t.0.parent().unwrap().join("escape").exists());
    }
}

#[test]
fn a_foreign_directory_is_still_refused_without_force() {
    let t = TempDir::new("bw-foreign");
    let out = t.0.join("out");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("precious.txt"), "keep me").unwrap();
    assert!(matches!(write_bundle(&sample(), &out, false), Err(WriteError::NotABundle(_))));
    assert_eq!(std::fs::read_to_string(out.join("precious.txt")).unwrap(), "keep me");
    assert_eq!(write_bundle(&sample(), &out, true).unwrap().outcome, WriteOutcome::Written);
    assert!(!out.join("precious.txt").exists());
}

#[test]
fn the_summary_lists_what_changed_against_the_directory_before() {
    let t = TempDir::new("bw-changes");
    let out = t.0.join("out");
    let b = sample();
    // A fresh directory: every file created, the marker not listed.
    let first = write_bundle(&b, &out, false).unwrap();
    let all: Vec<String> = b.files.keys().cloned().collect();
    assert_eq!(first.changes, Changes { created: all, ..Changes::default() });
    // Unchanged: nothing listed.
    let same = write_bundle(&b, &out, false).unwrap();
    assert_eq!((same.outcome, same.changes.is_empty()), (WriteOutcome::Unchanged, true));
    // A new bundle: one file added, one edited, one whose mode changed, one dropped; plus a
    // stray file in the directory and a symlink where a file was.
    let mut next = Bundle::default();
    next.add("README.md", "# bundle v2\n", 0o644);
    next.add("hosts/lb-1/install.sh", "#!/bin/sh\necho lb\n", 0o700);
    next.add("hosts/lb-1/files/etc/nginx/conf.d/harbor.conf", "events {}\n", 0o644);
    next.add("hosts/lb-2/install.sh", "#!/bin/sh\n", 0o755);
    // (Both hand edits: refused without force.)
    std::fs::write(out.join("hosts/lb-1/stray.txt"), "x").unwrap();
    std::fs::remove_file(out.join("hosts/lb-1/files/etc/nginx/conf.d/harbor.conf")).unwrap();
    std::os::unix::fs::symlink("/etc/hostname", out.join("hosts/lb-1/files/etc/nginx/conf.d/harbor.conf")).unwrap();
    assert!(matches!(write_bundle(&next, &out, false), Err(WriteError::Modified { .. })));
    let s = write_bundle(&next, &out, true).unwrap();
    assert_eq!(s.outcome, WriteOutcome::Written);
    let v = |xs: &[&str]| xs.iter().map(|x| (*x).to_string()).collect::<Vec<_>>();
    assert_eq!(
        s.changes,
        Changes {
            created: v(&["hosts/lb-2/install.sh"]),
            changed: v(&["README.md", "hosts/lb-1/files/etc/nginx/conf.d/harbor.conf", "hosts/lb-1/install.sh"]),
            removed: v(&["hosts/lb-1/stray.txt", "secrets/prod/core_secret"]),
        }
    );
    // --force over a foreign directory: its files are listed as removed.
    let foreign = t.0.join("foreign");
    std::fs::create_dir(&foreign).unwrap();
    std::fs::write(foreign.join("notes.txt"), "x").unwrap();
    let s = write_bundle(&b, &foreign, true).unwrap();
    assert_eq!((s.changes.created.len(), s.changes.removed.clone()), (b.files.len(), v(&["notes.txt"])));
}
