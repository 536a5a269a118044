//! Monitoring by Prometheus, for the sites that ask for it (`monitoring`), and central logs
//! (`log.syslog`):
//! - on each host, the exporters of its roles (`exporters`): the node exporter everywhere,
//!   the PostgreSQL, Redis and nginx exporters, mtail on the LB's access log (responses by
//!   status code), and a timer writing the LB's state (VIP held, certificate expiry) for the
//!   node exporter's textfile collector; each listens on the host's address and the
//!   firewall opens it to the Prometheus server only ([`firewall_openings`]);
//! - rsyslog forwarding of every non-Harbor host's journal to the syslog server (`logs`);
//! - in the bundle, `monitoring/`: `prometheus.yml` with one file_sd file per site and
//!   kind of target (`prometheus`), `rules/harbor-ha.rules.yml` (`rules`), and
//!   `grafana/harbor-ha.json` (`grafana`). `metrics` lists every metric name they use, with
//!   the program that exposes it.
//!
//! A site without `monitoring` and `log` renders exactly as before.

pub mod exporters;
pub mod grafana;
pub mod logs;
pub mod metrics;
pub mod prometheus;
pub mod rules;

use crate::bundle::Bundle;
use crate::model::enums::Role;
use crate::model::resolved::{Database, Host, Monitoring, Redis, Site, Storage, Tls, Topology};

use super::{HostOut, RoleCtx};

/// Node exporter port.
pub const NODE_PORT: u16 = 9100;
/// PostgreSQL exporter port.
pub const POSTGRES_PORT: u16 = 9187;
/// Redis exporter port.
pub const REDIS_PORT: u16 = 9121;
/// nginx exporter port.
pub const NGINX_PORT: u16 = 9113;
/// mtail port (the LB's responses by status code).
pub const MTAIL_PORT: u16 = 3903;
/// Harbor's metrics port (`metric.port` in harbor.yml; Harbor's default).
pub const HARBOR_METRICS_PORT: u16 = 9090;
/// nginx `stub_status`, on the LB's loopback only.
pub const STUB_STATUS_PORT: u16 = 8090;

/// What a scrape job scrapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// Node exporter (every host).
    Node,
    /// PostgreSQL exporter.
    Postgres,
    /// Redis exporter.
    Redis,
    /// nginx exporter.
    Nginx,
    /// mtail on the LB's access log.
    LbLog,
    /// Harbor core (`?comp=core`).
    HarborCore,
    /// Harbor's registry (`?comp=registry`).
    HarborRegistry,
    /// Harbor's jobservice (`?comp=jobservice`, 2.3+).
    HarborJobservice,
    /// Harbor's exporter (business metrics from the shared database): once per site.
    HarborExporter,
}

impl Kind {
    /// The job label.
    #[must_use]
    pub fn job(self) -> &'static str {
        match self {
            Kind::Node => "node",
            Kind::Postgres => "postgres",
            Kind::Redis => "redis",
            Kind::Nginx => "nginx",
            Kind::LbLog => "lb-log",
            Kind::HarborCore => "harbor-core",
            Kind::HarborRegistry => "harbor-registry",
            Kind::HarborJobservice => "harbor-jobservice",
            Kind::HarborExporter => "harbor-exporter",
        }
    }

    /// The `comp` query parameter of a Harbor component.
    #[must_use]
    pub fn comp(self) -> Option<&'static str> {
        match self {
            Kind::HarborCore => Some("core"),
            Kind::HarborRegistry => Some("registry"),
            Kind::HarborJobservice => Some("jobservice"),
            _ => None,
        }
    }

    /// The port it is scraped on.
    #[must_use]
    pub fn port(self) -> u16 {
        match self {
            Kind::Node => NODE_PORT,
            Kind::Postgres => POSTGRES_PORT,
            Kind::Redis => REDIS_PORT,
            Kind::Nginx => NGINX_PORT,
            Kind::LbLog => MTAIL_PORT,
            Kind::HarborCore | Kind::HarborRegistry | Kind::HarborJobservice | Kind::HarborExporter => {
                HARBOR_METRICS_PORT
            }
        }
    }
}

/// One scrape target: a host and the kind of endpoint.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    /// What is scraped.
    pub kind: Kind,
    /// The host.
    pub host: &'a Host,
}

impl Target<'_> {
    /// The `role` label: the exporter's role, or the host's roles (node exporter).
    #[must_use]
    pub fn role(&self) -> String {
        match self.kind {
            Kind::Node => {
                let roles: Vec<&str> = self.host.roles.iter().map(|r| r.as_str()).collect();
                if roles.is_empty() {
                    "none".to_string()
                } else {
                    roles.join(",")
                }
            }
            Kind::Postgres => "postgres".to_string(),
            Kind::Redis => "redis".to_string(),
            Kind::Nginx | Kind::LbLog => "lb".to_string(),
            _ => "harbor".to_string(),
        }
    }
}

/// Whether the bundle installs the site's PostgreSQL on `h` (the one server, or a member of
/// the cluster).
fn runs_postgres(site: &Site, h: &Host) -> bool {
    h.has(Role::Postgres)
        && (matches!(&site.database, Database::External(db) if db.installed_on.is_some())
            || site.pg_cluster().is_some_and(|c| c.is_member(&h.name)))
}

