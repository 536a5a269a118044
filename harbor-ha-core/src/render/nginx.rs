//! The Nginx load balancer: `harbor.conf` (upstream = exactly the site's Harbor nodes,
//! passive health checks, the header/body/buffering/timeout settings the field's failures
//! call for, TLS termination), and the steps that install nginx, set SELinux's
//! `httpd_can_network_connect`, put the site's self-signed certificate in place when asked
//! (one pair per site, from `secrets/<site>/`, the same on every LB), test the configuration
//! and reload.
//!
//! The file works with nginx 1.14 (CentOS 7 EPEL) up to current releases: no `http2 on;`,
//! no directive newer than 1.9.

use std::fmt::Write;
use std::net::IpAddr;

use super::harbor::ping_path;
use super::quote::{conf_string, sh};
use super::{HostOut, RoleCtx};
use crate::model::enums::Affinity;
use crate::model::resolved::{LoadBalancer, Site, Tls};

/// Location answered by nginx itself (no Harbor node involved); keepalived's track
/// script asks it on port 80 of the loopback address.
pub const HEALTH_PATH: &str = "/harbor-ha-health";

/// Where the access log with `$upstream_addr` goes.
pub const ACCESS_LOG: &str = "/var/log/nginx/harbor-access.log";

/// Marker left while a changed configuration still has to be loaded by nginx (so that a
/// run that failed after `put` reloads on the next run).
const RELOAD_PENDING: &str = "/var/lib/harbor-ha/nginx-reload-pending";

/// Mozilla's "intermediate" ECDHE suites (TLS 1.2; TLS 1.3 suites are not configurable
/// here and all strong). No DHE: it would need a dhparam file.
const CIPHERS: &str = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

/// The target path of the LB configuration on this host.
#[must_use]
pub fn conf_path(ctx: &RoleCtx) -> String {
    format!("{}/harbor.conf", ctx.os.nginx.1.trim_end_matches('/'))
}

pub use crate::model::resolved::socket_text as upstream_addr;

/// The name nginx matches against `Host`: the server name, bracketed when it is an IPv6
/// address (clients send `Host: [addr]`).
#[must_use]
pub fn host_header(lb: &LoadBalancer) -> String {
    match lb.server_name.as_str().parse::<IpAddr>() {
        Ok(IpAddr::V6(a)) => format!("[{a}]"),
        _ => lb.server_name.as_str().to_string(),
    }
}

/// Certificate and key paths, when the LB terminates TLS.
fn tls_paths(lb: &LoadBalancer) -> Option<(String, String)> {
    match &lb.tls {
        Tls::None => None,
        Tls::Files(f) | Tls::SelfSigned(f) => Some((f.certificate.path(), f.key.path())),
    }
}

/// Whether nginx must also listen on IPv6 (the LB host or the VIP is an IPv6 address).
fn wants_ipv6(ctx: &RoleCtx, lb: &LoadBalancer) -> bool {
    ctx.host.address.is_ipv6() || lb.vip.is_some_and(|v| v.is_ipv6())
}

/// The health location (same in every server of the file).
fn health_location(s: &mut String) {
    let _ = writeln!(s, "    # Answered by nginx itself: keepalived's check asks it; no Harbor node involved.");
    let _ = writeln!(s, "    location = {HEALTH_PATH} {{");
    let _ = writeln!(s, "        access_log off;");
    let _ = writeln!(s, "        default_type text/plain;");
    let _ = writeln!(s, "        return 200 \"ok\\n\";");
    let _ = writeln!(s, "    }}");
}

