//! Valid topology → bundle. One module per output family; each role module adds the files
//! a host receives and the install steps that put them in place. Every bundle entry records
//! the module that rendered it ([`Bundle::listing`] prints it), so the bundle snapshots are
//! the index from an output file to its renderer.
//!
//! Rendering cannot fail: it takes a [`RenderInput`], which only validation makes (every
//! value checked, every secret resolved). Secret values reach only the files a renderer
//! declares with [`HostOut::secret_file`]; [`plan`] renders without any secret.

pub mod backup;
pub mod collect;
pub mod facts;
pub mod firewall;
pub mod haproxy;
pub mod harbor;
pub mod install;
pub mod keepalived;
pub mod monitoring;
pub mod nfs;
pub mod nginx;
pub mod os;
pub mod patroni;
pub mod postgres;
pub mod quote;
pub mod redis;
pub mod replication;
pub mod runbook;
pub mod sentinel;
pub mod template;
pub mod upgrade;

use std::collections::BTreeMap;

use crate::bundle::{Bundle, BundleFile};
use crate::model::enums::{Role, SiteMode};
use crate::model::resolved::{Host, Site, ValidTopology};
use crate::secrets::{RenderInput, SiteSecrets, SiteValues};

/// The secrets a host's secret-bearing files are made from.
#[derive(Clone, Copy)]
pub struct Secrets<'s> {
    /// The site's shared (generated) secrets.
    pub shared: &'s SiteSecrets,
    /// The site's resolved secret values.
    pub values: &'s SiteValues,
}

/// Everything a role renderer sees about one host (never a secret: see [`HostOut::secret_file`]).
pub struct RoleCtx<'a> {
    /// The host's site.
    pub site: &'a Site,
    /// The host.
    pub host: &'a Host,
    /// Whether this host is the site's first Harbor node (installs alone, first).
    pub first_harbor: bool,
    /// OS facts.
    pub os: os::OsInfo,
    /// DNS names the site's Harbor containers must resolve for replication, with the
    /// topology's address for each ([`replication::container_hosts`]).
    pub extra_hosts: &'a [(String, std::net::IpAddr)],
}

/// One titled block of an install script.
#[derive(Debug, Clone)]
pub struct Step {
    /// Shown when the step runs.
    pub title: String,
    /// Bash lines (using the prelude's helpers). Every topology value is quoted.
    pub body: String,
    /// Where the renderer made it.
    origin: &'static std::panic::Location<'static>,
}

impl Step {
    /// The module that rendered the step, e.g. `render::firewall`.
    #[must_use]
    pub fn renderer(&self) -> String {
        crate::bundle::module_of(self.origin.file())
    }
}

/// What the roles of one host contribute.
pub struct HostOut<'s> {
    /// The secrets, when rendering a bundle; `None` for [`plan`].
    secrets: Option<Secrets<'s>>,
    /// Absolute target path → file (`None`: a secret-bearing file, withheld by [`plan`]).
    pub files: BTreeMap<String, Option<BundleFile>>,
    /// Install steps in order.
    pub steps: Vec<Step>,
}

impl<'s> HostOut<'s> {
    /// An empty host, rendering with `secrets` (or only the paths of secret-bearing files).
    #[must_use]
    pub fn new(secrets: Option<Secrets<'s>>) -> Self {
        HostOut { secrets, files: BTreeMap::new(), steps: Vec::new() }
    }

    /// Add a file placed at `target` on the host (the calling module is its renderer).
    #[track_caller]
    pub fn file(&mut self, target: impl Into<String>, content: impl Into<String>, mode: u32) {
        self.files.insert(target.into(), Some(BundleFile::new(content, mode)));
    }

