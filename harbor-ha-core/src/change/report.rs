//! A plan for people (text, and CHANGE.md / the runbook's sections in Markdown) and for
//! machines (JSON: `{"steps": [...], "hops": [...], "downtime": bool, "diagnostics": [...]}`).

use std::fmt::Write;

use serde_json::{json as j, Value};

use super::releases::Migrator;
use super::snapshot::FileChange;
use super::{Plan, Procedure};

/// A file's change as one letter (`A`, `D`, `M`).
fn letter(f: &FileChange) -> char {
    match f.status {
        super::FileStatus::Added => 'A',
        super::FileStatus::Removed => 'D',
        super::FileStatus::Modified => 'M',
    }
}

/// A unified diff of one file (stand-in secrets only).
#[must_use]
pub fn unified_diff(f: &FileChange) -> String {
    let (o, n) = (f.old.as_deref().unwrap_or(""), f.new.as_deref().unwrap_or(""));
    let a = if f.old.is_some() { format!("a/{}", f.path) } else { "/dev/null".to_string() };
    let b = if f.new.is_some() { format!("b/{}", f.path) } else { "/dev/null".to_string() };
    similar::TextDiff::from_lines(o, n).unified_diff().context_radius(3).header(&a, &b).to_string()
}

/// How a procedure's core migrates, in words.
fn migrate_text(p: &Procedure) -> String {
    let node = p
        .after
        .sites
        .iter()
        .find(|s| s.name.as_str() == p.site)
        .and_then(|s| s.harbor_nodes().next())
        .map_or(String::new(), |h| h.name.to_string());
    match p.hop.map(|h| h.migrator) {
        Some(Migrator::MigrateMode) => format!("harbor_core -mode=migrate on {node}"),
        Some(Migrator::StartAlone) => format!("{node} started alone migrates"),
        None => "no Harbor migration".to_string(),
    }
}

/// The procedures as lines of a table: versions, schema, migrator, PostgreSQL, script, site.
fn hop_rows(plan: &Plan) -> Vec<[String; 6]> {
    plan.procedures
        .iter()
        .map(|p| {
            let pg = p.postgres.as_ref().map(|pg| {
                format!(
                    "{} → {} on {}",
                    pg.from.postgres_text(),
                    pg.to.postgres_text(),
                    pg.host.as_deref().unwrap_or("?")
                )
            });
            match p.hop {
                Some(h) => [
                    format!("Harbor {} → {}", h.from, h.to),
                    if h.migrates() {
                        format!("{} → {}", h.schema_from, h.schema_to)
                    } else {
                        format!("{} (no change)", h.schema_to)
                    },
                    migrate_text(p),
                    match pg {
                        Some(pg) => format!("≥ {}: {pg} first", super::releases::min_postgres(h.to).0.postgres_text()),
                        None => format!("≥ {}", super::releases::min_postgres(h.to).0.postgres_text()),
                    },
                    p.script.clone(),
                    p.site.clone(),
                ],
                None => [
                    "Harbor stays".to_string(),
                    "no change".to_string(),
                    migrate_text(p),
                    pg.unwrap_or_default(),
                    p.script.clone(),
                    p.site.clone(),
                ],
            }
        })
        .collect()
}

