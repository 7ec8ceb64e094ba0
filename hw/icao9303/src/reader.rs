//! A whole chip read over any transport: access control (PACE-CAN, else BAC), the SOD, DG14 and
//! Chip Authentication when DG14 offers it (so the other files travel on a channel only the
//! genuine chip can speak), the other data groups, then Active Authentication, counting APDUs.
//!
//! The transport is a trait with one method, so this module still does no I/O of its own; the
//! PC/SC driver, the in-process simulator and test fakes all plug in. Every card operation is
//! bounded: by the transport's own timeout per APDU and by [`ReadOptions::max_apdus`] per read,
//! so a misbehaving card cannot make the kiosk loop.

use std::collections::BTreeMap;
use std::fmt;

use zeroize::Zeroizing;

use crate::apdu::{sw, Command, Response};
use crate::auth;
use crate::bac;
use crate::chip_auth::{AfterSetAt, ChipAuthOutcome, ChipAuthTerminal};
use crate::dg14;
use crate::lds::{self, File};
use crate::pace::{self, PaceInfo, PaceTerminal, Password};
use crate::pki;
use crate::sm::SecureChannel;
use crate::tlv;
use crate::Error;

/// The AID of the eMRTD LDS1 application.
pub const LDS_AID: [u8; 7] = [0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01];

/// An error of the transport below (kept boxed so that callers can downcast to their own type,
/// e.g. `kiosk_hw::CardError`, and read its kind).
pub type LinkError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Moves one command APDU to the card and its response back.
pub trait Transceive {
    /// Sends `apdu`, returns the response including SW1 SW2.
    ///
    /// # Errors
    ///
    /// Whatever the transport fails with (card removed, reader gone, timeout).
    fn transceive(&mut self, apdu: &[u8]) -> Result<Vec<u8>, LinkError>;
}

impl<F> Transceive for F
where
    F: FnMut(&[u8]) -> Result<Vec<u8>, LinkError>,
{
    fn transceive(&mut self, apdu: &[u8]) -> Result<Vec<u8>, LinkError> {
        self(apdu)
    }
}

/// A read failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The transport failed (see the source for the reader's error kind).
    #[error("card transport: {0}")]
    Link(#[source] LinkError),
    /// The protocol failed.
    #[error(transparent)]
    Protocol(#[from] Error),
    /// The card is not an eMRTD (no LDS application).
    #[error("not an ICAO 9303 eMRTD (no LDS application)")]
    NotEmrtd,
    /// More APDUs than [`ReadOptions::max_apdus`].
    #[error("too many APDUs for one read (limit {0})")]
    TooManyApdus(u32),
}

/// How to get access.
#[derive(Clone)]
pub enum Access {
    /// PACE with this password (CAN from the ID number), falling back to BAC if given.
    Pace {
        /// The PACE password.
        password: Password,
        /// BAC key seed to try if the card has no PACE.
        bac_fallback: Option<Zeroizing<[u8; 16]>>,
    },
    /// BAC only, with `K_seed`.
    Bac(Zeroizing<[u8; 16]>),
    /// No access control (demo cards that answer plain APDUs).
    Plain,
}

impl fmt::Debug for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Pace { .. } => "Access::Pace",
            Self::Bac(_) => "Access::Bac",
            Self::Plain => "Access::Plain",
        })
    }
}

/// What the read did to get access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessUsed {
    /// PACE.
    Pace,
    /// BAC.
    Bac,
    /// None.
    Plain,
}

/// Read settings.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Largest plaintext block per short READ BINARY (223 fits secure messaging in 256 bytes).
    pub max_read: usize,
    /// Try one extended-length READ BINARY for the rest of a file; fall back to short reads if
    /// the card or reader refuses.
    pub extended_length: bool,
    /// Largest extended read.
    pub max_extended_read: usize,
    /// Data groups wanted (read only if the SOD or EF.COM lists them).
    pub data_groups: Vec<u8>,
    /// Run Active Authentication when DG15 is present.
    pub active_authentication: bool,
    /// Run Chip Authentication when DG14 offers it (DG14 is then read first). Off, the clone
    /// policy refuses such a chip (`ca_not_performed`): for diagnostics only.
    pub chip_authentication: bool,
    /// Upper bound on APDUs for one read.
    pub max_apdus: u32,
}