/// One proxied location: the settings Harbor's own nginx uses on `/v2/`, plus the LB's.
fn proxy_location(s: &mut String, path: &str, what: &str, tls: bool) {
    let _ = writeln!(s, "    # {what}");
    let _ = writeln!(s, "    location {path} {{");
    let _ = writeln!(s, "        proxy_pass http://harbor;");
    let _ = writeln!(s, "        # Host with its port: Harbor builds the token realm and redirects from it.");
    let _ = writeln!(s, "        proxy_set_header Host $http_host;");
    let _ = writeln!(s, "        proxy_set_header X-Real-IP $remote_addr;");
    let _ = writeln!(s, "        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;");
    let _ = writeln!(
        s,
        "        # The client's scheme: otherwise Harbor hands out http:// URLs and pushes fail \"unauthorized\"."
    );
    let _ = writeln!(s, "        proxy_set_header X-Forwarded-Proto $scheme;");
    let _ = writeln!(
        s,
        "        # HTTP/1.1 with an empty Connection header: upstream keepalive, and no forced body buffering."
    );
    let _ = writeln!(s, "        proxy_http_version 1.1;");
    let _ = writeln!(s, "        proxy_set_header Connection \"\";");
    let _ = writeln!(
        s,
        "        # Stream layers both ways instead of spooling them to disk (slow or failing large pushes)."
    );
    let _ = writeln!(s, "        proxy_buffering off;");
    let _ = writeln!(s, "        proxy_request_buffering off;");
    let _ = writeln!(s, "        chunked_transfer_encoding on;");
    let _ =
        writeln!(s, "        # A dead node is skipped quickly; a big layer over a slow link may take many minutes.");
    let _ = writeln!(s, "        proxy_connect_timeout 10s;");
    let _ = writeln!(s, "        proxy_send_timeout 900s;");
    let _ = writeln!(s, "        proxy_read_timeout 900s;");
    let _ = writeln!(
        s,
        "        # Try another node on errors, but never resend a POST/PATCH (no non-idempotent retries: a half-sent upload is not repeated)."
    );
    let _ = writeln!(s, "        proxy_next_upstream error timeout http_502 http_503 http_504;");
    let _ = writeln!(s, "        proxy_next_upstream_tries 2;");
    if tls {
        let _ = writeln!(
            s,
            "        # TLS ends here: a node's http:// Location for this host becomes https:// (other hosts, e.g."
        );
        let _ = writeln!(s, "        # a plain-HTTP object store's presigned redirect, are left alone).");
        let _ = writeln!(s, "        proxy_redirect http://$http_host/ $scheme://$http_host/;");
    }
    let _ = writeln!(s, "    }}");
}

/// The LB's `harbor.conf` (included inside `http {}`).
#[must_use]
pub fn harbor_conf(ctx: &RoleCtx) -> String {
    let Some(lb) = &ctx.site.lb else { return String::new() };
    let tls = tls_paths(lb);
    let server =
        Server { name: conf_string(&host_header(lb)), log: conf_string(ACCESS_LOG), ipv6: wants_ipv6(ctx, lb) };
    let mut s = String::new();
    conf_header(&mut s, ctx);
    upstream(&mut s, ctx.site, lb);
    if tls.is_some() {
        redirect_server(&mut s, &server);
    }
    main_server(&mut s, &server, tls.as_ref());
    s
}

/// What the `server` blocks of `harbor.conf` share.
struct Server {
    /// `server_name`, quoted.
    name: String,
    /// The access log, quoted.
    log: String,
    /// Listen on IPv6 too.
    ipv6: bool,
}

impl Server {
    /// `listen 80` (and IPv6).
    fn listen80(&self, s: &mut String) {
        let _ = writeln!(s, "    listen 80;");
        if self.ipv6 {
            let _ = writeln!(s, "    listen [::]:80;");
        }
    }
}

/// The comment at the top and the log format that records which node served a request.
fn conf_header(s: &mut String, ctx: &RoleCtx) {
    let site = ctx.site;
    let v = site.harbor.version;
    let _ = writeln!(
        s,
        "# Generated by harbor-ha: load balancer of site {} on {} ({}), Harbor {v}.",
        site.name, ctx.host.name, ctx.host.address
    );
    let _ = writeln!(s, "# Included inside http {{}} by nginx.conf. Do not edit: re-render instead.");
    let _ = writeln!(s, "#");
    let _ = writeln!(s, "# Node health: open-source nginx checks the nodes passively only (max_fails/fail_timeout");
    let _ = writeln!(
        s,
        "# below). Probe a node directly on http://ADDRESS:PORT{} (no auth needed); not on /v2/,",
        ping_path(v)
    );
    let _ = writeln!(s, "# which answers 401 by design. install.sh and verify.sh probe every node there.");
    let _ = writeln!(s);
    let _ = writeln!(s, "# Records which node served each request ($upstream_addr): shows requests crossing nodes.");
    let _ = writeln!(s, "log_format harbor_upstream '$remote_addr - $remote_user [$time_local] \"$request\" '");
    let _ =
        writeln!(s, "                           '$status $body_bytes_sent \"$http_referer\" \"$http_user_agent\" '");
    let _ = writeln!(s, "                           'upstream=$upstream_addr upstream_status=$upstream_status '");
    let _ =
        writeln!(s, "                           'request_time=$request_time upstream_time=$upstream_response_time';");
    let _ = writeln!(s);
}

