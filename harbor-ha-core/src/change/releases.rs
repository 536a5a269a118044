//! The Harbor releases harbor-ha knows, in one table: per minor line, its latest patch, the
//! oldest minor its upgrade guide accepts, the PostgreSQL it needs, how its core migrates,
//! and the database schema version (the newest file of `make/migrations/postgresql/`) of
//! each patch. Every line names its sources. The upgrade planner ([`chain`]), the
//! database rule (DB002, through [`min_postgres`]) and the upgrade scripts read only this.
//!
//! Sources used throughout (read at each release tag of github.com/goharbor/harbor and at
//! each `release-X.Y.0` branch of github.com/goharbor/website):
//! - the upgrade guide, `docs/administration/upgrade/_index.md`: "This guide only covers
//!   migration from vA.B and later";
//! - `make/migrations/postgresql/*.up.sql`: the schema version a release migrates to is its
//!   newest file's number; golang-migrate (`migrate.go`, `readUp` → `versionExists`) stops
//!   with "no migration found for version N" when the database's version is not one of the
//!   release's files;
//! - `src/core/main.go`: `-mode=migrate` (migrate and exit) exists from v2.5.0;
//! - `src/migration/migration.go` (v2.0–v2.8): "please upgrade to version 1.10 first".

use crate::model::version::Version;

/// How a release's core migrates the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Migrator {
    /// `harbor_core -mode=migrate`: migrates and exits (v2.5.0 and later).
    MigrateMode,
    /// The core migrates when it starts: start one node alone and wait.
    StartAlone,
}

/// One minor line of Harbor.
#[derive(Debug, Clone, Copy)]
pub struct Line {
    /// `(major, minor)`.
    pub minor: (u32, u32),
    /// The newest patch released (and known here).
    pub latest: u32,
    /// The oldest minor this line's upgrade guide accepts as a starting point.
    pub upgrades_from: (u32, u32),
    /// The oldest PostgreSQL an external database may run.
    pub min_postgres: (u32, u32),
    /// Why that PostgreSQL minimum.
    pub postgres_why: &'static str,
    /// How the core migrates.
    pub migrator: Migrator,
    /// `(first patch, schema version)`: the schema version from that patch on.
    pub schemas: &'static [(u32, u32)],
    /// `(patch, migration)`: a migration older than the patch's newest that the patch does
    /// not ship (it was released before the migration was added to an older line).
    pub lacks: &'static [(u32, u32)],
    /// Where each fact of the line comes from.
    pub source: &'static str,
}

const PG96: &str = "Harbor's migrations use ADD COLUMN IF NOT EXISTS (goharbor/harbor#13403)";
const PG10: &str = "\"In Harbor v2.5, if you are using an external database, make sure the version of PostgreSQL >= 10\" (upgrade guide)";
const PG12: &str = "\"In Harbor v2.9, if you are using an external database, make sure the version of PostgreSQL >= 12\" (upgrade guide; jsonb_path_exists)";

