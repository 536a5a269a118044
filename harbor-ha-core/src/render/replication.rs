//! Harbor replication: dual-master pairs and edges between sites, as Harbor API request
//! bodies and the scripts that apply them.
//!
//! Who holds what:
//! - a dual-master site (`mode: replication`) holds, on **each node** (its own database), a
//!   registry endpoint for every other node (`http://<address>:<http_port>`, not the LB), an
//!   event-based push policy to it with deletion, and a scheduled push (`0 0 * * * *`) as
//!   the fallback that event-based replication lacks (failed pushes are never retried);
//! - an edge `{from, to}` is held by `from` (push: endpoint for `to`'s external_url, policy
//!   with `dest_registry`) or by `to` (`mode: pull`: endpoint for `from`, `src_registry`).
//!   A dual-master site holds its edges on both nodes.
//!
//! Files, per holding site (`<t>/` is nothing for a site, `nodes/<node>/` for each node of
//! a dual-master site):
//! - `replication/<site>/<t>/registries/<name>.json`: `POST /registries` body (the
//!   credential's `access_key`/`access_secret` are added by apply.sh at apply time);
//! - `replication/<site>/<t>/registries/<name>.update.json`: `PUT /registries/{id}` body
//!   (flat `credential_type`, `access_key`, `access_secret` in every version);
//! - `replication/<site>/<t>/policies/<name>.json`: `POST`/`PUT /replication/policies`
//!   body; the registry is named (`{"name": …}`) and apply.sh adds its `id`;
//! - `replication/<site>/apply.sh`: idempotent create-or-update through the API;
//! - `replication/<site>/check-dns.sh`: run on a node of the site: the names its Harbor
//!   containers must resolve and reach (Docker's DNS ignores the host's /etc/hosts).
//!
//! And `replication/resync.sh` (a manual execution of the policies of every holding site,
//! upstream first, then waits and reports) and `replication/README.md`.
//!
//! API flavours: 1.10 (`/api`, list by `?name=`, no `replicate_deletion`), 2.0–2.2
//! (`/api/v2.0`, legacy handlers, `?name=`), 2.3+ (`/api/v2.0`, exact `?q=name=`). Bodies
//! send `deletion` (the field every version reads on input) and, for 2.x, also
//! `replicate_deletion`. Label filters are a list of names in every version.
//! No secret is ever written: scripts read them at apply time.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::IpAddr;

use serde::Serialize;
use serde_json::Value;
use url::{Host as UrlHost, Url};

use super::harbor::ping_path;
use super::quote::sh;
use crate::bundle::Bundle;
use crate::model::enums::{EdgeMode, SiteMode};
use crate::model::ids::CronExpr;
use crate::model::resolved::{Edge, Site, Tls, Topology};
use crate::model::resolved::{Filters, Trigger};
use crate::model::secret::Secret;
use crate::model::version::Version;

/// The scheduled fallback of a dual-master pair: hourly, Harbor's 6-field cron.
pub const FALLBACK_CRON: &str = "0 0 * * * *";

/// Harbor's limit on a registry endpoint's name.
const MAX_REGISTRY_NAME: usize = 64;

// ---- request bodies -------------------------------------------------------------------------

/// `POST /registries` (Registry in every version). Credentials are added at apply time.
#[derive(Debug, Clone, Serialize)]
pub struct RegistryCreate {
    /// Endpoint name.
    pub name: String,
    /// Shown in Harbor's UI.
    pub description: String,
    /// Adapter: always `harbor`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The remote Harbor's URL.
    pub url: String,
    /// Skip TLS verification of the remote.
    pub insecure: bool,
    /// Credential type only; apply.sh adds `access_key` and `access_secret`.
    pub credential: CredentialType,
}

/// `{"type": "basic"}`.
#[derive(Debug, Clone, Serialize)]
pub struct CredentialType {
    /// Always `basic`.
    #[serde(rename = "type")]
    pub kind: &'static str,
}

/// `PUT /registries/{id}` (PutRegistry in 1.10, RegistryUpdate in 2.x: the same fields).
#[derive(Debug, Clone, Serialize)]
pub struct RegistryUpdate {
    /// Endpoint name.
    pub name: String,
    /// Shown in Harbor's UI.
    pub description: String,
    /// The remote Harbor's URL.
    pub url: String,
    /// Always `basic`; apply.sh adds `access_key` and `access_secret`.
    pub credential_type: &'static str,
    /// Skip TLS verification of the remote.
    pub insecure: bool,
}

/// A registry named in a policy; apply.sh adds its `id`.
#[derive(Debug, Clone, Serialize)]
pub struct RegistryRef {
    /// The endpoint's name (created by the same apply.sh).
    pub name: String,
}

/// ReplicationTrigger.
#[derive(Debug, Clone, Serialize)]
pub struct TriggerBody {
    /// `event_based`, `manual` or `scheduled`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The cron of a scheduled trigger.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trigger_settings: Option<TriggerSettings>,
}

/// `{"cron": …}`.
#[derive(Debug, Clone, Serialize)]
pub struct TriggerSettings {
    /// Harbor 6-field cron.
    pub cron: String,
}

/// ReplicationFilter: `name` and `tag` take a pattern, `label` a list of label names.
#[derive(Debug, Clone, Serialize)]
pub struct FilterBody {
    /// `name`, `tag` or `label`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// A string, or a list of strings for `label`.
    pub value: Value,
}

/// `POST /replication/policies` and `PUT /replication/policies/{id}` (ReplicationPolicy).
#[derive(Debug, Clone, Serialize)]
pub struct PolicyBody {
    /// Policy name.
    pub name: String,
    /// Shown in Harbor's UI.
    pub description: String,
    /// Pull: the remote endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src_registry: Option<RegistryRef>,
    /// Push: the remote endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dest_registry: Option<RegistryRef>,
    /// When it runs.
    pub trigger: TriggerBody,
    /// What it replicates (empty: everything).
    pub filters: Vec<FilterBody>,
    /// Replicate deletions (the field Harbor reads on input, 1.10 to 2.15).
    pub deletion: bool,
    /// The 2.x name of the same setting (declared since 2.3; ignored before).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicate_deletion: Option<bool>,
    /// Overwrite existing tags on the destination.
    #[serde(rename = "override")]
    pub overwrite: bool,
    /// Policies are created enabled.
    pub enabled: bool,
}

// ---- the plan -------------------------------------------------------------------------------

/// How a Harbor version's API is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiFlavor {
    /// Harbor 1.10: `/api`, `?name=`.
    V1,
    /// Harbor 2.0–2.2: `/api/v2.0` served by the legacy handlers, `?name=`.
    V2Legacy,
    /// Harbor 2.3 and later: `/api/v2.0`, exact `?q=name=`.
    V2,
}

impl ApiFlavor {
    /// The flavour of a Harbor release.
    #[must_use]
    pub fn of(v: Version) -> Self {
        if v.major < 2 {
            ApiFlavor::V1
        } else if v.minor_key() < (2, 3) {
            ApiFlavor::V2Legacy
        } else {
            ApiFlavor::V2
        }
    }

