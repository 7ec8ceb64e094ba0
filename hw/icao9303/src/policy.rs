//! The one verdict on a chip read that the kiosk and `kioskctl` both use: passive
//! authentication plus clone detection that cannot be skipped.
//!
//! Passive authentication proves the data was signed by the issuer; it does not prove that the
//! chip is the one the data was written to (a copy of the files on another chip passes it).
//! The clone checks close that gap, and a chip cannot opt out of them by hiding a file or
//! refusing a command:
//!
//! 1. Every data group the kiosk needs ([`NEEDED_DATA_GROUPS`]) that the SOD lists must have been
//!    read and must hash to the SOD's value (`dg_missing`, `dg_mismatch`).
//! 2. DG14 offers Chip Authentication -> it must be `Verified` (`ca_failed`, `ca_refused`,
//!    `ca_not_performed`, `ca_unsupported`; a DG14 that does not parse: `dg14_malformed`).
//! 3. The SOD lists DG15 -> Active Authentication must be `Verified` (`aa_failed`,
//!    `aa_refused`, `aa_not_performed`).
//!
//! Anything else is [`CloneVerdict::PossiblyCloned`]: the card is refused and the citizen sent
//! to the counter. A chip whose SOD lists neither DG14 with Chip Authentication nor DG15 offers
//! no clone detection at all: [`CloneVerdict::NotOffered`], accepted on passive authentication.

use crate::aa::{self, HashSource};
use crate::auth::{ActiveVerdict, PassiveVerdict};
use crate::chip_auth::ChipAuthOutcome;
use crate::dg14;
use crate::lds::File;
use crate::pki::{self, PublicKey};
use crate::reader::ChipRead;

/// The data groups the kiosk needs: read and matched whenever the SOD lists them.
pub const NEEDED_DATA_GROUPS: [u8; 5] = [1, 2, 13, 14, 15];

/// Why a chip is refused as possibly cloned.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloneReason {
    /// No EF.SOD that parses: nothing says which data groups and checks the chip must have.
    SodUnreadable,
    /// The SOD lists this needed data group, but it was not read (hidden or refused).
    DgMissing(u8),
    /// This needed data group does not hash to the SOD's value.
    DgMismatch(u8),
    /// DG14 (signed, listed) does not parse.
    Dg14Malformed(String),
    /// Chip Authentication ran and the chip could not use the new keys.
    CaFailed(String),
    /// The chip refused Chip Authentication with this status word.
    CaRefused(u16),
    /// DG14 offers Chip Authentication but it was not run.
    CaNotPerformed,
    /// DG14 offers Chip Authentication in a form this crate cannot run.
    CaUnsupported(&'static str),
    /// The Active Authentication signature does not verify.
    AaFailed(String),
    /// The chip refused INTERNAL AUTHENTICATE with this status word.
    AaRefused(u16),
    /// Active Authentication was not run or could not be checked.
    AaNotPerformed(&'static str),
}

impl CloneReason {
    /// A short machine-readable name.
    pub fn code(&self) -> &'static str {
        match self {
            Self::SodUnreadable => "sod_unreadable",
            Self::DgMissing(_) => "dg_missing",
            Self::DgMismatch(_) => "dg_mismatch",
            Self::Dg14Malformed(_) => "dg14_malformed",
            Self::CaFailed(_) => "ca_failed",
            Self::CaRefused(_) => "ca_refused",
            Self::CaNotPerformed => "ca_not_performed",
            Self::CaUnsupported(_) => "ca_unsupported",
            Self::AaFailed(_) => "aa_failed",
            Self::AaRefused(_) => "aa_refused",
            Self::AaNotPerformed(_) => "aa_not_performed",
        }
    }
}

