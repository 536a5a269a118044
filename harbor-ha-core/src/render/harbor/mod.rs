//! Harbor nodes: the facts that depend on the Harbor version (template version, installer
//! flags, databases, health path), [`yml`] (`harbor.yml`) and [`install`] (the node's
//! install steps).

pub mod compose;
pub mod install;
pub mod yml;

use crate::model::enums::Component;
use crate::model::resolved::{Database, Site};
use crate::model::version::Version;
use crate::render::{HostOut, RoleCtx};

pub use yml::harbor_yml;

/// Add the Harbor node's files and steps.
pub fn render(ctx: &RoleCtx, out: &mut HostOut) {
    install::render(ctx, out);
}

/// Where the offline installer is unpacked: `<install_dir>/harbor`.
#[must_use]
pub fn dir(site: &Site) -> String {
    format!("{}/harbor", site.harbor.install_dir.as_str().trim_end_matches('/'))
}

/// `_version` of the template of Harbor `v` (2.1 still says 2.0.0).
#[must_use]
pub fn template_version(v: Version) -> String {
    if v.major == 1 {
        "1.10.0".to_string()
    } else if v.minor <= 1 {
        "2.0.0".to_string()
    } else {
        format!("2.{}.0", v.minor)
    }
}

/// Flags for `prepare` and `install.sh` of Harbor `v` with `components`.
#[must_use]
pub fn installer_flags(site: &Site) -> Vec<&'static str> {
    let v = site.harbor.version;
    let c = &site.harbor.components;
    let mut f = Vec::new();
    if c.contains(&Component::Notary) && !v.at_least(2, 9) {
        f.push("--with-notary");
    }
    if c.contains(&Component::Clair) && !v.at_least(2, 2) {
        f.push("--with-clair");
    }
    if c.contains(&Component::Chartmuseum) && !v.at_least(2, 8) {
        f.push("--with-chartmuseum");
    }
    if c.contains(&Component::Trivy) && v.major >= 2 {
        f.push("--with-trivy");
    }
    f
}

/// The databases Harbor needs on an external PostgreSQL: the core DB, plus Clair's and
/// Notary's when those components are enabled (1.10–2.1 and 1.10–2.8).
#[must_use]
pub fn harbor_databases(site: &Site) -> Vec<String> {
    let Database::External(db) = &site.database else {
        return Vec::new();
    };
    let mut v = vec![db.db_name.as_str().to_string()];
    let ver = site.harbor.version;
    if site.harbor.components.contains(&Component::Clair) && !ver.at_least(2, 2) {
        v.push("clair".into());
    }
    if site.harbor.components.contains(&Component::Notary) && !ver.at_least(2, 9) {
        v.push("notaryserver".into());
        v.push("notarysigner".into());
    }
    v
}

/// The health endpoint of Harbor `v`.
#[must_use]
pub fn ping_path(v: Version) -> &'static str {
    if v.major == 1 {
        "/api/ping"
    } else {
        "/api/v2.0/ping"
    }
}
