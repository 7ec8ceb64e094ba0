//! Journey 3, the hospital registration, driven through the real app in a hospital-mode demo
//! from attract to the receipt with its queue number, in Vietnamese and English, portrait and
//! landscape: `kiosk --tour`'s walk asserts the visible texts (the chosen reason and "no paper
//! insurance card" on the summary, a queue number on the receipt) and that no Slint model holds
//! the synthetic citizen's values after each session.
#![allow(clippy::unwrap_used)]

#[path = "journey_common/mod.rs"]
mod journey_common;

#[test]
fn the_hospital_journey_runs_from_attract_to_receipt_in_vi_and_en() {
    let dir = tempfile::tempdir().unwrap();
    let shots = journey_common::tour("hospital", dir.path());
    for orientation in ["portrait", "landscape"] {
        for lang in ["vi", "en"] {
            for screen in [
                "hospital-reason",
                "hospital-reason-chosen",
                "hospital-review",
                "receipt",
            ] {
                assert!(
                    shots
                        .iter()
                        .any(|p| p.contains(&format!("{orientation}/{lang}/"))
                            && p.ends_with(&format!("-{screen}.png"))),
                    "{orientation}/{lang}: no {screen} screen in {shots:?}"
                );
            }
            assert!(
                !shots
                    .iter()
                    .any(|p| p.contains(&format!("{orientation}/{lang}/"))
                        && p.contains("form-phone")),
                "a hospital asks for no phone number"
            );
        }
    }
}
