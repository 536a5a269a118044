//! BK001–BK003: backups of a whole site (`backup: {target, keep, tool, password}`): the
//! section itself, a target on the storage it copies, and a highly available site without one.

use std::net::IpAddr;

use super::sp;
use crate::diag::RuleCode;
use crate::model::enums::{BackupTool, Role, SiteMode};
use crate::model::ids::{BackupTarget, HostName, TargetKind};
use crate::model::resolved::{Backup, BackupStorage, Database, Host, Site, Storage};
use crate::model::spec::SiteSpec;
use crate::validate::{values, Ctx};

/// What `keep` may be.
const KEEP_RANGE: std::ops::RangeInclusive<u32> = 1..=1000;

/// The site's backups, when its `backup` section is usable (BK003 otherwise).
pub(in crate::validate) fn resolve(
    ctx: &mut Ctx,
    sp: &str,
    s: &SiteSpec,
    hosts: &[Host],
    storage: &Storage,
    database: &Database,
) -> Option<Backup> {
    let b = s.backup.as_ref()?;
    let p = format!("{sp}.backup");
    let mut ok = true;
    let mut refuse = |ctx: &mut Ctx, path: String, message: String, hint: &str| {
        ok = false;
        ctx.emit(RuleCode::BK003, path, message, hint);
    };
    let target = BackupTarget::parse(b.target.as_str());
    if target.is_err() {
        refuse(
            ctx,
            format!("{p}.target"),
            format!("site `{}`: `backup.target` `{}` is not an absolute path or a supported URL", s.name, b.target),
            "write an absolute path on the backup host (/srv/harbor-backup), or sftp://user@host//path, rest:https://host/path, s3:https://host/bucket/prefix (restic), rsync://host/module/path or ssh://user@host/path (rsync); no password, query or `..` in it",
        );
    }
    let keep = b.keep.unwrap_or(7);
    if !KEEP_RANGE.contains(&keep) {
        refuse(
            ctx,
            format!("{p}.keep"),
            format!("site `{}`: `backup.keep` is {keep}; it must be 1 to 1000", s.name),
            "keep at least one backup, e.g. keep: 7 (a week of daily backups)",
        );
    }
    let implied = target.as_ref().ok().and_then(|t| implied_tool(t.kind()));
    let mismatch = matches!((b.tool, implied), (Some(t), Some(i)) if t != i);
    let tool = match (b.tool, implied) {
        (Some(t), Some(i)) if t != i => {
            refuse(
                ctx,
                format!("{p}.tool"),
                format!(
                    "site `{}`: `tool: {}` cannot write to `{}`, which is a {} target",
                    s.name,
                    t.as_str(),
                    b.target,
                    i.as_str()
                ),
                "remove `tool` (the target's scheme names it), or give a target of that tool",
            );
            i
        }
        (Some(t), _) | (None, Some(t)) => t,
        (None, None) => BackupTool::Restic,
    };
    match (tool, &b.password) {
        _ if mismatch => {}
        (BackupTool::Restic, None) => refuse(
            ctx,
            p.clone(),
            format!("site `{}`: a restic repository needs a password, and `backup.password` is not given", s.name),
            "add `password: {env: HARBOR_BACKUP_PASSWORD}` (or {file: PATH}); keep that password outside the site: it decrypts every backup, and it is never generated",
        ),
        (BackupTool::Rsync, Some(_)) => refuse(
            ctx,
            format!("{p}.password"),
            format!("site `{}`: `backup.password` is given but rsync writes plain files and uses no password", s.name),
            "remove `password`, or use restic (an encrypted repository) with `tool: restic`",
        ),
        _ => {}
    }
    let mode = s.mode.unwrap_or(SiteMode::SharedStorage);
    if mode == SiteMode::Replication || matches!(database, Database::Internal) {
        refuse(
            ctx,
            p.clone(),
            format!(
                "site `{}`: backup.sh backs up an external PostgreSQL with the shared storage; this site keeps Harbor's internal database on each node",
                s.name
            ),
            "remove `backup` and use Harbor's own contrib/backup-restore scripts on each node, or move the site to an external database (database section) and shared storage",
        );
    }
    let (host, storage) = backup_host(hosts, storage)?;
    let password = b.password.as_ref().map(values::secret);
    let target = target.ok()?;
    ok.then_some(Backup { target, tool, keep, password, host, storage })
}

/// The tool a URL target names (`None` for a path: either works).
fn implied_tool(kind: TargetKind) -> Option<BackupTool> {
    match kind {
        TargetKind::Path => None,
        TargetKind::Sftp | TargetKind::Rest | TargetKind::S3 => Some(BackupTool::Restic),
        TargetKind::RsyncDaemon | TargetKind::Ssh => Some(BackupTool::Rsync),
    }
}

