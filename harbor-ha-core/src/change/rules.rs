//! CH001–CH004: the changes to a running site that the planner refuses. They compare two
//! topologies (the running one and the wanted one), so they run in the change planner, not
//! in validation: a downgrade (CH001), a version change with no safe chain of hops
//! (CH002), a change that drops or moves the site's data without `--allow-destructive`
//! (CH003), and a PostgreSQL version a hop needs when no PostgreSQL upgrade can be ordered
//! (CH004).

use super::releases::{self, ChainError, Hop, HopRefusal};
use crate::diag::{Diagnostic, RuleCode, Severity};
use crate::model::resolved::{Database, Site, Storage, ValidTopology};
use crate::model::version::Version;

/// How the PostgreSQL major version changes, and who does it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgUpgrade {
    /// The running major.
    pub from: Version,
    /// The wanted major.
    pub to: Version,
    /// The host the bundle installs PostgreSQL on (the upgrade script does it there), or
    /// `None` for an external server that the operator upgrades.
    pub host: Option<String>,
    /// Index of the hop (in the site's chain) before whose migration it happens; `None`
    /// when no hop needs it (a PostgreSQL upgrade of its own, or before the first hop).
    pub before_hop: Option<usize>,
}

/// A site whose Harbor or PostgreSQL version changes.
#[derive(Debug, Clone)]
pub struct VersionChange {
    /// The site's name.
    pub site: String,
    /// The site's index in the wanted topology.
    pub index: usize,
    /// The hops, oldest first (empty when only PostgreSQL changes).
    pub hops: Vec<Hop>,
    /// The PostgreSQL upgrade, when there is one.
    pub postgres: Option<PgUpgrade>,
}

/// `sites[i]`.
fn sp(i: usize) -> String {
    format!("sites[{i}]")
}

/// Every refusal (and, with `--allow-destructive`, the destructive changes as warnings), and
/// the version changes of the sites the two topologies share.
pub(super) fn check(
    old: &ValidTopology,
    new: &ValidTopology,
    allow_destructive: bool,
) -> (Vec<VersionChange>, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let mut changes = Vec::new();
    let destructive = |path: String, message: String, hint: &str| {
        let d = Diagnostic::new(RuleCode::CH003, path, message, hint.to_string());
        if allow_destructive {
            d.with_severity(Severity::Warning)
        } else {
            d
        }
    };
    for o in &old.sites {
        let Some(n) = new.sites.iter().find(|n| n.name == o.name) else {
            let hint = if new.sites.len() == old.sites.len() {
                "keep the running site's name (a renamed site is a new, empty Harbor); or pass --allow-destructive to plan it anyway"
            } else {
                "keep the site in the topology while it runs; or pass --allow-destructive to plan its removal"
            };
            diags.push(destructive(
                "sites".to_string(),
                format!(
                    "site `{}` runs but is not in the new topology: its Harbor nodes would be stopped and its data left behind",
                    o.name
                ),
                hint,
            ));
            continue;
        };
        let p = sp(n.index);
        if o.mode != n.mode {
            diags.push(destructive(
                format!("{p}.mode"),
                format!(
                    "site `{}` changes mode from {} to {}: the nodes' data does not move between one shared store and two self-contained nodes",
                    n.name,
                    o.mode.as_str(),
                    n.mode.as_str()
                ),
                "build the new site beside the running one and replicate into it; or pass --allow-destructive",
            ));
        }
        if storage_kind(&o.storage) != storage_kind(&n.storage) {
            diags.push(destructive(
                format!("{p}.storage"),
                format!(
                    "site `{}` changes its storage backend from {} to {}: Harbor would start on an empty store and every image would be missing",
                    n.name,
                    storage_kind(&o.storage),
                    storage_kind(&n.storage)
                ),
                "copy the registry's data to the new backend first (e.g. rclone, then a final sync in read-only mode); then pass --allow-destructive",
            ));
        }
        if matches!(o.database, Database::Internal) != matches!(n.database, Database::Internal) {
            diags.push(destructive(
                format!("{p}.database"),
                format!(
                    "site `{}` moves its database {}: Harbor would start on an empty database",
                    n.name,
                    if matches!(n.database, Database::Internal) {
                        "from the external server into the nodes"
                    } else {
                        "from the nodes to an external server"
                    }
                ),
                "dump and restore the database by hand first; then pass --allow-destructive",
            ));
        }
        if let Some(c) = version_change(o, n, &mut diags) {
            changes.push(c);
        }
    }
    (changes, diags)
}

