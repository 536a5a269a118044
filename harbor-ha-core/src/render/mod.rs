//! Resolved topology → bundle. One module per artifact family; each role module adds the
//! files a host receives and the install steps that put them in place:
//!
//! | artifact | module |
//! |---|---|
//! | `harbor.yml`, Docker, NFS client, shared-secrets step | [`harbor`] |
//! | Nginx LB config, SELinux boolean, self-signed cert | [`nginx`] |
//! | keepalived.conf and its nginx check | [`keepalived`] |
//! | NFS exports | [`nfs`] |
//! | PostgreSQL settings, `pg_hba.conf`, SQL | [`postgres`] |
//! | redis.conf | [`redis`] |
//! | firewalld / ufw rules | [`firewall`] |
//! | chrony, sysctl, the install.sh prelude | [`scripts`] |
//! | Harbor API payloads, apply.sh, resync.sh | [`replication`] |
//! | README.md runbook, deploy.sh, inventory.ini, verify.sh | [`runbook`] |
//! | OS differences (one table) | [`os`] |
//! | quoting for shell, SQL, nginx, Redis | [`quote`] |

pub mod firewall;
pub mod guard;
pub mod harbor;
pub mod keepalived;
pub mod nfs;
pub mod nginx;
pub mod os;
pub mod postgres;
pub mod quote;
pub mod redis;
pub mod replication;
pub mod runbook;
pub mod scripts;

use std::collections::BTreeMap;

use crate::bundle::Bundle;
use crate::diag::Diagnostic;
use crate::model::resolved::{Database, Host, Redis, Site, Storage, Topology};
use crate::model::secret::Secret;
use crate::model::spec::Role;
use crate::secrets::SiteSecrets;
use crate::validate::codes::RuleCode;

/// Resolves `{env: …}`, `{file: …}` and literal secrets. The core reads no environment
/// and no files itself: the caller (CLI, bindings, tests) supplies this.
pub trait SecretResolver {
    /// The secret's value, or a reason (which must not contain the value).
    ///
    /// # Errors
    /// When the variable is unset or the file unreadable.
    fn resolve(&self, secret: &Secret) -> Result<String, String>;
}

/// Resolves literals only; `{env}` and `{file}` give `placeholder` (for `plan`).
pub struct PlaceholderResolver;

impl SecretResolver for PlaceholderResolver {
    fn resolve(&self, secret: &Secret) -> Result<String, String> {
        Ok(match secret {
            Secret::Literal(v) => v.clone(),
            _ => "placeholder".to_string(),
        })
    }
}

/// What rendering needs besides the topology.
pub struct RenderInputs<'a> {
    /// Shared secrets per site name.
    pub secrets: &'a BTreeMap<String, SiteSecrets>,
    /// Resolves the topology's secrets.
    pub resolver: &'a dyn SecretResolver,
}

/// A site's resolved secret values.
#[derive(Clone, Default)]
pub struct SiteValues {
    /// Harbor admin password.
    pub admin_password: String,
    /// External database password.
    pub db_password: Option<String>,
    /// External Redis password.
    pub redis_password: Option<String>,
    /// Object-storage credentials by key (`accesskey`, `secretkey`, …).
    pub storage: BTreeMap<&'static str, String>,
}

/// Everything a role renderer sees about one host.
pub struct RoleCtx<'a> {
    /// The host's site.
    pub site: &'a Site,
    /// The host.
    pub host: &'a Host,
    /// The site's shared secrets.
    pub secrets: &'a SiteSecrets,
    /// The site's resolved secret values.
    pub values: &'a SiteValues,
    /// Whether this host is the site's first Harbor node (installs alone, first).
    pub first_harbor: bool,
    /// OS facts.
    pub os: os::OsInfo,
}

/// One titled block of an install script.
#[derive(Debug, Clone)]
pub struct Step {
    /// Shown when the step runs.
    pub title: String,
    /// Bash lines (using the prelude's helpers). Every topology value is quoted.
    pub body: String,
}

/// What the roles of one host contribute.
#[derive(Debug, Clone, Default)]
pub struct HostOut {
    /// Absolute target path → (content, mode).
    pub files: BTreeMap<String, (String, u32)>,
    /// Install steps in order.
    pub steps: Vec<Step>,
}

impl HostOut {
    /// Add a file placed at `target` on the host.
    pub fn file(&mut self, target: impl Into<String>, content: impl Into<String>, mode: u32) {
        self.files.insert(target.into(), (content.into(), mode));
    }

    /// Add an install step.
    pub fn step(&mut self, title: impl Into<String>, body: impl Into<String>) {
        self.steps.push(Step { title: title.into(), body: body.into() });
    }
}

/// Hosts of a site in install order: storage → database → redis → first Harbor node →
/// other Harbor nodes → load balancers (a host goes where its earliest role puts it).
#[must_use]
pub fn install_order(site: &Site) -> Vec<&Host> {
    let rank = |h: &Host| -> usize {
        let first_harbor = site.harbor_nodes().next().map(|f| f.index) == Some(h.index);
        if h.has(Role::Nfs) {
            0
        } else if h.has(Role::Postgres) {
            1
        } else if h.has(Role::Redis) {
            2
        } else if h.has(Role::Harbor) && first_harbor {
            3
        } else if h.has(Role::Harbor) {
            4
        } else {
            5
        }
    };
    let mut hosts: Vec<&Host> = site.hosts.iter().collect();
    hosts.sort_by_key(|h| (rank(h), h.index));
    hosts
}

