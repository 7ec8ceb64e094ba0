//! The dossier form of the `Confirm` step: what the citizen adds to the chip identity before
//! submitting, page by page, and the review page with "Change" on every row.
//!
//! Pure like the rest of [`crate::session`]: events in, a new form and at most one message key
//! out. The chip's fields (name, ID, date of birth, sex, address, place of origin) are not
//! here: they are read-only and come from the [`super::Citizen`]; this form holds only what
//! the citizen enters: a phone number, the address's province and ward (codes of the
//! administrative units after the 2025 reform, resolved to names by the shell), the house
//! number and street typed on the on-screen keyboard (optional, see [`is_street_line`]), how
//! to receive the result, or at a hospital an optional reason for the visit.
//!
//! One-stop shop: `Phone -> Province -> Ward -> Street -> Delivery -> Review`.
//! Hospital: `Reason -> Review`.
//! From `Review`, "Change" on a row ([`FormEvent::Change`]) opens that page; finishing it
//! returns to `Review` rather than walking the following pages again.

use kiosk_hw::personal::Personal;

use crate::vnkey::{self, KeyInput};

/// Which form a kiosk shows: set by the kiosk's mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FormKind {
    /// An administrative procedure at a one-stop shop.
    #[default]
    Office,
    /// A clinic registration at a hospital.
    Clinic,
}

/// A page of the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FormPage {
    /// The phone number, on a numeric keypad.
    Phone,
    /// The province (or centrally governed city) of the contact address.
    Province,
    /// The ward or commune in that province.
    Ward,
    /// The house number and street (or hamlet), typed on the on-screen keyboard.
    Street,
    /// How the result is received.
    Delivery,
    /// Hospital: why the citizen comes (optional).
    Reason,
    /// Everything on one page, a "Change" button per row, then submit.
    Review,
}

impl FormPage {
    /// The page's name in the `Kiosk.form-page` adapter property and in message keys.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Phone => "phone",
            Self::Province => "province",
            Self::Ward => "ward",
            Self::Street => "street",
            Self::Delivery => "delivery",
            Self::Reason => "reason",
            Self::Review => "review",
        }
    }

    /// The page named `name` (the inverse of [`FormPage::name`]).
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        [
            Self::Phone,
            Self::Province,
            Self::Ward,
            Self::Street,
            Self::Delivery,
            Self::Reason,
            Self::Review,
        ]
        .into_iter()
        .find(|p| p.name() == name)
    }
}

/// How the citizen receives the result of a procedure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Delivery {
    /// At the one-stop-shop counter.
    Counter,
    /// By public post (bưu chính công ích) to the address given.
    Post,
    /// In the VNeID application.
    VneId,
}

impl Delivery {
    /// Every choice, in display order.
    pub const ALL: [Self; 3] = [Self::Counter, Self::Post, Self::VneId];

    /// Stable code: adapter, message keys (`delivery-<code>`) and the wire.
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Self::Counter => "counter",
            Self::Post => "post",
            Self::VneId => "vneid",
        }
    }

    /// The choice with `code`.
    #[must_use]
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.code() == code)
    }
}

/// The preset reasons for a hospital visit: chips, no free text.
pub const VISIT_REASONS: [&str; 5] = ["fever", "pain", "cough", "checkup", "follow-up"];

/// What the citizen does on the form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormEvent {
    /// A phone keypad digit (0-9).
    PhoneDigit(u8),
    /// Erase the last phone digit.
    PhoneErase,
    /// A province chosen, by its code in the administrative-units data.
    Province(u32),
    /// A ward or commune chosen, by its code.
    Ward(u32),
    /// How to receive the result.
    Delivery(Delivery),
    /// A visit reason chip tapped (tapping the chosen one again clears it).
    Reason(String),
    /// "Next" on the current page (the phone is checked here).
    Next,
    /// "Change" on a review row: opens that page.
    Change(FormPage),
    /// A key of the on-screen keyboard on the street page (Telex, see [`crate::vnkey`]).
    Key(KeyInput),
}

/// What [`DossierForm::handle`] tells the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormOutcome {
    /// The form changed (or not); nothing to say.
    Quiet,
    /// Stay and show/say this message key (e.g. an invalid phone number).
    Message(&'static str),
}

