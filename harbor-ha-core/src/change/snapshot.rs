//! What a topology puts on each host, rendered without any real secret: the planner
//! compares two of these. Every shared secret is a fixed stand-in and every `{env}`,
//! `{file}` or literal secret becomes `<secret-N>`, where N is the same for the same
//! reference in both topologies. So a changed reference (another variable, another
//! literal) shows as a changed line, and `--diff` never prints a secret.

use std::collections::{BTreeMap, BTreeSet};

use crate::bundle::Bundle;
use crate::diag::Diagnostic;
use crate::model::enums::Role;
use crate::model::resolved::{Host, Site, ValidTopology};
use crate::model::secret::{Secret, SecretResolver};
use crate::render::render_full;
use crate::secrets::SiteSecrets;
use crate::validate::resolve_secrets;

/// The stand-in token key and certificate (never parsed as keys by the renderers).
const KEY: &str = "-----BEGIN RSA PRIVATE KEY-----\n(the site's token key)\n-----END RSA PRIVATE KEY-----\n";
const CERT: &str = "-----BEGIN CERTIFICATE-----\n(the site's token certificate)\n-----END CERTIFICATE-----\n";

/// Stand-in values for the secret references of the topologies being compared.
#[derive(Default)]
pub(super) struct Placeholders {
    seen: Vec<Secret>,
}

impl Placeholders {
    /// Number every secret reference of `topos` (the same reference, the same number).
    pub(super) fn of(topos: &[&ValidTopology]) -> Self {
        let mut p = Placeholders::default();
        for t in topos {
            for s in &t.sites {
                for secret in site_secrets(s) {
                    if !p.seen.contains(secret) {
                        p.seen.push(secret.clone());
                    }
                }
            }
        }
        p
    }
}

/// Every secret reference of a site.
fn site_secrets(s: &Site) -> Vec<&Secret> {
    use crate::model::resolved::{Database, Redis, Storage};
    let mut v = vec![&s.harbor.admin_password];
    if let Database::External(d) = &s.database {
        v.push(&d.password);
    }
    if let Redis::External(r) = &s.redis {
        v.extend(r.password.as_ref());
    }
    match &s.storage {
        Storage::S3(x) => v.extend(x.accesskey.iter().chain(x.secretkey.iter())),
        Storage::Swift(x) => v.extend(x.password.as_ref()),
        Storage::Azure(x) => v.extend(x.accountkey.as_ref()),
        Storage::Oss(x) => v.extend(x.accesskeyid.iter().chain(x.accesskeysecret.iter())),
        Storage::Local | Storage::Nfs(_) | Storage::Gcs(_) => {}
    }
    v
}

impl SecretResolver for Placeholders {
    fn resolve(&self, secret: &Secret) -> Result<String, String> {
        let n = self.seen.iter().position(|s| s == secret).map_or(0, |i| i + 1);
        // Meets Harbor's password policy and every escaping rule (letters, digits, `-`).
        Ok(format!("Secret-{n}-Placeholder"))
    }
}

/// A host as a change step needs it.
#[derive(Debug, Clone)]
pub(super) struct HostInfo {
    pub site: String,
    pub name: String,
    pub roles: BTreeSet<Role>,
    /// `address:http_port` (Harbor nodes).
    pub endpoint: String,
    /// The node's health URL (Harbor nodes).
    pub ping: String,
    /// Install order within its site.
    pub order: usize,
}

impl HostInfo {
    pub(super) fn has(&self, r: Role) -> bool {
        self.roles.contains(&r)
    }

    /// A data or quorum host (NFS, PostgreSQL, Redis, etcd, Sentinel).
    pub(super) fn backend(&self) -> bool {
        [Role::Nfs, Role::Postgres, Role::Redis, Role::Etcd, Role::Sentinel].iter().any(|r| self.has(*r))
    }
}

/// One topology, rendered with stand-in secrets.
pub(super) struct Snapshot {
    /// Bundle path → (renderer, content), without `secrets/`.
    pub files: BTreeMap<String, (String, String)>,
    /// Host → its install steps as (renderer, text).
    pub steps: BTreeMap<String, Vec<(String, String)>>,
    /// Host → what the steps need to know of it.
    pub hosts: BTreeMap<String, HostInfo>,
}