    /// Add a file whose content holds secrets: `content` is called only when rendering a
    /// bundle, never for a plan.
    #[track_caller]
    pub fn secret_file(&mut self, target: impl Into<String>, mode: u32, content: impl FnOnce(Secrets<'s>) -> String) {
        let origin = std::panic::Location::caller();
        let file = self.secrets.map(|s| BundleFile::made_at(content(s), mode, origin));
        self.files.insert(target.into(), file);
    }

    /// Add an install step (the calling module is its renderer).
    #[track_caller]
    pub fn step(&mut self, title: impl Into<String>, body: impl Into<String>) {
        let origin = std::panic::Location::caller();
        self.steps.push(Step { title: title.into(), body: body.into(), origin });
    }
}

/// Hosts of a site in install order: storage → database → redis → first Harbor node →
/// other Harbor nodes → load balancers (a host goes where its earliest role puts it).
#[must_use]
pub fn install_order(site: &Site) -> Vec<&Host> {
    let rank = |h: &Host| -> usize {
        let first_harbor = site.harbor_nodes().next().map(|f| f.index) == Some(h.index);
        if h.has(Role::Nfs) {
            0
        } else if h.has(Role::Postgres) || h.has(Role::Etcd) {
            1
        } else if h.has(Role::Redis) || h.has(Role::Sentinel) {
            2
        } else if h.has(Role::Harbor) && first_harbor {
            3
        } else if h.has(Role::Harbor) {
            4
        } else {
            5
        }
    };
    let mut hosts: Vec<&Host> = site.hosts.iter().collect();
    hosts.sort_by_key(|h| (rank(h), h.index));
    hosts
}

/// One host of the install plan: its site, itself, and the absolute target paths of its files.
pub type PlanEntry<'a> = (&'a Site, &'a Host, Vec<String>);

/// Render the whole bundle.
#[must_use]
pub fn render(input: &RenderInput) -> Bundle {
    let mut bundle = render_full(input, None).0;
    bundle.add_host_manifests();
    bundle
}

/// Render the wanted topology of a change (`render NEW --from OLD`): the bundle with the
/// runbook's `Upgrading` and `Changing the site` sections, `CHANGE.md`, `upgrade/` (from
/// `procedures[i]`, the input of `plan.procedures[i].after`) and `change/nodes.sh`.
/// `labels` name the two topology files.
#[must_use]
pub fn render_change(
    input: &RenderInput,
    plan: &crate::change::Plan,
    procedures: &[RenderInput],
    labels: (&str, &str),
) -> Bundle {
    let sections = crate::change::runbook_sections(plan);
    let (mut bundle, _) = render_full(input, Some(&sections));
    let after: Vec<Bundle> = procedures.iter().map(|p| render_full(p, None).0).collect();
    upgrade::render(plan, &after, input.topology(), labels, &mut bundle);
    bundle.add_host_manifests();
    bundle
}

/// One host's install steps as rendered, for the change planner ([`crate::change`]), which
/// compares them between two topologies (a firewall rule exists only as a step).
#[derive(Debug, Clone)]
pub struct HostSteps {
    /// The host's site.
    pub site: String,
    /// The host.
    pub host: String,
    /// Its install steps in order, each with its renderer.
    pub steps: Vec<Step>,
}

/// Render the whole bundle, with the runbook's change sections (`Upgrading`, `Changing the
/// site`, Markdown from [`crate::change`]) when given, and keep each host's steps.
#[must_use]
pub fn render_full(input: &RenderInput, change_sections: Option<&str>) -> (Bundle, Vec<HostSteps>) {
    let topo = input.topology();
    let mut bundle = Bundle::default();
    let mut plans: Vec<PlanEntry> = Vec::new();
    let mut host_steps = Vec::new();
    let mut token_key_ids = BTreeMap::new();
    let mut lb_fingerprints = BTreeMap::new();
    let container_hosts = replication::container_hosts(topo);
    for site in &topo.sites {
        let (shared, values) = input.site(site);
        let self_signed =
            site.lb.as_ref().is_some_and(|lb| matches!(lb.tls, crate::model::resolved::Tls::SelfSigned(_)));
        for (name, content) in shared.to_files() {
            // The LB pair only where the LBs serve it (a stored pair of a site that has
            // since moved to its own certificate is left out).
            if self_signed || !crate::secrets::LB_FIELDS.contains(&name) {
                bundle.add(format!("secrets/{}/{name}", site.name), content, 0o600);
            }
        }
        if let Some(fp) = shared.lb_tls.as_ref().filter(|_| self_signed).and_then(crate::secrets::LbTls::fingerprint) {
            lb_fingerprints.insert(site.name.to_string(), fp);
        }
        if site.pg_cluster().is_some() {
            for (name, content) in shared.cluster.to_files() {
                bundle.add(format!("secrets/{}/{name}", site.name), content, 0o600);
            }
        }
        if let Some(kid) = runbook::token_key_id(&shared.token_certificate) {
            token_key_ids.insert(site.name.to_string(), kid);
        }
        let extra = container_hosts.get(site.name.as_str()).map_or(&[][..], Vec::as_slice);
        for (ctx, out) in render_site(site, Some(Secrets { shared, values }), extra) {
            let base = format!("hosts/{}", ctx.host.name);
            for (target, file) in &out.files {
                if let Some(f) = file {
                    bundle.insert(format!("{base}/files{target}"), f.clone());
                }
            }
            bundle.insert(format!("{base}/install.sh"), install::install_script(&ctx, &out.steps));
            facts::add(&ctx, &out, &mut bundle);
            plans.push((site, ctx.host, out.files.keys().cloned().collect()));
            host_steps.push(HostSteps {
                site: site.name.to_string(),
                host: ctx.host.name.to_string(),
                steps: out.steps,
            });
        }
    }
    let replication_scripts = replication::render(topo, &mut bundle);
    monitoring::render(topo, &mut bundle);
    backup::render(input, &mut bundle);
    let facts = runbook::Facts {
        plans: &plans,
        token_key_ids: &token_key_ids,
        lb_fingerprints: &lb_fingerprints,
        replication_scripts: &replication_scripts,
        change_sections,
    };
    runbook::render(topo, &facts, &mut bundle);
    collect::render(&mut bundle);
    (bundle, host_steps)
}

/// The absolute paths of the files each host receives whose content holds a secret
/// ([`HostOut::secret_file`]), by host name.
#[must_use]
pub fn secret_files(topo: &ValidTopology) -> BTreeMap<String, Vec<String>> {
    let container_hosts = replication::container_hosts(topo);
    let mut m = BTreeMap::new();
    for site in &topo.sites {
        let extra = container_hosts.get(site.name.as_str()).map_or(&[][..], Vec::as_slice);
        for (ctx, out) in render_site(site, None, extra) {
            let secret: Vec<String> = out.files.iter().filter(|(_, f)| f.is_none()).map(|(p, _)| p.clone()).collect();
            m.insert(ctx.host.name.to_string(), secret);
        }
    }
    m
}

/// The hosts of `site` in install order, each with what its roles contribute.
fn render_site<'a, 's>(
    site: &'a Site,
    secrets: Option<Secrets<'s>>,
    extra_hosts: &'a [(String, std::net::IpAddr)],
) -> Vec<(RoleCtx<'a>, HostOut<'s>)> {
    let first = site.harbor_nodes().next().map(|h| h.index);
    install_order(site)
        .into_iter()
        .map(|host| {
            let ctx =
                RoleCtx { site, host, first_harbor: first == Some(host.index), os: os::info(host.os), extra_hosts };
            let out = render_host(&ctx, secrets);
            (ctx, out)
        })
        .collect()
}

/// A host's roles, in the order its steps run.
fn render_host<'s>(ctx: &RoleCtx, secrets: Option<Secrets<'s>>) -> HostOut<'s> {
    let mut out = HostOut::new(secrets);
    install::common(ctx, &mut out);
    firewall::render(ctx, &mut out);
    if ctx.host.has(Role::Nfs) {
        nfs::render(ctx, &mut out);
    }
    if ctx.host.has(Role::Postgres) {
        postgres::render(ctx, &mut out);
    }
    if ctx.host.has(Role::Postgres) || ctx.host.has(Role::Etcd) {
        patroni::render(ctx, &mut out);
    }
    if ctx.host.has(Role::Redis) {
        redis::render(ctx, &mut out);
    }
    if ctx.host.has(Role::Redis) || ctx.host.has(Role::Sentinel) {
        sentinel::render(ctx, &mut out);
    }
    if ctx.host.has(Role::Harbor) {
        harbor::render(ctx, &mut out);
    }
    if ctx.host.has(Role::Lb) {
        nginx::render(ctx, &mut out);
        if ctx.site.hosts_with(Role::Lb).count() == 2 {
            keepalived::render(ctx, &mut out);
        }
        haproxy::render(ctx, &mut out);
    }
    monitoring::render_host(ctx, &mut out);
    backup::render_host(ctx, &mut out);
    out
}

