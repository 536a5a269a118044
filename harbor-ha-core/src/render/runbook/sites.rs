//! The README's description of a site: its architecture and the backends Harbor uses
//! (storage, database, Redis, load balancer), then what must be in place before installing.

use std::fmt::Write;

use super::{code, code_list, external_url, first_harbor, url_host};
use crate::model::enums::{Affinity, Role, SiteMode};
use crate::model::ids::Text;
use crate::model::resolved::{Database, Host, Redis, RedisServer, Site, Storage, Tls};
use crate::model::secret::Secret;
use crate::render::harbor::harbor_databases;

/// The list that opens a site's section, ending with a blank line.
pub(super) fn summary(s: &mut String, site: &Site) {
    let _ = writeln!(s, "- Architecture: {}", architecture(site));
    let _ = writeln!(s, "- Harbor version: {}", site.harbor.version);
    let _ = writeln!(s, "- external_url: {}", code(external_url(site)));
    let _ = writeln!(s, "- Storage: {}", storage_desc(site));
    let _ = writeln!(s, "- Database: {}", database_desc(site));
    let _ = writeln!(s, "- Redis: {}", redis_desc(site));
    let _ = writeln!(s, "- Load balancer: {}", lb_desc(site));
    let _ = writeln!(s, "- Admin password (user `admin`): from {}\n", secret_source(&site.harbor.admin_password));
}

/// What each host needs before its install.sh runs, ending with a blank line.
pub(super) fn prerequisites(s: &mut String, site: &Site) {
    let v = site.harbor.version;
    let _ = writeln!(
        s,
        "- Root (or sudo) on every host, which runs the OS in the table and reaches its package repositories."
    );
    if site.harbor_nodes().count() > 0 {
        let _ = writeln!(
            s,
            "- On each Harbor node, the offline installer `harbor-offline-installer-v{v}.tgz` unpacked into {}: `tar xzf harbor-offline-installer-v{v}.tgz -C {}` gives {}.",
            code(&site.harbor.install_dir),
            site.harbor.install_dir,
            code(format!("{}/harbor/", site.harbor.install_dir.as_str().trim_end_matches('/')))
        );
    }
    if let Some(lb) = &site.lb {
        if let Tls::Files(f) = &lb.tls {
            let _ = writeln!(
                s,
                "- On each load balancer, the certificate {} and key {} for {}.",
                code(&f.certificate),
                code(&f.key),
                code(&lb.server_name)
            );
        }
        let target =
            lb.vip.map(|a| a.to_string()).or_else(|| site.hosts_with(Role::Lb).next().map(|h| h.address.to_string()));
        if let Some(t) = target {
            let _ = writeln!(s, "- Clients resolve {} to {}.", code(&lb.server_name), code(t));
        }
    }
    s.push('\n');
}

/// "each node", or "the node" for a single-node site.
fn each_node(site: &Site) -> &'static str {
    if site.harbor_nodes().count() > 1 {
        "each node"
    } else {
        "the node"
    }
}

/// Where a secret comes from (never its value).
fn secret_source(s: &Secret) -> String {
    match s {
        Secret::Env { env } => format!("environment variable `{env}`"),
        Secret::File { file } => format!("file `{file}`"),
        Secret::Literal(_) => "a literal value in the topology file".to_string(),
    }
}

fn architecture(site: &Site) -> String {
    let n = site.harbor_nodes().count();
    match site.mode {
        SiteMode::Replication => format!(
            "dual master (mode replication): {n} self-contained Harbor nodes, each with its own storage, database and Redis, kept in sync by bidirectional push replication"
        ),
        SiteMode::SharedStorage if n <= 1 => "single node: one Harbor node (not highly available)".to_string(),
        SiteMode::SharedStorage => {
            format!("shared storage: {n} Harbor nodes share one storage backend, one database and one Redis")
        }
    }
}

fn storage_desc(site: &Site) -> String {
    let or_none = |o: &Option<Text>| o.as_ref().map_or(String::new(), |t| t.as_str().to_string());
    match &site.storage {
        Storage::Local => {
            let dv = first_harbor(site).map(|h| h.data_volume.to_string()).unwrap_or_default();
            format!("{}'s local data volume {}", each_node(site), code(dv))
        }
        Storage::Nfs(n) => {
            let server = match &n.server_host {
                Some(h) => format!("installed on {} by this bundle", code(h)),
                None => "an existing server, not installed by this bundle".to_string(),
            };
            format!(
                "NFS {} ({server}), mounted at {} on every Harbor node with options {}",
                code(format!("{}:{}", url_host(n.server), n.export)),
                code(&n.mount),
                code(&n.options)
            )
        }
        Storage::S3(x) => {
            let ep = x.regionendpoint.as_ref().map(|e| format!(" at {}", code(e))).unwrap_or_default();
            format!("S3 bucket {}{ep}", code(or_none(&x.bucket)))
        }
        Storage::Swift(x) => format!("Swift container {}", code(or_none(&x.container))),
        Storage::Azure(x) => format!("Azure container {}", code(or_none(&x.container))),
        Storage::Gcs(x) => format!("GCS bucket {}", code(or_none(&x.bucket))),
        Storage::Oss(x) => format!("OSS bucket {}", code(or_none(&x.bucket))),
    }
}

