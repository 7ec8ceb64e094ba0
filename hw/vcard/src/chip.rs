//! The chip: files built from a [`Profile`], signed by a test PKI built from the profile's `[pki]`, and an
//! APDU processor that behaves like a CCCD (PACE-CAN and BAC, secure messaging, SFI reads,
//! `6D00` for SELECT MF, `6982` for DG3, Chip and Active Authentication, GET RESPONSE).

use std::collections::BTreeMap;
use std::fmt;

use kiosk_icao9303::apdu::{sw, Command, Response};
use kiosk_icao9303::chip_auth::ChipAuthChip;
use kiosk_icao9303::dg14::{self, ActiveAuthInfo, ChipAuthInfo, ChipAuthPublicKey};
use kiosk_icao9303::ec::Curve;
use kiosk_icao9303::lds::{self, dg13, Dg13Value, File};
use kiosk_icao9303::pace::{ChipStep, PaceChip, PaceInfo, Password};
use kiosk_icao9303::pki::{HashAlg, SigAlg};
use kiosk_icao9303::sm::SecureChannel;
use kiosk_icao9303::{aa, bac, issue, tlv};
use rand::Rng;

use crate::profile::{Profile, ProfileError};

/// The contactless pseudo-ATR the chip reports when its ATR says nothing about extended length.
pub const ATR: [u8; 11] = [
    0x3B, 0x86, 0x80, 0x01, 0x80, 0x31, 0x80, 0x65, 0xB0, 0x84, 0x4F,
];

/// A contactless pseudo-ATR (`3B 8N 80 01`, historical bytes, TCK) whose historical bytes carry
/// the card capabilities (compact-TLV tag 7), with "extended Lc and Le fields" (third software
/// function table, b7) set.
#[must_use]
pub fn atr_with_extended_length() -> Vec<u8> {
    let historical = [0x80, 0x73, 0x80, 0x01, 0x40];
    let mut atr = vec![0x3B, 0x80 | historical.len() as u8, 0x80, 0x01];
    atr.extend_from_slice(&historical);
    let tck = atr[1..].iter().fold(0u8, |a, b| a ^ b);
    atr.push(tck);
    atr
}

/// EF.ATR/INFO (ISO/IEC 7816-4): card capabilities (`47`, "extended Lc and Le fields") and
/// the extended length information (`7F66 { 02 max command bytes, 02 max response bytes }`).
fn ef_atr_info(max_response: u16) -> Vec<u8> {
    [
        tlv::encode(0x47, &[0x80, 0x01, 0x40]),
        tlv::encode(
            0x7F66,
            &[
                tlv::encode(0x02, &[0x04, 0x00]),
                tlv::encode(0x02, &max_response.to_be_bytes()),
            ]
            .concat(),
        ),
    ]
    .concat()
}

/// The demo citizen's portrait (`fixtures/portrait.jpg`, a synthetic face), compiled in.
pub const DEMO_PORTRAIT: &[u8] = include_bytes!("../fixtures/portrait.jpg");

/// The trust material a deployment (or test) needs to verify this card.
#[derive(Debug, Clone)]
pub struct Trust {
    /// The CSCA certificate to provision as trusted (DER). With the `unknown_csca` fault this is
    /// a different CSCA than the one that signed the card's DS certificate.
    pub csca_der: Vec<u8>,
}

/// A virtual CCCD chip.
pub struct VirtualCccd {
    files: BTreeMap<File, Vec<u8>>,
    can: Password,
    mrz_seed: [u8; 16],
    mrz_info: String,
    curve: Curve,
    /// The key the chip signs INTERNAL AUTHENTICATE with, and the hash.
    aa_key: Option<(issue::Signer, HashAlg)>,
    aa_refused: bool,
    ca_refused: bool,
    hide_dg15: bool,
    max_read: usize,
    extended_length: bool,
    /// The ATR reported to the reader.
    atr: Vec<u8>,
    /// EF.ATR/INFO under the master file (SFI 01 before the LDS application is selected).
    atr_info: Option<Vec<u8>>,
    /// Answer a protected command with the wrong APDU form in plain, ending secure messaging.
    plain_wrong_length: bool,
    pace_offered: bool,
    bac_offered: bool,
    // Session state.
    app_selected: bool,
    current: Option<File>,
    sm: Option<SecureChannel>,
    pace: Option<PaceChip>,
    challenge: Option<[u8; 8]>,
    /// Chip Authentication with the chip's static key (absent: not offered).
    chip_auth: Option<ChipAuthChip>,
    /// Keys to switch to after the current answer (Chip Authentication).
    next_sm: Option<SecureChannel>,
    /// The rest of an answer longer than a short APDU allows, for GET RESPONSE.
    pending_out: Vec<u8>,
    rng: rand::rngs::StdRng,
}

