//! The rendered PostgreSQL and Redis files, run by the real servers (PostgreSQL 15 from
//! `/usr/lib/postgresql/15/bin`, Redis from `redis-server`), each on a free loopback port with
//! its state in a temp dir:
//!
//! - PostgreSQL: `postgresql.harbor.conf` is included from the cluster's `postgresql.conf`
//!   (as the install script does) and must parse without error; `pg_hba.conf` must have no
//!   broken line and exactly one line per Harbor node and database; `harbor.sql` must run
//!   twice (the second run changes nothing), and Harbor's role must then log in over TCP with
//!   its password to each database and create a table there, also with a hostile password.
//! - Redis: the rendered `redis.conf` must start the server; the password is required and
//!   works (also a hostile one); persistence and eviction settings are in force.
//!
//! Overrides (needed only because this is not the target host): the server listens on
//! 127.0.0.1 and a free port instead of the node address and 5432/6379 (the node address does
//! not exist here), PostgreSQL's socket directory and pg_hba.conf are in the temp dir, and
//! Redis runs unsupervised with its data in the temp dir. They are appended after our settings
//! (after the `include` line in postgresql.conf, at the end of redis.conf): in both formats a
//! later line wins, and the rendered lines are still parsed and checked.

#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::disallowed_macros,
    reason = "tests set up files and run the real programs"
)]

mod common;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use harbor_ha_core::bundle::Bundle;
use harbor_ha_core::model::resolved::{Database, Topology, ValidTopology};
use harbor_ha_core::model::secret::{Secret, SecretResolver};
use harbor_ha_core::{load_str, Report};

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

/// A password made to break every quoting it passes through: SQL and shell quotes,
/// backslashes, psql variables and meta-commands, shell expansions, Redis escapes,
/// comment characters, spaces and multi-byte characters; 200 characters.
fn hostile_password() -> String {
    let base = "a'b\"c\\d$e`f#g;h i:x :'y' \\gexec $(id) ${HOME} %s {} é ü 漢 🐳 -- /* \\x41 \\\"q ";
    base.chars().cycle().take(200).collect()
}

