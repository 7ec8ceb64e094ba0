//! `cargo xtask image-test`: boots the image `cargo xtask image` built in QEMU (q35, TCG, OVMF,
//! the image as a USB stick on xHCI) and proves from the host:
//!
//! - first-boot provisioning: a `provision.toml` and the deployment CA are put on a copy of the
//!   image's FAT partition (mtools, no mount); the gateway (`kiosk-gateway serve`, TLS with
//!   enrolment) runs on the host and the guest reaches it at 10.0.2.2 (QEMU user networking);
//!   the serial console shows every provisioning step and the enrolment;
//! - the technician screen: before it is enrolled the kiosk starts in technician mode (the
//!   provisioning steps on screen, screenshot `kiosk-technician.png`), then re-executes itself
//!   into the serving kiosk once `kiosk-provision.service` wrote the `enrolled` marker;
//! - the kiosk reports ready over sd_notify (kiosk.service is `Type=notify`: systemd calls it
//!   active only after READY=1) and serves (its "kiosk ready" log line);
//! - a screenshot of the kiosk screen through the QEMU monitor (`screendump`, PNG);
//! - `kill -9` of the kiosk: the unit restarts it; a stopped (hung) kiosk: the watchdog kills
//!   and restarts it;
//! - a full disk at first boot: a test-only unit fills the state partition before provisioning;
//!   provisioning says so in a sentence, the test script frees the space, the retry goes on;
//! - no gateway at first boot: the host starts the gateway only after the guest's provisioning
//!   has failed to reach it and said so in a sentence; the unit's retry (30 s) then enrols;
//! - the storage: the root mounted read-only, /var the state partition (by its PARTUUID), and
//!   /etc/machine-id this kiosk's own, bind-mounted from /var/lib/machine-id;
//! - a card: vpcd in the guest's pcscd (its reader.conf and a pcscd drop-in are written into
//!   the copy only: the shipped image does not load vpcd), a QEMU port forward from the host's
//!   loopback to the guest's 35963, the host's virtual CCCD (`cccd-vcard`, demo profile)
//!   connecting through it; the guest's `kioskctl card read` verifies the chip against the
//!   test CSCA the host hands it (a one-file TCP server at 10.0.2.2);
//! - the image's V4L2 path on the kernel's `vivid` test camera (`kioskctl camera test` in the
//!   guest) and its ESC/POS path to the host's virtual printer at 10.0.2.2 (`kioskctl printer
//!   test`; the host's `kioskctl printer virtual` writes the receipt as PNG);
//! - exactly once across a hard reset: the host stops the gateway, the guest queues a test
//!   submission (`kioskctl queue send-test`, as the kiosk's user, into the kiosk's queue on the
//!   state partition: the test's kiosk is `demo = true` with `queue.keep_in_demo`), and as
//!   soon as it printed the id the host sends `system_reset` on the QEMU monitor; after the
//!   reboot (the guest script's second phase, from a marker on /var) the host starts the
//!   gateway again, the guest waits until `kioskctl queue list` shows the id delivered, and the
//!   host counts the gateway's records under that referenceUid (`kiosk-gateway submissions
//!   list`): exactly one;
//! - a clean power-off (QEMU exits 0 after "reboot: Power down").
//!
//! The in-guest steps are a test-only unit and script (image-build/test/) written into the
//! copy's root partition with `debugfs` (no mount); the image that ships has neither.
//!
//! Not proved here (yet): the kiosk itself on the vivid camera, the virtual printer and the
//! card (the tools are, the kiosk runs `demo = true` with simulated devices).

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpListener;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::image::{image_path, target_dir, work_dir};
use crate::{cargo, root, run};

/// Host packages the boot test needs.
const HOST_TOOLS: &[(&str, &str)] = &[
    ("qemu-system-x86", "boots the image (q35, TCG)"),
    ("ovmf", "UEFI firmware for QEMU"),
    (
        "mtools",
        "puts provision.toml on the image's FAT partition without a mount",
    ),
    (
        "e2fsprogs",
        "debugfs writes the test unit into the ext4 root without a mount",
    ),
];

const OVMF_CODE: &str = "/usr/share/OVMF/OVMF_CODE_4M.fd";
const OVMF_VARS: &str = "/usr/share/OVMF/OVMF_VARS_4M.fd";
/// The whole run's limit under TCG (boot, provisioning, two restarts, a reset and the second
/// boot, power-off).
const LIMIT: Duration = Duration::from_secs(1200);
const KIOSK_ID: &str = "QEMU-01";
/// The gateway starts at the latest this long after QEMU (when the guest never said that it
/// could not reach it; the no-network check then fails).
const NO_GATEWAY_LIMIT: Duration = Duration::from_secs(300);
/// vpcd's first slot in the guest (reader "Virtual PCD 00 00").
const VPCD_GUEST_PORT: u16 = 35963;

