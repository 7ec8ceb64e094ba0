//! Help from a dead end (issue 14, journey 5), through the real shell, session, identify
//! worker and the demo's virtual CCCD: a citizen types a wrong ID number with the card on the
//! reader, the chip refuses it, they press Help and "Call staff". The call shows on screen and
//! is spoken; closing the panel leaves the call visible; the typed digits stay. Then the
//! language changes from the help panel mid-session and the session goes on. In vi and en,
//! with snapshots.
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
use kiosk_hw::audio::{AudioWorker, Chime, Heard, SimSpeaker};
use kiosk_hw::SimHardware;
use kiosk_ui::{AppWindow, Assist, Kiosk};
use kiosk_vcard::chip::VirtualCccd;
use slint::platform::PointerEventButton;
use slint::ComponentHandle;
use ui_common::{check_snapshot, init_backend};

struct NoGateway;

impl Submitter for NoGateway {
    fn submit(&self, _: &Dossier) -> Result<ReceiptInfo, SubmitFailure> {
        Err(SubmitFailure::Storage)
    }
}

fn click(ui: &AppWindow, label: &str) {
    let found: Vec<ElementHandle> = ElementHandle::find_by_accessible_label(ui, label)
        .filter(|e| e.accessible_role() == Some(AccessibleRole::Button))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one button labelled {label:?}, found {}",
        found.len()
    );
    found[0].mock_single_click(PointerEventButton::Left);
}

fn shows(ui: &AppWindow, text: &str) -> bool {
    ElementHandle::find_by_accessible_label(ui, text)
        .next()
        .is_some()
}

#[test]
fn help_and_a_staff_call_from_a_dead_end_in_vi_and_en() {
    init_backend();
    let texts = Rc::new(Texts::embedded().unwrap());
    for lang in ["vi", "en"] {
        let ui = AppWindow::new().unwrap();
        ui.window().set_size(slint::PhysicalSize::new(1080, 1920));
        let cfg = config::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/demo.toml"))
            .unwrap();
        let sim = SimHardware::demo_in(std::env::temp_dir().join("kiosk-ui-help"));
        let card = sim.card.clone();
        let devices = Devices::start(Hardware {
            card_reader: Box::new(sim.card_reader),
            card_trust: CscaTrust::new(Vec::new(), false),
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
                units: std::sync::Arc::new(kiosk_app::admin_units::AdminUnits::sample()),
            },
        );
        let speaker = SimSpeaker::new();
        let heard = speaker.log();
        shell
            .borrow_mut()
            .set_audio(AudioWorker::spawn(Box::new(speaker), false).unwrap());
        ui.show().unwrap();
        let t = |key: &str| texts.t(lang, key);
        let k = ui.global::<Kiosk>();
        let a = ui.global::<Assist>();

        // Start, pick the language, put the card down first, type a wrong last digit.
        click(&ui, &texts.t("vi", "attract-touch"));
        click(
            &ui,
            if lang == "vi" {
                "Tiếng Việt"
            } else {
                "English"
            },
        );
        assert_eq!(shell.borrow().step(), Step::Identify);
        let (chip, _trust) = VirtualCccd::demo().unwrap();
        card.insert(Box::new(chip));
        for d in "00109012345".chars().chain(['9']) {
            click(&ui, &d.to_string());
        }
        click(&ui, &t("keypad-ok"));
        let deadline = Instant::now() + Duration::from_secs(30);
        while k.get_identify_status() != "notice-wrong-id" {
            assert!(
                Instant::now() < deadline,
                "the chip did not refuse the number"
            );
            shell.borrow_mut().pump_blocking(Duration::from_millis(50));
        }

        // The dead end offers help: the panel with the hotline, then the call.
        click(&ui, &t("btn-help"));
        assert!(a.get_help_open());
        assert!(shows(&ui, &texts.ta(lang, "help-hotline", "1900 1234")));
        click(&ui, &t("help-call-staff"));
        assert!(a.get_staff_called());
        assert!(shows(&ui, &t("help-staff-called")), "the call is visible");
        check_snapshot(&ui, &format!("help-staff-called-{lang}-portrait")).unwrap();
        click(&ui, &t("help-close"));
        assert!(!a.get_help_open());
        assert!(
            a.get_staff_called(),
            "the call stays after the panel closes"
        );
        assert!(shows(&ui, &t("help-staff-called")));
        assert!(
            shows(&ui, &t("help-cancel-call")),
            "the call can be withdrawn"
        );
        check_snapshot(&ui, &format!("identify-staff-called-{lang}-portrait")).unwrap();
        // Nothing was lost: the typed number is still there, the step too.
        assert_eq!(k.get_id_entry_count(), 12);
        assert_eq!(shell.borrow().step(), Step::Identify);

        // The call is audible: a chime, then the sentence, in the session's language.
        let deadline = Instant::now() + Duration::from_secs(10);
        let want = Heard::Speech {
            text: t("say-staff-called"),
            lang: lang.to_owned(),
        };
        while !heard.heard().contains(&want) {
            assert!(Instant::now() < deadline, "the staff call was not spoken");
            std::thread::sleep(Duration::from_millis(20));
        }
        let h = heard.heard();
        let chime = h.iter().position(|x| *x == Heard::Chime(Chime::StaffCall));
        let said = h.iter().position(|x| *x == want);
        assert!(
            chime.is_some() && chime < said,
            "chime before the words: {h:?}"
        );

        // The language changes from the help panel mid-step: the session and digits stay.
        let other = if lang == "vi" { "en" } else { "vi" };
        click(&ui, &t("btn-help"));
        click(
            &ui,
            if other == "vi" {
                "Tiếng Việt"
            } else {
                "English"
            },
        );
        assert_eq!(k.get_language(), other);
        assert_eq!(shell.borrow().step(), Step::Identify);
        assert_eq!(k.get_id_entry_count(), 12);
        click(&ui, &texts.t(other, "help-close"));

        // Cancel ends the session, the call and the voice with it.
        click(&ui, &texts.t(other, "btn-cancel"));
        assert_eq!(shell.borrow().step(), Step::Attract);
        assert!(!a.get_staff_called());
        assert!(!shell.borrow().holds_personal_data());
        card.remove();
        shell.borrow_mut().shutdown();
    }
}
