//! `harbor.yml` of a Harbor node: a view model of typed structs serialized with serde, with
//! the keys each version's `prepare` reads.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_yaml::Value;

use super::{dir, harbor_databases, template_version};
use crate::model::enums::{Component, SslMode};
use crate::model::ids::{SentinelAddr, Text};
use crate::model::resolved::{Database, Redis, RedisCluster, RedisServer, Site, Storage};
use crate::model::version::Version;
use crate::render::{HostOut, RoleCtx, Secrets};

#[derive(Serialize)]
struct HarborYml {
    hostname: String,
    http: Http,
    external_url: String,
    harbor_admin_password: String,
    database: InternalDb,
    data_volume: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    storage_service: Option<BTreeMap<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    clair: Option<Clair>,
    #[serde(skip_serializing_if = "Option::is_none")]
    trivy: Option<Trivy>,
    jobservice: Jobservice,
    notification: Notification,
    #[serde(skip_serializing_if = "Option::is_none")]
    chart: Option<Chart>,
    log: Log,
    #[serde(rename = "_version")]
    version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    external_database: Option<ExternalDatabase>,
    #[serde(skip_serializing_if = "Option::is_none")]
    external_redis: Option<ExternalRedis>,
    proxy: Proxy,
    #[serde(skip_serializing_if = "Option::is_none")]
    upload_purging: Option<UploadPurging>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cache: Option<Cache>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metric: Option<Metric>,
}

#[derive(Serialize)]
struct Metric {
    enabled: bool,
    port: u16,
    path: &'static str,
}

#[derive(Serialize)]
struct Http {
    port: u16,
}

#[derive(Serialize)]
struct InternalDb {
    password: String,
    max_idle_conns: u32,
    max_open_conns: u32,
}

#[derive(Serialize)]
struct Clair {
    updaters_interval: u32,
}

#[derive(Serialize)]
struct Trivy {
    ignore_unfixed: bool,
    skip_update: bool,
    offline_scan: bool,
    insecure: bool,
}

#[derive(Serialize)]
struct Jobservice {
    max_job_workers: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    job_loggers: Option<Vec<&'static str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    logger_sweeper_duration: Option<u32>,
}

#[derive(Serialize)]
struct Notification {
    webhook_job_max_retry: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    webhook_job_http_client_timeout: Option<u32>,
}

#[derive(Serialize)]
struct Chart {
    absolute_url: &'static str,
}

#[derive(Serialize)]
struct Log {
    level: &'static str,
    local: LogLocal,
    #[serde(skip_serializing_if = "Option::is_none")]
    external_endpoint: Option<ExternalEndpoint>,
}

#[derive(Serialize)]
struct ExternalEndpoint {
    protocol: &'static str,
    host: String,
    port: u16,
}

#[derive(Serialize)]
struct LogLocal {
    rotate_count: u32,
    rotate_size: &'static str,
    location: &'static str,
}

#[derive(Serialize)]
struct DbConn {
    host: String,
    port: u16,
    db_name: String,
    username: String,
    password: String,
    ssl_mode: &'static str,
    max_idle_conns: u32,
    max_open_conns: u32,
}

#[derive(Serialize)]
struct ExternalDatabase {
    harbor: DbConn,
    #[serde(skip_serializing_if = "Option::is_none")]
    clair: Option<DbConn>,
    #[serde(skip_serializing_if = "Option::is_none")]
    notary_signer: Option<DbConn>,
    #[serde(skip_serializing_if = "Option::is_none")]
    notary_server: Option<DbConn>,
}

#[derive(Serialize)]
struct ExternalRedis {
    host: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sentinel_master_set: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<String>,
    password: String,
    registry_db_index: u8,
    jobservice_db_index: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    chartmuseum_db_index: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    clair_db_index: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    trivy_db_index: Option<u8>,
}

#[derive(Serialize)]
struct Proxy {
    http_proxy: &'static str,
    https_proxy: &'static str,
    no_proxy: &'static str,
    components: Vec<&'static str>,
}

#[derive(Serialize)]
struct UploadPurging {
    enabled: bool,
    age: &'static str,
    interval: &'static str,
    dryrun: bool,
}

#[derive(Serialize)]
struct Cache {
    enabled: bool,
    expire_hours: u32,
}

pub(crate) fn ssl_mode(m: SslMode) -> &'static str {
    match m {
        SslMode::Disable => "disable",
        SslMode::Require => "require",
        SslMode::VerifyCa => "verify-ca",
        SslMode::VerifyFull => "verify-full",
    }
}

