//! A collected tree read as hosts: which roles each plays and the settings its files hold,
//! each with the file and line it came from; then the hosts grouped into sites. Import
//! ([`super::import`]) writes the sites as a topology, the cross-node rules
//! ([`super::rules`]) compare their hosts.
//!
//! Reports AU002 for a collected file it cannot read.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ipnet::IpNet;
use serde_yaml::Value;

use super::facts::{line_of, Facts};
use super::parsers::{self, Export, FstabEntry, Nginx, Upstream, Vrrp};
use super::tree::{CollectedTree, HostTree};
use crate::diag::{Diagnostic, RuleCode};
use crate::source::SourceMap;

/// A value and where it was read: the tree-relative file (`host/files/abs/path`) and line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct At<T> {
    /// The value.
    pub value: T,
    /// `host/files/<absolute path>` or `host/facts.json`.
    pub file: String,
    /// 1-based line.
    pub line: usize,
}

/// The tree-relative path of `abs` on `host`.
#[must_use]
pub fn tree_path(host: &str, abs: &str) -> String {
    format!("{host}/files{abs}")
}

/// A parsed `harbor.yml` with the positions of its keys.
#[derive(Debug, Clone)]
pub struct HarborYml {
    /// Absolute path on the host.
    pub path: String,
    /// The document (secret values redacted).
    pub doc: Value,
    /// Key path (`external_redis.host`) → position.
    pub map: SourceMap,
}

impl HarborYml {
    /// The value at a dotted key path.
    #[must_use]
    pub fn get(&self, path: &str) -> Option<&Value> {
        let mut v = &self.doc;
        for k in path.split('.') {
            v = v.get(k)?;
        }
        Some(v)
    }

    /// The value at `path` as text (strings, numbers and booleans), when present and not null.
    #[must_use]
    pub fn text(&self, path: &str) -> Option<String> {
        match self.get(path)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// The 1-based line of `path` (or of its nearest present ancestor; 1 when none is).
    #[must_use]
    pub fn line(&self, path: &str) -> usize {
        self.map.lookup(path).map_or(1, |p| p.line)
    }

    /// The directory holding it (`/usr/local/harbor`).
    #[must_use]
    pub fn dir(&self) -> &str {
        self.path.rsplit_once('/').map_or("/", |(d, _)| if d.is_empty() { "/" } else { d })
    }
}

/// What a Harbor node's files say.
#[derive(Debug, Clone)]
pub struct HarborNode {
    /// Its harbor.yml.
    pub yml: HarborYml,
    /// Container name → image and where it was read (docker-compose.yml or facts).
    pub images: BTreeMap<String, At<String>>,
    /// The Harbor release it runs, and where that was read.
    pub version: Option<At<String>>,
}

/// A PostgreSQL server or cluster member.
#[derive(Debug, Clone, Default)]
pub struct PgServer {
    /// Major version, when a path names it.
    pub version: Option<String>,
    /// A Patroni member.
    pub patroni: bool,
    /// Patroni's `synchronous_mode`.
    pub synchronous: Option<bool>,
    /// `max_connections`, when a config sets it.
    pub max_connections: Option<u32>,
}

/// One host of the tree.
#[derive(Debug, Clone, Default)]
pub struct HostView {
    /// The host directory's name.
    pub name: String,
    /// Its facts, when collected and readable.
    pub facts: Option<Facts>,
    /// The Harbor node's files, when it is one.
    pub harbor: Option<HarborNode>,
    /// nginx configs with an upstream that a `proxy_pass` uses: (absolute path, parsed).
    pub nginx: Vec<(String, Nginx)>,
    /// keepalived's VRRP instance: (absolute path, parsed).
    pub vrrp: Option<(String, Vrrp)>,
    /// NFS exports: (absolute path, export).
    pub exports: Vec<(String, Export)>,
    /// fstab entries.
    pub fstab: Vec<FstabEntry>,
    /// PostgreSQL, when it runs here.
    pub pg: Option<PgServer>,
    /// A Redis data node runs here.
    pub redis: bool,
    /// A Redis Sentinel runs here.
    pub sentinel: bool,
    /// An etcd member runs here; the addresses of its cluster's members.
    pub etcd: Option<Vec<IpAddr>>,
    /// The address chosen for the host, when one is known.
    pub address: Option<IpAddr>,
    /// The prefix length of that address, from the facts.
    pub prefix: Option<u8>,
}

impl HostView {
    /// The upstream servers of the host's nginx configs (the ones proxied to), with the file.
    #[must_use]
    pub fn upstreams(&self) -> Vec<(&str, &Upstream)> {
        let mut out = Vec::new();
        for (path, n) in &self.nginx {
            let used: BTreeSet<&str> = n.servers.iter().flat_map(|s| s.proxies_to.iter().map(String::as_str)).collect();
            for u in &n.upstreams {
                if used.contains(u.name.as_str()) {
                    out.push((path.as_str(), u));
                }
            }
        }
        out
    }

