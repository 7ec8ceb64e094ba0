//! Bounded property tests (a fixed number of cases from a fixed seed, so CI time is bounded
//! and failures reproduce): parsers never panic on mutated input, secure messaging round-trips
//! and rejects any tampering. The open-ended search is the fuzz targets in `fuzz/`.

use std::collections::BTreeMap;

use kiosk_icao9303::apdu::{Command, Response};
use kiosk_icao9303::crypto::Cipher;
use kiosk_icao9303::ec::Curve;
use kiosk_icao9303::lds::{self, Dg13Value};
use kiosk_icao9303::pki::{self, HashAlg, PublicKey, SigAlg};
use kiosk_icao9303::sm::SecureChannel;
use kiosk_icao9303::{auth, issue, tlv};

/// xorshift64*: deterministic, dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// Flips, inserts, deletes or truncates a few bytes.
fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..=rng.below(4) {
        match rng.below(4) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] ^= 1 << rng.below(8);
            }
            1 => {
                let i = rng.below(v.len() + 1);
                v.insert(i, rng.next() as u8);
            }
            2 if !v.is_empty() => {
                let i = rng.below(v.len());
                v.remove(i);
            }
            _ => {
                let n = rng.below(v.len() + 1);
                v.truncate(n);
            }
        }
    }
    v
}

const CASES: usize = 3000;

#[test]
fn tlv_encode_parse_round_trip_and_never_panics() {
    let mut rng = Rng(0x1234_5678);
    for _ in 0..CASES {
        let tag = [0x04u32, 0x30, 0x5F1F, 0x7F61, 0x61][rng.below(5)];
        let len = rng.below(600);
        let value = rng.bytes(len);
        let enc = tlv::encode(tag, &value);
        let (t, rest) = tlv::parse_one(&enc).expect("own encoding parses");
        assert!(rest.is_empty());
        assert_eq!((t.tag, t.value), (tag, value.as_slice()));
        assert_eq!(tlv::total_len(&enc).expect("header"), enc.len());
        let m = mutate(&mut rng, &enc);
        let _ = tlv::parse_all(&m);
        let _ = tlv::total_len(&m);
    }
}

#[test]
fn dg13_mrz_dg2_sod_parsers_never_panic() {
    let mut rng = Rng(42);
    let mut f = BTreeMap::new();
    f.insert(1, Dg13Value::Text("001090123456".into()));
    f.insert(2, Dg13Value::Text("Nguyễn Văn An".into()));
    f.insert(13, Dg13Value::List(vec!["A".into(), "B".into()]));
    let dg13 = lds::encode_dg13(&f);
    let mrz = "IDVNM0901234562001090123456<<<9001011M3001019VNM<<<<<<<<<<<3NGUYEN<<VAN<AN<<<<<<<<<<<<<<<<";
    let dg1 = tlv::encode(0x61, &tlv::encode(0x5F1F, mrz.as_bytes()));
    for _ in 0..CASES {
        let _ = lds::parse_dg13(&mutate(&mut rng, &dg13));
        let _ = lds::parse_dg1(&mutate(&mut rng, &dg1));
        let n = rng.below(300);
        let junk = rng.bytes(n);
        let _ = lds::parse_dg2(&junk);
        let _ = lds::parse_com(&junk);
        let _ = auth::passive_authentication(Some(&junk), &BTreeMap::new(), &[], "20260101000000");
    }
}