impl fmt::Debug for VirtualCccd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VirtualCccd")
            .field("files", &self.files.keys().collect::<Vec<_>>())
            .field("app_selected", &self.app_selected)
            .field("secure_messaging", &self.sm.is_some())
            .finish_non_exhaustive()
    }
}

fn iso(date: &str, what: &str) -> Result<(String, String, String), ProfileError> {
    let b = date.as_bytes();
    let ok = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !ok {
        return Err(ProfileError::Invalid(format!("{what} must be YYYY-MM-DD")));
    }
    Ok((date[0..4].into(), date[5..7].into(), date[8..10].into()))
}

fn yymmdd(date: &str, what: &str) -> Result<String, ProfileError> {
    let (y, m, d) = iso(date, what)?;
    Ok(format!("{}{m}{d}", &y[2..]))
}

fn ddmmyyyy(date: &str, what: &str) -> Result<String, ProfileError> {
    let (y, m, d) = iso(date, what)?;
    Ok(format!("{d}/{m}/{y}"))
}

/// DG2 around an encoded image: `75 { 7F61 { 02 1, 7F60 { A1 header, 5F2E ISO 19794-5 } } }`.
fn dg2(image: &[u8]) -> Vec<u8> {
    let jp2 = !image.starts_with(&[0xFF, 0xD8]);
    let mut rec = Vec::new();
    rec.extend_from_slice(b"FAC\x00010\x00");
    let total = 14 + 20 + 12 + image.len();
    rec.extend_from_slice(&(total as u32).to_be_bytes());
    rec.extend_from_slice(&1u16.to_be_bytes());
    rec.extend_from_slice(&((20 + 12 + image.len()) as u32).to_be_bytes());
    rec.extend_from_slice(&0u16.to_be_bytes()); // feature points
    rec.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // gender .. pose uncertainty
    rec.extend_from_slice(&[0x01, u8::from(jp2)]);
    rec.extend_from_slice(&0u16.to_be_bytes()); // width unknown
    rec.extend_from_slice(&0u16.to_be_bytes()); // height unknown
    rec.extend_from_slice(&[0x01, 0x02, 0, 0, 0, 0]);
    rec.extend_from_slice(image);
    let header = tlv::encode(
        0xA1,
        &[
            tlv::encode(0x80, &[0x01, 0x01]),
            tlv::encode(0x87, &[0x01, 0x01]),
        ]
        .concat(),
    );
    let bit = tlv::encode(0x7F60, &[header, tlv::encode(0x5F2E, &rec)].concat());
    tlv::encode(
        0x75,
        &tlv::encode(0x7F61, &[tlv::encode(0x02, &[1]), bit].concat()),
    )
}

fn random_key(rng: &mut impl Rng, curve: Curve) -> (Vec<u8>, Vec<u8>) {
    loop {
        let mut k = vec![0u8; 32];
        rng.fill_bytes(&mut k);
        if let Ok(p) = curve.mul_generator(&k) {
            return (k, p);
        }
    }
}

/// The profile's algorithm name, or ECDSA on the chip's curve with SHA-256.
fn algorithm_name(name: &str, curve: Curve) -> String {
    match (name, curve) {
        ("", Curve::P256) => "ecdsa-p256-sha256".into(),
        ("", _) => "ecdsa-bp256-sha256".into(),
        (n, _) => n.into(),
    }
}

/// The same algorithm with another hash (PSS with that hash's length as salt).
fn with_hash(alg: SigAlg, hash: HashAlg) -> SigAlg {
    match alg {
        SigAlg::RsaPkcs1(_) => SigAlg::RsaPkcs1(hash),
        SigAlg::RsaPss(..) => SigAlg::RsaPss(hash, hash.digest(&[]).len()),
        _ => SigAlg::Ecdsa(hash),
    }
}

fn hash_named(name: &str) -> Option<HashAlg> {
    Some(match name {
        "sha1" => HashAlg::Sha1,
        "sha224" => HashAlg::Sha224,
        "sha256" => HashAlg::Sha256,
        "sha384" => HashAlg::Sha384,
        "sha512" => HashAlg::Sha512,
        _ => return None,
    })
}

/// The Active Authentication setup of `chip.aa`.
struct AaSetup {
    /// DG15 (the genuine public key).
    dg15: Vec<u8>,
    /// The key the chip signs with: DG15's, or another with `aa_key_mismatch`.
    chip_key: issue::Signer,
    hash: HashAlg,
    /// ECDSA: DG14 names the hash.
    ecdsa: bool,
}

