//! `kiosk-gateway`: the service and its admin commands.
//!
//! ```text
//! kiosk-gateway ca init --dir /etc/kiosk-gateway/ca [--name NAME]
//! kiosk-gateway ca server-cert --dir CA_DIR --name gw.example.vn --out DIR
//! kiosk-gateway serve (--postgres URL | --db FILE) --ca-dir DIR --cert FILE --key FILE
//!                     [--listen ADDR] [--forward-url URL] [--retention-secs 0]
//!                     [--postgres-pool-size 8] [--postgres-pool-timeout-ms 2000]
//!                     [--idempotency-days 30] [--receipts-days 365] [--prune-every-secs 3600]
//!                     [--handshake-timeout-secs 10] [--header-timeout-secs 10]
//!                     [--max-connections 4096]
//! kiosk-gateway token new (--postgres URL | --db FILE) --kiosk ID --site SITE [--minutes 15]
//! kiosk-gateway token list (--postgres URL | --db FILE)
//! kiosk-gateway token revoke (--postgres URL | --db FILE) --kiosk ID
//! kiosk-gateway kiosk revoke (--postgres URL | --db FILE) ID
//! kiosk-gateway prune (--postgres URL | --db FILE) [--idempotency-days 30]
//!                     [--receipts-days 365] [--dry-run]
//! kiosk-gateway forward dead list (--postgres URL | --db FILE)
//! kiosk-gateway forward retry (--postgres URL | --db FILE) (ID | --all)
//! kiosk-gateway forward drop (--postgres URL | --db FILE) ID
//! kiosk-gateway onestop-sim [--listen ADDR] [--error-rate 0.1] [--timeout-rate 0.05]
//!                           [--lost-reply-rate 0.05]
//! ```
//!
//! `--postgres` (or `KIOSK_GATEWAY_POSTGRES`) is the production store, shared by every
//! replica; `--db FILE` is SQLite, for a demo with a single process.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use kiosk_gateway::onestop_sim::{OneStopSim, SimFaults};
use kiosk_gateway::retention::Retention;
use kiosk_gateway::store::{Store, StoreConfig};
use kiosk_gateway::{ForwardConfig, Gateway, GatewayConfig, Limits, PoolSettings, Tls};

#[derive(Parser)]
#[command(
    name = "kiosk-gateway",
    version,
    about = "The provincial kiosk gateway"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the records are.
#[derive(Args)]
struct Db {
    /// PostgreSQL connection string (production), e.g. "host=/run/postgresql
    /// dbname=kiosk_gateway user=kiosk_gateway".
    #[arg(long, env = "KIOSK_GATEWAY_POSTGRES")]
    postgres: Option<String>,
    /// The CA (PEM) of PostgreSQL's server certificate: connect over TLS (add
    /// sslmode=require to --postgres).
    #[arg(long, requires = "postgres")]
    postgres_ca: Option<PathBuf>,
    /// A SQLite file instead (a demo with one process; created if absent).
    #[arg(long, conflicts_with = "postgres")]
    db: Option<PathBuf>,
}

impl Db {
    fn config(&self) -> anyhow::Result<StoreConfig> {
        Ok(match (&self.postgres, &self.db, &self.postgres_ca) {
            (Some(url), _, Some(ca)) => StoreConfig::PostgresTls {
                url: url.clone(),
                ca: ca.clone(),
            },
            (Some(url), _, None) => StoreConfig::Postgres(url.clone()),
            (None, Some(p), _) => StoreConfig::Sqlite(p.clone()),
            (None, None, _) => anyhow::bail!(
                "where are the records? give --postgres URL (or KIOSK_GATEWAY_POSTGRES), or \
                 --db FILE for a one-process SQLite demo"
            ),
        })
    }

    fn open(&self) -> anyhow::Result<Box<dyn Store>> {
        let c = self.config()?;
        c.open()
            .with_context(|| format!("cannot open the gateway database {}", c.describe()))
    }
}

/// How long idempotency keys and receipts are kept (see `kiosk_gateway::retention`).
#[derive(Args)]
struct RetentionArgs {
    /// Days an idempotency key is kept after its submission arrived (0: for ever). At least
    /// the kiosks' outbox lifetime (`queue.max_age_hours`, at most 720 h = 30 days).
    #[arg(long, default_value_t = kiosk_gateway::retention::DEFAULT_IDEMPOTENCY_DAYS)]
    idempotency_days: u32,
    /// Days a submission's receipt and status are kept after arrival (0: for ever); the
    /// status lookup answers "not found" after that.
    #[arg(long, default_value_t = kiosk_gateway::retention::DEFAULT_RECEIPTS_DAYS)]
    receipts_days: u32,
}