    /// The API's base path.
    #[must_use]
    pub fn prefix(self) -> &'static str {
        match self {
            ApiFlavor::V1 => "/api",
            ApiFlavor::V2Legacy | ApiFlavor::V2 => "/api/v2.0",
        }
    }

    /// The query that lists objects by name (followed by the name); the scripts then keep
    /// only the exact match, since `?name=` is a substring match.
    #[must_use]
    pub fn name_query(self) -> &'static str {
        match self {
            ApiFlavor::V1 | ApiFlavor::V2Legacy => "name=",
            ApiFlavor::V2 => "q=name%3D",
        }
    }
}

/// Where a secret comes from at apply time.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SecretRef {
    /// A variable that overrides the source when set ("" = none).
    override_var: String,
    /// The topology's secret.
    source: Secret,
    /// What it is, for messages.
    what: String,
}

/// The account a registry endpoint logs in with.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Cred {
    /// The admin account the script itself uses (a dual-master peer).
    Admin,
    /// An account on the remote site.
    Remote { username: String, secret: SecretRef },
}

#[derive(Debug, Clone)]
struct RegistryObj {
    name: String,
    body: RegistryCreate,
    cred: Cred,
    /// The remote's ping URL, for check-dns.sh.
    ping: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Src,
    Dest,
}

impl Field {
    fn key(self) -> &'static str {
        match self {
            Field::Src => "src_registry",
            Field::Dest => "dest_registry",
        }
    }
}

#[derive(Debug, Clone)]
struct PolicyObj {
    name: String,
    registry: String,
    field: Field,
    body: PolicyBody,
    /// Policies with the same scope copy the same artifacts: resync runs one of them.
    scope: String,
    scheduled: bool,
}

/// One Harbor instance that receives objects: a site, or a node of a dual-master site.
#[derive(Debug, Clone)]
struct TargetPlan {
    /// `site` or `site/node`.
    label: String,
    /// Where its JSON files are, under `replication/<site>/`: empty, or `nodes/<node>/`.
    dir: String,
    /// The API's base URL by default.
    default_url: String,
    /// The variable that overrides it.
    url_var: String,
    registries: Vec<RegistryObj>,
    policies: Vec<PolicyObj>,
}

#[derive(Debug, Clone)]
struct SitePlan<'a> {
    site: &'a Site,
    api: ApiFlavor,
    admin: SecretRef,
    targets: Vec<TargetPlan>,
    /// Dual master: the site's own external_url (ping path), which the containers must
    /// reach too, because the peer's registry names it as token service.
    realm: Option<String>,
}

/// `HHA_<PART>_<PART>…`: upper case, `-` → `_`.
fn var(parts: &[&str]) -> String {
    let mut s = String::from("HHA");
    for p in parts {
        s.push('_');
        s.extend(p.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }));
    }
    s
}

/// `scheme://host[:port]` of a URL, without path.
fn origin(u: &Url) -> String {
    let mut s = format!("{}://{}", u.scheme(), u.host_str().unwrap_or_default());
    if let Some(p) = u.port() {
        let _ = write!(s, ":{p}");
    }
    s
}

fn node_url(addr: IpAddr, port: u16) -> String {
    match addr {
        IpAddr::V4(a) => format!("http://{a}:{port}"),
        IpAddr::V6(a) => format!("http://[{a}]:{port}"),
    }
}

/// Whether Harbor should skip verifying the site's certificate: only for the certificate
/// the bundle makes itself.
fn self_signed(site: &Site) -> bool {
    site.lb.as_ref().is_some_and(|lb| matches!(lb.tls, Tls::SelfSigned { .. }))
}

/// `base`, cut to `max` characters, made unique in `used` with `-2`, `-3`… .
fn unique(base: &str, max: usize, used: &mut BTreeSet<String>) -> String {
    let cut = |s: &str, n: usize| -> String { s.chars().take(n).collect::<String>().trim_end_matches('-').to_string() };
    let mut name = cut(base, max);
    let mut n = 2;
    while used.contains(&name) {
        let suffix = format!("-{n}");
        name = format!("{}{suffix}", cut(base, max.saturating_sub(suffix.len())));
        n += 1;
    }
    used.insert(name.clone());
    name
}

fn admin_ref(site: &Site) -> SecretRef {
    SecretRef {
        override_var: var(&[site.name.as_str(), "ADMIN_PASSWORD"]),
        source: site.harbor.admin_password.clone(),
        what: format!("admin password of site {}", site.name),
    }
}

fn trigger_body(t: &Trigger) -> TriggerBody {
    match t {
        Trigger::EventBased => TriggerBody { kind: "event_based", trigger_settings: None },
        Trigger::Manual => TriggerBody { kind: "manual", trigger_settings: None },
        Trigger::Cron(c) => {
            TriggerBody { kind: "scheduled", trigger_settings: Some(TriggerSettings { cron: c.as_str().to_string() }) }
        }
    }
}

fn trigger_word(t: &Trigger) -> &'static str {
    match t {
        Trigger::EventBased => "event",
        Trigger::Manual => "manual",
        Trigger::Cron(_) => "scheduled",
    }
}

fn trigger_desc(t: &Trigger) -> String {
    match t {
        Trigger::EventBased => "event-based".to_string(),
        Trigger::Manual => "manual".to_string(),
        Trigger::Cron(c) => format!("scheduled, cron {c}"),
    }
}

fn filter_bodies(f: &Filters) -> Vec<FilterBody> {
    let mut v = Vec::new();
    if let Some(r) = &f.repository {
        v.push(FilterBody { kind: "name", value: Value::String(r.as_str().to_string()) });
    }
    if let Some(t) = &f.tag {
        v.push(FilterBody { kind: "tag", value: Value::String(t.as_str().to_string()) });
    }
    if let Some(l) = &f.label {
        v.push(FilterBody { kind: "label", value: Value::Array(vec![Value::String(l.as_str().to_string())]) });
    }
    v
}

struct PolicySpec<'p> {
    name: String,
    description: String,
    registry: String,
    field: Field,
    trigger: &'p Trigger,
    filters: Vec<FilterBody>,
    deletion: bool,
}

fn policy(api: ApiFlavor, p: PolicySpec) -> PolicyObj {
    let reg = Some(RegistryRef { name: p.registry.clone() });
    let (src_registry, dest_registry) = match p.field {
        Field::Src => (reg, None),
        Field::Dest => (None, reg),
    };
    let body = PolicyBody {
        name: p.name.clone(),
        description: p.description,
        src_registry,
        dest_registry,
        trigger: trigger_body(p.trigger),
        filters: p.filters,
        deletion: p.deletion,
        replicate_deletion: (api != ApiFlavor::V1).then_some(p.deletion),
        overwrite: true,
        enabled: true,
    };
    let scope = serde_json::to_string(&(&p.registry, p.field.key(), &body.filters, p.deletion)).unwrap_or_default();
    PolicyObj {
        name: p.name,
        registry: p.registry,
        field: p.field,
        body,
        scope,
        scheduled: matches!(p.trigger, Trigger::Cron(_)),
    }
}

/// Whether two credentials log in as the same account with the same secret source.
fn same_account(a: &Cred, b: &Cred) -> bool {
    match (a, b) {
        (Cred::Admin, Cred::Admin) => true,
        (Cred::Remote { username: ua, secret: sa }, Cred::Remote { username: ub, secret: sb }) => {
            ua == ub && sa.source == sb.source
        }
        _ => false,
    }
}