/// The test resolver, with chosen values for some environment variables.
struct Resolver(BTreeMap<&'static str, String>);

impl SecretResolver for Resolver {
    fn resolve(&self, secret: &Secret) -> Result<String, String> {
        if let Secret::Env { env } = secret {
            if let Some(v) = self.0.get(env.as_str()) {
                return Ok(v.clone());
            }
        }
        common::TestResolver.resolve(secret)
    }
}

fn topology_text(text: &str) -> ValidTopology {
    let doc = load_str(text).unwrap_or_else(|d| panic!("{d:?}"));
    let report: Report = doc.validate();
    report.topology.unwrap_or_else(|| panic!("{:#?}", report.diagnostics))
}

fn render_with(t: &ValidTopology, env: &[(&'static str, String)]) -> Bundle {
    common::render_with(t, &Resolver(env.iter().cloned().collect()))
}

fn s3_text() -> String {
    std::fs::read_to_string(common::root().join("fixtures/examples/s3.yaml")).unwrap()
}

fn file<'a>(b: &'a Bundle, host: &str, target: &str) -> &'a str {
    let key = format!("hosts/{host}/files{target}");
    &b.files.get(&key).unwrap_or_else(|| panic!("missing {key}")).content
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// PostgreSQL 15's binaries, root (initdb runs as postgres through runuser) and the
/// postgres user. Missing in CI is a failure.
fn postgres_available() -> bool {
    let ok = Path::new(PG_BIN).join("initdb").exists()
        && is_root()
        && Command::new("id").arg("postgres").output().is_ok_and(|o| o.status.success());
    if !ok {
        assert!(!in_ci(), "PostgreSQL 15 ({PG_BIN}), root and the postgres user are required in CI");
        eprintln!("SKIP: PostgreSQL 15 not installed at {PG_BIN} or not root (run `make test` to install it)");
    }
    ok
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("hha-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"))
}

fn ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

// ---- PostgreSQL ----------------------------------------------------------------------------

/// A PostgreSQL 15 cluster in a temp dir, stopped and removed on drop.
struct Pg {
    dir: PathBuf,
    port: u16,
}

impl Pg {
    /// initdb, include the rendered settings from postgresql.conf, install the rendered
    /// pg_hba.conf, start.
    fn start(name: &str, settings: &str, hba: &str) -> Pg {
        let dir = temp_dir(name);
        let port = free_port();
        let pg = Pg { dir: dir.clone(), port };
        std::fs::write(dir.join("postgresql.harbor.conf"), settings).unwrap();
        std::fs::write(dir.join("pg_hba.conf"), hba).unwrap();
        ok(Command::new("chown").args(["-R", "postgres:postgres"]).arg(&dir));
        let data = dir.join("data");
        ok(Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(format!("{PG_BIN}/initdb"))
            .args(["-N", "-U", "postgres", "-E", "UTF8", "--locale=C", "-D"])
            .arg(&data)
            .current_dir("/"));
        // What the install script's ensure_line does (with the temp copy's path), then the
        // test's overrides: later lines of a configuration file win.
        let mut conf = std::fs::OpenOptions::new().append(true).open(data.join("postgresql.conf")).unwrap();
        writeln!(conf, "include '{}'", dir.join("postgresql.harbor.conf").display()).unwrap();
        writeln!(conf, "# test overrides: the node address does not exist here").unwrap();
        writeln!(conf, "listen_addresses = '127.0.0.1'").unwrap();
        writeln!(conf, "port = {port}").unwrap();
        writeln!(conf, "unix_socket_directories = '{}'", dir.display()).unwrap();
        writeln!(conf, "hba_file = '{}'", dir.join("pg_hba.conf").display()).unwrap();
        drop(conf);
        let out = run(Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(format!("{PG_BIN}/pg_ctl"))
            .args(["-w", "-t", "60", "-D"])
            .arg(&data)
            .arg("-l")
            .arg(dir.join("server.log"))
            .arg("start")
            .current_dir("/"));
        assert!(
            out.status.success(),
            "pg_ctl start failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(dir.join("server.log")).unwrap_or_default()
        );
        pg
    }

    /// psql as the postgres superuser over the socket (peer authentication, by the
    /// rendered pg_hba.conf's `local all postgres peer`).
    fn superuser(&self) -> Command {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"])
            .arg(format!("{PG_BIN}/psql"))
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", "postgres", "-h"])
            .arg(&self.dir)
            .args(["-p", &self.port.to_string()])
            .current_dir("/");
        c
    }

    fn query(&self, sql: &str) -> String {
        ok(self.superuser().args(["-tA", "-c", sql]))
    }

    /// Run an SQL file the way the install script does: on psql's standard input.
    fn run_sql(&self, sql: &str) -> Output {
        let mut child = self
            .superuser()
            .args(["-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(sql.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    }

    /// psql as `user` over TCP to 127.0.0.1 with `password`.
    fn login(&self, user: &str, password: &str, db: &str, sql: &str) -> Output {
        run(Command::new(format!("{PG_BIN}/psql"))
            .args(["-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-U", user, "-d", db, "-c", sql])
            .env("PGPASSWORD", password)
            .env("PGCONNECT_TIMEOUT", "10")
            .env_remove("PGPASSFILE"))
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(format!("{PG_BIN}/pg_ctl"))
            .args(["-w", "-m", "immediate", "-D"])
            .arg(self.dir.join("data"))
            .arg("stop")
            .current_dir("/")
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Everything the PostgreSQL host of site 0 of `t` gets, checked on a real server.
fn check_postgres(name: &str, t: &Topology, b: &Bundle, password: &str, method: &str) {
    let site = &t.sites[0];
    let Database::External(db) = &site.database else { panic!("no external database") };
    let host = db.installed_on.as_ref().unwrap().as_str();
    let settings = file(b, host, "/etc/harbor-ha/postgres/postgresql.harbor.conf");
    let hba = file(b, host, &format!("/etc/postgresql/{}/main/pg_hba.conf", db.version.major));
    let sql = file(b, host, "/etc/harbor-ha/postgres/harbor.sql");
    assert!(sql.contains(&harbor_ha_core::render::quote::sql_literal(password)), "the SQL sets the password");
    let dbs = harbor_ha_core::render::harbor::harbor_databases(site);
    let user = db.username.as_str();
    let pg = Pg::start(name, settings, hba);

    // The settings file parsed: no error anywhere, and its values are the ones in force
    // (except listen_addresses and port, overridden on the command line).
    assert_eq!(
        pg.query("SELECT string_agg(sourcefile || ':' || sourceline || ' ' || coalesce(name, '') || ': ' || error, E'\\n') FROM pg_file_settings WHERE error IS NOT NULL"),
        "",
        "errors in the configuration files"
    );
    let ours = pg.query(
        "SELECT string_agg(name, ',' ORDER BY name) FROM pg_file_settings WHERE sourcefile LIKE '%/postgresql.harbor.conf'",
    );
    assert_eq!(ours, "listen_addresses,max_connections,password_encryption,port");
    assert_eq!(pg.query("SHOW max_connections"), db.max_connections.to_string());
    assert_eq!(pg.query("SHOW password_encryption"), method);
    let listen = pg.query(
        "SELECT setting FROM pg_file_settings WHERE name = 'listen_addresses' AND sourcefile LIKE '%/postgresql.harbor.conf'",
    );
    assert_eq!(
        listen,
        format!("localhost,{}", t.sites[0].hosts.iter().find(|h| h.name.as_str() == host).unwrap().address)
    );

    // pg_hba.conf: no broken line; exactly one line per Harbor node and database.
    assert_eq!(pg.query("SELECT count(*) FROM pg_hba_file_rules WHERE error IS NOT NULL"), "0");
    let rules = pg.query(&format!(
        "SELECT string_agg(database[1] || ' ' || address || '/' || netmask || ' ' || auth_method, E'\\n' ORDER BY database[1], address) FROM pg_hba_file_rules WHERE user_name = ARRAY['{user}']"
    ));
    let mut want: Vec<String> = Vec::new();
    for d in &dbs {
        for n in site.harbor_nodes() {
            want.push(format!("{d} {}/255.255.255.255 {method}", n.address));
        }
    }
    want.sort();
    let mut got: Vec<String> = rules.lines().map(str::to_string).collect();
    got.sort();
    assert_eq!(got, want, "pg_hba.conf lines for the Harbor role");
    let others = pg.query(&format!(
        "SELECT string_agg(type || ' ' || array_to_string(database, ',') || ' ' || array_to_string(user_name, ',') || ' ' || coalesce(address, '-') || ' ' || auth_method, E'\\n' ORDER BY line_number) FROM pg_hba_file_rules WHERE user_name <> ARRAY['{user}']"
    ));
    assert_eq!(
        others,
        format!("local all postgres - peer\nlocal all all - peer\nhost all all 127.0.0.1 {method}\nhost all all ::1 {method}")
    );

    // The SQL: first run creates the role and databases, second run succeeds and changes
    // nothing the install script reports.
    let state = harbor_ha_core::render::postgres::state_query(site, db);
    let before = pg.query(&state);
    let out = pg.run_sql(sql);
    assert!(out.status.success(), "harbor.sql failed: {}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.is_empty(), "harbor.sql printed: {}", String::from_utf8_lossy(&out.stdout));
    let after = pg.query(&state);
    assert_ne!(before, after, "the first run must create something");
    let owned: Vec<String> = dbs.iter().map(|d| format!("{d}={user}")).collect::<Vec<_>>();
    let mut owned_sorted = owned.clone();
    owned_sorted.sort();
    assert_eq!(after, format!("1:{}", owned_sorted.join(",")));
    let out = pg.run_sql(sql);
    assert!(out.status.success(), "second run of harbor.sql failed: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(pg.query(&state), after, "the second run must change nothing");

    // The password is stored with the intended hash.
    let prefix = if method == "md5" { "md5" } else { "SCRAM-SHA-256$" };
    assert_eq!(
        pg.query(&format!("SELECT left(rolpassword, {}) FROM pg_authid WHERE rolname = '{user}'", prefix.len())),
        prefix
    );
    // Not a superuser, and owner of each database: Harbor's migrations create tables.
    assert_eq!(pg.query(&format!("SELECT rolsuper FROM pg_roles WHERE rolname = '{user}'")), "f");
    for d in &dbs {
        let out =
            pg.login(user, password, d, "CREATE TABLE hha_probe (id int); DROP TABLE hha_probe; SELECT current_user");
        assert!(
            out.status.success(),
            "{user} cannot log in to {d} or create a table: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), user);
    }
    let out = pg.login(user, "wrong-password", &dbs[0], "SELECT 1");
    assert!(!out.status.success(), "a wrong password must be refused");
    assert!(String::from_utf8_lossy(&out.stderr).contains("password authentication failed"));
}

#[test]
fn postgres_files_work_on_postgresql_15() {
    if !postgres_available() {
        return;
    }
    let t = common::topology(&common::root().join("fixtures/examples/s3.yaml"));
    let b = common::render_topology(&t);
    check_postgres("pg-s3", &t, &b, "Env-HARBOR_DB_PASSWORD-Pw1", "scram-sha-256");
}

#[test]
fn postgres_hostile_password_logs_in() {
    if !postgres_available() {
        return;
    }
    let t = common::topology(&common::root().join("fixtures/examples/s3.yaml"));
    let pw = hostile_password();
    assert_eq!(pw.chars().count(), 200);
    let b = render_with(&t, &[("HARBOR_DB_PASSWORD", pw.clone())]);
    check_postgres("pg-hostile", &t, &b, &pw, "scram-sha-256");
}

/// Harbor 2.8 with Notary: three databases, and md5 (Notary's lib/pq cannot do SCRAM).
#[test]
fn postgres_clair_database_with_md5() {
    if !postgres_available() {
        return;
    }
    // Notary (1.10-2.8) needs https on the nodes, which no bundle has (HB005): Clair's
    // database (until 2.1) is the extra one that remains.
    let text = s3_text()
        .replace("version: \"2.11.1\"", "version: \"2.1.0\"")
        .replace("components: [trivy]", "components: [trivy, clair]");
    let t = topology_text(&text);
    let dbs = harbor_ha_core::render::harbor::harbor_databases(&t.sites[0]);
    assert_eq!(dbs, ["registry", "clair"]);
    let pw = hostile_password();
    let b = render_with(&t, &[("HARBOR_DB_PASSWORD", pw.clone())]);
    check_postgres("pg-md5", &t, &b, &pw, "md5");
}

// ---- Redis -------------------------------------------------------------------------------

/// A redis-server on the rendered config, killed and cleaned up on drop.
struct RedisServer {
    child: Child,
    dir: PathBuf,
    port: u16,
}

impl RedisServer {
    fn start(name: &str, conf: &str, password: &str) -> RedisServer {
        let dir = temp_dir(name);
        let port = free_port();
        let mut text = conf.to_string();
        text.push_str(&format!(
            "\n# test overrides: a later directive wins\nbind 127.0.0.1\nport {port}\ndir {}\npidfile {}\nsupervised no\ndaemonize no\n",
            dir.display(),
            dir.join("redis.pid").display()
        ));
        let path = dir.join("redis.conf");
        std::fs::write(&path, text).unwrap();
        let log = std::fs::File::create(dir.join("redis.log")).unwrap();
        let child =
            Command::new("redis-server").arg(&path).stdout(log.try_clone().unwrap()).stderr(log).spawn().unwrap();
        let mut r = RedisServer { child, dir, port };
        let start = Instant::now();
        loop {
            if let Some(status) = r.child.try_wait().unwrap() {
                panic!(
                    "redis-server exited ({status}):\n{}",
                    std::fs::read_to_string(r.dir.join("redis.log")).unwrap_or_default()
                );
            }
            if r.cli(Some(password), &["PING"]) == "PONG" {
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(10), "redis-server does not answer");
            std::thread::sleep(Duration::from_millis(50));
        }
        r
    }

    /// redis-cli's output (it exits 0 even on errors such as NOAUTH).
    fn cli(&self, password: Option<&str>, args: &[&str]) -> String {
        let mut c = Command::new("redis-cli");
        c.args(["-h", "127.0.0.1", "-p", &self.port.to_string()]).args(args);
        match password {
            Some(p) => c.env("REDISCLI_AUTH", p),
            None => c.env_remove("REDISCLI_AUTH"),
        };
        let out = run(&mut c);
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)).trim().to_string()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn redis_available() -> bool {
    common::require_tool("redis-server") && common::require_tool("redis-cli")
}

fn check_redis(name: &str, b: &Bundle, password: &str) {
    let conf = file(b, "cache-1", "/etc/redis/redis.conf");
    assert!(conf.contains("\nbind 127.0.0.1 10.20.0.6\n"), "{conf}");
    let r = RedisServer::start(name, conf, password);
    assert_eq!(r.cli(Some(password), &["PING"]), "PONG");
    let anon = r.cli(None, &["PING"]);
    assert!(anon.contains("NOAUTH"), "without the password: {anon}");
    let wrong = r.cli(Some("wrong-password"), &["PING"]);
    assert!(!wrong.contains("PONG"), "a wrong password must be refused: {wrong}");
    for (k, v) in [
        ("maxmemory-policy", "noeviction"),
        ("appendonly", "yes"),
        ("appendfsync", "everysec"),
        ("protected-mode", "yes"),
        ("databases", "16"),
    ] {
        assert_eq!(r.cli(Some(password), &["CONFIG", "GET", k]), format!("{k}\n{v}"), "{k}");
    }
    // The password Redis holds is exactly the topology's (no escape left in it).
    let got = r.cli(Some(password), &["--raw", "CONFIG", "GET", "requirepass"]);
    assert_eq!(got, format!("requirepass\n{password}"));
    let _ = r.cli(Some(password), &["SHUTDOWN", "NOSAVE"]);
}

#[test]
fn redis_conf_works_on_redis_server() {
    if !redis_available() {
        return;
    }
    let t = common::topology(&common::root().join("fixtures/examples/s3.yaml"));
    let b = common::render_topology(&t);
    check_redis("redis-s3", &b, "Env-HARBOR_REDIS_PASSWORD-Pw1");
}

#[test]
fn redis_hostile_password_works() {
    if !redis_available() {
        return;
    }
    let t = common::topology(&common::root().join("fixtures/examples/s3.yaml"));
    let pw = hostile_password();
    let b = render_with(&t, &[("HARBOR_REDIS_PASSWORD", pw.clone())]);
    check_redis("redis-hostile", &b, &pw);
}

/// Facts of the rendered files that need no server.
#[test]
fn postgres_and_redis_file_facts() {
    for p in common::renderable_fixtures() {
        let t = common::topology(&p);
        let b = common::render_topology(&t);
        for site in &t.sites {
            if let Database::External(db) = &site.database {
                if let Some(host) = &db.installed_on {
                    let hba_key = b
                        .files
                        .keys()
                        .find(|k| k.starts_with(&format!("hosts/{host}/files/")) && k.ends_with("/pg_hba.conf"))
                        .unwrap_or_else(|| panic!("{}: no pg_hba.conf on {host}", p.display()));
                    let hba = &b.files[hba_key].content;
                    let node_lines: Vec<&str> =
                        hba.lines().filter(|l| l.starts_with("host ") && l.contains("/32")).collect();
                    let dbs = harbor_ha_core::render::harbor::harbor_databases(site);
                    assert_eq!(
                        node_lines.iter().filter(|l| !l.contains("127.0.0.1")).count(),
                        dbs.len() * site.harbor_nodes().count(),
                        "{}: {hba}",
                        p.display()
                    );
                    for n in site.harbor_nodes() {
                        assert!(
                            hba.contains(&format!(" {}/32 ", n.address)),
                            "{}: node {} missing",
                            p.display(),
                            n.name
                        );
                    }
                    assert!(!hba.contains("0.0.0.0/0") && !hba.contains(" trust"), "{}: hba too open", p.display());
                    let sql = &b.files[&format!("hosts/{host}/files/etc/harbor-ha/postgres/harbor.sql")];
                    assert_eq!(sql.mode, 0o600);
                    let script = &b.files[&format!("hosts/{host}/install.sh")].content;
                    assert!(script.contains("include '\\''/etc/harbor-ha/postgres/postgresql.harbor.conf'\\''"));
                    assert!(script.contains(&format!("-p {}", db.port)));
                }
            }
            if let harbor_ha_core::model::resolved::Redis::External(r) = &site.redis {
                if let Some(host) = r.installed_on() {
                    let h = site.hosts.iter().find(|h| &h.name == host).unwrap();
                    let os = harbor_ha_core::render::os::info(h.os);
                    let f = &b.files[&format!("hosts/{host}/files{}", os.redis.2)];
                    assert_eq!(f.mode, 0o600, "the bundle's redis.conf holds the password");
                    assert!(f.content.contains(&format!("\nbind 127.0.0.1 {}\n", h.address)));
                    assert!(f.content.contains("\nrequirepass \""));
                    assert!(f.content.contains("\nmaxmemory-policy noeviction\n"));
                    assert!(f.content.contains("\nappendonly yes\n"));
                }
            }
        }
    }
}
