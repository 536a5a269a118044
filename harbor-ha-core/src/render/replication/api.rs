//! The Harbor API request bodies of replication (`POST`/`PUT /registries`,
//! `POST`/`PUT /replication/policies`), the API flavour of each Harbor version, the
//! functions that build the bodies, and the `*.json` files that hold them.

use serde::Serialize;
use serde_json::Value;

use super::plan::{SitePlan, TargetPlan};
use crate::bundle::Bundle;
use crate::model::resolved::{Filters, Trigger};
use crate::model::version::Version;

// ---- request bodies -------------------------------------------------------------------------

/// `POST /registries` (Registry in every version). Credentials are added at apply time.
#[derive(Debug, Clone, Serialize)]
pub struct RegistryCreate {
    /// Endpoint name.
    pub name: String,
    /// Shown in Harbor's UI.
    pub description: String,
    /// Adapter: always `harbor`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The remote Harbor's URL.
    pub url: String,
    /// Skip TLS verification of the remote.
    pub insecure: bool,
    /// Credential type only; apply.sh adds `access_key` and `access_secret`.
    pub credential: CredentialType,
}

/// `{"type": "basic"}`.
#[derive(Debug, Clone, Serialize)]
pub struct CredentialType {
    /// Always `basic`.
    #[serde(rename = "type")]
    pub kind: &'static str,
}

/// `PUT /registries/{id}` (PutRegistry in 1.10, RegistryUpdate in 2.x: the same fields).
#[derive(Debug, Clone, Serialize)]
pub struct RegistryUpdate {
    /// Endpoint name.
    pub name: String,
    /// Shown in Harbor's UI.
    pub description: String,
    /// The remote Harbor's URL.
    pub url: String,
    /// Always `basic`; apply.sh adds `access_key` and `access_secret`.
    pub credential_type: &'static str,
    /// Skip TLS verification of the remote.
    pub insecure: bool,
}

/// A registry named in a policy; apply.sh adds its `id`.
#[derive(Debug, Clone, Serialize)]
pub struct RegistryRef {
    /// The endpoint's name (created by the same apply.sh).
    pub name: String,
}

/// ReplicationTrigger.
#[derive(Debug, Clone, Serialize)]
pub struct TriggerBody {
    /// `event_based`, `manual` or `scheduled`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The cron of a scheduled trigger.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trigger_settings: Option<TriggerSettings>,
}

/// `{"cron": …}`.
#[derive(Debug, Clone, Serialize)]
pub struct TriggerSettings {
    /// Harbor 6-field cron.
    pub cron: String,
}

/// ReplicationFilter: `name` and `tag` take a pattern, `label` a list of label names.
#[derive(Debug, Clone, Serialize)]
pub struct FilterBody {
    /// `name`, `tag` or `label`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// A string, or a list of strings for `label`.
    pub value: Value,
}

/// `POST /replication/policies` and `PUT /replication/policies/{id}` (ReplicationPolicy).
#[derive(Debug, Clone, Serialize)]
pub struct PolicyBody {
    /// Policy name.
    pub name: String,
    /// Shown in Harbor's UI.
    pub description: String,
    /// Pull: the remote endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src_registry: Option<RegistryRef>,
    /// Push: the remote endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dest_registry: Option<RegistryRef>,
    /// When it runs.
    pub trigger: TriggerBody,
    /// What it replicates (empty: everything).
    pub filters: Vec<FilterBody>,
    /// Replicate deletions (the field Harbor reads on input, 1.10 to 2.15).
    pub deletion: bool,
    /// The 2.x name of the same setting (declared since 2.3; ignored before).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicate_deletion: Option<bool>,
    /// Overwrite existing tags on the destination.
    #[serde(rename = "override")]
    pub overwrite: bool,
    /// Policies are created enabled.
    pub enabled: bool,
}

/// How a Harbor version's API is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiFlavor {
    /// Harbor 1.10: `/api`, `?name=`.
    V1,
    /// Harbor 2.0–2.2: `/api/v2.0` served by the legacy handlers, `?name=`.
    V2Legacy,
    /// Harbor 2.3 and later: `/api/v2.0`, exact `?q=name=`.
    V2,
}

impl ApiFlavor {
    /// The flavour of a Harbor release.
    #[must_use]
    pub fn of(v: Version) -> Self {
        if v.major < 2 {
            ApiFlavor::V1
        } else if v.minor_key() < (2, 3) {
            ApiFlavor::V2Legacy
        } else {
            ApiFlavor::V2
        }
    }

    /// The API's base path.
    #[must_use]
    pub fn prefix(self) -> &'static str {
        match self {
            ApiFlavor::V1 => "/api",
            ApiFlavor::V2Legacy | ApiFlavor::V2 => "/api/v2.0",
        }
    }

    /// The query that lists objects by name (followed by the name); the scripts then keep
    /// only the exact match, since `?name=` is a substring match.
    #[must_use]
    pub fn name_query(self) -> &'static str {
        match self {
            ApiFlavor::V1 | ApiFlavor::V2Legacy => "name=",
            ApiFlavor::V2 => "q=name%3D",
        }
    }
}

