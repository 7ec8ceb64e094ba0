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

/// When to use extended-length READ BINARY (ISO/IEC 7816-4: Le over 256).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExtendedLength {
    /// Only when the card says it supports extended length: the "extended Lc and Le fields" bit
    /// of the card capabilities in its ATR historical bytes or in EF.ATR/INFO, or an extended
    /// length information object (`7F66`) in EF.ATR/INFO. Many chips do not support it, and a
    /// chip that meets an APDU form it does not accept ends secure messaging.
    #[default]
    Auto,
    /// Try it whatever the card says (still falls back to short reads when refused).
    On,
    /// Never: short reads only.
    Off,
}

/// Read settings.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Largest plaintext block per short READ BINARY (223 fits secure messaging in 256 bytes).
    pub max_read: usize,
    /// Whether to read the rest of a file with one extended-length READ BINARY. Whatever the
    /// setting, a refused extended read falls back to short reads, re-opening secure messaging
    /// if the chip dropped it.
    pub extended_length: ExtendedLength,
    /// Largest extended read (lowered to what the card's `7F66` allows).
    pub max_extended_read: usize,
    /// The card's ATR (for contactless cards the reader builds it from the ATS): its historical
    /// bytes may carry the card capabilities. `None` if the transport does not tell.
    pub atr: Option<Vec<u8>>,
    /// How many times one read may re-open secure messaging after the chip ended it (a plain
    /// status word to a protected command, ICAO 9303-11 §9.8.6.2).
    pub max_restarts: u32,
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
            extended_length: ExtendedLength::Auto,
            max_extended_read: 0x7FFF,
            atr: None,
            max_restarts: 3,
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
    /// Where the read learnt that the card supports extended length (`None`: it did not).
    pub extended_length_source: Option<ExtendedLengthSource>,
    /// How many times secure messaging was re-opened after the chip ended it.
    pub sm_restarts: u32,
}

/// Where the card told that it supports extended-length APDUs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExtendedLengthSource {
    /// The card capabilities in the ATR's historical bytes.
    Atr,
    /// EF.ATR/INFO (card capabilities `47` or extended length information `7F66`).
    EfAtrInfo,
    /// Not asked: [`ExtendedLength::On`].
    Forced,
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
            .field("extended_length_source", &self.extended_length_source)
            .field("sm_restarts", &self.sm_restarts)
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

/// How to open secure messaging again after the chip ended it.
#[derive(Clone)]
enum Reopen {
    Pace(PaceInfo, Password),
    Bac(Zeroizing<[u8; 16]>),
}

struct Session<'t, T: Transceive + ?Sized> {
    t: &'t mut T,
    sm: Option<SecureChannel>,
    apdus: u32,
    max_apdus: u32,
    /// Set once access control succeeded: what re-opens secure messaging.
    reopen: Option<Reopen>,
    restarts: u32,
    max_restarts: u32,
    /// DG14, once Chip Authentication verified: a re-opened session runs it again, so no file
    /// after it is read over keys a clone could share (PACE/BAC keys come from the printed
    /// CAN or MRZ).
    chip_auth_dg14: Option<Vec<u8>>,
    /// Chip Authentication run again after a restart and not verified: the read's outcome.
    chip_auth_lost: Option<ChipAuthOutcome>,
}

