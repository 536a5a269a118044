//! The render guard: [`super::render`] refuses a [`Topology`] holding a value that validation
//! refuses as unsafe (names, paths, host names, interfaces, SQL identifiers, free text,
//! replication filters), with the same rule codes and the same predicates.
//!
//! Validation hands out a `Topology` only without errors, but the type's fields are public:
//! a library user can build or change one by hand. The renderers quote or encode every value
//! (`quote.rs`; the e2e canary test proves that on its own), and this guard is the second
//! layer: such a value never reaches them. It also covers the one context no quoting can make
//! safe, a `$` in an nginx directive that expands variables.
//!
//! Secrets are not checked here: they are resolved at render time and checked where they are
//! used (SC002). Object-store settings only reach `harbor.yml`, which is serialized.

use crate::diag::Diagnostic;
use crate::model::ids::{is_plain_sql_ident, is_safe_path, is_valid_dns_name, is_valid_interface, is_valid_name};
use crate::model::resolved::{Database, Redis, Storage, Tls, Topology};
use crate::validate::codes::RuleCode;
use crate::validate::{default_tls_path, filter_ok, is_mount_options, is_safe_text, is_sentinel_addr};

/// Every unsafe value of `topo`, as diagnostics with the topology path of the value.
#[must_use]
pub fn check(topo: &Topology) -> Vec<Diagnostic> {
    let mut g = Guard(Vec::new());
    for site in &topo.sites {
        let sp = format!("sites[{}]", site.index);
        g.name(&format!("{sp}.name"), site.name.as_str());
        g.path(&format!("{sp}.harbor.install_dir"), site.harbor.install_dir.as_str());
        for h in &site.hosts {
            let hp = format!("{sp}.hosts[{}]", h.index);
            g.name(&format!("{hp}.name"), h.name.as_str());
            g.path(&format!("{hp}.data_volume"), h.data_volume.as_str());
            if !is_valid_interface(h.interface.as_str()) {
                g.bad(RuleCode::IN002, format!("{hp}.interface"), "interface name");
            }
        }
        match &site.storage {
            Storage::Nfs(n) => {
                g.path(&format!("{sp}.storage.nfs.export"), n.export.as_str());
                g.path(&format!("{sp}.storage.nfs.mount"), n.mount.as_str());
                if !is_mount_options(&n.options) {
                    g.bad(RuleCode::IN003, format!("{sp}.storage.nfs.options"), "mount options");
                }
                if let Some(s) = &n.server_host {
                    g.name(&format!("{sp}.storage.nfs.server"), s.as_str());
                }
            }
            Storage::Gcs(gcs) => {
                if let Some(k) = &gcs.keyfile {
                    g.path(&format!("{sp}.storage.gcs.keyfile"), k.as_str());
                }
            }
            _ => {}
        }
        if let Database::External(db) = &site.database {
            let p = format!("{sp}.database");
            g.dns_or_empty(&format!("{p}.host"), db.host.as_str());
            for (k, v) in [("username", &db.username), ("db_name", &db.db_name)] {
                if !is_plain_sql_ident(v.as_str()) {
                    g.bad(RuleCode::IN003, format!("{p}.{k}"), "SQL identifier");
                }
            }
        }
        if let Redis::External(r) = &site.redis {
            let p = format!("{sp}.redis");
            g.dns_or_empty(&format!("{p}.host"), r.host.as_str());
            if let Some(u) = &r.username {
                g.text(&format!("{p}.username"), u);
            }
            if let Some(sn) = &r.sentinel {
                if !sn.master_set.is_empty() {
                    g.text(&format!("{p}.sentinel.master_set"), &sn.master_set);
                }
                for (i, h) in sn.hosts.iter().enumerate() {
                    if !is_sentinel_addr(h) {
                        g.bad(RuleCode::IN002, format!("{p}.sentinel.hosts[{i}]"), "Sentinel address");
                    }
                }
            }
        }
        if let Some(lb) = &site.lb {
            let p = format!("{sp}.load_balancer");
            g.dns(&format!("{p}.server_name"), lb.server_name.as_str());
            if let Tls::Files { certificate, key } | Tls::SelfSigned { certificate, key } = &lb.tls {
                // Validation checks the paths written in the file; the defaults are built from
                // the server name (checked above), which may be an IPv6 address with `:`.
                for (k, v, ext) in [("certificate", certificate, "crt"), ("key", key, "key")] {
                    if v.as_str() != default_tls_path(lb.server_name.as_str(), ext) {
                        g.path(&format!("{p}.tls.{k}"), v.as_str());
                    }
                }
            }
        }
    }
    for e in &topo.edges {
        let p = format!("replication[{}]", e.index);
        g.name(&format!("{p}.from"), e.from.as_str());
        g.name(&format!("{p}.to"), e.to.as_str());
        g.text(&format!("{p}.username"), &e.username);
        if let Some(l) = &e.filters.label {
            g.text(&format!("{p}.filters.label"), l);
        }
        for (k, v) in [("repository", &e.filters.repository), ("tag", &e.filters.tag)] {
            if let Some(v) = v {
                if !filter_ok(v) {
                    g.bad(RuleCode::RP006, format!("{p}.filters.{k}"), "replication filter");
                }
            }
        }
    }
    g.0
}

struct Guard(Vec<Diagnostic>);

impl Guard {
    fn bad(&mut self, code: RuleCode, path: String, what: &str) {
        let message = format!("refusing to render: `{path}` is not a valid {what} (validation reports it as {code})");
        self.0.push(Diagnostic::new(code, path, message, "validate the topology and fix what it reports, then render"));
    }

    fn name(&mut self, path: &str, v: &str) {
        if !is_valid_name(v) {
            self.bad(RuleCode::HA002, path.to_string(), "site or host name");
        }
    }

    fn path(&mut self, path: &str, v: &str) {
        if !is_safe_path(v) {
            self.bad(RuleCode::IN001, path.to_string(), "absolute path");
        }
    }

    fn dns(&mut self, path: &str, v: &str) {
        if !is_valid_dns_name(v) {
            self.bad(RuleCode::IN002, path.to_string(), "host name or address");
        }
    }

    /// A database or Redis host: empty when it is not set (Sentinel, or no host with the role).
    fn dns_or_empty(&mut self, path: &str, v: &str) {
        if !v.is_empty() {
            self.dns(path, v);
        }
    }

    fn text(&mut self, path: &str, v: &str) {
        if !is_safe_text(v) {
            self.bad(RuleCode::IN003, path.to_string(), "plain text value");
        }
    }
}
