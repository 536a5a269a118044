//! Per-value checks and defaults: raw spec → resolved sites.
//!
//! A value that does not parse is reported and replaced by a fallback so that the
//! cross-cutting rules still run. Only an unusable Harbor version or `external_url` leaves
//! a site unresolved (its version-dependent rules cannot be judged).

use std::net::IpAddr;

use ipnet::IpNet;
use url::Url;

use super::codes::RuleCode;
use super::Ctx;
use crate::model::ids::{
    is_safe_path, is_valid_dns_name, is_valid_interface, is_valid_name, DnsName, HostPath, InterfaceName, SqlIdent,
};
use crate::model::resolved::{
    Database, DbIndexes, Edge, ExternalDb, ExternalRedis, Harbor, Host, LoadBalancer, Nfs, Redis, Sentinel, Site,
    Storage, Tls, Topology,
};
use crate::model::spec::{
    Affinity, EdgeMode, OsFamily, Role, SiteMode, SiteSpec, SslMode, StorageSpec, TopologySpec, Trigger,
};
use crate::model::version::Version;

/// Sites (None when unresolvable) and edges.
pub(crate) struct Resolved {
    pub(crate) sites: Vec<Option<Site>>,
    pub(crate) edges: Vec<Edge>,
}

impl Resolved {
    pub(crate) fn into_topology(self) -> Option<Topology> {
        let sites = self.sites.into_iter().collect::<Option<Vec<_>>>()?;
        Some(Topology { sites, edges: self.edges })
    }
}

/// Oldest and newest supported Harbor minors.
pub(crate) fn harbor_version_supported(v: Version) -> bool {
    (v.major == 1 && v.minor == 10) || (v.major == 2 && v.minor <= 15)
}

/// Default PostgreSQL major installed on an OS family.
pub(crate) fn default_pg_version(os: OsFamily) -> Version {
    match os {
        OsFamily::Ubuntu2204 => Version::new(14, 0),
        _ => Version::new(15, 0),
    }
}

/// Default max_open_conns written into harbor.yml.
pub(crate) const DEFAULT_MAX_OPEN_CONNS: u32 = 100;
/// Connections PostgreSQL keeps for superusers.
pub(crate) const PG_RESERVED_CONNECTIONS: u32 = 3;

/// Components that open their own PostgreSQL pools on each node.
pub(crate) fn db_components(site: &Site) -> u32 {
    use crate::model::spec::Component;
    let mut n = 2; // core, jobservice
    if site.harbor.components.contains(&Component::Clair) {
        n += 1;
    }
    if site.harbor.components.contains(&Component::Notary) {
        n += 2; // notary-server, notary-signer
    }
    n
}

/// Connections the Harbor nodes of `site` may open at most.
pub(crate) fn db_connections_needed(site: &Site, max_open_conns: u32) -> u32 {
    let nodes = u32::try_from(site.harbor_nodes().count()).unwrap_or(u32::MAX);
    nodes.saturating_mul(db_components(site)).saturating_mul(max_open_conns).saturating_add(PG_RESERVED_CONNECTIONS)
}

fn check_path(ctx: &mut Ctx, path: &str, value: &HostPath) {
    if !is_safe_path(value.as_str()) {
        ctx.emit(
            RuleCode::IN001,
            path,
            format!("`{path}` is not a safe absolute path"),
            "use an absolute path of [A-Za-z0-9._/+-] without `..`, e.g. /data/harbor",
        );
    }
}

fn check_dns(ctx: &mut Ctx, path: &str, value: &str) {
    if !is_valid_dns_name(value) {
        ctx.emit(
            RuleCode::IN002,
            path,
            format!("`{path}` is not a valid host name or address"),
            "use a DNS name of letters, digits, `-` and `.` (RFC 1123), or an IP address",
        );
    }
}

/// NFS mount options: a non-empty comma-separated list of `[A-Za-z0-9=_.-]`.
pub(crate) fn is_mount_options(o: &str) -> bool {
    !o.is_empty() && o.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b',' | b'=' | b'_' | b'.' | b'-'))
}

