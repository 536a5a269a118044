//! `deploy.sh`: copies each host's directory to it and runs its install.sh over ssh, one
//! host at a time in install order. The script is `render/scripts/deploy.sh`; this module
//! fills in the hosts.

use std::fmt::Write;

use super::{is_first_harbor, site_plans, Plan};
use crate::bundle::Bundle;
use crate::model::resolved::Topology;
use crate::render::quote::sh;
use crate::render::template::fill;

/// Add `deploy.sh`.
pub(super) fn render(topo: &Topology, plans: &[Plan], bundle: &mut Bundle) {
    let text = fill(
        include_str!("../scripts/deploy.sh"),
        &[("hosts", &usage_hosts(plans)), ("plan", &plan_array(topo, plans))],
        &[],
    );
    bundle.add("deploy.sh", text, 0o755);
}

/// The hosts in the usage text (a quoted here-document: nothing is expanded there).
fn usage_hosts(plans: &[Plan]) -> String {
    let mut s = String::new();
    for p in plans {
        let _ = writeln!(s, "  {} ({}, site {})", p.1.name, p.1.address, p.0.name);
    }
    s
}

/// The entries of the `PLAN` array: `NAME ADDRESS` per host, site by site.
fn plan_array(topo: &Topology, plans: &[Plan]) -> String {
    let mut s = String::new();
    for site in &topo.sites {
        let _ = writeln!(s, "  # site {}", site.name);
        for p in site_plans(plans, site) {
            let h = p.1;
            let note = if is_first_harbor(site, h) && site.harbor_nodes().count() > 1 {
                "  # FIRST Harbor node: alone, before the other Harbor nodes"
            } else {
                ""
            };
            let _ = writeln!(s, "  {} {}{note}", sh(h.name.as_str()), sh(&h.address.to_string()));
        }
    }
    s
}