/// The site that holds an edge's objects, and the remote one.
fn holder_and_remote(e: &Edge) -> (&str, &str) {
    match e.mode {
        EdgeMode::Push => (e.from.as_str(), e.to.as_str()),
        EdgeMode::Pull => (e.to.as_str(), e.from.as_str()),
    }
}

fn plan(topo: &Topology) -> Vec<SitePlan<'_>> {
    let by_name: BTreeMap<&str, &Site> = topo.sites.iter().map(|s| (s.name.as_str(), s)).collect();
    let mut out = Vec::new();
    // Each edge under the site that holds its policy (one pass, not one per site).
    let mut held: BTreeMap<&str, Vec<(&Edge, &Site)>> = BTreeMap::new();
    for e in &topo.edges {
        let (h, r) = holder_and_remote(e);
        if let Some(rs) = by_name.get(r) {
            held.entry(h).or_default().push((e, *rs));
        }
    }
    for site in &topo.sites {
        let edges: Vec<(&Edge, &Site)> = held.remove(site.name.as_str()).unwrap_or_default();
        let dual = site.mode == SiteMode::Replication;
        if !dual && edges.is_empty() {
            continue;
        }
        let api = ApiFlavor::of(site.harbor.version);
        let nodes: Vec<_> = site.harbor_nodes().collect();
        let mut targets = Vec::new();
        let instances: Vec<Option<&crate::model::resolved::Host>> =
            if dual { nodes.iter().map(|n| Some(*n)).collect() } else { vec![None] };
        for node in instances {
            let mut t = match node {
                Some(n) => TargetPlan {
                    label: format!("{}/{}", site.name, n.name),
                    dir: format!("nodes/{}/", n.name),
                    default_url: node_url(n.address, n.http_port),
                    url_var: var(&[site.name.as_str(), n.name.as_str(), "URL"]),
                    registries: Vec::new(),
                    policies: Vec::new(),
                },
                None => TargetPlan {
                    label: site.name.to_string(),
                    dir: String::new(),
                    default_url: origin(&site.harbor.external_url),
                    url_var: var(&[site.name.as_str(), "URL"]),
                    registries: Vec::new(),
                    policies: Vec::new(),
                },
            };
            let mut reg_names = BTreeSet::new();
            let mut pol_names = BTreeSet::new();
            if let Some(me) = node {
                for peer in nodes.iter().filter(|p| p.index != me.index) {
                    let name = unique(&format!("hha-{}", peer.name), MAX_REGISTRY_NAME, &mut reg_names);
                    let url = node_url(peer.address, peer.http_port);
                    t.registries.push(RegistryObj {
                        name: name.clone(),
                        body: RegistryCreate {
                            name: name.clone(),
                            description: format!("harbor-ha: dual-master peer {} of site {}", peer.name, site.name),
                            kind: "harbor",
                            url: url.clone(),
                            insecure: self_signed(site),
                            credential: CredentialType { kind: "basic" },
                        },
                        cred: Cred::Admin,
                        ping: format!("{url}{}", ping_path(site.harbor.version)),
                    });
                    let fallback = Trigger::Cron(CronExpr::known(FALLBACK_CRON));
                    for trig in [&Trigger::EventBased, &fallback] {
                        let pname = unique(
                            &format!("hha-{}-to-{}-{}", me.name, peer.name, trigger_word(trig)),
                            255,
                            &mut pol_names,
                        );
                        t.policies.push(policy(
                            api,
                            PolicySpec {
                                description: format!(
                                    "harbor-ha: dual master {} -> {} ({}, with deletion)",
                                    me.name,
                                    peer.name,
                                    trigger_desc(trig)
                                ),
                                name: pname,
                                registry: name.clone(),
                                field: Field::Dest,
                                trigger: trig,
                                filters: Vec::new(),
                                deletion: true,
                            },
                        ));
                    }
                }
            }
            for (e, remote) in &edges {
                let secret = match &e.credentials {
                    Some(s) => SecretRef {
                        override_var: String::new(),
                        source: s.clone(),
                        what: format!("secret of {} on site {}", e.username, remote.name),
                    },
                    None => admin_ref(remote),
                };
                let cred = Cred::Remote { username: e.username.as_str().to_string(), secret };
                let url = origin(&remote.harbor.external_url);
                let existing = t
                    .registries
                    .iter()
                    .find(|r| r.body.url == url && same_account(&r.cred, &cred))
                    .map(|r| r.name.clone());
                let reg = match existing {
                    Some(n) => n,
                    None => {
                        let name = unique(&format!("hha-{}", remote.name), MAX_REGISTRY_NAME, &mut reg_names);
                        let cred = match cred {
                            Cred::Remote { username, mut secret } => {
                                if matches!(secret.source, Secret::Literal(_)) && secret.override_var.is_empty() {
                                    let base = name.strip_prefix("hha-").unwrap_or(&name).to_string();
                                    secret.override_var = var(&[site.name.as_str(), &base, "SECRET"]);
                                }
                                Cred::Remote { username, secret }
                            }
                            Cred::Admin => Cred::Admin,
                        };
                        t.registries.push(RegistryObj {
                            name: name.clone(),
                            body: RegistryCreate {
                                name: name.clone(),
                                description: format!("harbor-ha: site {}", remote.name),
                                kind: "harbor",
                                url: url.clone(),
                                insecure: self_signed(remote),
                                credential: CredentialType { kind: "basic" },
                            },
                            cred,
                            ping: format!("{url}{}", ping_path(remote.harbor.version)),
                        });
                        name
                    }
                };
                let (verb, field) = match e.mode {
                    EdgeMode::Push => ("push", Field::Dest),
                    EdgeMode::Pull => ("pull", Field::Src),
                };
                let pname =
                    unique(&format!("hha-{}-to-{}-{}", e.from, e.to, trigger_word(&e.trigger)), 255, &mut pol_names);
                t.policies.push(policy(
                    api,
                    PolicySpec {
                        description: format!(
                            "harbor-ha: {verb} {} -> {} ({}{})",
                            e.from,
                            e.to,
                            trigger_desc(&e.trigger),
                            if e.deletion { ", with deletion" } else { "" }
                        ),
                        name: pname,
                        registry: reg,
                        field,
                        trigger: &e.trigger,
                        filters: filter_bodies(&e.filters),
                        deletion: e.deletion,
                    },
                ));
            }
            targets.push(t);
        }
        out.push(SitePlan {
            site,
            api,
            admin: admin_ref(site),
            targets,
            realm: dual.then(|| format!("{}{}", origin(&site.harbor.external_url), ping_path(site.harbor.version))),
        });
    }
    out
}

