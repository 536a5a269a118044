//! Secrets: `{env: VAR}`, `{file: PATH}` or a literal string. [`SecretSpec`] is the raw
//! form in the file; [`Secret`] the checked one in the resolved model (its variable name is
//! an [`EnvName`]); a [`SecretResolver`] gives the values at render time.
//!
//! A secret's value is never part of `Debug` output, diagnostics or errors.

use std::fmt;

use schemars::JsonSchema;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use super::ids::EnvName;

/// Where a secret's value comes from. Resolved only at render time.
#[derive(Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(untagged)]
#[schemars(rename = "Secret")]
pub enum SecretSpec {
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

impl fmt::Debug for SecretSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretSpec::Env { env } => write!(f, "SecretSpec::Env({env})"),
            SecretSpec::File { file } => write!(f, "SecretSpec::File({file})"),
            SecretSpec::Literal(_) => write!(f, "SecretSpec::Literal(<redacted>)"),
        }
    }
}

impl<'de> Deserialize<'de> for SecretSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = SecretSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a secret: {env: VAR}, {file: PATH} or a quoted string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SecretSpec, E> {
                Ok(SecretSpec::Literal(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SecretSpec, A::Error> {
                let Some(key) = map.next_key::<String>()? else {
                    return Err(de::Error::custom("empty secret: write {env: VAR} or {file: PATH}"));
                };
                let value: String = map.next_value()?;
                if map.next_key::<String>()?.is_some() {
                    return Err(de::Error::custom("a secret takes exactly one key: env or file"));
                }
                match key.as_str() {
                    "env" => Ok(SecretSpec::Env { env: value }),
                    "file" => Ok(SecretSpec::File { file: value }),
                    other => Err(de::Error::unknown_field(other, &["env", "file"])),
                }
            }
            // Numbers and booleans are refused without echoing them: they may be the secret.
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<SecretSpec, E> {
                Err(E::custom("a secret must be a quoted string, {env: VAR} or {file: PATH} (got a number)"))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<SecretSpec, E> {
                Err(E::custom("a secret must be a quoted string, {env: VAR} or {file: PATH} (got a number)"))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<SecretSpec, E> {
                Err(E::custom("a secret must be a quoted string, {env: VAR} or {file: PATH} (got a number)"))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<SecretSpec, E> {
                Err(E::custom("a secret must be a quoted string, {env: VAR} or {file: PATH} (got a boolean)"))
            }
        }
        d.deserialize_any(V)
    }
}

/// A checked secret reference of the resolved model.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Secret {
    /// Read from an environment variable of the process that renders.
    Env {
        /// The variable's name.
        env: EnvName,
    },
    /// Read from a file (trailing newline stripped).
    File {
        /// The file's path, as written (read by the renderer's host; quoted wherever a
        /// script names it).
        file: String,
    },
    /// Written in the topology file itself.
    Literal(String),
}

impl Secret {
    /// A description that never contains the value.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Secret::Env { env } => format!("environment variable {env}"),
            Secret::File { file } => format!("file {file}"),
            Secret::Literal(_) => "literal value".to_string(),
        }
    }

    /// Whether this is the empty literal (a secret the file leaves empty).
    #[must_use]
    pub fn is_empty_literal(&self) -> bool {
        matches!(self, Secret::Literal(v) if v.is_empty())
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

/// Gives the values of `{env: …}`, `{file: …}` and literal secrets. The core reads no
/// environment and no files itself: the I/O crate (or a test) supplies this.
pub trait SecretResolver {
    /// The secret's value, or a reason (which must not contain the value).
    ///
    /// # Errors
    /// When the variable is unset or the file unreadable.
    fn resolve(&self, secret: &Secret) -> Result<String, String>;
}
