//! The bundle-root files: `README.md` (the runbook), `inventory.ini` (Ansible),
//! `deploy.sh` (runs every host's install.sh over ssh, in install order) and `verify.sh`
//! (checks a deployed cluster from a load balancer host, the one place the firewall lets
//! reach every Harbor node).
//!
//! They name hosts, addresses, paths, URLs and where secrets came from, never a secret
//! value. Every topology value in the scripts goes through [`sh`](super::quote::sh).
//!
//! One module per output, and each adds its own file to the bundle: `readme` (with the
//! sections of a site in `sites` and `hosts`), `inventory`, `deploy` and `verify`. The
//! static text of the two scripts is in `render/scripts/deploy.sh` and `verify.sh`.
//! `token` computes the token key id that `verify.sh` expects.

mod backup;
mod deploy;
mod failover;
mod hosts;
mod inventory;
mod monitoring;
mod readme;
mod sites;
mod token;
mod verify;

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::bundle::Bundle;

use crate::model::resolved::{Host, Site, Topology};

pub use token::token_key_id;

use super::PlanEntry as Plan;

/// What the runbook is told about the rest of the bundle (it never reads the bundle).
pub struct Facts<'f, 'a> {
    /// Every host in install order, site by site, with the target paths of its files.
    pub plans: &'f [Plan<'a>],
    /// Per site name, the key id of its token certificate (what `verify.sh` expects).
    pub token_key_ids: &'f BTreeMap<String, String>,
    /// Per site name, the SHA-256 fingerprint of the certificate its load balancers serve,
    /// when the bundle made it (`tls: {self_signed: true}`).
    pub lb_fingerprints: &'f BTreeMap<String, String>,
    /// The replication scripts of the bundle, sorted.
    pub replication_scripts: &'f [String],
    /// The sections `Upgrading` and `Changing the site` (Markdown), when the bundle is
    /// rendered with `--from` ([`crate::change`]).
    pub change_sections: Option<&'f str>,
}

/// Add `README.md`, `inventory.ini`, `deploy.sh` and `verify.sh`.
pub fn render(topo: &Topology, facts: &Facts, bundle: &mut Bundle) {
    readme::render(topo, facts, bundle);
    inventory::render(topo, facts.plans, bundle);
    deploy::render(topo, facts.plans, bundle);
    verify::render(topo, facts.plans, facts.token_key_ids, bundle);
}

// ---- small shared helpers -------------------------------------------------------------------

/// An address as the host part of a URL (IPv6 in brackets).
fn url_host(a: IpAddr) -> String {
    match a {
        IpAddr::V6(v6) => format!("[{v6}]"),
        IpAddr::V4(v4) => v4.to_string(),
    }
}

/// `external_url` as written into harbor.yml (no trailing slash).
fn external_url(site: &Site) -> String {
    site.harbor.external_url.as_str().trim_end_matches('/').to_string()
}

/// The plans of `site`, in install order.
fn site_plans<'p, 'a>(plans: &'p [Plan<'a>], site: &Site) -> Vec<&'p Plan<'a>> {
    plans.iter().filter(|p| p.0.index == site.index).collect()
}

fn first_harbor(site: &Site) -> Option<&Host> {
    site.harbor_nodes().next()
}

fn is_first_harbor(site: &Site, h: &Host) -> bool {
    first_harbor(site).is_some_and(|f| f.index == h.index)
}

/// Markdown code: `` `s` ``.
fn code(s: impl std::fmt::Display) -> String {
    format!("`{s}`")
}

/// Markdown code, comma-separated.
fn code_list<I: IntoIterator<Item = T>, T: std::fmt::Display>(it: I) -> String {
    it.into_iter().map(code).collect::<Vec<_>>().join(", ")
}
