//! Who holds what: for each holding site, the Harbor instances (targets) that receive
//! objects, and the registry endpoints and policies each one holds; and the order in
//! which the sites replicate. The renderers of the other modules only read the plan.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::IpAddr;

use url::Url;

use super::api::{self, filter_bodies, policy_body, ApiFlavor, Field, PolicyBody, PolicySpec, RegistryCreate};
use crate::model::enums::{EdgeMode, SiteMode};
use crate::model::ids::CronExpr;
use crate::model::resolved::{Edge, Host, Site, Tls, Topology, Trigger};
use crate::model::secret::Secret;
use crate::render::harbor::ping_path;

/// The scheduled fallback of a dual-master pair: hourly, Harbor's 6-field cron.
pub const FALLBACK_CRON: &str = "0 0 * * * *";

/// Harbor's limit on a registry endpoint's name.
const MAX_REGISTRY_NAME: usize = 64;

/// The limit on a policy's name.
const MAX_POLICY_NAME: usize = 255;

// ---- the plan -------------------------------------------------------------------------------

/// Where a secret comes from at apply time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SecretRef {
    /// A variable that overrides the source when set ("" = none).
    pub(super) override_var: String,
    /// The topology's secret.
    pub(super) source: Secret,
    /// What it is, for messages.
    pub(super) what: String,
}

/// The account a registry endpoint logs in with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Cred {
    /// The admin account the script itself uses (a dual-master peer).
    Admin,
    /// An account on the remote site.
    Remote { username: String, secret: SecretRef },
}

/// A registry endpoint a target holds.
#[derive(Debug, Clone)]
pub(super) struct RegistryObj {
    /// Its name (unique on the target).
    pub(super) name: String,
    /// The body that creates it.
    pub(super) body: RegistryCreate,
    /// The account it logs in with.
    pub(super) cred: Cred,
    /// The remote's ping URL, for check-dns.sh.
    pub(super) ping: String,
}

/// A replication policy a target holds.
#[derive(Debug, Clone)]
pub(super) struct PolicyObj {
    /// Its name (unique on the target).
    pub(super) name: String,
    /// The name of its registry endpoint.
    pub(super) registry: String,
    /// The field of the body that names the endpoint.
    pub(super) field: Field,
    /// The body that creates or updates it.
    pub(super) body: PolicyBody,
    /// Policies with the same scope copy the same artifacts: resync runs one of them.
    pub(super) scope: String,
    /// Whether it has a scheduled trigger.
    pub(super) scheduled: bool,
}

/// One Harbor instance that receives objects: a site, or a node of a dual-master site.
#[derive(Debug, Clone)]
pub(super) struct TargetPlan {
    /// `site` or `site/node`.
    pub(super) label: String,
    /// Where its JSON files are, under `replication/<site>/`: empty, or `nodes/<node>/`.
    pub(super) dir: String,
    /// The API's base URL by default.
    pub(super) default_url: String,
    /// The variable that overrides it.
    pub(super) url_var: String,
    /// Its registry endpoints.
    pub(super) registries: Vec<RegistryObj>,
    /// Its policies.
    pub(super) policies: Vec<PolicyObj>,
}

/// A site that holds replication objects.
#[derive(Debug, Clone)]
pub(super) struct SitePlan<'a> {
    /// The site.
    pub(super) site: &'a Site,
    /// How its Harbor's API is called.
    pub(super) api: ApiFlavor,
    /// Its admin password, which the scripts log in with.
    pub(super) admin: SecretRef,
    /// The instances that hold its objects.
    pub(super) targets: Vec<TargetPlan>,
    /// Dual master: the site's own external_url (ping path), which the containers must
    /// reach too, because the peer's registry names it as token service.
    pub(super) realm: Option<String>,
}

impl SitePlan<'_> {
    /// The site's directory in the bundle: `replication/<site>`.
    pub(super) fn base(&self) -> String {
        format!("replication/{}", self.site.name)
    }
}

// ---- names and values -----------------------------------------------------------------------

