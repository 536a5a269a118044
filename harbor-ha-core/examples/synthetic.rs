//! Print a synthetic topology (see `harbor_ha_core::synthetic`), or run the pipeline on it.
//!
//! ```text
//! cargo run --release -p harbor-ha-core --example synthetic -- SITES NODES_PER_SITE
//! cargo run --release -p harbor-ha-core --example synthetic -- --hosts 4000
//! cargo run --release -p harbor-ha-core --example synthetic -- --hosts 4000 --pipeline
//! ```
//!
//! With `--pipeline` nothing is printed on stdout: the topology is parsed, validated and
//! rendered in process (placeholder secrets, no files written) and the time of each stage
//! goes to stderr. Under `valgrind --tool=callgrind` this gives instruction counts that do
//! not depend on the machine's load.
#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_macros,
    reason = "a command-line example: arguments, timing, printing"
)]

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Instant;

use harbor_ha_core::model::secret::{Secret, SecretResolver};
use harbor_ha_core::render::render;
use harbor_ha_core::secrets::SiteSecrets;
use harbor_ha_core::synthetic;
use harbor_ha_core::validate::resolve_secrets;

const USAGE: &str = "usage: synthetic SITES NODES_PER_SITE [--pipeline] | synthetic --hosts N [--pipeline] (N >= 4)";

/// Every `{env}`/`{file}` secret is a policy-conforming constant; no environment is read.
struct FixedResolver;

impl SecretResolver for FixedResolver {
    fn resolve(&self, secret: &Secret) -> Result<String, String> {
        Ok(match secret {
            Secret::Literal(v) => v.clone(),
            _ => "Synthetic-Secret-1".to_string(),
        })
    }
}

fn usage() -> ! {
    eprintln!("{USAGE}");
    std::process::exit(2)
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let pipeline = args.iter().any(|a| a == "--pipeline");
    args.retain(|a| a != "--pipeline");
    let num = |s: &str| -> usize { s.parse().unwrap_or_else(|_| usage()) };
    let (sites, nodes) = match args.as_slice() {
        [flag, n] if flag == "--hosts" && num(n) >= 4 => synthetic::shape_for_hosts(num(n)),
        [s, n] if num(s) > 0 && num(n) > 0 => (num(s), num(n)),
        _ => usage(),
    };
    let text = synthetic::topology_yaml(sites, nodes);
    if !pipeline {
        let mut out = std::io::stdout().lock();
        if out.write_all(text.as_bytes()).is_err() {
            std::process::exit(2);
        }
        return;
    }
    let t = Instant::now();
    let doc = harbor_ha_core::load_str(&text).unwrap_or_else(|d| panic!("parse: {d:?}"));
    let parsed = t.elapsed();
    let report = doc.validate();
    let validated = t.elapsed();
    let topo = report.topology.unwrap_or_else(|| panic!("invalid: {:?}", report.diagnostics.first()));
    let dummy =
        SiteSecrets::deterministic("synthetic", "-----BEGIN RSA PRIVATE KEY-----\n", "-----BEGIN CERTIFICATE-----\n");
    let secrets: BTreeMap<String, SiteSecrets> =
        topo.sites.iter().map(|s| (s.name.to_string(), dummy.clone())).collect();
    let t_render = Instant::now();
    let input = resolve_secrets(&topo, &FixedResolver, secrets)
        .unwrap_or_else(|d| panic!("secrets: {} diagnostics, first {:?}", d.len(), d.first()));
    let bundle = render(&input);
    let rendering = t_render.elapsed();
    let bytes: usize = bundle.files.values().map(|f| f.content.len()).sum();
    eprintln!(
        "{} hosts ({sites} sites x {nodes} nodes): parse {:.1} ms, validate {:.1} ms, render {:.1} ms, total {:.1} ms; {} files, {bytes} bytes",
        synthetic::host_count(sites, nodes),
        parsed.as_secs_f64() * 1e3,
        (validated - parsed).as_secs_f64() * 1e3,
        rendering.as_secs_f64() * 1e3,
        (validated + rendering).as_secs_f64() * 1e3,
        bundle.files.len(),
    );
}
