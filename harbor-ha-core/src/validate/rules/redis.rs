//! RD001–RD004, RD006 and RD007: the external Redis, its indexes, authentication (and, at
//! render time, the characters its password may hold), and Sentinel.

use super::sp;
use crate::diag::{Diagnostic, RuleCode, Severity};
use crate::model::enums::{Component, Role, SiteMode};
use crate::model::ids::{DnsName, Text};
use crate::model::resolved::{DbIndexes, ExternalRedis, Host, Redis, RedisServer, Sentinel, Site};
use crate::model::secret::Secret;
use crate::model::spec::{RedisSpec, SiteSpec};
use crate::model::version::Version;
use crate::validate::{values, Ctx};

/// The redis section: internal, one server (installed on the host with role redis unless
/// `redis.host` names one), or Sentinel.
pub(in crate::validate) fn resolve(
    ctx: &mut Ctx,
    sp: &str,
    s: &SiteSpec,
    hosts: &[Host],
    version: Option<Version>,
) -> Redis {
    let r_host = hosts.iter().find(|h| h.has(Role::Redis));
    let r_hosts = hosts.iter().filter(|h| h.has(Role::Redis)).count();
    if s.redis.is_none() && r_host.is_none() {
        return Redis::Internal;
    }
    let r = s.redis.clone().unwrap_or_default();
    let p = format!("{sp}.redis");
    let host = r.host.as_ref().map(|h| values::dns(ctx, &format!("{p}.host"), h.as_str()));
    let username = values::opt_text(ctx, &format!("{p}.username"), r.username.as_ref());
    let server = match &r.sentinel {
        // 2+ redis hosts with `sentinel: {master_set: NAME}` and no hosts: the installed
        // cluster, its master set so named.
        Some(sn) if sn.hosts.is_empty() && r.host.is_none() && r_hosts >= 2 => {
            let name = values::master_set_name(ctx, &format!("{p}.sentinel.master_set"), sn.master_set.as_ref());
            RedisServer::Cluster(super::cluster::redis_cluster(s, hosts, version, name))
        }
        Some(sn) => {
            let master_set = values::opt_text(ctx, &format!("{p}.sentinel.master_set"), sn.master_set.as_ref());
            let hosts = sn
                .hosts
                .iter()
                .enumerate()
                .map(|(i, h)| values::sentinel_addr(ctx, &format!("{p}.sentinel.hosts[{i}]"), h))
                .collect();
            // A missing master_set is RD004's.
            RedisServer::Sentinel(Sentinel { master_set: master_set.unwrap_or_else(|| Text::stand_in("")), hosts })
        }
        // Two or more redis hosts (and no redis.host): a master, replicas and Sentinels.
        None if r.host.is_none() && r_hosts >= 2 => {
            RedisServer::Cluster(super::cluster::redis_cluster(s, hosts, version, None))
        }
        None => {
            let installed_on = if r.host.is_none() { r_host } else { None };
            // No host at all is HA004's (a redis host is needed): the stand-in is never used.
            let host = host.unwrap_or_else(|| match r_host {
                Some(h) => DnsName::parse(&h.address.to_string()).unwrap_or_else(|_| DnsName::stand_in("")),
                None => DnsName::stand_in(""),
            });
            RedisServer::Single { host, installed_on: installed_on.map(|h| h.name.clone()) }
        }
    };
    let idx = r.db_index.clone().unwrap_or_default();
    Redis::External(ExternalRedis {
        server,
        port: r.port.unwrap_or(6379),
        password: r.password.as_ref().map(values::secret),
        username,
        db_index: DbIndexes {
            registry: idx.registry.unwrap_or(1),
            jobservice: idx.jobservice.unwrap_or(2),
            trivy: idx.trivy.unwrap_or(5),
            chartmuseum: idx.chartmuseum.unwrap_or(3),
            clair: idx.clair.unwrap_or(4),
        },
    })
}

pub(super) fn check(site: &Site, raw: &SiteSpec, ctx: &mut Ctx) {
    let s = sp(site.index);
    let nodes = site.harbor_nodes().count();
    let r = match &site.redis {
        Redis::Internal => {
            if nodes > 1 && site.mode == SiteMode::SharedStorage {
                ctx.emit(
                    RuleCode::RD001,
                    format!("{s}.redis"),
                    format!("site `{}` has {nodes} Harbor nodes and no external Redis", site.name),
                    "add a `redis` section and a host with role redis (or redis.host for an existing server)",
                );
            }
            return;
        }
        Redis::External(r) => r,
    };
    let raw_redis = raw.redis.clone().unwrap_or_default();
    rd002(site, r, &raw_redis, ctx);
    rd003(site, r, ctx);
    rd004(site, r, ctx);
    rd006(site, r, &raw_redis, ctx);
}

