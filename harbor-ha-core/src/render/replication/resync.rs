//! `replication/resync.sh`: runs the policies of every holding site once, upstream first,
//! waits for the executions and reports them. Its static text is
//! `render/scripts/replication-resync.sh`.

use std::fmt::Write as _;

use super::plan::{PolicyObj, SitePlan, TargetPlan};
use super::prelude::{admin_env_doc, cacert_row, env_doc_lines, login_lines, prelude, target_line};
use crate::bundle::Bundle;
use crate::render::quote::sh;
use crate::render::template::fill;

/// Where resync.sh is in the bundle.
const PATH: &str = "replication/resync.sh";

/// Add `replication/resync.sh` for the holding sites `plans`, in replication order;
/// returns its path.
pub(super) fn render(plans: &[&SitePlan], bundle: &mut Bundle) -> String {
    bundle.add(PATH, resync_sh(plans), 0o755);
    PATH.to_string()
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

/// The whole resync.sh.
fn resync_sh(plans: &[&SitePlan]) -> String {
    let names: Vec<String> = plans.iter().map(|p| sh(p.site.name.as_str())).collect();
    fill(
        include_str!("../scripts/replication-resync.sh"),
        &[
            ("policies", &policies_doc(plans)),
            ("environment", &env_doc_lines(&env_rows(plans))),
            ("prelude", &prelude()),
            ("sites", &site_arms(plans)),
        ],
        &[("SITES", &names.join(" "))],
    )
}

/// Header comment lines: the policies resync runs on each target of each site.
fn policies_doc(plans: &[&SitePlan]) -> String {
    let mut s = String::new();
    for p in plans {
        let _ = writeln!(s, "# site {} (Harbor {}):", p.site.name, p.site.harbor.version);
        for t in &p.targets {
            let names: Vec<&str> = resync_policies(t).iter().map(|x| x.name.as_str()).collect();
            let _ = writeln!(s, "#   {}: {}", t.label, names.join(", "));
        }
    }
    s
}

/// The environment resync.sh reads: each target's URL and each site's admin account,
/// TLS, and the waiting.
fn env_rows(plans: &[&SitePlan]) -> Vec<(String, String)> {
    let mut rows: Vec<(String, String)> = Vec::new();
    for p in plans {
        for t in &p.targets {
            rows.push((t.url_var.clone(), format!("API base URL of {} (default {})", t.label, t.default_url)));
        }
        rows.extend(admin_env_doc(p));
    }
    rows.push(cacert_row());
    rows.push(("HHA_RESYNC_TIMEOUT".into(), "seconds to wait for the executions of a site (default 3600)".into()));
    rows.push(("HHA_RESYNC_INTERVAL".into(), "seconds between two polls (default 10)".into()));
    rows
}

/// The arms of `resync_site`: for each site, log in, then start the policies of each target.
fn site_arms(plans: &[&SitePlan]) -> String {
    let mut s = String::new();
    for p in plans {
        let _ = writeln!(s, "    {})", sh(p.site.name.as_str()));
        s.push_str(&login_lines(p, "      "));
        for t in &p.targets {
            s.push_str(&target_line(p, t, "      "));
            for pol in resync_policies(t) {
                let _ = writeln!(s, "      start {}", sh(&pol.name));
            }
        }
        s.push_str("      ;;\n");
    }
    s
}
