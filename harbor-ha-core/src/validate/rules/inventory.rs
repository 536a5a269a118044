//! HA002–HA007: names, addresses, role cardinality, ports and single points of failure.

use std::collections::{BTreeMap, HashMap};

use super::{hp, sp};
use crate::diag::{Diagnostic, RuleCode};
use crate::model::enums::{Role, SiteMode};
use crate::model::ids::{is_valid_name, SiteName};
use crate::model::resolved::{Database, PgCluster, Redis, RedisCluster, RedisServer, Site, Storage, Tls};
use crate::model::spec::{SiteSpec, TopologySpec};
use crate::validate::Ctx;

/// HA002: the site's name, `[a-z0-9-]+`.
pub(in crate::validate) fn site_name(ctx: &mut Ctx, sp: &str, s: &SiteSpec) -> SiteName {
    ctx.checked::<SiteName>(s.name.as_str(), |ctx| {
        ctx.emit(
            RuleCode::HA002,
            format!("{sp}.name"),
            format!("site name `{}` is not [a-z0-9-]+", s.name.as_str().escape_debug()),
            "use lowercase letters, digits and `-` (1-63 characters), e.g. `prod` or `branch-1`",
        );
    })
}

/// HA002 over the whole file: unique site names, host names unique across the file (each
/// gets `hosts/<name>/` in the bundle), addresses unique within a site.
pub(super) fn check_names(spec: &TopologySpec, ctx: &mut Ctx) {
    if spec.sites.is_empty() {
        ctx.emit(
            RuleCode::HA004,
            "sites",
            "the file defines no site",
            "describe at least one site (see `harbor-ha init`)",
        );
    }
    let mut sites: HashMap<&str, usize> = HashMap::new();
    let mut hosts: HashMap<&str, String> = HashMap::new();
    for (si, s) in spec.sites.iter().enumerate() {
        if let Some(&first) = sites.get(s.name.as_str()) {
            ctx.push(
                Diagnostic::new(
                    RuleCode::HA002,
                    format!("{}.name", sp(si)),
                    format!("site name `{}` is already used by sites[{first}]", s.name),
                    "give every site its own name",
                )
                .with_related(format!("{}.name", sp(first)), "first used here"),
            );
        } else {
            sites.insert(s.name.as_str(), si);
        }
        let mut addrs: HashMap<std::net::IpAddr, usize> = HashMap::new();
        for (hi, h) in s.hosts.iter().enumerate() {
            let path = hp(si, hi);
            if !is_valid_name(h.name.as_str()) {
                ctx.emit(
                    RuleCode::HA002,
                    format!("{path}.name"),
                    format!("host name `{}` is not [a-z0-9-]+", h.name.as_str().escape_debug()),
                    "use lowercase letters, digits and `-` (1-63 characters), e.g. harbor-1",
                );
            }
            if let Some(first) = hosts.get(h.name.as_str()) {
                ctx.push(
                    Diagnostic::new(
                        RuleCode::HA002,
                        format!("{path}.name"),
                        format!("host name `{}` is already used by {first}", h.name),
                        "host names must be unique in the whole file: each host gets its own hosts/<name>/ in the bundle",
                    )
                    .with_related(format!("{first}.name"), "first used here"),
                );
            } else {
                hosts.insert(h.name.as_str(), path.clone());
            }
            if let Some(&first) = addrs.get(&h.address) {
                ctx.push(
                    Diagnostic::new(
                        RuleCode::HA002,
                        format!("{path}.address"),
                        format!("host `{}`: address {} is already used by {}", h.name, h.address, hp(si, first)),
                        "list each machine once and give it all its roles",
                    )
                    .with_related(format!("{}.address", hp(si, first)), "first used here"),
                );
            } else {
                addrs.insert(h.address, hi);
            }
            let mut seen = Vec::new();
            for (ri, r) in h.roles.iter().enumerate() {
                if let Some(first) = seen.iter().position(|s| s == r) {
                    ctx.push(
                        Diagnostic::new(
                            RuleCode::HA002,
                            format!("{path}.roles[{ri}]"),
                            format!("host `{}`: role {r:?} is listed twice", h.name),
                            "list each role once",
                        )
                        .with_related(format!("{path}.roles[{first}]"), "first listed here"),
                    );
                }
                seen.push(*r);
            }
        }
    }
}

pub(super) fn check(site: &Site, raw: &SiteSpec, ctx: &mut Ctx) {
    let s = sp(site.index);
    // HA003
    for h in &site.hosts {
        if !site.subnet.contains(&h.address) {
            ctx.emit(
                RuleCode::HA003,
                format!("{}.address", hp(site.index, h.index)),
                format!("host `{}`: address {} is outside the subnet {}", h.name, h.address, site.subnet),
                format!("correct the address, or widen `{s}.network.subnet` to include it"),
            );
        }
    }

    cardinality(site, raw, ctx);

    // HA005
    let nodes = site.harbor_nodes().count();
    if nodes == 1 {
        ctx.emit(
            RuleCode::HA005,
            format!("{s}.hosts"),
            format!("site `{}` has one Harbor node: it is not highly available", site.name),
            "add a second host with role harbor (and shared storage, database and Redis)",
        );
    }

    ports(site, ctx);
    spofs(site, ctx);
}

