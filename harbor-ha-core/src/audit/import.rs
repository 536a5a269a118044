//! A collected tree → topology text: the sites [`super::inventory`] found, written as a
//! topology file. What the files do not tell is written as a commented placeholder with an
//! `# import:` comment, and named by an AU001 finding at that line.
//!
//! Secrets are never read (the tree holds only their digests): the topology takes each from
//! an environment variable, `{env: HARBOR_DB_PASSWORD}` and the like.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use serde_yaml::Value;

use super::inventory::{host_ip, HostView, Inventory, SiteHosts};
use crate::diag::{Diagnostic, RuleCode};
use crate::model::enums::OsFamily;

/// The topology text and the AU001 findings on it (positions in that text).
pub(super) struct Written {
    pub text: String,
    pub placeholders: Vec<Diagnostic>,
}

/// Lines of the topology being written, and the AU001s of its placeholders.
struct Out {
    lines: Vec<String>,
    au001: Vec<Diagnostic>,
}

impl Out {
    fn push(&mut self, s: impl Into<String>) {
        self.lines.push(s.into());
    }

    /// A commented placeholder for `key` (at `path`) under an `# import:` comment saying why.
    fn placeholder(&mut self, indent: &str, path: &str, key_line: &str, why: &str, hint: &str) {
        self.push(format!("{indent}# import: {why}"));
        self.push(format!("{indent}# {key_line}"));
        let mut d = Diagnostic::new(
            RuleCode::AU001,
            path,
            format!("{path}: {why}; the topology has a commented placeholder"),
            hint,
        );
        d.line = Some(self.lines.len());
        d.column = Some(indent.len() + 1);
        self.au001.push(d);
    }
}

/// A YAML double-quoted scalar (JSON's string syntax is YAML's).
fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_string())
}

/// The most common value (the first seen wins a tie).
fn majority<T: Ord + Clone>(values: impl IntoIterator<Item = T>) -> Option<T> {
    let mut count: BTreeMap<T, (usize, usize)> = BTreeMap::new();
    for (i, v) in values.into_iter().enumerate() {
        let e = count.entry(v).or_insert((0, i));
        e.0 += 1;
    }
    count.into_iter().max_by(|a, b| a.1 .0.cmp(&b.1 .0).then(b.1 .1.cmp(&a.1 .1))).map(|(v, _)| v)
}

/// An environment variable name prefix for a site: empty for one site, `NAME_` otherwise.
fn env_prefix(site_name: &str, sites: usize) -> String {
    if sites <= 1 {
        String::new()
    } else {
        let up: String =
            site_name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect();
        format!("{up}_")
    }
}

/// Write the topology of `inv`'s sites.
pub(super) fn write(inv: &Inventory, sites: &[SiteHosts], loose: &[usize]) -> Written {
    let mut out = Out { lines: Vec::new(), au001: Vec::new() };
    out.push("# Imported by `harbor-ha import` from a collected tree. Review every `# import:` comment,");
    out.push("# then `harbor-ha validate` this file. Secrets come from the environment variables named.");
    out.push("version: 1");
    if sites.is_empty() {
        out.placeholder(
            "",
            "sites",
            "sites: []",
            "no Harbor node in the collected tree (no harbor.yml)",
            "collect the Harbor nodes too (collect.sh with an inventory that names them)",
        );
    } else {
        out.push("sites:");
    }
    let names = site_names(inv, sites);
    for (si, s) in sites.iter().enumerate() {
        SiteWriter { inv, site: s, index: si, name: &names[si], env: env_prefix(&names[si], sites.len()) }
            .write(&mut out);
    }
    for &i in loose {
        let h = &inv.hosts[i];
        out.placeholder(
            "",
            "sites",
            &format!("host {}: no site", h.name),
            &format!(
                "host `{}` was left out: no file ties it to a site and its address is in no site's subnet",
                h.name
            ),
            "add it to the hosts of its site by hand, with its address and roles",
        );
    }
    let mut text = out.lines.join("\n");
    text.push('\n');
    Written { text, placeholders: out.au001 }
}