/// The storage backend's name.
pub(super) fn storage_kind(s: &Storage) -> &'static str {
    match s {
        Storage::Local => "local disk",
        Storage::Nfs(_) => "nfs",
        Storage::S3(_) => "s3",
        Storage::Swift(_) => "swift",
        Storage::Azure(_) => "azure",
        Storage::Gcs(_) => "gcs",
        Storage::Oss(_) => "oss",
    }
}

/// The version change of one site (CH001, CH002, CH004), if any.
fn version_change(o: &Site, n: &Site, diags: &mut Vec<Diagnostic>) -> Option<VersionChange> {
    let p = format!("{}.harbor.version", sp(n.index));
    let (from, to) = (o.harbor.version, n.harbor.version);
    let mut hops = Vec::new();
    if from != to {
        match releases::chain(from, to) {
            Ok(c) => hops = c,
            Err(ChainError::Downgrade) => {
                diags.push(Diagnostic::new(
                    RuleCode::CH001,
                    p,
                    format!("site `{}`: Harbor {from} runs, and {to} is older: Harbor has no downgrade (its database schema only moves forward)", n.name),
                    format!("keep harbor.version at {from} or later; to go back, restore the backup taken before the upgrade (the hop script's --rollback)"),
                ));
                return None;
            }
            Err(ChainError::Unknown(v)) => {
                let latest = releases::line(v).map(|l| format!("{}.{}.{}", l.minor.0, l.minor.1, l.latest));
                diags.push(Diagnostic::new(
                    RuleCode::CH002,
                    p,
                    format!(
                        "site `{}`: Harbor {v} is not a release whose database schema harbor-ha knows{}, so the hops from {from} to {to} cannot be checked",
                        n.name,
                        if v.patch.is_none() { " (the patch is missing)" } else { "" }
                    ),
                    match latest {
                        Some(l) if v.patch.is_some() => format!("write a release up to {l}, or update harbor-ha"),
                        _ => "write the exact release of both topologies, e.g. \"2.8.6\"".to_string(),
                    },
                ));
                return None;
            }
            Err(ChainError::Blocked { at, why }) => {
                diags.push(Diagnostic::new(
                    RuleCode::CH002,
                    p,
                    blocked_message(n, from, to, at, &why),
                    blocked_hint(to, &why),
                ));
                return None;
            }
        }
    }
    let postgres = postgres_change(o, n, &hops, diags)?;
    (!hops.is_empty() || postgres.is_some()).then(|| VersionChange {
        site: n.name.to_string(),
        index: n.index,
        hops,
        postgres,
    })
}

fn blocked_message(n: &Site, from: Version, to: Version, at: Version, why: &HopRefusal) -> String {
    let reason = match why {
        HopRefusal::MissingMigration { migration } => format!(
            "Harbor {to} does not ship migration {migration:04}, which {at} has already applied, so its core stops with \"no migration found for version {migration}\""
        ),
        HopRefusal::NotAccepted { oldest } => {
            format!("Harbor {to}'s upgrade guide only accepts {}.{} and later", oldest.0, oldest.1)
        }
        HopRefusal::Unknown(v) => format!("Harbor {v} is not a release harbor-ha knows"),
        HopRefusal::NotNewer => format!("{to} is not newer than {at}"),
    };
    format!("site `{}`: no safe chain of hops from Harbor {from} to {to}: a required hop is missing ({reason})", n.name)
}

