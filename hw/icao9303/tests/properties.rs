//! Bounded property tests (a fixed number of cases from a fixed seed, so CI time is bounded
//! and failures reproduce): parsers never panic on mutated input, secure messaging round-trips
//! and rejects any tampering. The open-ended search is the fuzz targets in `fuzz/`.

use std::collections::BTreeMap;

use kiosk_icao9303::apdu::{Command, Response};
use kiosk_icao9303::crypto::Cipher;
use kiosk_icao9303::lds::{self, Dg13Value};
use kiosk_icao9303::sm::SecureChannel;
use kiosk_icao9303::{auth, tlv};

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
