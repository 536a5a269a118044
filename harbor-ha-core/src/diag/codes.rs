//! The rule catalog: one enum of stable codes, each with a name, a default severity, the
//! one module that reports it, a one-line summary and its documentation (`docs/<CODE>.md`,
//! printed by `harbor-ha explain`). It lives beside the diagnostics, so that the model and
//! the renderers know no rule.

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

use super::Severity;

macro_rules! catalog {
    ($($code:ident, $sev:ident, $name:literal, $owner:literal, $summary:literal;)*) => {
        /// A stable rule code. Codes are never renumbered or reused.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum RuleCode {
            $(
                #[doc = $summary]
                $code,
            )*
        }

        impl RuleCode {
            /// Every code, in catalog order.
            pub const ALL: &'static [RuleCode] = &[$(RuleCode::$code),*];

            /// The code as written, e.g. `HA003`.
            #[must_use]
            pub fn as_str(self) -> &'static str {
                match self { $(RuleCode::$code => stringify!($code),)* }
            }

            /// A stable kebab-case name, e.g. `host-outside-subnet`.
            #[must_use]
            pub fn name(self) -> &'static str {
                match self { $(RuleCode::$code => $name,)* }
            }

            /// The severity findings get unless the rule says otherwise.
            #[must_use]
            pub fn default_severity(self) -> Severity {
                match self { $(RuleCode::$code => Severity::$sev,)* }
            }

            /// The module that reports the rule, e.g. `validate::rules::inventory`: every
            /// code has exactly one (a test holds the sources to it).
            #[must_use]
            pub fn owner(self) -> &'static str {
                match self { $(RuleCode::$code => $owner,)* }
            }

            /// One line: what the rule checks.
            #[must_use]
            pub fn summary(self) -> &'static str {
                match self { $(RuleCode::$code => $summary,)* }
            }

            /// The rule's documentation (Markdown): what it checks, why it matters, an
            /// example, the fix and the sources.
            #[must_use]
            pub fn doc(self) -> &'static str {
                match self {
                    $(RuleCode::$code => include_str!(concat!("docs/", stringify!($code), ".md")),)*
                }
            }
        }
    };
}

