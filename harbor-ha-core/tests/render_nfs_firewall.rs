//! The NFS exports and the firewall rules of every host.
//!
//! - NFS: one client entry per allowed client (by default exactly the Harbor nodes), each
//!   `rw,sync`, root squashed to Harbor's uid and gid 10000. Whether `exportfs` accepts the
//!   line cannot be tested here: it needs the kernel NFS server (nfsd), which a container
//!   does not have; the syntax follows exports(5) and the install script checks that the
//!   export is active (`exportfs -v`) on the real host.
//! - Firewall: each port is opened only to the hosts that need it (checked on the rendered
//!   ufw and firewalld lines), and the DOCKER-USER script that restricts Docker's published
//!   Harbor port is run in network namespaces built like a Docker host: the LB gets through,
//!   another host does not, and the containers' own outgoing connections are not affected.

#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::disallowed_macros,
    reason = "tests set up files and run the real programs"
)]

mod common;

use std::collections::BTreeSet;
use std::process::Command;

use harbor_ha_core::bundle::Bundle;
use harbor_ha_core::model::enums::Role;
use harbor_ha_core::model::resolved::{Site, Storage, ValidTopology};

fn script<'a>(b: &'a Bundle, host: &str) -> &'a str {
    &b.files.get(&format!("hosts/{host}/install.sh")).unwrap_or_else(|| panic!("no install.sh for {host}")).content
}

/// The arguments of every `ufw_allow` line of a host's script.
fn ufw_lines(b: &Bundle, host: &str) -> BTreeSet<String> {
    script(b, host).lines().filter_map(|l| l.strip_prefix("ufw_allow ")).map(str::to_string).collect()
}

/// The `fw_add` lines (kind and value, unquoted) of a host's script.
fn firewalld_lines(b: &Bundle, host: &str) -> BTreeSet<String> {
    script(b, host).lines().filter_map(|l| l.strip_prefix("fw_add ")).map(|l| l.replace('\'', "")).collect()
}

fn set(items: &[String]) -> BTreeSet<String> {
    items.iter().cloned().collect()
}

fn s3() -> (ValidTopology, Bundle) {
    let t = common::topology(&common::root().join("fixtures/examples/s3.yaml"));
    let b = common::render_topology(&t);
    (t, b)
}

#[test]
fn nfs_exports_name_exactly_the_allowed_clients() {
    let mut seen = 0;
    for p in common::renderable_fixtures() {
        let t = common::topology(&p);
        let b = common::render_topology(&t);
        for site in &t.sites {
            let Storage::Nfs(n) = &site.storage else { continue };
            let Some(server) = &n.server_host else { continue };
            seen += 1;
            let f = &b.files[&format!("hosts/{server}/files/etc/exports.d/harbor.exports")];
            assert_eq!(f.mode, 0o644);
            let lines: Vec<&str> = f.content.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()).collect();
            assert_eq!(lines.len(), 1, "{}: one export line", p.display());
            let mut words = lines[0].split_whitespace();
            assert_eq!(words.next(), Some(n.export.as_str()));
            let clients: Vec<&str> = words.collect();
            assert_eq!(clients.len(), n.clients.len(), "{}: one entry per client", p.display());
            let mut hosts = BTreeSet::new();
            for c in &clients {
                let (host, opts) = c.split_once('(').unwrap();
                assert_eq!(opts, "rw,sync,no_subtree_check,root_squash,anonuid=10000,anongid=10000)");
                hosts.insert(host.to_string());
            }
            let want: BTreeSet<String> = n
                .clients
                .iter()
                .map(|c| if c.prefix_len() == c.max_prefix_len() { c.addr().to_string() } else { c.to_string() })
                .collect();
            assert_eq!(hosts, want, "{}", p.display());
            let sc = script(&b, server.as_str());
            assert!(sc.contains("chown 10000:10000 /"), "{}: export owned by uid 10000", p.display());
            assert!(sc.contains("put /etc/exports.d/harbor.exports 0644"));
            assert!(sc.contains("exportfs -ra"));
            assert!(sc.contains("enable_now nfs-server"));
        }
    }
    assert!(seen > 0, "no fixture installs an NFS server");
}

/// The seed (CentOS 7, NFS): by default the clients are exactly the Harbor nodes.
#[test]
fn nfs_default_clients_are_the_harbor_nodes() {
    let t = common::topology(&common::root().join("fixtures/examples/seed.yaml"));
    let b = common::render_topology(&t);
    let site = &t.sites[0];
    let exports = &b.files["hosts/store-1/files/etc/exports.d/harbor.exports"].content;
    let line = exports.lines().find(|l| l.starts_with('/')).unwrap();
    let nodes: Vec<String> = site
        .harbor_nodes()
        .map(|h| format!("{}(rw,sync,no_subtree_check,root_squash,anonuid=10000,anongid=10000)", h.address))
        .collect();
    assert_eq!(line, format!("/data/harbor_data {}", nodes.join(" ")));
}

