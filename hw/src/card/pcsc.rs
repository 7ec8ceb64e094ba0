//! The PC/SC driver: [`PcscCardReader`] over `pcscd` (the `pcsc` crate, libpcsclite).
//!
//! One reader by name (or the first one with a card). Card presence comes from
//! `SCardGetStatusChange`; the card is connected lazily on the first APDU and reconnected after
//! a removal. PC/SC failures map onto [`CardErrorKind`]:
//!
//! | PC/SC | kind |
//! |---|---|
//! | `SCARD_E_NO_SERVICE`, `SCARD_E_SERVICE_STOPPED`, `SCARD_E_INVALID_HANDLE` (pcscd restarted) | `ServiceUnavailable` |
//! | `SCARD_E_NO_READERS_AVAILABLE`, `SCARD_E_UNKNOWN_READER`, `SCARD_E_READER_UNAVAILABLE` | `NoReader` |
//! | `SCARD_W_REMOVED_CARD`, `SCARD_W_RESET_CARD` | `CardRemoved` |
//! | `SCARD_E_NO_SMARTCARD`, `SCARD_W_UNPOWERED_CARD` | `NoCard` |
//! | `SCARD_E_SHARING_VIOLATION` | `ReaderBusy` |
//! | `SCARD_E_TIMEOUT`, `SCARD_W_UNRESPONSIVE_CARD` | `Timeout` |
//! | anything else, or a response shorter than SW1 SW2 | `Transport` |
//!
//! After `ServiceUnavailable` the next call establishes a new context, so a restarted pcscd is
//! picked up without restarting the kiosk; after `NoReader` the reader list is read again, so a
//! re-plugged reader is found.

use std::ffi::{CStr, CString};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use super::{CardError, CardErrorKind, CardPresence, CardReader};

/// Maps a PC/SC error onto the kind the UI reacts to.
pub fn kind_of(e: pcsc::Error) -> CardErrorKind {
    use pcsc::Error as E;
    match e {
        E::NoService | E::ServiceStopped | E::InvalidHandle => CardErrorKind::ServiceUnavailable,
        E::NoReadersAvailable | E::UnknownReader | E::ReaderUnavailable => CardErrorKind::NoReader,
        E::RemovedCard | E::ResetCard => CardErrorKind::CardRemoved,
        E::NoSmartcard | E::UnpoweredCard => CardErrorKind::NoCard,
        E::SharingViolation => CardErrorKind::ReaderBusy,
        E::Timeout | E::UnresponsiveCard => CardErrorKind::Timeout,
        _ => CardErrorKind::Transport,
    }
}

fn err(e: pcsc::Error, what: &str) -> CardError {
    let kind = kind_of(e);
    let hint = match kind {
        CardErrorKind::ServiceUnavailable => " (is pcscd running? `systemctl status pcscd`)",
        CardErrorKind::NoReader => " (check the reader's USB cable; `pcsc_scan` lists readers)",
        CardErrorKind::ReaderBusy => " (another program holds the reader)",
        _ => "",
    };
    CardError::with_source(kind, format!("{what}: {e}{hint}"), e)
}

/// The names of the readers pcscd knows.
///
/// # Errors
///
/// [`CardErrorKind::ServiceUnavailable`] if pcscd is not running.
pub fn list_readers() -> Result<Vec<String>, CardError> {
    let ctx =
        pcsc::Context::establish(pcsc::Scope::User).map_err(|e| err(e, "connecting to pcscd"))?;
    readers(&ctx)
}

fn readers(ctx: &pcsc::Context) -> Result<Vec<String>, CardError> {
    match ctx.list_readers_owned() {
        Ok(r) => Ok(r.iter().map(|n| n.to_string_lossy().into_owned()).collect()),
        Err(pcsc::Error::NoReadersAvailable) => Ok(Vec::new()),
        Err(e) => Err(err(e, "listing readers")),
    }
}

