//! Harbor's replication API payloads, checked against what each Harbor release declares.
//!
//! Two layers:
//! - **The compact schema** (`payloads.yaml` beside this file, committed): for each Harbor
//!   API specification, its base path and the body schema of the five calls the bundle makes
//!   (`$ref`s inlined; field names, types, enums, required keys, nullability). Every test
//!   checks against it, so a clone needs nothing beside it.
//! - **The full OpenAPI specifications** (`../shared/harbor-api/swagger-v*.yaml`, when present
//!   beside the clone): `compact_schema_is_what_the_specifications_say` derives the compact
//!   schema from them again and compares. `UPDATE_HARBOR_API=1` rewrites `payloads.yaml`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use serde_json::Value as J;
use serde_yaml::{Mapping, Value as Y};

/// The specification files, oldest first, and the Harbor minors each describes.
pub const SPEC_FILES: [&str; 4] =
    ["swagger-v1.10.2.yaml", "swagger-v2.8.4.yaml", "swagger-v2.11.1.yaml", "swagger-v2.15.2.yaml"];

/// The calls whose bodies the bundle holds or apply.sh / resync.sh send (path templates as the
/// specifications write them, relative to the base path).
pub const CALLS: [(&str, &str); 5] = [
    ("POST", "/registries"),
    ("PUT", "/registries/{id}"),
    ("POST", "/replication/policies"),
    ("PUT", "/replication/policies/{id}"),
    ("POST", "/replication/executions"),
];

/// The schema keywords the check reads; everything else in a specification is prose.
const KEPT: [&str; 9] = [
    "type",
    "properties",
    "required",
    "enum",
    "items",
    "additionalProperties",
    "x-nullable",
    "x-isnullable",
    "x-any-of",
];

/// The body schemas of one Harbor release's API.
pub struct Spec {
    /// The specification file it comes from.
    pub file: String,
    base_path: String,
    /// `"METHOD /template"` → the inlined body schema.
    calls: BTreeMap<String, Y>,
}

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Where the committed compact schema lives.
pub fn compact_path() -> PathBuf {
    crate_dir().join("tests/harbor_api/payloads.yaml")
}

/// Where Harbor's full specifications are, when they are beside the clone
/// (`HARBOR_API_SPECS` names another directory).
pub fn full_spec_dir() -> PathBuf {
    std::env::var_os("HARBOR_API_SPECS")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate_dir().join("../../shared/harbor-api"))
}

/// The compact schema of the release that describes Harbor `version`: 1.10.x → v1.10.2,
/// 2.0–2.8 → v2.8.4, 2.9–2.11 → v2.11.1, 2.12–2.15 → v2.15.2.
pub fn spec_for(version: (u32, u32)) -> &'static Spec {
    static SPECS: OnceLock<Vec<Spec>> = OnceLock::new();
    let specs = SPECS.get_or_init(|| {
        let path = compact_path();
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let doc: Y = serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        SPEC_FILES.iter().map(|f| Spec::from_compact(f, &doc)).collect()
    });
    let i = match version {
        (1, 10) => 0,
        (2, 0..=8) => 1,
        (2, 9..=11) => 2,
        (2, 12..=15) => 3,
        v => panic!("no specification for Harbor {v:?}"),
    };
    &specs[i]
}

impl Spec {
    fn from_compact(file: &str, doc: &Y) -> Spec {
        let entry = doc.get(file).unwrap_or_else(|| panic!("payloads.yaml has no entry {file}"));
        let base_path = entry.get("base_path").and_then(Y::as_str).expect("base_path").to_string();
        let calls = entry
            .get("calls")
            .and_then(Y::as_mapping)
            .expect("calls")
            .iter()
            .map(|(k, v)| (k.as_str().expect("call key").to_string(), v.clone()))
            .collect();
        Spec { file: file.to_string(), base_path, calls }
    }

    /// The API's base path (`/api` or `/api/v2.0`).
    pub fn base_path(&self) -> &str {
        &self.base_path
    }