/// RD002: the indexes in use by this version and its components are distinct and usable.
fn rd002(site: &Site, r: &ExternalRedis, raw_redis: &RedisSpec, ctx: &mut Ctx) {
    let s = sp(site.index);
    let v = site.harbor.version;
    let comps = &site.harbor.components;
    let mut used: Vec<(&str, u8)> = vec![("registry", r.db_index.registry), ("jobservice", r.db_index.jobservice)];
    if comps.contains(&Component::Trivy) {
        used.push(("trivy", r.db_index.trivy));
    }
    if comps.contains(&Component::Chartmuseum) {
        used.push(("chartmuseum", r.db_index.chartmuseum));
    }
    if comps.contains(&Component::Clair) {
        used.push(("clair", r.db_index.clair));
    }
    let ipath = if raw_redis.db_index.is_some() { format!("{s}.redis.db_index") } else { format!("{s}.redis") };
    for (i, (name, idx)) in used.iter().enumerate() {
        if *idx == 0 {
            ctx.emit(
                RuleCode::RD002,
                format!("{ipath}.{name}"),
                format!(
                    "redis index 0 for {name} collides with core, which always uses 0{}",
                    if v.major >= 2 { " (and Harbor 2.x silently drops a 0)" } else { "" }
                ),
                "use an index from 1 to 15 that no other component uses",
            );
        } else if *idx > 15 {
            ctx.emit(
                RuleCode::RD002,
                format!("{ipath}.{name}"),
                format!("redis index {idx} for {name} is above 15; a stock Redis has databases 0-15"),
                "use an index from 1 to 15",
            );
        }
        if let Some((other, _)) = used[..i].iter().find(|(_, j)| j == idx) {
            ctx.push(
                Diagnostic::new(
                    RuleCode::RD002,
                    format!("{ipath}.{name}"),
                    format!("redis index {idx} is used by both {other} and {name}"),
                    "give every component its own index (defaults: registry 1, jobservice 2, chartmuseum 3, clair 4, trivy 5)",
                )
                .with_related(format!("{ipath}.{other}"), format!("first used by {other}")),
            );
        }
    }
}

/// RD003: a Redis reachable beyond loopback has a password.
fn rd003(site: &Site, r: &ExternalRedis, ctx: &mut Ctx) {
    let s = sp(site.index);
    let no_password = match &r.password {
        None => true,
        Some(Secret::Literal(p)) => p.is_empty(),
        Some(_) => false,
    };
    let (at, loopback) = match &r.server {
        RedisServer::Single { host, .. } => (
            host.to_string(),
            host.as_str() == "localhost" || host.as_str().parse::<std::net::IpAddr>().is_ok_and(|a| a.is_loopback()),
        ),
        RedisServer::Sentinel(sn) => (sn.hosts.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "), false),
        RedisServer::Cluster(c) => (c.data.iter().map(|m| m.name.to_string()).collect::<Vec<_>>().join(", "), false),
    };
    if no_password && !loopback {
        ctx.emit(
            RuleCode::RD003,
            format!("{s}.redis.password"),
            format!("site `{}`: Redis at {at} is reachable from the network without a password", site.name),
            "set redis.password, e.g. {env: HARBOR_REDIS_PASSWORD}",
        );
    }
}

/// RD004: Sentinel needs Harbor 2.1+, a master set and its hosts.
fn rd004(site: &Site, r: &ExternalRedis, ctx: &mut Ctx) {
    let s = sp(site.index);
    let v = site.harbor.version;
    if let Some(sn) = r.sentinel() {
        let p = format!("{s}.redis.sentinel");
        if !v.at_least(2, 1) {
            ctx.emit(
                RuleCode::RD004,
                p.clone(),
                format!("site `{}`: Harbor {v} cannot use Redis Sentinel (supported from 2.1)", site.name),
                "upgrade Harbor to 2.1 or later, or use one Redis (or HAProxy in front of Sentinel)",
            );
        }
        if sn.master_set.as_str().is_empty() {
            ctx.emit(
                RuleCode::RD004,
                p.clone(),
                "redis.sentinel has no master_set",
                "set redis.sentinel.master_set to the monitored master's name, e.g. mymaster",
            );
        }
        if sn.hosts.is_empty() {
            ctx.emit(
                RuleCode::RD004,
                p,
                "redis.sentinel lists no hosts",
                "list the sentinels as host:port, e.g. [\"10.0.0.5:26379\", ...]",
            );
        }
    }
}

/// RD006: no password on the sentinels themselves; an ACL username only where Harbor reads it.
fn rd006(site: &Site, r: &ExternalRedis, raw_redis: &RedisSpec, ctx: &mut Ctx) {
    let s = sp(site.index);
    let v = site.harbor.version;
    if raw_redis.sentinel.as_ref().is_some_and(|sn| sn.password.is_some()) {
        ctx.emit(
            RuleCode::RD006,
            format!("{s}.redis.sentinel.password"),
            "Harbor cannot authenticate to password-protected sentinels (\"no sentinels available; last error: NOAUTH\")",
            "remove the sentinels' own password (keep the data nodes' password) and firewall the sentinel port",
        );
    }
    if r.username.is_some() {
        let sev = if v.at_least(2, 8) { Severity::Warning } else { Severity::Error };
        let msg = if sev == Severity::Error {
            format!("Harbor {v} has no Redis username setting (added in 2.8)")
        } else {
            "a Redis ACL username degrades the registry cache before Harbor 2.15 (harbor#18892)".to_string()
        };
        ctx.push(
            Diagnostic::new(
                RuleCode::RD006,
                format!("{s}.redis.username"),
                msg,
                "remove redis.username and use requirepass (redis.password) only",
            )
            .with_severity(sev),
        );
    }
}

/// Whether Harbor `v`'s prepare writes the Redis password into `redis://` URLs unescaped:
/// `utils/configs.py` `get_redis_url` quotes it from 2.7.2 and 2.8.1 on (not in 2.8.0).
fn url_unescaped(v: Version) -> bool {
    let patch = v.patch.unwrap_or(0);
    match v.minor_key() {
        (1, _) => true,
        (2, m) if m < 7 => true,
        (2, 7) => patch < 2,
        (2, 8) => patch < 1,
        _ => false,
    }
}

/// Why `pw` breaks Harbor `v`'s generated configuration, if it does (never shows the value).
///
/// Every version writes it unquoted into the registry's `config.yml` (`password: …`), so a
/// value YAML reads as something else is refused: leading or trailing blanks, a leading
/// indicator character, `: ` or ` #` inside, or a null (`~`, `null`). Versions that put it
/// unescaped into `redis://anonymous:<pw>@host:port/db` (and, in 1.10 and 2.0, into the
/// comma-separated `_REDIS_URL`) take only URL userinfo characters other than `,`.
fn password_problem(v: Version, pw: &str) -> Option<&'static str> {
    let first = pw.chars().next()?;
    let second = pw.chars().nth(1);
    let yaml_bad = pw.trim() != pw
        || "[]{}#&*!|>'\"%@`,".contains(first)
        || ("-?:".contains(first) && second.is_none_or(char::is_whitespace))
        || pw.contains(": ")
        || pw.contains(" #")
        || pw.ends_with(':')
        || pw.contains(['\t', '\n', '\r'])
        || matches!(pw, "~" | "null" | "Null" | "NULL");
    if yaml_bad {
        return Some("the registry's config.yml (written unquoted: YAML reads it as another value)");
    }
    let url_ok = |c: char| c.is_ascii_alphanumeric() || "-._~!$&'()*+;=".contains(c);
    if url_unescaped(v) && !pw.chars().all(url_ok) {
        return Some("redis:// URLs and the comma-separated Redis settings (written unescaped)");
    }
    None
}