/// The host the scripts run on, and the storage they copy: the NFS server the bundle
/// installs, with its export; otherwise the first Harbor node, with its data volume (or
/// object storage). `None` without any Harbor node (HA004 reports it).
fn backup_host(hosts: &[Host], storage: &Storage) -> Option<(HostName, BackupStorage)> {
    if let Storage::Nfs(n) = storage {
        if let Some(server) = &n.server_host {
            return Some((server.clone(), BackupStorage::Directory(n.export.clone())));
        }
    }
    let first = hosts.iter().find(|h| h.has(Role::Harbor))?;
    let copied = match storage {
        Storage::Local | Storage::Nfs(_) => BackupStorage::Directory(first.data_volume.clone()),
        Storage::S3(_) | Storage::Swift(_) | Storage::Azure(_) | Storage::Gcs(_) | Storage::Oss(_) => {
            BackupStorage::Object
        }
    };
    Some((first.name.clone(), copied))
}

pub(super) fn check(site: &Site, raw: &SiteSpec, ctx: &mut Ctx) {
    let nodes = site.harbor_nodes().count();
    if raw.backup.is_none() && site.mode == SiteMode::SharedStorage && nodes >= 2 {
        ctx.emit(
            RuleCode::BK002,
            sp(site.index),
            format!(
                "site `{}` has {nodes} Harbor nodes and no `backup` section: nothing copies its database, storage and keys together",
                site.name
            ),
            "add `backup: {target: /srv/harbor-backup, keep: 7, password: {env: HARBOR_BACKUP_PASSWORD}}` (a path on the backup host, on another disk than the storage; or an sftp://, rest: or s3: restic repository)",
        );
    }
    if let Some(b) = &site.backup {
        if let Some(why) = on_own_storage(site, b) {
            ctx.emit(
                RuleCode::BK001,
                format!("{}.backup.target", sp(site.index)),
                format!("site `{}`: backup target `{}` {why}", site.name, b.target),
                "put the backups on another machine or disk: a path outside the storage (another disk mounted there), or a remote repository such as sftp://backup@backup-host//srv/restic/harbor",
            );
        }
    }
}

/// Why `b`'s target lies on the storage it backs up, if it does.
fn on_own_storage(site: &Site, b: &Backup) -> Option<String> {
    let t = &b.target;
    match t.kind() {
        TargetKind::Path => {
            if let BackupStorage::Directory(d) = &b.storage {
                if overlaps(t.path(), d.as_str()) {
                    return Some(format!("overlaps the directory it copies ({d} on `{}`)", b.host));
                }
            }
            let on_host = site.harbor_nodes().filter(|h| h.name == b.host);
            if let Some(h) = on_host.into_iter().find(|h| overlaps(t.path(), h.data_volume.as_str())) {
                return Some(format!("is on the data volume of Harbor node `{}` ({})", h.name, h.data_volume));
            }
            None
        }
        TargetKind::S3 => match &site.storage {
            Storage::S3(s3) => {
                let same_bucket = s3.bucket.as_ref().map(|x| x.as_str()) == t.bucket();
                let endpoint = s3.regionendpoint.as_ref().and_then(|e| url::Url::parse(e.as_str()).ok());
                let same_store = endpoint.as_ref().is_none_or(|e| e.host_str() == t.host());
                (same_bucket && same_store).then(|| "is in the bucket that holds the registry's storage".to_string())
            }
            _ => None,
        },
        TargetKind::Sftp | TargetKind::Rest | TargetKind::RsyncDaemon | TargetKind::Ssh => match &site.storage {
            Storage::Nfs(n) => {
                let same_server = t.host().and_then(|h| h.parse::<IpAddr>().ok()) == Some(n.server);
                (same_server && overlaps(t.path(), n.export.as_str()))
                    .then(|| format!("overlaps the NFS export {} on its server {}", n.export, n.server))
            }
            _ => None,
        },
    }
}

/// Whether one of two absolute paths contains the other.
fn overlaps(a: &str, b: &str) -> bool {
    let inside = |x: &str, y: &str| {
        let y = y.trim_end_matches('/');
        y.is_empty() || x == y || x.strip_prefix(y).is_some_and(|r| r.starts_with('/'))
    };
    inside(a, b) || inside(b, a)
}

#[cfg(test)]
mod tests {
    use super::overlaps;

    #[test]
    fn overlapping_paths() {
        assert!(overlaps("/srv/nfs/harbor/backup", "/srv/nfs/harbor"));
        assert!(overlaps("/srv", "/srv/nfs/harbor"));
        assert!(overlaps("/data/", "/data"));
        assert!(!overlaps("/srv/nfs/harbor-backup", "/srv/nfs/harbor"));
        assert!(!overlaps("/backup", "/data"));
    }
}
