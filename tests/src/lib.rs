//! End-to-end tests across crates: they run the built `kiosk` and `kioskctl` binaries as a
//! technician or systemd would, and look only at what those show (exit codes, stderr, log
//! files, PNG files, the printed receipts). The tests are in `tests/tests/`; this library holds
//! their shared helpers.

pub mod gateway;
pub mod sekmet;
pub mod tls;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The workspace root.
#[must_use]
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(".."))
}

/// Path of a binary built in the same target directory as this test.
///
/// `cargo test --workspace` builds `kiosk` and `kioskctl` (their packages have integration
/// tests), next to the `deps/` folder that holds this test executable.
///
/// # Panics
/// When the binary is missing, with the command that builds it.
#[must_use]
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("test binaries live in target/<profile>/deps");
    let path = dir.join(name);
    assert!(
        path.is_file(),
        "{} not built; run `cargo build --workspace` (or `cargo xtask test`) first",
        path.display()
    );
    path
}

/// The demo configuration with the receipt folder moved into `dir`, written to
/// `dir/kiosk.toml`; `extra` replaces lines by prefix (`("level =", "level = \"trace\"")`).
#[must_use]
pub fn demo_config(dir: &Path, replace: &[(&str, &str)]) -> PathBuf {
    let text = std::fs::read_to_string(root().join("config/demo.toml")).expect("demo config");
    let receipts = dir.join("receipts");
    let mut out = String::new();
    for line in text.lines() {
        let mut line = line.to_string();
        if line.starts_with("printer =") {
            line = format!("printer = \"sim:{}\"", receipts.display());
        }
        for (prefix, with) in replace {
            if line.starts_with(prefix) {
                line = (*with).to_string();
            }
        }
        out.push_str(&line);
        out.push('\n');
    }
    let path = dir.join("kiosk.toml");
    std::fs::write(&path, out).expect("write config");
    path
}

/// A child process killed when dropped, so a failing test leaves nothing running.
#[derive(Debug)]
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `kiosk` with `args`, stdout and stderr captured.
///
/// # Panics
/// When the binary cannot start.
#[must_use]
pub fn spawn_kiosk(args: &[&str], envs: &[(&str, &str)]) -> Running {
    let mut c = Command::new(bin("kiosk"));
    c.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    // A test must never find the developer's display or journal.
    c.env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("JOURNAL_STREAM");
    for (k, v) in envs {
        c.env(k, v);
    }
    Running(c.spawn().expect("start kiosk"))
}

/// Waits until `path` contains `needle` (a log line), or panics after `timeout`.
///
/// # Panics
/// On timeout, showing the file.
pub fn wait_for_text(path: &Path, needle: &str, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.contains(needle) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "`{needle}` not in {} after {timeout:?}:\n{text}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether this run may not skip tests: `CI` set to anything but empty, `0` or `false` (the
/// CI entry point, `.ci/run`, sets `CI=1`).
#[must_use]
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !matches!(v.as_str(), "" | "0" | "false"))
}

/// A test that cannot run here: outside CI, says `SKIPPED` with `fix` on stderr and the caller
/// returns; under CI ([`in_ci`]) it fails with `fix`, so a green CI never hides an untested
/// path.
///
/// # Panics
/// Under CI.
pub fn skip(reason: &str, fix: &str) {
    skip_in(in_ci(), reason, fix);
}

fn skip_in(ci: bool, reason: &str, fix: &str) {
    assert!(!ci, "{reason}; CI=1 forbids skipping this test: {fix}");
    eprintln!("SKIPPED: {reason}: {fix}");
}

/// `true` if the environment variable `var` is set; otherwise [`skip`]s with `fix`.
///
/// # Panics
/// Under CI when `var` is not set.
#[must_use]
pub fn require_env(var: &str, fix: &str) -> bool {
    let on = std::env::var_os(var).is_some();
    if !on {
        skip(&format!("{var} is not set"), fix);
    }
    on
}

/// pcscd with the vpcd virtual reader driver, for the tests that read a virtual CCCD through
/// the real PC/SC stack (`tests/tests/identify_pcsc.rs`, kiosk-provisioning's
/// `card_read_pcscd.rs`).
pub mod pcscd {
    use std::net::TcpStream;
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    /// pcscd's socket.
    pub const SOCKET: &str = "/run/pcscd/pcscd.comm";
    /// The vpcd driver Debian's vsmartcard-vpcd installs.
    pub const VPCD_DRIVER: &str = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so";
    /// The port vpcd listens on for a virtual card (127.0.0.1).
    pub const VPCD_PORT: u16 = 35963;
    /// How long pcscd gets to create its socket.
    pub const START_TIMEOUT: Duration = Duration::from_secs(10);

    /// A pcscd started by the test (stopped on drop), or one already running with vpcd.
    #[derive(Debug)]
    pub struct Pcscd(Option<Child>);

    impl Drop for Pcscd {
        fn drop(&mut self) {
            if let Some(child) = &mut self.0 {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }

    /// Where [`start_from`] looks.
    struct Setup<'a> {
        bins: &'a [PathBuf],
        driver: &'a Path,
        socket: &'a Path,
        timeout: Duration,
        ci: bool,
    }