/// What the serial console showed.
#[derive(Debug, Default)]
struct Seen {
    /// The kiosk showed its technician screen before it was enrolled.
    technician: bool,
    enrolled: bool,
    /// Seconds since QEMU started when provisioning reached `6/6 enrolled`.
    enrolled_wall: Option<f64>,
    /// Provisioning's sentence while the gateway was down (before it enrolled).
    no_gateway: Option<String>,
    /// Provisioning's sentence while the state partition was full (before it enrolled).
    full_disk: Option<String>,
    /// The guest freed the space again.
    unfilled: bool,
    /// `kioskctl card read` verified the virtual CCCD; seconds from `card-insert`.
    card: Option<f64>,
    /// The guest asked for the card (vpcd listening).
    card_insert: bool,
    /// The root is mounted read-only, /var is the state partition and /etc/machine-id is this
    /// kiosk's own, bind-mounted from it.
    storage: bool,
    ready_uptime: Option<f64>,
    ready_wall: Option<f64>,
    restart_after_kill: Option<f64>,
    watchdog_restart: Option<f64>,
    camera: bool,
    printer: bool,
    /// The guest asked the host to stop the gateway (before it queues the test submission).
    stop_gateway: bool,
    /// The id `kioskctl queue send-test` printed (committed to the queue): reset now.
    queued: Option<String>,
    /// The guest script's second phase after the reset began.
    rebooted: bool,
    /// Guest uptime when the kiosk was ready again after the reset.
    ready_again: Option<f64>,
    /// The guest saw the queued id delivered: (id, seconds from the kiosk's ready).
    delivered: Option<(String, f64)>,
    /// Seconds since QEMU started when the guest said so.
    delivered_wall: Option<f64>,
    poweroff: bool,
    failed: Option<String>,
}