impl std::fmt::Display for CloneReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::SodUnreadable => write!(f, "no readable EF.SOD"),
            Self::DgMissing(n) => write!(f, "the SOD lists DG{n} but the chip did not give it"),
            Self::DgMismatch(n) => write!(f, "DG{n} does not match the SOD"),
            Self::Dg14Malformed(e) => write!(f, "DG14 does not parse: {e}"),
            Self::CaFailed(e) => write!(f, "Chip Authentication failed: {e}"),
            Self::CaRefused(sw) => write!(f, "the chip refused Chip Authentication ({sw:04X})"),
            Self::CaNotPerformed => write!(f, "DG14 offers Chip Authentication, not run"),
            Self::CaUnsupported(w) => write!(f, "Chip Authentication not supported: {w}"),
            Self::AaFailed(e) => write!(f, "Active Authentication failed: {e}"),
            Self::AaRefused(sw) => write!(f, "the chip refused Active Authentication ({sw:04X})"),
            Self::AaNotPerformed(w) => write!(f, "Active Authentication not performed: {w}"),
        }
    }
}

/// The clone checks' outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloneVerdict {
    /// Every clone check the chip offers passed.
    Verified {
        /// Active Authentication verified (the SOD lists DG15).
        active_auth: bool,
        /// Chip Authentication verified (DG14 offers it).
        chip_auth: bool,
    },
    /// The chip offers no clone detection (SOD lists neither DG15 nor DG14 with Chip
    /// Authentication): the data is as good as passive authentication says.
    NotOffered,
    /// Refused: possibly a cloned chip.
    PossiblyCloned(CloneReason),
}

impl CloneVerdict {
    /// Whether the clone checks let the card through.
    pub fn is_accepted(&self) -> bool {
        matches!(self, Self::Verified { .. } | Self::NotOffered)
    }

    /// A short machine-readable name: `verified`, `not_offered`, or the refusal reason's code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Verified { .. } => "verified",
            Self::NotOffered => "not_offered",
            Self::PossiblyCloned(r) => r.code(),
        }
    }
}

/// The clone verdict of `read`, given its Active Authentication verdict (from
/// [`ChipRead::verify`]). Pure: the SOD, DG14 and the outcomes recorded in `read`.
pub fn clone_verdict(read: &ChipRead, active: &ActiveVerdict) -> CloneVerdict {
    let refuse = CloneVerdict::PossiblyCloned;
    let Some(sod) = read
        .files
        .get(&File::Sod)
        .and_then(|raw| pki::parse_sod(raw).ok())
    else {
        return refuse(CloneReason::SodUnreadable);
    };
    for n in NEEDED_DATA_GROUPS {
        let Some(expected) = sod.dg_hashes.get(&n) else {
            continue;
        };
        let Some(raw) = read.files.get(&File::Dg(n)) else {
            return refuse(CloneReason::DgMissing(n));
        };
        if &sod.hash_alg.digest(raw) != expected {
            return refuse(CloneReason::DgMismatch(n));
        }
    }
    let mut chip_auth = false;
    if let Some(raw) = read.files.get(&File::Dg(14)) {
        let infos = match dg14::parse_dg14(raw) {
            Ok(i) => i,
            Err(e) => return refuse(CloneReason::Dg14Malformed(e.to_string())),
        };
        if infos.offers_chip_auth() {
            match &read.chip_auth {
                Some(ChipAuthOutcome::Verified) => chip_auth = true,
                Some(ChipAuthOutcome::Failed(e)) => {
                    return refuse(CloneReason::CaFailed(e.clone()))
                }
                Some(ChipAuthOutcome::Refused(sw)) => return refuse(CloneReason::CaRefused(*sw)),
                Some(ChipAuthOutcome::Unsupported(w)) => {
                    return refuse(CloneReason::CaUnsupported(w))
                }
                None => return refuse(CloneReason::CaNotPerformed),
            }
        }
    }
    let mut active_auth = false;
    if sod.dg_hashes.contains_key(&15) {
        match active {
            ActiveVerdict::Verified => active_auth = true,
            ActiveVerdict::Failed(e) => return refuse(CloneReason::AaFailed(e.clone())),
            ActiveVerdict::NotAttempted(why) => {
                return refuse(match read.active_auth_status {
                    Some(sw) => CloneReason::AaRefused(sw),
                    None => CloneReason::AaNotPerformed(why),
                })
            }
        }
    }
    if active_auth || chip_auth {
        CloneVerdict::Verified {
            active_auth,
            chip_auth,
        }
    } else {
        CloneVerdict::NotOffered
    }
}

