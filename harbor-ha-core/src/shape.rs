//! The structural pass of [`crate::parse`]: the YAML value tree (merge keys applied) checked
//! against the topology's JSON Schema ([`crate::schema::schema_value`]), reporting every
//! unknown key, wrong type, missing key and unknown choice in one run, each an HA001 with its
//! key path and position, in words rather than Rust types.
//!
//! It removes the `x-` extension keys it meets (where the schema allows them) so that the
//! tree can then be deserialized into the raw model. Values are never echoed where a secret
//! may stand: a wrong type names the kind found ("found a number"), not the value.

use serde_json::Value as Json;
use serde_yaml::Value;

use crate::diag::{edit_distance, Diagnostic};
use crate::parse::ha001;
use crate::source::SourceMap;

/// Apply the YAML merge keys of `v` (`<<: *a` and `<<: [*a, *b]`): keys written in the
/// mapping win over merged ones, and an earlier source over a later one. Merges inside the
/// merged mappings are applied first. A `<<` that is not a mapping or a list of mappings is
/// an HA001.
pub(crate) fn merge_keys(v: &mut Value, path: &str, map: &SourceMap, diags: &mut Vec<Diagnostic>) {
    match v {
        Value::Mapping(m) => {
            for (k, child) in m.iter_mut() {
                merge_keys(child, &child_path(path, &key_text(k)), map, diags);
            }
            let Some(src) = m.shift_remove("<<") else { return };
            let mpath = child_path(path, "<<");
            let sources = match src {
                Value::Mapping(one) => vec![one],
                Value::Sequence(list) => {
                    let mut out = Vec::new();
                    for (i, item) in list.into_iter().enumerate() {
                        match item {
                            Value::Mapping(one) => out.push(one),
                            other => diags.push(diag(
                                map,
                                &format!("{mpath}[{i}]"),
                                format!("`{mpath}[{i}]`: a merge key lists mappings to merge, found {}", kind(&other)),
                                "list aliases of mappings, e.g. `<<: [*common, *site]`",
                            )),
                        }
                    }
                    out
                }
                other => {
                    diags.push(diag(
                        map,
                        &mpath,
                        format!("`{mpath}`: a merge key takes a mapping or a list of mappings, found {}", kind(&other)),
                        "merge an alias of a mapping, e.g. `<<: *common`",
                    ));
                    Vec::new()
                }
            };
            for src in sources {
                for (k, val) in src {
                    if !m.contains_key(&k) {
                        m.insert(k, val);
                    }
                }
            }
        }
        Value::Sequence(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                merge_keys(item, &format!("{path}[{i}]"), map, diags);
            }
        }
        Value::Tagged(t) => merge_keys(&mut t.value, path, map, diags),
        _ => {}
    }
}

/// Check `v` against the topology schema; every finding is an HA001.
pub(crate) fn check(v: &mut Value, map: &SourceMap) -> Vec<Diagnostic> {
    let root = crate::schema::schema_value();
    let mut w = Walker { root, map, diags: Vec::new() };
    w.check(v, root, "");
    w.diags
}

struct Walker<'a> {
    root: &'a Json,
    map: &'a SourceMap,
    diags: Vec<Diagnostic>,
}

/// A schema with its `$ref` followed, and the name of the definition it came from.
#[derive(Clone, Copy)]
struct Node<'a> {
    s: &'a Json,
    name: Option<&'a str>,
}

