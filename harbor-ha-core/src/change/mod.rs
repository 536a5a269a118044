//! Change a running site: the planner between validation and rendering.
//!
//! ```text
//! OLD.yaml ─validate─▶ ValidTopology ─┐
//!                                     ├─▶ change::plan ─▶ Plan (ordered steps, hops) ─▶ render (CHANGE.md, upgrade/)
//! NEW.yaml ─validate─▶ ValidTopology ─┘
//! ```
//!
//! [`plan`] first refuses what is unsafe ([`rules`]: CH001–CH004). It then renders the
//! running topology, every intermediate one and the wanted one with stand-in secrets
//! ([`snapshot`]), and derives the steps from what differs on each host, in the order that
//! keeps Harbor serving: a version change first ([`releases`]: one procedure per hop, with
//! its PostgreSQL upgrade where a hop needs one), then the backends that admit new nodes,
//! the new nodes, rolling changes of the existing nodes, the load balancers, the retired
//! nodes and the backends that forget them ([`steps`]). Nothing here is hand-listed per
//! kind of change: a step exists because a host's files or install steps differ.

pub mod releases;
mod report;
mod rules;
mod snapshot;
mod steps;

use std::collections::BTreeSet;

use crate::diag::{has_errors, Diagnostic};
use crate::model::enums::{Component, Role};
use crate::model::resolved::{Site, ValidTopology};
use crate::model::spec::TopologySpec;
use crate::model::version::VersionText;
use crate::Document;

pub use report::{json, markdown, runbook_sections, text};
pub use rules::{PgUpgrade, VersionChange};
pub use snapshot::{FileChange, FileStatus};
pub use steps::{Kind, Step};

use snapshot::{Placeholders, Snapshot};

/// One side of the change: the parsed file and its valid topology.
#[derive(Clone, Copy)]
pub struct Side<'a> {
    /// The parsed file (its raw model makes the intermediate topologies; its source map
    /// places the diagnostics).
    pub doc: &'a Document,
    /// Its topology, validated.
    pub topology: &'a ValidTopology,
}

/// What the planner may do.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Plan changes that lose the site's data (CH003 becomes a warning).
    pub allow_destructive: bool,
}

/// One upgrade procedure: a Harbor hop (with the PostgreSQL upgrade it needs), or a
/// PostgreSQL upgrade alone. `render --from` writes one script per procedure.
#[derive(Debug, Clone)]
pub struct Procedure {
    /// The site.
    pub site: String,
    /// 1-based, within the site.
    pub number: usize,
    /// The Harbor hop, when Harbor's version changes.
    pub hop: Option<releases::Hop>,
    /// The PostgreSQL upgrade this procedure performs (after it stops Harbor, before the
    /// migration), when the bundle installs that PostgreSQL.
    pub postgres: Option<PgUpgrade>,
    /// The script's path in the bundle.
    pub script: String,
    /// The topology running before.
    pub before: ValidTopology,
    /// The topology running after: its Harbor nodes' (and PostgreSQL host's) files are
    /// what the script installs.
    pub after: ValidTopology,
}

impl Procedure {
    /// The directory of the procedure's files in the bundle (its script without `.sh`).
    #[must_use]
    pub fn dir(&self) -> String {
        self.script.trim_end_matches(".sh").to_string()
    }
}

/// The ordered steps from the running topology to the wanted one.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Steps in the order they must run.
    pub steps: Vec<Step>,
    /// The upgrade procedures (the `upgrade` and `postgres-upgrade` steps run them).
    pub procedures: Vec<Procedure>,
    /// Whether some step stops Harbor.
    pub downtime: bool,
    /// Warnings: destructive changes accepted with `--allow-destructive`.
    pub diagnostics: Vec<Diagnostic>,
}