/// What one protected exchange gave when the chip may have ended secure messaging.
struct Exchanged {
    response: Response,
    /// The chip answered in plain (ending secure messaging) and the session was re-opened: the
    /// response holds that plain status word, and no file is selected any more.
    restarted: bool,
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
                match sm.unprotect(&r) {
                    Ok(r) => Ok(r),
                    Err(e) => {
                        // Whatever went wrong, these session keys are spent: the chip ends
                        // secure messaging on any error it sees, and a bad MAC from the chip
                        // means the channel cannot be trusted.
                        self.sm = None;
                        Err(e.into())
                    }
                }
            }
        }
    }

    /// As [`Session::send`], but when the chip answers a protected command in plain (it ended
    /// secure messaging: ICAO 9303-11 §9.8.6.2, e.g. `6700` for an APDU form it does not
    /// accept), access control is run again and the plain status word is returned with
    /// `restarted` set, for the caller to decide (skip the file, retry shorter, retry).
    fn exchange(
        &mut self,
        cmd: &Command,
        rand: &mut dyn FnMut(&mut [u8]),
    ) -> Result<Exchanged, ReadError> {
        match self.send(cmd) {
            Ok(response) => Ok(Exchanged {
                response,
                restarted: false,
            }),
            Err(ReadError::Protocol(Error::SessionLost(sw))) if self.reopen.is_some() => {
                self.restart(sw, rand)?;
                Ok(Exchanged {
                    response: Response {
                        data: Vec::new(),
                        sw,
                    },
                    restarted: true,
                })
            }
            Err(e) => Err(e),
        }
    }

    /// Opens secure messaging again with the access control that opened it first, then
    /// selects the LDS application. Bounded by `max_restarts`.
    fn restart(&mut self, sw: u16, rand: &mut dyn FnMut(&mut [u8])) -> Result<(), ReadError> {
        let Some(reopen) = self.reopen.clone() else {
            return Err(Error::SessionLost(sw).into());
        };
        if self.restarts >= self.max_restarts {
            return Err(Error::SessionLost(sw).into());
        }
        self.restarts += 1;
        self.sm = None;
        match reopen {
            Reopen::Pace(info, password) => {
                self.sm = Some(run_pace(self, &info, &password, rand)?);
                self.select_lds()?;
            }
            Reopen::Bac(seed) => {
                // BAC runs inside the selected application.
                self.select_lds()?;
                self.sm = Some(run_bac(self, &seed, rand)?);
            }
        }
        if let Some(dg14) = self.chip_auth_dg14.take() {
            match chip_auth_once(self, &dg14, rand)? {
                (ChipAuthOutcome::Verified, _) => self.chip_auth_dg14 = Some(dg14),
                (outcome, lost) => {
                    // Not the chip that authenticated before: recorded for the policy, and the
                    // session re-opened without Chip Authentication so the read can end.
                    self.chip_auth_lost = Some(outcome);
                    if let Some(sw) = lost {
                        return self.restart(sw, rand);
                    }
                }
            }
        }
        Ok(())
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

    /// Selects `file` by FID so that READ BINARY by offset reads it; `Ok(false)` if the card
    /// says it does not exist or is protected.
    fn select_ef(
        &mut self,
        file: File,
        rand: &mut dyn FnMut(&mut [u8]),
    ) -> Result<bool, ReadError> {
        for _ in 0..2 {
            let s = self.exchange(
                &Command::new(0x00, 0xA4, 0x02, 0x0C).with_data(file.fid().to_vec()),
                rand,
            )?;
            match s.response.sw {
                sw::OK if !s.restarted => return Ok(true),
                sw::FILE_NOT_FOUND | sw::SECURITY_NOT_SATISFIED => return Ok(false),
                // Secure messaging was re-opened: select again on the new session.
                _ if s.restarted => {}
                other => return Err(Error::Status(other).into()),
            }
        }
        Err(Error::SessionLost(0x6987).into())
    }

    /// Reads a whole file; `Ok(None)` if the card says it does not exist or is protected.
    ///
    /// Short reads of `max_read` bytes, or, where `ext` allows, one extended read for the rest
    /// of the file. A refused extended read turns extended length off for the rest of the
    /// chip read; a chip that ended secure messaging is re-opened and the read goes on from
    /// the offset it had reached.
    fn read_file(
        &mut self,
        file: File,
        opts: &ReadOptions,
        ext: &mut ExtState,
        rand: &mut dyn FnMut(&mut [u8]),
    ) -> Result<Option<Vec<u8>>, ReadError> {
        // First block by short file identifier: selects the file and reads its header in one APDU.
        let first = opts.max_read.clamp(8, 256);
        let mut data = loop {
            let r = self.exchange(
                &Command::new(0x00, 0xB0, 0x80 | file.sfi(), 0x00).with_le(first),
                rand,
            )?;
            match r.response.sw {
                sw::OK | sw::END_OF_FILE if !r.restarted => break r.response.data,
                sw::FILE_NOT_FOUND | sw::SECURITY_NOT_SATISFIED | sw::CONDITIONS => {
                    return Ok(None)
                }
                // Some chips refuse SFI reads: select by FID, then read by offset.
                sw::WRONG_P1P2 | sw::INS_NOT_SUPPORTED | 0x6981 => {
                    if !self.select_ef(file, rand)? {
                        return Ok(None);
                    }
                    let r = self.send(&Command::new(0x00, 0xB0, 0x00, 0x00).with_le(first))?;
                    if !matches!(r.sw, sw::OK | sw::END_OF_FILE) {
                        return Err(Error::Status(r.sw).into());
                    }
                    break r.data;
                }
                // The chip ended secure messaging on something else: read again on the new
                // session (bounded by the restart limit).
                _ if r.restarted => {}
                other => return Err(Error::Status(other).into()),
            }
        };
        if data.is_empty() {
            return Err(Error::Malformed("empty file").into());
        }
        let total = tlv::total_len(&data)?;
        if total > 0x7FFF + 256 {
            return Err(Error::Unsupported("files over 32 KB (odd-INS READ BINARY)").into());
        }
        data.truncate(total);
        // After a restart no file is selected: select this one before reading by offset.
        let mut selected = true;
        while data.len() < total {
            let offset = data.len();
            let remaining = total - offset;
            let try_ext = ext.allowed() && remaining > opts.max_read;
            let want = if try_ext {
                remaining.min(ext.max_read.min(opts.max_extended_read))
            } else {
                remaining.min(opts.max_read)
            };
            if !selected {
                if !self.select_ef(file, rand)? {
                    return Err(Error::Status(sw::FILE_NOT_FOUND).into());
                }
                selected = true;
            }
            let [hi, lo] = u16::try_from(offset)
                .map_err(|_| Error::Malformed("file offset"))?
                .to_be_bytes();
            let cmd = Command::new(0x00, 0xB0, hi & 0x7F, lo).with_le(want);
            let r = self.exchange(&cmd, rand)?;
            if r.restarted {
                selected = false;
                if try_ext {
                    ext.refused();
                }
                continue;
            }
            let r = r.response;
            match r.sw {
                sw::OK | sw::END_OF_FILE if !r.data.is_empty() => {
                    if try_ext {
                        ext.worked();
                    }
                    data.extend_from_slice(&r.data[..r.data.len().min(remaining)]);
                }
                sw::WRONG_LENGTH | sw::INS_NOT_SUPPORTED | 0x6A80 | 0x6A87 if try_ext => {
                    ext.refused();
                }
                other => return Err(Error::Status(other).into()),
            }
        }
        Ok(Some(data))
    }
}