/// The upstream: exactly the Harbor nodes, with passive health checks.
fn upstream(s: &mut String, site: &Site, lb: &LoadBalancer) {
    let _ = writeln!(s, "upstream harbor {{");
    match lb.affinity {
        Affinity::IpHash => {
            let _ = writeln!(s, "    # Keeps a client on one node (hashes the first three octets of an IPv4 client).");
            let _ = writeln!(s, "    ip_hash;");
        }
        Affinity::None => {
            let _ = writeln!(
                s,
                "    # Round robin: any node serves any request (the shared secrets are identical on every node)."
            );
        }
    }
    let _ = writeln!(s, "    # Passive health check: 3 failures within 30 s take a node out for 30 s.");
    for h in site.harbor_nodes() {
        let _ = writeln!(
            s,
            "    server {} max_fails=3 fail_timeout=30s;  # {}",
            upstream_addr(h.address, h.http_port),
            h.name
        );
    }
    let _ =
        writeln!(s, "    # Idle connections kept open to the nodes (after the balancing method, as nginx requires).");
    let _ = writeln!(s, "    keepalive 32;");
    let _ = writeln!(s, "}}");
    let _ = writeln!(s);
}

/// With TLS, plain HTTP serves only the health location and redirects the rest.
fn redirect_server(s: &mut String, server: &Server) {
    let Server { name, log, .. } = server;
    let _ = writeln!(s, "# Plain HTTP: only the health location, everything else goes to https.");
    let _ = writeln!(s, "server {{");
    server.listen80(s);
    let _ = writeln!(s, "    server_name {name};");
    let _ = writeln!(s, "    access_log {log} harbor_upstream;");
    let _ = writeln!(s);
    health_location(s);
    let _ = writeln!(s);
    let _ = writeln!(s, "    location / {{");
    let _ = writeln!(s, "        return 301 https://$host$request_uri;");
    let _ = writeln!(s, "    }}");
    let _ = writeln!(s, "}}");
    let _ = writeln!(s);
}

/// The server that proxies to the nodes.
fn main_server(s: &mut String, server: &Server, tls: Option<&(String, String)>) {
    let Server { name, log, ipv6 } = server;
    let _ = writeln!(s, "server {{");
    if tls.is_some() {
        // No http2: Docker clients speak HTTP/1.1, and `listen … http2` is deprecated since 1.25.
        let _ = writeln!(s, "    listen 443 ssl;");
        if *ipv6 {
            let _ = writeln!(s, "    listen [::]:443 ssl;");
        }
    } else {
        server.listen80(s);
    }
    let _ = writeln!(s, "    server_name {name};");
    let _ = writeln!(s, "    access_log {log} harbor_upstream;");
    if let Some((cert, key)) = tls {
        let _ = writeln!(s);
        let _ = writeln!(s, "    ssl_certificate {};", conf_string(cert));
        let _ = writeln!(s, "    ssl_certificate_key {};", conf_string(key));
        let _ = writeln!(s, "    # TLS 1.2 and 1.3 only, forward-secret AEAD suites.");
        let _ = writeln!(s, "    ssl_protocols TLSv1.2 TLSv1.3;");
        let _ = writeln!(s, "    ssl_ciphers {CIPHERS};");
        let _ = writeln!(s, "    ssl_prefer_server_ciphers off;");
        let _ = writeln!(s, "    # Resumed sessions skip the full handshake (docker opens many connections per push).");
        let _ = writeln!(s, "    ssl_session_cache shared:harbor_ssl:10m;");
        let _ = writeln!(s, "    ssl_session_timeout 1d;");
        let _ = writeln!(s, "    ssl_session_tickets off;");
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "    # Layers can be gigabytes: no size limit (nginx's default 1m answers 413 on push).");
    let _ = writeln!(s, "    client_max_body_size 0;");
    let _ = writeln!(s);
    health_location(s);
    let _ = writeln!(s);
    proxy_location(s, "/v2/", "The registry API: blob uploads and downloads.", tls.is_some());
    let _ = writeln!(s);
    proxy_location(s, "/", "Portal, API, token service and chart repository.", tls.is_some());
    let _ = writeln!(s, "}}");
}