fn aa_setup(
    name: &str,
    curve: Curve,
    clone: bool,
    rng: &mut issue::TestRng,
) -> Result<Option<AaSetup>, String> {
    let bad = || format!("chip.aa {name:?}: use none, ecdsa[-HASH] or rsa-BITS[-HASH]");
    let parts: Vec<&str> = name.split('-').collect();
    let (genuine, other, hash, ecdsa) = match parts.as_slice() {
        ["none"] => return Ok(None),
        ["ecdsa", rest @ ..] => {
            let hash = match rest {
                [] => HashAlg::Sha256,
                [h] => hash_named(h).ok_or_else(bad)?,
                _ => return Err(bad()),
            };
            let key = |rng: &mut issue::TestRng| {
                issue::Signer::ec_generate(curve, rng).map_err(|e| e.to_string())
            };
            (key(rng)?, key(rng)?, hash, true)
        }
        ["rsa", bits, rest @ ..] => {
            let hash = match rest {
                [] => HashAlg::Sha1,
                [h] => hash_named(h).ok_or_else(bad)?,
                _ => return Err(bad()),
            };
            let bits: usize = bits.parse().map_err(|_| bad())?;
            let genuine = issue::Signer::test_only_rsa(bits).map_err(|e| e.to_string())?;
            let other = match (bits, clone) {
                (2048, _) => aa::test_only_clone_rsa_2048().map_err(|e| e.to_string())?,
                (_, true) => return Err("faults.aa_key_mismatch with RSA needs rsa-2048".into()),
                (_, false) => genuine.clone(),
            };
            (genuine, other, hash, false)
        }
        _ => return Err(bad()),
    };
    Ok(Some(AaSetup {
        dg15: tlv::encode(0x6F, &genuine.spki()),
        chip_key: if clone { other } else { genuine },
        hash,
        ecdsa,
    }))
}

/// Builds the test PKI of profile `p` over `dgs`: the CSCA certificate to export as trusted
/// and EF.SOD, with the profile's PKI faults built in.
fn test_pki(
    p: &Profile,
    curve: Curve,
    dgs: &BTreeMap<u8, Vec<u8>>,
    seed: u64,
) -> Result<(Vec<u8>, Vec<u8>), String> {
    let mut rng = issue::TestRng::new(seed);
    let named = |which: &str, name: &str, rng: &mut issue::TestRng| {
        issue::key_and_algorithm(&algorithm_name(name, curve), rng)
            .map_err(|e| format!("pki.{which} {name:?}: {e}"))
    };
    let (csca_key, csca_alg) = named("csca", &p.pki.csca, &mut rng)?;
    let (ds_key, mut ds_alg) = named("ds", &p.pki.ds, &mut rng)?;
    let f = &p.faults;
    let mut faults = issue::ChainFaults {
        csca_not_ca: f.csca_not_ca,
        ds_no_digital_signature: f.ds_key_usage_wrong,
        ..Default::default()
    };
    if f.ds_algorithm_mismatch {
        let other = if csca_alg.hash() == HashAlg::Sha512 {
            HashAlg::Sha384
        } else {
            HashAlg::Sha512
        };
        faults.ds_inner_algorithm = Some(with_hash(csca_alg, other));
    }
    if f.sod_sha1 {
        ds_alg = with_hash(ds_alg, HashAlg::Sha1);
    }
    if f.pss_huge_salt {
        let SigAlg::RsaPss(h, _) = ds_alg else {
            return Err("faults.pss_huge_salt needs an RSA-PSS pki.ds".into());
        };
        faults.declared_sod_algorithm = Some(SigAlg::RsaPss(h, usize::MAX));
    }
    if f.econtent_type_wrong {
        // id-data, 1.2.840.113549.1.7.1
        faults.econtent_type = Some(vec![0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x01]);
    }
    let csca_validity = if f.csca_expired {
        ("20150101000000", "20250101000000")
    } else {
        ("20200101000000", "20450101000000")
    };
    let spec = issue::ChainSpec {
        csca: (&csca_key, csca_alg),
        ds: (&ds_key, ds_alg),
        csca_validity,
        ds_validity: ("20200101000000", "20400101000000"),
        dgs,
        faults,
    };
    let chain = issue::chain(&spec, &mut rng).map_err(|e| e.to_string())?;
    let trusted = if f.unknown_csca {
        // Same name, other key: the DS certificate does not chain to it.
        let other = issue::Signer::ec_generate(curve, &mut rng).map_err(|e| e.to_string())?;
        let other_spec = issue::ChainSpec {
            csca: (&other, SigAlg::Ecdsa(HashAlg::Sha256)),
            faults: issue::ChainFaults::default(),
            ..spec
        };
        issue::chain(&other_spec, &mut rng)
            .map_err(|e| e.to_string())?
            .csca
    } else {
        chain.csca
    };
    Ok((trusted, chain.sod))
}

