//! The steps of a change, derived from what differs on each host, in the order that keeps
//! Harbor serving: backends admit new nodes first, new nodes are healthy before any load
//! balancer sends them traffic, existing nodes change one at a time while drained, load
//! balancers reload last (after `nginx -t`), retired nodes stop only after the load
//! balancers let go of them, and backends forget them after that.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::rules::PgUpgrade;
use super::snapshot::{families, file_changes, Family, FileChange, HostInfo, Snapshot};
use super::{Procedure, VersionChange};
use crate::model::enums::Role;
use crate::model::resolved::Site;

/// What a step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A Harbor version hop (an `upgrade/` script).
    Upgrade,
    /// A PostgreSQL major upgrade.
    PostgresUpgrade,
    /// A data or quorum host changes (NFS, PostgreSQL, Redis, …) before the nodes that need it.
    Backend,
    /// A new Harbor node is installed (before any load balancer sends it traffic).
    NodeAdd,
    /// An existing Harbor node's configuration changes: drained, reinstalled, undrained.
    NodeRolling,
    /// The Harbor nodes' configuration changes in a way they must agree on: all stop.
    NodeRestartAll,
    /// A host changes without restarting Harbor (firewall, agents, host settings).
    Host,
    /// A load balancer changes: `nginx -t`, then a hitless reload.
    Lb,
    /// A Harbor node leaves: the load balancers let go of it, its requests finish, it stops.
    NodeRemove,
    /// A backend forgets the retired nodes.
    BackendRevoke,
    /// A host leaves the topology.
    HostRemove,
    /// Replication policies change.
    Replication,
    /// Monitoring configuration changes.
    Monitoring,
    /// The whole site is checked.
    Verify,
}

impl Kind {
    /// As JSON writes it, e.g. `node-add`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Upgrade => "upgrade",
            Kind::PostgresUpgrade => "postgres-upgrade",
            Kind::Backend => "backend",
            Kind::NodeAdd => "node-add",
            Kind::NodeRolling => "node-rolling",
            Kind::NodeRestartAll => "node-restart-all",
            Kind::Host => "host",
            Kind::Lb => "lb",
            Kind::NodeRemove => "node-remove",
            Kind::BackendRevoke => "backend-revoke",
            Kind::HostRemove => "host-remove",
            Kind::Replication => "replication",
            Kind::Monitoring => "monitoring",
            Kind::Verify => "verify",
        }
    }
}

/// One step of a change.
#[derive(Debug, Clone)]
pub struct Step {
    /// 1-based position.
    pub id: usize,
    /// What it does.
    pub kind: Kind,
    /// The site.
    pub site: String,
    /// The hosts it touches.
    pub hosts: Vec<String>,
    /// One line.
    pub title: String,
    /// The command(s) that perform it.
    pub run: String,
    /// The bundle files that change (with stand-in secrets).
    pub files: Vec<FileChange>,
    /// Whether Harbor serves clients during the step.
    pub serving: bool,
    /// What shows that it worked.
    pub verify: String,
    /// What changes on the hosts, in the order the host's install script applies it:
    /// `postgres`, `nfs`, `redis`, `firewall`, `harbor`, `lb`, `monitoring`, `host`.
    pub changes: Vec<String>,
}

#[allow(clippy::too_many_arguments, reason = "the fields of a step, in order")]
fn step(
    kind: Kind,
    site: &str,
    hosts: Vec<String>,
    title: String,
    run: String,
    files: Vec<FileChange>,
    serving: bool,
    verify: String,
) -> Step {
    Step { id: 0, kind, site: site.to_string(), hosts, title, run, files, serving, verify, changes: Vec::new() }
}