/// A name per site from the first label of its external_url's host (`harbor` for
/// `https://harbor.example.com`), else `site-N`; unique.
fn site_names(inv: &Inventory, sites: &[SiteHosts]) -> Vec<String> {
    let mut used = BTreeSet::new();
    sites
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let url = majority(s.hosts.iter().filter_map(|&h| inv.hosts[h].harbor.as_ref()?.yml.text("external_url")));
            let label = url
                .and_then(|u| url::Url::parse(&u).ok())
                .and_then(|u| u.host_str().map(str::to_string))
                .filter(|h| h.parse::<IpAddr>().is_err() && !h.starts_with('['))
                .map(|h| {
                    // `harbor.legacy.example.org` → `legacy`; `harbor.example.com` → `harbor`.
                    let labels: Vec<&str> = h.split('.').collect();
                    let generic = ["harbor", "registry", "hub", "docker", "reg", "cr", "www"];
                    let pick = if labels.len() >= 4 && generic.contains(&labels[0]) { labels[1] } else { labels[0] };
                    pick.to_ascii_lowercase()
                })
                .map(|l| l.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect::<String>())
                .filter(|l| !l.is_empty());
            let mut name = label.unwrap_or_else(|| format!("site-{}", i + 1));
            if used.contains(&name) {
                name = format!("{name}-{}", i + 1);
            }
            used.insert(name.clone());
            name
        })
        .collect()
}

struct SiteWriter<'a> {
    inv: &'a Inventory,
    site: &'a SiteHosts,
    index: usize,
    name: &'a str,
    env: String,
}

