//! The rule families. Each module checks one concern over the resolved sites (and the raw
//! spec where presence matters); `run` calls them all.

mod database;
pub(crate) mod harbor;
mod inventory;
mod lb;
mod redis;
mod replication;
mod secrets;
mod storage;

pub use harbor::admin_password_ok;
pub(crate) use replication::filter_ok;

use super::resolve::Resolved;
use super::Ctx;
use crate::model::spec::TopologySpec;

pub(crate) fn run(spec: &TopologySpec, resolved: &Resolved, ctx: &mut Ctx) {
    inventory::check_names(spec, ctx);
    for (site, raw) in resolved.sites.iter().zip(&spec.sites) {
        let Some(site) = site else { continue };
        inventory::check(site, raw, ctx);
        storage::check(site, raw, ctx);
        database::check(site, raw, ctx);
        redis::check(site, raw, ctx);
        lb::check(site, raw, ctx);
        harbor::check(site, raw, ctx);
        replication::check_site(site, raw, ctx);
    }
    storage::check_shared_between_sites(resolved, ctx);
    replication::check_edges(spec, resolved, ctx);
    secrets::check(spec, ctx);
}

/// `sites[i]`.
fn sp(index: usize) -> String {
    format!("sites[{index}]")
}

/// `sites[i].hosts[j]`.
fn hp(site: usize, host: usize) -> String {
    format!("sites[{site}].hosts[{host}]")
}
