//! Small parsers for the config files an audit reads: nginx (upstreams, servers),
//! keepalived (the VRRP instance and its VIP), NFS exports, fstab and env files. Each
//! tolerates what it does not understand (it skips it) and never panics; every value keeps
//! its 1-based line, so that findings point at it.

use std::net::IpAddr;

/// One directive of a brace-structured config (nginx, keepalived): its words, its line and
/// its block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Directive {
    /// The name and arguments, unquoted.
    pub words: Vec<String>,
    /// 1-based line of the name.
    pub line: usize,
    /// The directives of its `{ … }` block.
    pub block: Vec<Directive>,
}

impl Directive {
    /// The directive's name.
    #[must_use]
    pub fn name(&self) -> &str {
        self.words.first().map_or("", String::as_str)
    }

    /// Its first argument.
    #[must_use]
    pub fn arg(&self) -> Option<&str> {
        self.words.get(1).map(String::as_str)
    }
}

/// Deepest block nesting followed (deeper blocks are flattened).
const MAX_NESTING: usize = 64;

/// Parse brace-structured text into directives: words separated by spaces, `;` or a line
/// end (`line_ends` true, as keepalived) ends a directive, `{ … }` is its block, `#` (and
/// `!` with `bang_comments`) starts a comment; `"…"` and `'…'` quote.
#[must_use]
pub fn parse_blocks(text: &str, line_ends: bool, bang_comments: bool) -> Vec<Directive> {
    let mut stack: Vec<Directive> = vec![Directive::default()];
    let mut cur: Vec<String> = Vec::new();
    let mut cur_line = 0;
    let mut line = 1;
    // Blocks opened past MAX_NESTING, read as if they were not there.
    let mut flattened = 0usize;
    let mut chars = text.chars().peekable();
    let finish = |stack: &mut Vec<Directive>, cur: &mut Vec<String>, cur_line: usize| {
        if !cur.is_empty() {
            let d = Directive { words: std::mem::take(cur), line: cur_line, block: Vec::new() };
            if let Some(top) = stack.last_mut() {
                top.block.push(d);
            }
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\n' => {
                if line_ends {
                    finish(&mut stack, &mut cur, cur_line);
                }
                line += 1;
            }
            '#' => {
                while chars.peek().is_some_and(|c| *c != '\n') {
                    chars.next();
                }
            }
            '!' if bang_comments && cur.is_empty() => {
                while chars.peek().is_some_and(|c| *c != '\n') {
                    chars.next();
                }
            }
            ';' => finish(&mut stack, &mut cur, cur_line),
            '{' => {
                let d = Directive {
                    words: std::mem::take(&mut cur),
                    line: if cur_line == 0 { line } else { cur_line },
                    block: Vec::new(),
                };
                if stack.len() < MAX_NESTING {
                    stack.push(d);
                } else {
                    flattened += 1;
                    if let Some(top) = stack.last_mut() {
                        top.block.push(d);
                    }
                }
            }
            '}' => {
                finish(&mut stack, &mut cur, cur_line);
                if flattened > 0 {
                    flattened -= 1;
                } else if stack.len() > 1 {
                    if let Some(d) = stack.pop() {
                        if let Some(top) = stack.last_mut() {
                            top.block.push(d);
                        }
                    }
                }
            }
            c if c.is_whitespace() => {}
            q @ ('"' | '\'') => {
                if cur.is_empty() {
                    cur_line = line;
                }
                let mut w = String::new();
                while let Some(n) = chars.next() {
                    match n {
                        '\\' => {
                            if let Some(e) = chars.next() {
                                if e == '\n' {
                                    line += 1;
                                }
                                w.push(e);
                            }
                        }
                        n if n == q => break,
                        '\n' => {
                            line += 1;
                            w.push(n);
                        }
                        n => w.push(n),
                    }
                }
                cur.push(w);
            }
            c => {
                if cur.is_empty() {
                    cur_line = line;
                }
                let mut w = String::from(c);
                while let Some(&n) = chars.peek() {
                    if n.is_whitespace() || matches!(n, ';' | '{' | '}' | '#' | '"' | '\'') {
                        break;
                    }
                    w.push(n);
                    chars.next();
                }
                cur.push(w);
            }
        }
    }
    finish(&mut stack, &mut cur, cur_line);
    while stack.len() > 1 {
        if let Some(d) = stack.pop() {
            if let Some(top) = stack.last_mut() {
                top.block.push(d);
            }
        }
    }
    stack.pop().map(|d| d.block).unwrap_or_default()
}

