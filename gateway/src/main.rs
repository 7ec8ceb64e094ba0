//! `kiosk-gateway`: the service and its admin commands.
//!
//! ```text
//! kiosk-gateway ca init --dir /etc/kiosk-gateway/ca [--name NAME]
//! kiosk-gateway ca server-cert --dir CA_DIR --name gw.example.vn --out DIR
//! kiosk-gateway serve (--postgres URL | --db FILE) --ca-dir DIR --cert FILE --key FILE
//!                     [--listen ADDR] [--forward-url URL] [--retention-secs 0]
//! kiosk-gateway token new (--postgres URL | --db FILE) --kiosk ID --site SITE [--minutes 15]
//! kiosk-gateway token list (--postgres URL | --db FILE)
//! kiosk-gateway token revoke (--postgres URL | --db FILE) --kiosk ID
//! kiosk-gateway kiosk revoke (--postgres URL | --db FILE) ID
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
use kiosk_gateway::store::{Store, StoreConfig};
use kiosk_gateway::{ForwardConfig, Gateway, GatewayConfig, Tls};

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
        /// Seconds a forwarded dossier's personal fields are kept (0: erased at once).
        #[arg(long, default_value_t = 0)]
        retention_secs: u64,
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
            retention_secs,
            rate_burst,
            rate_per_sec,
        } => {
            db.config()?;
            let gw = Gateway::start_with(GatewayConfig {
                agency,
                db_path: db.db,
                postgres: db.postgres,
                postgres_ca: db.postgres_ca,
                ca_dir: Some(ca_dir),
                tls: Tls::Files { cert, key },
                listen,
                forward: forward_url.map(|url| ForwardConfig {
                    ca_file: forward_ca,
                    timeout: Duration::from_millis(forward_timeout_ms),
                    backoff_base: Duration::from_millis(forward_backoff_ms),
                    lease: Duration::from_secs(forward_lease_secs.max(1)),
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
            eprintln!("one-stop simulator on {}", sim.url());
            wait_for_signal()?;
            eprintln!(
                "{} dossiers, {} requests",
                sim.dossiers().len(),
                sim.requests()
            );
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
