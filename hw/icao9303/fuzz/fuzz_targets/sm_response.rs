#![no_main]
use kiosk_icao9303::apdu::{Command, Response};
use kiosk_icao9303::crypto::Cipher;
use kiosk_icao9303::sm::SecureChannel;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for cipher in [Cipher::Des3, Cipher::Aes(16)] {
        let mut sm = SecureChannel::new(
            cipher,
            &vec![7; cipher.key_len()],
            &vec![9; cipher.key_len()],
            0,
        );
        if let Ok(r) = Response::parse(data) {
            let _ = sm.unprotect(&r);
        }
        if let Ok(c) = Command::parse(data) {
            let _ = sm.unprotect_command(&c);
        }
    }
});
