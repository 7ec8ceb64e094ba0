//! Reading a profile file through the real reader, shared by the profile tests.

use std::path::PathBuf;
use std::time::Duration;

use kiosk_hw::card::{CardReader, SimCardReader};
use kiosk_icao9303::pace::Password;
use kiosk_icao9303::reader::{read_chip, Access, ChipRead, LinkError, ReadOptions};
use kiosk_vcard::{Profile, VirtualCccd};

/// The verification time of the profile tests.
pub const NOW: &str = "20260601000000";

/// `hw/vcard/profiles`.
pub fn profiles_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("profiles")
}

/// Builds the card of profile `file` in-process and reads it with `read_chip` over the
/// simulated PC/SC reader (PACE-CAN, default options); returns the read and the trusted CSCAs.
pub fn read_profile(file: &str) -> (ChipRead, Vec<Vec<u8>>) {
    let p = Profile::load(&profiles_dir().join(file)).expect("profile loads");
    let (card, trust) = VirtualCccd::from_profile(&p).expect("profile builds");
    let mut reader = SimCardReader::new("sim");
    reader.control().insert(Box::new(card));
    reader.wait_for_change(Duration::ZERO).expect("presence");
    let mut transport = |apdu: &[u8]| -> Result<Vec<u8>, LinkError> { Ok(reader.transmit(apdu)?) };
    let mut rng = rand::rng();
    let mut fill = |b: &mut [u8]| rand::Rng::fill_bytes(&mut rng, b);
    let access = Access::Pace {
        password: Password::can_from_id(&p.holder.id_number).expect("id"),
        bac_fallback: None,
    };
    let read = read_chip(&mut transport, &access, &ReadOptions::default(), &mut fill)
        .unwrap_or_else(|e| panic!("{file}: read fails: {e}"));
    (read, vec![trust.csca_der])
}