impl<'a> Walker<'a> {
    fn deref(&self, s: &'a Json) -> Node<'a> {
        let mut node = Node { s, name: None };
        // Definitions may refer to definitions; a schema has few levels.
        for _ in 0..8 {
            let Some(r) = node.s.get("$ref").and_then(Json::as_str) else { break };
            let name = r.trim_start_matches("#/$defs/");
            match self.root.get("$defs").and_then(|d| d.get(name)) {
                Some(d) => node = Node { s: d, name: Some(name) },
                None => break,
            }
        }
        node
    }

    fn branches(&self, n: Node<'a>) -> Option<Vec<Node<'a>>> {
        let list = n.s.get("anyOf").or_else(|| n.s.get("oneOf"))?.as_array()?;
        Some(list.iter().map(|b| self.deref(b)).collect())
    }

    fn push(&mut self, path: &str, message: String, hint: impl Into<String>) {
        self.diags.push(diag(self.map, path, message, hint));
    }

    fn check(&mut self, v: &mut Value, schema: &'a Json, path: &str) {
        let n = self.deref(schema);
        self.check_node(v, n, path);
    }

    fn check_node(&mut self, v: &mut Value, n: Node<'a>, path: &str) {
        if let Some(branches) = self.branches(n) {
            self.check_choice(v, n, &branches, path);
            return;
        }
        if n.name == Some("VersionText") {
            self.check_version(v, n, path);
            return;
        }
        if let Some(c) = n.s.get("const") {
            if v.as_str() != c.as_str() {
                self.mismatch(v, n, path);
            }
            return;
        }
        let types = types_of(n.s);
        let found = json_kind(v);
        if !types.iter().any(|t| *t == found || (*t == "number" && found == "integer")) {
            self.mismatch(v, n, path);
            return;
        }
        if v.is_mapping() {
            self.check_mapping(v, n, path);
            return;
        }
        match (found, v) {
            (_, Value::Null) => {}
            ("integer", Value::Number(num)) => self.check_range(num, n, path),
            ("string", Value::String(s))
                if n.s.get("format").and_then(Json::as_str) == Some("ip") && s.parse::<std::net::IpAddr>().is_err() =>
            {
                self.push(
                    path,
                    format!("`{path}`: `{}` is not an IP address", s.escape_debug()),
                    "write an IPv4 or IPv6 address, e.g. 192.168.1.10",
                );
            }
            (_, Value::Sequence(items)) => {
                if let Some(item_schema) = n.s.get("items") {
                    for (i, item) in items.iter_mut().enumerate() {
                        self.check(item, item_schema, &format!("{path}[{i}]"));
                    }
                }
            }
            _ => {}
        }
    }

    /// `anyOf`/`oneOf`: null where a branch allows it, a listed choice, or the one branch
    /// of the value's kind (checked in depth, so that errors inside it are precise).
    fn check_choice(&mut self, v: &mut Value, n: Node<'a>, branches: &[Node<'a>], path: &str) {
        if v.is_null() && branches.iter().any(|b| types_of(b.s).contains(&"null")) {
            return;
        }
        let consts: Vec<&str> = branches.iter().filter_map(|b| b.s.get("const").and_then(Json::as_str)).collect();
        if let Value::String(s) = v {
            if consts.contains(&s.as_str()) {
                return;
            }
        }
        let found = json_kind(v);
        let fits = |b: &Node| {
            b.s.get("const").is_none()
                && (b.name == Some("VersionText")
                    || b.s.get("anyOf").is_some()
                    || b.s.get("oneOf").is_some()
                    || types_of(b.s).iter().any(|t| *t == found || (*t == "number" && found == "integer")))
        };
        if let (Some("Secret"), Value::Mapping(m)) = (n.name, &*v) {
            if m.len() != 1 {
                let found = if m.is_empty() { "an empty mapping" } else { "a mapping of several keys" };
                self.push(
                    path,
                    format!("`{path}`: a secret takes exactly one key, `env` or `file`; found {found}"),
                    "write {env: VAR} or {file: PATH}",
                );
                return;
            }
        }
        let mut fitting: Vec<Node> = branches.iter().copied().filter(|b| fits(b)).collect();
        if fitting.len() > 1 {
            // Mappings of different required keys (a secret's `{env}` and `{file}`).
            if let Value::Mapping(m) = &*v {
                fitting.retain(|b| required(b.s).iter().all(|k| m.contains_key(*k)));
                fitting.truncate(1);
            }
        }
        match fitting.first() {
            Some(b) if fitting.len() == 1 => {
                let b = *b;
                self.check_node(v, b, path);
            }
            _ if !consts.is_empty() && matches!(v, Value::String(_)) => {
                let s = v.as_str().unwrap_or_default();
                let mut message = format!("`{path}`: `{}` is not {}", s.escape_debug(), describe_choice(self, n));
                if let Some(near) = closest(s, consts.iter().copied()) {
                    message.push_str(&format!("; did you mean `{near}`?"));
                }
                self.push(path, message, "use one of the listed values");
            }
            _ => self.mismatch(v, n, path),
        }
    }

    /// A version: a quoted string, or a whole number (`15`); never a decimal number, which
    /// YAML would have rounded (2.10 is 2.1).
    fn check_version(&mut self, v: &Value, n: Node<'a>, path: &str) {
        match v {
            Value::String(_) => {}
            Value::Number(num) if num.is_u64() => {}
            Value::Number(num) if num.is_f64() => self.push(
                path,
                format!("`{path}`: the version must be quoted: YAML reads it as a decimal number (write \"2.10\", not 2.10)"),
                "quote the version, e.g. \"2.11.1\"",
            ),
            _ => self.mismatch(v, n, path),
        }
    }

    fn check_range(&mut self, num: &serde_yaml::Number, n: Node<'a>, path: &str) {
        let (lo, hi) = int_range(n.s);
        let ok = match (num.as_i64(), num.as_u64()) {
            (_, Some(u)) => i128::from(u) >= lo && i128::from(u) <= hi,
            (Some(i), None) => i128::from(i) >= lo && i128::from(i) <= hi,
            _ => false,
        };
        if !ok {
            self.push(
                path,
                format!("`{path}`: {num} is out of range: expected {}", describe(self, n)),
                format!("give {}", describe(self, n)),
            );
        }
    }

    fn check_mapping(&mut self, v: &mut Value, n: Node<'a>, path: &str) {
        let Value::Mapping(m) = v else { return };
        let props = n.s.get("properties").and_then(Json::as_object);
        let extensions = n.s.get("patternProperties").and_then(|p| p.get("^x-")).is_some();
        let extra = n.s.get("additionalProperties");
        if extensions {
            m.retain(|k, _| !k.as_str().is_some_and(|k| k.starts_with("x-")));
        }
        let known: Vec<&str> = props.map(|p| p.keys().map(String::as_str).collect()).unwrap_or_default();
        let mut suggested: Vec<&str> = Vec::new();
        for (k, child) in m.iter_mut() {
            let Some(key) = k.as_str() else {
                let kp = child_path(path, &key_text(k));
                self.push(
                    &kp,
                    format!("`{path}`: a key must be a name, found {}", kind(k)),
                    "write the key as a plain name",
                );
                continue;
            };
            let kp = child_path(path, key);
            if let Some(s) = props.and_then(|p| p.get(key)) {
                self.check(child, s, &kp);
            } else if let Some(s) = extra.filter(|e| e.is_object()) {
                self.check(child, s, &kp);
            } else if extra == Some(&Json::Bool(false)) {
                let place = if path.is_empty() { "at the top level".to_string() } else { format!("in `{path}`") };
                let near = closest(key, known.iter().copied());
                let (message, hint) = match near {
                    Some(near) => (
                        format!("unknown key `{}` {place}; did you mean `{near}`?", key.escape_debug()),
                        format!("rename it to `{near}`"),
                    ),
                    None => (
                        format!("unknown key `{}` {place}", key.escape_debug()),
                        format!(
                            "remove it, or use one of {}; unknown keys are refused so that typos do not pass silently{}",
                            list(&known, "or"),
                            if extensions { " (`x-` keys are ignored)" } else { "" }
                        ),
                    ),
                };
                self.diags.push(ha001(&kp, message, hint, self.map.lookup_key(&kp)));
                suggested.extend(near);
            }
        }
        for key in required(n.s) {
            // A misspelt required key is reported once, as the unknown key.
            if !m.contains_key(key) && !suggested.contains(&key) {
                let what = props.and_then(|p| p.get(key)).map(|s| describe(self, self.deref(s))).unwrap_or_default();
                let place = if path.is_empty() { "the top level".to_string() } else { format!("`{path}`") };
                // Reported where the mapping is, since the key is not there.
                self.diags.push(ha001(
                    &child_path(path, key),
                    format!("{place} is missing the required key `{key}`"),
                    format!("add `{key}`: {what} (see `harbor-ha init` for a complete example)"),
                    self.map.lookup_value(path),
                ));
            }
        }
    }

    fn mismatch(&mut self, v: &Value, n: Node<'a>, path: &str) {
        let want = describe(self, n);
        let mut hint = format!("give {want}");
        if matches!(v, Value::Number(_) | Value::Bool(_)) && types_of(n.s).contains(&"string") {
            hint.push_str(" (quote values that YAML reads as numbers or booleans)");
        }
        let at = if path.is_empty() { "the document".to_string() } else { format!("`{path}`") };
        self.push(path, format!("{at}: expected {want}, found {}", kind(v)), hint);
    }
}

fn diag(map: &SourceMap, path: &str, message: String, hint: impl Into<String>) -> Diagnostic {
    ha001(path, message, hint, map.lookup_value(path))
}

/// The key path of `key` inside `path`.
pub(crate) fn child_path(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// A mapping key as it appears in a key path.
fn key_text(k: &Value) -> String {
    match k {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "~".to_string(),
        _ => "?".to_string(),
    }
}

/// The JSON-Schema type name of a YAML value.
fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Sequence(_) => "array",
        Value::Mapping(_) => "object",
        Value::Tagged(_) => "tagged",
    }
}