fn storage_service(ctx: &RoleCtx, sec: Secrets) -> Option<BTreeMap<String, Value>> {
    let site = ctx.site;
    let mut driver: BTreeMap<String, Value> = BTreeMap::new();
    let mut set = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            driver.insert(k.to_string(), v);
        }
    };
    let s = |o: &Option<Text>| o.as_ref().map(|t| Value::String(t.as_str().to_string()));
    let b = |o: Option<bool>| o.map(Value::Bool);
    let cred = |k: &str| sec.values.storage.get(k).cloned().map(Value::String);
    let name = match &site.storage {
        Storage::Local | Storage::Nfs(_) => return None,
        Storage::S3(x) => {
            set("region", s(&x.region));
            set("bucket", s(&x.bucket));
            set("accesskey", cred("accesskey"));
            set("secretkey", cred("secretkey"));
            set("regionendpoint", s(&x.regionendpoint));
            set("rootdirectory", s(&x.rootdirectory));
            set("secure", b(x.secure));
            set("v4auth", b(x.v4auth));
            set("encrypt", b(x.encrypt));
            "s3"
        }
        Storage::Swift(x) => {
            set("authurl", s(&x.authurl));
            set("username", s(&x.username));
            set("password", cred("password"));
            set("container", s(&x.container));
            set("region", s(&x.region));
            set("tenant", s(&x.tenant));
            set("domain", s(&x.domain));
            "swift"
        }
        Storage::Azure(x) => {
            set("accountname", s(&x.accountname));
            set("accountkey", cred("accountkey"));
            set("container", s(&x.container));
            set("realm", s(&x.realm));
            "azure"
        }
        Storage::Gcs(x) => {
            set("bucket", s(&x.bucket));
            set("keyfile", x.keyfile.as_ref().map(|k| Value::String(k.to_string())));
            set("rootdirectory", s(&x.rootdirectory));
            "gcs"
        }
        Storage::Oss(x) => {
            set("accesskeyid", cred("accesskeyid"));
            set("accesskeysecret", cred("accesskeysecret"));
            set("region", s(&x.region));
            set("bucket", s(&x.bucket));
            set("endpoint", s(&x.endpoint));
            "oss"
        }
    };
    let mut m = BTreeMap::new();
    m.insert(name.to_string(), Value::Mapping(driver.into_iter().map(|(k, v)| (Value::String(k), v)).collect()));
    if site.disable_redirect {
        // The key was `disabled` until 2.7 and is `disable` from 2.8.
        let key = if site.harbor.version.at_least(2, 8) { "disable" } else { "disabled" };
        let mut r = serde_yaml::Mapping::new();
        r.insert(Value::String(key.to_string()), Value::Bool(true));
        m.insert("redirect".to_string(), Value::Mapping(r));
    }
    Some(m)
}

/// The node's `harbor.yml`.
/// `external_database`: Harbor's core database, plus Clair's and Notary's where used.
fn external_database(site: &Site, password: &str) -> Option<ExternalDatabase> {
    let Database::External(db) = &site.database else { return None };
    let conn = |name: &str| DbConn {
        host: db.host.to_string(),
        port: db.port,
        db_name: name.to_string(),
        username: db.username.as_str().to_string(),
        password: password.to_string(),
        ssl_mode: ssl_mode(db.ssl_mode),
        max_idle_conns: db.max_idle_conns,
        max_open_conns: db.max_open_conns,
    };
    let dbs = harbor_databases(site);
    Some(ExternalDatabase {
        harbor: conn(db.db_name.as_str()),
        clair: dbs.iter().any(|d| d == "clair").then(|| conn("clair")),
        notary_signer: dbs.iter().any(|d| d == "notarysigner").then(|| conn("notarysigner")),
        notary_server: dbs.iter().any(|d| d == "notaryserver").then(|| conn("notaryserver")),
    })
}

/// `external_redis`: one server (`host:port`, or `host` and `port` before 2.1) or the
/// Sentinels, with the indexes the version reads.
fn external_redis(site: &Site, password: &str) -> Option<ExternalRedis> {
    let Redis::External(r) = &site.redis else { return None };
    let v = site.harbor.version;
    let split_port = !v.at_least(2, 1);
    let host = match &r.server {
        RedisServer::Sentinel(sn) => sn.hosts.iter().map(SentinelAddr::as_str).collect::<Vec<_>>().join(","),
        RedisServer::Single { host, .. } if split_port => host.to_string(),
        RedisServer::Single { host, .. } => format!("{host}:{}", r.port),
        // Harbor < 2.1: the LB-side proxy to the master; otherwise the installed Sentinels.
        RedisServer::Cluster(c) => match &c.proxy {
            Some(p) if split_port => p.address.to_string(),
            Some(p) => crate::model::resolved::socket_text(p.address, r.port),
            None => c
                .sentinels
                .iter()
                .map(|m| crate::model::resolved::socket_text(m.address, RedisCluster::SENTINEL_PORT))
                .collect::<Vec<_>>()
                .join(","),
        },
    };
    let master_set = match &r.server {
        RedisServer::Cluster(c) if c.proxy.is_none() => Some(c.master_set.as_str().to_string()),
        _ => r.sentinel().map(|s| s.master_set.as_str().to_string()),
    };
    Some(ExternalRedis {
        host,
        port: split_port.then_some(r.port),
        sentinel_master_set: master_set,
        username: if v.at_least(2, 8) { r.username.as_ref().map(|u| u.as_str().to_string()) } else { None },
        password: password.to_string(),
        registry_db_index: r.db_index.registry,
        jobservice_db_index: r.db_index.jobservice,
        chartmuseum_db_index: (!v.at_least(2, 8)).then_some(r.db_index.chartmuseum),
        clair_db_index: (!v.at_least(2, 2)).then_some(r.db_index.clair),
        trivy_db_index: (v.major >= 2).then_some(r.db_index.trivy),
    })
}

