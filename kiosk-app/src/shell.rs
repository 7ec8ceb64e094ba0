//! The controller: owns the [`Session`], feeds it events (touches from the Slint adapters,
//! device events from the workers, ticks from a timer), carries out the commands it returns,
//! and mirrors [`Session::view`] into the `Kiosk` adapter.
//!
//! Everything here runs on the UI thread. Devices and the gateway run on their own threads
//! ([`crate::devices`], the submit thread) and reach the shell only through channels that the
//! shell drains in [`Shell::pump`], so the session stays single-threaded and deterministic.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::time::Duration;

use kiosk_ui::{
    AppWindow, Dossier as DossierAdapter, Keys, Kiosk, LanguageOption, ServiceItem, Tr,
};
use slint::{ComponentHandle, Model, ModelRc, SharedString, VecModel};

use crate::admin_units::AdminUnits;
use crate::availability::{Availability, DeviceHealth, DeviceKind};
use crate::catalog::{Catalog, EntryKind, ServiceId};
use crate::config::{KioskConfig, Mode};
use crate::devices::{DeviceEvent, Devices};
use crate::gateway::lookup::LookupEndpoint;
use crate::i18n;
use crate::session::dossier::{Delivery, FormEvent, FormPage};
use crate::session::lookup::{CodeField, LookupEvent};
use crate::session::{
    Command, Dossier, Event, IdentifyPhase, Millis, ReceiptInfo, Session, SessionView, Step,
    SubmitFailure,
};
use crate::vnkey::{self, KeyInput, Tone};

mod assist;
mod dossier;
pub mod lookup;

/// Hands a dossier to the provincial system (today: the gateway client; later: the outbox).
/// Runs on a worker thread; the answer becomes [`Event::SubmitDone`] or [`Event::SubmitFailed`].
pub trait Submitter: Send + Sync {
    /// Submits and waits for the receipt.
    ///
    /// # Errors
    /// Why the dossier was not accepted.
    fn submit(&self, dossier: &Dossier) -> Result<ReceiptInfo, SubmitFailure>;
}

/// Composes the printed receipt (an ESC/POS job) in the citizen's language.
pub type ReceiptComposer = Box<dyn Fn(&ReceiptInfo, &str) -> Option<Vec<u8>>>;

/// Where the shell's time comes from: the real monotonic clock, or the tour's mock clock.
pub type Clock = Rc<dyn Fn() -> Millis>;

/// The controller. Create with [`Shell::install`].
pub struct Shell {
    session: Session,
    ui: slint::Weak<AppWindow>,
    texts: Rc<i18n::Catalog>,
    catalog: Catalog,
    devices: Devices,
    submitter: Arc<dyn Submitter>,
    compose_receipt: ReceiptComposer,
    clock: Clock,
    replies: (Sender<Event>, Receiver<Event>),
    last_step: Step,
    last_language: String,
    /// The devices' health: out of service while one is down (see [`crate::availability`]).
    availability: Availability,
    /// The same health, shared with the heartbeat thread ([`Shell::health_board`]).
    health_board: crate::heartbeat::HealthBoard,
    /// Help, staff calls, assisted mode, the speaker, attract images.
    assist: assist::AssistShell,
    /// The address picker's provinces and wards.
    units: Arc<AdminUnits>,
    /// The procedure list's field filter ("" = all): screen state, not the session's.
    field_filter: String,
    /// The procedure search as typed on the on-screen keyboard (screen state like the filter,
    /// not personal; emptied whenever the list is left).
    search: String,
    /// Where the status lookup asks (`None`: every lookup answers "offline").
    lookup: Option<LookupEndpoint>,
    /// The counter named in "ask at ..." (`help.staff_desk`).
    staff_desk: Option<String>,
}

impl std::fmt::Debug for Shell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shell")
            .field("step", &self.session.step())
            .finish_non_exhaustive()
    }
}

/// What the shell needs besides the window.
pub struct Parts {
    /// Validated configuration.
    pub config: Rc<KioskConfig>,
    /// Fluent strings.
    pub texts: Rc<i18n::Catalog>,
    /// Services offered.
    pub catalog: Catalog,
    /// Running device workers.
    pub devices: Devices,
    /// Where dossiers go.
    pub submitter: Arc<dyn Submitter>,
    /// Receipt layout.
    pub compose_receipt: ReceiptComposer,
    /// Time source.
    pub clock: Clock,
    /// Seed of the session ids (from the OS's randomness in production).
    pub id_seed: u128,
    /// Vietnam's administrative units for the dossier form's address picker.
    pub units: Arc<AdminUnits>,
}

