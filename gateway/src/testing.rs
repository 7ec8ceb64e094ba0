//! Test support: a throw-away PostgreSQL cluster ([`PgCluster`]) for the store's tests and
//! the load test.
//!
//! It uses the Debian `postgresql` package's programs (`/usr/lib/postgresql/<N>/bin`, or the
//! folder in `PG_BIN`), makes a cluster in a fresh temporary folder, runs it as an
//! unprivileged user when started as root (`nobody`, through `setpriv`; PostgreSQL refuses to
//! run as root), listens on 127.0.0.1 at a free port, and stops and removes it on drop.

use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Command;

/// What to tell someone whose machine lacks PostgreSQL.
pub const INSTALL_HINT: &str = "PostgreSQL's server programs are missing: run `cargo xtask \
     setup` (it apt-get installs `postgresql`), or set PG_BIN to the folder with initdb and \
     pg_ctl";

/// A PostgreSQL cluster of its own in a temporary folder.
#[derive(Debug)]
pub struct PgCluster {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    /// `setpriv` arguments that drop to `nobody`, when running as root.
    drop_to: Option<(u32, u32)>,
    durable: bool,
    running: bool,
}

/// The folder with `initdb` and `pg_ctl`: `PG_BIN`, else the newest
/// `/usr/lib/postgresql/<N>/bin`.
#[must_use]
pub fn pg_bin() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("PG_BIN") {
        return Some(PathBuf::from(p)).filter(|p| p.join("initdb").exists());
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, b)| b)
}

fn id(args: &[&str]) -> Option<u32> {
    let out = Command::new("id").args(args).output().ok()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

impl PgCluster {
    /// A new cluster, started. `durable: false` turns `fsync` off (unit tests: faster, and
    /// a crash of the machine loses nothing that matters); the load test keeps it on.
    ///
    /// # Errors
    ///
    /// PostgreSQL is not installed ([`INSTALL_HINT`]), or `initdb`/`pg_ctl` failed (their
    /// output and the server log in the message).
    pub fn start(durable: bool) -> Result<Self, String> {
        let bin = pg_bin().ok_or_else(|| INSTALL_HINT.to_owned())?;
        let drop_to = if id(&["-u"]) == Some(0) {
            let uid = id(&["-u", "nobody"]).ok_or("no user `nobody` to run PostgreSQL as")?;
            let gid = id(&["-g", "nobody"]).ok_or("no group of `nobody`")?;
            Some((uid, gid))
        } else {
            None
        };
        let dir = std::env::temp_dir().join(format!(
            "kiosk-gw-pg-{}-{:016x}",
            std::process::id(),
            rand::random::<u64>()
        ));
        std::fs::create_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        if let Some((uid, gid)) = drop_to {
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid))
                .map_err(|e| format!("chown {}: {e}", dir.display()))?;
        }
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let mut cluster = Self {
            bin,
            dir,
            port,
            drop_to,
            durable,
            running: false,
        };
        let data = cluster.data();
        cluster.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ],
        )?;
        cluster.start_server()?;
        Ok(cluster)
    }

    /// A cluster for a test: `None` (with a note on stderr) when PostgreSQL is not
    /// installed, except under `CI` where that is a failure.
    ///
    /// # Panics
    ///
    /// Under `CI`, when PostgreSQL is missing; always, when it is installed but fails.
    #[must_use]
    pub fn for_test() -> Option<Self> {
        if pg_bin().is_none() {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must run the PostgreSQL tests: {INSTALL_HINT}"
            );
            eprintln!("skipped: {INSTALL_HINT}");
            return None;
        }
        match Self::start(false) {
            Ok(c) => Some(c),
            Err(e) => panic!("cannot start a PostgreSQL cluster: {e}"),
        }
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    fn run(&self, program: &str, args: &[&str]) -> Result<(), String> {
        let exe = self.bin.join(program);
        let mut c = match self.drop_to {
            Some((uid, gid)) => {
                let mut c = Command::new("setpriv");
                c.arg(format!("--reuid={uid}"))
                    .arg(format!("--regid={gid}"))
                    .arg("--clear-groups")
                    .arg("--")
                    .arg(&exe);
                c
            }
            None => Command::new(&exe),
        };
        // The server's cwd must be readable by its user (not /root).
        c.args(args).current_dir(&self.dir).env_remove("PGDATA");
        let out = c
            .output()
            .map_err(|e| format!("cannot run {}: {e}", exe.display()))?;
        if out.status.success() {
            Ok(())
        } else {
            let log = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
            Err(format!(
                "{program} failed ({}): {}{}\n{log}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    fn start_server(&mut self) -> Result<(), String> {
        let opts = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {} -c fsync={} -c max_connections=200",
            self.port,
            self.dir.display(),
            if self.durable { "on" } else { "off" }
        );
        let data = self.data();
        let log = self.dir.join("server.log").display().to_string();
        self.run(
            "pg_ctl",
            &[
                "-D", &data, "-l", &log, "-o", &opts, "-w", "-t", "60", "start",
            ],
        )?;
        self.running = true;
        Ok(())
    }

    /// Stops the server (fast shutdown: open connections are cut).
    ///
    /// # Errors
    ///
    /// `pg_ctl` failed.
    pub fn stop(&mut self) -> Result<(), String> {
        if !self.running {
            return Ok(());
        }
        let data = self.data();
        self.run("pg_ctl", &["-D", &data, "-m", "fast", "-w", "stop"])?;
        self.running = false;
        Ok(())
    }

    /// Stops and starts the server on the same port (every client connection breaks).
    ///
    /// # Errors
    ///
    /// `pg_ctl` failed.
    pub fn restart(&mut self) -> Result<(), String> {
        self.stop()?;
        self.start_server()
    }

    /// Turns TLS on with this server certificate chain and key (PEM) and restarts.
    ///
    /// # Errors
    ///
    /// The files cannot be written, or the server does not come back.
    pub fn enable_tls(&mut self, cert_pem: &str, key_pem: &str) -> Result<(), String> {
        let data = self.dir.join("data");
        let write = |name: &str, text: &str| -> Result<(), String> {
            use std::os::unix::fs::PermissionsExt as _;
            let path = data.join(name);
            std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
            // PostgreSQL refuses a key readable by others.
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| format!("{}: {e}", path.display()))?;
            if let Some((uid, gid)) = self.drop_to {
                std::os::unix::fs::chown(&path, Some(uid), Some(gid))
                    .map_err(|e| format!("chown {}: {e}", path.display()))?;
            }
            Ok(())
        };
        write("server.crt", cert_pem)?;
        write("server.key", key_pem)?;
        let conf = data.join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf).map_err(|e| e.to_string())?;
        text.push_str("\nssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n");
        std::fs::write(&conf, text).map_err(|e| e.to_string())?;
        self.restart()
    }

    /// The connection string (trust authentication on 127.0.0.1: tests only).
    #[must_use]
    pub fn url(&self) -> String {
        format!(
            "host=127.0.0.1 port={} user=postgres dbname=postgres connect_timeout=10",
            self.port
        )
    }

    /// A new empty database in the cluster, and its connection string.
    ///
    /// # Errors
    ///
    /// The server refused.
    pub fn database(&self, name: &str) -> Result<String, String> {
        let mut c =
            postgres::Client::connect(&self.url(), postgres::NoTls).map_err(|e| e.to_string())?;
        c.batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .map_err(|e| e.to_string())?;
        Ok(self
            .url()
            .replace("dbname=postgres", &format!("dbname={name}")))
    }

    /// The folder of the cluster.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            eprintln!("PostgreSQL test cluster did not stop: {e}");
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
