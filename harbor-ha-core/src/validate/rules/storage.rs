//! ST001–ST004 and the storage half of RD005.

use super::{hp, sp};
use crate::model::resolved::{Site, Storage};
use crate::model::secret::Secret;
use crate::model::spec::{SiteMode, SiteSpec};
use crate::validate::codes::RuleCode;
use crate::validate::resolve::Resolved;
use crate::validate::Ctx;

pub(super) fn check(site: &Site, _raw: &SiteSpec, ctx: &mut Ctx) {
    let s = sp(site.index);
    let nodes: Vec<_> = site.harbor_nodes().collect();
    if site.mode == SiteMode::SharedStorage {
        // ST001: with NFS every node's data_volume is the mount.
        if let Storage::Nfs(n) = &site.storage {
            for h in &nodes {
                if h.data_volume != n.mount {
                    ctx.emit(
                        RuleCode::ST001,
                        format!("{}.data_volume", hp(site.index, h.index)),
                        format!(
                            "Harbor node `{}` uses data_volume {} but the NFS share is mounted at {}",
                            h.name, h.data_volume, n.mount
                        ),
                        "remove the node's data_volume so that it uses storage.nfs.mount like the other nodes",
                    );
                }
            }
        }
        // ST002
        if nodes.len() > 1 && matches!(site.storage, Storage::Local) {
            ctx.emit(
                RuleCode::ST002,
                format!("{s}.storage"),
                format!("site `{}` has {} Harbor nodes on local, unshared storage", site.name, nodes.len()),
                "add shared storage: storage.nfs (export and mount) or object storage such as storage.s3",
            );
        }
    }
    // ST003: the export must admit every node.
    if let Storage::Nfs(n) = &site.storage {
        for h in &nodes {
            if !n.clients.iter().any(|c| c.contains(&h.address)) {
                ctx.emit(
                    RuleCode::ST003,
                    format!("{s}.storage.nfs.clients"),
                    format!("the NFS export does not allow Harbor node `{}` ({})", h.name, h.address),
                    format!(
                        "add {} to storage.nfs.clients, or remove `clients` to allow exactly the Harbor nodes",
                        h.address
                    ),
                );
            }
        }
    }
    // ST004
    let missing = object_storage_missing(&site.storage);
    if !missing.is_empty() {
        let driver = driver_name(&site.storage);
        ctx.emit(
            RuleCode::ST004,
            format!("{s}.storage.{driver}"),
            format!("storage.{driver} lacks {}", missing.join(", ")),
            format!(
                "set {} under storage.{driver}; Harbor silently falls back to local disk when the driver is incomplete",
                missing.join(", ")
            ),
        );
    }
}

fn driver_name(st: &Storage) -> &'static str {
    match st {
        Storage::Local => "filesystem",
        Storage::Nfs(_) => "nfs",
        Storage::S3(_) => "s3",
        Storage::Swift(_) => "swift",
        Storage::Azure(_) => "azure",
        Storage::Gcs(_) => "gcs",
        Storage::Oss(_) => "oss",
    }
}

fn object_storage_missing(st: &Storage) -> Vec<&'static str> {
    fn need<'a>(out: &mut Vec<&'a str>, name: &'a str, present: bool) {
        if !present {
            out.push(name);
        }
    }
    let s = |v: &Option<String>| v.as_deref().is_some_and(|x| !x.is_empty());
    let sec = |v: &Option<Secret>| v.as_ref().is_some_and(|x| !matches!(x, Secret::Literal(l) if l.is_empty()));
    let mut out = Vec::new();
    match st {
        Storage::S3(x) => {
            need(&mut out, "bucket", s(&x.bucket));
            need(&mut out, "region", s(&x.region));
            need(&mut out, "accesskey", sec(&x.accesskey));
            need(&mut out, "secretkey", sec(&x.secretkey));
        }
        Storage::Swift(x) => {
            need(&mut out, "authurl", s(&x.authurl));
            need(&mut out, "username", s(&x.username));
            need(&mut out, "password", sec(&x.password));
            need(&mut out, "container", s(&x.container));
        }
        Storage::Azure(x) => {
            need(&mut out, "accountname", s(&x.accountname));
            need(&mut out, "accountkey", sec(&x.accountkey));
            need(&mut out, "container", s(&x.container));
        }
        Storage::Gcs(x) => {
            need(&mut out, "bucket", s(&x.bucket));
            need(&mut out, "keyfile", x.keyfile.is_some());
        }
        Storage::Oss(x) => {
            need(&mut out, "accesskeyid", sec(&x.accesskeyid));
            need(&mut out, "accesskeysecret", sec(&x.accesskeysecret));
            need(&mut out, "region", s(&x.region));
            need(&mut out, "bucket", s(&x.bucket));
        }
        Storage::Local | Storage::Nfs(_) => {}
    }
    out
}