/// Plan the change from `old` (running) to `new`.
///
/// # Errors
/// Every refusal (CH001–CH004 errors), placed in the new topology's file.
pub fn plan(old: Side, new: Side, options: Options) -> Result<Plan, Vec<Diagnostic>> {
    let (changes, mut diags) = rules::check(old.topology, new.topology, options.allow_destructive);
    diags.iter_mut().for_each(|d| new.doc.source.locate(d));
    if has_errors(&diags) {
        return Err(diags);
    }
    let placeholders = Placeholders::of(&[old.topology, new.topology]);
    let mut spec = old.doc.spec.clone();
    let mut current = old.topology.clone();
    let mut running = Snapshot::render(&current, &placeholders)?;
    let old_root = running.root_files().into_iter().map(|(p, f)| (p.to_string(), f.clone())).collect();
    let mut plan = Plan { steps: Vec::new(), procedures: Vec::new(), downtime: false, diagnostics: diags };
    for change in &changes {
        let n = &new.topology.sites[change.index];
        let procs = procedures(change, n, &mut spec, &mut current, new.doc)?;
        for p in procs {
            let after = Snapshot::render(&p.after, &placeholders)?;
            steps::procedure_steps(&p, &running, &after, &mut plan.steps);
            let mut hosts: Vec<String> =
                site_of(&p.after, &p.site).harbor_nodes().map(|h| h.name.to_string()).collect();
            if let Some(h) = p.postgres.as_ref().and_then(|pg| pg.host.clone()) {
                hosts.push(h);
            }
            running.take_hosts(&after, &hosts);
            plan.procedures.push(p);
        }
        if let Some(pg) = change.postgres.as_ref().filter(|pg| pg.host.is_none()) {
            steps::external_postgres_step(change, pg, n, &mut plan.steps);
        }
    }
    for target in topology_phases(&current, new)? {
        let snap = Snapshot::render(&target, &placeholders)?;
        let removal = removed_nodes(&current, &target) > 0;
        let coordinated = coordinated_sites(&current, &target);
        steps::phase_steps(&running, &snap, removal, &coordinated, &mut plan.steps);
        running = snap;
        current = target;
    }
    steps::root_steps(&old_root, &running, &mut plan.steps);
    for (i, s) in plan.steps.iter_mut().enumerate() {
        s.id = i + 1;
    }
    plan.downtime = plan.steps.iter().any(|s| !s.serving);
    Ok(plan)
}

/// The site named `name` of `t` (it exists: the planner made `t` from a topology that has it).
fn site_of<'t>(t: &'t ValidTopology, name: &str) -> &'t Site {
    t.sites.iter().find(|s| s.name.as_str() == name).unwrap_or(&t.sites[0])
}

/// The procedures of one site's version change, each with the topology it leaves running;
/// `spec` and `current` advance to the last one.
fn procedures(
    change: &VersionChange,
    wanted: &Site,
    spec: &mut TopologySpec,
    current: &mut ValidTopology,
    new: &Document,
) -> Result<Vec<Procedure>, Vec<Diagnostic>> {
    let Some(si) = spec.sites.iter().position(|s| s.name.as_str() == change.site) else { return Ok(Vec::new()) };
    let wanted_components: BTreeSet<Component> = wanted.harbor.components.clone();
    let scripted_pg = change.postgres.as_ref().filter(|pg| pg.host.is_some());
    let mut out = Vec::new();
    let mut number = 0;
    let mut pg_done = change.postgres.as_ref().is_some_and(|pg| pg.host.is_none());
    let mut push = |spec: &TopologySpec,
                    hop: Option<releases::Hop>,
                    postgres: Option<PgUpgrade>,
                    current: &mut ValidTopology|
     -> Result<(), Vec<Diagnostic>> {
        number += 1;
        let after = validate_intermediate(spec, &change.site, change.index, hop, new)?;
        let name = match (&hop, &postgres) {
            (Some(h), _) => format!("{:02}-{}-to-{}.sh", number, h.from, h.to),
            (None, Some(pg)) => {
                format!("{:02}-postgres-{}-to-{}.sh", number, pg.from.postgres_text(), pg.to.postgres_text())
            }
            (None, None) => format!("{number:02}.sh"),
        };
        out.push(Procedure {
            site: change.site.clone(),
            number,
            hop,
            postgres,
            script: format!("upgrade/{}/{name}", change.site),
            before: current.clone(),
            after: after.clone(),
        });
        *current = after;
        Ok(())
    };
    if change.hops.is_empty() {
        if let Some(pg) = scripted_pg {
            set_pg_version(spec, si, pg);
            push(spec, None, Some(pg.clone()), current)?;
        } else if let Some(pg) = &change.postgres {
            set_pg_version(spec, si, pg);
            *current = validate_intermediate(spec, &change.site, change.index, None, new)?;
        }
        return Ok(out);
    }
    for (i, hop) in change.hops.iter().enumerate() {
        let here = scripted_pg.filter(|pg| pg.before_hop.unwrap_or(0) == i).cloned();
        if here.is_some() || (!pg_done && change.postgres.as_ref().is_some_and(|pg| pg.before_hop.unwrap_or(0) == i)) {
            pg_done = true;
        }
        if pg_done {
            if let Some(pg) = &change.postgres {
                set_pg_version(spec, si, pg);
            }
        }
        let site = &mut spec.sites[si];
        site.harbor.version = VersionText(hop.to.to_string());
        let mut comps: BTreeSet<Component> = site.harbor.components.iter().flatten().copied().collect();
        comps.extend(wanted_components.iter().copied());
        comps.retain(|c| crate::validate::component_available(*c, hop.to));
        site.harbor.components =
            if comps.is_empty() && site.harbor.components.is_none() { None } else { Some(comps.into_iter().collect()) };
        push(spec, Some(*hop), here, current)?;
    }
    Ok(out)
}