/// Message keys of the form.
pub mod keys {
    #![allow(missing_docs)] // each constant is its own text
    pub const PHONE_INVALID: &str = "phone-invalid";
    pub const CHOOSE_PROVINCE: &str = "choose-province";
    pub const CHOOSE_WARD: &str = "choose-ward";
    pub const CHOOSE_DELIVERY: &str = "choose-delivery";
    pub const STREET_INVALID: &str = "street-invalid";
}

/// The most characters of the house number and street line.
pub const STREET_MAX_CHARS: usize = 80;

/// Characters the street line takes besides letters, digits and spaces: `12/3 Lê Lợi`,
/// `Số 5, ngõ 7`, `Tổ 3 - Khu 2`.
const STREET_PUNCTUATION: [char; 4] = [',', '.', '/', '-'];

/// Whether `c` may be typed into the street line.
#[must_use]
pub fn street_char(c: char) -> bool {
    c.is_alphabetic() || c.is_ascii_digit() || c == ' ' || STREET_PUNCTUATION.contains(&c)
}

/// The house number and street line: optional (empty is valid: in a village the ward and the
/// hamlet's name, or nothing, is the address people use, and the counter and VNeID need no
/// more), else at most [`STREET_MAX_CHARS`] characters of [`street_char`] with at least one
/// letter or digit.
#[must_use]
pub fn is_street_line(s: &str) -> bool {
    let t = s.trim();
    t.is_empty()
        || (t.chars().count() <= STREET_MAX_CHARS
            && t.chars().all(street_char)
            && t.chars().any(char::is_alphanumeric))
}

/// The most digits a Vietnamese mobile number has (`0` + 9 digits).
const PHONE_DIGITS: usize = 10;

/// A Vietnamese mobile number as typed at the kiosk: `0`, then a network prefix digit
/// (3, 5, 7, 8 or 9 since the 2018 renumbering), then 8 digits. Landlines (`02x`) are not
/// accepted: the number is for SMS notices about the dossier.
#[must_use]
pub fn is_vn_mobile(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == PHONE_DIGITS
        && b.iter().all(u8::is_ascii_digit)
        && b[0] == b'0'
        && matches!(b[1], b'3' | b'5' | b'7' | b'8' | b'9')
}

/// The form's data and the page shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DossierForm {
    kind: FormKind,
    page: FormPage,
    /// True once the review page was reached: a finished page then returns to it.
    reviewed: bool,
    phone: Personal<String>,
    province: Option<u32>,
    ward: Option<u32>,
    street: Personal<String>,
    delivery: Option<Delivery>,
    reason: Option<String>,
}

/// What the citizen entered, handed over with the dossier (and shown on the review page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormData {
    /// Mobile number, 10 digits (empty at a hospital).
    pub phone: Personal<String>,
    /// Province code of the contact address.
    pub province: Option<u32>,
    /// Ward or commune code of the contact address.
    pub ward: Option<u32>,
    /// House number and street of the contact address, as typed (NFC; may be empty).
    pub street: Personal<String>,
    /// How the result is received (one-stop shop).
    pub delivery: Option<Delivery>,
    /// The visit reason code (hospital), one of [`VISIT_REASONS`].
    pub reason: Option<String>,
}

impl DossierForm {
    /// A fresh form on its first page.
    #[must_use]
    pub fn new(kind: FormKind) -> Self {
        Self {
            kind,
            page: match kind {
                FormKind::Office => FormPage::Phone,
                FormKind::Clinic => FormPage::Reason,
            },
            reviewed: false,
            phone: Personal::new(String::new()),
            province: None,
            ward: None,
            street: Personal::new(String::new()),
            delivery: None,
            reason: None,
        }
    }

    /// The page shown.
    #[must_use]
    pub fn page(&self) -> FormPage {
        self.page
    }

    /// True on the review page: the only page from which the dossier is submitted.
    #[must_use]
    pub fn ready(&self) -> bool {
        self.page == FormPage::Review
    }

    /// What was entered so far.
    #[must_use]
    pub fn data(&self) -> FormData {
        FormData {
            phone: self.phone.clone(),
            province: self.province,
            ward: self.ward,
            street: self.street.map(|s| s.trim().to_owned()),
            delivery: self.delivery,
            reason: self.reason.clone(),
        }
    }