    /// Starts `pcscd --foreground` (no systemd in CI) and waits for its socket; reuses one
    /// already serving vpcd. `None`, with a SKIPPED line on stderr, when pcscd or the vpcd
    /// driver is not installed, pcscd does not start, or it does not create its socket in
    /// [`START_TIMEOUT`]; under CI (`CI=1`, [`super::in_ci`]) each of these fails the test
    /// with its fix instead.
    ///
    /// # Panics
    /// Under CI, whenever it would return `None`.
    #[must_use]
    pub fn start() -> Option<Pcscd> {
        start_from(&Setup {
            bins: &[
                PathBuf::from("/usr/sbin/pcscd"),
                PathBuf::from("/usr/bin/pcscd"),
            ],
            driver: Path::new(VPCD_DRIVER),
            socket: Path::new(SOCKET),
            timeout: START_TIMEOUT,
            ci: super::in_ci(),
        })
    }

    fn start_from(s: &Setup<'_>) -> Option<Pcscd> {
        let skip = |reason: &str, fix: &str| {
            super::skip_in(s.ci, reason, fix);
            None
        };
        let Some(bin) = s.bins.iter().find(|p| p.exists()) else {
            return skip(
                "pcscd is not installed",
                "run `cargo xtask setup` (apt-get install pcscd)",
            );
        };
        if !s.driver.exists() {
            return skip(
                &format!("the vpcd driver {} is not installed", s.driver.display()),
                "run `cargo xtask setup` (apt-get install vsmartcard-vpcd)",
            );
        }
        // vpcd listening means a pcscd with the driver is up: reuse it.
        if s.socket.exists()
            && TcpStream::connect(("127.0.0.1", VPCD_PORT))
                .map(drop)
                .is_ok()
        {
            return Some(Pcscd(None));
        }
        let child = match Command::new(bin)
            .arg("--foreground")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
        {
            Ok(c) => c,
            Err(e) => {
                return skip(
                    &format!("{} does not start: {e}", bin.display()),
                    "run the tests as a user that may start pcscd (root in CI), or stop a \
                     pcscd without vpcd (`systemctl stop pcscd.socket pcscd`)",
                )
            }
        };
        let guard = Pcscd(Some(child));
        let deadline = Instant::now() + s.timeout;
        while !s.socket.exists() {
            if Instant::now() > deadline {
                return skip(
                    &format!(
                        "pcscd did not create {} within {:?}",
                        s.socket.display(),
                        s.timeout
                    ),
                    "check `pcscd --foreground --debug` by hand: another pcscd may hold the \
                     socket, or /run/pcscd may not be writable",
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(guard)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        /// Each way pcscd can be missing, fail to start or be slow: SKIPPED outside CI, a
        /// failure naming the fix under CI. (Before, a pcscd that could not be spawned or was
        /// slow gave `None` and the calling test passed green, under CI too.)
        #[test]
        fn under_ci_every_missing_or_failing_pcscd_fails_with_its_fix() {
            let dir = tempfile::tempdir().expect("tempdir");
            let driver = dir.path().join("libifdvpcd.so");
            std::fs::write(&driver, b"").expect("driver stand-in");
            // Present but not executable: spawn fails.
            let not_exec = dir.path().join("pcscd-not-executable");
            std::fs::write(&not_exec, b"").expect("file");
            // Starts but never creates the socket: slow.
            let slow = dir.path().join("pcscd-slow");
            std::fs::write(&slow, "#!/bin/sh\nexec sleep 5\n").expect("script");
            let mut p = std::fs::metadata(&slow).expect("meta").permissions();
            std::os::unix::fs::PermissionsExt::set_mode(&mut p, 0o755);
            std::fs::set_permissions(&slow, p).expect("chmod");
            let socket = dir.path().join("pcscd.comm");
            let cases: [(Vec<PathBuf>, &Path, &str); 4] = [
                (vec![dir.path().join("none")], &driver, "cargo xtask setup"),
                (
                    vec![slow.clone()],
                    &dir.path().join("none.so"),
                    "vsmartcard-vpcd",
                ),
                (vec![not_exec], &driver, "may start pcscd"),
                (vec![slow], &driver, "pcscd --foreground --debug"),
            ];
            for (bins, driver, fix) in &cases {
                for ci in [false, true] {
                    let setup = Setup {
                        bins,
                        driver,
                        socket: &socket,
                        timeout: Duration::from_millis(300),
                        ci,
                    };
                    let r = std::panic::catch_unwind(|| start_from(&setup).is_none());
                    match (ci, r) {
                        (false, Ok(none)) => assert!(none, "{fix}"),
                        (true, Err(panic)) => {
                            let msg = panic.downcast_ref::<String>().cloned().unwrap_or_default();
                            assert!(msg.contains(fix), "{msg}");
                            assert!(msg.contains("CI=1"), "{msg}");
                        }
                        (ci, r) => panic!("ci {ci}: {fix}: {:?}", r.map_err(|_| "panicked")),
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    /// The failed-snapshot files (`<name>.new.png`, see kiosk-app's `ui_common`) are
    /// ignored by git, the goldens are not.
    #[test]
    fn failed_snapshots_are_git_ignored() {
        let check = |path: &str| {
            std::process::Command::new("git")
                .args(["check-ignore", "-q", "--no-index", path])
                .current_dir(super::root())
                .status()
                .map(|s| s.code())
        };
        match check("kiosk-app/tests/snapshots/attract.new.png") {
            Ok(Some(0)) => {}
            Ok(Some(1)) => panic!("<name>.new.png is not in .gitignore"),
            other => {
                super::skip(
                    &format!("git check-ignore did not answer: {other:?}"),
                    "run the tests in a git checkout with git installed",
                );
                return;
            }
        }
        assert_eq!(
            check("kiosk-app/tests/snapshots/attract.png")
                .ok()
                .flatten(),
            Some(1),
            "goldens must stay tracked"
        );
    }
}
