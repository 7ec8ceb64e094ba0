//! Property tests of the classifier, driven by a seeded generator so CI is bounded and
//! reproducible (`QR_PROPTEST_CASES` raises the case count; the coverage-guided fuzz target
//! in `fuzz/` explores further on demand).

use kiosk_qr::synthetic::{SplitMix, SyntheticCitizen};
use kiosk_qr::{classify, classify_bytes, ClassifyError, ExpiryCandidates, Payload};
use unicode_normalization::UnicodeNormalization as _;

fn cases() -> u64 {
    std::env::var("QR_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000)
}

/// Checks what must hold for every input, whatever it is classified as.
fn check_invariants(input: &str, result: &Result<Payload, ClassifyError>) {
    match result {
        Ok(Payload::Cccd(q)) => {
            let id = q.id_number().expose();
            assert!(
                id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()),
                "{input:?}"
            );
            let a = q.chip_access();
            assert_eq!(a.can.expose(), &id[6..]);
            assert_eq!(a.document_number.expose(), &id[3..]);
            assert_eq!(a.date_of_birth.expose().len(), 6);
            let name = q.full_name().expose();
            assert!(!name.is_empty() && name.nfc().collect::<String>() == *name);
            if let ExpiryCandidates::Dates(d) = &a.expiry {
                assert!(!d.expose().is_empty() && d.expose().iter().all(|s| s.len() == 6));
            }
            let debug = format!("{q:?}{a:?}");
            assert!(!debug.contains(id.as_str()), "personal data in Debug");
        }
        Ok(_) => {}
        Err(e) => {
            let msg = e.to_string();
            assert!(!msg.is_empty());
            // Messages are about fields, never the scanned text.
            if input.len() >= 12 && input.len() <= 40 {
                assert!(!msg.contains(input), "{msg}");
            }
        }
    }
}

#[test]
fn synthetic_citizens_round_trip_also_decomposed_and_with_extra_fields() {
    for seed in 0..cases() {
        let c = SyntheticCitizen::generate(seed);
        let mut text = c.qr_text();
        let mut rng = SplitMix(seed);
        if rng.below(2) == 0 {
            text = text.nfd().collect();
        }
        let extra = rng.below(3);
        for _ in 0..extra {
            text.push_str("|extra");
        }
        if rng.below(4) == 0 {
            text.push_str("\r\n");
        }
        let result = classify(&text);
        check_invariants(&text, &result);
        let Ok(Payload::Cccd(q)) = result else {
            panic!("seed {seed}: {result:?}");
        };
        assert_eq!(q.id_number().expose(), &c.id_number);
        assert_eq!(q.full_name().expose(), &c.full_name);
        assert_eq!(
            q.address().map(|a| a.expose().clone()),
            Some(c.address.clone())
        );
        assert_eq!(q.extra_fields() as u64, extra);
        assert_eq!(q.chip_access().can.expose(), c.can());
    }
}

const ALPHABET: &[&str] = &[
    "|",
    "|",
    "|",
    "0",
    "1",
    "9",
    "2",
    "Nam",
    "Nữ",
    "N",
    "ữ",
    "\u{303}",
    "a",
    " ",
    "\r",
    "\n",
    "\u{0}",
    "\u{7f}",
    "VNKIOSK1",
    "VNKIOSK",
    "R",
    "E",
    "https://",
    "01011990",
    "29021900",
    "001090123456",
    "\u{FEFF}",
    "😀",
    "\u{202E}",
];

#[test]
fn random_texts_and_bytes_never_panic() {
    for seed in 0..cases() {
        let mut rng = SplitMix(seed ^ 0xDEAD_BEEF);
        let len = rng.below(40) as usize;
        let text: String = (0..len)
            .map(|_| ALPHABET[rng.below(ALPHABET.len() as u64) as usize])
            .collect();
        let r = classify(&text);
        check_invariants(&text, &r);
        let n = rng.below(300) as usize;
        let bytes: Vec<u8> = (0..n).map(|_| rng.below(256) as u8).collect();
        let r = classify_bytes(&bytes);
        if let Ok(s) = std::str::from_utf8(&bytes) {
            check_invariants(s, &r);
        }
    }
}

#[test]
fn mutated_cccd_codes_classify_or_name_a_field() {
    for seed in 0..cases() {
        let mut rng = SplitMix(seed ^ 0x0BAD_C0DE);
        let mut chars: Vec<char> = SyntheticCitizen::generate(seed).qr_text().chars().collect();
        for _ in 0..1 + rng.below(3) {
            let at = rng.below(chars.len() as u64 + 1) as usize;
            let c = ['|', '3', 'x', ' ', '\u{301}', '\n'][rng.below(6) as usize];
            match rng.below(3) {
                0 if at < chars.len() => {
                    chars.remove(at);
                }
                1 if at < chars.len() => chars[at] = c,
                _ => chars.insert(at, c),
            }
        }
        let text: String = chars.into_iter().collect();
        let r = classify(&text);
        check_invariants(&text, &r);
        // With six fields left it is still recognised as a CCCD code (good or naming a field).
        if text.trim().split('|').count() >= 6 {
            assert!(
                matches!(r, Ok(Payload::Cccd(_)) | Err(ClassifyError::Cccd(_))),
                "{text:?}: {r:?}"
            );
        }
        assert!(!matches!(
            r,
            Ok(Payload::Receipt(_) | Payload::Enrolment(_))
        ));
    }
}

#[test]
fn very_long_payloads_are_refused_cheaply() {
    let long = format!("{}|{}", "1".repeat(12), "A".repeat(1_000_000));
    assert!(matches!(
        classify(&long),
        Err(ClassifyError::Unrecognised(_))
    ));
    assert!(classify_bytes(long.as_bytes()).is_err());
}