/// What was found, in words (never the value: it may be a secret).
fn kind(v: &Value) -> String {
    match v {
        Value::Null => "nothing (an empty value)".to_string(),
        Value::Bool(_) => "a boolean".to_string(),
        Value::Number(n) if n.is_f64() => "a decimal number".to_string(),
        Value::Number(_) => "an integer".to_string(),
        Value::String(_) => "a string".to_string(),
        Value::Sequence(_) => "a list".to_string(),
        Value::Mapping(_) => "a mapping".to_string(),
        Value::Tagged(t) => format!("a value tagged `{}`", t.tag),
    }
}

fn types_of(s: &Json) -> Vec<&str> {
    match s.get("type") {
        Some(Json::String(t)) => vec![t.as_str()],
        Some(Json::Array(ts)) => ts.iter().filter_map(Json::as_str).collect(),
        _ => Vec::new(),
    }
}

fn required(s: &Json) -> Vec<&str> {
    s.get("required").and_then(Json::as_array).map(|r| r.iter().filter_map(Json::as_str).collect()).unwrap_or_default()
}

/// The bounds of an integer schema (its format's, unless narrower ones are given).
fn int_range(s: &Json) -> (i128, i128) {
    let (mut lo, mut hi) = match s.get("format").and_then(Json::as_str) {
        Some("uint8") => (0, i128::from(u8::MAX)),
        Some("uint16") => (0, i128::from(u16::MAX)),
        Some("uint32") => (0, i128::from(u32::MAX)),
        Some("uint64") => (0, i128::from(u64::MAX)),
        Some("int32") => (i128::from(i32::MIN), i128::from(i32::MAX)),
        _ => (i128::from(i64::MIN), i128::from(u64::MAX)),
    };
    if let Some(m) = s.get("minimum").and_then(Json::as_i64) {
        lo = lo.max(i128::from(m));
    }
    if let Some(m) = s.get("maximum").and_then(Json::as_u64) {
        hi = hi.min(i128::from(m));
    }
    (lo, hi)
}

