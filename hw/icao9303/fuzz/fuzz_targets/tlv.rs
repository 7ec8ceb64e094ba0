#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(items) = kiosk_icao9303::tlv::parse_all(data) {
        for t in items {
            let _ = t.children();
        }
    }
    let _ = kiosk_icao9303::tlv::total_len(data);
    let _ = kiosk_icao9303::pace::parse_pace_infos(data);
    let _ = kiosk_icao9303::lds::parse_com(data);
    let _ = kiosk_icao9303::lds::parse_dg2(data);
    let _ = kiosk_icao9303::pki::parse_certificate(data);
    let _ = kiosk_icao9303::pki::parse_spki(data);
});