/// Every minor line, oldest first.
pub const LINES: &[Line] = &[
    Line { minor: (1, 10), latest: 19, upgrades_from: (1, 8), min_postgres: (9, 6), postgres_why: PG96, migrator: Migrator::StartAlone,
        schemas: &[(0, 15)], lacks: &[],
        source: "website release-1.10 upgrade guide: from v1.8.x; migrations 0015_1.10.0 at v1.10.0..v1.10.19" },
    Line { minor: (2, 0), latest: 6, upgrades_from: (1, 9), min_postgres: (9, 6), postgres_why: PG96, migrator: Migrator::StartAlone,
        schemas: &[(0, 30), (3, 31)], lacks: &[],
        source: "website release-2.0.0 upgrade guide: from v1.9.x; migrations 0030_2.0.0, 0031_2.0.3" },
    Line { minor: (2, 1), latest: 6, upgrades_from: (1, 10), min_postgres: (9, 6), postgres_why: PG96, migrator: Migrator::StartAlone,
        schemas: &[(0, 40), (4, 41)], lacks: &[],
        source: "website release-2.1.0 upgrade guide: from v1.10.x; migrations 0040_2.1.0, 0041 (v2.1.4)" },
    Line { minor: (2, 2), latest: 4, upgrades_from: (1, 10), min_postgres: (9, 6), postgres_why: PG96, migrator: Migrator::StartAlone,
        schemas: &[(0, 50), (1, 51), (2, 52), (3, 53)], lacks: &[(0, 41)],
        source: "website release-2.2.0 upgrade guide: from v1.10.x; migrations 0050..0053 (v2.2.0..v2.2.3); v2.2.0 (2021-02-23) lacks 0041, added in v2.1.4 (2021-03-15) and in v2.2.1" },
    Line { minor: (2, 3), latest: 5, upgrades_from: (1, 10), min_postgres: (9, 6), postgres_why: PG96, migrator: Migrator::StartAlone,
        schemas: &[(0, 60), (4, 61)], lacks: &[],
        source: "website release-2.3.0 upgrade guide: from v1.10.x; migrations 0060_2.3.0, 0061 (v2.3.4)" },
    Line { minor: (2, 4), latest: 3, upgrades_from: (1, 10), min_postgres: (9, 6), postgres_why: PG96, migrator: Migrator::StartAlone,
        schemas: &[(0, 70), (2, 71)], lacks: &[],
        source: "website release-2.4.0 upgrade guide: from v1.10.x; migrations 0070_2.4.0, 0071 (v2.4.2)" },
    Line { minor: (2, 5), latest: 6, upgrades_from: (2, 3), min_postgres: (10, 0), postgres_why: PG10, migrator: Migrator::MigrateMode,
        schemas: &[(0, 80), (2, 81), (3, 82)], lacks: &[],
        source: "website release-2.5.0 upgrade guide: from v2.3.0, PostgreSQL >= 10; migrations 0080..0082; -mode=migrate in src/core/main.go from v2.5.0" },
    Line { minor: (2, 6), latest: 4, upgrades_from: (2, 4), min_postgres: (10, 0), postgres_why: PG10, migrator: Migrator::MigrateMode,
        schemas: &[(0, 90), (2, 91)], lacks: &[],
        source: "website release-2.6.0 upgrade guide: from v2.4.0; migrations 0090_2.6.0, 0091 (v2.6.2)" },
    Line { minor: (2, 7), latest: 4, upgrades_from: (2, 5), min_postgres: (10, 0), postgres_why: PG10, migrator: Migrator::MigrateMode,
        schemas: &[(0, 100)], lacks: &[],
        source: "website release-2.7.0 upgrade guide: from v2.5.0; migration 0100_2.7.0" },
    Line { minor: (2, 8), latest: 6, upgrades_from: (2, 6), min_postgres: (10, 0), postgres_why: PG10, migrator: Migrator::MigrateMode,
        schemas: &[(0, 110), (1, 111)], lacks: &[],
        source: "website release-2.8.0 upgrade guide: from v2.6.0; migrations 0110_2.8.0, 0111 (v2.8.1)" },
    Line { minor: (2, 9), latest: 5, upgrades_from: (2, 7), min_postgres: (12, 0), postgres_why: PG12, migrator: Migrator::MigrateMode,
        schemas: &[(0, 120)], lacks: &[],
        source: "website release-2.9.0 upgrade guide: from v2.7.0, PostgreSQL >= 12; migration 0120_2.9.0" },
    Line { minor: (2, 10), latest: 3, upgrades_from: (2, 8), min_postgres: (12, 0), postgres_why: PG12, migrator: Migrator::MigrateMode,
        schemas: &[(0, 130)], lacks: &[],
        source: "website release-2.10.0 upgrade guide: from v2.8.0; migration 0130_2.10.0" },
    Line { minor: (2, 11), latest: 2, upgrades_from: (2, 9), min_postgres: (12, 0), postgres_why: PG12, migrator: Migrator::MigrateMode,
        schemas: &[(0, 140)], lacks: &[],
        source: "website release-2.11.0 upgrade guide: from v2.9.0; migration 0140_2.11.0" },
    Line { minor: (2, 12), latest: 4, upgrades_from: (2, 10), min_postgres: (12, 0), postgres_why: PG12, migrator: Migrator::MigrateMode,
        schemas: &[(0, 150)], lacks: &[],
        source: "website release-2.12.0 upgrade guide: from v2.10.0; migration 0150_2.12.0" },
    Line { minor: (2, 13), latest: 5, upgrades_from: (2, 11), min_postgres: (12, 0), postgres_why: PG12, migrator: Migrator::MigrateMode,
        schemas: &[(0, 160)], lacks: &[],
        source: "website release-2.13.0 upgrade guide: from v2.11.0; migration 0160_2.13.0" },
    Line { minor: (2, 14), latest: 4, upgrades_from: (2, 11), min_postgres: (12, 0), postgres_why: PG12, migrator: Migrator::MigrateMode,
        schemas: &[(0, 170), (1, 171)], lacks: &[],
        source: "website release-2.14.0 upgrade guide: from v2.11.0; migrations 0170_2.14.0, 0171_2.14.1 (a patch release with a schema change)" },
    Line { minor: (2, 15), latest: 2, upgrades_from: (2, 12), min_postgres: (12, 0), postgres_why: PG12, migrator: Migrator::MigrateMode,
        schemas: &[(0, 180)], lacks: &[],
        source: "website release-2.15.0 upgrade guide: from v2.12.0; migration 0180_2.15.0 (0181_2.15.3 is on main, unreleased)" },
];

