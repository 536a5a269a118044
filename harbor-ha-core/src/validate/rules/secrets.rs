//! SC001: literal secrets in the topology file.

use crate::model::secret::Secret;
use crate::model::spec::TopologySpec;
use crate::validate::codes::RuleCode;
use crate::validate::Ctx;

/// Every secret of the file with its key path.
pub(crate) fn all_secrets<'a>(spec: &'a TopologySpec) -> Vec<(String, &'a Secret)> {
    let mut out: Vec<(String, &'a Secret)> = Vec::new();
    let mut add = |p: String, s: Option<&'a Secret>| {
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
    }
    for (i, e) in spec.replication.iter().enumerate() {
        add(format!("replication[{i}].credentials"), e.credentials.as_ref());
    }
    out
}

pub(super) fn check(spec: &TopologySpec, ctx: &mut Ctx) {
    for (path, s) in all_secrets(spec) {
        match s {
            Secret::Literal(v) if !v.is_empty() => ctx.emit(
                RuleCode::SC001,
                path.clone(),
                format!("`{path}` is written literally in the topology file"),
                "use {env: VAR} or {file: PATH} so that the file can be shared and committed without the secret",
            ),
            Secret::Env { env } if env.is_empty() || !env.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') => {
                ctx.emit(
                    RuleCode::IN003,
                    path.clone(),
                    format!("`{path}`: `{}` is not an environment variable name", env.escape_debug()),
                    "use letters, digits and `_`, e.g. HARBOR_DB_PASSWORD",
                )
            }
            _ => {}
        }
    }
}