/// Every directive named `name`, at any depth, in order.
#[must_use]
pub fn find_all<'d>(ds: &'d [Directive], name: &str) -> Vec<&'d Directive> {
    let mut out = Vec::new();
    for d in ds {
        if d.name() == name {
            out.push(d);
        }
        out.extend(find_all(&d.block, name));
    }
    out
}

/// An `upstream` block of nginx.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    /// Its name.
    pub name: String,
    /// Line of `upstream NAME {`.
    pub line: usize,
    /// Its `server` entries: the address as written (`10.0.0.1:80`) and the line.
    pub servers: Vec<(String, usize)>,
    /// Whether it balances with `ip_hash`.
    pub ip_hash: bool,
}

/// A `server` block of nginx: what the audit reads of it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Server {
    /// `listen` ports and whether each is TLS (`ssl`).
    pub listen: Vec<(u16, bool)>,
    /// `server_name` values.
    pub names: Vec<String>,
    /// `ssl_certificate` path and line.
    pub certificate: Option<(String, usize)>,
    /// `ssl_certificate_key` path and line.
    pub key: Option<(String, usize)>,
    /// Upstream names its `proxy_pass` directives send to.
    pub proxies_to: Vec<String>,
}

/// The upstreams and servers of an nginx config.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Nginx {
    /// `upstream` blocks.
    pub upstreams: Vec<Upstream>,
    /// `server` blocks.
    pub servers: Vec<Server>,
}

/// Read the upstreams and servers of nginx config text.
#[must_use]
pub fn nginx(text: &str) -> Nginx {
    let ds = parse_blocks(text, false, false);
    let upstreams = find_all(&ds, "upstream")
        .into_iter()
        .filter(|u| !u.block.is_empty() || u.words.len() == 2)
        .map(|u| Upstream {
            name: u.arg().unwrap_or_default().to_string(),
            line: u.line,
            servers: u
                .block
                .iter()
                .filter(|d| d.name() == "server")
                .filter_map(|d| d.arg().map(|a| (a.to_string(), d.line)))
                .collect(),
            ip_hash: u.block.iter().any(|d| d.name() == "ip_hash"),
        })
        .collect();
    let servers = find_all(&ds, "server")
        .into_iter()
        .filter(|s| !s.block.is_empty())
        .map(|s| {
            let mut out = Server::default();
            for d in &s.block {
                match d.name() {
                    "listen" => {
                        let port =
                            d.arg().and_then(|a| a.rsplit(':').next()).and_then(|p| p.parse().ok()).unwrap_or(80);
                        out.listen.push((port, d.words.iter().any(|w| w == "ssl")));
                    }
                    "server_name" => out.names.extend(d.words.iter().skip(1).cloned()),
                    "ssl_certificate" => out.certificate = d.arg().map(|a| (a.to_string(), d.line)),
                    "ssl_certificate_key" => out.key = d.arg().map(|a| (a.to_string(), d.line)),
                    _ => {}
                }
            }
            for p in find_all(&s.block, "proxy_pass") {
                if let Some(name) = p.arg().and_then(|a| a.split_once("://")).map(|(_, rest)| rest) {
                    let name = name.split(['/', ':']).next().unwrap_or_default().to_string();
                    if !out.proxies_to.contains(&name) {
                        out.proxies_to.push(name);
                    }
                }
            }
            out
        })
        .collect();
    Nginx { upstreams, servers }
}

/// An upstream server entry `address[:port]` (IPv6 in brackets) as address and port
/// (default 80), when the address is an IP address.
#[must_use]
pub fn socket(text: &str) -> Option<(IpAddr, u16)> {
    if let Ok(sa) = text.parse::<std::net::SocketAddr>() {
        return Some((sa.ip(), sa.port()));
    }
    let bare = text.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<IpAddr>().ok().map(|ip| (ip, 80))
}

/// The VRRP instance of a keepalived config.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Vrrp {
    /// The first virtual address and its line.
    pub vip: Option<(IpAddr, usize)>,
    /// `virtual_router_id`.
    pub router_id: Option<u8>,
    /// `interface`.
    pub interface: Option<String>,
    /// `unicast_src_ip`.
    pub src_ip: Option<IpAddr>,
    /// `unicast_peer` addresses.
    pub peers: Vec<IpAddr>,
    /// Line of `vrrp_instance`.
    pub line: usize,
}