/// One site of [`install_plan`]: its hosts in install order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SitePlan {
    /// The site's name.
    pub site: String,
    /// The site's mode as the file writes it (`shared-storage` or `replication`).
    pub mode: &'static str,
    /// The Harbor version installed.
    pub harbor_version: String,
    /// The hosts, in the order they are installed.
    pub hosts: Vec<HostPlan>,
}

/// One host of [`install_plan`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HostPlan {
    /// 1-based position in the site's install order.
    pub step: usize,
    /// Inventory name.
    pub name: String,
    /// Address.
    pub address: String,
    /// Roles, as written.
    pub roles: Vec<&'static str>,
    /// Whether the host installs alone, before the other Harbor nodes (the first Harbor
    /// node of a site with several).
    pub installs_alone: bool,
    /// The install script's path in the bundle (`hosts/<name>/install.sh`).
    pub install_script: String,
    /// The absolute paths of the files the host receives, sorted.
    pub files: Vec<String>,
}

/// The hosts of every site in install order, with the files each receives (the data of
/// `harbor-ha plan`; [`plan`] prints it). Renders no secret: secret-bearing files are
/// listed by path only.
#[must_use]
pub fn install_plan(topo: &ValidTopology) -> Vec<SitePlan> {
    let container_hosts = replication::container_hosts(topo);
    topo.sites
        .iter()
        .map(|site| {
            let extra = container_hosts.get(site.name.as_str()).map_or(&[][..], Vec::as_slice);
            let several = site.harbor_nodes().count() > 1;
            let hosts = render_site(site, None, extra)
                .into_iter()
                .enumerate()
                .map(|(i, (ctx, out))| HostPlan {
                    step: i + 1,
                    name: ctx.host.name.to_string(),
                    address: ctx.host.address.to_string(),
                    roles: ctx.host.roles.iter().map(|r| r.as_str()).collect(),
                    installs_alone: ctx.first_harbor && several,
                    install_script: format!("hosts/{}/install.sh", ctx.host.name),
                    files: out.files.keys().cloned().collect(),
                })
                .collect();
            SitePlan {
                site: site.name.to_string(),
                mode: site.mode.as_str(),
                harbor_version: site.harbor.version.to_string(),
                hosts,
            }
        })
        .collect()
}