/// `harbor-ha plan --from`: the plan as text; with `diff`, each changed file's unified diff.
#[must_use]
pub fn text(plan: &Plan, old_label: &str, new_label: &str, diff: bool) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "change plan: {old_label} → {new_label}");
    if plan.steps.is_empty() {
        let _ = writeln!(s, "nothing to change: both topologies render the same bundle");
        return s;
    }
    let down: Vec<String> = plan.steps.iter().filter(|x| !x.serving).map(|x| x.id.to_string()).collect();
    if down.is_empty() {
        let _ = writeln!(s, "downtime: no (Harbor serves during every step)");
    } else {
        let _ = writeln!(s, "downtime: yes (Harbor does not serve during step {})", down.join(", "));
    }
    let rows = hop_rows(plan);
    if !rows.is_empty() {
        let _ = writeln!(
            s,
            "\nupgrade procedures (one script each; every stop is the latest patch of its line, accepted by the next release's upgrade guide):"
        );
        for (i, r) in rows.iter().enumerate() {
            let _ = writeln!(s, "  {}. site {}: {}, schema {}, {}, PostgreSQL {}", i + 1, r[5], r[0], r[1], r[2], r[3]);
            let _ = writeln!(s, "     {}", r[4]);
        }
    }
    let _ = writeln!(s, "\nsteps:");
    for st in &plan.steps {
        let serving = if st.serving { "Harbor serves" } else { "Harbor does NOT serve" };
        let hosts = if st.hosts.is_empty() { String::new() } else { format!(" {}", st.hosts.join(", ")) };
        let _ = writeln!(s, "  {}. [{}]{hosts} ({serving})", st.id, st.kind.as_str());
        let _ = writeln!(s, "     {}", st.title);
        let _ = writeln!(s, "     run:    {}", st.run);
        let _ = writeln!(s, "     verify: {}", st.verify);
        for (i, f) in st.files.iter().enumerate() {
            let _ = writeln!(s, "     {} {} {}", if i == 0 { "files: " } else { "       " }, letter(f), f.path);
        }
        if diff {
            for f in &st.files {
                for line in unified_diff(f).lines() {
                    let _ = writeln!(s, "       {line}");
                }
            }
        }
    }
    diagnostics_note(&mut s, plan);
    s
}

fn diagnostics_note(s: &mut String, plan: &Plan) {
    for d in &plan.diagnostics {
        let _ = writeln!(s, "\n{}[{}]: {}\n  = hint: {}", d.severity.as_str(), d.code, d.message, d.hint);
    }
}

/// The plan as JSON. With `diff`, each file carries its unified diff.
#[must_use]
pub fn json(plan: &Plan, diff: bool) -> String {
    let steps: Vec<Value> = plan
        .steps
        .iter()
        .map(|st| {
            let files: Vec<Value> = st
                .files
                .iter()
                .map(|f| {
                    let mut v = j!({"path": f.path, "change": f.status.as_str()});
                    if diff {
                        v["diff"] = Value::String(unified_diff(f));
                    }
                    v
                })
                .collect();
            j!({
                "id": st.id,
                "kind": st.kind.as_str(),
                "site": st.site,
                "hosts": st.hosts,
                "title": st.title,
                "run": st.run,
                "files": files,
                "changes": st.changes,
                "serving": st.serving,
                "verify": st.verify,
            })
        })
        .collect();
    let hops: Vec<Value> = plan
        .procedures
        .iter()
        .map(|p| {
            let (from, to, sf, st, migrate, min) = match p.hop {
                Some(h) => (
                    Value::String(h.from.to_string()),
                    Value::String(h.to.to_string()),
                    j!(h.schema_from),
                    j!(h.schema_to),
                    Value::String(match h.migrator {
                        Migrator::MigrateMode => "migrate-mode".into(),
                        Migrator::StartAlone => "start-alone".into(),
                    }),
                    Value::String(super::releases::min_postgres(h.to).0.postgres_text()),
                ),
                None => (Value::Null, Value::Null, Value::Null, Value::Null, Value::Null, Value::Null),
            };
            let pg = p.postgres.as_ref().map_or(
                Value::Null,
                |pg| j!({"from": pg.from.postgres_text(), "to": pg.to.postgres_text(), "host": pg.host}),
            );
            j!({
                "site": p.site,
                "from": from,
                "to": to,
                "schema_from": sf,
                "schema_to": st,
                "migrate": migrate,
                "postgres_min": min,
                "postgres_upgrade": pg,
                "script": p.script,
            })
        })
        .collect();
    let v = j!({
        "steps": steps,
        "hops": hops,
        "downtime": plan.downtime,
        "diagnostics": plan.diagnostics,
    });
    let mut s = serde_json::to_string_pretty(&v).unwrap_or_else(|_| "{}".to_string());
    s.push('\n');
    s
}

