//! SC001 and SC002: secrets written literally in the file, and secrets that cannot be
//! resolved (or used) when rendering. [`resolve_secrets`] is the render-time half of
//! validation: it resolves every secret of a [`ValidTopology`] and checks the values.

use std::collections::BTreeMap;

use super::harbor::weak_admin_password;
use super::redis::unescaped_redis_password;
use crate::diag::{Diagnostic, RuleCode};
use crate::model::resolved::{Database, Redis, Site, Storage, ValidTopology};
use crate::model::secret::{Secret, SecretResolver, SecretSpec};
use crate::model::spec::TopologySpec;
use crate::secrets::{RenderInput, SiteSecrets, SiteValues};
use crate::validate::{values, Ctx};

/// Every secret of the file with its key path.
pub(crate) fn all_secrets<'a>(spec: &'a TopologySpec) -> Vec<(String, &'a SecretSpec)> {
    let mut out: Vec<(String, &'a SecretSpec)> = Vec::new();
    let mut add = |p: String, s: Option<&'a SecretSpec>| {
        if let Some(s) = s {
            out.push((p, s));
        }
    };
    for (i, s) in spec.sites.iter().enumerate() {
        let p = format!("sites[{i}]");
        add(format!("{p}.harbor.admin_password"), Some(&s.harbor.admin_password));
        if let Some(d) = &s.database {
            add(format!("{p}.database.password"), d.password.as_ref());
        }
        if let Some(r) = &s.redis {
            add(format!("{p}.redis.password"), r.password.as_ref());
            add(format!("{p}.redis.sentinel.password"), r.sentinel.as_ref().and_then(|x| x.password.as_ref()));
        }
        if let Some(st) = &s.storage {
            if let Some(x) = &st.s3 {
                add(format!("{p}.storage.s3.accesskey"), x.accesskey.as_ref());
                add(format!("{p}.storage.s3.secretkey"), x.secretkey.as_ref());
            }
            if let Some(x) = &st.swift {
                add(format!("{p}.storage.swift.password"), x.password.as_ref());
            }
            if let Some(x) = &st.azure {
                add(format!("{p}.storage.azure.accountkey"), x.accountkey.as_ref());
            }
            if let Some(x) = &st.oss {
                add(format!("{p}.storage.oss.accesskeyid"), x.accesskeyid.as_ref());
                add(format!("{p}.storage.oss.accesskeysecret"), x.accesskeysecret.as_ref());
            }
        }
        add(format!("{p}.backup.password"), s.backup.as_ref().and_then(|b| b.password.as_ref()));
    }
    for (i, e) in spec.replication.iter().enumerate() {
        add(format!("replication[{i}].credentials"), e.credentials.as_ref());
    }
    out
}

pub(super) fn check(spec: &TopologySpec, ctx: &mut Ctx) {
    for (path, s) in all_secrets(spec) {
        match s {
            SecretSpec::Literal(v) if !v.is_empty() => ctx.emit(
                RuleCode::SC001,
                path.clone(),
                format!("`{path}` is written literally in the topology file"),
                "use {env: VAR} or {file: PATH} so that the file can be shared and committed without the secret",
            ),
            SecretSpec::Env { env } => values::check_env_name(ctx, &path, env),
            _ => {}
        }
    }
}