impl Default for ReadOptions {
    fn default() -> Self {
        Self {
            max_read: 223,
            extended_length: true,
            max_extended_read: 0x7FFF,
            data_groups: vec![1, 2, 13, 14, 15],
            active_authentication: true,
            chip_authentication: true,
            max_apdus: 2000,
        }
    }
}

/// Everything read from the chip, raw.
#[derive(Clone, Default)]
pub struct ChipRead {
    /// Access control used.
    pub access: Option<AccessUsed>,
    /// Files by identifier, raw as read (hash these, never a re-encoding).
    pub files: BTreeMap<File, Zeroizing<Vec<u8>>>,
    /// Active Authentication challenge and the chip's answer.
    pub active_auth: Option<(Vec<u8>, Vec<u8>)>,
    /// The status word with which the chip refused INTERNAL AUTHENTICATE (`None`: answered,
    /// or not asked).
    pub active_auth_status: Option<u16>,
    /// Chip Authentication (`None`: not run; DG14 absent or offering none, or switched off).
    pub chip_auth: Option<ChipAuthOutcome>,
    /// APDUs exchanged (including GET RESPONSE).
    pub apdus: u32,
    /// Whether extended-length reads worked.
    pub extended_length_used: bool,
}

impl fmt::Debug for ChipRead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sizes: BTreeMap<String, usize> = self
            .files
            .iter()
            .map(|(k, v)| (k.to_string(), v.len()))
            .collect();
        f.debug_struct("ChipRead")
            .field("access", &self.access)
            .field("file_sizes", &sizes)
            .field("apdus", &self.apdus)
            .field("extended_length_used", &self.extended_length_used)
            .field("chip_auth", &self.chip_auth)
            .field("active_auth_status", &self.active_auth_status)
            .finish_non_exhaustive()
    }
}

impl ChipRead {
    /// Data groups as a map (number -> raw) for passive authentication.
    pub fn data_groups(&self) -> BTreeMap<u8, Vec<u8>> {
        self.files
            .iter()
            .filter_map(|(f, v)| match f {
                File::Dg(n) => Some((*n, v.to_vec())),
                _ => None,
            })
            .collect()
    }

    /// Passive and active authentication verdicts. Active Authentication with an ECDSA key uses
    /// the hash DG14 names (SHA-256 when it names none); RSA keys per ISO/IEC 9796-2. For the
    /// decision with the clone checks, use [`ChipRead::chip_verdict`].
    pub fn verify(
        &self,
        trusted_cscas: &[Vec<u8>],
        now: &str,
    ) -> (auth::PassiveVerdict, auth::ActiveVerdict) {
        let pa = auth::passive_authentication(
            self.files.get(&File::Sod).map(|v| v.as_slice()),
            &self.data_groups(),
            trusted_cscas,
            now,
        );
        let aa = match (self.files.get(&File::Dg(15)), &self.active_auth) {
            (None, _) => auth::ActiveVerdict::NotAttempted("no DG15 on the card"),
            (Some(_), None) if self.active_auth_status.is_some() => {
                auth::ActiveVerdict::NotAttempted("the chip refused INTERNAL AUTHENTICATE")
            }
            (Some(_), None) => auth::ActiveVerdict::NotAttempted("not run"),
            (Some(dg15), Some((challenge, sig))) => match lds::parse_dg15(dg15) {
                Ok(spki) => {
                    let dg14 = self
                        .files
                        .get(&File::Dg(14))
                        .and_then(|d| dg14::parse_dg14(d).ok());
                    let (hash, _) = crate::aa::hash_for(dg14.as_ref());
                    crate::aa::verify(&spki, hash, challenge, sig)
                }
                Err(e) => auth::ActiveVerdict::Failed(format!("DG15: {e}")),
            },
        };
        (pa, aa)
    }
}