fn cardinality(site: &Site, raw: &SiteSpec, ctx: &mut Ctx) {
    let s = sp(site.index);
    let count = |r: Role| site.hosts_with(r).count();
    let nodes = count(Role::Harbor);
    let mut bad = |path: String, msg: String, hint: &str| ctx.emit(RuleCode::HA004, path, msg, hint);
    let name = &site.name;
    if nodes == 0 {
        bad(
            format!("{s}.hosts"),
            format!("site `{name}` has no host with role harbor"),
            "give at least one host the role harbor",
        );
    }
    if site.mode == SiteMode::Replication && nodes != 2 {
        bad(
            format!("{s}.hosts"),
            format!("dual-master site `{name}` has {nodes} Harbor nodes; it needs exactly two"),
            "give exactly two hosts the role harbor, or use mode: shared-storage for more nodes",
        );
    }
    // Role hosts that must be unique, and roles without a purpose.
    let nfs_needed = raw.storage.as_ref().and_then(|x| x.nfs.as_ref()).is_some_and(|n| n.server.is_none());
    let pg_needed =
        matches!(site.database, Database::External(_)) && raw.database.as_ref().is_none_or(|d| d.host.is_none());
    let redis_needed = matches!(site.redis, Redis::External(_))
        && raw.redis.as_ref().is_none_or(|r| r.host.is_none() && r.sentinel.is_none())
        || site.redis_cluster().is_some();
    for (role, needed, what, key) in [
        (Role::Nfs, nfs_needed, "NFS server", "storage.nfs.server"),
        (Role::Postgres, pg_needed, "PostgreSQL server", "database.host"),
        (Role::Redis, redis_needed, "Redis server", "redis.host"),
    ] {
        let n = count(role);
        let role_name = role.as_str();
        // PostgreSQL and Redis: one host is a server, two or more a cluster.
        let clusterable = role != Role::Nfs;
        if needed && (n == 0 || (n != 1 && !clusterable)) {
            let (need, or) = if clusterable {
                ("at least one host", " (two or more make a replicated cluster)")
            } else {
                ("exactly one host", "")
            };
            bad(
                format!("{s}.hosts"),
                format!(
                    "site `{name}` needs {need} with role {role_name} (the {what} the bundle installs){or}; it has {n}"
                ),
                &format!("give {need} the role {role_name}, or set `{key}` to an existing server"),
            );
        } else if !needed && n > 0 {
            let h = site.hosts_with(role).next().map_or(0, |h| h.index);
            bad(
                format!("{}.roles", hp(site.index, h)),
                format!(
                    "host `{}` has role {role_name}, but site `{name}` does not use an installed {what}",
                    site.hosts[h].name
                ),
                &format!("remove the role, or configure the site to use it (without `{key}`)"),
            );
        }
    }
    // Witness roles: only with the cluster they vote in (on a data node: HA008's).
    for (role, data, clustered, what) in [
        (Role::Etcd, Role::Postgres, site.pg_cluster().is_some(), "a PostgreSQL cluster (2+ postgres hosts)"),
        (Role::Sentinel, Role::Redis, site.redis_cluster().is_some(), "a Redis cluster (2+ redis hosts)"),
    ] {
        if clustered {
            continue;
        }
        let role_name = role.as_str();
        if let Some(h) = site.hosts_with(role).next() {
            bad(
                format!("{}.roles", hp(site.index, h.index)),
                format!("host `{}` has role {role_name}, but site `{name}` has no {what} for it to vote in", h.name),
                &format!("remove the role, or give two or more hosts the role {}", format!("{data:?}").to_lowercase()),
            );
        }
    }
    let lbs = count(Role::Lb);
    if lbs > 2 {
        bad(
            format!("{s}.hosts"),
            format!("site `{name}` has {lbs} LB hosts; at most two are supported (a keepalived pair)"),
            "keep one or two hosts with role lb",
        );
    } else if lbs == 0 && nodes >= 2 {
        bad(
            format!("{s}.hosts"),
            format!("site `{name}` has {nodes} Harbor nodes and no load balancer"),
            "give one host (or two, with a vip) the role lb",
        );
    }
}

