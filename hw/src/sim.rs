//! [`SimHardware`]: every simulator wired together, for the kiosk's demo mode and for
//! end-to-end tests of the application without any device.

use std::path::PathBuf;

use crate::camera::PatternSource;
use crate::card::{DemoCard, SimCardControl, SimCardReader};
use crate::printer::{SimPrinter, SimPrinterControl};
use crate::qr::{SimQrControl, SimQrScanner};

/// Demo camera size and rate.
const DEMO_CAMERA: (u32, u32, u32) = (640, 480, 15);

/// The four simulated devices and their control handles.
///
/// The devices go to the kiosk's workers (each implements its trait); the controls go to
/// whatever drives the demo (a technician menu, a test).
#[derive(Debug)]
pub struct SimHardware {
    /// Card reader named `"Simulated reader"`, initially without a card.
    pub card_reader: SimCardReader,
    /// Inserts/removes cards, injects faults.
    pub card: SimCardControl,
    /// 640x480 test pattern at 15 fps.
    pub camera: PatternSource,
    /// QR scanner, initially with nothing queued.
    pub qr_scanner: SimQrScanner,
    /// Queues QR scans.
    pub qr: SimQrControl,
    /// Printer writing to the folder given to [`SimHardware::demo_in`].
    pub printer: SimPrinter,
    /// Injects printer faults, lists printed jobs.
    pub printer_control: SimPrinterControl,
}

impl SimHardware {
    /// The demo set, printing to `<temp dir>/kiosk-sim-receipts`.
    pub fn demo() -> Self {
        Self::demo_in(std::env::temp_dir().join("kiosk-sim-receipts"))
    }

    /// The demo set, printing to `receipts_dir` (created on the first print).
    pub fn demo_in(receipts_dir: impl Into<PathBuf>) -> Self {
        let card_reader = SimCardReader::new("Simulated reader");
        let card = card_reader.control();
        let (w, h, fps) = DEMO_CAMERA;
        // A constant, valid size: `PatternSource::new` accepts 1..=8192 per side.
        let camera = match PatternSource::new(w, h, fps) {
            Ok(c) => c,
            Err(e) => unreachable!("demo camera size is valid: {e}"),
        };
        let qr_scanner = SimQrScanner::new();
        let qr = qr_scanner.control();
        let printer = SimPrinter::new(receipts_dir);
        let printer_control = printer.control();
        Self {
            card_reader,
            card,
            camera,
            qr_scanner,
            qr,
            printer,
            printer_control,
        }
    }

    /// Puts the synthetic citizen's [`DemoCard`] on the reader.
    pub fn insert_demo_card(&self) {
        self.card.insert(Box::new(DemoCard::demo()));
    }

    /// Queues the synthetic citizen's CCCD QR payload (same person as the demo card).
    pub fn present_demo_qr(&self) {
        self.qr.present(DEMO_QR);
    }
}

/// The CCCD QR payload of the synthetic citizen: ID|old ID|name|DOB|sex|address|issue date.
pub const DEMO_QR: &str =
    "001090123456||Nguyễn Văn An|01011990|Nam|Số 1 Phố Giả Định, Hà Nội|01012021";

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::{CardPresence, CardReader, FrameSource, QrScanner, ReceiptPrinter};

    #[test]
    fn demo_set_works_end_to_end() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut hw = SimHardware::demo_in(dir.path());
        assert_eq!(
            hw.card_reader.wait_for_change(Duration::ZERO).ok(),
            Some(CardPresence::Absent)
        );
        hw.insert_demo_card();
        assert!(hw
            .card_reader
            .wait_for_change(Duration::ZERO)
            .expect("ok")
            .is_present());
        hw.present_demo_qr();
        let scan = hw
            .qr_scanner
            .poll(Duration::ZERO)
            .expect("ok")
            .expect("scan");
        assert!(scan.text.expose().starts_with("001090123456|"));
        assert_eq!(hw.camera.info().width, 640);
        assert!(hw.printer.status().expect("status").can_print());
        hw.printer.print(b"\x1b@OK\n").expect("prints");
        assert_eq!(hw.printer_control.printed().len(), 1);
    }
}
