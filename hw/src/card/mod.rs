//! Contactless card readers: the [`CardReader`] trait, a simulated reader and a demo card.
//!
//! The kiosk reads the CCCD chip (an ICAO 9303 eMRTD) through a contactless reader. This module
//! only moves APDUs: one [`CardReader::transmit`] call is one complete command/response exchange,
//! so the protocol code above (PACE, secure messaging, LDS parsing) stays pure and testable with
//! byte fixtures.
//!
//! # Implementations
//!
//! - [`SimCardReader`] (here): an in-process reader with a [`SimCardControl`] handle that inserts
//!   and removes [`VirtualCard`]s and injects faults, for tests and the demo mode.
//! - [`DemoCard`] (here): an unprotected ICAO-9303-shaped card serving EF.COM and DG1.
//! - `card::pcsc` (cargo feature `pcsc`, needs libpcsclite): `PcscCardReader`, the real driver
//!   against `pcscd` (tested with `vsmartcard-vpcd` and the `cccd-vcard` virtual chip). It maps
//!   PC/SC return codes onto [`CardErrorKind`]: `SCARD_E_NO_SERVICE` to
//!   [`CardErrorKind::ServiceUnavailable`], `SCARD_W_REMOVED_CARD` to
//!   [`CardErrorKind::CardRemoved`], `SCARD_E_SHARING_VIOLATION` to [`CardErrorKind::ReaderBusy`],
//!   and so on (table in its module docs).

mod demo;
mod mrz;
#[cfg(feature = "pcsc")]
pub mod pcsc;
mod sim;

use std::fmt;
use std::time::Duration;

pub use demo::{CardProfile, DemoCard, ProfileError, LDS_AID};
pub use mrz::mrz_check_digit;
pub use sim::{SimCardControl, SimCardReader, VirtualCard};

use crate::error::hw_error;

/// Whether a card is in the reader's field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardPresence {
    /// No card.
    Absent,
    /// A card is present and powered.
    Present {
        /// The card's answer to reset (ATS-derived ATR for contactless cards).
        atr: Vec<u8>,
    },
}

impl CardPresence {
    /// `true` for [`CardPresence::Present`].
    pub fn is_present(&self) -> bool {
        matches!(self, Self::Present { .. })
    }
}

/// What went wrong with a card reader, at the granularity the UI reacts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CardErrorKind {
    /// No reader is connected (or it was unplugged).
    NoReader,
    /// Another process holds the reader exclusively.
    ReaderBusy,
    /// No card is in the field.
    NoCard,
    /// The card left the field in the middle of an operation: restart it from the beginning.
    CardRemoved,
    /// The smart card service (`pcscd`) is not running.
    ServiceUnavailable,
    /// The reader or card did not answer in time.
    Timeout,
    /// The exchange broke at the transport level (e.g. a response shorter than SW1 SW2).
    Transport,
    /// The command APDU or the card's answer is malformed.
    Protocol,
}

impl fmt::Display for CardErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NoReader => "no card reader connected",
            Self::ReaderBusy => "card reader is in use by another process",
            Self::NoCard => "no card on the reader",
            Self::CardRemoved => "card removed during the operation",
            Self::ServiceUnavailable => "smart card service (pcscd) unavailable",
            Self::Timeout => "card reader timed out",
            Self::Transport => "card transport error",
            Self::Protocol => "card protocol error",
        })
    }
}

hw_error!(
    /// A card reader error: match on [`CardError::kind`], show [`CardError`]'s `Display` to
    /// technicians only.
    CardError,
    CardErrorKind
);

/// A contactless card reader.
///
/// Implementations are used from one thread at a time (`&mut self`); simulators offer a separate
/// control handle for other threads.
pub trait CardReader {
    /// The reader's name as the system reports it (e.g. `"Virtual PCD 00 00"`).
    fn name(&self) -> &str;

    /// Blocks until the card presence differs from what this reader last reported, or until
    /// `timeout`, and returns the presence at that moment.
    ///
    /// The first call reports the current state immediately, so a caller can start with it.
    /// A timeout is not an error: the unchanged state is returned.
    ///
    /// # Errors
    ///
    /// [`CardErrorKind::NoReader`] if the reader is (or becomes) unplugged,
    /// [`CardErrorKind::ServiceUnavailable`] if the smart card service is down.
    fn wait_for_change(&mut self, timeout: Duration) -> Result<CardPresence, CardError>;

    /// Sends one complete command APDU and returns the complete response APDU, including the
    /// status word SW1 SW2 as its last two bytes (never shorter than 2 bytes).
    ///
    /// # Errors
    ///
    /// [`CardErrorKind::NoCard`] when no card is present, [`CardErrorKind::CardRemoved`] when
    /// the card this reader was talking to left (restart the whole read),
    /// [`CardErrorKind::Transport`] when the answer is shorter than 2 bytes,
    /// [`CardErrorKind::Protocol`] for a malformed command, plus the reader-level kinds of
    /// [`CardReader::wait_for_change`].
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, CardError>;
}

impl<R: CardReader + ?Sized> CardReader for Box<R> {
    fn name(&self) -> &str {
        (**self).name()
    }

    fn wait_for_change(&mut self, timeout: Duration) -> Result<CardPresence, CardError> {
        (**self).wait_for_change(timeout)
    }

    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, CardError> {
        (**self).transmit(apdu)
    }
}