/// Holding sites in replication order: a site after every site it receives from (file
/// order otherwise, and for what a cycle leaves).
fn replication_order<'a>(topo: &Topology, plans: &'a [SitePlan<'a>]) -> Vec<&'a SitePlan<'a>> {
    // Kahn's algorithm, always taking the first ready site in file order; when a cycle
    // leaves none ready, the first site not yet placed. Index sets keep it O(n log n).
    let index: BTreeMap<&str, usize> = topo.sites.iter().enumerate().map(|(i, s)| (s.name.as_str(), i)).collect();
    let mut indeg = vec![0usize; topo.sites.len()];
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); topo.sites.len()];
    for e in topo.edges.iter().filter(|e| e.from != e.to) {
        if let (Some(&f), Some(&t)) = (index.get(e.from.as_str()), index.get(e.to.as_str())) {
            indeg[t] += 1;
            out[f].push(t);
        }
    }
    let mut pending: BTreeSet<usize> = (0..topo.sites.len()).collect();
    let mut ready: BTreeSet<usize> = pending.iter().copied().filter(|&i| indeg[i] == 0).collect();
    let mut order = Vec::with_capacity(topo.sites.len());
    while let Some(n) = ready.pop_first().or_else(|| pending.first().copied()) {
        pending.remove(&n);
        order.push(n);
        for &t in &out[n] {
            indeg[t] = indeg[t].saturating_sub(1);
            if indeg[t] == 0 && pending.contains(&t) {
                ready.insert(t);
            }
        }
    }
    let by_site: BTreeMap<&str, &'a SitePlan<'a>> = plans.iter().map(|p| (p.site.name.as_str(), p)).collect();
    order.iter().filter_map(|&i| by_site.get(topo.sites[i].name.as_str()).copied()).collect()
}

// ---- rendering ------------------------------------------------------------------------------

fn json<T: Serialize>(v: &T) -> String {
    let mut s = serde_json::to_string_pretty(v).expect("request bodies serialize");
    s.push('\n');
    s
}

/// A shell word like [`sh`], but double-quoted (backslash, dollar, backquote and double
/// quote escaped) when the value holds a `$`: single quotes would keep it too, but
/// shellcheck flags them (SC2016), and robot account names have one.
fn shq(s: &str) -> String {
    if !s.contains('$') {
        return sh(s);
    }
    let mut out = String::from("\"");
    for c in s.chars() {
        if matches!(c, '\\' | '$' | '`' | '"') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Text for a comment or a message: control characters replaced.
fn plain(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { '?' } else { c }).collect()
}

/// Add `replication/…` to the bundle when the topology uses replication.
pub fn render(topo: &Topology, bundle: &mut Bundle) -> Vec<String> {
    let plans = plan(topo);
    if plans.is_empty() {
        return Vec::new();
    }
    let mut scripts = vec!["replication/resync.sh".to_string()];
    for p in &plans {
        let base = format!("replication/{}", p.site.name);
        for t in &p.targets {
            for r in &t.registries {
                bundle.add(format!("{base}/{}registries/{}.json", t.dir, r.name), json(&r.body), 0o644);
                let update = RegistryUpdate {
                    name: r.body.name.clone(),
                    description: r.body.description.clone(),
                    url: r.body.url.clone(),
                    credential_type: "basic",
                    insecure: r.body.insecure,
                };
                bundle.add(format!("{base}/{}registries/{}.update.json", t.dir, r.name), json(&update), 0o644);
            }
            for pol in &t.policies {
                bundle.add(format!("{base}/{}policies/{}.json", t.dir, pol.name), json(&pol.body), 0o644);
            }
        }
        bundle.add(format!("{base}/apply.sh"), apply_sh(p), 0o755);
        bundle.add(format!("{base}/check-dns.sh"), check_dns_sh(p), 0o755);
        scripts.extend([format!("{base}/apply.sh"), format!("{base}/check-dns.sh")]);
    }
    let ordered = replication_order(topo, &plans);
    bundle.add("replication/resync.sh", resync_sh(&ordered), 0o755);
    bundle.add("replication/README.md", readme(&ordered), 0o644);
    scripts.sort();
    scripts
}

/// Helpers shared by apply.sh and resync.sh. No topology value inside.
const PRELUDE: &str = r#"set -euo pipefail
umask 077
PROG=${0##*/}

die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }
log() { printf '%s: %s\n' "$PROG" "$*"; }
usage() { sed -n '2,/^$/{/^#/s/^# \{0,1\}//p;}' "$0"; }

for tool in curl jq base64; do
  command -v "$tool" >/dev/null 2>&1 \
    || die "$tool is required on this host (apt-get install $tool, or dnf/yum install $tool; jq is in EPEL on CentOS 7)"
done
TMP=$(mktemp -d "${TMPDIR:-/tmp}/harbor-ha.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
SECRETS=()
AUTH=
ADMIN_HINT=
LABEL=
API=
URL_VAR=
NAME_QUERY=
STATUS=
FOUND=

# read_secret OVERRIDE KIND SOURCE WHAT: print a secret. The variable OVERRIDE wins when
# set; KIND env reads the variable SOURCE, file reads the file SOURCE now, literal has
# nothing but OVERRIDE. Nothing here is traced or passed on a command line.
read_secret() {
  local override=$1 kind=$2 src=$3 what=$4
  if [ -n "$override" ] && [ -n "${!override:-}" ]; then
    printf '%s' "${!override}"
    return 0
  fi
  case $kind in
    env)
      [ -n "${!src:-}" ] || die "$what: export $src${override:+ (or $override)}"
      printf '%s' "${!src}"
      ;;
    file)
      [ -r "$src" ] || die "$what: cannot read $src on this host${override:+ (or export $override)}"
      printf '%s' "$(cat -- "$src")"
      ;;
    *)
      die "$what: export $override (the topology writes it literally; the bundle does not copy it)"
      ;;
  esac
}

# remember VALUE: a value that no message may show.
remember() { SECRETS+=("$1"); }

# redact TEXT: TEXT with every remembered value replaced by ***.
redact() {
  local s=$1 v
  for v in ${SECRETS[@]+"${SECRETS[@]}"}; do
    if [ -n "$v" ]; then s=${s//"$v"/***}; fi
  done
  printf '%s' "$s"
}

# login USER PASSWORD HINT: the account of the next API calls (HINT: where it comes from).
login() {
  AUTH=$(printf '%s:%s' "$1" "$2" | base64 | tr -d '\n')
  remember "$2"
  remember "$AUTH"
  ADMIN_HINT=$3
}

# auth_config: curl configuration with the Authorization header, read by curl through a
# file descriptor so that no credential appears in the process list.
auth_config() { printf 'header = "Authorization: Basic %s"\n' "$AUTH"; }

# target LABEL URL_VAR DEFAULT_URL PREFIX NAME_QUERY: the Harbor the next calls go to.
target() {
  LABEL=$1
  URL_VAR=$2
  local url=${!2:-$3}
  API=${url%/}$4
  NAME_QUERY=$5
}

# api METHOD PATH [BODY]: one call to the current target. Sets STATUS; the answer is in
# $TMP/body, its headers in $TMP/headers.
api() {
  local method=$1 url=$API$2 rc=0 hint=
  local -a opts=(--silent --show-error --connect-timeout 10 --max-time 120 --request "$method"
    --header 'Accept: application/json' --header 'Expect:'
    --output "$TMP/body" --dump-header "$TMP/headers" --write-out '%{http_code}')
  if [ -n "${HARBOR_CACERT:-}" ]; then opts+=(--cacert "$HARBOR_CACERT"); fi
  if [ "${HARBOR_INSECURE:-0}" = 1 ]; then opts+=(--insecure); fi
  : >"$TMP/body"
  : >"$TMP/headers"
  if [ "$#" -ge 3 ]; then
    STATUS=$(printf '%s' "$3" | curl "${opts[@]}" --header 'Content-Type: application/json' \
      --data-binary @- --config <(auth_config) "$url" 2>"$TMP/stderr") || rc=$?
  else
    STATUS=$(curl "${opts[@]}" --config <(auth_config) "$url" 2>"$TMP/stderr") || rc=$?
  fi
  if [ "$rc" -ne 0 ]; then
    case $rc in
      6) hint="the host name does not resolve here; or set $URL_VAR" ;;
      7) hint="connection refused: is Harbor up, and does its firewall let this host in?" ;;
      28) hint="timed out: check routing and firewalls" ;;
      35 | 51 | 53 | 54 | 58 | 59 | 60 | 77 | 80 | 83 | 90 | 91) hint="TLS failed: set HARBOR_CACERT to the CA certificate (or HARBOR_INSECURE=1)" ;;
    esac
    die "$LABEL: $method $url: $(redact "$(tr -d '\r\n' <"$TMP/stderr" | cut -c1-300)")${hint:+ ($hint)}"
  fi
}

