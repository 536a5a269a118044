//! Harbor nodes: `harbor.yml` (typed structs serialized with serde, per version), Docker
//! and Compose, sysctl, the NFS client with its mount ordering, data ownership, the
//! offline installer, and the shared-secrets step.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;
use serde_yaml::Value;

use super::os::PkgManager;
use super::quote::{octal_field, sh, systemd_word};
use super::{HostOut, RoleCtx, Secrets};
use crate::model::enums::{Component, SslMode};
use crate::model::ids::{SentinelAddr, Text};
use crate::model::resolved::{Database, Redis, RedisServer, Site, Storage};
use crate::model::version::Version;
use crate::secrets::SiteSecrets;

// ---- harbor.yml view model -------------------------------------------------------------

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

// ---- version facts ----------------------------------------------------------------------

/// `_version` of the template of Harbor `v` (2.1 still says 2.0.0).
#[must_use]
pub fn template_version(v: Version) -> String {
    if v.major == 1 {
        "1.10.0".to_string()
    } else if v.minor <= 1 {
        "2.0.0".to_string()
    } else {
        format!("2.{}.0", v.minor)
    }
}

/// Flags for `prepare` and `install.sh` of Harbor `v` with `components`.
#[must_use]
pub fn installer_flags(site: &Site) -> Vec<&'static str> {
    let v = site.harbor.version;
    let c = &site.harbor.components;
    let mut f = Vec::new();
    if c.contains(&Component::Notary) && !v.at_least(2, 9) {
        f.push("--with-notary");
    }
    if c.contains(&Component::Clair) && !v.at_least(2, 2) {
        f.push("--with-clair");
    }
    if c.contains(&Component::Chartmuseum) && !v.at_least(2, 8) {
        f.push("--with-chartmuseum");
    }
    if c.contains(&Component::Trivy) && v.major >= 2 {
        f.push("--with-trivy");
    }
    f
}

/// The databases Harbor needs on an external PostgreSQL: the core DB, plus Clair's and
/// Notary's when those components are enabled (1.10–2.1 and 1.10–2.8).
#[must_use]
pub fn harbor_databases(site: &Site) -> Vec<String> {
    let Database::External(db) = &site.database else {
        return Vec::new();
    };
    let mut v = vec![db.db_name.as_str().to_string()];
    let ver = site.harbor.version;
    if site.harbor.components.contains(&Component::Clair) && !ver.at_least(2, 2) {
        v.push("clair".into());
    }
    if site.harbor.components.contains(&Component::Notary) && !ver.at_least(2, 9) {
        v.push("notaryserver".into());
        v.push("notarysigner".into());
    }
    v
}

/// The health endpoint of Harbor `v`.
#[must_use]
pub fn ping_path(v: Version) -> &'static str {
    if v.major == 1 {
        "/api/ping"
    } else {
        "/api/v2.0/ping"
    }
}

