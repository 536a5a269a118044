//! The rule families. Each module resolves its section of a site (reporting values that do
//! not parse) and checks one concern over the resolved sites (and the raw spec where
//! presence matters); `run` calls every check. Each module owns its rule codes.

pub(super) mod backup;
pub(super) mod cluster;
pub(super) mod database;
pub(super) mod harbor;
pub(super) mod inventory;
pub(super) mod lb;
pub(super) mod monitoring;
pub(super) mod redis;
pub(super) mod replication;
pub(super) mod secrets;
pub(super) mod storage;

use super::resolve::Resolved;
use super::Ctx;
use crate::model::resolved::Site;
use crate::model::spec::{SiteSpec, TopologySpec};

pub(crate) fn run(spec: &TopologySpec, resolved: &Resolved, ctx: &mut Ctx) {
    inventory::check_names(spec, ctx);
    for (site, raw) in resolved.sites.iter().zip(&spec.sites) {
        let Some(site) = site else { continue };
        check_site(site, raw, ctx);
    }
    storage::check_shared_between_sites(resolved, ctx);
    replication::check_edges(spec, resolved, ctx);
    secrets::check(spec, ctx);
}

/// The rules of one site.
pub(crate) fn check_site(site: &Site, raw: &SiteSpec, ctx: &mut Ctx) {
    inventory::check(site, raw, ctx);
    storage::check(site, raw, ctx);
    database::check(site, raw, ctx);
    redis::check(site, raw, ctx);
    cluster::check(site, raw, ctx);
    lb::check(site, raw, ctx);
    harbor::check(site, raw, ctx);
    replication::check_site(site, raw, ctx);
    backup::check(site, raw, ctx);
}

/// `sites[i]`.
fn sp(index: usize) -> String {
    format!("sites[{index}]")
}

/// `sites[i].hosts[j]`.
fn hp(site: usize, host: usize) -> String {
    format!("sites[{site}].hosts[{host}]")
}