impl VirtualCccd {
    /// Builds the chip from a profile: encodes the files, builds a test CSCA and DS, signs
    /// the SOD, applies the fault switches that change files or keys.
    ///
    /// # Errors
    ///
    /// [`ProfileError::Invalid`] for an invalid value, [`ProfileError::Io`] if the portrait
    /// cannot be read.
    pub fn from_profile(p: &Profile) -> Result<(Self, Trust), ProfileError> {
        let image = std::fs::read(&p.holder.portrait).map_err(|source| ProfileError::Io {
            path: p.holder.portrait.clone(),
            source,
        })?;
        Self::from_profile_with_portrait(p, &image)
    }

    /// The synthetic demo citizen ([`Profile::demo`]) with the bundled portrait, which is
    /// compiled in: the kiosk's demo mode needs no file next to the binary.
    ///
    /// # Errors
    ///
    /// As [`VirtualCccd::from_profile_with_portrait`] (not expected for the bundled profile).
    pub fn demo() -> Result<(Self, Trust), ProfileError> {
        let p = Profile::demo(std::path::PathBuf::from("fixtures/portrait.jpg"));
        Self::from_profile_with_portrait(&p, DEMO_PORTRAIT)
    }

    /// As [`VirtualCccd::from_profile`], with the portrait given as encoded bytes (JPEG or
    /// JPEG 2000) instead of read from `holder.portrait`.
    ///
    /// # Errors
    ///
    /// [`ProfileError::Invalid`] for an invalid value.
    pub fn from_profile_with_portrait(
        p: &Profile,
        image: &[u8],
    ) -> Result<(Self, Trust), ProfileError> {
        let mut rng: rand::rngs::StdRng = rand::make_rng();
        let invalid = |e: &dyn std::fmt::Display| ProfileError::Invalid(e.to_string());
        let h = &p.holder;
        let curve = match p.chip.curve.as_str() {
            "brainpoolP256r1" => Curve::BrainpoolP256r1,
            "P-256" | "secp256r1" => Curve::P256,
            other => {
                return Err(ProfileError::Invalid(format!(
                    "chip.curve {other:?}: use brainpoolP256r1 or P-256"
                )))
            }
        };
        let dob = yymmdd(&h.date_of_birth, "holder.date_of_birth")?;
        // A card without expiry: what the MRZ then carries is not confirmed (see the brief);
        // this card writes 991231.
        let expiry = if h.expiry_date.is_empty() {
            "991231".to_string()
        } else {
            yymmdd(&h.expiry_date, "holder.expiry_date")?
        };
        let sex = h.sex.chars().next().unwrap_or('<');
        let mrz_profile = kiosk_hw::card::CardProfile {
            id_number: h.id_number.clone(),
            surname: h.surname.clone(),
            given_names: h.given_names.clone(),
            dob: dob.clone(),
            sex,
            expiry: expiry.clone(),
        };
        let dg1 = mrz_profile.dg1().map_err(|e| invalid(&e))?;
        let doc = mrz_profile
            .document_number()
            .map_err(|e| invalid(&e))?
            .to_string();
        let mrz_info = bac::mrz_information(&doc, &dob, &expiry).map_err(|e| invalid(&e))?;
        let can = Password::can_from_id(&h.id_number).map_err(|e| invalid(&e))?;

        let dg2 = dg2(image);

        let mut f = BTreeMap::new();
        let t = |s: &str| Dg13Value::Text(s.to_string());
        f.insert(dg13::ID_NUMBER, t(&h.id_number));
        f.insert(dg13::FULL_NAME, t(&h.full_name));
        f.insert(
            dg13::DATE_OF_BIRTH,
            t(&ddmmyyyy(&h.date_of_birth, "holder.date_of_birth")?),
        );
        f.insert(dg13::SEX, t(if sex == 'F' { "Nữ" } else { "Nam" }));
        f.insert(dg13::NATIONALITY, t(&h.nationality));
        f.insert(dg13::ETHNICITY, t(&h.ethnicity));
        f.insert(dg13::RELIGION, t(&h.religion));
        f.insert(dg13::PLACE_OF_ORIGIN, t(&h.place_of_origin));
        f.insert(dg13::PLACE_OF_RESIDENCE, t(&h.place_of_residence));
        f.insert(dg13::IDENTIFYING_MARKS, t(&h.identifying_marks));
        f.insert(
            dg13::ISSUE_DATE,
            t(&ddmmyyyy(&h.issue_date, "holder.issue_date")?),
        );
        f.insert(
            dg13::EXPIRY_DATE,
            if h.expiry_date.is_empty() {
                t("Không thời hạn")
            } else {
                t(&ddmmyyyy(&h.expiry_date, "holder.expiry_date")?)
            },
        );
        f.insert(
            dg13::PARENTS,
            Dg13Value::List(vec![h.father.clone(), h.mother.clone()]),
        );
        if let Some(spouse) = &h.spouse {
            f.insert(dg13::SPOUSE, Dg13Value::List(vec![spouse.clone()]));
        }
        if let Some(old) = &h.old_id_number {
            f.insert(dg13::OLD_DOCUMENT_NUMBER, t(old));
        }
        let dg13 = lds::encode_dg13(&f);

        let pace_info = PaceInfo {
            parameter_id: Some(curve.parameter_id()),
            ..PaceInfo::cccd_default()
        };
        let pace_info_der = tlv::encode(
            0x30,
            &[
                tlv::encode(0x06, &pace_info.oid),
                tlv::encode(0x02, &[2]),
                tlv::encode(0x02, &[curve.parameter_id()]),
            ]
            .concat(),
        );
        let card_access = tlv::encode(0x31, &pace_info_der);

        let mut key_rng = issue::TestRng::new(rng.next_u64());
        let aa = aa_setup(&p.chip.aa, curve, p.faults.aa_key_mismatch, &mut key_rng)
            .map_err(|e| invalid(&e))?;
        // DG14: PACEInfo, Chip Authentication (key id 1) and the ECDSA AA hash.
        let mut infos = vec![pace_info_der];
        let chip_auth = if p.chip.chip_authentication {
            let (secret, point) = random_key(&mut rng, curve);
            let cipher_arc = match p.chip.chip_auth_cipher.as_str() {
                "3des" => 1,
                "aes128" => 2,
                "aes192" => 3,
                "aes256" => 4,
                other => {
                    return Err(ProfileError::Invalid(format!(
                        "chip.chip_auth_cipher {other:?}: use aes128, aes192, aes256 or 3des"
                    )))
                }
            };
            infos.push(
                ChipAuthInfo {
                    oid: [&dg14::ID_CA_ECDH[..], &[cipher_arc]].concat(),
                    version: 1,
                    key_id: Some(1),
                }
                .encode(),
            );
            infos.push(
                ChipAuthPublicKey {
                    curve,
                    point,
                    key_id: Some(1),
                }
                .encode(),
            );
            let secret = if p.faults.ca_key_mismatch {
                random_key(&mut rng, curve).0
            } else {
                secret
            };
            Some(ChipAuthChip::new(curve, &secret, Some(1)))
        } else {
            None
        };
        if let Some(a) = aa.as_ref().filter(|a| a.ecdsa) {
            infos.push(
                ActiveAuthInfo {
                    version: 1,
                    hash: a.hash,
                }
                .encode(),
            );
        }
        let dg14 = dg14::encode_dg14(&infos);
        // DG3 exists on real cards (fingerprints behind EAC): hashed in the SOD, never served.
        let dg3 = tlv::encode(0x63, &[0x02, 0x01, 0x00]);

        let mut dgs = BTreeMap::new();
        dgs.insert(1u8, dg1);
        dgs.insert(2, dg2);
        dgs.insert(3, dg3);
        dgs.insert(13, dg13);
        dgs.insert(14, dg14);
        if let Some(a) = &aa {
            dgs.insert(15, a.dg15.clone());
        }

        // Test PKI: CSCA -> DS -> SOD; fresh EC keys every start, fixed TEST RSA keys.
        let (trusted, sod) = test_pki(p, curve, &dgs, rng.next_u64()).map_err(|e| invalid(&e))?;
        if p.faults.tamper_dg2 {
            if let Some(dg2) = dgs.get_mut(&2) {
                let n = dg2.len();
                dg2[n - 3] ^= 0x01;
            }
        }

        let listed: Vec<u8> = dgs.keys().copied().collect();
        let mut files: BTreeMap<File, Vec<u8>> =
            dgs.into_iter().map(|(n, v)| (File::Dg(n), v)).collect();
        files.insert(File::Com, lds::encode_com(&listed));
        files.insert(File::Sod, sod);
        if p.chip.pace {
            files.insert(File::CardAccess, card_access);
        }
        let mrz_seed = *bac::key_seed(&mrz_info);
        let claims = p.chip.extended_length || p.faults.claims_extended_length;
        let (in_atr, in_file) = match p.chip.extended_length_info.as_str() {
            "ef.atr/info" => (false, true),
            "atr" => (true, false),
            "both" => (true, true),
            "none" => (false, false),
            other => {
                return Err(ProfileError::Invalid(format!(
                    "chip.extended_length_info {other:?}: use \"ef.atr/info\", \"atr\", \"both\" or \"none\""
                )))
            }
        };
        let plain_wrong_length = match p.chip.wrong_length_answer.as_str() {
            "plain" => true,
            "protected" => false,
            other => {
                return Err(ProfileError::Invalid(format!(
                    "chip.wrong_length_answer {other:?}: use \"plain\" or \"protected\""
                )))
            }
        };
        let atr = if claims && in_atr {
            atr_with_extended_length()
        } else {
            ATR.to_vec()
        };
        let atr_info = (claims && in_file).then(|| ef_atr_info(0x1000));
        Ok((
            Self {
                files,
                can,
                mrz_seed,
                mrz_info: mrz_info.to_string(),
                curve,
                aa_key: aa.map(|a| (a.chip_key, a.hash)),
                aa_refused: p.faults.aa_refused,
                ca_refused: p.faults.ca_refused,
                hide_dg15: p.faults.hide_dg15,
                max_read: p.chip.max_read.clamp(1, 0xFFFF),
                extended_length: p.chip.extended_length,
                atr,
                atr_info,
                plain_wrong_length,
                pace_offered: p.chip.pace,
                bac_offered: p.chip.bac,
                app_selected: false,
                current: None,
                sm: None,
                pace: None,
                challenge: None,
                chip_auth,
                next_sm: None,
                pending_out: Vec::new(),
                rng,
            },
            Trust { csca_der: trusted },
        ))
    }

