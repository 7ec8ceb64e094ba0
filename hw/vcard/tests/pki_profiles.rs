//! Every profile file under `profiles/`, built in-process and read through the real reader
//! (`read_chip` over the simulated PC/SC reader, PACE-CAN): the passive authentication
//! verdict each one is made for. A new profile needs a row here.

mod common;

use common::{profiles_dir, read_profile, NOW};
use kiosk_vcard::{Profile, VirtualCccd};

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
    // The clone profiles (tests/clone_profiles.rs): passive authentication passes them all.
    ("aa-rsa.toml", "verified"),
    ("ca.toml", "verified"),
    ("forged-aa-rsa-clone.toml", "verified"),
    ("forged-dg15-hidden.toml", "verified"),
    ("forged-aa-refused.toml", "verified"),
    ("forged-ca-clone.toml", "verified"),
    ("clone-ecdsa-aa.toml", "verified"),
    // Extended-length behaviour (reader options), and the PKI forgeries of the demo card.
    ("claims-ext.toml", "verified"),
    ("ext-atr.toml", "verified"),
    ("ext-ef-atr-info.toml", "verified"),
    ("no-ext-plain-6700.toml", "verified"),
    ("forged-tamper-dg2.toml", "hash_mismatch"),
    ("forged-unknown-csca.toml", "csca_unknown"),
];

fn verdict_of(file: &str) -> String {
    let (read, trust) = read_profile(file);
    let (pa, _) = read.verify(&trust, NOW);
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
