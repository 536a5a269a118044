//! ST001–ST009 and RD005: the storage backend (its NFS options, redirects, where job logs
//! go, garbage collection on NFS), and what two sites must not share.

use std::net::IpAddr;

use ipnet::IpNet;

use super::{hp, sp};
use crate::diag::{Diagnostic, RuleCode};
use crate::model::enums::{Role, SiteMode};
use crate::model::ids::{HostPath, MountOptions, Text};
use crate::model::resolved::{Azure, Gcs, Host, Nfs, Oss, Site, Storage, Swift, S3};
use crate::model::secret::Secret;
use crate::model::spec::{SiteSpec, StorageSpec};
use crate::validate::resolve::Resolved;
use crate::validate::{values, Ctx};

/// The storage section (ST005: exactly one backend; ST003: the NFS clients parse).
pub(in crate::validate) fn resolve(ctx: &mut Ctx, sp: &str, s: &SiteSpec) -> Storage {
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
    let t = |ctx: &mut Ctx, key: &str, v: &Option<String>| values::opt_text(ctx, &format!("{p}.{key}"), v.as_ref());
    let sec = |v: &Option<crate::model::secret::SecretSpec>| v.as_ref().map(values::secret);
    if let Some(n) = nfs {
        let export = values::path(ctx, &format!("{p}.nfs.export"), &n.export);
        let mount = n.mount.as_ref().map(|m| values::path(ctx, &format!("{p}.nfs.mount"), m));
        let options = n.options.as_ref().map(|o| values::mount_options(ctx, &format!("{p}.nfs.options"), o));
        let mut clients = Vec::new();
        for (ci, c) in n.clients.iter().flatten().enumerate() {
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
        return Storage::Nfs(Nfs {
            export,
            mount: mount.unwrap_or_else(|| HostPath::known("/data")),
            server: n.server.unwrap_or(IpAddr::from([0, 0, 0, 0])),
            server_host: None,
            clients,
            options: options.unwrap_or_else(|| MountOptions::known("hard,nfsvers=4.1,_netdev")),
        });
    }
    if let Some(x) = s3 {
        return Storage::S3(S3 {
            bucket: t(ctx, "s3.bucket", &x.bucket),
            region: t(ctx, "s3.region", &x.region),
            regionendpoint: t(ctx, "s3.regionendpoint", &x.regionendpoint),
            rootdirectory: t(ctx, "s3.rootdirectory", &x.rootdirectory),
            accesskey: sec(&x.accesskey),
            secretkey: sec(&x.secretkey),
            secure: x.secure,
            v4auth: x.v4auth,
            encrypt: x.encrypt,
        });
    }
    if let Some(x) = swift {
        return Storage::Swift(Swift {
            authurl: t(ctx, "swift.authurl", &x.authurl),
            username: t(ctx, "swift.username", &x.username),
            container: t(ctx, "swift.container", &x.container),
            region: t(ctx, "swift.region", &x.region),
            tenant: t(ctx, "swift.tenant", &x.tenant),
            domain: t(ctx, "swift.domain", &x.domain),
            password: sec(&x.password),
        });
    }
    if let Some(x) = azure {
        return Storage::Azure(Azure {
            accountname: t(ctx, "azure.accountname", &x.accountname),
            container: t(ctx, "azure.container", &x.container),
            realm: t(ctx, "azure.realm", &x.realm),
            accountkey: sec(&x.accountkey),
        });
    }
    if let Some(x) = gcs {
        return Storage::Gcs(Gcs {
            bucket: t(ctx, "gcs.bucket", &x.bucket),
            rootdirectory: t(ctx, "gcs.rootdirectory", &x.rootdirectory),
            keyfile: x.keyfile.as_ref().map(|k| values::path(ctx, &format!("{p}.gcs.keyfile"), k)),
        });
    }
    if let Some(x) = oss {
        return Storage::Oss(Oss {
            region: t(ctx, "oss.region", &x.region),
            bucket: t(ctx, "oss.bucket", &x.bucket),
            endpoint: t(ctx, "oss.endpoint", &x.endpoint),
            accesskeyid: sec(&x.accesskeyid),
            accesskeysecret: sec(&x.accesskeysecret),
        });
    }
    Storage::Local
}

/// Fill in the NFS server and default clients from the hosts.
pub(in crate::validate) fn finish_nfs(storage: Storage, hosts: &[Host]) -> Storage {
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

fn parse_cidr(s: &str) -> Option<IpNet> {
    s.parse::<IpNet>().ok().or_else(|| s.parse::<IpAddr>().ok().map(IpNet::from))
}

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
        // Single-address clients by hash, so that a site of thousands of nodes stays linear.
        let full = |c: &&ipnet::IpNet| c.prefix_len() == c.max_prefix_len();
        let exact: std::collections::HashSet<std::net::IpAddr> =
            n.clients.iter().filter(full).map(|c| c.addr()).collect();
        let ranges: Vec<&ipnet::IpNet> = n.clients.iter().filter(|c| !full(c)).collect();
        for h in &nodes {
            if !exact.contains(&h.address) && !ranges.iter().any(|c| c.contains(&h.address)) {
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
    if let Storage::Nfs(n) = &site.storage {
        st006(site, n, ctx);
        st009(site, ctx);
    }
    st007(site, ctx);
    st008(site, ctx);
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

/// NFS's default attribute cache times (nfs(5)): acregmin, acregmax, acdirmin, acdirmax.
const AC_DEFAULTS: [(&str, u64); 4] = [("acregmin", 3), ("acregmax", 60), ("acdirmin", 30), ("acdirmax", 60)];

/// ST006: mount options that break a registry shared over NFS. Errors: `soft` (a timeout
/// becomes an I/O error in the middle of a write), NFSv2/v3 (the bundle's firewall opens
/// only 2049; v3 also needs rpcbind, mountd and NLM ports, so the mount hangs). Warnings:
/// `nolock` (locks only on the local node), and longer attribute or lookup caching
/// (`actimeo`, `ac*`, `lookupcache=all`, `nocto`): a blob written through one node stays
/// invisible to the others for that long ("blob unknown", "blob upload unknown").
fn st006(site: &Site, n: &Nfs, ctx: &mut Ctx) {
    use crate::diag::{Diagnostic, Severity};
    let path = format!("{}.storage.nfs.options", sp(site.index));
    for opt in n.options.as_str().split(',').filter(|o| !o.is_empty()) {
        let (key, value) = opt.split_once('=').map_or((opt, None), |(k, v)| (k, Some(v)));
        let num = value.and_then(|v| v.parse::<u64>().ok());
        let found: Option<(Severity, String, &str)> = match key {
            "soft" | "softerr" => Some((
                Severity::Error,
                format!("`{opt}`: when the NFS server is slow or fails over, the kernel returns an I/O error in the middle of a write, and the registry keeps a truncated layer (silent corruption)"),
                "use `hard` (the bundle's default): the client waits for the server instead of failing the write",
            )),
            "nfsvers" | "vers" if value.is_some_and(|v| v == "2" || v == "3" || v.starts_with("3.")) => Some((
                Severity::Error,
                format!("`{opt}`: NFSv3 also needs rpcbind (111), mountd and the lock manager on ports the bundle's firewall does not open (only 2049), so the mount hangs"),
                "use nfsvers=4.1 (or 4.2): NFSv4 needs only port 2049",
            )),
            "nolock" => Some((
                Severity::Warning,
                "`nolock`: file locks then exist only on the node that takes them, so two Harbor nodes do not exclude each other".to_string(),
                "remove nolock (NFSv4 locks through the server)",
            )),
            "nocto" => Some((
                Severity::Warning,
                "`nocto`: without close-to-open consistency a file one node has just written may look unchanged or missing on another (\"blob upload unknown\")".to_string(),
                "remove nocto",
            )),
            "lookupcache" if value.is_some_and(|v| v == "all") => Some((
                Severity::Warning,
                "`lookupcache=all` caches \"file not found\": a blob one node has just written stays invisible to another for up to acdirmax seconds (intermittent \"blob unknown\" / \"blob upload unknown\")".to_string(),
                "remove it, or use lookupcache=positive (or none)",
            )),
            "actimeo" if num.is_some_and(|t| t > 0) => Some((
                Severity::Warning,
                format!("`{opt}`: attributes are cached {} s: an upload written through one node looks incomplete or missing on another for that long (intermittent \"blob upload unknown\")", num.unwrap_or(0)),
                "remove actimeo (or use actimeo=0, at a cost in speed)",
            )),
            k if AC_DEFAULTS.iter().any(|(d, def)| *d == k && num.is_some_and(|t| t > *def)) => Some((
                Severity::Warning,
                format!("`{opt}` caches attributes longer than NFS's default: an upload written through one node looks incomplete or missing on another for that long (intermittent \"blob upload unknown\")"),
                "remove it (NFS's defaults are acregmin=3, acregmax=60, acdirmin=30, acdirmax=60)",
            )),
            _ => None,
        };
        if let Some((severity, why, hint)) = found {
            ctx.push(
                Diagnostic::new(
                    RuleCode::ST006,
                    path.clone(),
                    format!("site `{}`: NFS mount option {why}", site.name),
                    hint,
                )
                .with_severity(severity),
            );
        }
    }
}

/// Whether clients outside the site may fail to reach `endpoint` (an object store's URL or
/// host): plain http, a private, loopback or link-local address, or a name that is not
/// fully qualified (one label, or `.local`, `.internal`, `.lan`, `-internal.`).
fn unreachable_endpoint(endpoint: &str) -> Option<&'static str> {
    let (scheme, rest) = endpoint.split_once("://").map_or(("", endpoint), |(s, r)| (s, r));
    let authority = rest.split('/').next().unwrap_or(rest);
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(v6),
        None => authority.rsplit_once(':').map_or(authority, |(h, p)| {
            if p.bytes().all(|b| b.is_ascii_digit()) {
                h
            } else {
                authority
            }
        }),
    };
    if scheme.eq_ignore_ascii_case("http") {
        return Some("plain http");
    }
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(a))
            if a.is_private()
                || a.is_loopback()
                || a.is_link_local()
                || (a.octets()[0] == 100 && (a.octets()[1] & 0xc0) == 64) =>
        {
            Some("a private address")
        }
        Ok(IpAddr::V6(a)) if a.is_loopback() || a.is_unique_local() || a.is_unicast_link_local() => {
            Some("a private address")
        }
        Ok(_) => None,
        Err(_) => {
            let h = host.to_ascii_lowercase();
            let local = !h.contains('.')
                || [".local", ".internal", ".lan", ".localdomain", ".home.arpa"].iter().any(|s| h.ends_with(s))
                || h.contains("-internal.");
            local.then_some("a name outside public DNS")
        }
    }
}

