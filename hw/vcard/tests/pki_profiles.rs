//! Every profile file under `profiles/`, built in-process and read through the real reader
//! (`read_chip` over the simulated PC/SC reader, PACE-CAN): the passive authentication
//! verdict each one is made for. A new profile needs a row here.

use std::path::PathBuf;
use std::time::Duration;

use kiosk_hw::card::{CardReader, SimCardReader};
use kiosk_icao9303::pace::Password;
use kiosk_icao9303::reader::{read_chip, Access, LinkError, ReadOptions};
use kiosk_vcard::{Profile, VirtualCccd};

const NOW: &str = "20260601000000";

/// Profile file -> the verdict code passive authentication must give.
const EXPECTED: &[(&str, &str)] = &[
    ("demo.toml", "verified"),
    ("rsa3072.toml", "verified"),
    ("rsa4096-pss.toml", "verified"),
    ("p384.toml", "verified"),
    ("bp384.toml", "verified"),
    ("bp512.toml", "verified"),
    ("forged-pss-huge-salt.toml", "signature_invalid"),
    ("forged-csca-expired.toml", "csca_expired"),
    ("forged-csca-not-ca.toml", "csca_not_ca"),
    ("forged-sod-sha1.toml", "weak_algorithm"),
    ("forged-econtent-type.toml", "econtent_type_wrong"),
    ("forged-ds-key-usage.toml", "ds_key_usage"),
    ("forged-ds-algorithm-mismatch.toml", "algorithm_mismatch"),
];

fn profiles_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("profiles")
}

fn verdict_of(file: &str) -> String {
    let p = Profile::load(&profiles_dir().join(file)).expect("profile loads");
    let (card, trust) = VirtualCccd::from_profile(&p).expect("profile builds");
    let mut reader = SimCardReader::new("sim");
    reader.control().insert(Box::new(card));
    reader.wait_for_change(Duration::ZERO).expect("presence");
    let mut transport = |apdu: &[u8]| -> Result<Vec<u8>, LinkError> { Ok(reader.transmit(apdu)?) };
    let mut rng = rand::rng();
    let mut fill = |b: &mut [u8]| rand::RngCore::fill_bytes(&mut rng, b);
    let access = Access::Pace {
        password: Password::can_from_id(&p.holder.id_number).expect("id"),
        bac_fallback: None,
    };
    let read = read_chip(&mut transport, &access, &ReadOptions::default(), &mut fill)
        .unwrap_or_else(|e| panic!("{file}: read fails: {e}"));
    let (pa, _) = read.verify(&[trust.csca_der], NOW);
    pa.code().to_string()
}

#[test]
fn every_profile_gives_its_verdict() {
    for (file, expected) in EXPECTED {
        assert_eq!(verdict_of(file), *expected, "{file}");
    }
}

#[test]
fn every_profile_file_has_an_expected_verdict() {
    let mut files: Vec<String> = std::fs::read_dir(profiles_dir())
        .expect("profiles dir")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|f| f.ends_with(".toml"))
        .collect();
    files.sort();
    let mut known: Vec<String> = EXPECTED.iter().map(|(f, _)| (*f).to_string()).collect();
    known.sort();
    assert_eq!(files, known);
}

#[test]
fn a_pss_fault_without_a_pss_ds_is_a_profile_error() {
    let mut p = Profile::load(&profiles_dir().join("p384.toml")).expect("profile loads");
    p.faults.pss_huge_salt = true;
    assert!(VirtualCccd::from_profile(&p).is_err());
    p.faults.pss_huge_salt = false;
    p.pki.csca = "ecdsa-p999-sha256".into();
    assert!(VirtualCccd::from_profile(&p).is_err());
}
