//! The README's `### Data tier failover` of a site with a PostgreSQL or Redis cluster: how a
//! failover happens, what an operator sees, how a failed node rejoins, how to switch over
//! by hand.

use std::fmt::Write;

use super::code;
use crate::model::resolved::{socket_text, Database, PgCluster, Redis, RedisCluster, Site};
use crate::render::os;
use crate::render::patroni::{scope, LOOP_WAIT, REST_USER, TTL};
use crate::render::sentinel::DOWN_AFTER_MS;

/// The section, when the site has a cluster.
pub(super) fn section(s: &mut String, site: &Site) {
    if site.pg_cluster().is_none() && site.redis_cluster().is_none() {
        return;
    }
    let _ = writeln!(s, "### Data tier failover\n");
    if let (Some(c), Database::External(db)) = (site.pg_cluster(), &site.database) {
        postgres(s, site, c, db.port, db.db_name.as_str());
    }
    if let (Some(c), Redis::External(r)) = (site.redis_cluster(), &site.redis) {
        redis(s, c, r.port);
    }
}

fn postgres(s: &mut String, site: &Site, c: &PgCluster, port: u16, db_name: &str) {
    let conf = c.members.first().map_or("/etc/patroni/config.yml", |m| {
        let os = site.hosts.iter().find(|h| h.name == m.name).map_or(crate::model::enums::OsFamily::Debian12, |h| h.os);
        os::cluster(os).patroni_conf
    });
    let sc = scope(site);
    let ep = code(socket_text(c.endpoint.address, port));
    let members: Vec<String> = c.members.iter().map(|m| code(&m.name)).collect();
    let _ = writeln!(
        s,
        "**PostgreSQL** ({}, cluster {}): Patroni runs PostgreSQL on each data node and keeps the leader key in etcd ({} members). Harbor connects to {ep}: HAProxy on the LB hosts forwards to the member whose Patroni answers `GET /primary` with 200, and cuts the sessions of a member it marks down.\n",
        members.join(", "),
        code(&sc),
        c.dcs.len()
    );
    let sync = if c.synchronous {
        "Replication is synchronous (`database.synchronous`): a commit is acknowledged only once a standby has it, and only that synchronous standby may be promoted, so no commit Harbor was told about is lost. With no standby left, the primary goes on alone (asynchronously) rather than stop."
    } else {
        "Replication is asynchronous (`database.synchronous: false`): a failover may lose the last commits the primary had not yet sent."
    };
    let _ = writeln!(s, "- Failover: when the primary's machine or PostgreSQL fails, its leader key expires within {TTL} s; a standby (at most 1 MiB behind) takes the key and is promoted within one more loop ({LOOP_WAIT} s). A primary that loses etcd demotes itself. {sync}");
    let _ = writeln!(s, "- What you see: Harbor's requests fail for up to about {} s (\"connection refused\" or \"terminating connection\" in core's log; core reconnects, but restart it with `docker compose restart core` if it keeps failing, harbor#14943). `patronictl -c {conf} list` shows the new Leader; HAProxy logs the old member DOWN; the e2e suite measured about 28 s.", TTL + LOOP_WAIT);
    let _ = writeln!(s, "- Rejoin a failed node: bring the machine back and run `systemctl start patroni` on it (or `hosts/<host>/install.sh`). Patroni rewinds its divergent WAL with `pg_rewind` and follows the new primary; check with `patronictl -c {conf} list` that it is `Replica` and `streaming`/`running`. If it stays in `start failed`, wipe and clone it: `patronictl -c {conf} reinit {sc} <member>`.");
    let _ = writeln!(s, "- Switch over by hand (maintenance): `patronictl -c {conf} switchover {sc} --candidate <member>` (or `--scheduled`); Harbor sees the same short break as a failover, without losing a commit. Change the DCS settings (ttl, synchronous_mode, parameters) with `patronictl -c {conf} edit-config`: the bundle's `bootstrap` section is read only when the cluster is created.");
    let _ = writeln!(s, "- The REST API's write endpoints (restart, reinit, switchover over HTTP) need user {} and the password in `secrets/{}/patroni_rest_password`; `patronictl` on a member reads it from the configuration. Harbor's role and database {} are created once, on the new primary, by Patroni's `post_bootstrap`, and kept current by the install script on whichever node is the primary.\n", code(REST_USER), site.name, code(db_name));
}

fn redis(s: &mut String, c: &RedisCluster, port: u16) {
    let data: Vec<String> = c.data.iter().map(|m| code(&m.name)).collect();
    let how = match &c.proxy {
        Some(p) => format!(
            "Harbor (no Sentinel client before 2.1) connects to {}: HAProxy on the LB hosts sends it to the data node that reports `role:master`",
            code(socket_text(p.address, port))
        ),
        None => format!(
            "Harbor asks the Sentinels ({}) for the master of {} and connects to it",
            c.sentinels.iter().map(|m| code(socket_text(m.address, RedisCluster::SENTINEL_PORT))).collect::<Vec<_>>().join(", "),
            code(&c.master_set)
        ),
    };
    let _ = writeln!(s, "**Redis** ({}, master set {}): {how}.\n", data.join(", "), code(&c.master_set));
    let _ = writeln!(s, "- Failover: when the master stops answering for {} s, {} of the {} Sentinels agree it is down, a majority elects a leader among them and it promotes the most up-to-date replica; the others follow it. Replication is asynchronous: a write acknowledged only by the master can be lost (Harbor's own writes are mostly caches and queues; a job in flight may need a retry).", DOWN_AFTER_MS / 1000, c.quorum, c.sentinels.len());
    let _ = writeln!(s, "- What you see: a few seconds of Redis errors in core, jobservice and registry logs (the e2e suite measured about 6 s); `redis-cli -p {} SENTINEL get-master-addr-by-name {}` on any Sentinel names the new master.", RedisCluster::SENTINEL_PORT, c.master_set);
    let _ = writeln!(s, "- Rejoin a failed node: start it (`systemctl start redis-server`): the Sentinels turn it into a replica of the new master. Re-running its `install.sh` keeps that: it writes `/etc/redis/redis.conf` only when the managed copy in `/etc/harbor-ha/redis/` changed, and then with the master the Sentinels name.");
    let _ = writeln!(
        s,
        "- Switch over by hand: `redis-cli -p {} SENTINEL failover {}` on any Sentinel.\n",
        RedisCluster::SENTINEL_PORT,
        c.master_set
    );
}