/// The line of `v`'s minor, when harbor-ha knows it.
#[must_use]
pub fn line(v: Version) -> Option<&'static Line> {
    LINES.iter().find(|l| l.minor == v.minor_key())
}

/// The oldest PostgreSQL an external database may run under Harbor `v` (9.6 for a minor
/// this table does not know), and why.
#[must_use]
pub fn min_postgres(v: Version) -> (Version, &'static str) {
    let (major, minor, why) = line(v).map_or((9, 6, PG96), |l| (l.min_postgres.0, l.min_postgres.1, l.postgres_why));
    (Version::new(major, minor), why)
}

/// Whether `v` is a release this table knows exactly (with its patch).
#[must_use]
pub fn known(v: Version) -> bool {
    match (line(v), v.patch) {
        (Some(l), Some(p)) => p <= l.latest,
        _ => false,
    }
}

/// The schema version of release `v` (`None` unless [`known`]).
#[must_use]
pub fn schema(v: Version) -> Option<u32> {
    let l = line(v)?;
    let p = v.patch.filter(|p| *p <= l.latest)?;
    l.schemas.iter().rev().find(|(from, _)| *from <= p).map(|(_, s)| *s)
}

/// How release `v`'s core migrates.
#[must_use]
pub fn migrator(v: Version) -> Migrator {
    line(v).map_or(Migrator::StartAlone, |l| l.migrator)
}

/// Whether release `to` ships migration `m` (every migration up to its own schema version
/// that some release had made, except those it lacks).
fn ships(to: Version, m: u32) -> bool {
    let (Some(l), Some(p), Some(s)) = (line(to), to.patch, schema(to)) else { return false };
    m <= s && !l.lacks.iter().any(|(lp, lm)| *lp == p && *lm == m)
}

/// Why a hop from one release to another cannot be taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HopRefusal {
    /// A release this table does not know (or a version without its patch).
    Unknown(Version),
    /// The target's upgrade guide does not accept the source's minor.
    NotAccepted {
        /// The oldest minor the target accepts.
        oldest: (u32, u32),
    },
    /// The database would be at a schema version that the target does not ship.
    MissingMigration {
        /// The migration the source ran.
        migration: u32,
    },
    /// Not an upgrade.
    NotNewer,
}

/// Whether Harbor's documents and code allow upgrading `from` → `to` in one hop.
///
/// # Errors
/// Why not.
pub fn hop_allowed(from: Version, to: Version) -> Result<(), HopRefusal> {
    for v in [from, to] {
        if !known(v) {
            return Err(HopRefusal::Unknown(v));
        }
    }
    if to <= from {
        return Err(HopRefusal::NotNewer);
    }
    let l = line(to).ok_or(HopRefusal::Unknown(to))?;
    if from.minor_key() < l.upgrades_from {
        return Err(HopRefusal::NotAccepted { oldest: l.upgrades_from });
    }
    let s = schema(from).ok_or(HopRefusal::Unknown(from))?;
    if !ships(to, s) {
        return Err(HopRefusal::MissingMigration { migration: s });
    }
    Ok(())
}

/// One hop of an upgrade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hop {
    /// The release running before.
    pub from: Version,
    /// The release running after.
    pub to: Version,
    /// The database's schema version before.
    pub schema_from: u32,
    /// The database's schema version after.
    pub schema_to: u32,
    /// How the target's core migrates.
    pub migrator: Migrator,
}

impl Hop {
    /// Whether the hop changes the database schema (a patch release may: 2.14.1).
    #[must_use]
    pub fn migrates(&self) -> bool {
        self.schema_from != self.schema_to
    }
}