    /// The schema of the body of `METHOD path` (path relative to the base path, ids filled in).
    fn body_schema(&self, method: &str, path: &str) -> &Y {
        let want: Vec<&str> = path.trim_matches('/').split('/').collect();
        for (call, schema) in &self.calls {
            let (m, tmpl) = call.split_once(' ').expect("METHOD /path");
            let tmpl: Vec<&str> = tmpl.trim_matches('/').split('/').collect();
            let matches = m == method
                && tmpl.len() == want.len()
                && tmpl.iter().zip(&want).all(|(t, w)| t == w || (t.starts_with('{') && t.ends_with('}')));
            if matches {
                return schema;
            }
        }
        panic!("{}: no operation {method} {path}", self.file);
    }

    /// Violations of the body of `METHOD path` by `body`.
    pub fn violations(&self, method: &str, path: &str, body: &J) -> Vec<String> {
        let mut errs = Vec::new();
        check(&self.file, self.body_schema(method, path), body, "body", &mut errs);
        errs
    }
}

/// Every violation of `schema` by `v`: undeclared keys, wrong types, values outside an enum,
/// missing required keys, nulls where the field is not nullable.
fn check(file: &str, schema: &Y, v: &J, at: &str, errs: &mut Vec<String>) {
    if let Some(any) = schema.get("x-any-of").and_then(Y::as_sequence) {
        let ok = any.iter().any(|s| {
            let mut e = Vec::new();
            check(file, s, v, at, &mut e);
            e.is_empty()
        });
        if !ok {
            errs.push(format!("{at}: {v} matches none of the allowed schemas"));
        }
        return;
    }
    if v.is_null() {
        let nullable = ["x-nullable", "x-isnullable"].iter().any(|k| schema.get(*k).and_then(Y::as_bool) == Some(true));
        if !nullable {
            errs.push(format!("{at}: null is not allowed"));
        }
        return;
    }
    let props = schema.get("properties").and_then(Y::as_mapping);
    let ty = schema.get("type").and_then(Y::as_str).or(props.map(|_| "object"));
    let type_ok = match ty {
        None => true,
        Some("object") => v.is_object(),
        Some("array") => v.is_array(),
        Some("string") => v.is_string(),
        Some("integer") => v.is_i64() || v.is_u64(),
        Some("number") => v.is_number(),
        Some("boolean") => v.is_boolean(),
        Some(t) => panic!("{file}: unknown type {t}"),
    };
    if !type_ok {
        errs.push(format!("{at}: expected {}, got {v}", ty.unwrap_or("?")));
        return;
    }
    if let Some(e) = schema.get("enum").and_then(Y::as_sequence) {
        let allowed: Vec<J> = e.iter().map(|x| serde_json::to_value(x).expect("enum value")).collect();
        if !allowed.contains(v) {
            errs.push(format!("{at}: {v} is not one of {allowed:?}"));
        }
    }
    match v {
        J::Object(m) => {
            if let Some(req) = schema.get("required").and_then(Y::as_sequence) {
                for r in req.iter().filter_map(Y::as_str) {
                    if !m.contains_key(r) {
                        errs.push(format!("{at}: required key `{r}` is missing"));
                    }
                }
            }
            let extra = schema.get("additionalProperties");
            for (k, val) in m {
                match props.and_then(|p| p.get(k.as_str())) {
                    Some(s) => check(file, s, val, &format!("{at}.{k}"), errs),
                    None => match extra {
                        Some(Y::Bool(true)) => {}
                        Some(s @ Y::Mapping(_)) => check(file, s, val, &format!("{at}.{k}"), errs),
                        _ => errs.push(format!("{at}: key `{k}` is not a property of the definition")),
                    },
                }
            }
        }
        J::Array(a) => {
            if let Some(items) = schema.get("items") {
                for (i, x) in a.iter().enumerate() {
                    check(file, items, x, &format!("{at}[{i}]"), errs);
                }
            }
        }
        _ => {}
    }
}

// ---- deriving the compact schema from a full specification -----------------------------------