/// Whether extended-length reads are in use for this chip read.
#[derive(Debug, Clone, Copy)]
struct ExtState {
    /// `None`: not tried yet; `Some(true)`: worked; `Some(false)`: refused or not offered.
    ok: Option<bool>,
    /// Largest plaintext an extended read may ask for.
    max_read: usize,
}

impl ExtState {
    fn allowed(&self) -> bool {
        self.ok != Some(false)
    }
    fn worked(&mut self) {
        self.ok = Some(true);
    }
    fn refused(&mut self) {
        self.ok = Some(false);
    }
}

/// Secure messaging's overhead on a response: DO87 header (tag, up to 3 length bytes, padding
/// indicator) and up to one block of padding, DO99 (4), DO8E (10), SW (2).
const SM_RESPONSE_OVERHEAD: usize = 1 + 3 + 1 + 16 + 4 + 10 + 2;

/// What the card's ATR says about extended length: the card capabilities (compact-TLV tag 7)
/// in its historical bytes, third software function table, bit b7 "extended Lc and Le fields"
/// (ISO/IEC 7816-4 §12.1.1.9). `None` when the ATR carries no card capabilities.
#[must_use]
pub fn atr_extended_length(atr: &[u8]) -> Option<bool> {
    let (&t0, rest) = atr.split_first()?.1.split_first()?;
    let historical_len = usize::from(t0 & 0x0F);
    // Skip the interface bytes: each TDi says which of TA/TB/TC/TD(i+1) follow.
    let mut y = t0 >> 4;
    let mut pos = 0usize;
    loop {
        let count = (y & 0x0F).count_ones() as usize;
        let has_td = y & 0x08 != 0;
        pos = pos.checked_add(count)?;
        if !has_td {
            break;
        }
        y = *rest.get(pos.checked_sub(1)?)? >> 4;
    }
    let historical = rest.get(pos..pos.checked_add(historical_len)?)?;
    let (&category, mut objects) = historical.split_first()?;
    match category {
        0x80 => {}
        // Category 00: the last three bytes are the status indicator.
        0x00 => objects = objects.get(..objects.len().checked_sub(3)?)?,
        _ => return None,
    }
    while let Some((&head, tail)) = objects.split_first() {
        let len = usize::from(head & 0x0F);
        let value = tail.get(..len)?;
        if head >> 4 == 0x7 {
            return value.get(2).map(|b| b & 0x40 != 0);
        }
        objects = &tail[len..];
    }
    None
}

