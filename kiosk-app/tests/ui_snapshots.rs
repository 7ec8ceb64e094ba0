//! Screenshot tests: every page in Vietnamese and English, portrait 1080x1920; the attract and
//! language screens also in landscape 1920x1080; the identify step's phases (keypad, a refused
//! number, "place your card", reading). Goldens live in `tests/snapshots/`.
//! `UPDATE_SNAPSHOTS=1 cargo test -p kiosk-app --test ui_snapshots` regenerates them.
#![allow(clippy::unwrap_used)]

mod ui_common;

use kiosk_ui::Kiosk;
use slint::{ComponentHandle, SharedString};
use ui_common::{check_snapshot, init_backend, set_language, window};

const PAGES: [&str; 10] = [
    "attract",
    "language",
    "identify",
    "consent",
    "face",
    "services",
    "confirm",
    "submitting",
    "receipt",
    "notice",
];

#[test]
fn ui_pages_match_golden_snapshots() {
    init_backend();
    // Put the pulse animation mid-way so the goldens show it.
    i_slint_backend_testing::mock_elapsed_time(std::time::Duration::from_millis(700));
    let mut failures = Vec::new();
    let mut check = |ui: &kiosk_ui::AppWindow, name: &str| {
        if let Err(e) = check_snapshot(ui, name) {
            failures.push(e);
        }
    };

    let portrait = window(1080, 1920);
    for lang in ["vi", "en"] {
        set_language(&portrait, lang);
        for (i, page) in PAGES.iter().enumerate() {
            let k = portrait.global::<Kiosk>();
            k.set_page(SharedString::from(*page));
            k.set_step_index(i.saturating_sub(1) as i32);
            check(&portrait, &format!("{page}-{lang}-portrait"));
        }
    }
    // Variants: hospital mode, a card error, the countdown banner, an offline receipt.
    set_language(&portrait, "vi");
    let k = portrait.global::<Kiosk>();
    k.set_mode("hospital".into());
    k.set_page("attract".into());
    check(&portrait, "attract-hospital-vi-portrait");
    k.set_mode("one-stop-shop".into());
    k.set_page("identify".into());
    k.set_step_index(1);
    k.set_identify_status("err-card-removed".into());
    k.set_timeout_warning(true);
    k.set_seconds_left(12);
    check(&portrait, "identify-error-timeout-vi-portrait");
    k.set_timeout_warning(false);
    // The identify phases: a refused number back at the keypad, then "place your card" and
    // "reading" with the number in use.
    k.set_identify_phase("id".into());
    k.set_identify_status("notice-wrong-id".into());
    k.set_id_entry("".into());
    k.set_id_entry_count(0);
    check(&portrait, "identify-wrong-id-vi-portrait");
    k.set_identify_phase("card".into());
    k.set_identify_status("".into());
    k.set_id_entry("001 090 123 456".into());
    k.set_id_entry_count(12);
    check(&portrait, "identify-card-vi-portrait");
    set_language(&portrait, "en");
    k.set_identify_phase("reading".into());
    k.set_identify_status("reading".into());
    check(&portrait, "identify-reading-en-portrait");
    set_language(&portrait, "vi");
    k.set_page("receipt".into());
    k.set_step_index(7);
    k.set_receipt_offline(true);
    check(&portrait, "receipt-offline-vi-portrait");
    portrait.hide().unwrap();

    let landscape = window(1920, 1080);
    for lang in ["vi", "en"] {
        set_language(&landscape, lang);
        for (i, page) in PAGES.iter().enumerate() {
            landscape
                .global::<Kiosk>()
                .set_page(SharedString::from(*page));
            landscape
                .global::<Kiosk>()
                .set_step_index(i.saturating_sub(1) as i32);
            if lang == "vi" || i < 2 {
                check(&landscape, &format!("{page}-{lang}-landscape"));
            }
        }
    }

    assert!(
        failures.is_empty(),
        "snapshot mismatches:\n{}",
        failures.join("\n")
    );
}
