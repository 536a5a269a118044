//! Release versions written as strings (`"1.10.2"`, `"9.6"`).

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A dotted version as written by the user: `major.minor[.patch]`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Version {
    /// Major number.
    pub major: u32,
    /// Minor number.
    pub minor: u32,
    /// Patch number, when given.
    pub patch: Option<u32>,
}

impl Version {
    /// A version without patch.
    #[must_use]
    pub const fn new(major: u32, minor: u32) -> Self {
        Version { major, minor, patch: None }
    }

    /// `(major, minor)` for range comparisons.
    #[must_use]
    pub fn minor_key(&self) -> (u32, u32) {
        (self.major, self.minor)
    }

    /// A PostgreSQL version as people write it: `9.6`, but `15` rather than `15.0` (since
    /// PostgreSQL 10 the major version is one number).
    #[must_use]
    pub fn postgres_text(&self) -> String {
        if self.major >= 10 && self.minor == 0 && self.patch.is_none() {
            self.major.to_string()
        } else {
            self.to_string()
        }
    }

    /// Whether this is at least `major.minor`.
    #[must_use]
    pub fn at_least(&self, major: u32, minor: u32) -> bool {
        self.minor_key() >= (major, minor)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.patch {
            Some(p) => write!(f, "{}.{}.{}", self.major, self.minor, p),
            None => write!(f, "{}.{}", self.major, self.minor),
        }
    }
}

/// Why a version string does not parse.
#[derive(Debug, thiserror::Error)]
#[error("`{0}` is not a version like 2.11.1 or 15")]
pub struct VersionError(String);

impl FromStr for Version {
    type Err = VersionError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().trim_start_matches('v');
        let parts: Vec<&str> = t.split('.').collect();
        let num = |p: &str| -> Result<u32, VersionError> {
            if p.is_empty() || p.len() > 6 || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(VersionError(s.to_string()));
            }
            p.parse().map_err(|_| VersionError(s.to_string()))
        };
        match parts.as_slice() {
            [maj] => Ok(Version { major: num(maj)?, minor: 0, patch: None }),
            [maj, min] => Ok(Version::new(num(maj)?, num(min)?)),
            [maj, min, pat] => Ok(Version { major: num(maj)?, minor: num(min)?, patch: Some(num(pat)?) }),
            _ => Err(VersionError(s.to_string())),
        }
    }
}

/// A version as it appears in the topology file: a string, kept verbatim until validation.
#[derive(Clone, PartialEq, Eq, Debug, JsonSchema)]
#[schemars(transparent)]
pub struct VersionText(pub String);

impl Serialize for VersionText {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for VersionText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = VersionText;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a quoted version string such as \"2.11.1\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<VersionText, E> {
                Ok(VersionText(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<VersionText, E> {
                Ok(VersionText(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<VersionText, E> {
                Err(E::custom(format!("`{v}` is not a version")))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<VersionText, E> {
                Err(E::custom(format!(
                    "the version must be quoted: YAML reads it as the number {v} (write \"2.10\", not 2.10)"
                )))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::Version;

    #[test]
    fn postgres_versions_are_written_as_postgres_writes_them() {
        let v = |s: &str| s.parse::<Version>().unwrap().postgres_text();
        assert_eq!(v("15"), "15");
        assert_eq!(v("15.0"), "15");
        assert_eq!(v("15.4"), "15.4");
        assert_eq!(v("9.6"), "9.6");
        assert_eq!(v("9.6.24"), "9.6.24");
        assert_eq!(v("15.0.1"), "15.0.1");
    }
}
