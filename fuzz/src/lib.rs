//! What both fuzz targets run: parse → validate → render (and plan) one topology text,
//! with every secret resolved to a caller-chosen value. Any panic is a finding.

use std::collections::BTreeMap;

use harbor_ha_core::model::secret::{Secret, SecretResolver};
use harbor_ha_core::render::{plan, render};
use harbor_ha_core::secrets::SiteSecrets;
use harbor_ha_core::validate::resolve_secrets;

/// The committed test key pair (tests/keys): rendering needs a token key, and generating
/// one per input would make each run take seconds.
const KEY: &str = include_str!("../../tests/keys/test-token.key");
const CRT: &str = include_str!("../../tests/keys/test-token.crt");

/// Resolves `{env}`/`{file}` secrets to values picked by the fuzzer (cycling through
/// `values`), literals as written.
pub struct FuzzResolver {
    /// Candidate values; empty → a policy-conforming constant.
    pub values: Vec<String>,
}

impl SecretResolver for FuzzResolver {
    fn resolve(&self, secret: &Secret) -> Result<String, String> {
        match secret {
            Secret::Literal(v) => Ok(v.clone()),
            Secret::Env { .. } | Secret::File { .. } => {
                let name = match secret {
                    Secret::Env { env } => env.as_str(),
                    Secret::File { file } => file.as_str(),
                    Secret::Literal(_) => "",
                };
                if self.values.is_empty() {
                    return Ok("Fuzz-Secret-1".to_string());
                }
                let i = name.bytes().map(usize::from).sum::<usize>() % self.values.len();
                Ok(self.values[i].clone())
            }
        }
    }
}

/// How far an input got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// HA001.
    ParseError,
    /// Validation errors.
    Invalid,
    /// Render diagnostics (unresolvable or unusable secrets).
    RenderError,
    /// A bundle.
    Rendered,
}

/// Parse, validate and (when valid) plan, resolve the secrets and render `text` twice: the
/// two renders must be identical (rendering is deterministic given the same secrets), and
/// the secrets must resolve the same way twice.
pub fn run(text: &str, resolver: &FuzzResolver) -> Outcome {
    let Ok(doc) = harbor_ha_core::load_str(text) else { return Outcome::ParseError };
    let report = doc.validate();
    // Every diagnostic names a rule and a message.
    for d in &report.diagnostics {
        assert!(!d.message.is_empty(), "empty message for {}", d.code.as_str());
    }
    let Some(topo) = report.topology else { return Outcome::Invalid };
    let _ = plan(&topo);
    let secrets: BTreeMap<String, SiteSecrets> = topo
        .sites
        .iter()
        .map(|s| (s.name.to_string(), SiteSecrets::deterministic(s.name.as_str(), KEY, CRT)))
        .collect();
    let first = resolve_secrets(&topo, resolver, secrets.clone()).map(|i| render(&i));
    let second = resolve_secrets(&topo, resolver, secrets).map(|i| render(&i));
    match (first, second) {
        (Ok(a), Ok(b)) => {
            assert!(a == b, "rendering is not deterministic");
            Outcome::Rendered
        }
        (Err(a), Err(b)) => {
            assert_eq!(a.len(), b.len(), "secret diagnostics differ between runs");
            Outcome::RenderError
        }
        _ => panic!("the secrets resolved once and failed once"),
    }
}

/// The structure-aware target's input: values spliced into a valid two-site topology
/// (the seed example's shape with two load balancers, plus an S3 site with an existing
/// database and Redis Sentinel, and replication edges between them).
pub mod structured {
    use arbitrary::Arbitrary;

    /// A value for one slot of [`TEMPLATE`].
    #[derive(Debug, Arbitrary)]
    pub enum Val {
        /// A YAML double-quoted string (JSON escaping): reaches the validator intact.
        Str(String),
        /// Spliced as written: may break the YAML, or inject keys.
        Raw(String),
        /// An unsigned number.
        Num(u64),
        /// A signed number.
        Int(i64),
        /// true / false.
        Bool(bool),
        /// `null`.
        Null,
        /// A flow sequence of strings.
        List(Vec<String>),
        /// A secret reference `{env: …}` with an arbitrary variable name.
        Env(String),
        /// A secret reference `{file: …}` with an arbitrary path.
        File(String),
    }

    impl Val {
        fn yaml(&self) -> String {
            let q = |s: &str| serde_json::to_string(s).unwrap_or_default();
            match self {
                Val::Str(s) => q(s),
                Val::Raw(s) => s.clone(),
                Val::Num(n) => n.to_string(),
                Val::Int(n) => n.to_string(),
                Val::Bool(b) => b.to_string(),
                Val::Null => "null".to_string(),
                Val::List(v) => format!("[{}]", v.iter().map(|s| q(s)).collect::<Vec<_>>().join(", ")),
                Val::Env(s) => format!("{{env: {}}}", q(s)),
                Val::File(s) => format!("{{file: {}}}", q(s)),
            }
        }
    }