/// A contactless reader through pcscd.
pub struct PcscCardReader {
    ctx: Option<pcsc::Context>,
    name: String,
    cname: CString,
    card: Option<Arc<pcsc::Card>>,
    /// The last event state reported (`None`: nothing reported yet).
    state: Option<pcsc::State>,
    last: CardPresence,
    deadline: Duration,
}

/// How long one APDU exchange may take before the reader gives up on the card. A contactless
/// exchange takes milliseconds; even a large extended-length READ BINARY stays well under a
/// second. A chip that stops answering (a cracked card, a bad antenna coupling) must not hang
/// the kiosk.
pub const TRANSMIT_DEADLINE: Duration = Duration::from_secs(5);

impl std::fmt::Debug for PcscCardReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PcscCardReader")
            .field("name", &self.name)
            .field("connected", &self.card.is_some())
            .finish_non_exhaustive()
    }
}

impl PcscCardReader {
    /// Changes how long one APDU exchange may take ([`TRANSMIT_DEADLINE`] by default).
    pub fn set_transmit_deadline(&mut self, d: Duration) {
        self.deadline = d;
    }

    /// Opens the reader called `name`, or (with `None`) the first reader holding a card, else
    /// the first reader.
    ///
    /// # Errors
    ///
    /// [`CardErrorKind::ServiceUnavailable`] if pcscd is down, [`CardErrorKind::NoReader`] if no
    /// (matching) reader is connected.
    pub fn open(name: Option<&str>) -> Result<Self, CardError> {
        let ctx = pcsc::Context::establish(pcsc::Scope::User)
            .map_err(|e| err(e, "connecting to pcscd"))?;
        let all = readers(&ctx)?;
        let chosen = match name {
            Some(n) => all
                .iter()
                .find(|r| r.as_str() == n || r.starts_with(n))
                .cloned()
                .ok_or_else(|| {
                    CardError::new(
                        CardErrorKind::NoReader,
                        format!("no reader named {n:?}; connected: {all:?}"),
                    )
                })?,
            None => {
                let with_card = all.iter().find(|r| {
                    CString::new(r.as_str()).ok().is_some_and(|c| {
                        let mut rs = [pcsc::ReaderState::new(c, pcsc::State::UNAWARE)];
                        ctx.get_status_change(Duration::ZERO, &mut rs).is_ok()
                            && rs[0].event_state().contains(pcsc::State::PRESENT)
                    })
                });
                with_card.or_else(|| all.first()).cloned().ok_or_else(|| {
                    CardError::new(CardErrorKind::NoReader, "no card reader connected")
                })?
            }
        };
        let cname = CString::new(chosen.clone())
            .map_err(|_| CardError::new(CardErrorKind::NoReader, "reader name holds a NUL byte"))?;
        Ok(Self {
            ctx: Some(ctx),
            name: chosen,
            cname,
            card: None,
            state: None,
            last: CardPresence::Absent,
            deadline: TRANSMIT_DEADLINE,
        })
    }

    fn context(&mut self) -> Result<&pcsc::Context, CardError> {
        if self.ctx.as_ref().is_some_and(|c| c.is_valid().is_err()) {
            self.ctx = None;
            self.card = None;
        }
        if self.ctx.is_none() {
            self.ctx = Some(
                pcsc::Context::establish(pcsc::Scope::User)
                    .map_err(|e| err(e, "connecting to pcscd"))?,
            );
        }
        self.ctx
            .as_ref()
            .ok_or_else(|| CardError::new(CardErrorKind::ServiceUnavailable, "no PC/SC context"))
    }

    /// Forgets the context after a service-level failure, so the next call re-establishes it.
    fn after_error(&mut self, e: &CardError) {
        match e.kind() {
            CardErrorKind::ServiceUnavailable => {
                self.card = None;
                self.ctx = None;
                self.state = None;
            }
            CardErrorKind::CardRemoved | CardErrorKind::NoCard | CardErrorKind::NoReader => {
                self.card = None;
                self.state = None;
            }
            _ => {}
        }
    }