catalog! {
    HA001, Error, "unparsable-topology", "parse", "The file does not parse, a value has the wrong type, or a key is unknown.";
    HA002, Error, "duplicate-or-invalid-name", "validate::rules::inventory", "Names or addresses are duplicated, or a name is not [a-z0-9-]+.";
    HA003, Error, "host-outside-subnet", "validate::rules::inventory", "A host address (or the NFS server) is outside network.subnet.";
    HA004, Error, "role-cardinality", "validate::rules::inventory", "A site has the wrong number of hosts for a role.";
    HA005, Warning, "single-harbor-node", "validate::rules::inventory", "Fewer than two Harbor nodes: the site is not highly available.";
    HA006, Error, "port-conflict", "validate::rules::inventory", "Two roles on one host claim the same port.";
    HA007, Warning, "single-point-of-failure", "validate::rules::inventory", "A single point of failure remains (one LB, PostgreSQL, Redis or NFS server).";
    HA008, Error, "quorum-vote-on-data-node", "validate::rules::cluster", "A cluster's extra quorum vote (role etcd or sentinel) sits on one of its own data nodes.";
    HA009, Error, "cluster-without-endpoint", "validate::rules::cluster", "A PostgreSQL cluster, or a Redis cluster for a Harbor without a Sentinel client, has no LB host for its endpoint.";
    ST001, Error, "data-volume-mismatch", "validate::rules::storage", "Harbor nodes of a shared-storage site do not all use the same data_volume.";
    ST002, Error, "unshared-storage", "validate::rules::storage", "More than one Harbor node with local, unshared storage.";
    ST003, Error, "nfs-clients-incomplete", "validate::rules::storage", "The NFS export's allowed clients do not cover every Harbor node.";
    ST004, Error, "object-storage-incomplete", "validate::rules::storage", "Object storage is missing its bucket, credentials or region.";
    ST005, Error, "storage-backend-count", "validate::rules::storage", "The storage section names no backend, or more than one.";
    ST006, Error, "nfs-mount-options", "validate::rules::storage", "NFS mount options that corrupt, hang or confuse a shared registry (soft, nolock, NFSv3, attribute or lookup caching).";
    ST007, Warning, "object-storage-redirect", "validate::rules::storage", "Registry redirects left on while clients may not reach the object store (plain http or a private endpoint).";
    ST008, Warning, "job-logs-on-local-disk", "validate::rules::storage", "Job logs stay on each node's local disk (object storage with Harbor 2.8 or older): most are not found from the UI.";
    ST009, Warning, "gc-on-nfs", "validate::rules::storage", "Garbage collection on NFS with Harbor 2.1-2.4 fails on .nfs silly-rename files.";
    DB001, Error, "no-external-database", "validate::rules::database", "More than one Harbor node and no external database.";
    DB002, Error, "database-version", "validate::rules::database", "The PostgreSQL version is not supported by the Harbor version.";
    DB003, Error, "database-auth", "validate::rules::database", "The database password is missing or empty, or Harbor would log in as the superuser.";
    DB004, Error, "database-connections", "validate::rules::database", "PostgreSQL max_connections is below what the Harbor nodes may open.";
    DB005, Error, "unlimited-db-connections", "validate::rules::database", "database.max_open_conns is 0, which Harbor reads as unlimited.";
    DB007, Error, "postgres-cluster-quorum", "validate::rules::cluster", "A PostgreSQL cluster's DCS (etcd) is not an odd number of members, 3 or more.";
    DB008, Error, "synchronous-without-replica", "validate::rules::cluster", "database.synchronous is set but the site has fewer than 2 PostgreSQL data nodes.";
    RD001, Error, "no-external-redis", "validate::rules::redis", "More than one Harbor node and no external Redis.";
    RD002, Error, "redis-index-collision", "validate::rules::redis", "Redis database indexes of two components collide, or an index is unusable.";
    RD003, Error, "redis-without-password", "validate::rules::redis", "Redis is reachable beyond loopback without a password.";
    RD004, Error, "redis-sentinel-unsupported", "validate::rules::redis", "Sentinel is used with a Harbor version that lacks it, or without master_set or hosts.";
    RD005, Error, "shared-between-sites", "validate::rules::storage", "Two sites share one Redis or one storage location.";
    RD006, Error, "redis-auth-unsupported", "validate::rules::redis", "A password on the sentinels (unsupported), or a Redis ACL username (not recommended).";
    RD007, Error, "redis-password-unescaped", "validate::rules::redis", "At render time: the Redis password holds characters that the Harbor version's prepare writes unescaped into Redis URLs or YAML.";
    RD008, Error, "sentinel-quorum", "validate::rules::cluster", "Fewer than 3 Sentinels, or Sentinels on fewer than 3 hosts.";
    LB001, Error, "upstream-mismatch", "validate::rules::lb", "The LB upstreams are not exactly the Harbor nodes and their HTTP ports.";
    LB002, Error, "external-url-lb-mismatch", "validate::rules::lb", "external_url does not match the LB's scheme, server_name and port.";
    LB003, Error, "vip-invalid", "validate::rules::lb", "Two LB hosts without a vip, or a vip outside the subnet or equal to a host address.";
    LB004, Error, "affinity-without-shared-secrets", "validate::rules::lb", "Round-robin load balancing while the nodes do not share secrets and storage.";
    LB005, Error, "tls-incomplete", "validate::rules::lb", "TLS on the LB without certificate and key (and not self_signed).";
    LB006, Error, "external-url-bypasses-lb", "validate::rules::lb", "external_url names a Harbor node, or one LB's own address while a VIP exists.";
    LB007, Error, "external-url-not-served", "validate::rules::lb", "A site without LB hosts has an external_url that its Harbor node does not serve (https, or another port).";
    HB001, Error, "harbor-version", "validate::rules::harbor", "The Harbor version is unknown, or a component is not available in it.";
    HB002, Error, "admin-password-policy", "validate::rules::harbor", "The admin password does not meet Harbor's policy.";
    HB003, Error, "loopback-url", "validate::rules::harbor", "external_url or a Harbor node address is localhost or a loopback address.";
    HB004, Error, "external-url-invalid", "validate::rules::harbor", "external_url is not an http(s) URL of scheme, host and port only.";
    HB005, Error, "notary-needs-https", "validate::rules::harbor", "Notary (Harbor 1.10-2.8) while the nodes serve plain HTTP behind TLS at the LB: prepare refuses.";
    RP001, Error, "replication-unknown-site", "validate::rules::replication", "A replication edge names an unknown site, or a site replicates to itself.";
    RP002, Warning, "replication-cycle", "validate::rules::replication", "A replication cycle other than a dual-master pair.";
    RP003, Warning, "dual-master", "validate::rules::replication", "Dual-master mode: unreliable, and a recovered node needs the resync script.";
    RP004, Warning, "event-without-schedule", "validate::rules::replication", "Event-based replication without a scheduled fallback.";
    RP005, Error, "replication-cron", "validate::rules::replication", "A replication cron is not Harbor's 6-field format.";
    RP006, Error, "replication-filter", "validate::rules::replication", "A replication filter Harbor would reject.";
    RP007, Warning, "replication-two-parents", "validate::rules::replication", "A site is fed by two upstream sites.";
    RP008, Error, "dual-master-shared-backend", "validate::rules::replication", "A dual-master site uses shared storage, an external database or an external Redis.";
    RP009, Error, "replication-credentials-missing", "validate::rules::replication", "A replication edge names a non-admin account but gives no credentials.";
    RP010, Error, "dual-master-token-realm", "validate::rules::replication", "Dual master on Harbor 2.14+ with an https external_url: peers over http get an https token realm.";
    MN001, Error, "prometheus-unreachable", "validate::rules::monitoring", "The Prometheus server is missing, names no host of the file, or is outside every site network.";
    MN002, Error, "metrics-unsupported", "validate::rules::monitoring", "Harbor metrics are asked for on a Harbor version without them (before 2.2).";
    MN003, Error, "syslog-endpoint-invalid", "validate::rules::monitoring", "log.syslog is not tcp://host:port or udp://host:port.";
    BK001, Error, "backup-on-own-storage", "validate::rules::backup", "The backup target lies on the storage it backs up (the NFS export, a data volume, the registry's bucket).";
    BK002, Warning, "no-backup", "validate::rules::backup", "A site with two or more Harbor nodes has no `backup` section.";
    BK003, Error, "backup-invalid", "validate::rules::backup", "The backup section cannot work: its target, keep, tool or password, or a site with Harbor's internal database.";
    SC001, Warning, "literal-secret", "validate::rules::secrets", "A secret is written literally in the topology file.";
    SC002, Error, "secret-unavailable", "validate::rules::secrets", "At render time a secret cannot be resolved (unset variable, unreadable file) or holds a value its target cannot carry.";
    AU001, Warning, "import-placeholder", "audit::import", "Import could not tell a value from the collected files: the topology has a commented placeholder for it.";
    AU002, Error, "collected-file-invalid", "audit::inventory", "A collected file cannot be read (facts.json or a YAML config that does not parse).";
    AU003, Error, "node-secrets-differ", "audit::rules", "The nodes of a shared-storage site do not share their secrets (secretkey, token key pair, CSRF/XSRF key, core or jobservice secret, registry http secret).";
    AU004, Error, "node-versions-differ", "audit::rules", "The nodes of a site run different Harbor releases or images.";
    AU005, Error, "node-settings-differ", "audit::rules", "The nodes disagree on external_url, cache, job_loggers, data_volume, the database, Redis or its indexes; or external_url is not the load balancer's URL.";
    AU006, Error, "upstream-not-harbor-nodes", "audit::rules", "A load balancer's upstream does not list exactly the Harbor nodes (address and http port).";
    AU007, Error, "lb-certificates-differ", "audit::rules", "The load balancers of a site serve different certificates.";
    CH001, Error, "harbor-downgrade", "change::rules", "A change plan moves a running site to an older Harbor release.";
    CH002, Error, "required-hop-missing", "change::rules", "A change plan's version change needs a hop that cannot be taken (a release that lacks an applied migration, an unknown release, or a stop the topology cannot be rendered for).";
    CH003, Error, "destructive-change", "change::rules", "A change plan removes or renames a running site, or changes its mode, storage backend or database location, without --allow-destructive.";
    CH004, Error, "postgres-upgrade-impossible", "change::rules", "A change plan needs a PostgreSQL version that no step can provide (a downgrade, a cluster's major upgrade, or a server that also moves).";
    IN001, Error, "unsafe-path", "validate::values", "A path is not absolute, contains `..`, or has characters outside [A-Za-z0-9._/+-].";
    IN002, Error, "invalid-host-name", "validate::values", "A host name, server name or interface is not a valid name.";
    IN003, Error, "unsafe-value", "validate::values", "A free-text value contains characters that cannot be carried safely into the generated files.";
    AL001, Error, "invalid-allow", "validate::allow", "An `allow` entry is not a rule code, or names a rule that is never a warning (errors cannot be allowed).";
}

