//! Harbor replication: dual-master pairs and edges between sites, as Harbor API request
//! bodies and the scripts that apply them.
//!
//! Who holds what:
//! - a dual-master site (`mode: replication`) holds, on **each node** (its own database), a
//!   registry endpoint for every other node (`http://<address>:<http_port>`, not the LB), an
//!   event-based push policy to it with deletion, and a scheduled push (`0 0 * * * *`) as
//!   the fallback that event-based replication lacks (failed pushes are never retried);
//! - an edge `{from, to}` is held by `from` (push: endpoint for `to`'s external_url, policy
//!   with `dest_registry`) or by `to` (`mode: pull`: endpoint for `from`, `src_registry`).
//!   A dual-master site holds its edges on both nodes.
//!
//! Files, per holding site (`<t>/` is nothing for a site, `nodes/<node>/` for each node of
//! a dual-master site):
//! - `replication/<site>/<t>/registries/<name>.json`: `POST /registries` body (the
//!   credential's `access_key`/`access_secret` are added by apply.sh at apply time);
//! - `replication/<site>/<t>/registries/<name>.update.json`: `PUT /registries/{id}` body
//!   (flat `credential_type`, `access_key`, `access_secret` in every version);
//! - `replication/<site>/<t>/policies/<name>.json`: `POST`/`PUT /replication/policies`
//!   body; the registry is named (`{"name": …}`) and apply.sh adds its `id`;
//! - `replication/<site>/apply.sh`: idempotent create-or-update through the API;
//! - `replication/<site>/check-dns.sh`: run on a node of the site: the names its Harbor
//!   containers must resolve and reach (Docker's DNS ignores the host's /etc/hosts).
//!
//! And `replication/resync.sh` (a manual execution of the policies of every holding site,
//! upstream first, then waits and reports) and `replication/README.md`.
//!
//! API flavours: 1.10 (`/api`, list by `?name=`, no `replicate_deletion`), 2.0–2.2
//! (`/api/v2.0`, legacy handlers, `?name=`), 2.3+ (`/api/v2.0`, exact `?q=name=`). Bodies
//! send `deletion` (the field every version reads on input) and, for 2.x, also
//! `replicate_deletion`. Label filters are a list of names in every version.
//! No secret is ever written: scripts read them at apply time.
//!
//! One module per output, so that a file's name says what it renders:
//! - `plan.rs`: who holds what (the targets, endpoints and policies of each holding site),
//!   and the order of the sites;
//! - `api.rs`: the request bodies and the `*.json` files;
//! - `apply.rs`: `replication/<site>/apply.sh`;
//! - `check_dns.rs`: `replication/<site>/check-dns.sh`;
//! - `resync.rs`: `replication/resync.sh`;
//! - `readme.rs`: `replication/README.md`;
//! - `prelude.rs`: the helpers apply.sh and resync.sh share, and the lines that call them.
//!
//! The static text of the scripts is in `render/scripts/replication-*.sh`.

mod api;
mod apply;
mod check_dns;
mod plan;
mod prelude;
mod readme;
mod resync;

pub use api::{
    ApiFlavor, CredentialType, FilterBody, PolicyBody, RegistryCreate, RegistryRef, RegistryUpdate, TriggerBody,
    TriggerSettings,
};
pub use plan::FALLBACK_CRON;

use super::quote::sh;
use crate::bundle::Bundle;
use crate::model::resolved::Topology;

/// Add `replication/…` to the bundle when the topology uses replication. Returns the
/// paths of the replication scripts, sorted.
pub fn render(topo: &Topology, bundle: &mut Bundle) -> Vec<String> {
    let plans = plan::plan(topo);
    if plans.is_empty() {
        return Vec::new();
    }
    let mut scripts = Vec::new();
    for p in &plans {
        api::render(p, bundle);
        scripts.push(apply::render(p, bundle));
        scripts.push(check_dns::render(p, bundle));
    }
    let ordered = plan::replication_order(topo, &plans);
    scripts.push(resync::render(&ordered, bundle));
    readme::render(&ordered, bundle);
    scripts.sort();
    scripts
}

/// Per site name, the DNS names that the site's Harbor containers must resolve for
/// replication (the names of [`check_dns`]'s URLs) with the address the topology gives each:
/// the VIP of the site whose external_url it is, else its one LB, else its one Harbor node.
/// Docker's DNS does not read the host's /etc/hosts, so the Harbor nodes get these as
/// `extra_hosts` (`render::harbor::compose`). Names no site of the topology owns are left
/// to DNS (check-dns.sh still checks them).
#[must_use]
pub fn container_hosts(topo: &Topology) -> std::collections::BTreeMap<String, Vec<(String, std::net::IpAddr)>> {
    use crate::model::enums::Role;
    let front = |site: &crate::model::resolved::Site| -> Option<std::net::IpAddr> {
        let lbs: Vec<_> = site.hosts_with(Role::Lb).collect();
        let nodes: Vec<_> = site.harbor_nodes().collect();
        match (site.lb.as_ref().and_then(|l| l.vip).filter(|_| !lbs.is_empty()), lbs.as_slice(), nodes.as_slice()) {
            (Some(vip), _, _) => Some(vip),
            (None, [lb], _) => Some(lb.address),
            (None, [], [node]) => Some(node.address),
            _ => None,
        }
    };
    let owner: std::collections::BTreeMap<String, std::net::IpAddr> = topo
        .sites
        .iter()
        .filter_map(|s| {
            let host = match s.harbor.external_url.host()? {
                url::Host::Domain(d) => d.to_ascii_lowercase(),
                _ => return None,
            };
            Some((host, front(s)?))
        })
        .collect();
    plan::plan(topo)
        .iter()
        .map(|p| {
            let mut names: Vec<(String, std::net::IpAddr)> = check_dns::checks(p)
                .into_iter()
                .filter(|c| c.is_name)
                .filter_map(|c| owner.get(&c.host.to_ascii_lowercase()).map(|a| (c.host.to_ascii_lowercase(), *a)))
                .collect();
            names.sort();
            names.dedup();
            (p.site.name.to_string(), names)
        })
        .filter(|(_, v)| !v.is_empty())
        .collect()
}

/// A shell word like [`sh`], but double-quoted (backslash, dollar, backquote and double
/// quote escaped) when the value holds a `$`: single quotes would keep it too, but
/// shellcheck flags them (SC2016), and robot account names have one.
fn shq(s: &str) -> String {
    if !s.contains('$') {
        return sh(s);
    }
    let mut out = String::from("\"");
    for c in s.chars() {
        if matches!(c, '\\' | '$' | '`' | '"') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Text for a comment or a message: control characters replaced.
fn plain(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { '?' } else { c }).collect()
}