/// Whether the bundle installs the site's Redis on `h` (the one server, or a data node of
/// the cluster).
fn runs_redis(site: &Site, h: &Host) -> bool {
    h.has(Role::Redis)
        && (matches!(&site.redis, Redis::External(r) if r.installed_on().is_some())
            || site.redis_cluster().is_some_and(|c| c.is_data(&h.name)))
}

/// Whether the site scrapes Harbor's jobservice (the `comp=jobservice` route exists from 2.3;
/// in 2.2 it would reach the exporter a second time).
fn scrapes_jobservice(site: &Site) -> bool {
    site.harbor.version.at_least(2, 3)
}

/// Every target of a monitored site, by kind then host (file order).
#[must_use]
pub fn targets<'a>(site: &'a Site, m: &Monitoring) -> Vec<Target<'a>> {
    let mut v = Vec::new();
    for h in &site.hosts {
        v.push(Target { kind: Kind::Node, host: h });
        if runs_postgres(site, h) {
            v.push(Target { kind: Kind::Postgres, host: h });
        }
        if runs_redis(site, h) {
            v.push(Target { kind: Kind::Redis, host: h });
        }
        if h.has(Role::Lb) {
            v.push(Target { kind: Kind::Nginx, host: h });
            v.push(Target { kind: Kind::LbLog, host: h });
        }
        if h.has(Role::Harbor) && m.harbor_metrics {
            v.push(Target { kind: Kind::HarborCore, host: h });
            v.push(Target { kind: Kind::HarborRegistry, host: h });
            if scrapes_jobservice(site) {
                v.push(Target { kind: Kind::HarborJobservice, host: h });
            }
        }
    }
    if m.harbor_metrics {
        if let Some(first) = site.harbor_nodes().next() {
            v.push(Target { kind: Kind::HarborExporter, host: first });
        }
    }
    v.sort_by_key(|t| (t.kind, t.host.index));
    v
}

/// The TCP ports the Prometheus server must reach on the host in `ctx` (none when the site is
/// not monitored). Harbor's metrics port is published by Docker, so it is also restricted in
/// the `DOCKER-USER` chain (`render::firewall`).
#[must_use]
pub fn firewall_openings(ctx: &RoleCtx) -> Vec<u16> {
    let Some(m) = &ctx.site.monitoring else { return Vec::new() };
    let mut ports: Vec<u16> =
        targets(ctx.site, m).iter().filter(|t| t.host.index == ctx.host.index).map(|t| t.kind.port()).collect();
    ports.sort_unstable();
    ports.dedup();
    ports
}

/// The host's Harbor metrics port, when Prometheus scrapes it.
#[must_use]
pub fn harbor_metrics_port(site: &Site, host: &Host) -> Option<u16> {
    site.monitoring.as_ref().filter(|m| m.harbor_metrics && host.has(Role::Harbor)).map(|_| HARBOR_METRICS_PORT)
}

/// Whether the LB hosts of `site` terminate TLS (their certificate's expiry is watched).
fn lb_tls(site: &Site) -> bool {
    site.lb.as_ref().is_some_and(|lb| !matches!(lb.tls, Tls::None))
}

/// The filesystems that can hold a path: the path itself and each parent up to `/`.
fn with_parents(path: &str) -> Vec<String> {
    let mut v = Vec::new();
    let mut p = path.trim_end_matches('/').to_string();
    while !p.is_empty() {
        v.push(p.clone());
        p = p.rsplit_once('/').map_or(String::new(), |(a, _)| a.to_string());
    }
    v.push("/".to_string());
    v
}

/// The hosts that hold the site's data volume, each with the mount points it may be on: the
/// Harbor nodes (their `data_volume`), and the NFS server the bundle installs (its export).
#[must_use]
pub fn data_volume_mounts(site: &Site) -> Vec<(&Host, Vec<String>)> {
    let mut v: Vec<(&Host, Vec<String>)> =
        site.harbor_nodes().map(|h| (h, with_parents(h.data_volume.as_str()))).collect();
    if let Storage::Nfs(n) = &site.storage {
        if let Some(server) = n.server_host.as_ref().and_then(|name| site.hosts.iter().find(|h| &h.name == name)) {
            v.push((server, with_parents(n.export.as_str())));
        }
    }
    v
}

/// Add the monitoring and log-forwarding steps of the host in `ctx`.
pub fn render_host(ctx: &RoleCtx, out: &mut HostOut) {
    if let Some(m) = &ctx.site.monitoring {
        exporters::render(ctx, m, out);
    }
    if ctx.site.syslog.is_some() && !ctx.host.has(Role::Harbor) {
        logs::render(ctx, out);
    }
}

/// Add `monitoring/` to the bundle, when a site is monitored.
pub fn render(topo: &Topology, bundle: &mut Bundle) {
    let sites: Vec<(&Site, &Monitoring)> =
        topo.sites.iter().filter_map(|s| s.monitoring.as_ref().map(|m| (s, m))).collect();
    if sites.is_empty() {
        return;
    }
    prometheus::render(&sites, bundle);
    rules::render(&sites, bundle);
    grafana::render(bundle);
}

#[cfg(test)]
mod tests {
    use super::with_parents;

    #[test]
    fn parents() {
        assert_eq!(with_parents("/data"), ["/data", "/"]);
        assert_eq!(with_parents("/srv/harbor/"), ["/srv/harbor", "/srv", "/"]);
        assert_eq!(with_parents("/"), ["/"]);
    }
}
