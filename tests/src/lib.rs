//! End-to-end tests across crates: they run the built `kiosk` and `kioskctl` binaries as a
//! technician or systemd would, and look only at what those show (exit codes, stderr, log
//! files, PNG files, the printed receipts). The tests are in `tests/tests/`; this library holds
//! their shared helpers.

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

    /// Starts `pcscd --foreground` (no systemd in CI) and waits for its socket; reuses one
    /// already serving vpcd. `None`, with a SKIPPED line on stderr, when pcscd or the vpcd
    /// driver is not installed (`cargo xtask setup` installs both).
    #[must_use]
    pub fn start() -> Option<Pcscd> {
        let Some(bin) = ["/usr/sbin/pcscd", "/usr/bin/pcscd"]
            .iter()
            .map(PathBuf::from)
            .find(|p| p.exists())
        else {
            eprintln!("SKIPPED: pcscd is not installed (`cargo xtask setup` installs it)");
            return None;
        };
        if !Path::new(VPCD_DRIVER).exists() {
            eprintln!(
                "SKIPPED: the vpcd driver is not installed (apt-get install vsmartcard-vpcd)"
            );
            return None;
        }
        // vpcd listening means a pcscd with the driver is up: reuse it.
        if Path::new(SOCKET).exists()
            && TcpStream::connect(("127.0.0.1", VPCD_PORT))
                .map(drop)
                .is_ok()
        {
            return Some(Pcscd(None));
        }
        let child = Command::new(bin)
            .arg("--foreground")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let guard = Pcscd(Some(child));
        let deadline = Instant::now() + Duration::from_secs(10);
        while !Path::new(SOCKET).exists() {
            if Instant::now() > deadline {
                eprintln!("SKIPPED: pcscd did not create {SOCKET} within 10 s");
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(guard)
    }
}
