//! `kioskctl queue ...`: the technician's view of the encrypted submission outbox.
//!
//! Shows ids, kinds, states, attempts, ages and error classes; never a payload, a partition
//! key or a receipt, so nothing personal reaches the screen. `status`, `list` and `dead` open
//! the database read-only (safe while the kiosk runs); `retry`, `send-test` and `init-key`
//! write. `send-test` queues one test submission of the fixtures' synthetic citizen under
//! [`TEST_PROCEDURE_CODE`] (the gateway records it and never forwards it): the kiosk's outbox
//! worker delivers it like any other, which proves the delivery path after an installation.
//! `--config FILE` reads the database and key paths from the kiosk configuration's `[queue]`
//! (with the kiosk's own loader), so kioskctl opens the queue the kiosk uses.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Args, Subcommand, ValueEnum};
use kiosk_app::config::{self, ConfigError, KioskConfig, Mode, QueueSettings};
use kiosk_app::gateway::codes;
use kiosk_app::gateway::dto::{SubmissionKind, SubmissionRequest, TEST_PROCEDURE_CODE};
use kiosk_outbox::{
    KeyFile, KeySource, Kind, NewItem, OpenOptions, Outbox, State, SystemClock, Uuid,
};

use crate::Outcome;

const EXIT: &str = "Exit status:\n  0  done\n  2  the queue or its key cannot be opened (the \
                    message says why and what to do)";

/// `kioskctl queue ...`.
#[derive(Debug, Subcommand)]
pub enum QueueCommand {
    /// Count submissions per state, the oldest undelivered one and open alerts
    #[command(after_help = EXIT)]
    Status(QueueOpts),
    /// List submissions (ids, states, attempts, ages, last error class; no personal data)
    #[command(after_help = EXIT)]
    List(ListArgs),
    /// Send a dead-lettered submission again (after fixing what the alert named)
    #[command(after_help = EXIT)]
    Retry(RetryArgs),
    /// List dead letters and operator alerts
    #[command(after_help = EXIT)]
    Dead(QueueOpts),
    /// Create a new queue key file (mode 0600); refuses to overwrite an existing one
    #[command(after_help = EXIT)]
    InitKey(InitKeyArgs),
    /// Queue a test submission (synthetic citizen, procedure KIOSK-TEST) for the kiosk to send
    #[command(
        long_about = "Queue one test submission to prove the delivery path after an \
                      installation: the fixtures' synthetic citizen (not a real person) under \
                      the procedure code KIOSK-TEST, which the gateway records with a receipt \
                      and never forwards to the one-stop system. It is stored encrypted in the \
                      kiosk's queue with a fresh id (also its idempotency key), printed on \
                      standard output; the running kiosk's outbox worker sends it like any \
                      other submission, within its next wake-up. `kioskctl queue list` then \
                      shows it delivered.\n\n\
                      Run it as the kiosk's user, so that the queue's files stay the kiosk's: \
                      `runuser -u kiosk -- kioskctl queue send-test --config \
                      /var/lib/kiosk/kiosk.toml`.",
        after_help = EXIT
    )]
    SendTest(QueueOpts),
}

/// Where the queue and its key are.
#[derive(Debug, Args)]
pub struct QueueOpts {
    /// Take the queue database and key file from this kiosk configuration (its [queue]
    /// table); --db and --key still override
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The queue database [default: queue.path of --config, else /var/lib/kiosk/queue.db]
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// The queue key file, 64 hex digits, mode 0600 [default: queue.key_file of --config,
    /// else /etc/kiosk/queue.key]
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
}

impl QueueOpts {
    /// The database and key file: --db/--key, else the configuration's `[queue]`, else the
    /// kiosk's defaults.
    fn resolve(&self) -> Result<(PathBuf, PathBuf, Option<KioskConfig>), ConfigError> {
        let cfg = self.config.as_deref().map(config::load).transpose()?;
        let settings = cfg
            .as_ref()
            .map_or_else(QueueSettings::default, |c| c.queue.clone());
        Ok((
            self.db.clone().unwrap_or(settings.path),
            self.key.clone().unwrap_or(settings.key_file),
            cfg,
        ))
    }
}

/// `kioskctl queue list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Queue and key
    #[command(flatten)]
    pub opts: QueueOpts,
    /// Only rows in this state
    #[arg(long, value_enum)]
    pub state: Option<StateArg>,
    /// At most this many rows (oldest first)
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
}

