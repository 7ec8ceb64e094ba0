#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // As DG1, and as a bare MRZ wrapped the way DG1 wraps it.
    let _ = kiosk_icao9303::lds::parse_dg1(data);
    let wrapped = kiosk_icao9303::tlv::encode(0x61, &kiosk_icao9303::tlv::encode(0x5F1F, data));
    let _ = kiosk_icao9303::lds::parse_dg1(&wrapped);
});
