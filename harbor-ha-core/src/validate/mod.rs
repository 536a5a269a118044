//! Raw model → resolved model, collecting every diagnostic.
//!
//! Validation never stops at the first finding: [`resolve`] parses each value into its
//! checked type ([`values`] and the rule families), reporting bad ones and carrying on with
//! a stand-in, then every rule family in [`rules`] runs over the resolved sites. The
//! [`ValidTopology`] is handed out only when nothing is an error.
//!
//! Each rule code has one owner, the module that reports it
//! ([`crate::diag::RuleCode::owner`]; a test holds the sources to it).

pub mod allow;
mod resolve;
mod rules;
mod values;

use crate::diag::{has_errors, Diagnostic, RuleCode};
use crate::model::ids::Checked;
use crate::model::resolved::ValidTopology;
use crate::model::spec::TopologySpec;
use crate::source::SourceMap;
pub(crate) use rules::harbor::component_available;
pub use rules::secrets::resolve_secrets;

/// The outcome of validation.
#[derive(Debug, Clone)]
pub struct Report {
    /// Every finding in force, ordered by position in the file.
    pub diagnostics: Vec<Diagnostic>,
    /// The warnings accepted by `allow` (the topology's, or the caller's codes), in the same
    /// order: not shown, and not counted by `--strict`.
    pub suppressed: Vec<Diagnostic>,
    /// The resolved topology, when there are no errors.
    pub topology: Option<ValidTopology>,
}

impl Report {
    /// Whether any finding is an error.
    #[must_use]
    pub fn has_errors(&self) -> bool {
        has_errors(&self.diagnostics)
    }
}

/// Collects diagnostics and gives each the position of its key path.
pub(crate) struct Ctx<'a> {
    map: &'a SourceMap,
    diags: Vec<Diagnostic>,
}

impl<'a> Ctx<'a> {
    fn new(map: &'a SourceMap) -> Self {
        Ctx { map, diags: Vec::new() }
    }

    /// Record a finding.
    pub(crate) fn push(&mut self, mut d: Diagnostic) {
        self.map.locate(&mut d);
        self.diags.push(d);
    }

    /// `raw` as a checked value; when it does not parse, `report` records why and the value
    /// becomes its stand-in, so that the other rules still run.
    pub(crate) fn checked<T: Checked>(&mut self, raw: &str, report: impl FnOnce(&mut Self)) -> T {
        T::parse(raw).unwrap_or_else(|_| {
            report(self);
            T::stand_in(raw)
        })
    }

    /// Record a finding with the rule's default severity.
    pub(crate) fn emit(
        &mut self,
        code: RuleCode,
        path: impl Into<String>,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        self.push(Diagnostic::new(code, path, message, hint));
    }
}

/// Validate a parsed topology. `map` gives positions (use [`SourceMap::empty`] for input
/// that did not come from text).
#[must_use]
pub fn validate(spec: &TopologySpec, map: &SourceMap) -> Report {
    validate_allowing(spec, map, &[])
}

/// [`validate`], with the warnings of `allow` accepted besides those the topology's `allow`
/// lists name (each must be a code that can warn: see [`allow::refusal`]).
#[must_use]
pub fn validate_allowing(spec: &TopologySpec, map: &SourceMap, allow: &[RuleCode]) -> Report {
    let mut ctx = Ctx::new(map);
    let allowed = allow::resolve(spec, allow, &mut ctx);
    let (resolved, mut diagnostics) = check(spec, ctx);
    diagnostics.sort_by(|a, b| {
        (a.line.unwrap_or(usize::MAX), a.column.unwrap_or(0), a.code, &a.path).cmp(&(
            b.line.unwrap_or(usize::MAX),
            b.column.unwrap_or(0),
            b.code,
            &b.path,
        ))
    });
    diagnostics.dedup();
    let topology = if has_errors(&diagnostics) { None } else { resolved.into_topology().map(ValidTopology::new) };
    let (diagnostics, suppressed) = allow::split(diagnostics, &allowed);
    Report { diagnostics, suppressed, topology }
}

/// Test support, behind the `unchecked` feature: resolve `spec` into a topology even when
/// validation finds errors, together with those errors. It exists to prove that the quoting
/// of every generated file holds on its own, for the values validation refuses (IN001–IN003,
/// HA002, …): a test renders such a topology and runs the scripts in a sandbox. Never render
/// a real deployment from it. `None` when a site cannot be resolved at all (an unusable
/// Harbor version or external_url).
#[cfg(feature = "unchecked")]
#[doc(hidden)]
#[must_use]
pub fn resolve_unchecked(spec: &TopologySpec) -> (Option<ValidTopology>, Vec<Diagnostic>) {
    let empty = SourceMap::empty();
    let (resolved, diagnostics) = check(spec, Ctx::new(&empty));
    (resolved.into_topology().map(ValidTopology::new), diagnostics)
}

/// Resolve `spec` and run every rule: the resolved sites and the findings, unsorted.
fn check(spec: &TopologySpec, mut ctx: Ctx<'_>) -> (resolve::Resolved, Vec<Diagnostic>) {
    let resolved = resolve::resolve(spec, &mut ctx);
    rules::run(spec, &resolved, &mut ctx);
    for &i in &resolved.versionless {
        let found = versionless_site(spec, i, ctx.map);
        ctx.diags.extend(found);
    }
    (resolved, ctx.diags)
}

/// The findings of site `i`, whose Harbor version is unusable (HB001), that hold whichever
/// supported release it runs: the site is resolved and its rules run once per release
/// ([`rules::harbor::supported_stand_ins`]), and only what every run finds, word for word,
/// is kept. A rule that depends on the release (or names it) drops out; every other rule of
/// the site is reported as if the version were good. The site stays out of the rules
/// between sites and out of the valid topology.
fn versionless_site(spec: &TopologySpec, i: usize, map: &SourceMap) -> Vec<Diagnostic> {
    let raw = &spec.sites[i];
    let mut common: Option<Vec<Diagnostic>> = None;
    for v in rules::harbor::supported_stand_ins() {
        let mut c = Ctx::new(map);
        if let Some(site) = resolve::resolve_site(i, spec, raw, v, &mut c) {
            rules::check_site(&site, raw, &mut c);
        }
        let kept = match common {
            None => c.diags,
            Some(prev) => prev.into_iter().filter(|d| c.diags.contains(d)).collect(),
        };
        if kept.is_empty() {
            return kept;
        }
        common = Some(kept);
    }
    common.unwrap_or_default()
}
