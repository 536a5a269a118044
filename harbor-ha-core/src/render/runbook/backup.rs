//! The README's `## Backup and restore` section, when a site has a `backup` section: what a
//! backup holds and where it runs, the interface of `backup.sh` (other scripts call it), the
//! timer with a schedule example, the restore of a lost site step by step, and what is not
//! in a backup.

use std::fmt::Write;

use super::code;
use crate::model::enums::BackupTool;
use crate::model::resolved::{Backup, BackupStorage, Database, Site, Storage, Topology};
use crate::render::backup::{unit_name, BUNDLE_COPY};
use crate::render::harbor::harbor_databases;

/// Add the section (nothing when no site has `backup`).
pub(super) fn section(s: &mut String, topo: &Topology) {
    let sites: Vec<(&Site, &Backup)> = topo.sites.iter().filter_map(|x| x.backup.as_ref().map(|b| (x, b))).collect();
    if sites.is_empty() {
        return;
    }
    let _ = writeln!(s, "## Backup and restore\n");
    let _ = writeln!(
        s,
        "`backup/<site>/backup.sh` backs up a whole site from one moment: Harbor's read-only mode on (through the API; pushes, deletions and settings are refused meanwhile, pulls go on), `pg_dump -Fc` of every database at the address Harbor uses (through the first Harbor node that answers), the storage, the site's secrets (`secrets/<site>/`: `secretkey`, which decrypts the credentials Harbor keeps in its database, the token key pair, the shared secrets, the load balancers' certificate when the bundle made it) and `site.json` (the site's shape), then a `manifest.json` with the Harbor and schema (`schema_migrations`) versions and each file's sha256 and size; read-only mode off again, also when a step fails (when it was on already, it stays on). `restore.sh` brings a backup back into an empty site of the same topology.\n"
    );
    for (site, b) in &sites {
        site_part(s, site, b);
    }
    interface(s);
    restore(s);
    let _ = writeln!(s, "Not in a backup: Redis (the registry's cache and the job queue: after a restore onto a Redis that outlived the data, run `FLUSHALL` on its master before the restore starts Harbor, or scheduled jobs and cached blob descriptors point at the state after the backup), Trivy's vulnerability database (downloaded again), the nodes' `harbor.yml` and the other rendered files (render them from the topology). Schedule garbage collection and tag retention away from the backup window: read-only mode stops new pushes and deletions, not a collection already running.\n");
}

/// The backup of one site: what, where, from which host, the schedule.
fn site_part(s: &mut String, site: &Site, b: &Backup) {
    let _ = writeln!(s, "### Backups of site {}\n", code(&site.name));
    let tool = match b.tool {
        BackupTool::Restic => "restic (an encrypted repository; a backup stores only what changed since the last one, so a backup of an unchanged site adds almost nothing)",
        BackupTool::Rsync => "rsync (one plain directory per backup, `<target>/<site>/<ID>/`, unchanged files hard-linked to the previous backup's; `<ID>.complete` marks a whole one)",
    };
    let _ = writeln!(s, "- Target: {}, {tool}; the last {} backups are kept.", code(&b.target), b.keep);
    if b.tool == BackupTool::Restic {
        let _ = writeln!(s, "- The repository's password comes from the topology (`backup.password`) and decrypts every backup: keep it outside the site, with the topology. Without it no backup can be read.");
    }
    let dbs: Vec<String> = harbor_databases(site).iter().map(code).collect();
    let endpoint = match &site.database {
        Database::External(db) if db.cluster.is_some() => {
            format!("the cluster's endpoint {} (HAProxy on the LB hosts, which reaches the primary)", code(&db.host))
        }
        Database::External(db) => format!("{}:{}", code(&db.host), db.port),
        Database::Internal => String::new(),
    };
    let _ = writeln!(s, "- Databases: {} at {endpoint}, as Harbor's role, through the first Harbor node that answers (its install.sh adds the PostgreSQL client).", dbs.join(", "));
    match (&b.storage, &site.storage) {
        (BackupStorage::Directory(d), Storage::Nfs(n)) if n.server_host.as_ref() == Some(&b.host) => {
            let _ = writeln!(s, "- Storage: the NFS export {} itself, read on the NFS server's own disk.", code(d));
        }
        (BackupStorage::Directory(d), _) => {
            let _ = writeln!(s, "- Storage: {} on {} (the data volume; for an NFS server the bundle does not install, through the mount).", code(d), code(&b.host));
        }
        (BackupStorage::Object, _) => {
            let _ = writeln!(s, "- Storage: the bucket is not copied by the script. Before each backup it records a marker, the time read-only mode went on; with bucket versioning enabled (and noncurrent versions kept at least as long as the last {} backups), the objects as of that marker are the backup. A hook can copy the bucket too: an executable `/etc/harbor-ha/backup/{}/storage-hook` on the backup host (or `HARBOR_HA_STORAGE_HOOK`), run as `storage-hook backup` while Harbor is read-only and as `storage-hook restore` by restore.sh, with `HARBOR_HA_SITE`, `HARBOR_HA_BACKUP_ID`, `HARBOR_HA_MARKER`, `HARBOR_HA_STORAGE_DRIVER`, `HARBOR_HA_BUCKET` and `HARBOR_HA_HOOK_DIR` (a directory whose files become part of the backup, e.g. the list of object versions); a non-zero exit fails the backup or the restore.", b.keep, site.name);
        }
    }
    let unit = unit_name(site);
    let _ = writeln!(s, "- Backup host: {}. Copy the whole bundle there once (and after every render): `rsync -a --delete <bundle>/ root@{}:{BUNDLE_COPY}/`. Root on it must reach every Harbor node over ssh with a key (`ssh root@<node> true`), and restic or rsync, ssh and curl come with its install.sh. Run as root: `{BUNDLE_COPY}/backup/{}/backup.sh`.", code(&b.host), b.host, site.name);
    let _ = writeln!(s, "- Schedule: its install.sh installs `{unit}.timer` (daily at 02:30, within 15 minutes) but does not enable it. Enable it with `systemctl enable --now {unit}.timer`; see the next run with `systemctl list-timers {unit}.timer` and the last one with `journalctl -u {unit}.service`. Another time, e.g. every 6 hours: `systemctl edit {unit}.timer` with");
    let _ = writeln!(s, "  ```ini\n  [Timer]\n  OnCalendar=\n  OnCalendar=*-*-* 00/6:00:00\n  ```");
    let _ = writeln!(s, "  Environment for the service (e.g. `HARBOR_HA_API_PASSWORD` once the admin password changed, `AWS_ACCESS_KEY_ID` for an `s3:` target) goes into `/etc/harbor-ha/backup/{}.env` (mode 0600).\n", site.name);
}