fn ssl_mode(m: SslMode) -> &'static str {
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
#[must_use]
pub fn harbor_yml(ctx: &RoleCtx, sec: Secrets) -> String {
    let site = ctx.site;
    let v = site.harbor.version;
    let comps = &site.harbor.components;
    let has = |c: Component| comps.contains(&c);
    let external_database = match &site.database {
        Database::Internal => None,
        Database::External(db) => {
            let conn = |name: &str| DbConn {
                host: db.host.to_string(),
                port: db.port,
                db_name: name.to_string(),
                username: db.username.as_str().to_string(),
                password: sec.values.db_password.clone().unwrap_or_default(),
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
    };
    let external_redis = match &site.redis {
        Redis::Internal => None,
        Redis::External(r) => {
            let split_port = !v.at_least(2, 1);
            let host = match &r.server {
                RedisServer::Sentinel(sn) => sn.hosts.iter().map(SentinelAddr::as_str).collect::<Vec<_>>().join(","),
                RedisServer::Single { host, .. } if split_port => host.to_string(),
                RedisServer::Single { host, .. } => format!("{host}:{}", r.port),
            };
            Some(ExternalRedis {
                host,
                port: split_port.then_some(r.port),
                sentinel_master_set: r.sentinel().map(|s| s.master_set.as_str().to_string()),
                username: if v.at_least(2, 8) { r.username.as_ref().map(|u| u.as_str().to_string()) } else { None },
                password: sec.values.redis_password.clone().unwrap_or_default(),
                registry_db_index: r.db_index.registry,
                jobservice_db_index: r.db_index.jobservice,
                chartmuseum_db_index: (!v.at_least(2, 8)).then_some(r.db_index.chartmuseum),
                clair_db_index: (!v.at_least(2, 2)).then_some(r.db_index.clair),
                trivy_db_index: (v.major >= 2).then_some(r.db_index.trivy),
            })
        }
    };
    let mut proxy_components = vec!["core", "jobservice"];
    if !v.at_least(2, 2) {
        proxy_components.push("clair");
    }
    if v.major >= 2 {
        proxy_components.push("trivy");
    }
    let url = site.harbor.external_url.as_str().trim_end_matches('/').to_string();
    let yml = HarborYml {
        hostname: ctx.host.address.to_string(),
        http: Http { port: ctx.host.http_port },
        external_url: url,
        harbor_admin_password: sec.values.admin_password.clone(),
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
        },
        version: template_version(v),
        external_database,
        external_redis,
        proxy: Proxy { http_proxy: "", https_proxy: "", no_proxy: "", components: proxy_components },
        upload_purging: v.at_least(2, 5).then_some(UploadPurging {
            enabled: true,
            age: "168h",
            interval: "24h",
            dryrun: false,
        }),
        // The same on every node (the template warns that mixed settings corrupt data).
        cache: v.at_least(2, 6).then_some(Cache { enabled: false, expire_hours: 24 }),
    };
    let body = serde_yaml::to_string(&yml).unwrap_or_default();
    format!(
        "# Generated by harbor-ha for Harbor {v} on {} ({}). Do not edit: re-render instead.\n# TLS ends at the load balancer, so there is no https section; external_url is the LB's URL.\n{body}",
        ctx.host.name, ctx.host.address
    )
}

// ---- install steps ------------------------------------------------------------------------

/// The environment file holding the pinned per-install secrets (sourced by install.sh).
fn secrets_env(ctx: &RoleCtx, s: &SiteSecrets) -> String {
    format!(
        "# Shared by every Harbor node of site {}: generated once by harbor-ha.\nCORE_SECRET={}\nJOBSERVICE_SECRET={}\nCSRF_KEY={}\nXSRF_KEY={}\nREGISTRY_HTTP_SECRET={}\nROBOT_SCANNER_NAME_PREFIX={}\n",
        ctx.site.name, s.core_secret, s.jobservice_secret, s.csrf_key, s.xsrf_key, s.registry_http_secret, s.robot_scanner_prefix
    )
}

/// Add the Harbor node's files and steps.
pub fn render(ctx: &RoleCtx, out: &mut HostOut) {
    let site = ctx.site;
    let v = site.harbor.version;
    let harbor_dir = format!("{}/harbor", site.harbor.install_dir.as_str().trim_end_matches('/'));
    let data = ctx.host.data_volume.as_str().trim_end_matches('/').to_string();
    let data = if data.is_empty() { "/".to_string() } else { data };
    let secret_env = "/etc/harbor-ha/shared-secrets.env";

    // Docker, compose, sysctl.
    out.file(format!("{}/90-harbor.conf", ctx.os.sysctl_dir), "# harbor-ha: Docker networking for Harbor's containers.\nnet.ipv4.ip_forward = 1\nnet.bridge.bridge-nf-call-iptables = 1\nnet.bridge.bridge-nf-call-ip6tables = 1\n", 0o644);
    let mut b = String::new();
    if !ctx.os.docker_repo.is_empty() {
        let _ = writeln!(b, "{}", ctx.os.docker_repo);
    }
    let _ = writeln!(b, "pkgs {}", ctx.os.docker_pkgs.iter().map(|p| sh(p)).collect::<Vec<_>>().join(" "));
    if ctx.os.pkg != PkgManager::Apt {
        // Harbor 1.10's install.sh calls `docker-compose`; the plugin provides `docker compose`.
        out.file("/usr/local/bin/docker-compose", "#!/bin/sh\n# harbor-ha: Harbor's installer calls docker-compose; forward to the compose plugin.\nexec docker compose \"$@\"\n", 0o755);
        let _ = writeln!(b, "command -v docker-compose >/dev/null 2>&1 || put /usr/local/bin/docker-compose 0755");
    }
    let _ = writeln!(b, "enable_now docker");
    let _ = writeln!(b, "put {} 0644", sh(&format!("{}/90-harbor.conf", ctx.os.sysctl_dir)));
    let _ = writeln!(
        b,
        "if [ \"$PUT_CHANGED\" -eq 1 ]; then modprobe br_netfilter || true; sysctl --system >/dev/null; fi"
    );
    out.step("Docker engine, Compose and kernel settings", b);

    // Shared storage: NFS client, fstab, mount ordering.
    let mut b = String::new();
    let _ = writeln!(b, "mkdir -p {}", sh(&data));
    if let Storage::Nfs(n) = &site.storage {
        let _ = writeln!(b, "pkgs {}", ctx.os.nfs_client.iter().map(|p| sh(p)).collect::<Vec<_>>().join(" "));
        let server = match n.server {
            std::net::IpAddr::V6(a) => format!("[{a}]"),
            a @ std::net::IpAddr::V4(_) => a.to_string(),
        };
        let line = format!(
            "{} {} nfs {} 0 0",
            octal_field(&format!("{server}:{}", n.export.as_str())),
            octal_field(n.mount.as_str()),
            octal_field(n.options.as_str())
        );
        let _ = writeln!(b, "ensure_line /etc/fstab {}", sh(&line));
        let _ = writeln!(b, "mountpoint -q {m} || {{ mount {m}; CHANGED=1; }}", m = sh(n.mount.as_str()));
    }
    // Docker must not start before the data volume is mounted: otherwise Harbor writes
    // into the empty local directory under the mount point.
    out.file(
        "/etc/systemd/system/docker.service.d/harbor-data-volume.conf",
        format!(
            "# harbor-ha: start Docker only once Harbor's data volume is mounted.\n[Unit]\nRequiresMountsFor={}\n",
            systemd_word(&data)
        ),
        0o644,
    );
    let _ = writeln!(b, "put /etc/systemd/system/docker.service.d/harbor-data-volume.conf 0644");
    let _ = writeln!(b, "if [ \"$PUT_CHANGED\" -eq 1 ]; then systemctl daemon-reload; fi");
    // Harbor's containers run as uid 10000; pre-own the paths so root_squash does no harm.
    let _ = writeln!(b, "for d in registry job_logs secret secret/keys secret/core secret/registry; do");
    let _ = writeln!(b, "  mkdir -p {}/\"$d\"", sh(&data));
    let _ = writeln!(
        b,
        "  if [ \"$(stat -c '%u:%g' {}/\"$d\")\" != 10000:10000 ]; then chown 10000:10000 {}/\"$d\"; CHANGED=1; fi",
        sh(&data),
        sh(&data)
    );
    let _ = writeln!(b, "done");
    out.step(
        if matches!(site.storage, Storage::Nfs(_)) {
            "shared data volume: NFS mount, mount ordering, ownership (uid 10000)"
        } else {
            "data volume: mount ordering, ownership (uid 10000)"
        },
        b,
    );

    // Keys prepare creates once: pre-seed them so that every node has the same ones.
    type KeyFile = (String, fn(&SiteSecrets) -> String);
    let keyfiles: [KeyFile; 3] = [
        // secretkey must be exactly 16 characters: no trailing newline.
        (format!("{data}/secret/keys/secretkey"), |s| s.secret_key.trim_end().to_string()),
        (format!("{data}/secret/core/private_key.pem"), |s| s.token_private_key.clone()),
        (format!("{data}/secret/registry/root.crt"), |s| s.token_certificate.clone()),
    ];
    let mut b = String::new();
    for (path, content) in keyfiles {
        out.secret_file(path.clone(), 0o600, |sec| content(sec.shared));
        let _ = writeln!(b, "put {} 0600 10000:10000", sh(&path));
    }
    out.secret_file(secret_env, 0o600, |sec| secrets_env(ctx, sec.shared));
    let _ = writeln!(b, "put {secret_env} 0600");
    out.step("shared keys: secretkey and token signing pair, identical on every node (before prepare)", b);

    // Offline installer: prepare + install.sh with the version's component flags.
    out.secret_file(format!("{harbor_dir}/harbor.yml"), 0o600, |sec| harbor_yml(ctx, sec));
    let flags = installer_flags(site).join(" ");
    let flags_sh = if flags.is_empty() { String::new() } else { format!(" {flags}") };
    let mut b = String::new();
    let _ = writeln!(b, "HARBOR_DIR={}", sh(&harbor_dir));
    let _ = writeln!(
        b,
        "[ -x \"$HARBOR_DIR/install.sh\" ] || die {}",
        sh(&format!(
            "unpack harbor-offline-installer-v{v}.tgz into {d} first (tar xzf harbor-offline-installer-v{v}.tgz -C {d})",
            d = site.harbor.install_dir.as_str()
        ))
    );
    let _ = writeln!(b, "put \"$HARBOR_DIR/harbor.yml\" 0600");
    let _ = writeln!(b, "FRESH=0");
    let _ = writeln!(b, "if [ ! -f \"$HARBOR_DIR/docker-compose.yml\" ]; then");
    let _ = writeln!(b, "  (cd \"$HARBOR_DIR\" && ./install.sh{flags_sh})");
    let _ = writeln!(b, "  FRESH=1; CHANGED=1");
    let _ = writeln!(b, "elif [ \"$PUT_CHANGED\" -eq 1 ]; then");
    let _ = writeln!(b, "  (cd \"$HARBOR_DIR\" && ./prepare{flags_sh})");
    let _ = writeln!(b, "  FRESH=1");
    let _ = writeln!(b, "fi");
    out.step(format!("Harbor {v} offline installer (prepare, then install.sh{flags_sh})"), b);

    // After prepare: overwrite the per-run secrets with the shared ones.
    let mut b = String::new();
    let _ = writeln!(b, "# shellcheck disable=SC1091");
    let _ = writeln!(b, ". {secret_env}");
    let _ = writeln!(b, "PINNED=0");
    let _ = writeln!(b, "# set_kv FILE KEY VALUE: make KEY=VALUE the file's line for KEY.");
    let _ = writeln!(b, "set_kv() {{");
    let _ = writeln!(b, "  [ -f \"$1\" ] || die \"$1 is missing: did prepare run?\"");
    let _ = writeln!(b, "  grep -qx \"$2=$3\" \"$1\" && return 0");
    let _ = writeln!(b, "  if grep -q \"^$2=\" \"$1\"; then sed -i \"s|^$2=.*|$2=$3|\" \"$1\"; else printf '%s=%s\\n' \"$2\" \"$3\" >> \"$1\"; fi");
    let _ = writeln!(b, "  PINNED=1");
    let _ = writeln!(b, "}}");
    let _ = writeln!(b, "CFG=\"$HARBOR_DIR/common/config\"");
    let _ = writeln!(b, "for f in core/env jobservice/env registryctl/env; do");
    let _ = writeln!(b, "  set_kv \"$CFG/$f\" CORE_SECRET \"$CORE_SECRET\"");
    let _ = writeln!(b, "  set_kv \"$CFG/$f\" JOBSERVICE_SECRET \"$JOBSERVICE_SECRET\"");
    let _ = writeln!(b, "done");
    if v.major >= 2 {
        let _ = writeln!(b, "set_kv \"$CFG/core/env\" CSRF_KEY \"$CSRF_KEY\"");
    } else {
        let _ = writeln!(b, "if ! grep -qx \"XSRFKey = $XSRF_KEY\" \"$CFG/core/app.conf\"; then");
        let _ = writeln!(b, "  sed -i \"s|^XSRFKey *=.*|XSRFKey = $XSRF_KEY|\" \"$CFG/core/app.conf\"; PINNED=1");
        let _ = writeln!(b, "fi");
    }
    if v.at_least(2, 8) {
        let _ = writeln!(b, "set_kv \"$CFG/core/env\" ROBOT_SCANNER_NAME_PREFIX \"$ROBOT_SCANNER_NAME_PREFIX\"");
    }
    let _ = writeln!(b, "# The registry's upload-state secret (http.secret): chunks of one upload may reach any node.");
    let _ = writeln!(b, "if ! grep -qx \"  secret: $REGISTRY_HTTP_SECRET\" \"$CFG/registry/config.yml\"; then");
    let _ = writeln!(
        b,
        "  sed -i \"s|^  secret: .*|  secret: $REGISTRY_HTTP_SECRET|\" \"$CFG/registry/config.yml\"; PINNED=1"
    );
    let _ = writeln!(b, "fi");
    if !v.at_least(2, 3) && site.lb.is_some() {
        let _ =
            writeln!(b, "# Harbor < 2.3: its nginx overwrites the LB's X-Forwarded-Proto with http; drop that line.");
        let _ = writeln!(b, "# shellcheck disable=SC2016 # the $ is nginx's, not the shell's");
        let _ =
            writeln!(b, "if grep -q 'proxy_set_header X-Forwarded-Proto \\$scheme;' \"$CFG/nginx/nginx.conf\"; then");
        let _ = writeln!(
            b,
            "  sed -i '/proxy_set_header X-Forwarded-Proto \\$scheme;/d' \"$CFG/nginx/nginx.conf\"; PINNED=1"
        );
        let _ = writeln!(b, "fi");
    }
    let _ = writeln!(b, "if [ \"$FRESH\" -eq 1 ] || [ \"$PINNED\" -eq 1 ]; then");
    let _ = writeln!(b, "  CHANGED=1");
    let _ = writeln!(
        b,
        "  if docker compose version >/dev/null 2>&1; then DC=(docker compose); else DC=(docker-compose); fi"
    );
    let _ = writeln!(b, "  (cd \"$HARBOR_DIR\" && \"${{DC[@]}}\" down && \"${{DC[@]}}\" up -d)");
    let _ = writeln!(b, "fi");
    let ping = format!("http://127.0.0.1:{}{}", ctx.host.http_port, ping_path(v));
    let _ = writeln!(b, "for _ in $(seq 1 60); do curl -fsS {} >/dev/null 2>&1 && break; sleep 2; done", sh(&ping));
    let _ = writeln!(b, "curl -fsS {} >/dev/null || die 'Harbor does not answer {}'", sh(&ping), ping);
    out.step("pin the shared secrets after prepare (core, jobservice, CSRF, registry http secret) and start Harbor", b);
}
