//! DB001–DB004.

use super::sp;
use crate::model::resolved::{Database, Site};
use crate::model::secret::Secret;
use crate::model::spec::{SiteMode, SiteSpec};
use crate::validate::codes::RuleCode;
use crate::validate::resolve::db_connections_needed;
use crate::validate::Ctx;

pub(super) fn check(site: &Site, raw: &SiteSpec, ctx: &mut Ctx) {
    let s = sp(site.index);
    let nodes = site.harbor_nodes().count();
    let db = match &site.database {
        Database::Internal => {
            if nodes > 1 && site.mode == SiteMode::SharedStorage {
                ctx.emit(
                    RuleCode::DB001,
                    format!("{s}.database"),
                    format!("site `{}` has {nodes} Harbor nodes and no external database", site.name),
                    "add a `database` section and a host with role postgres (or database.host for an existing server)",
                );
            }
            return;
        }
        Database::External(db) => db,
    };
    let v = site.harbor.version;
    let pg = db.version;
    let vpath = if raw.database.as_ref().is_some_and(|d| d.version.is_some()) {
        format!("{s}.database.version")
    } else {
        format!("{s}.database")
    };
    let min = if v.at_least(2, 9) {
        Some((12, "Harbor 2.9 and later need PostgreSQL 12 or later (jsonb_path_exists)"))
    } else if v.at_least(2, 5) {
        Some((10, "Harbor 2.5 and later need PostgreSQL 10 or later"))
    } else if pg.minor_key() < (9, 6) {
        Some((9, "Harbor's migrations need PostgreSQL 9.6 or later"))
    } else {
        None
    };
    if let Some((major, why)) = min {
        let too_old = if major == 9 { pg.minor_key() < (9, 6) } else { pg.major < major };
        if too_old {
            ctx.emit(
                RuleCode::DB002,
                vpath,
                format!("site `{}`: PostgreSQL {} is too old for Harbor {v}: {why}", site.name, pg.postgres_text()),
                format!(
                    "use PostgreSQL {} or later (set database.version)",
                    if major == 9 { "9.6".to_string() } else { major.to_string() }
                ),
            );
        }
    }
    // DB003
    if matches!(&db.password, Secret::Literal(p) if p.is_empty()) {
        ctx.emit(
            RuleCode::DB003,
            format!("{s}.database.password"),
            format!("site `{}`: the database has no password", site.name),
            "set database.password, e.g. {env: HARBOR_DB_PASSWORD}",
        );
    }
    if db.username.as_str() == "postgres" && db.installed_on.is_some() {
        ctx.emit(
            RuleCode::DB003,
            format!("{s}.database.username"),
            format!("site `{}`: Harbor would log in as the superuser `postgres`", site.name),
            "use a dedicated role (the default `harbor`): the bundle sets its password and admits the nodes with it",
        );
    }
    // DB004
    let needed = db_connections_needed(site, db.max_open_conns);
    if db.max_connections < needed {
        ctx.emit(
            RuleCode::DB004,
            format!("{s}.database.max_connections"),
            format!(
                "site `{}`: max_connections {} is below the {needed} that {nodes} nodes may open ({} pools of max_open_conns {} each, plus reserved)",
                site.name,
                db.max_connections,
                nodes * crate::validate::resolve::db_components(site) as usize,
                db.max_open_conns
            ),
            format!("raise database.max_connections to at least {needed}, or lower database.max_open_conns"),
        );
    }
}
