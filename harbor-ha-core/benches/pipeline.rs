//! Parse, validate and render synthetic topologies of 4, 40, 400 and 4,000 hosts
//! (`harbor_ha_core::synthetic`): sites of ten hosts (seven Harbor nodes, a store host and
//! two load balancers), plus one site of 4,000 hosts, which stresses the per-site loops.
//!
//! `cargo bench -p harbor-ha-core --bench pipeline` (add `-- --quick` for a fast run;
//! `make bench` does that and prints the whole-process figures too).

#![allow(clippy::disallowed_methods, clippy::disallowed_types, reason = "a benchmark reads the test keys")]

use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use harbor_ha_core::model::secret::{Secret, SecretResolver};
use harbor_ha_core::render::render;
use harbor_ha_core::secrets::SiteSecrets;
use harbor_ha_core::validate::resolve_secrets;
use harbor_ha_core::{load_str, synthetic, Topology};

/// Resolves every secret to a fixed value that meets the password policy; no environment.
struct BenchResolver;

impl SecretResolver for BenchResolver {
    fn resolve(&self, secret: &Secret) -> Result<String, String> {
        Ok(match secret {
            Secret::Literal(v) => v.clone(),
            _ => "Bench-Secret-1".to_string(),
        })
    }
}

/// (label, sites, nodes per site).
fn shapes() -> Vec<(String, usize, usize)> {
    let mut v: Vec<(String, usize, usize)> = [4, 40, 400, 4000]
        .into_iter()
        .map(|hosts| {
            let (s, n) = synthetic::shape_for_hosts(hosts);
            (hosts.to_string(), s, n)
        })
        .collect();
    v.push(("4000-one-site".to_string(), 1, 4000 - synthetic::EXTRA_HOSTS_PER_SITE));
    v
}

fn secrets_for(t: &Topology) -> BTreeMap<String, SiteSecrets> {
    let keys = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/keys");
    let key = std::fs::read_to_string(keys.join("test-token.key")).expect("test key");
    let crt = std::fs::read_to_string(keys.join("test-token.crt")).expect("test certificate");
    t.sites.iter().map(|s| (s.name.to_string(), SiteSecrets::deterministic(s.name.as_str(), &key, &crt))).collect()
}

fn pipeline(c: &mut Criterion) {
    for (stage, per_stage_samples) in [("parse", 30), ("validate", 30), ("render", 20), ("all", 10)] {
        let mut g = c.benchmark_group(stage);
        g.sample_size(per_stage_samples).warm_up_time(Duration::from_millis(500));
        for (label, sites, nodes) in shapes() {
            let hosts = synthetic::host_count(sites, nodes);
            let text = synthetic::topology_yaml(sites, nodes);
            g.throughput(Throughput::Elements(hosts as u64));
            let id = BenchmarkId::from_parameter(&label);
            match stage {
                "parse" => {
                    g.bench_with_input(id, &text, |b, text| b.iter(|| load_str(black_box(text)).expect("parses")));
                }
                "validate" => {
                    let doc = load_str(&text).expect("parses");
                    g.bench_with_input(id, &doc, |b, doc| b.iter(|| black_box(doc).validate()));
                }
                "render" => {
                    // The secrets resolved and checked, then the bundle.
                    let topo = load_str(&text).expect("parses").validate().topology.expect("valid");
                    let secrets = secrets_for(&topo);
                    g.bench_with_input(id, &topo, |b, topo| {
                        b.iter(|| {
                            let input = resolve_secrets(black_box(topo), &BenchResolver, secrets.clone())
                                .map_err(|d| d.len())
                                .expect("secrets resolve");
                            render(&input)
                        });
                    });
                }
                _ => {
                    let topo = load_str(&text).expect("parses").validate().topology.expect("valid");
                    let secrets = secrets_for(&topo);
                    g.bench_with_input(id, &text, |b, text| {
                        b.iter(|| {
                            let topo = load_str(black_box(text)).expect("parses").validate().topology.expect("valid");
                            let input = resolve_secrets(&topo, &BenchResolver, secrets.clone())
                                .map_err(|d| d.len())
                                .expect("ok");
                            render(&input)
                        });
                    });
                }
            }
        }
        g.finish();
    }
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