/// Why there is no chain of hops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainError {
    /// A version this table does not know exactly.
    Unknown(Version),
    /// The target is older than the source.
    Downgrade,
    /// From `at`, no release up to the target can be reached in one hop; the last refusal
    /// (of the hop straight to the target).
    Blocked {
        /// The release the chain stops at.
        at: Version,
        /// Why the target cannot be reached from there.
        why: HopRefusal,
    },
}

/// The releases a chain may stop at on the way to `to`: the latest patch of each minor
/// line, and `to` itself.
fn stops(to: Version) -> Vec<Version> {
    let mut v: Vec<Version> = LINES
        .iter()
        .filter(|l| l.minor < to.minor_key())
        .map(|l| Version { major: l.minor.0, minor: l.minor.1, patch: Some(l.latest) })
        .collect();
    v.push(to);
    v
}

/// The hops from `from` to `to`: at each step the newest allowed stop (the latest patch of
/// its minor, or the target), so that the chain has as few hops as the matrix allows.
/// Empty when the versions are equal.
///
/// # Errors
/// [`ChainError`]: an unknown release, a downgrade, or a blocked path.
pub fn chain(from: Version, to: Version) -> Result<Vec<Hop>, ChainError> {
    for v in [from, to] {
        if !known(v) {
            return Err(ChainError::Unknown(v));
        }
    }
    if to < from {
        return Err(ChainError::Downgrade);
    }
    let candidates = stops(to);
    let mut hops = Vec::new();
    let mut cur = from;
    while cur != to {
        let next = candidates.iter().rev().copied().find(|s| *s > cur && hop_allowed(cur, *s).is_ok());
        let Some(next) = next else {
            let why = hop_allowed(cur, to).err().unwrap_or(HopRefusal::NotNewer);
            return Err(ChainError::Blocked { at: cur, why });
        };
        hops.push(Hop {
            from: cur,
            to: next,
            schema_from: schema(cur).unwrap_or(0),
            schema_to: schema(next).unwrap_or(0),
            migrator: migrator(next),
        });
        cur = next;
    }
    Ok(hops)
}

