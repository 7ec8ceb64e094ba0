//! The clone profiles under `profiles/`, each built in-process and read through the real
//! reader (`read_chip`, PACE-CAN, default options): the policy verdict
//! (`ChipRead::chip_verdict`) each one is made for. Every one passes passive authentication;
//! only the clone checks tell the genuine chips from the clones.

mod common;

use common::{read_profile, NOW};
use kiosk_icao9303::auth::ActiveVerdict;
use kiosk_icao9303::chip_auth::ChipAuthOutcome;
use kiosk_icao9303::lds::{self, File};
use kiosk_icao9303::pace::Password;
use kiosk_icao9303::policy::{CloneReason, CloneVerdict};
use kiosk_icao9303::reader::{read_chip, Access, ChipRead, LinkError, ReadOptions};
use kiosk_vcard::{Profile, VirtualCccd};

/// Profile file -> the clone verdict code, and whether the card is accepted.
const EXPECTED: &[(&str, &str, bool)] = &[
    ("demo.toml", "verified", true),
    ("aa-rsa.toml", "verified", true),
    ("ca.toml", "verified", true),
    ("forged-aa-rsa-clone.toml", "aa_failed", false),
    ("forged-dg15-hidden.toml", "dg_missing", false),
    ("forged-aa-refused.toml", "aa_refused", false),
    ("forged-ca-clone.toml", "ca_failed", false),
];

#[test]
fn every_clone_profile_gives_its_policy_verdict() {
    for (file, code, accepted) in EXPECTED {
        let (read, trust) = read_profile(file);
        let v = read.chip_verdict(&trust, NOW);
        assert!(v.passive.is_verified(), "{file}: {:?}", v.passive);
        assert_eq!(v.clone.code(), *code, "{file}: {:?}", v.clone);
        assert_eq!(v.accepted(), *accepted, "{file}");
        assert_eq!(v.possibly_cloned(), !*accepted, "{file}");
        // DG14 names the ECDSA hash on every profile: nothing assumed.
        assert!(v.notes.is_empty(), "{file}: {:?}", v.notes);
    }
}

/// Every profile's `[expect]`, checked in-process with the policy: `verified` when
/// `ChipVerdict::accepted`, else the reason `kioskctl card read --json` gives (the passive
/// authentication code if it failed, else the clone verdict's code).
#[test]
fn every_profile_expectation_holds_under_the_policy() {
    let mut files: Vec<String> = std::fs::read_dir(common::profiles_dir())
        .expect("profiles dir")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|f| f.ends_with(".toml"))
        .collect();
    files.sort();
    for file in &files {
        let p = Profile::load(&common::profiles_dir().join(file)).expect("profile loads");
        let expect = p.expect.unwrap_or_else(|| panic!("{file} has no [expect]"));
        let (read, trust) = read_profile(file);
        let v = read.chip_verdict(&trust, NOW);
        let (outcome, reason) = if v.accepted() {
            ("verified", None)
        } else if !v.passive.is_verified() {
            ("refused", Some(v.passive.code()))
        } else {
            ("refused", Some(v.clone.code()))
        };
        assert_eq!(outcome, expect.outcome, "{file}: {v:?}");
        assert_eq!(reason, expect.reason.as_deref(), "{file}: {v:?}");
    }
}

#[test]
fn genuine_chips_pass_each_check_they_offer() {
    // The demo card: Chip Authentication, then the files under its keys, then ECDSA AA.
    let (read, trust) = read_profile("demo.toml");
    let v = read.chip_verdict(&trust, NOW);
    assert_eq!(read.chip_auth, Some(ChipAuthOutcome::Verified));
    assert_eq!(
        v.clone,
        CloneVerdict::Verified {
            active_auth: true,
            chip_auth: true
        }
    );
    // RSA-2048 AA: the 256-byte signature comes back through GET RESPONSE.
    let (read, trust) = read_profile("aa-rsa.toml");
    let (challenge, sig) = read.active_auth.clone().expect("AA answered");
    assert_eq!((challenge.len(), sig.len()), (8, 256));
    assert_eq!(read.verify(&trust, NOW).1, ActiveVerdict::Verified);
    // CA without DG15.
    let (read, trust) = read_profile("ca.toml");
    assert!(!read.files.contains_key(&File::Dg(15)));
    assert_eq!(
        read.chip_verdict(&trust, NOW).clone,
        CloneVerdict::Verified {
            active_auth: false,
            chip_auth: true
        }
    );
}