/// The steps of one upgrade procedure: its PostgreSQL upgrade (when it does one), then the hop.
pub(super) fn procedure_steps(p: &Procedure, running: &Snapshot, after: &Snapshot, out: &mut Vec<Step>) {
    let site = super::site_of(&p.after, &p.site);
    let nodes: Vec<String> = site.harbor_nodes().map(|h| h.name.to_string()).collect();
    let changed = |hosts: &[String]| -> Vec<FileChange> {
        hosts.iter().flat_map(|h| file_changes(&running.host_files(h), &after.host_files(h))).collect()
    };
    if let Some(pg) = &p.postgres {
        let host = pg.host.clone().unwrap_or_default();
        out.push(step(
            Kind::PostgresUpgrade,
            &p.site,
            vec![host.clone()],
            format!(
                "PostgreSQL {} → {} on {host}: dump, stop {}, install {}, restore (Harbor is stopped)",
                pg.from.postgres_text(),
                pg.to.postgres_text(),
                pg.from.postgres_text(),
                pg.to.postgres_text()
            ),
            format!("{} (its `postgres` step, after it stops every Harbor node)", p.script),
            changed(std::slice::from_ref(&host)),
            false,
            format!(
                "`SHOW server_version_num` on {host} reports {} or later, and the restored database has every table",
                pg.to.major * 10000
            ),
        ));
        if let Some(st) = out.last_mut() {
            st.changes = vec!["postgres".to_string()];
        }
    }
    let own_db = matches!(site.database, crate::model::resolved::Database::Internal) && nodes.len() > 1;
    if let Some(h) = &p.hop {
        let how = match h.migrator {
            super::releases::Migrator::MigrateMode => format!("`harbor_core -mode=migrate` once, on {}", nodes[0]),
            super::releases::Migrator::StartAlone => format!("{} started alone migrates", nodes[0]),
        };
        let schema = if h.migrates() {
            format!("schema {} → {}", h.schema_from, h.schema_to)
        } else {
            format!("schema stays {}", h.schema_to)
        };
        let (title, run) = if own_db {
            (
                format!(
                    "Harbor {} → {} ({schema}), each node on its own (it has its own database) while the other serves: read-only, backup, stop, migrate, start, read-write",
                    h.from, h.to
                ),
                nodes.iter().map(|n| format!("{} --node {n}", p.script)).collect::<Vec<_>>().join(" && "),
            )
        } else {
            (
                format!(
                    "Harbor {} → {} ({schema}): read-only, backup, stop every node, {how}, start the nodes one by one, read-write",
                    h.from, h.to
                ),
                p.script.clone(),
            )
        };
        out.push(step(
            Kind::Upgrade,
            &p.site,
            nodes.clone(),
            title,
            run,
            changed(&nodes),
            own_db,
            format!(
                "every node reports Harbor {} (`{}systeminfo`), schema_migrations is {} with dirty = false, read-only is off",
                h.to,
                api_base(h.to),
                h.schema_to
            ),
        ));
        if let Some(st) = out.last_mut() {
            st.changes = vec!["harbor".to_string()];
        }
    }
}

/// `/api/` or `/api/v2.0/`.
fn api_base(v: crate::model::version::Version) -> &'static str {
    if v.major >= 2 {
        "/api/v2.0/"
    } else {
        "/api/"
    }
}

/// The step for a PostgreSQL server the bundle does not install: the operator upgrades it
/// before the first hop (Harbor keeps running on the newer server); the hop scripts check it.
pub(super) fn external_postgres_step(change: &VersionChange, pg: &PgUpgrade, site: &Site, out: &mut Vec<Step>) {
    let host = match &site.database {
        crate::model::resolved::Database::External(d) => d.host.to_string(),
        crate::model::resolved::Database::Internal => String::new(),
    };
    let before = change.hops.first().map_or(String::new(), |h| format!(", before the hop to Harbor {}", h.to));
    let at = out.iter().position(|s| s.site == change.site && s.kind == Kind::Upgrade).unwrap_or(out.len());
    out.insert(
        at,
        step(
            Kind::PostgresUpgrade,
            &change.site,
            Vec::new(),
            format!(
                "PostgreSQL {} → {} on the external server {host}{before}: it is not installed by this bundle; upgrade it with its own procedure",
                pg.from.postgres_text(),
                pg.to.postgres_text()
            ),
            "by hand (pg_upgrade, or pg_dump and pg_restore into the new server)".to_string(),
            Vec::new(),
            false,
            format!("`SHOW server_version_num` reports {} or later (each hop script checks it first)", pg.to.major * 10000),
        ),
    );
}