#[test]
fn s3_ufw_rules_open_each_port_to_exactly_its_clients() {
    let (t, b) = s3();
    let nodes = ["10.20.0.11", "10.20.0.12", "10.20.0.13"];
    let from = |port: u16| nodes.iter().map(|n| format!("from {n} to any port {port} proto tcp")).collect::<Vec<_>>();
    assert_eq!(ufw_lines(&b, "db-1"), set(&from(5432)));
    assert_eq!(ufw_lines(&b, "cache-1"), set(&from(6379)));
    for n in ["node-1", "node-2", "node-3"] {
        // From the two LB hosts, not from the VIP (nginx connects from its own address).
        assert_eq!(
            ufw_lines(&b, n),
            set(&["from 10.20.0.2 to any port 80 proto tcp".into(), "from 10.20.0.3 to any port 80 proto tcp".into()])
        );
        assert!(!script(&b, n).contains("10.20.0.100"), "{n}: the VIP is never a source");
    }
    assert_eq!(
        ufw_lines(&b, "lb-1"),
        set(&["80/tcp".into(), "443/tcp".into(), "from 10.20.0.3 to any proto vrrp".into()])
    );
    assert_eq!(
        ufw_lines(&b, "lb-2"),
        set(&["80/tcp".into(), "443/tcp".into(), "from 10.20.0.2 to any proto vrrp".into()])
    );
    for h in &t.sites[0].hosts {
        let sc = script(&b, h.name.as_str());
        // SSH before anything else, ufw enabled only when inactive.
        let ssh = sc.find("ufw_allow OpenSSH").unwrap();
        let first_rule = sc.find("\nufw_allow from").or_else(|| sc.find("\nufw_allow 80")).unwrap();
        assert!(ssh < first_rule, "{}: SSH first", h.name);
        assert!(sc.contains("if ! ufw status | grep -q '^Status: active'; then\n  ufw --force enable"));
    }
}

#[test]
fn seed_firewalld_rules_open_each_port_to_exactly_its_clients() {
    let t = common::topology(&common::root().join("fixtures/examples/seed.yaml"));
    let b = common::render_topology(&t);
    let site = &t.sites[0];
    let nodes: Vec<String> = site.harbor_nodes().map(|h| h.address.to_string()).collect();
    let rich = |src: &str, port: u16| {
        format!(
            "rich-rule rule family=\"ipv4\" source address=\"{src}/32\" port port=\"{port}\" protocol=\"tcp\" accept"
        )
    };
    let mut want = Vec::new();
    for port in [2049, 5432, 6379] {
        for n in &nodes {
            want.push(rich(n, port));
        }
    }
    assert_eq!(firewalld_lines(&b, "store-1"), set(&want));
    let lbs: Vec<String> = site.hosts_with(Role::Lb).map(|h| h.address.to_string()).collect();
    for n in site.harbor_nodes() {
        let mut want = Vec::new();
        want.extend(lbs.iter().map(|l| rich(l, n.http_port)));
        assert_eq!(firewalld_lines(&b, n.name.as_str()), set(&want), "{}", n.name);
    }
    let sc = script(&b, "lb-1");
    assert!(sc.contains("fw_add port 80/tcp\n"));
    // Reload once, at the end, only when something was added.
    let reloads = sc.matches("firewall-cmd -q --reload").count();
    assert_eq!(reloads, 1);
}

