//! Clinic registrations as FHIR R4 transaction bundles (VN Core IG identifiers).
//!
//! One bundle per registration: the Patient, created only if no Patient has the citizen's
//! national-ID identifier (`ifNoneExist`), and an `arrived` ambulatory Encounter identified by
//! the submission id, created only if none has it. Replaying the same bundle (a retry after a
//! lost answer) therefore creates nothing: the server answers 200 with the existing ones.
//! The bytes are a pure function of the request, so every retry is byte-identical.
//!
//! The server's answer, a `transaction-response` Bundle, may carry the resources themselves
//! (the Patient with the citizen's name and ID number: sekmet-fhir does, `Prefer:
//! return=minimal` or not). [`receipt_from_transaction_response`] reduces it to what the
//! kiosk keeps and prints: the Encounter's id on the hospital's server and when it was
//! recorded. Nothing personal reaches the outbox's receipt column.

use kiosk_outbox::Uuid;
use serde_json::{json, Value};

use super::client::Accepted;
use super::codes;
use super::dto::{SubmissionReceipt, SubmissionRequest};

/// The VN Core IG's national-ID identifier system.
pub const NATIONAL_ID_SYSTEM: &str = "http://fhir.ehealth.gov.vn/core/sid/national_id";
/// Identifier system of the kiosk's submission ids (RFC 3986 URIs: `urn:uuid:<id>`).
pub const SUBMISSION_ID_SYSTEM: &str = "urn:ietf:rfc:3986";

/// The transaction bundle for a clinic registration; `None` if `request.reference_uid` is not
/// the submission's UUID (the outbox id).
#[must_use]
pub fn registration_bundle(request: &SubmissionRequest) -> Option<Value> {
    let id = Uuid::parse_str(&request.reference_uid).ok()?;
    // Bundle-local ids, derived from the submission id so that replays are identical.
    let patient_ref = format!("urn:uuid:{}", Uuid::from_u128(id.as_u128() ^ 1));
    let encounter_ref = format!("urn:uuid:{id}");
    let national_id = request.id_number.expose();
    let dob = request.date_of_birth.expose();
    // dd/mm/yyyy (validated by `SubmissionRequest::validate`) to FHIR's yyyy-mm-dd.
    let birth_date = match (dob.get(6..10), dob.get(3..5), dob.get(0..2)) {
        (Some(y), Some(m), Some(d)) => Some(format!("{y}-{m}-{d}")),
        _ => None,
    };
    let mut patient = json!({
        "resourceType": "Patient",
        "identifier": [{
            "type": {"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                "code": "NI"
            }]},
            "system": NATIONAL_ID_SYSTEM,
            "value": national_id
        }],
        "name": [{"text": request.applicant_name.expose()}]
    });
    if let Some(b) = birth_date {
        patient["birthDate"] = Value::String(b);
    }
    Some(json!({
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": patient_ref,
                "resource": patient,
                "request": {
                    "method": "POST",
                    "url": "Patient",
                    "ifNoneExist": format!("identifier={NATIONAL_ID_SYSTEM}|{national_id}")
                }
            },
            {
                "fullUrl": encounter_ref,
                "resource": {
                    "resourceType": "Encounter",
                    "status": "arrived",
                    "class": {
                        "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                        "code": "AMB"
                    },
                    "identifier": [{
                        "system": SUBMISSION_ID_SYSTEM,
                        "value": encounter_ref
                    }],
                    "serviceType": {
                        "coding": [{"code": request.procedure_code}],
                        "text": request.procedure_name
                    },
                    "subject": {"reference": patient_ref}
                },
                "request": {
                    "method": "POST",
                    "url": "Encounter",
                    "ifNoneExist": format!("identifier={SUBMISSION_ID_SYSTEM}|{encounter_ref}")
                }
            }
        ]
    }))
}