/// How a host changes between two snapshots.
enum HostChange {
    Added(HostInfo),
    Removed(HostInfo),
    Changed(HostInfo, BTreeSet<Family>),
    /// Only comments differ (e.g. the release named in a header).
    Comments(HostInfo),
}

/// The steps of one topology phase (running → target).
pub(super) fn phase_steps(
    running: &Snapshot,
    target: &Snapshot,
    removal: bool,
    coordinated: &[(String, String)],
    out: &mut Vec<Step>,
) {
    let names: BTreeSet<&String> = running.hosts.keys().chain(target.hosts.keys()).collect();
    let mut changes: Vec<HostChange> = Vec::new();
    for n in names {
        match (running.hosts.get(n), target.hosts.get(n)) {
            (None, Some(i)) => changes.push(HostChange::Added(i.clone())),
            (Some(i), None) => changes.push(HostChange::Removed(i.clone())),
            (Some(_), Some(i)) => match families(running, target, n) {
                (f, _) if !f.is_empty() => changes.push(HostChange::Changed(i.clone(), f)),
                (_, true) => changes.push(HostChange::Comments(i.clone())),
                _ => {}
            },
            (None, None) => {}
        }
    }
    changes.sort_by_key(|c| {
        let i = match c {
            HostChange::Added(i) | HostChange::Removed(i) | HostChange::Changed(i, _) | HostChange::Comments(i) => i,
        };
        (i.site.clone(), i.order)
    });
    let files = |h: &str| file_changes(&running.host_files(h), &target.host_files(h));
    let mut by_kind: BTreeMap<Kind, Vec<Step>> = BTreeMap::new();
    let mut restart_all: BTreeMap<String, Vec<(HostInfo, Vec<FileChange>)>> = BTreeMap::new();
    for c in changes {
        match c {
            HostChange::Added(i) if i.has(Role::Harbor) => {
                let f = files(&i.name);
                let mut st = node_add(&i, f);
                st.changes = vec!["harbor".to_string()];
                by_kind.entry(Kind::NodeAdd).or_default().push(st);
            }
            HostChange::Added(i) if i.has(Role::Lb) => {
                let f = files(&i.name);
                by_kind.entry(Kind::Lb).or_default().push(lb(&i, f, "a new load balancer"));
            }
            HostChange::Added(i) => {
                let f = files(&i.name);
                let kind = if removal { Kind::BackendRevoke } else { Kind::Backend };
                by_kind.entry(kind).or_default().push(host_step(kind, &i, f, "install the new host".to_string()));
            }
            HostChange::Removed(i) if i.has(Role::Harbor) => {
                by_kind.entry(Kind::NodeRemove).or_default().push(node_remove(&i, files(&i.name)));
            }
            HostChange::Removed(i) => {
                by_kind.entry(Kind::HostRemove).or_default().push(host_remove(&i, files(&i.name)));
            }
            HostChange::Comments(i) => {
                let f = files(&i.name);
                let st = host_step(
                    Kind::Host,
                    &i,
                    f,
                    "only comments change (nothing restarts); deploy when convenient".to_string(),
                );
                by_kind.entry(Kind::Host).or_default().push(st);
            }
            HostChange::Changed(i, fam) => {
                let f = files(&i.name);
                let what = fam.iter().map(|x| x.label()).collect::<Vec<_>>().join(", ");
                let names: Vec<String> = fam.iter().map(|x| x.as_str().to_string()).collect();
                let (kind, mut st) = if i.has(Role::Harbor) && fam.contains(&Family::Harbor) {
                    if coordinated.iter().any(|(s, _)| *s == i.site) {
                        restart_all.entry(i.site.clone()).or_default().push((i, f));
                        continue;
                    }
                    (Kind::NodeRolling, node_rolling(&i, f, &what))
                } else if i.has(Role::Lb) {
                    let what = lb_what(&f, &what);
                    (Kind::Lb, lb(&i, f, &what))
                } else if i.backend() {
                    let kind = if removal { Kind::BackendRevoke } else { Kind::Backend };
                    let why = if removal { "without the retired nodes" } else { "before the nodes that need it" };
                    (kind, host_step(kind, &i, f, format!("{what}, {why}")))
                } else {
                    (Kind::Host, host_step(Kind::Host, &i, f, what))
                };
                st.changes = names;
                by_kind.entry(kind).or_default().push(st);
            }
        }
    }
    for (site, nodes) in restart_all {
        let why = coordinated.iter().find(|(s, _)| *s == site).map_or("", |(_, w)| w.as_str());
        let mut st = node_restart_all(&site, nodes, why);
        st.changes = vec!["harbor".to_string()];
        by_kind.entry(Kind::NodeRestartAll).or_default().push(st);
    }
    let order = [
        Kind::Backend,
        Kind::NodeAdd,
        Kind::NodeRestartAll,
        Kind::NodeRolling,
        Kind::Host,
        Kind::Lb,
        Kind::NodeRemove,
        Kind::BackendRevoke,
        Kind::HostRemove,
    ];
    for k in order {
        out.extend(by_kind.remove(&k).unwrap_or_default());
    }
}

