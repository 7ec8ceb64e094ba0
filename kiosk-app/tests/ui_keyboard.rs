//! The Vietnamese on-screen keyboard (issue 14, journey 6), tapped key by key through the real
//! shell, session and demo devices (the virtual CCCD, the simulated face check): the procedure
//! search typed without tone marks ("dang ky" keeps the registrations), the street line of the
//! dossier address in Telex ("nguyeenx" shows "nguyễn", then "12 Lee Lowij" becomes
//! "12 Lê Lợi" on the review page), the tone keys, and the wipe after cancel; then the status
//! lookup's codes typed on the code layout (lower-case taps shown in capitals, no Telex). In vi
//! and en, with snapshots in portrait, landscape, large text and high contrast.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod ui_common;

use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use i_slint_backend_testing::{AccessibleRole, ElementHandle};
use kiosk_app::catalog::Catalog;
use kiosk_app::config::{self, Mode};
use kiosk_app::devices::{Devices, FaceVerifier, Hardware};
use kiosk_app::i18n::Catalog as Texts;
use kiosk_app::identity::CscaTrust;
use kiosk_app::session::{Dossier, FaceOutcome, Millis, ReceiptInfo, Step, SubmitFailure};
use kiosk_app::shell::{Parts, Shell, Submitter};
use kiosk_hw::SimHardware;
use kiosk_ui::{AppWindow, Assist, Dossier as DossierAdapter, Kiosk};
use kiosk_vcard::chip::VirtualCccd;
use slint::platform::PointerEventButton;
use slint::{ComponentHandle, Model};
use ui_common::{check_snapshot, init_backend};

struct NoGateway;

impl Submitter for NoGateway {
    fn submit(&self, _: &Dossier) -> Result<ReceiptInfo, SubmitFailure> {
        Err(SubmitFailure::Storage)
    }
}

fn click_role(ui: &AppWindow, label: &str, role: AccessibleRole) {
    let found: Vec<ElementHandle> = ElementHandle::find_by_accessible_label(ui, label)
        .filter(|e| e.accessible_role() == Some(role))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one {role:?} labelled {label:?}, found {}",
        found.len()
    );
    found[0].mock_single_click(PointerEventButton::Left);
}

fn click(ui: &AppWindow, label: &str) {
    click_role(ui, label, AccessibleRole::Button);
}

fn shows(ui: &AppWindow, text: &str) -> bool {
    ElementHandle::find_by_accessible_label(ui, text)
        .next()
        .is_some()
}

/// Taps the keys of `keys`, one button per character (the space bar by its name).
fn tap(ui: &AppWindow, texts: &Texts, lang: &str, keys: &str) {
    for c in keys.chars() {
        if c == ' ' {
            click(ui, &texts.t(lang, "key-space"));
        } else {
            click(ui, &c.to_string());
        }
    }
}

fn wait(shell: &Rc<std::cell::RefCell<Shell>>, what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        shell.borrow_mut().pump_blocking(Duration::from_millis(50));
    }
}

