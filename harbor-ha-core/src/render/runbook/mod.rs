//! The bundle-root files: `README.md` (the runbook), `inventory.ini` (Ansible),
//! `deploy.sh` (runs every host's install.sh over ssh, in install order) and `verify.sh`
//! (checks a deployed cluster from a load balancer host, the one place the firewall lets
//! reach every Harbor node).
//!
//! They name hosts, addresses, paths, URLs and where secrets came from, never a secret
//! value. Every topology value in the scripts goes through [`sh`](super::quote::sh).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::net::IpAddr;

use super::harbor::{harbor_databases, installer_flags, ping_path};
use super::os;
use crate::bundle::Bundle;
use crate::model::enums::{Affinity, EdgeMode, OsFamily, Role, SiteMode, SslMode};
use crate::model::ids::Text;
use crate::model::resolved::{Database, Edge, Host, Redis, Site, Storage, Tls, Topology};
use crate::model::resolved::{RedisServer, Trigger};
use crate::model::secret::Secret;

use super::PlanEntry as Plan;

mod deploy;
mod inventory;
mod token;
mod verify;

pub use token::token_key_id;

/// What the runbook is told about the rest of the bundle (it never reads the bundle).
pub struct Facts<'f, 'a> {
    /// Every host in install order, site by site, with the target paths of its files.
    pub plans: &'f [Plan<'a>],
    /// Per site name, the key id of its token certificate (what `verify.sh` expects).
    pub token_key_ids: &'f BTreeMap<String, String>,
    /// The replication scripts of the bundle, sorted.
    pub replication_scripts: &'f [String],
}

/// Add `README.md`, `inventory.ini`, `deploy.sh` and `verify.sh`.
pub fn render(topo: &Topology, facts: &Facts, bundle: &mut Bundle) {
    let plans = facts.plans;
    bundle.add("README.md", readme(topo, plans, facts.replication_scripts), 0o644);
    inventory::render(topo, plans, bundle);
    deploy::render(topo, plans, bundle);
    verify::render(topo, plans, facts.token_key_ids, bundle);
}

// ---- small pure helpers ---------------------------------------------------------------------

fn ssl_mode_name(m: SslMode) -> &'static str {
    match m {
        SslMode::Disable => "disable",
        SslMode::Require => "require",
        SslMode::VerifyCa => "verify-ca",
        SslMode::VerifyFull => "verify-full",
    }
}

fn role_name(r: Role) -> &'static str {
    match r {
        Role::Nfs => "nfs",
        Role::Postgres => "postgres",
        Role::Redis => "redis",
        Role::Harbor => "harbor",
        Role::Lb => "lb",
    }
}

fn os_name(o: OsFamily) -> &'static str {
    match o {
        OsFamily::Centos7 => "centos7",
        OsFamily::Rocky9 => "rocky9",
        OsFamily::Debian12 => "debian12",
        OsFamily::Ubuntu2204 => "ubuntu22.04",
    }
}

fn roles_of(h: &Host) -> String {
    h.roles.iter().map(|r| role_name(*r)).collect::<Vec<_>>().join(", ")
}

/// An address as the host part of a URL (IPv6 in brackets).
fn url_host(a: IpAddr) -> String {
    match a {
        IpAddr::V6(v6) => format!("[{v6}]"),
        IpAddr::V4(v4) => v4.to_string(),
    }
}

/// `external_url` as written into harbor.yml (no trailing slash).
fn external_url(site: &Site) -> String {
    site.harbor.external_url.as_str().trim_end_matches('/').to_string()
}

/// The plans of `site`, in install order.
fn site_plans<'p, 'a>(plans: &'p [Plan<'a>], site: &Site) -> Vec<&'p Plan<'a>> {
    plans.iter().filter(|p| p.0.index == site.index).collect()
}

/// "each node", or "the node" for a single-node site.
fn each_node(site: &Site) -> &'static str {
    if site.harbor_nodes().count() > 1 {
        "each node"
    } else {
        "the node"
    }
}

fn first_harbor(site: &Site) -> Option<&Host> {
    site.harbor_nodes().next()
}

fn is_first_harbor(site: &Site, h: &Host) -> bool {
    first_harbor(site).is_some_and(|f| f.index == h.index)
}

fn code(s: impl std::fmt::Display) -> String {
    format!("`{s}`")
}