/// A full Swagger 2.0 document, with the errata applied.
struct Full<'a> {
    file: &'a str,
    doc: Y,
}

impl Full<'_> {
    fn load(file: &str) -> Option<Full<'_>> {
        let path = full_spec_dir().join(file);
        let text = std::fs::read_to_string(&path).ok()?;
        let mut doc: Y = serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        apply_errata(file, &mut doc);
        Some(Full { file, doc })
    }

    fn resolve<'b>(&'b self, mut s: &'b Y) -> &'b Y {
        while let Some(r) = s.get("$ref").and_then(Y::as_str) {
            let mut cur = &self.doc;
            for part in r.trim_start_matches("#/").split('/') {
                cur = cur.get(part).unwrap_or_else(|| panic!("{}: unresolved $ref {r}", self.file));
            }
            s = cur;
        }
        s
    }

    /// `schema` with every `$ref` and `allOf` inlined and only the keywords the check reads.
    fn inline(&self, schema: &Y, depth: usize) -> Y {
        assert!(depth < 16, "{}: recursive schema", self.file);
        let schema = self.resolve(schema);
        let mut out = Mapping::new();
        if let Some(all) = schema.get("allOf").and_then(Y::as_sequence) {
            for part in all {
                if let Y::Mapping(m) = self.inline(part, depth + 1) {
                    merge(&mut out, m);
                }
            }
        }
        for key in KEPT {
            let Some(v) = schema.get(key) else { continue };
            let v = match key {
                "properties" => Y::Mapping(
                    v.as_mapping()
                        .expect("properties")
                        .iter()
                        .map(|(k, s)| (k.clone(), self.inline(s, depth + 1)))
                        .collect(),
                ),
                "items" => self.inline(v, depth + 1),
                "additionalProperties" if v.is_mapping() => self.inline(v, depth + 1),
                "x-any-of" => {
                    Y::Sequence(v.as_sequence().expect("x-any-of").iter().map(|s| self.inline(s, depth + 1)).collect())
                }
                _ => v.clone(),
            };
            merge(&mut out, [(Y::from(key), v)].into_iter().collect());
        }
        Y::Mapping(out)
    }

    /// The body schema of `METHOD template`.
    fn body(&self, method: &str, template: &str) -> Y {
        let op = self
            .doc
            .get("paths")
            .and_then(|p| p.get(template))
            .and_then(|item| item.get(method.to_lowercase().as_str()))
            .unwrap_or_else(|| panic!("{}: no operation {method} {template}", self.file));
        let params = op.get("parameters").and_then(Y::as_sequence).map(Vec::as_slice).unwrap_or_default();
        let body = params
            .iter()
            .map(|p| self.resolve(p))
            .find(|p| p.get("in").and_then(Y::as_str) == Some("body"))
            .unwrap_or_else(|| panic!("{}: {method} {template} has no body parameter", self.file));
        self.inline(body.get("schema").expect("body schema"), 0)
    }

    /// The compact entry: base path and the inlined body schema of every call.
    fn compact(&self) -> Y {
        let mut calls = Mapping::new();
        for (method, template) in CALLS {
            // 1.10 names the id parameter differently; match any template of the same shape.
            let t = self.template_like(template);
            calls.insert(Y::from(format!("{method} {template}")), self.body(method, &t));
        }
        let mut entry = Mapping::new();
        let base = self.doc.get("basePath").and_then(Y::as_str).expect("basePath");
        entry.insert(Y::from("base_path"), Y::from(base));
        entry.insert(Y::from("calls"), Y::Mapping(calls));
        Y::Mapping(entry)
    }

    fn template_like(&self, template: &str) -> String {
        let shape = |t: &str| -> Vec<String> {
            t.trim_matches('/')
                .split('/')
                .map(|s| if s.starts_with('{') { "{}".to_string() } else { s.to_string() })
                .collect()
        };
        let want = shape(template);
        let paths = self.doc.get("paths").and_then(Y::as_mapping).expect("paths");
        paths
            .keys()
            .filter_map(Y::as_str)
            .find(|k| shape(k) == want)
            .unwrap_or_else(|| panic!("{}: no path like {template}", self.file))
            .to_string()
    }
}

