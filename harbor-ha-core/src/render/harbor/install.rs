//! The install steps of a Harbor node: Docker and Compose, the data volume (NFS mount and
//! mount ordering, ownership), the keys `prepare` creates once, the offline installer, and
//! the shared secrets pinned after `prepare`.

use std::fmt::Write;

use super::{dir, installer_flags, ping_path};
use crate::model::resolved::Storage;
use crate::render::os::PkgManager;
use crate::render::quote::{octal_field, sh, systemd_word};
use crate::render::{HostOut, RoleCtx};
use crate::secrets::SiteSecrets;

/// The environment file holding the pinned per-install secrets (sourced by install.sh).
const SECRET_ENV: &str = "/etc/harbor-ha/shared-secrets.env";

/// Add the Harbor node's files and steps, in the order they run.
pub fn render(ctx: &RoleCtx, out: &mut HostOut) {
    docker(ctx, out);
    data_volume(ctx, out);
    shared_keys(ctx, out);
    installer(ctx, out);
    pin_secrets(ctx, out);
}

/// The node's data volume without a trailing `/` (`/` for the root).
fn data_dir(ctx: &RoleCtx) -> String {
    let data = ctx.host.data_volume.as_str().trim_end_matches('/').to_string();
    if data.is_empty() {
        "/".to_string()
    } else {
        data
    }
}

/// The content of [`SECRET_ENV`].
fn secrets_env(ctx: &RoleCtx, s: &SiteSecrets) -> String {
    format!(
        "# Shared by every Harbor node of site {}: generated once by harbor-ha.\nCORE_SECRET={}\nJOBSERVICE_SECRET={}\nCSRF_KEY={}\nXSRF_KEY={}\nREGISTRY_HTTP_SECRET={}\nROBOT_SCANNER_NAME_PREFIX={}\n",
        ctx.site.name, s.core_secret, s.jobservice_secret, s.csrf_key, s.xsrf_key, s.registry_http_secret, s.robot_scanner_prefix
    )
}

/// Docker, Compose and the kernel settings for Harbor's containers.
fn docker(ctx: &RoleCtx, out: &mut HostOut) {
    // Docker, compose, sysctl.
    out.file(format!("{}/90-harbor.conf", ctx.os.sysctl_dir), "# harbor-ha: Docker networking for Harbor's containers.\nnet.ipv4.ip_forward = 1\nnet.bridge.bridge-nf-call-iptables = 1\nnet.bridge.bridge-nf-call-ip6tables = 1\n", 0o644);
    let mut b = String::new();
    if !ctx.os.docker_repo.is_empty() {
        let _ = writeln!(b, "{}", ctx.os.docker_repo);
    }
    let _ = writeln!(b, "pkgs {}", ctx.os.docker_pkgs.iter().map(|p| sh(p)).collect::<Vec<_>>().join(" "));
    if ctx.os.pkg != PkgManager::Apt {
        // Harbor 1.10's install.sh calls `docker-compose`; the plugin provides `docker compose`.
        out.file("/usr/local/bin/docker-compose", "#!/bin/sh\n# harbor-ha: Harbor's installer calls docker-compose; forward to the compose plugin.\nexec docker compose \"$@\"\n", 0o755);
        let _ = writeln!(b, "command -v docker-compose >/dev/null 2>&1 || put /usr/local/bin/docker-compose 0755");
    }
    let _ = writeln!(b, "enable_now docker");
    let _ = writeln!(b, "put {} 0644", sh(&format!("{}/90-harbor.conf", ctx.os.sysctl_dir)));
    let _ = writeln!(
        b,
        "if [ \"$PUT_CHANGED\" -eq 1 ]; then modprobe br_netfilter || true; sysctl --system >/dev/null; fi"
    );
    out.step("Docker engine, Compose and kernel settings", b);
}

