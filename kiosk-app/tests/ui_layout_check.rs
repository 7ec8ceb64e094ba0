//! The layout check (`kiosk_app::layout_check`) finds each kind of defect in a window built to
//! have them, and nothing in the same window laid out properly. The tour runs the same check on
//! every screen it writes (the journey tests fail on any finding).
#![allow(clippy::unwrap_used)]

mod ui_common;

use kiosk_app::layout_check::{check, FindingKind};
use slint::ComponentHandle;

slint::slint! {
    export component Broken inherits Window {
        in property <bool> broken: true;
        width: 400px;
        height: 300px;
        // One line wider than its box.
        Rectangle {
            x: 10px; y: 10px; width: broken ? 60px : 380px; height: 40px;
            Text { width: parent.width; text: "A line far too long for this box"; font-size: 16px; }
        }
        // Wrapped lines taller than their box.
        Rectangle {
            x: 10px; y: 60px; width: 380px; height: broken ? 20px : 80px;
            Text {
                width: parent.width; height: parent.height;
                wrap: word-wrap; font-size: 16px;
                text: "Many words that wrap onto several lines, more than this short box holds, and still more words";
            }
        }
        // A button half off the window.
        Rectangle {
            x: broken ? 300px : 190px; y: 250px; width: 200px; height: 40px;
            TouchArea { }
        }
        // Two buttons on top of each other.
        TouchArea { x: 10px; y: 150px; width: 100px; height: 60px; }
        TouchArea { x: broken ? 60px : 120px; y: 170px; width: 60px; height: 60px; }
        // A text cut by a clipping box.
        Rectangle {
            x: 200px; y: 100px; width: 180px; height: broken ? 10px : 40px; clip: true;
            Text { x: 0; y: 0; text: "cut"; font-size: 16px; }
        }
        // A label under another widget's button.
        Text { x: 200px; y: 200px; text: "covered"; font-size: 16px; }
        TouchArea { x: broken ? 210px : 320px; y: 195px; width: 30px; height: 30px; }
    }
}

#[test]
fn the_layout_check_finds_each_defect_and_nothing_in_a_good_layout() {
    ui_common::init_backend();
    let ui = Broken::new().unwrap();
    ui.window().set_size(slint::PhysicalSize::new(400, 300));
    ui.show().unwrap();
    let found = check(ui.window());
    let lines: Vec<String> = found.iter().map(ToString::to_string).collect();
    for (kind, text) in [
        (FindingKind::TextTooWide, "A line far too long for this box"),
        (FindingKind::TextTooTall, "Many words that wrap"),
        (FindingKind::OutsideWindow, ""),
        (FindingKind::TargetsOverlap, ""),
        (FindingKind::Clipped, "cut"),
        (FindingKind::TextCovered, "covered"),
    ] {
        assert!(
            found
                .iter()
                .any(|f| f.kind == kind && f.text.starts_with(text)),
            "no {kind:?} finding for {text:?} in:\n{}",
            lines.join("\n")
        );
    }
    ui.set_broken(false);
    let found = check(ui.window());
    assert!(
        found.is_empty(),
        "findings in a good layout:\n{}",
        found
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
}