/// `kioskctl queue retry`.
#[derive(Debug, Args)]
pub struct RetryArgs {
    /// The submission's id (from `kioskctl queue dead`)
    #[arg(value_name = "ID")]
    pub id: String,
    /// Queue and key
    #[command(flatten)]
    pub opts: QueueOpts,
}

/// `kioskctl queue init-key`.
#[derive(Debug, Args)]
pub struct InitKeyArgs {
    /// Where to write the key, e.g. /etc/kiosk/queue.key
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

/// Row states as written on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StateArg {
    /// Waiting for an attempt
    Pending,
    /// Being sent
    InFlight,
    /// Delivered (payload erased)
    Delivered,
    /// Dead letters
    Dead,
}

impl From<StateArg> for State {
    fn from(s: StateArg) -> Self {
        match s {
            StateArg::Pending => State::Pending,
            StateArg::InFlight => State::InFlight,
            StateArg::Delivered => State::Delivered,
            StateArg::Dead => State::Dead,
        }
    }
}

/// Runs one queue command.
///
/// # Errors
///
/// Only when the report cannot be written.
pub fn run(
    cmd: &QueueCommand,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    if let QueueCommand::InitKey(a) = cmd {
        return match KeyFile::new(&a.file).create() {
            Ok(_) => {
                writeln!(out, "queue key written to {} (mode 0600)", a.file.display())?;
                Ok(Outcome::Ok)
            }
            Err(e) => {
                writeln!(err, "kioskctl: {e}")?;
                Ok(Outcome::Invalid)
            }
        };
    }
    let (opts, writes) = match cmd {
        QueueCommand::Status(o) | QueueCommand::Dead(o) => (o, false),
        QueueCommand::List(a) => (&a.opts, false),
        QueueCommand::Retry(a) => (&a.opts, true),
        QueueCommand::SendTest(o) => (o, true),
        QueueCommand::InitKey(_) => return Ok(Outcome::Invalid),
    };
    let (db, key, cfg) = match opts.resolve() {
        Ok(paths) => paths,
        Err(e) => {
            writeln!(
                err,
                "kioskctl: {e} (check the whole file with `kioskctl config check`)"
            )?;
            return Ok(Outcome::Invalid);
        }
    };
    let outbox = match open(&db, &key, writes) {
        Ok(o) => o,
        Err(msg) => {
            writeln!(err, "kioskctl: {msg}")?;
            return Ok(Outcome::Invalid);
        }
    };
    let now = kiosk_outbox::Clock::now_ms(&SystemClock);
    let result = match cmd {
        QueueCommand::Status(_) => status(&outbox, now, out),
        QueueCommand::List(a) => list(&outbox, a.state.map(State::from), a.limit, now, out),
        QueueCommand::Dead(_) => dead(&outbox, now, out),
        QueueCommand::Retry(a) => return retry(&outbox, &a.id, now, out, err),
        QueueCommand::SendTest(_) => send_test(&outbox, cfg.as_ref(), now, out, err),
        QueueCommand::InitKey(_) => Ok(Ok(())),
    };
    match result? {
        Ok(()) => Ok(Outcome::Ok),
        Err(e) => {
            writeln!(err, "kioskctl: {e}")?;
            Ok(Outcome::Invalid)
        }
    }
}

fn open(db: &Path, key: &Path, writes: bool) -> Result<Outbox, String> {
    let key = KeyFile::new(key).load().map_err(|e| e.to_string())?;
    if !db.exists() {
        return Err(format!(
            "no queue database at {}: the kiosk creates it at its first start (or pass --db, \
             or --config with the kiosk's configuration)",
            db.display()
        ));
    }
    Outbox::open(
        db,
        &key,
        &OpenOptions {
            read_only: !writes,
            ..OpenOptions::default()
        },
    )
    .map_err(|e| e.to_string())
}

type Report = anyhow::Result<Result<(), kiosk_outbox::OutboxError>>;

fn status(o: &Outbox, now: i64, out: &mut dyn Write) -> Report {
    let s = match o.stats() {
        Ok(s) => s,
        Err(e) => return Ok(Err(e)),
    };
    writeln!(out, "pending      {}", s.pending)?;
    writeln!(out, "in flight    {}", s.in_flight)?;
    writeln!(out, "delivered    {}", s.delivered)?;
    writeln!(out, "dead         {}", s.dead)?;
    let oldest = s
        .oldest_undelivered
        .map_or_else(|| "-".to_owned(), |t| format!("{} ago", age(now - t)));
    writeln!(out, "oldest undelivered  {oldest}")?;
    writeln!(out, "open alerts  {}", s.open_alerts)?;
    if s.open_alerts > 0 {
        writeln!(out, "see `kioskctl queue dead`")?;
    }
    Ok(Ok(()))
}