/// Resolve a site's secrets, collecting every failure as SC002 (never showing a value).
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
    if !crate::validate::admin_password_ok(&v.admin_password) && !v.admin_password.is_empty() {
        diags.push(Diagnostic::new(
            RuleCode::HB002,
            format!("{sp}.harbor.admin_password"),
            format!("the admin password ({}) does not meet Harbor's policy (8-128 characters with an upper-case letter, a lower-case letter and a digit)", site.harbor.admin_password.describe()),
            "choose a stronger password",
        ));
    }
    v
}

/// Render the whole bundle.
///
/// # Errors
/// Diagnostics (SC002, HB002) when a secret cannot be resolved or used, or when the
/// secrets of a site are missing from `inputs`; and, from [`guard::check`], when the
/// topology holds a name, path or text value validation refuses as unsafe (a `Topology`
/// built or changed by hand).
pub fn render(topo: &Topology, inputs: &RenderInputs) -> Result<Bundle, Vec<Diagnostic>> {
    let unsafe_values = guard::check(topo);
    if !unsafe_values.is_empty() {
        return Err(unsafe_values);
    }
    render_unguarded(topo, inputs)
}

/// [`render`] without [`guard::check`]: test support (feature `unchecked`), to prove that the
/// quoting alone keeps hostile values inert (tests/e2e/lib/canary.sh). Never use it to render
/// a real deployment.
///
/// # Errors
/// As [`render`], except the guard's.
#[cfg(feature = "unchecked")]
#[doc(hidden)]
pub fn render_unchecked(topo: &Topology, inputs: &RenderInputs) -> Result<Bundle, Vec<Diagnostic>> {
    render_unguarded(topo, inputs)
}

fn render_unguarded(topo: &Topology, inputs: &RenderInputs) -> Result<Bundle, Vec<Diagnostic>> {
    let mut diags = Vec::new();
    let mut bundle = Bundle::default();
    let mut plans = Vec::new();
    for site in &topo.sites {
        let values = site_values(site, inputs.resolver, &mut diags);
        let Some(secrets) = inputs.secrets.get(site.name.as_str()) else {
            diags.push(Diagnostic::new(
                RuleCode::SC002,
                format!("sites[{}]", site.index),
                format!("no shared secrets were supplied for site `{}`", site.name),
                "render through the CLI or bindings, which generate them into <out>/secrets/",
            ));
            continue;
        };
        for (name, content) in secrets.to_files() {
            bundle.add(format!("secrets/{}/{name}", site.name), content, 0o600);
        }
        let first = site.harbor_nodes().next().map(|h| h.index);
        for host in install_order(site) {
            let ctx = RoleCtx {
                site,
                host,
                secrets,
                values: &values,
                first_harbor: first == Some(host.index),
                os: os::info(host.os),
            };
            let out = render_host(&ctx);
            let base = format!("hosts/{}", host.name);
            for (target, (content, mode)) in &out.files {
                bundle.add(format!("{base}/files{target}"), content.clone(), *mode);
            }
            bundle.add(format!("{base}/install.sh"), scripts::install_script(&ctx, &out.steps), 0o755);
            plans.push((site, host, out.files.keys().cloned().collect::<Vec<_>>()));
        }
    }
    if !diags.is_empty() {
        return Err(diags);
    }
    replication::render(topo, &mut bundle);
    runbook::render(topo, &plans, &mut bundle);
    Ok(bundle)
}

/// A host's roles, in the order its steps run.
fn render_host(ctx: &RoleCtx) -> HostOut {
    let mut out = HostOut::default();
    scripts::common(ctx, &mut out);
    firewall::render(ctx, &mut out);
    if ctx.host.has(Role::Nfs) {
        nfs::render(ctx, &mut out);
    }
    if ctx.host.has(Role::Postgres) {
        postgres::render(ctx, &mut out);
    }
    if ctx.host.has(Role::Redis) {
        redis::render(ctx, &mut out);
    }
    if ctx.host.has(Role::Harbor) {
        harbor::render(ctx, &mut out);
    }
    if ctx.host.has(Role::Lb) {
        nginx::render(ctx, &mut out);
        if ctx.site.hosts_with(Role::Lb).count() == 2 {
            keepalived::render(ctx, &mut out);
        }
    }
    out
}

/// `harbor-ha plan`: hosts in install order with the files each receives.
#[must_use]
pub fn plan(topo: &Topology) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    for site in &topo.sites {
        let mode = match site.mode {
            crate::model::spec::SiteMode::SharedStorage => "shared-storage",
            crate::model::spec::SiteMode::Replication => "replication (dual master)",
        };
        let _ = writeln!(s, "site {} ({mode}, Harbor {})", site.name, site.harbor.version);
        let first = site.harbor_nodes().next().map(|h| h.index);
        let dummy =
            SiteSecrets::deterministic("plan", "-----BEGIN RSA PRIVATE KEY-----\n", "-----BEGIN CERTIFICATE-----\n");
        let values = SiteValues::default();
        for (i, host) in install_order(site).into_iter().enumerate() {
            let ctx = RoleCtx {
                site,
                host,
                secrets: &dummy,
                values: &values,
                first_harbor: first == Some(host.index),
                os: os::info(host.os),
            };
            let out = render_host(&ctx);
            let roles: Vec<String> = host.roles.iter().map(|r| format!("{r:?}").to_lowercase()).collect();
            let note = if ctx.first_harbor && site.harbor_nodes().count() > 1 {
                "  (installs alone, before the other Harbor nodes)"
            } else {
                ""
            };
            let _ = writeln!(s, "  {}. {} {} [{}]{note}", i + 1, host.name, host.address, roles.join(", "));
            let _ = writeln!(s, "     hosts/{}/install.sh", host.name);
            for f in out.files.keys() {
                let _ = writeln!(s, "     {f}");
            }
        }
    }
    s
}