/// The first `vrrp_instance` of keepalived config text.
#[must_use]
pub fn keepalived(text: &str) -> Option<Vrrp> {
    let ds = parse_blocks(text, true, true);
    let inst = find_all(&ds, "vrrp_instance").into_iter().next()?;
    let mut v = Vrrp { line: inst.line, ..Vrrp::default() };
    for d in &inst.block {
        match d.name() {
            "interface" => v.interface = d.arg().map(str::to_string),
            "virtual_router_id" => v.router_id = d.arg().and_then(|a| a.parse().ok()),
            "unicast_src_ip" => v.src_ip = d.arg().and_then(|a| a.parse().ok()),
            "unicast_peer" => v.peers = d.block.iter().filter_map(|p| p.name().parse().ok()).collect(),
            "virtual_ipaddress" => {
                v.vip = d
                    .block
                    .iter()
                    .find_map(|a| a.name().split('/').next().and_then(|ip| ip.parse().ok()).map(|ip| (ip, a.line)));
            }
            _ => {}
        }
    }
    Some(v)
}

/// One line of `/etc/exports`: the exported path, its clients and the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    /// Exported directory.
    pub path: String,
    /// Client specifications (host, address or CIDR), without options.
    pub clients: Vec<String>,
    /// 1-based line.
    pub line: usize,
}

/// The exports of exports(5) text.
#[must_use]
pub fn exports(text: &str) -> Vec<Export> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let l = raw.split('#').next().unwrap_or_default().trim();
        let mut words = l.split_whitespace();
        let Some(path) = words.next() else { continue };
        let clients = words
            .filter(|w| !w.starts_with('-'))
            .map(|w| w.split('(').next().unwrap_or_default().to_string())
            .filter(|c| !c.is_empty())
            .collect();
        out.push(Export { path: path.trim_matches('"').to_string(), clients, line: i + 1 });
    }
    out
}

/// One line of fstab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FstabEntry {
    /// What is mounted (`server:/export`).
    pub source: String,
    /// Where.
    pub target: String,
    /// The file system type.
    pub fstype: String,
    /// Mount options.
    pub options: String,
    /// 1-based line.
    pub line: usize,
}

/// The entries of fstab(5) text.
#[must_use]
pub fn fstab(text: &str) -> Vec<FstabEntry> {
    text.lines()
        .enumerate()
        .filter_map(|(i, raw)| {
            let l = raw.split('#').next().unwrap_or_default();
            let w: Vec<&str> = l.split_whitespace().collect();
            (w.len() >= 3).then(|| FstabEntry {
                source: w[0].to_string(),
                target: w[1].to_string(),
                fstype: w[2].to_string(),
                options: w.get(3).copied().unwrap_or("defaults").to_string(),
                line: i + 1,
            })
        })
        .collect()
}

/// `KEY=value` lines of an env file: key → (value, 1-based line); the first wins.
#[must_use]
pub fn env(text: &str) -> std::collections::BTreeMap<String, (String, usize)> {
    let mut m = std::collections::BTreeMap::new();
    for (i, l) in text.lines().enumerate() {
        let t = l.trim_start();
        if t.starts_with('#') {
            continue;
        }
        if let Some((k, v)) = t.split_once('=') {
            let k = k.trim();
            if !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                m.entry(k.to_string()).or_insert((v.trim_end_matches('\r').to_string(), i + 1));
            }
        }
    }
    m
}

/// `key = value` lines of an ini-like file (`app.conf`): key → (value, line).
#[must_use]
pub fn ini(text: &str) -> std::collections::BTreeMap<String, (String, usize)> {
    let mut m = std::collections::BTreeMap::new();
    for (i, l) in text.lines().enumerate() {
        let t = l.trim();
        if t.starts_with('#') || t.starts_with(';') || t.starts_with('[') {
            continue;
        }
        if let Some((k, v)) = t.split_once('=') {
            m.entry(k.trim().to_string()).or_insert((v.trim().to_string(), i + 1));
        }
    }
    m
}

