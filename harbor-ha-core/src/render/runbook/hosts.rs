//! The README's hosts of a site: the table in install order, and the install steps, with
//! what each host's install.sh does (one line per role, from its roles and the site).

use std::fmt::Write;

use super::{code, code_list, external_url, first_harbor, is_first_harbor, url_host, Plan};
use crate::model::enums::{Role, SiteMode};
use crate::model::resolved::{Database, Host, Redis, Site, Storage, Tls};
use crate::render::harbor::{harbor_databases, installer_flags, ping_path};
use crate::render::os;

fn roles_of(h: &Host) -> String {
    h.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ")
}

/// The hosts of `site` (its `plans`) in install order, as a table, ending with a blank line.
pub(super) fn table(s: &mut String, site: &Site, plans: &[&Plan]) {
    let _ = writeln!(s, "| order | host | address | roles | OS |");
    let _ = writeln!(s, "|---|---|---|---|---|");
    for (i, h) in plans.iter().map(|p| p.1).enumerate() {
        let mut roles = roles_of(h);
        if is_first_harbor(site, h) && site.harbor_nodes().count() > 1 {
            roles.push_str(" (first Harbor node)");
        }
        let _ = writeln!(s, "| {} | {} | {} | {roles} | {} |", i + 1, h.name, h.address, h.os.as_str());
    }
    s.push('\n');
}

/// The numbered install steps of `site`: copy, then each host in order with what its
/// install.sh does and the files it installs. Ends with a blank line.
pub(super) fn install_steps(s: &mut String, site: &Site, plans: &[&Plan]) {
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
        if is_first_harbor(site, h) && site.harbor_nodes().count() > 1 {
            first_node_warning(s, site, h);
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

/// The first Harbor node `h` of a site with several: install it alone, and why.
fn first_node_warning(s: &mut String, site: &Site, h: &Host) {
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

/// What a host's install.sh does, one line per role (from its roles and the site).
fn host_does(site: &Site, h: &Host) -> Vec<String> {
    let mut v = vec![
        "installs and starts chrony (token validation fails on clock skew) and opens its roles' ports only to the hosts that need them".to_string(),
    ];
    if h.has(Role::Nfs) {
        v.extend(nfs_does(site));
    }
    if h.has(Role::Postgres) {
        v.extend(postgres_does(site, h));
    }
    if h.has(Role::Redis) {
        v.extend(redis_does(site, h));
    }
    if h.has(Role::Harbor) {
        v.extend(harbor_does(site, h));
    }
    if h.has(Role::Lb) {
        v.extend(lb_does(site, h));
    }
    v.extend(cluster_does(site, h));
    v
}

/// What a host does for the site's clusters (etcd, Sentinel, the endpoint).
fn cluster_does(site: &Site, h: &Host) -> Vec<String> {
    let mut v = Vec::new();
    if let Some(c) = site.pg_cluster() {
        if c.is_dcs(&h.name) {
            v.push(format!("etcd: member of the PostgreSQL cluster's DCS ({} members)", c.dcs.len()));
        }
        if h.has(Role::Lb) {
            v.push(format!(
                "HAProxy: the PostgreSQL endpoint at {}, to the current primary",
                code(url_host(c.endpoint.address))
            ));
        }
    }
    if let Some(c) = site.redis_cluster() {
        if c.is_sentinel(&h.name) {
            v.push(format!("Redis Sentinel of the master set {} (quorum {})", code(&c.master_set), c.quorum));
        }
        if let (true, Some(p)) = (h.has(Role::Lb), &c.proxy) {
            v.push(format!(
                "HAProxy: the Redis endpoint at {} for Harbor < 2.1, to the current master",
                code(url_host(p.address))
            ));
        }
    }
    v
}

fn nfs_does(site: &Site) -> Option<String> {
    let Storage::Nfs(n) = &site.storage else { return None };
    Some(format!(
        "NFS server: exports {} to exactly {}, the directory owned 10000:10000 (Harbor's uid and gid)",
        code(&n.export),
        code_list(&n.clients)
    ))
}

fn postgres_does(site: &Site, h: &Host) -> Option<String> {
    let Database::External(db) = &site.database else { return None };
    if let Some(c) = &db.cluster {
        return Some(format!(
            "PostgreSQL {} under Patroni: member of {} ({}), listens on {} port {}, REST API on port {}; the member that creates the cluster runs Harbor's SQL (user {}, databases {})",
            db.version.postgres_text(),
            code(crate::render::patroni::scope(site)),
            if c.synchronous { "synchronous replication" } else { "asynchronous replication" },
            code(h.address),
            db.port,
            crate::model::resolved::PgCluster::REST_PORT,
            code(&db.username),
            code_list(harbor_databases(site))
        ));
    }
    let harbor_addrs: Vec<String> = site.harbor_nodes().map(|n| n.address.to_string()).collect();
    Some(format!(
        "PostgreSQL {}: listens on {} port {}, creates user {} and the databases {}, `pg_hba.conf` entries for exactly the Harbor nodes ({}), `max_connections` {}",
        db.version.postgres_text(),
        code(h.address),
        db.port,
        code(&db.username),
        code_list(harbor_databases(site)),
        code_list(&harbor_addrs),
        db.max_connections
    ))
}

fn redis_does(site: &Site, h: &Host) -> Option<String> {
    let Redis::External(r) = &site.redis else { return None };
    let auth = if r.password.is_some() { "password-protected (`requirepass`)" } else { "without a password" };
    if r.cluster().is_some() {
        return Some(format!(
            "Redis data node: bound to {} port {}, {auth}, `masterauth`; a replica of the master the Sentinels name (the first data node in a new cluster)",
            code(h.address),
            r.port
        ));
    }
    Some(format!("Redis: bound to {} port {}, {auth}", code(h.address), r.port))
}

fn harbor_does(site: &Site, h: &Host) -> Vec<String> {
    let mut v = Vec::new();
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
            "Harbor < 2.3: removes the line of Harbor's own nginx that overwrites the LB's `X-Forwarded-Proto`".into(),
        );
    }
    v
}

fn lb_does(site: &Site, h: &Host) -> Vec<String> {
    let mut v = Vec::new();
    let Some(lb) = &site.lb else { return v };
    let ups = code_list(site.harbor_nodes().map(|n| format!("{}:{}", url_host(n.address), n.http_port)));
    let mut s = format!(
        "Nginx: upstream {ups} with passive health checks, `client_max_body_size 0`, no buffering on `/v2/` (`proxy_request_buffering off`, `proxy_buffering off`, HTTP/1.1, 900 s timeouts), `X-Forwarded-Proto`, `X-Forwarded-For` and the Host header with its port"
    );
    if matches!(lb.tls, Tls::SelfSigned { .. }) {
        s.push_str("; puts the site's self-signed certificate in place (the same on every LB)");
    }
    if os::info(h.os).selinux {
        s.push_str("; SELinux boolean `httpd_can_network_connect`");
    }
    v.push(s);
    if site.hosts_with(Role::Lb).count() == 2 {
        if let Some(vip) = lb.vip {
            v.push(format!("keepalived: holds the virtual IP {} while this host's nginx is healthy", code(vip)));
        }
    }
    v
}
