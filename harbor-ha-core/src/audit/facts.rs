//! `facts.json`: what collection reads from a host besides its files. `render` writes the
//! expected facts of each host ([`crate::render::facts`]), `collect.sh` the real ones.
//!
//! ```json
//! {"hostname": "harbor-1", "addresses": ["10.0.0.11/24"], "os": "debian12",
//!  "harbor_version": "2.11.1", "images": {"harbor-core": "goharbor/harbor-core:v2.11.1"},
//!  "mounts": [{"source": "10.0.0.5:/srv/harbor", "target": "/data", "type": "nfs"}],
//!  "services": ["chrony", "docker"]}
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A network file system mounted on a host.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Mount {
    /// `server:/export`.
    pub source: String,
    /// The mount point.
    pub target: String,
    /// `nfs`, `nfs4`, `cifs`, …
    #[serde(rename = "type")]
    pub fstype: String,
}

/// The facts of one host.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facts {
    /// The host's name (`uname -n`; the inventory name when rendered).
    #[serde(default)]
    pub hostname: String,
    /// Its addresses, `address/prefix` (loopback and link-local left out).
    #[serde(default)]
    pub addresses: Vec<String>,
    /// The OS family as the topology writes it (`debian12`, `centos7`, …), or
    /// `<ID><VERSION_ID>` of os-release for another.
    #[serde(default)]
    pub os: String,
    /// The Harbor release running on it (from the image of `harbor-core`), without `v`.
    #[serde(default)]
    pub harbor_version: Option<String>,
    /// Container name → image reference (`goharbor/harbor-core:v2.11.1`).
    #[serde(default)]
    pub images: BTreeMap<String, String>,
    /// Network file systems mounted.
    #[serde(default)]
    pub mounts: Vec<Mount>,
    /// systemd units that are active.
    #[serde(default)]
    pub services: Vec<String>,
    /// Set when the files were read under this directory (`collect.sh --root`) rather than
    /// from the running host: addresses, Harbor release, images, mounts and services were
    /// then not collected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root: Option<String>,
    /// Written by `render` only: absolute path → the mode (`"0640"`) install.sh gives the file
    /// on the host, for the files whose bundle copy has another mode (a copy holding a secret
    /// stays private in the bundle while its service's user group reads it on the host).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub modes: BTreeMap<String, String>,
}

impl Facts {
    /// As `facts.json` is written: pretty JSON with a final newline.
    #[must_use]
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    /// Parse `facts.json`.
    ///
    /// # Errors
    /// The JSON error's message and 1-based line.
    pub fn parse(bytes: &[u8]) -> Result<Facts, (String, usize)> {
        serde_json::from_slice(bytes).map_err(|e| (e.to_string(), e.line().max(1)))
    }

    /// The mode of the file at `path` on the host, when these facts name it (see [`Facts::modes`]).
    #[must_use]
    pub fn mode_of(&self, path: &str) -> Option<u32> {
        self.modes.get(path).and_then(|m| u32::from_str_radix(m, 8).ok())
    }

    /// The addresses without their prefix length.
    #[must_use]
    pub fn ips(&self) -> Vec<std::net::IpAddr> {
        self.addresses.iter().filter_map(|a| a.split('/').next().and_then(|ip| ip.parse().ok())).collect()
    }
}

/// The 1-based line of the first line of `text` containing `needle` (1 when none does).
#[must_use]
pub fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).map_or(1, |i| i + 1)
}
