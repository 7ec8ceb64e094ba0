//! The simulated reader and the demo card, driven only through the public API.

use std::time::{Duration, Instant};

use kiosk_hw::card::{CardProfile, DemoCard, SimCardReader, LDS_AID};
use kiosk_hw::{CardErrorKind, CardPresence, CardReader};

fn reader_with_demo_card() -> SimCardReader {
    let reader = SimCardReader::new("test reader");
    reader.control().insert(Box::new(DemoCard::demo()));
    reader
}

fn select_aid() -> Vec<u8> {
    let mut apdu = vec![0x00, 0xA4, 0x04, 0x0C, 0x07];
    apdu.extend_from_slice(&LDS_AID);
    apdu
}

const SELECT_DG1: [u8; 7] = [0x00, 0xA4, 0x02, 0x0C, 0x02, 0x01, 0x01];
const SW_OK: [u8; 2] = [0x90, 0x00];

fn read_binary(reader: &mut SimCardReader, offset: u16, le: u8) -> Vec<u8> {
    let [hi, lo] = offset.to_be_bytes();
    let resp = reader
        .transmit(&[0x00, 0xB0, hi, lo, le])
        .expect("READ BINARY");
    assert_eq!(&resp[resp.len() - 2..], &SW_OK, "READ BINARY at {offset}");
    resp[..resp.len() - 2].to_vec()
}

#[test]
fn select_and_read_dg1_in_three_chunks() {
    let mut reader = reader_with_demo_card();
    assert_eq!(reader.transmit(&select_aid()).expect("SELECT AID"), SW_OK);
    assert_eq!(reader.transmit(&SELECT_DG1).expect("SELECT DG1"), SW_OK);

    // First 4 bytes give the TLV header and thus the file length.
    let head = read_binary(&mut reader, 0, 4);
    assert_eq!(&head[..2], &[0x61, 0x5D]);
    let total = 2 + usize::from(head[1]);
    // Then the rest in two chunks, the last one a short read.
    let mut dg1 = head;
    dg1.extend(read_binary(&mut reader, 4, 60));
    dg1.extend(read_binary(&mut reader, 64, 0xFF));
    assert_eq!(dg1.len(), total);

    let expected = CardProfile::demo().dg1().expect("demo profile encodes");
    assert_eq!(dg1, expected);
    let mrz = std::str::from_utf8(&dg1[5..]).expect("MRZ is ASCII");
    assert!(mrz.starts_with("IDVNM0901234562001090123456"));
    assert!(mrz.ends_with("NGUYEN<<VAN<AN<<<<<<<<<<<<<<<<"));

    // Past the end.
    let [hi, lo] = (total as u16).to_be_bytes();
    assert_eq!(
        reader
            .transmit(&[0x00, 0xB0, hi, lo, 0x01])
            .expect("transmit"),
        vec![0x6B, 0x00]
    );
}

#[test]
fn ef_com_and_unknown_files() {
    let mut reader = reader_with_demo_card();
    reader.transmit(&select_aid()).expect("SELECT AID");
    assert_eq!(
        reader
            .transmit(&[0x00, 0xA4, 0x02, 0x0C, 0x02, 0x01, 0x1E])
            .expect("EF.COM"),
        SW_OK
    );
    let com = read_binary(&mut reader, 0, 0);
    assert_eq!(com[0], 0x60);
    // DG11 is absent: 6A82.
    assert_eq!(
        reader
            .transmit(&[0x00, 0xA4, 0x02, 0x0C, 0x02, 0x01, 0x0B])
            .expect("DG11"),
        vec![0x6A, 0x82]
    );
    // Unknown instruction.
    assert_eq!(
        reader.transmit(&[0x00, 0x22, 0xC1, 0xA4]).expect("MSE"),
        vec![0x6D, 0x00]
    );
}

#[test]
fn remove_after_apdus_breaks_the_third_exchange() {
    let mut reader = reader_with_demo_card();
    reader.control().remove_after_apdus(2);
    assert!(reader.transmit(&select_aid()).is_ok());
    assert!(reader.transmit(&SELECT_DG1).is_ok());
    let err = reader
        .transmit(&[0x00, 0xB0, 0x00, 0x00, 0x04])
        .expect_err("card gone");
    assert_eq!(err.kind(), CardErrorKind::CardRemoved);
    assert!(!reader.control().is_card_present());
    assert_eq!(
        reader.wait_for_change(Duration::ZERO).expect("ok"),
        CardPresence::Absent
    );
}

#[test]
fn wait_for_change_wakes_when_another_thread_inserts() {
    let mut reader = SimCardReader::new("test reader");
    let control = reader.control();
    assert_eq!(
        reader.wait_for_change(Duration::ZERO).expect("ok"),
        CardPresence::Absent
    );

    let inserter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        control.insert(Box::new(DemoCard::demo()));
    });
    let started = Instant::now();
    let presence = reader.wait_for_change(Duration::from_secs(30)).expect("ok");
    let waited = started.elapsed();
    inserter.join().expect("inserter thread");

    assert!(matches!(presence, CardPresence::Present { ref atr } if atr[0] == 0x3B));
    assert!(
        waited >= Duration::from_millis(40),
        "returned before the insert: {waited:?}"
    );
    assert!(
        waited < Duration::from_secs(10),
        "did not wake on the insert: {waited:?}"
    );
}

#[test]
fn unplugged_reader_wakes_waiter_with_no_reader() {
    let mut reader = SimCardReader::new("test reader");
    let control = reader.control();
    reader
        .wait_for_change(Duration::ZERO)
        .expect("initial state");
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        control.unplug_reader();
    });
    let err = reader
        .wait_for_change(Duration::from_secs(30))
        .expect_err("unplugged");
    assert_eq!(err.kind(), CardErrorKind::NoReader);
    t.join().expect("unplug thread");
}