fn node_add(i: &HostInfo, files: Vec<FileChange>) -> Step {
    step(
        Kind::NodeAdd,
        &i.site,
        vec![i.name.clone()],
        format!(
            "{}: install the new Harbor node ({}); no load balancer sends it traffic before their step",
            i.name, i.endpoint
        ),
        format!("./deploy.sh {}", i.name),
        files,
        true,
        format!("from each load balancer host: `curl -fsS {}` answers", i.ping),
    )
}

fn node_rolling(i: &HostInfo, files: Vec<FileChange>, what: &str) -> Step {
    step(
        Kind::NodeRolling,
        &i.site,
        vec![i.name.clone()],
        format!("{}: {what}: drained on every load balancer, reinstalled and restarted, checked, undrained (the other nodes serve)", i.name),
        format!("./change/nodes.sh drain {n} && ./deploy.sh {n} && ./change/nodes.sh undrain {n}", n = i.name),
        files,
        true,
        format!("`./change/nodes.sh undrain {}` checks the node's health before it returns to the upstream", i.name),
    )
}

fn node_restart_all(site: &str, nodes: Vec<(HostInfo, Vec<FileChange>)>, why: &str) -> Step {
    let names: Vec<String> = nodes.iter().map(|(i, _)| i.name.clone()).collect();
    step(
        Kind::NodeRestartAll,
        site,
        names.clone(),
        format!("{}: the nodes must agree on the new {why}: stop every node, then reinstall them one by one (the first alone)", names.join(", ")),
        format!("./change/nodes.sh stop-all && ./deploy.sh {}", names.join(" ")),
        nodes.into_iter().flat_map(|(_, f)| f).collect(),
        false,
        "`./verify.sh`: every node answers and signs tokens with the site's key".to_string(),
    )
}

fn lb_what(files: &[FileChange], families: &str) -> String {
    let cert = files.iter().any(|f| {
        let (o, n) = (f.old.as_deref().unwrap_or(""), f.new.as_deref().unwrap_or(""));
        let certs =
            |t: &str| t.lines().filter(|l| l.contains("ssl_certificate")).map(str::to_string).collect::<Vec<_>>();
        certs(o) != certs(n)
    });
    if cert {
        format!("{families} (TLS certificate rotation: the new certificate on this LB, nginx -t, reload)")
    } else {
        families.to_string()
    }
}

fn lb(i: &HostInfo, files: Vec<FileChange>, what: &str) -> Step {
    step(
        Kind::Lb,
        &i.site,
        vec![i.name.clone()],
        format!("{}: {what}; install.sh runs nginx -t before a hitless reload (one load balancer at a time)", i.name),
        format!("./deploy.sh {}", i.name),
        files,
        true,
        format!("on {}: `nginx -t` passes and `curl -fsS http://127.0.0.1/harbor-ha-health` (with the site's Host header) answers", i.name),
    )
}