/// The data volume: the NFS mount (fstab, mounted now), Docker ordered after it, and the
/// directories Harbor's containers (uid 10000) write.
fn data_volume(ctx: &RoleCtx, out: &mut HostOut) {
    let site = ctx.site;
    let data = data_dir(ctx);
    // Shared storage: NFS client, fstab, mount ordering.
    let mut b = String::new();
    let _ = writeln!(b, "mkdir -p {}", sh(&data));
    if let Storage::Nfs(n) = &site.storage {
        let _ = writeln!(b, "pkgs {}", ctx.os.nfs_client.iter().map(|p| sh(p)).collect::<Vec<_>>().join(" "));
        let server = match n.server {
            std::net::IpAddr::V6(a) => format!("[{a}]"),
            a @ std::net::IpAddr::V4(_) => a.to_string(),
        };
        let line = format!(
            "{} {} nfs {} 0 0",
            octal_field(&format!("{server}:{}", n.export.as_str())),
            octal_field(n.mount.as_str()),
            octal_field(n.options.as_str())
        );
        let _ = writeln!(b, "ensure_line /etc/fstab {}", sh(&line));
        let _ = writeln!(b, "mountpoint -q {m} || {{ mount {m}; CHANGED=1; }}", m = sh(n.mount.as_str()));
    }
    // Docker must not start before the data volume is mounted: otherwise Harbor writes
    // into the empty local directory under the mount point.
    out.file(
        "/etc/systemd/system/docker.service.d/harbor-data-volume.conf",
        format!(
            "# harbor-ha: start Docker only once Harbor's data volume is mounted.\n[Unit]\nRequiresMountsFor={}\n",
            systemd_word(&data)
        ),
        0o644,
    );
    let _ = writeln!(b, "put /etc/systemd/system/docker.service.d/harbor-data-volume.conf 0644");
    let _ = writeln!(b, "if [ \"$PUT_CHANGED\" -eq 1 ]; then systemctl daemon-reload; fi");
    // Harbor's containers run as uid 10000; pre-own the paths so root_squash does no harm.
    let _ = writeln!(b, "for d in registry job_logs secret secret/keys secret/core secret/registry; do");
    let _ = writeln!(b, "  mkdir -p {}/\"$d\"", sh(&data));
    let _ = writeln!(
        b,
        "  if [ \"$(stat -c '%u:%g' {}/\"$d\")\" != 10000:10000 ]; then chown 10000:10000 {}/\"$d\"; CHANGED=1; fi",
        sh(&data),
        sh(&data)
    );
    let _ = writeln!(b, "done");
    out.step(
        if matches!(site.storage, Storage::Nfs(_)) {
            "shared data volume: NFS mount, mount ordering, ownership (uid 10000)"
        } else {
            "data volume: mount ordering, ownership (uid 10000)"
        },
        b,
    );
}

/// The keys `prepare` creates once, pre-seeded so that every node has the same ones. A key
/// already on the node that differs from the bundle's is never replaced silently: Harbor
/// encrypts the credentials it stores with `secretkey`, and signs tokens with the token key
/// (a render into a new directory makes new ones). The script stops and says how to keep
/// it, unless the operator sets `HARBOR_HA_REPLACE_KEYS=1`.
fn shared_keys(ctx: &RoleCtx, out: &mut HostOut) {
    let data = data_dir(ctx);
    let site = ctx.site.name.as_str();
    // Keys prepare creates once: pre-seed them so that every node has the same ones.
    type KeyFile = (String, &'static str, &'static str, fn(&SiteSecrets) -> String);
    let keyfiles: [KeyFile; 3] = [
        // secretkey must be exactly 16 characters: no trailing newline.
        (
            format!("{data}/secret/keys/secretkey"),
            "secret_key",
            "it encrypts the credentials Harbor keeps in its database (registry endpoints of replication, LDAP and OIDC secrets): with another key they can no longer be decrypted",
            |s| s.secret_key.trim_end().to_string(),
        ),
        (
            format!("{data}/secret/core/private_key.pem"),
            "token_private_key.pem",
            "it signs Harbor's tokens: a node with another key than the others causes 401s",
            |s| s.token_private_key.clone(),
        ),
        (
            format!("{data}/secret/registry/root.crt"),
            "token_certificate.pem",
            "it verifies Harbor's tokens: a node with another certificate than the others causes 401s",
            |s| s.token_certificate.clone(),
        ),
    ];
    let mut b = String::new();
    let _ =
        writeln!(b, "# put_key TARGET NAME WHY: put, but never over an existing key that differs from the bundle's");
    let _ =
        writeln!(b, "# (unless HARBOR_HA_REPLACE_KEYS=1): NAME is its file under secrets/<site>/, WHY what it does.");
    let _ = writeln!(b, "put_key() {{");
    let _ = writeln!(
        b,
        "  if [ -s \"$1\" ] && ! cmp -s \"$FILES$1\" \"$1\" && [ \"${{HARBOR_HA_REPLACE_KEYS:-0}}\" != 1 ]; then"
    );
    let _ = writeln!(b, "    die \"$1 already exists and differs from this bundle's: $3. This bundle was rendered with other secrets than this node has (a render into a new directory makes new ones). Keep the node's key: copy $1 to secrets/{site}/$2 of the bundle directory (mode 0600; both token files together), render again into that directory and run the new install.sh. Or, to replace it knowingly, run again with HARBOR_HA_REPLACE_KEYS=1.\"");
    let _ = writeln!(b, "  fi");
    let _ = writeln!(b, "  put \"$1\" 0600 10000:10000");
    let _ = writeln!(b, "}}");
    for (path, name, why, content) in keyfiles {
        out.secret_file(path.clone(), 0o600, |sec| content(sec.shared));
        let _ = writeln!(b, "put_key {} {} {}", sh(&path), sh(name), sh(why));
    }
    out.secret_file(SECRET_ENV, 0o600, |sec| secrets_env(ctx, sec.shared));
    let _ = writeln!(b, "put {SECRET_ENV} 0600");
    out.step(
        "shared keys: secretkey and token signing pair, identical on every node (before prepare; an existing different key stops the script)",
        b,
    );
}

