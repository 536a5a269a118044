//! Accepted warnings: the top-level `allow` list (every site), each site's `allow`, and the
//! codes the caller adds (`--allow CODE`). An allowed warning is moved out of the findings
//! into [`super::Report::suppressed`]; errors are never suppressed. Owns AL001: an entry that
//! is not a rule code (with the closest one), or names a rule that never warns.

use crate::diag::{Diagnostic, RuleCode, Severity};
use crate::model::spec::{Raw, TopologySpec};

use super::Ctx;

/// The accepted codes, resolved.
pub(crate) struct Allowed {
    /// The top-level list and the caller's codes: every site and every other path.
    everywhere: Vec<RuleCode>,
    /// Each site's own list, by index.
    sites: Vec<Vec<RuleCode>>,
}

/// Resolve the `allow` lists of `spec`, reporting bad entries (AL001), plus `extra` (the
/// caller's codes, already checked).
pub(crate) fn resolve(spec: &TopologySpec, extra: &[RuleCode], ctx: &mut Ctx<'_>) -> Allowed {
    let mut everywhere = entries(&spec.allow, "allow", ctx);
    everywhere.extend_from_slice(extra);
    let sites =
        spec.sites.iter().enumerate().map(|(i, s)| entries(&s.allow, &format!("sites[{i}].allow"), ctx)).collect();
    Allowed { everywhere, sites }
}

/// `text` as a code that can be allowed (a rule code or name of a rule that can warn).
///
/// # Errors
/// Why it cannot be allowed: the message and the hint of AL001 (the command line refuses
/// `--allow CODE` with the same words).
pub fn refusal(text: &str) -> Result<RuleCode, (String, String)> {
    match text.parse::<RuleCode>() {
        Ok(c) if c.can_warn() => Ok(c),
        Ok(c) => Err((
            format!("{c} ({}) is an error: errors cannot be allowed", c.name()),
            format!("remove {c} from allow and fix the error (harbor-ha explain {c})"),
        )),
        Err(_) => {
            let near = RuleCode::closest(text);
            let shown = Raw::<RuleCode>::new(text).to_string();
            let shown: String = shown.chars().take(40).collect();
            Err((
                format!("`{shown}` is not a rule code"),
                format!("did you mean `{near}` ({})? `harbor-ha explain CODE` documents each rule", near.name()),
            ))
        }
    }
}

fn entries(list: &[Raw<RuleCode>], path: &str, ctx: &mut Ctx<'_>) -> Vec<RuleCode> {
    let mut out = Vec::new();
    for (j, raw) in list.iter().enumerate() {
        match refusal(raw.as_str()) {
            Ok(c) => out.push(c),
            Err((message, hint)) => {
                ctx.emit(RuleCode::AL001, format!("{path}[{j}]"), format!("allow: {message}"), hint)
            }
        }
    }
    out
}

/// The index of the site `path` lies in (`sites[3].hosts[0]` → 3).
fn site_of(path: &str) -> Option<usize> {
    let rest = path.strip_prefix("sites[")?;
    let end = rest.find(']')?;
    let after = &rest[end + 1..];
    if after.is_empty() || after.starts_with('.') || after.starts_with('[') {
        rest[..end].parse().ok()
    } else {
        None
    }
}

/// `diags` split into those still in force and the allowed warnings.
pub(crate) fn split(diags: Vec<Diagnostic>, allowed: &Allowed) -> (Vec<Diagnostic>, Vec<Diagnostic>) {
    diags.into_iter().partition(|d| {
        let accepted = d.severity == Severity::Warning
            && (allowed.everywhere.contains(&d.code)
                || site_of(&d.path).and_then(|i| allowed.sites.get(i)).is_some_and(|s| s.contains(&d.code)));
        !accepted
    })
}

#[cfg(test)]
mod tests {
    use super::site_of;

    #[test]
    fn a_path_belongs_to_its_site() {
        assert_eq!(site_of("sites[3].hosts[0].address"), Some(3));
        assert_eq!(site_of("sites[0]"), Some(0));
        assert_eq!(site_of("sites[12][x]"), Some(12));
        assert_eq!(site_of("sites[1]x"), None);
        assert_eq!(site_of("replication[0].from"), None);
        assert_eq!(site_of("sites[a].name"), None);
    }
}