    /// The ATR the chip reports (its historical bytes may tell extended length support).
    #[must_use]
    pub fn atr(&self) -> Vec<u8> {
        self.atr.clone()
    }

    /// Back to the state after power-on (secure messaging dropped).
    pub fn reset(&mut self) {
        self.app_selected = false;
        self.current = None;
        self.sm = None;
        self.pace = None;
        self.challenge = None;
        self.next_sm = None;
        self.pending_out.clear();
    }

    fn sw(code: u16) -> Response {
        Response {
            data: Vec::new(),
            sw: code,
        }
    }

    /// Processes one command APDU, returning the response APDU.
    pub fn process(&mut self, apdu: &[u8]) -> Vec<u8> {
        let Ok(cmd) = Command::parse(apdu) else {
            return sw::WRONG_LENGTH.to_be_bytes().to_vec();
        };
        if cmd.cla == 0x00 && cmd.ins == 0xC0 {
            return self.get_response();
        }
        self.pending_out.clear();
        // A short command gets at most 256 bytes; the rest waits for GET RESPONSE (61xx).
        let short = cmd.le.is_none_or(|le| le <= 256);
        let wire = self.answer(&cmd);
        if short && wire.len() > 258 {
            self.pending_out = wire;
            return self.get_response();
        }
        wire
    }

