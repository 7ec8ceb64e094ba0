//! The `kiosk` binary as the image runs it, `kiosk --state-dir DIR`: without `DIR/enrolled` it
//! starts in technician mode (no configuration needed, so none is there); once provisioning
//! writes the configuration and the marker, the same process (same PID, as systemd watches
//! it) becomes the serving kiosk; SIGTERM then stops it cleanly.

use std::process::Command;
use std::time::{Duration, Instant};

use kiosk_app::provision_status::{Source, Status, StepId, Text, FILE};
use kiosk_tests::{demo_config, spawn_kiosk, wait_for_text};

#[test]
fn technician_mode_until_provisioned_then_the_kiosk_in_the_same_process() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state).expect("state dir");
    let log = dir.path().join("kiosk.log");
    let mut kiosk = spawn_kiosk(
        &[
            "--state-dir",
            state.to_str().expect("utf-8 path"),
            "--headless",
            "--camera",
            "sim",
            "--log-file",
            log.to_str().expect("utf-8 path"),
        ],
        &[],
    );
    wait_for_text(
        &log,
        "technician mode: the kiosk is not provisioned yet",
        Duration::from_secs(30),
    );
    assert!(kiosk.0.try_wait().expect("wait").is_none(), "still running");

    // What `kioskctl provision` leaves behind: the configuration, the status, then the marker.
    let _cfg = demo_config(&state, &[]);
    let mut st = Status::new(Source::File, None, 1_767_225_600);
    for id in StepId::ALL {
        st.ok(id, Text::new("xong", "done"), 1_767_225_610);
    }
    std::fs::write(state.join(FILE), st.to_json()).expect("status");
    std::fs::write(state.join("enrolled"), "kiosk_id = \"demo\"\n").expect("marker");

    wait_for_text(
        &log,
        "provisioned: starting the kiosk",
        Duration::from_secs(30),
    );
    wait_for_text(&log, "kiosk ready", Duration::from_secs(60));
    assert!(
        kiosk.0.try_wait().expect("wait").is_none(),
        "the same process serves"
    );

    let pid = kiosk.0.id().to_string();
    let sent = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(sent.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = kiosk.0.try_wait().expect("wait") {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "kiosk still running 10 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0), "clean exit on SIGTERM");
}
