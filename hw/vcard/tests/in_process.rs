//! The whole read against the virtual CCCD inside the simulated reader: hermetic, no pcscd.
//! Walks every fault switch and prints the APDU count and timings (run with `--nocapture`).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use kiosk_hw::card::{CardPresence, CardReader, SimCardReader};
use kiosk_icao9303::auth::{ActiveVerdict, PassiveVerdict};
use kiosk_icao9303::bac;
use kiosk_icao9303::lds::{self, dg13, File};
use kiosk_icao9303::pace::Password;
use kiosk_icao9303::reader::{
    read_chip, Access, AccessUsed, ExtendedLength, ExtendedLengthSource, LinkError, ReadError,
    ReadOptions,
};
use kiosk_vcard::{Profile, VirtualCccd};

fn profile() -> Profile {
    Profile::demo(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/portrait.jpg"))
}

const NOW: &str = "20260601000000";

struct Run {
    result: Result<kiosk_icao9303::reader::ChipRead, ReadError>,
    trust: Vec<Vec<u8>>,
    elapsed: Duration,
}

fn run(
    p: &Profile,
    access: &Access,
    opts: &ReadOptions,
    delay: Duration,
    remove_after: u32,
) -> Run {
    let (card, trust) = VirtualCccd::from_profile(p).expect("profile builds");
    let mut reader = SimCardReader::new("sim");
    let ctl = reader.control();
    ctl.insert(Box::new(card));
    ctl.set_apdu_delay(delay);
    if remove_after > 0 {
        ctl.remove_after_apdus(remove_after);
    }
    let presence = reader.wait_for_change(Duration::ZERO).expect("presence");
    let mut opts = opts.clone();
    if let (None, CardPresence::Present { atr }) = (&opts.atr, presence) {
        opts.atr = Some(atr);
    }
    let opts = &opts;
    let mut transport = |apdu: &[u8]| -> Result<Vec<u8>, LinkError> { Ok(reader.transmit(apdu)?) };
    let mut rng = rand::rng();
    let mut fill = |b: &mut [u8]| rand::Rng::fill_bytes(&mut rng, b);
    let start = Instant::now();
    let result = read_chip(&mut transport, access, opts, &mut fill);
    Run {
        result,
        trust: vec![trust.csca_der],
        elapsed: start.elapsed(),
    }
}

fn can() -> Access {
    Access::Pace {
        password: Password::can_from_id("001090123456").expect("id"),
        bac_fallback: None,
    }
}

#[test]
fn pace_can_full_read_is_verified_with_dg13_and_portrait() {
    let r = run(
        &profile(),
        &can(),
        &ReadOptions::default(),
        Duration::ZERO,
        0,
    );
    let read = r.result.expect("read succeeds");
    assert_eq!(read.access, Some(AccessUsed::Pace));
    let (pa, aa) = read.verify(&r.trust, NOW);
    assert_eq!(pa, PassiveVerdict::Verified);
    assert_eq!(aa, ActiveVerdict::Verified);
    let verdict = read.chip_verdict(&r.trust, NOW);
    assert!(verdict.accepted(), "{verdict:?}");
    assert_eq!(
        read.chip_auth,
        Some(kiosk_icao9303::chip_auth::ChipAuthOutcome::Verified)
    );
    let mrz = lds::parse_dg1(&read.files[&File::Dg(1)]).expect("dg1");
    assert_eq!(mrz.cccd_id_number(), Some("001090123456"));
    let d13 = lds::parse_dg13(&read.files[&File::Dg(13)]).expect("dg13");
    assert_eq!(d13.text(dg13::FULL_NAME), Some("Nguyễn Văn An"));
    assert_eq!(d13.list(dg13::PARENTS).map(<[String]>::len), Some(2));
    assert!(d13.list(dg13::SPOUSE).is_none());
    let face = lds::parse_dg2(&read.files[&File::Dg(2)]).expect("dg2");
    assert_eq!(face.format, lds::ImageFormat::Jpeg);
    assert!(!read.files.contains_key(&File::Dg(3)), "DG3 needs EAC");
    eprintln!(
        "PACE-CAN full read, 223-byte blocks: {} APDUs, DG2 {} bytes, {:?} (no delay)",
        read.apdus,
        read.files[&File::Dg(2)].len(),
        r.elapsed
    );
}

/// Reads `p` with `opts` and checks that the identity verifies; returns the read.
fn verified_read(p: &Profile, opts: &ReadOptions) -> kiosk_icao9303::reader::ChipRead {
    let r = run(p, &can(), opts, Duration::ZERO, 0);
    let read = r.result.expect("read succeeds");
    let (pa, aa) = read.verify(&r.trust, NOW);
    assert_eq!(pa, PassiveVerdict::Verified);
    assert_eq!(aa, ActiveVerdict::Verified);
    read
}

#[test]
fn extended_length_is_used_only_when_the_card_says_so() {
    let auto = ReadOptions::default();
    // A chip without extended length (the default profile): short reads, no restart.
    let short = verified_read(&profile(), &auto);
    assert!(!short.extended_length_used);
    assert_eq!(short.extended_length_source, None);
    assert_eq!(short.sm_restarts, 0);
    for (info, source) in [
        ("ef.atr/info", ExtendedLengthSource::EfAtrInfo),
        ("atr", ExtendedLengthSource::Atr),
        ("both", ExtendedLengthSource::Atr),
    ] {
        let mut p = profile();
        p.chip.extended_length = true;
        p.chip.extended_length_info = info.into();
        let read = verified_read(&p, &auto);
        assert!(read.extended_length_used, "{info}");
        assert_eq!(read.extended_length_source, Some(source), "{info}");
        assert!(read.apdus < short.apdus / 2, "{info}: {} APDUs", read.apdus);
    }
    // Supported but not told: the reader does not guess.
    let mut p = profile();
    p.chip.extended_length = true;
    p.chip.extended_length_info = "none".into();
    let read = verified_read(&p, &auto);
    assert!(!read.extended_length_used);
    assert_eq!(read.apdus, short.apdus);
    // Off means off, even for a card that offers it.
    p.chip.extended_length_info = "both".into();
    let off = ReadOptions {
        extended_length: ExtendedLength::Off,
        ..ReadOptions::default()
    };
    assert!(!verified_read(&p, &off).extended_length_used);
}

#[test]
fn a_chip_that_drops_secure_messaging_on_an_extended_read_is_read_to_the_end() {
    // The independent card's behaviour: a plain 6700 to the first extended READ BINARY, secure
    // messaging ended. Forced on, and as a card that claims support it does not have.
    let forced = ReadOptions {
        extended_length: ExtendedLength::On,
        ..ReadOptions::default()
    };
    let read = verified_read(&profile(), &forced);
    assert!(!read.extended_length_used);
    assert_eq!(read.sm_restarts, 1, "one PACE again, then short reads");
    let mut liar = profile();
    liar.faults.claims_extended_length = true;
    let read = verified_read(&liar, &ReadOptions::default());
    assert_eq!(
        read.extended_length_source,
        Some(ExtendedLengthSource::EfAtrInfo)
    );
    assert!(!read.extended_length_used);
    assert_eq!(read.sm_restarts, 1);
    // BAC re-opens with BAC.
    let mut bac_liar = liar.clone();
    bac_liar.chip.pace = false;
    let seed = bac::key_seed(&bac::mrz_information("090123456", "900101", "300101").expect("mrz"));
    let r = run(
        &bac_liar,
        &Access::Bac(seed),
        &ReadOptions::default(),
        Duration::ZERO,
        0,
    );
    let read = r.result.expect("BAC read succeeds");
    assert_eq!(read.verify(&r.trust, NOW).0, PassiveVerdict::Verified);
    assert_eq!(read.sm_restarts, 1);
    // A chip that keeps the session and answers a protected 6700 needs no restart.
    let mut kept = profile();
    kept.chip.wrong_length_answer = "protected".into();
    let read = verified_read(&kept, &forced);
    assert_eq!(read.sm_restarts, 0);
    assert!(!read.extended_length_used);
}

#[test]
fn restarts_are_bounded() {
    // A chip that ends secure messaging on every extended read would loop without the bound;
    // with a limit of 0 restarts the read fails cleanly instead.
    let opts = ReadOptions {
        extended_length: ExtendedLength::On,
        max_restarts: 0,
        ..ReadOptions::default()
    };
    let r = run(&profile(), &can(), &opts, Duration::ZERO, 0);
    assert!(
        matches!(
            r.result,
            Err(ReadError::Protocol(kiosk_icao9303::Error::SessionLost(
                0x6700
            )))
        ),
        "{:?}",
        r.result.map(|_| ())
    );
}

#[test]
fn timings_20ms_per_apdu_short_and_extended() {
    // Numbers for docs/BENCHMARKS.md (print only; speed is not asserted in tests).
    let mut p = profile();
    for ext in [false, true] {
        p.chip.extended_length = ext;
        let r = run(
            &p,
            &can(),
            &ReadOptions::default(),
            Duration::from_millis(20),
            0,
        );
        let read = r.result.expect("read succeeds");
        assert!(read.chip_verdict(&r.trust, NOW).accepted());
        let cpu = Instant::now();
        let (pa, _) = read.verify(&r.trust, NOW);
        let verify = cpu.elapsed();
        assert_eq!(pa, PassiveVerdict::Verified);
        assert_eq!(read.extended_length_used, ext);
        eprintln!(
            "extended_length={ext}: {} APDUs, read {:?} with 20 ms/APDU, verify {:?}",
            read.apdus, r.elapsed, verify
        );
    }
}

#[test]
fn bac_fallback_when_the_card_has_no_pace() {
    let mut p = profile();
    p.chip.pace = false;
    let seed = bac::key_seed(&bac::mrz_information("090123456", "900101", "300101").expect("mrz"));
    let access = Access::Pace {
        password: Password::can_from_id("001090123456").expect("id"),
        bac_fallback: Some(seed),
    };
    let r = run(&p, &access, &ReadOptions::default(), Duration::ZERO, 0);
    let read = r.result.expect("read succeeds");
    assert_eq!(read.access, Some(AccessUsed::Bac));
    assert_eq!(read.verify(&r.trust, NOW).0, PassiveVerdict::Verified);
}

#[test]
fn wrong_can_and_wrong_bac_are_access_denied() {
    let wrong = Access::Pace {
        password: Password::can("654321").expect("can"),
        bac_fallback: None,
    };
    let r = run(
        &profile(),
        &wrong,
        &ReadOptions::default(),
        Duration::ZERO,
        0,
    );
    assert!(
        matches!(
            r.result,
            Err(ReadError::Protocol(kiosk_icao9303::Error::AccessDenied(_)))
        ),
        "{:?}",
        r.result.err()
    );
    let seed = bac::key_seed(&bac::mrz_information("090123456", "900101", "290101").expect("mrz"));
    let r = run(
        &profile(),
        &Access::Bac(seed),
        &ReadOptions::default(),
        Duration::ZERO,
        0,
    );
    assert!(matches!(
        r.result,
        Err(ReadError::Protocol(kiosk_icao9303::Error::AccessDenied(_)))
    ));
}

#[test]
fn fault_switches_yield_their_verdicts() {
    let mut p = profile();
    p.faults.tamper_dg2 = true;
    let r = run(&p, &can(), &ReadOptions::default(), Duration::ZERO, 0);
    assert_eq!(
        r.result.expect("read").verify(&r.trust, NOW).0,
        PassiveVerdict::HashMismatch(vec![2])
    );

    let mut p = profile();
    p.faults.unknown_csca = true;
    let r = run(&p, &can(), &ReadOptions::default(), Duration::ZERO, 0);
    assert_eq!(
        r.result.expect("read").verify(&r.trust, NOW).0,
        PassiveVerdict::CscaUnknown
    );

    let mut p = profile();
    p.faults.aa_key_mismatch = true;
    let r = run(&p, &can(), &ReadOptions::default(), Duration::ZERO, 0);
    let read = r.result.expect("read");
    let (pa, aa) = read.verify(&r.trust, NOW);
    assert_eq!(pa, PassiveVerdict::Verified);
    assert!(matches!(aa, ActiveVerdict::Failed(_)));
    assert_eq!(read.chip_verdict(&r.trust, NOW).clone.code(), "aa_failed");
}

#[test]
fn card_removed_after_every_apdu_is_a_link_error_never_a_panic() {
    let full = run(
        &profile(),
        &can(),
        &ReadOptions::default(),
        Duration::ZERO,
        0,
    )
    .result
    .expect("read")
    .apdus;
    for n in 1..full {
        let r = run(
            &profile(),
            &can(),
            &ReadOptions::default(),
            Duration::ZERO,
            n,
        );
        match r.result {
            Err(ReadError::Link(e)) => {
                let kind = e
                    .downcast_ref::<kiosk_hw::CardError>()
                    .map(kiosk_hw::CardError::kind);
                assert_eq!(
                    kind,
                    Some(kiosk_hw::CardErrorKind::CardRemoved),
                    "after {n}"
                );
            }
            other => panic!("after {n} APDUs: {other:?}"),
        }
    }
}