#[test]
fn secure_messaging_round_trips_and_rejects_tampering() {
    let mut rng = Rng(7);
    for case in 0..600 {
        let cipher = [
            Cipher::Des3,
            Cipher::Aes(16),
            Cipher::Aes(24),
            Cipher::Aes(32),
        ][case % 4];
        let k_enc = rng.bytes(cipher.key_len());
        let k_mac = rng.bytes(cipher.key_len());
        let ssc = u128::from(rng.next() as u32);
        let mut terminal = SecureChannel::new(cipher, &k_enc, &k_mac, ssc);
        let mut chip = SecureChannel::new(cipher, &k_enc, &k_mac, ssc);
        let data_len = rng.below(300);
        let cmd = Command {
            cla: 0,
            ins: [0xA4, 0xB0, 0x88][rng.below(3)],
            p1: rng.next() as u8,
            p2: rng.next() as u8,
            data: rng.bytes(data_len),
            le: [None, Some(8), Some(256), Some(1000)][rng.below(4)],
        };
        let wire = terminal.protect(&cmd).expect("protects");
        let got = chip
            .unprotect_command(&Command::parse(&wire).expect("parses"))
            .expect("MAC verifies");
        assert_eq!(
            (got.ins, got.p1, got.p2, &got.data),
            (cmd.ins, cmd.p1, cmd.p2, &cmd.data)
        );
        let resp = Response {
            data: {
                let n = rng.below(240);
                rng.bytes(n)
            },
            sw: 0x9000,
        };
        let wire = chip.protect_response(&resp).expect("protects");
        if case % 2 == 0 {
            let back = terminal
                .unprotect(&Response::parse(&wire).expect("sw"))
                .expect("MAC verifies");
            assert_eq!(back, resp);
        } else {
            // Any change to the protected data objects is caught (never accepted, never a panic).
            let mut bad = wire.clone();
            let i = rng.below(bad.len() - 2);
            bad[i] ^= 1 << rng.below(8);
            assert!(terminal
                .unprotect(&Response::parse(&bad).expect("sw"))
                .is_err());
        }
    }
}

const NOW: &str = "20260101000000";

fn dgs() -> BTreeMap<u8, Vec<u8>> {
    BTreeMap::from([(1, b"dg1".to_vec()), (2, vec![0x75; 500])])
}

/// A genuine chain: `csca` and `ds` algorithm names as `issue::key_and_algorithm`.
fn genuine(csca: &str, ds: &str, faults: issue::ChainFaults) -> (issue::Chain, issue::Signer) {
    let mut rng = issue::TestRng::new(3);
    let (csca_key, csca_alg) = issue::key_and_algorithm(csca, &mut rng).expect("csca");
    let (ds_key, ds_alg) = issue::key_and_algorithm(ds, &mut rng).expect("ds");
    let chain = issue::chain(
        &issue::ChainSpec {
            csca: (&csca_key, csca_alg),
            ds: (&ds_key, ds_alg),
            csca_validity: ("20200101000000", "20450101000000"),
            ds_validity: ("20200101000000", "20400101000000"),
            dgs: &dgs(),
            faults,
        },
        &mut rng,
    )
    .expect("chain");
    (chain, ds_key)
}

/// A DER INTEGER with exactly these content bytes (no normalisation: forgeries welcome).
fn raw_int(v: &[u8]) -> Vec<u8> {
    tlv::encode(0x02, v)
}

/// An RSASSA-PSS AlgorithmIdentifier with SHA-256 and these raw salt / trailer INTEGERs.
fn pss_alg_id(salt: &[u8], trailer: Option<&[u8]>) -> Vec<u8> {
    let pkcs1 = |n: u8| tlv::encode(0x06, &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, n]);
    let sha256 = tlv::encode(
        0x30,
        &[tlv::encode(0x06, HashAlg::Sha256.oid()), vec![5, 0]].concat(),
    );
    let mgf1 = tlv::encode(0x30, &[pkcs1(8), sha256.clone()].concat());
    let mut params = vec![
        tlv::encode(0xA0, &sha256),
        tlv::encode(0xA1, &mgf1),
        tlv::encode(0xA2, &raw_int(salt)),
    ];
    if let Some(t) = trailer {
        params.push(tlv::encode(0xA3, &raw_int(t)));
    }
    tlv::encode(
        0x30,
        &[pkcs1(10), tlv::encode(0x30, &params.concat())].concat(),
    )
}