/// Everything the kiosk decides on, from one read (made only by [`ChipRead::chip_verdict`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChipVerdict {
    /// Passive authentication.
    pub passive: PassiveVerdict,
    /// Active Authentication.
    pub active: ActiveVerdict,
    /// Chip Authentication, as recorded by the read (`None`: not run).
    pub chip_auth: Option<ChipAuthOutcome>,
    /// The clone checks.
    pub clone: CloneVerdict,
    /// Remarks for the technician's log (e.g. the Active Authentication hash was assumed).
    pub notes: Vec<&'static str>,
}

impl ChipVerdict {
    /// Whether the identity can be trusted: passive authentication verified and the clone
    /// checks passed (or the chip offers none).
    pub fn accepted(&self) -> bool {
        self.passive.is_verified() && self.clone.is_accepted()
    }

    /// Whether the card is refused as possibly cloned (send the citizen to the counter).
    pub fn possibly_cloned(&self) -> bool {
        matches!(self.clone, CloneVerdict::PossiblyCloned(_))
    }
}

impl ChipRead {
    /// The whole verdict: [`ChipRead::verify`] (passive and active authentication) and
    /// [`clone_verdict`]. `trusted_cscas` and `now` as for
    /// [`crate::auth::passive_authentication`].
    pub fn chip_verdict(&self, trusted_cscas: &[Vec<u8>], now: &str) -> ChipVerdict {
        let (passive, active) = self.verify(trusted_cscas, now);
        let clone = clone_verdict(self, &active);
        let mut notes = Vec::new();
        let dg15_is_ec = self
            .files
            .get(&File::Dg(15))
            .and_then(|d| crate::lds::parse_dg15(d).ok())
            .and_then(|spki| pki::parse_spki(&spki).ok())
            .is_some_and(|k| matches!(k, PublicKey::Ec { .. }));
        let dg14 = self
            .files
            .get(&File::Dg(14))
            .and_then(|d| dg14::parse_dg14(d).ok());
        if dg15_is_ec && aa::hash_for(dg14.as_ref()).1 == HashSource::DefaultSha256 {
            notes.push("DG14 names no Active Authentication algorithm: ECDSA checked with SHA-256");
        }
        ChipVerdict {
            passive,
            active,
            chip_auth: self.chip_auth.clone(),
            clone,
            notes,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use zeroize::Zeroizing;

    use super::*;
    use crate::dg14::{ActiveAuthInfo, ChipAuthInfo, ChipAuthPublicKey, CA_ECDH_AES_128};
    use crate::ec::Curve;
    use crate::issue::{self, Signer};
    use crate::pki::HashAlg;

    const CHALLENGE: [u8; 8] = [1, 2, 3, 4, 5, 6, 7, 8];

    struct Card {
        dgs: BTreeMap<u8, Vec<u8>>,
        sod: Vec<u8>,
        aa_key: Signer,
    }

    /// A card whose SOD lists `listed`; DG14 offers CA when `ca`, names SHA-384 for AA.
    fn card(listed: &[u8], ca: bool) -> Card {
        let curve = Curve::BrainpoolP256r1;
        let aa_key = Signer::ec(curve, &[0x33; 32]).expect("key");
        let mut infos = vec![ActiveAuthInfo {
            version: 1,
            hash: HashAlg::Sha384,
        }
        .encode()];
        if ca {
            infos.push(
                ChipAuthInfo {
                    oid: CA_ECDH_AES_128.to_vec(),
                    version: 1,
                    key_id: None,
                }
                .encode(),
            );
            infos.push(
                ChipAuthPublicKey {
                    curve,
                    point: curve.mul_generator(&[0x44; 32]).expect("key"),
                    key_id: None,
                }
                .encode(),
            );
        }
        let mut all = BTreeMap::new();
        all.insert(1u8, b"dg1".to_vec());
        all.insert(2, b"dg2".to_vec());
        all.insert(13, b"dg13".to_vec());
        all.insert(14, dg14::encode_dg14(&infos));
        all.insert(
            15,
            issue::dg15(curve, &curve.mul_generator(&[0x33; 32]).expect("key")),
        );
        let dgs: BTreeMap<u8, Vec<u8>> = all
            .into_iter()
            .filter(|(n, _)| listed.contains(n))
            .collect();
        let sod = sod_over(&dgs);
        Card { dgs, sod, aa_key }
    }

    /// A SOD over `dgs` (no DS certificate: the clone policy does not look at the chain).
    fn sod_over(dgs: &BTreeMap<u8, Vec<u8>>) -> Vec<u8> {
        issue::sod(
            dgs,
            b"",
            &issue::name("DS"),
            1,
            Curve::BrainpoolP256r1,
            &[0x21; 32],
        )
        .expect("sod")
    }

    /// A read of `card`: every listed DG except `hidden`, with the given AA/CA records.
    fn read_of(c: &Card, hidden: &[u8]) -> ChipRead {
        let mut files: BTreeMap<File, Zeroizing<Vec<u8>>> = c
            .dgs
            .iter()
            .filter(|(n, _)| !hidden.contains(n))
            .map(|(n, v)| (File::Dg(*n), Zeroizing::new(v.clone())))
            .collect();
        files.insert(File::Sod, Zeroizing::new(c.sod.clone()));
        ChipRead {
            files,
            ..ChipRead::default()
        }
    }

    fn signed(key: &Signer, hash: HashAlg) -> Option<(Vec<u8>, Vec<u8>)> {
        let sig = aa::sign(key, hash, &CHALLENGE, &mut |b| b.fill(7)).expect("sign");
        Some((CHALLENGE.to_vec(), sig))
    }

    fn code(read: &ChipRead) -> &'static str {
        let (_, active) = read.verify(&[], "20260101000000");
        clone_verdict(read, &active).code()
    }

    #[test]
    fn clone_policy_table() {
        let all = [1u8, 2, 13, 14, 15];
        let clone_key = Signer::ec(Curve::BrainpoolP256r1, &[0x34; 32]).expect("key");
        let genuine = card(&all, true);
        let no_ca = card(&all, false);
        let k = &genuine.aa_key;
        type Setup<'a> = Box<dyn Fn() -> ChipRead + 'a>;
        let rows: Vec<(&str, Setup<'_>, &str)> = vec![
            (
                "AA and CA verified",
                Box::new(|| {
                    let mut r = read_of(&genuine, &[]);
                    r.active_auth = signed(k, HashAlg::Sha384);
                    r.chip_auth = Some(ChipAuthOutcome::Verified);
                    r
                }),
                "verified",
            ),
            (
                "AA with the hash DG14 does not name",
                Box::new(|| {
                    let mut r = read_of(&genuine, &[]);
                    r.active_auth = signed(k, HashAlg::Sha256);
                    r.chip_auth = Some(ChipAuthOutcome::Verified);
                    r
                }),
                "aa_failed",
            ),
            (
                "AA by a clone",
                Box::new(|| {
                    let mut r = read_of(&no_ca, &[]);
                    r.active_auth = signed(&clone_key, HashAlg::Sha384);
                    r
                }),
                "aa_failed",
            ),
            (
                "AA refused by the chip",
                Box::new(|| {
                    let mut r = read_of(&no_ca, &[]);
                    r.active_auth_status = Some(0x6D00);
                    r
                }),
                "aa_refused",
            ),
            (
                "AA not run",
                Box::new(|| read_of(&no_ca, &[])),
                "aa_not_performed",
            ),
            (
                "DG15 hidden",
                Box::new(|| read_of(&no_ca, &[15])),
                "dg_missing",
            ),
            (
                "DG14 hidden",
                Box::new(|| read_of(&genuine, &[14])),
                "dg_missing",
            ),
            (
                "DG2 hidden",
                Box::new(|| read_of(&no_ca, &[2])),
                "dg_missing",
            ),
            (
                "DG1 altered",
                Box::new(|| {
                    let mut r = read_of(&no_ca, &[]);
                    r.files
                        .insert(File::Dg(1), Zeroizing::new(b"dg1 changed".to_vec()));
                    r
                }),
                "dg_mismatch",
            ),
            (
                "CA not run",
                Box::new(|| {
                    let mut r = read_of(&genuine, &[]);
                    r.active_auth = signed(k, HashAlg::Sha384);
                    r
                }),
                "ca_not_performed",
            ),
            (
                "CA failed",
                Box::new(|| {
                    let mut r = read_of(&genuine, &[]);
                    r.active_auth = signed(k, HashAlg::Sha384);
                    r.chip_auth = Some(ChipAuthOutcome::Failed("6988".into()));
                    r
                }),
                "ca_failed",
            ),
            (
                "CA refused",
                Box::new(|| {
                    let mut r = read_of(&genuine, &[]);
                    r.chip_auth = Some(ChipAuthOutcome::Refused(0x6A80));
                    r
                }),
                "ca_refused",
            ),
            (
                "CA unsupported",
                Box::new(|| {
                    let mut r = read_of(&genuine, &[]);
                    r.chip_auth = Some(ChipAuthOutcome::Unsupported("DH"));
                    r
                }),
                "ca_unsupported",
            ),
            (
                "no SOD",
                Box::new(|| {
                    let mut r = read_of(&genuine, &[]);
                    r.files.remove(&File::Sod);
                    r
                }),
                "sod_unreadable",
            ),
            (
                "DG14 does not parse",
                Box::new(|| {
                    let dgs: BTreeMap<u8, Vec<u8>> = [(14u8, vec![0x6E, 0x02, 0x04, 0x00])].into();
                    let c = Card {
                        sod: sod_over(&dgs),
                        dgs,
                        ..card(&[14], false)
                    };
                    read_of(&c, &[])
                }),
                "dg14_malformed",
            ),
            (
                "a chip with neither DG14 nor DG15",
                Box::new(|| read_of(&card(&[1, 2, 13], false), &[])),
                "not_offered",
            ),
            (
                "DG14 without CA, no DG15",
                Box::new(|| read_of(&card(&[1, 2, 13, 14], false), &[])),
                "not_offered",
            ),
            (
                "CA alone",
                Box::new(|| {
                    let c = card(&[1, 2, 13, 14], true);
                    let mut r = read_of(&c, &[]);
                    r.chip_auth = Some(ChipAuthOutcome::Verified);
                    r
                }),
                "verified",
            ),
        ];
        for (name, setup, expected) in &rows {
            assert_eq!(code(&setup()), *expected, "{name}");
        }
    }

    #[test]
    fn chip_verdict_combines_and_notes_the_assumed_hash() {
        let c = card(&[1, 2, 13, 15], false);
        let mut r = read_of(&c, &[]);
        r.active_auth = signed(&c.aa_key, HashAlg::Sha256);
        let v = r.chip_verdict(&[], "20260101000000");
        // No trusted CSCA: passive authentication refuses even though the clone checks pass.
        assert_eq!(
            v.clone,
            CloneVerdict::Verified {
                active_auth: true,
                chip_auth: false
            }
        );
        assert!(!v.accepted());
        assert!(!v.possibly_cloned());
        assert_eq!(v.notes.len(), 1, "{:?}", v.notes);
        let r = read_of(&c, &[15]);
        let v = r.chip_verdict(&[], "20260101000000");
        assert!(v.possibly_cloned());
        assert_eq!(v.clone.code(), "dg_missing");
    }
}
