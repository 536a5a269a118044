//! The cross-node rules: what must be the same on every node of a site, read from the
//! collected files, each finding at the file and line of the node that differs.
//!
//! - AU003: the shared secrets (secretkey, token key pair, CSRF/XSRF key, core and
//!   jobservice secrets, registry http secret, scanner robot prefix) on a shared-storage site;
//! - AU004: the Harbor release, the images and harbor.yml's `_version`;
//! - AU005: external_url (the load balancer's URL when there is one), cache, job_loggers,
//!   data_volume, the database and Redis the nodes use, the Redis indexes;
//! - AU006: each load balancer's upstream against the Harbor nodes;
//! - AU007: the certificate both load balancers serve.
//!
//! The reference value is the one most nodes have (the first node's on a tie); each node
//! with another is named. Values are compared as collected: a secret as its digest, which no
//! message shows.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::inventory::{finding, front_server, lb_front, tree_path, At, HostView, Inventory, SiteHosts};
use super::parsers;
use super::tree::CollectedTree;
use crate::diag::{Diagnostic, RuleCode};

/// Run the cross-node rules on every site.
#[must_use]
pub fn check(tree: &CollectedTree, inv: &Inventory, sites: &[SiteHosts]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for s in sites {
        let hosts: Vec<&HostView> = s.hosts.iter().map(|&i| &inv.hosts[i]).collect();
        let nodes: Vec<&HostView> = hosts.iter().copied().filter(|h| h.harbor.is_some()).collect();
        let shared = nodes.len() >= 2
            && nodes.iter().any(|h| h.harbor.as_ref().is_some_and(|n| n.yml.get("external_database").is_some()));
        if shared {
            au003(tree, &nodes, &mut out);
            au005_consistency(&nodes, &mut out);
        }
        au004(&nodes, &mut out);
        let lbs: Vec<&HostView> = hosts.iter().copied().filter(|h| h.is_lb()).collect();
        au005_external_url(&nodes, &lbs, &mut out);
        au006(&nodes, &lbs, &mut out);
        au007(tree, &lbs, &mut out);
    }
    out
}

/// The reference among per-node values: the most common, the first node's on a tie.
fn reference<T: PartialEq + Clone>(values: &[(usize, T)]) -> Option<T> {
    let mut best: Option<(usize, usize, &T)> = None;
    for (k, (_, v)) in values.iter().enumerate() {
        let n = values.iter().filter(|(_, w)| w == v).count();
        if best.is_none_or(|b| n > b.0 || (n == b.0 && k < b.1)) {
            best = Some((n, k, v));
        }
    }
    best.map(|b| b.2.clone())
}

/// One shared secret: its name, where each version keeps it, and what breaks when nodes
/// disagree.
struct SharedSecret {
    name: &'static str,
    /// (harbor dir relative path, key) pairs, in order of preference: env or ini keys, or a
    /// YAML key path for `.yml` files; a key of `""` means the whole file under the data
    /// volume.
    sources: &'static [(&'static str, &'static str)],
    breaks: &'static str,
}