fn node_remove(i: &HostInfo, files: Vec<FileChange>) -> Step {
    step(
        Kind::NodeRemove,
        &i.site,
        vec![i.name.clone()],
        format!("{}: retire the Harbor node: the load balancers no longer send it requests (previous step); wait for its in-flight requests, then stop Harbor there", i.name),
        format!("./change/nodes.sh retire {}", i.name),
        files,
        true,
        format!("no load balancer still runs an nginx worker of the old configuration, and `docker ps` on {} lists no Harbor container", i.name),
    )
}

fn host_remove(i: &HostInfo, files: Vec<FileChange>) -> Step {
    step(
        Kind::HostRemove,
        &i.site,
        vec![i.name.clone()],
        format!("{}: no longer in the topology; its services keep running until you stop them (harbor-ha uninstalls nothing)", i.name),
        "by hand, once nothing uses the host".to_string(),
        files,
        true,
        "the previous steps moved every client away from it".to_string(),
    )
}

fn host_step(kind: Kind, i: &HostInfo, files: Vec<FileChange>, what: String) -> Step {
    let verify = if i.has(Role::Postgres) {
        format!(
            "`./deploy.sh {}` ends with PostgreSQL accepting connections; a second run prints `nothing to change`",
            i.name
        )
    } else {
        format!("`./deploy.sh {}` succeeds; a second run prints `nothing to change`", i.name)
    };
    step(
        kind,
        &i.site,
        vec![i.name.clone()],
        format!("{}: {what}", i.name),
        format!("./deploy.sh {}", i.name),
        files,
        true,
        verify,
    )
}

/// The bundle-root files: replication and monitoring steps, then the final check.
pub(super) fn root_steps(old: &BTreeMap<String, (String, String)>, new: &Snapshot, out: &mut Vec<Step>) {
    let o: BTreeMap<&str, &(String, String)> = old.iter().map(|(p, f)| (p.as_str(), f)).collect();
    let changes = file_changes(&o, &new.root_files());
    let (mut repl, mut mon, mut rest) = (Vec::new(), Vec::new(), Vec::new());
    for c in changes {
        if c.path.starts_with("replication/") {
            repl.push(c);
        } else if c.path.starts_with("monitoring/") {
            mon.push(c);
        } else {
            rest.push(c);
        }
    }
    let site = out.last().map(|s| s.site.clone()).unwrap_or_default();
    if !repl.is_empty() {
        let dirs: BTreeSet<String> = repl
            .iter()
            .filter_map(|c| {
                c.path.strip_prefix("replication/").and_then(|r| r.split_once('/')).map(|(d, _)| d.to_string())
            })
            .collect();
        let run = dirs.iter().map(|d| format!("./replication/{d}/apply.sh")).collect::<Vec<_>>().join(" && ");
        out.push(step(
            Kind::Replication,
            &site,
            Vec::new(),
            "replication policies change: apply them on the sites that own them".to_string(),
            if run.is_empty() { "see replication/README.md".to_string() } else { run },
            repl,
            true,
            "each apply script reports every policy as created or unchanged".to_string(),
        ));
    }
    if !mon.is_empty() {
        out.push(step(
            Kind::Monitoring,
            &site,
            Vec::new(),
            "monitoring configuration changes: copy monitoring/ to the Prometheus server and reload it".to_string(),
            "copy monitoring/ (see README.md, Monitoring), then `curl -X POST http://<prometheus>:9090/-/reload`"
                .to_string(),
            mon,
            true,
            "every target of the site is up in Prometheus".to_string(),
        ));
    }
    if !out.is_empty() {
        out.push(step(
            Kind::Verify,
            &site,
            Vec::new(),
            "check the whole deployment".to_string(),
            "./verify.sh".to_string(),
            rest,
            true,
            "verify.sh passes: every node and load balancer answers, the nodes agree on the token key".to_string(),
        ));
    }
}
