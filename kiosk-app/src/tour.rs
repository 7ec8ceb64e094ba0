//! The headless tour: `kiosk --tour DIR` drives a whole demo session through the same shell,
//! adapters and simulators as the windowed kiosk, and writes a PNG of every screen, in every
//! configured language, portrait and landscape.
//!
//! Buttons are pressed by invoking the adapter callbacks the `.slint` buttons invoke (the
//! identify keypad too), and the demo's virtual CCCD is tapped through the simulated reader,
//! so the tour exercises the real wiring: ID number -> tap -> PACE-CAN -> passive
//! authentication -> consent. The session's
//! clock is the tour's mock clock; device workers run in real time and the tour waits for them.

use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use kiosk_ui::{AppWindow, Assist, Dossier, Keys, Kiosk};
use slint::{ComponentHandle as _, Model as _};

use crate::app::{exit, Assembled};
use crate::availability::{DeviceHealth, DeviceKind};
use crate::config::KioskConfig;
use crate::headless::Headless;
use crate::session::{Event, Millis, PrinterFault, Step};
use crate::vnkey;

/// The demo citizen's ID number (the virtual CCCD's; CAN 123456).
const DEMO_ID: &str = "001090123456";

/// The street line the tour types (as `12 Lee Lowij` in Telex).
const STREET: &str = "12 Lê Lợi";

/// Portrait first: the kiosk's usual mounting.
const ORIENTATIONS: [(&str, u32, u32); 2] = [("portrait", 1080, 1920), ("landscape", 1920, 1080)];

/// Runs the tour; returns the exit code.
///
/// # Errors
/// A step did not arrive in time, or a PNG could not be written.
pub fn run(cfg: KioskConfig, dir: &Path) -> anyhow::Result<u8> {
    let started = Instant::now();
    let headless = Rc::new(Headless::install(1080, 1920)?);
    let ui = AppWindow::new().context("cannot create the window")?;
    let clock_src = headless.clone();
    let clock: crate::shell::Clock =
        Rc::new(move || Millis(u64::try_from(clock_src.now().as_millis()).unwrap_or(u64::MAX)));
    let languages = cfg.ui.languages.clone();
    // Clinic registrations sent to a hospital's FHIR server get no queue number (the HIS
    // calls the patient); the gateway gives one.
    let queue_numbers = cfg.gateway.fhir_url.is_none();
    let kiosk = Assembled::build(cfg, &ui, clock)?;
    let sim = kiosk
        .sim
        .clone()
        .context("the tour needs simulated devices (demo config)")?;
    ui.show().context("cannot show the window")?;
    let mut tour = Tour {
        ui: &ui,
        kiosk: &kiosk,
        headless: &headless,
        written: Vec::new(),
        layout: Vec::new(),
        queue_numbers,
    };
    for (orientation, w, h) in ORIENTATIONS {
        headless.resize(w, h);
        for lang in &languages {
            let out = dir.join(orientation).join(lang);
            tour.walk(&out, lang, &sim)?;
        }
    }
    // The technician screen (technician mode, before provisioning), in vi and en.
    let technician = crate::technician::tour(&ui, &headless, dir, &ORIENTATIONS)?;
    tour.written.extend(technician);
    kiosk.shell.borrow_mut().shutdown();
    let holds = kiosk.shell.borrow().holds_personal_data();
    if holds {
        bail!("personal data survived the tour's last wipe");
    }
    println!(
        "tour: {} screens written to {} in {:.1} s",
        tour.written.len(),
        dir.display(),
        started.elapsed().as_secs_f64()
    );
    // The layout check of every screen: nothing cut off, covered or overlapping.
    let report = dir.join("layout-check.txt");
    let mut text = tour.layout.join("\n");
    text.push('\n');
    std::fs::write(&report, text.trim_start())
        .with_context(|| format!("cannot write {}", report.display()))?;
    if !tour.layout.is_empty() {
        bail!(
            "tour: the layout check found {} defects (all in {}):\n{}",
            tour.layout.len(),
            report.display(),
            tour.layout.join("\n")
        );
    }
    Ok(exit::OK)
}