/// Whether `h` is a Sentinel address, `host:port`.
pub(crate) fn is_sentinel_addr(h: &str) -> bool {
    h.rsplit_once(':').is_some_and(|(host, port)| is_valid_dns_name(host) && port.parse::<u16>().is_ok_and(|p| p > 0))
}

/// Where the LB's certificate (`crt`) or key (`key`) is when the topology does not say.
pub(crate) fn default_tls_path(server_name: &str, ext: &str) -> String {
    format!("/etc/nginx/ssl/{server_name}.{ext}")
}

/// Free text that ends up inside generated YAML, JSON, shell or config files.
pub(crate) fn is_safe_text(s: &str) -> bool {
    !s.is_empty() && s.len() <= 1024 && !s.chars().any(|c| c.is_control() || matches!(c, '"' | '\'' | '`' | '\\'))
}

pub(crate) fn check_text(ctx: &mut Ctx, path: &str, value: Option<&str>) {
    if let Some(v) = value {
        if !is_safe_text(v) {
            ctx.emit(
                RuleCode::IN003,
                path,
                format!("`{path}` is empty or contains quotes, control characters or shell/config metacharacters"),
                "use plain text: letters, digits and ordinary punctuation such as - _ . / : @",
            );
        }
    }
}

pub(crate) fn resolve(spec: &TopologySpec, ctx: &mut Ctx) -> Resolved {
    let sites = spec.sites.iter().enumerate().map(|(i, s)| resolve_site(i, s, ctx)).collect();
    let edges = spec
        .replication
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let p = format!("replication[{i}]");
            if let Some(f) = &e.filters {
                check_text(ctx, &format!("{p}.filters.label"), f.label.as_deref());
            }
            check_text(ctx, &format!("{p}.username"), e.username.as_deref());
            Edge {
                index: i,
                from: e.from.clone(),
                to: e.to.clone(),
                mode: e.mode.unwrap_or(EdgeMode::Push),
                trigger: e.trigger.clone().unwrap_or(Trigger::EventBased),
                filters: e.filters.clone().unwrap_or_default(),
                deletion: e.deletion.unwrap_or(false),
                username: e.username.clone().unwrap_or_else(|| "admin".to_string()),
                credentials: e.credentials.clone(),
            }
        })
        .collect();
    Resolved { sites, edges }
}