    /// Whether the host is a load balancer (an nginx that proxies to an upstream).
    #[must_use]
    pub fn is_lb(&self) -> bool {
        !self.upstreams().is_empty()
    }
}

/// The hosts of a tree and what could not be read.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    /// Every host, in name order.
    pub hosts: Vec<HostView>,
    /// AU002 findings.
    pub findings: Vec<Diagnostic>,
}

/// A finding on a collected file.
#[must_use]
pub fn finding(code: RuleCode, file: &str, line: usize, message: String, hint: impl Into<String>) -> Diagnostic {
    let mut d = Diagnostic::new(code, file, message, hint);
    d.line = Some(line);
    d.column = Some(1);
    d
}

fn au002(file: &str, line: usize, what: &str, why: &str) -> Diagnostic {
    finding(
        RuleCode::AU002,
        file,
        line,
        format!("{file}: {what}: {why}"),
        "collect the file again with collect.sh (an interrupted copy or a hand edit can break it); the audit ignores it until then",
    )
}

/// The largest collected file read (bytes); real configs are a few KiB.
const MAX_READ: usize = 4 * 1024 * 1024;

fn text<'t>(h: &'t HostTree, path: &str) -> Option<&'t str> {
    h.text(path).filter(|t| t.len() <= MAX_READ)
}

/// Read every host of `tree`.
#[must_use]
pub fn read(tree: &CollectedTree) -> Inventory {
    let mut inv = Inventory::default();
    for (name, h) in &tree.hosts {
        let v = read_host(name, h, &mut inv.findings);
        inv.hosts.push(v);
    }
    let vips: BTreeSet<IpAddr> =
        inv.hosts.iter().filter_map(|h| h.vrrp.as_ref().and_then(|(_, v)| v.vip.map(|x| x.0))).collect();
    let referenced = referenced_addresses(&inv.hosts);
    for h in &mut inv.hosts {
        choose_address(h, &vips, &referenced);
    }
    inv
}

fn read_host(name: &str, h: &HostTree, findings: &mut Vec<Diagnostic>) -> HostView {
    let mut v = HostView { name: name.to_string(), ..HostView::default() };
    if let Some(bytes) = &h.facts {
        match Facts::parse(bytes) {
            Ok(f) => v.facts = Some(f),
            Err((msg, line)) => findings.push(au002(&format!("{name}/facts.json"), line, "not valid facts", &msg)),
        }
    }
    let paths = h.paths();
    v.harbor = harbor_node(name, h, &paths, v.facts.as_ref(), findings);
    for p in &paths {
        let base = p.rsplit('/').next().unwrap_or_default();
        if p.starts_with("/etc/nginx/")
            && !p.starts_with("/etc/nginx/ssl/")
            && (p.ends_with(".conf") || p.contains("/sites-enabled/"))
        {
            if let Some(t) = text(h, p) {
                let n = parsers::nginx(t);
                if !n.upstreams.is_empty() {
                    v.nginx.push((p.clone(), n));
                }
            }
        } else if base == "keepalived.conf" {
            if let Some(vr) = text(h, p).and_then(parsers::keepalived) {
                v.vrrp = Some((p.clone(), vr));
            }
        } else if p == "/etc/exports" || (p.starts_with("/etc/exports.d/") && p.ends_with(".exports")) {
            if let Some(t) = text(h, p) {
                v.exports.extend(parsers::exports(t).into_iter().map(|e| (p.clone(), e)));
            }
        } else if p == "/etc/fstab" {
            v.fstab = text(h, p).map(parsers::fstab).unwrap_or_default();
        } else if base == "pg_hba.conf" {
            let pg = v.pg.get_or_insert_with(PgServer::default);
            pg.version = pg.version.take().or_else(|| parsers::pg_version_in_path(p));
        } else if p.starts_with("/etc/patroni/") && (p.ends_with(".yml") || p.ends_with(".yaml")) {
            v.pg = Some(patroni(name, h, p, findings));
        } else if p == "/etc/default/etcd" || p == "/etc/etcd/etcd.conf" {
            v.etcd = Some(etcd_members(text(h, p).unwrap_or_default()));
        } else if base == "postgresql.harbor.conf" {
            let pg = v.pg.get_or_insert_with(PgServer::default);
            pg.max_connections = text(h, p).and_then(|t| {
                t.lines().find_map(|l| {
                    let (k, val) = l.split_once('=')?;
                    (k.trim() == "max_connections").then(|| val.trim().parse().ok()).flatten()
                })
            });
        } else if base == "redis.conf" {
            v.redis = true;
        } else if matches!(base, "sentinel.conf" | "redis-sentinel.conf") {
            v.sentinel = true;
        }
    }
    v
}

