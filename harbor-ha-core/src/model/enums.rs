//! The closed sets of choices a topology names (modes, OS families, roles, components…):
//! the same in the raw file and in the resolved model.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How a site's Harbor nodes are kept consistent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SiteMode {
    /// N nodes share storage, one PostgreSQL and one Redis (the seed guide's recommendation).
    SharedStorage,
    /// Two self-contained nodes kept in sync by Harbor replication (dual master).
    Replication,
}

impl SiteMode {
    /// The mode as the topology file writes it (`shared-storage`, `replication`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            SiteMode::SharedStorage => "shared-storage",
            SiteMode::Replication => "replication",
        }
    }
}

/// Operating-system family of a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
pub enum OsFamily {
    /// CentOS 7 (yum).
    #[serde(rename = "centos7")]
    Centos7,
    /// Rocky Linux 9 (dnf).
    #[serde(rename = "rocky9")]
    Rocky9,
    /// Debian 12 (apt).
    #[serde(rename = "debian12")]
    Debian12,
    /// Ubuntu 22.04 (apt).
    #[serde(rename = "ubuntu22.04")]
    Ubuntu2204,
}

impl OsFamily {
    /// The family as the topology file writes it (`centos7`, …, `ubuntu22.04`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            OsFamily::Centos7 => "centos7",
            OsFamily::Rocky9 => "rocky9",
            OsFamily::Debian12 => "debian12",
            OsFamily::Ubuntu2204 => "ubuntu22.04",
        }
    }
}

/// A role a host plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// NFS server exporting the shared data volume.
    Nfs,
    /// PostgreSQL server for Harbor's database.
    Postgres,
    /// Redis server shared by the Harbor nodes.
    Redis,
    /// A Harbor node (offline installer + docker compose).
    Harbor,
    /// An Nginx load balancer (keepalived when there are two); with a PostgreSQL or Redis
    /// cluster it also carries the cluster's endpoint (HAProxy).
    Lb,
    /// A Redis Sentinel only (a quorum vote beside the Sentinels of the Redis hosts).
    Sentinel,
    /// An etcd member only (a vote in the PostgreSQL cluster's DCS beside the postgres hosts').
    Etcd,
}

impl Role {
    /// The role as the topology file writes it (`nfs`, `postgres`, …).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Nfs => "nfs",
            Role::Postgres => "postgres",
            Role::Redis => "redis",
            Role::Harbor => "harbor",
            Role::Lb => "lb",
            Role::Sentinel => "sentinel",
            Role::Etcd => "etcd",
        }
    }
}

/// Optional Harbor components.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Component {
    /// Trivy scanner (2.0+).
    Trivy,
    /// Clair scanner (until 2.1).
    Clair,
    /// ChartMuseum (until 2.7).
    Chartmuseum,
    /// Notary (until 2.8).
    Notary,
}

/// PostgreSQL `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SslMode {
    /// No TLS.
    Disable,
    /// TLS, no verification.
    Require,
    /// TLS, verify the CA.
    VerifyCa,
    /// TLS, verify CA and host name.
    VerifyFull,
}

impl SslMode {
    /// The mode as libpq and harbor.yml spell it (`disable`, `verify-full`, …).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

/// Load-balancing of requests over the Harbor nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Affinity {
    /// A client address always reaches the same node.
    IpHash,
    /// Round robin.
    None,
}

/// Direction of a replication edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum EdgeMode {
    /// The policy lives on `from` and pushes to `to`.
    Push,
    /// The policy lives on `to` and pulls from `from`.
    Pull,
}

/// The program that copies a site's backups (`backup.tool`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum BackupTool {
    /// restic (the default): an encrypted, deduplicating repository; a backup that changed
    /// nothing stores almost nothing.
    Restic,
    /// rsync: one plain directory per backup, unchanged files hard-linked to the previous one.
    Rsync,
}

impl BackupTool {
    /// `restic` or `rsync`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            BackupTool::Restic => "restic",
            BackupTool::Rsync => "rsync",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{OsFamily, SiteMode};

    #[test]
    fn as_str_is_the_files_spelling() {
        for o in [OsFamily::Centos7, OsFamily::Rocky9, OsFamily::Debian12, OsFamily::Ubuntu2204] {
            assert_eq!(serde_json::to_value(o).unwrap(), o.as_str());
        }
        for m in [SiteMode::SharedStorage, SiteMode::Replication] {
            assert_eq!(serde_json::to_value(m).unwrap(), m.as_str());
        }
    }
}
