//! `kiosk-gateway`: the service and its admin commands.
//!
//! ```text
//! kiosk-gateway ca init --dir /etc/kiosk-gateway/ca [--name NAME]
//! kiosk-gateway ca server-cert --dir CA_DIR --name gw.example.vn --out DIR
//! kiosk-gateway serve --db FILE --ca-dir DIR --cert FILE --key FILE [--listen ADDR]
//! kiosk-gateway token new --db FILE --kiosk ID --site SITE [--minutes 15]
//! kiosk-gateway token list --db FILE
//! kiosk-gateway token revoke --db FILE --kiosk ID
//! kiosk-gateway kiosk revoke --db FILE ID
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use kiosk_gateway::{store, Gateway, GatewayConfig, Tls};

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

#[derive(Subcommand)]
enum Command {
    /// The deployment CA.
    Ca {
        #[command(subcommand)]
        command: CaCommand,
    },
    /// Runs the service until SIGINT/SIGTERM.
    Serve {
        /// The records (SQLite; created if absent).
        #[arg(long)]
        db: PathBuf,
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
        #[arg(long)]
        db: PathBuf,
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
        #[arg(long)]
        db: PathBuf,
    },
    /// Revokes the unused tokens of a kiosk.
    Revoke {
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        kiosk: String,
    },
}

#[derive(Subcommand)]
enum KioskCommand {
    /// Revokes every certificate of a kiosk (retired or stolen) and its unused tokens.
    Revoke {
        #[arg(long)]
        db: PathBuf,
        /// The kiosk id.
        kiosk: String,
    },
}

fn open(db: &std::path::Path) -> anyhow::Result<rusqlite::Connection> {
    store::open(Some(db))
        .with_context(|| format!("cannot open the gateway database {}", db.display()))
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
        } => {
            let gw = Gateway::start_with(GatewayConfig {
                agency,
                db_path: Some(db),
                ca_dir: Some(ca_dir),
                tls: Tls::Files { cert, key },
                listen,
                ..GatewayConfig::default()
            })?;
            eprintln!("kiosk gateway on {}", gw.url());
            wait_for_signal()?;
            gw.stop();
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
            let db = open(&db)?;
            let ms = i64::from(minutes).saturating_mul(60_000);
            let token = kiosk_gateway::state::new_token(&db, &kiosk, &site, ms, now)
                .map_err(anyhow::Error::msg)?;
            println!("{token}");
        }
        Command::Token {
            command: TokenCommand::List { db },
        } => {
            for t in store::list_tokens(&open(&db)?, now)? {
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
            let n = store::revoke_tokens(&open(&db)?, &kiosk, now)?;
            println!("{n} token(s) of {kiosk} revoked");
        }
        Command::Kiosk {
            command: KioskCommand::Revoke { db, kiosk },
        } => {
            let n = store::revoke_kiosk(&mut open(&db)?, &kiosk, now)?;
            tracing::warn!(kiosk = %kiosk, certificates = n, "kiosk revoked");
            println!("{n} certificate(s) of {kiosk} revoked; its next handshake is refused");
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