#[test]
#[allow(clippy::too_many_lines)] // one journey, step by step
fn the_keyboard_types_vietnamese_searches_and_codes_in_vi_and_en() {
    init_backend();
    let texts = Rc::new(Texts::embedded().unwrap());
    for lang in ["vi", "en"] {
        let ui = AppWindow::new().unwrap();
        ui.window().set_size(slint::PhysicalSize::new(1080, 1920));
        let cfg = config::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/demo.toml"))
            .unwrap();
        let sim = SimHardware::demo_in(std::env::temp_dir().join("kiosk-ui-keyboard"));
        let card = sim.card.clone();
        // The demo chip, its test CSCA trusted (a demo kiosk trusts it the same way).
        let (chip, trust) = VirtualCccd::demo().unwrap();
        let devices = Devices::start(Hardware {
            card_reader: Box::new(sim.card_reader),
            card_trust: CscaTrust::new(vec![trust.csca_der], false),
            qr: Box::new(sim.qr_scanner),
            camera: Box::new(sim.camera),
            printer: Box::new(sim.printer),
            face: FaceVerifier::Simulated {
                capture: Duration::from_millis(10),
                outcome: FaceOutcome {
                    matched: true,
                    score: 0.9,
                    live: true,
                },
            },
        })
        .unwrap();
        let shell = Shell::install(
            &ui,
            Parts {
                config: Rc::new(cfg),
                texts: texts.clone(),
                catalog: Catalog::builtin(Mode::OneStopShop),
                devices,
                submitter: Arc::new(NoGateway),
                compose_receipt: Box::new(|_, _| None),
                clock: Rc::new(|| Millis(i_slint_backend_testing::get_mocked_time())),
                id_seed: 7,
                units: Arc::new(kiosk_app::admin_units::AdminUnits::sample()),
            },
        );
        ui.show().unwrap();
        let t = |key: &str| texts.t(lang, key);
        let k = ui.global::<Kiosk>();
        let d = ui.global::<DossierAdapter>();

        // To the procedure list: language, ID number, the demo card, consent, the face check.
        click(&ui, &texts.t("vi", "attract-touch"));
        click(
            &ui,
            if lang == "vi" {
                "Tiếng Việt"
            } else {
                "English"
            },
        );
        card.insert(Box::new(chip));
        for c in "001090123456".chars() {
            click(&ui, &c.to_string());
        }
        click(&ui, &t("keypad-ok"));
        wait(&shell, "the chip read", || {
            shell.borrow().step() == Step::Consent
        });
        k.invoke_accept_consent();
        wait(&shell, "the face check", || {
            shell.borrow().step() == Step::ChooseService
        });

        // The search: a tap on the field opens the keyboard; "dang ky" typed without marks.
        let all = d.get_services().row_count();
        click_role(&ui, &t("services-search"), AccessibleRole::TextInput);
        assert!(d.get_search_open());
        tap(&ui, &texts, lang, "dang ky");
        assert_eq!(d.get_search(), "dang ky");
        let found = d.get_services();
        assert!(found.row_count() > 0 && found.row_count() < all, "narrowed");
        let mut vi_titles: Vec<String> = Catalog::builtin(Mode::OneStopShop)
            .entries()
            .iter()
            .filter(|e| kiosk_app::vnkey::fold(e.title("vi")).contains("dang ky"))
            .map(|e| e.id.as_str().to_owned())
            .collect();
        let mut ids: Vec<String> = found.iter().map(|s| s.id.to_string()).collect();
        ids.sort();
        vi_titles.sort();
        assert_eq!(ids, vi_titles, "exactly the Đăng ký procedures");
        check_snapshot(&ui, &format!("services-search-{lang}-portrait")).unwrap();
        // A word nothing has: the list says so.
        tap(&ui, &texts, lang, " xyz");
        assert_eq!(d.get_services().row_count(), 0);
        assert!(shows(&ui, &t("services-search-none")));
        click(&ui, &t("key-done"));
        assert!(!d.get_search_open());

        // The form: phone, province, ward, then the street line on the keyboard.
        k.invoke_choose_service("temporary-residence".into());
        assert_eq!(d.get_search(), "", "the search ends with the list");
        for c in "0912345678".chars() {
            d.invoke_phone_digit(i32::try_from(c.to_digit(10).unwrap()).unwrap());
        }
        d.invoke_next();
        let province = d.get_provinces().row_data(0).unwrap();
        d.invoke_choose_province(province.code);
        let ward = d.get_wards().row_data(0).unwrap();
        d.invoke_choose_ward(ward.code.clone());
        assert_eq!(d.get_form_page(), "street");
        tap(&ui, &texts, lang, "nguyeenx");
        assert_eq!(
            d.get_street(),
            "nguyễn",
            "Telex composed by Rust, shown by Slint"
        );
        assert!(shows(&ui, "nguyễn"));
        check_snapshot(&ui, &format!("keyboard-street-{lang}-portrait")).unwrap();
        // The tone keys: nặng on the last syllable, then the same key again takes it off.
        click(&ui, &t("key-tone-nang"));
        assert_eq!(d.get_street(), "nguyện");
        click(&ui, &t("key-tone-nang"));
        assert_eq!(d.get_street(), "nguyên");
        for _ in 0..6 {
            click(&ui, &t("key-erase"));
        }
        assert_eq!(d.get_street(), "");
        // Digits are on their own page; a capital with shift; then "Next".
        click(&ui, &t("key-digits"));
        tap(&ui, &texts, lang, "12");
        click(&ui, &t("key-letters"));
        tap(&ui, &texts, lang, " ");
        click(&ui, &t("key-shift"));
        tap(&ui, &texts, lang, "Lee ");
        click(&ui, &t("key-shift"));
        tap(&ui, &texts, lang, "Lowij");
        assert_eq!(d.get_street(), "12 Lê Lợi");
        if lang == "vi" {
            // Landscape, large text and high contrast: the keyboard still fits and reads.
            ui.window().set_size(slint::PhysicalSize::new(1920, 1080));
            check_snapshot(&ui, "keyboard-street-vi-landscape").unwrap();
            ui.window().set_size(slint::PhysicalSize::new(1080, 1920));
            let a = ui.global::<Assist>();
            a.invoke_toggle_large_text();
            a.invoke_toggle_high_contrast();
            assert!(a.get_large_text() && a.get_high_contrast());
            check_snapshot(&ui, "keyboard-street-vi-portrait-large-contrast").unwrap();
            a.invoke_toggle_large_text();
            a.invoke_toggle_high_contrast();
        }
        click(&ui, &t("btn-next"));
        assert_eq!(d.get_form_page(), "delivery");
        d.invoke_choose_delivery("post".into());
        assert_eq!(d.get_form_page(), "review");
        let row = format!(
            "{}: 12 Lê Lợi ({})",
            t("review-street"),
            t("review-source-you")
        );
        let rows: Vec<String> = d
            .get_rows()
            .iter()
            .map(|r| format!("{}: {} ({})", r.label, r.value, r.source))
            .collect();
        assert!(rows.contains(&row), "the review rows {rows:?} hold {row:?}");
        // The review page scrolls; a tall window shows every row at once.
        ui.window().set_size(slint::PhysicalSize::new(1080, 4000));
        assert!(shows(&ui, &row), "the review page shows {row:?}");
        ui.window().set_size(slint::PhysicalSize::new(1080, 1920));

        // Cancel: the typed address leaves every model with the rest.
        click(&ui, &t("btn-cancel"));
        assert_eq!(shell.borrow().step(), Step::Attract);
        assert_eq!(d.get_street(), "");
        assert_eq!(d.get_rows().row_count(), 0);
        assert!(!shows(&ui, "12 Lê Lợi"));
        assert!(!shell.borrow().holds_personal_data());
        card.remove();

        // The status lookup: the codes typed on the code layout, the scanner still armed.
        click(&ui, &texts.t("vi", "attract-lookup"));
        assert_eq!(shell.borrow().step(), Step::Lookup);
        if lang == "en" {
            click(&ui, &texts.t("vi", "btn-help"));
            click(&ui, "English");
            click(&ui, &t("help-close"));
        }
        click(&ui, &t("lookup-type"));
        assert!(k.get_lookup_typing());
        assert!(
            ElementHandle::find_by_accessible_label(&ui, &t("key-tone-sac"))
                .next()
                .is_none(),
            "no tone keys for codes"
        );
        tap(&ui, &texts, lang, "000.00.01.H29-260105-0001");
        click(&ui, &t("btn-next"));
        assert_eq!(k.get_lookup_focus(), "lookup");
        // "ASS" stays as tapped: codes are never Telex.
        tap(&ui, &texts, lang, "ASS");
        assert_eq!(k.get_lookup_typed_code(), "ASS");
        assert_eq!(k.get_lookup_typed_dossier(), "000.00.01.H29-260105-0001");
        check_snapshot(&ui, &format!("lookup-type-{lang}-portrait")).unwrap();
        click(&ui, &t("lookup-check"));
        assert_eq!(k.get_notice(), "notice-lookup-typed-code-invalid");
        assert!(shows(&ui, &t("notice-lookup-typed-code-invalid")));
        click(&ui, &t("btn-finish"));
        assert_eq!(shell.borrow().step(), Step::Attract);
        assert_eq!(k.get_lookup_typed_code(), "");
        assert!(!k.get_lookup_typing());
        shell.borrow_mut().shutdown();
    }
}
