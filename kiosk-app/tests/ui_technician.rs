//! The technician screen (technician mode, before provisioning) on the headless renderer:
//! a failed step with its next step from `provision-status.json`, in Vietnamese and English;
//! then an enrolment QR code shown to the (replayed) camera goes to `kioskctl provision --qr -`
//! (a stand-in script that records how it was called and plays a finished run), and the
//! screen says the kiosk is set up and asks to start it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod ui_common;

use std::path::Path;
use std::rc::Rc;
use std::time::{Duration, Instant};

use i_slint_backend_testing::ElementHandle;
use kiosk_app::config::CameraSpec;
use kiosk_app::i18n::Catalog;
use kiosk_app::provision_status::{Source, Status, StepId, Text, FILE};
use kiosk_app::technician::{Controller, Local, TechnicianSettings};
use kiosk_hw::qr::scene::{render_qr, Scene};
use kiosk_ui::{AppWindow, Technician};
use slint::{ComponentHandle, Model};
use ui_common::init_backend;

const TOKEN: &str = "k7Hq2-Zp_9xYw3Lm-Test";

fn labelled(ui: &AppWindow, text: &str) -> bool {
    ElementHandle::find_by_accessible_label(ui, text)
        .next()
        .is_some()
}

fn write_frame(dir: &Path, name: &str, text: &str, seed: u64) {
    let frame = render_qr(text, &Scene::clean(1280, 720, seed)).expect("scene");
    std::fs::write(dir.join(name), frame.to_png().expect("png")).expect("write frame");
}

#[test]
fn the_technician_screen_follows_provisioning_and_a_scanned_enrolment_qr() {
    init_backend();
    let ui = ui_common::window(1080, 1920);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state).unwrap();

    // The camera sees a receipt first (not an enrolment code), then the enrolment code.
    let frames = dir.path().join("frames");
    std::fs::create_dir_all(&frames).unwrap();
    let qr = format!("VNKIOSK1|E|https://gateway.example.vn|{TOKEN}");
    write_frame(
        &frames,
        "a-receipt.png",
        "VNKIOSK1|R|000.00.01.H29-260105-0001|7KQ2MZ4P",
        3,
    );
    write_frame(&frames, "b-enrol.png", &qr, 5);

    // A stand-in kioskctl: records its arguments and stdin, then plays a finished run.
    let mut finished = Status::new(Source::Qr, None, 1_767_225_600);
    finished.identify(
        "HN-PB-001",
        "UBND phường Ba Đình",
        "https://gateway.example.vn",
    );
    for id in StepId::ALL {
        finished.ok(id, Text::new("xong", "done"), 1_767_225_610);
    }
    std::fs::write(dir.path().join("finished.json"), finished.to_json()).unwrap();
    let script = dir.path().join("kioskctl");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$@\" > '{d}/args'\ncat > '{d}/stdin'\n\
             cp '{d}/finished.json' '{s}/{FILE}'\necho 'kiosk_id = \"HN-PB-001\"' > '{s}/enrolled'\n",
            d = dir.path().display(),
            s = state.display()
        ),
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    let texts = Rc::new(Catalog::embedded().unwrap());
    let controller = Controller::attach(
        &ui,
        texts.clone(),
        TechnicianSettings {
            state_dir: state.clone(),
            provision_file: dir.path().join("provision.toml"),
            kioskctl: script,
            camera: CameraSpec::Replay(frames),
        },
    );
    let t = ui.global::<Technician>();
    assert!(t.get_active());
    assert_eq!(t.get_state(), "waiting");
    assert!(labelled(&ui, &texts.t("vi", "tech-waiting")));

    // The boot unit's run failed at enrolment: the step, why, and what to do next.
    let mut failed = Status::new(Source::File, Some(30), 1_767_225_600);
    failed.identify(
        "HN-PB-001",
        "UBND phường Ba Đình",
        "https://gateway.example.vn",
    );
    failed.ok(
        StepId::File,
        Text::new("provision.toml hợp lệ", "provision.toml ok"),
        1_767_225_601,
    );
    failed.fail(
        StepId::Enrol,
        Text::new(
            "Không kết nối được máy chủ cổng https://gateway.example.vn.",
            "Cannot reach the gateway https://gateway.example.vn.",
        ),
        Text::new(
            "Kiểm tra cáp mạng. Kiosk sẽ thử lại sau 30 giây.",
            "Check the network cable. The kiosk tries again in 30 seconds.",
        ),
        1_767_225_621,
    );
    std::fs::write(state.join(FILE), failed.to_json()).unwrap();
    assert!(!controller.borrow_mut().pump());
    assert_eq!(t.get_state(), "failed");
    assert!(labelled(&ui, &texts.ta("vi", "tech-failed", "2")));
    let row = t.get_steps_first().row_data(1).expect("step 2");
    assert_eq!(row.state, "failed");
    assert_eq!(row.next, "Kiểm tra cáp mạng. Kiosk sẽ thử lại sau 30 giây.");
    assert!(labelled(
        &ui,
        &format!("{}: {} {}", row.title, row.text, row.next)
    ));
    assert!(t.get_kiosk_line().contains("HN-PB-001"));
    assert_eq!(
        t.get_steps_then().row_data(0).expect("step 4").state,
        "pending"
    );

    t.invoke_switch_language();
    assert!(labelled(&ui, "Set-up stopped at step 2"));
    assert_eq!(
        t.get_steps_first().row_data(1).expect("step 2").next,
        "Check the network cable. The kiosk tries again in 30 seconds."
    );

    // While a provisioning run holds the lock, the camera does not scan (that run's
    // self-test needs it).
    let run = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(state.join(kiosk_app::provision_status::LOCK))
        .unwrap();
    run.lock().unwrap();
    t.invoke_scan();
    assert_eq!(*controller.borrow().local(), Local::Busy);
    assert!(!t.get_scanning());
    assert!(labelled(&ui, &texts.t("en", "tech-busy")));
    drop(run);

    // Scan: the receipt is refused, the enrolment code goes to kioskctl through its stdin.
    t.invoke_scan();
    assert!(t.get_scanning());
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut done = false;
    while Instant::now() < deadline && !done {
        std::thread::sleep(Duration::from_millis(100));
        done = controller.borrow_mut().pump();
    }
    assert!(
        done,
        "provisioning did not finish; screen: {:?}",
        controller.borrow().local()
    );
    let args = std::fs::read_to_string(dir.path().join("args")).unwrap();
    assert!(
        args.starts_with(&format!("provision --qr - --state-dir {}", state.display())),
        "{args}"
    );
    assert!(
        !args.contains(TOKEN),
        "the token is not an argument: {args}"
    );
    let stdin = std::fs::read_to_string(dir.path().join("stdin")).unwrap();
    assert_eq!(stdin.trim_end(), qr);
    assert_eq!(t.get_state(), "finished");
    assert!(!t.get_scanning() && !t.get_can_scan());
    assert!(labelled(&ui, "Set-up complete. The kiosk is starting."));
    assert_eq!(*controller.borrow().local(), Local::Idle);
}