const SECRETS: &[SharedSecret] = &[
    SharedSecret {
        name: "secretkey",
        sources: &[("@data/secret/keys/secretkey", "")],
        breaks: "credentials Harbor stored encrypted with another node's key (replication endpoints, LDAP, OIDC) cannot be decrypted",
    },
    SharedSecret {
        name: "token signing key (private_key.pem)",
        sources: &[("@data/secret/core/private_key.pem", "")],
        breaks: "a token issued by one node is refused by another: 401 unauthorized mid-push",
    },
    SharedSecret {
        name: "token certificate (root.crt)",
        sources: &[("@data/secret/registry/root.crt", "")],
        breaks: "a token issued by one node is refused by another: 401 unauthorized mid-push",
    },
    SharedSecret {
        name: "CSRF key",
        sources: &[("common/config/core/env", "CSRF_KEY"), ("@etc/harbor-ha/shared-secrets.env", "CSRF_KEY")],
        breaks: "UI requests that cross nodes fail with \"CSRF token invalid\"",
    },
    SharedSecret {
        name: "XSRF key",
        sources: &[("common/config/core/app.conf", "XSRFKey"), ("@etc/harbor-ha/shared-secrets.env", "XSRF_KEY")],
        breaks: "UI requests that cross nodes fail with \"CSRF token invalid\"",
    },
    SharedSecret {
        name: "core secret",
        sources: &[("common/config/core/env", "CORE_SECRET"), ("@etc/harbor-ha/shared-secrets.env", "CORE_SECRET")],
        breaks: "calls between core and jobservice of different nodes are refused",
    },
    SharedSecret {
        name: "jobservice secret",
        sources: &[("common/config/core/env", "JOBSERVICE_SECRET"), ("@etc/harbor-ha/shared-secrets.env", "JOBSERVICE_SECRET")],
        breaks: "jobs queued by one node and run by another (replication, GC, scans) fail to authenticate",
    },
    SharedSecret {
        name: "registry http secret",
        sources: &[
            ("common/config/registry/config.yml", "http.secret"),
            ("common/config/registry/env", "REGISTRY_HTTP_SECRET"),
            ("@etc/harbor-ha/shared-secrets.env", "REGISTRY_HTTP_SECRET"),
        ],
        breaks: "a chunked upload that reaches two nodes fails with \"blob upload invalid\"",
    },
    SharedSecret {
        name: "scanner robot prefix",
        sources: &[("common/config/core/env", "ROBOT_SCANNER_NAME_PREFIX"), ("@etc/harbor-ha/shared-secrets.env", "ROBOT_SCANNER_NAME_PREFIX")],
        breaks: "a scanner robot made on one node is not recognised as one on another",
    },
];

/// The value of `secret` on node `h`: (value, tree-relative file, line).
fn secret_value(tree: &CollectedTree, h: &HostView, secret: &SharedSecret) -> Option<At<String>> {
    let node = h.harbor.as_ref()?;
    let ht = tree.hosts.get(&h.name)?;
    let dv = node.yml.text("data_volume").unwrap_or_else(|| "/data".to_string());
    for (rel, key) in secret.sources {
        let abs = if let Some(r) = rel.strip_prefix("@data/") {
            format!("{}/{r}", dv.trim_end_matches('/'))
        } else if let Some(r) = rel.strip_prefix('@') {
            format!("/{r}")
        } else {
            format!("{}/{rel}", node.yml.dir())
        };
        if key.is_empty() {
            if let (Some(d), Some(shown)) = (ht.digest(&abs), ht.shown_path(&abs)) {
                return Some(At { value: d.hex, file: tree_path(&h.name, &shown), line: 1 });
            }
            continue;
        }
        let Some(text) = ht.text(&abs) else { continue };
        let found = if abs.ends_with(".yml") {
            yaml_key(text, key)
        } else if abs.ends_with("app.conf") {
            parsers::ini(text).get(*key).cloned()
        } else {
            parsers::env(text).get(*key).cloned()
        };
        if let Some((v, line)) = found {
            return Some(At { value: v, file: tree_path(&h.name, &abs), line });
        }
    }
    None
}

/// A scalar at a dotted key path of YAML text, with its line.
fn yaml_key(text: &str, path: &str) -> Option<(String, usize)> {
    let doc: serde_yaml::Value = serde_yaml::from_str(text).ok()?;
    let mut v = &doc;
    for k in path.split('.') {
        v = v.get(k)?;
    }
    let s = match v {
        serde_yaml::Value::String(s) => s.clone(),
        serde_yaml::Value::Number(n) => n.to_string(),
        _ => return None,
    };
    let map = crate::source::SourceMap::build(text).ok()?;
    Some((s, map.lookup(path).map_or(1, |p| p.line)))
}