    /// The next block of a long answer: up to 256 bytes and `61xx` (xx bytes remain, 00 for
    /// 256 or more), or the last block with the answer's own status word.
    fn get_response(&mut self) -> Vec<u8> {
        if self.pending_out.is_empty() {
            return sw::CONDITIONS.to_be_bytes().to_vec();
        }
        let data_left = self.pending_out.len() - 2;
        if data_left <= 256 {
            return std::mem::take(&mut self.pending_out);
        }
        let mut out: Vec<u8> = self.pending_out.drain(..256).collect();
        let remaining = self.pending_out.len() - 2;
        out.extend_from_slice(&[0x61, remaining.min(256) as u8]);
        out
    }

    fn answer(&mut self, cmd: &Command) -> Vec<u8> {
        if cmd.cla & 0x0C == 0x0C {
            let Some(mut sm) = self.sm.take() else {
                return sw::SM_MISSING.to_be_bytes().to_vec();
            };
            let inner = match sm.unprotect_command(cmd) {
                Ok(c) => c,
                // A bad MAC ends the session, as on real chips.
                Err(_) => return sw::SM_INCORRECT.to_be_bytes().to_vec(),
            };
            self.sm = Some(sm);
            if inner.ins == 0xB0
                && inner.le.is_some_and(|le| le > 256)
                && !self.extended_length
                && self.plain_wrong_length
            {
                // ICAO 9303-11 §9.8.6.2: an error the chip meets ends secure messaging, and
                // the status word goes back in plain.
                self.sm = None;
                return sw::WRONG_LENGTH.to_be_bytes().to_vec();
            }
            let resp = self.dispatch(&inner, true);
            let wire = match self.sm.as_mut().map(|sm| sm.protect_response(&resp)) {
                Some(Ok(wire)) => wire,
                _ => resp.to_bytes(),
            };
            // Chip Authentication: the answer went under the old keys, the next command
            // comes under the new ones.
            if let Some(next) = self.next_sm.take() {
                self.sm = Some(next);
            }
            wire
        } else {
            // A plain command ends secure messaging.
            self.sm = None;
            self.dispatch(cmd, false).to_bytes()
        }
    }

