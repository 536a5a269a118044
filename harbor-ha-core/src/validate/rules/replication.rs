//! RP001–RP008: dual-master sites and replication edges between sites.

use std::collections::{BTreeMap, BTreeSet};

use super::sp;
use crate::model::resolved::{Database, Redis, Site, Storage};
use crate::model::spec::{SiteMode, SiteSpec, TopologySpec, Trigger};
use crate::validate::codes::RuleCode;
use crate::validate::resolve::Resolved;
use crate::validate::Ctx;

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

/// Harbor's cron: `sec min hour dom month dow`.
pub(crate) fn cron_ok(expr: &str) -> bool {
    let fields: Vec<&str> = expr.split_whitespace().collect();
    if fields.len() != 6 {
        return false;
    }
    let limits = [(0, 59), (0, 59), (0, 23), (1, 31), (1, 12), (0, 7)];
    fields.iter().zip(limits).all(|(f, (lo, hi))| {
        f.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'*' | b'/' | b',' | b'-' | b'?'))
            && f.split([',', '-', '/']).all(|part| match part.parse::<u32>() {
                Ok(n) => (lo..=hi).contains(&n) || f.contains('/'),
                Err(_) => {
                    part == "*" || part == "?" || (part.len() == 3 && part.bytes().all(|b| b.is_ascii_alphabetic()))
                }
            })
    })
}

/// A doublestar pattern Harbor accepts: not empty, no whitespace or control characters,
/// balanced `{}` and `[]`.
pub(crate) fn filter_ok(p: &str) -> bool {
    if p.is_empty()
        || p.len() > 255
        || p.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '\'' | '`' | '\\' | '$' | ';'))
    {
        return false;
    }
    let (mut brace, mut bracket) = (0i32, 0i32);
    for c in p.chars() {
        match c {
            '{' => brace += 1,
            '}' => brace -= 1,
            '[' => bracket += 1,
            ']' => bracket -= 1,
            _ => {}
        }
        if brace < 0 || !(0..=1).contains(&bracket) {
            return false;
        }
    }
    brace == 0 && bracket == 0
}

pub(super) fn check_edges(spec: &TopologySpec, resolved: &Resolved, ctx: &mut Ctx) {
    let names: BTreeSet<&str> = spec.sites.iter().map(|s| s.name.as_str()).collect();
    let mut graph: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut parents: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
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
        if let Trigger::Cron(c) = &e.trigger {
            if !cron_ok(c) {
                ctx.emit(
                    RuleCode::RP005,
                    format!("{p}.trigger.cron"),
                    format!(
                        "`{}` is not a Harbor cron (6 fields: second minute hour day month weekday)",
                        c.escape_debug()
                    ),
                    "write e.g. \"0 0 * * * *\" for hourly, \"0 0 2 * * *\" for 02:00 daily",
                );
            }
        }
        for (key, v) in [("repository", &e.filters.repository), ("tag", &e.filters.tag)] {
            if let Some(v) = v {
                if !filter_ok(v) {
                    ctx.emit(
                        RuleCode::RP006,
                        format!("{p}.filters.{key}"),
                        format!("filter {key} `{}` is not a pattern Harbor accepts", v.escape_debug()),
                        "use a doublestar pattern without spaces or quotes, e.g. library/** or v{1,2}.*",
                    );
                }
            }
        }
        if !ok {
            continue;
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
    for (child, ps) in &parents {
        if ps.len() > 1 {
            let first = resolved.edges.iter().find(|e| e.to.as_str() == *child).map_or(0, |e| e.index);
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
    for comp in cycles(&graph) {
        let first = resolved
            .edges
            .iter()
            .find(|e| comp.contains(e.from.as_str()) && comp.contains(e.to.as_str()))
            .map_or(0, |e| e.index);
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

/// Strongly connected components with more than two sites (Tarjan, iterative enough for
/// the handful of sites a file has; recursion depth is bounded by the site count).
fn cycles<'a>(graph: &BTreeMap<&'a str, BTreeSet<&'a str>>) -> Vec<BTreeSet<&'a str>> {
    struct T<'a, 'g> {
        g: &'g BTreeMap<&'a str, BTreeSet<&'a str>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        next: usize,
        out: Vec<BTreeSet<&'a str>>,
    }
    impl<'a> T<'a, '_> {
        fn visit(&mut self, v: &'a str) {
            self.index.insert(v, self.next);
            self.low.insert(v, self.next);
            self.next += 1;
            self.stack.push(v);
            self.on.insert(v);
            let succ: Vec<&'a str> = self.g.get(v).map(|s| s.iter().copied().collect()).unwrap_or_default();
            for w in succ {
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let lw = self.low[w];
                    let lv = self.low.get_mut(v).expect("visited");
                    *lv = (*lv).min(lw);
                } else if self.on.contains(w) {
                    let iw = self.index[w];
                    let lv = self.low.get_mut(v).expect("visited");
                    *lv = (*lv).min(iw);
                }
            }
            if self.low[v] == self.index[v] {
                let mut comp = BTreeSet::new();
                while let Some(w) = self.stack.pop() {
                    self.on.remove(w);
                    comp.insert(w);
                    if w == v {
                        break;
                    }
                }
                if comp.len() > 2 {
                    self.out.push(comp);
                }
            }
        }
    }
    let mut t = T {
        g: graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    let nodes: Vec<&str> = graph.keys().copied().collect();
    for v in nodes {
        if !t.index.contains_key(v) {
            t.visit(v);
        }
    }
    t.out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cron() {
        assert!(cron_ok("0 0 * * * *"));
        assert!(cron_ok("0 */15 * * * *"));
        assert!(cron_ok("0 0 2 * * MON-FRI"));
        assert!(!cron_ok("0 * * * *"));
        assert!(!cron_ok("0 0 25 * * *"));
        assert!(!cron_ok("0 0 * * * * ; rm"));
    }

    #[test]
    fn filters() {
        assert!(filter_ok("library/**"));
        assert!(filter_ok("v{1,2}.*"));
        assert!(!filter_ok("library/{a"));
        assert!(!filter_ok("a b"));
        assert!(!filter_ok(""));
    }
}