fn au003(tree: &CollectedTree, nodes: &[&HostView], out: &mut Vec<Diagnostic>) {
    for secret in SECRETS {
        let values: Vec<(usize, At<String>)> =
            nodes.iter().enumerate().filter_map(|(i, h)| secret_value(tree, h, secret).map(|v| (i, v))).collect();
        let plain: Vec<(usize, String)> = values.iter().map(|(i, a)| (*i, a.value.clone())).collect();
        let Some(refv) = reference(&plain) else { continue };
        let Some(ref_node) = values.iter().find(|(_, a)| a.value == refv).map(|(i, _)| nodes[*i].name.as_str()) else {
            continue;
        };
        for (i, a) in &values {
            if a.value != refv {
                out.push(finding(
                    RuleCode::AU003,
                    &a.file,
                    a.line,
                    format!("`{}` has another {} than `{ref_node}`: {}", nodes[*i].name, secret.name, secret.breaks),
                    format!(
                        "copy the {} of `{ref_node}` to `{}` (the same on every node of a shared-storage site), then restart Harbor there; a harbor-ha bundle pins it on every node",
                        secret.name, nodes[*i].name
                    ),
                ));
            }
        }
    }
}

fn au004(nodes: &[&HostView], out: &mut Vec<Diagnostic>) {
    let versions: Vec<(usize, At<String>)> =
        nodes.iter().enumerate().filter_map(|(i, h)| h.harbor.as_ref()?.version.clone().map(|v| (i, v))).collect();
    let plain: Vec<(usize, String)> = versions.iter().map(|(i, a)| (*i, a.value.clone())).collect();
    let refv = reference(&plain);
    let mut odd = vec![false; nodes.len()];
    if let Some(refv) = &refv {
        for (i, a) in &versions {
            if &a.value != refv {
                odd[*i] = true;
                out.push(finding(
                    RuleCode::AU004,
                    &a.file,
                    a.line,
                    format!("`{}` runs Harbor {} while the other nodes run {refv}", nodes[*i].name, a.value),
                    format!("upgrade (or roll back) `{}` to {refv}, one version at a time; mixed versions migrate one database both ways", nodes[*i].name),
                ));
            }
        }
    }
    let mut containers: BTreeMap<&str, Vec<(usize, &At<String>)>> = BTreeMap::new();
    // `docker.io/goharbor/x:v1` and `goharbor/x:v1` are one image.
    let norm = |i: &str| i.trim_start_matches("docker.io/").trim_start_matches("index.docker.io/").to_string();
    for (i, h) in nodes.iter().enumerate() {
        for (c, img) in h.harbor.as_ref().map(|n| &n.images).into_iter().flatten() {
            containers.entry(c.as_str()).or_default().push((i, img));
        }
    }
    for (c, imgs) in containers {
        let plain: Vec<(usize, String)> = imgs.iter().map(|(i, a)| (*i, norm(&a.value))).collect();
        let Some(refi) = reference(&plain) else { continue };
        for (i, a) in imgs {
            if norm(&a.value) != refi && !odd[i] {
                out.push(finding(
                    RuleCode::AU004,
                    &a.file,
                    a.line,
                    format!("`{}` runs container {c} from {} while the other nodes run {refi}", nodes[i].name, a.value),
                    format!("run {refi} for {c} on `{}` (the images of one release on every node)", nodes[i].name),
                ));
            }
        }
    }
    let tv: Vec<(usize, String)> =
        nodes.iter().enumerate().filter_map(|(i, h)| h.harbor.as_ref()?.yml.text("_version").map(|v| (i, v))).collect();
    if let Some(refv) = reference(&tv) {
        for (i, v) in &tv {
            if *v != refv && !odd[*i] {
                let n = nodes[*i].harbor.as_ref().map(|n| (&n.yml.path, n.yml.line("_version")));
                if let Some((path, line)) = n {
                    out.push(finding(
                        RuleCode::AU004,
                        &tree_path(&nodes[*i].name, path),
                        line,
                        format!("`{}`'s harbor.yml is of format {v} while the other nodes' is {refv}", nodes[*i].name),
                        "migrate harbor.yml with the release's prepare (`prepare migrate`) on every node, or copy the other nodes' file",
                    ));
                }
            }
        }
    }
}

