//! `cargo xtask`: the project's make file, written in Rust so it runs wherever cargo does.
//!
//! ```text
//! cargo xtask setup            install what is missing (Debian packages); idempotent, fast when done
//! cargo xtask demo [--tour DIR] [--debug]
//!                              set up, build and start the kiosk on simulated hardware
//! cargo xtask test             set up, check formatting and clippy, run every test (what CI runs)
//! cargo xtask bench            run the benchmarks and print a table
//! cargo xtask face-eval [--check]
//!                              face verification error rates on the packaged images; --check
//!                              fails if FNMR rises above face/eval-baseline.toml
//! cargo xtask image            build the bootable USB image (GPT: FAT ESP + ext4 root) under
//!                              <target>/image/out; see image-build/README.md
//! cargo xtask image-test       boot that image in QEMU and prove it from the host (slow; not
//!                              part of `test`)
//! ```
//!
//! Everything a fresh Debian 12 machine needs beyond the Rust toolchain is listed here, in one
//! place, so that `setup` is the single source of truth for CI and newcomers alike.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use anyhow::{bail, Context, Result};

mod data;
mod deps;
mod image;
mod image_test;

/// Debian packages the build and the tests need, with the reason for each.
const APT_PACKAGES: &[(&str, &str)] = &[
    ("pkg-config", "locates C libraries for -sys crates"),
    ("libfontconfig1-dev", "Slint's font discovery"),
    (
        "libxkbcommon-dev",
        "Slint keyboard handling (winit, linuxkms)",
    ),
    (
        "libinput-dev",
        "Slint linuxkms backend: touchscreen input on the kiosk",
    ),
    (
        "libudev-dev",
        "Slint linuxkms backend: input device discovery",
    ),
    (
        "fonts-noto-core",
        "Noto Sans, embedded into the UI at build time",
    ),
    (
        "libssl-dev",
        "SQLCipher in kiosk-outbox links Debian's libcrypto (compiling OpenSSL costs CI minutes)",
    ),
    (
        "libclang-dev",
        "kiosk-hw feature v4l2 (on in kiosk and kioskctl): the v4l crate's bindings run bindgen",
    ),
    (
        "libpcsclite-dev",
        "kiosk-hw feature pcsc (on in kioskctl): the PC/SC driver links libpcsclite",
    ),
    (
        "pcscd",
        "the smart card service; the card-reader tests start their own `pcscd --foreground`",
    ),
    (
        "vsmartcard-vpcd",
        "pcscd's virtual reader driver: the cccd-vcard virtual chip plugs into it in tests",
    ),
    (
        "postgresql",
        "kiosk-gateway's production store; its tests start their own cluster (initdb, pg_ctl)",
    ),
    (
        "haproxy",
        "kiosk-gateway's load test (`cargo xtask gateway-load`): TCP load balancer for 3 replicas",
    ),
    (
        "libdlib-dev",
        "kiosk-face: dlib's face detector, shape predictor and ResNet encoder through FFI",
    ),
    (
        "libopenblas-dev",
        "kiosk-face: BLAS for dlib (the crate's `openblas` feature)",
    ),
    ("liblapack-dev", "kiosk-face: LAPACK for dlib"),
    (
        "python3",
        "setup fetches the pinned face data with it; the FHIR tests run sekmet-fhir on it",
    ),
    (
        "python3-venv",
        "the FHIR tests install the pinned sekmet-fhir into a virtualenv (python3 -m venv)",
    ),
    (
        "espeak-ng",
        "spoken prompts (kiosk_hw::audio::EspeakSpeaker); its test renders Vietnamese speech",
    ),
    (
        "libopenjp2-tools",
        "face-eval: opj_compress makes JPEG 2000 chip-like portraits for the evaluation",
    ),
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("setup") => setup(),
        Some("demo") => demo(&args[1..]),
        Some("test") => test(&args[1..]),
        Some("bench") => bench(),
        Some("gateway-load") => gateway_load(),
        Some("face-eval") => face_eval(&args[1..]),
        Some("image") => image::build(),
        Some("image-test") => image_test::boot(&args[1..]),
        Some("help") | Some("--help") | Some("-h") | None => {
            print_help();
            Ok(())
        }
        Some(other) => {
            print_help();
            Err(anyhow::anyhow!("unknown xtask command `{other}`"))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn print_help() {
    eprintln!(
        "usage: cargo xtask <command>\n\n\
         commands:\n  \
         setup              install missing Debian packages (idempotent)\n  \
         demo [--tour DIR]  run the kiosk on simulated hardware (window, or headless tour to DIR)\n  \
         test               setup + fmt + clippy + every test (what CI runs)\n  \
         bench              run benchmarks, print a table\n  \
         gateway-load       kiosk-gateway load test: 200 kiosks, HAProxy, 1 and 3 replicas, chaos\n  \
         face-eval [--check]  face verification error rates on the packaged image set\n  \
         image              build the bootable USB image (<target>/image/out/kiosk.img)\n  \
         image-test         boot the image in QEMU: provision, ready, screenshot, kill, power-off"
    );
}

/// The kiosk-gateway load test (`gateway/tests/load.rs`, ignored in `cargo xtask test`), in
/// release mode: 1 replica, 3 replicas, then 3 replicas with a replica killed and PostgreSQL
/// restarted. Prints the `RESULT` lines for docs/BENCHMARKS.md.
fn gateway_load() -> Result<()> {
    setup()?;
    let mut results = Vec::new();
    for (replicas, chaos) in [("1", "0"), ("3", "0"), ("3", "1")] {
        let mut c = cargo();
        c.args([
            "test",
            "--release",
            "--locked",
            "-p",
            "kiosk-gateway",
            "--test",
            "load",
            "--",
            "--ignored",
            "--nocapture",
        ])
        .env("LOAD_REPLICAS", replicas)
        .env("LOAD_CHAOS", chaos);
        eprintln!(
            "xtask: $ LOAD_REPLICAS={replicas} LOAD_CHAOS={chaos} {}",
            display_cmd(&c)
        );
        let out = c.output().context("could not start cargo")?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        eprint!("{}", String::from_utf8_lossy(&out.stderr));
        if !out.status.success() {
            eprint!("{stdout}");
            bail!("the gateway load test failed ({replicas} replicas, chaos {chaos})");
        }
        results.extend(
            stdout
                .lines()
                .filter(|l| l.starts_with("RESULT"))
                .map(str::to_owned),
        );
    }
    for r in results {
        println!("{r}");
    }
    Ok(())
}

fn root() -> PathBuf {
    // xtask lives in <root>/xtask; CARGO_MANIFEST_DIR is set by `cargo run`.
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("xtask"));
    manifest
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn run(cmd: &mut Command) -> Result<()> {
    eprintln!("xtask: $ {}", display_cmd(cmd));
    let status = cmd
        .status()
        .with_context(|| format!("could not start {}", display_cmd(cmd)))?;
    if !status.success() {
        bail!("`{}` failed with {status}", display_cmd(cmd));
    }
    Ok(())
}

fn display_cmd(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

fn cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(root());
    c
}

/// Packages of `list` that `dpkg-query` does not report as installed.
fn missing_packages(list: &[(&'static str, &'static str)]) -> Result<Vec<&'static str>> {
    let mut missing = Vec::new();
    for (pkg, _) in list {
        let out = Command::new("dpkg-query")
            .args(["-W", "-f=${Status}", pkg])
            .output()
            .context("dpkg-query not found: this set-up supports Debian 12 (bookworm)")?;
        let status = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() || !status.contains("install ok installed") {
            missing.push(*pkg);
        }
    }
    Ok(missing)
}

/// Installs the packages of `list` that are missing (apt-get, as root or through sudo).
fn apt_ensure(list: &[(&'static str, &'static str)]) -> Result<()> {
    let missing = missing_packages(list)?;
    if missing.is_empty() {
        eprintln!("xtask: all {} Debian packages present", list.len());
        return Ok(());
    }
    eprintln!("xtask: installing {}", missing.join(" "));
    for (p, why) in list.iter().filter(|(p, _)| missing.contains(p)) {
        eprintln!("xtask:   {p}: {why}");
    }
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    let apt = |args: &[&str]| -> Command {
        let mut c = Command::new(if is_root { "apt-get" } else { "sudo" });
        if !is_root {
            c.arg("apt-get");
        }
        c.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        c
    };
    run(&mut apt(&["update", "-qq"]))
        .context("apt-get update failed: run as root or with sudo, with network access")?;
    let mut install = apt(&["install", "-y", "-qq", "--no-install-recommends"]);
    install.args(&missing);
    run(&mut install)?;
    let still = missing_packages(list)?;
    if !still.is_empty() {
        bail!("still missing after install: {}", still.join(" "));
    }
    Ok(())
}

fn setup() -> Result<()> {
    let t = Instant::now();
    apt_ensure(APT_PACKAGES)?;
    data::ensure(&root()).context("fetching the face models and evaluation images")?;
    eprintln!("xtask: setup done in {:.1} s", t.elapsed().as_secs_f64());
    Ok(())
}

fn demo(args: &[String]) -> Result<()> {
    setup()?;
    let mut tour: Option<String> = None;
    let mut release = true;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--tour" => {
                tour = Some(
                    it.next()
                        .context("--tour needs a folder, e.g. --tour out/tour")?
                        .clone(),
                )
            }
            "--debug" => release = false,
            other => bail!("unknown demo option `{other}` (use --tour DIR or --debug)"),
        }
    }
    let mut c = cargo();
    // The demo's gateway runs in-process (kiosk-gateway behind the `demo-gateway` feature;
    // the device build links no CA).
    c.args([
        "run",
        "--package",
        "kiosk-app",
        "--bin",
        "kiosk",
        "--features",
        "demo-gateway",
    ]);
    if release {
        c.arg("--release");
    }
    c.args(["--", "--config"])
        .arg(root().join("config/demo.toml"));
    if let Some(dir) = tour {
        // Resolve relative to where the user typed the command, not the workspace root.
        let dir = std::env::current_dir()?.join(dir);
        c.arg("--tour").arg(dir);
    }
    eprintln!("xtask: $ {}", display_cmd(&c));
    let status = c.status().context("could not start cargo")?;
    match status.code() {
        Some(0) => Ok(()),
        // The kiosk already said, in one line, that there is no display and how to tour.
        Some(3) => std::process::exit(3),
        _ => bail!("the kiosk exited with {status}"),
    }
}