/// The offline installer: `prepare` and `install.sh` with the version's component flags.
fn installer(ctx: &RoleCtx, out: &mut HostOut) {
    let site = ctx.site;
    let v = site.harbor.version;
    let harbor_dir = dir(site);
    // Offline installer: prepare + install.sh with the version's component flags.
    super::yml::add(ctx, out);
    let flags = installer_flags(site).join(" ");
    let flags_sh = if flags.is_empty() { String::new() } else { format!(" {flags}") };
    let mut b = String::new();
    let _ = writeln!(b, "HARBOR_DIR={}", sh(&harbor_dir));
    let _ = writeln!(
        b,
        "[ -x \"$HARBOR_DIR/install.sh\" ] || die {}",
        sh(&format!(
            "unpack harbor-offline-installer-v{v}.tgz into {d} first (tar xzf harbor-offline-installer-v{v}.tgz -C {d})",
            d = site.harbor.install_dir.as_str()
        ))
    );
    let _ = writeln!(b, "put \"$HARBOR_DIR/harbor.yml\" 0600");
    let _ = writeln!(b, "YML_CHANGED=$PUT_CHANGED");
    compose_override(ctx, out, &mut b);
    let _ = writeln!(b, "FRESH=0");
    let _ = writeln!(b, "if [ ! -f \"$HARBOR_DIR/docker-compose.yml\" ]; then");
    let _ = writeln!(b, "  (cd \"$HARBOR_DIR\" && ./install.sh{flags_sh})");
    let _ = writeln!(b, "  FRESH=1; CHANGED=1");
    let _ = writeln!(b, "elif [ \"$YML_CHANGED\" -eq 1 ]; then");
    let _ = writeln!(b, "  (cd \"$HARBOR_DIR\" && ./prepare{flags_sh})");
    let _ = writeln!(b, "  FRESH=1");
    let _ = writeln!(b, "fi");
    out.step(format!("Harbor {v} offline installer (prepare, then install.sh{flags_sh})"), b);
}

/// `docker-compose.override.yml` ([`super::compose`]), put before `install.sh` runs compose
/// (`RECREATE=1` when it changed), with the node-local Trivy directories it binds; or a stale
/// one of an earlier render removed.
fn compose_override(ctx: &RoleCtx, out: &mut HostOut, b: &mut String) {
    let path = super::compose::path(ctx);
    let _ = writeln!(b, "RECREATE=0");
    if super::compose::add(ctx, out) {
        if super::compose::trivy_local(ctx) {
            let local = super::compose::TRIVY_LOCAL;
            let _ = writeln!(b, "# Trivy's cache on this node's disk: its BoltDB must not be shared over NFS.");
            let _ = writeln!(b, "for d in trivy reports; do");
            let _ = writeln!(b, "  mkdir -p {}/\"$d\"", sh(local));
            let _ = writeln!(
                    b,
                    "  if [ \"$(stat -c '%u:%g' {l}/\"$d\")\" != 10000:10000 ]; then chown 10000:10000 {l}/\"$d\"; CHANGED=1; fi",
                    l = sh(local)
                );
            let _ = writeln!(b, "done");
        }
        let _ = writeln!(b, "put {} 0644", sh(&path));
        let _ = writeln!(b, "RECREATE=$PUT_CHANGED");
    } else {
        let _ = writeln!(
            b,
            "if grep -qs '^# Generated by harbor-ha' {p}; then rm -f {p}; RECREATE=1; CHANGED=1; fi",
            p = sh(&path)
        );
    }
}