impl RetentionArgs {
    fn retention(&self) -> Retention {
        Retention {
            idempotency_days: self.idempotency_days,
            receipts_days: self.receipts_days,
            ..Retention::default()
        }
    }
}

// Parsed once at start: the size of `Serve`'s flags does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// The deployment CA.
    Ca {
        #[command(subcommand)]
        command: CaCommand,
    },
    /// Runs the service until SIGINT/SIGTERM.
    Serve {
        #[command(flatten)]
        db: Db,
        /// The CA folder made by `ca init`.
        #[arg(long)]
        ca_dir: PathBuf,
        /// The server certificate chain, PEM (`ca server-cert`).
        #[arg(long)]
        cert: PathBuf,
        /// The server key, PEM.
        #[arg(long)]
        key: PathBuf,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8443")]
        listen: SocketAddr,
        /// The receiving agency's code.
        #[arg(long, default_value = "000.00.01.H29")]
        agency: String,
        /// Forward TTHC dossiers to this OpenCPS-style adapter (http://host:port).
        #[arg(long)]
        forward_url: Option<String>,
        /// For an https:// --forward-url: the roots to trust, PEM (e.g.
        /// /etc/ssl/certs/ca-certificates.crt).
        #[arg(long)]
        forward_ca: Option<PathBuf>,
        /// One forwarding attempt's time limit, ms.
        #[arg(long, default_value_t = 10_000)]
        forward_timeout_ms: u64,
        /// First retry's backoff bound, ms (doubling, full jitter, up to 15 minutes).
        #[arg(long, default_value_t = 2_000)]
        forward_backoff_ms: u64,
        /// How long a replica holds the items it leased, seconds (a dead replica's items come
        /// back after this).
        #[arg(long, default_value_t = 60)]
        forward_lease_secs: u64,
        /// OAuth2 token endpoint of the adapter (LGSP, iGate Keycloak): the gateway fetches a
        /// client-credentials token there; give it with --forward-client-id and
        /// --forward-secret-file.
        #[arg(long)]
        forward_token_url: Option<String>,
        /// The gateway's OAuth2 client id.
        #[arg(long)]
        forward_client_id: Option<String>,
        /// File holding the client secret (mode 0600).
        #[arg(long)]
        forward_secret_file: Option<PathBuf>,
        /// OAuth2 scope to ask for, if the endpoint wants one.
        #[arg(long)]
        forward_scope: Option<String>,
        /// Ask the adapter where each forwarded dossier stands, first after this many seconds
        /// (doubling while nothing changes, up to 2 hours); 0: never.
        #[arg(long, default_value_t = 300)]
        status_poll_secs: u64,
        /// Seconds a forwarded dossier's personal fields are kept (0: erased at once).
        #[arg(long, default_value_t = 0)]
        retention_secs: u64,
        /// PostgreSQL connections this replica opens at most (requests beyond wait for one).
        #[arg(long, default_value_t = 8)]
        postgres_pool_size: u32,
        /// How long a request waits for a PostgreSQL connection before it is answered 503
        /// with Retry-After, ms.
        #[arg(long, default_value_t = 2_000)]
        postgres_pool_timeout_ms: u64,
        #[command(flatten)]
        keep: RetentionArgs,
        /// Seconds between two prunings of what is past its retention (0: never).
        #[arg(long, default_value_t = 3600)]
        prune_every_secs: u64,
        /// Seconds a client may take for the TLS handshake, and for a request head.
        #[arg(long, default_value_t = 10)]
        handshake_timeout_secs: u64,
        #[arg(long, default_value_t = 10)]
        header_timeout_secs: u64,
        /// Connections open at once; one beyond is closed at once.
        #[arg(long, default_value_t = 4096)]
        max_connections: usize,
        /// Per kiosk: requests in a burst, and per second after it (0: no limit).
        #[arg(long, default_value_t = 60)]
        rate_burst: u32,
        #[arg(long, default_value_t = 5)]
        rate_per_sec: u32,
    },
    /// A simulator of the one-stop system's intake with fault injection (tests, demos).
    OnestopSim {
        #[arg(long, default_value = "127.0.0.1:8090")]
        listen: SocketAddr,
        /// Share of requests answered 503.
        #[arg(long, default_value_t = 0.0)]
        error_rate: f64,
        /// Share taken but answered after 30 s.
        #[arg(long, default_value_t = 0.0)]
        timeout_rate: f64,
        /// Share taken and closed unanswered.
        #[arg(long, default_value_t = 0.0)]
        lost_reply_rate: f64,
        /// Require OAuth2 client credentials (POST /oauth/token) with this client id...
        #[arg(long, requires = "client_secret_file")]
        client_id: Option<String>,
        /// ...and the secret in this file; tokens live an hour.
        #[arg(long, requires = "client_id")]
        client_secret_file: Option<PathBuf>,
    },
    /// Deletes the idempotency keys and receipts past their retention (bounded batches; safe
    /// while replicas run).
    Prune {
        #[command(flatten)]
        db: Db,
        #[command(flatten)]
        keep: RetentionArgs,
        /// Only count what would be deleted.
        #[arg(long)]
        dry_run: bool,
    },
    /// The forwarding queue's dead letters.
    Forward {
        #[command(subcommand)]
        command: ForwardCommand,
    },
    /// Enrolment tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Kiosks.
    Kiosk {
        #[command(subcommand)]
        command: KioskCommand,
    },
    /// Accepted submissions.
    Submissions {
        #[command(subcommand)]
        command: SubmissionsCommand,
    },
}