/// The shell lines that put the site's self-signed pair in place (the same files on every
/// LB of the site, made once into `secrets/<site>/`), and name its fingerprint.
fn self_signed_step(lb: &LoadBalancer, cert: &str, key: &str) -> String {
    let mut b = String::new();
    let _ = writeln!(b, "put {} 0644", sh(cert));
    let _ = writeln!(b, "if [ \"$PUT_CHANGED\" -eq 1 ]; then touch {}; fi", sh(RELOAD_PENDING));
    let _ = writeln!(b, "put {} 0600", sh(key));
    let _ = writeln!(b, "if [ \"$PUT_CHANGED\" -eq 1 ]; then touch {}; fi", sh(RELOAD_PENDING));
    let _ = writeln!(
        b,
        "log \"certificate $(openssl x509 -in {} -noout -fingerprint -sha256 2>/dev/null || echo '(openssl missing: fingerprint not shown)')\"",
        sh(cert)
    );
    let _ = writeln!(
        b,
        "log {}",
        sh(&format!("Docker clients trust it as /etc/docker/certs.d/{}/ca.crt (see README.md)", host_header(lb)))
    );
    b
}

/// Add the LB's files and steps.
pub fn render(ctx: &RoleCtx, out: &mut HostOut) {
    let Some(lb) = &ctx.site.lb else { return };
    let conf = conf_path(ctx);
    out.file(conf.clone(), harbor_conf(ctx), 0o644);
    if let Tls::SelfSigned(f) = &lb.tls {
        // Secret files: the key is; the certificate comes from the same generated pair.
        out.secret_file(f.certificate.path(), 0o644, |sec| {
            sec.shared.lb_tls.as_ref().map(|t| t.certificate.clone()).unwrap_or_default()
        });
        out.secret_file(f.key.path(), 0o600, |sec| {
            sec.shared.lb_tls.as_ref().map(|t| t.private_key.clone()).unwrap_or_default()
        });
    }
    packages(ctx, out);
    certificate(lb, out);
    configure(&conf, out);
    checks(ctx, lb, out);
}

/// The nginx package, the SELinux boolean that lets it connect, the default site disabled.
fn packages(ctx: &RoleCtx, out: &mut HostOut) {
    let (pkg, _) = ctx.os.nginx;
    let mut b = String::new();
    if !ctx.os.extra_repo_pkgs.is_empty() {
        let _ = writeln!(b, "pkgs {}", ctx.os.extra_repo_pkgs.iter().map(|p| sh(p)).collect::<Vec<_>>().join(" "));
    }
    let _ = writeln!(b, "pkgs {}", sh(pkg));
    // EL9 ships curl-minimal, which conflicts with the curl package: install only if missing.
    let _ = writeln!(b, "command -v curl >/dev/null 2>&1 || pkgs curl");
    let _ = writeln!(b, "mkdir -p {}", sh(RELOAD_PENDING.rsplit_once('/').map_or("/", |(d, _)| d)));
    if ctx.os.selinux {
        let _ = writeln!(b, "# SELinux denies nginx outgoing connections by default: every request would get 502.");
        let _ = writeln!(b, "if command -v selinuxenabled >/dev/null 2>&1 && selinuxenabled; then");
        let _ = writeln!(b, "  case \"$(getsebool httpd_can_network_connect)\" in");
        let _ = writeln!(b, "    *'--> on') ;;");
        let _ = writeln!(b, "    *)");
        let _ = writeln!(b, "      setsebool -P httpd_can_network_connect 1");
        let _ = writeln!(b, "      log 'set SELinux boolean httpd_can_network_connect'");
        let _ = writeln!(b, "      CHANGED=1");
        let _ = writeln!(b, "      ;;");
        let _ = writeln!(b, "  esac");
        let _ = writeln!(b, "fi");
    }
    if let Some(default_site) = ctx.os.nginx_default_site {
        let _ = writeln!(b, "# The distribution's default site claims port 80 as default_server: disable it.");
        let _ = writeln!(b, "if [ -e {d} ] || [ -L {d} ]; then", d = sh(default_site));
        let _ = writeln!(b, "  rm -f {}", sh(default_site));
        let _ = writeln!(b, "  touch {}", sh(RELOAD_PENDING));
        let _ = writeln!(b, "  log 'disabled the default nginx site'");
        let _ = writeln!(b, "  CHANGED=1");
        let _ = writeln!(b, "fi");
    }
    let title = if ctx.os.selinux {
        "nginx package, SELinux boolean httpd_can_network_connect"
    } else {
        "nginx package, default site disabled"
    };
    out.step(title, b);
}

