#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = kiosk_icao9303::lds::parse_dg13(data);
});
