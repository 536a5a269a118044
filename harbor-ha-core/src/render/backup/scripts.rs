//! `backup.sh` and `restore.sh` of a site: the templates `render/scripts/backup.sh` and
//! `restore.sh`, each with the site's values (every one quoted for the shell) and the part
//! they share, `render/scripts/backup-common.sh`.

use std::fmt::Write;

use crate::model::ids::TargetKind;
use crate::model::resolved::{Backup, BackupStorage, Database, Host, Site, Storage};
use crate::render::harbor::{dir, harbor_databases, ping_path};
use crate::render::os;
use crate::render::quote::sh;
use crate::render::template::{fill, fragment};

/// The generator named in each backup's manifest.
const GENERATOR: &str = concat!("harbor-ha ", env!("CARGO_PKG_VERSION"));

/// `backup/<site>/backup.sh`.
#[must_use]
pub fn backup_sh(site: &Site, b: &Backup) -> String {
    script(include_str!("../scripts/backup.sh"), site, b)
}

/// `backup/<site>/restore.sh`.
#[must_use]
pub fn restore_sh(site: &Site, b: &Backup) -> String {
    script(include_str!("../scripts/restore.sh"), site, b)
}

fn script(template: &str, site: &Site, b: &Backup) -> String {
    let common = fragment(include_str!("../scripts/backup-common.sh"));
    fill(template, &[("site", &values(site, b)), ("common", &common)], &[])
}

/// `name=value` lines.
fn assign(s: &mut String, name: &str, value: &str) {
    let _ = writeln!(s, "{name}={}", sh(value));
}

/// `name=(values…)`.
fn array<'a>(s: &mut String, name: &str, values: impl IntoIterator<Item = &'a str>) {
    let words: Vec<String> = values.into_iter().map(sh).collect();
    let _ = writeln!(s, "{name}=({})", words.join(" "));
}

/// The site's values, as the shared part and both scripts read them.
fn values(site: &Site, b: &Backup) -> String {
    let v = site.harbor.version;
    let mut s = String::from("# The site's values (from the topology).\n");
    assign(&mut s, "SITE", site.name.as_str());
    assign(&mut s, "HARBOR_VERSION", &v.to_string());
    assign(&mut s, "GENERATOR", GENERATOR);
    assign(&mut s, "API", if v.major == 1 { "/api" } else { "/api/v2.0" });
    assign(&mut s, "PING", ping_path(v));
    assign(&mut s, "HARBOR_DIR", &dir(site));
    assign(&mut s, "BACKUP_HOST", b.host.as_str());
    target(&mut s, site, b);
    assign(&mut s, "KEEP", &b.keep.to_string());
    storage(&mut s, site, b);
    if let Database::External(db) = &site.database {
        assign(&mut s, "DB_HOST", db.host.as_str());
        assign(&mut s, "DB_PORT", &db.port.to_string());
        assign(&mut s, "DB_USER", db.username.as_str());
        assign(&mut s, "DB_SSLMODE", db.ssl_mode.as_str());
    }
    let dbs = harbor_databases(site);
    array(&mut s, "DATABASES", dbs.iter().map(String::as_str));
    let _ =
        writeln!(s, "# The Harbor nodes, in install order: name, address, HTTP port, data volume, PostgreSQL client.");
    let nodes: Vec<&Host> = site.harbor_nodes().collect();
    array(&mut s, "NODE_NAMES", nodes.iter().map(|h| h.name.as_str()));
    let addrs: Vec<String> = nodes.iter().map(|h| h.address.to_string()).collect();
    array(&mut s, "NODE_ADDRS", addrs.iter().map(String::as_str));
    let ports: Vec<String> = nodes.iter().map(|h| h.http_port.to_string()).collect();
    array(&mut s, "NODE_PORTS", ports.iter().map(String::as_str));
    array(&mut s, "NODE_DVS", nodes.iter().map(|h| h.data_volume.as_str()));
    let bins: Vec<String> = match &site.database {
        Database::External(db) => nodes.iter().map(|h| os::postgres_client(h.os, db.version).2).collect(),
        Database::Internal => Vec::new(),
    };
    array(&mut s, "NODE_PG_BINS", bins.iter().map(String::as_str));
    s
}

/// TOOL, TARGET, TARGET_KIND, and for rsync the directory of the site's backups as rsync
/// writes it (RSYNC_BASE) and the ssh port of an ssh:// target.
fn target(s: &mut String, site: &Site, b: &Backup) {
    let t = &b.target;
    assign(s, "TOOL", b.tool.as_str());
    assign(s, "TARGET", t.as_str());
    let kind = match t.kind() {
        TargetKind::Path => "path",
        TargetKind::Sftp => "sftp",
        TargetKind::Rest => "rest",
        TargetKind::S3 => "s3",
        TargetKind::RsyncDaemon => "rsync",
        TargetKind::Ssh => "ssh",
    };
    assign(s, "TARGET_KIND", kind);
    let name = site.name.as_str();
    let base = match t.kind() {
        TargetKind::Path | TargetKind::RsyncDaemon => format!("{}/{name}", t.as_str().trim_end_matches('/')),
        TargetKind::Ssh => {
            let host = t.host().unwrap_or_default();
            let host = if host.contains(':') { format!("[{host}]") } else { host.to_string() };
            let user = t.user().map(|u| format!("{u}@")).unwrap_or_default();
            format!("{user}{host}:{}/{name}", t.path().trim_end_matches('/'))
        }
        TargetKind::Sftp | TargetKind::Rest | TargetKind::S3 => String::new(),
    };
    assign(s, "RSYNC_BASE", &base);
    let port = match t.kind() {
        TargetKind::Ssh => t.port().unwrap_or(22).to_string(),
        _ => String::new(),
    };
    assign(s, "RSYNC_SSH_PORT", &port);
}

/// STORAGE (directory or object), STORAGE_DIR, and the object store's driver and bucket.
fn storage(s: &mut String, site: &Site, b: &Backup) {
    let (kind, path) = match &b.storage {
        BackupStorage::Directory(d) => ("directory", d.as_str().trim_end_matches('/').to_string()),
        BackupStorage::Object => ("object", String::new()),
    };
    assign(s, "STORAGE", kind);
    assign(s, "STORAGE_DIR", &path);
    let text = |t: &Option<crate::model::ids::Text>| t.as_ref().map(|x| x.as_str().to_string()).unwrap_or_default();
    let (driver, bucket) = match &site.storage {
        Storage::S3(x) => ("s3", text(&x.bucket)),
        Storage::Swift(x) => ("swift", text(&x.container)),
        Storage::Azure(x) => ("azure", text(&x.container)),
        Storage::Gcs(x) => ("gcs", text(&x.bucket)),
        Storage::Oss(x) => ("oss", text(&x.bucket)),
        Storage::Local | Storage::Nfs(_) => ("", String::new()),
    };
    assign(s, "OBJECT_DRIVER", driver);
    assign(s, "OBJECT_BUCKET", &bucket);
}
