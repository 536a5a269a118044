//! A changed re-render of the seed, on disk: the seed's topology toggled between
//! `affinity: ip_hash` and `affinity: none`, a two-file change (README.md and the LB's
//! nginx config, plus the LB's manifest). Two figures:
//! - `write/seed-changed`: `write_bundle` alone, the two bundles in turn;
//! - `render/seed-changed`: the whole use case (`render_to_dir`: load, validate, render,
//!   compare and write), as `harbor-ha render` runs it.
//!
//! The bundles go under `BENCH_TMPDIR` (default: the target directory's tmp, on disk).
//! `cargo bench -p harbor-ha-io --bench write` (`make bench` runs it in quick mode).

#![allow(clippy::disallowed_methods, clippy::disallowed_types, reason = "a benchmark writes real directories")]

use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use harbor_ha_io::{load_file, render_document, render_to_dir, write_bundle, RenderOptions};

fn scratch() -> PathBuf {
    let base =
        std::env::var_os("BENCH_TMPDIR").map_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")), PathBuf::from);
    let d = base.join(format!("harbor-ha-bench-write-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("bench directory");
    d
}

/// The seed (`a.yaml`) and the seed with `affinity: none` (`b.yaml`) under `dir`.
fn topologies(dir: &Path) -> [PathBuf; 2] {
    let seed = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/examples/seed.yaml"))
        .expect("the seed");
    let changed = seed.replace("affinity: ip_hash", "affinity: none");
    assert_ne!(seed, changed, "the seed sets affinity: ip_hash");
    let (a, b) = (dir.join("a.yaml"), dir.join("b.yaml"));
    std::fs::write(&a, seed).expect("a.yaml");
    std::fs::write(&b, changed).expect("b.yaml");
    [a, b]
}

fn changed_rerender(c: &mut Criterion) {
    for (k, v) in [
        ("HARBOR_ADMIN_PASSWORD", "Bench-Admin-1"),
        ("HARBOR_DB_PASSWORD", "bench-db"),
        ("HARBOR_REDIS_PASSWORD", "bench-redis"),
        ("HARBOR_REPLICATION_SECRET", "bench-replication"),
    ] {
        std::env::set_var(k, v);
    }
    let dir = scratch();
    let topo = topologies(&dir);
    let out = dir.join("out");
    // The first render makes the secrets (an RSA key: seconds); the timed ones reuse them.
    render_to_dir(&topo[0], &out, &RenderOptions::default()).expect("first render");
    let bundles: Vec<_> = topo
        .iter()
        .map(|t| render_document(&load_file(t).expect("load").0, Some(&out.join("secrets"))).expect("render"))
        .collect();
    let mut g = c.benchmark_group("write");
    g.sample_size(40).warm_up_time(Duration::from_millis(500));
    let mut i = 0usize;
    g.bench_function("seed-changed", |b| {
        b.iter(|| {
            i += 1;
            let s = write_bundle(&bundles[i % 2], &out, false).expect("write");
            assert_eq!(s.changes.changed.len(), 3, "README.md, the LB's config and its manifest");
        });
    });
    g.finish();
    let mut g = c.benchmark_group("render");
    g.sample_size(40).warm_up_time(Duration::from_millis(500));
    g.bench_function("seed-changed", |b| {
        b.iter(|| {
            i += 1;
            let o = render_to_dir(&topo[i % 2], &out, &RenderOptions::default()).expect("render");
            assert_eq!(o.changes.changed.len(), 3);
        });
    });
    g.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, changed_rerender);
criterion_main!(benches);
