//! `Personal` values never leak through formatting, however deeply nested.

use std::time::Duration;

use kiosk_hw::qr::SimQrScanner;
use kiosk_hw::{Personal, QrScanner};

const ID: &str = "001090123456";
const NAME: &str = "NGUYEN VAN AN";

#[derive(Debug, Clone)]
#[allow(dead_code)] // read through Debug only
struct Citizen {
    id: Personal<String>,
    name: Personal<String>,
    chip: Vec<Personal<Vec<u8>>>,
}

#[derive(Debug)]
#[allow(dead_code)]
enum Event {
    Read(Box<Citizen>),
    Failed(String),
}

#[test]
fn nested_debug_and_display_never_contain_the_value() {
    let citizen = Citizen {
        id: Personal::new(ID.into()),
        name: Personal::new(NAME.into()),
        chip: vec![Personal::new(ID.as_bytes().to_vec())],
    };
    let event = Event::Read(Box::new(citizen.clone()));
    let outputs = [
        format!("{event:?}"),
        format!("{event:#?}"),
        format!("{citizen:?}"),
        format!("{} {}", citizen.id, citizen.name),
        format!("{:?}", Some(&citizen.chip)),
    ];
    for out in &outputs {
        assert!(!out.contains(ID), "{out}");
        assert!(!out.contains("123456"), "{out}");
        assert!(!out.contains("NGUYEN"), "{out}");
        // The byte form of the ID ("48, 48, 49" ...) must not appear either.
        assert!(!out.contains("48, 48, 49"), "{out}");
    }
    assert_eq!(citizen.id.expose(), ID);
}

#[test]
fn qr_scans_do_not_leak() {
    let mut scanner = SimQrScanner::new();
    scanner
        .control()
        .present(format!("{ID}||{NAME}|01011990|Nam|HA NOI|01012021"));
    let scan = scanner.poll(Duration::ZERO).expect("ok").expect("scan");
    let out = format!("{scan:?} {scan:#?}");
    assert!(!out.contains(ID) && !out.contains("NGUYEN"), "{out}");
}