impl std::fmt::Debug for Parts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Parts").finish_non_exhaustive()
    }
}

impl Shell {
    /// Wires the adapters of `ui` to a new shell and returns it.
    pub fn install(ui: &AppWindow, parts: Parts) -> Rc<RefCell<Shell>> {
        let Parts {
            config,
            texts,
            catalog,
            devices,
            submitter,
            compose_receipt,
            clock,
            id_seed,
            units,
        } = parts;
        let session = Session::new(config.session.clone(), id_seed);
        let assist = assist::AssistShell::new(&config);
        let kiosk = ui.global::<Kiosk>();
        kiosk.set_mode(
            match config.mode {
                Mode::OneStopShop => "one-stop-shop",
                Mode::Hospital => "hospital",
            }
            .into(),
        );
        kiosk.set_site_name(config.site.name.as_str().into());
        kiosk.set_demo(config.demo);
        // Languages offered: the configured ones, in the configured order, named in their own
        // language; a configured language without a locale folder is skipped (config check
        // warns about it).
        let available = texts.languages();
        let langs: Vec<LanguageOption> = config
            .ui
            .languages
            .iter()
            .filter_map(|code| available.iter().find(|(c, _)| c == code))
            .map(|(code, name)| LanguageOption {
                code: code.into(),
                name: name.into(),
            })
            .collect();
        kiosk.set_languages(ModelRc::new(VecModel::from(langs)));
        wire_translations(ui, &texts);

        let shell = Rc::new(RefCell::new(Shell {
            session,
            ui: ui.as_weak(),
            texts,
            catalog,
            devices,
            submitter,
            compose_receipt,
            clock,
            replies: mpsc::channel(),
            last_step: Step::Attract,
            last_language: String::new(),
            availability: Availability::new(),
            health_board: crate::heartbeat::HealthBoard::default(),
            assist,
            units,
            field_filter: String::new(),
            search: String::new(),
            lookup: None,
            staff_desk: config.help.staff_desk.clone(),
        }));
        assist::wire(ui, &shell);

        let on = |ev: fn() -> Event| {
            let s = Rc::downgrade(&shell);
            move || {
                if let Some(s) = s.upgrade() {
                    s.borrow_mut().dispatch(ev());
                }
            }
        };
        kiosk.on_start(on(|| Event::Start));
        kiosk.on_cancel(on(|| Event::Cancel));
        kiosk.on_back(on(|| Event::Back));
        kiosk.on_activity(on(|| Event::Touch));
        kiosk.on_accept_consent(on(|| Event::ConsentGiven));
        kiosk.on_decline_consent(on(|| Event::ConsentDeclined));
        kiosk.on_confirm(on(|| Event::Confirmed));
        kiosk.on_retry(on(|| Event::Retry));
        kiosk.on_finish(on(|| Event::ReceiptDone));
        kiosk.on_open_lookup(on(|| Event::Lookup(LookupEvent::Open)));
        kiosk.on_lookup_again(on(|| Event::Lookup(LookupEvent::ScanAgain)));
        kiosk.on_lookup_type(on(|| Event::Lookup(LookupEvent::Type)));
        let s = Rc::downgrade(&shell);
        kiosk.on_lookup_focus_field(move |field| {
            let field = match field.as_str() {
                "lookup" => CodeField::Lookup,
                _ => CodeField::Dossier,
            };
            if let Some(s) = s.upgrade() {
                s.borrow_mut()
                    .dispatch(Event::Lookup(LookupEvent::Focus(field)));
            }
        });
        kiosk.on_keypad_erase(on(|| Event::KeypadErase));
        kiosk.on_keypad_submit(on(|| Event::KeypadSubmit));
        let s = Rc::downgrade(&shell);
        kiosk.on_keypad_digit(move |d| {
            if let (Some(s), Ok(d)) = (s.upgrade(), u8::try_from(d)) {
                s.borrow_mut().dispatch(Event::KeypadDigit(d));
            }
        });
        let s = Rc::downgrade(&shell);
        kiosk.on_choose_language(move |code| {
            if let Some(s) = s.upgrade() {
                s.borrow_mut()
                    .dispatch(Event::LanguageChosen(code.to_string()));
            }
        });
        let s = Rc::downgrade(&shell);
        kiosk.on_choose_service(move |id| {
            if let Some(s) = s.upgrade() {
                s.borrow_mut()
                    .dispatch(Event::ServiceChosen(ServiceId::new(id.as_str())));
            }
        });
        wire_dossier(ui, &shell);
        wire_keys(ui, &shell);
        shell.borrow_mut().render();
        shell
    }

