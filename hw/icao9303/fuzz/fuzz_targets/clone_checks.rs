#![no_main]
//! The clone checks' parsers and verifiers: the input as DG14 (then Chip Authentication is
//! prepared from whatever parses), and as an RSA Active Authentication answer to a genuine
//! RSA-2048 DG15 key (ISO/IEC 9796-2 decoding). Nothing may panic; nothing random verifies.
use std::sync::OnceLock;

use kiosk_icao9303::aa;
use kiosk_icao9303::auth::ActiveVerdict;
use kiosk_icao9303::chip_auth::ChipAuthTerminal;
use kiosk_icao9303::dg14;
use kiosk_icao9303::issue;
use kiosk_icao9303::pki::HashAlg;
use libfuzzer_sys::fuzz_target;

fn rsa_spki() -> &'static [u8] {
    static SPKI: OnceLock<Vec<u8>> = OnceLock::new();
    SPKI.get_or_init(|| issue::Signer::test_only_rsa(2048).expect("key").spki())
}

fuzz_target!(|data: &[u8]| {
    let _ = dg14::parse_security_infos(data);
    let wrapped = kiosk_icao9303::tlv::encode(0x6E, data);
    if let Ok(infos) = dg14::parse_dg14(&wrapped) {
        if let Ok(t) = ChipAuthTerminal::new(&infos) {
            let _ = t.start(&[0x11; 32]);
        }
    }
    let verdict = aa::verify(rsa_spki(), HashAlg::Sha256, &[7; 8], data);
    assert_ne!(verdict, ActiveVerdict::Verified);
});