/// Settings every node of a shared-storage site must share, with what breaks otherwise.
const SETTINGS: &[(&str, &str)] = &[
    ("data_volume", "the nodes do not share their images, keys and job logs"),
    ("cache.enabled", "harbor.yml warns that mixed cache settings corrupt data"),
    ("jobservice.job_loggers", "job logs are written to different places and most are not found from the UI"),
    ("external_database.harbor.host", "the nodes use different databases"),
    ("external_database.harbor.db_name", "the nodes use different databases"),
    ("external_redis.host", "the nodes use different Redis servers: sessions and job queues are not shared"),
    ("external_redis.registry_db_index", "the registry caches of the nodes diverge"),
    ("external_redis.jobservice_db_index", "the nodes keep separate job queues"),
    ("external_redis.trivy_db_index", "the scanners of the nodes keep separate queues"),
    ("external_redis.chartmuseum_db_index", "the chart caches of the nodes diverge"),
    ("external_redis.clair_db_index", "the scanners of the nodes keep separate queues"),
];

fn yml_setting(h: &HostView, key: &str) -> Option<(String, String, usize)> {
    let n = h.harbor.as_ref()?;
    let v =
        n.yml.get(key).map(|v| serde_json::to_string(v).unwrap_or_default()).unwrap_or_else(|| "(not set)".to_string());
    Some((v, tree_path(&h.name, &n.yml.path), n.yml.line(key)))
}

fn au005_consistency(nodes: &[&HostView], out: &mut Vec<Diagnostic>) {
    for (key, breaks) in SETTINGS {
        let values: Vec<(usize, (String, String, usize))> =
            nodes.iter().enumerate().filter_map(|(i, h)| yml_setting(h, key).map(|v| (i, v))).collect();
        if values.iter().all(|(_, v)| v.0 == "(not set)") {
            continue;
        }
        let plain: Vec<(usize, String)> = values.iter().map(|(i, v)| (*i, v.0.clone())).collect();
        let Some(refv) = reference(&plain) else { continue };
        for (i, (v, file, line)) in &values {
            if *v != refv {
                out.push(finding(
                    RuleCode::AU005,
                    file,
                    *line,
                    format!("`{}` has {key} {} while the other nodes have {refv}: {breaks}", nodes[*i].name, v),
                    format!(
                        "set {key} in `{}`'s harbor.yml as on the other nodes, run prepare and restart Harbor there",
                        nodes[*i].name
                    ),
                ));
            }
        }
    }
}

/// The URL a load balancer serves, `scheme://name[:port]`.
fn lb_url(lb: &HostView) -> Option<String> {
    let (tls, name, port) = lb_front(lb)?;
    let (scheme, default) = if tls { ("https", 443) } else { ("http", 80) };
    let port = if port == default { String::new() } else { format!(":{port}") };
    Some(format!("{scheme}://{name}{port}"))
}

fn normalize_url(u: &str) -> String {
    url::Url::parse(u)
        .map_or_else(|_| u.trim_end_matches('/').to_string(), |p| p.as_str().trim_end_matches('/').to_string())
}

fn au005_external_url(nodes: &[&HostView], lbs: &[&HostView], out: &mut Vec<Diagnostic>) {
    let Some(want) = lbs.first().and_then(|lb| lb_url(lb)) else {
        return;
    };
    if want.contains("://_") {
        return;
    }
    for h in nodes {
        let Some(n) = &h.harbor else { continue };
        let file = tree_path(&h.name, &n.yml.path);
        match n.yml.text("external_url") {
            Some(u) if normalize_url(&u) == normalize_url(&want) => {}
            Some(u) => out.push(finding(
                RuleCode::AU005,
                &file,
                n.yml.line("external_url"),
                format!("`{}` has external_url {u}, but the load balancer serves {want}: token realms and push responses name a URL clients do not use", h.name),
                format!("set external_url: {want} in `{}`'s harbor.yml, run prepare and restart Harbor there", h.name),
            )),
            None => {
                let host = n.yml.text("hostname").unwrap_or_default();
                out.push(finding(
                    RuleCode::AU005,
                    &file,
                    n.yml.line("hostname"),
                    format!("`{}` has no external_url behind the load balancer {want}: Harbor advertises http://{host} in token realms and push responses, and `docker login` through the load balancer fails", h.name),
                    format!("add external_url: {want} to `{}`'s harbor.yml, run prepare and restart Harbor there", h.name),
                ));
            }
        }
    }
}

