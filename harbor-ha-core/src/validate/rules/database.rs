//! DB001–DB005: the external PostgreSQL, its version, authentication and connections.

use super::sp;
use crate::diag::RuleCode;
use crate::model::enums::{Component, OsFamily, Role, SiteMode, SslMode};
use crate::model::ids::{DnsName, SqlIdent};
use crate::model::resolved::{Database, ExternalDb, Host, Site};
use crate::model::secret::Secret;
use crate::model::spec::SiteSpec;
use crate::model::version::Version;
use crate::validate::{values, Ctx};

/// Default PostgreSQL major installed on an OS family.
fn default_pg_version(os: OsFamily) -> Version {
    match os {
        OsFamily::Ubuntu2204 => Version::new(14, 0),
        _ => Version::new(15, 0),
    }
}

/// Default max_open_conns written into harbor.yml.
const DEFAULT_MAX_OPEN_CONNS: u32 = 100;
/// Connections PostgreSQL keeps for superusers.
const PG_RESERVED_CONNECTIONS: u32 = 3;

/// Components that open their own PostgreSQL pools on each node.
fn db_components(site: &Site) -> u32 {
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
pub(in crate::validate) fn connections_needed(site: &Site, max_open_conns: u32) -> u32 {
    let nodes = u32::try_from(site.harbor_nodes().count()).unwrap_or(u32::MAX);
    nodes.saturating_mul(db_components(site)).saturating_mul(max_open_conns).saturating_add(PG_RESERVED_CONNECTIONS)
}

/// The database section: internal, or an external server (installed on the host with
/// role postgres unless `database.host` names one). `max_connections` is 0 until the site
/// is resolved (it defaults to what the nodes need).
pub(in crate::validate) fn resolve(
    ctx: &mut Ctx,
    sp: &str,
    s: &SiteSpec,
    hosts: &[Host],
    site_os: OsFamily,
) -> Database {
    let pg_host = hosts.iter().find(|h| h.has(Role::Postgres));
    if s.database.is_none() && pg_host.is_none() {
        return Database::Internal;
    }
    let pg_hosts = hosts.iter().filter(|h| h.has(Role::Postgres)).count();
    let d = s.database.clone().unwrap_or_default();
    let p = format!("{sp}.database");
    let host = d.host.as_ref().map(|h| values::dns(ctx, &format!("{p}.host"), h.as_str()));
    let username = d.username.as_ref().map(|v| values::sql_ident(ctx, &format!("{p}.username"), "username", v));
    let db_name = d.db_name.as_ref().map(|v| values::sql_ident(ctx, &format!("{p}.db_name"), "db_name", v));
    // Two or more postgres hosts (and no database.host) are a cluster: Harbor reaches it
    // through its endpoint on the LB hosts, and no single host is "the" server.
    let cluster =
        (d.host.is_none() && pg_hosts >= 2).then(|| Box::new(super::cluster::pg_cluster(s, hosts, d.synchronous)));
    let installed_on = if d.host.is_none() && cluster.is_none() { pg_host } else { None };
    let os = installed_on.map_or(site_os, |h| h.os);
    let version = match &d.version {
        Some(v) => v.0.parse::<Version>().unwrap_or_else(|_| {
            ctx.emit(
                RuleCode::DB002,
                format!("{p}.version"),
                format!("`{}` is not a PostgreSQL version", v.0.escape_debug()),
                "write the major version as a quoted string, e.g. \"15\" or \"9.6\"",
            );
            default_pg_version(os)
        }),
        None => default_pg_version(os),
    };
    // No host at all is HA004's (a postgres host is needed): the stand-in is never used.
    let host = host.unwrap_or_else(|| match (&cluster, pg_host) {
        (Some(c), _) => address_name(c.endpoint.address),
        (None, Some(h)) => address_name(h.address),
        (None, None) => DnsName::stand_in(""),
    });
    Database::External(ExternalDb {
        host,
        installed_on: installed_on.map(|h| h.name.clone()),
        version,
        port: d.port.unwrap_or(5432),
        username: username.unwrap_or_else(|| SqlIdent::known("harbor")),
        password: d.password.as_ref().map_or(Secret::Literal(String::new()), values::secret),
        db_name: db_name.unwrap_or_else(|| SqlIdent::known("registry")),
        ssl_mode: d.ssl_mode.unwrap_or(SslMode::Disable),
        max_open_conns: d.max_open_conns.unwrap_or(DEFAULT_MAX_OPEN_CONNS),
        max_idle_conns: d.max_idle_conns.unwrap_or(50),
        max_connections: d.max_connections.unwrap_or(0),
        cluster,
    })
}

/// An address as the name Harbor is given.
fn address_name(a: std::net::IpAddr) -> DnsName {
    DnsName::parse(&a.to_string()).unwrap_or_else(|_| DnsName::stand_in(""))
}

pub(super) fn check(site: &Site, raw: &SiteSpec, ctx: &mut Ctx) {
    let s = sp(site.index);
    let nodes = site.harbor_nodes().count();
    let db = match &site.database {
        Database::Internal => {
            if nodes > 1 && site.mode == SiteMode::SharedStorage {
                ctx.emit(
                    RuleCode::DB001,
                    format!("{s}.database"),
                    format!("site `{}` has {nodes} Harbor nodes and no external database", site.name),
                    "add a `database` section and a host with role postgres (or database.host for an existing server)",
                );
            }
            return;
        }
        Database::External(db) => db,
    };
    let v = site.harbor.version;
    let pg = db.version;
    let vpath = if raw.database.as_ref().is_some_and(|d| d.version.is_some()) {
        format!("{s}.database.version")
    } else {
        format!("{s}.database")
    };
    let min = if v.at_least(2, 9) {
        Some((12, "Harbor 2.9 and later need PostgreSQL 12 or later (jsonb_path_exists)"))
    } else if v.at_least(2, 5) {
        Some((10, "Harbor 2.5 and later need PostgreSQL 10 or later"))
    } else if pg.minor_key() < (9, 6) {
        Some((9, "Harbor's migrations need PostgreSQL 9.6 or later"))
    } else {
        None
    };
    if let Some((major, why)) = min {
        let too_old = if major == 9 { pg.minor_key() < (9, 6) } else { pg.major < major };
        if too_old {
            ctx.emit(
                RuleCode::DB002,
                vpath,
                format!("site `{}`: PostgreSQL {} is too old for Harbor {v}: {why}", site.name, pg.postgres_text()),
                format!(
                    "use PostgreSQL {} or later (set database.version)",
                    if major == 9 { "9.6".to_string() } else { major.to_string() }
                ),
            );
        }
    }
    // DB003
    if db.password.is_empty_literal() {
        ctx.emit(
            RuleCode::DB003,
            format!("{s}.database.password"),
            format!("site `{}`: the database has no password", site.name),
            "set database.password, e.g. {env: HARBOR_DB_PASSWORD}",
        );
    }
    if db.username.as_str() == "postgres" && (db.installed_on.is_some() || db.cluster.is_some()) {
        ctx.emit(
            RuleCode::DB003,
            format!("{s}.database.username"),
            format!("site `{}`: Harbor would log in as the superuser `postgres`", site.name),
            "use a dedicated role (the default `harbor`): the bundle sets its password and admits the nodes with it",
        );
    }
    // DB005: Harbor reads 0 as "no limit" (prepare's code default), so no server size holds it.
    if db.max_open_conns == 0 {
        ctx.emit(
            RuleCode::DB005,
            format!("{s}.database.max_open_conns"),
            format!(
                "site `{}`: max_open_conns 0 means unlimited in Harbor: each of the {nodes} nodes' pools may open as many connections as it likes, and no max_connections can be sized for that",
                site.name
            ),
            "set database.max_open_conns to a positive number (Harbor's template uses 100 to 900), or remove it for the default 100",
        );
        return;
    }
    // DB004
    let needed = connections_needed(site, db.max_open_conns);
    if db.max_connections < needed {
        ctx.emit(
            RuleCode::DB004,
            format!("{s}.database.max_connections"),
            format!(
                "site `{}`: max_connections {} is below the {needed} that {nodes} nodes may open ({} pools of max_open_conns {} each, plus reserved)",
                site.name,
                db.max_connections,
                nodes * db_components(site) as usize,
                db.max_open_conns
            ),
            format!("raise database.max_connections to at least {needed}, or lower database.max_open_conns"),
        );
    }
}
