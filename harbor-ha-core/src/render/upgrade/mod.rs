//! The files of a change (`render NEW --from OLD`): `CHANGE.md` (the plan as a runbook),
//! `upgrade/<site>/NN-*.sh` with their files ([`hop`]: one script per hop or PostgreSQL
//! upgrade), and `change/nodes.sh` (drains, undrains and retires Harbor nodes on the load
//! balancers) when a step uses it.

mod hop;

use std::fmt::Write;

use crate::bundle::Bundle;
use crate::change::{Kind, Plan};
use crate::model::enums::Role;
use crate::model::resolved::Topology;
use crate::render::harbor::{dir, ping_path};
use crate::render::quote::sh;
use crate::render::template::fill;

/// Add the change's files. `after[i]` is the bundle of `plan.procedures[i].after`.
pub fn render(plan: &Plan, after: &[Bundle], topo: &Topology, labels: (&str, &str), bundle: &mut Bundle) {
    bundle.add("CHANGE.md", crate::change::markdown(plan, labels.0, labels.1), 0o644);
    for (p, b) in plan.procedures.iter().zip(after) {
        hop::render(p, b, bundle);
    }
    let uses_nodes =
        plan.steps.iter().any(|s| matches!(s.kind, Kind::NodeRolling | Kind::NodeRemove | Kind::NodeRestartAll));
    if uses_nodes {
        nodes_script(topo, plan, bundle);
    }
}

/// `change/nodes.sh`: the running and wanted Harbor nodes and the load balancers.
fn nodes_script(topo: &Topology, plan: &Plan, bundle: &mut Bundle) {
    let mut nodes = String::new();
    let mut lbs = String::new();
    let mut seen = std::collections::BTreeSet::new();
    let mut add_site = |site: &crate::model::resolved::Site, nodes: &mut String, lbs: &mut String| {
        for h in site.harbor_nodes() {
            if seen.insert(h.name.to_string()) {
                let _ = writeln!(
                    nodes,
                    "  {} {} {} {} {} {}",
                    sh(site.name.as_str()),
                    sh(h.name.as_str()),
                    sh(&h.address.to_string()),
                    h.http_port,
                    sh(&dir(site)),
                    sh(ping_path(site.harbor.version))
                );
            }
        }
        for h in site.hosts_with(Role::Lb) {
            if seen.insert(format!("lb/{}", h.name)) {
                let _ = writeln!(
                    lbs,
                    "  {} {} {} /etc/nginx/conf.d/harbor.conf",
                    sh(site.name.as_str()),
                    sh(h.name.as_str()),
                    sh(&h.address.to_string())
                );
            }
        }
    };
    for site in &topo.sites {
        add_site(site, &mut nodes, &mut lbs);
    }
    // Nodes that the change retires are only in the topology that ran before.
    for p in &plan.procedures {
        for site in &p.before.sites {
            add_site(site, &mut nodes, &mut lbs);
        }
    }
    let text = fill(include_str!("../scripts/change-nodes.sh"), &[("nodes", &nodes), ("lbs", &lbs)], &[]);
    bundle.add("change/nodes.sh", text, 0o755);
}