/// `` `a`, `b` or `c` `` (`conj`: `or`, `and`).
fn list(items: &[&str], conj: &str) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("`{i}`")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} {conj} {last}", rest.join(", ")),
    }
}

/// What a schema accepts, in words.
fn describe(w: &Walker, n: Node) -> String {
    match n.name {
        Some("Secret") => return "a secret: a quoted string, `{env: VAR}` or `{file: PATH}`".to_string(),
        Some("VersionText") => return "a quoted version such as \"2.11.1\"".to_string(),
        _ => {}
    }
    if w.branches(n).is_some() {
        return describe_choice(w, n);
    }
    if let Some(c) = n.s.get("const").and_then(Json::as_str) {
        return format!("`{c}`");
    }
    let words: Vec<String> = types_of(n.s)
        .into_iter()
        .filter(|t| *t != "null")
        .map(|t| match t {
            "integer" => {
                let (lo, hi) = int_range(n.s);
                if hi >= i128::from(u64::MAX) {
                    format!("an integer of at least {lo}")
                } else {
                    format!("an integer from {lo} to {hi}")
                }
            }
            "number" => "a number".to_string(),
            "boolean" => "`true` or `false`".to_string(),
            "string" if n.s.get("format").and_then(Json::as_str) == Some("ip") => "an IP address".to_string(),
            "string" => "a string".to_string(),
            "array" => "a list".to_string(),
            "object" => match n.s.get("properties").and_then(Json::as_object) {
                Some(p) if !p.is_empty() => {
                    let keys: Vec<&str> = p.keys().map(String::as_str).collect();
                    format!("a mapping with keys {}", list(&keys, "and"))
                }
                _ => "a mapping".to_string(),
            },
            other => other.to_string(),
        })
        .collect();
    match words.split_last() {
        None => "nothing (an empty value)".to_string(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

/// An `anyOf`/`oneOf` in words: "one of `a`, `b`" for choices, else each branch.
fn describe_choice(w: &Walker, n: Node) -> String {
    let Some(branches) = w.branches(n) else { return describe(w, n) };
    let consts: Vec<&str> = branches.iter().filter_map(|b| b.s.get("const").and_then(Json::as_str)).collect();
    let others: Vec<String> = branches
        .iter()
        .filter(|b| b.s.get("const").is_none() && types_of(b.s) != ["null"])
        .map(|b| describe(w, *b))
        .collect();
    let mut parts = Vec::new();
    if !consts.is_empty() {
        parts.push(format!("one of {}", list(&consts, "or")));
    }
    parts.extend(others);
    match parts.split_last() {
        None => "nothing (an empty value)".to_string(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{}, or {last}", rest.join(", ")),
    }
}

/// The known name closest to `s`, when it is close enough to be a typo of it.
pub(crate) fn closest<'k>(s: &str, known: impl Iterator<Item = &'k str>) -> Option<&'k str> {
    let low = s.to_ascii_lowercase();
    let limit = (low.chars().count() / 3).clamp(1, 3);
    known
        .map(|k| (edit_distance(&low, &k.to_ascii_lowercase()), k))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}