/// Markdown of the steps (CHANGE.md and the runbook): each with its run, check and files.
fn steps_markdown(s: &mut String, plan: &Plan, heading: &str) {
    for st in &plan.steps {
        let serving = if st.serving { "Harbor serves" } else { "**Harbor does not serve**" };
        let hosts = if st.hosts.is_empty() { String::new() } else { format!(" `{}`", st.hosts.join("`, `")) };
        let _ = writeln!(s, "{heading} {}. {}{hosts} ({serving})\n", st.id, st.kind.as_str());
        let _ = writeln!(s, "{}\n", st.title);
        let _ = writeln!(s, "- Run: `{}`", st.run.replace('`', ""));
        let _ = writeln!(s, "- Check: {}", st.verify);
        if !st.files.is_empty() {
            let list: Vec<String> = st.files.iter().map(|f| format!("`{}` ({})", f.path, f.status.as_str())).collect();
            let _ = writeln!(s, "- Files: {}", list.join(", "));
        }
        s.push('\n');
    }
}

/// `CHANGE.md`: the plan as a runbook, written by `render --from`.
#[must_use]
pub fn markdown(plan: &Plan, old_label: &str, new_label: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Change plan\n");
    let _ = writeln!(
        s,
        "From the running topology `{old_label}` to `{new_label}`, computed by `harbor-ha render --from` from the two rendered bundles. Run the steps in this order; each one says how to check it before the next. `harbor-ha plan --from {old_label} {new_label} --diff` shows every changed line.\n"
    );
    if plan.steps.is_empty() {
        let _ = writeln!(s, "Nothing to change: both topologies render the same bundle.");
        return s;
    }
    let _ = writeln!(
        s,
        "Downtime: {}.\n",
        if plan.downtime { "**yes**, during the steps marked so" } else { "none; Harbor serves during every step" }
    );
    upgrade_table(&mut s, plan, "##");
    let _ = writeln!(s, "## Steps\n");
    steps_markdown(&mut s, plan, "###");
    for d in &plan.diagnostics {
        let _ = writeln!(s, "> {} {}: {} ({})\n", d.severity.as_str(), d.code, d.message, d.hint);
    }
    s
}

fn upgrade_table(s: &mut String, plan: &Plan, heading: &str) {
    let rows = hop_rows(plan);
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(s, "{heading} Version hops\n");
    let _ = writeln!(s, "| Site | Version | Schema | Migration | PostgreSQL | Script |");
    let _ = writeln!(s, "|---|---|---|---|---|---|");
    for r in rows {
        let _ = writeln!(s, "| {} | {} | {} | {} | {} | `{}` |", r[5], r[0], r[1], r[2], r[3], r[4]);
    }
    s.push('\n');
}

/// The runbook's `## Upgrading` and `## Changing the site` sections.
#[must_use]
pub fn runbook_sections(plan: &Plan) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "## Upgrading\n");
    if plan.procedures.is_empty() {
        let _ = writeln!(
            s,
            "This change keeps every site's Harbor and PostgreSQL version. To upgrade later, change `harbor.version` and render with `--from` the running topology: `upgrade/` then holds one script per hop.\n"
        );
    } else {
        let _ = writeln!(
            s,
            "Harbor upgrades one hop at a time, through the latest patch of each stop its upgrade guides require. Each hop is one script under `upgrade/`, run from an admin host with ssh access to every host (as `deploy.sh`): preflight (every node runs the same version, `schema_migrations` is clean at the expected version, PostgreSQL and disk suffice), read-only mode on through the API, a backup (`pg_dump -Fc` and the secrets), Harbor stopped on **every** node, the migration run exactly once on the first node, the nodes started one by one and checked, read-only mode off. A rerun resumes at the first step not done and says so; `--rollback` restores the dump and the previous installation. `--dry-run` prints the commands.\n"
        );
        upgrade_table(&mut s, plan, "###");
    }
    let _ = writeln!(s, "## Changing the site\n");
    let _ = writeln!(
        s,
        "This bundle was rendered with `--from` the running topology; `CHANGE.md` holds the same plan. Run the steps in order and check each one before the next.\n"
    );
    steps_markdown(&mut s, plan, "###");
    s
}