/// The kiosk's receipt for a registration, from the FHIR server's `transaction-response`
/// Bundle: `MaHoSo` is the Encounter's logical id on the hospital's server (staff find the
/// registration by it, or by the submission id in its identifier), `NgayTiepNhan` the time the
/// server recorded it (Vietnam time), `created` whether this request created the Encounter
/// (`201`) or found it from an earlier attempt (`200`). There is no lookup code or queue
/// number: the HIS calls patients by its own means.
///
/// # Errors
///
/// A message for the technician (never quoting the body: it may hold the Patient) when the
/// answer is not a transaction-response with an Encounter entry.
pub fn receipt_from_transaction_response(body: &[u8]) -> Result<Accepted, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        format!(
            "FHIR answer is not JSON (line {}, column {})",
            e.line(),
            e.column()
        )
    })?;
    if v["resourceType"] != "Bundle" || v["type"] != "transaction-response" {
        return Err("FHIR answer is not a transaction-response Bundle".to_owned());
    }
    let entries = v["entry"].as_array().map(Vec::as_slice).unwrap_or_default();
    let (id, response) = entries
        .iter()
        .find_map(|e| {
            let r = &e["response"];
            encounter_id(r["location"].as_str()?).map(|id| (id, r))
        })
        .ok_or("FHIR transaction-response has no Encounter location")?;
    let status = response["status"].as_str().unwrap_or_default();
    let created = match status.split_whitespace().next() {
        Some("201") => true,
        Some("200") => false,
        _ => {
            return Err(format!(
                "FHIR Encounter entry status {:?}, expected 201 or 200",
                status.chars().take(20).collect::<String>()
            ))
        }
    };
    let recorded = response["lastModified"]
        .as_str()
        .or_else(|| v["meta"]["lastUpdated"].as_str())
        .and_then(|t| {
            time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
        })
        .map(|t| {
            let t = t.to_offset(codes::VIETNAM_OFFSET);
            codes::format_portal_time(time::PrimitiveDateTime::new(t.date(), t.time()))
        })
        .unwrap_or_default();
    Ok(Accepted {
        receipt: SubmissionReceipt {
            dossier_code: id.to_owned(),
            received_at: recorded,
            appointment: String::new(),
            lookup_code: String::new(),
            queue_number: None,
        },
        created,
    })
}