fn yaml_of(name: &str, h: &HostTree, p: &str, findings: &mut Vec<Diagnostic>) -> Option<(Value, SourceMap)> {
    let file = tree_path(name, p);
    let Some(t) = text(h, p) else {
        if h.files.contains_key(p) {
            findings.push(au002(&file, 1, "cannot be read", "not UTF-8 text, or larger than 4 MiB"));
        }
        return None;
    };
    let map = match SourceMap::build(t) {
        Ok(m) => m,
        Err((msg, pos)) => {
            findings.push(au002(&file, pos.line, "not YAML", &msg));
            return None;
        }
    };
    match serde_yaml::from_str::<Value>(t) {
        Ok(v) if v.is_mapping() => Some((v, map)),
        Ok(_) => {
            findings.push(au002(&file, 1, "not a YAML mapping", "the file holds no keys"));
            None
        }
        Err(e) => {
            findings.push(au002(&file, e.location().map_or(1, |l| l.line()), "not YAML", &e.to_string()));
            None
        }
    }
}

/// The node's harbor.yml (the one next to docker-compose.yml when there are several), its
/// images and its version.
fn harbor_node(
    name: &str,
    h: &HostTree,
    paths: &[String],
    facts: Option<&Facts>,
    findings: &mut Vec<Diagnostic>,
) -> Option<HarborNode> {
    let mut ymls: Vec<&String> = paths.iter().filter(|p| p.ends_with("/harbor.yml")).collect();
    ymls.sort_by_key(|p| {
        let dir = p.trim_end_matches("/harbor.yml");
        (!paths.iter().any(|q| q == &format!("{dir}/docker-compose.yml")), p.len(), (*p).clone())
    });
    let path = ymls.first()?.to_string();
    let (doc, map) = yaml_of(name, h, &path, findings)?;
    let yml = HarborYml { path, doc, map };
    let mut images = BTreeMap::new();
    let compose = format!("{}/docker-compose.yml", yml.dir());
    if let Some(t) = text(h, &compose) {
        images = compose_images(name, &compose, t);
    }
    if images.is_empty() {
        if let Some(f) = facts {
            let ft = h.facts.as_deref().map(String::from_utf8_lossy).unwrap_or_default();
            for (c, img) in &f.images {
                let line = line_of(&ft, &format!("\"{c}\""));
                images.insert(c.clone(), At { value: img.clone(), file: format!("{name}/facts.json"), line });
            }
        }
    }
    let version = facts
        .and_then(|f| f.harbor_version.clone())
        .map(|v| {
            let ft = h.facts.as_deref().map(String::from_utf8_lossy).unwrap_or_default();
            At { value: v, file: format!("{name}/facts.json"), line: line_of(&ft, "\"harbor_version\"") }
        })
        .or_else(|| {
            images
                .get("harbor-core")
                .and_then(|a| image_version(&a.value).map(|v| At { value: v, file: a.file.clone(), line: a.line }))
        });
    Some(HarborNode { yml, images, version })
}

/// The release in an image reference: `goharbor/harbor-core:v2.11.1` → `2.11.1`.
#[must_use]
pub fn image_version(image: &str) -> Option<String> {
    let tag = image.rsplit_once(':')?.1;
    let v = tag.strip_prefix('v').unwrap_or(tag);
    let ok = v.split('.').count() >= 2 && v.split('.').all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    ok.then(|| v.to_string())
}