struct Session<'t, T: Transceive + ?Sized> {
    t: &'t mut T,
    sm: Option<SecureChannel>,
    apdus: u32,
    max_apdus: u32,
}

impl<T: Transceive + ?Sized> Session<'_, T> {
    /// One raw exchange plus GET RESPONSE (61xx) and Le correction (6Cxx).
    fn raw(&mut self, apdu: &[u8]) -> Result<Response, ReadError> {
        let mut out = Vec::new();
        let mut cmd = apdu.to_vec();
        loop {
            self.apdus += 1;
            if self.apdus > self.max_apdus {
                return Err(ReadError::TooManyApdus(self.max_apdus));
            }
            let raw = self.t.transceive(&cmd).map_err(ReadError::Link)?;
            let r = Response::parse(&raw)?;
            out.extend_from_slice(&r.data);
            match r.sw >> 8 {
                0x61 => cmd = vec![0x00, 0xC0, 0x00, 0x00, (r.sw & 0xFF) as u8],
                0x6C if cmd.len() == 5 => {
                    cmd[4] = (r.sw & 0xFF) as u8;
                    out.clear();
                }
                _ => {
                    return Ok(Response {
                        data: out,
                        sw: r.sw,
                    })
                }
            }
        }
    }

    /// A command, protected when secure messaging is on.
    fn send(&mut self, cmd: &Command) -> Result<Response, ReadError> {
        match self.sm.as_mut() {
            None => self.raw(&cmd.to_bytes()),
            Some(sm) => {
                let wire = sm.protect(cmd)?;
                let r = self.raw(&wire)?;
                let sm = self
                    .sm
                    .as_mut()
                    .ok_or(Error::SecureMessaging("session lost"))?;
                Ok(sm.unprotect(&r)?)
            }
        }
    }

    fn select_lds(&mut self) -> Result<(), ReadError> {
        let r = self.send(&Command::new(0x00, 0xA4, 0x04, 0x0C).with_data(LDS_AID.to_vec()))?;
        match r.sw {
            sw::OK => Ok(()),
            sw::FILE_NOT_FOUND | sw::WRONG_P1P2 | sw::INS_NOT_SUPPORTED | sw::CLA_NOT_SUPPORTED => {
                Err(ReadError::NotEmrtd)
            }
            s => Err(Error::Status(s).into()),
        }
    }

    /// Reads a whole file; `Ok(None)` if the card says it does not exist or is protected.
    fn read_file(
        &mut self,
        file: File,
        opts: &ReadOptions,
        ext_ok: &mut Option<bool>,
    ) -> Result<Option<Vec<u8>>, ReadError> {
        // First block by short file identifier: selects the file and reads its header in one APDU.
        let first = opts.max_read.clamp(8, 256);
        let r = self.send(&Command::new(0x00, 0xB0, 0x80 | file.sfi(), 0x00).with_le(first))?;
        let mut data = match r.sw {
            sw::OK | sw::END_OF_FILE => r.data,
            sw::FILE_NOT_FOUND | sw::SECURITY_NOT_SATISFIED | sw::CONDITIONS => return Ok(None),
            // Some chips refuse SFI reads: select by FID, then read by offset.
            sw::WRONG_P1P2 | sw::INS_NOT_SUPPORTED | 0x6981 => {
                let s = self
                    .send(&Command::new(0x00, 0xA4, 0x02, 0x0C).with_data(file.fid().to_vec()))?;
                match s.sw {
                    sw::OK => {}
                    sw::FILE_NOT_FOUND | sw::SECURITY_NOT_SATISFIED => return Ok(None),
                    other => return Err(Error::Status(other).into()),
                }
                let r = self.send(&Command::new(0x00, 0xB0, 0x00, 0x00).with_le(first))?;
                if !matches!(r.sw, sw::OK | sw::END_OF_FILE) {
                    return Err(Error::Status(r.sw).into());
                }
                r.data
            }
            other => return Err(Error::Status(other).into()),
        };
        if data.is_empty() {
            return Err(Error::Malformed("empty file").into());
        }
        let total = tlv::total_len(&data)?;
        if total > 0x7FFF + 256 {
            return Err(Error::Unsupported("files over 32 KB (odd-INS READ BINARY)").into());
        }
        data.truncate(total);
        while data.len() < total {
            let offset = data.len();
            let remaining = total - offset;
            let try_ext =
                opts.extended_length && *ext_ok != Some(false) && remaining > opts.max_read;
            let want = if try_ext {
                remaining.min(opts.max_extended_read)
            } else {
                remaining.min(opts.max_read)
            };
            let cmd =
                Command::new(0x00, 0xB0, (offset >> 8) as u8 & 0x7F, offset as u8).with_le(want);
            let r = match self.send(&cmd) {
                Ok(r) => r,
                Err(ReadError::Protocol(Error::SessionLost(_))) if try_ext => {
                    // The card dropped secure messaging over the extended APDU: not recoverable
                    // within this session.
                    return Err(Error::SessionLost(0x6700).into());
                }
                Err(e) => return Err(e),
            };
            match r.sw {
                sw::OK | sw::END_OF_FILE if !r.data.is_empty() => {
                    if try_ext {
                        *ext_ok = Some(true);
                    }
                    data.extend_from_slice(&r.data[..r.data.len().min(remaining)]);
                }
                sw::WRONG_LENGTH | sw::INS_NOT_SUPPORTED | 0x6A80 | 0x6A87 if try_ext => {
                    *ext_ok = Some(false);
                }
                other => return Err(Error::Status(other).into()),
            }
        }
        Ok(Some(data))
    }
}

