//! Screenshot tests: every page in Vietnamese and English, portrait 1080x1920; the attract and
//! language screens also in landscape 1920x1080; the identify step's phases (the card placed
//! first, a refused number, "place your card", the still-there countdown: both orientations,
//! vi and en; reading). Goldens live in `tests/snapshots/`.
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
            k.set_step_index(i.saturating_sub(1).min(6) as i32);
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
    check(&portrait, "identify-error-vi-portrait");
    // "Reading", with the number in use masked (a synthetic citizen's: cccd.md's vector).
    k.set_identify_phase("card".into());
    k.set_id_entry("0010•••••456".into());
    k.set_id_entry_count(12);
    set_language(&portrait, "en");
    k.set_identify_phase("reading".into());
    k.set_identify_status("reading".into());
    check(&portrait, "identify-reading-en-portrait");
    set_language(&portrait, "vi");
    k.set_page("receipt".into());
    k.set_step_index(6);
    k.set_receipt_offline(true);
    check(&portrait, "receipt-offline-vi-portrait");
    portrait.hide().unwrap();

    for (w, h, orientation) in [(1080, 1920, "portrait"), (1920, 1080, "landscape")] {
        let ui = window(w, h);
        for lang in ["vi", "en"] {
            set_language(&ui, lang);
            identify_variants(&ui, &mut |ui, name| {
                check(ui, &format!("{name}-{lang}-{orientation}"));
            });
        }
        ui.hide().unwrap();
    }

    let landscape = window(1920, 1080);
    for lang in ["vi", "en"] {
        set_language(&landscape, lang);
        for (i, page) in PAGES.iter().enumerate() {
            landscape
                .global::<Kiosk>()
                .set_page(SharedString::from(*page));
            landscape
                .global::<Kiosk>()
                .set_step_index(i.saturating_sub(1).min(6) as i32);
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

/// The identify step as journey 1 of issue 14 has it: the card placed first (good news, not a
/// refusal), a refused number kept on the keypad and named masked, "place your card" with the
/// number masked, and the still-there countdown at 20 s below (not over) the keypad.
fn identify_variants(ui: &kiosk_ui::AppWindow, check: &mut dyn FnMut(&kiosk_ui::AppWindow, &str)) {
    let k = ui.global::<Kiosk>();
    k.set_mode("one-stop-shop".into());
    k.set_page("identify".into());
    k.set_step_index(1);
    k.set_timeout_warning(false);
    k.set_identify_phase("id".into());
    k.set_identify_status("notice-id-needed-first".into());
    k.set_identify_status_info(true);
    k.set_id_entry("001 090 1".into());
    k.set_id_entry_count(7);
    check(ui, "identify-card-first");
    k.set_identify_status("notice-wrong-id".into());
    k.set_identify_status_info(false);
    k.set_identify_status_arg("0010•••••457".into());
    k.set_id_entry("001 090 123 457".into());
    k.set_id_entry_count(12);
    check(ui, "identify-wrong-id");
    k.set_identify_phase("card".into());
    k.set_identify_status("".into());
    k.set_id_entry("0010•••••456".into());
    check(ui, "identify-card");
    k.set_identify_phase("id".into());
    k.set_id_entry("001 090".into());
    k.set_id_entry_count(6);
    k.set_timeout_warning(true);
    k.set_seconds_left(20);
    check(ui, "identify-still-there");
    k.set_timeout_warning(false);
}
