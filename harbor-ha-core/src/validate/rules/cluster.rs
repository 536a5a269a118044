//! DB007, DB008, RD008, HA008 and HA009: the PostgreSQL and Redis clusters the bundle
//! installs (2+ hosts with role postgres or redis), their quorums, their witnesses and the
//! endpoint on the LB hosts through which Harbor reaches them.

use std::collections::BTreeSet;

use super::{hp, sp};
use crate::diag::{Diagnostic, RuleCode, Severity};
use crate::model::enums::Role;
use crate::model::ids::MasterName;
use crate::model::resolved::{Endpoint, Host, Member, PgCluster, Redis, RedisCluster, Site};
use crate::model::spec::SiteSpec;
use crate::model::version::Version;
use crate::validate::Ctx;

/// The master set's name of an installed Redis cluster.
pub(crate) const MASTER_SET: &str = "harbor";

/// Where Harbor reaches a cluster: the LB hosts' VIP (two LBs), or the one LB's address.
/// Without an LB host the first data node stands in (HA009 reports it).
fn endpoint(s: &SiteSpec, hosts: &[Host], data: &[Member]) -> Endpoint {
    let lbs: Vec<Member> = hosts.iter().filter(|h| h.has(Role::Lb)).map(Member::of).collect();
    let vip = s.load_balancer.as_ref().and_then(|l| l.vip);
    let address = match (lbs.as_slice(), vip) {
        ([_, _, ..], Some(vip)) => vip,
        ([first, ..], _) => first.address,
        ([], _) => data.first().map_or(std::net::IpAddr::from([0, 0, 0, 0]), |m| m.address),
    };
    Endpoint { address, lbs }
}

/// The hosts with `role`, as members.
fn members(hosts: &[Host], role: Role) -> Vec<Member> {
    hosts.iter().filter(|h| h.has(role)).map(Member::of).collect()
}

/// The data nodes, then the witnesses (hosts with `witness` that are not data nodes).
fn voters(hosts: &[Host], data: Role, witness: Role) -> Vec<Member> {
    let mut v = members(hosts, data);
    v.extend(hosts.iter().filter(|h| h.has(witness) && !h.has(data)).map(Member::of));
    v
}

/// The PostgreSQL cluster of a site with 2+ postgres hosts.
pub(in crate::validate) fn pg_cluster(s: &SiteSpec, hosts: &[Host], synchronous: Option<bool>) -> PgCluster {
    let data = members(hosts, Role::Postgres);
    let endpoint = endpoint(s, hosts, &data);
    PgCluster {
        dcs: voters(hosts, Role::Postgres, Role::Etcd),
        members: data,
        synchronous: synchronous.unwrap_or(true),
        endpoint,
    }
}

/// The Redis cluster of a site with 2+ redis hosts. A Harbor without a Sentinel client
/// (before 2.1) reaches the master through the LB-side proxy.
pub(in crate::validate) fn redis_cluster(
    s: &SiteSpec,
    hosts: &[Host],
    version: Option<Version>,
    master_set: Option<MasterName>,
) -> RedisCluster {
    let data = members(hosts, Role::Redis);
    let proxy = version.is_some_and(|v| !v.at_least(2, 1)).then(|| endpoint(s, hosts, &data));
    RedisCluster {
        sentinels: voters(hosts, Role::Redis, Role::Sentinel),
        data,
        master_set: master_set.unwrap_or_else(|| MasterName::known(MASTER_SET)),
        quorum: 2,
        proxy,
    }
}

pub(super) fn check(site: &Site, raw: &SiteSpec, ctx: &mut Ctx) {
    db005(site, ctx);
    db006(site, raw, ctx);
    rd007(site, ctx);
    ha008(site, ctx);
    ha009(site, ctx);
}

fn names(m: &[Member]) -> String {
    m.iter().map(|m| format!("`{}`", m.name)).collect::<Vec<_>>().join(", ")
}

/// DB007: the DCS of a PostgreSQL cluster has an odd number of members, at least three.
fn db005(site: &Site, ctx: &mut Ctx) {
    let Some(c) = site.pg_cluster() else { return };
    let n = c.dcs.len();
    if n >= 3 && n % 2 == 1 {
        return;
    }
    let why = if n < 3 {
        "fewer than three cannot outvote the loss of one"
    } else {
        "an even number tolerates no more failures than one member fewer, and splits evenly"
    };
    ctx.emit(
        RuleCode::DB007,
        format!("{}.hosts", sp(site.index)),
        format!(
            "site `{}`: the PostgreSQL cluster's DCS has {n} etcd member(s) ({}): it needs an odd number, 3 or more ({why})",
            site.name,
            names(&c.dcs)
        ),
        if n < 3 {
            "give role etcd to a third machine that is not a postgres host (a small VM is enough), or add a postgres host"
        } else {
            "add or remove one host with role etcd (or postgres) so that the etcd members are 3, 5 or 7"
        },
    );
}