/// docker-compose.yml: container name (or service name) → image, with the image's line.
fn compose_images(host: &str, path: &str, t: &str) -> BTreeMap<String, At<String>> {
    let mut out = BTreeMap::new();
    let Ok(doc) = serde_yaml::from_str::<Value>(t) else { return out };
    let Some(services) = doc.get("services").and_then(Value::as_mapping) else { return out };
    for (svc, body) in services {
        let Some(image) = body.get("image").and_then(Value::as_str) else { continue };
        let name = body.get("container_name").and_then(Value::as_str).or_else(|| svc.as_str()).unwrap_or_default();
        let line =
            t.lines().position(|l| l.trim_start().starts_with("image:") && l.contains(image)).map_or(1, |i| i + 1);
        out.insert(name.to_string(), At { value: image.to_string(), file: tree_path(host, path), line });
    }
    out
}

fn patroni(name: &str, h: &HostTree, p: &str, findings: &mut Vec<Diagnostic>) -> PgServer {
    let mut pg = PgServer { patroni: true, ..PgServer::default() };
    if let Some((doc, _)) = yaml_of(name, h, p, findings) {
        let pgsec = doc.get("postgresql");
        pg.version = ["bin_dir", "data_dir"]
            .iter()
            .find_map(|k| pgsec.and_then(|s| s.get(*k)).and_then(Value::as_str).and_then(parsers::pg_version_in_path));
        let dcs = doc.get("bootstrap").and_then(|b| b.get("dcs"));
        pg.synchronous = dcs.and_then(|d| d.get("synchronous_mode")).and_then(Value::as_bool);
        pg.max_connections = dcs
            .and_then(|d| d.get("postgresql"))
            .and_then(|d| d.get("parameters"))
            .and_then(|d| d.get("max_connections"))
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok());
    }
    pg
}

/// The member addresses of an etcd environment file (`ETCD_INITIAL_CLUSTER`).
fn etcd_members(t: &str) -> Vec<IpAddr> {
    let env = parsers::env(t);
    let Some((v, _)) = env.get("ETCD_INITIAL_CLUSTER") else { return Vec::new() };
    v.trim_matches('"')
        .split(',')
        .filter_map(|m| m.split_once("://").map(|(_, r)| r))
        .filter_map(|r| {
            let hostport = r.split('/').next().unwrap_or_default();
            parsers::socket(hostport).map(|s| s.0)
        })
        .collect()
}

/// A host part of `host[:port]` (IPv6 bracketed) when it is an address.
#[must_use]
pub fn host_ip(s: &str) -> Option<IpAddr> {
    if let Some((ip, _)) = parsers::socket(s) {
        return Some(ip);
    }
    let h = s.rsplit_once(':').map_or(s, |(h, p)| if p.bytes().all(|b| b.is_ascii_digit()) { h } else { s });
    h.trim_start_matches('[').trim_end_matches(']').parse().ok()
}

/// Addresses that other hosts' configs name (upstream servers, database and Redis hosts,
/// NFS servers, VRRP peers, etcd members).
fn referenced_addresses(hosts: &[HostView]) -> BTreeSet<IpAddr> {
    let mut out = BTreeSet::new();
    for h in hosts {
        for (_, u) in h.upstreams() {
            out.extend(u.servers.iter().filter_map(|(s, _)| parsers::socket(s).map(|x| x.0)));
        }
        if let Some((_, v)) = &h.vrrp {
            out.extend(v.peers.iter().copied());
            out.extend(v.src_ip);
        }
        if let Some(m) = &h.etcd {
            out.extend(m.iter().copied());
        }
        if let Some(n) = &h.harbor {
            for k in ["external_database.harbor.host", "external_redis.host"] {
                for part in n.yml.text(k).unwrap_or_default().split(',') {
                    out.extend(host_ip(part.trim()));
                }
            }
        }
        for e in &h.fstab {
            if let Some((server, _)) = e.source.rsplit_once(":/") {
                out.extend(host_ip(server));
            }
        }
    }
    out
}