/// Validation rules whose severity depends on the finding: an error by default, a warning
/// in some cases (`Diagnostic::with_severity`), so that their warnings can be allowed.
/// (CH003's warning exists only under `--allow-destructive`, which is its acceptance.)
const ALSO_WARNINGS: &[&str] = &["RD006", "RD008", "ST006"];

impl RuleCode {
    /// Whether the rule can report a warning (and so be named in `allow`): warnings by
    /// default, and the rules that downgrade some findings to warnings.
    #[must_use]
    pub fn can_warn(self) -> bool {
        self.default_severity() == Severity::Warning || ALSO_WARNINGS.contains(&self.as_str())
    }

    /// The known code or name closest to `s` (edit distance, case-insensitive for codes),
    /// for "did you mean" hints.
    #[must_use]
    pub fn closest(s: &str) -> RuleCode {
        let up = s.trim().to_ascii_uppercase();
        let low = s.trim().to_ascii_lowercase();
        let mut best = (usize::MAX, RuleCode::ALL[0]);
        for c in RuleCode::ALL {
            let d = edit_distance(&up, c.as_str()).min(edit_distance(&low, c.name()));
            if d < best.0 {
                best = (d, *c);
            }
        }
        best.1
    }
}

/// Levenshtein distance over characters (also the parser's "did you mean" for keys).
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