fn database_desc(site: &Site) -> String {
    match &site.database {
        Database::Internal => format!("Harbor's internal PostgreSQL container on {}", each_node(site)),
        Database::External(db) => {
            let at = code(format!("{}:{}", db.host, db.port));
            let dbs = code_list(harbor_databases(site));
            if let Some(c) = &db.cluster {
                let members = code_list(c.members.iter().map(|m| &m.name));
                let sync = if c.synchronous { "synchronous" } else { "asynchronous" };
                return format!(
                    "a PostgreSQL {} cluster installed on {members} (Patroni, etcd on {}, {sync} replication), reached at {at} through HAProxy on the LB hosts, user {}, databases {dbs}, sslmode {}",
                    db.version.postgres_text(),
                    code_list(c.dcs.iter().map(|m| &m.name)),
                    code(&db.username),
                    code(db.ssl_mode.as_str())
                );
            }
            match &db.installed_on {
                Some(h) => format!(
                    "PostgreSQL {} installed on {} ({at}), user {}, databases {dbs}, sslmode {}",
                    db.version.postgres_text(),
                    code(h),
                    code(&db.username),
                    code(db.ssl_mode.as_str())
                ),
                None => format!(
                    "an existing PostgreSQL at {at}, not installed by this bundle: it must let user {} in from every Harbor node and hold the databases {dbs}",
                    code(&db.username)
                ),
            }
        }
    }
}

fn redis_desc(site: &Site) -> String {
    match &site.redis {
        Redis::Internal => format!("Harbor's internal Redis container on {}", each_node(site)),
        Redis::External(r) => {
            let idx = format!(
                "database indexes: core 0, registry {}, jobservice {}, trivy {}",
                r.db_index.registry, r.db_index.jobservice, r.db_index.trivy
            );
            let auth = if r.password.is_some() { "password-protected" } else { "no password" };
            if let Some(sn) = r.sentinel() {
                return format!(
                    "existing Redis Sentinel, master set {}, sentinels {} ({auth}; {idx})",
                    code(&sn.master_set),
                    code_list(&sn.hosts)
                );
            }
            if let Some(c) = r.cluster() {
                let via = match &c.proxy {
                    Some(p) => format!(
                        "through the proxy at {} on the LB hosts (Harbor < 2.1)",
                        code(format!("{}:{}", p.address, r.port))
                    ),
                    None => format!("through Sentinel (master set {})", code(&c.master_set)),
                };
                return format!(
                    "a Redis cluster installed on {} (one master, replicas), Sentinels on {}, reached {via} ({auth}; {idx})",
                    code_list(c.data.iter().map(|m| &m.name)),
                    code_list(c.sentinels.iter().map(|m| &m.name))
                );
            }
            let RedisServer::Single { host, installed_on } = &r.server else { return String::new() };
            let at = code(format!("{host}:{}", r.port));
            match installed_on {
                Some(h) => format!("Redis installed on {} ({at}, {auth}; {idx})", code(h)),
                None => format!("an existing Redis at {at}, not installed by this bundle ({auth}; {idx})"),
            }
        }
    }
}

fn lb_desc(site: &Site) -> String {
    let lbs: Vec<&Host> = site.hosts_with(Role::Lb).collect();
    let Some(lb) = site.lb.as_ref().filter(|_| !lbs.is_empty()) else {
        return "none: clients reach the Harbor node directly".to_string();
    };
    let names = code_list(lbs.iter().map(|h| &h.name));
    let vip = match lb.vip {
        Some(v) if lbs.len() > 1 => format!(" holding the virtual IP {} (keepalived)", code(v)),
        Some(v) => format!(" with the virtual IP {}", code(v)),
        None => String::new(),
    };
    let tls = match &lb.tls {
        Tls::None => "plain HTTP".to_string(),
        Tls::Files(f) => format!("TLS with certificate {} and key {}", code(&f.certificate), code(&f.key)),
        Tls::SelfSigned(f) => format!(
            "TLS with the site's self-signed certificate (made once into `secrets/{}/`, the same on every LB) at {}",
            site.name,
            code(&f.certificate)
        ),
    };
    let aff = match lb.affinity {
        Affinity::IpHash => "ip_hash affinity",
        Affinity::None => "round robin",
    };
    format!("Nginx on {names}{vip}; server_name {}, {tls}, {aff}", code(&lb.server_name))
}

/// `### Docker clients`: a site whose LBs serve the bundle's self-signed certificate: its
/// fingerprint, and how a Docker client trusts it.
pub(super) fn docker_clients(s: &mut String, site: &Site, fingerprint: &str) {
    let Some(lb) = &site.lb else { return };
    let host = crate::render::nginx::host_header(lb);
    let _ = writeln!(s, "### Docker clients (self-signed certificate)\n");
    let _ = writeln!(
        s,
        "Every load balancer of the site serves the same certificate, `secrets/{}/lb_certificate.pem` (made once, reused by every render into this directory, so a VIP failover changes nothing for clients). Its SHA-256 fingerprint:\n",
        site.name
    );
    let _ = writeln!(s, "    {fingerprint}\n");
    let _ = writeln!(s, "On every Docker client (and every Harbor node that replicates from this site), as root:\n");
    let _ = writeln!(s, "```sh");
    let _ =
        writeln!(s, "install -D -m 0644 secrets/{}/lb_certificate.pem /etc/docker/certs.d/{host}/ca.crt", site.name);
    let _ = writeln!(s, "openssl x509 -in /etc/docker/certs.d/{host}/ca.crt -noout -fingerprint -sha256   # must print the fingerprint above");
    let _ = writeln!(s, "```\n");
}
