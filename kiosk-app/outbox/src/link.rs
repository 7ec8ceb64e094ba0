//! The OS link-up hook: notices the moment a network interface comes up, so the worker retries
//! what waited for the network at once instead of at its next probe or after its backoff.
//!
//! Two halves, as elsewhere in this crate: [`link_came_up`] is pure (two sets of interface
//! names in, a yes or no out), and [`LinkWatcher`] is the I/O edge: a thread that reads
//! `<sysfs>/class/net/*/{carrier,operstate}` every second ([`POLL_INTERVAL`]) and calls a
//! callback on each rising edge. The sysfs root is a parameter, so the tests run it over a
//! folder of fake files.
//!
//! Polling sysfs rather than listening on a netlink socket keeps this free of `unsafe` and of
//! new dependencies; a one-second delay is nothing next to a backoff that can reach minutes.
//! A link-up is only a hint: the worker's own probes still decide whether the gateway answers.

use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

/// How often [`LinkWatcher::start`] is meant to look (the kiosk's setting).
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// The loopback interface: always up, and no way to the gateway.
const LOOPBACK: &str = "lo";

/// Whether a link came up between two observations: some interface other than `lo` is up in
/// `current` and was not in `previous`. An interface going down, or one staying up, is not.
#[must_use]
pub fn link_came_up(previous: &BTreeSet<String>, current: &BTreeSet<String>) -> bool {
    current
        .iter()
        .any(|name| name != LOOPBACK && !previous.contains(name))
}

/// The interfaces that are up under `sysfs_root` (normally `/sys`): `class/net/<name>/carrier`
/// reads `1` and `operstate` reads `up` or `unknown` (what drivers without operational state,
/// such as some USB modems and tunnels, report). An interface whose files cannot be read (the
/// kernel refuses to read `carrier` of an interface that is administratively down) is not up.
///
/// # Errors
///
/// The `class/net` folder cannot be listed.
pub fn interfaces_up(sysfs_root: &Path) -> io::Result<BTreeSet<String>> {
    let mut up = BTreeSet::new();
    for entry in std::fs::read_dir(sysfs_root.join("class/net"))? {
        let Ok(entry) = entry else { continue };
        let dir = entry.path();
        let read = |file: &str| std::fs::read_to_string(dir.join(file)).ok();
        let carrier = read("carrier").is_some_and(|c| c.trim() == "1");
        let operstate = read("operstate").is_some_and(|s| matches!(s.trim(), "up" | "unknown"));
        if carrier && operstate {
            if let Some(name) = entry.file_name().to_str() {
                up.insert(name.to_owned());
            }
        }
    }
    Ok(up)
}

/// A thread that calls a callback each time a network link comes up ([`link_came_up`]
/// between two polls). The links up when it starts are the baseline, not an edge. Dropping
/// the watcher stops the thread and waits for it (at most one callback in progress).
pub struct LinkWatcher {
    /// Dropped to stop the thread: its wait ends at once with `Disconnected`.
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for LinkWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkWatcher")
            .field("running", &self.thread.is_some())
            .finish_non_exhaustive()
    }
}