    /// Feeds one event to the session and carries out what it asks.
    pub fn dispatch(&mut self, ev: Event) {
        let starts = matches!(
            ev,
            Event::Start | Event::ToggleLargeText | Event::ToggleHighContrast
        ) && self.session.step() == Step::Attract;
        if starts && !self.availability.may_start() {
            // Out of service: the attract screen is not shown, a stray touch starts nothing.
            tracing::debug!("start ignored: out of service");
            return;
        }
        let now = (self.clock)();
        let is_tick = matches!(ev, Event::Tick);
        let before = self.session.step();
        let commands = self.session.handle(ev, now);
        for c in commands {
            self.execute(c);
        }
        if !is_tick || before != self.session.step() {
            tracing::debug!(from = ?before, to = ?self.session.step(), "session");
        }
        self.render();
    }

    /// Drains device and gateway events, then ticks the session. Called from a UI timer.
    pub fn pump(&mut self) {
        for ev in self.devices.drain() {
            self.device_event(ev);
        }
        let replies: Vec<Event> = self.replies.1.try_iter().collect();
        for ev in replies {
            self.dispatch(ev);
        }
        self.dispatch(Event::Tick);
        if let Some(ui) = self.ui.upgrade() {
            let now = (self.clock)().0;
            self.assist.pump(&ui, self.session.step(), now);
        }
    }

    /// The status lookup asks `endpoint` from now on (until then it answers "offline").
    pub fn set_lookup_endpoint(&mut self, endpoint: LookupEndpoint) {
        self.lookup = Some(endpoint);
    }

    /// The devices' health as this shell records it, for the heartbeat thread.
    #[must_use]
    pub fn health_board(&self) -> crate::heartbeat::HealthBoard {
        self.health_board.clone()
    }

    /// Spoken prompts and chimes go to `audio` from now on (none until this is called).
    pub fn set_audio(&mut self, audio: kiosk_hw::audio::AudioWorker) {
        self.assist.set_audio(audio);
    }

    /// Waits (real time) up to `timeout` for the next device or gateway event and handles it;
    /// for the headless tour, which drives the kiosk step by step.
    pub fn pump_blocking(&mut self, timeout: Duration) -> bool {
        if let Ok(ev) = self.replies.1.try_recv() {
            self.dispatch(ev);
            return true;
        }
        let deadline = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < deadline {
            if let Some(ev) = self.devices.wait(Duration::from_millis(20)) {
                self.device_event(ev);
                return true;
            }
            if let Ok(ev) = self.replies.1.try_recv() {
                self.dispatch(ev);
                return true;
            }
        }
        false
    }

    /// The translations the kiosk shows (the tour checks visible texts with them).
    #[must_use]
    pub fn texts(&self) -> Rc<i18n::Catalog> {
        self.texts.clone()
    }

    /// The session's current step.
    #[must_use]
    pub fn step(&self) -> Step {
        self.session.step()
    }

    /// The session's current device arming: what a worker armed now would send its results
    /// with (benchmarks address simulated results to it).
    #[must_use]
    pub fn generation(&self) -> crate::session::Generation {
        self.session.generation()
    }

    /// Whether the kiosk serves citizens now (no device is down).
    #[must_use]
    pub fn in_service(&self) -> bool {
        self.availability.in_service()
    }

    /// The adapter's current page (tests).
    #[must_use]
    pub fn page(&self) -> String {
        self.ui
            .upgrade()
            .map(|ui| ui.global::<Kiosk>().get_page().to_string())
            .unwrap_or_default()
    }

    /// Records a device's health (from its worker), logs what changed and redraws.
    pub fn device_health(&mut self, device: DeviceKind, health: DeviceHealth) {
        self.health_board.report(device, health);
        let Some(c) = self.availability.report(device, health) else {
            return;
        };
        if c.service_changed {
            if c.in_service {
                tracing::info!(device = %c.device, "every device ready: the kiosk serves again");
            } else {
                let reason = match c.to {
                    DeviceHealth::Down(why) => why,
                    _ => "-",
                };
                tracing::warn!(
                    device = %c.device,
                    reason,
                    "kiosk out of service until the device is back (retrying)"
                );
            }
        }
        self.render();
    }

