//! `replication/<site>/apply.sh`: creates or updates the site's registry endpoints and
//! policies through Harbor's API, from the JSON bodies of `api.rs`. Its static text is
//! `render/scripts/replication-apply.sh`.

use std::fmt::Write as _;

use super::plan::{Cred, SecretRef, SitePlan};
use super::prelude::{admin_env_doc, cacert_row, env_doc_lines, login_lines, prelude, read_secret_cmd, target_line};
use super::{plain, shq};
use crate::bundle::Bundle;
use crate::model::enums::SiteMode;
use crate::model::secret::Secret;
use crate::render::quote::sh;
use crate::render::template::fill;

/// The header's note for a dual-master site.
const DUAL_MASTER_NOTE: &str = "\
# A dual-master node's API is its own address, whose firewall lets in only the load
# balancers and the peer: run this on one of the site's Harbor nodes (or from a host
# they let in, or through an ssh tunnel with the URL variables below).
";

/// Add `replication/<site>/apply.sh` of `p`; returns its path.
pub(super) fn render(p: &SitePlan, bundle: &mut Bundle) -> String {
    let path = format!("{}/apply.sh", p.base());
    bundle.add(path.clone(), apply_sh(p), 0o755);
    path
}

/// The whole apply.sh of `p`.
fn apply_sh(p: &SitePlan) -> String {
    let creds = remote_creds(p);
    let dual = if p.site.mode == SiteMode::Replication { DUAL_MASTER_NOTE } else { "" };
    fill(
        include_str!("../scripts/replication-apply.sh"),
        &[
            ("objects", &objects_doc(p)),
            ("dual_master", dual),
            ("environment", &env_doc_lines(&env_rows(p, &creds))),
            ("prelude", &prelude()),
            ("credentials", &credential_lines(p, &creds)),
            ("targets", &target_lines(p, &creds)),
        ],
        &[("SITE", p.site.name.as_str()), ("VERSION", &p.site.harbor.version.to_string())],
    )
}

/// The secrets of the remote accounts, other than the admin password, once each.
fn remote_creds<'p>(p: &'p SitePlan) -> Vec<&'p SecretRef> {
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
    creds
}

/// The variable apply.sh reads the secret `secret` into (`CRED_<n>`, after `creds`).
fn cred_var(creds: &[&SecretRef], secret: &SecretRef) -> String {
    creds.iter().position(|c| *c == secret).map(|i| format!("CRED_{}", i + 1)).unwrap_or_default()
}

/// Header comment lines: the objects of each target.
fn objects_doc(p: &SitePlan) -> String {
    let mut s = String::new();
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
    s
}

/// The environment apply.sh reads: the targets' URLs, the admin account, the remote
/// accounts' secrets, and TLS.
fn env_rows(p: &SitePlan, creds: &[&SecretRef]) -> Vec<(String, String)> {
    let mut rows: Vec<(String, String)> = p
        .targets
        .iter()
        .map(|t| (t.url_var.clone(), format!("API base URL of {} (default {})", t.label, t.default_url)))
        .collect();
    rows.extend(admin_env_doc(p));
    for c in creds {
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
    rows.push(cacert_row());
    rows
}

/// The lines that read the admin account and the remote accounts' secrets.
fn credential_lines(p: &SitePlan, creds: &[&SecretRef]) -> String {
    let mut s = login_lines(p, "");
    for c in creds {
        let name = cred_var(creds, c);
        let _ = writeln!(s, "{name}=$({})", read_secret_cmd(c));
        let _ = writeln!(s, "remember \"${name}\"");
    }
    s
}

/// For each target, the lines that apply its endpoints and policies; then the last message.
fn target_lines(p: &SitePlan, creds: &[&SecretRef]) -> String {
    let mut s = String::new();
    for t in &p.targets {
        let _ = writeln!(s, "\nlog {}", sh(&format!("{}: applying", t.label)));
        s.push_str(&target_line(p, t, ""));
        let _ = writeln!(s, "in_dir {}", sh(&t.dir));
        for r in &t.registries {
            let (key, secret) = match &r.cred {
                Cred::Admin => ("\"$ADMIN_USER\"".to_string(), "\"$ADMIN_PASSWORD\"".to_string()),
                Cred::Remote { username, secret } if secret == &p.admin => {
                    (sh(username), "\"$ADMIN_PASSWORD\"".to_string())
                }
                Cred::Remote { username, secret } => (shq(username), format!("\"${}\"", cred_var(creds, secret))),
            };
            let _ = writeln!(s, "ensure_registry {} {key} {secret}", sh(&r.name));
        }
        for pol in &t.policies {
            let _ = writeln!(s, "ensure_policy {} {} {}", sh(&pol.name), sh(&pol.registry), pol.field.key());
        }
    }
    let _ = writeln!(s, "\nlog {}", sh(&format!("site {}: replication objects are in place", p.site.name.as_str())));
    s
}
