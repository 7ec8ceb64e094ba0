//! A real FHIR R4 server for the clinic path: `sekmet-fhir` 0.1.1 (PyPI, Apache-2.0, pinned),
//! installed into a virtualenv under the target folder the first time, started on 127.0.0.1
//! on a free port with its own SQLite in a temporary folder, and killed when dropped.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kiosk_app::gateway::http;

/// The pinned package.
pub const PACKAGE: &str = "sekmet-fhir==0.1.1";

/// A running sekmet-fhir.
#[derive(Debug)]
pub struct Sekmet {
    child: Child,
    addr: SocketAddr,
    _data: tempfile::TempDir,
}

impl Drop for Sekmet {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `sekmet` executable in `target_tmp/sekmet-venv`, installed if missing.
///
/// # Panics
/// When python3 -m venv or pip fails, naming the package to install.
#[must_use]
pub fn install(target_tmp: &Path) -> PathBuf {
    let venv = target_tmp.join("sekmet-venv");
    let bin = venv.join("bin/sekmet");
    // Tests of one binary run in parallel, and test binaries may too: one installs, the others
    // wait for it (a venv cannot be built elsewhere and renamed: its scripts name their path).
    std::fs::create_dir_all(target_tmp).expect("target tmp folder");
    let lock = std::fs::File::create(target_tmp.join("sekmet-venv.lock")).expect("lock file");
    lock.lock().expect("lock the venv");
    if !bin.exists() {
        // A half-built venv from an interrupted run would make `venv` fail.
        let _ = std::fs::remove_dir_all(&venv);
        let ok = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .expect("python3");
        assert!(
            ok.success(),
            "python3 -m venv failed (apt install python3-venv)"
        );
        let ok = Command::new(venv.join("bin/pip"))
            .args(["install", "-q", PACKAGE])
            .status()
            .expect("pip");
        assert!(ok.success(), "pip install {PACKAGE} failed");
    }
    bin
}

impl Sekmet {
    /// Installs (once, under `target_tmp`) and starts sekmet-fhir; waits until
    /// `GET /fhir/metadata` answers.
    ///
    /// # Panics
    /// When it does not start within 60 s.
    #[must_use]
    pub fn start(target_tmp: &Path) -> Self {
        let bin = install(target_tmp);
        let port = TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        let data = tempfile::tempdir().expect("tempdir");
        let child = Command::new(&bin)
            .args(["serve", "--host", "127.0.0.1", "--port", &port.to_string()])
            .current_dir(data.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start sekmet");
        let s = Self {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            _data: data,
        };
        let started = Instant::now();
        while !matches!(s.get("/fhir/metadata"), Ok((200, _))) {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "sekmet did not start"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        s
    }

    /// The socket address.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The FHIR base, `http://127.0.0.1:PORT/fhir`.
    #[must_use]
    pub fn base_url(&self) -> String {
        format!("http://{}/fhir", self.addr)
    }

    /// One plain-HTTP request.
    ///
    /// # Errors
    /// The exchange failed (message).
    pub fn exchange(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<(u16, Vec<u8>), String> {
        use std::io::Write;
        let mut s = TcpStream::connect_timeout(&self.addr, Duration::from_secs(5))
            .map_err(|e| e.to_string())?;
        s.set_read_timeout(Some(Duration::from_secs(30)))
            .map_err(|e| e.to_string())?;
        let host = self.addr.to_string();
        s.write_all(&http::write_request(method, target, &host, headers, body))
            .map_err(|e| e.to_string())?;
        let (head, body) = http::read_message(&mut s, true).map_err(|e| e.to_string())?;
        let status = head.second.parse().map_err(|_| "bad status".to_owned())?;
        Ok((status, body))
    }

    fn get(&self, target: &str) -> Result<(u16, Vec<u8>), String> {
        self.exchange("GET", target, &[("Accept", "application/fhir+json")], b"")
    }

    /// The logical ids of what a FHIR search (`/fhir/Patient?identifier=...`) finds, from the
    /// server's own searchset Bundle.
    ///
    /// # Panics
    /// When the search fails.
    #[must_use]
    pub fn search_ids(&self, query: &str) -> Vec<String> {
        let (status, body) = self.get(query).expect("search");
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        let b: serde_json::Value = serde_json::from_slice(&body).expect("searchset bundle");
        b["entry"]
            .as_array()
            .map(|es| {
                es.iter()
                    .filter_map(|e| e["resource"]["id"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}