/// On every fixture: a sourced rule names only hosts of the site (or the NFS clients); each
/// role's port appears on its host; no host but an LB opens a port to everyone unless the
/// site has no LB.
#[test]
fn every_fixture_opens_ports_only_to_site_hosts() {
    for p in common::renderable_fixtures() {
        let t = common::topology(&p);
        let b = common::render_topology(&t);
        for site in &t.sites {
            let mut allowed: BTreeSet<String> = site.hosts.iter().map(|h| format!("{}/32", h.address)).collect();
            allowed.extend(site.hosts.iter().map(|h| h.address.to_string()));
            if let Storage::Nfs(n) = &site.storage {
                allowed.extend(n.clients.iter().map(ToString::to_string));
                allowed.extend(n.clients.iter().map(|c| c.addr().to_string()));
            }
            // The Prometheus server (its address may be outside the inventory).
            if let Some(m) = &site.monitoring {
                allowed.insert(format!("{}/32", m.prometheus));
                allowed.insert(m.prometheus.to_string());
            }
            let has_lb = site.hosts_with(Role::Lb).count() > 0;
            for h in &site.hosts {
                let sc = script(&b, h.name.as_str());
                for l in ufw_lines(&b, h.name.as_str()) {
                    if let Some(rest) = l.strip_prefix("from ") {
                        let src = rest.split_whitespace().next().unwrap();
                        assert!(
                            allowed.contains(src),
                            "{}: {}: source {src} is not a host of the site",
                            p.display(),
                            h.name
                        );
                    } else if l != "OpenSSH" && l != "22/tcp" && !l.contains("SSH_CONNECTION") {
                        assert!(h.has(Role::Lb) || !has_lb, "{}: {} opens {l} to everyone", p.display(), h.name);
                    }
                }
                for l in firewalld_lines(&b, h.name.as_str()) {
                    if let Some(i) = l.find("source address=\"") {
                        let src = l[i + 16..].split('"').next().unwrap();
                        assert!(allowed.contains(src), "{}: {}: source {src}", p.display(), h.name);
                    } else if !l.contains("SSH_CONNECTION") {
                        assert!(h.has(Role::Lb) || !has_lb, "{}: {} opens {l} to everyone", p.display(), h.name);
                    }
                }
                if h.has(Role::Harbor) {
                    assert!(sc.contains(&format!(" {} ", h.http_port)) || sc.contains(&format!("{}/tcp", h.http_port)));
                }
            }
            check_docker_user(&p, site, &b);
        }
    }
}

/// Harbor nodes behind an LB get the DOCKER-USER script naming exactly the LB hosts (and the
/// peer in dual-master mode); without an LB there is none.
fn check_docker_user(p: &std::path::Path, site: &Site, b: &Bundle) {
    let lbs: Vec<String> = site.hosts_with(Role::Lb).map(|h| h.address.to_string()).collect();
    for n in site.harbor_nodes() {
        let key = format!("hosts/{}/files/etc/harbor-ha/firewall/docker-user.sh", n.name);
        match b.files.get(&key) {
            None => assert!(
                lbs.is_empty() && !site.monitoring.as_ref().is_some_and(|m| m.harbor_metrics),
                "{}: {} has no DOCKER-USER script",
                p.display(),
                n.name
            ),
            Some(f) => {
                assert!(!lbs.is_empty() || site.monitoring.as_ref().is_some_and(|m| m.harbor_metrics));
                assert_eq!(f.mode, 0o755);
                let mut want: BTreeSet<String> = lbs.iter().cloned().collect();
                if site.mode == harbor_ha_core::model::enums::SiteMode::Replication {
                    want.extend(site.harbor_nodes().filter(|o| o.index != n.index).map(|o| o.address.to_string()));
                }
                let sources = |port: u16| -> BTreeSet<String> {
                    f.content
                        .lines()
                        .filter(|l| l.contains(&format!("--ctorigdstport {port} ")))
                        .filter_map(|l| l.strip_prefix("iptables -A HARBOR-HA -s "))
                        .map(|l| l.split('/').next().unwrap().to_string())
                        .collect()
                };
                assert_eq!(sources(n.http_port), want, "{}: {}", p.display(), n.name);
                // Harbor's metrics port, when Prometheus scrapes it: the Prometheus server only.
                if let Some(m) = site.monitoring.as_ref().filter(|m| m.harbor_metrics) {
                    assert_eq!(sources(9090), BTreeSet::from([m.prometheus.to_string()]), "{}", p.display());
                    assert!(f.content.contains("--ctorigdstport 9090 -j DROP"));
                }
                assert!(f.content.contains(&format!("--ctorigdstport {} -j DROP", n.http_port)));
                assert!(b
                    .files
                    .contains_key(&format!("hosts/{}/files/etc/systemd/system/harbor-ha-docker-user.service", n.name)));
            }
        }
    }
}

/// The DOCKER-USER script on a namespace-built Docker host: only the LB gets through.
#[test]
fn docker_user_script_lets_only_the_lbs_in() {
    let is_root = Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if !is_root {
        assert!(std::env::var("CI").map_or(true, |v| v != "true"), "root is required in CI");
        eprintln!("SKIP: not root");
        return;
    }
    if !common::require_tool("ip") || !common::require_tool("iptables") || !common::require_tool("python3") {
        return;
    }
    let (_, b) = s3();
    let dir = std::env::temp_dir().join(format!("hha-docker-user-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("docker-user.sh");
    std::fs::write(&script, &b.files["hosts/node-1/files/etc/harbor-ha/firewall/docker-user.sh"].content).unwrap();
    let harness = common::root().join("harbor-ha-core/tests/scripts/docker-user-netns.sh");
    let suffix = (std::process::id() % 100_000).to_string();
    let out = Command::new("bash").arg(&harness).arg(&suffix).arg(&script).output().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "harness failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout.trim(), "jumps=1\nlb=ok\nother=blocked\noutbound=ok");
}