    fn dispatch(&mut self, cmd: &Command, protected: bool) -> Response {
        if cmd.cla & 0xE0 != 0 {
            return Self::sw(sw::CLA_NOT_SUPPORTED);
        }
        match cmd.ins {
            0xA4 => self.select(cmd),
            0xB0 => self.read_binary(cmd, protected),
            0x84 if self.bac_offered => {
                let mut c = [0u8; 8];
                self.rng.fill_bytes(&mut c);
                self.challenge = Some(c);
                Response {
                    data: c.to_vec(),
                    sw: sw::OK,
                }
            }
            0x82 if self.bac_offered => self.external_authenticate(cmd),
            0x22 if protected && cmd.p1 == 0x41 => self.chip_auth_mse(cmd),
            0x86 if protected && self.chip_auth.is_some() => self.chip_auth_key_agreement(cmd),
            0x22 if self.pace_offered => self.mse_set_at(cmd),
            0x86 if self.pace_offered => self.general_authenticate(cmd),
            0x88 if protected => self.internal_authenticate(cmd),
            0x88 => Self::sw(sw::SECURITY_NOT_SATISFIED),
            _ => Self::sw(sw::INS_NOT_SUPPORTED),
        }
    }

    fn select(&mut self, cmd: &Command) -> Response {
        match cmd.p1 {
            0x04 if cmd.data == kiosk_icao9303::reader::LDS_AID => {
                self.app_selected = true;
                self.current = None;
                Self::sw(sw::OK)
            }
            0x04 => Self::sw(sw::FILE_NOT_FOUND),
            0x02 => {
                let file = match cmd.data.as_slice() {
                    [0x01, 0x1C] => File::CardAccess,
                    [0x01, 0x1E] => File::Com,
                    [0x01, 0x1D] => File::Sod,
                    [0x01, n @ 1..=16] => File::Dg(*n),
                    _ => return Self::sw(sw::FILE_NOT_FOUND),
                };
                self.select_file(file)
            }
            // SELECT MF: real CCCD chips answer 6D00.
            _ => Self::sw(sw::INS_NOT_SUPPORTED),
        }
    }

    fn select_file(&mut self, file: File) -> Response {
        if file != File::CardAccess && !self.app_selected {
            return Self::sw(sw::FILE_NOT_FOUND);
        }
        if file == File::Dg(3) {
            return Self::sw(sw::SECURITY_NOT_SATISFIED);
        }
        if file == File::Dg(15) && self.hide_dg15 {
            return Self::sw(sw::FILE_NOT_FOUND);
        }
        if !self.files.contains_key(&file) {
            return Self::sw(sw::FILE_NOT_FOUND);
        }
        self.current = Some(file);
        Self::sw(sw::OK)
    }

    fn read_binary(&mut self, cmd: &Command, protected: bool) -> Response {
        if cmd.p1 == 0x81 && !self.app_selected && !protected {
            // EF.ATR/INFO (SFI 01) under the master file, readable in plain.
            return match &self.atr_info {
                Some(info) => {
                    let start = usize::from(cmd.p2).min(info.len());
                    let end = info.len().min(start + cmd.le.unwrap_or(256));
                    Response {
                        data: info[start..end].to_vec(),
                        sw: sw::OK,
                    }
                }
                None => Self::sw(sw::FILE_NOT_FOUND),
            };
        }
        let (file, offset) = if cmd.p1 & 0x80 != 0 {
            let sfi = cmd.p1 & 0x1F;
            let file = match sfi {
                0x1C => File::CardAccess,
                0x1E => File::Com,
                0x1D => File::Sod,
                1..=16 => File::Dg(sfi),
                _ => return Self::sw(sw::FILE_NOT_FOUND),
            };
            let r = self.select_file(file);
            if r.sw != sw::OK {
                return r;
            }
            (file, usize::from(cmd.p2))
        } else {
            match self.current {
                Some(f) => (f, usize::from(cmd.p1 & 0x7F) << 8 | usize::from(cmd.p2)),
                None => return Self::sw(0x6986),
            }
        };
        if file != File::CardAccess && !protected {
            return Self::sw(sw::SECURITY_NOT_SATISFIED);
        }
        let le = cmd.le.unwrap_or(256);
        if le > 256 && !self.extended_length {
            return Self::sw(sw::WRONG_LENGTH);
        }
        let limit = if le > 256 { le } else { le.min(self.max_read) };
        let Some(data) = self.files.get(&file) else {
            return Self::sw(sw::FILE_NOT_FOUND);
        };
        if offset > data.len() {
            return Self::sw(sw::WRONG_OFFSET);
        }
        let end = data.len().min(offset + limit);
        Response {
            data: data[offset..end].to_vec(),
            sw: sw::OK,
        }
    }

    fn external_authenticate(&mut self, cmd: &Command) -> Response {
        let Some(rnd_ic) = self.challenge.take() else {
            return Self::sw(sw::CONDITIONS);
        };
        let mut k_ic = [0u8; 16];
        self.rng.fill_bytes(&mut k_ic);
        match bac::chip_respond(&self.mrz_seed, rnd_ic, k_ic, &cmd.data) {
            Ok((data, sm)) => {
                self.pending_sm(sm);
                Response { data, sw: sw::OK }
            }
            Err(_) => Self::sw(sw::SECURITY_NOT_SATISFIED),
        }
    }