#[test]
fn forged_pss_salts_giant_integers_and_odd_lengths_never_panic() {
    let (chain, ds_key) = genuine(
        "rsa-3072-pss-sha384",
        "rsa-2048-pss-sha256",
        Default::default(),
    );
    let trust = vec![chain.csca.clone()];
    assert!(auth::passive_authentication(Some(&chain.sod), &dgs(), &trust, NOW).is_verified());
    let key = ds_key.public_key();
    let msg = b"signed attributes";
    let sig = ds_key
        .sign(
            SigAlg::RsaPss(HashAlg::Sha256, 32),
            msg,
            &mut issue::TestRng::new(9),
        )
        .expect("sign");

    // PSS salts and trailers from the chip: huge, negative, empty, 2^200, 1000 bytes.
    let salts: Vec<Vec<u8>> = vec![
        vec![32],
        vec![],
        vec![0x80],
        vec![0xFF; 8],
        vec![0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
        [&[0x00][..], &[0xFF; 8]].concat(),
        [&[0x01][..], &[0x00; 25]].concat(),
        vec![0x01; 1000],
        vec![0x00, 0xDF],
        vec![0x00, 0xE0],
    ];
    for salt in &salts {
        for trailer in [
            None,
            Some(&[1u8][..]),
            Some(&[2u8][..]),
            Some(&[0xFF; 40][..]),
        ] {
            let der = pss_alg_id(salt, trailer);
            let (t, _) = tlv::parse_one(&der).expect("tlv");
            if let Ok(alg) = SigAlg::from_algorithm_identifier(&t) {
                let ok = pki::verify(&key, alg, msg, &sig).is_ok();
                assert_eq!(ok, alg == SigAlg::RsaPss(HashAlg::Sha256, 32), "{alg:?}");
            }
        }
    }
    // A SOD declaring a huge salt is a clean "signature invalid".
    for salt in [usize::MAX, usize::MAX / 2, 1 << 40, 223, 222, 0] {
        let (forged, _) = genuine(
            "rsa-3072-pss-sha384",
            "rsa-2048-pss-sha256",
            issue::ChainFaults {
                declared_sod_algorithm: Some(SigAlg::RsaPss(HashAlg::Sha256, salt)),
                ..Default::default()
            },
        );
        let v = auth::passive_authentication(Some(&forged.sod), &dgs(), &trust, NOW);
        assert_eq!(v.code(), "signature_invalid", "salt {salt}: {v:?}");
    }

    // Giant, empty, even and odd-length integers as RSA keys and signatures.
    let giant = vec![0xFF; 2000];
    let keys = [
        PublicKey::Rsa {
            n: giant.clone(),
            e: vec![1, 0, 1],
        },
        PublicKey::Rsa {
            n: vec![],
            e: vec![1, 0, 1],
        },
        PublicKey::Rsa {
            n: vec![0xFE; 256],
            e: vec![1, 0, 1],
        },
        PublicKey::Rsa {
            n: vec![0xFF; 256],
            e: vec![],
        },
        PublicKey::Rsa {
            n: vec![0xFF; 256],
            e: vec![0xFF; 600],
        },
        PublicKey::Rsa {
            n: vec![0xFF; 100],
            e: vec![3],
        },
        key.clone(),
    ];
    let sigs: [&[u8]; 5] = [&[], &[0x01], &giant, &sig[1..], &[0xFF; 257]];
    for k in &keys {
        for s in sigs {
            for alg in [
                SigAlg::RsaPkcs1(HashAlg::Sha256),
                SigAlg::RsaPss(HashAlg::Sha512, usize::MAX),
                SigAlg::RsaPss(HashAlg::Sha256, 32),
                SigAlg::Ecdsa(HashAlg::Sha256),
            ] {
                assert!(pki::verify(k, alg, msg, s).is_err());
            }
        }
    }
}

#[test]
fn mutated_sods_certificates_and_explicit_curves_never_panic() {
    let mut rng = Rng(11);
    let cases = [
        ("rsa-4096-pss-sha512", "rsa-2048-pss-sha256", false),
        ("ecdsa-bp512-sha512", "ecdsa-bp384-sha384", true),
        ("ecdsa-p521-sha512", "ecdsa-p256-sha256", true),
    ];
    for (csca, ds, explicit) in cases {
        let (chain, _) = genuine(
            csca,
            ds,
            issue::ChainFaults {
                ds_explicit_parameters: explicit,
                ..Default::default()
            },
        );
        let trust = vec![chain.csca.clone()];
        assert!(auth::passive_authentication(Some(&chain.sod), &dgs(), &trust, NOW).is_verified());
        for _ in 0..300 {
            let sod = mutate(&mut rng, &chain.sod);
            let _ = auth::passive_authentication(Some(&sod), &dgs(), &trust, NOW);
            let csca = mutate(&mut rng, &chain.csca);
            let _ = auth::passive_authentication(
                Some(&chain.sod),
                &dgs(),
                std::slice::from_ref(&csca),
                NOW,
            );
            let _ = pki::parse_certificate(&csca);
            let ds = mutate(&mut rng, &chain.ds);
            if let Ok(c) = pki::parse_certificate(&ds) {
                let _ = pki::parse_spki(c.spki);
            }
        }
    }
    // Explicit parameters with mutated or giant fields.
    for curve in Curve::ALL {
        let point = curve.mul_generator(&[7]).expect("point");
        let spki = issue::ec_spki_explicit(curve, &point);
        assert!(matches!(pki::parse_spki(&spki), Ok(PublicKey::Ec { curve: c, .. }) if c == curve));
        for _ in 0..200 {
            let _ = pki::parse_spki(&mutate(&mut rng, &spki));
        }
        // A curve whose prime and order are 600-byte integers: unsupported, not a panic.
        let d = curve.domain_parameters();
        let giant = [&[0x7F][..], &[0xFF; 599]].concat();
        let params = tlv::encode(
            0x30,
            &[
                tlv::encode(0x02, &[1]),
                tlv::encode(
                    0x30,
                    &[
                        tlv::encode(0x06, &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x01, 0x01]),
                        tlv::encode(0x02, &giant),
                    ]
                    .concat(),
                ),
                tlv::encode(
                    0x30,
                    &[tlv::encode(0x04, &d.a), tlv::encode(0x04, &d.b)].concat(),
                ),
                tlv::encode(0x04, &d.generator),
                tlv::encode(0x02, &giant),
            ]
            .concat(),
        );
        let alg = tlv::encode(
            0x30,
            &[
                tlv::encode(0x06, &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01]),
                params,
            ]
            .concat(),
        );
        let bits = tlv::encode(0x03, &[&[0u8][..], &point].concat());
        let spki = tlv::encode(0x30, &[alg, bits].concat());
        assert!(matches!(
            pki::parse_spki(&spki),
            Err(kiosk_icao9303::Error::Unsupported(_))
        ));
    }
}

