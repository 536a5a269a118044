//! Raw spec → resolved sites: defaults applied, every value parsed into its checked type.
//!
//! Each section is resolved by its rule family (which reports what does not parse); this
//! module only composes them, in file order. A value that does not parse is replaced by a
//! stand-in so that the cross-cutting rules still run. An unusable `external_url` leaves a
//! site unresolved; so does an unusable Harbor version, but then the site's rules still run,
//! once per supported release, and what every release finds is reported
//! ([`super::check`]).

use super::rules::{backup, database, harbor, inventory, lb, monitoring, redis, replication, storage};
use super::{values, Ctx};
use crate::model::enums::{OsFamily, SiteMode};
use crate::model::ids::{HostName, HostPath, InterfaceName};
use crate::model::resolved::{Database, Edge, Harbor, Host, Site, Storage, Topology};
use crate::model::spec::{SiteSpec, TopologySpec};
use crate::model::version::Version;

/// Sites (None when unresolvable) and edges.
pub(crate) struct Resolved {
    pub(crate) sites: Vec<Option<Site>>,
    pub(crate) edges: Vec<Edge>,
    /// The indexes of the sites whose Harbor version is unusable (HB001).
    pub(crate) versionless: Vec<usize>,
}

impl Resolved {
    pub(crate) fn into_topology(self) -> Option<Topology> {
        let sites = self.sites.into_iter().collect::<Option<Vec<_>>>()?;
        Some(Topology { sites, edges: self.edges })
    }
}

pub(crate) fn resolve(spec: &TopologySpec, ctx: &mut Ctx) -> Resolved {
    let mut versionless = Vec::new();
    let sites = spec
        .sites
        .iter()
        .enumerate()
        .map(|(i, s)| match harbor::version(ctx, &format!("sites[{i}]"), s) {
            Some(v) => resolve_site(i, spec, s, v, ctx),
            None => {
                versionless.push(i);
                None
            }
        })
        .collect();
    let edges = spec.replication.iter().enumerate().map(|(i, e)| replication::resolve_edge(i, e, ctx)).collect();
    Resolved { sites, edges, versionless }
}

/// Site `si` for Harbor `version` (its own, or a stand-in when its own is unusable); `None`
/// when `external_url` is unusable.
pub(crate) fn resolve_site(
    si: usize,
    spec: &TopologySpec,
    s: &SiteSpec,
    version: Version,
    ctx: &mut Ctx,
) -> Option<Site> {
    let sp = format!("sites[{si}]");
    let name = inventory::site_name(ctx, &sp, s);
    let site_os = s.os.unwrap_or(OsFamily::Centos7);
    let mode = s.mode.unwrap_or(SiteMode::SharedStorage);

    // The URL: blocking when unusable.
    let version = Some(version);
    let url = harbor::external_url(ctx, &sp, &s.harbor.external_url);
    let install_dir = match &s.harbor.install_dir {
        Some(dir) => values::path(ctx, &format!("{sp}.harbor.install_dir"), dir),
        None => HostPath::known("/usr/local"),
    };

    let storage = storage::resolve(ctx, &sp, s);
    let nfs_mount = match &storage {
        Storage::Nfs(n) => Some(n.mount.clone()),
        _ => None,
    };
    let hosts: Vec<Host> = s
        .hosts
        .iter()
        .enumerate()
        .map(|(hi, h)| {
            let hp = format!("{sp}.hosts[{hi}]");
            // An invalid name is reported by inventory::check_names (HA002).
            let name = HostName::parse(h.name.as_str()).unwrap_or_else(|_| HostName::stand_in(h.name.as_str()));
            let data_volume = h.data_volume.as_ref().map(|dv| values::path(ctx, &format!("{hp}.data_volume"), dv));
            let interface = h.interface.as_ref().map(|i| values::interface(ctx, &format!("{hp}.interface"), &name, i));
            Host {
                index: hi,
                name,
                address: h.address,
                roles: h.roles.iter().copied().collect(),
                os: h.os.unwrap_or(site_os),
                http_port: h.http_port.unwrap_or(80),
                data_volume: data_volume.or_else(|| nfs_mount.clone()).unwrap_or_else(|| HostPath::known("/data")),
                interface: interface.unwrap_or_else(|| InterfaceName::known("eth0")),
            }
        })
        .collect();

    let storage = storage::finish_nfs(storage, &hosts);
    let database = database::resolve(ctx, &sp, s, &hosts, site_os);
    let redis = redis::resolve(ctx, &sp, s, &hosts, version);
    let lb = lb::resolve(ctx, &sp, s, &hosts, url.as_ref());
    let monitoring = monitoring::resolve(ctx, &sp, spec, s, version);
    let syslog = monitoring::syslog(ctx, &sp, spec, s);
    let backup = backup::resolve(ctx, &sp, s, &hosts, &storage, &database);

    let harbor = Harbor {
        version: version?,
        external_url: url?,
        admin_password: values::secret(&s.harbor.admin_password),
        install_dir,
        components: s.harbor.components.iter().flatten().copied().collect(),
    };
    let mut site = Site {
        index: si,
        name,
        mode,
        harbor,
        subnet: s.network.subnet,
        hosts,
        storage,
        disable_redirect: s.storage.as_ref().and_then(|st| st.disable_redirect).unwrap_or(false),
        database,
        redis,
        lb,
        monitoring,
        syslog,
        backup,
    };
    // max_connections default depends on the resolved site: what the nodes may open,
    // plus headroom for admin sessions and migrations, rounded up to a multiple of 50.
    let needed = match &site.database {
        Database::External(db) if db.max_connections == 0 => {
            Some(database::connections_needed(&site, db.max_open_conns))
        }
        _ => None,
    };
    if let (Some(needed), Database::External(db)) = (needed, &mut site.database) {
        db.max_connections = needed.saturating_add(20).div_ceil(50).saturating_mul(50);
    }
    Some(site)
}