#[derive(Subcommand)]
enum SubmissionsCommand {
    /// One line per accepted submission, in arrival order: referenceUid (the kiosk's queue id),
    /// dossier code (MaHoSo), procedure (MaTTHC). No personal data.
    List {
        #[command(flatten)]
        db: Db,
        /// Only the submissions with this referenceUid (at most one: the gateway deduplicates
        /// on it), e.g. the id `kioskctl queue send-test` printed.
        #[arg(long)]
        reference_uid: Option<String>,
    },
}

#[derive(Subcommand)]
enum CaCommand {
    /// Makes the CA key (0600) and certificate, once.
    Init {
        /// Folder for ca.key and ca.pem.
        #[arg(long)]
        dir: PathBuf,
        /// The CA's name.
        #[arg(long, default_value = "Kiosk deployment CA")]
        name: String,
    },
    /// Issues the gateway's server certificate (server.pem, server.key 0600) from the CA.
    ServerCert {
        /// The CA folder.
        #[arg(long)]
        dir: PathBuf,
        /// A DNS name or IP address of the gateway (repeat for several).
        #[arg(long = "name", required = true)]
        names: Vec<String>,
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
enum ForwardCommand {
    /// Dead letters.
    Dead {
        #[command(subcommand)]
        command: DeadCommand,
    },
    /// Puts a dead letter (or every one) back in the queue, attempts reset.
    Retry {
        #[command(flatten)]
        db: Db,
        /// The dead letter's id (`forward dead list`).
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        id: Option<i64>,
        /// Every dead letter whose body is still kept.
        #[arg(long)]
        all: bool,
    },
    /// Gives a dead letter up for good: its body erased now (audit line).
    Drop {
        #[command(flatten)]
        db: Db,
        /// The dead letter's id.
        id: i64,
    },
}

#[derive(Subcommand)]
enum DeadCommand {
    /// Id, kiosk, procedure, attempts, last error, age (no personal data).
    List {
        #[command(flatten)]
        db: Db,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// A single-use token for one kiosk at one site; printed once, stored hashed.
    New {
        #[command(flatten)]
        db: Db,
        /// The kiosk id (asset id on the case) the token may enrol.
        #[arg(long)]
        kiosk: String,
        /// The site the kiosk stands at.
        #[arg(long)]
        site: String,
        /// Validity in minutes.
        #[arg(long, default_value_t = 15)]
        minutes: u32,
    },
    /// The tokens (never the tokens themselves): id, kiosk, site, expiry, state.
    List {
        #[command(flatten)]
        db: Db,
    },
    /// Revokes the unused tokens of a kiosk.
    Revoke {
        #[command(flatten)]
        db: Db,
        #[arg(long)]
        kiosk: String,
    },
}

#[derive(Subcommand)]
enum KioskCommand {
    /// Revokes every certificate of a kiosk (retired or stolen) and its unused tokens.
    Revoke {
        #[command(flatten)]
        db: Db,
        /// The kiosk id.
        kiosk: String,
    },
}

fn write_key(path: &std::path::Path, pem: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {} (remove an old one first)", path.display()))?;
    f.write_all(pem.as_bytes())?;
    f.sync_all()?;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let now = kiosk_gateway::state::now_ms();
    match Cli::parse().command {
        Command::Ca {
            command: CaCommand::Init { dir, name },
        } => {
            kiosk_gateway::ca::Authority::init(&dir, &name)?;
            println!("CA written to {}/ca.key (0600) and ca.pem", dir.display());
        }
        Command::Ca {
            command: CaCommand::ServerCert { dir, names, out },
        } => {
            let ca = kiosk_gateway::ca::Authority::load(&dir)?;
            let (cert, key) = ca.server_certificate(&names).map_err(anyhow::Error::msg)?;
            std::fs::create_dir_all(&out)?;
            write_key(&out.join("server.key"), &key)?;
            std::fs::write(out.join("server.pem"), cert)?;
            println!("server certificate written to {}", out.display());
        }
        Command::Serve {
            db,
            ca_dir,
            cert,
            key,
            listen,
            agency,
            forward_url,
            forward_ca,
            forward_timeout_ms,
            forward_backoff_ms,
            forward_lease_secs,
            forward_token_url,
            forward_client_id,
            forward_secret_file,
            forward_scope,
            status_poll_secs,
            retention_secs,
            postgres_pool_size,
            postgres_pool_timeout_ms,
            keep,
            prune_every_secs,
            handshake_timeout_secs,
            header_timeout_secs,
            max_connections,
            rate_burst,
            rate_per_sec,
        } => {
            db.config()?;
            let oauth = match (forward_token_url, forward_client_id, forward_secret_file) {
                (None, None, None) => None,
                (Some(token_url), Some(client_id), Some(secret_file)) => {
                    // Checked now, so a world-readable secret stops the start with the fix.
                    kiosk_gateway::forward::read_secret(&secret_file)
                        .map_err(|e| anyhow::anyhow!(e))?;
                    Some(kiosk_gateway::forward::OAuthConfig {
                        token_url,
                        client_id,
                        secret_file,
                        scope: forward_scope,
                    })
                }
                _ => anyhow::bail!(
                    "--forward-token-url, --forward-client-id and --forward-secret-file go together"
                ),
            };
            let gw = Gateway::start_with(GatewayConfig {
                agency,
                db_path: db.db,
                postgres: db.postgres,
                postgres_ca: db.postgres_ca,
                pool: PoolSettings {
                    max_size: postgres_pool_size,
                    acquire_timeout: Duration::from_millis(postgres_pool_timeout_ms),
                },
                limits: Limits {
                    handshake_timeout: Duration::from_secs(handshake_timeout_secs.max(1)),
                    header_timeout: Duration::from_secs(header_timeout_secs.max(1)),
                    max_connections: max_connections.max(1),
                    ..Limits::default()
                },
                prune: Retention {
                    every: Duration::from_secs(prune_every_secs),
                    ..keep.retention()
                },
                ca_dir: Some(ca_dir),
                tls: Tls::Files { cert, key },
                listen,
                forward: forward_url.map(|url| ForwardConfig {
                    ca_file: forward_ca,
                    timeout: Duration::from_millis(forward_timeout_ms),
                    backoff_base: Duration::from_millis(forward_backoff_ms),
                    lease: Duration::from_secs(forward_lease_secs.max(1)),
                    oauth,
                    status_poll: (status_poll_secs > 0)
                        .then(|| Duration::from_secs(status_poll_secs)),
                    ..ForwardConfig::new(url)
                }),
                retention: Duration::from_secs(retention_secs),
                rate_limit: (rate_burst > 0 && rate_per_sec > 0)
                    .then_some((rate_burst, rate_per_sec)),
                ..GatewayConfig::default()
            })?;
            eprintln!("kiosk gateway on {}", gw.url());
            wait_for_signal()?;
            tracing::info!("stopping: finishing the requests in hand");
            gw.stop();
        }
        Command::OnestopSim {
            listen,
            error_rate,
            timeout_rate,
            lost_reply_rate,
            client_id,
            client_secret_file,
        } => {
            let sim = OneStopSim::start(
                listen,
                SimFaults {
                    error_rate,
                    timeout_rate,
                    lost_reply_rate,
                    seed: u64::try_from(now).unwrap_or(1),
                    ..SimFaults::default()
                },
            )?;
            if let (Some(id), Some(file)) = (client_id, client_secret_file) {
                let secret =
                    kiosk_gateway::forward::read_secret(&file).map_err(|e| anyhow::anyhow!(e))?;
                sim.require_client(&id, &secret, Duration::from_secs(3600));
            }
            eprintln!("one-stop simulator on {}", sim.url());
            wait_for_signal()?;
            eprintln!(
                "{} dossiers, {} requests",
                sim.dossiers().len(),
                sim.requests()
            );
        }
        Command::Prune { db, keep, dry_run } => {
            let mut store = db.open()?;
            let r = keep.retention();
            if dry_run {
                let p = r.count(&mut *store, now)?;
                println!(
                    "would delete {} idempotency key(s) and {} receipt(s)",
                    p.keys, p.receipts
                );
            } else {
                let p = r.prune(&mut *store, now)?;
                tracing::info!(target: "audit", keys = p.keys, receipts = p.receipts, "pruned past their retention");
                println!(
                    "deleted {} idempotency key(s) and {} receipt(s)",
                    p.keys, p.receipts
                );
            }
        }
        Command::Forward {
            command:
                ForwardCommand::Dead {
                    command: DeadCommand::List { db },
                },
        } => {
            let dead = db.open()?.dead_letters()?;
            println!("id\tkiosk\tprocedure\tattempts\tage\tbody\tlast error");
            for d in &dead {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    d.id,
                    d.kiosk,
                    d.procedure_code,
                    d.attempts,
                    age(now.saturating_sub(d.received_ms)),
                    if d.has_body { "kept" } else { "erased" },
                    d.last_error
                );
            }
            eprintln!("{} dead letter(s)", dead.len());
        }
        Command::Forward {
            command: ForwardCommand::Retry { db, id, all },
        } => {
            let n = db.open()?.retry_dead(if all { None } else { id }, now)?;
            tracing::warn!(target: "audit", id = ?id, all, requeued = n, "dead letters put back in the forwarding queue");
            println!("{n} dead letter(s) back in the forwarding queue");
            if n == 0 {
                anyhow::bail!(
                    "nothing retried: no such dead letter, or its body was erased (`forward dead list`)"
                );
            }
        }
        Command::Forward {
            command: ForwardCommand::Drop { db, id },
        } => {
            if !db.open()?.drop_dead(id)? {
                anyhow::bail!("{id} is not a dead letter (`forward dead list`)");
            }
            tracing::warn!(target: "audit", id, "dead letter dropped: its body erased, never forwarded");
            println!("dead letter {id} dropped: its body is erased and it will not be forwarded");
        }
        Command::Token {
            command:
                TokenCommand::New {
                    db,
                    kiosk,
                    site,
                    minutes,
                },
        } => {
            let mut db = db.open()?;
            let ms = i64::from(minutes).saturating_mul(60_000);
            let token = kiosk_gateway::state::new_token(&mut *db, &kiosk, &site, ms, now)
                .map_err(anyhow::Error::msg)?;
            println!("{token}");
        }
        Command::Token {
            command: TokenCommand::List { db },
        } => {
            for t in db.open()?.list_tokens(now)? {
                println!(
                    "{}  {:<20} {:<12} expires {}  {}",
                    t.id,
                    t.kiosk,
                    t.site,
                    time::OffsetDateTime::from_unix_timestamp(t.expires_ms / 1000)
                        .map(|d| d.to_string())
                        .unwrap_or_default(),
                    t.state
                );
            }
        }
        Command::Token {
            command: TokenCommand::Revoke { db, kiosk },
        } => {
            let n = db.open()?.revoke_tokens(&kiosk, now)?;
            println!("{n} token(s) of {kiosk} revoked");
        }
        Command::Kiosk {
            command: KioskCommand::Revoke { db, kiosk },
        } => {
            let n = db.open()?.revoke_kiosk(&kiosk, now)?;
            tracing::warn!(target: "audit", kiosk = %kiosk, certificates = n, "kiosk revoked");
            println!("{n} certificate(s) of {kiosk} revoked; its next handshake is refused");
        }
        Command::Submissions {
            command: SubmissionsCommand::List { db, reference_uid },
        } => {
            for (uid, dossier, procedure) in db.open()?.submissions()? {
                if reference_uid.as_ref().is_none_or(|u| *u == uid) {
                    println!("{uid}  {dossier}  {procedure}");
                }
            }
        }
    }
    Ok(())
}

/// An age for a listing: `3d 04h`, `5h 12m`, `42m`.
fn age(ms: i64) -> String {
    let m = ms.max(0) / 60_000;
    let (d, h, m) = (m / 1440, m / 60 % 24, m % 60);
    match (d, h) {
        (0, 0) => format!("{m}m"),
        (0, _) => format!("{h}h {m:02}m"),
        _ => format!("{d}d {h:02}h"),
    }
}

/// Blocks until SIGINT or SIGTERM.
fn wait_for_signal() -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r,
            _ = term.recv() => Ok(()),
        }
    })?;
    Ok(())
}