impl fmt::Display for RuleCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for RuleCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// An unknown rule code.
#[derive(Debug, thiserror::Error)]
#[error("unknown rule code `{0}`")]
pub struct UnknownCode(pub String);

impl FromStr for RuleCode {
    type Err = UnknownCode;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let up = s.trim().to_ascii_uppercase();
        RuleCode::ALL
            .iter()
            .copied()
            .find(|c| c.as_str() == up || c.name() == s.trim())
            .ok_or_else(|| UnknownCode(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_and_names_are_unique() {
        let codes: HashSet<_> = RuleCode::ALL.iter().map(|c| c.as_str()).collect();
        let names: HashSet<_> = RuleCode::ALL.iter().map(|c| c.name()).collect();
        assert_eq!(codes.len(), RuleCode::ALL.len());
        assert_eq!(names.len(), RuleCode::ALL.len());
    }

    #[test]
    fn the_closest_code_is_a_near_spelling() {
        assert_eq!(RuleCode::closest("HA07"), RuleCode::HA007);
        assert_eq!(RuleCode::closest("ha0007"), RuleCode::HA007);
        assert_eq!(RuleCode::closest("single-point-of-failur"), RuleCode::HA007);
        assert_eq!(RuleCode::closest("ST09"), RuleCode::ST009);
        assert_eq!(edit_distance("", "ab"), 2);
    }

    #[test]
    fn the_rules_that_also_warn_exist() {
        for c in ALSO_WARNINGS {
            let code: RuleCode = c.parse().unwrap();
            assert_eq!(code.default_severity(), Severity::Error, "{c} is a warning already");
            assert!(code.can_warn());
        }
        assert!(RuleCode::HA007.can_warn() && !RuleCode::HA003.can_warn());
    }

    #[test]
    fn codes_round_trip() {
        for c in RuleCode::ALL {
            assert_eq!(c.as_str().parse::<RuleCode>().unwrap(), *c);
            assert_eq!(c.name().parse::<RuleCode>().unwrap(), *c);
        }
    }

    #[test]
    fn every_code_has_complete_docs() {
        for c in RuleCode::ALL {
            let doc = c.doc();
            assert!(doc.starts_with(&format!("# {}", c.as_str())), "{c}: doc must start with its code");
            for heading in ["## What it checks", "## Why it matters", "## Example", "## Fix", "## Sources"] {
                assert!(doc.contains(heading), "{c}: doc lacks `{heading}`");
            }
        }
    }
}