/// What EF.ATR/INFO says about extended length: `Some(max response bytes)` when it carries the
/// extended length information (`7F66 { 02 max command, 02 max response }`), or card
/// capabilities (`47`) with the "extended Lc and Le fields" bit (then the response size is not
/// stated: 0x7FFF is assumed); `Some(0)` when it says no; `None` when it says nothing.
#[must_use]
pub fn ef_atr_info_extended_length(data: &[u8]) -> Option<usize> {
    let objects = tlv::parse_all(data).ok()?;
    let mut capabilities = None;
    for o in &objects {
        match o.tag {
            0x7F66 => {
                let ints = o.children().ok()?;
                let response = ints.iter().filter(|t| t.tag == 0x02).nth(1)?;
                if response.value.len() > 4 {
                    return None;
                }
                let max = response
                    .value
                    .iter()
                    .fold(0usize, |a, b| (a << 8) | usize::from(*b));
                return Some(if max > 256 { max } else { 0 });
            }
            0x47 => capabilities = o.value.get(2).map(|b| b & 0x40 != 0),
            _ => {}
        }
    }
    capabilities.map(|yes| if yes { 0x7FFF } else { 0 })
}

/// Reads EF.ATR/INFO (FID 2F01, SFI 01, under the master file) in plain, before any
/// application is selected. `None` if the card has none or refuses.
fn read_ef_atr_info<T: Transceive + ?Sized>(
    s: &mut Session<'_, T>,
) -> Result<Option<Vec<u8>>, ReadError> {
    let r = s.send(&Command::new(0x00, 0xB0, 0x81, 0x00).with_le(256))?;
    Ok((matches!(r.sw, sw::OK | sw::END_OF_FILE) && !r.data.is_empty()).then_some(r.data))
}

