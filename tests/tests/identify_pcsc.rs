//! The kiosk's identify worker on the production card path: the virtual CCCD served through
//! pcscd's vpcd driver, opened by `kiosk_hw::card::pcsc::PcscCardReader`, read with PACE-CAN
//! from the ID number and passively authenticated by `kiosk_app::devices` against a CSCA
//! folder loaded as the kiosk loads `card.trust_dir`.
//!
//! Needs the Debian packages `pcscd` and `vsmartcard-vpcd` (installed by `cargo xtask setup`);
//! without them the test says so and passes without running. It reuses a running pcscd (only
//! one may run per machine) or starts its own `pcscd --foreground` and stops it at the end.

use std::net::TcpStream;
use std::time::{Duration, Instant};

use kiosk_app::devices::{DeviceEvent, Devices, FaceVerifier, Hardware};
use kiosk_app::identity::CscaTrust;
use kiosk_app::session::{Event, FaceOutcome, IdentifyFailure, IdentitySource};
use kiosk_hw::personal::Personal;
use kiosk_vcard::vpcd::{self, Stop};
use kiosk_vcard::VirtualCccd;

const READER: &str = "Virtual PCD 00 00";
const ID: &str = "001090123456";

fn next_session_event(d: &Devices) -> Event {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        assert!(Instant::now() < deadline, "no device event within 30 s");
        match d.wait(Duration::from_millis(200)) {
            Some(DeviceEvent::Session(e)) => return e,
            _ => continue,
        }
    }
}

#[test]
fn the_identify_worker_reads_and_verifies_a_cccd_through_pcscd() {
    let _turn = PCSCD_TURN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let Some(_pcscd) = kiosk_tests::pcscd::start() else {
        return;
    };
    let (mut card, trust) = VirtualCccd::demo().expect("demo card");
    // The CSCA folder, loaded as the kiosk loads `card.trust_dir`.
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("csca.der"), &trust.csca_der).expect("write");
    let certs = CscaTrust::load_dir(dir.path()).expect("trust folder");

    // The card goes onto vpcd's first slot before the reader is opened by name.
    let mut stream = connect_vpcd();
    let control = stream.try_clone().expect("clone");
    let served = std::thread::spawn(move || {
        vpcd::serve(&mut stream, &mut card, Duration::ZERO, 0).unwrap_or(Stop::Closed)
    });

    let devices = start_devices(certs, dir.path());
    devices.arm_identify(kiosk_app::session::Generation(1));
    // Wrong number first: the chip refuses the CAN and the citizen is asked again.
    devices.use_id_number(Personal::new("001090123457".into()));
    let mut events = Vec::new();
    let failure = loop {
        match next_session_event(&devices) {
            Event::IdentityFailed(_, f) => break f,
            e => events.push(format!("{e:?}")),
        }
    };
    assert_eq!(failure, IdentifyFailure::WrongIdNumber, "{events:?}");
    // The right number reads the card that stayed on the reader.
    let started = Instant::now();
    devices.use_id_number(Personal::new(ID.into()));
    let citizen = loop {
        match next_session_event(&devices) {
            Event::IdentityRead(_, c) => break c,
            Event::CardInserted(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    };
    // About 90 APDUs: well under a second through vpcd; a real reader takes 15-30 ms each.
    eprintln!(
        "identify worker over pcscd + vpcd: read and verified in {} ms",
        started.elapsed().as_millis()
    );
    assert_eq!(citizen.source(), IdentitySource::Chip);
    assert_eq!(citizen.id_number().expose(), ID);
    assert_eq!(citizen.full_name().expose(), "Nguyễn Văn An");
    assert_eq!(
        citizen.portrait().map(|p| p.expose().as_slice()),
        Some(kiosk_vcard::DEMO_PORTRAIT)
    );

    drop(devices);
    let _ = control.shutdown(std::net::Shutdown::Both);
    let _ = served.join();
}

/// Every profile in hw/vcard/profiles through pcscd and the kiosk's identify worker: the
/// genuine cards become a citizen, every forgery and clone is refused as not authentic (the
/// citizen is sent to the counter). The same cards and answers as `kioskctl card read` in
/// provisioning's card_read_pcscd test.
#[test]
fn the_identify_worker_gives_every_card_profile_its_verdict() {
    let _turn = PCSCD_TURN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let Some(_pcscd) = kiosk_tests::pcscd::start() else {
        return;
    };
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../hw/vcard/profiles");
    let mut paths: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)
        .expect("profiles folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    for path in &paths {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let profile = kiosk_vcard::Profile::load(path).unwrap_or_else(|e| panic!("{name}: {e}"));
        let expect = profile.expect.clone().expect("[expect]");
        let (mut card, trust) = VirtualCccd::from_profile(&profile).expect("card");
        let tmp = tempfile::tempdir().expect("tempdir");
        std::fs::write(tmp.path().join("csca.der"), &trust.csca_der).expect("write");
        let certs = CscaTrust::load_dir(tmp.path()).expect("trust folder");
        let mut stream = connect_vpcd();
        let control = stream.try_clone().expect("clone");
        let served = std::thread::spawn(move || {
            vpcd::serve(&mut stream, &mut card, Duration::ZERO, 0).unwrap_or(Stop::Closed)
        });
        let devices = start_devices(certs, tmp.path());
        devices.arm_identify(kiosk_app::session::Generation(1));
        devices.use_id_number(Personal::new(ID.into()));
        let outcome = loop {
            match next_session_event(&devices) {
                Event::IdentityRead(_, c) => break Ok(c),
                Event::IdentityFailed(_, f) => break Err(f),
                Event::CardInserted(_) => {}
                other => panic!("{name}: unexpected {other:?}"),
            }
        };
        match (expect.outcome.as_str(), outcome) {
            ("verified", Ok(c)) => assert_eq!(c.id_number().expose(), ID, "{name}"),
            ("refused", Err(f)) => assert_eq!(f, IdentifyFailure::NotAuthentic, "{name}"),
            (want, got) => panic!(
                "{name}: expected {want}, got {:?}",
                got.map(|_| "a citizen")
            ),
        }
        drop(devices);
        let _ = control.shutdown(std::net::Shutdown::Both);
        let _ = served.join();
        // Let pcscd notice the removal before the next card goes on.
        std::thread::sleep(Duration::from_millis(1000));
    }
}

/// The tests of this file share pcscd and vpcd's first slot: they take turns.
static PCSCD_TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn connect_vpcd() -> TcpStream {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match TcpStream::connect(("127.0.0.1", kiosk_tests::pcscd::VPCD_PORT)) {
            Ok(s) => break s,
            Err(e) if Instant::now() > deadline => panic!("vpcd not listening: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// The identify worker on `PcscCardReader` with the simulated camera, QR and printer.
fn start_devices(certs: Vec<Vec<u8>>, dir: &std::path::Path) -> Devices {
    let reader = kiosk_hw::card::pcsc::PcscCardReader::open(Some(READER)).expect("the reader");
    let sim = kiosk_hw::sim::SimHardware::demo_in(dir.join("receipts"));
    Devices::start(Hardware {
        card_reader: Box::new(reader),
        card_trust: CscaTrust::new(certs, false),
        qr: Box::new(sim.qr_scanner),
        camera: Box::new(sim.camera),
        printer: Box::new(sim.printer),
        face: FaceVerifier::Simulated {
            capture: Duration::from_millis(50),
            outcome: FaceOutcome {
                matched: true,
                score: 0.9,
                live: true,
            },
        },
    })
    .expect("workers")
}
