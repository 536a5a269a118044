//! Print a synthetic topology (see `harbor_ha_core::synthetic`).
//!
//! ```text
//! cargo run --release -p harbor-ha-core --example synthetic -- SITES NODES_PER_SITE
//! cargo run --release -p harbor-ha-core --example synthetic -- --hosts 4000
//! ```

use std::io::Write;

use harbor_ha_core::synthetic;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let num = |s: &str| -> usize {
        s.parse().unwrap_or_else(|_| {
            eprintln!("usage: synthetic SITES NODES_PER_SITE | synthetic --hosts N (N >= 4)");
            std::process::exit(2)
        })
    };
    let (sites, nodes) = match args.as_slice() {
        [flag, n] if flag == "--hosts" && num(n) >= 4 => synthetic::shape_for_hosts(num(n)),
        [s, n] if num(s) > 0 && num(n) > 0 => (num(s), num(n)),
        _ => {
            eprintln!("usage: synthetic SITES NODES_PER_SITE | synthetic --hosts N (N >= 4)");
            std::process::exit(2)
        }
    };
    let text = synthetic::topology_yaml(sites, nodes);
    let mut out = std::io::stdout().lock();
    if out.write_all(text.as_bytes()).is_err() {
        std::process::exit(2);
    }
}