/// Runs the boot test. `--keep` leaves the test folder (image copy, logs) in place.
pub fn boot(args: &[String]) -> Result<()> {
    let keep = args.iter().any(|a| a == "--keep");
    if let Some(other) = args.iter().find(|a| *a != "--keep") {
        bail!("unknown image-test option `{other}` (use --keep)");
    }
    crate::apt_ensure(HOST_TOOLS)?;
    let img = image_path();
    if !img.exists() {
        bail!(
            "no image at {}: run `cargo xtask image` first",
            img.display()
        );
    }
    let dir = work_dir().join("test");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;

    // The gateway on the host, with a CA, a server certificate for 10.0.2.2 and a token.
    run(cargo().args([
        "build",
        "--release",
        "--locked",
        "-p",
        "kiosk-gateway",
        "--bin",
        "kiosk-gateway",
        "-p",
        "kiosk-vcard",
        "--bin",
        "cccd-vcard",
    ]))?;
    let gw_bin = target_dir().join("release/kiosk-gateway");
    let gw = dir.join("gateway");
    let gw_cmd = |args: &[&str]| -> Result<String> {
        let o = Command::new(&gw_bin)
            .args(args)
            .output()
            .context("kiosk-gateway")?;
        if !o.status.success() {
            bail!(
                "kiosk-gateway {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&o.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let s = |p: &Path| p.to_string_lossy().into_owned();
    gw_cmd(&["ca", "init", "--dir", &s(&gw.join("ca"))])?;
    gw_cmd(&[
        "ca",
        "server-cert",
        "--dir",
        &s(&gw.join("ca")),
        "--name",
        "10.0.2.2",
        "--out",
        &s(&gw.join("server")),
    ])?;
    let db = s(&gw.join("gw.db"));
    let token = gw_cmd(&[
        "token",
        "new",
        "--db",
        &db,
        "--kiosk",
        KIOSK_ID,
        "--site",
        "qemu",
        "--minutes",
        "60",
    ])?;
    let port = free_port()?;
    // Started later: the guest's first provisioning attempt finds no gateway.
    let start_gateway = || -> Result<KillOnDrop> {
        let child = Command::new(&gw_bin)
            .args([
                "serve",
                "--db",
                &db,
                "--ca-dir",
                &s(&gw.join("ca")),
                "--cert",
                &s(&gw.join("server/server.pem")),
                "--key",
                &s(&gw.join("server/server.key")),
                "--listen",
                &format!("127.0.0.1:{port}"),
            ])
            .stdout(Stdio::null())
            // Appended: the gateway is started again after the reset.
            .stderr(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(dir.join("gateway.log"))?,
            )
            .spawn()
            .context("starting kiosk-gateway")?;
        Ok(KillOnDrop(child))
    };
    let mut gateway: Option<KillOnDrop> = None;
    let mut gateway_wall: Option<f64> = None;
    // The reset check: when the gateway was stopped, the reset sent, the gateway back.
    let mut stopped_wall: Option<f64> = None;
    let mut reset_wall: Option<f64> = None;
    let mut back_wall: Option<f64> = None;

    // A copy of the image with provision.toml, the CA and the test unit.
    let test_img = dir.join("kiosk-test.img");
    run(Command::new("cp")
        .arg("--sparse=always")
        .arg(&img)
        .arg(&test_img))?;
    let mut head = vec![0u8; 34 * 512];
    std::io::Read::read_exact(&mut std::fs::File::open(&test_img)?, &mut head)?;
    let parts = gpt_partitions(&head)?;
    let (esp, rootp) = match parts.as_slice() {
        [esp, rootp, ..] => (*esp, *rootp),
        _ => bail!("{}: expected two GPT partitions", img.display()),
    };
    // The virtual ESC/POS printer on the host; the guest reaches it at 10.0.2.2.
    let printer_port = free_port()?;
    let receipts = dir.join("receipts");
    let printer = Command::new(target_dir().join("release/kioskctl"))
        .args(["printer", "virtual", "--listen"])
        .arg(format!("127.0.0.1:{printer_port}"))
        .arg("--out")
        .arg(&receipts)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("printer.log"))?)
        .spawn()
        .context("starting the virtual printer (kioskctl printer virtual)")?;
    let printer = KillOnDrop(printer);
    // The card: QEMU forwards this host port to vpcd in the guest; the test CSCA the card is
    // signed under (new at every cccd-vcard start) is served to the guest from trust_port.
    let vpcd_port = free_port()?;
    let card_trust = dir.join("card-trust");
    let trust_port = serve_file(card_trust.join("csca.der"))?;
    let mut card: Option<KillOnDrop> = None;
    std::fs::write(
        dir.join("image-test.env"),
        format!(
            "PRINTER=tcp:10.0.2.2:{printer_port}\nTRUST=10.0.2.2:{trust_port}\n\
             GATEWAY=10.0.2.2:{port}\n"
        ),
    )?;
    let provision = provision_toml(&token, port);
    std::fs::write(dir.join("provision.toml"), &provision)?;
    let fat = format!("{}@@{}", test_img.display(), esp.0);
    for (local, name) in [
        (dir.join("provision.toml"), "provision.toml"),
        (gw.join("ca/ca.pem"), "gateway-ca.pem"),
        (dir.join("image-test.env"), "image-test.env"),
    ] {
        run(Command::new("mcopy")
            .args(["-o", "-i", &fat])
            .arg(&local)
            .arg(format!("::{name}")))?;
    }
    let recipe = root().join("image-build/test");
    let ext4 = format!("{}?offset={}", test_img.display(), rootp.0);
    let script = [
        format!(
            "write {} /usr/local/lib/kiosk-image-test.sh",
            recipe.join("kiosk-image-test.sh").display()
        ),
        // vpcd for the virtual card: test only (the shipped image has no reader.conf for it).
        format!(
            "write {} /etc/reader.conf.d/vpcd",
            recipe.join("vpcd.reader.conf").display()
        ),
        "mkdir /etc/systemd/system/pcscd.service.d".to_owned(),
        format!(
            "write {} /etc/systemd/system/pcscd.service.d/image-test.conf",
            recipe.join("pcscd-image-test.conf").display()
        ),
        format!(
            "write {} /etc/systemd/system/kiosk-image-test.service",
            recipe.join("kiosk-image-test.service").display()
        ),
        "symlink /etc/systemd/system/multi-user.target.wants/kiosk-image-test.service \
         /etc/systemd/system/kiosk-image-test.service"
            .to_owned(),
        format!(
            "write {} /etc/systemd/system/kiosk-image-test-fill.service",
            recipe.join("kiosk-image-test-fill.service").display()
        ),
        "symlink /etc/systemd/system/multi-user.target.wants/kiosk-image-test-fill.service \
         /etc/systemd/system/kiosk-image-test-fill.service"
            .to_owned(),
    ]
    .join("\n");
    let cmds = dir.join("debugfs.cmds");
    std::fs::write(&cmds, script + "\n")?;
    run(Command::new("debugfs")
        .args(["-w", "-f"])
        .arg(&cmds)
        .arg(&ext4))?;

    // Boot.
    let vars = dir.join("OVMF_VARS.fd");
    std::fs::copy(OVMF_VARS, &vars).context("OVMF variables")?;
    let monitor = dir.join("monitor.sock");
    let screenshot = dir.join("kiosk-screen.png");
    let tech_screenshot = dir.join("kiosk-technician.png");
    let serial_log = dir.join("serial.log");
    let started = Instant::now();
    let mut qemu = Command::new("qemu-system-x86_64")
        .args([
            "-machine",
            "q35,accel=tcg",
            "-cpu",
            "max",
            "-m",
            "2048",
            "-smp",
            "2",
        ])
        // A 1920x1080 screen (the preferred mode in the EDID bochs-drm reads), as a kiosk's.
        .args(["-display", "none", "-vga", "none", "-serial", "stdio"])
        .args(["-device", "VGA,edid=on,xres=1920,yres=1080"])
        .arg("-drive")
        .arg(format!("if=pflash,format=raw,readonly=on,file={OVMF_CODE}"))
        .arg("-drive")
        .arg(format!("if=pflash,format=raw,file={}", vars.display()))
        .args(["-device", "qemu-xhci,id=xhci"])
        .arg("-drive")
        .arg(format!(
            "if=none,id=stick,format=raw,file={}",
            test_img.display()
        ))
        .args(["-device", "usb-storage,bus=xhci.0,drive=stick"])
        .arg("-netdev")
        .arg(format!(
            "user,id=n0,hostfwd=tcp:127.0.0.1:{vpcd_port}-:{VPCD_GUEST_PORT}"
        ))
        .args(["-device", "virtio-net-pci,netdev=n0"])
        .arg("-monitor")
        .arg(format!("unix:{},server,nowait", monitor.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting qemu-system-x86_64")?;
    let stdout = qemu.stdout.take().context("qemu stdout")?;
    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut log = std::fs::File::create(&serial_log)?;
    let mut seen = Seen::default();
    let mut shot = false;
    let mut tech_shot = false;
    loop {
        let left = LIMIT.saturating_sub(started.elapsed());
        if left.is_zero() {
            let _ = qemu.kill();
            let _ = qemu.wait();
            bail!(
                "timed out after {} s; serial log: {}",
                LIMIT.as_secs(),
                serial_log.display()
            );
        }
        let line = match rx.recv_timeout(left.min(Duration::from_secs(1))) {
            Ok(l) => l,
            Err(mpsc::RecvTimeoutError::Timeout) => continue,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        };
        writeln!(log, "{line}")?;
        let clean = strip_ansi(&line);
        if clean.contains("provision: ") || clean.contains("IMAGE-TEST") {
            eprintln!("guest: {}", clean.trim());
        }
        let wall = started.elapsed().as_secs_f64();
        seen.observe(&clean, wall);
        if gateway_wall.is_none()
            && (seen.no_gateway.is_some() || started.elapsed() > NO_GATEWAY_LIMIT)
        {
            eprintln!("xtask: image-test: starting the gateway now ({wall:.1} s)");
            gateway = Some(start_gateway()?);
            gateway_wall = Some(wall);
        }
        if seen.stop_gateway && stopped_wall.is_none() {
            // Killed and reaped: the guest then finds the port closed.
            drop(gateway.take());
            eprintln!("xtask: image-test: gateway stopped ({wall:.1} s)");
            stopped_wall = Some(wall);
        }
        if seen.queued.is_some() && reset_wall.is_none() {
            monitor_command(&monitor, "system_reset")?;
            eprintln!("xtask: image-test: system_reset ({wall:.1} s)");
            reset_wall = Some(wall);
        }
        if seen.rebooted && reset_wall.is_some() && back_wall.is_none() {
            gateway = Some(start_gateway()?);
            eprintln!("xtask: image-test: gateway started again ({wall:.1} s)");
            back_wall = Some(wall);
        }
        if seen.card_insert && card.is_none() {
            let child = Command::new(target_dir().join("release/cccd-vcard"))
                .arg("--profile")
                .arg(root().join("hw/vcard/profiles/demo.toml"))
                .arg("--port")
                .arg(vpcd_port.to_string())
                .arg("--trust-out")
                .arg(&card_trust)
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(dir.join("vcard.log"))?)
                .spawn()
                .context("starting cccd-vcard")?;
            card = Some(KillOnDrop(child));
        }
        if seen.technician && !tech_shot && seen.ready_uptime.is_none() {
            // The provisioning screen, while kiosk-provision.service works.
            std::thread::sleep(Duration::from_secs(3));
            screendump(&monitor, &tech_screenshot)?;
            tech_shot = true;
        }
        if seen.ready_uptime.is_some() && !shot {
            // Let the first frames reach the screen, then take the picture.
            std::thread::sleep(Duration::from_secs(3));
            screendump(&monitor, &screenshot)?;
            shot = true;
        }
    }
    let status = qemu.wait()?;
    drop(gateway);
    drop(printer);
    drop(card);
    let printed = std::fs::read_dir(&receipts).is_ok_and(|d| {
        d.filter_map(Result::ok)
            .any(|e| e.path().extension().is_some_and(|x| x == "png"))
    });
    eprintln!("xtask: serial log {}", serial_log.display());
    if let Some(f) = &seen.failed {
        bail!("the guest reported a failure: {f}");
    }
    // The gateway's records of the queued submission (its referenceUid is the queue id).
    let at_gateway = match &seen.queued {
        Some(id) => gw_cmd(&["submissions", "list", "--db", &db, "--reference-uid", id])?
            .lines()
            .filter(|l| l.split_whitespace().next() == Some(id.as_str()))
            .count(),
        None => 0,
    };
    let delivered_once = match (&seen.queued, &seen.delivered) {
        (Some(q), Some((d, _))) => q == d && at_gateway == 1,
        _ => false,
    };
    let is_png = |p: &Path| {
        std::fs::read(p).is_ok_and(|b| b.len() > 1000 && b.starts_with(b"\x89PNG\r\n\x1a\n"))
    };
    let png_ok = is_png(&screenshot);
    let tech_png_ok = is_png(&tech_screenshot);
    let checks = [
        (
            "full disk at first boot: provisioning said so, enrolled once space was freed",
            seen.full_disk.is_some() && seen.unfilled && seen.enrolled,
        ),
        (
            "no gateway at first boot: provisioning said so, retried, enrolled",
            seen.no_gateway.is_some() && seen.enrolled,
        ),
        (
            "technician screen before provisioning (screenshot)",
            seen.technician && tech_png_ok,
        ),
        ("provisioned and enrolled", seen.enrolled),
        (
            "read-only root, state partition at /var, own machine ID",
            seen.storage,
        ),
        ("kiosk ready (sd_notify)", seen.ready_uptime.is_some()),
        ("screenshot", png_ok),
        ("restart after kill -9", seen.restart_after_kill.is_some()),
        (
            "watchdog restart of a hung kiosk",
            seen.watchdog_restart.is_some(),
        ),
        (
            "virtual CCCD through vpcd verified (kioskctl card read)",
            seen.card.is_some(),
        ),
        ("vivid camera frames (kioskctl camera test)", seen.camera),
        (
            "test page at the host's virtual printer",
            seen.printer && printed,
        ),
        (
            "exactly once across system_reset: queued offline, delivered after the reboot, one \
             record at the gateway",
            delivered_once,
        ),
        ("clean power-off", seen.poweroff && status.success()),
    ];
    for (what, ok) in checks {
        eprintln!(
            "xtask: image-test: {} {what}",
            if ok { "ok  " } else { "FAIL" }
        );
    }
    let f = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |s| format!("{s:.1} s"));
    if let Some(line) = &seen.full_disk {
        eprintln!("xtask: image-test: with a full disk provisioning said: {line}");
    }
    if let Some(line) = &seen.no_gateway {
        eprintln!("xtask: image-test: without a gateway provisioning said: {line}");
    }
    let provisioning = match (gateway_wall, seen.enrolled_wall) {
        (Some(g), Some(e)) => Some(e - g),
        _ => None,
    };
    eprintln!(
        "xtask: image-test: boot to ready {} (guest uptime), {} (from QEMU start); gateway \
         started at {}, enrolled {} later; card read {}; restart after kill -9 {}; watchdog \
         restart {}; screenshot {}",
        f(seen.ready_uptime),
        f(seen.ready_wall),
        f(gateway_wall),
        f(provisioning),
        f(seen.card),
        f(seen.restart_after_kill),
        f(seen.watchdog_restart),
        screenshot.display()
    );
    if let Some(id) = &seen.queued {
        let since = |a: Option<f64>, b: Option<f64>| f(a.zip(b).map(|(a, b)| b - a));
        eprintln!(
            "xtask: image-test: reset check: gateway stopped at {}, {id} queued, \
             system_reset at {}; gateway back {} after the reset; kiosk ready again {} (guest \
             uptime); delivered {} after that, {} after the gateway came back; records at the \
             gateway under that referenceUid: {at_gateway}",
            f(stopped_wall),
            f(reset_wall),
            since(reset_wall, back_wall),
            f(seen.ready_again),
            f(seen.delivered.as_ref().map(|d| d.1)),
            since(back_wall, seen.delivered_wall),
        );
    }
    if checks.iter().any(|(_, ok)| !ok) {
        bail!("image-test failed; serial log {}", serial_log.display());
    }
    if !keep {
        let _ = std::fs::remove_file(&test_img);
    }
    Ok(())
}

impl Seen {
    /// Reads one serial line (ANSI colours removed). `wall` is seconds since QEMU started.
    fn observe(&mut self, line: &str, wall: f64) {
        if line.contains("provision: 6/6 enrolled") {
            self.enrolled = true;
            self.enrolled_wall = Some(wall);
        }
        if !self.enrolled && self.no_gateway.is_none() {
            // kioskctl's sentence starts with a capital since the failures are told apart.
            let at = line
                .find("en: Enrolment failed")
                .or_else(|| line.find("en: enrolment failed"));
            if let Some(at) = at {
                self.no_gateway = line.get(at..).map(str::to_owned);
            }
        }
        if !self.enrolled && self.full_disk.is_none() && line.contains("Check the disk has space") {
            if let Some(at) = line.find("en: ") {
                self.full_disk = line.get(at..).map(str::to_owned);
            }
        }
        if line.contains("reboot: Power down") {
            self.poweroff = true;
        }
        let Some(rest) = line.split("IMAGE-TEST ").nth(1) else {
            return;
        };
        let field = |k: &str| -> Option<f64> {
            rest.split_whitespace()
                .find_map(|w| w.strip_prefix(k)?.strip_prefix('='))
                .and_then(|v| v.parse().ok())
        };
        if rest.starts_with("technician ") {
            self.technician = true;
        } else if rest.starts_with("ready ") {
            self.ready_uptime = field("uptime");
            self.ready_wall = Some(wall);
        } else if rest.starts_with("restarted") {
            self.restart_after_kill = field("after");
        } else if rest.starts_with("watchdog-restarted") {
            self.watchdog_restart = field("after");
        } else if rest.starts_with("storage ") {
            let has = |w: &str| rest.split_whitespace().any(|x| x == w);
            self.storage = has("root=ro") && has("var=state") && has("machine-id=kept");
        } else if rest.starts_with("unfilled") {
            self.unfilled = true;
        } else if rest.starts_with("card-insert") {
            self.card_insert = true;
        } else if rest.starts_with("card rc=0") {
            self.card = field("after");
        } else if rest.starts_with("camera rc=0") {
            self.camera = true;
        } else if rest.starts_with("printer rc=0") {
            self.printer = true;
        } else if rest.starts_with("stop-gateway") {
            self.stop_gateway = true;
        } else if let Some(q) = rest.strip_prefix("queued id=") {
            self.queued = q.split_whitespace().next().map(str::to_owned);
        } else if rest.starts_with("rebooted") {
            self.rebooted = true;
        } else if rest.starts_with("ready-again ") {
            self.ready_again = field("uptime");
        } else if let Some(d) = rest.strip_prefix("delivered id=") {
            if let (Some(id), Some(after)) = (d.split_whitespace().next(), field("after")) {
                self.delivered = Some((id.to_owned(), after));
                self.delivered_wall = Some(wall);
            }
        } else if rest.starts_with("FAIL") {
            self.failed = Some(rest.to_owned());
        }
    }
}

/// The provision.toml the guest finds on its FAT partition.
fn provision_toml(token: &str, port: u16) -> String {
    format!(
        "# cargo xtask image-test: the kiosk in QEMU, simulated devices (the guest has none),\n\
         # enrolling with the gateway on the host (10.0.2.2 from the guest).\n\
         mode = \"one-stop-shop\"\ndemo = true\n\n\
         [enrolment]\ntoken = \"{token}\"\nca_file = \"gateway-ca.pem\"\n\n\
         [site]\nid = \"{KIOSK_ID}\"\nname = \"Kiosk thử nghiệm QEMU\"\n\n\
         [gateway]\nurl = \"https://10.0.2.2:{port}\"\n\n\
         [face]\nverifier = \"simulated\"\n\n\
         [devices]\ncard_reader = \"sim\"\ncamera = \"sim\"\nqr = \"sim\"\n\
         printer = \"sim:/var/lib/kiosk/receipts\"\n\n\
         [ui]\nlanguages = [\"vi\", \"en\"]\ndefault_language = \"vi\"\norientation = \"landscape\"\n\n\
         # The queue on the state partition (not a demo's throw-away one), so that a submission\n\
         # survives the reset; retries at most 10 s apart once the gateway is back.\n\
         [queue]\nkeep_in_demo = true\nbackoff_cap_secs = 10\n"
    )
}

/// One command on the QEMU monitor (human monitor protocol, the unix socket).
fn monitor_command(monitor: &Path, command: &str) -> Result<()> {
    let mut s = UnixStream::connect(monitor).context("QEMU monitor socket")?;
    writeln!(s, "{command}")?;
    // The monitor reads the line before it sees the socket close; a moment to be sure.
    std::thread::sleep(Duration::from_millis(500));
    Ok(())
}

/// `screendump FILE -f png` on the QEMU monitor; waits until the file is written.
fn screendump(monitor: &Path, png: &Path) -> Result<()> {
    monitor_command(monitor, &format!("screendump {} -f png", png.display()))?;
    for _ in 0..50 {
        if std::fs::metadata(png).is_ok_and(|m| m.len() > 0) {
            std::thread::sleep(Duration::from_millis(500));
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    bail!("QEMU did not write {}", png.display())
}

/// Partitions of a GPT disk as (byte offset, byte length), from its first 34 sectors. Sizes
/// come from the file: every multiplication is checked.
fn gpt_partitions(head: &[u8]) -> Result<Vec<(u64, u64)>> {
    const SECTOR: u64 = 512;
    let u32_at = |b: &[u8], o: usize| -> Option<u32> {
        Some(u32::from_le_bytes(
            b.get(o..o.checked_add(4)?)?.try_into().ok()?,
        ))
    };
    let u64_at = |b: &[u8], o: usize| -> Option<u64> {
        Some(u64::from_le_bytes(
            b.get(o..o.checked_add(8)?)?.try_into().ok()?,
        ))
    };
    let hdr = head.get(512..1024).context("no GPT header")?;
    if hdr.get(..8) != Some(b"EFI PART".as_slice()) {
        bail!("not a GPT disk");
    }
    let entries_lba = u64_at(hdr, 72).context("GPT header")?;
    let count = u32_at(hdr, 80).context("GPT header")?;
    let size = u32_at(hdr, 84).context("GPT header")? as usize;
    if size < 128 {
        bail!("GPT entry size {size}");
    }
    let base = usize::try_from(entries_lba.checked_mul(SECTOR).context("GPT offset")?)?;
    let mut parts = Vec::new();
    for i in 0..count as usize {
        let Some(off) = i.checked_mul(size).and_then(|o| o.checked_add(base)) else {
            break;
        };
        let Some(e) = off.checked_add(size).and_then(|end| head.get(off..end)) else {
            break;
        };
        if e.get(..16).is_some_and(|t| t.iter().all(|b| *b == 0)) {
            continue;
        }
        let (Some(first), Some(last)) = (u64_at(e, 32), u64_at(e, 40)) else {
            continue;
        };
        let start = first.checked_mul(SECTOR).context("partition offset")?;
        let len = last
            .checked_sub(first)
            .and_then(|n| n.checked_add(1))
            .and_then(|n| n.checked_mul(SECTOR))
            .context("partition length")?;
        parts.push((start, len));
    }
    Ok(parts)
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ ... final byte in @..~
            if chars.peek() == Some(&'[') {
                chars.next();
                for n in chars.by_ref() {
                    if ('@'..='~').contains(&n) {
                        break;
                    }
                }
            }
        } else if c != '\r' {
            out.push(c);
        }
    }
    out
}

/// Serves `file` to every connection on a loopback port (the guest reaches it at 10.0.2.2):
/// its bytes, or nothing while it does not exist yet. Returns the port.
fn serve_file(file: PathBuf) -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0")?;
    let port = l.local_addr()?.port();
    std::thread::spawn(move || {
        for mut conn in l.incoming().filter_map(Result::ok) {
            if let Ok(bytes) = std::fs::read(&file) {
                let _ = conn.write_all(&bytes);
            }
        }
    });
    Ok(port)
}

fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// Stops the host gateway when the test ends, however it ends.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_gpt_partitions() {
        let mut d = vec![0u8; 34 * 512];
        d[512..520].copy_from_slice(b"EFI PART");
        d[512 + 72..512 + 80].copy_from_slice(&2u64.to_le_bytes());
        d[512 + 80..512 + 84].copy_from_slice(&128u32.to_le_bytes());
        d[512 + 84..512 + 88].copy_from_slice(&128u32.to_le_bytes());
        let e = 1024;
        d[e] = 1; // a non-zero type GUID
        d[e + 32..e + 40].copy_from_slice(&2048u64.to_le_bytes());
        d[e + 40..e + 48].copy_from_slice(&4095u64.to_le_bytes());
        assert_eq!(
            gpt_partitions(&d).expect("gpt"),
            vec![(2048 * 512, 2048 * 512)]
        );
        // Hostile headers are errors or truncation, never a panic.
        d[512 + 80..512 + 84].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(gpt_partitions(&d).is_ok());
        d[512 + 72..512 + 80].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(gpt_partitions(&d).is_err());
        assert!(gpt_partitions(&d[..100]).is_err());
    }

    #[test]
    fn serial_lines_give_the_figures() {
        let mut s = Seen::default();
        let refused = "[   50.1] kioskctl[365]:   en: Enrolment failed: HTTP client: tcp connect \
                       error: Connection refused (os error 111). Check the network cable and \
                       the gateway's address (`gateway.url`). The kiosk tries again in 30 seconds.";
        let full = "[   40.2] kioskctl[300]:   en: Cannot write /var/lib/kiosk/tls (No space \
                    left on device (os error 28)). Check the disk has space (`df -h /var/lib`).";
        s.observe(full, 41.0);
        s.observe(
            "IMAGE-TEST unfilled /dev/sda3 1.3G 280M 951M 23% /var",
            45.0,
        );
        assert!(
            s.unfilled
                && s.full_disk
                    .as_deref()
                    .is_some_and(|l| l.starts_with("en: Cannot"))
        );
        s.observe(refused, 52.0);
        s.observe("IMAGE-TEST card rc=1 tries=5 after=30.0", 55.0);
        assert_eq!(s.card, None);
        s.observe(
            "kioskctl[365]: provision: 6/6 enrolled (/var/lib/kiosk/enrolled)",
            84.5,
        );
        s.observe("IMAGE-TEST card-insert", 85.0);
        s.observe("IMAGE-TEST storage root=rw var=state machine-id=kept", 86.0);
        assert!(!s.storage);
        s.observe("IMAGE-TEST storage root=ro var=state machine-id=kept", 86.0);
        assert!(s.storage);
        s.observe(
            "IMAGE-TEST card rc=0 tries=1 after=8.5 identity VERIFIED",
            95.0,
        );
        assert!(s
            .no_gateway
            .as_deref()
            .is_some_and(|l| l.starts_with("en: Enrolment failed")));
        assert_eq!(
            (s.enrolled_wall, s.card, s.card_insert),
            (Some(84.5), Some(8.5), true)
        );
        s.observe("IMAGE-TEST ready uptime=41.27 enrolled=yes", 63.0);
        s.observe("IMAGE-TEST restarted pid=812 after=2.4", 90.0);
        s.observe("IMAGE-TEST stop-gateway", 100.0);
        let id = "019aef10-1111-7000-8000-000000000001";
        s.observe(&format!("IMAGE-TEST queued id={id} uptime=130.2"), 101.0);
        assert!(s.stop_gateway && s.queued.as_deref() == Some(id) && !s.rebooted);
        s.observe(
            &format!("IMAGE-TEST rebooted uptime=35.0 queued={id}"),
            150.0,
        );
        s.observe("IMAGE-TEST ready-again uptime=60.5", 175.0);
        s.observe(&format!("IMAGE-TEST delivered id={id} after=12.5"), 190.0);
        assert!(s.rebooted);
        assert_eq!(
            (s.ready_uptime, s.ready_again),
            (Some(41.27), Some(60.5)),
            "the second boot's ready is its own figure"
        );
        assert_eq!(s.delivered, Some((id.to_owned(), 12.5)));
        assert_eq!(s.delivered_wall, Some(190.0));
        s.observe("[  OK  ] reboot: Power down", 220.0);
        assert_eq!(s.ready_uptime, Some(41.27));
        assert_eq!(s.ready_wall, Some(63.0));
        assert_eq!(s.restart_after_kill, Some(2.4));
        assert!(s.poweroff && s.failed.is_none());
        assert_eq!(strip_ansi("\u{1b}[0;32m  OK  \u{1b}[0m] x\r"), "  OK  ] x");
    }
}
