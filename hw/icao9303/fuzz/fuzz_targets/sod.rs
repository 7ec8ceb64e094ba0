#![no_main]
use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = kiosk_icao9303::auth::passive_authentication(
        Some(data),
        &BTreeMap::new(),
        &[],
        "20260101000000",
    );
});