/// Reads EF.CardAccess, plain, before access control (by SFI, else by FID; never SELECT MF,
/// which CCCD chips refuse).
fn read_card_access<T: Transceive + ?Sized>(
    s: &mut Session<'_, T>,
) -> Result<Option<Vec<u8>>, ReadError> {
    let r = s.send(&Command::new(0x00, 0xB0, 0x9C, 0x00).with_le(256))?;
    if matches!(r.sw, sw::OK | sw::END_OF_FILE) && !r.data.is_empty() {
        return Ok(Some(r.data));
    }
    let sel = s.send(&Command::new(0x00, 0xA4, 0x02, 0x0C).with_data(vec![0x01, 0x1C]))?;
    if sel.sw != sw::OK {
        return Ok(None);
    }
    let r = s.send(&Command::new(0x00, 0xB0, 0x00, 0x00).with_le(256))?;
    Ok(matches!(r.sw, sw::OK | sw::END_OF_FILE).then_some(r.data))
}

fn random_scalar(rand: &mut dyn FnMut(&mut [u8]), curve: crate::ec::Curve) -> Zeroizing<Vec<u8>> {
    loop {
        let mut k = Zeroizing::new(vec![0u8; curve.field_len()]);
        rand(&mut k);
        if curve.mul_generator(&k).is_ok() {
            return k;
        }
    }
}

fn run_pace<T: Transceive + ?Sized>(
    s: &mut Session<'_, T>,
    info: &PaceInfo,
    password: &Password,
    rand: &mut dyn FnMut(&mut [u8]),
) -> Result<SecureChannel, ReadError> {
    let curve = info.curve()?;
    let t = PaceTerminal::new(info, password)?;
    let r = s.send(&t.mse_set_at())?;
    if r.sw != sw::OK {
        return Err(Error::Status(r.sw).into());
    }
    let (cmd, st) = t.request_nonce();
    let r = s.send(&cmd)?;
    let (cmd, st) = st.on_nonce(&r, &random_scalar(rand, curve))?;
    let r = s.send(&cmd)?;
    let (cmd, st) = st.on_mapping(&r, &random_scalar(rand, curve))?;
    let r = s.send(&cmd)?;
    let (cmd, st) = st.on_key(&r)?;
    let r = s.send(&cmd)?;
    Ok(st.finish(&r)?.channel)
}

