//! RP001–RP010: dual-master sites and replication edges between sites.

use std::collections::{BTreeMap, BTreeSet};

use super::sp;
use crate::diag::RuleCode;
use crate::model::enums::{EdgeMode, SiteMode};
use crate::model::ids::{CronExpr, Pattern, SiteName, Text};
use crate::model::resolved::{Database, Edge, Filters, Redis, Site, Storage, Trigger};
use crate::model::spec::{EdgeSpec, SiteSpec, TopologySpec, TriggerSpec};
use crate::validate::resolve::Resolved;
use crate::validate::{values, Ctx};

/// A replication edge (RP005: its cron; RP006: its filters).
pub(in crate::validate) fn resolve_edge(i: usize, e: &EdgeSpec, ctx: &mut Ctx) -> Edge {
    let p = format!("replication[{i}]");
    let f = e.filters.clone().unwrap_or_default();
    let label = values::opt_text(ctx, &format!("{p}.filters.label"), f.label.as_ref());
    let username = values::opt_text(ctx, &format!("{p}.username"), e.username.as_ref());
    let mut pattern = |key: &str, v: &Option<String>| {
        v.as_ref().map(|v| {
            ctx.checked::<Pattern>(v, |ctx| {
                ctx.emit(
                    RuleCode::RP006,
                    format!("{p}.filters.{key}"),
                    format!("filter {key} `{}` is not a pattern Harbor accepts", v.escape_debug()),
                    "use a doublestar pattern without spaces or quotes, e.g. library/** or v{1,2}.*",
                );
            })
        })
    };
    let filters = Filters { repository: pattern("repository", &f.repository), tag: pattern("tag", &f.tag), label };
    let trigger = match e.trigger.clone().unwrap_or(TriggerSpec::EventBased) {
        TriggerSpec::EventBased => Trigger::EventBased,
        TriggerSpec::Manual => Trigger::Manual,
        TriggerSpec::Cron(c) => Trigger::Cron(ctx.checked::<CronExpr>(&c, |ctx| {
            ctx.emit(
                RuleCode::RP005,
                format!("{p}.trigger.cron"),
                format!("`{}` is not a Harbor cron (6 fields: second minute hour day month weekday)", c.escape_debug()),
                "write e.g. \"0 0 * * * *\" for hourly, \"0 0 2 * * *\" for 02:00 daily",
            );
        })),
    };
    // Names no site has are RP001's (check_edges).
    let site = |n: &crate::model::spec::Raw<SiteName>| {
        SiteName::parse(n.as_str()).unwrap_or_else(|_| SiteName::stand_in(n.as_str()))
    };
    Edge {
        index: i,
        from: site(&e.from),
        to: site(&e.to),
        mode: e.mode.unwrap_or(EdgeMode::Push),
        trigger,
        filters,
        deletion: e.deletion.unwrap_or(false),
        username: username.unwrap_or_else(|| Text::known("admin")),
        credentials: e.credentials.as_ref().map(values::secret),
    }
}

pub(super) fn check_site(site: &Site, raw: &SiteSpec, ctx: &mut Ctx) {
    if site.mode != SiteMode::Replication {
        return;
    }
    let s = sp(site.index);
    ctx.emit(
        RuleCode::RP003,
        format!("{s}.mode"),
        format!("site `{}` is dual master: event-based replication is not retried, and a node that fails and recovers does not catch up by itself", site.name),
        "run replication/resync.sh after any node outage; prefer mode: shared-storage for real high availability",
    );
    rp010(site, ctx);
    let shared_storage =
        raw.storage.as_ref().is_some_and(|st| st.filesystem.is_none()) && !matches!(site.storage, Storage::Local);
    for (present, key, what) in [
        (shared_storage, "storage", "shared storage"),
        (!matches!(site.database, Database::Internal), "database", "an external database"),
        (!matches!(site.redis, Redis::Internal), "redis", "an external Redis"),
    ] {
        if present {
            ctx.emit(
                RuleCode::RP008,
                format!("{s}.{key}"),
                format!("dual-master site `{}` has {what}; its two nodes must be self-contained", site.name),
                format!("remove `{key}` (each node uses its own), or use mode: shared-storage"),
            );
        }
    }
}