/// How other scripts (an upgrade, a cron job) call backup.sh.
fn interface(s: &mut String) {
    let _ = writeln!(s, "### backup.sh for other scripts\n");
    let _ = writeln!(s, "`backup/<site>/backup.sh` takes no argument (`--help` prints what it does) and runs as root on the site's backup host, one at a time (a lock in `/var/lib/harbor-ha/backup/<site>/`). It writes only to the target and to `/var/lib/harbor-ha/backup/<site>/` (its staging directory, removed at the end). Exit status 0: the backup is complete, and the last line of its output is `BACKUP_ID=<ID>` (`<ID>` as `20261201T023000.123Z`), the name `restore.sh` takes. Exit status 1: it failed, no backup was recorded (or, when only the removal of old backups failed, the message says the backup was recorded), and read-only mode is as it was before: a caller that turned read-only mode on itself (an upgrade) finds it still on. Exit status 2: a usage error. The admin account comes from `credentials.env` (harbor.yml's initial password) unless `HARBOR_HA_API_PASSWORD` (and `HARBOR_HA_API_USER`) are set.\n");
}

/// Restoring a lost site.
fn restore(s: &mut String) {
    let _ = writeln!(s, "### Restore\n");
    let _ = writeln!(s, "`restore.sh [--list] [--secrets] [--yes] [--storage-restored] [ID|latest]` runs on the backup host like backup.sh. It refuses, saying why and changing nothing, when the backup is of another site, Harbor release or topology (`site.json`); when this bundle's secrets differ from the backup's; when a database is not empty (a freshly installed Harbor schema of the same version, without repositories, counts as empty) or has another schema version; or when the storage already holds repositories. Otherwise it stops Harbor on every node (`docker compose down`: no session may hold the database), restores each database in one transaction (`pg_restore --single-transaction`, through the cluster's endpoint when there is one), then the storage and the keys, starts the nodes one by one (each answers its health check before the next starts) and turns read-only mode off (the backup was taken in read-only mode).\n");
    let _ = writeln!(s, "A lost site, step by step:\n");
    let _ = writeln!(s, "1. Render the topology into a directory (the bundle you still have, or a new one) and copy it to the backup host (rebuilt if need be) as above; make the target reachable from it (the restic password comes with the render).");
    let _ = writeln!(s, "2. If the bundle's secrets are not the site's (a new render makes new ones): `backup/<site>/restore.sh --secrets latest` writes the backup's into `secrets/<site>/` of the copy (keeping the others in `secrets/<site>.before-restore-<time>/`); copy that directory back to where you render, render again into it (it reuses them) and copy the bundle to the backup host again.");
    let _ = writeln!(s, "3. Install the site from that bundle (`./deploy.sh`, or each host's install.sh in order): storage, database (its install script creates the empty database), Redis, the Harbor nodes, the load balancers.");
    let _ = writeln!(s, "4. `backup/<site>/restore.sh latest` (or an ID from `--list`), and type the site's name to confirm (`--yes` skips the question).");
    let _ = writeln!(s, "5. `./verify.sh` from a load balancer, then pull an image by digest.\n");
}