/// An upstream `server`: its endpoint (when an address), as written, its line.
type Server<'u> = (Option<(IpAddr, u16)>, &'u str, usize);

/// A node's endpoint as upstreams name it.
fn endpoint(h: &HostView) -> Option<(IpAddr, u16)> {
    let port = h.harbor.as_ref()?.yml.text("http.port").and_then(|p| p.parse().ok()).unwrap_or(80);
    Some((h.address?, port))
}

fn au006(nodes: &[&HostView], lbs: &[&HostView], out: &mut Vec<Diagnostic>) {
    let want: BTreeMap<(IpAddr, u16), &str> =
        nodes.iter().filter_map(|h| endpoint(h).map(|e| (e, h.name.as_str()))).collect();
    if want.is_empty() {
        return;
    }
    for lb in lbs {
        for (path, u) in lb.upstreams() {
            let file = tree_path(&lb.name, path);
            let got: Vec<Server> = u.servers.iter().map(|(s, line)| (parsers::socket(s), s.as_str(), *line)).collect();
            for ((ip, port), name) in &want {
                if !got.iter().any(|g| g.0 == Some((*ip, *port))) {
                    let ep = crate::model::resolved::socket_text(*ip, *port);
                    out.push(finding(
                        RuleCode::AU006,
                        &file,
                        u.line,
                        format!("upstream `{}` on `{}` lacks the Harbor node `{name}` ({ep}): it gets no traffic, and the others carry its share", u.name, lb.name),
                        format!("add `server {ep};` to upstream {} on `{}` (every load balancer lists every node), then nginx -t and reload", u.name, lb.name),
                    ));
                }
            }
            for (ep, text, line) in &got {
                if !ep.is_some_and(|e| want.contains_key(&e)) {
                    out.push(finding(
                        RuleCode::AU006,
                        &file,
                        *line,
                        format!("upstream `{}` on `{}` sends to {text}, which is not a Harbor node of the site (address and http port)", u.name, lb.name),
                        format!("remove `server {text};` from upstream {} on `{}`, or correct its address and port", u.name, lb.name),
                    ));
                }
            }
        }
    }
}

fn au007(tree: &CollectedTree, lbs: &[&HostView], out: &mut Vec<Diagnostic>) {
    if lbs.len() < 2 {
        return;
    }
    let certs: Vec<(usize, (String, String, usize, String))> = lbs
        .iter()
        .enumerate()
        .filter_map(|(i, lb)| {
            let (server, tls, _) = front_server(lb)?;
            if !tls {
                return None;
            }
            let (path, line) = server.certificate.clone()?;
            let conf = super::inventory::config_of(lb, server)?;
            let d = tree.hosts.get(&lb.name)?.digest(&path)?;
            Some((i, (d.hex, tree_path(&lb.name, conf), line, path)))
        })
        .collect();
    let plain: Vec<(usize, String)> = certs.iter().map(|(i, c)| (*i, c.0.clone())).collect();
    let Some(refv) = reference(&plain) else { return };
    let Some(ref_lb) = certs.iter().find(|(_, c)| c.0 == refv).map(|(i, _)| lbs[*i].name.as_str()) else { return };
    for (i, (hex, file, line, path)) in &certs {
        if *hex != refv {
            out.push(finding(
                RuleCode::AU007,
                file,
                *line,
                format!("`{}` serves another certificate ({path}) than `{ref_lb}`: after a failover of the virtual IP, clients that trust the first one refuse the other", lbs[*i].name),
                format!("install `{ref_lb}`'s certificate and key on `{}` too, then nginx -t and reload", lbs[*i].name),
            ));
        }
    }
}
