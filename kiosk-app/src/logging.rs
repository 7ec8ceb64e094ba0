//! Logging set-up: journald under systemd, text on stderr otherwise, optionally also a file.
//!
//! Personal data never goes into logs: types holding it print `<redacted>` (see
//! [`kiosk_hw::personal::Personal`]), and this module adds no fields of its own.
//!
//! The level comes from `[logging] level`, unless the `KIOSK_LOG` environment variable is set
//! (full `tracing` filter syntax, e.g. `kiosk_app=debug,info`), so a technician can raise the
//! level for one run without editing the configuration.

use std::fs::{File, OpenOptions};
use std::path::PathBuf;
use std::sync::Arc;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

use crate::config::{LogFormat, LogLevel, LoggingSettings};

/// The environment variable overriding the configured level.
pub const ENV_FILTER_VAR: &str = "KIOSK_LOG";

/// Where the main log stream goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sink {
    /// The systemd journal.
    Journald,
    /// Text on stderr.
    Stderr,
}

/// Why logging could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoggingError {
    /// journald was asked for but its socket is not reachable.
    #[error(
        "cannot connect to journald ({0}); set [logging] format = \"text\" or start under systemd"
    )]
    Journald(#[source] std::io::Error),
    /// The log file cannot be opened.
    #[error("cannot open log file {path}: {source}; check [logging] file and the directory's permissions")]
    File {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A global subscriber is already installed (init called twice).
    #[error("logging is already initialised")]
    AlreadySet,
}

/// Keeps logging alive; drop it at the end of `main` (or of a test).
#[derive(Debug)]
#[must_use = "logging stops (scoped) when the guard is dropped"]
pub struct LoggingGuard {
    _scoped: Option<tracing::subscriber::DefaultGuard>,
    /// A `KIOSK_LOG` value that did not parse, reported once logging runs.
    pub ignored_env_filter: Option<String>,
}

/// Chooses the sink: journald when asked, or in `auto` when systemd connected stderr to the
/// journal (it sets `JOURNAL_STREAM` for exactly that purpose).
#[must_use]
pub fn choose_sink(format: LogFormat, journal_stream_set: bool) -> Sink {
    match format {
        LogFormat::Journald => Sink::Journald,
        LogFormat::Text => Sink::Stderr,
        LogFormat::Auto if journal_stream_set => Sink::Journald,
        LogFormat::Auto => Sink::Stderr,
    }
}

/// The filter: `KIOSK_LOG` when set and valid, else the configured level. Returns the filter
/// and the rejected `KIOSK_LOG` value, if any: a typo in an environment variable must not
/// keep the kiosk from starting.
#[must_use]
pub fn filter(level: LogLevel, env_value: Option<&str>) -> (EnvFilter, Option<String>) {
    if let Some(v) = env_value.filter(|v| !v.trim().is_empty()) {
        match EnvFilter::try_new(v) {
            Ok(f) => return (f, None),
            Err(_) => return (EnvFilter::new(level.as_str()), Some(v.to_owned())),
        }
    }
    (EnvFilter::new(level.as_str()), None)
}

type Boxed = Box<dyn Layer<Registry> + Send + Sync>;

fn build(
    cfg: &LoggingSettings,
) -> Result<(impl tracing::Subscriber + Send + Sync, Option<String>), LoggingError> {
    let env = std::env::var(ENV_FILTER_VAR).ok();
    let (filter, ignored) = filter(cfg.level, env.as_deref());
    let sink = choose_sink(cfg.format, std::env::var_os("JOURNAL_STREAM").is_some());

    let mut layers: Vec<Boxed> = Vec::new();
    match sink {
        Sink::Journald => {
            let j = tracing_journald::layer().map_err(LoggingError::Journald)?;
            layers.push(Box::new(j.with_syslog_identifier("kiosk".to_owned())));
        }
        Sink::Stderr => layers.push(Box::new(
            tracing_subscriber::fmt::layer().with_writer(std::io::stderr),
        )),
    }
    if let Some(path) = &cfg.file {
        let file: File = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|source| LoggingError::File {
                path: path.clone(),
                source,
            })?;
        // `Arc<File>` is a `MakeWriter` because `&File` is `Write`: one shared handle, no lock.
        layers.push(Box::new(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(Arc::new(file)),
        ));
    }
    Ok((Registry::default().with(layers).with(filter), ignored))
}

fn warn_ignored(ignored: Option<&str>) {
    if let Some(v) = ignored {
        tracing::warn!(
            value = v,
            "{ENV_FILTER_VAR} is not a valid filter and was ignored; using the configured level"
        );
    }
}

/// Installs the global subscriber for the process.
///
/// # Errors
/// [`LoggingError`] when journald or the log file cannot be opened, or when called twice.
pub fn init(cfg: &LoggingSettings) -> Result<LoggingGuard, LoggingError> {
    let (subscriber, ignored) = build(cfg)?;
    tracing::subscriber::set_global_default(subscriber).map_err(|_| LoggingError::AlreadySet)?;
    warn_ignored(ignored.as_deref());
    Ok(LoggingGuard {
        _scoped: None,
        ignored_env_filter: ignored,
    })
}

/// Installs the subscriber for the current thread until the guard drops (tests that scan a
/// log file use this so tests do not fight over the global subscriber).
///
/// # Errors
/// As [`init`], except [`LoggingError::AlreadySet`].
pub fn init_scoped(cfg: &LoggingSettings) -> Result<LoggingGuard, LoggingError> {
    let (subscriber, ignored) = build(cfg)?;
    let guard = tracing::subscriber::set_default(subscriber);
    warn_ignored(ignored.as_deref());
    Ok(LoggingGuard {
        _scoped: Some(guard),
        ignored_env_filter: ignored,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sink_choice() {
        let table = [
            (LogFormat::Auto, true, Sink::Journald),
            (LogFormat::Auto, false, Sink::Stderr),
            (LogFormat::Text, true, Sink::Stderr),
            (LogFormat::Journald, false, Sink::Journald),
        ];
        for (format, js, expect) in table {
            assert_eq!(choose_sink(format, js), expect, "{format:?} {js}");
        }
    }

    #[test]
    fn env_overrides_level() {
        let (f, ignored) = filter(LogLevel::Info, Some("debug"));
        assert_eq!(f.to_string(), "debug");
        assert!(ignored.is_none());
        let (f, ignored) = filter(LogLevel::Warn, None);
        assert_eq!(f.to_string(), "warn");
        assert!(ignored.is_none());
        let (f, ignored) = filter(LogLevel::Error, Some("kiosk=[[["));
        assert_eq!(f.to_string(), "error");
        assert_eq!(ignored.as_deref(), Some("kiosk=[[["));
    }

    #[test]
    fn file_sink_receives_events() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("kiosk.log");
        let cfg = LoggingSettings {
            level: LogLevel::Info,
            format: LogFormat::Text,
            file: Some(path.clone()),
        };
        {
            let _g = init_scoped(&cfg).expect("logging starts");
            tracing::info!(step = "Attract", "session wiped");
            tracing::debug!("below the level");
        }
        let text = std::fs::read_to_string(&path).expect("log written");
        assert!(text.contains("session wiped"), "{text}");
        assert!(!text.contains("below the level"), "{text}");
    }
}