/// The host's own address: keepalived's source address, harbor.yml's `hostname` when it is
/// an address, else the first address of its facts that another host's config names, else
/// its first address that is not a VIP.
fn choose_address(h: &mut HostView, vips: &BTreeSet<IpAddr>, referenced: &BTreeSet<IpAddr>) {
    let facts: Vec<(IpAddr, Option<u8>)> = h
        .facts
        .as_ref()
        .map(|f| {
            f.addresses
                .iter()
                .filter_map(|a| {
                    let (ip, pre) = a.split_once('/').map_or((a.as_str(), None), |(i, p)| (i, p.parse().ok()));
                    ip.parse().ok().map(|ip| (ip, pre))
                })
                .collect()
        })
        .unwrap_or_default();
    let from_config = h
        .vrrp
        .as_ref()
        .and_then(|(_, v)| v.src_ip)
        .or_else(|| h.harbor.as_ref().and_then(|n| n.yml.text("hostname")).and_then(|s| s.parse().ok()));
    let chosen = from_config
        .or_else(|| facts.iter().map(|f| f.0).find(|ip| referenced.contains(ip) && !vips.contains(ip)))
        .or_else(|| facts.iter().map(|f| f.0).find(|ip| !vips.contains(ip)));
    h.address = chosen;
    h.prefix = chosen.and_then(|ip| facts.iter().find(|f| f.0 == ip).and_then(|f| f.1));
}

/// A site found in the tree: the indexes of its hosts in [`Inventory::hosts`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SiteHosts {
    /// Host indexes, in name order.
    pub hosts: Vec<usize>,
    /// The subnet holding them, when their facts give prefixes.
    pub subnet: Option<IpNet>,
}

impl Inventory {
    /// Group the hosts into sites: Harbor nodes with the same external_url, a load balancer
    /// with the nodes it proxies to, the database, Redis and NFS servers with the nodes that
    /// use them, cluster members with each other; a host tied to none joins the site whose
    /// subnet holds its address. Hosts that fit nowhere are returned apart.
    #[must_use]
    pub fn sites(&self) -> (Vec<SiteHosts>, Vec<usize>) {
        let n = self.hosts.len();
        let mut parent: Vec<usize> = (0..n).collect();
        fn find(p: &mut [usize], mut i: usize) -> usize {
            while p[i] != i {
                p[i] = p[p[i]];
                i = p[i];
            }
            i
        }
        let union = |p: &mut Vec<usize>, a: usize, b: usize| {
            let (ra, rb) = (find(p, a), find(p, b));
            if ra != rb {
                p[ra.max(rb)] = ra.min(rb);
            }
        };
        let by_addr: BTreeMap<IpAddr, usize> =
            self.hosts.iter().enumerate().filter_map(|(i, h)| h.address.map(|a| (a, i))).collect();
        let vip_of: BTreeMap<IpAddr, usize> = self
            .hosts
            .iter()
            .enumerate()
            .filter_map(|(i, h)| h.vrrp.as_ref().and_then(|(_, v)| v.vip.map(|x| (x.0, i))))
            .collect();
        let lookup = |ip: IpAddr| by_addr.get(&ip).or_else(|| vip_of.get(&ip)).copied();
        let mut url_first: BTreeMap<String, usize> = BTreeMap::new();
        for (i, h) in self.hosts.iter().enumerate() {
            for (_, u) in h.upstreams() {
                for (s, _) in &u.servers {
                    if let Some(j) = parsers::socket(s).and_then(|x| lookup(x.0)) {
                        union(&mut parent, i, j);
                    }
                }
            }
            if let Some((_, v)) = &h.vrrp {
                for p in &v.peers {
                    if let Some(j) = lookup(*p) {
                        union(&mut parent, i, j);
                    }
                }
            }
            if let Some(m) = &h.etcd {
                for a in m {
                    if let Some(j) = lookup(*a) {
                        union(&mut parent, i, j);
                    }
                }
            }
            if let Some(node) = &h.harbor {
                if let Some(url) = node.yml.text("external_url") {
                    let key = url.trim_end_matches('/').to_ascii_lowercase();
                    match url_first.get(&key) {
                        Some(&j) => union(&mut parent, i, j),
                        None => {
                            url_first.insert(key, i);
                        }
                    }
                }
                for k in ["external_database.harbor.host", "external_redis.host"] {
                    for part in node.yml.text(k).unwrap_or_default().split(',') {
                        if let Some(j) = host_ip(part.trim()).and_then(lookup) {
                            union(&mut parent, i, j);
                        }
                    }
                }
                let dv = node.yml.text("data_volume").unwrap_or_default();
                for e in h.fstab.iter().filter(|e| e.target.trim_end_matches('/') == dv.trim_end_matches('/')) {
                    if let Some(j) = e.source.rsplit_once(":/").and_then(|(s, _)| host_ip(s)).and_then(lookup) {
                        union(&mut parent, i, j);
                    }
                }
                for m in h.facts.iter().flat_map(|f| &f.mounts) {
                    if let Some(j) = m.source.rsplit_once(":/").and_then(|(s, _)| host_ip(s)).and_then(lookup) {
                        union(&mut parent, i, j);
                    }
                }
            }
        }
        let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for i in 0..n {
            let r = find(&mut parent, i);
            groups.entry(r).or_default().push(i);
        }
        let mut sites: Vec<SiteHosts> = Vec::new();
        let mut loose: Vec<usize> = Vec::new();
        for members in groups.into_values() {
            if members.iter().any(|&i| self.hosts[i].harbor.is_some()) {
                sites.push(SiteHosts { hosts: members, subnet: None });
            } else {
                loose.extend(members);
            }
        }
        for s in &mut sites {
            s.subnet = self.subnet_of(&s.hosts);
        }
        let mut rest = Vec::new();
        for i in loose {
            let place =
                self.hosts[i].address.and_then(|a| sites.iter().position(|s| s.subnet.is_some_and(|n| n.contains(&a))));
            match place {
                Some(si) => sites[si].hosts.push(i),
                None => rest.push(i),
            }
        }
        for s in &mut sites {
            s.hosts.sort_unstable();
        }
        (sites, rest)
    }