/// ST007: with redirects on (Harbor's default), the registry answers blob downloads with a
/// 307 to a URL of the object store; clients that cannot reach it fail the pull. S3 (MinIO,
/// Ceph RGW) and OSS redirect; Swift only with a temp-URL key, which the topology cannot set.
fn st007(site: &Site, ctx: &mut Ctx) {
    if site.disable_redirect {
        return;
    }
    let (driver, key, endpoint, insecure) = match &site.storage {
        Storage::S3(x) => ("s3", "regionendpoint", x.regionendpoint.as_ref(), x.secure == Some(false)),
        Storage::Oss(x) => ("oss", "endpoint", x.endpoint.as_ref(), false),
        _ => return,
    };
    let why = match endpoint.map(|e| unreachable_endpoint(e.as_str())) {
        Some(Some(why)) => Some(format!("`storage.{driver}.{key}` is {why}")),
        _ if insecure => Some("`storage.s3.secure` is false (plain http)".to_string()),
        _ => None,
    };
    if let Some(why) = why {
        ctx.emit(
            RuleCode::ST007,
            format!("{}.storage.{driver}", sp(site.index)),
            format!(
                "site `{}`: the registry redirects blob downloads (307) to the object store, and {why}: docker clients that cannot reach it fail every pull",
                site.name
            ),
            "set storage.disable_redirect: true (the registry then streams blobs itself), or give the store a public https endpoint",
        );
    }
}

