//! `backup/<site>/site.json`: the shape of the site a backup belongs to. Each backup keeps a
//! copy; `restore.sh` restores only into a bundle whose `site.json` is the same. It names
//! what a restore depends on (the Harbor release, the storage, the databases, the hosts and
//! their roles), not the addresses: a site rebuilt on new machines may restore.

use serde_json::{json, Value};

use crate::model::enums::Role;
use crate::model::resolved::{Database, Site, Storage};
use crate::render::harbor::harbor_databases;

/// The content of `site.json` (keys sorted, so that the same site always gives the same text).
#[must_use]
pub fn render(site: &Site) -> String {
    let storage = match &site.storage {
        Storage::Nfs(n) => json!({"kind": "nfs", "export": n.export.as_str(), "mount": n.mount.as_str()}),
        Storage::Local => json!({"kind": "local"}),
        Storage::S3(x) => json!({"kind": "s3", "bucket": x.bucket.as_ref().map(|t| t.as_str())}),
        Storage::Swift(x) => json!({"kind": "swift", "container": x.container.as_ref().map(|t| t.as_str())}),
        Storage::Azure(x) => json!({"kind": "azure", "container": x.container.as_ref().map(|t| t.as_str())}),
        Storage::Gcs(x) => json!({"kind": "gcs", "bucket": x.bucket.as_ref().map(|t| t.as_str())}),
        Storage::Oss(x) => json!({"kind": "oss", "bucket": x.bucket.as_ref().map(|t| t.as_str())}),
    };
    let database = match &site.database {
        Database::External(db) => json!({
            "user": db.username.as_str(),
            "databases": harbor_databases(site),
            "cluster": db.cluster.is_some(),
        }),
        Database::Internal => Value::Null,
    };
    let hosts: Vec<Value> = site
        .hosts
        .iter()
        .map(|h| {
            let roles: Vec<&str> = h.roles.iter().map(|r| r.as_str()).collect();
            let mut host = json!({"name": h.name.as_str(), "roles": roles});
            if h.has(Role::Harbor) {
                host["data_volume"] = json!(h.data_volume.as_str());
            }
            host
        })
        .collect();
    let doc = json!({
        "site": site.name.as_str(),
        "harbor_version": site.harbor.version.to_string(),
        "storage": storage,
        "database": database,
        "hosts": hosts,
    });
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}