/// The PostgreSQL major version in a path such as `/var/lib/pgsql/9.6/data/pg_hba.conf`,
/// `/etc/postgresql/15/main/pg_hba.conf` or `/usr/lib/postgresql/15/bin`.
#[must_use]
pub fn pg_version_in_path(path: &str) -> Option<String> {
    let parts: Vec<&str> = path.split('/').collect();
    parts.windows(2).find_map(|w| {
        let is_pg_dir =
            matches!(w[0], "pgsql" | "postgresql") || w[0].starts_with("pgsql-") || w[0].starts_with("postgresql-");
        let v = w[1];
        let ok = is_pg_dir
            && !v.is_empty()
            && v.bytes().all(|b| b.is_ascii_digit() || b == b'.')
            && v.bytes().next().is_some_and(|b| b.is_ascii_digit());
        ok.then(|| v.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nginx_upstreams_and_servers() {
        let text = "upstream harbor {\n  ip_hash;\n  server 192.168.166.81:80;\n  server 192.168.166.212:80 max_fails=3; # node 2\n}\nserver {\nlisten 443 ssl;\nserver_name harbor.example.com;\nssl_certificate \"/etc/nginx/ssl/a.crt\";\nssl_certificate_key /k;\nlocation /v2/ { proxy_pass http://harbor/v2/; }\n}\nserver { listen 80; server_name harbor.example.com; rewrite ^(.*) https://$server_name$1 permanent; }\n";
        let n = nginx(text);
        assert_eq!(n.upstreams.len(), 1);
        let u = &n.upstreams[0];
        assert_eq!((u.name.as_str(), u.line, u.ip_hash), ("harbor", 1, true));
        assert_eq!(u.servers, vec![("192.168.166.81:80".to_string(), 3), ("192.168.166.212:80".to_string(), 4)]);
        assert_eq!(n.servers.len(), 2);
        assert_eq!(n.servers[0].listen, vec![(443, true)]);
        assert_eq!(n.servers[0].certificate, Some(("/etc/nginx/ssl/a.crt".to_string(), 9)));
        assert_eq!(n.servers[0].proxies_to, vec!["harbor".to_string()]);
        assert_eq!(n.servers[1].names, vec!["harbor.example.com".to_string()]);
        assert_eq!(socket("[2001:db8::1]:8080"), Some(("2001:db8::1".parse().unwrap(), 8080)));
        assert_eq!(socket("10.0.0.1"), Some(("10.0.0.1".parse().unwrap(), 80)));
        assert_eq!(socket("node-1:80"), None);
    }

    #[test]
    fn broken_configs_do_not_panic() {
        for t in [
            "}}}{{{",
            "upstream",
            "upstream x { server",
            "\"unterminated",
            "server { listen abc; }",
            &"{".repeat(10_000),
        ] {
            let _ = nginx(t);
            let _ = keepalived(t);
        }
    }

    #[test]
    fn keepalived_vip() {
        let text = "! Configuration\nvrrp_instance VI_1 {\n    state MASTER\n    interface ens18\n    virtual_router_id 60\n    authentication {\n        auth_type PASS\n        auth_pass sha256:00\n    }\n    unicast_peer {\n        10.0.0.3\n    }\n    virtual_ipaddress {\n        10.0.0.100/24 dev ens18\n    }\n}\n";
        let v = keepalived(text).unwrap();
        assert_eq!(v.vip, Some(("10.0.0.100".parse().unwrap(), 14)));
        assert_eq!((v.router_id, v.interface.as_deref(), v.line), (Some(60), Some("ens18"), 2));
        assert_eq!(v.peers, vec!["10.0.0.3".parse::<IpAddr>().unwrap()]);
    }

    #[test]
    fn exports_fstab_env() {
        let e = exports("# c\n/data/harbor_data 192.168.166.0/24(rw,sync,no_root_squash) 10.0.0.1\n");
        assert_eq!(
            e,
            vec![Export {
                path: "/data/harbor_data".into(),
                clients: vec!["192.168.166.0/24".into(), "10.0.0.1".into()],
                line: 2
            }]
        );
        let f = fstab("UUID=x / ext4 defaults 0 1\n192.168.166.122:/data/harbor_data /data nfs defaults 0 0\n");
        assert_eq!(f[1].source, "192.168.166.122:/data/harbor_data");
        assert_eq!((f[1].fstype.as_str(), f[1].line), ("nfs", 2));
        let m = env("A=1\n# B=2\nC=x=y\r\n");
        assert_eq!(m["C"], ("x=y".to_string(), 3));
        assert!(!m.contains_key("B"));
        assert_eq!(ini("[dev]\nXSRFKey = abc\n")["XSRFKey"], ("abc".to_string(), 2));
        assert_eq!(pg_version_in_path("/var/lib/pgsql/9.6/data/pg_hba.conf").as_deref(), Some("9.6"));
        assert_eq!(pg_version_in_path("/etc/postgresql/15/main/pg_hba.conf").as_deref(), Some("15"));
        assert_eq!(pg_version_in_path("/usr/pgsql-13/bin").as_deref(), None);
    }
}