# expect WHAT CODE...: unless STATUS is one of CODE, stop with Harbor's message.
expect() {
  local what=$1 code msg hint=
  shift
  for code in "$@"; do
    if [ "$STATUS" = "$code" ]; then return 0; fi
  done
  msg=$(jq -r 'if type == "object" then ([.errors[]?.message] + [.message // empty] | map(tostring) | join("; ")) else tostring end' "$TMP/body" 2>/dev/null) || msg=
  if [ -z "$msg" ]; then msg=$(tr -d '\r\n' <"$TMP/body" | cut -c1-300); fi
  case $STATUS in
    301 | 302 | 303 | 307 | 308) hint="the API redirects: set $URL_VAR to the final URL" ;;
    401) hint="wrong admin user or password: $ADMIN_HINT" ;;
    403) hint="the account must be a Harbor system administrator" ;;
    404) hint="not found at $API: wrong URL or Harbor version?" ;;
  esac
  die "$LABEL: $what: HTTP $STATUS${msg:+: $(redact "$msg")}${hint:+ ($hint)}"
}

# find_id PATH NAME: FOUND = the id of the object named exactly NAME, or empty.
find_id() {
  api GET "$1?$NAME_QUERY$2&page_size=100"
  expect "look up $2" 200
  FOUND=$(jq -r --arg n "$2" '[(. // [])[] | select(.name == $n) | .id] | first // empty' "$TMP/body")
}

# created_id: the id at the end of the Location header of the last answer.
created_id() { sed -n 's|^[Ll]ocation:.*/\([0-9][0-9]*\)[[:space:]]*$|\1|p' "$TMP/headers" | tail -n 1; }
"#;

/// apply.sh only.
const APPLY_FUNCS: &str = r#"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
declare -A REG_ID=()
DIR=$HERE

# in_dir SUBDIR: the bundle directory of the current target's JSON files.
in_dir() { DIR=$HERE/$1; REG_ID=(); }

# ensure_registry NAME ACCESS_KEY ACCESS_SECRET: create the endpoint from
# registries/NAME.json, or update it from registries/NAME.update.json when it exists.
ensure_registry() {
  local name=$1 create=$DIR/registries/$1.json update=$DIR/registries/$1.update.json body id
  if [ ! -r "$create" ] || [ ! -r "$update" ]; then
    die "missing $create or $update: run this script inside its bundle"
  fi
  find_id /registries "$name"
  if [ -n "$FOUND" ]; then
    body=$(HHA_KEY=$2 HHA_SECRET=$3 jq -c '.access_key = env.HHA_KEY | .access_secret = env.HHA_SECRET' "$update")
    api PUT "/registries/$FOUND" "$body"
    expect "update registry endpoint $name" 200
    REG_ID[$name]=$FOUND
    log "$LABEL: registry endpoint $name updated (id $FOUND)"
  else
    body=$(HHA_KEY=$2 HHA_SECRET=$3 jq -c '.credential.access_key = env.HHA_KEY | .credential.access_secret = env.HHA_SECRET' "$create")
    api POST /registries "$body"
    expect "create registry endpoint $name (Harbor checks that the remote answers)" 201
    id=$(created_id)
    if [ -z "$id" ]; then
      find_id /registries "$name"
      id=$FOUND
    fi
    [ -n "$id" ] || die "$LABEL: registry endpoint $name was created but cannot be found"
    REG_ID[$name]=$id
    log "$LABEL: registry endpoint $name created (id $id)"
  fi
}

# ensure_policy NAME REGISTRY FIELD: create or update the policy of policies/NAME.json,
# with FIELD (src_registry or dest_registry) pointing at the endpoint REGISTRY.
ensure_policy() {
  local name=$1 file=$DIR/policies/$1.json rid=${REG_ID[$2]:-} body id
  [ -r "$file" ] || die "missing $file: run this script inside its bundle"
  [ -n "$rid" ] || die "$LABEL: endpoint $2 of policy $name was not applied"
  body=$(jq -c --arg f "$3" --argjson id "$rid" '.[$f].id = $id' "$file")
  find_id /replication/policies "$name"
  if [ -n "$FOUND" ]; then
    api PUT "/replication/policies/$FOUND" "$body"
    expect "update replication policy $name" 200
    log "$LABEL: replication policy $name updated (id $FOUND)"
  else
    api POST /replication/policies "$body"
    expect "create replication policy $name" 201
    id=$(created_id)
    log "$LABEL: replication policy $name created${id:+ (id $id)}"
  fi
}
"#;

/// resync.sh only.
const RESYNC_FUNCS: &str = r#"
TIMEOUT=${HHA_RESYNC_TIMEOUT:-3600}
INTERVAL=${HHA_RESYNC_INTERVAL:-10}
N=0
FAILED=0
OK=0
EXEC_API=()
EXEC_ID=()
EXEC_DESC=()
EXEC_DONE=()

# start NAME: a manual execution of the policy NAME on the current target.
start() {
  local name=$1 id
  find_id /replication/policies "$1"
  [ -n "$FOUND" ] || die "$LABEL: no replication policy $name: run apply.sh of this site first"
  api POST /replication/executions "{\"policy_id\":$FOUND}"
  expect "start replication policy $name" 201
  id=$(created_id)
  if [ -z "$id" ]; then
    api GET "/replication/executions?policy_id=$FOUND&page_size=100"
    expect "list executions of $name" 200
    id=$(jq -r '[(. // [])[].id] | max // empty' "$TMP/body")
  fi
  [ -n "$id" ] || die "$LABEL: execution of $name started but cannot be found"
  EXEC_API[N]=$API
  EXEC_ID[N]=$id
  EXEC_DESC[N]="$LABEL: $name (execution $id)"
  EXEC_DONE[N]=
  N=$((N + 1))
  log "$LABEL: started $name (execution $id)"
}