fn ports(site: &Site, ctx: &mut Ctx) {
    for h in &site.hosts {
        let mut claims: BTreeMap<u16, Vec<String>> = BTreeMap::new();
        let mut claim = |port: u16, what: &str| claims.entry(port).or_default().push(what.to_string());
        if h.has(Role::Lb) {
            claim(80, "lb (http)");
            if let Some(lb) = &site.lb {
                if !matches!(lb.tls, Tls::None) {
                    claim(443, "lb (https)");
                }
            }
            if let (Some(_), Database::External(db)) = (site.pg_cluster(), &site.database) {
                claim(db.port, "lb (PostgreSQL endpoint)");
            }
            if let (Some(c), Redis::External(r)) = (site.redis_cluster(), &site.redis) {
                if c.proxy.is_some() {
                    claim(r.port, "lb (Redis proxy)");
                }
            }
        }
        if let Some(c) = site.pg_cluster() {
            if c.is_member(&h.name) {
                claim(PgCluster::REST_PORT, "postgres (Patroni REST API)");
            }
            if c.is_dcs(&h.name) {
                claim(PgCluster::ETCD_CLIENT_PORT, "etcd (clients)");
                claim(PgCluster::ETCD_PEER_PORT, "etcd (peers)");
            }
        }
        if site.redis_cluster().is_some_and(|c| c.is_sentinel(&h.name)) {
            claim(RedisCluster::SENTINEL_PORT, "sentinel");
        }
        if h.has(Role::Harbor) {
            claim(h.http_port, "harbor (http_port)");
        }
        if h.has(Role::Postgres) {
            if let Database::External(db) = &site.database {
                claim(db.port, "postgres");
            }
        }
        if h.has(Role::Redis) {
            if let Redis::External(r) = &site.redis {
                claim(r.port, "redis");
            }
        }
        if h.has(Role::Nfs) {
            claim(2049, "nfs");
        }
        if let Some(m) = &site.monitoring {
            // The exporters' ports (render::monitoring), on the host's address or loopback.
            claim(9100, "node exporter");
            if h.has(Role::Postgres) && matches!(&site.database, Database::External(db) if db.installed_on.is_some()) {
                claim(9187, "postgres exporter");
            }
            if h.has(Role::Redis) && matches!(&site.redis, Redis::External(r) if r.installed_on().is_some()) {
                claim(9121, "redis exporter");
            }
            if h.has(Role::Lb) {
                claim(9113, "nginx exporter");
                claim(3903, "mtail");
                claim(8090, "lb (stub_status on loopback)");
            }
            if h.has(Role::Harbor) && m.harbor_metrics {
                claim(9090, "harbor (metrics)");
            }
        }
        for (port, who) in claims {
            if who.len() > 1 {
                ctx.emit(
                    RuleCode::HA006,
                    format!("{}.roles", hp(site.index, h.index)),
                    format!("host `{}`: port {port} is claimed by {}", h.name, who.join(" and ")),
                    "move one role to another host, or change its port (e.g. harbor http_port: 8080)",
                );
            }
        }
    }
}

fn spofs(site: &Site, ctx: &mut Ctx) {
    if site.harbor_nodes().count() < 2 {
        return; // HA005 already says the site is not HA.
    }
    let s = sp(site.index);
    let mut spof = |path: String, what: String, fix: &str| {
        ctx.emit(RuleCode::HA007, path, format!("site `{}`: single point of failure: {what}", site.name), fix);
    };
    if site.hosts_with(Role::Lb).count() == 1 {
        let h = site.hosts_with(Role::Lb).next().map_or(0, |h| h.index);
        // The clusters' endpoints live on the LB too: name what else it carries.
        let mut carries = Vec::new();
        if site.pg_cluster().is_some() {
            carries.push("the PostgreSQL cluster's endpoint");
        }
        if site.redis_cluster().is_some_and(|c| c.proxy.is_some()) {
            carries.push("the Redis proxy");
        }
        let also =
            if carries.is_empty() { String::new() } else { format!(", which also carries {}", carries.join(" and ")) };
        spof(
            format!("{}.roles", hp(site.index, h)),
            format!("one load balancer (`{}`) without a VIP{also}", site.hosts[h].name),
            "add a second host with role lb and set load_balancer.vip (keepalived)",
        );
    }
    if let Database::External(db) = &site.database {
        if let Some(h) = &db.installed_on {
            spof(
                format!("{s}.database"),
                format!("one PostgreSQL server (`{h}`)"),
                "point database.host at a replicated PostgreSQL (Patroni, a VIP or pgbouncer in front)",
            );
        }
    }
    if let Redis::External(r) = &site.redis {
        if let RedisServer::Single { host, installed_on } = &r.server {
            spof(
                format!("{s}.redis"),
                format!("one Redis server (`{}`)", installed_on.as_ref().map_or(host.as_str(), |h| h.as_str())),
                "use Redis Sentinel (redis.sentinel, Harbor 2.1+)",
            );
        }
    }
    if let Storage::Nfs(n) = &site.storage {
        let who = n.server_host.as_ref().map_or_else(|| n.server.to_string(), ToString::to_string);
        spof(
            format!("{s}.storage.nfs"),
            format!("one NFS server (`{who}`)"),
            "use a replicated NFS service or object storage (storage.s3)",
        );
    }
}