    /// Whether any personal data is held by the session (for tests and the shutdown log).
    #[must_use]
    pub fn holds_personal_data(&self) -> bool {
        self.session.holds_personal_data()
    }

    /// Ends the session (wiping it) and stops the device workers: the SIGTERM path.
    pub fn shutdown(&mut self) {
        if self.session.step() != Step::Attract {
            self.dispatch(Event::Cancel);
        }
        self.devices.shutdown();
    }

    fn device_event(&mut self, ev: DeviceEvent) {
        match ev {
            DeviceEvent::Session(e) => self.dispatch(e),
            DeviceEvent::FramePreview(frame) => {
                if self.session.step() != Step::VerifyFace {
                    return;
                }
                if let Some(ui) = self.ui.upgrade() {
                    ui.global::<Kiosk>()
                        .set_face_preview(frame_to_image(&frame));
                }
            }
            DeviceEvent::FaceGuidance { key, progress } => {
                if let Some(ui) = self.ui.upgrade() {
                    let k = ui.global::<Kiosk>();
                    k.set_face_guidance(key.into());
                    k.set_face_progress(progress);
                }
            }
            DeviceEvent::Printed => tracing::info!("receipt printed"),
            DeviceEvent::Health(device, health) => self.device_health(device, health),
        }
    }

    fn execute(&mut self, c: Command) {
        match c {
            Command::StartIdentify(generation) => self.devices.arm_identify(generation),
            Command::StopIdentify | Command::StopLookupScan => self.devices.disarm_identify(),
            Command::StartLookupScan(generation) => self.devices.arm_lookup(generation),
            Command::LookupStatus(generation, codes) => {
                lookup::ask(self.lookup.clone(), generation, codes, &self.replies.0);
            }
            Command::UseIdNumber(id) => self.devices.use_id_number(id),
            Command::ForgetIdNumber => self.devices.forget_id_number(),
            Command::StartFaceCapture(generation, portrait) => {
                self.devices.start_face(generation, portrait);
            }
            Command::StopFaceCapture => {
                self.devices.stop_face();
                if let Some(ui) = self.ui.upgrade() {
                    clear_face(&ui);
                }
            }
            Command::Submit(dossier) => {
                let submitter = self.submitter.clone();
                let tx = self.replies.0.clone();
                let spawned = std::thread::Builder::new()
                    .name("kiosk-submit".into())
                    .spawn(move || {
                        let ev = match submitter.submit(&dossier) {
                            Ok(r) => Event::SubmitDone(r),
                            Err(f) => Event::SubmitFailed(f),
                        };
                        // The dossier (personal data) drops here, on the worker.
                        drop(dossier);
                        let _ = tx.send(ev);
                    });
                if let Err(e) = spawned {
                    tracing::error!(error = %e, "cannot start the submit thread");
                    let _ = self
                        .replies
                        .0
                        .send(Event::SubmitFailed(SubmitFailure::Storage));
                }
            }
            Command::PrintReceipt(info) => {
                let lang = self.session.view().language;
                match (self.compose_receipt)(&info, &lang) {
                    Some(job) => self.devices.print(job),
                    None => {
                        let _ = self
                            .replies
                            .0
                            .send(Event::PrinterFailed(crate::session::PrinterFault::Internal));
                    }
                }
            }
            Command::Wipe(reason) => {
                tracing::info!(?reason, "session wiped");
                self.assist.wiped();
                if let Some(ui) = self.ui.upgrade() {
                    clear_face(&ui);
                }
            }
            Command::Announce(key) => {
                // Spoken in the session's language (`say-<key>`), on the audio worker.
                let lang = self.session.view().language;
                self.assist.announce(&self.texts, &lang, &key);
            }
            Command::Chime(chime) => self.assist.chime(chime),
            Command::CallStaff(step) => {
                // The event staff dashboards and the journal look for; no personal data.
                tracing::warn!(
                    target: "kiosk::staff",
                    step = page_name(step),
                    "a citizen called staff"
                );
            }
            Command::ShowNotice(_) => {}
        }
    }