/// RP010: from Harbor 2.14 the token realm a node hands out is external_url's scheme with
/// the request's Host (`src/server/middleware/v2auth/auth.go`): a peer reached over
/// `http://<node>:<port>` answers with `https://<node>:<port>/service/token` when
/// external_url is https, and the other node's replication cannot get a token.
fn rp010(site: &Site, ctx: &mut Ctx) {
    let v = site.harbor.version;
    if v.at_least(2, 14) && site.harbor.external_url.scheme() == "https" {
        ctx.emit(
            RuleCode::RP010,
            format!("{}.harbor.external_url", sp(site.index)),
            format!(
                "dual-master site `{}` on Harbor {v}: the peers replicate over http://<node>:<port>, but Harbor 2.14+ answers them with an https:// token realm on that plain-HTTP port, so replication cannot log in",
                site.name
            ),
            "use Harbor 2.13 or older for a dual master, or mode: shared-storage (no peer replication), or an http:// external_url",
        );
    }
}

/// RP005 for the holding site's version: from Harbor 2.9 a replication schedule must have
/// second 0 and a minute other than `*` (`src/controller/replication/model/model.go`).
fn cron_for_version(e: &Edge, holder: &Site, ctx: &mut Ctx) {
    let Trigger::Cron(c) = &e.trigger else { return };
    let v = holder.harbor.version;
    if !v.at_least(2, 9) {
        return;
    }
    let fields: Vec<&str> = c.as_str().split_whitespace().collect();
    let why = if fields.first() != Some(&"0") {
        Some("its first field (seconds) must be 0")
    } else if fields.get(1) == Some(&"*") {
        Some("`*` is not allowed in its minutes field")
    } else {
        None
    };
    if let Some(why) = why {
        ctx.emit(
            RuleCode::RP005,
            format!("replication[{}].trigger.cron", e.index),
            format!("cron `{c}` is refused by Harbor {v} on site `{}`: {why}", holder.name),
            "write the seconds as 0 and the minutes as a number or list, e.g. \"0 0 * * * *\" (hourly) or \"0 */15 * * * *\"",
        );
    }
}

pub(super) fn check_edges(spec: &TopologySpec, resolved: &Resolved, ctx: &mut Ctx) {
    let (graph, parents) = edge_rules(spec, resolved, ctx);
    two_parents(resolved, &parents, ctx);
    replication_cycles(resolved, &graph, ctx);
}

/// A site → the sites it replicates to (or receives from).
type Graph<'a> = BTreeMap<&'a str, BTreeSet<&'a str>>;