fn list(o: &Outbox, state: Option<State>, limit: usize, now: i64, out: &mut dyn Write) -> Report {
    let rows = match o.list(state, limit) {
        Ok(r) => r,
        Err(e) => return Ok(Err(e)),
    };
    let mut table = vec![vec![
        "ID".to_owned(),
        "KIND".to_owned(),
        "STATE".to_owned(),
        "ATTEMPTS".to_owned(),
        "AGE".to_owned(),
        "PAYLOAD".to_owned(),
        "LAST ERROR".to_owned(),
    ]];
    for r in rows {
        table.push(vec![
            r.id.to_string(),
            r.kind.as_str().to_owned(),
            r.state.as_str().to_owned(),
            r.attempts.to_string(),
            age(now - r.created_at),
            if r.has_payload { "kept" } else { "erased" }.to_owned(),
            r.last_error_kind.unwrap_or_else(|| "-".to_owned()),
        ]);
    }
    write!(out, "{}", crate::table::render(&table))?;
    Ok(Ok(()))
}

fn dead(o: &Outbox, now: i64, out: &mut dyn Write) -> Report {
    let rows = match o.list(Some(State::Dead), usize::MAX) {
        Ok(r) => r,
        Err(e) => return Ok(Err(e)),
    };
    if rows.is_empty() {
        writeln!(out, "no dead letters")?;
    }
    for r in rows {
        writeln!(
            out,
            "{}  {}  {} attempts  {} old  payload {}\n    {}",
            r.id,
            r.kind.as_str(),
            r.attempts,
            age(now - r.created_at),
            if r.has_payload {
                "kept: `kioskctl queue retry ID` sends it again"
            } else {
                "erased (past retention): cannot be retried"
            },
            r.last_error.unwrap_or_default()
        )?;
    }
    let alerts = match o.alerts(20) {
        Ok(a) => a,
        Err(e) => return Ok(Err(e)),
    };
    if !alerts.is_empty() {
        writeln!(out, "\nalerts (newest first):")?;
        for a in alerts {
            writeln!(
                out,
                "  {} ago  {}  {}{}",
                age(now - a.at),
                a.item_id,
                a.reason,
                if a.acknowledged { "  (retried)" } else { "" }
            )?;
        }
    }
    Ok(Ok(()))
}

fn retry(
    o: &Outbox,
    id: &str,
    now: i64,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let Ok(uuid) = Uuid::parse_str(id) else {
        writeln!(
            err,
            "kioskctl: {id:?} is not a queue id; copy one from `kioskctl queue dead`"
        )?;
        return Ok(Outcome::Invalid);
    };
    match o.retry_dead(uuid, now) {
        Ok(true) => {
            writeln!(
                out,
                "{uuid} queued again; the kiosk sends it within its next wake-up"
            )?;
            Ok(Outcome::Ok)
        }
        Ok(false) => {
            writeln!(
                err,
                "kioskctl: {uuid} is not a dead letter with its payload kept; see `kioskctl \
                 queue list`"
            )?;
            Ok(Outcome::Invalid)
        }
        Err(e) => {
            writeln!(err, "kioskctl: {e}")?;
            Ok(Outcome::Invalid)
        }
    }
}