/// The components that go through the proxy settings.
fn proxy_components(v: Version) -> Vec<&'static str> {
    let mut c = vec!["core", "jobservice"];
    if !v.at_least(2, 2) {
        c.push("clair");
    }
    if v.major >= 2 {
        c.push("trivy");
    }
    c
}

/// The node's `harbor.yml`.
#[must_use]
pub fn harbor_yml(ctx: &RoleCtx, sec: Secrets) -> String {
    let site = ctx.site;
    let v = site.harbor.version;
    let has = |c: Component| site.harbor.components.contains(&c);
    let values = sec.values;
    let yml = HarborYml {
        hostname: ctx.host.address.to_string(),
        http: Http { port: ctx.host.http_port },
        external_url: site.harbor.external_url.as_str().trim_end_matches('/').to_string(),
        harbor_admin_password: values.admin_password.clone(),
        database: InternalDb {
            password: sec.shared.internal_db_password.clone(),
            max_idle_conns: 50,
            max_open_conns: if v.at_least(2, 3) { 900 } else { 100 },
        },
        data_volume: ctx.host.data_volume.to_string(),
        storage_service: storage_service(ctx, sec),
        clair: (has(Component::Clair) && !v.at_least(2, 2)).then_some(Clair { updaters_interval: 12 }),
        trivy: (v.major >= 2).then_some(Trivy {
            ignore_unfixed: false,
            skip_update: false,
            offline_scan: false,
            insecure: false,
        }),
        jobservice: Jobservice {
            max_job_workers: 10,
            // Job logs in the database: a log written on one node is readable from every node.
            job_loggers: v.at_least(2, 9).then(|| vec!["DB"]),
            logger_sweeper_duration: v.at_least(2, 8).then_some(1),
        },
        notification: Notification {
            webhook_job_max_retry: if v.major == 1 { 10 } else { 3 },
            webhook_job_http_client_timeout: v.at_least(2, 8).then_some(3),
        },
        chart: (!v.at_least(2, 8)).then_some(Chart { absolute_url: "disabled" }),
        log: Log {
            level: "info",
            local: LogLocal { rotate_count: 50, rotate_size: "200M", location: "/var/log/harbor" },
            external_endpoint: site.syslog.as_ref().map(|e| ExternalEndpoint {
                protocol: e.protocol.as_str(),
                host: e.host.as_str().to_string(),
                port: e.port,
            }),
        },
        version: template_version(v),
        external_database: external_database(site, values.db_password.as_deref().unwrap_or_default()),
        external_redis: external_redis(site, values.redis_password.as_deref().unwrap_or_default()),
        proxy: Proxy { http_proxy: "", https_proxy: "", no_proxy: "", components: proxy_components(v) },
        upload_purging: v.at_least(2, 5).then_some(UploadPurging {
            enabled: true,
            age: "168h",
            interval: "24h",
            dryrun: false,
        }),
        // The same on every node (the template warns that mixed settings corrupt data).
        cache: v.at_least(2, 6).then_some(Cache { enabled: false, expire_hours: 24 }),
        // Harbor's proxy serves /metrics on this port (`?comp=` picks the component), and the
        // components serve their own on the same port inside the Docker network.
        metric: crate::render::monitoring::harbor_metrics_port(site, ctx.host).map(|port| Metric {
            enabled: true,
            port,
            path: "/metrics",
        }),
    };
    let body = serde_yaml::to_string(&yml).unwrap_or_default();
    format!(
        "# Generated by harbor-ha for Harbor {v} on {} ({}). Do not edit: re-render instead.\n# TLS ends at the load balancer, so there is no https section; external_url is the LB's URL.\n{body}",
        ctx.host.name, ctx.host.address
    )
}

/// Add the node's `harbor.yml` (it holds the secrets: 0600).
pub fn add(ctx: &RoleCtx, out: &mut HostOut) {
    out.secret_file(format!("{}/harbor.yml", dir(ctx.site)), 0o600, |sec| harbor_yml(ctx, sec));
}