fn run_bac<T: Transceive + ?Sized>(
    s: &mut Session<'_, T>,
    seed: &[u8; 16],
    rand: &mut dyn FnMut(&mut [u8]),
) -> Result<SecureChannel, ReadError> {
    let r = s.send(&bac::get_challenge())?;
    if r.sw != sw::OK {
        return Err(Error::Status(r.sw).into());
    }
    let mut rnd_ifd = [0u8; 8];
    let mut k_ifd = [0u8; 16];
    rand(&mut rnd_ifd);
    rand(&mut k_ifd);
    let (cmd, pending) = bac::external_authenticate(seed, &r.data, rnd_ifd, k_ifd)?;
    let r = s.send(&cmd)?;
    Ok(pending.finish(r.sw, &r.data)?)
}

/// Access control: PACE (else BAC) or nothing, then the LDS application selected. Run again
/// when the chip dropped secure messaging mid-read.
fn establish<T: Transceive + ?Sized>(
    s: &mut Session<'_, T>,
    access: &Access,
    rand: &mut dyn FnMut(&mut [u8]),
    out: &mut ChipRead,
) -> Result<(), ReadError> {
    // Any previous session is gone (a chip that dropped it mid-read): start plain.
    s.sm = None;
    match access {
        Access::Plain => {
            s.select_lds()?;
            out.access = Some(AccessUsed::Plain);
        }
        Access::Bac(seed) => {
            s.select_lds()?;
            s.sm = Some(run_bac(s, seed, rand)?);
            out.access = Some(AccessUsed::Bac);
        }
        Access::Pace {
            password,
            bac_fallback,
        } => {
            let card_access = read_card_access(s)?;
            let info = card_access
                .as_deref()
                .and_then(|ca| pace::parse_pace_infos(ca).ok())
                .and_then(|infos| {
                    infos
                        .into_iter()
                        .find(|i| i.cipher().is_ok() && i.curve().is_ok())
                });
            match (info, bac_fallback) {
                (Some(info), _) => {
                    if let Some(ca) = card_access {
                        out.files.insert(File::CardAccess, Zeroizing::new(ca));
                    }
                    s.sm = Some(run_pace(s, &info, password, rand)?);
                    s.select_lds()?;
                    out.access = Some(AccessUsed::Pace);
                }
                (None, Some(seed)) => {
                    s.select_lds()?;
                    s.sm = Some(run_bac(s, seed, rand)?);
                    out.access = Some(AccessUsed::Bac);
                }
                (None, None) => {
                    // Tell "not an eMRTD at all" apart from "an eMRTD without PACE".
                    s.select_lds()?;
                    return Err(Error::Unsupported(
                        "the card offers no supported PACE and no BAC data was given",
                    )
                    .into());
                }
            }
        }
    }
    Ok(())
}