/// `hosts/<host>/facts.json`.
fn is_facts(path: &str) -> bool {
    path.strip_prefix("hosts/")
        .and_then(|r| r.split_once('/'))
        .is_some_and(|(_, rest)| rest == crate::render::facts::FILE)
}

impl Snapshot {
    /// Render `topo` with `placeholders`.
    ///
    /// # Errors
    /// The render-time diagnostics (none are expected: the stand-ins satisfy every check).
    pub(super) fn render(topo: &ValidTopology, placeholders: &Placeholders) -> Result<Self, Vec<Diagnostic>> {
        let shared = topo
            .sites
            .iter()
            .map(|s| (s.name.to_string(), SiteSecrets::deterministic(s.name.as_str(), KEY, CERT)))
            .collect();
        let input = resolve_secrets(topo, placeholders, shared)?;
        let (bundle, host_steps) = render_full(&input, None);
        Ok(Self::from_parts(topo, &bundle, host_steps))
    }

    fn from_parts(topo: &ValidTopology, bundle: &Bundle, host_steps: Vec<crate::render::HostSteps>) -> Self {
        let files = bundle
            .files
            .iter()
            // Neither the secrets nor a host's expected facts (what an audit compares a
            // collected host with) are something a change installs.
            .filter(|(p, _)| !p.starts_with("secrets/") && !is_facts(p))
            .map(|(p, f)| (p.clone(), (f.renderer(), f.content.clone())))
            .collect();
        let steps = host_steps
            .into_iter()
            .map(|h| (h.host, h.steps.iter().map(|s| (s.renderer(), format!("{}\n{}", s.title, s.body))).collect()))
            .collect();
        let mut hosts = BTreeMap::new();
        for site in &topo.sites {
            for (order, h) in crate::render::install_order(site).into_iter().enumerate() {
                hosts.insert(h.name.to_string(), info(site, h, order));
            }
        }
        Snapshot { files, steps, hosts }
    }

    /// The files under `hosts/<host>/`.
    pub(super) fn host_files(&self, host: &str) -> BTreeMap<&str, &(String, String)> {
        let prefix = format!("hosts/{host}/");
        self.files
            .range(prefix.clone()..)
            .take_while(|(p, _)| p.starts_with(&prefix))
            .map(|(p, f)| (p.as_str(), f))
            .collect()
    }

    /// The bundle-root files (not under `hosts/`).
    pub(super) fn root_files(&self) -> BTreeMap<&str, &(String, String)> {
        self.files.iter().filter(|(p, _)| !p.starts_with("hosts/")).map(|(p, f)| (p.as_str(), f)).collect()
    }

    /// Replace what `hosts` run with what `other` gives them (they were changed by a step).
    pub(super) fn take_hosts(&mut self, other: &Snapshot, hosts: &[String]) {
        for h in hosts {
            let prefix = format!("hosts/{h}/");
            self.files.retain(|p, _| !p.starts_with(&prefix));
            for (p, f) in other.host_files(h) {
                self.files.insert(p.to_string(), f.clone());
            }
            match other.steps.get(h) {
                Some(s) => {
                    self.steps.insert(h.clone(), s.clone());
                }
                None => {
                    self.steps.remove(h);
                }
            }
            match other.hosts.get(h) {
                Some(i) => {
                    self.hosts.insert(h.clone(), i.clone());
                }
                None => {
                    self.hosts.remove(h);
                }
            }
        }
    }
}

fn info(site: &Site, h: &Host, order: usize) -> HostInfo {
    HostInfo {
        site: site.name.to_string(),
        name: h.name.to_string(),
        roles: h.roles.clone(),
        endpoint: h.http_endpoint(),
        ping: format!("http://{}{}", h.http_endpoint(), crate::render::harbor::ping_path(site.harbor.version)),
        order,
    }
}

/// How a file changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FileStatus {
    /// New.
    Added,
    /// Gone.
    Removed,
    /// Other content.
    Modified,
}

impl FileStatus {
    /// `added`, `removed`, `modified`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            FileStatus::Added => "added",
            FileStatus::Removed => "removed",
            FileStatus::Modified => "modified",
        }
    }
}

/// A bundle file that changes (with stand-in secrets in both contents).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    /// Path in the bundle, e.g. `hosts/lb-1/files/etc/nginx/conf.d/harbor.conf`.
    pub path: String,
    /// Added, removed or modified.
    pub status: FileStatus,
    /// Content before.
    pub old: Option<String>,
    /// Content after.
    pub new: Option<String>,
}

