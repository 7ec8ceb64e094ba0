//! An orderly stop: a request in hand when the gateway is told to stop is finished and
//! answered; the next connection is refused.

use std::io::{Read as _, Write as _};
use std::time::Duration;

use kiosk_gateway::{Fault, Gateway};
use kiosk_wire::dto::{SubmissionKind, SubmissionRequest};

#[test]
fn a_stopping_gateway_finishes_the_request_in_hand() {
    let gw = Gateway::start().expect("gateway");
    let addr = gw.addr();
    gw.inject(Fault::Slow(Duration::from_millis(700)));
    let uid = "0190f0a0-0000-7000-8000-0000000000aa";
    let body =
        serde_json::to_vec(&SubmissionRequest::synthetic(uid, SubmissionKind::Tthc)).expect("json");
    let client = std::thread::spawn(move || {
        let mut tcp = std::net::TcpStream::connect(addr).expect("connect");
        let head = format!(
            "POST /v1/submissions HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
             Idempotency-Key: {uid}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n",
            body.len()
        );
        tcp.write_all(head.as_bytes()).expect("head");
        tcp.write_all(&body).expect("body");
        let mut answer = String::new();
        tcp.read_to_string(&mut answer).expect("answer");
        answer
    });
    // The request is in hand once the gateway counted it (before the injected delay).
    while gw.submission_requests() == 0 {
        std::thread::sleep(Duration::from_millis(5));
    }
    gw.stop();
    let answer = client.join().expect("client");
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "stopped: no new connections"
    );
}