/// Reads the chip: access control, the SOD, the data groups it lists (of those wanted), and
/// Active Authentication. `rand` fills random bytes (ephemeral keys, challenges).
///
/// # Errors
///
/// [`ReadError::Link`] for transport failures (card removed: restart), [`ReadError::Protocol`]
/// with [`Error::AccessDenied`] for a wrong CAN / MRZ, [`ReadError::NotEmrtd`], and the
/// protocol errors of each step.
pub fn read_chip<T: Transceive + ?Sized>(
    transport: &mut T,
    access: &Access,
    opts: &ReadOptions,
    rand: &mut dyn FnMut(&mut [u8]),
) -> Result<ChipRead, ReadError> {
    let mut s = Session {
        t: transport,
        sm: None,
        apdus: 0,
        max_apdus: opts.max_apdus,
    };
    let mut out = ChipRead::default();
    establish(&mut s, access, rand, &mut out)?;

    let mut ext_ok = None;
    // The SOD first: it lists the data groups (saving the EF.COM read) and lets a caller stop
    // early on a hash mismatch.
    let mut listed: Option<Vec<u8>> = None;
    if let Some(sod) = s.read_file(File::Sod, opts, &mut ext_ok)? {
        listed = pki::parse_sod(&sod)
            .ok()
            .map(|p| p.dg_hashes.keys().copied().collect());
        out.files.insert(File::Sod, Zeroizing::new(sod));
    }
    if listed.is_none() {
        if let Some(com) = s.read_file(File::Com, opts, &mut ext_ok)? {
            listed = lds::parse_com(&com).ok().map(|c| c.data_groups);
            out.files.insert(File::Com, Zeroizing::new(com));
        }
    }
    let listed = listed.unwrap_or_else(|| opts.data_groups.clone());
    let mut wanted: Vec<u8> = opts
        .data_groups
        .iter()
        .copied()
        .filter(|n| listed.contains(n))
        .collect();
    // DG14 first: Chip Authentication right after it puts the other files on a channel only the
    // genuine chip can speak (ICAO 9303-11 §6.2's order).
    if let Some(i) = wanted.iter().position(|n| *n == 14) {
        wanted.remove(i);
        wanted.insert(0, 14);
    }
    // Chip Authentication switched keys that no exchange has confirmed yet.
    let mut ca_unconfirmed = false;
    for n in wanted {
        let read = s.read_file(File::Dg(n), opts, &mut ext_ok);
        let data = confirm_chip_auth(&mut s, &mut ca_unconfirmed, read, access, rand, &mut out)?;
        let data = match data {
            Some(d) => d,
            // Chip Authentication failed and access control ran again: read the file anew.
            None => s.read_file(File::Dg(n), opts, &mut ext_ok)?,
        };
        if let Some(data) = data {
            out.files.insert(File::Dg(n), Zeroizing::new(data));
        }
        if n == 14 && opts.chip_authentication {
            if let Some(raw) = out.files.get(&File::Dg(14)) {
                let raw = raw.to_vec();
                ca_unconfirmed = run_chip_auth(&mut s, &raw, access, rand, &mut out)?;
            }
        }
    }
    if ca_unconfirmed {
        let r = s.select_lds();
        confirm_chip_auth(&mut s, &mut ca_unconfirmed, r, access, rand, &mut out)?;
    }
    if opts.active_authentication && out.files.contains_key(&File::Dg(15)) {
        let mut challenge = [0u8; 8];
        rand(&mut challenge);
        match s.send(&auth::internal_authenticate(&challenge)) {
            Ok(r) if r.sw == sw::OK => out.active_auth = Some((challenge.to_vec(), r.data)),
            Ok(r) => out.active_auth_status = Some(r.sw),
            // An error status without secure messaging: the chip refused and dropped the
            // session; Active Authentication is the last step, so nothing is lost.
            Err(ReadError::Protocol(Error::SessionLost(sw))) => out.active_auth_status = Some(sw),
            Err(e) => return Err(e),
        }
    }
    out.apdus = s.apdus;
    out.extended_length_used = ext_ok == Some(true);
    Ok(out)
}