# wait_all: poll the executions started since the last wait_all until each has ended.
wait_all() {
  local deadline=$((SECONDS + TIMEOUT)) pending i status total failed text
  while :; do
    pending=0
    for ((i = 0; i < N; i++)); do
      [ -z "${EXEC_DONE[i]}" ] || continue
      API=${EXEC_API[i]}
      api GET "/replication/executions/${EXEC_ID[i]}"
      expect "read execution ${EXEC_ID[i]}" 200
      IFS=$'\t' read -r status total failed text < <(jq -r '[.status // "unknown", .total // 0, .failed // 0, .status_text // ""] | map(tostring) | join("\t")' "$TMP/body") || true
      case $status in
        Succeed | Success)
          EXEC_DONE[i]=1
          OK=$((OK + 1))
          log "${EXEC_DESC[i]}: $status ($total tasks, $failed failed)"
          ;;
        Failed | Error | Stopped)
          EXEC_DONE[i]=1
          FAILED=$((FAILED + 1))
          printf '%s: %s: %s (%s tasks, %s failed)%s\n' "$PROG" "${EXEC_DESC[i]}" "$status" "$total" "$failed" "${text:+: $(redact "$text")}" >&2
          ;;
        *) pending=$((pending + 1)) ;;
      esac
    done
    [ "$pending" -gt 0 ] || break
    if [ "$SECONDS" -ge "$deadline" ]; then
      for ((i = 0; i < N; i++)); do
        if [ -z "${EXEC_DONE[i]}" ]; then
          EXEC_DONE[i]=1
          FAILED=$((FAILED + 1))
          printf '%s: %s: still running after %ss (see Harbor > Replications)\n' "$PROG" "${EXEC_DESC[i]}" "$TIMEOUT" >&2
        fi
      done
      break
    fi
    sleep "$INTERVAL"
  done
  N=0
  EXEC_API=()
  EXEC_ID=()
  EXEC_DESC=()
  EXEC_DONE=()
}
"#;

/// Lines that read the site's admin account and log in with it.
fn login_lines(p: &SitePlan, indent: &str) -> String {
    let site = p.site.name.as_str();
    let user_var = var(&[site, "ADMIN_USER"]);
    let mut s = String::new();
    let _ = writeln!(s, "{indent}ADMIN_USER=${{{user_var}:-admin}}");
    let _ = writeln!(s, "{indent}ADMIN_PASSWORD=$({})", read_secret_cmd(&p.admin));
    let hint = format!("set {user_var} and {} ({})", p.admin.override_var, default_desc(&p.admin.source));
    let _ = writeln!(s, "{indent}login \"$ADMIN_USER\" \"$ADMIN_PASSWORD\" {}", shq(&plain(&hint)));
    s
}

fn default_desc(s: &Secret) -> String {
    match s {
        Secret::Env { env } => format!("default: ${env}"),
        Secret::File { file } => format!("default: the file {file}"),
        Secret::Literal(_) => "required: the topology writes it literally".to_string(),
    }
}

fn read_secret_cmd(r: &SecretRef) -> String {
    let (kind, src) = match &r.source {
        Secret::Env { env } => ("env", env.as_str()),
        Secret::File { file } => ("file", file.as_str()),
        Secret::Literal(_) => ("literal", ""),
    };
    format!("read_secret {} {kind} {} {}", sh(&r.override_var), shq(src), shq(&plain(&r.what)))
}

/// The environment a site's admin account is read from, as header lines.
fn admin_env_doc(p: &SitePlan) -> Vec<(String, String)> {
    let site = p.site.name.as_str();
    let mut v = vec![
        (var(&[site, "ADMIN_USER"]), format!("Harbor system administrator of site {site} (default admin)")),
        (
            p.admin.override_var.clone(),
            format!(
                "its password ({})",
                plain(&default_desc(&p.admin.source)).replace("default: ", "default: read from ")
            ),
        ),
    ];
    if let Secret::Env { env } = &p.admin.source {
        v.push((env.as_str().to_string(), format!("the admin password of site {site}, as in the topology")));
    }
    v
}

fn env_doc_lines(rows: &[(String, String)]) -> String {
    let w = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let mut s = String::new();
    for (k, d) in rows {
        let _ = writeln!(s, "#   {k:<w$}  {}", plain(d));
    }
    s
}

fn apply_sh(p: &SitePlan) -> String {
    let site = p.site.name.as_str();
    let v = p.site.harbor.version;
    let mut s = String::from("#!/usr/bin/env bash\n");
    let _ =
        writeln!(s, "# replication/{site}/apply.sh: generated by harbor-ha for site {site} (Harbor {v}). Do not edit.");
    s.push_str("#\n# Creates or updates, through Harbor's API, the replication objects of this site:\n");
    for t in &p.targets {
        let _ = writeln!(s, "#   on {} ({} by default):", t.label, t.default_url);
        for r in &t.registries {
            let _ = writeln!(s, "#     registry endpoint {} -> {}", r.name, r.body.url);
        }
        for pol in &t.policies {
            let _ = writeln!(
                s,
                "#     policy {}: {}",
                pol.name,
                plain(pol.body.description.trim_start_matches("harbor-ha: "))
            );
        }
    }
    s.push_str(
        "# Safe to run again: each object is looked up by its exact name and updated in place.\n\
         # Run it after every site is installed and passes ./verify.sh (Harbor checks that a\n\
         # remote endpoint answers when it is created), and after check-dns.sh passes on the\n\
         # site's nodes. Needs bash, curl, jq and base64.\n",
    );
    if p.site.mode == SiteMode::Replication {
        s.push_str(
            "# A dual-master node's API is its own address, whose firewall lets in only the load\n\
             # balancers and the peer: run this on one of the site's Harbor nodes (or from a host\n\
             # they let in, or through an ssh tunnel with the URL variables below).\n",
        );
    }
    s.push_str("#\n# Environment (secrets are sent to Harbor only, never printed):\n");
    let mut rows: Vec<(String, String)> = p
        .targets
        .iter()
        .map(|t| (t.url_var.clone(), format!("API base URL of {} (default {})", t.label, t.default_url)))
        .collect();
    rows.extend(admin_env_doc(p));
    let mut creds: Vec<&SecretRef> = Vec::new();
    for t in &p.targets {
        for r in &t.registries {
            if let Cred::Remote { secret, .. } = &r.cred {
                if secret != &p.admin && !creds.contains(&secret) {
                    creds.push(secret);
                }
            }
        }
    }
    for c in &creds {
        match &c.source {
            Secret::Env { env } => rows.push((env.as_str().to_string(), c.what.clone())),
            Secret::File { file } => rows.push((
                if c.override_var.is_empty() { "(file)".to_string() } else { c.override_var.clone() },
                format!("{}: read from {file} on this host", c.what),
            )),
            Secret::Literal(_) => {
                rows.push((c.override_var.clone(), format!("{} (required: the topology writes it literally)", c.what)))
            }
        }
        if !c.override_var.is_empty() && !matches!(c.source, Secret::Literal(_)) {
            rows.push((c.override_var.clone(), format!("overrides the {}", c.what)));
        }
    }
    rows.push((
        "HARBOR_CACERT".into(),
        "CA certificate that verifies the API's TLS; HARBOR_INSECURE=1 skips it".into(),
    ));
    s.push_str(&env_doc_lines(&rows));
    s.push('\n');
    s.push_str(PRELUDE);
    s.push_str(APPLY_FUNCS);
    s.push_str(
        "\ncase ${1:-} in\n  -h | --help) usage; exit 0 ;;\n  \"\") ;;\n  *) die \"unknown argument $1 (see --help)\" ;;\nesac\n\n",
    );
    s.push_str("# Credentials, read once.\n");
    s.push_str(&login_lines(p, ""));
    let mut cred_vars: Vec<(&SecretRef, String)> = Vec::new();
    for (i, c) in creds.iter().enumerate() {
        let name = format!("CRED_{}", i + 1);
        let _ = writeln!(s, "{name}=$({})", read_secret_cmd(c));
        let _ = writeln!(s, "remember \"${name}\"");
        cred_vars.push((c, name));
    }
    for t in &p.targets {
        let _ = writeln!(s, "\nlog {}", sh(&format!("{}: applying", t.label)));
        let _ = writeln!(
            s,
            "target {} {} {} {} {}",
            sh(&t.label),
            t.url_var,
            sh(&t.default_url),
            p.api.prefix(),
            sh(p.api.name_query())
        );
        let _ = writeln!(s, "in_dir {}", sh(&t.dir));
        for r in &t.registries {
            let (key, secret) = match &r.cred {
                Cred::Admin => ("\"$ADMIN_USER\"".to_string(), "\"$ADMIN_PASSWORD\"".to_string()),
                Cred::Remote { username, secret } if secret == &p.admin => {
                    (sh(username), "\"$ADMIN_PASSWORD\"".to_string())
                }
                Cred::Remote { username, secret } => {
                    let var = cred_vars.iter().find(|(c, _)| *c == secret).map(|(_, n)| n.clone()).unwrap_or_default();
                    (shq(username), format!("\"${var}\""))
                }
            };
            let _ = writeln!(s, "ensure_registry {} {key} {secret}", sh(&r.name));
        }
        for pol in &t.policies {
            let _ = writeln!(s, "ensure_policy {} {} {}", sh(&pol.name), sh(&pol.registry), pol.field.key());
        }
    }
    let _ = writeln!(s, "\nlog {}", sh(&format!("site {site}: replication objects are in place")));
    s
}