/// The logical id in `[base/]Encounter/<id>[/_history/<v>]`, if it is a valid FHIR id
/// (`[A-Za-z0-9\-\.]{1,64}`).
fn encounter_id(location: &str) -> Option<&str> {
    let (_, rest) = location.rsplit_once("Encounter/")?;
    let id = rest.split('/').next()?;
    let valid = (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    valid.then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::SubmissionKind;

    #[test]
    fn bundle_shape_and_determinism() {
        let r = SubmissionRequest::synthetic(
            "0190f0a0-0000-7000-8000-000000000001",
            SubmissionKind::Clinic,
        );
        let b = registration_bundle(&r).expect("bundle");
        assert_eq!(b, registration_bundle(&r).expect("again"));
        let e = &b["entry"];
        assert_eq!(
            e[0]["request"]["ifNoneExist"],
            "identifier=http://fhir.ehealth.gov.vn/core/sid/national_id|001090123456"
        );
        assert_eq!(e[0]["resource"]["birthDate"], "1990-01-01");
        assert_eq!(e[1]["resource"]["status"], "arrived");
        assert_eq!(e[1]["resource"]["class"]["code"], "AMB");
        assert_eq!(
            e[1]["resource"]["identifier"][0]["value"],
            "urn:uuid:0190f0a0-0000-7000-8000-000000000001"
        );
        assert_eq!(e[1]["resource"]["subject"]["reference"], e[0]["fullUrl"]);
        let mut bad = r;
        bad.reference_uid = "not-a-uuid".into();
        assert!(registration_bundle(&bad).is_none());
    }

    /// sekmet-fhir 0.1.1's answer to a first registration (synthetic citizen), as captured
    /// on 127.0.0.1: it returns the resources, the Patient included.
    const SEKMET_CREATED: &str = r#"{"resourceType":"Bundle","id":"673e3562-5958-4526-899e-d33e7e223f62","type":"transaction-response","meta":{"lastUpdated":"2026-11-25T06:34:39.522Z"},"entry":[{"response":{"status":"201 Created","location":"http://localhost:8090/fhir/Patient/6cf37c52-fd1e-49ac-95d4-4dc9297ff48c/_history/1","etag":"W/\"1\"","lastModified":"2026-11-25T06:34:39.503Z"},"resource":{"resourceType":"Patient","identifier":[{"system":"http://fhir.ehealth.gov.vn/core/sid/national_id","value":"001090123456"}],"name":[{"text":"NGUYEN VAN AN"}],"id":"6cf37c52-fd1e-49ac-95d4-4dc9297ff48c"},"fullUrl":"http://localhost:8090/fhir/Patient/6cf37c52-fd1e-49ac-95d4-4dc9297ff48c"},{"response":{"status":"201 Created","location":"http://localhost:8090/fhir/Encounter/70feb9dd-e7df-446f-8482-972ce9a4ba6d/_history/1","etag":"W/\"1\"","lastModified":"2026-11-25T06:34:39.520Z"},"resource":{"resourceType":"Encounter","status":"arrived","subject":{"reference":"Patient/6cf37c52-fd1e-49ac-95d4-4dc9297ff48c"},"id":"70feb9dd-e7df-446f-8482-972ce9a4ba6d"},"fullUrl":"http://localhost:8090/fhir/Encounter/70feb9dd-e7df-446f-8482-972ce9a4ba6d"}]}"#;

    #[test]
    fn receipt_keeps_the_encounter_id_and_time_and_nothing_personal() {
        let a = receipt_from_transaction_response(SEKMET_CREATED.as_bytes()).expect("receipt");
        assert!(a.created);
        assert_eq!(
            a.receipt.dossier_code,
            "70feb9dd-e7df-446f-8482-972ce9a4ba6d"
        );
        // 06:34:39 UTC is 13:34:39 in Vietnam.
        assert_eq!(a.receipt.received_at, "20261125133439");
        assert_eq!(a.receipt.lookup_code, "");
        assert_eq!(a.receipt.queue_number, None);
        let kept = serde_json::to_string(&a.receipt).expect("json");
        assert!(
            !kept.contains("NGUYEN") && !kept.contains("001090123456"),
            "{kept}"
        );

        // The replay: 200 OK on both entries, a relative location, an offset time.
        let replay = SEKMET_CREATED
            .replace("201 Created", "200 OK")
            .replace(
                "http://localhost:8090/fhir/Encounter/70feb9dd-e7df-446f-8482-972ce9a4ba6d/_history/1",
                "Encounter/70feb9dd-e7df-446f-8482-972ce9a4ba6d",
            )
            .replace("2026-11-25T06:34:39.520Z", "2026-11-25T13:34:39+07:00");
        let b = receipt_from_transaction_response(replay.as_bytes()).expect("replay");
        assert!(!b.created);
        assert_eq!(b.receipt, a.receipt);
    }

    #[test]
    fn answers_that_are_not_a_registration_are_refused_without_quoting_them() {
        let err = |body: &str| receipt_from_transaction_response(body.as_bytes()).expect_err(body);
        assert!(err("NGUYEN VAN AN").contains("not JSON"));
        let e =
            err(r#"{"resourceType":"OperationOutcome","issue":[{"diagnostics":"NGUYEN VAN AN"}]}"#);
        assert!(
            e.contains("transaction-response") && !e.contains("NGUYEN"),
            "{e}"
        );
        let no_encounter = SEKMET_CREATED.replace("Encounter/", "Observation/");
        assert!(err(&no_encounter).contains("no Encounter"));
        let failed = SEKMET_CREATED.replace(
            r#""status":"201 Created","location":"http://localhost:8090/fhir/Encounter"#,
            r#""status":"400 Bad Request","location":"http://localhost:8090/fhir/Encounter"#,
        );
        assert!(err(&failed).contains("expected 201 or 200"));
        let bad_id = SEKMET_CREATED.replace("Encounter/70feb9dd", "Encounter/a b?");
        assert!(err(&bad_id).contains("no Encounter"));
        // No time in the answer: the receipt has none (the kiosk prints its own clock's).
        let no_time = SEKMET_CREATED
            .replace(r#""lastModified":"2026-11-25T06:34:39.520Z""#, r#""x":1"#)
            .replace(r#""lastUpdated":"2026-11-25T06:34:39.522Z""#, r#""x":1"#);
        let r = receipt_from_transaction_response(no_time.as_bytes()).expect("no time");
        assert_eq!(r.receipt.received_at, "");
    }
}