fn code_list<I: IntoIterator<Item = T>, T: std::fmt::Display>(it: I) -> String {
    it.into_iter().map(code).collect::<Vec<_>>().join(", ")
}

fn secret_source(s: &Secret) -> String {
    match s {
        Secret::Env { env } => format!("environment variable `{env}`"),
        Secret::File { file } => format!("file `{file}`"),
        Secret::Literal(_) => "a literal value in the topology file".to_string(),
    }
}

// ---- README.md --------------------------------------------------------------------------

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
            match &db.installed_on {
                Some(h) => format!(
                    "PostgreSQL {} installed on {} ({at}), user {}, databases {dbs}, sslmode {}",
                    db.version.postgres_text(),
                    code(h),
                    code(&db.username),
                    code(ssl_mode_name(db.ssl_mode))
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
        Tls::SelfSigned(f) => {
            format!("TLS with a self-signed certificate the LB script creates at {}", code(&f.certificate))
        }
    };
    let aff = match lb.affinity {
        Affinity::IpHash => "ip_hash affinity",
        Affinity::None => "round robin",
    };
    format!("Nginx on {names}{vip}; server_name {}, {tls}, {aff}", code(&lb.server_name))
}

/// What a host's install.sh does, one line per role (from its roles and the site).
fn host_does(site: &Site, h: &Host) -> Vec<String> {
    let mut v = Vec::new();
    let oi = os::info(h.os);
    v.push(
        "installs and starts chrony (token validation fails on clock skew) and opens its roles' ports only to the hosts that need them".to_string(),
    );
    let harbor_addrs: Vec<String> = site.harbor_nodes().map(|n| n.address.to_string()).collect();
    if h.has(Role::Nfs) {
        if let Storage::Nfs(n) = &site.storage {
            v.push(format!(
                "NFS server: exports {} to exactly {}, the directory owned 10000:10000 (Harbor's uid and gid)",
                code(&n.export),
                code_list(&n.clients)
            ));
        }
    }
    if h.has(Role::Postgres) {
        if let Database::External(db) = &site.database {
            v.push(format!(
                "PostgreSQL {}: listens on {} port {}, creates user {} and the databases {}, `pg_hba.conf` entries for exactly the Harbor nodes ({}), `max_connections` {}",
                db.version.postgres_text(),
                code(h.address),
                db.port,
                code(&db.username),
                code_list(harbor_databases(site)),
                code_list(&harbor_addrs),
                db.max_connections
            ));
        }
    }
    if h.has(Role::Redis) {
        if let Redis::External(r) = &site.redis {
            let auth = if r.password.is_some() { "password-protected (`requirepass`)" } else { "without a password" };
            v.push(format!("Redis: bound to {} port {}, {auth}", code(h.address), r.port));
        }
    }
    if h.has(Role::Harbor) {
        let ver = site.harbor.version;
        let dv = h.data_volume.as_str().trim_end_matches('/');
        let harbor_dir = format!("{}/harbor", site.harbor.install_dir.as_str().trim_end_matches('/'));
        v.push("Docker engine and Compose, kernel settings for Docker networking".to_string());
        match &site.storage {
            Storage::Nfs(n) => v.push(format!(
                "mounts the NFS share at {} (`/etc/fstab`, `_netdev`) and starts Docker only once it is mounted (`RequiresMountsFor={dv}`), so Harbor never writes into the empty mount point",
                code(&n.mount)
            )),
            _ => v.push(format!("starts Docker only once {} is mounted (`RequiresMountsFor`)", code(dv))),
        }
        let same = if site.harbor_nodes().count() > 1 { " (the same on every node)" } else { "" };
        v.push(format!(
            "owns the data directories under {} by 10000:10000 and puts the generated keys in place before prepare: `secret/keys/secretkey`, `secret/core/private_key.pem`, `secret/registry/root.crt`{same}",
            code(dv)
        ));
        let flags = installer_flags(site);
        let flags = if flags.is_empty() { String::new() } else { format!(" {}", flags.join(" ")) };
        v.push(format!(
            "writes {} (external_url {}, data_volume {}) and runs `./install.sh{flags}` (only `./prepare{flags}` when Harbor is already installed and harbor.yml changed)",
            code(format!("{harbor_dir}/harbor.yml")),
            code(external_url(site)),
            code(dv)
        ));
        let csrf = if ver.major >= 2 { "CSRF key" } else { "CSRF key (`XSRFKey`)" };
        v.push(format!(
            "pins what prepare regenerates on every run (core and jobservice secrets, {csrf}, registry http secret) from `/etc/harbor-ha/shared-secrets.env`, restarts Harbor when something changed and waits for `http://127.0.0.1:{}{}`",
            h.http_port,
            ping_path(ver)
        ));
        if !ver.at_least(2, 3) && site.lb.is_some() {
            v.push(
                "Harbor < 2.3: removes the line of Harbor's own nginx that overwrites the LB's `X-Forwarded-Proto`"
                    .into(),
            );
        }
    }
    if h.has(Role::Lb) {
        if let Some(lb) = &site.lb {
            let ups = code_list(site.harbor_nodes().map(|n| format!("{}:{}", url_host(n.address), n.http_port)));
            let mut s = format!(
                "Nginx: upstream {ups} with passive health checks, `client_max_body_size 0`, no buffering on `/v2/` (`proxy_request_buffering off`, `proxy_buffering off`, HTTP/1.1, 900 s timeouts), `X-Forwarded-Proto`, `X-Forwarded-For` and the Host header with its port"
            );
            if matches!(lb.tls, Tls::SelfSigned { .. }) {
                s.push_str("; creates the self-signed certificate");
            }
            if oi.selinux {
                s.push_str("; SELinux boolean `httpd_can_network_connect`");
            }
            v.push(s);
            if site.hosts_with(Role::Lb).count() == 2 {
                if let Some(vip) = lb.vip {
                    v.push(format!(
                        "keepalived: holds the virtual IP {} while this host's nginx is healthy",
                        code(vip)
                    ));
                }
            }
        }
    }
    v
}

