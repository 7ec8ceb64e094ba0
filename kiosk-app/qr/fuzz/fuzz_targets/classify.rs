//! Any bytes through the classifier: no panic, and a CCCD result keeps its invariants.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(kiosk_qr::Payload::Cccd(q)) = kiosk_qr::classify_bytes(data) {
        let id = q.id_number().expose();
        let access = q.chip_access();
        assert_eq!(access.can.expose(), &id[6..]);
        assert_eq!(access.document_number.expose(), &id[3..]);
    }
});