    /// Mirrors the session view into the adapter.
    fn render(&mut self) {
        let Some(ui) = self.ui.upgrade() else { return };
        let view = self.session.view();
        let k = ui.global::<Kiosk>();
        if view.language != self.last_language {
            // Changed mid-step (from the help panel): the current prompt again, in it.
            if self.last_step == view.step
                && !matches!(view.step, Step::Attract | Step::Language)
                && !self.last_language.is_empty()
            {
                self.assist.language_changed(&self.texts, &view.language);
            }
            k.set_language(view.language.as_str().into());
            let tr = ui.global::<Tr>();
            tr.set_revision(tr.get_revision().wrapping_add(1));
            self.last_language = view.language.clone();
            // Titles of services are per language.
            self.last_step = Step::Attract;
        }
        k.set_secondary_language(if view.language == "vi" { "en" } else { "vi" }.into());
        let out_of_service = view.step == Step::Attract && !self.availability.in_service();
        k.set_page(
            if out_of_service {
                "out-of-service"
            } else {
                page_name(view.step)
            }
            .into(),
        );
        self.render_service_lines(&k, &view.language);
        let (index, count) = step_index(view.step);
        k.set_step_index(index);
        k.set_step_count(count);
        k.set_seconds_left(
            view.seconds_left
                .map_or(0, |s| i32::try_from(s).unwrap_or(i32::MAX)),
        );
        k.set_timeout_warning(view.warn_timeout);
        let status = identify_status(&view);
        k.set_identify_status_info(status == ID_NEEDED_STATUS);
        k.set_identify_status(status.into());
        k.set_identify_phase(
            match view.identify {
                None | Some(IdentifyPhase::AwaitingId) => "id",
                Some(IdentifyPhase::AwaitingCard) => "card",
                Some(IdentifyPhase::Reading) => "reading",
            }
            .into(),
        );
        // The citizen's own number in full only while they type it, grouped for reading back;
        // masked once it is handed to the reader (the "place your card" screen) and in the
        // message naming a refused number.
        let entry = view.id_entry.as_ref().map(|e| e.expose().as_str());
        let typing = view.identify == Some(IdentifyPhase::AwaitingId);
        k.set_id_entry(
            if typing {
                group_digits(entry.unwrap_or_default())
            } else {
                mask_id(entry.unwrap_or_default())
            }
            .into(),
        );
        k.set_id_entry_count(entry.map_or(0, |e| i32::try_from(e.len()).unwrap_or(0)));
        k.set_identify_status_arg(entry.map(mask_id).unwrap_or_default().into());
        self.render_citizen(&k, &view);
        let d = ui.global::<DossierAdapter>();
        if view.step != Step::ChooseService {
            self.search.clear();
            d.set_search("".into());
            d.set_search_open(false);
        }
        if view.step != self.last_step && view.step == Step::ChooseService {
            self.render_services(&k, &view.language);
            dossier::render_services(
                &d,
                &self.catalog,
                &self.texts,
                &view.language,
                &self.field_filter,
                &self.search,
            );
        }
        dossier::render_form(&d, &view, &self.catalog, &self.units, &self.texts);
        k.set_chosen_service(
            view.service
                .as_ref()
                .and_then(|id| self.catalog.get(id))
                .map(|e| e.title(&view.language).to_string())
                .unwrap_or_default()
                .into(),
        );
        render_receipt(&k, &view);
        lookup::render(
            &k,
            view.lookup.as_ref(),
            &self.texts,
            &view.language,
            self.staff_desk.as_deref(),
        );
        k.set_notice(
            view.notice
                .as_deref()
                .map(|n| format!("notice-{n}"))
                .unwrap_or_default()
                .into(),
        );
        k.set_can_retry(view.can_retry);
        self.assist.render(&ui, &view);
        self.last_step = view.step;
    }

    /// The staff lines: which devices keep the kiosk out of service, and warnings (paper
    /// nearly used up) shown at the foot of the attract screen.
    fn render_service_lines(&self, k: &Kiosk<'_>, lang: &str) {
        let down: Vec<String> = self
            .availability
            .down()
            .into_iter()
            .map(|(d, why)| format!("{} ({why})", self.texts.t(lang, &format!("device-{d}"))))
            .collect();
        k.set_service_detail(if down.is_empty() {
            SharedString::new()
        } else {
            self.texts
                .ta(lang, "out-of-service-staff", &down.join(" · "))
                .into()
        });
        let notices: Vec<String> = self
            .availability
            .warnings()
            .into_iter()
            .map(|(_, why)| self.texts.t(lang, &format!("staff-{why}")))
            .collect();
        k.set_staff_notice(notices.join(" ").into());
    }

