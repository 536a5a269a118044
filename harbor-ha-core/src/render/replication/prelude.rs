//! What apply.sh and resync.sh share: the helpers at the top of both
//! (`render/scripts/replication-prelude.sh`), and the lines and header comments that call
//! them (log in, read a secret, choose the target, document the environment).

use std::fmt::Write as _;

use super::plan::{var, SecretRef, SitePlan, TargetPlan};
use super::{plain, shq};
use crate::model::secret::Secret;
use crate::render::quote::sh;
use crate::render::template::fill;

/// The helpers shared by apply.sh and resync.sh, for the `prelude` hole of their templates
/// (without the template's shebang). No topology value inside.
pub(super) fn prelude() -> String {
    let script = fill(include_str!("../scripts/replication-prelude.sh"), &[], &[]);
    script.split_once('\n').map_or(String::new(), |(_, body)| body.to_string())
}

/// Lines that read the site's admin account and log in with it.
pub(super) fn login_lines(p: &SitePlan, indent: &str) -> String {
    let site = p.site.name.as_str();
    let user_var = var(&[site, "ADMIN_USER"]);
    let mut s = String::new();
    let _ = writeln!(s, "{indent}ADMIN_USER=${{{user_var}:-admin}}");
    let _ = writeln!(s, "{indent}ADMIN_PASSWORD=$({})", read_secret_cmd(&p.admin));
    let hint = format!("set {user_var} and {} ({})", p.admin.override_var, default_desc(&p.admin.source));
    let _ = writeln!(s, "{indent}login \"$ADMIN_USER\" \"$ADMIN_PASSWORD\" {}", shq(&plain(&hint)));
    s
}

/// Where a secret is read from by default, for messages and docs.
pub(super) fn default_desc(s: &Secret) -> String {
    match s {
        Secret::Env { env } => format!("default: ${env}"),
        Secret::File { file } => format!("default: the file {file}"),
        Secret::Literal(_) => "required: the topology writes it literally".to_string(),
    }
}

/// The `read_secret` call that prints the secret of `r`.
pub(super) fn read_secret_cmd(r: &SecretRef) -> String {
    let (kind, src) = match &r.source {
        Secret::Env { env } => ("env", env.as_str()),
        Secret::File { file } => ("file", file.as_str()),
        Secret::Literal(_) => ("literal", ""),
    };
    format!("read_secret {} {kind} {} {}", sh(&r.override_var), shq(src), shq(&plain(&r.what)))
}

/// The environment a site's admin account is read from, as header lines.
pub(super) fn admin_env_doc(p: &SitePlan) -> Vec<(String, String)> {
    let site = p.site.name.as_str();
    let mut v = vec![
        (var(&[site, "ADMIN_USER"]), format!("Harbor system administrator of site {site} (default admin)")),
        (
            p.admin.override_var.clone(),
            format!(
                "its password ({})",
                plain(&default_desc(&p.admin.source)).replace("default: ", "default: read from ")
            ),
        ),
    ];
    if let Secret::Env { env } = &p.admin.source {
        v.push((env.as_str().to_string(), format!("the admin password of site {site}, as in the topology")));
    }
    v
}

/// Header comment lines: each variable and what it is, in aligned columns.
pub(super) fn env_doc_lines(rows: &[(String, String)]) -> String {
    let w = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let mut s = String::new();
    for (k, d) in rows {
        let _ = writeln!(s, "#   {k:<w$}  {}", plain(d));
    }
    s
}

/// The line that makes `t` the target of the next API calls.
pub(super) fn target_line(p: &SitePlan, t: &TargetPlan, indent: &str) -> String {
    format!(
        "{indent}target {} {} {} {} {}\n",
        sh(&t.label),
        t.url_var,
        sh(&t.default_url),
        p.api.prefix(),
        sh(p.api.name_query())
    )
}

/// The header row of the variables that decide how the API's TLS is verified.
pub(super) fn cacert_row() -> (String, String) {
    ("HARBOR_CACERT".into(), "CA certificate that verifies the API's TLS; HARBOR_INSECURE=1 skips it".into())
}