/// The files that differ between two maps of path → (renderer, content).
pub(super) fn file_changes(
    old: &BTreeMap<&str, &(String, String)>,
    new: &BTreeMap<&str, &(String, String)>,
) -> Vec<FileChange> {
    let paths: BTreeSet<&str> = old.keys().chain(new.keys()).copied().collect();
    paths
        .into_iter()
        .filter_map(|p| {
            let (o, n) = (old.get(p).map(|f| f.1.clone()), new.get(p).map(|f| f.1.clone()));
            let status = match (&o, &n) {
                (None, Some(_)) => FileStatus::Added,
                (Some(_), None) => FileStatus::Removed,
                (Some(a), Some(b)) if a != b => FileStatus::Modified,
                _ => return None,
            };
            Some(FileChange { path: p.to_string(), status, old: o, new: n })
        })
        .collect()
}

/// What a changed host's install changes touch, by renderer family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Family {
    Postgres,
    Nfs,
    Redis,
    Firewall,
    Harbor,
    Lb,
    Monitoring,
    Base,
}

impl Family {
    fn of(renderer: &str) -> Family {
        let m = renderer.strip_prefix("render::").unwrap_or(renderer);
        let head = m.split("::").next().unwrap_or(m);
        match head {
            "firewall" => Family::Firewall,
            "nfs" => Family::Nfs,
            "postgres" | "patroni" => Family::Postgres,
            "redis" | "sentinel" => Family::Redis,
            "harbor" => Family::Harbor,
            "nginx" | "keepalived" | "haproxy" => Family::Lb,
            "monitoring" => Family::Monitoring,
            _ => Family::Base,
        }
    }

    /// As JSON names it.
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Family::Base => "host",
            Family::Firewall => "firewall",
            Family::Nfs => "nfs",
            Family::Postgres => "postgres",
            Family::Redis => "redis",
            Family::Harbor => "harbor",
            Family::Lb => "lb",
            Family::Monitoring => "monitoring",
        }
    }

    /// How the step's text names it.
    pub(super) fn label(self) -> &'static str {
        match self {
            Family::Base => "host settings",
            Family::Firewall => "firewall",
            Family::Nfs => "NFS export",
            Family::Postgres => "PostgreSQL",
            Family::Redis => "Redis",
            Family::Harbor => "Harbor configuration",
            Family::Lb => "load balancer",
            Family::Monitoring => "monitoring agents",
        }
    }
}

/// `text` without its comment lines (a line whose first non-blank character is `#`, the
/// shebang aside): a change there is no change to what runs.
fn without_comments(text: &str) -> String {
    text.lines().filter(|l| !l.trim_start().starts_with('#') || l.starts_with("#!")).collect::<Vec<_>>().join("\n")
}

/// The families whose files or install steps differ on `host` between two snapshots
/// (comment lines aside), and whether anything differs at all.
pub(super) fn families(old: &Snapshot, new: &Snapshot, host: &str) -> (BTreeSet<Family>, bool) {
    let mut out = BTreeSet::new();
    let mut any = false;
    let (of, nf) = (old.host_files(host), new.host_files(host));
    for c in file_changes(&of, &nf) {
        any = true;
        if c.path.ends_with("/install.sh") && c.path.matches('/').count() == 2 {
            continue; // the script itself: its steps are compared below
        }
        let same = c.status == FileStatus::Modified
            && without_comments(c.old.as_deref().unwrap_or("")) == without_comments(c.new.as_deref().unwrap_or(""));
        if !same {
            let r = of.get(c.path.as_str()).or(nf.get(c.path.as_str())).map_or("", |f| f.0.as_str());
            out.insert(Family::of(r));
        }
    }
    let by_module = |s: Option<&Vec<(String, String)>>| -> BTreeMap<String, String> {
        let mut m: BTreeMap<String, String> = BTreeMap::new();
        for (r, t) in s.into_iter().flatten() {
            m.entry(r.clone()).or_default().push_str(&without_comments(t));
        }
        m
    };
    let (os, ns) = (by_module(old.steps.get(host)), by_module(new.steps.get(host)));
    for r in os.keys().chain(ns.keys()) {
        if os.get(r) != ns.get(r) {
            out.insert(Family::of(r));
        }
    }
    (out, any)
}