    fn render_citizen(&self, k: &Kiosk<'_>, view: &SessionView) {
        match &view.citizen {
            // Shown to the citizen themselves, on their own session's screen: the only place
            // personal fields are exposed besides the submission.
            Some(c) => {
                k.set_citizen_name(c.full_name().expose().as_str().into());
                k.set_citizen_id_masked(mask_id(c.id_number().expose()).into());
                k.set_citizen_dob(c.date_of_birth().expose().as_str().into());
            }
            None => {
                k.set_citizen_name(SharedString::new());
                k.set_citizen_id_masked(SharedString::new());
                k.set_citizen_dob(SharedString::new());
            }
        }
    }

    fn render_services(&self, k: &Kiosk<'_>, lang: &str) {
        let items: Vec<ServiceItem> = self
            .catalog
            .entries()
            .iter()
            .map(|e| {
                let (detail, essential) = match &e.kind {
                    EntryKind::Procedure {
                        code, essential, ..
                    } => (self.texts.ta(lang, "service-code", code), *essential),
                    EntryKind::Department { code } => {
                        (self.texts.ta(lang, "department-code", code), false)
                    }
                };
                ServiceItem {
                    id: e.id.as_str().into(),
                    title: e.title(lang).into(),
                    detail: detail.into(),
                    essential,
                }
            })
            .collect();
        k.set_services(ModelRc::new(VecModel::from(items)));
    }

    /// The procedure list's field filter: `field` ("" for all), shown at once.
    fn filter_services(&mut self, field: String) {
        self.dispatch(Event::Touch);
        self.field_filter = field;
        self.rerender_services();
    }

    fn rerender_services(&self) {
        if let Some(ui) = self.ui.upgrade() {
            let lang = self.session.view().language;
            dossier::render_services(
                &ui.global::<DossierAdapter>(),
                &self.catalog,
                &self.texts,
                &lang,
                &self.field_filter,
                &self.search,
            );
        }
    }

    /// A key of the on-screen keyboard, for the field of the step shown: the procedure search
    /// (kept here), the street line of the form or the lookup codes (kept by the session).
    fn key(&mut self, key: KeyInput) {
        match self.session.step() {
            Step::ChooseService => {
                let field = vnkey::Field {
                    mode: vnkey::Mode::Telex,
                    max_chars: SEARCH_MAX_CHARS,
                };
                self.search = vnkey::apply(&self.search, key, field);
                self.dispatch(Event::Touch);
                self.rerender_services();
            }
            Step::Confirm => self.dispatch(Event::Form(FormEvent::Key(key))),
            Step::Lookup => self.dispatch(Event::Lookup(LookupEvent::Key(key))),
            _ => {}
        }
    }

    /// The keyboard's "Done"/"Next": the form's next page, or the lookup's next field.
    fn key_done(&mut self) {
        match self.session.step() {
            Step::Confirm => self.dispatch(Event::Form(FormEvent::Next)),
            Step::Lookup => self.dispatch(Event::Lookup(LookupEvent::Done)),
            _ => {}
        }
    }

    /// How many services the adapter lists (tests).
    #[must_use]
    pub fn listed_services(&self) -> usize {
        self.ui
            .upgrade()
            .map_or(0, |ui| ui.global::<Kiosk>().get_services().row_count())
    }
}

fn render_receipt(k: &Kiosk<'_>, view: &SessionView) {
    match &view.receipt {
        Some(r) => {
            k.set_receipt_code(r.dossier_code.as_str().into());
            let appointment = r
                .appointment
                .map(|d| format!("{:02}/{:02}/{}", d.day(), u8::from(d.month()), d.year()))
                .unwrap_or_default();
            k.set_receipt_appointment(appointment.into());
            k.set_receipt_lookup(r.lookup_code.as_str().into());
            k.set_receipt_queue_number(r.queue_number.clone().unwrap_or_default().into());
            k.set_receipt_offline(r.offline);
            k.set_receipt_printer_failed(view.printer_failed);
        }
        None => {
            k.set_receipt_code(SharedString::new());
            k.set_receipt_appointment(SharedString::new());
            k.set_receipt_lookup(SharedString::new());
            k.set_receipt_queue_number(SharedString::new());
            k.set_receipt_offline(false);
            k.set_receipt_printer_failed(false);
        }
    }
}

fn clear_face(ui: &AppWindow) {
    let k = ui.global::<Kiosk>();
    k.set_face_preview(slint::Image::default());
    k.set_face_progress(0.0);
    k.set_face_guidance("face-look".into());
}