/// The TLS certificate and key: checked when provided, made once when self-signed.
fn certificate(lb: &LoadBalancer, out: &mut HostOut) {
    match &lb.tls {
        Tls::None => {}
        Tls::Files(f) => {
            let mut b = String::new();
            for (what, key_name, p) in
                [("certificate", "certificate", f.certificate.path()), ("private key", "key", f.key.path())]
            {
                let _ = writeln!(
                    b,
                    "[ -s {} ] || die {}",
                    sh(&p),
                    sh(&format!("put the TLS {what} at {p} (load_balancer.tls.{key_name}) first"))
                );
            }
            out.step("TLS certificate and key of the load balancer (provided)", b);
        }
        Tls::SelfSigned(f) => {
            out.step(
                "self-signed TLS certificate of the site (the same on every LB)",
                self_signed_step(lb, &f.certificate.path(), &f.key.path()),
            );
        }
    }
}

/// Put the configuration, test it, reload nginx only when it changed.
fn configure(conf: &str, out: &mut HostOut) {
    let mut b = String::new();
    let _ = writeln!(b, "put {} 0644", sh(conf));
    let _ = writeln!(b, "if [ \"$PUT_CHANGED\" -eq 1 ]; then touch {}; fi", sh(RELOAD_PENDING));
    let _ = writeln!(b, "nginx -t -q || die 'nginx -t rejects the configuration; the running nginx keeps its old one'");
    let _ = writeln!(b, "if [ -f {} ]; then", sh(RELOAD_PENDING));
    let _ = writeln!(b, "  if systemctl is-active --quiet nginx; then systemctl reload nginx; fi");
    let _ = writeln!(b, "  rm -f {}", sh(RELOAD_PENDING));
    let _ = writeln!(b, "fi");
    let _ = writeln!(b, "enable_now nginx");
    out.step(format!("nginx: {conf} (upstream = the Harbor nodes), test, reload"), b);
}

/// The LB answers its health location; each node answers its ping (a warning only: nodes
/// may come later).
fn checks(ctx: &RoleCtx, lb: &LoadBalancer, out: &mut HostOut) {
    let site = ctx.site;
    let health = format!("http://127.0.0.1{HEALTH_PATH}");
    let mut b = String::new();
    let _ = writeln!(b, "LB_UP=0");
    let _ = writeln!(b, "for _ in 1 2 3 4 5; do");
    let _ = writeln!(
        b,
        "  if curl -fs -o /dev/null --max-time 2 -H {} {}; then LB_UP=1; break; fi",
        sh(&format!("Host: {}", host_header(lb))),
        sh(&health)
    );
    let _ = writeln!(b, "  sleep 1");
    let _ = writeln!(b, "done");
    let _ = writeln!(b, "[ \"$LB_UP\" -eq 1 ] || die {}", sh(&format!("nginx does not answer {health}")));
    let ping = ping_path(site.harbor.version);
    for h in site.harbor_nodes() {
        let url = format!("http://{}{ping}", upstream_addr(h.address, h.http_port));
        let _ = writeln!(
            b,
            "curl -fs -o /dev/null --max-time 5 {u} || log {w}",
            u = sh(&url),
            w = sh(&format!(
                "warning: Harbor node {} does not answer {url} (yet); nginx skips it until it does",
                h.name
            ))
        );
    }
    out.step(format!("check: nginx answers {HEALTH_PATH}; each Harbor node answers {ping}"), b);
}