/// Queues the test submission (see the module docs); prints its id alone on `out`, and on
/// `err` what happens next.
fn send_test(
    o: &Outbox,
    cfg: Option<&KioskConfig>,
    now: i64,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Report {
    let id = Outbox::new_id();
    let hospital = cfg.is_some_and(|c| c.mode == Mode::Hospital);
    let kind = if hospital {
        SubmissionKind::Clinic
    } else {
        SubmissionKind::Tthc
    };
    let request = SubmissionRequest {
        procedure_code: TEST_PROCEDURE_CODE.to_owned(),
        procedure_name: "Hồ sơ thử nghiệm của kỹ thuật viên (không xử lý)".to_owned(),
        submitted_at: codes::format_portal_time(codes::now_vietnam()),
        ..SubmissionRequest::synthetic(&id.to_string(), kind)
    };
    // As the kiosk queues it (kiosk_app::submit): a clinic registration for a FHIR base as a
    // transaction Bundle, everything else as the gateway's JSON.
    let fhir = hospital && cfg.is_some_and(|c| c.gateway.fhir_url.is_some());
    let payload = if fhir {
        kiosk_app::gateway::fhir::registration_bundle(&request)
            .map(|b| serde_json::to_vec(&b))
            .context("the test submission has no FHIR form")??
    } else {
        serde_json::to_vec(&request)?
    };
    let partition = o.partition_for(request.id_number.expose().as_bytes());
    let queued = o.enqueue(
        NewItem {
            id,
            kind: if hospital { Kind::Clinic } else { Kind::Tthc },
            partition: &partition,
            payload: &payload,
        },
        now,
    );
    if let Err(e) = queued {
        return Ok(Err(e));
    }
    writeln!(out, "{id}")?;
    writeln!(
        err,
        "test submission {id} queued ({TEST_PROCEDURE_CODE}, the synthetic citizen); the \
         kiosk sends it within its next wake-up: `kioskctl queue list` shows it delivered"
    )?;
    Ok(Ok(()))
}

/// `3d 4h`, `2h 5m`, `12m 3s`, `4s`.
fn age(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    let (d, h, m, sec) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m}m")
    } else if m > 0 {
        format!("{m}m {sec}s")
    } else {
        format!("{sec}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiosk_outbox::{ErrorClass, Kind, NewItem, QueueKey};

    #[test]
    fn ages() {
        assert_eq!(age(4_000), "4s");
        assert_eq!(age(723_000), "12m 3s");
        assert_eq!(age(7_500_000), "2h 5m");
        assert_eq!(age(273_600_000), "3d 4h");
        assert_eq!(age(-5), "0s");
    }

    #[test]
    fn status_list_dead_retry_show_nothing_personal() {
        let dir = tempfile::tempdir().expect("tempdir");
        let key_path = dir.path().join("queue.key");
        let db = dir.path().join("queue.db");
        let mut out = Vec::new();
        let mut err = Vec::new();
        let init = QueueCommand::InitKey(InitKeyArgs {
            file: key_path.clone(),
        });
        assert_eq!(run(&init, &mut out, &mut err).expect("io"), Outcome::Ok);
        let key: QueueKey = KeyFile::new(&key_path).load().expect("key");
        let o = Outbox::open(&db, &key, &OpenOptions::default()).expect("open");
        let payload = br#"{"ChuHoSo":"NGUYEN VAN AN","SoCCCD":"001090123456"}"#;
        let a = Outbox::new_id();
        let b = Outbox::new_id();
        for id in [a, b] {
            o.enqueue(
                NewItem {
                    id,
                    kind: Kind::Tthc,
                    partition: &o.partition_for(b"001090123456"),
                    payload,
                },
                0,
            )
            .expect("enqueue");
        }
        o.claim_due(0, 1000, 1).expect("claim");
        o.dead(a, ErrorClass::Permanent, "HTTP 422 invalid_field SoCCCD", 1)
            .expect("dead");
        drop(o);

        let opts = || QueueOpts {
            config: None,
            db: Some(db.clone()),
            key: Some(key_path.clone()),
        };
        let mut all = String::new();
        for cmd in [
            QueueCommand::Status(opts()),
            QueueCommand::List(ListArgs {
                opts: opts(),
                state: None,
                limit: 50,
            }),
            QueueCommand::Dead(opts()),
            QueueCommand::Retry(RetryArgs {
                id: a.to_string(),
                opts: opts(),
            }),
            QueueCommand::Status(opts()),
        ] {
            let (mut out, mut err) = (Vec::new(), Vec::new());
            let outcome = run(&cmd, &mut out, &mut err).expect("io");
            let err = String::from_utf8(err).expect("utf8");
            assert_eq!(outcome, Outcome::Ok, "{cmd:?}: {err}");
            all.push_str(&String::from_utf8(out).expect("utf8"));
        }
        assert!(all.contains(&a.to_string()), "{all}");
        assert!(all.contains("invalid_field SoCCCD"), "{all}");
        assert!(all.contains("queued again"), "{all}");
        for personal in ["NGUYEN", "001090123456"] {
            assert!(!all.contains(personal), "{personal} shown:\n{all}");
        }
        // A wrong key is a clear error, not a crash.
        std::fs::remove_file(&key_path).expect("rm");
        KeyFile::new(&key_path).create().expect("another key");
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let outcome = run(&QueueCommand::Status(opts()), &mut out, &mut err).expect("io");
        assert_eq!(outcome, Outcome::Invalid);
        let err = String::from_utf8(err).expect("utf8");
        assert!(
            err.contains("cannot be opened with this queue key"),
            "{err}"
        );
    }
}