fn set_pg_version(spec: &mut TopologySpec, si: usize, pg: &PgUpgrade) {
    if let Some(db) = spec.sites[si].database.as_mut() {
        db.version = Some(VersionText(pg.to.postgres_text()));
    }
}

/// Validate an intermediate topology (CH002 when it has errors).
fn validate_intermediate(
    spec: &TopologySpec,
    site: &str,
    index: usize,
    hop: Option<releases::Hop>,
    new: &Document,
) -> Result<ValidTopology, Vec<Diagnostic>> {
    let report = crate::validate::validate(spec, &crate::SourceMap::empty());
    report.topology.ok_or_else(|| {
        let errors: Vec<Diagnostic> = report.diagnostics.into_iter().filter(Diagnostic::is_error).collect();
        let to = hop.map_or(crate::model::version::Version::new(0, 0), |h| h.to);
        let mut d = rules::hop_unrenderable(site, index, to, &errors);
        new.source.locate(&mut d);
        vec![d]
    })
}

/// The topologies the non-version part of the change passes through: the wanted one, after
/// a superset of both (running and wanted Harbor nodes) when nodes are added and others
/// retired at once, so that the new ones serve before the old ones stop.
fn topology_phases(current: &ValidTopology, new: Side) -> Result<Vec<ValidTopology>, Vec<Diagnostic>> {
    let added = added_nodes(current, new.topology);
    let removed = removed_nodes(current, new.topology);
    if added == 0 || removed == 0 {
        return Ok(vec![new.topology.clone()]);
    }
    let superset = superset_spec(current, new);
    match superset.and_then(|s| crate::validate::validate(&s, &crate::SourceMap::empty()).topology) {
        Some(t) => Ok(vec![t, new.topology.clone()]),
        None => Ok(vec![new.topology.clone()]),
    }
}

/// The wanted spec plus the running Harbor nodes it drops (from the running topology's
/// resolved hosts).
fn superset_spec(current: &ValidTopology, new: Side) -> Option<TopologySpec> {
    let mut sup = new.doc.spec.clone();
    for site in &mut sup.sites {
        let Some(run) = current.sites.iter().find(|s| s.name.as_str() == site.name.as_str()) else { continue };
        for h in run.harbor_nodes() {
            if site.hosts.iter().any(|x| x.name.as_str() == h.name.as_str()) {
                continue;
            }
            let template = site.hosts.iter().find(|x| x.roles.contains(&Role::Harbor))?.clone();
            let mut spec = template;
            spec.name = crate::model::spec::Raw::new(h.name.as_str());
            spec.address = h.address;
            spec.roles = h.roles.iter().copied().collect();
            spec.http_port = Some(h.http_port);
            spec.data_volume = Some(crate::model::spec::Raw::new(h.data_volume.as_str()));
            spec.interface = Some(crate::model::spec::Raw::new(h.interface.as_str()));
            spec.os = Some(h.os);
            site.hosts.push(spec);
        }
    }
    Some(sup)
}

fn node_names(t: &ValidTopology) -> BTreeSet<(String, String)> {
    t.sites.iter().flat_map(|s| s.harbor_nodes().map(move |h| (s.name.to_string(), h.name.to_string()))).collect()
}

fn added_nodes(cur: &ValidTopology, target: &ValidTopology) -> usize {
    node_names(target).difference(&node_names(cur)).count()
}

fn removed_nodes(cur: &ValidTopology, target: &ValidTopology) -> usize {
    node_names(cur).difference(&node_names(target)).count()
}

/// Sites whose Harbor nodes must change together (they would disagree on shared state
/// during a rolling restart), with the reason.
fn coordinated_sites(cur: &ValidTopology, target: &ValidTopology) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for t in &target.sites {
        let Some(c) = cur.sites.iter().find(|s| s.name == t.name) else { continue };
        let mut why = Vec::new();
        if format!("{:?}", c.storage) != format!("{:?}", t.storage) {
            why.push("storage");
        }
        if format!("{:?}", db_endpoint(c)) != format!("{:?}", db_endpoint(t)) {
            why.push("database endpoint");
        }
        if format!("{:?}", c.redis) != format!("{:?}", t.redis) {
            why.push("Redis endpoint");
        }
        if c.harbor.external_url != t.harbor.external_url {
            why.push("external_url");
        }
        if c.harbor.components != t.harbor.components {
            why.push("components");
        }
        if !why.is_empty() {
            out.push((t.name.to_string(), why.join(", ")));
        }
    }
    out
}

/// What the nodes use to reach the database (not its server-side sizing).
fn db_endpoint(s: &Site) -> Option<(String, u16, String, String)> {
    match &s.database {
        crate::model::resolved::Database::External(d) => {
            Some((d.host.to_string(), d.port, d.db_name.to_string(), d.username.to_string()))
        }
        crate::model::resolved::Database::Internal => None,
    }
}