/// Decides whether this read may use extended length, asking the card only when needed.
fn extended_length_decision<T: Transceive + ?Sized>(
    s: &mut Session<'_, T>,
    opts: &ReadOptions,
) -> Result<(ExtState, Option<ExtendedLengthSource>), ReadError> {
    let off = ExtState {
        ok: Some(false),
        max_read: 0,
    };
    let on = |max_response: usize| ExtState {
        ok: None,
        max_read: max_response.saturating_sub(SM_RESPONSE_OVERHEAD),
    };
    match opts.extended_length {
        ExtendedLength::Off => Ok((off, None)),
        ExtendedLength::On => Ok((on(0x7FFF), Some(ExtendedLengthSource::Forced))),
        ExtendedLength::Auto => {
            if opts.atr.as_deref().and_then(atr_extended_length) == Some(true) {
                // The ATR tells support, not the buffer size: EF.ATR/INFO may still lower it.
                let max = read_ef_atr_info(s)?
                    .as_deref()
                    .and_then(ef_atr_info_extended_length)
                    .filter(|m| *m > 0)
                    .unwrap_or(0x7FFF);
                return Ok((on(max), Some(ExtendedLengthSource::Atr)));
            }
            match read_ef_atr_info(s)?
                .as_deref()
                .and_then(ef_atr_info_extended_length)
            {
                Some(max) if max > 256 => Ok((on(max), Some(ExtendedLengthSource::EfAtrInfo))),
                _ => Ok((off, None)),
            }
        }
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
        reopen: None,
        restarts: 0,
        max_restarts: opts.max_restarts,
        chip_auth_dg14: None,
        chip_auth_lost: None,
    };
    let mut out = ChipRead::default();
    // EF.ATR/INFO sits under the master file and is read in plain, so the decision comes
    // before access control (PACE needs no application selected; BAC does).
    let decide = |s: &mut Session<'_, T>| match access {
        // Demo cards without access control: extended length only when asked for.
        Access::Plain => Ok((
            ExtState {
                ok: (opts.extended_length != ExtendedLength::On).then_some(false),
                max_read: 0x7FFF,
            },
            (opts.extended_length == ExtendedLength::On).then_some(ExtendedLengthSource::Forced),
        )),
        _ => extended_length_decision(s, opts),
    };
    let mut ext;
    match access {
        Access::Plain => {
            (ext, out.extended_length_source) = decide(&mut s)?;
            s.select_lds()?;
            out.access = Some(AccessUsed::Plain);
        }
        Access::Bac(seed) => {
            (ext, out.extended_length_source) = decide(&mut s)?;
            s.select_lds()?;
            s.sm = Some(run_bac(&mut s, seed, rand)?);
            s.reopen = Some(Reopen::Bac(seed.clone()));
            out.access = Some(AccessUsed::Bac);
        }
        Access::Pace {
            password,
            bac_fallback,
        } => {
            let card_access = read_card_access(&mut s)?;
            (ext, out.extended_length_source) = decide(&mut s)?;
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
                    s.sm = Some(run_pace(&mut s, &info, password, rand)?);
                    s.select_lds()?;
                    s.reopen = Some(Reopen::Pace(info, password.clone()));
                    out.access = Some(AccessUsed::Pace);
                }
                (None, Some(seed)) => {
                    s.select_lds()?;
                    s.sm = Some(run_bac(&mut s, seed, rand)?);
                    s.reopen = Some(Reopen::Bac(seed.clone()));
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

    // The SOD first: it lists the data groups (saving the EF.COM read) and lets a caller stop
    // early on a hash mismatch.
    let mut listed: Option<Vec<u8>> = None;
    if let Some(sod) = s.read_file(File::Sod, opts, &mut ext, rand)? {
        listed = pki::parse_sod(&sod)
            .ok()
            .map(|p| p.dg_hashes.keys().copied().collect());
        out.files.insert(File::Sod, Zeroizing::new(sod));
    }
    if listed.is_none() {
        if let Some(com) = s.read_file(File::Com, opts, &mut ext, rand)? {
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
    for n in wanted {
        if let Some(data) = s.read_file(File::Dg(n), opts, &mut ext, rand)? {
            out.files.insert(File::Dg(n), Zeroizing::new(data));
        }
        if n == 14 && opts.chip_authentication {
            if let Some(raw) = out.files.get(&File::Dg(14)) {
                let raw = raw.to_vec();
                run_chip_auth(&mut s, &raw, rand, &mut out)?;
            }
        }
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
    // Chip Authentication ran again when secure messaging was re-opened after it: a chip that
    // failed it then is what the read reports.
    if let Some(lost) = s.chip_auth_lost.take() {
        out.chip_auth = Some(lost);
    }
    out.apdus = s.apdus;
    out.extended_length_used = ext.ok == Some(true);
    out.sm_restarts = s.restarts;
    Ok(out)
}

/// Chip Authentication from DG14 (`raw`), if it offers it; records the outcome in `out`.
///
/// A chip that refuses keeps its session when it answers under secure messaging; when it ends
/// secure messaging, the session is re-opened ([`Session::restart`]). After the switch to the
/// new keys the next exchange, made here at once, confirms them: a one-byte READ BINARY of
/// DG14 (just read, so readable) sent with [`Session::send`], which never re-opens the session
/// by itself. A chip that cannot speak the new keys is recorded as failed (a clone) and the
/// session re-opened, so the read goes on and the policy refuses the card; no retry further on
/// can hide the failure.
fn run_chip_auth<T: Transceive + ?Sized>(
    s: &mut Session<'_, T>,
    raw: &[u8],
    rand: &mut dyn FnMut(&mut [u8]),
    out: &mut ChipRead,
) -> Result<(), ReadError> {
    // A DG14 that does not parse is for the policy to refuse (`dg14_malformed`).
    let Ok(infos) = dg14::parse_dg14(raw) else {
        return Ok(());
    };
    if !infos.offers_chip_auth() {
        return Ok(());
    }
    if s.sm.is_none() {
        out.chip_auth = Some(ChipAuthOutcome::Unsupported(
            "Chip Authentication needs secure messaging (no access control ran)",
        ));
        return Ok(());
    }
    let (outcome, lost) = chip_auth_once(s, raw, rand)?;
    if outcome == ChipAuthOutcome::Verified {
        s.chip_auth_dg14 = Some(raw.to_vec());
    }
    out.chip_auth = Some(outcome);
    if let Some(status) = lost {
        s.restart(status, rand)?;
    }
    Ok(())
}

/// One run of Chip Authentication with DG14 `raw` on a session under secure messaging: the
/// outcome, and the status word with which the chip ended secure messaging if it did (the
/// caller re-opens the session). Verified means the chip spoke the new keys on the exchange
/// right after the switch; the session then runs on them.
fn chip_auth_once<T: Transceive + ?Sized>(
    s: &mut Session<'_, T>,
    raw: &[u8],
    rand: &mut dyn FnMut(&mut [u8]),
) -> Result<(ChipAuthOutcome, Option<u16>), ReadError> {
    let infos = match dg14::parse_dg14(raw) {
        Ok(i) => i,
        Err(e) => return Ok((ChipAuthOutcome::Failed(format!("DG14: {e}")), None)),
    };
    let terminal = match ChipAuthTerminal::new(&infos) {
        Ok(t) => t,
        Err(Error::Unsupported(why)) => return Ok((ChipAuthOutcome::Unsupported(why), None)),
        Err(e) => return Err(e.into()),
    };
    let sk = random_scalar(rand, terminal.curve());
    let (cmd, state) = terminal.start(&sk)?;
    // The chip's answer, or the outcome of its refusal and the status word if it ended
    // secure messaging.
    let exchange = |s: &mut Session<'_, T>, cmd: &Command| match s.send(cmd) {
        Ok(r) if r.sw == sw::OK => Ok(Ok(r)),
        Ok(r) => Ok(Err((ChipAuthOutcome::Refused(r.sw), None))),
        Err(ReadError::Protocol(Error::SessionLost(sw))) => {
            Ok(Err((ChipAuthOutcome::Refused(sw), Some(sw))))
        }
        Err(e) => Err(e),
    };
    let switched = match exchange(s, &cmd)? {
        Ok(r) => match state.on_response(&r)? {
            AfterSetAt::Switch(u) => Ok(u),
            AfterSetAt::KeyAgreement(ga, state) => match exchange(s, &ga)? {
                // A malformed answer: the chip may have switched keys already, so the session
                // is not trusted any more.
                Ok(r) => state.on_response(&r).map_err(|e| {
                    (
                        ChipAuthOutcome::Failed(e.to_string()),
                        Some(sw::SM_INCORRECT),
                    )
                }),
                Err(refusal) => Err(refusal),
            },
        },
        Err(refusal) => Err(refusal),
    };
    let done = match switched {
        Ok(u) => {
            s.sm = Some(u.channel);
            let probe = Command::new(0x00, 0xB0, 0x80 | File::Dg(14).sfi(), 0x00).with_le(1);
            match s.send(&probe) {
                Ok(_) => (ChipAuthOutcome::Verified, None),
                Err(ReadError::Protocol(
                    e @ (Error::SessionLost(_) | Error::SecureMessaging(_)),
                )) => {
                    let failed = ChipAuthOutcome::Failed(format!(
                        "the chip could not use the Chip Authentication keys: {e}"
                    ));
                    let sw = match e {
                        Error::SessionLost(sw) => sw,
                        _ => sw::SM_INCORRECT,
                    };
                    (failed, Some(sw))
                }
                Err(e) => return Err(e),
            }
        }
        Err(refusal) => refusal,
    };
    Ok(done)
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

    #[test]
    fn extended_length_from_the_atr() {
        // 3B 85 80 01 | 80 73 80 01 40 | TCK: card capabilities with "extended Lc and Le".
        let mut atr = vec![0x3B, 0x85, 0x80, 0x01, 0x80, 0x73, 0x80, 0x01, 0x40];
        atr.push(atr[1..].iter().fold(0, |a, b| a ^ b));
        assert_eq!(atr_extended_length(&atr), Some(true));
        let mut no = atr.clone();
        no[8] = 0x00;
        assert_eq!(atr_extended_length(&no), Some(false));
        // Category 00: the status indicator's three bytes close the historical bytes.
        let cat00 = [
            0x3B, 0x88, 0x80, 0x01, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x90, 0x00,
        ];
        assert_eq!(atr_extended_length(&cat00), Some(true));
        // No card capabilities, a truncated object, and junk: nothing is claimed.
        let demo = [
            0x3B, 0x86, 0x80, 0x01, 0x80, 0x31, 0x80, 0x65, 0xB0, 0x84, 0x4F,
        ];
        assert_eq!(atr_extended_length(&demo), None);
        for cut in 0..atr.len() {
            let _ = atr_extended_length(&atr[..cut]);
        }
        assert_eq!(atr_extended_length(&[0x3B, 0xFF, 0xFF, 0xFF]), None);
    }

    #[test]
    fn extended_length_from_ef_atr_info() {
        let info = |resp: &[u8]| {
            [
                tlv::encode(0x47, &[0x80, 0x01, 0x40]),
                tlv::encode(
                    0x7F66,
                    &[tlv::encode(0x02, &[0x04, 0x00]), tlv::encode(0x02, resp)].concat(),
                ),
            ]
            .concat()
        };
        assert_eq!(
            ef_atr_info_extended_length(&info(&[0x10, 0x00])),
            Some(0x1000)
        );
        // 7F66 with a response size that fits a short APDU: no.
        assert_eq!(ef_atr_info_extended_length(&info(&[0x01, 0x00])), Some(0));
        // Card capabilities alone.
        let caps = tlv::encode(0x47, &[0x80, 0x01, 0x40]);
        assert_eq!(ef_atr_info_extended_length(&caps), Some(0x7FFF));
        assert_eq!(
            ef_atr_info_extended_length(&tlv::encode(0x47, &[0x80, 0x01, 0x00])),
            Some(0)
        );
        // Nothing about it, garbage, giant integers: nothing claimed, no panic.
        assert_eq!(
            ef_atr_info_extended_length(&tlv::encode(0x5F52, &[1])),
            None
        );
        assert_eq!(ef_atr_info_extended_length(&[0xFF, 0xFF]), None);
        assert_eq!(ef_atr_info_extended_length(&info(&[0xFF; 9])), None);
    }
}