/// DB008: synchronous replication needs a cluster the bundle installs (2+ data nodes).
fn db006(site: &Site, raw: &SiteSpec, ctx: &mut Ctx) {
    if raw.database.as_ref().and_then(|d| d.synchronous) != Some(true) || site.pg_cluster().is_some() {
        return;
    }
    let what = match &site.database {
        crate::model::resolved::Database::External(db) => match &db.installed_on {
            Some(h) => format!("one PostgreSQL server (`{h}`)"),
            None => format!("an existing server ({}) the bundle does not manage", db.host),
        },
        crate::model::resolved::Database::Internal => "Harbor's internal database".to_string(),
    };
    ctx.emit(
        RuleCode::DB008,
        format!("{}.database.synchronous", sp(site.index)),
        format!(
            "site `{}`: database.synchronous needs at least 2 data nodes (a standby to acknowledge each commit), but the site has {what}",
            site.name
        ),
        "give a second host the role postgres (the bundle then installs a cluster), or remove database.synchronous",
    );
}

/// RD008: Sentinel's quorum needs at least three Sentinels on three hosts.
fn rd007(site: &Site, ctx: &mut Ctx) {
    let s = sp(site.index);
    let Redis::External(r) = &site.redis else { return };
    if let Some(c) = r.cluster() {
        if c.sentinels.len() < 3 {
            ctx.emit(
                RuleCode::RD008,
                format!("{s}.hosts"),
                format!(
                    "site `{}`: the Redis cluster has {} Sentinel(s) ({}): a quorum of 2 needs at least 3 Sentinels on 3 hosts",
                    site.name,
                    c.sentinels.len(),
                    names(&c.sentinels)
                ),
                "give role sentinel to a host that is not a redis host (e.g. an LB, a Harbor node or a small third machine)",
            );
        }
    } else if let Some(sn) = r.sentinel() {
        if sn.hosts.is_empty() {
            return; // RD004's.
        }
        let machines: BTreeSet<&str> =
            sn.hosts.iter().map(|h| h.as_str().rsplit_once(':').map_or(h.as_str(), |(host, _)| host)).collect();
        if sn.hosts.len() < 3 || machines.len() < 3 {
            ctx.push(
                Diagnostic::new(
                    RuleCode::RD008,
                    format!("{s}.redis.sentinel.hosts"),
                    format!(
                        "site `{}`: {} Sentinel(s) on {} host(s): a failover needs a majority of at least 3 Sentinels on 3 machines",
                        site.name,
                        sn.hosts.len(),
                        machines.len()
                    ),
                    "run at least 3 Sentinels, each on its own machine, and list them all",
                )
                .with_severity(Severity::Warning),
            );
        }
    }
}

/// HA008: a cluster's extra vote (role etcd or sentinel) on one of its own data nodes.
/// Written on a data node the role is only redundant (harmless) while the votes suffice;
/// it is reported when they fall short because of it.
fn ha008(site: &Site, ctx: &mut Ctx) {
    let pg_short = site.pg_cluster().is_some_and(|c| c.dcs.len() < 3 || c.dcs.len() % 2 == 0);
    let redis_short = site.redis_cluster().is_some_and(|c| c.sentinels.len() < 3);
    let checks = [
        (pg_short, Role::Postgres, Role::Etcd, "PostgreSQL", "etcd member"),
        (redis_short, Role::Redis, Role::Sentinel, "Redis", "Sentinel"),
    ];
    for (short, data, witness, what, vote) in checks {
        if !short {
            continue;
        }
        let role = if witness == Role::Etcd { "etcd" } else { "sentinel" };
        for h in site.hosts.iter().filter(|h| h.has(data) && h.has(witness)) {
            ctx.emit(
                RuleCode::HA008,
                format!("{}.roles", hp(site.index, h.index)),
                format!(
                    "host `{}` is a {what} data node and already runs the cluster's {vote}: role {role} adds no vote, and losing `{}` takes a data node together with the vote its replica needs to be promoted",
                    h.name, h.name
                ),
                format!("remove role {role} from `{}` and give it to a machine that is not a {what} data node", h.name),
            );
        }
    }
}

/// HA009: a cluster whose endpoint has no LB host to live on: a PostgreSQL cluster always
/// (Harbor takes one database address), a Redis cluster for a Harbor without a Sentinel
/// client (before 2.1).
fn ha009(site: &Site, ctx: &mut Ctx) {
    let s = sp(site.index);
    let v = site.harbor.version;
    if let Some(c) = site.pg_cluster() {
        if c.endpoint.lbs.is_empty() {
            ctx.emit(
                RuleCode::HA009,
                format!("{s}.hosts"),
                format!(
                    "site `{}`: Harbor {v} takes one database address, and the PostgreSQL cluster's endpoint (HAProxy to the primary) runs on the LB hosts, but the site has none",
                    site.name
                ),
                "give a host the role lb (two, with load_balancer.vip, for no single point), or use one postgres host",
            );
        }
    }
    if let Some(c) = site.redis_cluster() {
        if c.proxy.as_ref().is_some_and(|p| p.lbs.is_empty()) {
            ctx.emit(
                RuleCode::HA009,
                format!("{s}.hosts"),
                format!(
                    "site `{}`: Harbor {v} has no Sentinel client (added in 2.1): it reaches the Redis master through a proxy on the LB hosts, but the site has none",
                    site.name
                ),
                "give a host the role lb, upgrade Harbor to 2.1 or later (Sentinel), or use one redis host",
            );
        }
    }
}