/// `HHA_<PART>_<PART>…`: upper case, `-` → `_`.
pub(super) fn var(parts: &[&str]) -> String {
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

/// The plain-HTTP URL of a Harbor node (its own address, not the LB).
fn node_url(addr: IpAddr, port: u16) -> String {
    match addr {
        IpAddr::V4(a) => format!("http://{a}:{port}"),
        IpAddr::V6(a) => format!("http://[{a}]:{port}"),
    }
}

/// Whether Harbor should skip verifying the site's certificate: only for the certificate
/// the bundle makes itself.
pub(super) fn self_signed(site: &Site) -> bool {
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

/// The admin password of `site`, overridden by `HHA_<SITE>_ADMIN_PASSWORD`.
fn admin_ref(site: &Site) -> SecretRef {
    SecretRef {
        override_var: var(&[site.name.as_str(), "ADMIN_PASSWORD"]),
        source: site.harbor.admin_password.clone(),
        what: format!("admin password of site {}", site.name),
    }
}

/// The trigger, as the last word of a policy name.
fn trigger_word(t: &Trigger) -> &'static str {
    match t {
        Trigger::EventBased => "event",
        Trigger::Manual => "manual",
        Trigger::Cron(_) => "scheduled",
    }
}

/// The trigger, for a description.
fn trigger_desc(t: &Trigger) -> String {
    match t {
        Trigger::EventBased => "event-based".to_string(),
        Trigger::Manual => "manual".to_string(),
        Trigger::Cron(c) => format!("scheduled, cron {c}"),
    }
}

/// Whether the credential `c` logs in as `username` with a secret from `source`.
fn logs_in_as(c: &Cred, username: &str, source: &Secret) -> bool {
    match c {
        Cred::Admin => false,
        Cred::Remote { username: u, secret } => u == username && secret.source == *source,
    }
}

/// The site that holds an edge's objects, and the remote one.
fn holder_and_remote(e: &Edge) -> (&str, &str) {
    match e.mode {
        EdgeMode::Push => (e.from.as_str(), e.to.as_str()),
        EdgeMode::Pull => (e.to.as_str(), e.from.as_str()),
    }
}

/// The policy of `p`: its body for the API flavour `api`, and its scope.
fn policy(api: ApiFlavor, p: PolicySpec) -> PolicyObj {
    let body = policy_body(api, &p);
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

// ---- making the plan ------------------------------------------------------------------------

/// Every site that holds replication objects, in file order.
pub(super) fn plan(topo: &Topology) -> Vec<SitePlan<'_>> {
    let mut held = held_edges(topo);
    topo.sites.iter().filter_map(|site| site_plan(site, &held.remove(site.name.as_str()).unwrap_or_default())).collect()
}

/// Each edge under the site that holds its objects, with the remote site (one pass, not
/// one per site).
fn held_edges(topo: &Topology) -> BTreeMap<&str, Vec<(&Edge, &Site)>> {
    let by_name: BTreeMap<&str, &Site> = topo.sites.iter().map(|s| (s.name.as_str(), s)).collect();
    let mut held: BTreeMap<&str, Vec<(&Edge, &Site)>> = BTreeMap::new();
    for e in &topo.edges {
        let (h, r) = holder_and_remote(e);
        if let Some(rs) = by_name.get(r) {
            held.entry(h).or_default().push((e, *rs));
        }
    }
    held
}

/// The plan of `site`, which holds `edges` (with their remote sites); `None` when it
/// holds nothing (not a dual master, no edge).
fn site_plan<'a>(site: &'a Site, edges: &[(&Edge, &Site)]) -> Option<SitePlan<'a>> {
    let dual = site.mode == SiteMode::Replication;
    if !dual && edges.is_empty() {
        return None;
    }
    let api = ApiFlavor::of(site.harbor.version);
    let nodes: Vec<&Host> = site.harbor_nodes().collect();
    // A dual master holds its objects on each node (its own database); a site on itself.
    let instances: Vec<Option<&Host>> = if dual { nodes.iter().map(|n| Some(*n)).collect() } else { vec![None] };
    let targets = instances
        .into_iter()
        .map(|node| {
            let mut b = TargetBuilder::new(site, api, node);
            if let Some(me) = node {
                b.add_peers(me, &nodes);
            }
            for (e, remote) in edges {
                b.add_edge(e, remote);
            }
            b.target
        })
        .collect();
    Some(SitePlan {
        site,
        api,
        admin: admin_ref(site),
        targets,
        realm: dual.then(|| format!("{}{}", origin(&site.harbor.external_url), ping_path(site.harbor.version))),
    })
}

/// Makes the objects of one target, and keeps the names of its endpoints and of its
/// policies unique.
struct TargetBuilder<'a> {
    site: &'a Site,
    api: ApiFlavor,
    target: TargetPlan,
    registry_names: BTreeSet<String>,
    policy_names: BTreeSet<String>,
}