    /// The narrowest network of the hosts' own (address, prefix) that holds every host's
    /// address; else the narrowest common supernet of the addresses.
    fn subnet_of(&self, hosts: &[usize]) -> Option<IpNet> {
        let addrs: Vec<IpAddr> = hosts.iter().filter_map(|&i| self.hosts[i].address).collect();
        let mut candidates: Vec<IpNet> = hosts
            .iter()
            .filter_map(|&i| {
                let h = &self.hosts[i];
                IpNet::new(h.address?, h.prefix?).ok().map(|n| n.trunc())
            })
            .filter(|n| addrs.iter().all(|a| n.contains(a)))
            .collect();
        candidates.sort_by_key(|n| std::cmp::Reverse(n.prefix_len()));
        if let Some(n) = candidates.first() {
            return Some(*n);
        }
        let any_prefix = hosts.iter().any(|&i| self.hosts[i].prefix.is_some());
        if !any_prefix || addrs.is_empty() {
            return None;
        }
        common_supernet(&addrs)
    }
}

/// The narrowest network holding every address (all of one family).
#[must_use]
pub fn common_supernet(addrs: &[IpAddr]) -> Option<IpNet> {
    let first = *addrs.first()?;
    let max = if first.is_ipv4() { 32 } else { 128 };
    (0..=max).rev().find_map(|len| {
        let n = IpNet::new(first, len).ok()?.trunc();
        addrs.iter().all(|a| n.contains(a)).then_some(n)
    })
}

/// A load balancer's front: (TLS, server name, port) of the nginx server block that proxies
/// to the Harbor upstream, the TLS one when there is one. The name is the LB's address when
/// the block has no `server_name`.
#[must_use]
pub fn lb_front(lb: &HostView) -> Option<(bool, String, u16)> {
    front_server(lb).map(|(s, tls, port)| {
        let name = s.names.iter().find(|n| !n.is_empty() && *n != "_" && !n.starts_with('~')).cloned();
        (tls, name.or_else(|| lb.address.map(|a| a.to_string())).unwrap_or_default(), port)
    })
}

/// The server block of `lb` that proxies to the Harbor upstream (the TLS one when there is
/// one), whether it is TLS, and its port.
#[must_use]
pub fn front_server(lb: &HostView) -> Option<(&parsers::Server, bool, u16)> {
    let upstream: BTreeSet<&str> = lb.upstreams().iter().map(|(_, u)| u.name.as_str()).collect();
    let mut best: Option<(&parsers::Server, bool, u16)> = None;
    for (_, n) in &lb.nginx {
        for s in n.servers.iter().filter(|s| s.proxies_to.iter().any(|p| upstream.contains(p.as_str()))) {
            let (port, tls) =
                s.listen.iter().find(|l| l.1).or_else(|| s.listen.first()).copied().unwrap_or((80, false));
            if best.as_ref().is_none_or(|b| !b.1 && tls) {
                best = Some((s, tls, port));
            }
        }
    }
    best
}

/// The path of the nginx config holding `server` on `lb`.
#[must_use]
pub fn config_of<'h>(lb: &'h HostView, server: &parsers::Server) -> Option<&'h str> {
    lb.nginx.iter().find(|(_, n)| n.servers.iter().any(|s| std::ptr::eq(s, server))).map(|(p, _)| p.as_str())
}