    fn pages(&self) -> &'static [FormPage] {
        match self.kind {
            FormKind::Office => &[
                FormPage::Phone,
                FormPage::Province,
                FormPage::Ward,
                FormPage::Street,
                FormPage::Delivery,
                FormPage::Review,
            ],
            FormKind::Clinic => &[FormPage::Reason, FormPage::Review],
        }
    }

    /// The page after the current one (review once reviewed, except that a new province
    /// always asks for its ward).
    fn advance(&mut self) {
        let next = if self.reviewed && !(self.page == FormPage::Province && self.ward.is_none()) {
            FormPage::Review
        } else {
            let pages = self.pages();
            let i = pages.iter().position(|p| *p == self.page).unwrap_or(0);
            pages.get(i + 1).copied().unwrap_or(FormPage::Review)
        };
        if next == FormPage::Review {
            self.reviewed = true;
        }
        self.page = next;
    }

    /// "Back": the previous page; `false` on the first page (the session then goes back to
    /// the list of services). From a page opened by "Change", back is the review page.
    pub fn back(&mut self) -> bool {
        if self.reviewed && self.page != FormPage::Review {
            self.page = FormPage::Review;
            return true;
        }
        let pages = self.pages();
        match pages.iter().position(|p| *p == self.page) {
            Some(i) if i > 0 => {
                self.page = pages[i - 1];
                true
            }
            _ => false,
        }
    }

    /// One event of the citizen on the current page. Events for another page are ignored.
    pub fn handle(&mut self, ev: FormEvent) -> FormOutcome {
        match (self.page, ev) {
            (FormPage::Phone, FormEvent::PhoneDigit(d))
                if d <= 9 && self.phone.expose().len() < PHONE_DIGITS =>
            {
                self.phone = self.phone.map(|p| {
                    let mut p = p.clone();
                    p.push(char::from(b'0' + d));
                    p
                });
            }
            (FormPage::Phone, FormEvent::PhoneErase) => {
                self.phone = self.phone.map(|p| {
                    let mut p = p.clone();
                    p.pop();
                    p
                });
            }
            (FormPage::Phone, FormEvent::Next) => {
                if !is_vn_mobile(self.phone.expose()) {
                    return FormOutcome::Message(keys::PHONE_INVALID);
                }
                self.advance();
            }
            (FormPage::Province, FormEvent::Province(code)) => {
                if self.province != Some(code) {
                    // A ward belongs to one province: a new province needs a new ward.
                    self.ward = None;
                }
                self.province = Some(code);
                self.advance();
            }
            (FormPage::Province, FormEvent::Next) => match self.province {
                Some(_) => self.advance(),
                None => return FormOutcome::Message(keys::CHOOSE_PROVINCE),
            },
            (FormPage::Ward, FormEvent::Ward(code)) => {
                self.ward = Some(code);
                self.advance();
            }
            (FormPage::Ward, FormEvent::Next) => match self.ward {
                Some(_) => self.advance(),
                None => return FormOutcome::Message(keys::CHOOSE_WARD),
            },
            (FormPage::Street, FormEvent::Key(key)) => {
                if matches!(key, KeyInput::Char(c) if !street_char(c)) {
                    return FormOutcome::Quiet;
                }
                let field = vnkey::Field {
                    mode: vnkey::Mode::Telex,
                    max_chars: STREET_MAX_CHARS,
                };
                self.street = self.street.map(|s| vnkey::apply(s, key, field));
            }
            (FormPage::Street, FormEvent::Next) => {
                if !is_street_line(self.street.expose()) {
                    return FormOutcome::Message(keys::STREET_INVALID);
                }
                self.advance();
            }
            (FormPage::Delivery, FormEvent::Delivery(d)) => {
                self.delivery = Some(d);
                self.advance();
            }
            (FormPage::Delivery, FormEvent::Next) => match self.delivery {
                Some(_) => self.advance(),
                None => return FormOutcome::Message(keys::CHOOSE_DELIVERY),
            },
            (FormPage::Reason, FormEvent::Reason(r)) if VISIT_REASONS.contains(&r.as_str()) => {
                self.reason = if self.reason.as_deref() == Some(r.as_str()) {
                    None
                } else {
                    Some(r)
                };
            }
            // The reason is optional: "Next" with none chosen is fine.
            (FormPage::Reason, FormEvent::Next) => self.advance(),
            (FormPage::Review, FormEvent::Change(page))
                if page != FormPage::Review && self.pages().contains(&page) =>
            {
                self.page = page;
            }
            _ => {}
        }
        FormOutcome::Quiet
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(form: &mut DossierForm, digits: &str) {
        for d in digits.bytes() {
            form.handle(FormEvent::PhoneDigit(d - b'0'));
        }
    }

    #[test]
    fn vn_mobile_numbers() {
        for ok in [
            "0912345678",
            "0387654321",
            "0567890123",
            "0701234567",
            "0861234567",
        ] {
            assert!(is_vn_mobile(ok), "{ok}");
        }
        for bad in [
            "",
            "091234567",   // 9 digits
            "09123456789", // 11 digits
            "0212345678",  // landline prefix
            "0112345678",
            "0412345678",
            "1912345678", // no leading 0
            "09123x5678",
        ] {
            assert!(!is_vn_mobile(bad), "{bad}");
        }
    }

    #[test]
    fn office_form_walks_its_pages_and_checks_the_phone() {
        let mut f = DossierForm::new(FormKind::Office);
        assert_eq!(f.page(), FormPage::Phone);
        typed(&mut f, "091234567");
        assert_eq!(
            f.handle(FormEvent::Next),
            FormOutcome::Message(keys::PHONE_INVALID)
        );
        assert_eq!(f.page(), FormPage::Phone, "an invalid number stays");
        typed(&mut f, "89"); // the 11th digit is refused
        assert_eq!(f.data().phone.expose(), "0912345678");
        f.handle(FormEvent::PhoneErase);
        typed(&mut f, "8");
        assert_eq!(f.handle(FormEvent::Next), FormOutcome::Quiet);
        assert_eq!(f.page(), FormPage::Province);
        assert_eq!(
            f.handle(FormEvent::Next),
            FormOutcome::Message(keys::CHOOSE_PROVINCE)
        );
        f.handle(FormEvent::Ward(7)); // not this page's event
        assert_eq!(f.data().ward, None);
        f.handle(FormEvent::Province(12));
        assert_eq!(f.page(), FormPage::Ward);
        f.handle(FormEvent::Ward(3380));
        assert_eq!(f.page(), FormPage::Street);
        keys_typed(&mut f, "12 Lee Lowij");
        assert_eq!(f.handle(FormEvent::Next), FormOutcome::Quiet);
        assert_eq!(f.page(), FormPage::Delivery);
        assert!(!f.ready());
        f.handle(FormEvent::Delivery(Delivery::Post));
        assert!(f.ready());
        let d = f.data();
        assert_eq!(
            (d.province, d.ward, d.delivery),
            (Some(12), Some(3380), Some(Delivery::Post))
        );
        assert_eq!(d.street.expose(), "12 Lê Lợi");
    }

    fn keys_typed(form: &mut DossierForm, text: &str) {
        for c in text.chars() {
            form.handle(FormEvent::Key(KeyInput::Char(c)));
        }
    }

    #[test]
    fn street_is_optional_typed_with_telex_and_checked() {
        let mut f = DossierForm::new(FormKind::Office);
        typed(&mut f, "0912345678");
        f.handle(FormEvent::Next);
        f.handle(FormEvent::Province(12));
        f.handle(FormEvent::Ward(3380));
        assert_eq!(f.page(), FormPage::Street);
        // Empty is fine: on to the delivery.
        assert_eq!(f.handle(FormEvent::Next), FormOutcome::Quiet);
        assert_eq!(f.page(), FormPage::Delivery);
        assert!(f.back());
        // Characters outside the rule are refused as typed; the line keeps its limit.
        keys_typed(&mut f, "Soos 5@, ngox 7#");
        assert_eq!(f.data().street.expose(), "Số 5, ngõ 7");
        f.handle(FormEvent::Key(KeyInput::Clear));
        keys_typed(&mut f, &"1".repeat(100));
        assert_eq!(f.data().street.expose().len(), STREET_MAX_CHARS);
        f.handle(FormEvent::Key(KeyInput::Clear));
        // Punctuation alone is not an address.
        keys_typed(&mut f, " , ");
        assert_eq!(
            f.handle(FormEvent::Next),
            FormOutcome::Message(keys::STREET_INVALID)
        );
        f.handle(FormEvent::Key(KeyInput::Backspace));
        f.handle(FormEvent::Key(KeyInput::Backspace));
        keys_typed(&mut f, "Thoon Nam Cuwowngf");
        assert_eq!(f.handle(FormEvent::Next), FormOutcome::Quiet);
        assert_eq!(f.data().street.expose(), "Thôn Nam Cường", "trimmed");
        // Keys on another page change nothing.
        keys_typed(&mut f, "abc");
        assert_eq!(f.data().street.expose(), "Thôn Nam Cường");
    }

    #[test]
    fn street_lines() {
        for ok in [
            "",
            "  ",
            "12 Lê Lợi",
            "Số 5/2, ngõ 7",
            "Tổ 3 - Khu 2",
            "Bản Nà Khoang",
        ] {
            assert!(is_street_line(ok), "{ok}");
        }
        for bad in [",", "- / .", "12 Lê Lợi;", "<b>", &"a".repeat(81)] {
            assert!(!is_street_line(bad), "{bad}");
        }
    }

    #[test]
    fn change_from_review_returns_to_review() {
        let mut f = DossierForm::new(FormKind::Office);
        typed(&mut f, "0912345678");
        f.handle(FormEvent::Next);
        f.handle(FormEvent::Province(12));
        f.handle(FormEvent::Ward(3380));
        f.handle(FormEvent::Next);
        f.handle(FormEvent::Delivery(Delivery::Counter));
        assert!(f.ready());
        // Change the delivery: one tap and back on the review page.
        f.handle(FormEvent::Change(FormPage::Delivery));
        assert_eq!(f.page(), FormPage::Delivery);
        f.handle(FormEvent::Delivery(Delivery::VneId));
        assert_eq!(f.page(), FormPage::Review);
        // Change the province: its ward must be chosen again, then review.
        f.handle(FormEvent::Change(FormPage::Province));
        f.handle(FormEvent::Province(1));
        assert_eq!(f.page(), FormPage::Ward);
        assert_eq!(f.data().ward, None);
        f.handle(FormEvent::Ward(4));
        assert_eq!(f.page(), FormPage::Review);
        // The street line has its own "Change".
        f.handle(FormEvent::Change(FormPage::Street));
        assert_eq!(f.page(), FormPage::Street);
        f.handle(FormEvent::Key(KeyInput::Char('9')));
        f.handle(FormEvent::Next);
        assert_eq!(f.page(), FormPage::Review);
        assert_eq!(f.data().street.expose(), "9");
        // The same province again keeps its ward.
        f.handle(FormEvent::Change(FormPage::Province));
        f.handle(FormEvent::Province(1));
        assert_eq!((f.page(), f.data().ward), (FormPage::Review, Some(4)));
        // Back from a changed page is the review page, not the page before it.
        f.handle(FormEvent::Change(FormPage::Phone));
        assert!(f.back());
        assert_eq!(f.page(), FormPage::Review);
        // A hospital page is not part of this form.
        f.handle(FormEvent::Change(FormPage::Reason));
        assert_eq!(f.page(), FormPage::Review);
    }

    #[test]
    fn back_walks_pages_until_the_first() {
        let mut f = DossierForm::new(FormKind::Office);
        typed(&mut f, "0912345678");
        f.handle(FormEvent::Next);
        assert!(f.back());
        assert_eq!(f.page(), FormPage::Phone);
        assert_eq!(f.data().phone.expose(), "0912345678", "kept for correction");
        assert!(!f.back(), "the first page: the session leaves the form");
    }

    #[test]
    fn clinic_form_reason_is_optional_and_toggles() {
        let mut f = DossierForm::new(FormKind::Clinic);
        assert_eq!(f.page(), FormPage::Reason);
        f.handle(FormEvent::Reason("made-up".into()));
        assert_eq!(f.data().reason, None, "only preset reasons");
        f.handle(FormEvent::Reason("fever".into()));
        assert_eq!(f.data().reason.as_deref(), Some("fever"));
        f.handle(FormEvent::Reason("fever".into()));
        assert_eq!(f.data().reason, None, "tapping again clears it");
        f.handle(FormEvent::Reason("cough".into()));
        f.handle(FormEvent::Next);
        assert!(f.ready());
        f.handle(FormEvent::Change(FormPage::Reason));
        f.handle(FormEvent::Next);
        assert!(f.ready());
        f.handle(FormEvent::Change(FormPage::Phone));
        assert!(f.ready(), "no phone page at a hospital");
        assert_eq!(f.data().reason.as_deref(), Some("cough"));
    }

    #[test]
    fn page_and_delivery_names_round_trip() {
        for p in [
            FormPage::Phone,
            FormPage::Province,
            FormPage::Ward,
            FormPage::Street,
            FormPage::Delivery,
            FormPage::Reason,
            FormPage::Review,
        ] {
            assert_eq!(FormPage::from_name(p.name()), Some(p));
        }
        for d in Delivery::ALL {
            assert_eq!(Delivery::from_code(d.code()), Some(d));
        }
        assert_eq!(Delivery::from_code("fax"), None);
    }
}
