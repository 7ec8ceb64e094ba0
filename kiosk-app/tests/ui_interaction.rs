//! Touch tests: elements are found by their accessible label (the UI is compiled with debug
//! info) and clicked, and the Kiosk callbacks must fire.
#![allow(clippy::unwrap_used)]

mod ui_common;

use std::cell::RefCell;
use std::rc::Rc;

use i_slint_backend_testing::{AccessibleRole, ElementHandle};
use kiosk_ui::{AppWindow, Dossier, Kiosk};
use slint::platform::PointerEventButton;
use slint::ComponentHandle;
use ui_common::{init_backend, set_language, window};

/// Buttons labelled `label` (a Text's label is its text, so restrict to the button role).
fn buttons(ui: &AppWindow, label: &str) -> Vec<ElementHandle> {
    ElementHandle::find_by_accessible_label(ui, label)
        .filter(|e| e.accessible_role() == Some(AccessibleRole::Button))
        .collect()
}

fn click(ui: &AppWindow, label: &str) {
    let found = buttons(ui, label);
    assert_eq!(
        found.len(),
        1,
        "expected one button labelled {label:?}, found {}",
        found.len()
    );
    found[0].mock_single_click(PointerEventButton::Left);
}

#[test]
fn ui_touch_targets_invoke_kiosk_callbacks() {
    init_backend();
    let ui = window(1080, 1920);
    let log = Rc::new(RefCell::new(Vec::<String>::new()));
    let k = ui.global::<Kiosk>();
    let l = log.clone();
    k.on_start(move || l.borrow_mut().push("start".into()));
    let l = log.clone();
    k.on_choose_language(move |code| l.borrow_mut().push(format!("lang:{code}")));
    let l = log.clone();
    k.on_cancel(move || l.borrow_mut().push("cancel".into()));
    let l = log.clone();
    k.on_back(move || l.borrow_mut().push("back".into()));
    let l = log.clone();
    k.on_demo_tap_card(move || l.borrow_mut().push("tap-card".into()));
    let l = log.clone();
    k.on_choose_service(move |id| l.borrow_mut().push(format!("service:{id}")));
    let l = log.clone();
    k.on_keypad_digit(move |d| l.borrow_mut().push(format!("digit:{d}")));
    let l = log.clone();
    k.on_keypad_erase(move || l.borrow_mut().push("erase".into()));
    let l = log.clone();
    k.on_keypad_submit(move || l.borrow_mut().push("submit".into()));
    let activity = Rc::new(RefCell::new(0));
    let a = activity.clone();
    k.on_activity(move || *a.borrow_mut() += 1);

    // Attract: the start button, in Vietnamese.
    set_language(&ui, "vi");
    k.set_page("attract".into());
    click(&ui, "Chạm để bắt đầu");
    assert_eq!(log.borrow().as_slice(), ["start"]);
    assert!(
        *activity.borrow() > 0,
        "a touch anywhere must report activity"
    );

    // Language: one button per language, each with its code; Back.
    k.set_page("language".into());
    log.borrow_mut().clear();
    click(&ui, "Tiếng Việt");
    click(&ui, "English");
    click(&ui, "Quay lại");
    assert_eq!(log.borrow().as_slice(), ["lang:vi", "lang:en", "back"]);

    // Identify: the demo control stands in for the card reader.
    k.set_page("identify".into());
    log.borrow_mut().clear();
    click(&ui, "Mô phỏng: chạm thẻ");
    assert_eq!(log.borrow().as_slice(), ["tap-card"]);

    // The identify keypad: digits by their label, erase, and OK only with 12 digits.
    k.set_identify_phase("id".into());
    k.set_id_entry_count(11);
    log.borrow_mut().clear();
    click(&ui, "7");
    click(&ui, "0");
    click(&ui, "Xoá");
    click(&ui, "Xong");
    assert_eq!(log.borrow().as_slice(), ["digit:7", "digit:0", "erase"]);
    k.set_id_entry_count(12);
    log.borrow_mut().clear();
    click(&ui, "7");
    click(&ui, "Xong");
    assert_eq!(
        log.borrow().as_slice(),
        ["submit"],
        "12 digits: no more digits, OK works"
    );

    // Services: tiles are labelled by title and report their id; field chips filter.
    let d = ui.global::<Dossier>();
    let l = log.clone();
    d.on_filter(move |f| l.borrow_mut().push(format!("filter:{f}")));
    let l = log.clone();
    d.on_phone_digit(move |n| l.borrow_mut().push(format!("phone:{n}")));
    let l = log.clone();
    d.on_next(move || l.borrow_mut().push("next".into()));
    let l = log.clone();
    d.on_change(move |p| l.borrow_mut().push(format!("change:{p}")));
    let l = log.clone();
    d.on_choose_delivery(move |c| l.borrow_mut().push(format!("delivery:{c}")));
    let l = log.clone();
    d.on_choose_reason(move |c| l.borrow_mut().push(format!("reason:{c}")));
    k.set_page("services".into());
    log.borrow_mut().clear();
    click(&ui, "Đăng ký tạm trú");
    click(&ui, "Cư trú");
    assert_eq!(
        log.borrow().as_slice(),
        ["service:temporary-residence", "filter:residence"]
    );

    // The dossier form: the phone keypad (Next only with 10 digits), the delivery choices,
    // "Change" on a review row, a hospital reason chip.
    k.set_page("confirm".into());
    d.set_form_page("phone".into());
    d.set_phone_count(9);
    log.borrow_mut().clear();
    click(&ui, "5");
    click(&ui, "Tiếp tục");
    d.set_phone_count(10);
    click(&ui, "Tiếp tục");
    assert_eq!(log.borrow().as_slice(), ["phone:5", "next"]);
    d.set_form_page("delivery".into());
    log.borrow_mut().clear();
    click(&ui, "Trên ứng dụng VNeID");
    assert_eq!(log.borrow().as_slice(), ["delivery:vneid"]);
    d.set_form_page("review".into());
    log.borrow_mut().clear();
    click(&ui, "Sửa");
    assert_eq!(log.borrow().as_slice(), ["change:phone"]);
    d.set_form_page("reason".into());
    log.borrow_mut().clear();
    click(&ui, "Sốt");
    assert_eq!(log.borrow().as_slice(), ["reason:fever"]);

    // Cancel on every step after attract, in both languages; none on attract.
    let pages = [
        "language", "identify", "consent", "face", "services", "confirm",
    ];
    for (lang, cancel) in [("vi", "Hủy"), ("en", "Cancel")] {
        set_language(&ui, lang);
        for page in pages {
            k.set_page(page.into());
            log.borrow_mut().clear();
            click(&ui, cancel);
            assert_eq!(
                log.borrow().as_slice(),
                ["cancel"],
                "Cancel on {page} ({lang})"
            );
        }
        // Nothing to cancel before a session or once the dossier is sent; a final notice has
        // its own buttons.
        for page in ["attract", "submitting", "receipt", "notice"] {
            k.set_page(page.into());
            assert!(buttons(&ui, cancel).is_empty(), "no Cancel on {page}");
        }
    }
}