impl<'a> TargetBuilder<'a> {
    /// An empty target: the node `node` of a dual-master site, or the whole site.
    fn new(site: &'a Site, api: ApiFlavor, node: Option<&Host>) -> Self {
        let target = match node {
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
        TargetBuilder { site, api, target, registry_names: BTreeSet::new(), policy_names: BTreeSet::new() }
    }

    /// Dual master: on the node `me`, an endpoint for every other node (its own address,
    /// not the LB), an event-based push with deletion to it, and the scheduled fallback.
    fn add_peers(&mut self, me: &Host, nodes: &[&Host]) {
        let site = self.site;
        for peer in nodes.iter().filter(|p| p.index != me.index) {
            let name = unique(&format!("hha-{}", peer.name), MAX_REGISTRY_NAME, &mut self.registry_names);
            let url = node_url(peer.address, peer.http_port);
            let description = format!("harbor-ha: dual-master peer {} of site {}", peer.name, site.name);
            self.target.registries.push(RegistryObj {
                name: name.clone(),
                body: api::registry_body(&name, description, &url, self_signed(site)),
                cred: Cred::Admin,
                ping: format!("{url}{}", ping_path(site.harbor.version)),
            });
            let fallback = Trigger::Cron(CronExpr::known(FALLBACK_CRON));
            for trig in [&Trigger::EventBased, &fallback] {
                let base = format!("hha-{}-to-{}-{}", me.name, peer.name, trigger_word(trig));
                let spec = PolicySpec {
                    description: format!(
                        "harbor-ha: dual master {} -> {} ({}, with deletion)",
                        me.name,
                        peer.name,
                        trigger_desc(trig)
                    ),
                    name: unique(&base, MAX_POLICY_NAME, &mut self.policy_names),
                    registry: name.clone(),
                    field: Field::Dest,
                    trigger: trig,
                    filters: Vec::new(),
                    deletion: true,
                };
                self.target.policies.push(policy(self.api, spec));
            }
        }
    }

    /// The edge `e` to or from `remote`: its endpoint (shared with an earlier edge to the
    /// same URL and account) and its policy.
    fn add_edge(&mut self, e: &Edge, remote: &Site) {
        let registry = self.edge_registry(e, remote);
        let (verb, field) = match e.mode {
            EdgeMode::Push => ("push", Field::Dest),
            EdgeMode::Pull => ("pull", Field::Src),
        };
        let base = format!("hha-{}-to-{}-{}", e.from, e.to, trigger_word(&e.trigger));
        let spec = PolicySpec {
            name: unique(&base, MAX_POLICY_NAME, &mut self.policy_names),
            description: format!(
                "harbor-ha: {verb} {} -> {} ({}{})",
                e.from,
                e.to,
                trigger_desc(&e.trigger),
                if e.deletion { ", with deletion" } else { "" }
            ),
            registry,
            field,
            trigger: &e.trigger,
            filters: filter_bodies(&e.filters),
            deletion: e.deletion,
        };
        self.target.policies.push(policy(self.api, spec));
    }

    /// The name of the endpoint of the edge `e` on `remote`: an existing one with the same
    /// URL and account, or a new one.
    fn edge_registry(&mut self, e: &Edge, remote: &Site) -> String {
        let mut secret = match &e.credentials {
            Some(s) => SecretRef {
                override_var: String::new(),
                source: s.clone(),
                what: format!("secret of {} on site {}", e.username, remote.name),
            },
            None => admin_ref(remote),
        };
        let username = e.username.as_str().to_string();
        let url = origin(&remote.harbor.external_url);
        let existing =
            self.target.registries.iter().find(|r| r.body.url == url && logs_in_as(&r.cred, &username, &secret.source));
        if let Some(r) = existing {
            return r.name.clone();
        }
        let name = unique(&format!("hha-{}", remote.name), MAX_REGISTRY_NAME, &mut self.registry_names);
        // A literal secret is not copied into the bundle: the script asks for a variable.
        if matches!(secret.source, Secret::Literal(_)) && secret.override_var.is_empty() {
            let base = name.strip_prefix("hha-").unwrap_or(&name);
            secret.override_var = var(&[self.site.name.as_str(), base, "SECRET"]);
        }
        self.target.registries.push(RegistryObj {
            name: name.clone(),
            body: api::registry_body(&name, format!("harbor-ha: site {}", remote.name), &url, self_signed(remote)),
            cred: Cred::Remote { username, secret },
            ping: format!("{url}{}", ping_path(remote.harbor.version)),
        });
        name
    }
}

/// Holding sites in replication order: a site after every site it receives from (file
/// order otherwise, and for what a cycle leaves).
pub(super) fn replication_order<'a>(topo: &Topology, plans: &'a [SitePlan<'a>]) -> Vec<&'a SitePlan<'a>> {
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