fn blocked_hint(to: Version, why: &HopRefusal) -> String {
    match why {
        HopRefusal::MissingMigration { .. } => {
            format!("target a later patch of {}.{} (it ships the migration)", to.major, to.minor)
        }
        _ => "target a release the running one can reach".to_string(),
    }
}

/// CH004 and the PostgreSQL upgrade the hops need (or the topology asks for). `None` after a
/// refusal; `Some(None)` when PostgreSQL stays.
#[allow(clippy::option_option, reason = "refused, no upgrade, or an upgrade")]
fn postgres_change(o: &Site, n: &Site, hops: &[Hop], diags: &mut Vec<Diagnostic>) -> Option<Option<PgUpgrade>> {
    let (Database::External(od), Database::External(nd)) = (&o.database, &n.database) else {
        return Some(None);
    };
    let (from, to) = (od.version, nd.version);
    let need =
        hops.iter().map(|h| (releases::min_postgres(h.to).0, h)).find(|(min, _)| from.minor_key() < min.minor_key());
    let path = format!("{}.database.version", sp(n.index));
    if to.minor_key() < from.minor_key() {
        diags.push(Diagnostic::new(
            RuleCode::CH004,
            path,
            format!(
                "site `{}`: PostgreSQL {} runs, and the new topology says {}: a PostgreSQL server cannot be downgraded in place",
                n.name,
                from.postgres_text(),
                to.postgres_text()
            ),
            format!("keep database.version at {} or later", from.postgres_text()),
        ));
        return None;
    }
    if from.minor_key() == to.minor_key() {
        if let Some((min, h)) = need {
            // DB002 refuses the new topology first; kept for a table and rule that disagree.
            diags.push(Diagnostic::new(
                RuleCode::CH004,
                path,
                format!(
                    "site `{}`: the hop to Harbor {} needs PostgreSQL {} or later, and PostgreSQL {} stays",
                    n.name,
                    h.to,
                    min.postgres_text(),
                    from.postgres_text()
                ),
                format!("set database.version to {} or later", min.postgres_text()),
            ));
            return None;
        }
        return Some(None);
    }
    let cluster = od.cluster.is_some() || nd.cluster.is_some();
    let moved = od.installed_on != nd.installed_on;
    if cluster || moved {
        let why = if cluster {
            "a replicated cluster's major upgrade (Patroni: a new cluster, or pg_upgrade on every member) is not a step harbor-ha can order"
        } else {
            "the server also moves to another host, and harbor-ha upgrades a server only in place"
        };
        let needed = need.map_or(String::new(), |(min, h)| {
            format!(" (the hop to Harbor {} needs {} or later)", h.to, min.postgres_text())
        });
        diags.push(Diagnostic::new(
            RuleCode::CH004,
            path,
            format!(
                "site `{}`: PostgreSQL {} → {}{needed}, but {why}",
                n.name,
                from.postgres_text(),
                to.postgres_text()
            ),
            "upgrade PostgreSQL by hand first and set database.version of the running topology to it; then plan the Harbor change",
        ));
        return None;
    }
    Some(Some(PgUpgrade {
        from,
        to,
        host: nd.installed_on.as_ref().map(ToString::to_string),
        before_hop: need.and_then(|(_, h)| hops.iter().position(|x| x == h)),
    }))
}

/// CH002 for a hop whose intermediate topology (the running site at that release) does not
/// validate: the planner cannot render its files.
pub(super) fn hop_unrenderable(site: &str, index: usize, to: Version, errors: &[Diagnostic]) -> Diagnostic {
    let first: Vec<String> = errors.iter().take(3).map(|d| format!("{}: {}", d.code, d.message)).collect();
    Diagnostic::new(
        RuleCode::CH002,
        format!("sites[{index}].harbor.version"),
        format!(
            "site `{site}`: the required hop to Harbor {to} cannot be rendered for the running topology ({})",
            first.join("; ")
        ),
        "change the running topology so that it is valid at that release too (e.g. drop a component the release lacks), plan that change first, then the upgrade",
    )
}