/// Chip Authentication from DG14 (`raw`), if it offers it; records the outcome in `out`.
/// Returns whether the session switched to the new, still unconfirmed keys. A chip that refuses
/// keeps its session when it answers under secure messaging; when it drops the session,
/// access control runs again.
fn run_chip_auth<T: Transceive + ?Sized>(
    s: &mut Session<'_, T>,
    raw: &[u8],
    access: &Access,
    rand: &mut dyn FnMut(&mut [u8]),
    out: &mut ChipRead,
) -> Result<bool, ReadError> {
    // A DG14 that does not parse is for the policy to refuse (`dg14_malformed`).
    let Ok(infos) = dg14::parse_dg14(raw) else {
        return Ok(false);
    };
    if !infos.offers_chip_auth() {
        return Ok(false);
    }
    let terminal = match ChipAuthTerminal::new(&infos) {
        Ok(t) => t,
        Err(Error::Unsupported(why)) => {
            out.chip_auth = Some(ChipAuthOutcome::Unsupported(why));
            return Ok(false);
        }
        Err(e) => return Err(e.into()),
    };
    let sk = random_scalar(rand, terminal.curve());
    let (cmd, state) = terminal.start(&sk)?;
    // The chip's answer, or the outcome of its refusal and whether the session is gone.
    let exchange = |s: &mut Session<'_, T>, cmd: &Command| match s.send(cmd) {
        Ok(r) if r.sw == sw::OK => Ok(Ok(r)),
        Ok(r) => Ok(Err((ChipAuthOutcome::Refused(r.sw), false))),
        Err(ReadError::Protocol(Error::SessionLost(sw))) => {
            Ok(Err((ChipAuthOutcome::Refused(sw), true)))
        }
        Err(e) => Err(e),
    };
    let unconfirmed = match exchange(s, &cmd)? {
        Ok(r) => match state.on_response(&r)? {
            AfterSetAt::Switch(u) => Ok(u),
            AfterSetAt::KeyAgreement(ga, state) => match exchange(s, &ga)? {
                // A malformed answer: the chip may have switched keys already, so the session
                // is not trusted any more.
                Ok(r) => state
                    .on_response(&r)
                    .map_err(|e| (ChipAuthOutcome::Failed(e.to_string()), true)),
                Err(refusal) => Err(refusal),
            },
        },
        Err(refusal) => Err(refusal),
    };
    match unconfirmed {
        Ok(u) => {
            s.sm = Some(u.channel);
            Ok(true)
        }
        Err((outcome, lost)) => {
            out.chip_auth = Some(outcome);
            if lost {
                establish(s, access, rand, out)?;
            }
            Ok(false)
        }
    }
}

/// The first exchange after Chip Authentication switched keys (`result`) confirms it: success
/// records `Verified`; a secure-messaging failure records `Failed` (the chip cannot speak the
/// new keys: a clone), runs access control again and returns `Ok(None)` so that the caller
/// repeats the exchange. Without pending keys, `result` passes through.
fn confirm_chip_auth<T: Transceive + ?Sized, V>(
    s: &mut Session<'_, T>,
    pending: &mut bool,
    result: Result<V, ReadError>,
    access: &Access,
    rand: &mut dyn FnMut(&mut [u8]),
    out: &mut ChipRead,
) -> Result<Option<V>, ReadError> {
    if !std::mem::take(pending) {
        return result.map(Some);
    }
    match result {
        Ok(v) => {
            out.chip_auth = Some(ChipAuthOutcome::Verified);
            Ok(Some(v))
        }
        Err(ReadError::Protocol(e @ (Error::SessionLost(_) | Error::SecureMessaging(_)))) => {
            out.chip_auth = Some(ChipAuthOutcome::Failed(format!(
                "the chip could not use the Chip Authentication keys: {e}"
            )));
            establish(s, access, rand, out)?;
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn can() -> Access {
        Access::Pace {
            password: Password::can("123456").expect("can"),
            bac_fallback: None,
        }
    }

    #[test]
    fn a_card_that_is_not_an_emrtd() {
        let mut t = |_: &[u8]| -> Result<Vec<u8>, LinkError> { Ok(vec![0x6A, 0x82]) };
        let r = read_chip(&mut t, &can(), &ReadOptions::default(), &mut |_| {});
        assert!(matches!(r, Err(ReadError::NotEmrtd)), "{r:?}");
    }

    #[test]
    fn a_short_response_is_a_transport_error_and_loops_are_bounded() {
        let mut t = |_: &[u8]| -> Result<Vec<u8>, LinkError> { Ok(vec![0x90]) };
        let r = read_chip(&mut t, &can(), &ReadOptions::default(), &mut |_| {});
        assert!(
            matches!(r, Err(ReadError::Protocol(Error::Transport(_)))),
            "{r:?}"
        );
        // A card answering 61xx forever hits the APDU bound instead of looping.
        let mut t = |_: &[u8]| -> Result<Vec<u8>, LinkError> { Ok(vec![0x61, 0x10]) };
        let opts = ReadOptions {
            max_apdus: 50,
            ..ReadOptions::default()
        };
        let r = read_chip(&mut t, &can(), &opts, &mut |_| {});
        assert!(matches!(r, Err(ReadError::TooManyApdus(50))), "{r:?}");
    }
}