struct Tour<'a> {
    ui: &'a AppWindow,
    kiosk: &'a Assembled,
    headless: &'a Headless,
    written: Vec<PathBuf>,
    /// The layout check's findings, one line each: screen, element, text, sizes.
    layout: Vec<String>,
    /// Whether a hospital receipt must show a queue number (not from a FHIR server).
    queue_numbers: bool,
}

impl Tour<'_> {
    fn k(&self) -> Kiosk<'_> {
        self.ui.global::<Kiosk>()
    }

    fn step(&self) -> Step {
        self.kiosk.shell.borrow().step()
    }

    fn shot(&mut self, dir: &Path, n: usize, name: &str) -> anyhow::Result<()> {
        // Let animations and timers settle at a deterministic time.
        self.headless.advance(Duration::from_millis(400));
        self.kiosk.shell.borrow_mut().pump();
        let path = dir.join(format!("{n:02}-{name}.png"));
        self.headless.screenshot(&path)?;
        tracing::debug!(path = %path.display(), "tour screenshot");
        let screen = path
            .strip_prefix(dir.ancestors().nth(2).unwrap_or(dir))
            .unwrap_or(&path)
            .display()
            .to_string();
        for f in crate::layout_check::check(self.ui.window()) {
            self.layout.push(format!("{screen}: {f}"));
        }
        self.written.push(path);
        Ok(())
    }

    /// Pumps device events (real time) until the session is at `want`.
    fn wait_for(&self, want: Step, what: &str) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.step() != want {
            if Instant::now() > deadline {
                bail!(
                    "tour: {what}: still at {:?} after 20 s, expected {want:?}",
                    self.step()
                );
            }
            self.kiosk
                .shell
                .borrow_mut()
                .pump_blocking(Duration::from_millis(100));
        }
        Ok(())
    }

    /// Presses keypad digits, as the `.slint` keys do.
    fn type_digits(&self, digits: &str) {
        for d in digits.bytes().filter(u8::is_ascii_digit) {
            self.k().invoke_keypad_digit(i32::from(d - b'0'));
        }
    }

    /// Taps the on-screen keyboard's keys for `text`, as its `.slint` keys do (one character
    /// per key; Rust composes Telex).
    fn type_keys(&self, text: &str) {
        let keys = self.ui.global::<Keys>();
        for c in text.chars() {
            keys.invoke_key(c.to_string().into());
        }
    }

    /// Fails when the adapter still holds a personal value (the values are not printed).
    fn d(&self) -> Dossier<'_> {
        self.ui.global::<Dossier>()
    }

    /// The texts of the review page's rows, label: value (source), one per line.
    fn review_text(&self) -> String {
        let d = self.d();
        d.get_chip_rows()
            .iter()
            .chain(d.get_rows().iter())
            .map(|r| format!("{}: {} ({})\n", r.label, r.value, r.source))
            .collect()
    }

    /// Journey 2: the procedure list filtered by field, then the dossier form page by page
    /// (an invalid phone number first), the review page and a "Change".
    fn office_form(
        &mut self,
        dir: &Path,
        next: &mut impl FnMut() -> usize,
        first: &str,
    ) -> anyhow::Result<()> {
        // Filter by another field than the first procedure's: it must disappear. A catalogue
        // with one field only (a gateway's) has nothing to filter.
        let fields = self.d().get_fields();
        let mut filtered = false;
        for field in fields.iter().filter(|f| !f.code.is_empty()) {
            self.d().invoke_filter(field.code.clone());
            if !self.d().get_services().iter().any(|s| s.id == first) {
                if self.d().get_services().row_count() == 0 {
                    bail!("tour: the field filter {} left no procedure", field.code);
                }
                self.shot(dir, next(), "services-filtered")?;
                filtered = true;
                break;
            }
        }
        if !filtered && fields.iter().filter(|f| !f.code.is_empty()).count() > 1 {
            bail!("tour: no field filter hid the first procedure");
        }
        self.d().invoke_filter("".into());
        // Search by a word typed without tone marks, taken from the catalogue shown (a
        // gateway's catalogue is not the demo's): the rarest word of the titles that Telex
        // leaves as typed. It must find its procedure and, when it is in one title only, narrow
        // the list.
        let cards: Vec<(String, String)> = self
            .d()
            .get_services()
            .iter()
            .map(|s| {
                (
                    vnkey::fold(&s.title).to_lowercase(),
                    vnkey::fold(&s.summary).to_lowercase(),
                )
            })
            .collect();
        let all = cards.len();
        if let Some((query, in_titles)) = search_word(&cards) {
            self.d().set_search_open(true);
            self.type_keys(&query);
            let found = self.d().get_services().row_count();
            let in_texts = cards
                .iter()
                .filter(|(t, d)| t.contains(&query) || d.contains(&query))
                .count();
            if found == 0 || (in_titles == 1 && in_texts == 1 && all > 1 && found >= all) {
                bail!("tour: the search {query:?} found {found} of {all} procedures");
            }
            self.shot(dir, next(), "services-search")?;
            for _ in 0..query.chars().count() {
                self.ui.global::<Keys>().invoke_erase();
            }
        }
        self.d().set_search_open(false);
        self.k().invoke_choose_service(first.into());
        self.wait_for(Step::Confirm, "choosing a service")?;
        self.shot(dir, next(), "form-phone")?;
        for d in "0212345678".bytes() {
            self.d().invoke_phone_digit(i32::from(d - b'0'));
        }
        self.d().invoke_next();
        if self.d().get_message() != "notice-phone-invalid" || self.d().get_form_page() != "phone" {
            bail!("tour: a landline number was not refused");
        }
        self.shot(dir, next(), "form-phone-invalid")?;
        for _ in 0..10 {
            self.d().invoke_phone_erase();
        }
        for d in "0912345678".bytes() {
            self.d().invoke_phone_digit(i32::from(d - b'0'));
        }
        self.d().invoke_next();
        if self.d().get_form_page() != "province" {
            bail!("tour: a valid mobile number was not taken");
        }
        self.shot(dir, next(), "form-province")?;
        let province = self
            .d()
            .get_provinces()
            .row_data(0)
            .context("tour: no provinces")?;
        self.d().invoke_choose_province(province.code);
        self.shot(dir, next(), "form-ward")?;
        let ward = self.d().get_wards().row_data(0).context("tour: no wards")?;
        self.d().invoke_choose_ward(ward.code);
        // The house number and street on the Vietnamese keyboard, in Telex.
        if self.d().get_form_page() != "street" {
            bail!("tour: the ward did not lead to the street line");
        }
        self.type_keys("12 Lee Lowij");
        if self.d().get_street() != STREET {
            bail!("tour: Telex did not compose the street line");
        }
        self.shot(dir, next(), "form-street")?;
        self.ui.global::<Keys>().invoke_done();
        self.shot(dir, next(), "form-delivery")?;
        self.d().invoke_choose_delivery("post".into());
        if self.d().get_form_page() != "review" {
            bail!("tour: the form did not end on the review page");
        }
        let text = self.review_text();
        let chip = self
            .kiosk
            .shell
            .borrow()
            .texts()
            .t(&self.k().get_language(), "review-source-chip");
        for want in [
            "091 234 5678",
            STREET,
            ward.title.as_str(),
            province.title.as_str(),
            chip.as_str(),
        ] {
            if !text.contains(want) {
                bail!("tour: the review page lacks {want:?}");
            }
        }
        if self.d().get_chip_rows().row_count() < 5 {
            bail!("tour: the review page lacks the chip's fields");
        }
        self.shot(dir, next(), "form-review")?;
        // "Change" on the delivery row: its page, then straight back to the review.
        self.d().invoke_change("delivery".into());
        self.d().invoke_choose_delivery("counter".into());
        if self.d().get_form_page() != "review" {
            bail!("tour: a change did not return to the review page");
        }
        Ok(())
    }

    /// Journey 3: a department, the optional reason, the registration summary.
    fn hospital_form(
        &mut self,
        dir: &Path,
        next: &mut impl FnMut() -> usize,
        first: &str,
    ) -> anyhow::Result<()> {
        self.k().invoke_choose_service(first.into());
        self.wait_for(Step::Confirm, "choosing a department")?;
        self.shot(dir, next(), "hospital-reason")?;
        self.d().invoke_choose_reason("fever".into());
        self.shot(dir, next(), "hospital-reason-chosen")?;
        self.d().invoke_next();
        if self.d().get_form_page() != "review" {
            bail!("tour: the hospital form did not end on the summary");
        }
        let lang = self.k().get_language();
        let text = self.review_text();
        for key in ["reason-fever", "review-insurance-value"] {
            let want = self.kiosk.shell.borrow().texts().t(&lang, key);
            if !text.contains(&want) {
                bail!("tour: the registration summary lacks {want:?}");
            }
        }
        self.shot(dir, next(), "hospital-review")?;
        Ok(())
    }

    fn no_personal_values(&self, when: &str) -> anyhow::Result<()> {
        let d = self.d();
        let form_left = [
            d.get_phone(),
            d.get_province(),
            d.get_province_name(),
            d.get_ward(),
            d.get_street(),
        ];
        if form_left.iter().any(|v| !v.is_empty())
            || d.get_chip_rows().row_count() != 0
            || d.get_rows().row_count() != 0
            || d.get_phone_count() != 0
        {
            bail!("tour: {when}: a personal value is left in the Dossier adapter");
        }
        let k = self.k();
        let left = [
            k.get_id_entry(),
            k.get_identify_status_arg(),
            k.get_citizen_name(),
            k.get_citizen_id_masked(),
            k.get_citizen_dob(),
        ];
        if left.iter().any(|v| !v.is_empty()) || k.get_id_entry_count() != 0 {
            bail!("tour: {when}: a personal value is left in the Kiosk adapter");
        }
        Ok(())
    }

    /// Pumps device events until the identify step shows `status` (a banner key).
    fn wait_for_status(&self, status: &str, what: &str) -> anyhow::Result<()> {
        self.wait_until(what, || self.k().get_identify_status() == status)
    }

    /// Pumps device events until the identify step is in `phase` (`id`, `card`, `reading`).
    fn wait_for_phase(&self, phase: &str, what: &str) -> anyhow::Result<()> {
        self.wait_until(what, || {
            self.step() == Step::Identify && self.k().get_identify_phase() == phase
        })
    }

    /// A citizen touches the attract screen once the kiosk serves (a device that was down,
    /// such as a printer out of paper after the previous receipt, may be back by then).
    fn start_when_in_service(&self) -> anyhow::Result<()> {
        self.wait_until("the kiosk back in service", || {
            self.kiosk.shell.borrow().in_service()
        })?;
        self.k().invoke_start();
        Ok(())
    }

    fn wait_until(&self, what: &str, done: impl Fn() -> bool) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !done() {
            if Instant::now() > deadline {
                bail!(
                    "tour: {what}: not there after 20 s (step {:?}, status {:?}, notice {:?})",
                    self.step(),
                    self.k().get_identify_status(),
                    self.k().get_notice()
                );
            }
            self.kiosk
                .shell
                .borrow_mut()
                .pump_blocking(Duration::from_millis(100));
        }
        Ok(())
    }

    fn walk(
        &mut self,
        dir: &Path,
        lang: &str,
        sim: &crate::app::SimControls,
    ) -> anyhow::Result<()> {
        let mut n = 0;
        let mut next = || {
            n += 1;
            n
        };
        if self.step() != Step::Attract {
            bail!(
                "tour must start at the attract screen, found {:?}",
                self.step()
            );
        }
        self.shot(dir, next(), "attract")?;
        self.start_when_in_service()?;
        self.shot(dir, next(), "language")?;
        self.k().invoke_choose_language(lang.into());
        if self.step() != Step::Identify {
            bail!("language {lang} was not accepted");
        }
        self.shot(dir, next(), "identify")?;
        // The inactivity countdown, as a citizen who walked away sees it when it appears
        // (20 s before the wipe: WCAG 2.2.1).
        let warn_at = self.k().get_seconds_left();
        self.headless.advance(Duration::from_secs(
            u64::try_from(warn_at).unwrap_or(0).saturating_sub(20),
        ));
        self.kiosk.shell.borrow_mut().pump();
        self.shot(dir, next(), "identify-still-there")?;
        self.k().invoke_activity();
        // The card put down before the number: the kiosk asks for the number first.
        self.k().invoke_demo_tap_card();
        self.wait_for_status("notice-id-needed-first", "the card before the number")?;
        self.shot(dir, next(), "identify-id-first")?;
        // Half the number typed on the keypad, then a wrong last digit: the chip refuses it.
        self.type_digits(&DEMO_ID[..7]);
        // Typing cleared the banner, but the keypad still says the card may stay.
        self.wait_for_status(
            "notice-id-needed-first",
            "the card on the reader while typing",
        )?;
        self.shot(dir, next(), "identify-keypad")?;
        self.type_digits(&DEMO_ID[7..11]);
        self.type_digits("9");
        self.k().invoke_keypad_submit();
        self.wait_for_status("notice-wrong-id", "a wrong ID number")?;
        // The number tried stays on the keypad, and the message names it masked.
        if self.k().get_id_entry_count() != 12 {
            bail!("tour: the refused number did not stay on the keypad");
        }
        let named = self.k().get_identify_status_arg();
        if named.contains(&DEMO_ID[4..9]) || !named.contains('•') {
            bail!("tour: the refused number is not named masked");
        }
        self.shot(dir, next(), "identify-wrong-id")?;
        // The number tried stays on the keypad: the last digit corrected, the card still on
        // the reader is read with PACE-CAN and verified.
        self.k().invoke_keypad_erase();
        self.type_digits(&DEMO_ID[11..]);
        self.k().invoke_keypad_submit();
        self.wait_for(Step::Consent, "reading the demo card")?;
        self.shot(dir, next(), "consent")?;
        self.k().invoke_accept_consent();
        self.wait_for(Step::VerifyFace, "consent")?;
        // Wait for a preview frame so the face screen shows the camera.
        let deadline = Instant::now() + Duration::from_secs(5);
        while (self.k().get_face_progress() < 0.3 || self.k().get_face_preview().size().width == 0)
            && Instant::now() < deadline
        {
            self.kiosk
                .shell
                .borrow_mut()
                .pump_blocking(Duration::from_millis(50));
        }
        self.shot(dir, next(), "face")?;
        self.wait_for(Step::ChooseService, "face check")?;
        self.shot(dir, next(), "services")?;
        let first = self
            .k()
            .get_services()
            .row_data(0)
            .context("no services listed")?;
        if self.k().get_mode() == "hospital" {
            self.hospital_form(dir, &mut next, first.id.as_str())?;
        } else {
            self.office_form(dir, &mut next, first.id.as_str())?;
        }
        self.k().invoke_confirm();
        self.shot(dir, next(), "submitting")?;
        self.wait_for(Step::Receipt, "submitting to the demo gateway")?;
        if self.queue_numbers
            && self.k().get_mode() == "hospital"
            && self.k().get_receipt_queue_number().is_empty()
        {
            bail!("tour: the hospital receipt shows no queue number");
        }
        self.shot(dir, next(), "receipt")?;
        // The receipt's QR code, for the status lookup at the end of the walk: only a receipt
        // the gateway gave a lookup code has one (not an offline receipt, not a FHIR server's).
        let receipt_qr = (!self.k().get_receipt_lookup().is_empty()
            && !self.k().get_receipt_offline())
        .then(|| {
            format!(
                "VNKIOSK1|R|{}|{}",
                self.k().get_receipt_code(),
                self.k().get_receipt_lookup()
            )
        });
        // The printer fails on this receipt, as the printer worker reports a roll running out
        // mid-receipt: the receipt stays on screen and the citizen is sent to staff (the
        // dossier is already in the outbox).
        self.kiosk
            .shell
            .borrow_mut()
            .dispatch(Event::PrinterFailed(PrinterFault::PaperOutMidJob));
        self.shot(dir, next(), "receipt-printer-failed")?;
        sim.card.remove();
        self.k().invoke_finish();
        self.wait_for(Step::Attract, "finishing")?;
        self.no_personal_values("after the receipt")?;

        // A second citizen shows the card's QR code (it gives the number), is asked for the
        // card, taps it, then pulls it away before the face check: the wipe notice.
        self.start_when_in_service()?;
        self.k().invoke_choose_language(lang.into());
        self.k().invoke_demo_show_qr();
        self.wait_for_phase("card", "the number from the QR code")?;
        // Handed to the reader, the number is shown masked.
        if self.k().get_id_entry().contains(&DEMO_ID[4..9]) {
            bail!("tour: the place-card screen shows the whole ID number");
        }
        self.shot(dir, next(), "identify-place-card")?;
        sim.chip.tap(&sim.card);
        self.wait_for(Step::Consent, "reading the demo card again")?;
        sim.card.remove();
        self.wait_for(Step::Notice, "card removal")?;
        self.shot(dir, next(), "notice-card-removed")?;
        self.k().invoke_finish();
        // The notice returns to attract by itself; `finish` only hurries it.
        let notice_ms = 60_000;
        self.headless.advance(Duration::from_millis(notice_ms));
        self.kiosk.shell.borrow_mut().pump();
        self.wait_for(Step::Attract, "notice timeout")?;
        self.no_personal_values("after the card was removed")?;

        // A third citizen types the number, taps the card, then declines the face check.
        self.start_when_in_service()?;
        self.k().invoke_choose_language(lang.into());
        self.type_digits(DEMO_ID);
        self.k().invoke_keypad_submit();
        sim.chip.tap(&sim.card);
        self.wait_for(Step::Consent, "reading the demo card a third time")?;
        self.k().invoke_decline_consent();
        self.wait_for(Step::Notice, "declining consent")?;
        // Taking the card back after the session ended is harmless.
        sim.card.remove();
        self.shot(dir, next(), "notice-consent-declined")?;
        self.headless.advance(Duration::from_millis(notice_ms));
        self.kiosk.shell.borrow_mut().pump();
        self.wait_for(Step::Attract, "notice timeout")?;
        if self.kiosk.shell.borrow().holds_personal_data() {
            bail!("personal data survived the wipe");
        }
        self.no_personal_values("after consent was declined")?;

        // What staff see, as the workers report it: paper nearly used up (a line at the foot
        // of the attract screen; the kiosk serves), then the card reader gone: out of service
        // in every language, a touch starts nothing; back when the devices are.
        let health = |d, h| self.kiosk.shell.borrow_mut().device_health(d, h);
        health(DeviceKind::Printer, DeviceHealth::Warning("paper-near-end"));
        self.shot(dir, next(), "attract-staff-notice")?;
        health(DeviceKind::CardReader, DeviceHealth::Down("absent"));
        self.shot(dir, next(), "out-of-service")?;
        self.k().invoke_start();
        if self.step() != Step::Attract || self.k().get_page() != "out-of-service" {
            bail!("a session started while the kiosk was out of service");
        }
        health(DeviceKind::CardReader, DeviceHealth::Ready);
        health(DeviceKind::Printer, DeviceHealth::Ready);
        if self.k().get_page() != "attract" {
            bail!("the kiosk did not return to service with its devices");
        }
        self.help_walk(dir, lang, sim, &mut next)?;
        self.lookup_walk(dir, lang, sim, receipt_qr.as_deref(), &mut next)?;
        Ok(())
    }

    /// Issue 14, journey 4: the status lookup from the attract screen with the first receipt's
    /// QR code (the demo gateway answers "received"), after a code that is not a receipt; a
    /// walk whose receipt had no QR stops after the refused code.
    fn lookup_walk(
        &mut self,
        dir: &Path,
        lang: &str,
        sim: &crate::app::SimControls,
        receipt_qr: Option<&str>,
        next: &mut impl FnMut() -> usize,
    ) -> anyhow::Result<()> {
        self.k().invoke_open_lookup();
        if self.step() != Step::Lookup {
            bail!("tour: \"check a dossier\" did not open the lookup");
        }
        // The attract screen is in the default language; the help panel's switch does this.
        self.kiosk
            .shell
            .borrow_mut()
            .dispatch(Event::LanguageChosen(lang.to_owned()));
        self.shot(dir, next(), "lookup-scan")?;
        sim.qr.present(kiosk_hw::sim::DEMO_QR);
        self.wait_for_status_key("notice-lookup-bad-qr", "the card's QR at the lookup")?;
        self.shot(dir, next(), "lookup-bad-qr")?;
        let Some(receipt_qr) = receipt_qr else {
            self.k().invoke_finish();
            return self.wait_for(Step::Attract, "leaving the lookup");
        };
        // The codes typed from the paper first (lower case: the keyboard sends capitals, the
        // session upper-cases anyway), then "check another" and the QR code.
        let mut parts = receipt_qr.split('|').skip(2);
        let (dossier_code, lookup_code) = (
            parts.next().unwrap_or_default().to_owned(),
            parts.next().unwrap_or_default().to_owned(),
        );
        self.k().invoke_lookup_type();
        self.type_keys(&dossier_code);
        self.ui.global::<Keys>().invoke_done();
        self.type_keys(&lookup_code.to_lowercase());
        if self.k().get_lookup_typed_code() != lookup_code.as_str()
            || self.k().get_lookup_focus() != "lookup"
        {
            bail!("tour: the typed lookup code was not taken");
        }
        self.shot(dir, next(), "lookup-type")?;
        self.ui.global::<Keys>().invoke_done();
        self.wait_until("the typed lookup's answer", || {
            self.kiosk
                .shell
                .borrow_mut()
                .pump_blocking(Duration::from_millis(50));
            self.k().get_lookup_phase() == "result"
        })?;
        if self.k().get_lookup_tone() != "ok"
            || self.k().get_lookup_dossier() != dossier_code.as_str()
        {
            bail!("tour: the typed codes did not find the first receipt's dossier");
        }
        self.k().invoke_lookup_again();
        sim.qr.present(receipt_qr);
        self.wait_until("the lookup's answer", || {
            self.kiosk
                .shell
                .borrow_mut()
                .pump_blocking(Duration::from_millis(50));
            self.k().get_lookup_phase() == "result"
        })?;
        if self.k().get_lookup_tone() != "ok" || self.k().get_lookup_procedure().is_empty() {
            bail!("tour: the lookup did not find the first receipt's dossier");
        }
        self.shot(dir, next(), "lookup-result")?;
        self.k().invoke_finish();
        self.wait_for(Step::Attract, "finishing the lookup")?;
        if !self.k().get_lookup_dossier().is_empty() {
            bail!("tour: the lookup's codes outlived it");
        }
        Ok(())
    }

    /// Pumps until the adapter's notice is `key`.
    fn wait_for_status_key(&self, key: &str, what: &str) -> anyhow::Result<()> {
        self.wait_until(what, || {
            self.kiosk
                .shell
                .borrow_mut()
                .pump_blocking(Duration::from_millis(50));
            self.k().get_notice() == key
        })
    }

    fn a(&self) -> Assist<'_> {
        self.ui.global::<Assist>()
    }

    /// Issue 14: help from a dead end (a refused number), a staff call, the volunteer's PIN
    /// and assisted mode; then large text and high contrast from the first screen.
    fn help_walk(
        &mut self,
        dir: &Path,
        lang: &str,
        sim: &crate::app::SimControls,
        next: &mut impl FnMut() -> usize,
    ) -> anyhow::Result<()> {
        self.start_when_in_service()?;
        self.k().invoke_choose_language(lang.into());
        self.spoken(lang, "say-id-prompt")?;
        self.k().invoke_demo_tap_card();
        self.wait_for_status("notice-id-needed-first", "the card before the number")?;
        self.type_digits(&DEMO_ID[..11]);
        self.type_digits("9");
        self.k().invoke_keypad_submit();
        self.wait_for_status("notice-wrong-id", "a wrong ID number")?;
        self.a().invoke_open_help();
        self.shot(dir, next(), "help-wrong-id")?;
        self.a().invoke_call_staff();
        if !self.a().get_staff_called() {
            bail!("tour: calling staff raised no call");
        }
        self.shot(dir, next(), "help-staff-called")?;
        self.a().invoke_close_help();
        self.shot(dir, next(), "identify-staff-called")?;
        self.a().invoke_open_help();
        self.a().invoke_open_pin();
        for d in [2, 4, 6, 8] {
            self.a().invoke_pin_digit(d);
        }
        self.shot(dir, next(), "help-pin")?;
        self.a().invoke_pin_submit();
        if !self.a().get_assisted() || self.a().get_help_open() {
            bail!("tour: the demo PIN did not unlock assisted mode");
        }
        self.shot(dir, next(), "identify-assisted")?;
        self.k().invoke_cancel();
        sim.card.remove();
        self.wait_for(Step::Attract, "cancel")?;
        if self.a().get_assisted() {
            bail!("tour: assisted mode outlived the session");
        }
        // One tap from the first screen.
        self.a().invoke_toggle_large_text();
        if self.step() != Step::Language || !self.a().get_large_text() {
            bail!("tour: large text did not start the session");
        }
        self.shot(dir, next(), "language-large-text")?;
        self.a().invoke_toggle_high_contrast();
        self.shot(dir, next(), "language-large-contrast")?;
        self.k().invoke_choose_language(lang.into());
        self.shot(dir, next(), "identify-large-contrast")?;
        self.a().invoke_open_help();
        self.shot(dir, next(), "help-large-contrast")?;
        self.a().invoke_close_help();
        self.k().invoke_cancel();
        self.wait_for(Step::Attract, "cancel")?;
        if self.a().get_large_text() || self.a().get_high_contrast() {
            bail!("tour: display switches outlived the session");
        }
        Ok(())
    }

    /// Waits until the speaker was asked to say `key` in `lang` (a demo's silent speaker).
    fn spoken(&self, lang: &str, key: &str) -> anyhow::Result<()> {
        let Some(log) = &self.kiosk.speech else {
            return Ok(());
        };
        let texts = crate::i18n::Catalog::new(None)?;
        let want = texts.t(lang, key);
        self.wait_until(&format!("the prompt {key} spoken in {lang}"), || {
            log.sentences().iter().any(|(t, l)| *t == want && l == lang)
        })
    }
}

/// The word of the procedure titles (folded, lower case) found in the fewest titles, at least
/// three letters, that the search field's Telex leaves as typed; with how many titles hold it.
fn search_word(cards: &[(String, String)]) -> Option<(String, usize)> {
    let field = vnkey::Field {
        mode: vnkey::Mode::Telex,
        max_chars: 40,
    };
    let typed = |w: &str| {
        w.chars().fold(String::new(), |t, c| {
            vnkey::apply(&t, vnkey::KeyInput::Char(c), field)
        })
    };
    let mut words: Vec<&str> = cards
        .iter()
        .flat_map(|(t, _)| t.split(|c: char| !c.is_alphanumeric()))
        .filter(|w| w.chars().count() >= 3 && w.chars().all(|c| c.is_ascii_lowercase()))
        .collect();
    words.sort_unstable();
    words.dedup();
    words
        .into_iter()
        .filter(|w| typed(w) == *w)
        .map(|w| (w, cards.iter().filter(|(t, _)| t.contains(w)).count()))
        .min_by_key(|&(w, n)| (n, std::cmp::Reverse(w.len())))
        .map(|(w, n)| (w.to_owned(), n))
}
