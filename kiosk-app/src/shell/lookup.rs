//! The status lookup's side of the shell (issue 14, journey 4): asks the gateway on a worker
//! thread and fills the `Kiosk` adapter's `lookup-*` properties from the session's
//! [`LookupView`]. Nothing is kept here: every property is emptied when the view has no lookup.

use std::sync::mpsc::Sender;

use kiosk_ui::Kiosk;
use slint::SharedString;

use crate::gateway::codes::parse_portal_time;
use crate::gateway::dto::DossierState;
use crate::gateway::lookup::{lookup_status, LookupEndpoint, StatusLookup};
use crate::i18n;
use crate::session::lookup::{CodeField, LookupCodes, LookupEvent, LookupPhase, LookupView};
use crate::session::{Event, Generation};

/// Asks `endpoint` (blocking up to its timeout) on a new thread; the answer comes back on
/// `replies`. Without an endpoint the answer is `Offline`.
pub(super) fn ask(
    endpoint: Option<LookupEndpoint>,
    generation: Generation,
    codes: LookupCodes,
    replies: &Sender<Event>,
) {
    let tx = replies.clone();
    let spawned = std::thread::Builder::new()
        .name("kiosk-lookup".into())
        .spawn(move || {
            let answer = match &endpoint {
                Some(e) => lookup_status(e, &codes.dossier_code, &codes.lookup_code),
                None => StatusLookup::Offline,
            };
            if let StatusLookup::Failed(why) = &answer {
                tracing::warn!(why = why.as_str(), "status lookup failed");
            }
            let _ = tx.send(Event::Lookup(LookupEvent::Answer(generation, answer)));
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the lookup thread");
        let _ = replies.send(Event::Lookup(LookupEvent::Answer(
            generation,
            StatusLookup::Offline,
        )));
    }
}

/// `yyyyMMddHHmmss` (the portal's times) as `dd/MM/yyyy HH:mm`; any other text as it is.
#[must_use]
pub fn display_time(portal: &str) -> String {
    match parse_portal_time(portal) {
        Some(t) => format!(
            "{:02}/{:02}/{} {:02}:{:02}",
            t.day(),
            u8::from(t.month()),
            t.year(),
            t.hour(),
            t.minute()
        ),
        None => portal.to_owned(),
    }
}

/// The result in plain words and its tone (`ok`, `ask`, `offline`).
#[must_use]
pub fn answer_text(
    texts: &i18n::Catalog,
    lang: &str,
    answer: &StatusLookup,
    staff_desk: Option<&str>,
) -> (String, &'static str) {
    let ask = || match staff_desk {
        Some(desk) => texts.ta(lang, "lookup-ask-desk", desk),
        None => texts.t(lang, "lookup-ask"),
    };
    match answer {
        StatusLookup::Found(s) => match s.state() {
            DossierState::Received => (texts.t(lang, "lookup-state-received"), "ok"),
            DossierState::Forwarded => (texts.t(lang, "lookup-state-forwarded"), "ok"),
            DossierState::Processing => (texts.t(lang, "lookup-state-processing"), "ok"),
            DossierState::Ready => {
                let mut text = match s.collect_place.as_deref() {
                    Some(place) => texts.ta(lang, "lookup-state-ready-place", place),
                    None => texts.t(lang, "lookup-state-ready"),
                };
                if let Some(at) = s.collect_at.as_deref() {
                    text.push(' ');
                    text.push_str(&texts.ta(lang, "lookup-collect-from", &display_time(at)));
                }
                (text, "ok")
            }
            DossierState::Returned => (
                format!("{} {}", texts.t(lang, "lookup-state-returned"), ask()),
                "ask",
            ),
            DossierState::Done => (texts.t(lang, "lookup-state-done"), "ok"),
            DossierState::ForwardFailed | DossierState::Unknown => (ask(), "ask"),
        },
        StatusLookup::NotFound | StatusLookup::Failed(_) => (ask(), "ask"),
        StatusLookup::Malformed => (texts.t(lang, "notice-lookup-bad-qr"), "ask"),
        StatusLookup::Offline => (
            match staff_desk {
                Some(desk) => texts.ta(lang, "lookup-offline-desk", desk),
                None => texts.t(lang, "lookup-offline"),
            },
            "offline",
        ),
    }
}

/// Mirrors the lookup into the adapter (empties it off the lookup step).
pub(super) fn render(
    k: &Kiosk<'_>,
    view: Option<&LookupView>,
    texts: &i18n::Catalog,
    lang: &str,
    staff_desk: Option<&str>,
) {
    let phase = view.map_or(LookupPhase::Scanning, |v| v.phase);
    k.set_lookup_phase(
        match phase {
            LookupPhase::Scanning => "scan",
            LookupPhase::Checking => "checking",
            LookupPhase::Result => "result",
        }
        .into(),
    );
    let typed = view.and_then(|v| v.typed.as_ref());
    k.set_lookup_typing(typed.is_some());
    k.set_lookup_typed_dossier(typed.map(|t| t.dossier.as_str()).unwrap_or_default().into());
    k.set_lookup_typed_code(typed.map(|t| t.lookup.as_str()).unwrap_or_default().into());
    k.set_lookup_focus(
        match typed.map(|t| t.focus) {
            Some(CodeField::Lookup) => "lookup",
            _ => "dossier",
        }
        .into(),
    );
    let found = match view.and_then(|v| v.answer.as_ref()) {
        Some(StatusLookup::Found(s)) => Some(s),
        _ => None,
    };
    k.set_lookup_dossier(
        view.and_then(|v| v.dossier_code.as_deref())
            .unwrap_or_default()
            .into(),
    );
    k.set_lookup_procedure(
        found
            .map(|s| s.procedure_name.as_str())
            .unwrap_or_default()
            .into(),
    );
    k.set_lookup_received(
        found
            .map(|s| display_time(&s.received_at))
            .unwrap_or_default()
            .into(),
    );
    k.set_lookup_appointment(
        found
            .map(|s| display_time(&s.appointment))
            .unwrap_or_default()
            .into(),
    );
    match view.and_then(|v| v.answer.as_ref()) {
        Some(a) => {
            let (text, tone) = answer_text(texts, lang, a, staff_desk);
            k.set_lookup_state(text.into());
            k.set_lookup_tone(tone.into());
        }
        None => {
            k.set_lookup_state(SharedString::new());
            k.set_lookup_tone("ok".into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn portal_times_read_as_day_month_year() {
        assert_eq!(display_time("20260105143000"), "05/01/2026 14:30");
        assert_eq!(display_time("soon"), "soon");
        assert_eq!(display_time("20261305143000"), "20261305143000");
    }

    #[test]
    fn the_one_stop_systems_states_read_in_plain_words() {
        use crate::gateway::dto::SubmissionStatus;
        let texts = i18n::Catalog::new(None).expect("texts");
        let found = |code: &str, place: Option<&str>, at: Option<&str>| {
            StatusLookup::Found(SubmissionStatus {
                dossier_code: "000.00.01.H29-260105-0001".into(),
                status: code.into(),
                procedure_name: "x".into(),
                received_at: "20260105093000".into(),
                appointment: "20260108170000".into(),
                queue_number: None,
                collect_place: place.map(str::to_owned),
                collect_at: at.map(str::to_owned),
            })
        };
        let say = |a: &StatusLookup| answer_text(&texts, "en", a, Some("counter 2"));
        assert_eq!(
            say(&found("ready", Some("Quầy 3"), Some("20260106080000"))),
            (
                "The result is ready. Please collect it at Quầy 3. From 06/01/2026 08:00.".into(),
                "ok"
            )
        );
        assert_eq!(
            say(&found("ready", None, None)).0,
            "The result is ready. Please come and collect it."
        );
        assert_eq!(
            say(&found("returned", None, None)),
            (
                "Additional documents are needed. Please ask at counter 2.".into(),
                "ask"
            )
        );
        assert_eq!(say(&found("processing", None, None)).1, "ok");
        assert_eq!(say(&found("done", None, None)).1, "ok");
        // A state a newer gateway adds: the counter, as before.
        assert_eq!(
            say(&found("archived", None, None)),
            ("Please ask at counter 2.".into(), "ask")
        );
        for lang in ["vi", "en", "hmn"] {
            for code in ["processing", "ready", "returned", "done"] {
                let (text, _) = answer_text(&texts, lang, &found(code, None, None), None);
                assert!(!text.contains("lookup-"), "{lang} {code}: {text}");
            }
        }
    }
}