impl LinkWatcher {
    /// Starts watching `sysfs_root` (normally `/sys`) every `interval` (normally
    /// [`POLL_INTERVAL`]), calling `on_link_up` on the watcher's thread at each rising edge.
    ///
    /// A `class/net` folder that cannot be read is logged once and read as "no interface
    /// up"; the watcher keeps polling (the worker's probes cover the network meanwhile).
    ///
    /// # Errors
    ///
    /// The thread cannot be started.
    pub fn start(
        sysfs_root: impl Into<PathBuf>,
        interval: Duration,
        on_link_up: impl Fn() + Send + 'static,
    ) -> io::Result<Self> {
        let root = sysfs_root.into();
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("link-watch".into())
            .spawn(move || {
                let mut warned = false;
                let mut read = || match interfaces_up(&root) {
                    Ok(up) => {
                        warned = false;
                        up
                    }
                    Err(e) => {
                        if !warned {
                            tracing::warn!(
                                path = %root.join("class/net").display(),
                                error = %e,
                                "cannot read the network interfaces: queued submissions are \
                                 retried on the worker's probes only"
                            );
                            warned = true;
                        }
                        BTreeSet::new()
                    }
                };
                let mut previous = read();
                // A timeout is the next poll; a message or a dropped sender is the stop.
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
                    let current = read();
                    if link_came_up(&previous, &current) {
                        tracing::info!("a network link came up: retrying queued submissions");
                        on_link_up();
                    }
                    previous = current;
                }
            })?;
        Ok(Self {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for LinkWatcher {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            // A panicking callback has already been reported by the panic hook.
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Instant;

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn rising_edges_only_and_never_loopback() {
        // (previous, current, came up)
        let cases: &[(&[&str], &[&str], bool)] = &[
            (&[], &["eth0"], true),
            (&["lo"], &["lo", "eth0"], true),
            (&["eth0"], &["eth0", "wlan0"], true),
            (&["eth0"], &["wlan0"], true),
            (&[], &[], false),
            (&["eth0"], &["eth0"], false),
            (&["eth0"], &[], false),
            (&["eth0", "wlan0"], &["eth0"], false),
            (&[], &["lo"], false),
            (&["eth0"], &["eth0", "lo"], false),
        ];
        for (prev, cur, want) in cases {
            assert_eq!(
                link_came_up(&set(prev), &set(cur)),
                *want,
                "{prev:?} -> {cur:?}"
            );
        }
    }

    /// A fake `/sys`: `class/net/<name>/{carrier,operstate}`.
    struct FakeSysfs(tempfile::TempDir);

    impl FakeSysfs {
        fn new() -> Self {
            Self(tempfile::tempdir().expect("tempdir"))
        }

        fn set(&self, name: &str, carrier: Option<&str>, operstate: &str) {
            let dir = self.0.path().join("class/net").join(name);
            std::fs::create_dir_all(&dir).expect("mkdir");
            let carrier_file = dir.join("carrier");
            match carrier {
                Some(c) => std::fs::write(&carrier_file, format!("{c}\n")).expect("write"),
                // What an administratively down interface looks like to a reader: no value.
                None => {
                    let _ = std::fs::remove_file(&carrier_file);
                }
            }
            std::fs::write(dir.join("operstate"), format!("{operstate}\n")).expect("write");
        }

        fn root(&self) -> &Path {
            self.0.path()
        }
    }

    #[test]
    fn sysfs_is_read_as_carrier_and_operstate() {
        let sys = FakeSysfs::new();
        sys.set("lo", Some("1"), "unknown");
        sys.set("eth0", Some("1"), "up");
        sys.set("wlan0", Some("0"), "down");
        sys.set("wwan0", Some("1"), "unknown");
        sys.set("eth1", Some("1"), "dormant");
        sys.set("eth2", None, "down");
        assert_eq!(
            interfaces_up(sys.root()).expect("read"),
            set(&["eth0", "lo", "wwan0"])
        );
        assert!(interfaces_up(&sys.root().join("missing")).is_err());
    }

    fn wait_for(what: impl Fn() -> bool) -> bool {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if what() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        false
    }

    #[test]
    fn the_watcher_calls_back_once_per_link_up_and_ignores_loopback() {
        let sys = FakeSysfs::new();
        sys.set("lo", Some("1"), "unknown");
        sys.set("eth0", Some("0"), "down");
        let calls = Arc::new(AtomicUsize::new(0));
        let c = Arc::clone(&calls);
        let interval = Duration::from_millis(10);
        let watcher = LinkWatcher::start(sys.root(), interval, move || {
            c.fetch_add(1, Ordering::SeqCst);
        })
        .expect("start");
        let count = || calls.load(Ordering::SeqCst);
        // Several polls with nothing changing: no call (lo being up is the baseline).
        std::thread::sleep(interval * 10);
        assert_eq!(count(), 0);

        // Loopback going down and up again is not a link to the gateway.
        // (Twenty intervals: room for the watcher to poll on a busy machine.)
        sys.set("lo", Some("0"), "down");
        std::thread::sleep(interval * 20);
        sys.set("lo", Some("1"), "unknown");
        std::thread::sleep(interval * 20);
        assert_eq!(count(), 0);

        // The cable is plugged in: one call, however many polls see it up afterwards.
        sys.set("eth0", Some("1"), "up");
        assert!(wait_for(|| count() == 1), "no call after eth0 came up");
        std::thread::sleep(interval * 10);
        assert_eq!(count(), 1);

        // Unplugged and plugged again: a second edge.
        sys.set("eth0", Some("0"), "down");
        std::thread::sleep(interval * 20);
        assert_eq!(count(), 1);
        sys.set("eth0", Some("1"), "up");
        assert!(wait_for(|| count() == 2), "no call after eth0 came back");

        // Dropping stops the thread: later edges call nobody.
        drop(watcher);
        sys.set("eth0", Some("0"), "down");
        sys.set("wlan0", Some("1"), "up");
        std::thread::sleep(interval * 20);
        assert_eq!(count(), 2);
    }

    #[test]
    fn a_missing_sysfs_is_not_fatal() {
        let sys = FakeSysfs::new();
        let calls = Arc::new(AtomicUsize::new(0));
        let c = Arc::clone(&calls);
        let _watcher = LinkWatcher::start(
            sys.root().join("absent"),
            Duration::from_millis(10),
            move || {
                c.fetch_add(1, Ordering::SeqCst);
            },
        )
        .expect("start");
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(calls.load(Ordering::SeqCst), 0);
    }
}