/// ST008: Harbor 2.8 and older write job logs to `<data_volume>/job_logs` (the `FILE`
/// logger; `job_loggers: [DB]` exists in harbor.yml from 2.9). With object storage the data
/// volume is each node's local disk, so a log is on the node that ran the job only.
fn st008(site: &Site, ctx: &mut Ctx) {
    let nodes = site.harbor_nodes().count();
    let object = !matches!(site.storage, Storage::Local | Storage::Nfs(_));
    if site.mode != SiteMode::SharedStorage || nodes < 2 || !object || site.harbor.version.at_least(2, 9) {
        return;
    }
    ctx.emit(
        RuleCode::ST008,
        format!("{}.storage.{}", sp(site.index), driver_name(&site.storage)),
        format!(
            "site `{}`: Harbor {} writes job logs (replication, garbage collection, scans) to each node's local data_volume; the UI asks whichever node the load balancer picks, so about {} of {nodes} logs answer 404",
            site.name,
            site.harbor.version,
            nodes - 1
        ),
        "use Harbor 2.9 or later (the bundle then keeps job logs in the database), or NFS storage (job logs on the shared data_volume)",
    );
}

/// ST009: Harbor 2.1-2.4 run garbage collection while the registry serves (registry v2.7.1
/// build); on NFS a blob still open is silly-renamed to `.nfs…`, and the sweep fails with
/// "device or resource busy". Harbor 2.5 moved to distribution v2.8.
fn st009(site: &Site, ctx: &mut Ctx) {
    let v = site.harbor.version;
    if v.at_least(2, 1) && !v.at_least(2, 5) {
        ctx.emit(
            RuleCode::ST009,
            format!("{}.storage.nfs", sp(site.index)),
            format!(
                "site `{}`: garbage collection on NFS with Harbor {v} fails on `.nfs…` files (\"unlinkat …/.nfs…: device or resource busy\") and leaves blobs behind",
                site.name
            ),
            "use Harbor 2.5 or later, or run garbage collection when no pull is running and retry it",
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
    let s = |v: &Option<Text>| v.as_ref().is_some_and(|x| !x.as_str().is_empty());
    let sec = |v: &Option<Secret>| v.as_ref().is_some_and(|x| !x.is_empty_literal());
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
    fn o(v: &Option<Text>) -> &str {
        v.as_ref().map_or("", Text::as_str)
    }
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
///
/// Each site is reported once per kind, naming the first earlier site it shares with (and
/// how many more there are): sites are indexed by storage location and Redis identity, so
/// thousands of sites cost linear time, and a hostile file of many sites on one bucket gets
/// one finding per site, not one per pair.
pub(super) fn check_shared_between_sites(resolved: &Resolved, ctx: &mut Ctx) {
    use crate::model::resolved::{Redis, RedisServer};
    use std::collections::{BTreeSet, HashMap};
    /// A Redis identity: plain `host:port`, or one (master set, sentinel) of a Sentinel setup.
    #[derive(PartialEq, Eq, Hash)]
    enum RedisKey {
        Plain(String, u16),
        Sentinel(String, String),
    }
    let more = |n: usize, a: &Site| {
        if n > 1 {
            format!(" (and {} more site{} before `{}`)", n - 1, if n > 2 { "s" } else { "" }, a.name)
        } else {
            String::new()
        }
    };
    let sites: Vec<&Site> = resolved.sites.iter().flatten().collect();
    // Earlier sites (positions in `sites`) by storage location and by Redis identity.
    let mut by_location: HashMap<String, Vec<usize>> = HashMap::new();
    let mut by_redis: HashMap<RedisKey, Vec<usize>> = HashMap::new();
    for (i, a) in sites.iter().enumerate() {
        let la = location(&a.storage);
        if let Some(twins) = la.as_ref().and_then(|l| by_location.get(l)) {
            let b = sites[twins[0]];
            ctx.push(
                Diagnostic::new(
                    RuleCode::RD005,
                    format!("{}.storage", sp(a.index)),
                    format!("sites `{}` and `{}` use the same storage location{}", b.name, a.name, more(twins.len(), a)),
                    "give each site its own export, bucket or root directory: each Harbor's garbage collection assumes it owns the storage",
                )
                .with_related(format!("{}.storage", sp(b.index)), format!("first used by site `{}`", b.name)),
            );
        }
        let keys: Vec<RedisKey> = match &a.redis {
            Redis::External(r) => match &r.server {
                RedisServer::Single { host, .. } => vec![RedisKey::Plain(host.to_string(), r.port)],
                RedisServer::Sentinel(s) => {
                    s.hosts.iter().map(|h| RedisKey::Sentinel(s.master_set.to_string(), h.to_string())).collect()
                }
                RedisServer::Cluster(c) => {
                    c.data.iter().map(|m| RedisKey::Plain(m.address.to_string(), r.port)).collect()
                }
            },
            Redis::Internal => Vec::new(),
        };
        // Every site under one of these keys shares this site's Redis (same_redis agrees).
        let twins: BTreeSet<usize> = keys.iter().filter_map(|k| by_redis.get(k)).flatten().copied().collect();
        if let (Some(&j), Redis::External(ra)) = (twins.first(), &a.redis) {
            let b = sites[j];
            if let Some(which) = match &b.redis {
                Redis::External(rb) => same_redis(ra, rb),
                Redis::Internal => None,
            } {
                ctx.push(
                    Diagnostic::new(
                        RuleCode::RD005,
                        format!("{}.redis", sp(a.index)),
                        format!("sites `{}` and `{}` use the same Redis ({which}){}", b.name, a.name, more(twins.len(), a)),
                        "give each site its own Redis: core's db 0 and the job queue namespace are fixed, so two clusters on one Redis steal each other's jobs and sessions",
                    )
                    .with_related(format!("{}.redis", sp(b.index)), format!("first used by site `{}`", b.name)),
                );
            }
        }
        if let Some(la) = la {
            by_location.entry(la).or_default().push(i);
        }
        for k in keys {
            let v = by_redis.entry(k).or_default();
            if v.last() != Some(&i) {
                v.push(i);
            }
        }
    }
}

/// Whether two sites' Redis are the same server: the same `host:port`, or (with Sentinel)
/// the same master set monitored by a common sentinel. Returns a description of it.
fn same_redis(a: &crate::model::resolved::ExternalRedis, b: &crate::model::resolved::ExternalRedis) -> Option<String> {
    use crate::model::resolved::RedisServer::{Cluster, Sentinel, Single};
    let data = |r: &crate::model::resolved::ExternalRedis| -> Vec<String> {
        match &r.server {
            Single { host, .. } => vec![host.to_string()],
            Cluster(c) => c.data.iter().map(|m| m.address.to_string()).collect(),
            Sentinel(_) => Vec::new(),
        }
    };
    match (&a.server, &b.server) {
        (Cluster(_), Single { .. } | Cluster(_)) | (Single { .. }, Cluster(_)) => {
            let (da, db) = (data(a), data(b));
            let common = da.iter().find(|h| db.contains(h))?;
            (a.port == b.port).then(|| format!("{common}:{}", a.port))
        }
        (Single { host: ha, .. }, Single { host: hb, .. }) => {
            (ha == hb && a.port == b.port).then(|| format!("{ha}:{}", a.port))
        }
        (Sentinel(x), Sentinel(y)) => {
            let common = x.hosts.iter().find(|h| y.hosts.contains(h))?;
            (x.master_set == y.master_set).then(|| format!("master set {} via sentinel {common}", x.master_set))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::diag::RuleCode;

    /// Many sites on one bucket and one Redis: one RD005 per site and kind, not one per pair
    /// (a hostile file of 50,000 such sites would otherwise produce billions of findings).
    #[test]
    fn rd005_is_linear_in_the_sites_that_share() {
        let n = 300;
        let mut y = String::from("version: 1\nsites:\n");
        for i in 0..n {
            y.push_str(&format!(
                "- {{name: s{i}, harbor: {{version: '2.11.1', external_url: 'http://s{i}.example.com', admin_password: {{env: P}}}}, \
                 network: {{subnet: 10.0.0.0/8}}, hosts: [{{name: h{i}, address: 10.0.{}.{}, roles: [harbor]}}], \
                 storage: {{s3: {{bucket: same, region: us-east-1, accesskey: {{env: K}}, secretkey: {{env: S}}}}}}, \
                 redis: {{host: redis.example.com, password: {{env: R}}}}}}\n",
                i / 250,
                i % 250 + 1
            ));
        }
        let report = crate::load_str(&y).unwrap().validate();
        let rd005: Vec<&str> =
            report.diagnostics.iter().filter(|d| d.code == RuleCode::RD005).map(|d| d.message.as_str()).collect();
        assert_eq!(rd005.len(), 2 * (n - 1), "{rd005:#?}");
        assert!(rd005.contains(&"sites `s0` and `s1` use the same storage location"), "{rd005:#?}");
        assert!(rd005.contains(&"sites `s0` and `s2` use the same storage location (and 1 more site before `s2`)"));
        assert!(rd005.contains(
            &"sites `s0` and `s3` use the same Redis (redis.example.com:6379) (and 2 more sites before `s3`)"
        ));
    }
}