impl SiteWriter<'_> {
    fn hosts(&self) -> impl Iterator<Item = &HostView> + '_ {
        self.site.hosts.iter().map(|&i| &self.inv.hosts[i])
    }

    fn nodes(&self) -> impl Iterator<Item = &HostView> + '_ {
        self.hosts().filter(|h| h.harbor.is_some())
    }

    fn lbs(&self) -> impl Iterator<Item = &HostView> + '_ {
        self.hosts().filter(|h| h.is_lb())
    }

    fn p(&self, rest: &str) -> String {
        format!("sites[{}].{rest}", self.index)
    }

    /// harbor.yml's text at `key`, the most common over the nodes.
    fn yml(&self, key: &str) -> Option<String> {
        majority(self.nodes().filter_map(|h| h.harbor.as_ref()?.yml.text(key)))
    }

    fn yml_value(&self, key: &str) -> Option<Value> {
        self.nodes().find_map(|h| h.harbor.as_ref()?.yml.get(key).cloned())
    }

    /// The site host at `ip` (its address, or a VIP of its keepalived).
    fn host_at(&self, ip: IpAddr) -> Option<&HostView> {
        self.hosts()
            .find(|h| h.address == Some(ip))
            .or_else(|| self.hosts().find(|h| h.vrrp.as_ref().and_then(|(_, v)| v.vip).is_some_and(|v| v.0 == ip)))
    }

    /// The site host that `name` (an address or a host name) names.
    fn host_named(&self, name: &str) -> Option<&HostView> {
        if let Some(ip) = host_ip(name) {
            return self.host_at(ip);
        }
        let n = name.to_ascii_lowercase();
        let first = n.split('.').next().unwrap_or_default().to_string();
        self.hosts().find(|h| {
            let fh = h.facts.as_ref().map(|f| f.hostname.to_ascii_lowercase()).unwrap_or_default();
            h.name == n
                || h.name == first
                || (!fh.is_empty() && (fh == n || fh.split('.').next() == Some(first.as_str())))
        })
    }

    fn write(&self, out: &mut Out) {
        out.push(format!("  - name: {}", q(self.name)));
        let nodes = self.nodes().count();
        let external_db =
            self.nodes().any(|h| h.harbor.as_ref().is_some_and(|n| n.yml.get("external_database").is_some()));
        if nodes >= 2 && !external_db {
            out.push("    # import: two or more nodes, each with its own database: dual master");
            out.push("    mode: replication");
        }
        let os = self.site_os();
        match os {
            Some(o) => out.push(format!("    os: {}", o.as_str())),
            None => out.placeholder(
                "    ",
                &self.p("os"),
                "os: debian12",
                "no host's facts.json names a known OS family",
                "set the OS family of the site's hosts (centos7, rocky9, debian12 or ubuntu22.04)",
            ),
        }
        self.harbor(out);
        out.push("    network:");
        match self.site.subnet {
            Some(n) => out.push(format!("      subnet: {n}")),
            None => out.placeholder(
                "      ",
                &self.p("network.subnet"),
                "subnet: 192.0.2.0/24",
                "no facts.json gives the hosts' address prefixes",
                "set the subnet that holds every host of the site",
            ),
        }
        self.hosts_section(out, os);
        self.storage(out);
        self.database(out);
        self.redis(out);
        self.load_balancer(out);
        if let (Some(proto), Some(host), Some(port)) = (
            self.yml("log.external_endpoint.protocol"),
            self.yml("log.external_endpoint.host"),
            self.yml("log.external_endpoint.port"),
        ) {
            out.push("    log:");
            out.push(format!("      syslog: {}", q(&format!("{proto}://{host}:{port}"))));
        }
    }

    fn site_os(&self) -> Option<OsFamily> {
        majority(self.hosts().filter_map(|h| parse_os(&h.facts.as_ref()?.os)))
    }

    fn harbor(&self, out: &mut Out) {
        out.push("    harbor:");
        let version =
            majority(self.nodes().filter_map(|h| h.harbor.as_ref()?.version.as_ref().map(|a| a.value.clone())));
        match version {
            Some(v) => out.push(format!("      version: {}", q(&v))),
            None => match self.yml("_version") {
                Some(v) => {
                    out.push(format!("      # import: no facts.json or docker-compose.yml names the release; harbor.yml's _version is {v}"));
                    out.push(format!("      version: {}", q(&v)));
                }
                None => out.placeholder(
                    "      ",
                    &self.p("harbor.version"),
                    "version: \"2.11.1\"",
                    "no facts.json, docker-compose.yml or harbor.yml names the Harbor release",
                    "set the release the nodes run (docker ps shows it in the image tags)",
                ),
            },
        }
        match self.external_url() {
            Some(u) => out.push(format!("      external_url: {}", q(&u))),
            None => out.placeholder(
                "      ",
                &self.p("harbor.external_url"),
                "external_url: https://harbor.example.com",
                "neither harbor.yml nor a load balancer names the URL clients use",
                "set the URL docker clients use (the load balancer's)",
            ),
        }
        out.push(format!("      admin_password: {{env: {}HARBOR_ADMIN_PASSWORD}}", self.env));
        let dirs = majority(self.nodes().filter_map(|h| {
            let dir = h.harbor.as_ref()?.yml.dir().to_string();
            Some(dir.rsplit_once('/').map_or("/".to_string(), |(p, _)| {
                if p.is_empty() {
                    "/".to_string()
                } else {
                    p.to_string()
                }
            }))
        }));
        if let Some(d) = dirs.filter(|d| d != "/usr/local") {
            out.push(format!("      install_dir: {}", q(&d)));
        }
        match self.components() {
            Some(c) if !c.is_empty() => out.push(format!("      components: [{}]", c.join(", "))),
            Some(_) => {}
            None => out.placeholder(
                "      ",
                &self.p("harbor.components"),
                "components: [trivy]",
                "no docker-compose.yml or facts.json lists the containers, so the optional components are not known",
                "list the optional components the nodes run (trivy, clair, chartmuseum, notary), or remove the line",
            ),
        }
    }

    /// The URL clients use: the nodes' external_url; else what the load balancer serves;
    /// else Harbor's own default, `http://<hostname>`.
    fn external_url(&self) -> Option<String> {
        if let Some(u) = self.yml("external_url") {
            return Some(u.trim_end_matches('/').to_string());
        }
        if let Some((tls, name, port)) = self.lb_front() {
            let scheme = if tls { "https" } else { "http" };
            let default = if tls { 443 } else { 80 };
            let port = if port == default { String::new() } else { format!(":{port}") };
            return Some(format!("{scheme}://{name}{port}"));
        }
        let host = self.yml("hostname")?;
        let https = self.yml_value("https").is_some();
        let port = if https { self.yml("https.port") } else { self.yml("http.port") };
        let default = if https { "443" } else { "80" };
        let port = port.filter(|p| p != default).map(|p| format!(":{p}")).unwrap_or_default();
        let host = if host.parse::<std::net::Ipv6Addr>().is_ok() { format!("[{host}]") } else { host };
        Some(format!("{}://{host}{port}", if https { "https" } else { "http" }))
    }

    /// The first load balancer's front ([`super::inventory::lb_front`]).
    fn lb_front(&self) -> Option<(bool, String, u16)> {
        super::inventory::lb_front(self.lbs().next()?)
    }

    /// Optional components, from the containers: `None` when no node lists any.
    fn components(&self) -> Option<Vec<&'static str>> {
        let images: BTreeSet<&str> = self
            .nodes()
            .flat_map(|h| h.harbor.as_ref().map(|n| n.images.keys().map(String::as_str)).into_iter().flatten())
            .collect();
        if images.is_empty() {
            return None;
        }
        let mut c = Vec::new();
        for (container, comp) in [
            ("trivy-adapter", "trivy"),
            ("clair", "clair"),
            ("chartmuseum", "chartmuseum"),
            ("notary-server", "notary"),
        ] {
            if images.contains(container) {
                c.push(comp);
            }
        }
        Some(c)
    }

    fn roles(&self, h: &HostView) -> Vec<&'static str> {
        let mut r = Vec::new();
        if !h.exports.is_empty() {
            r.push("nfs");
        }
        if h.pg.is_some() {
            r.push("postgres");
        }
        if h.redis {
            r.push("redis");
        }
        if h.harbor.is_some() {
            r.push("harbor");
        }
        if h.is_lb() {
            r.push("lb");
        }
        if h.sentinel && !h.redis {
            r.push("sentinel");
        }
        if h.etcd.is_some() && h.pg.is_none() {
            r.push("etcd");
        }
        r
    }

    /// The data volume every node uses by default: the NFS mount, else `/data`.
    fn default_data_volume(&self) -> String {
        self.nfs_mount().map_or_else(|| "/data".to_string(), |m| m.2)
    }

    fn hosts_section(&self, out: &mut Out, site_os: Option<OsFamily>) {
        out.push("    hosts:");
        let dv_default = self.default_data_volume();
        for (k, h) in self.hosts().enumerate() {
            let mut fields = vec![format!("name: {}", q(&h.name))];
            match h.address {
                Some(a) => fields.push(format!("address: {}", q(&a.to_string()))),
                None => {
                    out.placeholder(
                        "      ",
                        &self.p(&format!("hosts[{k}].address")),
                        &format!("- {{name: {}, address: ADDRESS, roles: [{}]}}", q(&h.name), self.roles(h).join(", ")),
                        &format!("host `{}`: neither its configs nor its facts.json give its address", h.name),
                        "give the host's address and uncomment its line",
                    );
                    continue;
                }
            }
            fields.push(format!("roles: [{}]", self.roles(h).join(", ")));
            if let Some(o) = h.facts.as_ref().and_then(|f| parse_os(&f.os)).filter(|o| Some(*o) != site_os) {
                fields.push(format!("os: {}", o.as_str()));
            }
            if let Some(n) = &h.harbor {
                if let Some(p) = n.yml.text("http.port").filter(|p| p != "80").and_then(|p| p.parse::<u16>().ok()) {
                    fields.push(format!("http_port: {p}"));
                }
                if let Some(dv) =
                    n.yml.text("data_volume").filter(|d| d.trim_end_matches('/') != dv_default.trim_end_matches('/'))
                {
                    fields.push(format!("data_volume: {}", q(&dv)));
                }
            }
            if let Some(i) = h.vrrp.as_ref().and_then(|(_, v)| v.interface.clone()).filter(|i| i != "eth0") {
                fields.push(format!("interface: {}", q(&i)));
            }
            out.push(format!("      - {{{}}}", fields.join(", ")));
        }
    }

    /// The NFS mount of the nodes' data volume: (server, export, mount point, fstab options).
    fn nfs_mount(&self) -> Option<(String, String, String, Option<String>)> {
        majority(self.nodes().filter_map(|h| {
            let dv = h.harbor.as_ref()?.yml.text("data_volume")?;
            let dv = dv.trim_end_matches('/');
            let from_fstab =
                h.fstab.iter().find(|e| e.fstype.starts_with("nfs") && e.target.trim_end_matches('/') == dv);
            let (source, options) = match from_fstab {
                Some(e) => (e.source.clone(), Some(e.options.clone())),
                None => {
                    let m = h
                        .facts
                        .as_ref()?
                        .mounts
                        .iter()
                        .find(|m| m.fstype.starts_with("nfs") && m.target.trim_end_matches('/') == dv)?;
                    (m.source.clone(), None)
                }
            };
            let (server, export) = source.rsplit_once(":/")?;
            Some((
                server.trim_start_matches('[').trim_end_matches(']').to_string(),
                format!("/{export}"),
                dv.to_string(),
                options,
            ))
        }))
    }

    /// Object storage from harbor.yml's storage_service, else the NFS mount of the data
    /// volume, else nothing (each node's local disk).
    fn storage(&self, out: &mut Out) -> Option<()> {
        if let Some(Value::Mapping(ss)) = self.yml_value("storage_service") {
            for driver in ["s3", "swift", "azure", "gcs", "oss"] {
                if let Some(Value::Mapping(m)) = ss.get(driver) {
                    out.push("    storage:");
                    out.push(format!("      {driver}:"));
                    for (k, v) in m {
                        let (Some(k), Some(text)) = (k.as_str(), scalar(v)) else { continue };
                        if !super::classify::is_secret_key(k) || k == "keyfile" {
                            let plain = matches!(v, Value::Bool(_));
                            out.push(format!("        {k}: {}", if plain { text } else { q(&text) }));
                        } else {
                            let var = format!("{}{}_{}", self.env, driver.to_ascii_uppercase(), k.to_ascii_uppercase());
                            out.push(format!("        {k}: {{env: {var}}}"));
                        }
                    }
                    let redirect = ss.get("redirect").and_then(|r| r.get("disable").or_else(|| r.get("disabled")));
                    if redirect.and_then(Value::as_bool) == Some(true) {
                        out.push("      disable_redirect: true");
                    }
                    return Some(());
                }
            }
        }
        let (server, export, mount, options) = self.nfs_mount()?;
        out.push("    storage:");
        out.push("      nfs:");
        out.push(format!("        export: {}", q(&export)));
        out.push(format!("        mount: {}", q(&mount)));
        let server_host = self.host_named(&server).filter(|h| !h.exports.is_empty());
        match (server_host, server.parse::<IpAddr>()) {
            (Some(_), _) => {}
            (None, Ok(ip)) => out.push(format!("        server: {}", q(&ip.to_string()))),
            (None, Err(_)) => out.placeholder(
                "        ",
                &self.p("storage.nfs.server"),
                &format!("server: ADDRESS  # of {server}"),
                &format!("the NFS server `{server}` is a name, not an address, and no collected host is it"),
                "give the NFS server's address (or collect it too)",
            ),
        }
        if let Some(o) = options.filter(|o| o != "hard,nfsvers=4.1,_netdev") {
            out.push(format!("        options: {}", q(&o)));
        }
        if let Some(h) = server_host {
            let clients: Vec<String> = h
                .exports
                .iter()
                .filter(|(_, e)| e.path.trim_end_matches('/') == export.trim_end_matches('/'))
                .flat_map(|(_, e)| e.clients.clone())
                .collect();
            let nodes: BTreeSet<String> = self.nodes().filter_map(|n| n.address.map(|a| a.to_string())).collect();
            let given: BTreeSet<String> =
                clients.iter().map(|c| c.trim_end_matches("/32").trim_end_matches("/128").to_string()).collect();
            if !clients.is_empty() && given != nodes {
                out.push(format!("        clients: [{}]", clients.iter().map(|c| q(c)).collect::<Vec<_>>().join(", ")));
            }
        }
        Some(())
    }

    fn database(&self, out: &mut Out) {
        let Some(host) = self.yml("external_database.harbor.host") else { return };
        out.push("    database:");
        let members: Vec<&HostView> = self.hosts().filter(|h| h.pg.as_ref().is_some_and(|p| p.patroni)).collect();
        let target = self.host_named(&host);
        let (installed, version, sync, max_conn) = match target {
            Some(t) if t.pg.as_ref().is_some_and(|p| !p.patroni) => {
                let pg = t.pg.as_ref();
                (true, pg.and_then(|p| p.version.clone()), None, pg.and_then(|p| p.max_connections))
            }
            Some(t) if t.is_lb() && !members.is_empty() => {
                let v = majority(members.iter().filter_map(|m| m.pg.as_ref()?.version.clone()));
                let s = majority(members.iter().filter_map(|m| m.pg.as_ref()?.synchronous));
                let c = majority(members.iter().filter_map(|m| m.pg.as_ref()?.max_connections));
                (true, v, s, c)
            }
            _ => (false, None, None, None),
        };
        if !installed {
            out.push(format!("      host: {}", q(&host)));
        }
        match version {
            Some(v) => out.push(format!("      version: {}", q(&v))),
            None => out.placeholder(
                "      ",
                &self.p("database.version"),
                "version: \"15\"",
                &format!("the PostgreSQL version of `{host}` is not in the collected files"),
                "set the server's major version (psql -c 'SHOW server_version'), or remove the line to take the default",
            ),
        }
        for (key, yml_key) in [("port", "port"), ("username", "username"), ("db_name", "db_name")] {
            if let Some(v) = self.yml(&format!("external_database.harbor.{yml_key}")) {
                let v = if key == "port" { v } else { q(&v) };
                out.push(format!("      {key}: {v}"));
            }
        }
        out.push(format!("      password: {{env: {}HARBOR_DB_PASSWORD}}", self.env));
        if let Some(m) = self.yml("external_database.harbor.ssl_mode") {
            out.push(format!("      ssl_mode: {}", q(&m)));
        }
        for k in ["max_open_conns", "max_idle_conns"] {
            if let Some(v) = self.yml(&format!("external_database.harbor.{k}")).filter(|v| v.parse::<u32>().is_ok()) {
                out.push(format!("      {k}: {v}"));
            }
        }
        if let Some(c) = max_conn {
            out.push(format!("      max_connections: {c}"));
        }
        if sync == Some(false) {
            out.push("      synchronous: false");
        }
    }

    fn redis(&self, out: &mut Out) {
        let Some(host) = self.yml("external_redis.host") else { return };
        out.push("    redis:");
        let entries: Vec<&str> = host.split(',').map(str::trim).filter(|e| !e.is_empty()).collect();
        let master_set = self.yml("external_redis.sentinel_master_set").filter(|m| !m.is_empty());
        let data = self.hosts().filter(|h| h.redis).count();
        let resolved: Vec<Option<&HostView>> = entries.iter().map(|e| self.host_named(e)).collect();
        let all_ours = !resolved.is_empty() && resolved.iter().all(|h| h.is_some_and(|h| h.redis || h.sentinel));
        let port_of = |e: &str| e.rsplit_once(':').and_then(|(_, p)| p.parse::<u16>().ok());
        let mut port = self.yml("external_redis.port").and_then(|p| p.parse::<u16>().ok());
        match &master_set {
            Some(ms) if all_ours && data >= 2 => {
                if ms != "harbor" {
                    out.push("      sentinel:");
                    out.push(format!("        master_set: {}", q(ms)));
                }
            }
            Some(ms) => {
                out.push("      sentinel:");
                out.push(format!("        master_set: {}", q(ms)));
                out.push(format!("        hosts: [{}]", entries.iter().map(|e| q(e)).collect::<Vec<_>>().join(", ")));
            }
            None => {
                let e = entries.first().copied().unwrap_or_default();
                port = port.or_else(|| port_of(e));
                let target = resolved.first().copied().flatten();
                let ours = target.is_some_and(|t| t.redis || (t.is_lb() && data >= 2));
                if !ours {
                    let h = match e.rsplit_once(':') {
                        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) && !h.ends_with(':') => h,
                        _ => e,
                    };
                    out.push(format!("      host: {}", q(h.trim_start_matches('[').trim_end_matches(']'))));
                }
            }
        }
        if let Some(p) = port.filter(|p| *p != 6379) {
            out.push(format!("      port: {p}"));
        }
        if self.yml("external_redis.password").is_some_and(|p| !p.is_empty()) {
            out.push(format!("      password: {{env: {}HARBOR_REDIS_PASSWORD}}", self.env));
        }
        if let Some(u) = self.yml("external_redis.username").filter(|u| !u.is_empty()) {
            out.push(format!("      username: {}", q(&u)));
        }
        let idx: Vec<String> = ["registry", "jobservice", "trivy", "chartmuseum", "clair"]
            .iter()
            .filter_map(|c| {
                let v = self.yml(&format!("external_redis.{c}_db_index"))?;
                v.parse::<u8>().ok().map(|n| format!("{c}: {n}"))
            })
            .collect();
        if !idx.is_empty() {
            out.push(format!("      db_index: {{{}}}", idx.join(", ")));
        }
    }

    fn load_balancer(&self, out: &mut Out) {
        let Some(lb) = self.lbs().next() else { return };
        out.push("    load_balancer:");
        let url_host =
            self.external_url().and_then(|u| url::Url::parse(&u).ok()).and_then(|u| u.host_str().map(str::to_string));
        let front = self.lb_front();
        if let Some((_, name, _)) = &front {
            if url_host.as_deref() != Some(name.as_str()) && name.parse::<IpAddr>().is_err() {
                out.push(format!("      server_name: {}", q(name)));
            }
        }
        let upstream: BTreeSet<&str> = lb.upstreams().iter().map(|(_, u)| u.name.as_str()).collect();
        let tls_server = lb
            .nginx
            .iter()
            .flat_map(|(_, n)| &n.servers)
            .find(|s| s.listen.iter().any(|l| l.1) && s.proxies_to.iter().any(|p| upstream.contains(p.as_str())));
        if let Some(s) = tls_server {
            match (&s.certificate, &s.key) {
                (Some(c), Some(k)) => out.push(format!("      tls: {{certificate: {}, key: {}}}", q(&c.0), q(&k.0))),
                _ => out.placeholder(
                    "      ",
                    &self.p("load_balancer.tls"),
                    "tls: {certificate: PATH, key: PATH}",
                    "the load balancer listens with TLS but its certificate or key path is not in the collected nginx config",
                    "give the certificate and key paths on the load balancers",
                ),
            }
        }
        let ip_hash = lb.upstreams().first().is_some_and(|(_, u)| u.ip_hash);
        out.push(format!("      affinity: {}", if ip_hash { "ip_hash" } else { "none" }));
        if let Some((_, v)) = self.lbs().find_map(|h| h.vrrp.as_ref()) {
            if let Some((vip, _)) = v.vip {
                out.push(format!("      vip: {}", q(&vip.to_string())));
            }
            if let Some(id) = v.router_id.filter(|id| *id != 51) {
                out.push(format!("      virtual_router_id: {id}"));
            }
        } else if self.lbs().count() >= 2 {
            out.placeholder(
                "      ",
                &self.p("load_balancer.vip"),
                "vip: ADDRESS",
                "two load balancers and no keepalived.conf naming a virtual IP",
                "give the virtual IP the load balancers share",
            );
        }
    }
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The OS family a facts.json names.
fn parse_os(s: &str) -> Option<OsFamily> {
    serde_yaml::from_str(&format!("\"{}\"", s.replace(['"', '\\'], ""))).ok()
}