/// The policies resync runs on a target: one per scope, the scheduled one when there is.
fn resync_policies(t: &TargetPlan) -> Vec<&PolicyObj> {
    let mut chosen: Vec<&PolicyObj> = Vec::new();
    for pol in &t.policies {
        match chosen.iter().position(|c| c.scope == pol.scope) {
            Some(i) => {
                if pol.scheduled && !chosen[i].scheduled {
                    chosen[i] = pol;
                }
            }
            None => chosen.push(pol),
        }
    }
    chosen
}

fn resync_sh(plans: &[&SitePlan]) -> String {
    let mut s = String::from("#!/usr/bin/env bash\n");
    s.push_str("# replication/resync.sh: generated by harbor-ha. Do not edit.\n#\n");
    s.push_str(
        "# Runs the replication policies again, once each (of policies that copy the same\n\
         # artifacts, only one), on every site below in this order, waits for the executions\n\
         # and reports their status. Event-based replication is not retried: run this after a\n\
         # node or a site was down, or a push failed. Exits non-zero when an execution failed.\n\
         # A dual-master pair runs both directions: what was deleted on one node while the\n\
         # other was down comes back from the other (deletions are not replayed).\n#\n",
    );
    s.push_str("# Usage: resync.sh [--site NAME]... [--timeout SECONDS]\n#\n");
    let mut rows: Vec<(String, String)> = Vec::new();
    for p in plans {
        let _ = writeln!(s, "# site {} (Harbor {}):", p.site.name, p.site.harbor.version);
        for t in &p.targets {
            let names: Vec<&str> = resync_policies(t).iter().map(|x| x.name.as_str()).collect();
            let _ = writeln!(s, "#   {}: {}", t.label, names.join(", "));
            rows.push((t.url_var.clone(), format!("API base URL of {} (default {})", t.label, t.default_url)));
        }
        rows.extend(admin_env_doc(p));
    }
    s.push_str("#\n# Environment (secrets are sent to Harbor only, never printed):\n");
    rows.push((
        "HARBOR_CACERT".into(),
        "CA certificate that verifies the API's TLS; HARBOR_INSECURE=1 skips it".into(),
    ));
    rows.push(("HHA_RESYNC_TIMEOUT".into(), "seconds to wait for the executions of a site (default 3600)".into()));
    rows.push(("HHA_RESYNC_INTERVAL".into(), "seconds between two polls (default 10)".into()));
    s.push_str(&env_doc_lines(&rows));
    s.push('\n');
    s.push_str(PRELUDE);
    s.push_str(RESYNC_FUNCS);
    let names: Vec<String> = plans.iter().map(|p| sh(p.site.name.as_str())).collect();
    let _ = writeln!(s, "\nSITES=({})", names.join(" "));
    s.push_str(
        r#"SELECTED=()
while [ "$#" -gt 0 ]; do
  case $1 in
    --site)
      [ "$#" -ge 2 ] || die "--site needs a site name"
      SELECTED+=("$2")
      shift 2
      ;;
    --site=*)
      SELECTED+=("${1#--site=}")
      shift
      ;;
    --timeout)
      [ "$#" -ge 2 ] || die "--timeout needs a number of seconds"
      TIMEOUT=$2
      shift 2
      ;;
    --timeout=*)
      TIMEOUT=${1#--timeout=}
      shift
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
[[ $TIMEOUT =~ ^[0-9]+$ ]] || die "--timeout / HHA_RESYNC_TIMEOUT must be a number of seconds"
for s in ${SELECTED[@]+"${SELECTED[@]}"}; do
  case " ${SITES[*]} " in
    *" $s "*) ;;
    *) die "unknown site $s (this bundle replicates: ${SITES[*]})" ;;
  esac
done

# wanted SITE: whether SITE was selected (all when none was).
wanted() {
  local s
  [ "${#SELECTED[@]}" -gt 0 ] || return 0
  for s in "${SELECTED[@]}"; do
    if [ "$s" = "$1" ]; then return 0; fi
  done
  return 1
}

# resync_site SITE: start the policies of SITE, then wait for them.
resync_site() {
  case $1 in
"#,
    );
    for p in plans {
        let _ = writeln!(s, "    {})", sh(p.site.name.as_str()));
        s.push_str(&login_lines(p, "      "));
        for t in &p.targets {
            let _ = writeln!(
                s,
                "      target {} {} {} {} {}",
                sh(&t.label),
                t.url_var,
                sh(&t.default_url),
                p.api.prefix(),
                sh(p.api.name_query())
            );
            for pol in resync_policies(t) {
                let _ = writeln!(s, "      start {}", sh(&pol.name));
            }
        }
        s.push_str("      ;;\n");
    }
    s.push_str(
        r#"  esac
  wait_all
}

for site in "${SITES[@]}"; do
  if wanted "$site"; then
    log "site $site: starting its replication policies"
    resync_site "$site"
  fi
done
if [ "$FAILED" -gt 0 ]; then
  die "$FAILED execution(s) did not succeed, $OK succeeded: see the messages above and Harbor > Administration > Replications"
fi
log "$OK execution(s) succeeded"
"#,
    );
    s
}

/// A URL the site's Harbor containers must resolve and reach.
struct Check {
    host: String,
    is_name: bool,
    url: String,
    insecure: bool,
    why: String,
}

fn checks(p: &SitePlan) -> Vec<Check> {
    let mut v: Vec<Check> = Vec::new();
    let mut add = |url: &str, insecure: bool, why: String| {
        if v.iter().any(|c| c.url == url) {
            return;
        }
        let Ok(u) = Url::parse(url) else { return };
        let is_name = matches!(u.host(), Some(UrlHost::Domain(_)));
        v.push(Check {
            host: u.host_str().unwrap_or_default().to_string(),
            is_name,
            url: url.to_string(),
            insecure,
            why,
        });
    };
    for t in &p.targets {
        for r in &t.registries {
            add(&r.ping, r.body.insecure, format!("endpoint {}", r.name));
        }
    }
    if let Some(realm) = &p.realm {
        add(
            realm,
            self_signed(p.site),
            "the site's own external_url: the peer's registry sends token requests there".to_string(),
        );
    }
    v
}