/// RP001, RP009 and RP004 for each edge; the graph of the edges between known sites, and
/// each site's parents.
fn edge_rules<'a>(spec: &'a TopologySpec, resolved: &'a Resolved, ctx: &mut Ctx) -> (Graph<'a>, Graph<'a>) {
    let names: BTreeSet<&str> = spec.sites.iter().map(|s| s.name.as_str()).collect();
    let mut graph: Graph = BTreeMap::new();
    let mut parents: Graph = BTreeMap::new();
    let mut scheduled: BTreeSet<(&str, &str)> = BTreeSet::new();
    for e in &resolved.edges {
        if matches!(e.trigger, Trigger::Cron(_)) {
            scheduled.insert((e.from.as_str(), e.to.as_str()));
        }
    }
    for e in &resolved.edges {
        let p = format!("replication[{}]", e.index);
        let mut ok = true;
        for (key, name) in [("from", &e.from), ("to", &e.to)] {
            if !names.contains(name.as_str()) {
                ok = false;
                ctx.emit(
                    RuleCode::RP001,
                    format!("{p}.{key}"),
                    format!("replication edge names unknown site `{name}`"),
                    format!("use one of: {}", names.iter().copied().collect::<Vec<_>>().join(", ")),
                );
            }
        }
        if e.from == e.to {
            ok = false;
            ctx.emit(
                RuleCode::RP001,
                format!("{p}.to"),
                format!("site `{}` replicates to itself", e.from),
                "point `to` at another site",
            );
        }
        if e.credentials.is_none() && e.username.as_str() != "admin" {
            ctx.emit(
                RuleCode::RP009,
                format!("{p}.username"),
                format!(
                    "replication edge logs in as `{}` but has no `credentials`: the scripts would send the remote site's admin password for that account",
                    e.username.as_str().escape_debug()
                ),
                "add `credentials: {env: NAME}` with that account's password or robot secret, or drop `username` to use the remote admin account",
            );
        }
        if !ok {
            continue;
        }
        let holder = match e.mode {
            EdgeMode::Push => &e.from,
            EdgeMode::Pull => &e.to,
        };
        if let Some(h) = resolved.sites.iter().flatten().find(|s| s.name == *holder) {
            cron_for_version(e, h, ctx);
        }
        if e.trigger == Trigger::EventBased && !scheduled.contains(&(e.from.as_str(), e.to.as_str())) {
            ctx.emit(
                RuleCode::RP004,
                format!("{p}.trigger"),
                format!(
                    "event-based replication {} → {} has no scheduled fallback; failed pushes are never retried",
                    e.from, e.to
                ),
                format!("add an edge {{from: {}, to: {}, trigger: {{cron: \"0 0 * * * *\"}}}}", e.from, e.to),
            );
        }
        graph.entry(e.from.as_str()).or_default().insert(e.to.as_str());
        parents.entry(e.to.as_str()).or_default().insert(e.from.as_str());
    }
    (graph, parents)
}

/// RP007: a site fed by two parents.
fn two_parents(resolved: &Resolved, parents: &Graph, ctx: &mut Ctx) {
    // The first edge into each site, and (below) the first edge inside each cycle: looked up,
    // not searched for per finding, so that thousands of edges stay linear.
    let mut first_into: BTreeMap<&str, usize> = BTreeMap::new();
    for e in &resolved.edges {
        first_into.entry(e.to.as_str()).or_insert(e.index);
    }
    for (child, ps) in parents {
        if ps.len() > 1 {
            let first = first_into.get(child).copied().unwrap_or(0);
            ctx.emit(
                RuleCode::RP007,
                format!("replication[{first}].to"),
                format!(
                    "site `{child}` is fed by {} sites ({}); tags pushed to both may flap",
                    ps.len(),
                    ps.iter().copied().collect::<Vec<_>>().join(", ")
                ),
                "feed each branch from one parent, or make the filters of the two edges disjoint",
            );
        }
    }
}

/// RP002: cycles other than a dual-master pair.
fn replication_cycles(resolved: &Resolved, graph: &Graph, ctx: &mut Ctx) {
    let comps = cycles(graph);
    let comp_of: BTreeMap<&str, usize> =
        comps.iter().enumerate().flat_map(|(ci, c)| c.iter().map(move |s| (*s, ci))).collect();
    let mut first_inside: Vec<Option<usize>> = vec![None; comps.len()];
    for e in &resolved.edges {
        if let (Some(a), Some(b)) = (comp_of.get(e.from.as_str()), comp_of.get(e.to.as_str())) {
            if a == b && first_inside[*a].is_none() {
                first_inside[*a] = Some(e.index);
            }
        }
    }
    for (ci, comp) in comps.iter().enumerate() {
        let first = first_inside[ci].unwrap_or(0);
        ctx.emit(
            RuleCode::RP002,
            format!("replication[{first}]"),
            format!(
                "replication cycle through {}: an image may circulate and deletions propagate around the loop",
                comp.iter().copied().collect::<Vec<_>>().join(" → ")
            ),
            "replicate along a tree (headquarters → branches), or keep only a two-site dual-master pair",
        );
    }
}