fn trigger_desc(t: &Trigger) -> String {
    match t {
        Trigger::EventBased => "event-based".to_string(),
        Trigger::Manual => "manual".to_string(),
        Trigger::Cron(c) => format!("scheduled {}", code(c)),
    }
}

fn edge_desc(e: &Edge) -> String {
    let (mode, on) = match e.mode {
        EdgeMode::Push => ("push", &e.from),
        EdgeMode::Pull => ("pull", &e.to),
    };
    let mut filters = Vec::new();
    if let Some(r) = &e.filters.repository {
        filters.push(format!("repository {}", code(r)));
    }
    if let Some(t) = &e.filters.tag {
        filters.push(format!("tag {}", code(t)));
    }
    if let Some(l) = &e.filters.label {
        filters.push(format!("label {}", code(l)));
    }
    let filters = if filters.is_empty() { "everything".to_string() } else { filters.join(", ") };
    let del = if e.deletion { ", deletions too" } else { "" };
    format!(
        "{} → {}: {mode} (policy on {}), {}, {filters}{del}, as {}",
        code(&e.from),
        code(&e.to),
        code(on),
        trigger_desc(&e.trigger),
        code(&e.username)
    )
}

fn readme(topo: &Topology, plans: &[Plan], replication_scripts: &[String]) -> String {
    let mut s = String::new();
    let names: Vec<String> = topo.sites.iter().map(|x| x.name.to_string()).collect();
    let _ = writeln!(s, "# Harbor HA deployment: {}\n", names.join(", "));
    let _ = writeln!(
        s,
        "Generated by harbor-ha from the topology file. Do not edit the bundle: change the topology and render again into the same directory (the secrets are reused).\n"
    );
    let _ = writeln!(
        s,
        "Contents: `hosts/<host>/install.sh` (one idempotent script per host, safe to run twice) with the files it installs under `hosts/<host>/files/`; `deploy.sh` (runs them over ssh in order); `verify.sh` (checks the running cluster); `inventory.ini` (the same hosts for Ansible); `secrets/`.\n"
    );

    let _ = writeln!(s, "## Secrets\n");
    let _ = writeln!(
        s,
        "`secrets/<site>/` holds the secrets generated once per site (mode 0600): core and jobservice secrets, CSRF keys, registry http secret, robot scanner prefix, `secretkey`, internal database password and the token signing key pair. Keep them safe and out of version control. Rendering again into the same directory reuses them; losing them means new keys at the next render, and `secretkey` encrypts the credentials Harbor stores (replication endpoints, LDAP bind password).\n"
    );
    let _ = writeln!(
        s,
        "The Harbor nodes' `hosts/<host>/files/` carry secret values too (harbor.yml, `shared-secrets.env`, the keys; mode 0600): copy them over ssh only. This README, `inventory.ini`, `deploy.sh` and `verify.sh` contain none.\n"
    );

    for site in &topo.sites {
        readme_site(&mut s, site, &site_plans(plans, site));
    }

    let _ = writeln!(s, "## Verification\n");
    let _ = writeln!(
        s,
        "Run `./verify.sh` from one of the site's load balancers (bash and curl; DNS is not needed): the bundle's firewall opens the Harbor nodes' HTTP port to the load balancers only. For each site it checks:\n"
    );
    let _ = writeln!(
        s,
        "- every Harbor node answers its health endpoint (`/api/ping` in 1.10, `/api/v2.0/ping` in 2.x) with `Pong`;"
    );
    let _ = writeln!(
        s,
        "- every node signs tokens with the site's key: the key id in an anonymous token from `/service/token` matches `secrets/<site>/token_certificate.pem` (a node with another key causes 401s);"
    );
    let _ = writeln!(
        s,
        "- every node's `/v2/` challenge names the realm `<external_url>/service/token` (a missing or wrong external_url shows here);"
    );
    let _ = writeln!(
        s,
        "- each load balancer host, and the virtual IP, answers `<external_url>` health and `/v2/` through nginx (`curl --resolve`; `-k` for a self-signed certificate);"
    );
    let _ = writeln!(
        s,
        "- with `--ssh`: `secret/core/private_key.pem`, `secret/registry/root.crt` and `secret/keys/secretkey` have the same sha256 on every node (ssh as root, or `--user` with passwordless sudo).\n"
    );
    let _ = writeln!(
        s,
        "It prints PASS or FAIL per check, then `N passed, M failed`, and exits non-zero when a check failed. Then log in through the load balancer (`docker login <server_name>` as `admin`), push an image, and pull it again.\n"
    );

    let dual: Vec<&Site> = topo.sites.iter().filter(|x| x.mode == SiteMode::Replication).collect();
    if !dual.is_empty() || !topo.edges.is_empty() {
        let _ = writeln!(s, "## Replication\n");
        let _ = writeln!(
            s,
            "Replication is applied after the sites are installed and pass `./verify.sh`. When present, `replication/<site>/apply.sh` creates the registry endpoints and replication policies through Harbor's API, and `replication/resync.sh` runs the policies again: run it after a node or site was down, because event-based replication does not replay what was pushed meanwhile.\n"
        );
        if !replication_scripts.is_empty() {
            let _ = writeln!(s, "Replication scripts in this bundle: {}.\n", code_list(replication_scripts));
        }
        for site in &dual {
            let nodes = code_list(site.harbor_nodes().map(|h| &h.name));
            let _ = writeln!(
                s,
                "- site {} (dual master): {nodes} push every change to each other; the field guide calls this unreliable, and a recovered node does not catch up by itself.",
                code(&site.name)
            );
        }
        for e in &topo.edges {
            let _ = writeln!(s, "- {}", edge_desc(e));
        }
        s.push('\n');
    }

    let _ = writeln!(s, "## Troubleshooting\n");
    let _ = writeln!(
        s,
        "- `unauthorized: authentication required` or 401 mid-push after a successful login: the nodes sign tokens with different keys, or their clocks disagree (\"token is not valid yet\"). The bundle puts the same `private_key.pem` and `root.crt` on every node before prepare and runs chrony everywhere; check with `./verify.sh --ssh` and `chronyc tracking`."
    );
    let _ = writeln!(
        s,
        "- `unable to decode token response`, or push commands showing a node's address: external_url. Every node's harbor.yml sets it to the load balancer's URL; `verify.sh` checks the realm."
    );
    let _ = writeln!(
        s,
        "- `CSRF token invalid` in the web UI: the CSRF key differs between nodes (prepare regenerates it on every run). The bundle pins it after prepare; after running `./prepare` by hand, run the node's install.sh again."
    );
    let _ = writeln!(
        s,
        "- `blob upload invalid` or `blob upload unknown`: the registry http secret differs, or the nodes do not see the same storage. The bundle pins the http secret on every node; check that the data volume is mounted (`mountpoint <data_volume>`) or that every node uses the same bucket."
    );
    let _ = writeln!(
        s,
        "- `413 Request Entity Too Large`: a proxy limits the body size. The bundle's nginx sets `client_max_body_size 0`; check any other proxy in front of it."
    );
    let _ = writeln!(
        s,
        "- LDAP login or replication endpoints work on one node only: `secret/keys/secretkey` differs. The bundle puts the same one on every node (`./verify.sh --ssh` compares it)."
    );
    s
}

