//! The OpenAPI contract names exactly the DTOs' wire fields.

use kiosk_wire::dto::{
    DossierState, SubmissionKind, SubmissionReceipt, SubmissionRequest, SubmissionStatus,
};

#[test]
fn openapi_spec_matches_the_dto_field_names() {
    let spec = kiosk_wire::OPENAPI;
    // The lines of one schema: from `    Name:` to the next line indented by exactly 4.
    let section = |name: &str| {
        let mut lines = spec.lines().skip_while(|l| *l != format!("    {name}:"));
        assert!(lines.next().is_some(), "{name} missing from the spec");
        lines
            .take_while(|l| l.is_empty() || l.starts_with("     "))
            .map(|l| format!("\n{l}"))
            .collect::<String>()
    };
    let keys = |v: serde_json::Value| -> Vec<String> {
        v.as_object().expect("object").keys().cloned().collect()
    };
    let req =
        SubmissionRequest::synthetic("0190a7d2-0000-7000-8000-000000000001", SubmissionKind::Tthc);
    let req = serde_json::to_value(&req).expect("json");
    let receipt = serde_json::json!({
        "MaHoSo": "", "NgayTiepNhan": "", "NgayHenTra": "", "MaTraCuu": "", "SoThuTu": 1
    });
    let enrol = serde_json::to_value(kiosk_wire::enrol::EnrolmentRequest {
        kiosk_id: String::new(),
        csr: String::new(),
    })
    .expect("json");
    let status = serde_json::to_value(SubmissionStatus {
        dossier_code: String::new(),
        status: String::new(),
        procedure_name: String::new(),
        received_at: String::new(),
        appointment: String::new(),
        queue_number: Some(1),
        collect_place: Some(String::new()),
        collect_at: Some(String::new()),
    })
    .expect("json");
    let states = section("SubmissionStatus");
    let codes: Vec<&str> = DossierState::ALL.iter().map(|s| s.code()).collect();
    assert!(
        states.contains(&format!("enum: [{}]", codes.join(", "))),
        "TrangThaiHoSo's enum differs from DossierState: {states}"
    );
    let heartbeat: kiosk_wire::dto::Heartbeat = serde_json::from_str(
        r#"{"appVersion":"0.1.0","osVersion":"12","queueDepth":0,"deadLetters":0,
            "devices":[],"sentAt":"20260105093000","uptimeSecs":5,"certDaysLeft":20,
            "configSha256":"0000000000000000000000000000000000000000000000000000000000000000"}"#,
    )
    .expect("heartbeat");
    let heartbeat = serde_json::to_value(&heartbeat).expect("json");
    for (schema, fields) in [
        ("SubmissionStatus", keys(status)),
        ("Heartbeat", keys(heartbeat)),
        ("SubmissionRequest", keys(req)),
        ("SubmissionReceipt", keys(receipt)),
        ("EnrolmentRequest", keys(enrol)),
    ] {
        let text = section(schema);
        for f in fields {
            assert!(
                text.contains(&format!("\n        {f}:")),
                "{schema}.{f} missing from the spec"
            );
        }
    }
    // The receipt DTO round-trips through the names the spec gives.
    let r: SubmissionReceipt = serde_json::from_str(
        r#"{"MaHoSo":"000.00.01.H29-260105-0001","NgayTiepNhan":"20260105093015",
            "NgayHenTra":"20260108093015","MaTraCuu":"7KQ2MZ4P","SoThuTu":1}"#,
    )
    .expect("receipt");
    assert_eq!(r.validate(), Ok(()));
}