#[test]
fn clones_are_read_to_the_end_and_refused_for_the_right_reason() {
    // The CA clone cannot speak the new keys: the reader runs PACE again and reads on, so
    // every data group is there and AA (with the genuine AA key) verifies, yet it is refused.
    let (read, trust) = read_profile("forged-ca-clone.toml");
    assert!(matches!(read.chip_auth, Some(ChipAuthOutcome::Failed(_))));
    for n in [1, 2, 13, 14, 15] {
        assert!(read.files.contains_key(&File::Dg(n)), "DG{n}");
    }
    let v = read.chip_verdict(&trust, NOW);
    assert_eq!(v.active, ActiveVerdict::Verified);
    assert!(matches!(
        v.clone,
        CloneVerdict::PossiblyCloned(CloneReason::CaFailed(_))
    ));

    let (read, trust) = read_profile("forged-dg15-hidden.toml");
    assert!(!read.files.contains_key(&File::Dg(15)));
    assert_eq!(
        read.chip_verdict(&trust, NOW).clone,
        CloneVerdict::PossiblyCloned(CloneReason::DgMissing(15))
    );

    let (read, trust) = read_profile("forged-aa-refused.toml");
    assert_eq!(read.active_auth_status, Some(0x6D00));
    assert_eq!(
        read.chip_verdict(&trust, NOW).clone,
        CloneVerdict::PossiblyCloned(CloneReason::AaRefused(0x6D00))
    );

    let (read, trust) = read_profile("forged-aa-rsa-clone.toml");
    assert!(matches!(
        read.verify(&trust, NOW).1,
        ActiveVerdict::Failed(_)
    ));
}

/// Reads the demo card driven directly (no simulated reader), with `intercept` answering some
/// commands in the card's place.
fn read_demo_with(
    faults: impl FnOnce(&mut Profile),
    intercept: impl Fn(&[u8]) -> Option<Vec<u8>>,
) -> (ChipRead, Vec<Vec<u8>>) {
    let mut p = Profile::load(&common::profiles_dir().join("demo.toml")).expect("profile");
    faults(&mut p);
    let (mut card, trust) = VirtualCccd::from_profile(&p).expect("card");
    let mut transport = |apdu: &[u8]| -> Result<Vec<u8>, LinkError> {
        Ok(intercept(apdu).unwrap_or_else(|| card.process(apdu)))
    };
    let mut rng = rand::rng();
    let mut fill = |b: &mut [u8]| rand::Rng::fill_bytes(&mut rng, b);
    let access = Access::Pace {
        password: Password::can_from_id("001090123456").expect("id"),
        bac_fallback: None,
    };
    let read = read_chip(&mut transport, &access, &ReadOptions::default(), &mut fill)
        .expect("the read goes on after a refused Chip Authentication");
    (read, vec![trust.csca_der])
}

#[test]
fn a_chip_that_refuses_chip_authentication_is_read_on_and_refused() {
    // Refused under secure messaging: the session survives, the read goes on on the PACE keys.
    let (read, trust) = read_demo_with(|p| p.faults.ca_refused = true, |_| None);
    assert_eq!(read.chip_auth, Some(ChipAuthOutcome::Refused(0x6A80)));
    let v = read.chip_verdict(&trust, NOW);
    assert_eq!(v.active, ActiveVerdict::Verified);
    assert_eq!(
        v.clone,
        CloneVerdict::PossiblyCloned(CloneReason::CaRefused(0x6A80))
    );
    let direct_apdus = read.apdus;

    // Refused with a plain status word (the chip dropped secure messaging): PACE runs again.
    let (read, trust) = read_demo_with(
        |_| {},
        |apdu| {
            apdu.starts_with(&[0x0C, 0x22, 0x41, 0xA4])
                .then(|| vec![0x69, 0x85])
        },
    );
    assert_eq!(read.chip_auth, Some(ChipAuthOutcome::Refused(0x6985)));
    for n in [1, 2, 13, 14, 15] {
        assert!(read.files.contains_key(&File::Dg(n)), "DG{n}");
    }
    assert!(read.apdus > direct_apdus, "access control ran again");
    assert_eq!(read.chip_verdict(&trust, NOW).clone.code(), "ca_refused");

    // A read that skipped Chip Authentication: the policy still asks for it.
    let (read, trust) = read_demo_with(|_| {}, |_| None);
    assert_eq!(read.chip_auth, Some(ChipAuthOutcome::Verified));
    let mut skipped = read.clone();
    skipped.chip_auth = None;
    assert_eq!(
        skipped.chip_verdict(&trust, NOW).clone,
        CloneVerdict::PossiblyCloned(CloneReason::CaNotPerformed)
    );
}