/// Merges `add` into `out`; `required` lists are joined, other keys are replaced.
fn merge(out: &mut Mapping, add: Mapping) {
    for (k, v) in add {
        match (k.as_str(), out.get_mut(&k), v) {
            (Some("required"), Some(Y::Sequence(have)), Y::Sequence(more)) => have.extend(more),
            (Some("properties"), Some(Y::Mapping(have)), Y::Mapping(more)) => have.extend(more),
            (_, _, v) => {
                out.insert(k, v);
            }
        }
    }
}

/// Where the published specifications under-describe what Harbor's server code requires,
/// the definition is made exact (never looser than the server):
/// - ReplicationFilter.value: 1.10.2 says `string`, 2.8.4 and 2.11.1 say `object` (which
///   go-swagger turns into `interface{}`); the servers require a string for `name`, `tag`
///   and `resource`, and a list of strings for `label` (v1.10.2
///   src/replication/model/policy.go `Policy.Valid`, v2.x src/pkg/reg/model/policy.go
///   `Filter.Validate`), which is what 2.15.2's description says.
/// - The enumerations that the specifications give only in prose become `enum`s:
///   ReplicationTrigger.type ("The valid values are manual, event_based and scheduled"),
///   ReplicationFilter.type (the four types those functions accept), credential types.
fn apply_errata(file: &str, doc: &mut Y) {
    let defs = doc.get_mut("definitions").and_then(Y::as_mapping_mut).expect("definitions");
    let set = |defs: &mut Mapping, def: &str, prop: &str, schema: &str| {
        let d = defs.get_mut(def).unwrap_or_else(|| panic!("{file}: no definition {def}"));
        let props = d.get_mut("properties").and_then(Y::as_mapping_mut).expect("properties");
        assert!(props.contains_key(prop), "{file}: {def} has no property {prop}");
        props.insert(Y::from(prop), serde_yaml::from_str(schema).expect("erratum"));
    };
    set(
        defs,
        "ReplicationFilter",
        "value",
        "{x-any-of: [{type: string}, {type: array, items: {type: string}}], description: string, or labels}",
    );
    set(defs, "ReplicationFilter", "type", "{type: string, enum: [name, tag, label, resource]}");
    set(defs, "ReplicationTrigger", "type", "{type: string, enum: [manual, event_based, scheduled]}");
    set(defs, "RegistryCredential", "type", "{type: string, enum: [basic, oauth, secret]}");
    let put = if defs.contains_key("RegistryUpdate") { "RegistryUpdate" } else { "PutRegistry" };
    set(defs, put, "credential_type", "{type: string, enum: [basic, oauth, secret]}");
}

const HEADER: &str = "\
# Harbor's replication API, compact: for each of Harbor's published API specifications
# (swagger.yaml of goharbor/harbor at v1.10.2, v2.8.4, v2.11.1, v2.15.2: api/v2.0/swagger.yaml,
# docs/swagger.yaml for 1.10), the base path and the body schema of the five calls the bundle
# makes, with `$ref`s inlined and only what a check reads: type, properties, required, enum,
# items, additionalProperties, nullability. The enumerations the specifications give in prose
# and the filter value's real type are made exact (see apply_errata in mod.rs).
# Derived by harbor-ha-core/tests/harbor_api/mod.rs; `UPDATE_HARBOR_API=1 cargo test -p
# harbor-ha-core --test replication compact_schema` rewrites it from ../shared/harbor-api/.
";

/// The compact schema derived from the full specifications, or None when they are absent.
pub fn derive_compact() -> Option<String> {
    let mut all = Mapping::new();
    for file in SPEC_FILES {
        let full = Full::load(file)?;
        all.insert(Y::from(file), full.compact());
    }
    Some(format!("{HEADER}{}", serde_yaml::to_string(&Y::Mapping(all)).expect("yaml")))
}