    /// The fuzzer's choice: which slots get which values, and what the `{env}`/`{file}`
    /// secrets resolve to.
    #[derive(Debug, Arbitrary)]
    pub struct Input {
        /// (slot index modulo the slot count, value).
        pub edits: Vec<(u8, Val)>,
        /// Values for the resolver (see [`crate::FuzzResolver`]).
        pub secrets: Vec<String>,
    }

    /// The topology with `@@name@@` slots; [`SLOTS`] gives each slot's default (valid) value.
    pub const TEMPLATE: &str = r#"version: 1
sites:
  - name: @@site_a@@
    mode: @@mode_a@@
    os: @@os_a@@
    harbor:
      version: @@hver_a@@
      external_url: @@url_a@@
      admin_password: @@admin_a@@
      install_dir: @@install_dir@@
      components: @@components@@
    network:
      subnet: @@subnet_a@@
    hosts:
      - {name: @@h_store@@, address: @@a_store@@, roles: @@roles_store@@}
      - {name: @@h_1@@, address: @@a_1@@, roles: [harbor], http_port: @@port_1@@}
      - {name: @@h_2@@, address: @@a_2@@, roles: @@roles_2@@, data_volume: @@dv_2@@}
      - {name: @@h_lb1@@, address: @@a_lb1@@, roles: [lb], interface: @@iface@@}
      - {name: @@h_lb2@@, address: @@a_lb2@@, roles: [lb], os: @@os_lb2@@}
    storage:
      nfs: {export: @@nfs_export@@, mount: @@nfs_mount@@, clients: @@nfs_clients@@, options: @@nfs_opts@@}
    database:
      version: @@pg_ver@@
      port: @@pg_port@@
      username: @@pg_user@@
      password: @@pg_pw@@
      db_name: @@pg_db@@
      ssl_mode: @@ssl@@
      max_connections: @@pg_maxconn@@
    redis:
      version: @@redis_ver@@
      port: @@redis_port@@
      password: @@redis_pw@@
      db_index: {registry: @@idx_registry@@, jobservice: @@idx_jobservice@@}
    load_balancer:
      server_name: @@server_name@@
      tls: {certificate: @@tls_crt@@, key: @@tls_key@@}
      affinity: @@affinity@@
      vip: @@vip@@
      virtual_router_id: @@vrid@@
  - name: @@site_b@@
    os: @@os_b@@
    harbor:
      version: @@hver_b@@
      external_url: @@url_b@@
      admin_password: @@admin_b@@
    network:
      subnet: @@subnet_b@@
    hosts:
      - {name: @@hb_1@@, address: @@ab_1@@, roles: [harbor]}
      - {name: @@hb_2@@, address: @@ab_2@@, roles: [harbor]}
      - {name: @@hb_lb@@, address: @@ab_lb@@, roles: [lb]}
    storage:
      s3: {bucket: @@s3_bucket@@, region: @@s3_region@@, regionendpoint: @@s3_endpoint@@, accesskey: @@s3_key@@, secretkey: @@s3_secret@@, rootdirectory: @@s3_root@@}
    database:
      host: @@db_host_b@@
      version: "15"
      password: @@db_pw_b@@
    redis:
      version: "7.0"
      password: @@redis_pw_b@@
      sentinel: {master_set: @@master_set@@, hosts: @@sentinels@@}
    load_balancer:
      tls: {self_signed: @@self_signed@@}
      upstreams: @@upstreams@@
replication:
  - {from: @@from@@, to: @@to@@, mode: @@edge_mode@@, trigger: event_based, filters: {repository: @@f_repo@@, tag: @@f_tag@@, label: @@f_label@@}, username: @@repl_user@@, credentials: @@repl_cred@@}
  - {from: @@from@@, to: @@to@@, mode: @@edge_mode@@, trigger: {cron: @@cron@@}, deletion: @@deletion@@, username: @@repl_user@@, credentials: @@repl_cred@@}
"#;