fn readme_site(s: &mut String, site: &Site, plans: &[&Plan]) {
    let v = site.harbor.version;
    let n_harbor = site.harbor_nodes().count();
    let _ = writeln!(s, "## Site `{}`\n", site.name);
    let _ = writeln!(s, "- Architecture: {}", architecture(site));
    let _ = writeln!(s, "- Harbor version: {v}");
    let _ = writeln!(s, "- external_url: {}", code(external_url(site)));
    let _ = writeln!(s, "- Storage: {}", storage_desc(site));
    let _ = writeln!(s, "- Database: {}", database_desc(site));
    let _ = writeln!(s, "- Redis: {}", redis_desc(site));
    let _ = writeln!(s, "- Load balancer: {}", lb_desc(site));
    let _ = writeln!(s, "- Admin password (user `admin`): from {}\n", secret_source(&site.harbor.admin_password));

    let _ = writeln!(s, "### Hosts in install order\n");
    let _ = writeln!(s, "| order | host | address | roles | OS |");
    let _ = writeln!(s, "|---|---|---|---|---|");
    for (i, (_, h, _)) in plans.iter().map(|p| (p.0, p.1, &p.2)).enumerate() {
        let mut roles = roles_of(h);
        if is_first_harbor(site, h) && n_harbor > 1 {
            roles.push_str(" (first Harbor node)");
        }
        let _ = writeln!(s, "| {} | {} | {} | {roles} | {} |", i + 1, h.name, h.address, os_name(h.os));
    }
    s.push('\n');

    let _ = writeln!(s, "### Prerequisites\n");
    let _ = writeln!(
        s,
        "- Root (or sudo) on every host, which runs the OS in the table and reaches its package repositories."
    );
    if n_harbor > 0 {
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

    let _ = writeln!(s, "### Install\n");
    let _ =
        writeln!(s, "Run the hosts one at a time, in this order; each script must finish before the next starts.\n");
    let _ = writeln!(
        s,
        "1. Copy each host's directory to it, e.g. `scp -r hosts/<host> root@<address>:/root/harbor-ha/`. Or let `./deploy.sh` do steps 1 to {} from an admin host with ssh access (`./deploy.sh --dry-run` shows the commands).",
        plans.len() + 1
    );
    for (i, p) in plans.iter().enumerate() {
        let h = p.1;
        let _ =
            writeln!(s, "{}. On {} ({}): run `hosts/{}/install.sh` as root.", i + 2, code(&h.name), h.address, h.name);
        if is_first_harbor(site, h) && n_harbor > 1 {
            let others = code_list(site.harbor_nodes().skip(1).map(|x| &x.name));
            let why = match (&site.mode, &site.storage) {
                (SiteMode::SharedStorage, Storage::Nfs(_) | Storage::Local) => {
                    "`prepare` races on the shared data volume, and this node creates the keys the others find there"
                }
                (SiteMode::SharedStorage, _) => {
                    "the first installation creates Harbor's schema in the shared database; concurrent installations race on it"
                }
                (SiteMode::Replication, _) => {
                    "each node has its own storage and database, but a failure then shows on one node before the other repeats it"
                }
            };
            let _ = writeln!(
                s,
                "    **{} is the FIRST Harbor node: install it alone and let it finish before starting {others} ({why}).**",
                code(&h.name)
            );
        }
        // A further Harbor node does what the first one did: say so instead of repeating it.
        if let Some(first) = first_harbor(site).filter(|f| f.index != h.index && f.roles == h.roles) {
            let _ = writeln!(
                s,
                "    - the same steps as {}, for this node: its address, HTTP port {} and data volume {} in harbor.yml",
                code(&first.name),
                h.http_port,
                code(&h.data_volume)
            );
            continue;
        }
        for line in host_does(site, h) {
            let _ = writeln!(s, "    - {line}");
        }
        if !p.2.is_empty() {
            let _ = writeln!(s, "    - files: {}", code_list(&p.2));
        }
    }
    s.push('\n');
}
