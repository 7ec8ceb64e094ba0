//! Journey 2, the one-stop-shop dossier, driven through the real app (demo devices, the
//! virtual CCCD, the demo gateway, the headless software renderer) from attract to receipt in
//! Vietnamese and English, portrait and landscape: `kiosk --tour`'s walk, which asserts the
//! visible texts on the way (the field filter, the search typed on the on-screen keyboard, a
//! refused landline, the province and ward, the street line typed in Telex, the review page's
//! chip rows, the street and "from the chip", a "Change" back to review, the lookup codes typed)
//! and, after every session, that no Slint model holds the synthetic citizen's values (the
//! typed street line included).
#![allow(clippy::unwrap_used)]

#[path = "journey_common/mod.rs"]
mod journey_common;

#[test]
fn the_dossier_journey_runs_from_attract_to_receipt_in_vi_and_en() {
    let dir = tempfile::tempdir().unwrap();
    let shots = journey_common::tour("one-stop-shop", dir.path());
    for orientation in ["portrait", "landscape"] {
        for lang in ["vi", "en"] {
            for screen in [
                "services-filtered",
                "services-search",
                "form-phone",
                "form-phone-invalid",
                "form-province",
                "form-ward",
                "form-street",
                "form-delivery",
                "form-review",
                "receipt",
                // Journey 4, the status lookup with this receipt's QR code.
                "lookup-scan",
                "lookup-bad-qr",
                "lookup-type",
                "lookup-result",
            ] {
                assert!(
                    shots
                        .iter()
                        .any(|p| p.contains(&format!("{orientation}/{lang}/"))
                            && p.ends_with(&format!("-{screen}.png"))),
                    "{orientation}/{lang}: no {screen} screen in {shots:?}"
                );
            }
        }
    }
}