    /// Slot name → default value (the template with these is valid).
    pub const SLOTS: &[(&str, &str)] = &[
        ("site_a", "prod"),
        ("mode_a", "shared-storage"),
        ("os_a", "centos7"),
        ("hver_a", "\"1.10.2\""),
        ("url_a", "https://harbor.example.com"),
        ("admin_a", "{env: HARBOR_ADMIN_PASSWORD}"),
        ("install_dir", "/usr/local"),
        ("components", "[]"),
        ("subnet_a", "192.168.166.0/24"),
        ("h_store", "store-1"),
        ("a_store", "192.168.166.122"),
        ("roles_store", "[nfs, postgres, redis]"),
        ("h_1", "harbor-1"),
        ("a_1", "192.168.166.81"),
        ("port_1", "80"),
        ("h_2", "harbor-2"),
        ("a_2", "192.168.166.212"),
        ("roles_2", "[harbor]"),
        ("dv_2", "/data"),
        ("h_lb1", "lb-1"),
        ("a_lb1", "192.168.166.10"),
        ("iface", "eth0"),
        ("h_lb2", "lb-2"),
        ("a_lb2", "192.168.166.11"),
        ("os_lb2", "rocky9"),
        ("nfs_export", "/data/harbor_data"),
        ("nfs_mount", "/data"),
        ("nfs_clients", "[192.168.166.81, 192.168.166.212]"),
        ("nfs_opts", "\"hard,nfsvers=4.1,_netdev\""),
        ("pg_ver", "\"9.6\""),
        ("pg_port", "5432"),
        ("pg_user", "harbor"),
        ("pg_pw", "{env: HARBOR_DB_PASSWORD}"),
        ("pg_db", "registry"),
        ("ssl", "disable"),
        ("pg_maxconn", "1000"),
        ("redis_ver", "\"3.2\""),
        ("redis_port", "6379"),
        ("redis_pw", "{env: HARBOR_REDIS_PASSWORD}"),
        ("idx_registry", "1"),
        ("idx_jobservice", "2"),
        ("server_name", "harbor.example.com"),
        ("tls_crt", "/etc/nginx/ssl/harbor.crt"),
        ("tls_key", "/etc/nginx/ssl/harbor.key"),
        ("affinity", "ip_hash"),
        ("vip", "192.168.166.100"),
        ("vrid", "51"),
        ("site_b", "branch"),
        ("os_b", "debian12"),
        ("hver_b", "\"2.11.1\""),
        ("url_b", "https://branch.example.com"),
        ("admin_b", "{env: BRANCH_ADMIN_PASSWORD}"),
        ("subnet_b", "10.20.0.0/24"),
        ("hb_1", "branch-1"),
        ("ab_1", "10.20.0.11"),
        ("hb_2", "branch-2"),
        ("ab_2", "10.20.0.12"),
        ("hb_lb", "branch-lb"),
        ("ab_lb", "10.20.0.2"),
        ("s3_bucket", "harbor"),
        ("s3_region", "eu-central-1"),
        ("s3_endpoint", "http://minio.example.com:9000"),
        ("s3_key", "{env: S3_ACCESS_KEY}"),
        ("s3_secret", "{env: S3_SECRET_KEY}"),
        ("s3_root", "/branch"),
        ("db_host_b", "db.branch.example.com"),
        ("db_pw_b", "{file: /etc/harbor-ha/db-password}"),
        ("redis_pw_b", "{env: BRANCH_REDIS_PASSWORD}"),
        ("master_set", "mymaster"),
        ("sentinels", "[\"10.20.0.21:26379\", \"10.20.0.22:26379\", \"10.20.0.23:26379\"]"),
        ("self_signed", "true"),
        ("upstreams", "[\"10.20.0.11:80\", \"10.20.0.12:80\"]"),
        ("from", "prod"),
        ("to", "branch"),
        ("edge_mode", "push"),
        ("f_repo", "\"library/**\""),
        ("f_tag", "\"v*\""),
        ("f_label", "production"),
        ("repl_user", "\"robot$branch\""),
        ("repl_cred", "{env: BRANCH_REPLICATION_SECRET}"),
        ("cron", "\"0 0 * * * *\""),
        ("deletion", "false"),
    ];

    /// The template with the defaults, overridden by `edits` (later edits of one slot win).
    #[must_use]
    pub fn text(edits: &[(u8, Val)]) -> String {
        let mut values: Vec<String> = SLOTS.iter().map(|(_, v)| (*v).to_string()).collect();
        for (slot, v) in edits {
            values[usize::from(*slot) % SLOTS.len()] = v.yaml();
        }
        let mut out = TEMPLATE.to_string();
        for ((name, _), v) in SLOTS.iter().zip(&values) {
            out = out.replace(&format!("@@{name}@@"), v);
        }
        out
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn defaults_are_valid_and_every_slot_is_used() {
            let t = super::text(&[]);
            assert!(!t.contains("@@"), "{t}");
            for (name, _) in super::SLOTS {
                assert!(super::TEMPLATE.contains(&format!("@@{name}@@")), "{name}");
            }
            let report = harbor_ha_core::load_str(&t).unwrap_or_else(|d| panic!("{d:?}")).validate();
            assert!(!report.has_errors(), "{:#?}", report.diagnostics);
            let r = crate::FuzzResolver { values: Vec::new() };
            assert_eq!(crate::run(&t, &r), crate::Outcome::Rendered);
        }
    }
}