/// After `prepare`: the per-run secrets overwritten with the shared ones, then Harbor
/// (re)started and waited for.
fn pin_secrets(ctx: &RoleCtx, out: &mut HostOut) {
    let site = ctx.site;
    let v = site.harbor.version;
    // After prepare: overwrite the per-run secrets with the shared ones.
    let mut b = String::new();
    let _ = writeln!(b, "# shellcheck disable=SC1091");
    let _ = writeln!(b, ". {SECRET_ENV}");
    let _ = writeln!(b, "PINNED=0");
    let _ = writeln!(b, "# set_kv FILE KEY VALUE: make KEY=VALUE the file's line for KEY.");
    let _ = writeln!(b, "set_kv() {{");
    let _ = writeln!(b, "  [ -f \"$1\" ] || die \"$1 is missing: did prepare run?\"");
    let _ = writeln!(b, "  grep -qx \"$2=$3\" \"$1\" && return 0");
    let _ = writeln!(b, "  if grep -q \"^$2=\" \"$1\"; then sed -i \"s|^$2=.*|$2=$3|\" \"$1\"; else printf '%s=%s\\n' \"$2\" \"$3\" >> \"$1\"; fi");
    let _ = writeln!(b, "  PINNED=1");
    let _ = writeln!(b, "}}");
    let _ = writeln!(b, "CFG=\"$HARBOR_DIR/common/config\"");
    let _ = writeln!(b, "for f in core/env jobservice/env registryctl/env; do");
    let _ = writeln!(b, "  set_kv \"$CFG/$f\" CORE_SECRET \"$CORE_SECRET\"");
    let _ = writeln!(b, "  set_kv \"$CFG/$f\" JOBSERVICE_SECRET \"$JOBSERVICE_SECRET\"");
    let _ = writeln!(b, "done");
    if v.major >= 2 {
        let _ = writeln!(b, "set_kv \"$CFG/core/env\" CSRF_KEY \"$CSRF_KEY\"");
    } else {
        let _ = writeln!(b, "if ! grep -qx \"XSRFKey = $XSRF_KEY\" \"$CFG/core/app.conf\"; then");
        let _ = writeln!(b, "  sed -i \"s|^XSRFKey *=.*|XSRFKey = $XSRF_KEY|\" \"$CFG/core/app.conf\"; PINNED=1");
        let _ = writeln!(b, "fi");
    }
    if v.at_least(2, 8) {
        let _ = writeln!(b, "set_kv \"$CFG/core/env\" ROBOT_SCANNER_NAME_PREFIX \"$ROBOT_SCANNER_NAME_PREFIX\"");
    }
    let _ = writeln!(b, "# The registry's upload-state secret (http.secret): chunks of one upload may reach any node.");
    let _ = writeln!(b, "if ! grep -qx \"  secret: $REGISTRY_HTTP_SECRET\" \"$CFG/registry/config.yml\"; then");
    let _ = writeln!(
        b,
        "  sed -i \"s|^  secret: .*|  secret: $REGISTRY_HTTP_SECRET|\" \"$CFG/registry/config.yml\"; PINNED=1"
    );
    let _ = writeln!(b, "fi");
    if !v.at_least(2, 3) && site.lb.is_some() {
        let _ =
            writeln!(b, "# Harbor < 2.3: its nginx overwrites the LB's X-Forwarded-Proto with http; drop that line.");
        let _ = writeln!(b, "# shellcheck disable=SC2016 # the $ is nginx's, not the shell's");
        let _ =
            writeln!(b, "if grep -q 'proxy_set_header X-Forwarded-Proto \\$scheme;' \"$CFG/nginx/nginx.conf\"; then");
        let _ = writeln!(
            b,
            "  sed -i '/proxy_set_header X-Forwarded-Proto \\$scheme;/d' \"$CFG/nginx/nginx.conf\"; PINNED=1"
        );
        let _ = writeln!(b, "fi");
    }
    let _ = writeln!(b, "if [ \"$FRESH\" -eq 1 ] || [ \"$PINNED\" -eq 1 ] || [ \"$RECREATE\" -eq 1 ]; then");
    let _ = writeln!(b, "  CHANGED=1");
    let _ = writeln!(
        b,
        "  if docker compose version >/dev/null 2>&1; then DC=(docker compose); else DC=(docker-compose); fi"
    );
    let _ = writeln!(b, "  (cd \"$HARBOR_DIR\" && \"${{DC[@]}}\" down && \"${{DC[@]}}\" up -d)");
    let _ = writeln!(b, "fi");
    let ping = format!("http://127.0.0.1:{}{}", ctx.host.http_port, ping_path(v));
    let _ = writeln!(b, "for _ in $(seq 1 60); do curl -fsS {} >/dev/null 2>&1 && break; sleep 2; done", sh(&ping));
    let _ = writeln!(b, "curl -fsS {} >/dev/null || die 'Harbor does not answer {}'", sh(&ping), ping);
    out.step("pin the shared secrets after prepare (core, jobservice, CSRF, registry http secret) and start Harbor", b);
}