fn resolve_site(si: usize, s: &SiteSpec, ctx: &mut Ctx) -> Option<Site> {
    let sp = format!("sites[{si}]");
    if !is_valid_name(s.name.as_str()) {
        ctx.emit(
            RuleCode::HA002,
            format!("{sp}.name"),
            format!("site name `{}` is not [a-z0-9-]+", s.name.as_str().escape_debug()),
            "use lowercase letters, digits and `-` (1-63 characters), e.g. `prod` or `branch-1`",
        );
    }
    let site_os = s.os.unwrap_or(OsFamily::Centos7);
    let mode = s.mode.unwrap_or(SiteMode::SharedStorage);

    // Harbor version and URL: blocking when unusable.
    let version = match s.harbor.version.0.parse::<Version>() {
        Ok(v) if harbor_version_supported(v) => Some(v),
        Ok(v) => {
            ctx.emit(
                RuleCode::HB001,
                format!("{sp}.harbor.version"),
                format!("site `{}`: Harbor {v} is not supported", s.name),
                "use Harbor 1.10.x or 2.0 through 2.15",
            );
            None
        }
        Err(_) => {
            ctx.emit(
                RuleCode::HB001,
                format!("{sp}.harbor.version"),
                format!("site `{}`: `{}` is not a Harbor version", s.name, s.harbor.version.0.escape_debug()),
                "write the release as a quoted string, e.g. \"2.11.1\" or \"1.10.2\"",
            );
            None
        }
    };
    let url = parse_external_url(&sp, &s.harbor.external_url, ctx);
    if let Some(dir) = &s.harbor.install_dir {
        check_path(ctx, &format!("{sp}.harbor.install_dir"), dir);
    }

    let storage = resolve_storage(&sp, s, ctx);
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
            if let Some(dv) = &h.data_volume {
                check_path(ctx, &format!("{hp}.data_volume"), dv);
            }
            if let Some(ifc) = &h.interface {
                if !is_valid_interface(ifc.as_str()) {
                    ctx.emit(
                        RuleCode::IN002,
                        format!("{hp}.interface"),
                        format!("host `{}`: `interface` is not a valid interface name", h.name),
                        "use the Linux interface name, 1-15 of [A-Za-z0-9._-], e.g. eth0",
                    );
                }
            }
            Host {
                index: hi,
                name: h.name.clone(),
                address: h.address,
                roles: h.roles.iter().copied().collect(),
                os: h.os.unwrap_or(site_os),
                http_port: h.http_port.unwrap_or(80),
                data_volume: h
                    .data_volume
                    .clone()
                    .or_else(|| nfs_mount.clone())
                    .unwrap_or_else(|| HostPath::from("/data")),
                interface: h.interface.clone().unwrap_or_else(|| InterfaceName::from("eth0")),
            }
        })
        .collect();

    let storage = finish_nfs(storage, &hosts);
    let database = resolve_database(&sp, s, &hosts, site_os, ctx);
    let redis = resolve_redis(&sp, s, &hosts, ctx);
    let lb = resolve_lb(&sp, s, &hosts, url.as_ref(), ctx);

    let harbor = Harbor {
        version: version?,
        external_url: url?,
        admin_password: s.harbor.admin_password.clone(),
        install_dir: s.harbor.install_dir.clone().unwrap_or_else(|| HostPath::from("/usr/local")),
        components: s.harbor.components.iter().flatten().copied().collect(),
    };
    let mut site = Site {
        index: si,
        name: s.name.clone(),
        mode,
        harbor,
        subnet: s.network.subnet,
        hosts,
        storage,
        disable_redirect: s.storage.as_ref().and_then(|st| st.disable_redirect).unwrap_or(false),
        database,
        redis,
        lb,
    };
    // max_connections default depends on the resolved site: what the nodes may open,
    // plus headroom for admin sessions and migrations, rounded up to a multiple of 50.
    let needed = match &site.database {
        Database::External(db) if db.max_connections == 0 => Some(db_connections_needed(&site, db.max_open_conns)),
        _ => None,
    };
    if let (Some(needed), Database::External(db)) = (needed, &mut site.database) {
        db.max_connections = needed.saturating_add(20).div_ceil(50).saturating_mul(50);
    }
    Some(site)
}

fn parse_external_url(sp: &str, raw: &str, ctx: &mut Ctx) -> Option<Url> {
    let path = format!("{sp}.harbor.external_url");
    let bad = |ctx: &mut Ctx, why: &str| {
        ctx.emit(
            RuleCode::HB004,
            path.clone(),
            format!("`external_url` {why}"),
            "write the URL docker clients use, scheme, host and optional port only, e.g. https://harbor.example.com",
        );
    };
    match Url::parse(raw) {
        Ok(u) => {
            if !matches!(u.scheme(), "http" | "https") {
                bad(ctx, "must use http or https");
                return None;
            }
            let Some(host) = u.host_str() else {
                bad(ctx, "has no host");
                return None;
            };
            if !is_valid_dns_name(host.trim_start_matches('[').trim_end_matches(']')) {
                bad(ctx, "has an invalid host name");
                return None;
            }
            if u.path() != "/" || u.query().is_some() || u.fragment().is_some() {
                bad(ctx, "has a path, query or fragment; Harbor must be served at the domain root");
                return None;
            }
            if !u.username().is_empty() || u.password().is_some() {
                bad(ctx, "contains user information");
                return None;
            }
            Some(u)
        }
        Err(_) => {
            bad(ctx, "is not an absolute URL");
            None
        }
    }
}

