//! A virtual CCCD chip for tests and the demo.
//!
//! [`chip::VirtualCccd`] builds the files of a CCCD (EF.CardAccess, EF.COM, DG1, DG2, DG3 behind
//! EAC, DG13, DG14, DG15, EF.SOD) from a [`profile::Profile`], signs them with a test CSCA -> DS
//! chain generated at start-up, and answers APDUs like a real chip: PACE-CAN and BAC, secure
//! messaging, SFI reads, a configurable largest read block and extended length, Chip
//! Authentication and ECDSA or RSA Active Authentication, with clone faults. It plugs into
//! the in-process `kiosk_hw::card::SimCardReader` (hermetic tests) and, through the `cccd-vcard`
//! binary, into pcscd's vpcd driver ([`vpcd`]). The profile format is in `README.md`.

pub mod chip;
pub mod profile;
pub mod vpcd;

pub use chip::{Trust, VirtualCccd, DEMO_PORTRAIT};
pub use profile::{Expect, Profile, ProfileError};
