//! The status lookup from the attract screen (issue 14, journey 4), through the real shell,
//! session and identify worker (QR-only arming, the demo's simulated QR scanner) against a
//! real kiosk-gateway on 127.0.0.1: a receipt's QR code shows the dossier as received; a code
//! that is not a receipt says so and keeps scanning; with the gateway stopped the citizen is
//! told to try later or ask at the counter. Finish returns to the attract screen with nothing
//! kept. In vi and en, with snapshots.
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
use kiosk_app::gateway::lookup::LookupEndpoint;
use kiosk_app::gateway::{GatewayClient, SubmissionKind, SubmissionRequest};
use kiosk_app::i18n::Catalog as Texts;
use kiosk_app::identity::CscaTrust;
use kiosk_app::session::{Dossier, FaceOutcome, Millis, ReceiptInfo, Step, SubmitFailure};
use kiosk_app::shell::{Parts, Shell, Submitter};
use kiosk_gateway::Gateway;
use kiosk_hw::SimHardware;
use kiosk_ui::{AppWindow, Kiosk};
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
    assert_eq!(found.len(), 1, "one button labelled {label:?}");
    found[0].mock_single_click(PointerEventButton::Left);
}

fn shows(ui: &AppWindow, text: &str) -> bool {
    ElementHandle::find_by_accessible_label(ui, text)
        .next()
        .is_some()
}

#[test]
fn a_receipt_qr_shows_where_the_dossier_stands_and_offline_says_so() {
    init_backend();
    let texts = Rc::new(Texts::embedded().unwrap());
    let mut gw = Some(Gateway::start().expect("gateway"));
    let url = gw.as_ref().map(Gateway::url).unwrap();
    let timeout = Duration::from_secs(5);
    let receipt = GatewayClient::new(&url, timeout)
        .expect("client")
        .submit(&SubmissionRequest::synthetic(
            "0190f0a0-0000-7000-8000-0000000000c1",
            SubmissionKind::Tthc,
        ))
        .expect("accepted");
    let receipt_qr = format!(
        "VNKIOSK1|R|{}|{}",
        receipt.dossier_code, receipt.lookup_code
    );
    let cfg_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/demo.toml");
    let desk = config::load(&cfg_path)
        .unwrap()
        .help
        .staff_desk
        .expect("the demo names its counter");

    for (lang, gateway_up) in [("vi", true), ("en", true), ("vi", false), ("en", false)] {
        let ui = AppWindow::new().unwrap();
        ui.window().set_size(slint::PhysicalSize::new(1080, 1920));
        let cfg = config::load(&cfg_path).unwrap();
        let sim = SimHardware::demo_in(std::env::temp_dir().join("kiosk-ui-lookup"));
        let qr = sim.qr.clone();
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
                units: Arc::new(kiosk_app::admin_units::AdminUnits::sample()),
            },
        );
        shell.borrow_mut().set_lookup_endpoint(LookupEndpoint {
            base_url: url.clone(),
            tls: None,
            timeout,
        });
        ui.show().unwrap();
        let t = |key: &str| texts.t(lang, key);
        let k = ui.global::<Kiosk>();
        let state = if gateway_up { "received" } else { "offline" };

        // From the attract screen (in Vietnamese, the kiosk's default language).
        click(&ui, &texts.t("vi", "attract-lookup"));
        assert_eq!(shell.borrow().step(), Step::Lookup);
        assert_eq!(k.get_page(), "lookup");
        if lang == "en" {
            click(&ui, &texts.t("vi", "btn-help"));
            click(&ui, "English");
            click(&ui, &t("help-close"));
        }
        assert!(shows(&ui, &t("lookup-scan")), "the prompt");
        if gateway_up {
            check_snapshot(&ui, &format!("lookup-scan-{lang}-portrait")).unwrap();
            // The card's own QR is not a receipt: said, and the scanner keeps going.
            qr.present(kiosk_hw::sim::DEMO_QR);
            let deadline = Instant::now() + Duration::from_secs(10);
            while k.get_notice() != "notice-lookup-bad-qr" {
                assert!(Instant::now() < deadline, "the card's QR was not refused");
                shell.borrow_mut().pump_blocking(Duration::from_millis(50));
            }
            assert!(shows(&ui, &t("notice-lookup-bad-qr")));
            assert_eq!(k.get_lookup_phase(), "scan");
        } else {
            if let Some(g) = gw.take() {
                g.stop();
            }
        }

        qr.present(&receipt_qr);
        let deadline = Instant::now() + Duration::from_secs(20);
        while k.get_lookup_phase() != "result" {
            assert!(Instant::now() < deadline, "no answer from the lookup");
            shell.borrow_mut().pump_blocking(Duration::from_millis(50));
        }
        assert_eq!(k.get_lookup_dossier(), receipt.dossier_code.as_str());
        if gateway_up {
            assert!(
                shows(&ui, &t("lookup-state-received")),
                "received, in words"
            );
            assert!(shows(&ui, &receipt.dossier_code));
            assert!(!k.get_lookup_procedure().is_empty());
            assert!(!k.get_lookup_appointment().is_empty());
        } else {
            let offline = texts.ta(lang, "lookup-offline-desk", &desk);
            assert!(offline.contains(desk.as_str()));
            assert!(shows(&ui, &offline), "the offline sentence: {offline}");
            assert!(k.get_lookup_procedure().is_empty());
        }
        if gateway_up {
            // The code and times change with the day and the hour: pinned for the snapshot.
            k.set_lookup_dossier("000.00.01.H29-260105-0001".into());
            k.set_lookup_received("05/01/2026 09:00".into());
            k.set_lookup_appointment("08/01/2026 09:00".into());
        }
        check_snapshot(&ui, &format!("lookup-{state}-{lang}-portrait")).unwrap();

        // Finish: back to the attract screen, nothing kept.
        click(&ui, &t("btn-finish"));
        assert_eq!(shell.borrow().step(), Step::Attract);
        assert_eq!(k.get_page(), "attract");
        assert_eq!(k.get_lookup_dossier(), "");
        assert_eq!(k.get_lookup_state(), "");
        assert!(!shell.borrow().holds_personal_data());
        shell.borrow_mut().shutdown();
    }
}