fn test(args: &[String]) -> Result<()> {
    let t = Instant::now();
    setup()?;
    run(cargo().args(["fmt", "--all", "--check"]))
        .context("formatting differs: run `cargo fmt --all`")?;
    let dir = root();
    let breaches = deps::breaches(
        &deps::load(&dir.join("deps-policy.toml"))?,
        &std::fs::read_to_string(dir.join("Cargo.lock")).context("cannot read Cargo.lock")?,
    )?;
    if !breaches.is_empty() {
        bail!(
            "dependency policy (deps-policy.toml):\n{}",
            breaches.join("\n")
        );
    }
    run(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--locked",
        "--",
        "-D",
        "warnings",
    ]))?;
    let mut c = cargo();
    c.args(["test", "--workspace", "--locked"]);
    c.args(args);
    // Clinic registrations against a real FHIR server (kiosk-tests' clinic_fhir: sekmet-fhir
    // from PyPI in a venv under the target folder; about 30 s the first time).
    c.env("OUTBOX_FHIR", "1");
    run(&mut c)?;
    // Face verification error rates on the packaged set must not fall below the baseline.
    face_eval(&["--check".to_string()])?;
    // The production mutual-TLS transport (reqwest + rustls), off in kiosk-outbox's default
    // build because of its build cost: linted here (its tests, kiosk-tests' outbox_https, ran
    // in the workspace tests above).
    run(cargo().args([
        "clippy",
        "-p",
        "kiosk-outbox",
        "--all-targets",
        "--features",
        "https",
        "--locked",
        "--",
        "-D",
        "warnings",
    ]))?;
    eprintln!(
        "xtask: all checks passed in {:.0} s",
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Runs the kiosk's benchmark harness (`kiosk-app/benches/kiosk.rs`, release profile) and
/// prints its Markdown table; record the numbers in docs/BENCHMARKS.md.
fn bench() -> Result<()> {
    let t = Instant::now();
    setup()?;
    run(cargo().args([
        "bench",
        "--package",
        "kiosk-app",
        "--bench",
        "kiosk",
        "--locked",
    ]))?;
    run(cargo().args(["bench", "-p", "kiosk-qr", "--bench", "qr", "--locked"]))?; // QR decode
                                                                                  // Face pipeline; with FACE_BENCH_PYTHON=/path/to/python (face_recognition + dlib) it also
                                                                                  // runs the side-by-side comparison with the Python package.
    run(cargo().args(["bench", "-p", "kiosk-face", "--bench", "face", "--locked"]))?;
    // Camera-to-worker frame latency through the camera hub, two consumers.
    run(cargo().args(["bench", "-p", "kiosk-hw", "--bench", "camera", "--locked"]))?;
    eprintln!(
        "xtask: bench done in {:.0} s (build included); record the table in docs/BENCHMARKS.md",
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Runs `face-eval` (kiosk-face) on the packaged image set; `--check` compares with
/// face/eval-baseline.toml. Debug profile: it shares the test build.
fn face_eval(args: &[String]) -> Result<()> {
    setup()?;
    let mut c = cargo();
    c.args([
        "run",
        "--quiet",
        "-p",
        "kiosk-face",
        "--bin",
        "face-eval",
        "--locked",
        "--",
    ]);
    for a in args {
        if a == "--check" {
            c.arg("--check").arg(root().join("face/eval-baseline.toml"));
        } else {
            c.arg(a);
        }
    }
    run(&mut c).context("face evaluation below the recorded baseline (or could not run)")
}