/// The field of a policy body that names its registry endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Field {
    /// Pull: `src_registry`.
    Src,
    /// Push: `dest_registry`.
    Dest,
}

impl Field {
    /// The field's name in the body.
    pub(super) fn key(self) -> &'static str {
        match self {
            Field::Src => "src_registry",
            Field::Dest => "dest_registry",
        }
    }
}

// ---- building bodies ------------------------------------------------------------------------

/// The body that creates a registry endpoint of the `harbor` adapter (credential type
/// only: apply.sh adds the credential).
pub(super) fn registry_body(name: &str, description: String, url: &str, insecure: bool) -> RegistryCreate {
    RegistryCreate {
        name: name.to_string(),
        description,
        kind: "harbor",
        url: url.to_string(),
        insecure,
        credential: CredentialType { kind: "basic" },
    }
}

/// The body that updates the endpoint `r` creates.
fn registry_update(r: &RegistryCreate) -> RegistryUpdate {
    RegistryUpdate {
        name: r.name.clone(),
        description: r.description.clone(),
        url: r.url.clone(),
        credential_type: "basic",
        insecure: r.insecure,
    }
}

/// The trigger of a policy.
fn trigger_body(t: &Trigger) -> TriggerBody {
    match t {
        Trigger::EventBased => TriggerBody { kind: "event_based", trigger_settings: None },
        Trigger::Manual => TriggerBody { kind: "manual", trigger_settings: None },
        Trigger::Cron(c) => {
            TriggerBody { kind: "scheduled", trigger_settings: Some(TriggerSettings { cron: c.as_str().to_string() }) }
        }
    }
}

/// The filters of a policy (in the order name, tag, label).
pub(super) fn filter_bodies(f: &Filters) -> Vec<FilterBody> {
    let mut v = Vec::new();
    if let Some(r) = &f.repository {
        v.push(FilterBody { kind: "name", value: Value::String(r.as_str().to_string()) });
    }
    if let Some(t) = &f.tag {
        v.push(FilterBody { kind: "tag", value: Value::String(t.as_str().to_string()) });
    }
    if let Some(l) = &f.label {
        v.push(FilterBody { kind: "label", value: Value::Array(vec![Value::String(l.as_str().to_string())]) });
    }
    v
}

/// What a policy says, whatever the API flavour.
pub(super) struct PolicySpec<'p> {
    /// Policy name.
    pub(super) name: String,
    /// Shown in Harbor's UI.
    pub(super) description: String,
    /// The endpoint's name.
    pub(super) registry: String,
    /// Which field names the endpoint.
    pub(super) field: Field,
    /// When it runs.
    pub(super) trigger: &'p Trigger,
    /// What it replicates.
    pub(super) filters: Vec<FilterBody>,
    /// Replicate deletions.
    pub(super) deletion: bool,
}

/// The body of the policy `p` for the API flavour `api`.
pub(super) fn policy_body(api: ApiFlavor, p: &PolicySpec) -> PolicyBody {
    let reg = Some(RegistryRef { name: p.registry.clone() });
    let (src_registry, dest_registry) = match p.field {
        Field::Src => (reg, None),
        Field::Dest => (None, reg),
    };
    PolicyBody {
        name: p.name.clone(),
        description: p.description.clone(),
        src_registry,
        dest_registry,
        trigger: trigger_body(p.trigger),
        filters: p.filters.clone(),
        deletion: p.deletion,
        replicate_deletion: (api != ApiFlavor::V1).then_some(p.deletion),
        overwrite: true,
        enabled: true,
    }
}

// ---- the files ------------------------------------------------------------------------------

/// A body as pretty JSON with a final newline. The bodies are plain structs of strings,
/// numbers and lists, which always serialize (as `harbor.yml` does, nothing here panics).
fn json<T: Serialize>(v: &T) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}

/// Add the JSON bodies of every target of `p`: `replication/<site>/<t>/registries/…` and
/// `…/policies/…`.
pub(super) fn render(p: &SitePlan, bundle: &mut Bundle) {
    for t in &p.targets {
        render_target(&format!("{}/{}", p.base(), t.dir), t, bundle);
    }
}

/// The JSON bodies of one target, under `dir` (which ends with `/`).
fn render_target(dir: &str, t: &TargetPlan, bundle: &mut Bundle) {
    for r in &t.registries {
        bundle.add(format!("{dir}registries/{}.json", r.name), json(&r.body), 0o644);
        bundle.add(format!("{dir}registries/{}.update.json", r.name), json(&registry_update(&r.body)), 0o644);
    }
    for pol in &t.policies {
        bundle.add(format!("{dir}policies/{}.json", pol.name), json(&pol.body), 0o644);
    }
}