    /// Secure messaging starts with the next command (the answer itself is plain).
    fn pending_sm(&mut self, sm: SecureChannel) {
        self.sm = Some(sm);
    }

    fn mse_set_at(&mut self, cmd: &Command) -> Response {
        if cmd.p1 != 0xC1 || cmd.p2 != 0xA4 {
            return Self::sw(sw::WRONG_P1P2);
        }
        let Ok(items) = tlv::parse_all(&cmd.data) else {
            return Self::sw(0x6A80);
        };
        let oid = items
            .iter()
            .find(|t| t.tag == 0x80)
            .map(|t| t.value.to_vec());
        let pw_ref = items
            .iter()
            .find(|t| t.tag == 0x83)
            .and_then(|t| t.value.first().copied());
        let password = match pw_ref {
            Some(2) => self.can.clone(),
            Some(1) => Password::Mrz(self.mrz_info.clone().into()),
            _ => return Self::sw(0x6A80),
        };
        let info = PaceInfo {
            oid: oid.unwrap_or_default(),
            version: 2,
            parameter_id: Some(self.curve.parameter_id()),
        };
        match PaceChip::new(&info, &password) {
            Ok(chip) if info.curve().is_ok() => {
                self.pace = Some(chip);
                self.sm = None;
                Self::sw(sw::OK)
            }
            _ => Self::sw(0x6A80),
        }
    }

    fn internal_authenticate(&mut self, cmd: &Command) -> Response {
        let Some((key, hash)) = self.aa_key.as_ref().filter(|_| !self.aa_refused) else {
            return Self::sw(sw::INS_NOT_SUPPORTED);
        };
        let rng = &mut self.rng;
        match aa::sign(key, *hash, &cmd.data, &mut |b| rng.fill_bytes(b)) {
            Ok(sig) => Response {
                data: sig,
                sw: sw::OK,
            },
            Err(_) => Self::sw(0x6F00),
        }
    }

    /// `MSE:Set AT` (`41A4`) or `MSE:Set KAT` (`41A6`) for Chip Authentication.
    fn chip_auth_mse(&mut self, cmd: &Command) -> Response {
        let Some(ca) = self.chip_auth.as_mut() else {
            return Self::sw(sw::WRONG_P1P2);
        };
        if self.ca_refused {
            return Self::sw(0x6A80);
        }
        let status = |e| match e {
            kiosk_icao9303::Error::Status(sw) => sw,
            _ => 0x6A80,
        };
        match cmd.p2 {
            0xA4 => match ca.set_at(&cmd.data) {
                Ok(()) => Self::sw(sw::OK),
                Err(e) => Self::sw(status(e)),
            },
            0xA6 => match ca.set_kat(&cmd.data) {
                Ok(next) => {
                    self.next_sm = Some(next);
                    Self::sw(sw::OK)
                }
                Err(e) => Self::sw(status(e)),
            },
            _ => Self::sw(sw::WRONG_P1P2),
        }
    }

    /// `GENERAL AUTHENTICATE` of Chip Authentication (under secure messaging).
    fn chip_auth_key_agreement(&mut self, cmd: &Command) -> Response {
        let Some(ca) = self.chip_auth.as_mut() else {
            return Self::sw(sw::CONDITIONS);
        };
        match ca.general_authenticate(&cmd.data) {
            Ok((data, next)) => {
                self.next_sm = Some(next);
                Response { data, sw: sw::OK }
            }
            Err(kiosk_icao9303::Error::Status(sw)) => Self::sw(sw),
            Err(_) => Self::sw(0x6A80),
        }
    }

    fn general_authenticate(&mut self, cmd: &Command) -> Response {
        let Some(mut pace) = self.pace.take() else {
            return Self::sw(sw::CONDITIONS);
        };
        let rng = &mut self.rng;
        let mut fill = |b: &mut [u8]| rng.fill_bytes(b);
        match pace.general_authenticate(&cmd.data, &mut fill) {
            Ok(ChipStep::Continue(data)) => {
                self.pace = Some(pace);
                Response { data, sw: sw::OK }
            }
            Ok(ChipStep::Done(data, sm)) => {
                self.pending_sm(sm);
                Response { data, sw: sw::OK }
            }
            Err(kiosk_icao9303::Error::AccessDenied(_)) => Self::sw(0x6300),
            Err(_) => Self::sw(0x6A80),
        }
    }
}

impl kiosk_hw::card::VirtualCard for VirtualCccd {
    fn atr(&self) -> Vec<u8> {
        VirtualCccd::atr(self)
    }

    fn process(&mut self, apdu: &[u8]) -> Vec<u8> {
        VirtualCccd::process(self, apdu)
    }
}