/// Every release the table knows, oldest first.
#[must_use]
pub fn all_releases() -> Vec<Version> {
    LINES
        .iter()
        .flat_map(|l| (0..=l.latest).map(move |p| Version { major: l.minor.0, minor: l.minor.1, patch: Some(p) }))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, VecDeque};

    fn v(s: &str) -> Version {
        s.parse().unwrap()
    }

    /// The fewest hops from `from` to `to` over every allowed hop between known releases
    /// (breadth first): what the greedy chain must match.
    fn fewest_hops(from: Version, to: Version) -> Option<usize> {
        let all = all_releases();
        let mut dist: BTreeMap<Version, usize> = BTreeMap::from([(from, 0)]);
        let mut q = VecDeque::from([from]);
        while let Some(cur) = q.pop_front() {
            if cur == to {
                return dist.get(&cur).copied();
            }
            for n in all.iter().copied().filter(|n| *n <= to && hop_allowed(cur, *n).is_ok()) {
                if !dist.contains_key(&n) {
                    dist.insert(n, dist[&cur] + 1);
                    q.push_back(n);
                }
            }
        }
        None
    }

    #[test]
    fn the_table_is_ordered_and_consistent() {
        for w in LINES.windows(2) {
            assert!(w[0].minor < w[1].minor);
            assert!(w[0].upgrades_from <= w[1].upgrades_from, "accepted sources never go back");
            assert!(w[0].min_postgres <= w[1].min_postgres);
            assert!(w[0].schemas.last().unwrap().1 < w[1].schemas[0].1, "schema versions grow with the minor");
        }
        for l in LINES {
            assert_eq!(l.schemas[0].0, 0, "{:?}: a schema from patch 0", l.minor);
            assert!(l.schemas.iter().all(|(p, _)| *p <= l.latest));
            assert!(!l.source.is_empty());
        }
    }

    #[test]
    fn schema_versions_per_release() {
        assert_eq!(schema(v("1.10.2")), Some(15));
        assert_eq!(schema(v("2.0.2")), Some(30));
        assert_eq!(schema(v("2.0.3")), Some(31));
        assert_eq!(schema(v("2.8.0")), Some(110));
        assert_eq!(schema(v("2.8.6")), Some(111));
        assert_eq!(schema(v("2.14.0")), Some(170));
        assert_eq!(schema(v("2.14.1")), Some(171));
        assert_eq!(schema(v("2.15.2")), Some(180));
        assert_eq!(schema(v("2.15.3")), None, "not released when the table was made");
        assert_eq!(schema(v("2.15")), None, "a version without its patch is not a release");
        assert_eq!(schema(v("1.9.4")), None);
    }

    #[test]
    fn the_documented_chain_from_1_10_to_2_15() {
        let c = chain(v("1.10.2"), v("2.15.2")).unwrap();
        let stops: Vec<String> = c.iter().map(|h| h.to.to_string()).collect();
        assert_eq!(stops, ["2.4.3", "2.6.4", "2.8.6", "2.10.3", "2.12.4", "2.15.2"]);
        assert_eq!(c[0].migrator, Migrator::StartAlone);
        assert!(c[1..].iter().all(|h| h.migrator == Migrator::MigrateMode));
        assert_eq!((c[0].schema_from, c[0].schema_to), (15, 71));
    }

    #[test]
    fn a_patch_with_a_schema_change_is_a_migrating_hop() {
        let c = chain(v("2.14.0"), v("2.14.4")).unwrap();
        assert_eq!(c.len(), 1);
        assert!(c[0].migrates());
        let c = chain(v("2.15.0"), v("2.15.2")).unwrap();
        assert!(!c[0].migrates());
    }

    #[test]
    fn a_release_that_lacks_an_applied_migration_is_refused() {
        // 2.2.0 was released before 2.1.4 added migration 41.
        assert_eq!(hop_allowed(v("2.1.4"), v("2.2.0")), Err(HopRefusal::MissingMigration { migration: 41 }));
        assert!(hop_allowed(v("2.1.3"), v("2.2.0")).is_ok());
        assert!(hop_allowed(v("2.1.6"), v("2.2.1")).is_ok());
        assert!(matches!(chain(v("2.1.6"), v("2.2.0")), Err(ChainError::Blocked { .. })));
    }

    #[test]
    fn downgrades_and_unknown_releases() {
        assert_eq!(chain(v("2.8.6"), v("2.8.4")), Err(ChainError::Downgrade));
        assert_eq!(chain(v("2.8.6"), v("2.16.0")), Err(ChainError::Unknown(v("2.16.0"))));
        assert_eq!(chain(v("2.8"), v("2.9.1")), Err(ChainError::Unknown(v("2.8"))));
        assert_eq!(chain(v("2.8.6"), v("2.8.6")), Ok(Vec::new()));
    }

    /// Every pair of known releases: the chain exists exactly when some path of allowed hops
    /// exists, every hop is allowed by the matrix, the stops are latest patches, and the
    /// chain is as short as any path.
    #[test]
    fn every_pair_of_supported_versions_against_the_matrix() {
        let all = all_releases();
        let mut pairs = 0;
        for &from in &all {
            for &to in all.iter().filter(|t| **t >= from) {
                pairs += 1;
                let best = fewest_hops(from, to);
                match chain(from, to) {
                    Ok(c) => {
                        assert_eq!(Some(c.len()), best, "{from} -> {to}: {c:?}");
                        let mut cur = from;
                        for (i, h) in c.iter().enumerate() {
                            assert_eq!(h.from, cur);
                            assert!(hop_allowed(h.from, h.to).is_ok(), "{from} -> {to}: hop {h:?}");
                            let l = line(h.to).unwrap();
                            assert!(h.from.minor_key() >= l.upgrades_from, "the guide of {} accepts {}", h.to, h.from);
                            if i + 1 < c.len() {
                                assert_eq!(
                                    h.to.patch,
                                    Some(l.latest),
                                    "an intermediate stop is its line's latest patch"
                                );
                            }
                            assert_eq!(h.migrator == Migrator::MigrateMode, h.to.at_least(2, 5));
                            cur = h.to;
                        }
                        assert_eq!(cur, to);
                    }
                    Err(e) => assert_eq!(best, None, "{from} -> {to}: {e:?} but a path exists"),
                }
            }
        }
        assert!(pairs > 4000, "{pairs}");
    }

    #[test]
    fn postgres_minimums() {
        assert_eq!(min_postgres(v("1.10.2")).0, Version::new(9, 6));
        assert_eq!(min_postgres(v("2.4.3")).0, Version::new(9, 6));
        assert_eq!(min_postgres(v("2.5.0")).0, Version::new(10, 0));
        assert_eq!(min_postgres(v("2.9.0")).0, Version::new(12, 0));
        assert_eq!(min_postgres(v("2.15")).0, Version::new(12, 0));
    }
}