    fn connect(&mut self) -> Result<(), CardError> {
        if self.card.is_some() {
            return Ok(());
        }
        let cname = self.cname.clone();
        let card = self
            .context()?
            .connect(&cname, pcsc::ShareMode::Shared, pcsc::Protocols::ANY)
            .map_err(|e| err(e, "connecting to the card"))?;
        self.card = Some(Arc::new(card));
        Ok(())
    }

    fn name_cstr(&self) -> &CStr {
        &self.cname
    }

    fn poll(&mut self, timeout: Duration) -> Result<CardPresence, CardError> {
        let current = self.state.unwrap_or(pcsc::State::UNAWARE);
        let cname = self.name_cstr().to_owned();
        let mut rs = [pcsc::ReaderState::new(cname, current)];
        let ctx = self.context()?;
        match ctx.get_status_change(timeout, &mut rs) {
            Ok(()) => {}
            Err(pcsc::Error::Timeout) => return Ok(self.last.clone()),
            Err(e) => return Err(err(e, "waiting for a card")),
        }
        let ev = rs[0].event_state();
        if ev.intersects(pcsc::State::UNKNOWN | pcsc::State::IGNORE | pcsc::State::UNAVAILABLE) {
            return Err(CardError::new(
                CardErrorKind::NoReader,
                format!("reader {:?} is gone (unplugged?)", self.name),
            ));
        }
        self.state = Some(ev & !pcsc::State::CHANGED);
        self.last = if ev.contains(pcsc::State::PRESENT) && !ev.contains(pcsc::State::MUTE) {
            CardPresence::Present {
                atr: rs[0].atr().to_vec(),
            }
        } else {
            self.card = None;
            CardPresence::Absent
        };
        Ok(self.last.clone())
    }
}

impl CardReader for PcscCardReader {
    fn name(&self) -> &str {
        &self.name
    }

    fn wait_for_change(&mut self, timeout: Duration) -> Result<CardPresence, CardError> {
        let r = self.poll(timeout);
        if let Err(e) = &r {
            self.after_error(e);
        }
        r
    }

    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, CardError> {
        let result = (|| {
            self.connect()?;
            let card = self
                .card
                .as_ref()
                .ok_or_else(|| CardError::new(CardErrorKind::NoCard, "no card connected"))?;
            // SCardTransmit has no timeout of its own: run it on a helper thread and stop
            // waiting at the deadline. A hung exchange keeps its thread until pcscd returns;
            // the handle is dropped here, so the next read reconnects.
            let card = Arc::clone(card);
            let apdu = apdu.to_vec();
            let (tx, rx) = mpsc::channel();
            std::thread::Builder::new()
                .name("pcsc-transmit".into())
                .spawn(move || {
                    let mut buf = vec![0u8; pcsc::MAX_BUFFER_SIZE_EXTENDED];
                    let r = card.transmit(&apdu, &mut buf).map(<[u8]>::to_vec);
                    let _ = tx.send(r);
                })
                .map_err(|e| {
                    CardError::with_source(
                        CardErrorKind::Transport,
                        "starting a transmit thread",
                        e,
                    )
                })?;
            let resp = match rx.recv_timeout(self.deadline) {
                Ok(r) => r.map_err(|e| err(e, "exchanging an APDU"))?,
                Err(_) => {
                    self.card = None;
                    return Err(CardError::new(
                        CardErrorKind::Timeout,
                        format!(
                            "the card did not answer within {} s (hold it still on the reader)",
                            self.deadline.as_secs_f32()
                        ),
                    ));
                }
            };
            if resp.len() < 2 {
                return Err(CardError::new(
                    CardErrorKind::Transport,
                    "response shorter than SW1 SW2 (card pulled away?)",
                ));
            }
            Ok(resp)
        })();
        if let Err(e) = &result {
            self.after_error(e);
        }
        result
    }
}