#[test]
fn dg14_parser_and_active_authentication_never_panic_on_mutations() {
    use kiosk_icao9303::dg14::{self, ActiveAuthInfo, ChipAuthInfo, ChipAuthPublicKey};
    use kiosk_icao9303::{aa, chip_auth};
    let mut rng = Rng(14);
    let curve = Curve::BrainpoolP256r1;
    let point = curve.mul_generator(&[0x07; 32]).expect("point");
    let infos = [
        ChipAuthInfo {
            oid: dg14::CA_ECDH_AES_128.to_vec(),
            version: 1,
            key_id: Some(1),
        }
        .encode(),
        ChipAuthPublicKey {
            curve,
            point,
            key_id: Some(1),
        }
        .encode(),
        ActiveAuthInfo {
            version: 1,
            hash: HashAlg::Sha256,
        }
        .encode(),
    ];
    let dg14_raw = dg14::encode_dg14(&infos);
    let rsa = issue::Signer::test_only_rsa(2048).expect("key");
    let rsa_spki = rsa.spki();
    let challenge = [9u8; 8];
    let sig = aa::sign(&rsa, HashAlg::Sha256, &challenge, &mut |b| b.fill(3)).expect("sign");
    for _ in 0..CASES / 3 {
        // A mutated DG14 parses or errs; whatever parses drives CA without panicking.
        if let Ok(parsed) = dg14::parse_dg14(&mutate(&mut rng, &dg14_raw)) {
            if let Ok(t) = chip_auth::ChipAuthTerminal::new(&parsed) {
                let _ = t.start(&[0x11; 32]);
            }
        }
        // Mutated RSA AA answers never verify (a mutation that changes nothing aside).
        let m = mutate(&mut rng, &sig);
        let v = aa::verify(&rsa_spki, HashAlg::Sha256, &challenge, &m);
        assert!(m == sig || v != auth::ActiveVerdict::Verified);
        let _ = aa::verify(
            &mutate(&mut rng, &rsa_spki),
            HashAlg::Sha1,
            &challenge,
            &sig,
        );
    }
}
