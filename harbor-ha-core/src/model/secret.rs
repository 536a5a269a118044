//! Secrets: `{env: VAR}`, `{file: PATH}` or a literal string.
//!
//! A secret's value is never part of `Debug` output, diagnostics or errors.

use std::fmt;

use schemars::JsonSchema;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

/// Where a secret's value comes from. Resolved only at render time.
#[derive(Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Secret {
    /// Read from an environment variable of the process that renders.
    Env {
        /// The variable's name.
        env: String,
    },
    /// Read from a file (trailing newline stripped).
    File {
        /// The file's path.
        file: String,
    },
    /// Written in the topology file itself (allowed, warned as SC001).
    Literal(String),
}

impl Secret {
    /// Whether the value is written in the topology file.
    #[must_use]
    pub fn is_literal(&self) -> bool {
        matches!(self, Secret::Literal(_))
    }

    /// A description that never contains the value.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Secret::Env { env } => format!("environment variable {env}"),
            Secret::File { file } => format!("file {file}"),
            Secret::Literal(_) => "literal value".to_string(),
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Secret::Env { env } => write!(f, "Secret::Env({env})"),
            Secret::File { file } => write!(f, "Secret::File({file})"),
            Secret::Literal(_) => write!(f, "Secret::Literal(<redacted>)"),
        }
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Secret;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a secret: {env: VAR}, {file: PATH} or a quoted string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Secret, E> {
                Ok(Secret::Literal(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Secret, A::Error> {
                let Some(key) = map.next_key::<String>()? else {
                    return Err(de::Error::custom("empty secret: write {env: VAR} or {file: PATH}"));
                };
                let value: String = map.next_value()?;
                if map.next_key::<String>()?.is_some() {
                    return Err(de::Error::custom("a secret takes exactly one key: env or file"));
                }
                match key.as_str() {
                    "env" => Ok(Secret::Env { env: value }),
                    "file" => Ok(Secret::File { file: value }),
                    other => Err(de::Error::unknown_field(other, &["env", "file"])),
                }
            }
            // Numbers and booleans are refused without echoing them: they may be the secret.
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Secret, E> {
                Err(E::custom("a secret must be a quoted string, {env: VAR} or {file: PATH} (got a number)"))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Secret, E> {
                Err(E::custom("a secret must be a quoted string, {env: VAR} or {file: PATH} (got a number)"))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Secret, E> {
                Err(E::custom("a secret must be a quoted string, {env: VAR} or {file: PATH} (got a number)"))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Secret, E> {
                Err(E::custom("a secret must be a quoted string, {env: VAR} or {file: PATH} (got a boolean)"))
            }
        }
        d.deserialize_any(V)
    }
}