pub(crate) fn wire_translations(ui: &AppWindow, texts: &Rc<i18n::Catalog>) {
    let tr = ui.global::<Tr>();
    let (c, w) = (texts.clone(), ui.as_weak());
    tr.on_t(move |key, _rev| {
        let lang = w
            .upgrade()
            .map(|u| u.global::<Kiosk>().get_language())
            .unwrap_or_default();
        c.t(&lang, &key).into()
    });
    let (c, w) = (texts.clone(), ui.as_weak());
    tr.on_ta(move |key, value, _rev| {
        let lang = w
            .upgrade()
            .map(|u| u.global::<Kiosk>().get_language())
            .unwrap_or_default();
        c.ta(&lang, &key, &value).into()
    });
    let c = texts.clone();
    tr.on_tl(move |lang, key, _rev| c.t(&lang, &key).into());
}

/// The `Dossier` adapter's callbacks: the list filter and the form's events.
fn wire_dossier(ui: &AppWindow, shell: &Rc<RefCell<Shell>>) {
    let d = ui.global::<DossierAdapter>();
    let form = |f: fn(SharedString) -> Option<FormEvent>| {
        let s = Rc::downgrade(shell);
        move |arg: SharedString| {
            if let (Some(s), Some(ev)) = (s.upgrade(), f(arg)) {
                s.borrow_mut().dispatch(Event::Form(ev));
            }
        }
    };
    d.on_choose_province(form(|c| c.parse().ok().map(FormEvent::Province)));
    d.on_choose_ward(form(|c| c.parse().ok().map(FormEvent::Ward)));
    d.on_choose_delivery(form(|c| Delivery::from_code(&c).map(FormEvent::Delivery)));
    d.on_choose_reason(form(|c| Some(FormEvent::Reason(c.to_string()))));
    d.on_change(form(|c| FormPage::from_name(&c).map(FormEvent::Change)));
    let s = Rc::downgrade(shell);
    d.on_next(move || {
        if let Some(s) = s.upgrade() {
            s.borrow_mut().dispatch(Event::Form(FormEvent::Next));
        }
    });
    let s = Rc::downgrade(shell);
    d.on_phone_erase(move || {
        if let Some(s) = s.upgrade() {
            s.borrow_mut().dispatch(Event::Form(FormEvent::PhoneErase));
        }
    });
    let s = Rc::downgrade(shell);
    d.on_phone_digit(move |digit| {
        if let (Some(s), Ok(digit)) = (s.upgrade(), u8::try_from(digit)) {
            s.borrow_mut()
                .dispatch(Event::Form(FormEvent::PhoneDigit(digit)));
        }
    });
    let s = Rc::downgrade(shell);
    d.on_filter(move |field| {
        if let Some(s) = s.upgrade() {
            s.borrow_mut().filter_services(field.to_string());
        }
    });
}

/// The most characters of the procedure search.
const SEARCH_MAX_CHARS: usize = 40;

/// The `Keys` adapter's callbacks: the on-screen keyboard.
fn wire_keys(ui: &AppWindow, shell: &Rc<RefCell<Shell>>) {
    let keys = ui.global::<Keys>();
    let on = |f: fn(SharedString) -> Option<KeyInput>| {
        let s = Rc::downgrade(shell);
        move |arg: SharedString| {
            if let (Some(s), Some(k)) = (s.upgrade(), f(arg)) {
                s.borrow_mut().key(k);
            }
        }
    };
    // One character per key; anything else is not a key of ours.
    keys.on_key(on(|k| {
        let mut chars = k.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => Some(KeyInput::Char(c)),
            _ => None,
        }
    }));
    keys.on_tone(on(|t| Tone::from_code(&t).map(KeyInput::Tone)));
    let s = Rc::downgrade(shell);
    keys.on_erase(move || {
        if let Some(s) = s.upgrade() {
            s.borrow_mut().key(KeyInput::Backspace);
        }
    });
    let s = Rc::downgrade(shell);
    keys.on_done(move || {
        if let Some(s) = s.upgrade() {
            s.borrow_mut().key_done();
        }
    });
}

/// The adapter's page name of a step.
#[must_use]
pub fn page_name(step: Step) -> &'static str {
    match step {
        Step::Attract => "attract",
        Step::Language => "language",
        Step::Identify => "identify",
        Step::Consent => "consent",
        Step::VerifyFace => "face",
        Step::ChooseService => "services",
        Step::Confirm => "confirm",
        Step::Submitting => "submitting",
        Step::Receipt => "receipt",
        Step::Notice => "notice",
        Step::Lookup => "lookup",
    }
}