/// A storage location's identity, for RD005.
fn location(st: &Storage) -> Option<String> {
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    match st {
        Storage::Local => None,
        Storage::Nfs(n) => Some(format!("nfs {}:{}", n.server, n.export)),
        Storage::S3(x) => Some(format!("s3 {} {} /{}", o(&x.regionendpoint), o(&x.bucket), o(&x.rootdirectory))),
        // Containers are per project (tenant), so the same container name in two projects
        // is two locations.
        Storage::Swift(x) => {
            Some(format!("swift {} {} {} {}", o(&x.authurl), o(&x.domain), o(&x.tenant), o(&x.container)))
        }
        Storage::Azure(x) => Some(format!("azure {} {}", o(&x.accountname), o(&x.container))),
        Storage::Gcs(x) => Some(format!("gcs {} /{}", o(&x.bucket), o(&x.rootdirectory))),
        Storage::Oss(x) => Some(format!("oss {} {}", o(&x.endpoint), o(&x.bucket))),
    }
}

/// RD005: independent Harbor clusters must not share a Redis or a storage location.
pub(super) fn check_shared_between_sites(resolved: &Resolved, ctx: &mut Ctx) {
    use crate::model::resolved::Redis;
    let sites: Vec<&Site> = resolved.sites.iter().flatten().collect();
    for (i, a) in sites.iter().enumerate() {
        for b in &sites[..i] {
            if let (Some(la), Some(lb)) = (location(&a.storage), location(&b.storage)) {
                if la == lb {
                    ctx.emit(
                        RuleCode::RD005,
                        format!("{}.storage", sp(a.index)),
                        format!("sites `{}` and `{}` use the same storage location", b.name, a.name),
                        "give each site its own export, bucket or root directory: each Harbor's garbage collection assumes it owns the storage",
                    );
                }
            }
            if let (Redis::External(ra), Redis::External(rb)) = (&a.redis, &b.redis) {
                if let Some(which) = same_redis(ra, rb) {
                    ctx.emit(
                        RuleCode::RD005,
                        format!("{}.redis", sp(a.index)),
                        format!("sites `{}` and `{}` use the same Redis ({which})", b.name, a.name),
                        "give each site its own Redis: core's db 0 and the job queue namespace are fixed, so two clusters on one Redis steal each other's jobs and sessions",
                    );
                }
            }
        }
    }
}

/// Whether two sites' Redis are the same server: the same `host:port`, or (with Sentinel)
/// the same master set monitored by a common sentinel. Returns a description of it.
fn same_redis(a: &crate::model::resolved::ExternalRedis, b: &crate::model::resolved::ExternalRedis) -> Option<String> {
    match (&a.sentinel, &b.sentinel) {
        (None, None) => (a.host == b.host && a.port == b.port).then(|| format!("{}:{}", a.host, a.port)),
        (Some(x), Some(y)) => {
            let common = x.hosts.iter().find(|h| y.hosts.contains(h))?;
            (x.master_set == y.master_set).then(|| format!("master set {} via sentinel {common}", x.master_set))
        }
        _ => None,
    }
}