/// Strongly connected components with more than two sites (Tarjan's algorithm with an
/// explicit stack: a replication chain of any length — a hostile file can hold tens of
/// thousands of sites — cannot exhaust the thread's stack). Components come out in the
/// order of the recursive formulation.
fn cycles<'a>(graph: &BTreeMap<&'a str, BTreeSet<&'a str>>) -> Vec<BTreeSet<&'a str>> {
    struct T<'a, 'g> {
        g: &'g BTreeMap<&'a str, BTreeSet<&'a str>>,
        none: &'g BTreeSet<&'a str>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        // Depth-first frames: a site and the successors it has still to look at.
        frames: Vec<(&'a str, std::collections::btree_set::Iter<'g, &'a str>)>,
    }
    impl<'a, 'g> T<'a, 'g> {
        fn enter(&mut self, v: &'a str) {
            let n = self.index.len();
            self.index.insert(v, n);
            self.low.insert(v, n);
            self.stack.push(v);
            self.on.insert(v);
            self.frames.push((v, self.g.get(v).unwrap_or(self.none).iter()));
        }
    }
    let none = BTreeSet::new();
    let mut t = T {
        g: graph,
        none: &none,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        frames: Vec::new(),
    };
    let mut out = Vec::new();
    for &root in graph.keys() {
        if t.index.contains_key(root) {
            continue;
        }
        t.enter(root);
        while let Some((v, succ)) = t.frames.last_mut() {
            let v = *v;
            if let Some(&w) = succ.next() {
                if !t.index.contains_key(w) {
                    t.enter(w);
                } else if t.on.contains(w) {
                    let iw = t.index[w];
                    let lv = t.low.get_mut(v).expect("visited");
                    *lv = (*lv).min(iw);
                }
                continue;
            }
            t.frames.pop();
            if t.low[v] == t.index[v] {
                let mut comp = BTreeSet::new();
                while let Some(w) = t.stack.pop() {
                    t.on.remove(w);
                    comp.insert(w);
                    if w == v {
                        break;
                    }
                }
                if comp.len() > 2 {
                    out.push(comp);
                }
            }
            if let Some(&(parent, _)) = t.frames.last() {
                let lv = t.low[v];
                let lp = t.low.get_mut(parent).expect("visited");
                *lp = (*lp).min(lv);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycles_are_found_without_recursion() {
        // A chain far longer than any stack could recurse through, on a small stack.
        let found = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(|| {
                let names: Vec<String> = (0..50_000).map(|i| format!("s{i}")).collect();
                let mut chain: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
                for w in names.windows(2) {
                    chain.entry(w[0].as_str()).or_default().insert(w[1].as_str());
                }
                let plain = cycles(&chain).len();
                chain.entry("s49999").or_default().insert("s0");
                let ring = cycles(&chain).iter().map(BTreeSet::len).collect::<Vec<_>>();
                (plain, ring)
            })
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(found, (0, vec![50_000]));
        // Two-site pairs are not cycles; a triangle and a separate square are, in DFS order.
        let g: BTreeMap<&str, BTreeSet<&str>> = [
            ("a", vec!["b"]),
            ("b", vec!["a", "c"]),
            ("c", vec!["d"]),
            ("d", vec!["e"]),
            ("e", vec!["c"]),
            ("p", vec!["q"]),
            ("q", vec!["r"]),
            ("r", vec!["s"]),
            ("s", vec!["p"]),
        ]
        .into_iter()
        .map(|(k, v)| (k, v.into_iter().collect()))
        .collect();
        let comps: Vec<Vec<&str>> = cycles(&g).into_iter().map(|c| c.into_iter().collect()).collect();
        assert_eq!(comps, vec![vec!["c", "d", "e"], vec!["p", "q", "r", "s"]]);
    }
}