/// Position in the step indicator (0-based) and the number of steps shown.
fn step_index(step: Step) -> (i32, i32) {
    let i = match step {
        Step::Attract | Step::Language | Step::Notice | Step::Lookup => 0,
        Step::Identify => 1,
        Step::Consent => 2,
        Step::VerifyFace => 3,
        Step::ChooseService => 4,
        Step::Confirm => 5,
        Step::Submitting | Step::Receipt => 6,
    };
    (i, 7)
}

/// The identify status line that is good news, not an error: the card is on the reader and
/// the number is what is missing.
const ID_NEEDED_STATUS: &str = "notice-id-needed-first";

/// The status line under the identify step: `reading`, a banner's message key, or, while the
/// citizen types with the card already on the reader, the reminder that it can stay there.
fn identify_status(view: &SessionView) -> String {
    if view.step != Step::Identify {
        return String::new();
    }
    if view.card_reading {
        return "reading".into();
    }
    match view.notice.as_deref() {
        Some(n) => format!("notice-{n}"),
        None if view.card_on_reader && view.identify == Some(IdentifyPhase::AwaitingId) => {
            ID_NEEDED_STATUS.into()
        }
        None => String::new(),
    }
}

/// `001090123456` -> `001 090 123 456`: groups of three, as people read the number aloud.
#[must_use]
pub fn group_digits(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && i % 3 == 0 {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// `001090123456` -> `0010•••••456`: enough for the citizen to recognise their number, not
/// enough for a passer-by to copy it.
#[must_use]
pub fn mask_id(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() < 8 {
        return "•".repeat(chars.len());
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 3..].iter().collect();
    format!("{head}{}{tail}", "•".repeat(chars.len() - 7))
}

/// Converts a camera frame for display; the pixels are copied into Slint's buffer and the
/// frame is dropped by the caller.
fn frame_to_image(frame: &kiosk_hw::camera::Frame) -> slint::Image {
    use kiosk_hw::camera::PixelFormat;
    let mut buf = slint::SharedPixelBuffer::<slint::Rgb8Pixel>::new(frame.width, frame.height);
    let dst = buf.make_mut_bytes();
    match frame.format {
        PixelFormat::Rgb8 => {
            let n = dst.len().min(frame.data.len());
            dst[..n].copy_from_slice(&frame.data[..n]);
        }
        PixelFormat::Luma8 => {
            for (d, s) in dst.chunks_exact_mut(3).zip(frame.data.iter()) {
                d.fill(*s);
            }
        }
        // A format this build does not know shows as a grey preview rather than garbage.
        _ => dst.fill(0x80),
    }
    slint::Image::from_rgb8(buf)
}

#[cfg(test)]
mod tests {
    use super::{group_digits, identify_status, mask_id};
    use crate::session::{IdentifyPhase, SessionView, Step};

    #[test]
    fn groups_digits_by_three() {
        assert_eq!(group_digits("001090123456"), "001 090 123 456");
        assert_eq!(group_digits("0010"), "001 0");
        assert_eq!(group_digits(""), "");
    }

    #[test]
    fn masks_all_but_head_and_tail() {
        assert_eq!(mask_id("001090123456"), "0010•••••456");
        assert_eq!(mask_id("123"), "•••");
    }

    fn identify_view(
        phase: IdentifyPhase,
        card_on_reader: bool,
        notice: Option<&str>,
    ) -> SessionView {
        SessionView {
            step: Step::Identify,
            language: "vi".into(),
            seconds_left: Some(60),
            warn_timeout: false,
            card_reading: phase == IdentifyPhase::Reading,
            identify: Some(phase),
            card_on_reader,
            id_entry: None,
            citizen: None,
            service: None,
            form: None,
            face_attempts_left: None,
            can_retry: false,
            receipt: None,
            printer_failed: false,
            printer_fault: None,
            notice: notice.map(str::to_owned),
            assistance: Default::default(),
            lookup: None,
        }
    }

    #[test]
    fn a_card_on_the_reader_while_typing_is_said_until_a_message_replaces_it() {
        use IdentifyPhase::{AwaitingCard, AwaitingId, Reading};
        let status = |p, card, n| identify_status(&identify_view(p, card, n));
        assert_eq!(status(AwaitingId, false, None), "");
        assert_eq!(status(AwaitingId, true, None), "notice-id-needed-first");
        assert_eq!(
            status(AwaitingId, true, Some("wrong-id")),
            "notice-wrong-id"
        );
        assert_eq!(status(AwaitingCard, true, None), "");
        assert_eq!(status(Reading, true, None), "reading");
    }
}