/// RD007 at render time: the Redis password resolved from the topology (never shown) holds
/// characters that Harbor's prepare writes where they break the connection.
pub(crate) fn unescaped_redis_password(site: &Site, secret: &Secret, value: &str) -> Option<Diagnostic> {
    let v = site.harbor.version;
    let what = password_problem(v, value)?;
    Some(Diagnostic::new(
        RuleCode::RD007,
        format!("{}.redis.password", sp(site.index)),
        format!(
            "the Redis password ({}) holds characters that Harbor {v}'s prepare puts into {what}: jobservice, core and the registry could not reach Redis",
            secret.describe()
        ),
        if url_unescaped(v) {
            "use a password of letters, digits and - . _ ~ only (e.g. `openssl rand -hex 24`); Harbor 2.7.2, 2.8.1 and later escape it in URLs"
        } else {
            "use a password that does not start or end with a blank or a YAML indicator (- ? : [ ] { } # & * ! | > ' \" % @ `) and holds no `: ` or ` #`"
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::{password_problem, url_unescaped};
    use crate::model::version::Version;

    #[test]
    fn which_versions_escape_the_redis_password() {
        let v = |s: &str| s.parse::<Version>().unwrap();
        for old in ["1.10.2", "1.10.19", "2.0.0", "2.6.4", "2.7.1", "2.8.0", "2.7"] {
            assert!(url_unescaped(v(old)), "{old}");
        }
        for new in ["2.7.2", "2.8.1", "2.9.0", "2.15.2", "2.9"] {
            assert!(!url_unescaped(v(new)), "{new}");
        }
        for bad in ["p@ss", "a,b", "a/b", "a#b", "a:b", "a b", "50%"] {
            assert!(password_problem(v("1.10.2"), bad).is_some(), "{bad}");
            assert!(password_problem(v("2.0.6"), bad).is_some(), "{bad}");
        }
        for ok in ["p@ss", "a,b", "a/b", "a#b", "a:b", "a b", "50%"] {
            assert!(password_problem(v("2.9.0"), ok).is_none(), "{ok}");
        }
        for yaml_bad in ["#x", " x", "x ", "a: b", "a #b", "null", "~", "*ref", "x:", "- x"] {
            assert!(password_problem(v("2.15.2"), yaml_bad).is_some(), "{yaml_bad}");
        }
        assert!(password_problem(v("1.10.2"), "Redis-Pw_1.x~").is_none());
    }
}