#[test]
fn ecdsa_active_authentication_uses_the_hash_dg14_names() {
    let (read, trust) = read_demo_with(|p| p.chip.aa = "ecdsa-sha512".into(), |_| None);
    assert!(read.chip_verdict(&trust, NOW).accepted());
    // The same answer checked with SHA-256 (DG14 ignored) fails.
    let dg15 = lds::parse_dg15(&read.files[&File::Dg(15)]).expect("dg15");
    let (challenge, sig) = read.active_auth.clone().expect("AA answered");
    assert!(matches!(
        kiosk_icao9303::auth::verify_active_authentication(&dg15, &challenge, &sig),
        ActiveVerdict::Failed(_)
    ));
}

#[test]
fn chip_authentication_costs_three_apdus() {
    // MSE:Set AT, GENERAL AUTHENTICATE, and the one-byte read that confirms the new keys.
    let (with_ca, _) = read_demo_with(|_| {}, |_| None);
    let (without_ca, _) = read_demo_with(|p| p.chip.chip_authentication = false, |_| None);
    assert_eq!(with_ca.chip_auth, Some(ChipAuthOutcome::Verified));
    assert_eq!(without_ca.chip_auth, None);
    assert_eq!(with_ca.apdus, without_ca.apdus + 3);
    eprintln!(
        "demo card, PACE-CAN, 223-byte reads: {} APDUs with Chip Authentication, {} without",
        with_ca.apdus, without_ca.apdus
    );
}

#[test]
fn chip_authentication_with_every_cipher() {
    for cipher in ["3des", "aes128", "aes192", "aes256"] {
        let (read, trust) = read_demo_with(|p| p.chip.chip_auth_cipher = cipher.into(), |_| None);
        assert_eq!(read.chip_auth, Some(ChipAuthOutcome::Verified), "{cipher}");
        assert!(read.chip_verdict(&trust, NOW).accepted(), "{cipher}");
        let (read, _) = read_demo_with(
            |p| {
                p.chip.chip_auth_cipher = cipher.into();
                p.faults.ca_key_mismatch = true;
            },
            |_| None,
        );
        assert!(
            matches!(read.chip_auth, Some(ChipAuthOutcome::Failed(_))),
            "{cipher}: {:?}",
            read.chip_auth
        );
    }
}

/// A chip that ends secure messaging after Chip Authentication (a plain status word to a
/// protected READ BINARY): the read re-opens the session with PACE and runs Chip
/// Authentication again before it reads on, so no file comes over keys a clone could share.
/// If the re-opened session's Chip Authentication is refused, that refusal is the verdict.
#[test]
fn chip_authentication_runs_again_when_secure_messaging_is_reopened() {
    use std::cell::Cell;
    const CA_SET_AT: [u8; 4] = [0x0C, 0x22, 0x41, 0xA4];
    let read_with = |refuse_second_ca: bool| {
        let ca_runs = Cell::new(0u32);
        let dropped = Cell::new(false);
        let (read, trust) = read_demo_with(
            |_| {},
            |apdu| {
                if apdu.starts_with(&CA_SET_AT) {
                    ca_runs.set(ca_runs.get() + 1);
                    if refuse_second_ca && ca_runs.get() == 2 {
                        return Some(vec![0x69, 0x85]);
                    }
                }
                // The first protected READ BINARY by offset after Chip Authentication (DG2's
                // second block) is answered in plain.
                let by_offset = apdu.len() > 3 && apdu[..2] == [0x0C, 0xB0] && apdu[2] & 0x80 == 0;
                if ca_runs.get() == 1 && by_offset && !dropped.get() {
                    dropped.set(true);
                    return Some(vec![0x69, 0x88]);
                }
                None
            },
        );
        assert!(
            dropped.get(),
            "the chip dropped secure messaging after Chip Authentication"
        );
        (read, trust, ca_runs.get())
    };

    let (read, trust, ca_runs) = read_with(false);
    assert_eq!(
        ca_runs, 2,
        "Chip Authentication ran again on the re-opened session"
    );
    assert!(read.sm_restarts >= 1);
    assert_eq!(read.chip_auth, Some(ChipAuthOutcome::Verified));
    for n in [1, 2, 13, 14, 15] {
        assert!(read.files.contains_key(&File::Dg(n)), "DG{n}");
    }
    assert!(read.chip_verdict(&trust, NOW).accepted());

    let (read, trust, _) = read_with(true);
    assert_eq!(read.chip_auth, Some(ChipAuthOutcome::Refused(0x6985)));
    assert!(read.files.contains_key(&File::Dg(2)), "read to the end");
    assert_eq!(read.chip_verdict(&trust, NOW).clone.code(), "ca_refused");
}