/// Resolve every secret of `topo` through `resolver` and pair each site with its shared
/// secrets (`shared`, by site name): the input of [`crate::render::render`].
///
/// # Errors
/// Every secret that cannot be resolved or holds a value its target cannot carry (SC002),
/// an admin password below Harbor's policy (HB002), a Redis password the Harbor version
/// writes unescaped (RD007), and a site without shared secrets (SC002). Messages name the secret's source, never its value.
pub fn resolve_secrets<'t>(
    topo: &'t ValidTopology,
    resolver: &dyn SecretResolver,
    mut shared: BTreeMap<String, SiteSecrets>,
) -> Result<RenderInput<'t>, Vec<Diagnostic>> {
    let mut diags = Vec::new();
    let mut sites = Vec::new();
    for site in &topo.sites {
        let values = site_values(site, resolver, &mut diags);
        match shared.remove(site.name.as_str()) {
            Some(s) if s.lb_tls.is_none() && self_signed(site) => diags.push(Diagnostic::new(
                RuleCode::SC002,
                format!("sites[{}].load_balancer.tls", site.index),
                format!("no load balancer certificate was supplied for site `{}` (tls: self_signed)", site.name),
                "render through the CLI or bindings, which generate it once into <out>/secrets/<site>/lb_certificate.pem",
            )),
            Some(s) => sites.push((s, values)),
            None => diags.push(Diagnostic::new(
                RuleCode::SC002,
                format!("sites[{}]", site.index),
                format!("no shared secrets were supplied for site `{}`", site.name),
                "render through the CLI or bindings, which generate them into <out>/secrets/",
            )),
        }
    }
    if diags.is_empty() {
        Ok(RenderInput::new(topo, sites))
    } else {
        Err(diags)
    }
}

/// Whether the site's load balancers serve the site's own self-signed certificate.
fn self_signed(site: &Site) -> bool {
    site.lb.as_ref().is_some_and(|lb| matches!(lb.tls, crate::model::resolved::Tls::SelfSigned(_)))
}

/// Resolve a site's secrets, collecting every failure (never showing a value).
fn site_values(site: &Site, resolver: &dyn SecretResolver, diags: &mut Vec<Diagnostic>) -> SiteValues {
    let sp = format!("sites[{}]", site.index);
    let mut get = |path: String, s: &Secret| -> String {
        match resolver.resolve(s) {
            Ok(v) => {
                if v.contains(['\n', '\r', '\0']) {
                    diags.push(Diagnostic::new(
                        RuleCode::SC002,
                        path.clone(),
                        format!(
                            "`{path}` ({}) contains a newline or NUL, which its target files cannot carry",
                            s.describe()
                        ),
                        "use a value without line breaks",
                    ));
                }
                v
            }
            Err(why) => {
                diags.push(Diagnostic::new(
                    RuleCode::SC002,
                    path.clone(),
                    format!("`{path}` cannot be resolved: {why}"),
                    match s {
                        Secret::Env { env } => format!("export {env} before rendering"),
                        Secret::File { file } => format!("make {file} readable"),
                        Secret::Literal(_) => "correct the value".to_string(),
                    },
                ));
                String::new()
            }
        }
    };
    let mut v = SiteValues {
        admin_password: get(format!("{sp}.harbor.admin_password"), &site.harbor.admin_password),
        ..SiteValues::default()
    };
    if let Database::External(db) = &site.database {
        v.db_password = Some(get(format!("{sp}.database.password"), &db.password));
    }
    if let Redis::External(r) = &site.redis {
        v.redis_password = r.password.as_ref().map(|p| get(format!("{sp}.redis.password"), p));
    }
    let mut put = |key: &'static str, s: &Option<Secret>| {
        if let Some(s) = s {
            let val = get(format!("{sp}.storage.{key}"), s);
            v.storage.insert(key, val);
        }
    };
    match &site.storage {
        Storage::S3(x) => {
            put("accesskey", &x.accesskey);
            put("secretkey", &x.secretkey);
        }
        Storage::Swift(x) => put("password", &x.password),
        Storage::Azure(x) => put("accountkey", &x.accountkey),
        Storage::Oss(x) => {
            put("accesskeyid", &x.accesskeyid);
            put("accesskeysecret", &x.accesskeysecret);
        }
        Storage::Local | Storage::Nfs(_) | Storage::Gcs(_) => {}
    }
    if let Some(p) = site.backup.as_ref().and_then(|b| b.password.as_ref()) {
        v.backup_password = Some(get(format!("{sp}.backup.password"), p));
    }
    diags.extend(weak_admin_password(site, &v.admin_password));
    if let (Redis::External(r), Some(value)) = (&site.redis, &v.redis_password) {
        if let Some(p) = &r.password {
            diags.extend(unescaped_redis_password(site, p, value));
        }
    }
    v
}