fn resolve_storage(sp: &str, s: &SiteSpec, ctx: &mut Ctx) -> Storage {
    let Some(st) = &s.storage else {
        return Storage::Local;
    };
    let StorageSpec { nfs, s3, swift, azure, gcs, oss, filesystem, .. } = st;
    let count = [
        nfs.is_some(),
        s3.is_some(),
        swift.is_some(),
        azure.is_some(),
        gcs.is_some(),
        oss.is_some(),
        filesystem.is_some(),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if count != 1 {
        ctx.emit(
            RuleCode::ST005,
            format!("{sp}.storage"),
            format!("site `{}`: `storage` names {count} backends; exactly one is needed", s.name),
            "keep one of nfs, s3, swift, azure, gcs, oss or filesystem",
        );
    }
    let p = format!("{sp}.storage");
    if let Some(n) = nfs {
        check_path(ctx, &format!("{p}.nfs.export"), &n.export);
        if let Some(m) = &n.mount {
            check_path(ctx, &format!("{p}.nfs.mount"), m);
        }
        if let Some(o) = &n.options {
            if !is_mount_options(o) {
                ctx.emit(
                    RuleCode::IN003,
                    format!("{p}.nfs.options"),
                    "`storage.nfs.options` must be a comma-separated list of mount options",
                    "use e.g. hard,nfsvers=4.1,_netdev (letters, digits and , = _ . - only)",
                );
            }
        }
        let mut clients = Vec::new();
        let mut clients_given = false;
        if let Some(list) = &n.clients {
            clients_given = true;
            for (ci, c) in list.iter().enumerate() {
                match parse_cidr(c) {
                    Some(net) => clients.push(net),
                    None => ctx.emit(
                        RuleCode::ST003,
                        format!("{p}.nfs.clients[{ci}]"),
                        format!("NFS client `{}` is not an address or CIDR", c.escape_debug()),
                        "write an address (192.168.1.10) or a network (192.168.1.0/24)",
                    ),
                }
            }
        }
        return Storage::Nfs(Nfs {
            export: n.export.clone(),
            mount: n.mount.clone().unwrap_or_else(|| HostPath::from("/data")),
            server: n.server.unwrap_or(IpAddr::from([0, 0, 0, 0])),
            server_host: None,
            clients: if clients_given { clients } else { Vec::new() },
            options: n.options.clone().unwrap_or_else(|| "hard,nfsvers=4.1,_netdev".to_string()),
        });
    }
    if let Some(x) = s3 {
        for (k, v) in [
            ("bucket", &x.bucket),
            ("region", &x.region),
            ("regionendpoint", &x.regionendpoint),
            ("rootdirectory", &x.rootdirectory),
        ] {
            check_text(ctx, &format!("{p}.s3.{k}"), v.as_deref());
        }
        return Storage::S3(x.clone());
    }
    if let Some(x) = swift {
        for (k, v) in [
            ("authurl", &x.authurl),
            ("username", &x.username),
            ("container", &x.container),
            ("region", &x.region),
            ("tenant", &x.tenant),
            ("domain", &x.domain),
        ] {
            check_text(ctx, &format!("{p}.swift.{k}"), v.as_deref());
        }
        return Storage::Swift(x.clone());
    }
    if let Some(x) = azure {
        for (k, v) in [("accountname", &x.accountname), ("container", &x.container), ("realm", &x.realm)] {
            check_text(ctx, &format!("{p}.azure.{k}"), v.as_deref());
        }
        return Storage::Azure(x.clone());
    }
    if let Some(x) = gcs {
        for (k, v) in [("bucket", &x.bucket), ("rootdirectory", &x.rootdirectory)] {
            check_text(ctx, &format!("{p}.gcs.{k}"), v.as_deref());
        }
        if let Some(kf) = &x.keyfile {
            check_path(ctx, &format!("{p}.gcs.keyfile"), kf);
        }
        return Storage::Gcs(x.clone());
    }
    if let Some(x) = oss {
        for (k, v) in [("region", &x.region), ("bucket", &x.bucket), ("endpoint", &x.endpoint)] {
            check_text(ctx, &format!("{p}.oss.{k}"), v.as_deref());
        }
        return Storage::Oss(x.clone());
    }
    Storage::Local
}

/// Fill in the NFS server and default clients from the hosts.
fn finish_nfs(storage: Storage, hosts: &[Host]) -> Storage {
    match storage {
        Storage::Nfs(mut n) => {
            if n.server.is_unspecified() {
                if let Some(h) = hosts.iter().find(|h| h.has(Role::Nfs)) {
                    n.server = h.address;
                    n.server_host = Some(h.name.clone());
                }
            }
            if n.clients.is_empty() {
                n.clients = hosts.iter().filter(|h| h.has(Role::Harbor)).map(|h| IpNet::from(h.address)).collect();
            }
            Storage::Nfs(n)
        }
        other => other,
    }
}

pub(crate) fn parse_cidr(s: &str) -> Option<IpNet> {
    s.parse::<IpNet>().ok().or_else(|| s.parse::<IpAddr>().ok().map(IpNet::from))
}

fn resolve_database(sp: &str, s: &SiteSpec, hosts: &[Host], site_os: OsFamily, ctx: &mut Ctx) -> Database {
    let pg_host = hosts.iter().find(|h| h.has(Role::Postgres));
    if s.database.is_none() && pg_host.is_none() {
        return Database::Internal;
    }
    let d = s.database.clone().unwrap_or_default();
    let p = format!("{sp}.database");
    if let Some(h) = &d.host {
        check_dns(ctx, &format!("{p}.host"), h.as_str());
    }
    for (k, v) in [("username", &d.username), ("db_name", &d.db_name)] {
        if let Some(v) = v {
            if !crate::model::ids::is_plain_sql_ident(v.as_str()) {
                ctx.emit(
                    RuleCode::IN003,
                    format!("{p}.{k}"),
                    format!("`database.{k}` must be a plain SQL identifier"),
                    "use lowercase letters, digits and `_`, starting with a letter (at most 63)",
                );
            }
        }
    }
    let installed_on = if d.host.is_none() { pg_host } else { None };
    let os = installed_on.map_or(site_os, |h| h.os);
    let version = match &d.version {
        Some(v) => match v.0.parse::<Version>() {
            Ok(v) => v,
            Err(_) => {
                ctx.emit(
                    RuleCode::DB002,
                    format!("{p}.version"),
                    format!("`{}` is not a PostgreSQL version", v.0.escape_debug()),
                    "write the major version as a quoted string, e.g. \"15\" or \"9.6\"",
                );
                default_pg_version(os)
            }
        },
        None => default_pg_version(os),
    };
    Database::External(ExternalDb {
        host: d.host.clone().unwrap_or_else(|| DnsName(pg_host.map_or_else(String::new, |h| h.address.to_string()))),
        installed_on: installed_on.map(|h| h.name.clone()),
        version,
        port: d.port.unwrap_or(5432),
        username: d.username.clone().unwrap_or_else(|| SqlIdent::from("harbor")),
        password: d.password.clone().unwrap_or(crate::model::secret::Secret::Literal(String::new())),
        db_name: d.db_name.clone().unwrap_or_else(|| SqlIdent::from("registry")),
        ssl_mode: d.ssl_mode.unwrap_or(SslMode::Disable),
        max_open_conns: d.max_open_conns.unwrap_or(DEFAULT_MAX_OPEN_CONNS),
        max_idle_conns: d.max_idle_conns.unwrap_or(50),
        max_connections: d.max_connections.unwrap_or(0),
    })
}

fn resolve_redis(sp: &str, s: &SiteSpec, hosts: &[Host], ctx: &mut Ctx) -> Redis {
    let r_host = hosts.iter().find(|h| h.has(Role::Redis));
    if s.redis.is_none() && r_host.is_none() {
        return Redis::Internal;
    }
    let r = s.redis.clone().unwrap_or_default();
    let p = format!("{sp}.redis");
    if let Some(h) = &r.host {
        check_dns(ctx, &format!("{p}.host"), h.as_str());
    }
    check_text(ctx, &format!("{p}.username"), r.username.as_deref());
    let sentinel = r.sentinel.as_ref().map(|sn| {
        check_text(ctx, &format!("{p}.sentinel.master_set"), sn.master_set.as_deref());
        for (i, h) in sn.hosts.iter().enumerate() {
            if !is_sentinel_addr(h) {
                ctx.emit(
                    RuleCode::IN002,
                    format!("{p}.sentinel.hosts[{i}]"),
                    format!("sentinel `{}` is not host:port", h.escape_debug()),
                    "write each sentinel as host:port, e.g. 10.0.0.5:26379",
                );
            }
        }
        Sentinel { master_set: sn.master_set.clone().unwrap_or_default(), hosts: sn.hosts.clone() }
    });
    let idx = r.db_index.clone().unwrap_or_default();
    let installed_on = if r.host.is_none() && sentinel.is_none() { r_host } else { None };
    Redis::External(ExternalRedis {
        host: r.host.clone().unwrap_or_else(|| DnsName(r_host.map_or_else(String::new, |h| h.address.to_string()))),
        installed_on: installed_on.map(|h| h.name.clone()),
        port: r.port.unwrap_or(6379),
        password: r.password.clone(),
        username: r.username.clone(),
        db_index: DbIndexes {
            registry: idx.registry.unwrap_or(1),
            jobservice: idx.jobservice.unwrap_or(2),
            trivy: idx.trivy.unwrap_or(5),
            chartmuseum: idx.chartmuseum.unwrap_or(3),
            clair: idx.clair.unwrap_or(4),
        },
        sentinel,
    })
}

fn resolve_lb(sp: &str, s: &SiteSpec, hosts: &[Host], url: Option<&Url>, ctx: &mut Ctx) -> Option<LoadBalancer> {
    let has_lb_host = hosts.iter().any(|h| h.has(Role::Lb));
    if s.load_balancer.is_none() && !has_lb_host {
        return None;
    }
    let l = s.load_balancer.clone().unwrap_or_default();
    let p = format!("{sp}.load_balancer");
    if let Some(n) = &l.server_name {
        check_dns(ctx, &format!("{p}.server_name"), n.as_str());
    }
    for (i, u) in l.upstreams.iter().flatten().enumerate() {
        check_text(ctx, &format!("{p}.upstreams[{i}]"), Some(u));
    }
    let server_name = l
        .server_name
        .clone()
        .or_else(|| {
            url.and_then(Url::host_str).map(|h| DnsName(h.trim_start_matches('[').trim_end_matches(']').to_string()))
        })
        .unwrap_or_else(|| DnsName::from("localhost"));
    let tls = match &l.tls {
        None => Tls::None,
        Some(t) => {
            if let Some(c) = &t.certificate {
                check_path(ctx, &format!("{p}.tls.certificate"), c);
            }
            if let Some(k) = &t.key {
                check_path(ctx, &format!("{p}.tls.key"), k);
            }
            let default_cert = || HostPath(default_tls_path(server_name.as_str(), "crt"));
            let default_key = || HostPath(default_tls_path(server_name.as_str(), "key"));
            if t.self_signed == Some(true) {
                Tls::SelfSigned {
                    certificate: t.certificate.clone().unwrap_or_else(default_cert),
                    key: t.key.clone().unwrap_or_else(default_key),
                }
            } else {
                Tls::Files {
                    certificate: t.certificate.clone().unwrap_or_else(default_cert),
                    key: t.key.clone().unwrap_or_else(default_key),
                }
            }
        }
    };
    Some(LoadBalancer {
        server_name,
        tls,
        affinity: l.affinity.unwrap_or(Affinity::IpHash),
        vip: l.vip,
        virtual_router_id: l.virtual_router_id.unwrap_or(51),
    })
}