fn check_dns_sh(p: &SitePlan) -> String {
    let site = p.site.name.as_str();
    let cs = checks(p);
    let mut s = String::from("#!/usr/bin/env bash\n");
    let _ = writeln!(s, "# replication/{site}/check-dns.sh: generated by harbor-ha for site {site}. Do not edit.");
    s.push_str(
        "#\n# Run it on every Harbor node of this site (root, or a member of the docker group), after\n\
         # Harbor is installed and before apply.sh. Replication runs inside Harbor's containers\n\
         # (harbor-core checks an endpoint, harbor-jobservice copies), and Docker's embedded DNS\n\
         # does not read the host's /etc/hosts: every name below must resolve in DNS, or be\n\
         # added as extra_hosts to every service of Harbor's docker-compose.yml.\n#\n\
         # Checks, from inside harbor-core and harbor-jobservice:\n",
    );
    for c in &cs {
        let _ = writeln!(s, "#   {} ({}{})", c.url, plain(&c.why), if c.is_name { "; name must resolve" } else { "" });
    }
    s.push('\n');
    s.push_str(
        r#"set -euo pipefail
PASS=0
FAIL=0
ok() { printf 'PASS %s\n' "$*"; PASS=$((PASS + 1)); }
bad() { printf 'FAIL %s\n' "$*"; FAIL=$((FAIL + 1)); }
if [ "${1:-}" = -h ] || [ "${1:-}" = --help ]; then
  sed -n '2,/^$/{/^#/s/^# \{0,1\}//p;}' "$0"
  exit 0
fi
command -v docker >/dev/null 2>&1 || { echo "check-dns.sh: docker not found: run this on a Harbor node" >&2; exit 2; }

# check CONTAINER HOST URL INSECURE: whether CONTAINER resolves HOST and reaches URL.
check() {
  local c=$1 host=$2 url=$3 rc=0
  local -a opts=(--silent --show-error --output /dev/null --max-time 10)
  if [ "$4" = 1 ]; then opts+=(--insecure); fi
  docker exec "$c" curl "${opts[@]}" "$url" >/dev/null 2>&1 || rc=$?
  case $rc in
    0) ok "$c reaches $url" ;;
    6) bad "$c cannot resolve $host: add it to DNS, or to extra_hosts of Harbor's services (the host's /etc/hosts is not used)" ;;
    126 | 127)
      if docker exec "$c" getent hosts "$host" >/dev/null 2>&1; then
        ok "$c resolves $host (no curl in the container to try the connection)"
      else
        bad "$c cannot resolve $host (or has neither curl nor getent): add it to DNS, or to extra_hosts of Harbor's services"
      fi
      ;;
    35 | 51 | 58 | 60 | 77) bad "$c does not trust the TLS certificate of $url: give Harbor the CA, or mark the endpoint insecure" ;;
    *) bad "$c cannot reach $url (curl exit $rc): check routing, firewalls and that the remote Harbor is up" ;;
  esac
}

for c in harbor-core harbor-jobservice; do
  if [ "$(docker inspect -f '{{.State.Running}}' "$c" 2>/dev/null || true)" != true ]; then
    bad "container $c is not running on this host: run this on a Harbor node, after install"
    continue
  fi
"#,
    );
    for c in &cs {
        let _ = writeln!(s, "  check \"$c\" {} {} {}", sh(&c.host), sh(&c.url), if c.insecure { 1 } else { 0 });
    }
    s.push_str(
        r#"done
printf '%s passed, %s failed\n' "$PASS" "$FAIL"
[ "$FAIL" -eq 0 ]
"#,
    );
    s
}

fn readme(plans: &[&SitePlan]) -> String {
    let mut s = String::from("# Replication\n\n");
    s.push_str(
        "Generated by harbor-ha. Every `*.json` here is the exact body of a Harbor API request, \
         except what the scripts add at apply time: the endpoint credentials (`access_key`, \
         `access_secret`) and the endpoint `id` in a policy. No secret is written in this directory.\n\n",
    );
    s.push_str("Order, once every site is installed and `./verify.sh` passes:\n\n");
    s.push_str(
        "1. On every Harbor node of each site below, run its `check-dns.sh` (copy it there). Harbor's \
         containers must resolve and reach each endpoint; Docker's embedded DNS does not read the \
         host's `/etc/hosts`, so a name needs DNS or `extra_hosts` in Harbor's docker-compose.yml.\n",
    );
    let sites: Vec<String> = plans.iter().map(|p| format!("`{}/apply.sh`", p.site.name)).collect();
    let _ = writeln!(
        s,
        "2. From an admin host with curl and jq, run {} (in this order). Each is safe to run again: it \
         finds its objects by name and updates them.",
        sites.join(", ")
    );
    s.push_str(
        "3. `resync.sh` (`--site NAME` to limit it) runs the policies once and waits: for the first full \
         copy, and after any node or site was down, since event-based replication does not replay \
         failed pushes.\n\n",
    );
    for p in plans {
        let site = p.site;
        let dual = site.mode == SiteMode::Replication;
        let _ = writeln!(
            s,
            "## {}{} (Harbor {}, API `{}`)\n",
            site.name,
            if dual { ", dual master" } else { "" },
            site.harbor.version,
            p.api.prefix()
        );
        if dual {
            s.push_str(
                "Each node has its own database, so each gets its own objects, through its own address \
                 (run `apply.sh` on a node of the site: the nodes' firewall lets in only the load \
                 balancers and the peer). An event-based push with deletion keeps the peer in step; the \
                 hourly scheduled push catches up what a failed event push missed. The endpoints log \
                 in with the admin account: run `apply.sh` again after changing its password.\n\n",
            );
        }
        for t in &p.targets {
            let _ = writeln!(s, "- on {} (`{}`, override with `{}`):", t.label, t.default_url, t.url_var);
            for r in &t.registries {
                let who = match &r.cred {
                    Cred::Admin => "the admin account".to_string(),
                    Cred::Remote { username, secret } => {
                        format!("`{}`, secret from {}", plain(username), plain(&secret.source.describe()))
                    }
                };
                let _ = writeln!(
                    s,
                    "  - endpoint `{}` → `{}`{} as {who}",
                    r.name,
                    r.body.url,
                    if r.body.insecure { " (certificate not verified)" } else { "" }
                );
            }
            for pol in &t.policies {
                let _ = writeln!(
                    s,
                    "  - policy `{}`: {}",
                    pol.name,
                    plain(pol.body.description.trim_start_matches("harbor-ha: "))
                );
            }
        }
        let names: Vec<String> = checks(p).into_iter().filter(|c| c.is_name).map(|c| format!("`{}`", c.host)).collect();
        if !names.is_empty() {
            let _ = writeln!(s, "\nNames the Harbor containers of this site must resolve: {}.", names.join(", "));
        }
        let _ = writeln!(
            s,
            "\nAdmin account: `{}` (default `admin`) and `{}` ({}).\n",
            var(&[site.name.as_str(), "ADMIN_USER"]),
            p.admin.override_var,
            plain(&default_desc(&p.admin.source))
        );
    }
    s
}