/// `harbor-ha plan --format json`: `{"sites": [...]}`, [`install_plan`] as pretty JSON with a
/// trailing newline (what the Python module's `Topology.plan()` returns).
#[must_use]
pub fn install_plan_json(topo: &ValidTopology) -> String {
    let v = serde_json::json!({ "sites": install_plan(topo) });
    let mut s = serde_json::to_string_pretty(&v).unwrap_or_else(|_| "{}".to_string());
    s.push('\n');
    s
}

/// `harbor-ha plan`: hosts in install order with the files each receives ([`install_plan`]
/// as text). Renders no secret: secret-bearing files are listed by path only.
#[must_use]
pub fn plan(topo: &ValidTopology) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    for site in install_plan(topo) {
        let mode = if site.mode == SiteMode::Replication.as_str() { "replication (dual master)" } else { site.mode };
        let _ = writeln!(s, "site {} ({mode}, Harbor {})", site.site, site.harbor_version);
        for host in site.hosts {
            let note = if host.installs_alone { "  (installs alone, before the other Harbor nodes)" } else { "" };
            let _ = writeln!(s, "  {}. {} {} [{}]{note}", host.step, host.name, host.address, host.roles.join(", "));
            let _ = writeln!(s, "     {}", host.install_script);
            for f in host.files {
                let _ = writeln!(s, "     {f}");
            }
        }
    }
    s
}
